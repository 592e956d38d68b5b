//! [`MemoryStore`]: every record in memory, for tests and throwaway runs. Nothing
//! survives the process; everything else about the contract holds.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{PruneReport, Store, StoreError, StoreResult, number_events};
use crate::model::{
    DeploymentEvent, EventId, HealthCheck, HealthCheckId, Member, MemberId, ServiceDependency,
    ServiceId, ServiceInstance, ServiceMetric, ServicePermission, Team, TeamId, Timestamp,
    TopologyDetection, TopologyId, Workspace, WorkspaceId,
};

/// A store that keeps everything in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    teams: BTreeMap<TeamId, Team>,
    workspaces: BTreeMap<(TeamId, WorkspaceId), Workspace>,
    members: BTreeMap<(TeamId, MemberId), Member>,
    services: BTreeMap<(TeamId, ServiceId), ServiceInstance>,
    topologies: BTreeMap<(TeamId, TopologyId), TopologyDetection>,
    events: BTreeMap<(TeamId, ServiceId, u64), DeploymentEvent>,
    workspace_events: BTreeMap<(TeamId, WorkspaceId, Timestamp, EventId), (ServiceId, u64)>,
    health: BTreeMap<(TeamId, ServiceId, Timestamp, HealthCheckId), HealthCheck>,
    metrics: BTreeMap<(TeamId, ServiceId, Timestamp), ServiceMetric>,
    dependencies: BTreeMap<(TeamId, ServiceId, ServiceId), ServiceDependency>,
    permissions: BTreeMap<(TeamId, MemberId, ServiceId), ServicePermission>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a map half-written (every
        // mutation is a single insert or remove after its checks), so a poisoned lock
        // still guards consistent data.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn not_found(kind: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

const MIN_ID: u128 = 0;
const MAX_ID: u128 = u128::MAX;

impl Store for MemoryStore {
    fn put_team(&self, team: &Team) -> StoreResult<()> {
        self.write().teams.insert(team.id, team.clone());
        Ok(())
    }

    fn team(&self, id: TeamId) -> StoreResult<Option<Team>> {
        Ok(self.read().teams.get(&id).cloned())
    }

    fn teams(&self) -> StoreResult<Vec<Team>> {
        Ok(self.read().teams.values().cloned().collect())
    }

    fn put_workspace(&self, workspace: &Workspace) -> StoreResult<()> {
        let mut inner = self.write();
        if !inner.teams.contains_key(&workspace.team) {
            return Err(not_found("team", workspace.team));
        }
        inner
            .workspaces
            .insert((workspace.team, workspace.id), workspace.clone());
        Ok(())
    }

    fn workspace(&self, team: TeamId, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        Ok(self.read().workspaces.get(&(team, id)).cloned())
    }

    fn workspaces(&self, team: TeamId) -> StoreResult<Vec<Workspace>> {
        let lo = (team, WorkspaceId::from_u128(MIN_ID));
        let hi = (team, WorkspaceId::from_u128(MAX_ID));
        Ok(self
            .read()
            .workspaces
            .range(lo..=hi)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn put_member(&self, member: &Member) -> StoreResult<()> {
        let mut inner = self.write();
        if !inner.teams.contains_key(&member.team) {
            return Err(not_found("team", member.team));
        }
        inner
            .members
            .insert((member.team, member.id), member.clone());
        Ok(())
    }

    fn member(&self, team: TeamId, id: MemberId) -> StoreResult<Option<Member>> {
        Ok(self.read().members.get(&(team, id)).cloned())
    }

    fn members(&self, team: TeamId) -> StoreResult<Vec<Member>> {
        let lo = (team, MemberId::from_u128(MIN_ID));
        let hi = (team, MemberId::from_u128(MAX_ID));
        Ok(self
            .read()
            .members
            .range(lo..=hi)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn delete_member(&self, team: TeamId, id: MemberId) -> StoreResult<bool> {
        let mut inner = self.write();
        let existed = inner.members.remove(&(team, id)).is_some();
        inner.permissions.retain(|k, _| !(k.0 == team && k.1 == id));
        Ok(existed)
    }

    fn put_service(&self, service: &ServiceInstance) -> StoreResult<()> {
        service.validate()?;
        let mut inner = self.write();
        if !inner
            .workspaces
            .contains_key(&(service.team, service.workspace))
        {
            return Err(not_found("workspace", service.workspace));
        }
        inner
            .services
            .insert((service.team, service.id), service.clone());
        Ok(())
    }

    fn service(&self, team: TeamId, id: ServiceId) -> StoreResult<Option<ServiceInstance>> {
        Ok(self.read().services.get(&(team, id)).cloned())
    }

    fn services(
        &self,
        team: TeamId,
        workspace: Option<WorkspaceId>,
    ) -> StoreResult<Vec<ServiceInstance>> {
        let lo = (team, ServiceId::from_u128(MIN_ID));
        let hi = (team, ServiceId::from_u128(MAX_ID));
        Ok(self
            .read()
            .services
            .range(lo..=hi)
            .map(|(_, v)| v)
            .filter(|s| workspace.is_none_or(|w| s.workspace == w))
            .cloned()
            .collect())
    }

    fn delete_service(&self, team: TeamId, id: ServiceId) -> StoreResult<bool> {
        Ok(self.write().services.remove(&(team, id)).is_some())
    }

    fn put_topology(&self, topology: &TopologyDetection) -> StoreResult<()> {
        let mut inner = self.write();
        if !inner.teams.contains_key(&topology.team) {
            return Err(not_found("team", topology.team));
        }
        inner
            .topologies
            .insert((topology.team, topology.id), topology.clone());
        Ok(())
    }

    fn topology(&self, team: TeamId, id: TopologyId) -> StoreResult<Option<TopologyDetection>> {
        Ok(self.read().topologies.get(&(team, id)).cloned())
    }

    fn topologies(&self, team: TeamId) -> StoreResult<Vec<TopologyDetection>> {
        let lo = (team, TopologyId::from_u128(MIN_ID));
        let hi = (team, TopologyId::from_u128(MAX_ID));
        Ok(self
            .read()
            .topologies
            .range(lo..=hi)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn append_events(
        &self,
        events: Vec<crate::model::NewEvent>,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        let mut inner = self.write();
        let numbered = number_events(events, true, |team, service| {
            Ok(inner.services.get(&(team, service)).map(|s| {
                let last = inner
                    .events
                    .range((team, service, 0)..=(team, service, u64::MAX))
                    .next_back()
                    .map_or(0, |(k, _)| k.2);
                (s.workspace, last)
            }))
        })?;
        for e in &numbered {
            inner
                .workspace_events
                .insert((e.team, e.workspace, e.at, e.id), (e.service, e.seq));
            inner.events.insert((e.team, e.service, e.seq), e.clone());
        }
        Ok(numbered)
    }

    fn events(
        &self,
        team: TeamId,
        service: ServiceId,
        seqs: RangeInclusive<u64>,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let lo = (team, service, *seqs.start());
        let hi = (team, service, *seqs.end());
        Ok(self
            .read()
            .events
            .range(lo..=hi)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn latest_events(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        Ok(self
            .read()
            .events
            .range((team, service, 0)..=(team, service, u64::MAX))
            .rev()
            .take(n)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn last_seq(&self, team: TeamId, service: ServiceId) -> StoreResult<u64> {
        Ok(self
            .read()
            .events
            .range((team, service, 0)..=(team, service, u64::MAX))
            .next_back()
            .map_or(0, |(k, _)| k.2))
    }

    fn workspace_events(
        &self,
        team: TeamId,
        workspace: WorkspaceId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let inner = self.read();
        let lo = (team, workspace, from, EventId::from_u128(MIN_ID));
        let hi = (team, workspace, to, EventId::from_u128(MIN_ID));
        Ok(inner
            .workspace_events
            .range(lo..hi)
            .filter_map(|(_, (svc, seq))| inner.events.get(&(team, *svc, *seq)).cloned())
            .take(limit)
            .collect())
    }

    fn record_health(&self, checks: &[HealthCheck]) -> StoreResult<()> {
        let mut inner = self.write();
        for c in checks {
            inner
                .health
                .insert((c.team, c.service, c.at, c.id), c.clone());
        }
        Ok(())
    }

    fn health_history(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<HealthCheck>> {
        let lo = (
            team,
            service,
            Timestamp::from_millis(i64::MIN),
            HealthCheckId::from_u128(MIN_ID),
        );
        let hi = (
            team,
            service,
            Timestamp::MAX,
            HealthCheckId::from_u128(MAX_ID),
        );
        Ok(self
            .read()
            .health
            .range(lo..=hi)
            .rev()
            .take(n)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn record_metrics(&self, metrics: &[ServiceMetric]) -> StoreResult<()> {
        let mut inner = self.write();
        for m in metrics {
            inner.metrics.insert((m.team, m.service, m.at), m.clone());
        }
        Ok(())
    }

    fn metrics(
        &self,
        team: TeamId,
        service: ServiceId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ServiceMetric>> {
        if from >= to {
            return Ok(Vec::new());
        }
        Ok(self
            .read()
            .metrics
            .range((team, service, from)..(team, service, to))
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn prune_history(&self, before: Timestamp) -> StoreResult<PruneReport> {
        let mut inner = self.write();
        let (m0, h0) = (inner.metrics.len(), inner.health.len());
        inner.metrics.retain(|k, _| k.2 >= before);
        inner.health.retain(|k, _| k.2 >= before);
        Ok(PruneReport {
            metrics: (m0 - inner.metrics.len()) as u64,
            health_checks: (h0 - inner.health.len()) as u64,
        })
    }

    fn put_dependency(&self, dependency: &ServiceDependency) -> StoreResult<()> {
        dependency.validate()?;
        let mut inner = self.write();
        for id in [dependency.from, dependency.to] {
            match inner.services.get(&(dependency.team, id)) {
                Some(s) if s.workspace == dependency.workspace => {}
                _ => return Err(not_found("service", id)),
            }
        }
        inner.dependencies.insert(
            (dependency.team, dependency.from, dependency.to),
            dependency.clone(),
        );
        Ok(())
    }

    fn dependencies(
        &self,
        team: TeamId,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<ServiceDependency>> {
        let lo = (
            team,
            ServiceId::from_u128(MIN_ID),
            ServiceId::from_u128(MIN_ID),
        );
        let hi = (
            team,
            ServiceId::from_u128(MAX_ID),
            ServiceId::from_u128(MAX_ID),
        );
        Ok(self
            .read()
            .dependencies
            .range(lo..=hi)
            .map(|(_, v)| v)
            .filter(|d| d.workspace == workspace)
            .cloned()
            .collect())
    }

    fn delete_dependency(&self, team: TeamId, from: ServiceId, to: ServiceId) -> StoreResult<bool> {
        Ok(self
            .write()
            .dependencies
            .remove(&(team, from, to))
            .is_some())
    }

    fn put_permission(&self, permission: &ServicePermission) -> StoreResult<()> {
        let mut inner = self.write();
        let key = (permission.team, permission.member, permission.service);
        if !inner.members.contains_key(&(key.0, key.1)) {
            return Err(not_found("member", key.1));
        }
        if !inner.services.contains_key(&(key.0, key.2)) {
            return Err(not_found("service", key.2));
        }
        inner.permissions.insert(key, permission.clone());
        Ok(())
    }

    fn permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<Option<ServicePermission>> {
        Ok(self
            .read()
            .permissions
            .get(&(team, member, service))
            .cloned())
    }

    fn permissions(&self, team: TeamId, member: MemberId) -> StoreResult<Vec<ServicePermission>> {
        let lo = (team, member, ServiceId::from_u128(MIN_ID));
        let hi = (team, member, ServiceId::from_u128(MAX_ID));
        Ok(self
            .read()
            .permissions
            .range(lo..=hi)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn delete_permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<bool> {
        Ok(self
            .write()
            .permissions
            .remove(&(team, member, service))
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        super::super::conformance::run(&MemoryStore::new());
    }
}
