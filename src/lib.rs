//! Kyozo turns a folder into running services. It detects what a folder or monorepo
//! holds, deploys the services it finds as containers, and keeps an audit trail of
//! everything it did, with teams and permissions deciding who may do what.
//!
//! This crate is the embeddable library; the command-line tool and the HTTP server in
//! `examples/` are built on its public API.
//!
//! ```
//! use kyozo::{Kyozo, model::{ServiceInstance, EventKind}};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let state_file = dir.path().join("state.redb");
//! let kyozo = Kyozo::builder().state_file(&state_file).build()?;
//! let (team, owner) = kyozo.create_team("acme", "ada@acme.test")?;
//! let actor = owner.actor();
//! let ws = kyozo.create_workspace(actor, team.id, "shop")?;
//! let web = kyozo.create_service(actor, ServiceInstance::new(team.id, ws.id, "web", "apps/web"))?;
//!
//! let history = kyozo.events(actor, team.id, web.id, 10)?;
//! assert_eq!(history[0].kind, EventKind::ServiceCreated);
//! assert_eq!(history[0].seq, 1);
//! # Ok(())
//! # }
//! ```
//!
//! The parts:
//! - [`model`]: the domain's plain data, with its validations and calculations;
//! - [`auth`]: actors and the one policy that decides every operation;
//! - [`store`]: the [`Store`](store::Store) seam, with [`RedbStore`](store::RedbStore)
//!   (one file, the default) and [`MemoryStore`](store::MemoryStore);
//! - [`topology`]: what a folder holds, from built-in detectors and sandboxed WASM
//!   plugins, each value with where it came from and a confidence;
//! - [`plan`]: from a topology, the Dockerfiles, compose file and
//!   [`DeploySpec`](plan::DeploySpec)s that build and run it;
//! - [`backend`]: the [`ContainerBackend`](backend::ContainerBackend) seam, with
//!   [`DockerBackend`](backend::DockerBackend) for a real Docker Engine;
//! - [`runtime`]: deployments, updates without a gap behind an
//!   [`Endpoint`](runtime::Endpoint), and the [`Manager`](runtime::Manager) (health,
//!   metrics, engine events, reconciliation, cleanup);
//! - [`Kyozo`]: the runtime API, which applies the policy on every call.

mod error;
mod kyozo;

pub mod auth;
pub mod backend;
pub mod model;
pub mod plan;
pub mod runtime;
pub mod store;
pub mod topology;

pub use crate::error::{Error, Result};

/// The README's examples, compiled and run as doctests so the quickstart cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use crate::kyozo::{Kyozo, KyozoBuilder};
