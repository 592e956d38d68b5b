//! What the runtime asks of a build, on the in-memory backend: the limits the `Kyozo`
//! builder was given, and Kyozo's labels on the image without the deployment's (an
//! image is shared by the deployments that reuse it). What the engine makes of them is
//! shown by `tests/build_docker.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kyozo::Kyozo;
use kyozo::backend::{BuildLimits, LABEL_DEPLOYMENT, LABEL_SERVICE, LABEL_TEAM, MemoryBackend};
use kyozo::model::ServiceInstance;

#[tokio::test]
async fn a_build_gets_the_builders_limits_and_no_deployment_label() {
    let backend = MemoryBackend::new();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("web")).unwrap();
    std::fs::write(root.path().join("web/Dockerfile"), "FROM busybox\n").unwrap();
    let limits = BuildLimits::default()
        .with_memory_bytes(Some(512 << 20))
        .with_cpus(Some(1.5));
    let kyozo = Kyozo::builder()
        .backend_unguarded(Arc::new(backend.clone()))
        .build_limits(limits)
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

    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let build = &backend.builds()[0];
    assert_eq!(build.limits, limits);
    assert_eq!(build.labels.get(LABEL_TEAM), Some(&team.id.to_string()));
    assert_eq!(build.labels.get(LABEL_SERVICE), Some(&s.id.to_string()));
    assert_eq!(
        build.labels.get(LABEL_DEPLOYMENT),
        None,
        "{:?}",
        build.labels
    );
}

#[test]
fn builds_have_limits_by_default_and_at_least_one_may_run() {
    let defaults = BuildLimits::default();
    assert_eq!(defaults.memory_bytes, Some(2047 << 20));
    assert!(defaults.cpus.is_some_and(|c| c >= 1.0));
    let refused = Kyozo::builder()
        .max_concurrent_builds(0)
        .build()
        .unwrap_err();
    assert!(
        refused.to_string().contains("max_concurrent_builds"),
        "{refused}"
    );
}

/// A deployment that fails at a step keeps the step's own error as its cause: an
/// embedder matches on the builder's error through `source()`, not on words.
#[tokio::test]
async fn a_failed_deployment_keeps_the_error_of_its_step_as_its_cause() {
    use kyozo::backend::BackendError;
    use kyozo::backend::memory::Call;
    let backend = MemoryBackend::new();
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

    backend.fail_next(
        Call::BuildImage,
        BackendError::build("web:1", "step 2/3: exit code 7"),
    );
    let e = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap_err();
    let kyozo::Error::Deploy { step, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(*step, "build");
    let source = std::error::Error::source(&e).expect("a source");
    assert!(
        matches!(
            source.downcast_ref::<kyozo::Error>(),
            Some(kyozo::Error::Backend(BackendError::Build { message, .. })) if message.contains("exit code 7")
        ),
        "{source:?}"
    );
}
