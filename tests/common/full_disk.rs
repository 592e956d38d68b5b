//! A store that fails every write once told to, as a full disk does: for tests of what
//! Kyozo says when its state cannot record what happened. Reads keep working.

#![allow(dead_code, unreachable_pub)]

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kyozo::model::*;
use kyozo::store::{MemoryStore, PruneReport, Store, StoreError, StoreResult};

/// A [`MemoryStore`] whose writes fail with ENOSPC while `full` is set.
#[derive(Debug, Default)]
pub struct FullDiskStore {
    inner: MemoryStore,
    /// Set: every write fails.
    pub full: Arc<AtomicBool>,
}

impl FullDiskStore {
    fn check(&self) -> StoreResult<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(StoreError::Io {
                operation: "write",
                path: "state.redb".into(),
                source: std::io::Error::from_raw_os_error(28),
            });
        }
        Ok(())
    }
}

impl Store for FullDiskStore {
    fn put_team(&self, team: &Team) -> StoreResult<()> {
        self.check()?;
        self.inner.put_team(team)
    }

    fn team(&self, id: TeamId) -> StoreResult<Option<Team>> {
        self.inner.team(id)
    }

    fn teams(&self) -> StoreResult<Vec<Team>> {
        self.inner.teams()
    }

    fn put_workspace(&self, workspace: &Workspace) -> StoreResult<()> {
        self.check()?;
        self.inner.put_workspace(workspace)
    }

    fn workspace(&self, team: TeamId, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.inner.workspace(team, id)
    }

    fn workspaces(&self, team: TeamId) -> StoreResult<Vec<Workspace>> {
        self.inner.workspaces(team)
    }

    fn put_member(&self, member: &Member) -> StoreResult<()> {
        self.check()?;
        self.inner.put_member(member)
    }

    fn member(&self, team: TeamId, id: MemberId) -> StoreResult<Option<Member>> {
        self.inner.member(team, id)
    }

    fn members(&self, team: TeamId) -> StoreResult<Vec<Member>> {
        self.inner.members(team)
    }

    fn delete_member(&self, team: TeamId, id: MemberId) -> StoreResult<bool> {
        self.check()?;
        self.inner.delete_member(team, id)
    }

    fn put_service(&self, service: &ServiceInstance) -> StoreResult<()> {
        self.check()?;
        self.inner.put_service(service)
    }

    fn service(&self, team: TeamId, id: ServiceId) -> StoreResult<Option<ServiceInstance>> {
        self.inner.service(team, id)
    }

    fn services(
        &self,
        team: TeamId,
        workspace: Option<WorkspaceId>,
    ) -> StoreResult<Vec<ServiceInstance>> {
        self.inner.services(team, workspace)
    }

    fn delete_service(&self, team: TeamId, id: ServiceId) -> StoreResult<bool> {
        self.check()?;
        self.inner.delete_service(team, id)
    }

    fn put_topology(&self, topology: &TopologyDetection) -> StoreResult<()> {
        self.check()?;
        self.inner.put_topology(topology)
    }

    fn topology(&self, team: TeamId, id: TopologyId) -> StoreResult<Option<TopologyDetection>> {
        self.inner.topology(team, id)
    }

    fn topologies(&self, team: TeamId) -> StoreResult<Vec<TopologyDetection>> {
        self.inner.topologies(team)
    }

    fn append_events(&self, events: Vec<NewEvent>) -> StoreResult<Vec<DeploymentEvent>> {
        self.check()?;
        self.inner.append_events(events)
    }

    fn events(
        &self,
        team: TeamId,
        service: ServiceId,
        seqs: RangeInclusive<u64>,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        self.inner.events(team, service, seqs)
    }

    fn latest_events(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        self.inner.latest_events(team, service, n)
    }

    fn last_seq(&self, team: TeamId, service: ServiceId) -> StoreResult<u64> {
        self.inner.last_seq(team, service)
    }

    fn workspace_events(
        &self,
        team: TeamId,
        workspace: WorkspaceId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        self.inner
            .workspace_events(team, workspace, from, to, limit)
    }

    fn record_health(&self, checks: &[HealthCheck]) -> StoreResult<()> {
        self.check()?;
        self.inner.record_health(checks)
    }

    fn health_history(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<HealthCheck>> {
        self.inner.health_history(team, service, n)
    }

    fn record_metrics(&self, metrics: &[ServiceMetric]) -> StoreResult<()> {
        self.check()?;
        self.inner.record_metrics(metrics)
    }

    fn metrics(
        &self,
        team: TeamId,
        service: ServiceId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ServiceMetric>> {
        self.inner.metrics(team, service, from, to)
    }

    fn prune_history(&self, before: Timestamp) -> StoreResult<PruneReport> {
        self.check()?;
        self.inner.prune_history(before)
    }

    fn put_dependency(&self, dependency: &ServiceDependency) -> StoreResult<()> {
        self.check()?;
        self.inner.put_dependency(dependency)
    }

    fn dependencies(
        &self,
        team: TeamId,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<ServiceDependency>> {
        self.inner.dependencies(team, workspace)
    }

    fn delete_dependency(&self, team: TeamId, from: ServiceId, to: ServiceId) -> StoreResult<bool> {
        self.check()?;
        self.inner.delete_dependency(team, from, to)
    }

    fn put_permission(&self, permission: &ServicePermission) -> StoreResult<()> {
        self.check()?;
        self.inner.put_permission(permission)
    }

    fn permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<Option<ServicePermission>> {
        self.inner.permission(team, member, service)
    }

    fn permissions(&self, team: TeamId, member: MemberId) -> StoreResult<Vec<ServicePermission>> {
        self.inner.permissions(team, member)
    }

    fn delete_permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<bool> {
        self.check()?;
        self.inner.delete_permission(team, member, service)
    }
}
