//! The manager: background work of a running [`Kyozo`], started with
//! [`Kyozo::start_manager`] and stopped with [`Manager::shutdown`] (or on drop).
//!
//! - On start, **reconciliation**: every container carrying Kyozo's labels is matched
//!   to its service; a service whose recorded containers vanished while no one watched
//!   gets a `crashed` event for each and, with none left running, the `failed` status.
//!   Deployments name their containers deterministically, so a restarted process adopts
//!   what runs instead of starting duplicates.
//! - The engine's **event stream**, turned into the audit trail as it happens: a
//!   container that dies without Kyozo asking becomes a `crashed` event (with its exit
//!   code) and, with no replica left running, the `failed` status; an OOM kill becomes
//!   an `oom_killed` event. The stream resumes from the last event it saw when the
//!   engine comes back.
//!
//! - **Health checks** of every running service that declares one (http, tcp), each
//!   recorded as a [`HealthCheck`]; a change from passing to failing (or back) is a
//!   `health_failed` / `health_passed` event.
//! - **Metrics**: one [`ServiceMetric`] per service per sweep (cpu, memory, network,
//!   block I/O of its containers together), from concurrent one-shot stats.
//!
//! Not built yet (issue 5): cleanup of dead containers and unreferenced images, command
//! probes (they need exec).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::Kyozo;
use crate::auth::Actor;
use crate::backend::{
    ContainerBackend, ContainerEvent, ContainerEventKind, LABEL_SERVICE, LABEL_TEAM,
};
use crate::error::Result;
use crate::model::{
    EventKind, EventPayload, HealthCheck, HealthProbe, HealthStatus, NewEvent, ServiceId,
    ServiceInstance, ServiceMetric, ServiceStatus, TeamId, Timestamp,
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
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            health_interval: None,
            metrics_interval: Duration::from_secs(60),
        }
    }
}

/// The background work of a [`Kyozo`]. Dropping it stops the work; [`shutdown`]
/// (Self::shutdown) waits for it to stop.
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

impl Kyozo {
    /// Reconciles the store with the engine, then starts the background work with the
    /// default [`ManagerConfig`].
    pub async fn start_manager(&self) -> Result<Manager> {
        self.start_manager_with(ManagerConfig::default()).await
    }

    /// Reconciles the store with the engine, then starts the background work.
    pub async fn start_manager_with(&self, config: ManagerConfig) -> Result<Manager> {
        let backend = self.backend_or_err()?;
        let since = now_nanos();
        let reconciled = self.reconcile(&*backend).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let me = self.clone();
        let events_backend = backend.clone();
        let events_stopped = stopped.clone();
        let watcher = tokio::spawn(async move {
            me.watch_events(events_backend, since, events_stopped).await;
        });
        let me = self.clone();
        let health_backend = backend.clone();
        let health_stopped = stopped.clone();
        let health_every = config.health_interval;
        let health = tokio::spawn(async move {
            me.health_loop(health_backend, health_every, health_stopped)
                .await;
        });
        let me = self.clone();
        let every = config.metrics_interval;
        let metrics = tokio::spawn(async move {
            me.metrics_loop(backend, every, stopped).await;
        });
        Ok(Manager {
            stop,
            tasks: vec![watcher, health, metrics],
            reconciled,
        })
    }

    /// Every running service of every team.
    async fn running_services(&self) -> Result<Vec<ServiceInstance>> {
        let teams = self.blocking(|s| s.teams()).await?;
        let mut out = Vec::new();
        for team in teams {
            let tid = team.id;
            let services = self.blocking(move |s| s.services(tid, None)).await?;
            out.extend(
                services
                    .into_iter()
                    .filter(|s| s.status == ServiceStatus::Running),
            );
        }
        Ok(out)
    }

    async fn health_loop(
        &self,
        backend: Arc<dyn ContainerBackend>,
        every: Option<Duration>,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut due: BTreeMap<ServiceId, tokio::time::Instant> = BTreeMap::new();
        let mut last: BTreeMap<ServiceId, HealthStatus> = BTreeMap::new();
        loop {
            let now = tokio::time::Instant::now();
            if let Ok(services) = self.running_services().await {
                for service in services {
                    let Some(check) = service.health_check.clone() else {
                        continue;
                    };
                    if due.get(&service.id).is_some_and(|d| *d > now) {
                        continue;
                    }
                    due.insert(service.id, now + every.unwrap_or(check.interval));
                    let status = self.check_health(&*backend, &service).await;
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
                            .record(
                                NewEvent::new(
                                    service.team,
                                    service.workspace,
                                    service.id,
                                    kind,
                                    Actor::System,
                                )
                                .with_payload(
                                    EventPayload::Health {
                                        kind: check.probe.kind(),
                                        target: check.probe.target(),
                                    },
                                ),
                            )
                            .await;
                    }
                }
            }
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// Probes every container of `service` once and records the result; the service
    /// is healthy when every container passes.
    async fn check_health(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> HealthStatus {
        let Some(check) = service.health_check.as_ref() else {
            return HealthStatus::Unknown;
        };
        let filter = BTreeMap::from([(LABEL_SERVICE.to_string(), service.id.to_string())]);
        let containers = match backend.list(&filter).await {
            Ok(c) => c,
            Err(_) => return HealthStatus::Unknown,
        };
        let started = std::time::Instant::now();
        let mut error = None;
        let mut status = HealthStatus::Healthy;
        for c in containers.iter().filter(|c| c.running) {
            let passed = match &check.probe {
                HealthProbe::Http {
                    port,
                    path,
                    expect_status,
                } => match c.ports.get(port) {
                    Some(host) => match super::http_status(*host, path).await {
                        Some(code) if expect_status.map_or(code < 400, |e| code == e) => true,
                        Some(code) => {
                            error = Some(format!("{}: status {code}", c.name));
                            false
                        }
                        None => {
                            error = Some(format!("{}: no answer on :{port}{path}", c.name));
                            false
                        }
                    },
                    None => {
                        error = Some(format!("{}: port {port} is not published", c.name));
                        false
                    }
                },
                HealthProbe::Tcp { port } => match c.ports.get(port) {
                    Some(host) => {
                        let ok = tokio::time::timeout(
                            check.timeout,
                            tokio::net::TcpStream::connect(("127.0.0.1", *host)),
                        )
                        .await
                        .is_ok_and(|r| r.is_ok());
                        if !ok {
                            error = Some(format!("{}: :{port} refused the connection", c.name));
                        }
                        ok
                    }
                    None => false,
                },
                HealthProbe::Command { .. } => return HealthStatus::Unknown,
            };
            if !passed {
                status = HealthStatus::Unhealthy;
            }
        }
        if !containers.iter().any(|c| c.running) {
            status = HealthStatus::Unhealthy;
            error = Some("no container runs".into());
        }
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
        let _ = self.blocking(move |s| s.record_health(&[record])).await;
        status
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

    /// One sample of every managed running container, summed per service.
    /// `previous` holds each container's last sample: CPU use is the difference since.
    pub(crate) async fn sweep_metrics(
        &self,
        backend: &dyn ContainerBackend,
        previous: &mut BTreeMap<String, crate::backend::ContainerStats>,
    ) -> Result<usize> {
        let containers = backend.list(&BTreeMap::new()).await?;
        let running: Vec<&crate::backend::ContainerState> = containers
            .iter()
            .filter(|c| c.running && c.name.starts_with("kyozo-"))
            .collect();
        let ids: Vec<String> = running.iter().map(|c| c.id.clone()).collect();
        let stats = backend.stats(&ids).await?;
        let at = Timestamp::now();
        let mut per_service: BTreeMap<(TeamId, ServiceId), ServiceMetric> = BTreeMap::new();
        for c in running {
            let (Some(key), Some(s)) = (ids_of(&c.labels), stats.get(&c.id)) else {
                continue;
            };
            let m = per_service
                .entry(key)
                .or_insert_with(|| ServiceMetric::new(key.0, key.1, at));
            m.cpu_percent += match previous.get(&c.id) {
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
                for v in &vanished {
                    self.record(
                        NewEvent::new(
                            service.team,
                            service.workspace,
                            service.id,
                            EventKind::Crashed,
                            Actor::System,
                        )
                        .with_payload(EventPayload::Exited {
                            container: v.clone(),
                            exit_code: None,
                        }),
                    )
                    .await?;
                }
                let changed = !vanished.is_empty() || service.container_ids != running;
                report.adopted.extend(running.iter().cloned());
                report.vanished.extend(vanished);
                if changed {
                    if running.is_empty()
                        && service.status == ServiceStatus::Running
                        && service.status.can_transition_to(ServiceStatus::Failed)
                    {
                        service.status = ServiceStatus::Failed;
                    }
                    service.container_ids = running;
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
                            let _ = self.on_engine_event(&*backend, event).await;
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

    async fn on_engine_event(
        &self,
        backend: &dyn ContainerBackend,
        event: ContainerEvent,
    ) -> Result<()> {
        let Some((team, id)) = ids_of(&event.labels) else {
            return Ok(());
        };
        let (kind, exit_code) = match event.kind {
            ContainerEventKind::Died { exit_code } => (EventKind::Crashed, exit_code),
            ContainerEventKind::Oom => (EventKind::OomKilled, None),
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
        self.record(
            NewEvent::new(team, service.workspace, id, kind, Actor::System).with_payload(
                EventPayload::Exited {
                    container: event.id.clone(),
                    exit_code,
                },
            ),
        )
        .await?;
        if kind == EventKind::Crashed {
            // Failed when no replica runs any more, decided under the service's lock on
            // what runs then (a deployment may have replaced the container meanwhile; a
            // restart policy may bring it back).
            let lock = self.service_locks.of(id);
            let _held = lock.lock().await;
            if let Some(mut current) = self.blocking(move |s| s.service(team, id)).await?
                && current.container_ids.contains(&event.id)
                && !self
                    .containers_of(backend, &current)
                    .await?
                    .iter()
                    .any(|c| c.running)
                && current.status.can_transition_to(ServiceStatus::Failed)
            {
                current.status = ServiceStatus::Failed;
                self.blocking(move |s| s.put_service(&current)).await?;
            }
        }
        Ok(())
    }
}
