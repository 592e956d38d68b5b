//! `kyozo::backend::MemoryBackend`, the in-memory backend for unit tests: it passes the
//! shared conformance suite, and gives tests what a real engine cannot (virtual time,
//! crashes on demand, injected failures, scripted exec, fed logs and stats). It serves
//! unit tests; what Kyozo does on Docker is shown by the `*_docker.rs` tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use kyozo::backend::memory::Call;
use kyozo::backend::{
    BackendError, BuildSpec, ContainerBackend, ContainerEventKind, ContainerSpec, ContainerStats,
    ExecOutput, LogLine, LogOptions, MemoryBackend, conformance,
};
use kyozo::model::RestartPolicy;

const IMAGE: &str = "busybox:stable";

fn backend() -> MemoryBackend {
    MemoryBackend::new().with_image(IMAGE)
}

fn spec(name: &str, script: Option<&str>) -> ContainerSpec {
    let mut spec = ContainerSpec::new(name, IMAGE);
    spec.command = script.map(|s| vec!["sh".into(), "-c".into(), s.into()]);
    spec
}

async fn started(backend: &MemoryBackend, spec: &ContainerSpec) -> String {
    let id = backend.create(spec).await.unwrap();
    backend.start(&id).await.unwrap();
    id
}

async fn said(backend: &MemoryBackend, id: &str) -> Vec<String> {
    backend
        .logs(id, LogOptions::default())
        .map(|l| l.unwrap().text)
        .collect()
        .await
}

#[tokio::test]
async fn the_memory_backend_conforms() {
    let backend = backend();
    let report = conformance::run(&backend, IMAGE).await;
    assert!(report.failed.is_empty(), "{report}");
    // Nothing listens, so no port is published: the one check of host ports is skipped.
    assert_eq!(report.skipped, ["failed_start_cleans_up"], "{report}");
    assert!(report.passed.len() >= 11, "{report}");
    // The suite removed what it made.
    assert!(backend.list(&BTreeMap::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_image_it_does_not_have_cannot_be_pulled() {
    let backend = MemoryBackend::new();
    let err = backend.create(&spec("c", None)).await.unwrap_err();
    assert!(matches!(err, BackendError::Pull { .. }), "{err:?}");
    backend.add_image(IMAGE);
    backend.create(&spec("c", None)).await.unwrap();
}

#[tokio::test]
async fn scripts_run_in_virtual_time() {
    let backend = backend();
    let id = started(
        &backend,
        &spec("sleeper", Some("echo up; sleep 5; echo done; exit 4")),
    )
    .await;
    assert!(backend.inspect(&id).await.unwrap().running);
    backend.advance(Duration::from_secs(4));
    assert!(backend.inspect(&id).await.unwrap().running, "4 s of 5");
    backend.advance(Duration::from_secs(1));
    let state = backend.inspect(&id).await.unwrap();
    assert_eq!((state.running, state.exit_code), (false, Some(4)));
    assert_eq!(said(&backend, &id).await, ["up", "done"]);
    assert_eq!(backend.clock(), Duration::from_secs(5));

    // A container without a command runs until it is stopped, whatever time passes.
    let server = started(&backend, &spec("server", None)).await;
    backend.advance(Duration::from_secs(86_400));
    assert!(backend.inspect(&server).await.unwrap().running);
    backend.stop(&server, Duration::from_secs(1)).await.unwrap();
    assert!(!backend.inspect(&server).await.unwrap().running);
}

#[tokio::test]
async fn a_crash_is_a_died_event_and_the_restart_policy_applies() {
    let backend = backend();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let plain = started(&backend, &spec("plain", None)).await;
    backend.exit(&plain, 1).unwrap();
    let state = backend.inspect(&plain).await.unwrap();
    assert_eq!((state.running, state.exit_code), (false, Some(1)));
    assert_eq!(backend.wait(&plain).await.unwrap(), 1);

    let mut restarting = spec("restarting", None);
    restarting.restart = RestartPolicy::OnFailure { max_retries: 1 };
    let id = started(&backend, &restarting).await;
    backend.exit(&id, 2).unwrap();
    let state = backend.inspect(&id).await.unwrap();
    assert!(state.running, "restarted once: {state:?}");
    assert_eq!(state.restart_count, 1);
    backend.exit(&id, 2).unwrap();
    let state = backend.inspect(&id).await.unwrap();
    assert!(!state.running, "no retries left: {state:?}");

    let oom = started(&backend, &spec("oom", None)).await;
    backend.oom(&oom).unwrap();
    let state = backend.inspect(&oom).await.unwrap();
    assert!(
        state.oom_killed && state.exit_code == Some(137),
        "{state:?}"
    );

    let events: Vec<_> = backend
        .events(Some(since))
        .take(12)
        .map(|e| e.unwrap())
        .collect()
        .await;
    let of = |id: &str| -> Vec<ContainerEventKind> {
        events
            .iter()
            .filter(|e| e.id == id)
            .map(|e| e.kind.clone())
            .collect()
    };
    assert_eq!(
        of(&plain),
        [
            ContainerEventKind::Created,
            ContainerEventKind::Started,
            ContainerEventKind::Died { exit_code: Some(1) }
        ]
    );
    assert_eq!(
        of(&id),
        [
            ContainerEventKind::Created,
            ContainerEventKind::Started,
            ContainerEventKind::Died { exit_code: Some(2) },
            ContainerEventKind::Started,
            ContainerEventKind::Died { exit_code: Some(2) }
        ]
    );
    assert_eq!(
        of(&oom),
        [
            ContainerEventKind::Created,
            ContainerEventKind::Started,
            ContainerEventKind::Oom,
            ContainerEventKind::Died {
                exit_code: Some(137)
            }
        ]
    );
}

#[tokio::test]
async fn the_next_call_fails_as_asked_and_only_that_one() {
    let backend = backend();
    backend.fail_next(Call::Start, BackendError::engine("no room on the engine"));
    let id = backend.create(&spec("web", None)).await.unwrap();
    let err = backend.start(&id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the container engine refused: no room on the engine"
    );
    // The contract: a first start that fails removes the container.
    assert!(matches!(
        backend.inspect(&id).await,
        Err(BackendError::NotFound { .. })
    ));
    let id = started(&backend, &spec("web", None)).await;
    assert!(backend.inspect(&id).await.unwrap().running);

    backend.fail_next(Call::Inspect, BackendError::unavailable("memory", "gone"));
    backend.fail_next(
        Call::Inspect,
        BackendError::unavailable("memory", "still gone"),
    );
    assert!(backend.inspect(&id).await.is_err());
    assert!(backend.inspect(&id).await.is_err());
    assert!(backend.inspect(&id).await.is_ok());

    backend.fail_next(Call::Logs, BackendError::engine("no logs"));
    let first = backend.logs(&id, LogOptions::default()).next().await;
    assert!(matches!(first, Some(Err(BackendError::Engine { .. }))));
}

#[tokio::test]
async fn builds_are_recorded_with_a_stable_digest() {
    let backend = backend();
    let mut spec = BuildSpec::default();
    spec.context = "/nowhere/web".into();
    spec.dockerfile = "Dockerfile".into();
    spec.tag = "kyozo/web:1".into();
    let mut lines = Vec::new();
    let first = backend
        .build_image(&spec, &mut |p| lines.push(p))
        .await
        .unwrap();
    let again = backend.build_image(&spec, &mut |_| {}).await.unwrap();
    assert_eq!(first, again, "the same spec, the same digest");
    assert!(!lines.is_empty(), "a build reports progress");
    spec.args.insert("VERSION".into(), "2".into());
    let other = backend.build_image(&spec, &mut |_| {}).await.unwrap();
    assert_ne!(first, other);
    let recorded = backend.builds();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[2], spec);
    // The tag moved to the last build, and a container runs the image by its tag.
    let images = backend.list_images(&BTreeMap::new()).await.unwrap();
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0].id, other);
    let c = backend
        .create(&ContainerSpec::new("from-build", "kyozo/web:1"))
        .await
        .unwrap();
    // As on an engine, an image a container uses cannot be removed, until it is gone.
    let err = backend.remove_image("kyozo/web:1").await.unwrap_err();
    assert!(matches!(err, BackendError::Conflict { .. }), "{err:?}");
    backend.remove(&c).await.unwrap();
    backend.remove_image("kyozo/web:1").await.unwrap();
    assert!(
        backend
            .list_images(&BTreeMap::new())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn exec_is_scripted_or_run_by_the_shell() {
    let backend = backend();
    let id = started(&backend, &spec("db", None)).await;
    let argv = vec!["pg_isready".to_string()];
    let out = backend
        .exec(&id, &argv, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 127, "not scripted yet: {out:?}");
    backend.script_exec(argv.clone(), ExecOutput::new(0, "accepting connections"));
    let out = backend
        .exec(&id, &argv, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(out, ExecOutput::new(0, "accepting connections"));
    backend.stop(&id, Duration::ZERO).await.unwrap();
    assert!(
        backend
            .exec(&id, &argv, Duration::from_secs(1))
            .await
            .is_err(),
        "no exec in a stopped container"
    );
}

#[tokio::test]
async fn logs_and_stats_are_fed_by_the_test() {
    let backend = backend();
    let id = started(&backend, &spec("web", Some("echo booted; exec httpd -f"))).await;
    let stats = backend.stats(std::slice::from_ref(&id)).await.unwrap();
    assert!(stats[&id].memory_bytes > 0, "synthesised: {stats:?}");
    let fed = ContainerStats::default()
        .with_memory(1234, 4096)
        .with_cpu_percent(50.0);
    backend.set_stats(&id, fed).unwrap();
    assert_eq!(
        backend.stats(std::slice::from_ref(&id)).await.unwrap()[&id],
        fed
    );

    let mut follow = backend.logs(&id, LogOptions::default().with_follow(true));
    assert_eq!(follow.next().await.unwrap().unwrap().text, "booted");
    backend.push_log(&id, LogLine::stderr("a warning")).unwrap();
    assert_eq!(
        follow.next().await.unwrap().unwrap(),
        LogLine::stderr("a warning")
    );
    backend.stop(&id, Duration::ZERO).await.unwrap();
    assert!(
        follow.next().await.is_none(),
        "following ends when it stops"
    );
}

#[tokio::test]
async fn a_container_stopped_while_waiting_to_restart_is_exited() {
    let backend = backend();
    let mut flapping = spec("flapping", Some("exit 1"));
    flapping.restart = RestartPolicy::Always;
    let id = started(&backend, &flapping).await;
    // It died at the instant it started: its restart waits for the clock to move.
    assert_eq!(backend.inspect(&id).await.unwrap().status, "restarting");
    backend.stop(&id, Duration::from_secs(1)).await.unwrap();
    backend.advance(Duration::from_secs(1));
    let state = backend.inspect(&id).await.unwrap();
    assert_eq!(
        (state.running, state.status.as_str(), state.exit_code),
        (false, "exited", Some(1)),
        "{state:?}"
    );
}
