//! The [`Store`] seam: every record of the domain, kept by team.
//!
//! [`Store`] is small, sync and object-safe (the async runtime calls it through
//! `spawn_blocking`); [`StoreExt`] adds conveniences on top for every store.
//! [`RedbStore`] keeps everything in one redb file and is the default; [`MemoryStore`]
//! serves tests and throwaway runs. Both pass the same conformance suite
//! (`conformance`, public with the `testing` feature as
//! `kyozo::testing::store_conformance`).
//!
//! # Contract
//!
//! Every implementation guarantees:
//! - **Tenancy.** Every key starts with the team. A query names a team and returns only
//!   that team's records; asking for a record of another team answers `None`, exactly as
//!   for a record that does not exist.
//! - **Append-only events.** There is no update or delete of an event. Each service's
//!   events are numbered 1, 2, 3... in the write that stores them, so any number of
//!   concurrent appenders on any number of threads never produce a gap or a duplicate.
//!   An appended event must belong to a service that exists in its team and workspace.
//! - **Durability** (see `docs/durability.md`): when [`Store::append_events`] returns
//!   `Ok`, the events survive a crash of the process or the machine. Metrics and health
//!   results may be batched: a crash may lose the last ones. Every other record is
//!   durable on return.
//! - **Order.** Lists of records come in id order (UUIDv7: creation order); events in
//!   sequence order; history queries say which way they sort.

mod memory;
#[cfg(feature = "redb")]
mod redb;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

pub use memory::MemoryStore;
#[cfg(feature = "redb")]
pub use redb::{RedbStore, RedbStoreBuilder};

use crate::model::{
    DeploymentEvent, HealthCheck, Member, MemberId, MetricBucket, NewEvent, ServiceDependency,
    ServiceId, ServiceInstance, ServiceMetric, ServicePermission, Team, TeamId, Timestamp,
    TopologyDetection, TopologyId, ValidationError, Workspace, WorkspaceId,
};

/// The version of the store's schema this build reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// A store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but is not a redb database; it was left untouched.
    #[error("{path} is not a Kyozo store (not a redb database); it was left untouched")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is a redb database that holds something other than a Kyozo store.
    #[error(
        "{path} is a redb database but not a Kyozo store (no schema version); it was left untouched"
    )]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is damaged.
    #[error("{path} is corrupt: {detail}; it was left as it is (restore it from a backup)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the check found.
        detail: String,
    },
    /// The file was written by a newer Kyozo.
    #[error(
        "{path} has schema version {found}; this Kyozo reads up to version {supported}; upgrade Kyozo to open it"
    )]
    UnsupportedSchema {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The newest version this build reads.
        supported: u64,
    },
    /// Another process has the file open.
    #[error("{path} is open in another process")]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The path cannot hold a store safely: it (or its folder) is a symbolic link, it is
    /// not a regular file, or it belongs to another user. Nothing was written.
    #[error("{path} cannot hold a Kyozo store: {source}; it was left untouched")]
    UnsafePath {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is empty or cut short: it is not taken for a new store (that
    /// would forget what the old one ran).
    #[error(
        "{path} is {what}: it was left untouched. If it held nothing you need, remove it and {path}.events.log to start a new store (kyozo up then names the containers the old one left running); otherwise restore it from a backup"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was found ("empty", "cut short: no Kyozo schema in it").
        what: String,
    },
    /// Reading or writing the file failed.
    #[error("{operation} failed on {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The database engine failed.
    #[error("store {operation} failed: {source}")]
    Backend {
        /// What was being done.
        operation: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored record could not be decoded (written by an incompatible build, or damaged).
    #[error("a record in {table} could not be decoded: {source}")]
    Decode {
        /// The table.
        table: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A record refers to another that does not exist in the same team.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of record.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A record was refused by its validation.
    #[error("invalid record: {0}")]
    Invalid(#[from] ValidationError),
}

/// Result of a [`Store`] call.
pub type StoreResult<T> = Result<T, StoreError>;

/// How many history records a retention pass removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PruneReport {
    /// Metric samples removed.
    pub metrics: u64,
    /// Health results removed.
    pub health_checks: u64,
}

/// Where Kyozo keeps its records. See the [module docs](self) for the contract every
/// implementation keeps.
pub trait Store: Send + Sync + fmt::Debug {
    /// Creates or replaces a team.
    fn put_team(&self, team: &Team) -> StoreResult<()>;
    /// A team by id.
    fn team(&self, id: TeamId) -> StoreResult<Option<Team>>;
    /// Every team (for the system actor and administration tools).
    fn teams(&self) -> StoreResult<Vec<Team>>;

    /// Creates or replaces a workspace.
    fn put_workspace(&self, workspace: &Workspace) -> StoreResult<()>;
    /// A workspace of `team`.
    fn workspace(&self, team: TeamId, id: WorkspaceId) -> StoreResult<Option<Workspace>>;
    /// The workspaces of `team`.
    fn workspaces(&self, team: TeamId) -> StoreResult<Vec<Workspace>>;

    /// Creates or replaces a membership.
    fn put_member(&self, member: &Member) -> StoreResult<()>;
    /// A member of `team`.
    fn member(&self, team: TeamId, id: MemberId) -> StoreResult<Option<Member>>;
    /// The members of `team`.
    fn members(&self, team: TeamId) -> StoreResult<Vec<Member>>;
    /// Removes a membership and its service permissions; `false` if there was none.
    fn delete_member(&self, team: TeamId, id: MemberId) -> StoreResult<bool>;

    /// Creates or replaces a service. Its workspace must exist in its team.
    fn put_service(&self, service: &ServiceInstance) -> StoreResult<()>;
    /// A service of `team`.
    fn service(&self, team: TeamId, id: ServiceId) -> StoreResult<Option<ServiceInstance>>;
    /// The services of `team`, or of one of its workspaces.
    fn services(
        &self,
        team: TeamId,
        workspace: Option<WorkspaceId>,
    ) -> StoreResult<Vec<ServiceInstance>>;
    /// Deletes a service record; its events stay (the audit trail outlives what it
    /// describes). `false` if there was none.
    fn delete_service(&self, team: TeamId, id: ServiceId) -> StoreResult<bool>;

    /// Stores a topology detection.
    fn put_topology(&self, topology: &TopologyDetection) -> StoreResult<()>;
    /// A topology detection of `team`.
    fn topology(&self, team: TeamId, id: TopologyId) -> StoreResult<Option<TopologyDetection>>;
    /// The topology detections of `team`, oldest first.
    fn topologies(&self, team: TeamId) -> StoreResult<Vec<TopologyDetection>>;

    /// Appends events in one write, numbering each service's events in order. All or
    /// none are stored. Durable when it returns `Ok`.
    fn append_events(&self, events: Vec<NewEvent>) -> StoreResult<Vec<DeploymentEvent>>;
    /// The events of a service with sequence numbers in `seqs`, in sequence order.
    fn events(
        &self,
        team: TeamId,
        service: ServiceId,
        seqs: RangeInclusive<u64>,
    ) -> StoreResult<Vec<DeploymentEvent>>;
    /// The newest `n` events of a service, newest first.
    fn latest_events(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<DeploymentEvent>>;
    /// The sequence number of a service's last event (0: none yet).
    fn last_seq(&self, team: TeamId, service: ServiceId) -> StoreResult<u64>;
    /// The events of every service of a workspace with `from <= at < to`, oldest first,
    /// at most `limit`.
    fn workspace_events(
        &self,
        team: TeamId,
        workspace: WorkspaceId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DeploymentEvent>>;

    /// Records health results (may batch: see the durability contract).
    fn record_health(&self, checks: &[HealthCheck]) -> StoreResult<()>;
    /// The newest `n` health results of a service, newest first.
    fn health_history(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<HealthCheck>>;

    /// Records metric samples (may batch). A sample at the same millisecond as an
    /// earlier one of the same service replaces it.
    fn record_metrics(&self, metrics: &[ServiceMetric]) -> StoreResult<()>;
    /// The samples of a service with `from <= at < to`, oldest first.
    fn metrics(
        &self,
        team: TeamId,
        service: ServiceId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ServiceMetric>>;
    /// Removes metric samples and health results older than `before`, in every team.
    fn prune_history(&self, before: Timestamp) -> StoreResult<PruneReport>;

    /// Creates or replaces the dependency of `from` on `to`.
    fn put_dependency(&self, dependency: &ServiceDependency) -> StoreResult<()>;
    /// The dependencies between services of a workspace.
    fn dependencies(
        &self,
        team: TeamId,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<ServiceDependency>>;
    /// Removes the dependency of `from` on `to`; `false` if there was none.
    fn delete_dependency(&self, team: TeamId, from: ServiceId, to: ServiceId) -> StoreResult<bool>;

    /// Creates or replaces a member's permission on a service.
    fn put_permission(&self, permission: &ServicePermission) -> StoreResult<()>;
    /// A member's permission on a service.
    fn permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<Option<ServicePermission>>;
    /// Every permission granted to a member.
    fn permissions(&self, team: TeamId, member: MemberId) -> StoreResult<Vec<ServicePermission>>;
    /// Revokes a member's permission on a service; `false` if there was none.
    fn delete_permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<bool>;

    /// Whether the store is still where it was made, for a store kept in a file:
    /// `Some(false)` when the file is a copy of another (see
    /// [`RedbStore::made_here`](crate::store::RedbStore::made_here)), `None` when the
    /// store does not say (the default: a store in memory, or one that does not
    /// record it).
    fn made_here(&self) -> StoreResult<Option<bool>> {
        Ok(None)
    }
}

/// Conveniences for every [`Store`].
pub trait StoreExt: Store {
    /// Appends one event; durable when it returns `Ok`.
    fn append_event(&self, event: NewEvent) -> StoreResult<DeploymentEvent> {
        self.append_events(vec![event])?
            .pop()
            .ok_or_else(|| StoreError::Backend {
                operation: "append event",
                source: "the store returned no event for a one-event append".into(),
            })
    }

    /// Every event of a service, in sequence order.
    fn all_events(&self, team: TeamId, service: ServiceId) -> StoreResult<Vec<DeploymentEvent>> {
        self.events(team, service, 1..=u64::MAX)
    }

    /// Samples of a service with `from <= at < to`, in buckets of `width` holding the
    /// average and maximum of each measure.
    fn metrics_downsampled(
        &self,
        team: TeamId,
        service: ServiceId,
        from: Timestamp,
        to: Timestamp,
        width: Duration,
    ) -> StoreResult<Vec<MetricBucket>> {
        Ok(crate::model::downsample(
            &self.metrics(team, service, from, to)?,
            width,
        ))
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

/// Checks the events of one append and returns them with the sequence numbers they
/// get, given a lookup of each service's workspace and last sequence number. Shared by
/// every store so the rules are the same everywhere. A store that checks the size cap
/// on its own encoding passes `check_size = false`.
pub(crate) fn number_events(
    events: Vec<NewEvent>,
    check_size: bool,
    mut lookup: impl FnMut(TeamId, ServiceId) -> StoreResult<Option<(WorkspaceId, u64)>>,
) -> StoreResult<Vec<DeploymentEvent>> {
    let mut next: std::collections::HashMap<(TeamId, ServiceId), u64> =
        std::collections::HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        if check_size {
            e.validate()?;
        } else {
            e.validate_shape()?;
        }
        let key = (e.team, e.service);
        let seq = match next.get(&key) {
            Some(s) => *s,
            None => match lookup(e.team, e.service)? {
                Some((ws, last)) if ws == e.workspace => last + 1,
                Some(_) => {
                    return Err(ValidationError::invalid(
                        "event.workspace",
                        e.workspace.to_string(),
                        "the workspace of the event's service",
                    )
                    .into());
                }
                None => {
                    return Err(StoreError::NotFound {
                        kind: "service",
                        id: e.service.to_string(),
                    });
                }
            },
        };
        next.insert(key, seq + 1);
        out.push(e.into_event(crate::model::EventId::new(), seq));
    }
    Ok(out)
}
