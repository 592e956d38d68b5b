//! The runtime: deploying and managing services on a [`ContainerBackend`], every action
//! recorded as [`DeploymentEvent`](crate::model::DeploymentEvent)s.
//!
//! - `Kyozo::deploy` builds or takes the image, starts the new replicas, waits until
//!   they are ready (the service's health check), moves the service's [`Endpoint`]
//!   routes to them, lets the old replicas' open connections finish, then retires the
//!   old replicas; `start`, `stop`, `restart`, `scale`, `rollback`, `remove_service`
//!   act on what a deployment made, and record a failure event when they fail part-way.
//! - The [`Manager`] runs in the background: health checks, metrics, the engine's
//!   events (crashes, OOM kills, restarts by the restart policy), reconciliation and
//!   cleanup.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Kyozo;

mod endpoint;
mod manager;
mod probe;
use crate::auth::Actor;
use crate::auth::policy::Operation;
use crate::backend::{
    BackendError, BuildProgress, BuildSpec, ContainerBackend, ContainerSpec, LABEL_DEPLOYMENT,
    LABEL_SERVICE, LABEL_TEAM, LABEL_WORKSPACE, PortSpec,
};
use crate::error::{Error, Result};
use crate::model::{
    DeploymentId, EventError, EventKind, EventPayload, NewEvent, ServiceId, ServiceInstance,
    ServiceStatus, TeamId, Timestamp,
};
use crate::store::{Store, StoreExt};
pub use endpoint::Endpoint;
pub(crate) use endpoint::Routes;
pub use manager::{Cleanup, Manager, ManagerConfig, Reconciliation, Sweep};

/// The name a Dockerfile kept in a service's config (`DeploymentConfig::dockerfile_text`)
/// has in its build context.
const GENERATED_DOCKERFILE: &str = ".kyozo.Dockerfile";

/// How long an update waits for the connections still open to the replicas it
/// retires (through an [`Endpoint`]) before it stops them.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// How long a container Kyozo stops gets to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The runtime's events as they are recorded, one channel per team, so a subscriber
/// that falls behind is told how many of its own team's events it missed.
#[derive(Debug, Default)]
pub(crate) struct EventBus {
    teams: Mutex<HashMap<TeamId, tokio::sync::broadcast::Sender<crate::model::DeploymentEvent>>>,
}

impl EventBus {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        HashMap<TeamId, tokio::sync::broadcast::Sender<crate::model::DeploymentEvent>>,
    > {
        self.teams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn send(&self, event: crate::model::DeploymentEvent) {
        let mut teams = self.lock();
        let team = event.team;
        if let Some(sender) = teams.get(&team)
            && sender.send(event).is_err()
        {
            // Nobody listens any more.
            teams.remove(&team);
        }
    }

    fn subscribe(
        &self,
        team: TeamId,
    ) -> tokio::sync::broadcast::Receiver<crate::model::DeploymentEvent> {
        self.lock()
            .entry(team)
            .or_insert_with(|| tokio::sync::broadcast::channel(BUS_CAPACITY).0)
            .subscribe()
    }
}

/// One async lock per service, so operations on a service run one at a time while
/// different services proceed concurrently.
#[derive(Debug, Default)]
pub struct ServiceLocks {
    locks: Mutex<HashMap<ServiceId, Arc<tokio::sync::Mutex<()>>>>,
    /// Containers Kyozo is stopping or removing itself: their exit is no crash.
    expected: Mutex<std::collections::HashSet<String>>,
    /// Containers that crashed, with their restart count then: a start with a higher
    /// count is the engine applying the restart policy.
    crashed: Mutex<HashMap<String, i64>>,
}

impl ServiceLocks {
    fn expect_exit(&self, id: &str) {
        self.expected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_string());
    }

    fn of(&self, id: ServiceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(id).or_default().clone()
    }
}

/// What a deployment did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeployReport {
    /// The deployment.
    pub deployment: DeploymentId,
    /// The image it runs.
    pub image: String,
    /// The containers started, with their published ports (container → host).
    pub containers: Vec<(String, BTreeMap<u16, u16>)>,
    /// Containers of the previous deployment that were retired.
    pub retired: Vec<String>,
    /// Whether a health check gated the switch (without one, Kyozo cannot promise an
    /// update without downtime).
    pub health_gated: bool,
    /// How the previous deployment's replicas were replaced.
    pub strategy: UpdateStrategy,
    /// How long it took.
    pub duration: Duration,
}

/// What a deployment is doing, as it does it
/// ([`Kyozo::deploy_with_progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeployProgress {
    /// The image is being built under this tag.
    Building {
        /// The tag.
        image: String,
    },
    /// A line of the build's output.
    BuildOutput(String),
    /// The image built from the same context before is used again: no build.
    ImageReused {
        /// The tag.
        image: String,
    },
    /// The replicas are being created and started.
    Starting {
        /// The image they run.
        image: String,
        /// How many.
        replicas: u32,
    },
    /// The replicas run; waiting until they are ready.
    WaitingReady {
        /// Whether a health check decides (else the first port accepting
        /// connections, or the container running).
        health_check: bool,
    },
    /// A replica of the failed deployment that failed (exited; or, when none exited,
    /// did not become ready in time), with its last log lines, taken before the
    /// deployment removes it.
    FailedReplica {
        /// Which replica (0 for the first).
        replica: usize,
        /// The container.
        container: String,
        /// Its last lines of output (stdout and stderr), oldest first.
        logs: Vec<String>,
    },
}

/// How many log lines of a failed replica a deployment reports.
const FAILED_LOG_LINES: u32 = 20;

/// The last `n` lines container `id` wrote; none when they cannot be read in time.
async fn log_tail(backend: &dyn ContainerBackend, id: &str, n: u32) -> Vec<String> {
    use futures_util::StreamExt;
    let options = crate::backend::LogOptions {
        tail: Some(n),
        ..Default::default()
    };
    let read = backend
        .logs(id, options)
        .filter_map(|l| std::future::ready(l.ok().map(|l| l.text)))
        .collect::<Vec<_>>();
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .unwrap_or_default()
}

/// How a deployment replaced the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateStrategy {
    /// Nothing ran before.
    Fresh,
    /// The new replicas started and became ready, the service's endpoint routes moved
    /// to them, then the old ones stopped: no gap, when a health check says "ready".
    Rolling,
    /// The old replicas stopped before the new ones started, because the service
    /// publishes a fixed host port that two containers cannot hold at once (reach it
    /// through an [`Endpoint`] instead for updates without a gap). Had the new replicas
    /// failed, the old ones would have started again.
    Recreate,
}

/// Events a [`Kyozo::subscribe`] stream may fall behind before it skips ahead.
pub const BUS_CAPACITY: usize = 1024;

/// How long a deployment waits for new containers to answer when the service has no
/// health check timings to go by.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

impl Kyozo {
    fn backend_or_err(&self) -> Result<Arc<dyn ContainerBackend>> {
        self.backend.clone().ok_or_else(|| {
            Error::Backend(BackendError::Unavailable {
                endpoint: "(none)".into(),
                reason: "this Kyozo has no container backend; add one with KyozoBuilder::backend"
                    .into(),
            })
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
            .map_err(|e| Error::Backend(BackendError::Engine(format!("store task: {e}"))))?
            .map_err(Error::from)
    }

    async fn record(&self, event: NewEvent) -> Result<()> {
        let stored = self.blocking(move |s| s.append_event(event)).await?;
        self.bus.send(stored);
        Ok(())
    }

    /// Ends an operation on the service's containers (`start`, `stop`, `restart`): a
    /// failure is recorded (see [`recorded`](Self::recorded)) and returned; a success
    /// moves the service to `status` and records `kind` with the containers acted on.
    async fn conclude(
        &self,
        actor: Actor,
        service: &ServiceInstance,
        (operation, kind): (&'static str, EventKind),
        status: ServiceStatus,
        started: Instant,
        outcome: Result<Vec<String>>,
    ) -> Result<()> {
        let ids = self
            .recorded(actor, service, operation, started, outcome)
            .await?;
        self.set_status(service, status, move |s| {
            if status == ServiceStatus::Stopped {
                s.stopped_at = Some(Timestamp::now());
            } else {
                s.started_at = Some(Timestamp::now());
            }
        })
        .await?;
        self.record(
            NewEvent::about(service, kind, actor)
                .with_payload(EventPayload::Containers { ids })
                .with_duration(started.elapsed()),
        )
        .await
    }

    /// Records `operation_failed` for an operation that failed (best-effort: the
    /// operation's own error is what the caller gets) and returns the outcome.
    async fn recorded<T>(
        &self,
        actor: Actor,
        service: &ServiceInstance,
        operation: &'static str,
        started: Instant,
        outcome: Result<T>,
    ) -> Result<T> {
        if let Err(error) = &outcome {
            let _ = self
                .record(
                    NewEvent::about(service, EventKind::OperationFailed, actor)
                        .with_error(
                            EventError::new(error.to_string()).with_detail("operation", operation),
                        )
                        .with_duration(started.elapsed()),
                )
                .await;
            // Its status says what runs now: nothing (failed) or some replicas.
            if let Ok(backend) = self.backend_or_err()
                && let Ok(containers) = self.deployed_containers(&*backend, service).await
            {
                let status = if containers.iter().any(|c| c.running) {
                    ServiceStatus::Running
                } else {
                    ServiceStatus::Failed
                };
                let _ = self.set_status(service, status, |_| {}).await;
            }
        }
        outcome
    }

    /// The events the runtime records from now on, for the services of `team` the
    /// actor may read events of, as they are recorded (for dashboards). A subscriber
    /// that falls more than [`BUS_CAPACITY`] of its team's events behind skips ahead and
    /// is told how many of them it missed (`Err(n)`); the store has them all.
    pub fn subscribe(
        &self,
        actor: Actor,
        team: TeamId,
    ) -> Result<
        futures_util::stream::BoxStream<
            'static,
            std::result::Result<crate::model::DeploymentEvent, u64>,
        >,
    > {
        use futures_util::StreamExt;
        self.authorize(
            actor,
            Operation::ReadEvents,
            crate::auth::policy::Target::team(team),
        )?;
        let me = self.clone();
        let receiver = self.bus.subscribe(team);
        let stream = futures_util::stream::unfold(receiver, |mut rx| async move {
            match rx.recv().await {
                Ok(e) => Some((Ok(e), rx)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => Some((Err(n), rx)),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
            }
        })
        .filter(move |item| {
            let visible = match item {
                Ok(e) => {
                    e.team == team
                        && me
                            .authorized_service(actor, Operation::ReadEvents, team, e.service)
                            .is_ok()
                }
                Err(_) => true,
            };
            std::future::ready(visible)
        });
        Ok(stream.boxed())
    }

    /// Changes how a service is built and run (its folder, build and run config, ports,
    /// env, limits, replicas, health check, image), validated, and records
    /// `config_changed` naming what changed (env by name, never by value). Takes effect
    /// at the next deployment. Its name, team and workspace cannot change; what the
    /// runtime keeps (status, containers, timestamps) is left as stored.
    pub async fn update_service(
        &self,
        actor: Actor,
        changed: ServiceInstance,
    ) -> Result<ServiceInstance> {
        let (team, id) = (changed.team, changed.id);
        let (_held, mut current) = self
            .lock_service(actor, Operation::Deploy, team, id)
            .await?;
        if changed.name != current.name || changed.workspace != current.workspace {
            return Err(crate::model::ValidationError::invalid(
                "service.name",
                changed.name.clone(),
                "the service's name and workspace as created (create another service instead)",
            )
            .into());
        }
        changed.validate()?;
        let mut what: Vec<String> = Vec::new();
        macro_rules! take {
            ($($field:ident),*) => {$(
                if current.$field != changed.$field {
                    what.push(stringify!($field).to_string());
                    current.$field = changed.$field.clone();
                }
            )*};
        }
        take!(
            folder,
            config,
            ports,
            limits,
            replicas,
            health_check,
            image,
            stack
        );
        let names: std::collections::BTreeSet<&String> =
            current.env.keys().chain(changed.env.keys()).collect();
        what.extend(
            names
                .into_iter()
                .filter(|k| current.env.get(*k) != changed.env.get(*k))
                .map(|k| format!("env.{k}")),
        );
        current.env = changed.env;
        if what.is_empty() {
            return Ok(current);
        }
        let stored = current.clone();
        self.blocking(move |s| s.put_service(&stored)).await?;
        self.record(
            NewEvent::about(&current, EventKind::ConfigChanged, actor)
                .with_payload(EventPayload::Config { changed: what }),
        )
        .await?;
        Ok(current)
    }

    /// Deploys a service: builds its image (when it has a Dockerfile) or takes its
    /// image, starts its replicas, waits until they answer (its health check, or its
    /// first port accepting connections, or the containers running), then retires
    /// the containers of its previous deployment. Every step is an event of the
    /// service: `deployment_started`, `image_built`, `started`, then
    /// `deployment_completed` or `deployment_failed` with the error and the duration.
    /// A failed deployment removes what it created and leaves the previous one running.
    pub async fn deploy(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<DeployReport> {
        self.deploy_with_progress(actor, team, id, &mut |_| {})
            .await
    }

    /// [`deploy`](Self::deploy), telling `progress` what it does as it does it: the
    /// build's output line by line, the start of the replicas, the wait until they are
    /// ready, and, when a replica fails, its last log lines (taken before the failed
    /// deployment removes it), for a progress display and an error report.
    pub async fn deploy_with_progress(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        progress: &mut (dyn FnMut(DeployProgress) + Send),
    ) -> Result<DeployReport> {
        let (_held, service) = self
            .lock_service(actor, Operation::Deploy, team, id)
            .await?;
        self.deploy_locked(actor, service, None, progress).await
    }

    /// A deployment, the service's lock held; `image` replaces building (a rollback).
    async fn deploy_locked(
        &self,
        actor: Actor,
        service: ServiceInstance,
        image: Option<String>,
        progress: &mut (dyn FnMut(DeployProgress) + Send),
    ) -> Result<DeployReport> {
        let (team, id) = (service.team, service.id);
        let backend = self.backend_or_err()?;
        let started = Instant::now();
        let deployment = DeploymentId::new();
        let event =
            |kind: EventKind| NewEvent::about(&service, kind, actor).with_deployment(deployment);
        self.record(
            event(EventKind::DeploymentStarted).with_payload(EventPayload::Deployment {
                deployment,
                image: None,
            }),
        )
        .await?;
        let mut created: Vec<String> = Vec::new();
        let outcome = self
            .deploy_steps(
                &*backend,
                &service,
                (deployment, actor),
                image,
                &mut created,
                progress,
            )
            .await;
        match outcome {
            Ok(mut report) => {
                report.duration = started.elapsed();
                let mut updated = self
                    .blocking(move |s| s.service(team, id))
                    .await?
                    .unwrap_or(service.clone());
                updated.status = ServiceStatus::Running;
                updated.image = Some(report.image.clone());
                updated.container_ids = report.containers.iter().map(|(c, _)| c.clone()).collect();
                updated.deployed_at = Some(Timestamp::now());
                updated.started_at = Some(Timestamp::now());
                self.blocking(move |s| s.put_service(&updated)).await?;
                self.record(
                    event(EventKind::DeploymentCompleted)
                        .with_payload(EventPayload::Deployment {
                            deployment,
                            image: Some(report.image.clone()),
                        })
                        .with_duration(report.duration),
                )
                .await?;
                Ok(report)
            }
            Err((step, error)) => {
                // What the replicas that failed said, before they go: those that exited,
                // or every one when all still run (none became ready in time).
                let mut exited = Vec::new();
                for c in &created {
                    if backend.inspect(c).await.is_ok_and(|st| !st.running) {
                        exited.push(c.clone());
                    }
                }
                for (replica, c) in created.iter().enumerate() {
                    if !exited.is_empty() && !exited.contains(c) {
                        continue;
                    }
                    let logs = log_tail(&*backend, c, FAILED_LOG_LINES).await;
                    progress(DeployProgress::FailedReplica {
                        replica,
                        container: c.clone(),
                        logs,
                    });
                }
                for c in &created {
                    self.service_locks.expect_exit(c);
                    let _ = backend.remove(c).await;
                }
                // A step's own error says what failed at it; the step is said apart.
                let message = match &error {
                    Error::Deploy { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                self.record(
                    event(EventKind::DeploymentFailed)
                        .with_payload(EventPayload::Deployment {
                            deployment,
                            image: None,
                        })
                        .with_error(EventError::new(message.clone()).with_detail("step", step))
                        .with_duration(started.elapsed()),
                )
                .await?;
                // Failed when none of its containers runs (the previous deployment's
                // keep running when they can).
                // (A build that failed touched nothing: what ran runs.)
                let runs = if step == "build" {
                    !service.container_ids.is_empty()
                } else {
                    self.containers_of(&*backend, &service)
                        .await
                        .is_ok_and(|all| {
                            all.iter()
                                .any(|c| c.running && service.container_ids.contains(&c.id))
                        })
                };
                if let Some(mut failed) = self.blocking(move |s| s.service(team, id)).await?
                    && failed.status.can_transition_to(ServiceStatus::Failed)
                    && !runs
                {
                    failed.status = ServiceStatus::Failed;
                    self.blocking(move |s| s.put_service(&failed)).await?;
                }
                Err(Error::Deploy {
                    service: service.name.clone(),
                    step,
                    message,
                })
            }
        }
    }

    async fn deploy_steps(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
        (deployment, actor): (DeploymentId, Actor),
        image: Option<String>,
        created: &mut Vec<String>,
        progress: &mut (dyn FnMut(DeployProgress) + Send),
    ) -> std::result::Result<DeployReport, (&'static str, Error)> {
        let event =
            |kind: EventKind| NewEvent::about(service, kind, actor).with_deployment(deployment);
        let labels = deployment_labels(service, &deployment.to_string());
        let short = deployment
            .to_string()
            .chars()
            .rev()
            .take(8)
            .collect::<String>();

        // 1. The image.
        let generated = service.config.dockerfile_text.as_ref();
        let dockerfile = match (&service.config.dockerfile, generated) {
            (Some(path), _) => Some(path.display().to_string()),
            // A Dockerfile Kyozo generated travels in the build context, under a name of
            // its own.
            (None, Some(_)) => Some(GENERATED_DOCKERFILE.to_string()),
            (None, None) => None,
        };
        let image = match (image, dockerfile) {
            (Some(image), _) => image,
            (None, Some(dockerfile)) => {
                async {
                    let (team, ws) = (service.team, service.workspace);
                    let root = self
                        .blocking(move |s| s.workspace(team, ws))
                        .await
                        .map_err(|e| ("build", e))?
                        .and_then(|w| w.root)
                        .ok_or_else(|| {
                            (
                                "build",
                                Error::Deploy {
                                    service: service.name.clone(),
                                    step: "build",
                                    message: "its workspace has no root folder to build from"
                                        .into(),
                                },
                            )
                        })?;
                    let context = root.join(
                        service
                            .config
                            .build_context
                            .as_ref()
                            .unwrap_or(&service.folder),
                    );
                    // Tagged by what the build sends: an unchanged folder reuses its image.
                    let tag = image_tag(service, &context, &dockerfile)
                        .await
                        .map_err(|e| ("build", e))?;
                    let built_before = backend
                        .list_images(&BTreeMap::from([(
                            LABEL_SERVICE.to_string(),
                            service.id.to_string(),
                        )]))
                        .await
                        .map_err(|e| ("build", Error::from(e)))?
                        .iter()
                        .any(|i| i.tags.contains(&tag));
                    if built_before {
                        progress(DeployProgress::ImageReused { image: tag.clone() });
                        return Ok::<_, (&'static str, Error)>(tag);
                    }
                    progress(DeployProgress::Building { image: tag.clone() });
                    let spec = BuildSpec {
                        context,
                        dockerfile,
                        tag: tag.clone(),
                        args: service.config.build_args.clone(),
                        labels: labels.clone(),
                        network: service.config.build_network.clone(),
                        dockerfile_contents: generated.cloned(),
                    };
                    let digest = backend
                        .build_image(&spec, &mut |p: BuildProgress| {
                            if let BuildProgress::Output(line) = p {
                                progress(DeployProgress::BuildOutput(line));
                            }
                        })
                        .await
                        .map_err(|e| ("build", Error::from(e)))?;
                    self.record(event(EventKind::ImageBuilt).with_payload(
                        EventPayload::ImageBuilt {
                            image: tag.clone(),
                            digest: Some(digest),
                        },
                    ))
                    .await
                    .map_err(|e| ("build", e))?;
                    Ok::<String, (&'static str, Error)>(tag)
                }
                .await?
            }
            (None, None) => service.image.clone().ok_or_else(|| {
                (
                    "build",
                    Error::Deploy {
                        service: service.name.clone(),
                        step: "build",
                        message:
                            "nothing to deploy: the service has neither an image nor a Dockerfile"
                                .into(),
                    },
                )
            })?,
        };

        // 2. The replicas. A service publishing a fixed host port cannot run the old and
        // the new container at once: the old ones stop first (and start again if the
        // new ones fail).
        let replicas = service.replicas.max(1);
        let old: Vec<crate::backend::ContainerState> = self
            .containers_of(backend, service)
            .await
            .map_err(|e| ("create", e))?
            .into_iter()
            .filter(|c| c.labels.get(LABEL_DEPLOYMENT) != Some(&deployment.to_string()))
            .collect();
        let fixed_port = replicas == 1 && service.ports.iter().any(|p| p.host_port.is_some());
        let strategy = if !old.iter().any(|c| c.running) {
            UpdateStrategy::Fresh
        } else if fixed_port {
            UpdateStrategy::Recreate
        } else {
            UpdateStrategy::Rolling
        };
        let mut paused = Vec::new();
        let outcome = async {
            if strategy == UpdateStrategy::Recreate {
                let ids: Vec<String> = old.iter().map(|c| c.id.clone()).collect();
                self.routes.remove(service.id, &ids).wait(DRAIN_LIMIT).await;
                for c in old.iter().filter(|c| c.running) {
                    self.stop_own(backend, c, STOP_GRACE)
                        .await
                        .map_err(|e| ("stop", Error::from(e)))?;
                    paused.push(c.id.clone());
                }
            }
            let placement = self
                .place(backend, service)
                .await
                .map_err(|e| ("create", e))?;
            progress(DeployProgress::Starting {
                image: image.clone(),
                replicas,
            });
            let published = self
                .start_replicas(
                    backend,
                    service,
                    &image,
                    &labels,
                    &placement,
                    (&short, replicas),
                    created,
                    progress,
                )
                .await?;
            self.record(
                event(EventKind::Started).with_payload(EventPayload::Containers {
                    ids: published.iter().map(|(c, _)| c.clone()).collect(),
                }),
            )
            .await
            .map_err(|e| ("start", e))?;
            Ok(published)
        }
        .await;
        let published = match outcome {
            Ok(published) => published,
            Err(failure) => {
                // Bring back what ran before, once the new containers are gone (they
                // may hold the port).
                if !paused.is_empty() {
                    for c in created.drain(..) {
                        self.service_locks.expect_exit(&c);
                        let _ = backend.remove(&c).await;
                    }
                    for id in &paused {
                        if backend.start(id).await.is_ok()
                            && let Ok(ports) = wait_ready(backend, service, id).await
                        {
                            self.routes.add(service.id, &[(id.clone(), ports)]);
                        }
                    }
                }
                return Err(failure);
            }
        };

        // 3. Switch: connections go to the new replicas; the old ones finish what they
        // serve, then retire. A failure here is not the deployment's (the new replicas
        // run), and what is left is for the next deployment or the cleanup.
        self.routes
            .set(service.id, &published)
            .wait(DRAIN_LIMIT)
            .await;
        let mut retired = Vec::new();
        for c in old {
            let _ = self.stop_own(backend, &c, STOP_GRACE).await;
            if backend.remove(&c.id).await.is_ok() {
                retired.push(c.id);
            }
        }
        Ok(DeployReport {
            deployment,
            image,
            containers: published,
            retired,
            health_gated: service.health_check.is_some(),
            strategy,
            duration: Duration::ZERO,
        })
    }

    /// The service's placement, made on the engine as needed: its workspace's network
    /// (where its neighbours reach it by its name) and its volumes.
    async fn place(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> Result<Placement> {
        let caps = backend.capabilities();
        let labels = BTreeMap::from([
            (LABEL_TEAM.to_string(), service.team.to_string()),
            (LABEL_WORKSPACE.to_string(), service.workspace.to_string()),
        ]);
        let network = if caps.networks {
            let name = workspace_network(service.workspace);
            backend.create_network(&name, &labels).await?;
            Some(name)
        } else {
            None
        };
        let mut volumes = Vec::new();
        if !service.config.volumes.is_empty() && !caps.volumes {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "create",
                message: "it mounts volumes and the container backend has none".into(),
            });
        }
        for v in &service.config.volumes {
            let name = workspace_volume(service.workspace, &v.name);
            let mut labels = labels.clone();
            labels.insert(LABEL_SERVICE.to_string(), service.id.to_string());
            backend.create_volume(&name, &labels).await?;
            volumes.push(crate::backend::VolumeMount {
                volume: name,
                path: v.path.clone(),
            });
        }
        Ok(Placement { network, volumes })
    }

    /// Creates and starts `replicas` containers of a deployment, each waited until
    /// ready; returns them with their published ports. Every container made is pushed
    /// to `created` (for the caller to remove on failure).
    #[allow(clippy::too_many_arguments)]
    async fn start_replicas(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
        image: &str,
        labels: &BTreeMap<String, String>,
        placement: &Placement,
        (short, replicas): (&str, u32),
        created: &mut Vec<String>,
        progress: &mut (dyn FnMut(DeployProgress) + Send),
    ) -> std::result::Result<Vec<(String, BTreeMap<u16, u16>)>, (&'static str, Error)> {
        let mut ids = Vec::new();
        for i in 0..replicas {
            let spec = replica_spec(service, image, labels, placement, (short, i, replicas));
            let id = backend
                .create(&spec)
                .await
                .map_err(|e| ("create", e.into()))?;
            created.push(id.clone());
            backend.start(&id).await.map_err(|e| ("start", e.into()))?;
            ids.push(id);
        }
        progress(DeployProgress::WaitingReady {
            health_check: service.health_check.is_some(),
        });
        let mut published = Vec::new();
        for id in ids {
            let ports = wait_ready(backend, service, &id)
                .await
                .map_err(|e| ("health", e))?;
            published.push((id, ports));
        }
        Ok(published)
    }
}

impl Kyozo {
    /// Whether Kyozo itself stopped container `id` (consumed: asked once per exit).
    pub(crate) fn expected_exit(&self, id: &str) -> bool {
        self.service_locks
            .expected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id)
    }

    /// The service's containers on the backend (any deployment), sorted by name: those
    /// Kyozo named for it whose team, workspace and service labels all match. Labels
    /// alone prove nothing (an image's `LABEL`s reach the containers built from it).
    pub(crate) async fn containers_of(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> Result<Vec<crate::backend::ContainerState>> {
        let filter = BTreeMap::from([
            (LABEL_TEAM.to_string(), service.team.to_string()),
            (LABEL_WORKSPACE.to_string(), service.workspace.to_string()),
            (LABEL_SERVICE.to_string(), service.id.to_string()),
        ]);
        let prefix = format!("kyozo-{}-", service.name);
        let mut found: Vec<_> = backend
            .list(&filter)
            .await?
            .into_iter()
            .filter(|c| c.name.starts_with(&prefix))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The containers of the service's current deployment: those of
    /// [`containers_of`](Self::containers_of) that the service records (a deployment
    /// may leave an earlier one's behind when it could not retire them).
    async fn deployed_containers(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> Result<Vec<crate::backend::ContainerState>> {
        let mut all = self.containers_of(backend, service).await?;
        all.retain(|c| service.container_ids.contains(&c.id));
        Ok(all)
    }

    /// Authorizes `op` on the service, waits for the service's lock, and returns the
    /// lock and the service as stored once it is held (a removed service takes no more
    /// operations).
    async fn lock_service(
        &self,
        actor: Actor,
        op: Operation,
        team: TeamId,
        id: ServiceId,
    ) -> Result<(tokio::sync::OwnedMutexGuard<()>, ServiceInstance)> {
        let service = self.authorized_service(actor, op, team, id)?;
        let held = self.service_locks.of(id).lock_owned().await;
        Ok((held, self.current(service).await?))
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

    /// The service as stored now; a removed service takes no more operations.
    async fn current(&self, service: ServiceInstance) -> Result<ServiceInstance> {
        let (team, id) = (service.team, service.id);
        let now = self
            .blocking(move |s| s.service(team, id))
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "service",
                id: id.to_string(),
            })?;
        if now.status == ServiceStatus::Removed {
            return Err(Error::NotFound {
                kind: "service",
                id: id.to_string(),
            });
        }
        Ok(now)
    }

    async fn set_status(
        &self,
        service: &ServiceInstance,
        status: ServiceStatus,
        edit: impl FnOnce(&mut ServiceInstance) + Send + 'static,
    ) -> Result<ServiceInstance> {
        let (team, id) = (service.team, service.id);
        let mut current = self
            .blocking(move |s| s.service(team, id))
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "service",
                id: id.to_string(),
            })?;
        if current.status != status {
            current.status = current.status.transition(status)?;
        }
        edit(&mut current);
        let stored = current.clone();
        self.blocking(move |s| s.put_service(&stored)).await?;
        Ok(current)
    }

    /// Stops the service's containers (each gets `grace` to exit) and records
    /// `stopped` (or `operation_failed`).
    pub async fn stop(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        grace: Duration,
    ) -> Result<()> {
        let (_held, service) = self.lock_service(actor, Operation::Stop, team, id).await?;
        let started = Instant::now();
        let outcome = async {
            let backend = self.backend_or_err()?;
            let containers = self.containers_of(&*backend, &service).await?;
            self.routes.set(id, &[]).wait(grace).await;
            let mut ids = Vec::new();
            for c in containers {
                self.stop_own(&*backend, &c, grace).await?;
                ids.push(c.id);
            }
            Ok(ids)
        }
        .await;
        self.conclude(
            actor,
            &service,
            ("stop", EventKind::Stopped),
            ServiceStatus::Stopped,
            started,
            outcome,
        )
        .await
    }

    /// Starts the service's stopped containers, waits until they are ready and records
    /// `started` (or `operation_failed`).
    pub async fn start(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let (_held, service) = self.lock_service(actor, Operation::Start, team, id).await?;
        let started = Instant::now();
        let outcome = async {
            let backend = self.backend_or_err()?;
            let containers = self.deployed_containers(&*backend, &service).await?;
            if containers.is_empty() {
                return Err(Error::Deploy {
                    service: service.name.clone(),
                    step: "start",
                    message: "it has no containers: deploy it first".into(),
                });
            }
            for c in containers.iter().filter(|c| !c.running) {
                backend.start(&c.id).await?;
            }
            let mut ready = Vec::new();
            for c in &containers {
                ready.push((c.id.clone(), wait_ready(&*backend, &service, &c.id).await?));
            }
            drop(self.routes.set(id, &ready));
            Ok(ready.into_iter().map(|(c, _)| c).collect::<Vec<_>>())
        }
        .await;
        self.conclude(
            actor,
            &service,
            ("start", EventKind::Started),
            ServiceStatus::Running,
            started,
            outcome,
        )
        .await
    }

    /// Restarts the service's containers one at a time (each taken out of the
    /// endpoint's routes, stopped, started, waited until ready, and routed to again, so
    /// a service with several replicas keeps answering) and records `restarted` (or
    /// `operation_failed`).
    pub async fn restart(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let (_held, service) = self
            .lock_service(actor, Operation::Restart, team, id)
            .await?;
        let started = Instant::now();
        let outcome = async {
            let backend = self.backend_or_err()?;
            let mut ids = Vec::new();
            for c in self.deployed_containers(&*backend, &service).await? {
                self.routes
                    .remove(id, std::slice::from_ref(&c.id))
                    .wait(DRAIN_LIMIT)
                    .await;
                self.stop_own(&*backend, &c, STOP_GRACE).await?;
                backend.start(&c.id).await?;
                let ports = wait_ready(&*backend, &service, &c.id).await?;
                self.routes.add(id, &[(c.id.clone(), ports)]);
                ids.push(c.id);
            }
            Ok(ids)
        }
        .await;
        self.conclude(
            actor,
            &service,
            ("restart", EventKind::Restarted),
            ServiceStatus::Running,
            started,
            outcome,
        )
        .await
    }

    /// Runs `replicas` containers of the service's current deployment: starts more
    /// (waiting until each is ready before routing to it) or takes the newest out of
    /// the routes, lets their connections finish, and removes them; records `scaled`
    /// (or `operation_failed`, with the replicas that run then).
    pub async fn scale(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        replicas: u32,
    ) -> Result<()> {
        if replicas == 0 || replicas > crate::model::MAX_REPLICAS {
            return Err(crate::model::ValidationError::out_of_range(
                "replicas",
                replicas,
                format!(
                    "1-{} (stop the service to run none)",
                    crate::model::MAX_REPLICAS
                ),
            )
            .into());
        }
        let (_held, service) = self.lock_service(actor, Operation::Scale, team, id).await?;
        let backend = self.backend_or_err()?;
        let started = Instant::now();
        let current = self.deployed_containers(&*backend, &service).await?;
        let Some(first) = current.first() else {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "scale",
                message: "it has no containers: deploy it first".into(),
            });
        };
        let deployment = first
            .labels
            .get(LABEL_DEPLOYMENT)
            .cloned()
            .unwrap_or_default();
        let image = first.image.clone();
        let from = u32::try_from(current.len()).unwrap_or(u32::MAX);
        self.set_status(&service, ServiceStatus::Scaling, |_| {})
            .await?;
        let short: String = deployment.chars().rev().take(8).collect();
        let labels = deployment_labels(&service, &deployment);
        let placement = self.place(&*backend, &service).await?;
        // What runs, kept up to date as replicas come and go.
        let mut ids: Vec<String> = current.iter().map(|c| c.id.clone()).collect();
        let outcome: Result<()> = async {
            if replicas > from {
                let taken: std::collections::BTreeSet<String> =
                    current.iter().map(|c| c.name.clone()).collect();
                let mut i = 0;
                let mut added = 0;
                while from + added < replicas {
                    let spec = replica_spec(
                        &service,
                        &image,
                        &labels,
                        &placement,
                        (&short, i, replicas.max(2)),
                    );
                    i += 1;
                    if taken.contains(&spec.name) {
                        continue;
                    }
                    let cid = backend.create(&spec).await?;
                    if let Err(e) = backend.start(&cid).await {
                        let _ = backend.remove(&cid).await;
                        return Err(e.into());
                    }
                    let ports = match wait_ready(&*backend, &service, &cid).await {
                        Ok(ports) => ports,
                        Err(e) => {
                            self.service_locks.expect_exit(&cid);
                            let _ = backend.remove(&cid).await;
                            return Err(e);
                        }
                    };
                    self.routes.add(id, &[(cid.clone(), ports)]);
                    ids.push(cid);
                    added += 1;
                }
            } else {
                let surplus: Vec<_> = current
                    .iter()
                    .rev()
                    .take((from - replicas) as usize)
                    .collect();
                let going: Vec<String> = surplus.iter().map(|c| c.id.clone()).collect();
                self.routes.remove(id, &going).wait(DRAIN_LIMIT).await;
                for c in surplus {
                    self.stop_own(&*backend, c, STOP_GRACE).await?;
                    backend.remove(&c.id).await?;
                    ids.retain(|i| *i != c.id);
                }
            }
            Ok(())
        }
        .await;
        let now = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let status = if outcome.is_ok() || now > 0 {
            ServiceStatus::Running
        } else {
            ServiceStatus::Failed
        };
        self.set_status(&service, status, move |s| {
            s.replicas = now;
            s.container_ids = ids;
        })
        .await?;
        if let Err(e) = outcome {
            let _ = self
                .record(
                    NewEvent::about(&service, EventKind::OperationFailed, actor)
                        .with_payload(EventPayload::Scaled { from, to: now })
                        .with_error(
                            EventError::new(e.to_string())
                                .with_detail("operation", "scale")
                                .with_detail("asked", replicas.to_string()),
                        )
                        .with_duration(started.elapsed()),
                )
                .await;
            return Err(e);
        }
        self.record(
            NewEvent::about(&service, EventKind::Scaled, actor)
                .with_payload(EventPayload::Scaled { from, to: replicas })
                .with_duration(started.elapsed()),
        )
        .await
    }

    /// Deploys again the exact image of an earlier completed deployment (`to`, or the
    /// one before the current) and records `rolled_back`.
    pub async fn rollback(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        to: Option<DeploymentId>,
    ) -> Result<DeployReport> {
        let (_held, service) = self
            .lock_service(actor, Operation::Rollback, team, id)
            .await?;
        let history = self
            .blocking(move |s| s.latest_events(team, id, 100_000))
            .await?;
        // Completed deployments, newest first, with their images.
        let completed: Vec<(DeploymentId, String)> = history
            .iter()
            .filter(|e| e.kind == EventKind::DeploymentCompleted)
            .filter_map(|e| match &e.payload {
                EventPayload::Deployment {
                    deployment,
                    image: Some(image),
                } => Some((*deployment, image.clone())),
                _ => None,
            })
            .collect();
        let target = match to {
            Some(d) => completed.iter().find(|(c, _)| *c == d),
            None => completed.get(1),
        };
        let Some((target, image)) = target.cloned() else {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "rollback",
                message: match to {
                    Some(d) => format!("no completed deployment {d} to go back to"),
                    None => "no earlier completed deployment to go back to".into(),
                },
            });
        };
        let report = self
            .deploy_locked(actor, service.clone(), Some(image.clone()), &mut |_| {})
            .await?;
        self.record(
            NewEvent::about(&service, EventKind::RolledBack, actor)
                .with_deployment(report.deployment)
                .with_payload(EventPayload::RolledBack {
                    to_deployment: target,
                    image,
                }),
        )
        .await?;
        Ok(report)
    }

    /// Removes the service's containers and every image Kyozo built for it (its
    /// history's `image_built`, held by the engine with the service's labels; one that
    /// a container Kyozo did not make still uses stays), marks it removed and records
    /// `removed`. Its history stays.
    pub async fn remove_service(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let (_held, service) = self
            .lock_service(actor, Operation::Remove, team, id)
            .await?;
        let backend = self.backend_or_err()?;
        // The images its history says Kyozo built for it (earlier deployments' too) that
        // the engine holds with its labels: an image Kyozo did not build is never touched.
        let history = self
            .blocking(move |s| s.latest_events(team, id, 100_000))
            .await?;
        let built: std::collections::BTreeSet<String> = history
            .into_iter()
            .filter_map(|e| match e.payload {
                EventPayload::ImageBuilt { image, .. } => Some(image),
                _ => None,
            })
            .collect();
        let images: Vec<String> = backend
            .list_images(&BTreeMap::from([
                (LABEL_TEAM.to_string(), team.to_string()),
                (LABEL_SERVICE.to_string(), id.to_string()),
            ]))
            .await?
            .into_iter()
            .flat_map(|i| i.tags)
            .filter(|t| built.contains(t))
            .collect();
        let mut ids = Vec::new();
        for c in self.containers_of(&*backend, &service).await? {
            if c.running {
                self.service_locks.expect_exit(&c.id);
            }
            backend.remove(&c.id).await?;
            ids.push(c.id);
        }
        for image in images {
            // Best effort, as the cleanup: an image a container Kyozo did not make still
            // uses stays.
            let _ = backend.remove_image(&image).await;
        }
        // The workspace's network goes with its last service (the engine refuses while
        // other containers use it: then it stays).
        let _ = backend
            .remove_network(&workspace_network(service.workspace))
            .await;
        self.routes.forget(id);
        self.set_status(&service, ServiceStatus::Removed, |s| {
            s.container_ids.clear()
        })
        .await?;
        self.record(
            NewEvent::about(&service, EventKind::Removed, actor)
                .with_payload(EventPayload::Containers { ids }),
        )
        .await
    }
}

impl Kyozo {
    /// Whether the service runs what a deployment would run now: it runs, every
    /// container of its current deployment runs, its config has not changed since its
    /// last completed deployment, and (when it builds from a Dockerfile) what a build
    /// would send now is what its image was built from. What `kyozo up` asks before
    /// deploying a service again.
    pub async fn is_current(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<bool> {
        let service = self.authorized_service(actor, Operation::ViewService, team, id)?;
        if service.status != ServiceStatus::Running || service.container_ids.is_empty() {
            return Ok(false);
        }
        let backend = self.backend_or_err()?;
        let running = self
            .deployed_containers(&*backend, &service)
            .await?
            .iter()
            .filter(|c| c.running)
            .count();
        if running != service.container_ids.len() {
            return Ok(false);
        }
        let history = self
            .blocking(move |s| s.latest_events(team, id, 10_000))
            .await?;
        // Newest first: a config change before the newest completed deployment is news.
        let changed_since = history
            .iter()
            .take_while(|e| e.kind != EventKind::DeploymentCompleted)
            .any(|e| e.kind == EventKind::ConfigChanged);
        if changed_since
            || !history
                .iter()
                .any(|e| e.kind == EventKind::DeploymentCompleted)
        {
            return Ok(false);
        }
        let dockerfile = match (&service.config.dockerfile, &service.config.dockerfile_text) {
            (Some(path), _) => path.display().to_string(),
            (None, Some(_)) => GENERATED_DOCKERFILE.to_string(),
            (None, None) => return Ok(true),
        };
        let (ws_team, ws) = (service.team, service.workspace);
        let Some(root) = self
            .blocking(move |s| s.workspace(ws_team, ws))
            .await?
            .and_then(|w| w.root)
        else {
            return Ok(false);
        };
        let context = root.join(
            service
                .config
                .build_context
                .as_ref()
                .unwrap_or(&service.folder),
        );
        let now = image_tag(&service, &context, &dockerfile).await?;
        Ok(service.image.as_deref() == Some(now.as_str()))
    }

    /// Removes the volumes of a removed service, and their data (what `kyozo down
    /// --volumes` does). A service that is not removed keeps them.
    pub async fn remove_volumes(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let service = self.authorized_service(actor, Operation::Remove, team, id)?;
        let held = self.service_locks.of(id);
        let _held = held.lock().await;
        if service.status != ServiceStatus::Removed {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "remove",
                message: "remove the service first: its volumes hold its data".into(),
            });
        }
        let backend = self.backend_or_err()?;
        for v in &service.config.volumes {
            backend
                .remove_volume(&workspace_volume(service.workspace, &v.name))
                .await?;
        }
        Ok(())
    }

    /// The service's containers on the engine now (every deployment's), with their
    /// state and published ports.
    pub async fn containers(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
    ) -> Result<Vec<crate::backend::ContainerState>> {
        let service = self.authorized_service(actor, Operation::ViewService, team, id)?;
        let backend = self.backend_or_err()?;
        self.containers_of(&*backend, &service).await
    }

    /// The newest `n` health checks of a service, newest first.
    pub fn health(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        n: usize,
    ) -> Result<Vec<crate::model::HealthCheck>> {
        let service = self.authorized_service(actor, Operation::ReadMetrics, team, id)?;
        Ok(self.store.health_history(team, service.id, n)?)
    }

    /// A service's metrics between `from` and `to`, oldest first.
    pub fn metrics(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<crate::model::ServiceMetric>> {
        let service = self.authorized_service(actor, Operation::ReadMetrics, team, id)?;
        Ok(self.store.metrics(team, service.id, from, to)?)
    }

    /// The log lines of every container of a service (follow them with
    /// `options.follow`), each with the container it came from.
    pub async fn logs(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        options: crate::backend::LogOptions,
    ) -> Result<
        futures_util::stream::BoxStream<
            'static,
            (
                String,
                std::result::Result<crate::backend::LogLine, BackendError>,
            ),
        >,
    > {
        use futures_util::StreamExt;
        let service = self.authorized_service(actor, Operation::ReadLogs, team, id)?;
        let backend = self.backend_or_err()?;
        let streams = self
            .containers_of(&*backend, &service)
            .await?
            .into_iter()
            .map(|c| {
                let name = c.name.clone();
                backend
                    .logs(&c.id, options)
                    .map(move |l| (name.clone(), l))
                    .boxed()
            });
        Ok(futures_util::stream::select_all(streams).boxed())
    }

    /// One sample of the resource use of each of the service's running containers.
    pub async fn stats(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
    ) -> Result<BTreeMap<String, crate::backend::ContainerStats>> {
        let service = self.authorized_service(actor, Operation::ReadMetrics, team, id)?;
        let backend = self.backend_or_err()?;
        let ids: Vec<String> = self
            .containers_of(&*backend, &service)
            .await?
            .into_iter()
            .filter(|c| c.running)
            .map(|c| c.id)
            .collect();
        Ok(backend.stats(&ids).await?)
    }
}

/// The container of replica `i` of a deployment (`short`: the deployment id's tail).
/// Where a service's containers live: its workspace's network and its volumes.
#[derive(Debug, Clone, Default)]
struct Placement {
    network: Option<String>,
    volumes: Vec<crate::backend::VolumeMount>,
}

/// The network of a workspace's services (`kyozo-<workspace>`).
pub(crate) fn workspace_network(workspace: crate::model::WorkspaceId) -> String {
    format!("kyozo-{}", workspace_tag(workspace))
}

/// The engine's name of volume `name` of a workspace (`kyozo-<workspace>-<name>`).
pub(crate) fn workspace_volume(workspace: crate::model::WorkspaceId, name: &str) -> String {
    format!("kyozo-{}-{name}", workspace_tag(workspace))
}

/// A workspace's short tag in engine names: the end of its id (the random part).
fn workspace_tag(workspace: crate::model::WorkspaceId) -> String {
    id_tail(&workspace.to_string(), 12)
}

/// The last `n` hex digits of an id (`ws-0190...`, the random part of a UUIDv7).
fn id_tail(id: &str, n: usize) -> String {
    let hex: String = id.chars().filter(char::is_ascii_hexdigit).collect();
    hex[hex.len().saturating_sub(n)..].to_string()
}

fn replica_spec(
    service: &ServiceInstance,
    image: &str,
    labels: &BTreeMap<String, String>,
    placement: &Placement,
    (short, i, replicas): (&str, u32, u32),
) -> ContainerSpec {
    let mut spec = ContainerSpec::new(format!("kyozo-{}-{short}-{i}", service.name), image);
    spec.network = placement.network.clone();
    if spec.network.is_some() {
        spec.aliases = vec![service.name.clone()];
    }
    spec.volumes = placement.volumes.clone();
    spec.command = service.config.command.clone();
    spec.env = service
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect();
    spec.ports = service
        .ports
        .iter()
        .map(|p| PortSpec {
            container: p.container_port,
            host: if replicas == 1 { p.host_port } else { None },
        })
        .collect();
    spec.labels = labels.clone();
    spec.memory_bytes = service.limits.memory_bytes.map(|m| m as i64);
    spec.cpus = service.limits.cpus;
    spec.restart = service.config.restart;
    spec
}

/// The tag of the image a build of `service` makes now: its name, its id's tail, and a
/// fingerprint of what the build sends (the context as its `.dockerignore` keeps it,
/// the Dockerfile's text when it is the service's, the build arguments and network).
async fn image_tag(
    service: &ServiceInstance,
    context: &std::path::Path,
    dockerfile: &str,
) -> Result<String> {
    let context = context.to_path_buf();
    let dockerfile = dockerfile.to_string();
    let extra = [
        service.config.dockerfile_text.clone().unwrap_or_default(),
        format!("{:?}", service.config.build_args),
        service.config.build_network.clone().unwrap_or_default(),
    ];
    let fp = tokio::task::spawn_blocking(move || {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        crate::backend::fingerprint(&context, &dockerfile, &extra)
    })
    .await
    .map_err(|e| Error::Backend(BackendError::Engine(format!("fingerprint task: {e}"))))??;
    let tail = id_tail(&service.id.to_string(), 8);
    Ok(format!(
        "kyozo/{}:{tail}-{}",
        service.name,
        &fp[..fp.len().min(12)]
    ))
}

/// The labels of a deployment's containers.
fn deployment_labels(service: &ServiceInstance, deployment: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_TEAM.to_string(), service.team.to_string()),
        (LABEL_WORKSPACE.to_string(), service.workspace.to_string()),
        (LABEL_SERVICE.to_string(), service.id.to_string()),
        (LABEL_DEPLOYMENT.to_string(), deployment.to_string()),
    ])
}

/// Waits until a container is ready (its health check passes; without one, its first
/// port accepts connections; without ports, it runs); returns its published ports.
async fn wait_ready(
    backend: &dyn ContainerBackend,
    service: &ServiceInstance,
    id: &str,
) -> Result<BTreeMap<u16, u16>> {
    let check = service.health_check.as_ref();
    let timeout = check.map_or(DEFAULT_READY_TIMEOUT, |h| {
        h.interval
            .saturating_add(h.timeout)
            .saturating_mul(h.retries.max(1))
            .saturating_add(h.start_period)
            .saturating_add(Duration::from_secs(10))
    });
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    let mut last_error = String::new();
    loop {
        let state = backend.inspect(id).await?;
        if !state.running {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "health",
                message: format!(
                    "the container exited (code {}) before it was ready",
                    state
                        .exit_code
                        .map_or_else(|| "unknown".into(), |c| c.to_string())
                ),
            });
        }
        let ready = match (check, service.ports.first()) {
            (Some(check), _) => {
                let outcome = probe::probe(backend, &check.probe, &state, check.timeout).await;
                outcome.map_err(|e| last_error = e).is_ok()
            }
            (None, Some(port)) => match state.ports.get(&port.container_port) {
                Some(host) => probe::tcp_accepts(*host, Duration::from_secs(2)).await,
                None => true,
            },
            (None, None) => true,
        };
        if ready {
            return Ok(state.ports);
        }
        if Instant::now() >= deadline {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "health",
                message: if last_error.is_empty() {
                    format!("not ready after {} s", timeout.as_secs())
                } else {
                    format!("not ready after {} s: {last_error}", timeout.as_secs())
                },
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
