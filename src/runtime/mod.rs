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

/// One async lock per service, so operations on a service run one at a time while
/// different services proceed concurrently.
#[derive(Debug, Default)]
pub struct ServiceLocks {
    locks: Mutex<HashMap<ServiceId, Arc<tokio::sync::Mutex<()>>>>,
}

impl ServiceLocks {
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
        self.blocking(move |s| s.append_event(event).map(|_| ()))
            .await
    }

    /// Deploys a service: builds its image (when it has a Dockerfile) or takes its
    /// image, starts its replicas, waits until they answer (its health check, or its
    /// first port accepting connections, or the containers running), then retires
    /// the containers of its previous deployment. Every step is an event of the
    /// service: `deployment_started`, `image_built`, `started`, then
    /// `deployment_completed` or `deployment_failed` with the error and the duration.
    /// A failed deployment removes what it created and leaves the previous one running.
    pub async fn deploy(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<DeployReport> {
        let service = self.authorized_service(actor, Operation::Deploy, team, id)?;
        let backend = self.backend_or_err()?;
        let lock = self.service_locks.of(id);
        let _held = lock.lock().await;
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
            .deploy_steps(&*backend, &service, deployment, actor, &mut created)
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
        created: &mut Vec<String>,
    ) -> std::result::Result<DeployReport, (&'static str, Error)> {
        let event = |kind: EventKind| {
            NewEvent::new(service.team, service.workspace, service.id, kind, actor)
                .with_deployment(deployment)
        };
        let labels = BTreeMap::from([
            (LABEL_TEAM.to_string(), service.team.to_string()),
            (LABEL_WORKSPACE.to_string(), service.workspace.to_string()),
            (LABEL_SERVICE.to_string(), service.id.to_string()),
            (LABEL_DEPLOYMENT.to_string(), deployment.to_string()),
        ]);
        let short = deployment
            .to_string()
            .chars()
            .rev()
            .take(8)
            .collect::<String>();

        // 1. The image.
        let image = match &service.config.dockerfile {
            Some(dockerfile) => {
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
            None => service.image.clone().ok_or_else(|| {
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

        // 4. Retire the previous deployment's containers.
        let mut filter = BTreeMap::new();
        filter.insert(LABEL_SERVICE.to_string(), service.id.to_string());
        let mut retired = Vec::new();
        let existing = backend
            .list(&filter)
            .await
            .map_err(|e| ("retire", e.into()))?;
        for old in existing {
            if old.labels.get(LABEL_DEPLOYMENT) != Some(&deployment.to_string()) {
                backend
                    .stop(&old.id, Duration::from_secs(10))
                    .await
                    .map_err(|e| ("retire", e.into()))?;
                backend
                    .remove(&old.id)
                    .await
                    .map_err(|e| ("retire", e.into()))?;
                retired.push(old.id);
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
async fn http_status(port: u16, path: &str) -> Option<u16> {
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
