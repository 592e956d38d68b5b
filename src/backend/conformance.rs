//! The conformance suite: one set of checks every [`ContainerBackend`] must pass, run
//! against a live engine. Kyozo's own tests run it against
//! [`DockerBackend`](super::DockerBackend) and the same behind a
//! [`CircuitBreaker`](super::CircuitBreaker);
//! a new backend runs it too:
//!
//! ```no_run
//! # async fn check(backend: &dyn kyozo::backend::ContainerBackend) {
//! let report = kyozo::backend::conformance::run(backend, "busybox:stable").await;
//! assert!(report.failed.is_empty(), "{report}");
//! # }
//! ```
//!
//! `image` must be present on the engine and have a POSIX `sh` with `echo`, `sleep`,
//! `cat`, `wget` and `httpd` (a busybox image does). Everything the suite makes carries the label
//! `dev.kyozo.conformance=<run id>` and is removed at the end, whatever the outcome.
//! Checks of what a backend's [`Capabilities`](super::Capabilities) say it cannot do are
//! skipped.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;

use super::{
    BackendError, BuildSpec, ContainerBackend, ContainerEventKind, ContainerSpec, LABEL_MANAGED_BY,
    LogOptions, PortSpec,
};
use crate::model::RestartPolicy;

/// The label on everything one run of the suite makes.
pub const LABEL_CONFORMANCE: &str = "dev.kyozo.conformance";

/// What a run of the suite found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Checks that passed.
    pub passed: Vec<&'static str>,
    /// Checks skipped because the backend says it cannot do what they check.
    pub skipped: Vec<&'static str>,
    /// Checks that failed, with what went wrong.
    pub failed: Vec<(&'static str, String)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} skipped, {} failed",
            self.passed.len(),
            self.skipped.len(),
            self.failed.len()
        )?;
        for (name, why) in &self.failed {
            write!(f, "\n  {name}: {why}")?;
        }
        Ok(())
    }
}

type Check = Result<(), String>;

/// Fails the check with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

struct Suite<'a> {
    backend: &'a dyn ContainerBackend,
    image: String,
    run: String,
}

impl Suite<'_> {
    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL_CONFORMANCE.to_string(), self.run.clone())])
    }

    fn spec(&self, name: &str, script: &str) -> ContainerSpec {
        let mut spec = ContainerSpec::new(
            format!("kyozo-conformance-{}-{name}", self.run),
            &self.image,
        );
        spec.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
        spec.labels = self.labels();
        spec
    }

    async fn started(&self, spec: &ContainerSpec) -> Result<String, String> {
        let id = self
            .backend
            .create(spec)
            .await
            .map_err(|e| format!("create: {e}"))?;
        self.backend
            .start(&id)
            .await
            .map_err(|e| format!("start: {e}"))?;
        Ok(id)
    }

    /// What a container printed, stdout and stderr together (lines it could not read
    /// left out).
    async fn said(&self, id: &str) -> Vec<String> {
        let lines: Vec<_> = self.backend.logs(id, LogOptions::default()).collect().await;
        lines
            .into_iter()
            .filter_map(Result::ok)
            .map(|l| l.text)
            .collect()
    }

    async fn lifecycle(&self) -> Check {
        let mut spec = self.spec("life", "echo ready; exec sleep 600");
        spec.env.insert("KYOZO_CHECK".into(), "1".into());
        let caps = self.backend.capabilities();
        if caps.host_ports {
            spec.ports.push(PortSpec {
                container: 8080,
                host: None,
            });
        }
        let id = self.started(&spec).await?;
        let state = self.backend.inspect(&id).await.map_err(|e| e.to_string())?;
        ensure!(state.running, "a started container runs: {state:?}");
        ensure!(state.id == id, "inspect gives the id create gave");
        ensure!(
            state.labels.get(LABEL_MANAGED_BY).map(String::as_str) == Some("kyozo"),
            "labelled managed-by kyozo: {:?}",
            state.labels
        );
        ensure!(
            state.labels.get(LABEL_CONFORMANCE) == Some(&self.run),
            "the spec's labels are kept"
        );
        if caps.host_ports {
            ensure!(
                state.ports.get(&8080).is_some_and(|p| *p > 0),
                "the published port is resolved: {:?}",
                state.ports
            );
        }
        // Idempotent by name.
        let again = self
            .backend
            .create(&spec)
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            again == id,
            "creating the same name again gives the same container"
        );
        let listed = self
            .backend
            .list(&self.labels())
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            listed.iter().any(|c| c.id == id && c.running),
            "list by label finds it running"
        );
        self.backend
            .stop(&id, Duration::from_secs(5))
            .await
            .map_err(|e| format!("stop: {e}"))?;
        let state = self.backend.inspect(&id).await.map_err(|e| e.to_string())?;
        ensure!(!state.running, "stopped");
        self.backend
            .remove(&id)
            .await
            .map_err(|e| format!("remove: {e}"))?;
        match self.backend.inspect(&id).await {
            Err(BackendError::NotFound { .. }) => Ok(()),
            other => Err(format!("a removed container is NotFound, got {other:?}")),
        }
    }

    async fn absent_is_not_an_error(&self) -> Check {
        let ghost = format!("kyozo-conformance-{}-never-made", self.run);
        self.backend
            .stop(&ghost, Duration::from_secs(1))
            .await
            .map_err(|e| format!("stop of an absent container: {e}"))?;
        self.backend
            .kill(&ghost)
            .await
            .map_err(|e| format!("kill of an absent container: {e}"))?;
        self.backend
            .remove(&ghost)
            .await
            .map_err(|e| format!("remove of an absent container: {e}"))?;
        match self.backend.inspect(&ghost).await {
            Err(BackendError::NotFound { .. }) => Ok(()),
            other => Err(format!(
                "inspect of an absent container is NotFound, got {other:?}"
            )),
        }
    }

    async fn exit_codes_wait_and_logs(&self) -> Check {
        let id = self
            .started(&self.spec(
                "exit",
                "echo one; echo two >&2; echo three; sleep 0.2; echo four; exit 3",
            ))
            .await?;
        let code = self
            .backend
            .wait(&id)
            .await
            .map_err(|e| format!("wait: {e}"))?;
        ensure!(code == 3, "wait gives the exit code 3, got {code}");
        let state = self.backend.inspect(&id).await.map_err(|e| e.to_string())?;
        ensure!(
            state.exit_code == Some(3) && !state.running,
            "inspect gives the exit code: {state:?}"
        );
        let lines: Vec<_> = self
            .backend
            .logs(&id, LogOptions::default())
            .collect()
            .await;
        let lines: Vec<_> = lines
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        // Each stream in order; the engine may interleave the two differently.
        let of = |stderr: bool| -> Vec<&str> {
            lines
                .iter()
                .filter(|l| l.stderr == stderr)
                .map(|l| l.text.as_str())
                .collect()
        };
        ensure!(
            of(false) == ["one", "three", "four"] && of(true) == ["two"],
            "logs give every line with its stream: {lines:?}"
        );
        let tail = LogOptions {
            tail: Some(1),
            ..LogOptions::default()
        };
        let last: Vec<_> = self.backend.logs(&id, tail).collect().await;
        ensure!(
            last.len() == 1 && last[0].as_ref().is_ok_and(|l| l.text == "four"),
            "tail 1 gives the last line: {last:?}"
        );
        Ok(())
    }

    async fn events(&self) -> Check {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            - 1_000_000_000;
        let id = self.started(&self.spec("events", "exit 2")).await?;
        self.backend.wait(&id).await.map_err(|e| e.to_string())?;
        self.backend.remove(&id).await.map_err(|e| e.to_string())?;
        let mut stream = self.backend.events(Some(since));
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(&ContainerEventKind::Destroyed) {
            let next = tokio::time::timeout_at(deadline, stream.next()).await;
            match next {
                Ok(Some(Ok(e))) if e.id == id => seen.push(e.kind),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(format!("the event stream failed: {e}")),
                Ok(None) | Err(_) => {
                    return Err(format!(
                        "the stream resumed from before the container gave only {seen:?}"
                    ));
                }
            }
        }
        let expected = [
            ContainerEventKind::Created,
            ContainerEventKind::Started,
            ContainerEventKind::Died { exit_code: Some(2) },
            ContainerEventKind::Destroyed,
        ];
        ensure!(
            seen == expected,
            "events in order {expected:?}, got {seen:?}"
        );
        Ok(())
    }

    async fn exec(&self) -> Check {
        let id = self.started(&self.spec("exec", "exec sleep 600")).await?;
        let argv = |s: &str| vec!["sh".to_string(), "-c".to_string(), s.to_string()];
        let out = self
            .backend
            .exec(
                &id,
                &argv("echo hello; echo there >&2"),
                Duration::from_secs(10),
            )
            .await
            .map_err(|e| format!("exec: {e}"))?;
        ensure!(out.exit_code == 0, "exit 0, got {out:?}");
        ensure!(
            out.output.contains("hello") && out.output.contains("there"),
            "output of both streams: {out:?}"
        );
        let out = self
            .backend
            .exec(&id, &argv("exit 7"), Duration::from_secs(10))
            .await
            .map_err(|e| format!("exec: {e}"))?;
        ensure!(out.exit_code == 7, "exit 7, got {out:?}");
        let slow = self
            .backend
            .exec(&id, &argv("sleep 30"), Duration::from_millis(500))
            .await;
        ensure!(
            matches!(slow, Err(BackendError::Timeout { .. })),
            "a command over its time is a Timeout, got {slow:?}"
        );
        Ok(())
    }

    async fn stats(&self) -> Check {
        let id = self.started(&self.spec("stats", "exec sleep 600")).await?;
        let gone = format!("kyozo-conformance-{}-gone", self.run);
        let stats = self
            .backend
            .stats(&[id.clone(), gone.clone()])
            .await
            .map_err(|e| format!("stats: {e}"))?;
        ensure!(
            stats.get(&id).is_some_and(|s| s.memory_bytes > 0),
            "a sample of the running container with its memory: {stats:?}"
        );
        ensure!(
            !stats.contains_key(&gone),
            "a container that is gone is left out"
        );
        Ok(())
    }

    async fn failed_start_cleans_up(&self) -> Check {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut first = self.spec("port-a", "exec sleep 600");
        first.ports.push(PortSpec {
            container: 8080,
            host: Some(port),
        });
        self.started(&first).await?;
        let mut second = self.spec("port-b", "exec sleep 600");
        second.ports = first.ports.clone();
        let id = self
            .backend
            .create(&second)
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            self.backend.start(&id).await.is_err(),
            "a start on a taken host port fails"
        );
        match self.backend.inspect(&id).await {
            Err(BackendError::NotFound { .. }) => Ok(()),
            other => Err(format!(
                "the container of a failed first start is removed, got {other:?}"
            )),
        }
    }

    async fn restart_policy(&self) -> Check {
        let mut spec = self.spec("restart", "exit 1");
        spec.restart = RestartPolicy::OnFailure { max_retries: 2 };
        let id = self.started(&spec).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let state = self.backend.inspect(&id).await.map_err(|e| e.to_string())?;
            if state.restart_count == 2 && !state.running && state.exit_code == Some(1) {
                return Ok(());
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "on-failure:2 restarts twice then stays down, got {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn build_list_and_remove_images(&self) -> Check {
        let dir = std::env::temp_dir().join(format!("kyozo-conformance-{}", self.run));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let written = std::fs::write(
            dir.join("Dockerfile"),
            format!("FROM {}\nRUN echo built > /built\n", self.image),
        );
        let tag = format!("kyozo-conformance/{}:1", self.run);
        let mut lines = 0;
        let built = match written {
            Ok(()) => {
                let spec = BuildSpec {
                    context: dir.clone(),
                    dockerfile: "Dockerfile".into(),
                    tag: tag.clone(),
                    labels: self.labels(),
                    ..BuildSpec::default()
                };
                self.backend.build_image(&spec, &mut |_| lines += 1).await
            }
            Err(e) => Err(BackendError::Engine(e.to_string())),
        };
        let _ = std::fs::remove_dir_all(&dir);
        built.map_err(|e| format!("build: {e}"))?;
        ensure!(lines > 0, "a build reports its progress");
        let images = self
            .backend
            .list_images(&self.labels())
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            images.iter().any(|i| i.tags.contains(&tag)
                && i.labels.get(LABEL_MANAGED_BY).map(String::as_str) == Some("kyozo")),
            "list_images finds the built image with its labels: {images:?}"
        );
        self.backend
            .remove_image(&tag)
            .await
            .map_err(|e| format!("remove_image: {e}"))?;
        self.backend
            .remove_image(&tag)
            .await
            .map_err(|e| format!("removing an absent image is no error: {e}"))?;
        let images = self
            .backend
            .list_images(&self.labels())
            .await
            .map_err(|e| e.to_string())?;
        ensure!(images.is_empty(), "the image is gone: {images:?}");
        Ok(())
    }

    async fn networks(&self) -> Check {
        let network = format!("kyozo-conformance-{}", self.run);
        let id = self
            .backend
            .create_network(&network, &self.labels())
            .await
            .map_err(|e| format!("create_network: {e}"))?;
        let again = self
            .backend
            .create_network(&network, &self.labels())
            .await
            .map_err(|e| format!("create_network again: {e}"))?;
        ensure!(
            again == id,
            "creating the same network again gives the same one"
        );
        let listed = self
            .backend
            .list_networks(&self.labels())
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            listed.iter().any(|n| n.name == network
                && n.labels.get(LABEL_MANAGED_BY).map(String::as_str) == Some("kyozo")),
            "list_networks finds it with its labels: {listed:?}"
        );
        // One container answers on the network under an alias; another reaches it by
        // that name.
        let mut server = self.spec(
            "net-server",
            "mkdir -p /www && echo found-by-alias > /www/index.html && exec httpd -f -p 8080 -h /www",
        );
        server.network = Some(network.clone());
        server.aliases = vec!["the-server".into()];
        self.started(&server).await?;
        let mut client = self.spec(
            "net-client",
            "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://the-server:8080/ && exit 0; sleep 0.5; done; exit 1",
        );
        client.network = Some(network.clone());
        let id = self.started(&client).await?;
        let code = self.backend.wait(&id).await.map_err(|e| e.to_string())?;
        let said = self.said(&id).await;
        ensure!(
            code == 0 && said.iter().any(|l| l == "found-by-alias"),
            "a container reaches another of its network by alias (exit {code}, said {said:?})"
        );
        Ok(())
    }

    async fn volumes(&self) -> Check {
        let volume = format!("kyozo-conformance-{}", self.run);
        self.backend
            .create_volume(&volume, &self.labels())
            .await
            .map_err(|e| format!("create_volume: {e}"))?;
        self.backend
            .create_volume(&volume, &self.labels())
            .await
            .map_err(|e| format!("creating the same volume again: {e}"))?;
        let mount = || {
            vec![super::VolumeMount {
                volume: volume.clone(),
                path: "/data".into(),
            }]
        };
        let mut writer = self.spec("vol-write", "echo kept > /data/file");
        writer.volumes = mount();
        let id = self.started(&writer).await?;
        let code = self.backend.wait(&id).await.map_err(|e| e.to_string())?;
        ensure!(code == 0, "writing to the volume exits 0, got {code}");
        self.backend.remove(&id).await.map_err(|e| e.to_string())?;
        let mut reader = self.spec("vol-read", "cat /data/file");
        reader.volumes = mount();
        let id = self.started(&reader).await?;
        self.backend.wait(&id).await.map_err(|e| e.to_string())?;
        let said = self.said(&id).await;
        ensure!(
            said == ["kept"],
            "the data outlives the container that wrote it: {said:?}"
        );
        self.backend.remove(&id).await.map_err(|e| e.to_string())?;
        let listed = self
            .backend
            .list_volumes(&self.labels())
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            listed.iter().any(|v| v.name == volume),
            "list_volumes finds it: {listed:?}"
        );
        self.backend
            .remove_volume(&volume)
            .await
            .map_err(|e| format!("remove_volume: {e}"))?;
        self.backend
            .remove_volume(&volume)
            .await
            .map_err(|e| format!("removing an absent volume is no error: {e}"))?;
        let listed = self
            .backend
            .list_volumes(&self.labels())
            .await
            .map_err(|e| e.to_string())?;
        ensure!(listed.is_empty(), "the volume is gone: {listed:?}");
        Ok(())
    }

    /// Removes every container, image, network and volume of this run.
    async fn clean(&self) {
        if let Ok(all) = self.backend.list(&self.labels()).await {
            for c in all {
                let _ = self.backend.remove(&c.id).await;
            }
        }
        if let Ok(images) = self.backend.list_images(&self.labels()).await {
            for i in images {
                let _ = self.backend.remove_image(&i.id).await;
            }
        }
        if let Ok(networks) = self.backend.list_networks(&self.labels()).await {
            for n in networks {
                let _ = self.backend.remove_network(&n.name).await;
            }
        }
        if let Ok(volumes) = self.backend.list_volumes(&self.labels()).await {
            for v in volumes {
                let _ = self.backend.remove_volume(&v.name).await;
            }
        }
    }
}

/// Runs every check against `backend`, with `image` (present on the engine, with a
/// POSIX `sh`), and removes what it made.
pub async fn run(backend: &dyn ContainerBackend, image: &str) -> Report {
    let suite = Suite {
        backend,
        image: image.to_string(),
        run: uuid::Uuid::now_v7().simple().to_string(),
    };
    let caps = backend.capabilities();
    let mut report = Report::default();
    let mut note = |name: &'static str, outcome: Option<Check>| match outcome {
        None => report.skipped.push(name),
        Some(Ok(())) => report.passed.push(name),
        Some(Err(why)) => report.failed.push((name, why)),
    };
    match backend.info().await {
        Ok(info) if !info.api_version.is_empty() => note("info", Some(Ok(()))),
        Ok(info) => note("info", Some(Err(format!("no API version: {info:?}")))),
        Err(e) => note("info", Some(Err(e.to_string()))),
    }
    note("lifecycle", Some(suite.lifecycle().await));
    note(
        "absent_is_not_an_error",
        Some(suite.absent_is_not_an_error().await),
    );
    note(
        "exit_codes_wait_and_logs",
        Some(suite.exit_codes_wait_and_logs().await),
    );
    note("events", Some(suite.events().await));
    note(
        "exec",
        if caps.exec {
            Some(suite.exec().await)
        } else {
            None
        },
    );
    note("stats", Some(suite.stats().await));
    note(
        "failed_start_cleans_up",
        if caps.host_ports {
            Some(suite.failed_start_cleans_up().await)
        } else {
            None
        },
    );
    note(
        "restart_policy",
        if caps.restart_policies {
            Some(suite.restart_policy().await)
        } else {
            None
        },
    );
    note(
        "networks",
        if caps.networks {
            Some(suite.networks().await)
        } else {
            None
        },
    );
    note(
        "volumes",
        if caps.volumes {
            Some(suite.volumes().await)
        } else {
            None
        },
    );
    note(
        "build_list_and_remove_images",
        if caps.build {
            Some(suite.build_list_and_remove_images().await)
        } else {
            None
        },
    );
    suite.clean().await;
    report
}
