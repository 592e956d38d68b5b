//! The umbrella [`Error`]: one variant per subsystem, each convertible with `?`.

use crate::auth::AuthError;
use crate::model::{StatusTransitionError, ValidationError};
use crate::store::StoreError;
use crate::topology::TopologyError;

/// Anything the Kyozo API can fail with. Match a subsystem's variant to handle its
/// errors narrowly; every variant's message stands on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value was refused by a validation.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A status change the lifecycle does not allow.
    #[error(transparent)]
    Transition(#[from] StatusTransitionError),
    /// The actor may not do this.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A folder could not be analysed.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// A WASM detector plugin could not be loaded.
    #[cfg(feature = "wasm")]
    #[error(transparent)]
    Plugin(#[from] crate::topology::wasm::PluginError),
    /// The container engine failed or is unavailable.
    #[error(transparent)]
    Backend(#[from] crate::backend::BackendError),
    /// A deployment failed; its events record the step and the error.
    #[error("deploying {service} failed at {step}: {message}")]
    Deploy {
        /// The service.
        service: String,
        /// The step (`build`, `create`, `start`, `health`).
        step: &'static str,
        /// What went wrong.
        message: String,
        /// The error the step failed with, when it was another's (the engine's, the
        /// builder's): what an embedder matches on, through `std::error::Error::source`
        /// (a [`Error`], to downcast to; `message` says it in words).
        #[source]
        cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// An operation's work on the engine is done (or failed), but the store could not
    /// record its outcome (a full disk, a store that refused an earlier write): the
    /// state does not say what runs until a later operation finds it out.
    #[error("{what}, but this could not be recorded in the state: {source}")]
    NotRecorded {
        /// What happened, which the state does not know.
        what: String,
        /// Why the state could not record it.
        #[source]
        source: StoreError,
    },
    /// An endpoint could not listen on its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The edge proxy could not be started or could not take a route.
    #[error("{message}")]
    Edge {
        /// What failed, with the proxy's own words.
        message: String,
    },
    /// No such record visible to the actor. A record of another team answers this too,
    /// so nothing leaks about other teams.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of record.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => Error::NotFound { kind, id },
            StoreError::Invalid(v) => Error::Validation(v),
            other => Error::Store(other),
        }
    }
}

/// Result of a Kyozo API call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
