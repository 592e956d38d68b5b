//! What a store or a backend written outside the crate needs to be held to Kyozo's
//! contracts (the `testing` feature): the conformance suites Kyozo's own stores and
//! backends pass, and the in-memory implementations to test against.
//!
//! ```toml
//! [dev-dependencies]
//! kyozo = { version = "0.1", features = ["testing"] }
//! ```
//!
//! A backend:
//!
//! ```no_run
//! # async fn check(my_backend: &dyn kyozo::backend::ContainerBackend) {
//! let report = kyozo::testing::backend_conformance(my_backend, "busybox:stable").await;
//! assert!(report.failed.is_empty(), "{report}");
//! # }
//! ```
//!
//! A store (it panics, with what went wrong, on the first check that fails):
//!
//! ```
//! kyozo::testing::store_conformance(&kyozo::store::MemoryStore::new());
//! ```
//!
//! [`backend_conformance`] is what every backend must do;
//! [`backend_engine_conformance`] adds what only an engine running real processes can
//! show (HTTP between containers of a network, a build's `RUN` steps). Both are also
//! `kyozo::backend::conformance::{run, run_engine}`, which need no feature.

pub use crate::backend::conformance::{
    LABEL_CONFORMANCE, Report as BackendReport, run as backend_conformance,
    run_engine as backend_engine_conformance,
};
pub use crate::backend::memory::{Call, MemoryBackend};
pub use crate::store::MemoryStore;
pub use crate::store::conformance::run as store_conformance;
