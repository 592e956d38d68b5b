//! Deployments: the image (built from the workspace's folder, reused when unchanged, or
//! given), the replicas started and waited until ready, the switch of the routes to them
//! and the retirement of the previous deployment's; and what a deployment makes on the
//! engine (names, labels, networks, volumes, image tags).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{DRAIN_LIMIT, EdgeProxy, Runtime, STOP_GRACE};
use crate::backend::{
    BackendError, BuildProgress, BuildSpec, ContainerBackend, ContainerSpec, LABEL_DEPLOYMENT,
    LABEL_SERVICE, LABEL_TEAM, LABEL_WORKSPACE, PortSpec,
};
use crate::error::{Error, Result};
use crate::model::{
    Actor, DeploymentId, EventError, EventKind, EventPayload, NewEvent, ServiceInstance,
    ServiceKind, ServiceStatus, Timestamp,
};

/// The name a Dockerfile kept in a service's config (`DeploymentConfig::dockerfile_text`)
/// has in its build context.
pub(super) const GENERATED_DOCKERFILE: &str = ".kyozo.Dockerfile";

/// How long a deployment waits for new containers to answer when the service has no
/// health check timings to go by.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// A job's end (`None` for a service).
    pub job: Option<JobOutcome>,
}

/// How a job's run ended, as far as its deployment waited ([`JOB_WAIT`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobOutcome {
    /// Its exit code: 0 when it completed; `None` when it still ran after [`JOB_WAIT`]
    /// (it runs on; `ps` and `logs` follow it).
    pub exit_code: Option<i64>,
    /// Its last lines of output (stdout and stderr), oldest first.
    pub output: Vec<String>,
}

/// How long a deployment waits for a job to end. A job still running then runs on,
/// and the deployment completes (a long migration; or a worker the plan took for a
/// job, see `docs/plans.md`).
pub const JOB_WAIT: Duration = Duration::from_secs(120);

/// What a deployment is doing, as it does it
/// ([`Kyozo::deploy_with_progress`](crate::Kyozo::deploy_with_progress)).
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
    /// The job runs; waiting until it ends (at most [`JOB_WAIT`]).
    RunningJob,
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
    /// through an [`Endpoint`](super::Endpoint) instead for updates without a gap). Had
    /// the new replicas failed, the old ones would have started again.
    Recreate,
}

/// How many log lines of a failed replica a deployment reports.
const FAILED_LOG_LINES: u32 = 20;

/// The last `n` lines container `id` wrote; none when they cannot be read in time.
pub(super) async fn log_tail(backend: &dyn ContainerBackend, id: &str, n: u32) -> Vec<String> {
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

impl Runtime {
    /// Deploys `service` (see
    /// [`Kyozo::deploy_with_progress`](crate::Kyozo::deploy_with_progress)).
    pub(crate) async fn deploy(
        &self,
        actor: Actor,
        service: ServiceInstance,
        progress: &mut (dyn FnMut(DeployProgress) + Send),
    ) -> Result<DeployReport> {
        let (_held, service) = self.lock_service(service).await?;
        self.deploy_locked(actor, service, None, progress).await
    }

    /// A deployment, the service's lock held; `image` replaces building (a rollback).
    pub(super) async fn deploy_locked(
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
                // What runs now is the new deployment: a store that cannot say so must
                // not be reported as having said so.
                let unrecorded = |e: Error| match e {
                    Error::Store(source) => Error::NotRecorded {
                        what: format!(
                            "{} was deployed (image {}, {} container(s))",
                            service.name,
                            report.image,
                            report.containers.len()
                        ),
                        source,
                    },
                    other => other,
                };
                let mut updated = self
                    .blocking(move |s| s.service(team, id))
                    .await
                    .map_err(unrecorded)?
                    .unwrap_or(service.clone());
                updated.status = ServiceStatus::Running;
                updated.image = Some(report.image.clone());
                updated.container_ids = report.containers.iter().map(|(c, _)| c.clone()).collect();
                updated.deployed_at = Some(Timestamp::now());
                updated.started_at = Some(Timestamp::now());
                // A job that ended has run: nothing of it runs now.
                if report.job.as_ref().is_some_and(|j| j.exit_code.is_some()) {
                    updated.status = ServiceStatus::Stopped;
                    updated.stopped_at = Some(Timestamp::now());
                }
                self.blocking(move |s| s.put_service(&updated))
                    .await
                    .map_err(unrecorded)?;
                self.record(
                    event(EventKind::DeploymentCompleted)
                        .with_payload(EventPayload::Deployment {
                            deployment,
                            image: Some(report.image.clone()),
                        })
                        .with_duration(report.duration),
                )
                .await
                .map_err(unrecorded)?;
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
                // The state itself failed (a full disk): recording that would fail too.
                let error = match error {
                    Error::Store(source) => {
                        return Err(Error::NotRecorded {
                            what: format!(
                                "deploying {} stopped at {step} (its new containers were removed; what ran before runs on)",
                                service.name
                            ),
                            source,
                        });
                    }
                    other => other,
                };
                // The step's own error stays its cause (a step that failed with a
                // deployment error of its own passes its cause on).
                let cause = match error {
                    Error::Deploy { cause, .. } => cause,
                    other => Some(Box::new(other) as Box<dyn std::error::Error + Send + Sync>),
                };
                let failed_deploy = Error::Deploy {
                    service: service.name.clone(),
                    step,
                    message: message.clone(),
                    cause,
                };
                let unrecorded = |e: Error| match e {
                    Error::Store(source) => Error::NotRecorded {
                        what: failed_deploy.to_string(),
                        source,
                    },
                    other => other,
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
                .await
                .map_err(unrecorded)?;
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
                if let Some(mut failed) = self
                    .blocking(move |s| s.service(team, id))
                    .await
                    .map_err(unrecorded)?
                    && failed.status.can_transition_to(ServiceStatus::Failed)
                    && !runs
                {
                    failed.status = ServiceStatus::Failed;
                    self.blocking(move |s| s.put_service(&failed))
                        .await
                        .map_err(unrecorded)?;
                }
                Err(failed_deploy)
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
        let root = self
            .workspace_root(service)
            .await
            .map_err(|e| ("create", e))?;
        let labels = deployment_labels(service, &deployment.to_string(), root.as_deref());
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
        let image =
            match (image, dockerfile) {
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
                                        cause: None,
                                    },
                                )
                            })?;
                        let context =
                            build_context(service, &root, &dockerfile).map_err(|e| ("build", e))?;
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
                        // The image is shared by the deployments that reuse it: it carries no
                        // deployment's label (which would also make each build of the same
                        // bytes another image).
                        let mut image_labels = labels.clone();
                        image_labels.remove(LABEL_DEPLOYMENT);
                        let spec = BuildSpec {
                            context,
                            dockerfile,
                            tag: tag.clone(),
                            args: service.config.build_args.clone(),
                            labels: under_kyozos(&service.config.build_labels, &image_labels),
                            network: service.config.build_network.clone(),
                            dockerfile_contents: generated.cloned(),
                            limits: self.build_limits,
                        };
                        // At most so many builds at once (the permit goes with this block).
                        let _permit = self.builds.acquire().await.map_err(|e| {
                            (
                                "build",
                                Error::from(BackendError::engine(format!("build queue: {e}"))),
                            )
                        })?;
                        progress(DeployProgress::Building { image: tag.clone() });
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
                                .into(), cause: None, },
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
        // (A port the edge proxy carries is the proxy's: the replicas do not hold it.)
        let fixed_port = replicas == 1
            && service
                .ports
                .iter()
                .any(|p| p.host_port.is_some() && !self.edge_carries(p));
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
                let drain = self.routes.remove(service.id, &ids);
                self.rerouted(backend, service)
                    .await
                    .map_err(|e| ("route", e))?;
                drain.wait(DRAIN_LIMIT).await;
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
            let (published, job) = self
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
            Ok((published, job))
        }
        .await;
        let (published, job) = match outcome {
            Ok(done) => done,
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
                    let _ = self.rerouted(backend, service).await;
                }
                return Err(failure);
            }
        };

        // 3. Switch: connections go to the new replicas (the edge proxy's first: a
        // proxy that cannot take them fails the deployment, and the old replicas keep
        // serving); the old ones finish what they serve, then retire. A failure after
        // the switch is not the deployment's (the new replicas run), and what is left
        // is for the next deployment or the cleanup.
        if let Some(edge) = self.edge_for(service) {
            edge.route(
                backend,
                service,
                &super::endpoint::upstreams_of(published.iter().map(|(_, p)| p)),
            )
            .await
            .map_err(|e| ("route", e))?;
        }
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
            job,
        })
    }

    /// The service's placement, made on the engine as needed: its workspace's network
    /// (where its neighbours reach it by its name) and its volumes.
    pub(super) async fn place(
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
                cause: None,
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
    /// ready (a job's: until it ends, at most [`JOB_WAIT`]); returns them with their
    /// published ports, and a job's outcome. Every container made is pushed to
    /// `created` (for the caller to remove on failure).
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
    ) -> std::result::Result<
        (Vec<(String, BTreeMap<u16, u16>)>, Option<JobOutcome>),
        (&'static str, Error),
    > {
        let job = service.config.kind == ServiceKind::Job;
        let mut ids = Vec::new();
        for i in 0..replicas {
            let spec = replica_spec(
                service,
                image,
                labels,
                placement,
                (short, i, replicas),
                self.edge.is_some(),
            );
            let id = backend
                .create(&spec)
                .await
                .map_err(|e| ("create", e.into()))?;
            // (A job's exit is not a crash: the manager knows a job's exit 0 as its
            // end, and a job that fails here is removed as expected.)
            created.push(id.clone());
            backend.start(&id).await.map_err(|e| ("start", e.into()))?;
            ids.push(id);
        }
        if job {
            progress(DeployProgress::RunningJob);
            let mut outcome = None;
            let mut published = Vec::new();
            for id in ids {
                let (ended, output) = run_job(backend, service, &id).await?;
                let ports = backend
                    .inspect(&id)
                    .await
                    .map(|s| s.ports)
                    .unwrap_or_default();
                published.push((id, ports));
                outcome = Some(JobOutcome {
                    exit_code: ended,
                    output,
                });
            }
            return Ok((published, outcome));
        }
        progress(DeployProgress::WaitingReady {
            health_check: service.health_check.is_some(),
        });
        let mut published = Vec::new();
        for id in ids {
            let ports = wait_ready(backend, service, &id).await.map_err(|e| {
                // A process that exited failed at its start; one that never answered,
                // at its health.
                let step = match &e {
                    Error::Deploy { step, .. } => *step,
                    _ => "health",
                };
                (step, e)
            })?;
            published.push((id, ports));
        }
        Ok((published, None))
    }

    /// Whether the service runs what a deployment would run now: it runs, every
    /// container of its current deployment runs, its config has not changed since its
    /// last completed deployment, and (when it builds from a Dockerfile) what a build
    /// would send now is what its image was built from. What `kyozo up` asks before
    /// deploying a service again.
    pub(crate) async fn is_current(&self, service: ServiceInstance) -> Result<bool> {
        let (team, id) = (service.team, service.id);
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
        let context = build_context(&service, &root, &dockerfile)?;
        let now = image_tag(&service, &context, &dockerfile).await?;
        Ok(service.image.as_deref() == Some(now.as_str()))
    }
}

/// Where a service's containers live: its workspace's network and its volumes.
#[derive(Debug, Clone, Default)]
pub(super) struct Placement {
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

/// The container of replica `i` of a deployment (`short`: the deployment id's tail).
pub(super) fn replica_spec(
    service: &ServiceInstance,
    image: &str,
    labels: &BTreeMap<String, String>,
    placement: &Placement,
    (short, i, replicas): (&str, u32, u32),
    edge: bool,
) -> ContainerSpec {
    let mut spec = ContainerSpec::new(format!("kyozo-{}-{short}-{i}", service.name), image);
    spec.network = placement.network.clone();
    if spec.network.is_some() {
        spec.aliases = vec![service.name.clone()];
    }
    spec.volumes = placement.volumes.clone();
    spec.command = service.config.command.clone();
    spec.env = service
        .effective_env()
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect();
    spec.ports = service
        .ports
        .iter()
        .map(|p| {
            if edge && EdgeProxy::carries(p) {
                // The edge proxy holds the service's address and reaches the replica
                // on the host's loopback.
                PortSpec {
                    container: p.container_port,
                    host: None,
                    host_ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
                }
            } else {
                PortSpec {
                    container: p.container_port,
                    host: if replicas == 1 { p.host_port } else { None },
                    host_ip: p.host_ip,
                }
            }
        })
        .collect();
    spec.labels = under_kyozos(&service.config.labels, labels);
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
    let mut extra = vec![
        service.config.dockerfile_text.clone().unwrap_or_default(),
        format!("{:?}", service.config.build_args),
        service.config.build_network.clone().unwrap_or_default(),
    ];
    // An image keeps the labels it was built with: other labels are another build. (Only
    // when there are any, so the tags of builds without them stay what they were.)
    if !service.config.build_labels.is_empty() {
        extra.push(format!("{:?}", service.config.build_labels));
    }
    let fp = tokio::task::spawn_blocking(move || {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        crate::backend::fingerprint(&context, &dockerfile, &extra)
    })
    .await
    .map_err(|e| Error::Backend(BackendError::engine(format!("fingerprint task: {e}"))))??;
    let tail = id_tail(&service.id.to_string(), 8);
    Ok(format!(
        "{KYOZO_IMAGE_PREFIX}{}:{tail}-{}",
        service.name,
        &fp[..fp.len().min(12)]
    ))
}

/// How the tags of the images Kyozo builds begin (`kyozo/NAME:...`).
pub(super) const KYOZO_IMAGE_PREFIX: &str = "kyozo/";

/// The service's build context under `root`, checked with links resolved: it and its
/// Dockerfile (`dockerfile`, from the context, unless Kyozo generated it) must be inside
/// the workspace's root, so a link in the folder never sends a build files from
/// elsewhere.
fn build_context(
    service: &ServiceInstance,
    root: &std::path::Path,
    dockerfile: &str,
) -> Result<std::path::PathBuf> {
    let refuse = |message: String| Error::Deploy {
        service: service.name.clone(),
        step: "build",
        message,
        cause: None,
    };
    let real = |p: &std::path::Path| {
        std::fs::canonicalize(p).map_err(|e| refuse(format!("cannot read {}: {e}", p.display())))
    };
    let root = real(root)?;
    let asked = service
        .config
        .build_context
        .as_ref()
        .unwrap_or(&service.folder);
    let context = real(&root.join(asked))?;
    if !context.starts_with(&root) {
        return Err(refuse(format!(
            "its build context {} leads out of the workspace's folder {} (through a link)",
            asked.display(),
            root.display()
        )));
    }
    if dockerfile != GENERATED_DOCKERFILE {
        let file = context.join(dockerfile);
        if let Ok(file) = std::fs::canonicalize(&file)
            && !file.starts_with(&context)
        {
            return Err(refuse(format!(
                "its Dockerfile {dockerfile} leads out of its build context {} (through a link or '..')",
                asked.display()
            )));
        }
    }
    Ok(context)
}

/// The labels of a deployment's containers (with the workspace's root folder, when it
/// has one).
pub(super) fn deployment_labels(
    service: &ServiceInstance,
    deployment: &str,
    root: Option<&std::path::Path>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (LABEL_TEAM.to_string(), service.team.to_string()),
        (LABEL_WORKSPACE.to_string(), service.workspace.to_string()),
        (LABEL_SERVICE.to_string(), service.id.to_string()),
        (LABEL_DEPLOYMENT.to_string(), deployment.to_string()),
    ]);
    if let Some(root) = root {
        labels.insert(
            crate::backend::LABEL_ROOT.to_string(),
            root.to_string_lossy().into_owned(),
        );
    }
    labels
}

/// The labels by which Kyozo finds what it made (its containers, images and edge proxy).
const KYOZO_LABELS: &[&str] = &[
    crate::backend::LABEL_MANAGED_BY,
    LABEL_TEAM,
    LABEL_WORKSPACE,
    LABEL_SERVICE,
    LABEL_DEPLOYMENT,
    crate::backend::LABEL_ROOT,
    super::LABEL_EDGE,
];

/// A plan's labels (`dev.kyozo.stack`) with Kyozo's `own` over them. The plan's come from
/// a folder's detection: one named like a label of Kyozo's is dropped, whether or not
/// Kyozo sets that label here, so a folder never forges them.
fn under_kyozos(
    plan: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    plan.iter()
        .filter(|(k, _)| !KYOZO_LABELS.contains(&k.as_str()))
        .chain(own)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// How long a replica without a health check and without a port must run before it
/// counts as ready: a process that exits within this is taken as one that could not
/// start (a missing file, a bad config), not as a worker that runs.
const SETTLE: Duration = Duration::from_secs(1);

/// The most of a process's last line an error quotes.
const LAST_LINE_CHARS: usize = 300;

/// Waits until a container is ready (its health check passes; without one, its first
/// port accepts connections; without ports, it still runs after [`SETTLE`]); returns
/// its published ports. A process that exits before it is ready (even one its restart
/// policy brings back) fails at the `start` step with its exit code and its last line.
pub(super) async fn wait_ready(
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
    let started = Instant::now();
    let deadline = started
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    let mut last_error = String::new();
    // Restarts by the policy count from here: a container started again (a rollback,
    // `start`) may have been restarted before, in an earlier life.
    let mut restarts_before: Option<i64> = None;
    loop {
        let state = backend.inspect(id).await?;
        let before = *restarts_before.get_or_insert(state.restart_count);
        if !state.running || state.restart_count > before {
            // Restarted by its policy, it runs again and the engine's state holds the
            // new run's code: the next exit says the code (a process that exits at
            // once exits again at once).
            let code = if state.running {
                tokio::time::timeout(Duration::from_secs(2), backend.wait(id))
                    .await
                    .ok()
                    .and_then(std::result::Result::ok)
                    .or(state.exit_code.filter(|c| *c != 0))
            } else {
                state.exit_code
            };
            // No more restarts of a replica that cannot start.
            let _ = backend.stop(id, Duration::ZERO).await;
            return Err(exited_before_ready(backend, service, id, code).await);
        }
        let ready = match (check, service.ports.first()) {
            (Some(check), _) => {
                let outcome =
                    super::probe::probe(backend, &check.probe, &state, check.timeout).await;
                outcome.map_err(|e| last_error = e).is_ok()
            }
            (None, Some(port)) => match state.ports.get(&port.container_port) {
                Some(host) => super::probe::tcp_accepts(*host, Duration::from_secs(2)).await,
                None => true,
            },
            (None, None) => started.elapsed() >= SETTLE,
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
                cause: None,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The error of a replica whose process exited (with `code`) before it was ready: the
/// code and the last line it wrote.
async fn exited_before_ready(
    backend: &dyn ContainerBackend,
    service: &ServiceInstance,
    id: &str,
    code: Option<i64>,
) -> Error {
    let logs = log_tail(backend, id, FAILED_LOG_LINES).await;
    let last = last_line(&logs);
    // A program that ends well at once is perhaps a job the plan took for a service.
    let hint = if code == Some(0) {
        format!(
            " (a program that runs once to its end is a job: `LABEL {}=job` in its Dockerfile says so)",
            crate::plan::KIND_LABEL
        )
    } else {
        String::new()
    };
    let code = code.map_or_else(|| "unknown".into(), |c| c.to_string());
    Error::Deploy {
        service: service.name.clone(),
        step: "start",
        message: match last {
            Some(line) => format!(
                "its process exited with code {code} before it was ready{hint}; its last line: {line}"
            ),
            None => format!(
                "its process exited with code {code} before it was ready{hint}, and wrote nothing"
            ),
        },
        cause: None,
    }
}

/// Waits for job container `id` to end (at most [`JOB_WAIT`]): its exit code (`None`
/// when it still runs) and its last lines. An exit with another code than 0 fails at
/// the `run` step, with the code and the last line.
async fn run_job(
    backend: &dyn ContainerBackend,
    service: &ServiceInstance,
    id: &str,
) -> std::result::Result<(Option<i64>, Vec<String>), (&'static str, Error)> {
    let ended = match tokio::time::timeout(JOB_WAIT, backend.wait(id)).await {
        Ok(Ok(code)) => Some(code),
        Ok(Err(e)) => return Err(("run", e.into())),
        Err(_) => None,
    };
    let output = log_tail(backend, id, FAILED_LOG_LINES).await;
    match ended {
        Some(code) if code != 0 => {
            let message = match last_line(&output) {
                Some(line) => format!("the job exited with code {code}; its last line: {line}"),
                None => format!("the job exited with code {code}, and wrote nothing"),
            };
            Err((
                "run",
                Error::Deploy {
                    service: service.name.clone(),
                    step: "run",
                    message,
                    cause: None,
                },
            ))
        }
        _ => Ok((ended, output)),
    }
}

/// The last line of `lines` that is not blank, cut to [`LAST_LINE_CHARS`].
fn last_line(lines: &[String]) -> Option<String> {
    lines
        .iter()
        .rev()
        .map(|l| l.trim_end())
        .find(|l| !l.trim().is_empty())
        .map(|l| l.chars().take(LAST_LINE_CHARS).collect())
}
