//! What is particular to the Docker backend, on the real Docker Engine of this machine:
//! connecting and negotiating, a published port answering HTTP, and the failure cases (a
//! wrong socket, a port clash naming the port, a failing build naming its step). What
//! every backend must do is checked by the conformance suite
//! (`tests/backend_conformance.rs`).
//!
//! Everything a test makes carries a run label and is removed when the test ends, even
//! when it fails (`tests/common/docker.rs`). With `KYOZO_REQUIRE_DOCKER=1` a missing
//! engine fails these tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;

use std::time::Duration;

use futures_util::StreamExt;
use kyozo::backend::{
    BackendError, BuildProgress, BuildSpec, ContainerBackend, ContainerSpec, DockerBackend,
    LABEL_MANAGED_BY, LogOptions, PortSpec,
};

use docker::{Cleanup, busybox, engine, http_answer};

fn httpd(name: &str, image: &str, cleanup: &Cleanup) -> ContainerSpec {
    let mut spec = ContainerSpec::new(name, image);
    spec.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "mkdir -p /www && echo hello-$GREETING > /www/index.html && echo httpd-starting && exec httpd -f -p 8080 -h /www".into(),
    ]);
    spec.env.insert("GREETING".into(), "kyozo".into());
    spec.ports.push(PortSpec {
        container: 8080,
        host: None,
        host_ip: None,
    });
    spec.labels = cleanup.labels();
    spec
}

#[tokio::test]
async fn connects_and_negotiates_the_api_version() {
    let Some(engine) = engine().await else { return };
    let info = engine.info().await.unwrap();
    assert!(info.server.starts_with("Docker Engine "), "{info:?}");
    let (major, minor) = info.api_version.split_once('.').unwrap();
    let version = (
        major.parse::<usize>().unwrap(),
        minor.parse::<usize>().unwrap(),
    );
    assert!(version >= kyozo::backend::MIN_API_VERSION, "{info:?}");
    assert!(engine.capabilities().build);
}

#[tokio::test]
async fn a_wrong_socket_is_a_clear_unavailable_error() {
    let err = DockerBackend::connect_socket("/nonexistent/docker.sock")
        .await
        .unwrap_err();
    let BackendError::Unavailable { endpoint, .. } = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert_eq!(endpoint, "unix:///nonexistent/docker.sock");
    assert!(
        err.to_string()
            .starts_with("the container engine at unix:///nonexistent/docker.sock is unavailable"),
        "{err}"
    );
}

/// The engine's own error, reached through `source()` from what Kyozo returns.
fn bollard_cause(err: &BackendError) -> Option<&bollard::errors::Error> {
    std::error::Error::source(err)?.downcast_ref::<bollard::errors::Error>()
}

#[tokio::test]
async fn an_engine_error_keeps_its_cause_and_its_message() {
    let Some(engine) = engine().await else { return };
    let ghost = format!("kyozo-test-never-made-{}", std::process::id());
    let err = engine.inspect(&ghost).await.unwrap_err();
    assert!(
        matches!(
            &err,
            BackendError::NotFound {
                kind: "container",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("no container {ghost} on the engine")
    );
    let cause = bollard_cause(&err).unwrap_or_else(|| panic!("no bollard cause: {err:?}"));
    assert!(
        matches!(
            cause,
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            }
        ),
        "{cause:?}"
    );
    // Through the umbrella error too: `Error::Backend` is transparent, so its source is
    // the backend error's source.
    let umbrella = kyozo::Error::from(err);
    let cause = std::error::Error::source(&umbrella)
        .and_then(|e| e.downcast_ref::<bollard::errors::Error>());
    assert!(cause.is_some(), "{umbrella:?}");
}

#[tokio::test]
async fn an_unreachable_engine_keeps_its_cause() {
    let err = DockerBackend::connect_socket("/nonexistent/docker.sock")
        .await
        .unwrap_err();
    assert!(matches!(&err, BackendError::Unavailable { .. }), "{err:?}");
    let cause = bollard_cause(&err).unwrap_or_else(|| panic!("no bollard cause: {err:?}"));
    assert!(
        matches!(
            cause,
            bollard::errors::Error::SocketNotFoundError(path) if path == "/nonexistent/docker.sock"
        ),
        "{cause:?}"
    );
    // The message stays what it was.
    assert!(
        err.to_string()
            .starts_with("the container engine at unix:///nonexistent/docker.sock is unavailable"),
        "{err}"
    );
}

#[tokio::test]
async fn a_container_lives_answers_logs_and_goes() {
    let Some(engine) = engine().await else { return };
    let cleanup = Cleanup::new();
    let image = busybox(&engine).await;
    let name = format!("kyozo-test-httpd-{}", cleanup.run);
    let spec = httpd(&name, &image, &cleanup);

    let id = engine.create(&spec).await.unwrap();
    assert_eq!(
        engine.create(&spec).await.unwrap(),
        id,
        "create is idempotent by name"
    );
    engine.start(&id).await.unwrap();

    let state = engine.inspect(&id).await.unwrap();
    assert!(state.running, "{state:?}");
    assert_eq!(state.name, name);
    assert_eq!(
        state.labels.get(LABEL_MANAGED_BY).map(String::as_str),
        Some("kyozo")
    );
    let port = *state.ports.get(&8080).expect("8080 is published");
    let answer = http_answer(port, "/").await;
    assert!(answer.contains("hello-kyozo"), "{answer}");

    let listed = engine.list(&cleanup.labels()).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec![id.as_str()]
    );

    let logs: Vec<String> = engine
        .logs(&id, LogOptions::default())
        .map(|l| l.unwrap().text)
        .collect()
        .await;
    assert!(logs.contains(&"httpd-starting".to_string()), "{logs:?}");

    let stats = engine.stats(std::slice::from_ref(&id)).await.unwrap();
    assert!(stats[&id].memory_bytes > 0, "{stats:?}");

    engine.stop(&id, Duration::from_secs(10)).await.unwrap();
    let stopped = engine.inspect(&id).await.unwrap();
    assert!(!stopped.running);
    assert!(stopped.exit_code.is_some(), "{stopped:?}");
    engine.stop(&id, Duration::from_secs(1)).await.unwrap();

    engine.remove(&id).await.unwrap();
    assert!(matches!(
        engine.inspect(&id).await,
        Err(BackendError::NotFound { .. })
    ));
    engine.remove(&id).await.unwrap();
    engine.kill(&id).await.unwrap();
}

/// A port clash fails at start and would leave a Created container: it is removed.
/// An image the engine does not have is pulled, as `docker run` does. Here no registry
/// is reachable: the pull fails, and says so with the registry's answer; nothing is
/// created.
#[tokio::test]
async fn a_missing_image_is_pulled_and_a_failed_pull_says_why() {
    let Some(engine) = engine().await else { return };
    let cleanup = Cleanup::new();
    let image = busybox(&engine).await;
    let mut spec = httpd(
        &format!("kyozo-test-pull-{}", cleanup.run),
        &image,
        &cleanup,
    );
    spec.image = "kyozo-test/never-built:1".into();
    let err = engine.create(&spec).await.unwrap_err();
    let BackendError::Pull { image, reason, .. } = &err else {
        panic!("expected Pull, got {err:?}");
    };
    assert_eq!(image, "kyozo-test/never-built:1");
    assert!(!reason.is_empty());
    assert!(
        err.to_string().starts_with(
            "the engine has no image kyozo-test/never-built:1, and pulling it failed: "
        ),
        "{err}"
    );
    assert!(engine.list(&cleanup.labels()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_start_leaves_nothing_behind() {
    let Some(engine) = engine().await else { return };
    let cleanup = Cleanup::new();
    let image = busybox(&engine).await;
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut spec = httpd(
        &format!("kyozo-test-clash-{}", cleanup.run),
        &image,
        &cleanup,
    );
    spec.ports = vec![PortSpec {
        container: 8080,
        host: Some(port),
        host_ip: None,
    }];
    let id = engine.create(&spec).await.unwrap();
    let err = engine.start(&id).await.unwrap_err();
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    assert!(matches!(
        engine.inspect(&id).await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(engine.list(&cleanup.labels()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_build_streams_its_output_and_a_failing_step_says_why() {
    let Some(engine) = engine().await else { return };
    let cleanup = Cleanup::new();
    let base = busybox(&engine).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nRUN echo building-step-one\nRUN echo about-to-fail && exit 7\n"),
    )
    .unwrap();
    let mut spec = BuildSpec::default();
    spec.context = dir.path().to_path_buf();
    spec.dockerfile = "Dockerfile".into();
    spec.tag = format!("kyozo-test/failing:{}", cleanup.run);
    spec.labels = cleanup.labels();
    let mut lines = Vec::new();
    let err = engine
        .build_image(&spec, &mut |p| {
            if let BuildProgress::Output(l) = p {
                lines.push(l);
            }
        })
        .await
        .unwrap_err();
    assert!(
        lines.iter().any(|l| l.contains("building-step-one")),
        "{lines:?}"
    );
    let BackendError::Build { tag, message, .. } = &err else {
        panic!("expected a build error, got {err:?}");
    };
    assert_eq!(tag, &spec.tag);
    assert!(message.contains("7"), "the exit code: {message}");
    assert!(
        message.contains("about-to-fail"),
        "the step's output: {message}"
    );

    // The same image without the failing step builds, and is removed.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nRUN echo building-step-one\n"),
    )
    .unwrap();
    spec.tag = format!("kyozo-test/ok:{}", cleanup.run);
    let mut built = None;
    let id = engine
        .build_image(&spec, &mut |p| {
            if let BuildProgress::Built(id) = p {
                built = Some(id);
            }
        })
        .await
        .unwrap();
    assert_eq!(built.as_deref(), Some(id.as_str()));
    engine.remove_image(&spec.tag).await.unwrap();
    engine.remove_image(&spec.tag).await.unwrap();
}

/// Two processes deploying at once each make their workspace's network (each its own
/// `DockerBackend`, so no lock of this process serialises them): the engine lets the
/// name repeat, and every caller must still end with the one network that stays.
#[tokio::test]
async fn backends_that_make_one_network_at_once_agree_on_one() {
    let Some(first) = engine().await else { return };
    let mut backends = vec![first];
    for _ in 0..3 {
        backends.push(DockerBackend::connect().await.unwrap());
    }
    let cleanup = Cleanup::new();
    let name = format!("kyozo-test-race-{}", cleanup.run);
    let labels = cleanup.labels();
    let ids = futures_util::future::join_all(
        backends
            .iter()
            .map(|backend| backend.create_network(&name, &labels)),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .unwrap();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let listed = backends[0].list_networks(&labels).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, ids[0]);
}
