//! The runtime: deploying and managing services on a [`ContainerBackend`], every action
//! recorded as [`DeploymentEvent`](crate::model::DeploymentEvent)s. Its `Runtime` type
//! acts on the services the [`Kyozo`](crate::Kyozo) facade hands it once the policy let
//! the actor act: nothing here asks the policy (`tests/layers.rs` keeps it so).
//!
//! - `Kyozo::deploy` builds or takes the image, starts the new replicas, waits until
//!   they are ready (the service's health check), moves the service's [`Endpoint`]
//!   routes to them, lets the old replicas' open connections finish, then retires the
//!   old replicas; `start`, `stop`, `restart`, `scale`, `rollback`, `remove_service`
//!   act on what a deployment made, and record a failure event when they fail part-way.
//! - The [`Manager`] runs in the background: health checks, metrics, the engine's
//!   events (crashes, OOM kills, restarts by the restart policy), reconciliation and
//!   cleanup.
//!
//! The files, by concern: `config.rs` (creating and changing a service), `deploy.rs`
//! (deployments, and what a deployment makes on the engine), `lifecycle.rs` (start,
//! stop, restart, scale, rollback, remove), `observe.rs` (containers, logs, stats,
//! recorded health and metrics), `events.rs` (recording events, the event bus and
//! subscriptions), `locks.rs` (one lock per service), `endpoint.rs` and `edge.rs` (where
//! connections go), `manager.rs` (the background work), `probe.rs` (health probes).

use std::sync::Arc;
use std::time::Duration;

mod config;
mod deploy;
mod edge;
mod endpoint;
mod events;
mod lifecycle;
mod locks;
mod manager;
mod observe;
mod probe;

use crate::backend::{BackendError, ContainerBackend};
use crate::error::{Error, Result};
use crate::model::ServiceInstance;
use crate::store::Store;
pub use deploy::{DeployProgress, DeployReport, JOB_WAIT, JobOutcome, UpdateStrategy};
pub use edge::{EdgeProxy, EdgeRoute, LABEL_EDGE, NOT_HTTP_PORTS};
pub use endpoint::Endpoint;
pub(crate) use endpoint::Routes;
pub(crate) use events::EventBus;
pub use events::{BUS_CAPACITY, Subscription};
pub use locks::ServiceLocks;
pub use manager::{Cleanup, Manager, ManagerConfig, Reconciliation, Sweep};

/// The stream traits of [`Subscription`] and of the backend's log and event streams,
/// re-exported so that reading them (`StreamExt::next`) needs no dependency on
/// `futures-util`.
pub use futures_util::{Stream, StreamExt};

/// How long an update waits for the connections still open to the replicas it
/// retires (through an [`Endpoint`]) before it stops them.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// How long a container Kyozo stops gets to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The runtime beneath the [`Kyozo`](crate::Kyozo) facade: the store, the container
/// backend, the service locks, the event bus, the endpoints' routes and the edge proxy.
/// It deploys and operates services it is handed (loaded by the facade once the policy
/// let the actor act) and records what it does under the
/// [`Actor`](crate::model::Actor) it is given; it never asks the policy. Cheap to clone;
/// clones share everything.
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) backend: Option<Arc<dyn ContainerBackend>>,
    /// One lock per service: operations on a service run one at a time.
    pub(crate) service_locks: Arc<ServiceLocks>,
    /// Every event the runtime records, for [`Kyozo::subscribe`](crate::Kyozo::subscribe).
    pub(crate) bus: Arc<EventBus>,
    /// Where the services' endpoints send connections.
    pub(crate) routes: Arc<Routes>,
    /// The edge proxy that holds the services' published ports, if any.
    pub(crate) edge: Option<Arc<EdgeProxy>>,
    /// Image builds at once: a deployment that builds waits for a permit
    /// ([`KyozoBuilder::max_concurrent_builds`](crate::KyozoBuilder::max_concurrent_builds)).
    pub(crate) builds: Arc<tokio::sync::Semaphore>,
    /// What each build's steps may use.
    pub(crate) build_limits: crate::backend::BuildLimits,
}

/// How many image builds run at once unless set otherwise: one per core of the host.
pub fn default_concurrent_builds() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

impl Runtime {
    fn backend_or_err(&self) -> Result<Arc<dyn ContainerBackend>> {
        self.backend.clone().ok_or_else(|| {
            Error::Backend(BackendError::unavailable(
                "(none)",
                "this Kyozo has no container backend; add one with KyozoBuilder::backend",
            ))
        })
    }

    /// Runs a store call off the async threads (the store is synchronous and syncs to
    /// disk).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> std::result::Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::Backend(BackendError::engine(format!("store task: {e}"))))?
            .map_err(Error::from)
    }

    /// The root folder of the service's workspace, if it has one.
    async fn workspace_root(
        &self,
        service: &ServiceInstance,
    ) -> Result<Option<std::path::PathBuf>> {
        let (team, ws) = (service.team, service.workspace);
        Ok(self
            .blocking(move |s| s.workspace(team, ws))
            .await?
            .and_then(|w| w.root))
    }

    /// Stops one of the service's containers on Kyozo's behalf: its exit is no crash.
    async fn stop_own(
        &self,
        backend: &dyn ContainerBackend,
        container: &crate::backend::ContainerState,
        grace: Duration,
    ) -> std::result::Result<(), BackendError> {
        if container.running {
            self.service_locks.expect_exit(&container.id);
        }
        backend.stop(&container.id, grace).await
    }
}
