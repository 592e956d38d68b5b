//! The manager: background work of a running [`Kyozo`](crate::Kyozo), started with
//! [`Kyozo::start_manager`](crate::Kyozo::start_manager) and stopped with [`Manager::shutdown`] (or on drop).
//!
//! - On start, **reconciliation**: every container carrying Kyozo's labels is matched
//!   to its service; a service whose recorded containers vanished while no one watched
//!   gets a `crashed` event for each and, with none left running, the `failed` status.
//!   Deployments name their containers deterministically, so a restarted process adopts
//!   what runs instead of starting duplicates.
//! - The engine's **event stream**, turned into the audit trail as it happens: a
//!   container that dies without Kyozo asking becomes a `crashed` event (with its exit
//!   code) and, with no replica left running, the `failed` status (a job's container
//!   that ends with 0 is a `stopped` event and the `stopped` status); an OOM kill becomes
//!   an `oom_killed` event. The stream resumes from the last event it saw when the
//!   engine comes back.
//!
//! - **Health checks** of every running service that declares one (http, tcp, command),
//!   its replicas probed concurrently, each result recorded as a [`HealthCheck`]; a
//!   change from passing to failing (or back) is a `health_failed` / `health_passed`
//!   event.
//! - **Restarts by the engine**: a crashed container that the service's restart policy
//!   brings back is a `restarted` event (by the system) and the service runs again.
//! - **Metrics**: one [`ServiceMetric`] per service per sweep (cpu, memory, network,
//!   block I/O of its containers together), from concurrent one-shot stats.
//! - **Cleanup**: containers of Kyozo's that exited and that no service counts as its
//!   own any more (left by an interrupted deployment), and images Kyozo built that no
//!   container uses and that are not among a service's newest deployments (kept for
//!   rollback), are removed; a `cleaned_up` event says what went.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::Runtime;
use crate::backend::{
    ContainerBackend, ContainerEvent, ContainerEventKind, LABEL_SERVICE, LABEL_TEAM,
};
use crate::error::Result;
use crate::model::{
    Actor, EventKind, EventPayload, HealthCheck, HealthStatus, NewEvent, ServiceId,
    ServiceInstance, ServiceKind, ServiceMetric, ServiceStatus, TeamId, Timestamp,
};

/// How often the manager works.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerConfig {
    /// Health checks run at each service's own interval; this overrides it for every
    /// service when set.
    pub health_interval: Option<Duration>,
    /// Time between metric sweeps.
    pub metrics_interval: Duration,
    /// Time between cleanups.
    pub cleanup_interval: Duration,
    /// The images of how many of a service's newest completed deployments a cleanup
    /// keeps (for rollback), besides those containers use.
    pub keep_images: usize,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            health_interval: None,
            metrics_interval: Duration::from_secs(60),
            cleanup_interval: Duration::from_secs(600),
            keep_images: 3,
        }
    }
}

/// What one [`Kyozo::sweep`](crate::Kyozo::sweep) did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Sweep {
    /// Services whose health was checked.
    pub checked: usize,
    /// Of those, the ones found unhealthy.
    pub unhealthy: usize,
    /// Services whose metrics were recorded.
    pub measured: usize,
}

/// What one [`Kyozo::cleanup`](crate::Kyozo::cleanup) removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Cleanup {
    /// Dead containers.
    pub containers: Vec<String>,
    /// Images (their tags, or ids when untagged).
    pub images: Vec<String>,
}

/// The background work of a [`Kyozo`](crate::Kyozo). Dropping it stops the work;
/// [`shutdown`](Self::shutdown) waits for it to stop.
#[derive(Debug)]
pub struct Manager {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// What reconciliation found when the manager started.
    pub reconciled: Reconciliation,
}

/// What reconciliation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconciliation {
    /// Containers adopted: running containers of known services.
    pub adopted: Vec<String>,
    /// Containers recorded for a service that are gone from the engine.
    pub vanished: Vec<String>,
    /// Containers with Kyozo's labels whose service is unknown (left alone).
    pub orphans: Vec<String>,
}

impl Manager {
    /// Stops the background work and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// How many services' health checks run at once.
const HEALTH_CONCURRENCY: usize = 32;

fn ids_of(labels: &BTreeMap<String, String>) -> Option<(TeamId, ServiceId)> {
    let team = labels.get(LABEL_TEAM)?.parse().ok()?;
    let service = labels.get(LABEL_SERVICE)?.parse().ok()?;
    Some((team, service))
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl Runtime {
    /// Reconciles the store with the engine, then starts the background work.
    pub(crate) async fn start_manager(&self, config: ManagerConfig) -> Result<Manager> {
        let backend = self.backend_or_err()?;
        let since = now_nanos();
        let reconciled = self.reconcile(&*backend).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        let (me, b, st) = (self.clone(), backend.clone(), stopped.clone());
        tasks.push(tokio::spawn(async move {
            me.watch_events(b, since, st).await;
        }));
        let (me, b, st) = (self.clone(), backend.clone(), stopped.clone());
        let health_every = config.health_interval;
        tasks.push(tokio::spawn(async move {
            me.health_loop(b, health_every, st).await;
        }));
        let (me, b, st) = (self.clone(), backend.clone(), stopped.clone());
        let every = config.metrics_interval;
        tasks.push(tokio::spawn(async move {
            me.metrics_loop(b, every, st).await;
        }));
        let (me, mut st) = (self.clone(), stopped);
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = st.changed() => return,
                    () = tokio::time::sleep(config.cleanup_interval) => {}
                }
                let _ = me.cleanup_with(&*backend, config.keep_images).await;
            }
        }));
        Ok(Manager {
            stop,
            tasks,
            reconciled,
        })
    }

    /// Every running service of every team.
    async fn running_services(&self) -> Result<Vec<ServiceInstance>> {
        Ok(self
            .all_services()
            .await?
            .into_iter()
            .filter(|s| s.status == ServiceStatus::Running)
            .collect())
    }

    /// Every service of every team, removed ones included.
    async fn all_services(&self) -> Result<Vec<ServiceInstance>> {
        self.blocking(|s| {
            let mut out = Vec::new();
            for team in s.teams()? {
                out.extend(s.services(team.id, None)?);
            }
            Ok(out)
        })
        .await
    }

    /// One health check and one metrics sample of every running service (see
    /// [`Kyozo::sweep`](crate::Kyozo::sweep)).
    pub(crate) async fn sweep(&self) -> Result<Sweep> {
        let backend = self.backend_or_err()?;
        let services = self.running_services().await?;
        let health = async {
            let statuses: Vec<HealthStatus> =
                futures_util::stream::iter(services.iter().filter(|s| s.health_check.is_some()))
                    .map(|s| self.check_service(&*backend, s))
                    .buffer_unordered(HEALTH_CONCURRENCY)
                    .collect()
                    .await;
            statuses
        };
        let mut previous = BTreeMap::new();
        let metrics = self.sweep_metrics(&*backend, &mut previous);
        let (statuses, measured) = tokio::join!(health, metrics);
        Ok(Sweep {
            checked: statuses.len(),
            unhealthy: statuses
                .iter()
                .filter(|s| **s == HealthStatus::Unhealthy)
                .count(),
            measured: measured?,
        })
    }

    async fn health_loop(
        &self,
        backend: Arc<dyn ContainerBackend>,
        every: Option<Duration>,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut due: BTreeMap<ServiceId, tokio::time::Instant> = BTreeMap::new();
        let mut last: BTreeMap<ServiceId, HealthStatus> = BTreeMap::new();
        // Failed checks in a row: a service is unhealthy after its check's `retries`.
        let mut failing: BTreeMap<ServiceId, u32> = BTreeMap::new();
        loop {
            let now = tokio::time::Instant::now();
            let services = self.running_services().await.unwrap_or_default();
            let mut checks = Vec::new();
            for service in services {
                let Some(check) = service.health_check.clone() else {
                    continue;
                };
                if due.get(&service.id).is_some_and(|d| *d > now) {
                    continue;
                }
                due.insert(service.id, now + every.unwrap_or(check.interval));
                checks.push((service, check));
            }
            let results: Vec<_> = futures_util::stream::iter(checks)
                .map(|(service, check)| {
                    let backend = &backend;
                    async move {
                        let status = self.check_service(&**backend, &service).await;
                        (service, check, status)
                    }
                })
                .buffer_unordered(HEALTH_CONCURRENCY)
                .collect()
                .await;
            for (service, check, probed) in results {
                // Failures in the start period do not count; fewer than `retries` in a
                // row leave the service as it was.
                let starting = service.started_at.is_some_and(|at| {
                    Timestamp::now().as_millis().saturating_sub(at.as_millis())
                        < i64::try_from(check.start_period.as_millis()).unwrap_or(i64::MAX)
                });
                let status = match probed {
                    HealthStatus::Unhealthy if starting => HealthStatus::Unknown,
                    HealthStatus::Unhealthy => {
                        let n = failing.entry(service.id).or_default();
                        *n += 1;
                        if *n >= check.retries.max(1) {
                            HealthStatus::Unhealthy
                        } else {
                            last.get(&service.id)
                                .copied()
                                .unwrap_or(HealthStatus::Unknown)
                        }
                    }
                    HealthStatus::Healthy => {
                        failing.remove(&service.id);
                        HealthStatus::Healthy
                    }
                    other => other,
                };
                if status == HealthStatus::Unknown {
                    continue;
                }
                let before = last.insert(service.id, status);
                let flipped = match (before, status) {
                    (Some(b), s) => b != s,
                    (None, s) => s == HealthStatus::Unhealthy,
                };
                if flipped && status != HealthStatus::Unknown {
                    let kind = if status == HealthStatus::Healthy {
                        EventKind::HealthPassed
                    } else {
                        EventKind::HealthFailed
                    };
                    let _ = self
                        .record(NewEvent::about(&service, kind, Actor::System).with_payload(
                            EventPayload::Health {
                                kind: check.probe.kind(),
                                target: check.probe.target(),
                            },
                        ))
                        .await;
                }
            }
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// Checks a service's health now (see
    /// [`Kyozo::check_health`](crate::Kyozo::check_health)).
    pub(crate) async fn check_health(
        &self,
        service: &ServiceInstance,
    ) -> Result<Option<HealthCheck>> {
        let backend = self.backend_or_err()?;
        Ok(self.probe_service(&*backend, service).await)
    }

    async fn check_service(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> HealthStatus {
        self.probe_service(backend, service)
            .await
            .map_or(HealthStatus::Unknown, |h| h.status)
    }

    async fn probe_service(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> Option<HealthCheck> {
        let check = service.health_check.as_ref()?;
        // What its current deployment runs, read under its lock; while an operation
        // holds the lock (a deployment swapping replicas...) there is nothing steady to
        // check.
        let containers = {
            let lock = self.service_locks.of(service.id);
            let _held = lock.try_lock().ok()?;
            let (team, id) = (service.team, service.id);
            let now = self.blocking(move |s| s.service(team, id)).await.ok()??;
            self.deployed_containers(backend, &now).await.ok()?
        };
        let started = std::time::Instant::now();
        let running: Vec<_> = containers.iter().filter(|c| c.running).collect();
        let failures: Vec<String> = futures_util::future::join_all(running.iter().map(|c| async {
            super::probe::probe(backend, &check.probe, c, check.timeout)
                .await
                .err()
                .map(|e| format!("{}: {e}", c.name))
        }))
        .await
        .into_iter()
        .flatten()
        .collect();
        let (status, error) = if running.is_empty() {
            (
                HealthStatus::Unhealthy,
                Some("no container runs".to_string()),
            )
        } else if let Some(first) = failures.first() {
            (HealthStatus::Unhealthy, Some(first.clone()))
        } else {
            (HealthStatus::Healthy, None)
        };
        let mut record = HealthCheck::new(
            service.team,
            service.id,
            check.probe.kind(),
            check.probe.target(),
            status,
        )
        .with_response_time(started.elapsed());
        if let Some(e) = error {
            record = record.with_error(e);
        }
        let stored = record.clone();
        let _ = self.blocking(move |s| s.record_health(&[stored])).await;
        Some(record)
    }

    async fn metrics_loop(
        &self,
        backend: Arc<dyn ContainerBackend>,
        every: Duration,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut previous = BTreeMap::new();
        loop {
            let _ = self.sweep_metrics(&*backend, &mut previous).await;
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One sample of every running container of a running service, summed per
    /// service. `previous` holds each container's last sample: CPU use is the
    /// difference since. Only containers a service records count (labels alone prove
    /// nothing).
    pub(crate) async fn sweep_metrics(
        &self,
        backend: &dyn ContainerBackend,
        previous: &mut BTreeMap<String, crate::backend::ContainerStats>,
    ) -> Result<usize> {
        let owner: BTreeMap<String, (TeamId, ServiceId)> = self
            .running_services()
            .await?
            .into_iter()
            .flat_map(|s| {
                let key = (s.team, s.id);
                s.container_ids.into_iter().map(move |c| (c, key))
            })
            .collect();
        let ids: Vec<String> = owner.keys().cloned().collect();
        let stats = backend.stats(&ids).await?;
        let at = Timestamp::now();
        let mut per_service: BTreeMap<(TeamId, ServiceId), ServiceMetric> = BTreeMap::new();
        for (id, s) in &stats {
            let Some(key) = owner.get(id).copied() else {
                continue;
            };
            let m = per_service
                .entry(key)
                .or_insert_with(|| ServiceMetric::new(key.0, key.1, at));
            m.cpu_percent += match previous.get(id) {
                Some(earlier) if s.cpu_percent == 0.0 => s.cpu_percent_since(earlier),
                _ => s.cpu_percent,
            };
            m.memory_bytes = m.memory_bytes.saturating_add(s.memory_bytes);
            if s.memory_limit_bytes > 0 {
                m.memory_percent += s.memory_bytes as f64 / s.memory_limit_bytes as f64 * 100.0;
            }
            m.network_rx_bytes = m.network_rx_bytes.saturating_add(s.network_rx_bytes);
            m.network_tx_bytes = m.network_tx_bytes.saturating_add(s.network_tx_bytes);
            m.block_read_bytes = m.block_read_bytes.saturating_add(s.block_read_bytes);
            m.block_write_bytes = m.block_write_bytes.saturating_add(s.block_write_bytes);
        }
        *previous = stats;
        let metrics: Vec<ServiceMetric> = per_service.into_values().collect();
        let n = metrics.len();
        self.blocking(move |s| s.record_metrics(&metrics)).await?;
        Ok(n)
    }

    /// Removes what no service needs any more (see
    /// [`Kyozo::cleanup`](crate::Kyozo::cleanup)).
    pub(crate) async fn cleanup(&self, keep_images: usize) -> Result<Cleanup> {
        let backend = self.backend_or_err()?;
        self.cleanup_with(&*backend, keep_images).await
    }

    async fn cleanup_with(
        &self,
        backend: &dyn ContainerBackend,
        keep_images: usize,
    ) -> Result<Cleanup> {
        let mut done = Cleanup::default();
        for service in self.all_services().await? {
            let (team, id) = (service.team, service.id);
            // Under the service's lock: no operation of it is half-way.
            let lock = self.service_locks.of(id);
            let _held = lock.lock().await;
            let Some(current) = self.blocking(move |s| s.service(team, id)).await? else {
                continue;
            };
            let mut containers = Vec::new();
            let mut in_use = BTreeSet::new();
            for c in self.containers_of(backend, &current).await? {
                let dead = !c.running && matches!(c.status.as_str(), "exited" | "dead" | "created");
                if dead && !current.container_ids.contains(&c.id) {
                    self.service_locks.expect_exit(&c.id);
                    if backend.remove(&c.id).await.is_ok() {
                        containers.push(c.id);
                        continue;
                    }
                }
                in_use.insert(c.image);
            }
            // The images Kyozo built for it, as its history says (labels alone prove
            // nothing), less those in use and its newest deployments' (newest first).
            let history = self
                .blocking(move |s| s.latest_events(team, id, 100_000))
                .await?;
            let mut kept: BTreeSet<String> = BTreeSet::new();
            if current.status != ServiceStatus::Removed {
                kept.extend(current.image.clone());
                kept.extend(
                    history
                        .iter()
                        .filter(|e| e.kind == EventKind::DeploymentCompleted)
                        .filter_map(|e| match &e.payload {
                            EventPayload::Deployment {
                                image: Some(image), ..
                            } => Some(image.clone()),
                            _ => None,
                        })
                        .take(keep_images),
                );
            }
            let built: BTreeSet<String> = history
                .iter()
                .filter_map(|e| match &e.payload {
                    EventPayload::ImageBuilt { image, .. } => Some(image.clone()),
                    _ => None,
                })
                .filter(|tag| !kept.contains(tag) && !in_use.contains(tag))
                .collect();
            let mut images = Vec::new();
            if !built.is_empty() {
                let filter = BTreeMap::from([(LABEL_SERVICE.to_string(), id.to_string())]);
                for image in backend.list_images(&filter).await? {
                    for tag in image.tags.iter().filter(|t| built.contains(*t)) {
                        if backend.remove_image(tag).await.is_ok() {
                            images.push(tag.clone());
                        }
                    }
                }
            }
            if !containers.is_empty() || !images.is_empty() {
                self.record(
                    NewEvent::about(&current, EventKind::CleanedUp, Actor::System).with_payload(
                        EventPayload::CleanedUp {
                            containers: containers.clone(),
                            images: images.clone(),
                        },
                    ),
                )
                .await?;
                done.containers.extend(containers);
                done.images.extend(images);
            }
        }
        Ok(done)
    }

    async fn reconcile(&self, backend: &dyn ContainerBackend) -> Result<Reconciliation> {
        let containers = backend.list(&BTreeMap::new()).await?;
        let mut report = Reconciliation::default();
        let mut by_service: BTreeMap<(TeamId, ServiceId), Vec<crate::backend::ContainerState>> =
            BTreeMap::new();
        for c in containers {
            match ids_of(&c.labels) {
                Some(key) => by_service.entry(key).or_default().push(c),
                None => report.orphans.push(c.id),
            }
        }
        let teams = self.blocking(|s| s.teams()).await?;
        for team in teams {
            let tid = team.id;
            let services = self.blocking(move |s| s.services(tid, None)).await?;
            for mut service in services {
                if service.status == ServiceStatus::Removed {
                    continue;
                }
                // Only containers Kyozo named for this service, in its workspace.
                let prefix = format!("kyozo-{}-", service.name);
                let (found, foreign): (Vec<_>, Vec<_>) = by_service
                    .remove(&(service.team, service.id))
                    .unwrap_or_default()
                    .into_iter()
                    .partition(|c| {
                        c.name.starts_with(&prefix)
                            && c.labels.get(crate::backend::LABEL_WORKSPACE)
                                == Some(&service.workspace.to_string())
                    });
                report.orphans.extend(foreign.into_iter().map(|c| c.id));
                let present: BTreeSet<&str> = found.iter().map(|c| c.id.as_str()).collect();
                let running: Vec<String> = found
                    .iter()
                    .filter(|c| c.running)
                    .map(|c| c.id.clone())
                    .collect();
                let vanished: Vec<String> = service
                    .container_ids
                    .iter()
                    .filter(|id| !present.contains(id.as_str()))
                    .cloned()
                    .collect();
                // Of a service that should run: recorded containers that exited while
                // no one watched crashed too.
                // (A job that ended with 0 meanwhile completed: it is stopped.)
                let job = service.config.kind == ServiceKind::Job;
                let completed = job
                    && service.status == ServiceStatus::Running
                    && running.is_empty()
                    && found
                        .iter()
                        .filter(|c| service.container_ids.contains(&c.id))
                        .all(|c| c.exit_code == Some(0));
                let exited: Vec<(String, Option<i64>)> =
                    if service.status == ServiceStatus::Running && !completed {
                        found
                            .iter()
                            .filter(|c| !c.running && service.container_ids.contains(&c.id))
                            .map(|c| (c.id.clone(), c.exit_code))
                            .collect()
                    } else {
                        Vec::new()
                    };
                let gone = vanished.iter().map(|v| (v.clone(), None));
                for (container, exit_code) in gone.chain(exited.iter().cloned()) {
                    self.record(
                        NewEvent::about(&service, EventKind::Crashed, Actor::System).with_payload(
                            EventPayload::Exited {
                                container,
                                exit_code,
                            },
                        ),
                    )
                    .await?;
                }
                // Its containers now: the recorded ones still there (running or
                // stopped: a stopped service keeps its own), and any running one of
                // its (a deployment interrupted before it recorded its containers).
                let mut now: Vec<String> = service
                    .container_ids
                    .iter()
                    .filter(|id| present.contains(id.as_str()))
                    .cloned()
                    .collect();
                for id in &running {
                    if !now.contains(id) {
                        now.push(id.clone());
                    }
                }
                let down = running.is_empty() && service.status == ServiceStatus::Running;
                let changed = service.container_ids != now || down;
                if completed && vanished.is_empty() {
                    service.status = ServiceStatus::Stopped;
                    service.stopped_at = Some(Timestamp::now());
                    service.container_ids = now;
                    self.blocking(move |s| s.put_service(&service)).await?;
                    continue;
                }
                report.adopted.extend(running.iter().cloned());
                report.vanished.extend(vanished);
                if changed {
                    if down && service.status.can_transition_to(ServiceStatus::Failed) {
                        service.status = ServiceStatus::Failed;
                    }
                    service.container_ids = now;
                    self.blocking(move |s| s.put_service(&service)).await?;
                }
            }
        }
        // Labelled containers of services the store does not know.
        report
            .orphans
            .extend(by_service.into_values().flatten().map(|c| c.id));
        Ok(report)
    }

    async fn watch_events(
        &self,
        backend: Arc<dyn ContainerBackend>,
        mut since: i64,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let mut events = backend.events(Some(since));
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    next = events.next() => match next {
                        Some(Ok(event)) => {
                            since = since.max(event.time_nanos.saturating_add(1));
                            // A failure to record (the store refusing) loses this
                            // event's record; reconciliation at the next start still
                            // finds what it changed.
                            let _ = self.on_engine_event(&backend, event).await;
                        }
                        // The stream broke (the engine went away): reconnect.
                        Some(Err(_)) | None => break,
                    }
                }
            }
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// What an engine event means for the audit trail. What needs a service's lock runs
    /// in a task of its own, so that a long operation of one service (a build) holds
    /// up no other's events.
    async fn on_engine_event(
        &self,
        backend: &Arc<dyn ContainerBackend>,
        event: ContainerEvent,
    ) -> Result<()> {
        let Some((team, id)) = ids_of(&event.labels) else {
            return Ok(());
        };
        let (kind, exit_code) = match event.kind {
            ContainerEventKind::Died { exit_code } => (EventKind::Crashed, exit_code),
            ContainerEventKind::Oom => (EventKind::OomKilled, None),
            ContainerEventKind::Started => return self.on_started(backend, team, id, event).await,
            _ => return Ok(()),
        };
        if kind == EventKind::Crashed && self.expected_exit(&event.id) {
            return Ok(());
        }
        let Some(service) = self.blocking(move |s| s.service(team, id)).await? else {
            return Ok(());
        };
        // Only the service's own containers: labels alone prove nothing.
        if !service.container_ids.contains(&event.id) {
            return Ok(());
        }
        // A job that ends with 0 has done its work (one that outlived its deployment's
        // wait): `stopped` by the system, not a crash.
        if kind == EventKind::Crashed
            && service.config.kind == ServiceKind::Job
            && exit_code == Some(0)
        {
            let me = self.clone();
            tokio::spawn(async move {
                let lock = me.service_locks.of(id);
                let _held = lock.lock().await;
                if let Ok(Some(mut current)) = me.blocking(move |s| s.service(team, id)).await
                    && current.container_ids.contains(&event.id)
                    && current.status.can_transition_to(ServiceStatus::Stopped)
                {
                    current.status = ServiceStatus::Stopped;
                    current.stopped_at = Some(Timestamp::now());
                    let stored = current.clone();
                    let _ = me.blocking(move |s| s.put_service(&stored)).await;
                    let _ = me
                        .record(
                            NewEvent::about(&current, EventKind::Stopped, Actor::System)
                                .with_payload(EventPayload::Containers {
                                    ids: vec![event.id.clone()],
                                }),
                        )
                        .await;
                }
            });
            return Ok(());
        }
        if kind == EventKind::Crashed {
            // No more connections to it; remember its restart count, so that a start
            // with a higher one is known as the restart policy's.
            drop(self.routes.remove(id, std::slice::from_ref(&event.id)));
            let _ = self.rerouted(&**backend, &service).await;
            // (Running already: the engine restarted it before this look.)
            let restarts = backend
                .inspect(&event.id)
                .await
                .map_or(0, |s| s.restart_count - i64::from(s.running));
            self.service_locks
                .crashed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(event.id.clone(), restarts);
        }
        self.record(NewEvent::about(&service, kind, Actor::System).with_payload(
            EventPayload::Exited {
                container: event.id.clone(),
                exit_code,
            },
        ))
        .await?;
        if kind == EventKind::Crashed {
            // Failed when no replica runs any more, decided under the service's lock on
            // what runs then (a deployment may have replaced the container meanwhile; a
            // restart policy may bring it back).
            let (me, backend) = (self.clone(), backend.clone());
            tokio::spawn(async move {
                let lock = me.service_locks.of(id);
                let _held = lock.lock().await;
                if let Ok(Some(mut current)) = me.blocking(move |s| s.service(team, id)).await
                    && current.container_ids.contains(&event.id)
                    && me
                        .containers_of(&*backend, &current)
                        .await
                        .is_ok_and(|all| !all.iter().any(|c| c.running))
                    && current.status.can_transition_to(ServiceStatus::Failed)
                {
                    current.status = ServiceStatus::Failed;
                    let _ = me.blocking(move |s| s.put_service(&current)).await;
                }
            });
        }
        Ok(())
    }

    /// A container of the service started: when it had crashed and the engine's
    /// restart count went up, the restart policy brought it back: a `restarted` event
    /// by the system, routes to it again, and the service runs.
    async fn on_started(
        &self,
        backend: &Arc<dyn ContainerBackend>,
        team: TeamId,
        id: ServiceId,
        event: ContainerEvent,
    ) -> Result<()> {
        let Some(before) = self
            .service_locks
            .crashed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&event.id)
        else {
            return Ok(());
        };
        let state = backend.inspect(&event.id).await?;
        if state.restart_count <= before || !state.running {
            return Ok(());
        }
        let (me, backend) = (self.clone(), backend.clone());
        tokio::spawn(async move {
            let lock = me.service_locks.of(id);
            let _held = lock.lock().await;
            let Ok(Some(mut current)) = me.blocking(move |s| s.service(team, id)).await else {
                return;
            };
            if !current.container_ids.contains(&event.id) {
                return;
            }
            me.routes
                .add(id, &[(state.id.clone(), state.ports.clone())]);
            let _ = me.rerouted(&*backend, &current).await;
            if current.status == ServiceStatus::Failed {
                current.status = ServiceStatus::Running;
                current.started_at = Some(Timestamp::now());
                let stored = current.clone();
                let _ = me.blocking(move |s| s.put_service(&stored)).await;
            }
            let _ = me
                .record(
                    NewEvent::about(&current, EventKind::Restarted, Actor::System).with_payload(
                        EventPayload::Containers {
                            ids: vec![event.id.clone()],
                        },
                    ),
                )
                .await;
        });
        Ok(())
    }
}
