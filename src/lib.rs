//! Kyozo turns a folder into running services. It detects what a folder or monorepo
//! holds, deploys the services it finds as containers, and keeps an audit trail of
//! everything it did, with teams and permissions deciding who may do what.
//!
//! This crate is the embeddable library; the command-line tool and the HTTP server in
//! `examples/` are built on its public API.
//!
//! # Analyse, plan, deploy, subscribe
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use kyozo::backend::DockerBackend;
//! use kyozo::plan::Planner;
//! use kyozo::runtime::StreamExt as _; // `next()` on the subscription
//! use kyozo::Kyozo;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let kyozo = Kyozo::builder()
//!         .state_file("kyozo.redb")
//!         .backend(Arc::new(DockerBackend::connect().await?))
//!         .build()?;
//!     let (team, owner) = kyozo.create_team("acme", "ada@acme.test")?;
//!     let actor = owner.actor();
//!     let ws = kyozo.create_workspace(actor, team.id, "shop")?;
//!     // The folder the workspace's services are built from.
//!     let project = std::fs::canonicalize("shop")?;
//!     let ws = kyozo.set_workspace_root(actor, team.id, ws.id, &project)?;
//!
//!     // Analyse: the services the folder holds, each value with where it came from.
//!     let (topology, _stored) = kyozo.analyze(actor, &ws, &project)?;
//!     // Plan: the Dockerfiles and deploy specs (what `kyozo plan` prints).
//!     let plan = Planner::new().plan(&topology);
//!
//!     // Subscribe before deploying, to see every event the deployments record.
//!     let mut events = kyozo.subscribe(actor, team.id)?;
//!     let watcher = tokio::spawn(async move {
//!         while let Some(event) = events.next().await {
//!             match event {
//!                 Ok(e) => println!("{} {:?}", e.service, e.kind),
//!                 Err(missed) => println!("({missed} events missed: the store has them)"),
//!             }
//!         }
//!     });
//!
//!     // Deploy what the plan says (`apply` creates or updates the service from it; the
//!     // backing services it needs go first, with `apply_backing`): build each image,
//!     // start it, wait for its health check.
//!     for backing in &plan.backing {
//!         let service = kyozo.apply_backing(actor, team.id, ws.id, backing).await?;
//!         kyozo.deploy(actor, team.id, service.id).await?;
//!     }
//!     for planned in &plan.services {
//!         let service = kyozo.apply(actor, team.id, ws.id, planned).await?;
//!         let report = kyozo.deploy(actor, team.id, service.id).await?;
//!         println!("{} runs {} in {:?}", service.name, report.image, report.containers);
//!     }
//!     watcher.abort();
//!     Ok(())
//! }
//! ```
//!
//! What an embedding program needs to know:
//! - **A tokio runtime.** The runtime calls (`deploy`, `start`, `stop`, `scale`,
//!   `logs`...), the event subscription and the [`Manager`](runtime::Manager) are
//!   `async` and run on tokio (the multi-threaded runtime: the store is called through
//!   `spawn_blocking`): call them from inside one (`#[tokio::main]`, or a `Runtime` of
//!   your own). Analysing, planning and the records (teams, services, events) are plain
//!   functions.
//! - **[`Kyozo::set_workspace_root`].** It stores the folder a workspace's services are
//!   built from: an absolute path to an existing folder, kept with its links resolved.
//!   A service's folder, build context and Dockerfile are relative to it, and every
//!   build is checked to stay inside it. It is needed before deploying a service built
//!   from source (its own Dockerfile, or one Kyozo generated, as the plan's are);
//!   without it such a deploy fails at its `build` step ("its workspace has no root
//!   folder to build from"). A service that runs an image needs none.
//! - **[`Kyozo::subscribe`]** gives a stream of the team's events as they are recorded
//!   (`Ok(event)`, or `Err(n)` when the subscriber fell `n` events behind). Read it
//!   with `next()` from [`runtime::StreamExt`], re-exported so that no dependency on
//!   `futures-util` is needed.
//! - **`#[async_trait]`.** [`ContainerBackend`](backend::ContainerBackend) is the one
//!   async trait: an implementation of your own (another engine, a fake for tests)
//!   needs the [`async-trait`](https://docs.rs/async-trait) crate and
//!   `#[async_trait::async_trait]` on its `impl`. [`Store`](store::Store) and
//!   [`Detector`](topology::Detector) are plain synchronous traits.
//!
//! Without Docker, the records alone (this one runs as a test):
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
//! - [`text`]: untrusted text made safe to print on a terminal;
//! - `testing` (the `testing` feature): the store and backend conformance suites, for
//!   implementations written outside the crate;
//! - [`Kyozo`]: the runtime API, which applies the policy on every call;
//! - [`safe_fs`]: the one way Kyozo writes files beside untrusted ones (never through a
//!   link, never into a file it did not create, private state).

mod error;
mod generated;
mod kyozo;

pub mod auth;
pub mod backend;
pub mod model;
pub mod plan;
pub mod runtime;
pub mod safe_fs;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod topology;

pub use crate::error::{Error, Result};

/// The README's examples, compiled and run as doctests so the quickstart cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use crate::kyozo::{Kyozo, KyozoBuilder};
