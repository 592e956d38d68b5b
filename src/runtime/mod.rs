//! The runtime: deploying and managing services on a [`ContainerBackend`], every action
//! recorded as [`DeploymentEvent`](crate::model::DeploymentEvent)s.
//!
//! Status (issue 5, in progress): `Kyozo::deploy` (build or take the image, create and
//! start the replicas, wait until they answer, then retire the previous deployment's
//! containers) and `Kyozo::remove_containers`. Scale, rollback, the manager loops
//! (health, metrics, engine events, reconciliation, cleanup) and the circuit breaker
//! are not built yet.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Kyozo;

mod manager;
use crate::auth::Actor;
use crate::auth::policy::Operation;
use crate::backend::{
    BackendError, BuildProgress, BuildSpec, ContainerBackend, ContainerSpec, LABEL_DEPLOYMENT,
    LABEL_SERVICE, LABEL_TEAM, LABEL_WORKSPACE, PortSpec,
};
use crate::error::{Error, Result};
use crate::model::{
    DeploymentId, EventError, EventKind, EventPayload, HealthProbe, NewEvent, ServiceId,
    ServiceInstance, ServiceStatus, TeamId, Timestamp,
};
use crate::store::{Store, StoreExt};
pub use manager::{Manager, ManagerConfig, Reconciliation};

/// One async lock per service, so operations on a service run one at a time while
/// different services proceed concurrently.
#[derive(Debug, Default)]
pub struct ServiceLocks {
    locks: Mutex<HashMap<ServiceId, Arc<tokio::sync::Mutex<()>>>>,
    /// Containers Kyozo is stopping or removing itself: their exit is no crash.
    expected: Mutex<std::collections::HashSet<String>>,
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
    /// How long it took.
    pub duration: Duration,
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
        // No subscriber is not an error.
        let _ = self.bus.send(stored);
        Ok(())
    }

    /// The events the runtime records from now on, for the services of `team` the
    /// actor may read events of, as they are recorded (for dashboards). A subscriber
    /// that falls more than [`BUS_CAPACITY`] events behind skips ahead and is told how
    /// many it missed; the store has them all.
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
        let receiver = self.bus.subscribe();
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

    /// Deploys a service: builds its image (when it has a Dockerfile) or takes its
    /// image, starts its replicas, waits until they answer (its health check, or its
    /// first port accepting connections, or the containers running), then retires
    /// the containers of its previous deployment. Every step is an event of the
    /// service: `deployment_started`, `image_built`, `started`, then
    /// `deployment_completed` or `deployment_failed` with the error and the duration.
    /// A failed deployment removes what it created and leaves the previous one running.
    pub async fn deploy(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<DeployReport> {
        let (_held, service) = self
            .lock_service(actor, Operation::Deploy, team, id)
            .await?;
        self.deploy_locked(actor, service, None).await
    }

    /// A deployment, the service's lock held; `image` replaces building (a rollback).
    async fn deploy_locked(
        &self,
        actor: Actor,
        service: ServiceInstance,
        image: Option<String>,
    ) -> Result<DeployReport> {
        let (team, id) = (service.team, service.id);
        let backend = self.backend_or_err()?;
        let started = Instant::now();
        let deployment = DeploymentId::new();
        let event = |kind: EventKind| {
            NewEvent::new(service.team, service.workspace, service.id, kind, actor)
                .with_deployment(deployment)
        };
        self.record(
            event(EventKind::DeploymentStarted).with_payload(EventPayload::Deployment {
                deployment,
                image: None,
            }),
        )
        .await?;
        let mut created: Vec<String> = Vec::new();
        let outcome = self
            .deploy_steps(&*backend, &service, deployment, actor, image, &mut created)
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
                for c in &created {
                    self.service_locks.expect_exit(c);
                    let _ = backend.remove(c).await;
                }
                let message = error.to_string();
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
                if let Some(mut failed) = self.blocking(move |s| s.service(team, id)).await?
                    && failed.status.can_transition_to(ServiceStatus::Failed)
                    && failed.container_ids.is_empty()
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
        deployment: DeploymentId,
        actor: Actor,
        image: Option<String>,
        created: &mut Vec<String>,
    ) -> std::result::Result<DeployReport, (&'static str, Error)> {
        let event = |kind: EventKind| {
            NewEvent::new(service.team, service.workspace, service.id, kind, actor)
                .with_deployment(deployment)
        };
        let labels = deployment_labels(service, &deployment.to_string());
        let short = deployment
            .to_string()
            .chars()
            .rev()
            .take(8)
            .collect::<String>();

        // 1. The image.
        let image = match (image, &service.config.dockerfile) {
            (Some(image), _) => image,
            (None, Some(dockerfile)) => {
                let tag = format!("kyozo/{}:{short}", service.name);
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
                                message: "its workspace has no root folder to build from".into(),
                            },
                        )
                    })?;
                let spec = BuildSpec {
                    context: root.join(
                        service
                            .config
                            .build_context
                            .as_ref()
                            .unwrap_or(&service.folder),
                    ),
                    dockerfile: dockerfile.display().to_string(),
                    tag: tag.clone(),
                    args: service.config.build_args.clone(),
                    labels: labels.clone(),
                    network: None,
                };
                let digest = backend
                    .build_image(&spec, &mut |_: BuildProgress| {})
                    .await
                    .map_err(|e| ("build", Error::from(e)))?;
                self.record(
                    event(EventKind::ImageBuilt).with_payload(EventPayload::ImageBuilt {
                        image: tag.clone(),
                        digest: Some(digest),
                    }),
                )
                .await
                .map_err(|e| ("build", e))?;
                tag
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

        // 2. The containers.
        let replicas = service.replicas.max(1);
        let mut containers = Vec::new();
        for i in 0..replicas {
            let mut spec =
                ContainerSpec::new(format!("kyozo-{}-{short}-{i}", service.name), &image);
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
            let id = backend
                .create(&spec)
                .await
                .map_err(|e| ("create", e.into()))?;
            created.push(id.clone());
            backend.start(&id).await.map_err(|e| ("start", e.into()))?;
            containers.push(id);
        }
        self.record(
            event(EventKind::Started).with_payload(EventPayload::Containers {
                ids: containers.clone(),
            }),
        )
        .await
        .map_err(|e| ("start", e))?;

        // 3. Ready: the health check, else the first port, else running.
        let health_gated = service.health_check.is_some();
        let mut published = Vec::new();
        for id in &containers {
            let ports = wait_ready(backend, service, id)
                .await
                .map_err(|e| ("health", e))?;
            published.push((id.clone(), ports));
        }

        // 4. Retire the previous deployment's containers. The new ones are ready: a
        // failure here is not the deployment's, and is left for the next one.
        let mut retired = Vec::new();
        let existing = self
            .containers_of(backend, service)
            .await
            .unwrap_or_default();
        for old in existing {
            if old.labels.get(LABEL_DEPLOYMENT) != Some(&deployment.to_string()) {
                let _ = self.stop_own(backend, &old, Duration::from_secs(10)).await;
                if backend.remove(&old.id).await.is_ok() {
                    retired.push(old.id);
                }
            }
        }
        Ok(DeployReport {
            deployment,
            image,
            containers: published,
            retired,
            health_gated,
            duration: Duration::ZERO,
        })
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
    /// `stopped`.
    pub async fn stop(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        grace: Duration,
    ) -> Result<()> {
        let (_held, service) = self.lock_service(actor, Operation::Stop, team, id).await?;
        let backend = self.backend_or_err()?;
        let started = Instant::now();
        let mut ids = Vec::new();
        for c in self.containers_of(&*backend, &service).await? {
            self.stop_own(&*backend, &c, grace).await?;
            ids.push(c.id);
        }
        self.set_status(&service, ServiceStatus::Stopped, |s| {
            s.stopped_at = Some(Timestamp::now())
        })
        .await?;
        self.record(
            NewEvent::new(team, service.workspace, id, EventKind::Stopped, actor)
                .with_payload(EventPayload::Containers { ids })
                .with_duration(started.elapsed()),
        )
        .await
    }

    /// Starts the service's stopped containers and records `started`.
    pub async fn start(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let (_held, service) = self.lock_service(actor, Operation::Start, team, id).await?;
        let backend = self.backend_or_err()?;
        let started = Instant::now();
        let mut ids = Vec::new();
        for c in self.containers_of(&*backend, &service).await? {
            if !c.running {
                backend.start(&c.id).await?;
            }
            ids.push(c.id);
        }
        if ids.is_empty() {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "start",
                message: "it has no containers: deploy it first".into(),
            });
        }
        for c in &ids {
            wait_ready(&*backend, &service, c).await?;
        }
        self.set_status(&service, ServiceStatus::Running, |s| {
            s.started_at = Some(Timestamp::now())
        })
        .await?;
        self.record(
            NewEvent::new(team, service.workspace, id, EventKind::Started, actor)
                .with_payload(EventPayload::Containers { ids })
                .with_duration(started.elapsed()),
        )
        .await
    }

    /// Stops and starts the service's containers and records `restarted`.
    pub async fn restart(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let (_held, service) = self
            .lock_service(actor, Operation::Restart, team, id)
            .await?;
        let backend = self.backend_or_err()?;
        let started = Instant::now();
        let mut ids = Vec::new();
        for c in self.containers_of(&*backend, &service).await? {
            self.stop_own(&*backend, &c, Duration::from_secs(10))
                .await?;
            backend.start(&c.id).await?;
            wait_ready(&*backend, &service, &c.id).await?;
            ids.push(c.id);
        }
        self.set_status(&service, ServiceStatus::Running, |s| {
            s.started_at = Some(Timestamp::now())
        })
        .await?;
        self.record(
            NewEvent::new(team, service.workspace, id, EventKind::Restarted, actor)
                .with_payload(EventPayload::Containers { ids })
                .with_duration(started.elapsed()),
        )
        .await
    }

    /// Runs `replicas` containers of the service's current deployment: starts more
    /// (waiting until each is ready) or stops and removes the newest ones; records
    /// `scaled`.
    pub async fn scale(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        replicas: u32,
    ) -> Result<()> {
        let service = self.authorized_service(actor, Operation::Scale, team, id)?;
        if replicas == 0 {
            return Err(crate::model::ValidationError::invalid(
                "replicas",
                "0",
                "at least 1 (stop the service to run none)",
            )
            .into());
        }
        let backend = self.backend_or_err()?;
        let lock = self.service_locks.of(id);
        let _held = lock.lock().await;
        // What it is now, not before the wait for the lock.
        let service = self.current(service).await?;
        let started = Instant::now();
        let current = self.containers_of(&*backend, &service).await?;
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
        let outcome: Result<()> = async {
            if replicas > from {
                let taken: std::collections::BTreeSet<String> =
                    current.iter().map(|c| c.name.clone()).collect();
                let mut i = 0;
                let mut added = 0;
                while from + added < replicas {
                    let spec = replica_spec(&service, &image, &labels, &short, i, replicas.max(2));
                    i += 1;
                    if taken.contains(&spec.name) {
                        continue;
                    }
                    let cid = backend.create(&spec).await?;
                    backend.start(&cid).await?;
                    wait_ready(&*backend, &service, &cid).await?;
                    added += 1;
                }
            } else {
                for c in current.iter().rev().take((from - replicas) as usize) {
                    self.stop_own(&*backend, c, Duration::from_secs(10)).await?;
                    backend.remove(&c.id).await?;
                }
            }
            Ok(())
        }
        .await;
        let ids: Vec<String> = self
            .containers_of(&*backend, &service)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let status = if outcome.is_ok() {
            ServiceStatus::Running
        } else {
            ServiceStatus::Failed
        };
        let now = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        self.set_status(&service, status, move |s| {
            s.replicas = now;
            s.container_ids = ids;
        })
        .await?;
        outcome?;
        self.record(
            NewEvent::new(team, service.workspace, id, EventKind::Scaled, actor)
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
            .deploy_locked(actor, service.clone(), Some(image.clone()))
            .await?;
        self.record(
            NewEvent::new(team, service.workspace, id, EventKind::RolledBack, actor)
                .with_deployment(report.deployment)
                .with_payload(EventPayload::RolledBack {
                    to_deployment: target,
                    image,
                }),
        )
        .await?;
        Ok(report)
    }

    /// Removes the service's containers and the images Kyozo built for it, marks it
    /// removed and records `removed`. Its history stays.
    pub async fn remove_service(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let (_held, service) = self
            .lock_service(actor, Operation::Remove, team, id)
            .await?;
        let backend = self.backend_or_err()?;
        let mut ids = Vec::new();
        let mut images = std::collections::BTreeSet::new();
        for c in self.containers_of(&*backend, &service).await? {
            if c.running {
                self.service_locks.expect_exit(&c.id);
            }
            backend.remove(&c.id).await?;
            if c.image.starts_with("kyozo/") {
                images.insert(c.image.clone());
            }
            ids.push(c.id);
        }
        if let Some(image) = service.image.as_ref().filter(|i| i.starts_with("kyozo/")) {
            images.insert(image.clone());
        }
        for image in images {
            backend.remove_image(&image).await?;
        }
        self.set_status(&service, ServiceStatus::Removed, |s| {
            s.container_ids.clear()
        })
        .await?;
        self.record(
            NewEvent::new(team, service.workspace, id, EventKind::Removed, actor)
                .with_payload(EventPayload::Containers { ids }),
        )
        .await
    }
}

impl Kyozo {
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
fn replica_spec(
    service: &ServiceInstance,
    image: &str,
    labels: &BTreeMap<String, String>,
    short: &str,
    i: u32,
    replicas: u32,
) -> ContainerSpec {
    let mut spec = ContainerSpec::new(format!("kyozo-{}-{short}-{i}", service.name), image);
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
    spec
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

/// Waits until a new container is ready; returns its published ports.
async fn wait_ready(
    backend: &dyn ContainerBackend,
    service: &ServiceInstance,
    id: &str,
) -> Result<BTreeMap<u16, u16>> {
    let timeout = service
        .health_check
        .as_ref()
        .map_or(DEFAULT_READY_TIMEOUT, |h| {
            h.start_period + (h.interval + h.timeout) * h.retries.max(1) + Duration::from_secs(10)
        });
    let deadline = Instant::now() + timeout;
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
        let probe_port = |port: u16| state.ports.get(&port).copied();
        let ready = match service.health_check.as_ref().map(|h| &h.probe) {
            Some(HealthProbe::Http {
                port,
                path,
                expect_status,
            }) => match probe_port(*port) {
                Some(host) => http_status(host, path)
                    .await
                    .is_some_and(|s| match expect_status {
                        Some(e) => s == *e,
                        None => s < 400,
                    }),
                None => false,
            },
            Some(HealthProbe::Tcp { port }) => match probe_port(*port) {
                Some(host) => tokio::net::TcpStream::connect(("127.0.0.1", host))
                    .await
                    .is_ok(),
                None => false,
            },
            // A command probe needs exec, which the backend does not offer yet: running
            // is what can be checked.
            Some(HealthProbe::Command { .. }) | None => match service.ports.first() {
                Some(p) => match probe_port(p.container_port) {
                    Some(host) => tokio::net::TcpStream::connect(("127.0.0.1", host))
                        .await
                        .is_ok(),
                    None => true,
                },
                None => true,
            },
        };
        if ready {
            return Ok(state.ports);
        }
        if Instant::now() >= deadline {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "health",
                message: format!("not ready after {} s", timeout.as_secs()),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The status of `GET path` on 127.0.0.1:`port`, if it answers within 2 s.
pub(crate) async fn http_status(port: u16, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
        s.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 64];
        let n = s.read(&mut head).await.ok()?;
        let text = std::str::from_utf8(head.get(..n)?).ok()?;
        text.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
}
