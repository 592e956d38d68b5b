//! Shared by the tests that run on the real Docker Engine: the engine (or a failure
//! when `KYOZO_REQUIRE_DOCKER=1` and there is none), a busybox test image built locally
//! (no registry is reachable) and cached by tag, and a guard that removes every
//! container a test made, even when the test fails.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use kyozo::backend::{BuildSpec, ContainerBackend, DockerBackend};

/// The label that marks what one test made (its value is unique per guard).
pub const LABEL_TEST_RUN: &str = "dev.kyozo.test-run";

/// The busybox image the tests run, built once and kept between runs by its tag.
pub const BUSYBOX: &str = "kyozo-test/busybox:1";

/// The engine, or `None` (with a message) when there is none and it is not required.
/// With `KYOZO_REQUIRE_DOCKER=1` a missing engine fails the test.
pub async fn engine() -> Option<DockerBackend> {
    match DockerBackend::connect().await {
        Ok(d) => Some(d),
        Err(e) => {
            if std::env::var("KYOZO_REQUIRE_DOCKER").as_deref() == Ok("1") {
                panic!("KYOZO_REQUIRE_DOCKER=1 but no Docker Engine: {e}");
            }
            eprintln!(
                "SKIPPED: no Docker Engine ({e}); set KYOZO_REQUIRE_DOCKER=1 to fail instead"
            );
            None
        }
    }
}

/// Builds [`BUSYBOX`]: `FROM scratch` with Debian's static busybox and its applets.
pub async fn busybox(engine: &dyn ContainerBackend) -> String {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            let busybox = Path::new("/bin/busybox");
            assert!(
                busybox.is_file(),
                "the tests need a static busybox at /bin/busybox: apt-get install busybox-static"
            );
            let dir = tempfile::tempdir().unwrap();
            std::fs::copy(busybox, dir.path().join("busybox")).unwrap();
            std::fs::write(
                dir.path().join("Dockerfile"),
                "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
            )
            .unwrap();
            let mut spec = BuildSpec::default();
            spec.context = dir.path().to_path_buf();
            spec.dockerfile = "Dockerfile".into();
            spec.tag = BUSYBOX.into();
            spec.labels = BTreeMap::from([("dev.kyozo.test-image".to_string(), "1".to_string())]);
            engine.build_image(&spec, &mut |_| {}).await.unwrap();
            BUSYBOX.to_string()
        })
        .await
        .clone()
}

/// `GET path` on 127.0.0.1:`port` (HTTP/1.0), retried while the server starts (at most
/// 30 s); the whole answer.
pub async fn http_answer(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    for _ in 0..300 {
        let request = request.clone();
        let got = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
            s.write_all(request.as_bytes())?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })
        .await
        .unwrap();
        if let Ok(text) = got
            && text.starts_with("HTTP/1")
        {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("nothing answered HTTP on port {port}");
}

/// Removes every container, network, volume and image labelled with its run id when
/// dropped (with the docker CLI, so it works from a panicking test too).
#[derive(Debug)]
pub struct Cleanup {
    pub run: String,
    key: String,
}

impl Cleanup {
    pub fn new() -> Self {
        Self {
            run: uuid::Uuid::now_v7().simple().to_string(),
            key: LABEL_TEST_RUN.to_string(),
        }
    }

    /// Removes what carries the label `key=value` instead (a team's containers...).
    pub fn for_label(key: &str, value: impl Into<String>) -> Self {
        Self {
            run: value.into(),
            key: key.to_string(),
        }
    }

    /// The labels a test puts on what it makes.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL_TEST_RUN.to_string(), self.run.clone())])
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let filter = format!("label={}={}", self.key, self.run);
        docker_remove(
            &["rm", "-f", "-v"],
            &docker_list(&["ps", "-aq", "--filter", &filter]),
        );
        let images = docker_list(&["images", "-q", "--filter", &filter]);
        // Networks and volumes, once their containers are gone.
        for kind in ["network", "volume"] {
            docker_remove(
                &[kind, "rm"],
                &docker_list(&[kind, "ls", "-q", "--filter", &filter]),
            );
        }
        // Keep untagged parent layers: another test's build may be using them as its
        // cache at this moment (removing them made its build fail).
        docker_remove(&["rmi", "-f", "--no-prune"], &images);
    }
}

/// What `docker ARGS` lists, a word each (nothing when it cannot run).
fn docker_list(args: &[&str]) -> Vec<String> {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `docker REMOVE ITEMS` when there is something to remove.
fn docker_remove(remove: &[&str], items: &[String]) {
    if !items.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(remove)
            .args(items)
            .output();
    }
}
