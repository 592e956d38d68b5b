//! The generated Dockerfile of a small real-shaped Python app, built through the library
//! alone (`Planner`, then the backend's build) on the Docker Engine (the classic
//! builder this engine runs) on the Debian test image, with packages from PyPI on the
//! host's network: the app answers HTTP as user 10001 (no permission error from a cache
//! its installer left behind: uv's was root's once), and after a one-line code edit the
//! rebuild takes the dependency install from the cache and rebuilds only the code
//! layers.
//!
//! The app is `tests/apps/uv-flask` (a `pyproject.toml` and a `uv.lock` made with uv).
//! Its answer carries the test run's id, so an image layer left by another run never
//! stands in for this run's code. Every other Python package manager (pip, poetry, pdm,
//! pipenv) goes the same round end to end through `kyozo up` in
//! `examples/cli/tests/real_apps.rs`, which checks the same user and the same cache.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/files.rs"]
mod files;
use files::copy_dir;

#[path = "common/docker.rs"]
mod docker;
#[path = "common/images.rs"]
mod images;

use std::path::Path;
use std::time::Instant;

use kyozo::backend::{BuildProgress, BuildSpec, ContainerBackend, ContainerSpec, PortSpec};
use kyozo::plan::{BaseImages, BuildOptions, ImageSource, Planner, ServicePlan};
use kyozo::topology::TopologyEngine;

use docker::{Cleanup, engine, http_answer};

async fn runtimes() -> String {
    tokio::task::spawn_blocking(images::runtimes).await.unwrap()
}

/// The plan of the one service in `root`, on the Debian test image.
fn plan(root: &Path, image: &str) -> ServicePlan {
    let topology = TopologyEngine::new().analyze(root).unwrap();
    let mut options = BuildOptions::default();
    options.network = Some("host".into());
    let plan = Planner::new()
        .with_images(BaseImages::empty().set("python", image))
        .with_build_options(options)
        .plan(&topology);
    assert_eq!(plan.services.len(), 1, "{:?}", plan.recommendations);
    plan.services[0].clone()
}

/// Builds `service`'s generated Dockerfile as `tag`: the builder's output, and how long
/// it took.
async fn build(
    engine: &dyn ContainerBackend,
    root: &Path,
    service: &ServicePlan,
    tag: &str,
    cleanup: &Cleanup,
) -> (String, f64) {
    let ImageSource::Generated { file } = &service.source else {
        panic!("{:?}", service.source);
    };
    std::fs::write(root.join(&file.path), &file.contents).unwrap();
    let build = service.spec.build.as_ref().unwrap();
    let mut spec = BuildSpec::default();
    spec.context = root.join(&build.context);
    spec.dockerfile = build.dockerfile.clone();
    spec.tag = tag.to_string();
    spec.labels = cleanup.labels();
    spec.network = build.network.clone();
    let mut output = String::new();
    let started = Instant::now();
    let built = engine
        .build_image(&spec, &mut |p| {
            if let BuildProgress::Output(line) = p {
                output.push_str(&line);
                if !line.ends_with('\n') {
                    output.push('\n');
                }
            }
        })
        .await;
    let took = started.elapsed().as_secs_f64();
    assert!(
        built.is_ok(),
        "{built:?}\nDockerfile:\n{}\n{output}",
        file.contents
    );
    (output, took)
}

/// Whether the builder took the step whose instruction contains `needle` from its cache.
fn cached(output: &str, needle: &str) -> bool {
    let mut lines = output
        .lines()
        .skip_while(|l| !(l.starts_with("Step ") && l.contains(needle)));
    assert!(
        lines.next().is_some(),
        "no step with {needle:?} in the build:\n{output}"
    );
    lines
        .take_while(|l| !l.starts_with("Step "))
        .any(|l| l.contains("Using cache"))
}

/// Builds the app in `tests/apps/<app>`, runs it as its image's user, checks it answers;
/// edits one line of its code, builds again and checks that only the code was rebuilt.
async fn builds_runs_and_rebuilds_only_the_code(app: &str, deps_step: &str) {
    let Some(engine) = engine().await else { return };
    let image = runtimes().await;
    let cleanup = Cleanup::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(app);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/apps")
            .join(app),
        &root,
    );
    let code = root.join("app.py");
    let original = std::fs::read_to_string(&code).unwrap();
    let answer = |version: &str| format!("hello from {app} {} {version}", cleanup.run);
    std::fs::write(&code, original.replace("VERSION", &answer("v1"))).unwrap();
    let service = plan(&root, &image);
    if let ImageSource::Generated { file } = &service.source {
        eprintln!("{app}: the generated Dockerfile:\n{}", file.contents);
    }
    let tag = format!("kyozo-test/tpl-{app}:{}", cleanup.run);
    let (_, first) = build(&engine, &root, &service, &tag, &cleanup).await;

    // It runs as the image's user (10001) and answers.
    let port = service.spec.ports[0].container_port;
    let mut run = ContainerSpec::new(format!("kyozo-test-tpl-{app}-{}", cleanup.run), &tag);
    run.ports.push(PortSpec {
        container: port,
        host: None,
        host_ip: None,
    });
    run.env = service.spec.env.clone();
    run.labels = cleanup.labels();
    let id = engine.create(&run).await.unwrap();
    engine.start(&id).await.unwrap();
    let host = engine.inspect(&id).await.unwrap().ports[&port];
    let text = match tokio::spawn(http_answer(host, "/")).await {
        Ok(text) => text,
        Err(_) => {
            let logs = std::process::Command::new("docker")
                .args(["logs", &id])
                .output()
                .unwrap();
            panic!(
                "{app} did not answer; its logs:\n{}{}",
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            )
        }
    };
    assert!(
        text.lines().next().is_some_and(|l| l.contains(" 200 ")),
        "{text}"
    );
    assert!(text.contains(&answer("v1")), "{text}");
    let user = std::process::Command::new("docker")
        .args(["exec", &id, "id", "-u"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "10001");

    // Another app (other manifests, the same first steps) is built from scratch on the
    // same engine, as when two apps build at once: its copies of the common first steps
    // are now the newest in the builder's cache. This app's next build must still find
    // its own install (each app's steps start with its manifests' digest).
    let other = dir.path().join(format!("{app}-other"));
    copy_dir(&root, &other);
    let manifest = other.join("pyproject.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n# the other app {}\n", cleanup.run),
    )
    .unwrap();
    let other_plan = plan(&other, &image);
    let ImageSource::Generated { file: other_file } = &other_plan.source else {
        panic!("{:?}", other_plan.source);
    };
    std::fs::write(other.join(&other_file.path), &other_file.contents).unwrap();
    let forked = std::process::Command::new("docker")
        .args(["build", "-q", "--no-cache", "--network", "host", "--label"])
        .arg(format!("{}={}", docker::LABEL_TEST_RUN, cleanup.run))
        .args([
            "-t",
            &format!("kyozo-test/tpl-{app}-other:{}", cleanup.run),
            "-f",
        ])
        .arg(other.join(&other_file.path))
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        forked.status.success(),
        "{}",
        String::from_utf8_lossy(&forked.stderr)
    );

    // One line of code changes: the dependencies come from the cache.
    let ImageSource::Generated { file } = &service.source else {
        panic!("{:?}", service.source);
    };
    assert!(
        file.contents.contains(deps_step),
        "{deps_step:?} in\n{}",
        file.contents
    );
    std::fs::write(&code, original.replace("VERSION", &answer("v2"))).unwrap();
    let again = plan(&root, &image);
    let tag2 = format!("kyozo-test/tpl-{app}:{}-2", cleanup.run);
    let (output, second) = build(&engine, &root, &again, &tag2, &cleanup).await;
    eprintln!("{app}: first build {first:.1} s, rebuild after a code edit {second:.1} s");
    assert!(
        cached(&output, deps_step),
        "the dependency install ran again after a code edit:\n{output}"
    );
    assert!(
        !cached(&output, "COPY --chown=10001:10001 . ."),
        "the code was not copied again:\n{output}"
    );
    // The other app's steps were its own (built without the cache): they go with it.
    let _ = std::process::Command::new("docker")
        .args([
            "rmi",
            "-f",
            &format!("kyozo-test/tpl-{app}-other:{}", cleanup.run),
        ])
        .output();
    drop(cleanup);
}

#[tokio::test]
async fn a_uv_app_answers_as_its_user_and_a_code_edit_keeps_its_dependencies() {
    builds_runs_and_rebuilds_only_the_code(
        "uv-flask",
        "uv sync --frozen --no-dev --no-install-project",
    )
    .await;
}

/// An HTTPS server on the host for as long as it lives (`openssl s_server`).
struct TlsServer(std::process::Child);

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `openssl` in `dir` with `args`, and asserts it succeeded.
fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA of the test's own (`ca.pem` in `dir`), the part a TLS-intercepting proxy plays,
/// and an HTTPS server on 127.0.0.1 with a certificate it signed: the server's port.
fn https_server_of_a_private_ca(dir: &Path) -> (TlsServer, u16) {
    std::fs::write(
        dir.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nx509_extensions = v3\nprompt = no\n\
         [dn]\nCN = kyozo test CA\n\
         [v3]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    let key = ["-newkey", "rsa:2048", "-nodes", "-days", "2"];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &key,
            &["-keyout", "ca.key", "-out", "ca.pem", "-config", "ca.cnf"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &key[..3],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("openssl")
        .current_dir(dir)
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-cert",
            "server.pem",
            "-key",
            "server.key",
        ])
        .args(["-accept", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = TlsServer(child);
    // Listening: a plain connection is accepted.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (server, port)
}

/// `docker build` of `context` on the host's network, as `tag` with the run's label:
/// whether it succeeded, and its output.
fn docker_build(context: &Path, tag: &str, cleanup: &Cleanup) -> (bool, String) {
    let out = std::process::Command::new("docker")
        .args(["build", "--force-rm", "--network", "host", "--label"])
        .arg(format!("{}={}", docker::LABEL_TEST_RUN, cleanup.run))
        .args(["-t", tag])
        .arg(context)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The JVM reads only its own truststore, not the system's CA bundle: a java build's
/// steps (maven, gradle and their wrappers) are given one made from the bundle and the
/// JDK's own CAs. Shown on the generated Dockerfile of a maven project, built on
/// Debian's JDK: its build stage up to the dependency install, where a private CA has
/// been added to the image's bundle (as a TLS-intercepting proxy's is), then a JVM that
/// fetches from an HTTPS server of that CA with the install step's settings. Without
/// them the same fetch fails on the certificate: the JVM would not have trusted the
/// bundle by itself.
#[tokio::test]
async fn a_java_builds_jvm_trusts_the_system_ca_bundle() {
    if engine().await.is_none() {
        return;
    }
    let jdk = tokio::task::spawn_blocking(images::jdk).await.unwrap();
    let cleanup = Cleanup::new();
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = https_server_of_a_private_ca(dir.path());

    let root = dir.path().join("app");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/java-spring-maven"),
        &root,
    );
    let topology = TopologyEngine::new().analyze(&root).unwrap();
    let images = BaseImages::empty()
        .set("java", &jdk)
        .set("maven", &jdk)
        .set("java-runtime", &jdk);
    let plan = Planner::new().with_images(images).plan(&topology);
    assert_eq!(plan.services.len(), 1, "{:?}", plan.recommendations);
    let ImageSource::Generated { file } = &plan.services[0].source else {
        panic!("{:?}", plan.services[0].source);
    };
    let text = &file.contents;
    // The settings every JVM step of the build runs with.
    let trust = text
        .lines()
        .find(|l| l.starts_with("RUN ") && l.contains("export JAVA_TOOL_OPTIONS="))
        .and_then(|l| l.strip_prefix("RUN "))
        .and_then(|l| l.strip_suffix(" \\"))
        .unwrap_or_else(|| panic!("no step sets JAVA_TOOL_OPTIONS:\n{text}"));
    // The build stage before its first COPY, with the private CA in the image's bundle.
    let mut head = Vec::new();
    for line in text.lines().take_while(|l| !l.starts_with("COPY ")) {
        head.push(line.to_string());
        if line.starts_with("FROM ") {
            head.push("COPY ca.pem /tmp/ca.pem".into());
            head.push("RUN cat /tmp/ca.pem >> /etc/ssl/certs/ca-certificates.crt".into());
        }
    }
    let context = dir.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::copy(dir.path().join("ca.pem"), context.join("ca.pem")).unwrap();
    std::fs::write(
        context.join("Fetch.java"),
        "public class Fetch { public static void main(String[] a) throws Exception { \
         try (var in = new java.net.URL(a[0]).openStream()) { \
         System.out.println(\"fetched over TLS: \" + in.readAllBytes().length + \" bytes\"); } } }\n",
    )
    .unwrap();
    let fetch = format!("java /tmp/Fetch.java https://127.0.0.1:{port}/");
    let dockerfile = |run: &str| {
        format!(
            "{}\nCOPY Fetch.java /tmp/Fetch.java\nRUN {run}\n",
            head.join("\n")
        )
    };

    let tag = format!("kyozo-test/java-trust:{}", cleanup.run);
    std::fs::write(
        context.join("Dockerfile"),
        dockerfile(&format!("{trust} && {fetch}")),
    )
    .unwrap();
    let (trusted, output) = docker_build(&context, &tag, &cleanup);
    assert!(
        trusted && output.contains("fetched over TLS"),
        "the build's JVM did not trust the bundle's CA:\n{output}"
    );

    std::fs::write(context.join("Dockerfile"), dockerfile(&fetch)).unwrap();
    let (plain, output) = docker_build(&context, &format!("{tag}-plain"), &cleanup);
    assert!(
        !plain && output.contains("PKIX path building failed"),
        "without the build's settings the JVM should refuse the private CA:\n{output}"
    );
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
}
