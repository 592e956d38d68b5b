//! The conformance suite: one set of checks every [`ContainerBackend`] must pass.
//!
//! It has two parts:
//! - [`run`]: what **every** backend must do, whatever runs its containers. Kyozo's own
//!   tests run it against [`DockerBackend`](super::DockerBackend), the same behind a
//!   [`CircuitBreaker`](super::CircuitBreaker), and
//!   [`MemoryBackend`](super::MemoryBackend); a new backend runs it too (with the
//!   `testing` feature it is also `kyozo::testing::backend_conformance`):
//!
//! ```no_run
//! # async fn check(backend: &dyn kyozo::backend::ContainerBackend) {
//! let report = kyozo::backend::conformance::run(backend, "busybox:stable").await;
//! assert!(report.failed.is_empty(), "{report}");
//! # }
//! ```
//!
//! - [`run_engine`]: what only an engine that runs real processes can show: a container
//!   reaching another over HTTP by its alias on a network, and a build that really runs
//!   its `RUN` steps. `DockerBackend` runs it too; an in-memory backend does not.
//!
//! The shared checks give containers short POSIX `sh -c` scripts: `echo` (to stderr
//! with `>&2`, to a file with `>`), `cat FILE`, `sleep`, `exit N` and `exec`. A backend
//! runs them in a real shell (`image` must then have one: a busybox image does, and
//! for [`run_engine`] `wget` and `httpd` too), or interprets them, as `MemoryBackend`
//! does. Everything the suite makes carries the label `dev.kyozo.conformance=<run id>`
//! and is removed at the end, whatever the outcome. Checks of what a backend's
//! [`Capabilities`](super::Capabilities) say it cannot do are skipped, and the report
//! says so.

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

impl Report {
    /// Runs `check` and records how it went, or records it as skipped without running
    /// it when the backend is not `able` to do what it checks.
    async fn check(
        &mut self,
        name: &'static str,
        able: bool,
        check: impl std::future::Future<Output = Check>,
    ) {
        if !able {
            self.skipped.push(name);
            return;
        }
        match check.await {
            Ok(()) => self.passed.push(name),
            Err(why) => self.failed.push((name, why)),
        }
    }
}

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

impl<'a> Suite<'a> {
    fn new(backend: &'a dyn ContainerBackend, image: &str) -> Self {
        Self {
            backend,
            image: image.to_string(),
            run: uuid::Uuid::now_v7().simple().to_string(),
        }
    }

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
                host_ip: None,
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
            host_ip: None,
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

    /// Builds the image `kyozo-conformance/<run>:<version>`: the suite's image with the
    /// `RUN` step `step`, from a context folder made for it and removed after. Returns
    /// its tag and how many progress reports the build gave.
    async fn build(&self, version: &str, step: &str) -> Result<(String, usize), String> {
        let dir = std::env::temp_dir().join(format!("kyozo-conformance-{}-{version}", self.run));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let written = std::fs::write(
            dir.join("Dockerfile"),
            format!("FROM {}\nRUN {step}\n", self.image),
        );
        let tag = format!("kyozo-conformance/{}:{version}", self.run);
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
            Err(e) => Err(BackendError::engine(e.to_string())),
        };
        let _ = std::fs::remove_dir_all(&dir);
        built.map_err(|e| format!("build: {e}"))?;
        Ok((tag, lines))
    }

    async fn build_list_and_remove_images(&self) -> Check {
        // The step names this run: suites run at the same time on one engine share no
        // cached layer that one removes while the other builds on it (the classic
        // builder then fails with "failed to get digest").
        let (tag, lines) = self
            .build("1", &format!("echo built {} > /built", self.run))
            .await?;
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
        // Services deployed at the same time ask for their workspace's network at
        // once: every ask gets the one network, none an error.
        let racing = format!("kyozo-conformance-race-{}", self.run);
        let labels = self.labels();
        let asks = (0..4).map(|_| self.backend.create_network(&racing, &labels));
        let ids = futures_util::future::join_all(asks).await;
        let ids: Vec<String> = ids
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| format!("create_network, four at once: {e}"))?;
        ensure!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "four creations of one network at once give one network: {ids:?}"
        );
        let same_name = self
            .backend
            .list_networks(&labels)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|n| n.name == racing)
            .count();
        ensure!(
            same_name == 1,
            "one network named {racing}, not {same_name}"
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
        // A container joins it under an alias.
        let mut member = self.spec("net-member", "exec sleep 600");
        member.network = Some(network.clone());
        member.aliases = vec!["the-member".into()];
        let id = self.started(&member).await?;
        let state = self.backend.inspect(&id).await.map_err(|e| e.to_string())?;
        ensure!(state.running, "a container on the network runs: {state:?}");
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

    /// A network where one container reaches another by its alias over HTTP (real
    /// processes only).
    async fn network_alias_answers(&self) -> Check {
        let network = format!("kyozo-conformance-{}-http", self.run);
        self.backend
            .create_network(&network, &self.labels())
            .await
            .map_err(|e| format!("create_network: {e}"))?;
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

    /// A build whose `RUN` step really ran: a container of the image finds its file.
    async fn build_runs_its_steps(&self) -> Check {
        let step = format!("echo built-by-a-step > /built # run {}", self.run);
        let (tag, _) = self.build("run", &step).await?;
        let mut spec = self.spec("built", "cat /built");
        spec.image = tag;
        let id = self.started(&spec).await?;
        let code = self.backend.wait(&id).await.map_err(|e| e.to_string())?;
        let said = self.said(&id).await;
        ensure!(
            code == 0 && said == ["built-by-a-step"],
            "the image holds what its RUN step wrote (exit {code}, said {said:?})"
        );
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
                // A name the engine holds twice is ambiguous: then by its id.
                if self.backend.remove_network(&n.name).await.is_err() {
                    let _ = self.backend.remove_network(&n.id).await;
                }
            }
        }
        if let Ok(volumes) = self.backend.list_volumes(&self.labels()).await {
            for v in volumes {
                let _ = self.backend.remove_volume(&v.name).await;
            }
        }
    }
}

/// Runs the checks every backend must pass against `backend`, with `image` (present on
/// the engine; see the [module docs](self) for what its containers are asked to run),
/// and removes what it made.
pub async fn run(backend: &dyn ContainerBackend, image: &str) -> Report {
    let suite = Suite::new(backend, image);
    let caps = backend.capabilities();
    let mut report = Report::default();
    let info = async {
        match backend.info().await {
            Ok(info) if !info.api_version.is_empty() => Ok(()),
            Ok(info) => Err(format!("no API version: {info:?}")),
            Err(e) => Err(e.to_string()),
        }
    };
    report.check("info", true, info).await;
    report.check("lifecycle", true, suite.lifecycle()).await;
    report
        .check(
            "absent_is_not_an_error",
            true,
            suite.absent_is_not_an_error(),
        )
        .await;
    report
        .check(
            "exit_codes_wait_and_logs",
            true,
            suite.exit_codes_wait_and_logs(),
        )
        .await;
    report.check("events", true, suite.events()).await;
    report.check("exec", caps.exec, suite.exec()).await;
    report.check("stats", true, suite.stats()).await;
    report
        .check(
            "failed_start_cleans_up",
            caps.host_ports,
            suite.failed_start_cleans_up(),
        )
        .await;
    report
        .check(
            "restart_policy",
            caps.restart_policies,
            suite.restart_policy(),
        )
        .await;
    report
        .check("networks", caps.networks, suite.networks())
        .await;
    report.check("volumes", caps.volumes, suite.volumes()).await;
    report
        .check(
            "build_list_and_remove_images",
            caps.build,
            suite.build_list_and_remove_images(),
        )
        .await;
    suite.clean().await;
    report
}

/// Runs the checks that need an engine running real processes (see the
/// [module docs](self)) against `backend`, with `image` (present on the engine, with
/// `sh`, `cat`, `wget` and `httpd`), and removes what it made. Checks of what the
/// backend's capabilities rule out are skipped.
pub async fn run_engine(backend: &dyn ContainerBackend, image: &str) -> Report {
    let suite = Suite::new(backend, image);
    let caps = backend.capabilities();
    let mut report = Report::default();
    report
        .check(
            "network_alias_answers",
            caps.networks,
            suite.network_alias_answers(),
        )
        .await;
    report
        .check(
            "build_runs_its_steps",
            caps.build,
            suite.build_runs_its_steps(),
        )
        .await;
    suite.clean().await;
    report
}
