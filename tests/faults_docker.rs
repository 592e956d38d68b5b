//! Faults on the real Docker Engine: a build that goes quiet is given up instead of
//! waited for without end, and images an interrupted `up` built but never recorded go
//! with the service.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/full_disk.rs"]
mod full_disk;
#[path = "common/runtime.rs"]
mod runtime;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kyozo::backend::{
    BackendError, BuildSpec, ContainerBackend, DockerBackend, LABEL_SERVICE, LABEL_TEAM,
    LABEL_WORKSPACE,
};

use docker::{Cleanup, busybox, engine};
use runtime::{http_on_8080, kyozo_on, service};

fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

#[tokio::test]
async fn a_build_that_sends_nothing_is_given_up() {
    let Some(engine) = engine().await else { return };
    let image = busybox(&engine).await;
    let cleanup = Cleanup::new();
    // What an engine that hangs mid-build looks like from here: no output at all.
    let engine = DockerBackend::connect()
        .await
        .unwrap()
        .with_build_stall_timeout(Duration::from_secs(2));
    // The quiet step names this run, so that its container is told from any other.
    let quiet = format!("sleep 60 && echo {}", cleanup.run);
    let dir = context(&format!(
        "FROM {image}\nRUN echo starting the quiet step\nRUN {quiet}\n"
    ));
    let mut spec = BuildSpec::default();
    spec.context = dir.path().to_path_buf();
    spec.dockerfile = "Dockerfile".into();
    spec.tag = "kyozo-test/stalled:1".into();
    spec.labels = cleanup.labels();
    let started = Instant::now();
    let e = engine.build_image(&spec, &mut |_| {}).await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(e, BackendError::Timeout { seconds: 2, .. }),
        "{e:?}"
    );
    let message = e.to_string();
    assert!(message.contains("kyozo-test/stalled:1"), "{message}");
    assert!(message.contains("within 2 s"), "{message}");
    // Given up at the stall, long before the step would have ended.
    assert!(waited < Duration::from_secs(40), "{waited:?}");
    // And the engine stopped the build: the quiet step's container goes.
    let quiet_step_runs = || {
        let out = std::process::Command::new("docker")
            .args(["ps", "--no-trunc", "--format", "{{.Command}}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&quiet)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while quiet_step_runs() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        !quiet_step_runs(),
        "the engine still runs the abandoned build"
    );
}

#[tokio::test]
async fn images_an_interrupted_up_built_go_with_the_service() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, web) = service(&kyozo, "deploy-httpd", http_on_8080);
    let _cleanup = Cleanup::for_label(LABEL_TEAM, web.team.to_string());
    let image = busybox(&*backend).await;
    kyozo.deploy(owner.actor(), web.team, web.id).await.unwrap();

    // Builds the history never recorded (an `up` killed before its `image_built`),
    // with the labels every build of the service gets: one tagged, and one left
    // without a tag when the same tag was built again.
    let labels = BTreeMap::from([
        (LABEL_TEAM.to_string(), web.team.to_string()),
        (LABEL_WORKSPACE.to_string(), web.workspace.to_string()),
        (LABEL_SERVICE.to_string(), web.id.to_string()),
    ]);
    for (tag, n) in [
        ("kyozo/web:interrupted", 1),
        ("kyozo/web:again", 2),
        ("kyozo/web:again", 3),
    ] {
        let dir = context(&format!("FROM {image}\nLABEL build={n}\n"));
        let mut spec = BuildSpec::default();
        spec.context = dir.path().to_path_buf();
        spec.dockerfile = "Dockerfile".into();
        spec.tag = tag.into();
        spec.labels = labels.clone();
        backend.build_image(&spec, &mut |_| {}).await.unwrap();
    }
    // An image someone tagged for themselves (it carries the labels too): theirs.
    let retag = std::process::Command::new("docker")
        .args(["tag", "kyozo/web:interrupted", "kyozo-test-user/web:prod"])
        .status()
        .unwrap();
    assert!(retag.success());
    let service_filter = BTreeMap::from([(LABEL_SERVICE.to_string(), web.id.to_string())]);
    let before = backend.list_images(&service_filter).await.unwrap();
    assert!(
        before.iter().any(|i| i.tags.is_empty()),
        "a labelled image without a tag: {before:?}"
    );
    assert!(before.len() >= 4, "{before:?}");

    kyozo
        .remove_service(owner.actor(), web.team, web.id)
        .await
        .unwrap();
    let after = backend.list_images(&service_filter).await.unwrap();
    let left: Vec<Vec<String>> = after.iter().map(|i| i.tags.clone()).collect();
    assert_eq!(
        left,
        vec![vec!["kyozo-test-user/web:prod".to_string()]],
        "every image built for the service is gone, but the one someone tagged"
    );
}

/// A Kyozo on the engine whose state fails every write once `full` is set.
async fn on_a_disk_that_fills(
    engine: DockerBackend,
) -> (kyozo::Kyozo, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    busybox(&engine).await;
    let store = full_disk::FullDiskStore::default();
    let full = store.full.clone();
    let kyozo = kyozo::Kyozo::builder()
        .store(store)
        .backend(std::sync::Arc::new(engine))
        .build()
        .unwrap();
    (kyozo, full)
}

#[tokio::test]
async fn a_deployment_the_state_cannot_record_is_not_said_to_be_recorded() {
    use kyozo::runtime::DeployProgress;
    use std::sync::atomic::Ordering;
    let Some(engine) = engine().await else { return };
    let (kyozo, full) = on_a_disk_that_fills(engine).await;
    let (owner, web) = service(&kyozo, "deploy-httpd", http_on_8080);
    let _cleanup = Cleanup::for_label(LABEL_TEAM, web.team.to_string());

    // The disk fills while the replica starts: the deployment stops, and says that
    // the state could not record it.
    let flag = full.clone();
    let e = kyozo
        .deploy_with_progress(owner.actor(), web.team, web.id, &mut |p| {
            if matches!(p, DeployProgress::WaitingReady { .. }) {
                flag.store(true, Ordering::SeqCst);
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(e, kyozo::Error::NotRecorded { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("deploying web stopped at"), "{message}");
    assert!(message.contains("could not be recorded"), "{message}");
    assert_eq!(
        message.matches("No space left on device").count(),
        1,
        "the cause once: {message}"
    );
    // Nothing of the deployment that could not be recorded is left running.
    let left = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={LABEL_SERVICE}={}", web.id),
        ])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "{left:?}");
    // What the state says is what it had: it claims nothing it could not write.
    full.store(false, Ordering::SeqCst);
    let stored = kyozo.service(owner.actor(), web.team, web.id).unwrap();
    assert_eq!(stored.image, None, "{stored:?}");

    // A failed build while the disk is full: the failure is reported as unrecorded,
    // with its step.
    let mut broken =
        kyozo::model::ServiceInstance::new(web.team, web.workspace, "broken", "deploy-broken");
    broken.config.dockerfile = Some("Dockerfile".into());
    let broken = kyozo.create_service(owner.actor(), broken).unwrap();
    let flag = full.clone();
    let e = kyozo
        .deploy_with_progress(owner.actor(), broken.team, broken.id, &mut |p| {
            if matches!(p, DeployProgress::Building { .. }) {
                flag.store(true, Ordering::SeqCst);
            }
        })
        .await
        .unwrap_err();
    full.store(false, Ordering::SeqCst);
    assert!(matches!(e, kyozo::Error::NotRecorded { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("failed at build"), "{message}");
    let failed = kyozo
        .events(owner.actor(), broken.team, broken.id, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kyozo::model::EventKind::DeploymentFailed)
        .count();
    assert_eq!(failed, 0, "no failure event was claimed");
}
