//! `NamespacedBackend`, a backend written outside Kyozo, held to Kyozo's contract by
//! the public conformance suite, and running a service deployed through `Kyozo`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use kyozo::Kyozo;
use kyozo::backend::{ContainerBackend, ContainerSpec, LABEL_SERVICE};
use kyozo::model::{EventKind, ServiceInstance, ServiceStatus};
use kyozo::testing::{MemoryBackend, backend_conformance};
use kyozo_custom_backend::{LABEL_NAMESPACE, NamespacedBackend};

const IMAGE: &str = "busybox:stable";

#[tokio::test]
async fn it_passes_the_public_conformance_suite() {
    let backend = NamespacedBackend::new(MemoryBackend::new().with_image(IMAGE), "tenant-a");
    let report = backend_conformance(&backend, IMAGE).await;
    assert!(report.failed.is_empty(), "{report}");
    assert!(!report.passed.is_empty(), "{report}");
    eprintln!("{report}");
}

#[tokio::test]
async fn two_namespaces_on_one_engine_do_not_see_each_other() {
    let engine = MemoryBackend::new().with_image(IMAGE);
    let a = NamespacedBackend::new(engine.clone(), "tenant-a");
    let b = NamespacedBackend::new(engine.clone(), "tenant-b");
    let id = a.create(&ContainerSpec::new("web", IMAGE)).await.unwrap();
    // The same name in the other namespace is another container.
    let other = b.create(&ContainerSpec::new("web", IMAGE)).await.unwrap();
    assert_ne!(id, other);
    assert_eq!(a.inspect(&id).await.unwrap().name, "web");
    assert_eq!(engine.inspect(&id).await.unwrap().name, "tenant-a-web");
    assert!(
        b.inspect(&id).await.is_err(),
        "b does not see a's container"
    );
    let listed = b.list(&BTreeMap::new()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, other);
    // Removing through b what only a has removes nothing.
    b.remove(&id).await.unwrap();
    assert!(a.inspect(&id).await.is_ok());
}

#[tokio::test]
async fn kyozo_deploys_a_service_on_it() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("web")).unwrap();
    std::fs::write(root.path().join("web/Dockerfile"), "FROM busybox\n").unwrap();
    let engine = MemoryBackend::new();
    let backend = NamespacedBackend::new(engine.clone(), "tenant-a");
    let kyozo = Kyozo::builder().backend(Arc::new(backend)).build().unwrap();

    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    ws.root = Some(root.path().to_path_buf());
    kyozo.store().put_workspace(&ws).unwrap();
    let mut web = ServiceInstance::new(team.id, ws.id, "web", "web");
    web.config.dockerfile = Some("Dockerfile".into());
    let web = kyozo.create_service(owner.actor(), web).unwrap();

    let report = kyozo.deploy(owner.actor(), team.id, web.id).await.unwrap();
    assert_eq!(report.containers.len(), 1);

    let mut events = kyozo.events(owner.actor(), team.id, web.id, 100).unwrap();
    events.reverse();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ServiceCreated,
            EventKind::DeploymentStarted,
            EventKind::ImageBuilt,
            EventKind::Started,
            EventKind::DeploymentCompleted
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(
        kyozo
            .service(owner.actor(), team.id, web.id)
            .unwrap()
            .status,
        ServiceStatus::Running
    );

    // On the shared engine the container carries the namespace in its name and label.
    let filter = BTreeMap::from([(LABEL_SERVICE.to_string(), web.id.to_string())]);
    let on_engine = engine.list(&filter).await.unwrap();
    assert_eq!(on_engine.len(), 1);
    assert!(
        on_engine[0].name.starts_with("tenant-a-kyozo-web-"),
        "{on_engine:?}"
    );
    assert_eq!(
        on_engine[0].labels.get(LABEL_NAMESPACE).map(String::as_str),
        Some("tenant-a")
    );
}
