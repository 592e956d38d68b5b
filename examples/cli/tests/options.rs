//! `up` remembers what a folder was deployed with (`--image`, `--build-network`,
//! `--port`): a plain `up` afterwards uses them again (nothing rebuilt, nothing pulled),
//! `ps` and `plan` show them, and a flag given again overrides its entry. A host port
//! something else holds fails `up` before anything is built, with a free one to use. A
//! service the analysis is unsure of (a manifest that does not parse) is refused before
//! anything is built, unless `--min-confidence` asks for it. A base image that cannot
//! be fetched is named with the key that gives it (each of them, for a plan that needs
//! two); `--system-package` adds Debian packages to the builds, and a name that is not
//! one is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{free_port, ok_in as ok, run_in as run};

#[path = "../../../tests/common/docker.rs"]
mod docker;
#[path = "../../../tests/common/images.rs"]
mod images;

use std::io::{Read as _, Write as _};

/// `GET /` on 127.0.0.1:`port`: the answer's body.
fn get(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n")
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_string()
}

/// A Flask app (`requirements.txt`, `app.py`) in `parent/name`.
fn flask_folder(parent: &std::path::Path, name: &str) -> std::path::PathBuf {
    let app = parent.join(name);
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("requirements.txt"), "flask==3.1.0\n").unwrap();
    std::fs::write(
        app.join("app.py"),
        "from flask import Flask\napp = Flask(__name__)\n",
    )
    .unwrap();
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn up_remembers_its_options_and_refuses_a_taken_port_before_building() {
    let Some(_engine) = docker::engine().await else {
        return;
    };
    // The static image serves with Caddy (the edge proxy's test image).
    let caddy = tokio::task::spawn_blocking(images::caddy).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("site");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>remembered</h1>\n").unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap();
    let _down = common::state::Down(dir.clone());
    let image = format!("static={caddy}");

    // A port another program holds: refused before anything is built.
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let (code, out, err) = run(
        &dir,
        &["up", "--image", &image, "--port", &format!("site={taken}")],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!("port {taken} of site is taken")),
        "{err}"
    );
    assert!(err.contains("kyozo up --port site="), "{err}");
    assert!(err.contains("Nothing was built or started"), "{err}");
    assert!(
        !out.contains("building") && !err.contains("building"),
        "nothing is built: {out}\n{err}"
    );
    drop(held);

    // Given once...
    let port = free_port();
    let first = ok(
        &dir,
        &[
            "up",
            "--image",
            &image,
            "--build-network",
            "host",
            "--port",
            &format!("site={port}"),
        ],
    );
    assert!(first.contains("building"), "{first}");
    assert_eq!(get(port), "<h1>remembered</h1>");
    let ps = ok(&dir, &["ps"]);
    assert!(
        ps.contains(&format!(
            "Deployed with: --image {image} --build-network host --port site={port}"
        )),
        "{ps}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&dir, &["ps", "--json"])).unwrap();
    assert_eq!(json["options"]["build_network"], "host", "{json}");

    // ...used again: a plain `up` changes nothing (the same image, no pull, no build).
    let again = ok(&dir, &["up"]);
    assert!(again.contains("unchanged"), "{again}");
    assert!(!again.contains("building"), "{again}");
    let plan = ok(&dir, &["plan", "--dry-run"]);
    assert!(plan.contains(&format!("--port site={port}")), "{plan}");
    assert!(plan.contains(&format!("{port}->80\n")), "{plan}");

    // A flag given again overrides its entry, and is remembered in its turn.
    let other = free_port();
    ok(&dir, &["up", "--port", &format!("site={other}")]);
    assert_eq!(get(other), "<h1>remembered</h1>");
    let ps = ok(&dir, &["ps"]);
    assert!(ps.contains(&format!("--port site={other}")), "{ps}");
    assert!(ps.contains(&format!("--image {image}")), "{ps}");

    ok(&dir, &["down"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_the_analysis_is_unsure_of_is_built_only_when_asked() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    docker::busybox(&engine).await;
    let runtimes = tokio::task::spawn_blocking(images::runtimes).await.unwrap();
    // The runtimes image has node but not npm (no registry to install from here): an
    // `npm` that installs nothing stands in, for a package.json nobody could read.
    let shim = "kyozo-test/node-npm-shim:1";
    let built = std::process::Command::new("docker")
        .args(["build", "-q", "-t", shim, "--label", "dev.kyozo.test-image=1", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(
                format!("FROM {runtimes}\nRUN printf '#!/bin/sh\\nexit 0\\n' > /usr/local/bin/npm && chmod 755 /usr/local/bin/npm\n").as_bytes(),
            )?;
            c.wait()
        })
        .unwrap();
    assert!(built.success());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shaky");
    std::fs::create_dir(&dir).unwrap();
    // A package.json that does not parse: the rest is guessed from index.js.
    std::fs::write(
        dir.join("package.json"),
        "{\n  \"name\": \"shaky\",\n  \"scripts\": {\"start\": \"node index.js\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("index.js"),
        "require('http').createServer((q, s) => s.end('up')).listen(process.env.PORT || 3000);\n",
    )
    .unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap();
    let _down = common::state::Down(dir.clone());
    let image = format!("node={shim}");
    let port = free_port();
    let port_arg = format!("shaky={port}");

    let (code, out, err) = run(&dir, &["up", "--image", &image, "--port", &port_arg]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("shaky was recognised with low confidence (0.30, below 0.50)"),
        "{err}"
    );
    assert!(err.contains("kyozo up --min-confidence 0.3"), "{err}");
    assert!(!err.contains("building"), "{err}");
    // The analysis says what it could not read, with the line.
    let analysis = ok(&dir, &["analyze"]);
    assert!(analysis.contains("package.json: invalid"), "{analysis}");
    assert!(analysis.contains("line 5"), "{analysis}");

    // Asked: built (and run: node itself then refuses the package.json that does not
    // parse, which `up` reports as the service's failure).
    let (_, out, err) = run(
        &dir,
        &[
            "up",
            "--image",
            &image,
            "--port",
            &port_arg,
            "--min-confidence",
            "0.3",
        ],
    );
    assert!(
        err.contains("building") || out.contains("building"),
        "{out}\n{err}"
    );
    assert!(err.contains("Error parsing /app/package.json"), "{err}");
    ok(&dir, &["down"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_image_that_cannot_be_fetched_is_named_with_what_gives_it() {
    let Some(_engine) = docker::engine().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // A generated Dockerfile: the key of the base-image map that gives the image.
    let app = flask_folder(tmp.path(), "app");
    let missing = "kyozo-nonexistent/python:1";
    let plan = ok(
        &app,
        &["plan", "--dry-run", "--image", &format!("python={missing}")],
    );
    assert!(plan.contains(&format!("from python={missing}")), "{plan}");
    let port = free_port();
    let (code, out, err) = run(
        &app,
        &[
            "up",
            "--image",
            &format!("python={missing}"),
            "--port",
            &format!("app={port}"),
        ],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!("--image python=… (now {missing})")),
        "{err}"
    );

    // A plan that needs two images (Go builds on one and runs on another): both are
    // named, each with the key that gives it, in the plan and in the hint.
    let go = tmp.path().join("go");
    std::fs::create_dir(&go).unwrap();
    std::fs::write(go.join("go.mod"), "module example.com/hi\n\ngo 1.19\n").unwrap();
    std::fs::write(
        go.join("main.go"),
        "package main\n\nimport \"net/http\"\n\nfunc main() { http.ListenAndServe(\":8080\", nil) }\n",
    )
    .unwrap();
    let (build, run_on) = ("kyozo-nonexistent/golang:1", "kyozo-nonexistent/debian:1");
    let images = [
        "--image",
        &format!("go={build}"),
        "--image",
        &format!("go-runtime={run_on}"),
    ]
    .map(String::from);
    let mut args = vec!["plan".to_string(), "--dry-run".to_string()];
    args.extend(images.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = ok(&go, &args);
    assert!(
        plan.contains(&format!("from go={build}, go-runtime={run_on}")),
        "{plan}"
    );
    let port = free_port();
    // The service is named after its module (example.com/hi).
    let mut args = vec!["up".to_string(), "--port".to_string(), format!("hi={port}")];
    args.extend(images.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&go, &args);
    assert_eq!(code, 1, "{out}\n{err}");
    for (key, image) in [("go", build), ("go-runtime", run_on)] {
        assert!(
            err.contains(&format!("--image {key}=… (now {image})")),
            "{key}: {err}"
        );
    }

    // The user's Dockerfile: its FROM, not a key.
    let own = tmp.path().join("own");
    std::fs::create_dir(&own).unwrap();
    std::fs::write(
        own.join("Dockerfile"),
        "FROM kyozo-nonexistent/base:1 AS build\nFROM build\nCMD [\"true\"]\n",
    )
    .unwrap();
    let (code, out, err) = run(&own, &["up"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("its Dockerfile's FROM kyozo-nonexistent/base:1 could not be pulled"),
        "{err}"
    );
    assert!(!err.contains("--image"), "{err}");
    ok(&app, &["down"]);
    ok(&go, &["down"]);
    ok(&own, &["down"]);
}

#[test]
fn debian_packages_a_build_needs_are_given_by_name_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let app = flask_folder(tmp.path(), "maps");
    let args = [
        "plan",
        "--dry-run",
        "--system-package",
        "libgdal-dev",
        "--system-package",
        "gdal-bin",
    ];
    let text = ok(&app, &args);
    assert!(
        text.contains("--system-package gdal-bin --system-package libgdal-dev"),
        "{text}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let doc: serde_json::Value = serde_json::from_str(&ok(&app, &json_args)).unwrap();
    let dockerfile = doc["plan"]["services"][0]["source"]["file"]["contents"]
        .as_str()
        .unwrap_or_else(|| panic!("{doc}"));
    let apt = dockerfile
        .lines()
        .find(|l| l.contains("apt-get install"))
        .unwrap_or_else(|| panic!("{dockerfile}"));
    assert!(
        apt.contains(" gdal-bin") && apt.contains(" libgdal-dev"),
        "{apt}"
    );
    // Before the dependencies: a package a dependency builds against is there.
    let at = |needle: &str| {
        dockerfile
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}"))
    };
    assert!(at("apt-get install") < at("pip install"), "{dockerfile}");

    // Not a Debian package name (one the planner would refuse too): refused, naming
    // it, nothing planned.
    for bad in ["gdal;id", "a"] {
        let (code, out, err) = run(&app, &["plan", "--dry-run", "--system-package", bad]);
        assert_ne!(code, 0, "{out}");
        assert!(
            err.contains(&format!("{bad:?}")) && err.contains("Debian package name"),
            "{err}"
        );
    }
}
