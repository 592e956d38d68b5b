//! One lock per service, so operations on a service run one at a time, and the
//! containers Kyozo itself stops (their exit is no crash) or saw crash (a start after a
//! crash is the engine's restart policy). Taking a service's lock reloads it as stored.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::Runtime;
use crate::error::{Error, Result};
use crate::model::{ServiceId, ServiceInstance, ServiceStatus};

/// One async lock per service, so operations on a service run one at a time while
/// different services proceed concurrently.
#[derive(Debug, Default)]
pub struct ServiceLocks {
    locks: Mutex<HashMap<ServiceId, Arc<tokio::sync::Mutex<()>>>>,
    /// Containers Kyozo is stopping or removing itself: their exit is no crash.
    pub(super) expected: Mutex<std::collections::HashSet<String>>,
    /// Containers that crashed, with their restart count then: a start with a higher
    /// count is the engine applying the restart policy.
    pub(super) crashed: Mutex<HashMap<String, i64>>,
}

impl ServiceLocks {
    pub(super) fn expect_exit(&self, id: &str) {
        self.expected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_string());
    }

    pub(super) fn of(&self, id: ServiceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(id).or_default().clone()
    }
}

impl Runtime {
    /// Whether Kyozo itself stopped container `id` (consumed: asked once per exit).
    pub(crate) fn expected_exit(&self, id: &str) -> bool {
        self.service_locks
            .expected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id)
    }

    /// Waits for the service's lock, and returns the lock and the service as stored
    /// once it is held (a removed service takes no more operations).
    pub(super) async fn lock_service(
        &self,
        service: ServiceInstance,
    ) -> Result<(tokio::sync::OwnedMutexGuard<()>, ServiceInstance)> {
        let id = service.id;
        let held = self.service_locks.of(id).lock_owned().await;
        let service = self.current(service).await?;
        // The edge proxy is told the routes this process knows: what runs of the
        // service first, when an earlier process deployed it.
        if self.edge_for(&service).is_some()
            && !self.routes.knows(id)
            && let Ok(backend) = self.backend_or_err()
        {
            let running: Vec<(String, BTreeMap<u16, u16>)> = self
                .deployed_containers(&*backend, &service)
                .await?
                .into_iter()
                .filter(|c| c.running)
                .map(|c| (c.id, c.ports))
                .collect();
            self.routes.add(id, &running);
        }
        Ok((held, service))
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
}
