//! The runtime's logic through `Kyozo` on the in-memory backend: a deployment's audit
//! trail, a failure injected into the engine recorded as a failed deployment, and a
//! crash the manager sees. These run in milliseconds without an engine; what the same
//! operations do on Docker is shown by `tests/deploy_docker.rs`,
//! `tests/runtime_docker.rs` and `tests/manager_docker.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kyozo::Kyozo;
use kyozo::backend::memory::Call;
use kyozo::backend::{BackendError, ContainerBackend, MemoryBackend};
use kyozo::model::{EventKind, Member, ServiceInstance, ServiceStatus};

/// A Kyozo on `backend`, and a service `web` built from `web/Dockerfile` in a folder of
/// its own.
fn kyozo_with_web(backend: &MemoryBackend) -> (Kyozo, Member, ServiceInstance, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("web")).unwrap();
    std::fs::write(root.path().join("web/Dockerfile"), "FROM busybox\n").unwrap();
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
    let mut s = ServiceInstance::new(team.id, ws.id, "web", "web");
    s.config.dockerfile = Some("Dockerfile".into());
    let s = kyozo.create_service(owner.actor(), s).unwrap();
    (kyozo, owner, s, root)
}

fn kinds(kyozo: &Kyozo, owner: &Member, s: &ServiceInstance) -> Vec<EventKind> {
    let mut events = kyozo.events(owner.actor(), s.team, s.id, 100).unwrap();
    events.reverse();
    events.iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn a_deployment_builds_starts_and_records_its_events_in_order() {
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, _root) = kyozo_with_web(&backend);
    let report = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(report.containers.len(), 1);
    assert_eq!(
        kinds(&kyozo, &owner, &s),
        [
            EventKind::ServiceCreated,
            EventKind::DeploymentStarted,
            EventKind::ImageBuilt,
            EventKind::Started,
            EventKind::DeploymentCompleted
        ]
    );
    let builds = backend.builds();
    assert_eq!(builds.len(), 1);
    assert_eq!(builds[0].tag, report.image);
    let state = backend.inspect(&report.containers[0].0).await.unwrap();
    assert!(state.running && state.image == report.image, "{state:?}");
    let stored = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    assert_eq!(stored.status, ServiceStatus::Running);
}

#[tokio::test]
async fn an_engine_failure_is_a_failed_deployment_that_leaves_nothing_behind() {
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, _root) = kyozo_with_web(&backend);
    backend.fail_next(Call::Start, BackendError::conflict("port 8080 is taken"));
    let err = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap_err();
    assert!(err.to_string().contains("port 8080 is taken"), "{err}");
    assert_eq!(
        kinds(&kyozo, &owner, &s).last(),
        Some(&EventKind::DeploymentFailed)
    );
    let left = backend.list(&Default::default()).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    // The fault was for one call: the next deployment goes through.
    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
}

#[tokio::test]
async fn the_manager_records_a_crash() {
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, _root) = kyozo_with_web(&backend);
    let report = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let manager = kyozo.start_manager().await.unwrap();
    backend.exit(&report.containers[0].0, 3).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kinds(&kyozo, &owner, &s).contains(&EventKind::Crashed) {
        assert!(Instant::now() < deadline, "{:?}", kinds(&kyozo, &owner, &s));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The status follows the event (set by the task that recorded it).
    while kyozo.service(owner.actor(), s.team, s.id).unwrap().status != ServiceStatus::Failed {
        assert!(Instant::now() < deadline, "the status is not failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    manager.shutdown().await;
}

/// A service's plan labels go on its containers and its build labels on the images it
/// builds, under Kyozo's own labels: a plan label named like one of Kyozo's never
/// overrides it nor adds it. Other build labels are another build.
#[tokio::test]
async fn plan_labels_reach_containers_and_builds_but_never_as_kyozos() {
    use kyozo::backend::{LABEL_DEPLOYMENT, LABEL_SERVICE, LABEL_TEAM};
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, _root) = kyozo_with_web(&backend);
    let forged = |own: (&str, &str)| {
        std::collections::BTreeMap::from([
            (own.0.to_string(), own.1.to_string()),
            (LABEL_TEAM.to_string(), "forged".to_string()),
            (LABEL_SERVICE.to_string(), "forged".to_string()),
            (LABEL_DEPLOYMENT.to_string(), "forged".to_string()),
            (kyozo::runtime::LABEL_EDGE.to_string(), "forged".to_string()),
        ])
    };
    let mut stored = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    stored.config.labels = forged(("dev.kyozo.stack", "docker"));
    stored.config.build_labels = forged(("org.example.built-by", "plan"));
    kyozo.store().put_service(&stored).unwrap();

    let report = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let container = backend.inspect(&report.containers[0].0).await.unwrap();
    let build = &backend.builds()[0];
    for (labels, own) in [
        (&container.labels, ("dev.kyozo.stack", "docker")),
        (&build.labels, ("org.example.built-by", "plan")),
    ] {
        assert_eq!(labels.get(own.0).map(String::as_str), Some(own.1));
        assert_eq!(labels.get(LABEL_TEAM), Some(&s.team.to_string()));
        assert_eq!(labels.get(LABEL_SERVICE), Some(&s.id.to_string()));
        assert_ne!(
            labels.get(LABEL_DEPLOYMENT).map(String::as_str),
            Some("forged")
        );
        assert_eq!(labels.get(kyozo::runtime::LABEL_EDGE), None, "{labels:?}");
    }
    assert!(!build.labels.contains_key("dev.kyozo.stack"), "{build:?}");

    // Unchanged, the image is reused; with other build labels, it is built again.
    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(backend.builds().len(), 1);
    let mut stored = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    stored
        .config
        .build_labels
        .insert("org.example.built-by".into(), "another plan".into());
    kyozo.store().put_service(&stored).unwrap();
    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(backend.builds().len(), 2);
}
