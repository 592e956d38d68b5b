//! Jobs on the in-memory backend: a job's deployment waits for its end (exit 0: the
//! deployment completes with its output and the service is stopped; another code fails
//! at the `run` step), and the manager takes a job's exit 0 as its end, never a crash,
//! whether it sees it happen or finds it at its start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kyozo::Kyozo;
use kyozo::backend::{ContainerBackend, MemoryBackend};
use kyozo::model::{EventKind, Member, ServiceInstance, ServiceKind, ServiceStatus};

/// A Kyozo on `backend` and a job `once` running `script` (an image built from
/// `once/Dockerfile`).
fn kyozo_with_job(
    backend: &MemoryBackend,
    script: &str,
) -> (Kyozo, Member, ServiceInstance, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("once")).unwrap();
    std::fs::write(root.path().join("once/Dockerfile"), "FROM busybox\n").unwrap();
    let kyozo = Kyozo::builder()
        .backend_unguarded(Arc::new(backend.clone()))
        .build()
        .unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    ws.root = Some(root.path().to_path_buf());
    kyozo.store().put_workspace(&ws).unwrap();
    let mut s = ServiceInstance::new(team.id, ws.id, "once", "once");
    s.config.dockerfile = Some("Dockerfile".into());
    s.config.kind = ServiceKind::Job;
    s.config.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
    let s = kyozo.create_service(owner.actor(), s).unwrap();
    (kyozo, owner, s, root)
}

fn kinds(kyozo: &Kyozo, owner: &Member, s: &ServiceInstance) -> Vec<EventKind> {
    let mut events = kyozo.events(owner.actor(), s.team, s.id, 100).unwrap();
    events.reverse();
    events.iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn a_job_runs_to_its_end_and_a_failing_one_fails_its_deployment() {
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, _root) = kyozo_with_job(&backend, "echo migrated 3 tables; exit 0");
    let report = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let job = report.job.expect("a job's outcome");
    assert_eq!(job.exit_code, Some(0));
    assert!(
        job.output.iter().any(|l| l.contains("migrated 3 tables")),
        "{job:?}"
    );
    let stored = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    assert_eq!(stored.status, ServiceStatus::Stopped);
    assert!(kinds(&kyozo, &owner, &s).contains(&EventKind::DeploymentCompleted));

    let mut failing = stored.clone();
    failing.config.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "echo 'error: no such table'; exit 5".into(),
    ]);
    kyozo.store().put_service(&failing).unwrap();
    let err = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap_err();
    match &err {
        kyozo::Error::Deploy { step, message, .. } => {
            assert_eq!(*step, "run", "{err}");
            assert!(message.contains("exited with code 5"), "{message}");
            assert!(message.contains("error: no such table"), "{message}");
        }
        other => panic!("not a deploy error: {other}"),
    }
}

#[tokio::test]
async fn the_manager_takes_a_jobs_exit_0_as_its_end() {
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, _root) = kyozo_with_job(&backend, "echo done; exit 0");
    let report = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let container = report.containers[0].0.clone();

    // As if it had outlived its deployment's wait and ended while no one watched.
    let mut stored = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    stored.status = ServiceStatus::Running;
    kyozo.store().put_service(&stored).unwrap();
    let manager = kyozo.start_manager().await.unwrap();
    let now = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    assert_eq!(now.status, ServiceStatus::Stopped);
    assert!(!kinds(&kyozo, &owner, &s).contains(&EventKind::Crashed));

    // And as it happens: run again, it ends with 0: `stopped`, not a crash.
    let mut stored = now;
    stored.status = ServiceStatus::Running;
    kyozo.store().put_service(&stored).unwrap();
    backend.start(&container).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while kinds(&kyozo, &owner, &s).last() != Some(&EventKind::Stopped) {
        assert!(Instant::now() < deadline, "{:?}", kinds(&kyozo, &owner, &s));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    manager.shutdown().await;
    let now = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    assert_eq!(now.status, ServiceStatus::Stopped);
    let kinds = kinds(&kyozo, &owner, &s);
    assert!(!kinds.contains(&EventKind::Crashed), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&EventKind::Stopped), "{kinds:?}");
}
