//! What a service's deployment made, operated: start, stop, restart, scale, rollback
//! and removal (of the service, and of its volumes). Each records its event, or
//! `operation_failed` when it fails part-way.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::deploy::{
    DeployReport, KYOZO_IMAGE_PREFIX, deployment_labels, replica_spec, wait_ready,
    workspace_network, workspace_volume,
};
use super::{DRAIN_LIMIT, Runtime, STOP_GRACE};
use crate::backend::{LABEL_DEPLOYMENT, LABEL_SERVICE, LABEL_TEAM};
use crate::error::{Error, Result};
use crate::model::{
    Actor, DeploymentId, EventError, EventKind, EventPayload, NewEvent, ServiceInstance,
    ServiceStatus, Timestamp,
};

impl Runtime {
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

    pub(super) async fn set_status(
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
    pub(crate) async fn stop(
        &self,
        actor: Actor,
        service: ServiceInstance,
        grace: Duration,
    ) -> Result<()> {
        let (_held, service) = self.lock_service(service).await?;
        let id = service.id;
        let started = Instant::now();
        let outcome = async {
            let backend = self.backend_or_err()?;
            let containers = self.containers_of(&*backend, &service).await?;
            let drain = self.routes.set(id, &[]);
            self.rerouted(&*backend, &service).await?;
            drain.wait(grace).await;
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
    pub(crate) async fn start(&self, actor: Actor, service: ServiceInstance) -> Result<()> {
        let (_held, service) = self.lock_service(service).await?;
        let id = service.id;
        let started = Instant::now();
        let outcome = async {
            let backend = self.backend_or_err()?;
            let containers = self.deployed_containers(&*backend, &service).await?;
            if containers.is_empty() {
                return Err(Error::Deploy {
                    service: service.name.clone(),
                    step: "start",
                    message: "it has no containers: deploy it first".into(),
                    cause: None,
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
            self.rerouted(&*backend, &service).await?;
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
    pub(crate) async fn restart(&self, actor: Actor, service: ServiceInstance) -> Result<()> {
        let (_held, service) = self.lock_service(service).await?;
        let id = service.id;
        let started = Instant::now();
        let outcome = async {
            let backend = self.backend_or_err()?;
            let mut ids = Vec::new();
            for c in self.deployed_containers(&*backend, &service).await? {
                let drain = self.routes.remove(id, std::slice::from_ref(&c.id));
                self.rerouted(&*backend, &service).await?;
                drain.wait(DRAIN_LIMIT).await;
                self.stop_own(&*backend, &c, STOP_GRACE).await?;
                backend.start(&c.id).await?;
                let ports = wait_ready(&*backend, &service, &c.id).await?;
                self.routes.add(id, &[(c.id.clone(), ports)]);
                self.rerouted(&*backend, &service).await?;
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
    pub(crate) async fn scale(
        &self,
        actor: Actor,
        service: ServiceInstance,
        replicas: u32,
    ) -> Result<()> {
        let (_held, service) = self.lock_service(service).await?;
        let id = service.id;
        let backend = self.backend_or_err()?;
        let started = Instant::now();
        let current = self.deployed_containers(&*backend, &service).await?;
        let Some(first) = current.first() else {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "scale",
                message: "it has no containers: deploy it first".into(),
                cause: None,
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
        let root = self.workspace_root(&service).await?;
        let labels = deployment_labels(&service, &deployment, root.as_deref());
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
                        self.edge.is_some(),
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
                    self.rerouted(&*backend, &service).await?;
                }
            } else {
                let surplus: Vec<_> = current
                    .iter()
                    .rev()
                    .take((from - replicas) as usize)
                    .collect();
                let going: Vec<String> = surplus.iter().map(|c| c.id.clone()).collect();
                let drain = self.routes.remove(id, &going);
                self.rerouted(&*backend, &service).await?;
                drain.wait(DRAIN_LIMIT).await;
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
    pub(crate) async fn rollback(
        &self,
        actor: Actor,
        service: ServiceInstance,
        to: Option<DeploymentId>,
    ) -> Result<DeployReport> {
        let (_held, service) = self.lock_service(service).await?;
        let (team, id) = (service.team, service.id);
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
                cause: None,
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

    /// Removes the service's containers and every image Kyozo built for it (every image
    /// the engine holds with the service's team and service labels, by Kyozo's own tags,
    /// `kyozo/NAME:...`, or by id when it has none: an interrupted `up` may have built
    /// one it never recorded; an image someone also tagged otherwise keeps that tag and
    /// stays), marks it removed and records `removed`. Its history stays.
    pub(crate) async fn remove_service(
        &self,
        actor: Actor,
        service: ServiceInstance,
    ) -> Result<()> {
        let (_held, service) = self.lock_service(service).await?;
        let (team, id) = (service.team, service.id);
        let backend = self.backend_or_err()?;
        // Builds carry both labels, set by the build itself (a base image's labels are
        // overridden), so they name the images built for this service and no other.
        let images: Vec<String> = backend
            .list_images(&BTreeMap::from([
                (LABEL_TEAM.to_string(), team.to_string()),
                (LABEL_SERVICE.to_string(), id.to_string()),
            ]))
            .await?
            .into_iter()
            .flat_map(|i| {
                if i.tags.is_empty() {
                    vec![i.id]
                } else {
                    // Only Kyozo's own tags: an image someone also tagged (`docker tag`,
                    // or committed from a container of Kyozo's, which copies its labels)
                    // loses Kyozo's tag and stays theirs.
                    i.tags
                        .into_iter()
                        .filter(|t| t.starts_with(KYOZO_IMAGE_PREFIX))
                        .collect()
                }
            })
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
        if let Some(edge) = &self.edge {
            edge.unroute(&*backend, id, true).await?;
        }
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

    /// Removes the volumes of a removed service, and their data (what `kyozo down
    /// --volumes` does). A service that is not removed keeps them.
    pub(crate) async fn remove_volumes(&self, service: ServiceInstance) -> Result<()> {
        let held = self.service_locks.of(service.id);
        let _held = held.lock().await;
        if service.status != ServiceStatus::Removed {
            return Err(Error::Deploy {
                service: service.name.clone(),
                step: "remove",
                message: "remove the service first: its volumes hold its data".into(),
                cause: None,
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
}
