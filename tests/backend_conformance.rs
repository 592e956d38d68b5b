//! The backend conformance suite (`kyozo::backend::conformance`) against the real
//! Docker Engine: the Docker backend, and the same behind a circuit breaker (which must
//! change nothing while the engine answers); both the part every backend must pass
//! (`run`) and the part only an engine running real processes can (`run_engine`). The
//! in-memory backend runs the shared part in `tests/backend_memory.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;

use std::sync::Arc;

use kyozo::backend::{CircuitBreaker, ContainerBackend, conformance};

use docker::{busybox, engine};

#[tokio::test]
async fn the_docker_backend_conforms() {
    let Some(engine) = engine().await else { return };
    let image = busybox(&engine).await;
    let report = conformance::run(&engine, &image).await;
    assert!(report.failed.is_empty(), "{report}");
    assert!(
        report.skipped.is_empty(),
        "Docker can do everything: {report}"
    );
    eprintln!("{report}");
    let report = conformance::run_engine(&engine, &image).await;
    assert!(report.failed.is_empty(), "{report}");
    assert_eq!(report.passed.len(), 2, "{report}");
}

#[tokio::test]
async fn the_docker_backend_behind_a_breaker_conforms() {
    let Some(engine) = engine().await else { return };
    let image = busybox(&engine).await;
    let guarded = CircuitBreaker::new(Arc::new(engine) as Arc<dyn ContainerBackend>);
    let report = conformance::run(&guarded, &image).await;
    assert!(report.failed.is_empty(), "{report}");
    assert!(report.skipped.is_empty(), "{report}");
    let report = conformance::run_engine(&guarded, &image).await;
    assert!(report.failed.is_empty(), "{report}");
    assert!(report.skipped.is_empty(), "{report}");
}
