//! The engine goes away mid-operation and comes back: calls fail with a clear error,
//! the circuit breaker opens and fails fast, nothing is lost in the store, and it all
//! recovers when the engine answers again.
//!
//! The engine "goes away" for real: Kyozo talks to it through a Unix socket proxy that
//! the test stops (closing every connection) and starts again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/proxy.rs"]
mod proxy;

use std::time::Duration;

use kyozo::Kyozo;
use kyozo::backend::{
    BackendError, CircuitBreaker, CircuitState, ContainerBackend, DockerBackend, LABEL_TEAM,
};
use kyozo::model::{EventKind, PortMapping, ServiceInstance};

use std::path::PathBuf;
use std::sync::Arc;

use docker::{Cleanup, busybox, engine};
use proxy::Proxy;

#[tokio::test]
async fn the_breaker_opens_while_the_engine_is_away_and_closes_when_it_is_back() {
    // The engine must be there to begin with (and its busybox image built).
    let Some(direct) = engine().await else { return };
    busybox(&direct).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(&dir.path().join("docker.sock"));
    let through_proxy = DockerBackend::connect_socket(dir.path().join("docker.sock"))
        .await
        .unwrap();
    let breaker = Arc::new(CircuitBreaker::with(
        Arc::new(through_proxy),
        3,
        Duration::from_millis(1500),
    ));
    let kyozo = Kyozo::builder()
        .state_file(dir.path().join("kyozo.redb"))
        .backend_unguarded(breaker.clone())
        .build()
        .unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    ws.root = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    kyozo.store().put_workspace(&ws).unwrap();
    let mut s = ServiceInstance::new(team.id, ws.id, "web", "deploy-httpd");
    s.config.dockerfile = Some("Dockerfile".into());
    s.ports.push(PortMapping::new(8080, None));
    let s = kyozo.create_service(owner.actor(), s).unwrap();
    let _cleanup = Cleanup::for_label(LABEL_TEAM, team.id.to_string());

    // The engine goes away.
    proxy.down();
    for _ in 0..3 {
        let err = kyozo
            .deploy(owner.actor(), team.id, s.id)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("is unavailable"), "{text}");
        assert!(
            text.contains(dir.path().join("docker.sock").to_str().unwrap()),
            "names the endpoint: {text}"
        );
    }
    assert_eq!(breaker.circuit(), CircuitState::Open);
    let fast = breaker.info().await.unwrap_err();
    let BackendError::Unavailable { reason, .. } = &fast else {
        panic!("{fast:?}")
    };
    assert!(
        reason.starts_with("circuit open after 3 failed calls in a row"),
        "{reason}"
    );

    // Nothing is lost: every attempt is in the audit trail, numbered without gaps.
    let mut events = kyozo.events(owner.actor(), team.id, s.id, 100).unwrap();
    events.reverse();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert_eq!(kinds[0], EventKind::ServiceCreated);
    for pair in kinds[1..].chunks(2) {
        assert_eq!(
            pair,
            [EventKind::DeploymentStarted, EventKind::DeploymentFailed]
        );
    }
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<u64>>());

    // The engine comes back: after the cool-down the next call goes through and closes
    // the circuit.
    proxy.up();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let report = kyozo.deploy(owner.actor(), team.id, s.id).await.unwrap();
    assert_eq!(breaker.circuit(), CircuitState::Closed);
    assert_eq!(report.containers.len(), 1);
    let last = &kyozo.events(owner.actor(), team.id, s.id, 1).unwrap()[0];
    assert_eq!((last.seq, last.kind), (11, EventKind::DeploymentCompleted));
}
