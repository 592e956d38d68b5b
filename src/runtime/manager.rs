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
//! Not built yet (issue 5): the health and metrics loops, cleanup of dead containers and
//! unreferenced images.

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
use crate::model::{EventKind, EventPayload, NewEvent, ServiceId, ServiceStatus, TeamId};

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
    /// Reconciles the store with the engine, then starts the background work.
    pub async fn start_manager(&self) -> Result<Manager> {
        let backend = self.backend_or_err()?;
        let since = now_nanos();
        let reconciled = self.reconcile(&*backend).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let me = self.clone();
        let watcher = tokio::spawn(async move { me.watch_events(backend, since, stopped).await });
        Ok(Manager {
            stop,
            tasks: vec![watcher],
            reconciled,
        })
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
                let found = by_service
                    .remove(&(service.team, service.id))
                    .unwrap_or_default();
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
                            since = since.max(event.time_nanos + 1);
                            // A failure to record is retried with the next event.
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
            // Failed when no replica runs any more (the engine may restart it: a
            // restart policy brings it back, and the next `start` event is the proof).
            let filter = BTreeMap::from([(LABEL_SERVICE.to_string(), id.to_string())]);
            let running = backend.list(&filter).await?.into_iter().any(|c| c.running);
            if !running {
                let lock = self.service_locks.of(id);
                let _held = lock.lock().await;
                if let Some(mut current) = self.blocking(move |s| s.service(team, id)).await?
                    && current.status.can_transition_to(ServiceStatus::Failed)
                {
                    current.status = ServiceStatus::Failed;
                    self.blocking(move |s| s.put_service(&current)).await?;
                }
            }
        }
        Ok(())
    }
}
