//! Every table of the redb store, in one place. Keys are tuples that start with the
//! team's id, so a range over one team's prefix can never reach another team.
//! Ids are stored as `u128` (big-endian UUID order, which for UUIDv7 is creation order);
//! timestamps as `i64` milliseconds. Values are JSON, so a record can gain optional
//! fields without a migration.
//!
//! Changing a key layout or a value's meaning is a schema change: bump
//! [`SCHEMA_VERSION`](crate::store::SCHEMA_VERSION) and write the migration.

use redb::TableDefinition;

/// `"schema_version"` → the schema version of the file.
pub(super) const META: TableDefinition<'static, &str, u64> = TableDefinition::new("meta");
/// The key of the schema version in [`META`].
pub(super) const SCHEMA_VERSION_KEY: &str = "schema_version";
/// The store's id, high and low halves: the event log beside the file carries it.
pub(super) const STORE_ID_HI: &str = "store_id_hi";
/// See [`STORE_ID_HI`].
pub(super) const STORE_ID_LO: &str = "store_id_lo";
/// The generation of the event log's current records (bumped by every checkpoint).
pub(super) const LOG_GENERATION: &str = "log_generation";
/// The inode of the file when the store was made in it: a copy (a state shipped
/// inside a repository, extracted from an archive, copied from another machine) is
/// another file, and says so ([`RedbStore::made_here`](super::RedbStore::made_here)).
/// The inode alone: a device number can change across reboots (device-mapper).
pub(super) const MADE_INO: &str = "made_ino";

/// team → `Team`.
pub(super) const TEAMS: TableDefinition<'static, u128, &[u8]> = TableDefinition::new("teams");
/// (team, workspace) → `Workspace`.
pub(super) const WORKSPACES: TableDefinition<'static, (u128, u128), &[u8]> =
    TableDefinition::new("workspaces");
/// (team, member) → `Member`.
pub(super) const MEMBERS: TableDefinition<'static, (u128, u128), &[u8]> =
    TableDefinition::new("members");
/// (team, service) → `ServiceInstance`.
pub(super) const SERVICES: TableDefinition<'static, (u128, u128), &[u8]> =
    TableDefinition::new("services");
/// (team, topology) → `TopologyDetection`.
pub(super) const TOPOLOGIES: TableDefinition<'static, (u128, u128), &[u8]> =
    TableDefinition::new("topologies");
/// (team, service, seq) → `DeploymentEvent` in the binary form of `codec.rs`. Append-only.
pub(super) const EVENTS: TableDefinition<'static, (u128, u128, u64), &[u8]> =
    TableDefinition::new("events");
/// (team, workspace, at ms, event) → (service, seq): the time index of a workspace's events.
pub(super) const WORKSPACE_EVENTS: TableDefinition<'static, (u128, u128, i64, u128), (u128, u64)> =
    TableDefinition::new("workspace_events");
/// (team, service, at ms, health check) → `HealthCheck`.
pub(super) const HEALTH: TableDefinition<'static, (u128, u128, i64, u128), &[u8]> =
    TableDefinition::new("health");
/// (team, service, at ms) → `ServiceMetric`.
pub(super) const METRICS: TableDefinition<'static, (u128, u128, i64), &[u8]> =
    TableDefinition::new("metrics");
/// (team, from service, to service) → `ServiceDependency`.
pub(super) const DEPENDENCIES: TableDefinition<'static, (u128, u128, u128), &[u8]> =
    TableDefinition::new("dependencies");
/// (team, member, service) → `ServicePermission`.
pub(super) const PERMISSIONS: TableDefinition<'static, (u128, u128, u128), &[u8]> =
    TableDefinition::new("permissions");
