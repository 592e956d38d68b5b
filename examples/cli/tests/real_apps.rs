//! The main job, end to end: `kyozo up` on real-world-shaped apps (in `apps/`, written
//! from each ecosystem's own conventions, with real dependencies from PyPI and lock
//! files their tools made), each then answering HTTP with what its code says; one line
//! of code edited and `up` again: the new answer, and the image's steps up to the
//! dependency install are the ones built before (cached), only the code's rebuilt;
//! then `down` leaves nothing with the folder's label on the engine.
//!
//! Base images are Debian's, made with debootstrap by `tests/support/` and kept by
//! tag (no registry is reachable); builds that download packages use the host's network
//! (`--build-network host`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::state::{Down, left_behind, team_of};
use common::{free_port, ok_in as ok};

#[path = "../../../tests/common/docker.rs"]
mod docker;
#[path = "../../../tests/common/files.rs"]
mod files;
#[path = "../../../tests/common/images.rs"]
mod images;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `GET path` on 127.0.0.1:`port`: the status line and the body.
fn get(port: u16, path: &str) -> std::io::Result<(String, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    Ok((
        head.lines().next().unwrap_or("").to_string(),
        body.trim().to_string(),
    ))
}

/// The body of a 200 answer to `GET /` on `port`, waited for (at most 30 s: `up` has
/// waited for the service to be ready, the edge proxy may take a moment to route).
fn answer(port: u16) -> String {
    let started = Instant::now();
    loop {
        match get(port, "/") {
            Ok((status, body)) if status.contains(" 200 ") => return body,
            other if started.elapsed() > Duration::from_secs(30) => {
                panic!("no 200 on port {port}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// The steps of an image, oldest first: (id, the instruction that made it). Steps
/// built here have ids; a base image's own are `<missing>`.
fn history(image: &str) -> Vec<(String, String)> {
    let out = std::process::Command::new("docker")
        .args([
            "history",
            "--no-trunc",
            "--format",
            "{{.ID}}\t{{.CreatedBy}}",
            image,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker history {image}");
    let mut steps: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(id, by)| (id.to_string(), by.to_string()))
        .collect();
    steps.reverse();
    steps
}

/// The image a service of the folder runs (`kyozo ps --json`).
fn image_of(dir: &Path, service: &str) -> String {
    let doc: serde_json::Value = serde_json::from_str(&ok(dir, &["ps", "--json"])).unwrap();
    doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == service)
        .and_then(|s| s["image"].as_str())
        .unwrap_or_else(|| panic!("no image for {service} in {doc}"))
        .to_string()
}

/// What installs dependencies in a generated Dockerfile's steps.
const INSTALLS: &[&str] = &[
    "pip install",
    "uv sync",
    "poetry install",
    "pdm install",
    "pipenv install",
    "go mod download",
];

/// Checks that the code edit between `before` and `after` rebuilt only the steps from
/// the code on: the first dependency install (and everything before it) is the step
/// built before, and something after it was built again.
fn only_code_rebuilt(before: &[(String, String)], after: &[(String, String)]) {
    let common = before
        .iter()
        .zip(after)
        .take_while(|(a, b)| a.0 == b.0 && a.1 == b.1)
        .count();
    let install = after
        .iter()
        .position(|(_, by)| INSTALLS.iter().any(|i| by.contains(i)));
    let show = |steps: &[(String, String)]| {
        steps
            .iter()
            .map(|(id, by)| format!("  {} {}", &id[..id.len().min(19)], &by[..by.len().min(140)]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if let Some(install) = install {
        assert!(
            install < common,
            "the dependency install (step {install}) was built again after a code edit:\nbefore:\n{}\nafter:\n{}",
            show(before),
            show(after)
        );
    }
    assert!(
        common < after.len(),
        "nothing was rebuilt:\n{}",
        show(after)
    );
}

/// One app: its folder under `apps/`, the service that answers, what it answers, the
/// line of code to edit (file, text, replacement), settings to give first, and
/// `up`'s options besides the base images.
struct App {
    folder: &'static str,
    service: &'static str,
    answers: &'static str,
    edit: (&'static str, &'static str, &'static str),
    settings: &'static [&'static str],
    images: Vec<String>,
    ports: Vec<&'static str>,
    /// Other paths and what they answer (200), checked after the first `up`.
    also: Vec<(&'static str, &'static str)>,
    /// A one-shot job: what it prints (in `up`'s output) is its answer, not HTTP.
    job: bool,
    /// The folder brings its own Dockerfile: the user it runs as is its own choice.
    /// A generated image runs as user 10001, never root.
    own_dockerfile: bool,
}

impl App {
    fn new(folder: &'static str, service: &'static str, answers: &'static str) -> Self {
        Self {
            folder,
            service,
            answers,
            edit: ("", "", ""),
            settings: &[],
            images: Vec::new(),
            ports: vec![service],
            also: Vec::new(),
            job: false,
            own_dockerfile: false,
        }
    }

    fn edit(mut self, file: &'static str, from: &'static str, to: &'static str) -> Self {
        self.edit = (file, from, to);
        self
    }

    fn image(mut self, key: &str, image: String) -> Self {
        self.images.push(format!("{key}={image}"));
        self
    }

    /// Runs the whole round: settings, `up`, the answer, the edit, `up`, the new
    /// answer and the cache, `down` and nothing left. Returns nothing: it asserts.
    async fn run(self) {
        let Some(engine) = docker::engine().await else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(self.folder);
        files::copy_dir(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/apps")
                .join(self.folder),
            &dir,
        );
        let dir = std::fs::canonicalize(&dir).unwrap();
        let _down = Down(dir.clone());
        let mut args: Vec<String> = vec!["up".into(), "--build-network".into(), "host".into()];
        for image in &self.images {
            args.extend(["--image".into(), image.clone()]);
        }
        let mut ports = Vec::new();
        for service in &self.ports {
            let port = free_port();
            ports.push(port);
            args.extend(["--port".into(), format!("{service}={port}")]);
        }
        for setting in self.settings {
            ok(&dir, &["env", "set", self.service, setting]);
        }

        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let first = ok(&dir, &args);
        // A job answers with what it printed (`up` shows it), a server on its port.
        let answer = |out: &str| match ports.first() {
            Some(port) => answer(*port),
            None => out.to_string(),
        };
        let body = answer(&first);
        assert!(
            body.contains(self.answers),
            "{}: answered {body:?}, not {:?}\n{first}",
            self.folder,
            self.answers
        );
        if self.job {
            assert!(first.contains("completed"), "{}: {first}", self.folder);
            let ps: serde_json::Value = serde_json::from_str(&ok(&dir, &["ps", "--json"])).unwrap();
            let me = &ps["services"][0];
            assert_eq!(
                (&me["kind"], &me["status"], &me["exit_code"]),
                (&"job".into(), &"completed".into(), &0.into()),
                "{ps}"
            );
        }
        for (path, expected) in &self.also {
            let (status, body) = get(ports[0], path).unwrap();
            assert!(
                status.contains(" 200 ") && body.contains(expected),
                "{}: GET {path} answered {status} {body:?}",
                self.folder
            );
        }
        let image = image_of(&dir, self.service);
        if !self.own_dockerfile {
            let user = std::process::Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Config.User}}", &image])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&user.stdout).trim(),
                "10001",
                "{}: the user of {image}",
                self.folder
            );
        }
        let before = history(&image);

        // One line of code, and `up` as it is remembered.
        let (file, from, to) = self.edit;
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let second = ok(&dir, &["up"]);
        let body = answer(&second);
        assert!(
            body.contains(to),
            "{}: after the edit it answered {body:?}\n{second}",
            self.folder
        );
        only_code_rebuilt(&before, &history(&image_of(&dir, self.service)));

        let team = team_of(&dir.join(".kyozo/state.redb"));
        ok(&dir, &["down", "--volumes"]);
        assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
    }
}

/// The python base image (Debian's python3 and venv).
async fn python() -> String {
    tokio::task::spawn_blocking(images::runtimes).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn flask_with_pip() {
    App::new("flask-pip", "flask-pip", "hello from flask (default mode)")
        .image("python", python().await)
        .edit("app.py", "hello from flask", "hello again from flask")
        .run()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fastapi_with_uv() {
    App::new("fastapi-uv", "fastapi-uv", "hello from fastapi")
        .image("python", python().await)
        .edit("main.py", "hello from fastapi", "hello again from fastapi")
        .run()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn django_with_uv_postgres_redis_and_its_settings() {
    let postgres = tokio::task::spawn_blocking(images::postgres).await.unwrap();
    let redis = tokio::task::spawn_blocking(images::redis).await.unwrap();
    let mut app = App::new("django-uv", "web", "hello from django: visits=1 hits=1")
        .image("python", python().await)
        .image("postgres", postgres)
        .image("redis", redis)
        .edit(
            "shop/views.py",
            "hello from django",
            "hello again from django",
        );
    app.settings = &["SECRET_KEY=not-a-real-secret-but-long-enough-for-django"];
    app.ports = vec!["web"];
    app.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flask_with_poetry() {
    App::new("poetry-app", "poetry-app", "hello from poetry")
        .image("python", python().await)
        .edit("app.py", "hello from poetry", "hello again from poetry")
        .run()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flask_with_pdm() {
    App::new("pdm-app", "pdm-app", "hello from pdm")
        .image("python", python().await)
        .edit("app.py", "hello from pdm", "hello again from pdm")
        .run()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flask_with_pipenv() {
    App::new("pipenv-app", "pipenv-app", "hello from pipenv")
        .image("python", python().await)
        .edit("app.py", "hello from pipenv", "hello again from pipenv")
        .run()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stdlib_go_server() {
    let go = tokio::task::spawn_blocking(images::golang).await.unwrap();
    App::new("go-stdlib", "greeter", "hello from go")
        .image("go", go)
        .image("go-runtime", python().await)
        .edit("main.go", "hello from go", "hello again from go")
        .run()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_go_program_without_go_mod() {
    let go = tokio::task::spawn_blocking(images::golang).await.unwrap();
    App::new(
        "go-nomod",
        "go-nomod",
        "hello from a go program without go.mod",
    )
    .image("go", go)
    .image("go-runtime", python().await)
    .edit(
        "main.go",
        "hello from a go program",
        "hello again from a go program",
    )
    .run()
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dockerfile_app() {
    // Its Dockerfile names the runtimes image: made first.
    python().await;
    let mut app = App::new(
        "dockerfile-app",
        "dockerfile-app",
        "hello from a dockerfile",
    )
    .edit(
        "server.py",
        "hello from a dockerfile",
        "hello again from a dockerfile",
    );
    app.own_dockerfile = true;
    app.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_service_monorepo() {
    let go = tokio::task::spawn_blocking(images::golang).await.unwrap();
    let mut app = App::new("monorepo", "web", "web says: hello from the api")
        .image("python", python().await)
        .image("go", go)
        .image("go-runtime", python().await)
        .edit("web/main.go", "web says", "web now says");
    app.ports = vec!["web", "api"];
    app.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_shot_job_runs_to_completion_and_shows_its_output() {
    let mut app = App::new("report-job", "report-job", "| orders   |      42 |")
        .image("python", python().await)
        .edit(
            "main.py",
            "report: nightly totals",
            "report: the nightly totals",
        );
    app.ports = Vec::new();
    app.job = true;
    app.run().await;
}

/// The static images: Caddy's (the edge proxy's test image, which has a shell).
async fn caddy() -> String {
    tokio::task::spawn_blocking(images::caddy).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_page_app_answers_its_index_for_its_routes() {
    let mut app = App::new("static-spa", "static-spa", "hello from the spa")
        .image("static", caddy().await)
        .edit(
            "index.html",
            "hello from the spa",
            "hello again from the spa",
        );
    // `_redirects` asks for the index on every path the files do not have; the files
    // it has are served as they are.
    app.also = vec![
        ("/orders/42", "hello from the spa"),
        ("/assets/app.js", "client-side router"),
    ];
    app.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_protected_site_is_never_served_open() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let image = format!("static={}", caddy().await);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("static-auth");
    files::copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/apps/static-auth"),
        &dir,
    );
    let dir = std::fs::canonicalize(&dir).unwrap();
    let _down = Down(dir.clone());
    let port = free_port();
    ok(
        &dir,
        &[
            "up",
            "--image",
            &image,
            "--port",
            &format!("static-auth={port}"),
        ],
    );
    let ask = |credentials: Option<&str>| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let auth = credentials.map_or(String::new(), |c| format!("Authorization: Basic {c}\r\n"));
        write!(s, "GET / HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let open = ask(None);
    assert!(open.starts_with("HTTP/1.0 401"), "{open}");
    assert!(!open.contains("for the team only"), "{open}");
    // ada:open sesame
    let wrong = ask(Some("YWRhOndyb25n"));
    assert!(wrong.starts_with("HTTP/1.0 401"), "{wrong}");
    let right = ask(Some("YWRhOm9wZW4gc2VzYW1l"));
    assert!(right.starts_with("HTTP/1.0 200"), "{right}");
    assert!(right.contains("for the team only"), "{right}");
    let team = team_of(&dir.join(".kyozo/state.redb"));
    ok(&dir, &["down"]);
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());

    // A password file the server cannot check: the site is not deployed at all.
    std::fs::write(
        dir.join("Staticfile.auth"),
        "ada:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n",
    )
    .unwrap();
    let (code, out, err) = common::run_in(&dir, &["up", "--image", &image]);
    assert_eq!(code, 1, "{out}\n{err}");
    let said = format!("{out}{err}");
    assert!(said.contains("apr1"), "{said}");
    assert!(
        said.contains("never") || said.contains("does not serve"),
        "{said}"
    );
    assert!(
        !said.contains("HqJZimcKQFAMYayBlzkrA"),
        "the hash is never shown: {said}"
    );
}
