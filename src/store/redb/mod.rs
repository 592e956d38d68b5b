//! [`RedbStore`]: the default store, one redb file.
//!
//! Opening never damages what it finds: a file that is not a redb database, a redb
//! database that is not a Kyozo store, a store written by a newer Kyozo, and a corrupt
//! file each give their own error and are left as they are. Durability per record type
//! is written down in `docs/durability.md`.

mod codec;
mod log;
mod tables;

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::RangeInclusive;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::tables::*;
use super::{PruneReport, SCHEMA_VERSION, Store, StoreError, StoreResult, number_events};
use crate::model::{
    DeploymentEvent, HealthCheck, Member, MemberId, NewEvent, ServiceDependency, ServiceId,
    ServiceInstance, ServiceMetric, ServicePermission, Team, TeamId, Timestamp, TopologyDetection,
    TopologyId, Workspace, WorkspaceId,
};

/// The first bytes of every redb file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// A store in one redb file. Cheap to share behind an `Arc`; every method is safe to call
/// from many threads at once (writes are serialized by redb, reads run in parallel).
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
    path: PathBuf,
    /// Serializes appends and holds the event log (see `log.rs`).
    log: Mutex<log::EventLog>,
    /// Events acknowledged since the last checkpoint: durable in the log, not yet in
    /// redb. Readers merge them in; a checkpoint moves them into redb.
    pending: std::sync::RwLock<Pending>,
    /// Set when a write to the event log failed (the record may or may not have reached
    /// the disk): from then on every write is refused, so nothing builds on an event
    /// reported as failed. Reopening replays whatever the log holds.
    poisoned: AtomicBool,
}

/// Past this many waiting events, an append writes them into redb at once (without a
/// sync: the log keeps them durable until the next checkpoint).
const DIRECT_INSERT_AT: usize = 256;

/// Events acknowledged since the last checkpoint, with their encoded form, keyed like
/// the `events` and `workspace_events` tables.
#[derive(Debug, Default)]
struct Pending {
    events: BTreeMap<(u128, u128, u64), (DeploymentEvent, Vec<u8>)>,
    by_workspace: BTreeMap<(u128, u128, i64, u128), (u128, u64)>,
}

/// Options for opening a [`RedbStore`].
#[derive(Debug, Clone)]
pub struct RedbStoreBuilder {
    path: PathBuf,
    verify_on_open: bool,
    cache_bytes: Option<usize>,
}

impl RedbStoreBuilder {
    /// Options for the store at `path` (created if missing).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            verify_on_open: true,
            cache_bytes: None,
        }
    }

    /// Whether to verify every page's checksum when opening (default: yes). Without it
    /// opening a large file is faster, but a file damaged outside Kyozo is trusted.
    pub fn verify_on_open(mut self, verify: bool) -> Self {
        self.verify_on_open = verify;
        self
    }

    /// The page cache's size in bytes (default: redb's, 1 GiB at most).
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = Some(bytes);
        self
    }

    /// Opens the store, creating it if nothing is at the path.
    ///
    /// A new store is made under a temporary name beside the path (mode `0600`) and
    /// published only once its schema is written, so an interrupted creation never
    /// leaves an empty file where a store should be. An existing file that is empty or
    /// holds no Kyozo schema is refused ([`StoreError::Truncated`]), as is a path that
    /// is a symbolic link, sits in a folder that is one, is not a regular file or
    /// belongs to another user ([`StoreError::UnsafePath`]); an existing store is made
    /// private (`0600`) if it was not.
    pub fn open(self) -> StoreResult<RedbStore> {
        let path = self.path.clone();
        let unsafe_path = |source| StoreError::UnsafePath {
            path: path.clone(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(unsafe_path(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "its folder {} is a symbolic link, and Kyozo keeps its state only in real folders",
                        dir.display()
                    ),
                )));
            }
            _ => {}
        }
        let existing = match std::fs::symlink_metadata(&path) {
            Ok(_) => Some(crate::safe_fs::open_private(&path, false).map_err(unsafe_path)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StoreError::Io {
                    operation: "open",
                    path,
                    source: e,
                });
            }
        };
        let Some(file) = existing else {
            return self.create_new(&dir);
        };
        check_magic(&path, &file)?;
        // Look before opening for writing: the write open repairs and re-verifies,
        // which writes, and a store from a newer Kyozo or a foreign database must be
        // left exactly as it is.
        peek_schema(&path)?;
        let db = self.database(&path, file)?;
        init_schema(&db, &path, false, None)?;
        RedbStore::finish_open(db, path)
    }

    /// The redb database in `file` (`path` names it in errors).
    fn database(&self, path: &Path, file: std::fs::File) -> StoreResult<Database> {
        let mut builder = Database::builder();
        builder.set_check_integrity_on_open(self.verify_on_open);
        if let Some(bytes) = self.cache_bytes {
            builder.set_cache_size(bytes);
        }
        let backend = redb::backends::FileBackend::new(file).map_err(|e| open_error(path, e))?;
        // redb documents that opening a file damaged outside redb may panic when the
        // integrity check is off; a panic must not take the embedding program down.
        let opened = catch_unwind(AssertUnwindSafe(|| builder.create_with_backend(backend)))
            .map_err(|_| StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: "the database engine could not read its structure".into(),
            })?;
        opened.map_err(|e| open_error(path, e))
    }

    /// Creates a new store in `dir`: written under a temporary name, then linked into
    /// place (never over a file another process put there meanwhile).
    fn create_new(self, dir: &Path) -> StoreResult<RedbStore> {
        let path = self.path.clone();
        let io = |operation, source| StoreError::Io {
            operation,
            path: path.clone(),
            source,
        };
        let tmp = crate::safe_fs::temp_path(&dir.join(path.file_name().unwrap_or_default()));
        let file = {
            let mut options = std::fs::OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(&tmp).map_err(|e| io("create", e))?
        };
        // The file's inode, which the hard link below keeps: a copy gets another.
        let ino = inode(&tmp);
        let made = self.database(&path, file).and_then(|db| {
            init_schema(&db, &path, true, ino)?;
            // Publish it: a hard link fails if something is at the path by now.
            match std::fs::hard_link(&tmp, &path) {
                Ok(()) => Ok(db),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(StoreError::Locked { path: path.clone() })
                }
                Err(e) => Err(io("create", e)),
            }
        });
        let _ = std::fs::remove_file(&tmp);
        RedbStore::finish_open(made?, path)
    }
}

impl RedbStore {
    /// Opens the event log of the opened `db` and returns the store.
    fn finish_open(db: Database, path: PathBuf) -> StoreResult<RedbStore> {
        let log = open_log(&db, &path)?;
        Ok(RedbStore {
            db,
            path,
            log: Mutex::new(log),
            pending: std::sync::RwLock::new(Pending::default()),
            poisoned: AtomicBool::new(false),
        })
    }
}

/// The inode of the file at `path` (`None` where the platform has none).
fn inode(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(path).ok().map(|m| m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Checks the schema of an existing store, or writes a new one's (`fresh`), with
/// `made_ino`, the inode of its file, when known.
fn init_schema(db: &Database, path: &Path, fresh: bool, made_ino: Option<u64>) -> StoreResult<()> {
    let read = db.begin_read().ctx("open")?;
    let found = match read.open_table(META) {
        Ok(t) => t.get(SCHEMA_VERSION_KEY).ctx("open")?.map(|v| v.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(backend("open")(e.into())),
    };
    let has_tables = read.list_tables().ctx("open")?.next().is_some();
    drop(read);
    match found {
        Some(v) if v > SCHEMA_VERSION => Err(StoreError::UnsupportedSchema {
            path: path.to_path_buf(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
        Some(_) => Ok(()),
        None if has_tables && !fresh => Err(StoreError::ForeignDatabase {
            path: path.to_path_buf(),
        }),
        // An existing file that redb opens with nothing in it: what a store cut short
        // (or emptied) looks like. Taking it for a new store would forget what ran.
        None if !fresh => Err(StoreError::Truncated {
            path: path.to_path_buf(),
            what: "cut short (a redb file with nothing of Kyozo's in it)".into(),
        }),
        None => {
            let txn = db.begin_write().ctx("create schema")?;
            {
                let mut meta = txn.open_table(META).ctx("create schema")?;
                meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)
                    .ctx("create schema")?;
                if let Some(ino) = made_ino {
                    meta.insert(MADE_INO, ino).ctx("create schema")?;
                }
            }
            txn.open_table(TEAMS).ctx("create schema")?;
            for t in [WORKSPACES, MEMBERS, SERVICES, TOPOLOGIES] {
                txn.open_table(t).ctx("create schema")?;
            }
            for t in [DEPENDENCIES, PERMISSIONS] {
                txn.open_table(t).ctx("create schema")?;
            }
            txn.open_table(EVENTS).ctx("create schema")?;
            txn.open_table(WORKSPACE_EVENTS).ctx("create schema")?;
            txn.open_table(HEALTH).ctx("create schema")?;
            txn.open_table(METRICS).ctx("create schema")?;
            txn.commit().ctx("create schema")
        }
    }
}

/// Reads the store's id and log generation (creating them in a new store), opens the
/// event log, replays what it holds into redb, and checkpoints.
fn open_log(db: &Database, path: &Path) -> StoreResult<log::EventLog> {
    let meta = |key: &str| -> StoreResult<Option<u64>> {
        let read = db.begin_read().ctx("open event log")?;
        let t = read.open_table(META).ctx("open event log")?;
        Ok(t.get(key).ctx("open event log")?.map(|v| v.value()))
    };
    let (hi, lo, generation) = (
        meta(STORE_ID_HI)?,
        meta(STORE_ID_LO)?,
        meta(LOG_GENERATION)?,
    );
    let store_id = match (hi, lo) {
        (Some(hi), Some(lo)) => (u128::from(hi) << 64) | u128::from(lo),
        _ => {
            let id = uuid::Uuid::now_v7().as_u128();
            let txn = db.begin_write().ctx("open event log")?;
            {
                let mut t = txn.open_table(META).ctx("open event log")?;
                t.insert(STORE_ID_HI, (id >> 64) as u64)
                    .ctx("open event log")?;
                t.insert(STORE_ID_LO, id as u64).ctx("open event log")?;
            }
            txn.commit().ctx("open event log")?;
            id
        }
    };
    let generation = generation.unwrap_or(0);
    let log_path = log::log_path(path);
    let io = |operation| {
        let log_path = log_path.clone();
        move |source| StoreError::Io {
            operation,
            path: log_path,
            source,
        }
    };
    let mut log = log::EventLog::open(log_path.clone(), store_id, generation)
        .map_err(io("open event log"))?;
    let pending = log.replay().map_err(io("read event log"))?;
    // Replay what the log holds (events acknowledged after the last durable commit),
    // then checkpoint, in one durable commit.
    let txn = db.begin_write().ctx("replay event log")?;
    {
        let mut events = txn.open_table(EVENTS).ctx("replay event log")?;
        let mut index = txn.open_table(WORKSPACE_EVENTS).ctx("replay event log")?;
        for bytes in &pending {
            let e = codec::decode(bytes).map_err(|e| StoreError::Corrupt {
                path: log.path().to_path_buf(),
                detail: format!("an event in the log cannot be decoded: {e}"),
            })?;
            let (t, svc) = (e.team.as_u128(), e.service.as_u128());
            if events
                .get((t, svc, e.seq))
                .ctx("replay event log")?
                .is_none()
            {
                events
                    .insert((t, svc, e.seq), bytes.as_slice())
                    .ctx("replay event log")?;
                index
                    .insert(
                        (t, e.workspace.as_u128(), e.at.as_millis(), e.id.as_u128()),
                        (svc, e.seq),
                    )
                    .ctx("replay event log")?;
            }
        }
        let mut meta = txn.open_table(META).ctx("replay event log")?;
        meta.insert(LOG_GENERATION, generation + 1)
            .ctx("replay event log")?;
    }
    txn.commit().ctx("replay event log")?;
    log.reset(generation + 1);
    Ok(log)
}

/// Checks that the opened `file` starts like a redb file: an empty one is a store cut
/// short, anything else not a database.
fn check_magic(path: &Path, file: &std::fs::File) -> StoreResult<()> {
    let mut head = Vec::with_capacity(REDB_MAGIC.len());
    Read::take(file, REDB_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(|source| StoreError::Io {
            operation: "read",
            path: path.to_path_buf(),
            source,
        })?;
    if head.is_empty() {
        Err(StoreError::Truncated {
            path: path.to_path_buf(),
            what: "empty (0 bytes)".into(),
        })
    } else if head == REDB_MAGIC {
        Ok(())
    } else {
        Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
        })
    }
}

/// Reads the schema version through a read-only open and refuses a newer schema or a
/// foreign database. A file the read-only open cannot read (one that needs the repair a
/// crash leaves behind) passes: the write open repairs it and checks again.
fn peek_schema(path: &Path) -> StoreResult<()> {
    let peek = || -> Option<(Option<u64>, bool)> {
        let db = Database::builder().open_read_only(path).ok()?;
        let read = db.begin_read().ok()?;
        let version = match read.open_table(META) {
            Ok(t) => t.get(SCHEMA_VERSION_KEY).ok()?.map(|v| v.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(_) => return None,
        };
        let has_tables = read.list_tables().ok()?.next().is_some();
        Some((version, has_tables))
    };
    match catch_unwind(AssertUnwindSafe(peek)).ok().flatten() {
        Some((Some(v), _)) if v > SCHEMA_VERSION => Err(StoreError::UnsupportedSchema {
            path: path.to_path_buf(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
        Some((None, true)) => Err(StoreError::ForeignDatabase {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    let path = path.to_path_buf();
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked { path },
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
            StoreError::Corrupt { path, detail }
        }
        // The file ends inside redb's header: a store cut short, not a disk failure.
        redb::DatabaseError::Storage(redb::StorageError::Io(source))
            if source.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            StoreError::Truncated {
                path,
                what: "cut short inside its header".into(),
            }
        }
        redb::DatabaseError::Storage(redb::StorageError::Io(source)) => StoreError::Io {
            operation: "open",
            path,
            source,
        },
        redb::DatabaseError::UpgradeRequired(v) => StoreError::Corrupt {
            path,
            detail: format!("redb file format {v} is not one this build reads"),
        },
        other => StoreError::Backend {
            operation: "open",
            source: Box::new(other),
        },
    }
}

fn backend(operation: &'static str) -> impl FnOnce(redb::Error) -> StoreError {
    move |e| StoreError::Backend {
        operation,
        source: Box::new(e),
    }
}

/// Turns any redb error into a [`StoreError::Backend`] naming the operation.
trait Ctx<T> {
    fn ctx(self, operation: &'static str) -> StoreResult<T>;
}

impl<T, E: Into<redb::Error>> Ctx<T> for Result<T, E> {
    fn ctx(self, operation: &'static str) -> StoreResult<T> {
        self.map_err(|e| backend(operation)(e.into()))
    }
}

fn encode<T: Serialize>(table: &str, value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| StoreError::Decode {
        table: table.to_owned(),
        source,
    })
}

fn decode<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode {
        table: table.to_owned(),
        source,
    })
}

fn decode_event(bytes: &[u8]) -> StoreResult<DeploymentEvent> {
    codec::decode(bytes).map_err(|e| StoreError::Backend {
        operation: "read events",
        source: format!("a stored event cannot be decoded: {e}").into(),
    })
}

fn not_found(kind: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

type Table2 = TableDefinition<'static, (u128, u128), &'static [u8]>;
type ServicesTable = redb::ReadOnlyTable<(u128, u128), &'static [u8]>;
type EventsTable = redb::ReadOnlyTable<(u128, u128, u64), &'static [u8]>;
type Table3 = TableDefinition<'static, (u128, u128, u128), &'static [u8]>;

impl RedbStore {
    /// Opens (or creates) the store at `path` with default options.
    pub fn open(path: impl Into<PathBuf>) -> StoreResult<Self> {
        RedbStoreBuilder::new(path).open()
    }

    /// Options for opening the store at `path`.
    pub fn builder(path: impl Into<PathBuf>) -> RedbStoreBuilder {
        RedbStoreBuilder::new(path)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the store is still the file it was made in: `Some(false)` when it is a
    /// copy (shipped inside a repository, extracted from an archive, copied from another
    /// machine or folder: another inode), `None` when it does not say (made by a
    /// version of Kyozo that did not record it). A state that came from elsewhere says
    /// what ran elsewhere, and may carry settings someone else chose: a program warns
    /// before it trusts one. Nobody can make a copy that passes: the inode a file gets
    /// on this machine is not known before the copy exists.
    pub fn made_here(&self) -> StoreResult<Option<bool>> {
        let read = self.db.begin_read().ctx("read the store's origin")?;
        let meta = read.open_table(META).ctx("read the store's origin")?;
        let get = |key| -> StoreResult<Option<u64>> {
            Ok(meta
                .get(key)
                .ctx("read the store's origin")?
                .map(|v| v.value()))
        };
        let Some(made) = get(MADE_INO)? else {
            return Ok(None);
        };
        Ok(inode(&self.path).map(|now| now == made))
    }

    fn check(&self) -> StoreResult<()> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(StoreError::Backend {
                operation: "write",
                source: "an earlier event could not be written to the event log; reopen the store"
                    .into(),
            });
        }
        Ok(())
    }

    fn lock_log(&self) -> StoreResult<MutexGuard<'_, log::EventLog>> {
        self.check()?;
        let guard = self.log.lock().map_err(|_| StoreError::Backend {
            operation: "append events",
            source: "a thread panicked while appending".into(),
        })?;
        // Again under the lock: another appender may have failed while this one waited.
        self.check()?;
        Ok(guard)
    }

    /// A durable commit that stores the pending events in redb, after which the log's
    /// records are redundant: the log starts over with the next generation.
    fn checkpoint(&self, log: &mut log::EventLog) -> StoreResult<()> {
        let next = log.generation() + 1;
        let mut pending = self.pending.write().unwrap_or_else(|e| e.into_inner());
        self.insert_pending_with(&mut pending, Durability::Immediate, Some(next))?;
        log.reset(next);
        Ok(())
    }

    /// Moves the pending events into redb in one commit of `durability`.
    fn insert_pending(&self, pending: &mut Pending, durability: Durability) -> StoreResult<()> {
        self.insert_pending_with(pending, durability, None)
    }

    fn insert_pending_with(
        &self,
        pending: &mut Pending,
        durability: Durability,
        generation: Option<u64>,
    ) -> StoreResult<()> {
        let mut txn = self.db.begin_write().ctx("checkpoint")?;
        txn.set_durability(durability).ctx("checkpoint")?;
        {
            let mut events = txn.open_table(EVENTS).ctx("checkpoint")?;
            for (key, (_, bytes)) in &pending.events {
                events.insert(*key, bytes.as_slice()).ctx("checkpoint")?;
            }
            let mut index = txn.open_table(WORKSPACE_EVENTS).ctx("checkpoint")?;
            for (key, value) in &pending.by_workspace {
                index.insert(*key, *value).ctx("checkpoint")?;
            }
            if let Some(next) = generation {
                txn.open_table(META)
                    .ctx("checkpoint")?
                    .insert(LOG_GENERATION, next)
                    .ctx("checkpoint")?;
            }
        }
        txn.commit().ctx("checkpoint")?;
        pending.events.clear();
        pending.by_workspace.clear();
        Ok(())
    }

    fn read_pending(&self) -> std::sync::RwLockReadGuard<'_, Pending> {
        self.pending.read().unwrap_or_else(|e| e.into_inner())
    }

    fn get2<T: DeserializeOwned>(
        &self,
        table: Table2,
        key: (u128, u128),
    ) -> StoreResult<Option<T>> {
        let read = self.db.begin_read().ctx("read")?;
        let t = read.open_table(table).ctx("read")?;
        match t.get(key).ctx("read")? {
            Some(v) => decode(table.name(), v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn list2<T: DeserializeOwned>(&self, table: Table2, team: TeamId) -> StoreResult<Vec<T>> {
        let team = team.as_u128();
        let read = self.db.begin_read().ctx("read")?;
        let t = read.open_table(table).ctx("read")?;
        t.range((team, 0)..=(team, u128::MAX))
            .ctx("read")?
            .map(|r| {
                let (_, v) = r.ctx("read")?;
                decode(table.name(), v.value())
            })
            .collect()
    }

    fn delete2(&self, table: Table2, key: (u128, u128)) -> StoreResult<bool> {
        self.check()?;
        let txn = self.db.begin_write().ctx("delete")?;
        let existed = {
            let mut t = txn.open_table(table).ctx("delete")?;
            t.remove(key).ctx("delete")?.is_some()
        };
        txn.commit().ctx("delete")?;
        Ok(existed)
    }

    /// Writes one record after `check` passes inside the same transaction.
    fn put<K: redb::Key + 'static>(
        &self,
        table: TableDefinition<'static, K, &'static [u8]>,
        key: K::SelfType<'_>,
        bytes: &[u8],
        check: impl FnOnce(&redb::WriteTransaction) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.check()?;
        let txn = self.db.begin_write().ctx("write")?;
        check(&txn)?;
        txn.open_table(table)
            .ctx("write")?
            .insert(key, bytes)
            .ctx("write")?;
        txn.commit().ctx("write")
    }

    fn get3<T: DeserializeOwned>(
        &self,
        table: Table3,
        key: (u128, u128, u128),
    ) -> StoreResult<Option<T>> {
        let read = self.db.begin_read().ctx("read")?;
        let t = read.open_table(table).ctx("read")?;
        match t.get(key).ctx("read")? {
            Some(v) => decode(table.name(), v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn list3<T: DeserializeOwned>(
        &self,
        table: Table3,
        a: u128,
        b: Option<u128>,
    ) -> StoreResult<Vec<T>> {
        let read = self.db.begin_read().ctx("read")?;
        let t = read.open_table(table).ctx("read")?;
        let range = match b {
            Some(b) => t.range((a, b, 0)..=(a, b, u128::MAX)),
            None => t.range((a, 0, 0)..=(a, u128::MAX, u128::MAX)),
        };
        range
            .ctx("read")?
            .map(|r| {
                let (_, v) = r.ctx("read")?;
                decode(table.name(), v.value())
            })
            .collect()
    }

    fn delete3(&self, table: Table3, key: (u128, u128, u128)) -> StoreResult<bool> {
        self.check()?;
        let txn = self.db.begin_write().ctx("delete")?;
        let existed = {
            let mut t = txn.open_table(table).ctx("delete")?;
            t.remove(key).ctx("delete")?.is_some()
        };
        txn.commit().ctx("delete")?;
        Ok(existed)
    }

    fn decode_events(
        &self,
        iter: impl Iterator<
            Item = Result<
                (
                    redb::AccessGuard<'static, (u128, u128, u64)>,
                    redb::AccessGuard<'static, &'static [u8]>,
                ),
                redb::StorageError,
            >,
        >,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        iter.map(|r| {
            let (_, v) = r.ctx("read events")?;
            decode_event(v.value())
        })
        .collect()
    }
}

impl Drop for RedbStore {
    /// A clean close leaves nothing to replay: one last durable commit.
    fn drop(&mut self) {
        if self.poisoned.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(mut log) = self.log.lock()
            && log.is_dirty()
        {
            let _ = self.checkpoint(&mut log);
        }
    }
}

fn exists2(txn: &redb::WriteTransaction, table: Table2, key: (u128, u128)) -> StoreResult<bool> {
    Ok(txn
        .open_table(table)
        .ctx("write")?
        .get(key)
        .ctx("write")?
        .is_some())
}

/// The workspace a stored service belongs to, read without decoding the whole record.
#[derive(serde::Deserialize)]
struct ServiceHead {
    workspace: WorkspaceId,
}

impl Store for RedbStore {
    fn made_here(&self) -> StoreResult<Option<bool>> {
        RedbStore::made_here(self)
    }

    fn put_team(&self, team: &Team) -> StoreResult<()> {
        let bytes = encode(TEAMS.name(), team)?;
        self.put(TEAMS, team.id.as_u128(), &bytes, |_| Ok(()))
    }

    fn team(&self, id: TeamId) -> StoreResult<Option<Team>> {
        let read = self.db.begin_read().ctx("read")?;
        let t = read.open_table(TEAMS).ctx("read")?;
        match t.get(id.as_u128()).ctx("read")? {
            Some(v) => decode(TEAMS.name(), v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn teams(&self) -> StoreResult<Vec<Team>> {
        let read = self.db.begin_read().ctx("read")?;
        let t = read.open_table(TEAMS).ctx("read")?;
        t.iter()
            .ctx("read")?
            .map(|r| {
                let (_, v) = r.ctx("read")?;
                decode(TEAMS.name(), v.value())
            })
            .collect()
    }

    fn put_workspace(&self, workspace: &Workspace) -> StoreResult<()> {
        let bytes = encode(WORKSPACES.name(), workspace)?;
        let key = (workspace.team.as_u128(), workspace.id.as_u128());
        self.put(WORKSPACES, key, &bytes, |txn| {
            let team = txn.open_table(TEAMS).ctx("write")?;
            match team.get(key.0).ctx("write")? {
                Some(_) => Ok(()),
                None => Err(not_found("team", workspace.team)),
            }
        })
    }

    fn workspace(&self, team: TeamId, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.get2(WORKSPACES, (team.as_u128(), id.as_u128()))
    }

    fn workspaces(&self, team: TeamId) -> StoreResult<Vec<Workspace>> {
        self.list2(WORKSPACES, team)
    }

    fn put_member(&self, member: &Member) -> StoreResult<()> {
        let bytes = encode(MEMBERS.name(), member)?;
        let key = (member.team.as_u128(), member.id.as_u128());
        self.put(MEMBERS, key, &bytes, |txn| {
            let team = txn.open_table(TEAMS).ctx("write")?;
            match team.get(key.0).ctx("write")? {
                Some(_) => Ok(()),
                None => Err(not_found("team", member.team)),
            }
        })
    }

    fn member(&self, team: TeamId, id: MemberId) -> StoreResult<Option<Member>> {
        self.get2(MEMBERS, (team.as_u128(), id.as_u128()))
    }

    fn members(&self, team: TeamId) -> StoreResult<Vec<Member>> {
        self.list2(MEMBERS, team)
    }

    fn delete_member(&self, team: TeamId, id: MemberId) -> StoreResult<bool> {
        self.check()?;
        let (t, m) = (team.as_u128(), id.as_u128());
        let txn = self.db.begin_write().ctx("delete")?;
        let existed = {
            let mut members = txn.open_table(MEMBERS).ctx("delete")?;
            let existed = members.remove((t, m)).ctx("delete")?.is_some();
            let mut perms = txn.open_table(PERMISSIONS).ctx("delete")?;
            perms
                .retain_in((t, m, 0)..=(t, m, u128::MAX), |_, _| false)
                .ctx("delete")?;
            existed
        };
        txn.commit().ctx("delete")?;
        Ok(existed)
    }

    fn put_service(&self, service: &ServiceInstance) -> StoreResult<()> {
        service.validate()?;
        let bytes = encode(SERVICES.name(), service)?;
        let key = (service.team.as_u128(), service.id.as_u128());
        // Under the appenders' lock: no append may see the old workspace afterwards.
        let mut log = self.lock_log()?;
        log.heads.remove(&key);
        self.put(SERVICES, key, &bytes, |txn| {
            if exists2(txn, WORKSPACES, (key.0, service.workspace.as_u128()))? {
                Ok(())
            } else {
                Err(not_found("workspace", service.workspace))
            }
        })
    }

    fn service(&self, team: TeamId, id: ServiceId) -> StoreResult<Option<ServiceInstance>> {
        self.get2(SERVICES, (team.as_u128(), id.as_u128()))
    }

    fn services(
        &self,
        team: TeamId,
        workspace: Option<WorkspaceId>,
    ) -> StoreResult<Vec<ServiceInstance>> {
        let all: Vec<ServiceInstance> = self.list2(SERVICES, team)?;
        Ok(all
            .into_iter()
            .filter(|s| workspace.is_none_or(|w| s.workspace == w))
            .collect())
    }

    fn delete_service(&self, team: TeamId, id: ServiceId) -> StoreResult<bool> {
        let key = (team.as_u128(), id.as_u128());
        let mut log = self.lock_log()?;
        log.heads.remove(&key);
        self.delete2(SERVICES, key)
    }

    fn put_topology(&self, topology: &TopologyDetection) -> StoreResult<()> {
        let bytes = encode(TOPOLOGIES.name(), topology)?;
        let key = (topology.team.as_u128(), topology.id.as_u128());
        self.put(TOPOLOGIES, key, &bytes, |txn| {
            let team = txn.open_table(TEAMS).ctx("write")?;
            match team.get(key.0).ctx("write")? {
                Some(_) => Ok(()),
                None => Err(not_found("team", topology.team)),
            }
        })
    }

    fn topology(&self, team: TeamId, id: TopologyId) -> StoreResult<Option<TopologyDetection>> {
        self.get2(TOPOLOGIES, (team.as_u128(), id.as_u128()))
    }

    fn topologies(&self, team: TeamId) -> StoreResult<Vec<TopologyDetection>> {
        self.list2(TOPOLOGIES, team)
    }

    fn append_events(&self, events: Vec<NewEvent>) -> StoreResult<Vec<DeploymentEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut log = self.lock_log()?;
        // Numbering reads redb only for a service not seen since the store opened; the
        // appenders' lock makes the cached heads exact.
        let numbered = {
            let heads = &log.heads;
            let pending = self.read_pending();
            // Opened only for a service whose head is not cached yet.
            let mut tables: Option<(ServicesTable, EventsTable)> = None;
            number_events(events, false, |team, service| {
                let (t, s) = (team.as_u128(), service.as_u128());
                // A cached head means the service exists: writes of services drop their
                // entry under the appenders' lock.
                if let Some(cached) = heads.get(&(t, s)) {
                    return Ok(Some(*cached));
                }
                if tables.is_none() {
                    let read = self.db.begin_read().ctx("append events")?;
                    tables = Some((
                        read.open_table(SERVICES).ctx("append events")?,
                        read.open_table(EVENTS).ctx("append events")?,
                    ));
                }
                let Some((services, table)) = tables.as_ref() else {
                    return Ok(None);
                };
                let Some(head) = services.get((t, s)).ctx("append events")? else {
                    return Ok(None);
                };
                let head: ServiceHead = decode(SERVICES.name(), head.value())?;
                let stored = table
                    .range((t, s, 0)..=(t, s, u64::MAX))
                    .ctx("append events")?
                    .next_back()
                    .transpose()
                    .ctx("append events")?
                    .map_or(0, |(k, _)| k.value().2);
                let waiting = pending
                    .events
                    .range((t, s, 0)..=(t, s, u64::MAX))
                    .next_back()
                    .map_or(0, |(k, _)| k.2);
                Ok(Some((head.workspace, stored.max(waiting))))
            })?
        };
        let mut payload = Vec::new();
        let mut encoded = Vec::with_capacity(numbered.len());
        for e in &numbered {
            let mut bytes = Vec::new();
            codec::encode(e, &mut bytes)?;
            log::push_entry(&mut payload, &bytes);
            encoded.push(bytes);
        }
        // Audit events are durable on return: the log record is synced before we answer.
        if let Err(source) = log.append(&payload) {
            // The record may have reached the disk; stop writing so that nothing builds
            // on an event reported as failed. Reopening replays whatever is there.
            self.poisoned.store(true, Ordering::SeqCst);
            return Err(StoreError::Io {
                operation: "append to the event log",
                path: log.path().to_path_buf(),
                source,
            });
        }
        {
            let mut pending = self.pending.write().unwrap_or_else(|e| e.into_inner());
            for (e, bytes) in numbered.iter().zip(encoded) {
                let (t, s) = (e.team.as_u128(), e.service.as_u128());
                pending.by_workspace.insert(
                    (t, e.workspace.as_u128(), e.at.as_millis(), e.id.as_u128()),
                    (s, e.seq),
                );
                pending.events.insert((t, s, e.seq), (e.clone(), bytes));
                log.heads.insert((t, s), (e.workspace, e.seq));
            }
            // A large batch goes into redb at once (a commit without a sync: the log
            // already made it durable), with whatever was waiting, so memory stays small
            // and the next checkpoint has little to write.
            //
            // The events are durable in the log and visible from here on: the append has
            // succeeded whatever happens next. If moving them into redb fails (a full
            // disk), they stay in memory and in the log, and the next append, checkpoint
            // or close tries again; failing the call would invite a retry that stores
            // the same event twice.
            if pending.events.len() >= DIRECT_INSERT_AT {
                let _ = self.insert_pending(&mut pending, Durability::None);
            }
        }
        if log.wants_checkpoint() {
            // As above: a failed checkpoint is retried by the next append or the close.
            let _ = self.checkpoint(&mut log);
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
        let (t, s) = (team.as_u128(), service.as_u128());
        // Pending first, held while redb is read: a checkpoint cannot move events from
        // one to the other in between unseen (it may show an event twice: merged below).
        let pending = self.read_pending();
        let read = self.db.begin_read().ctx("read events")?;
        let table = read.open_table(EVENTS).ctx("read events")?;
        let range = table
            .range((t, s, *seqs.start())..=(t, s, *seqs.end()))
            .ctx("read events")?;
        let mut out = self.decode_events(range)?;
        let last = out.last().map_or(0, |e| e.seq);
        out.extend(
            pending
                .events
                .range((t, s, *seqs.start())..=(t, s, *seqs.end()))
                .filter(|(k, _)| k.2 > last)
                .map(|(_, (e, _))| e.clone()),
        );
        Ok(out)
    }

    fn latest_events(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<DeploymentEvent>> {
        let (t, s) = (team.as_u128(), service.as_u128());
        let pending = self.read_pending();
        let mut out: Vec<DeploymentEvent> = pending
            .events
            .range((t, s, 0)..=(t, s, u64::MAX))
            .rev()
            .take(n)
            .map(|(_, (e, _))| e.clone())
            .collect();
        if out.len() < n {
            let below = out.last().map_or(u64::MAX, |e| e.seq);
            let read = self.db.begin_read().ctx("read events")?;
            let table = read.open_table(EVENTS).ctx("read events")?;
            let range = table
                .range((t, s, 0)..=(t, s, below.saturating_sub(1)))
                .ctx("read events")?;
            let rest = self.decode_events(range.rev().take(n - out.len()))?;
            out.extend(rest);
        }
        Ok(out)
    }

    fn last_seq(&self, team: TeamId, service: ServiceId) -> StoreResult<u64> {
        let (t, s) = (team.as_u128(), service.as_u128());
        let pending = self.read_pending();
        if let Some((k, _)) = pending
            .events
            .range((t, s, 0)..=(t, s, u64::MAX))
            .next_back()
        {
            return Ok(k.2);
        }
        let read = self.db.begin_read().ctx("read events")?;
        let table = read.open_table(EVENTS).ctx("read events")?;
        let last = table
            .range((t, s, 0)..=(t, s, u64::MAX))
            .ctx("read events")?
            .next_back()
            .transpose()
            .ctx("read events")?;
        Ok(last.map_or(0, |(k, _)| k.value().2))
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
        let (t, w) = (team.as_u128(), workspace.as_u128());
        let bounds = (t, w, from.as_millis(), 0)..(t, w, to.as_millis(), 0);
        let pending = self.read_pending();
        let read = self.db.begin_read().ctx("read events")?;
        let index = read.open_table(WORKSPACE_EVENTS).ctx("read events")?;
        let events = read.open_table(EVENTS).ctx("read events")?;
        // Both indexes are sorted by (time, event id): merge them, each key once.
        let mut keys: BTreeMap<(i64, u128), (u128, u64)> = BTreeMap::new();
        for r in index.range(bounds.clone()).ctx("read events")?.take(limit) {
            let (k, v) = r.ctx("read events")?;
            let k = k.value();
            keys.insert((k.2, k.3), v.value());
        }
        for (k, v) in pending.by_workspace.range(bounds).take(limit) {
            keys.insert((k.2, k.3), *v);
        }
        let mut out = Vec::new();
        for (s, seq) in keys.into_values().take(limit) {
            if let Some((e, _)) = pending.events.get(&(t, s, seq)) {
                out.push(e.clone());
            } else if let Some(e) = events.get((t, s, seq)).ctx("read events")? {
                out.push(decode_event(e.value())?);
            }
        }
        Ok(out)
    }

    fn record_health(&self, checks: &[HealthCheck]) -> StoreResult<()> {
        self.check()?;
        let mut txn = self.db.begin_write().ctx("record health")?;
        // Health history may batch: a crash may lose the newest results (see docs).
        txn.set_durability(Durability::None).ctx("record health")?;
        {
            let mut table = txn.open_table(HEALTH).ctx("record health")?;
            for c in checks {
                let bytes = encode(HEALTH.name(), c)?;
                table
                    .insert(
                        (
                            c.team.as_u128(),
                            c.service.as_u128(),
                            c.at.as_millis(),
                            c.id.as_u128(),
                        ),
                        bytes.as_slice(),
                    )
                    .ctx("record health")?;
            }
        }
        txn.commit().ctx("record health")
    }

    fn health_history(
        &self,
        team: TeamId,
        service: ServiceId,
        n: usize,
    ) -> StoreResult<Vec<HealthCheck>> {
        let (t, s) = (team.as_u128(), service.as_u128());
        let read = self.db.begin_read().ctx("read health")?;
        let table = read.open_table(HEALTH).ctx("read health")?;
        table
            .range((t, s, i64::MIN, 0)..=(t, s, i64::MAX, u128::MAX))
            .ctx("read health")?
            .rev()
            .take(n)
            .map(|r| {
                let (_, v) = r.ctx("read health")?;
                decode(HEALTH.name(), v.value())
            })
            .collect()
    }

    fn record_metrics(&self, metrics: &[ServiceMetric]) -> StoreResult<()> {
        self.check()?;
        let mut txn = self.db.begin_write().ctx("record metrics")?;
        // Metrics may batch: a crash may lose the newest samples (see docs).
        txn.set_durability(Durability::None).ctx("record metrics")?;
        {
            let mut table = txn.open_table(METRICS).ctx("record metrics")?;
            for m in metrics {
                let bytes = encode(METRICS.name(), m)?;
                table
                    .insert(
                        (m.team.as_u128(), m.service.as_u128(), m.at.as_millis()),
                        bytes.as_slice(),
                    )
                    .ctx("record metrics")?;
            }
        }
        txn.commit().ctx("record metrics")
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
        let (t, s) = (team.as_u128(), service.as_u128());
        let read = self.db.begin_read().ctx("read metrics")?;
        let table = read.open_table(METRICS).ctx("read metrics")?;
        table
            .range((t, s, from.as_millis())..(t, s, to.as_millis()))
            .ctx("read metrics")?
            .map(|r| {
                let (_, v) = r.ctx("read metrics")?;
                decode(METRICS.name(), v.value())
            })
            .collect()
    }

    fn prune_history(&self, before: Timestamp) -> StoreResult<PruneReport> {
        self.check()?;
        let cutoff = before.as_millis();
        let txn = self.db.begin_write().ctx("prune history")?;
        let mut report = PruneReport::default();
        {
            let mut metrics = txn.open_table(METRICS).ctx("prune history")?;
            metrics
                .retain(|k, _| {
                    let keep = k.2 >= cutoff;
                    report.metrics += u64::from(!keep);
                    keep
                })
                .ctx("prune history")?;
            let mut health = txn.open_table(HEALTH).ctx("prune history")?;
            health
                .retain(|k, _| {
                    let keep = k.2 >= cutoff;
                    report.health_checks += u64::from(!keep);
                    keep
                })
                .ctx("prune history")?;
        }
        txn.commit().ctx("prune history")?;
        Ok(report)
    }

    fn put_dependency(&self, dependency: &ServiceDependency) -> StoreResult<()> {
        dependency.validate()?;
        let bytes = encode(DEPENDENCIES.name(), dependency)?;
        let t = dependency.team.as_u128();
        let key = (t, dependency.from.as_u128(), dependency.to.as_u128());
        self.put(DEPENDENCIES, key, &bytes, |txn| {
            let services = txn.open_table(SERVICES).ctx("write")?;
            for id in [dependency.from, dependency.to] {
                let head: Option<ServiceHead> =
                    match services.get((t, id.as_u128())).ctx("write")? {
                        Some(v) => Some(decode(SERVICES.name(), v.value())?),
                        None => None,
                    };
                if head.is_none_or(|h| h.workspace != dependency.workspace) {
                    return Err(not_found("service", id));
                }
            }
            Ok(())
        })
    }

    fn dependencies(
        &self,
        team: TeamId,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<ServiceDependency>> {
        let all: Vec<ServiceDependency> = self.list3(DEPENDENCIES, team.as_u128(), None)?;
        Ok(all
            .into_iter()
            .filter(|d| d.workspace == workspace)
            .collect())
    }

    fn delete_dependency(&self, team: TeamId, from: ServiceId, to: ServiceId) -> StoreResult<bool> {
        self.delete3(DEPENDENCIES, (team.as_u128(), from.as_u128(), to.as_u128()))
    }

    fn put_permission(&self, permission: &ServicePermission) -> StoreResult<()> {
        let bytes = encode(PERMISSIONS.name(), permission)?;
        let t = permission.team.as_u128();
        let key = (t, permission.member.as_u128(), permission.service.as_u128());
        self.put(PERMISSIONS, key, &bytes, |txn| {
            if !exists2(txn, MEMBERS, (t, key.1))? {
                return Err(not_found("member", permission.member));
            }
            if !exists2(txn, SERVICES, (t, key.2))? {
                return Err(not_found("service", permission.service));
            }
            Ok(())
        })
    }

    fn permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<Option<ServicePermission>> {
        self.get3(
            PERMISSIONS,
            (team.as_u128(), member.as_u128(), service.as_u128()),
        )
    }

    fn permissions(&self, team: TeamId, member: MemberId) -> StoreResult<Vec<ServicePermission>> {
        self.list3(PERMISSIONS, team.as_u128(), Some(member.as_u128()))
    }

    fn delete_permission(
        &self,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> StoreResult<bool> {
        self.delete3(
            PERMISSIONS,
            (team.as_u128(), member.as_u128(), service.as_u128()),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::{StoreExt, conformance};

    #[test]
    fn conformance_on_a_file() {
        let dir = tempfile::tempdir().unwrap();
        conformance::run(&RedbStore::open(dir.path().join("kyozo.redb")).unwrap());
    }

    #[test]
    fn conformance_through_a_boxed_trait_object() {
        let dir = tempfile::tempdir().unwrap();
        let boxed: Box<dyn Store> =
            Box::new(RedbStore::open(dir.path().join("kyozo.redb")).unwrap());
        conformance::run(boxed.as_ref());
    }

    #[test]
    fn records_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kyozo.redb");
        let team = Team::new("reopen").unwrap();
        let ws = Workspace::new(team.id, "w").unwrap();
        let svc = ServiceInstance::new(team.id, ws.id, "web", "web");
        {
            let store = RedbStore::open(&path).unwrap();
            store.put_team(&team).unwrap();
            store.put_workspace(&ws).unwrap();
            store.put_service(&svc).unwrap();
            let e = NewEvent::new(
                team.id,
                ws.id,
                svc.id,
                crate::model::EventKind::Started,
                crate::model::Actor::System,
            );
            store.append_event(e).unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.service(team.id, svc.id).unwrap(), Some(svc.clone()));
        assert_eq!(store.last_seq(team.id, svc.id).unwrap(), 1);
    }

    /// The file's bytes, compared with `same` so a failure doesn't print megabytes.
    fn sha(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    fn same(a: &[u8], b: &[u8]) -> bool {
        a == b
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"my precious notes\n").unwrap();
        let err = RedbStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert_eq!(sha(&path), b"my precious notes\n");
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.redb");
        drop(RedbStore::open(&path).unwrap());
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION + 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let before = sha(&path);
        let err = RedbStore::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::UnsupportedSchema { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
            "{err}"
        );
        assert!(same(&sha(&path), &before), "the file was modified");
    }

    #[test]
    fn a_foreign_redb_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            let def: TableDefinition<'_, &str, &str> = TableDefinition::new("someone-elses");
            txn.open_table(def).unwrap().insert("k", "v").unwrap();
            txn.commit().unwrap();
        }
        let err = RedbStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    }

    #[test]
    fn a_corrupt_file_gives_a_clear_error_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corrupt.redb");
        {
            let store = RedbStore::open(&path).unwrap();
            let team = Team::new("corrupt").unwrap();
            store.put_team(&team).unwrap();
            let ws = Workspace::new(team.id, "w").unwrap();
            store.put_workspace(&ws).unwrap();
            for i in 0..200 {
                let svc = ServiceInstance::new(team.id, ws.id, format!("s{i}"), "x");
                store.put_service(&svc).unwrap();
            }
        }
        let mut bytes = sha(&path);
        let len = bytes.len();
        // Scribble over the data pages, sparing the header.
        for b in bytes[len / 3..len / 3 + 8192].iter_mut() {
            *b ^= 0x5A;
        }
        std::fs::write(&path, &bytes).unwrap();
        match RedbStore::open(&path) {
            Err(StoreError::Corrupt { detail, .. }) => {
                eprintln!("corruption reported as: {detail}");
                assert!(!detail.is_empty())
            }
            Err(other) => panic!("expected a corruption error, got {other}"),
            Ok(_) => panic!("a scribbled-over file opened as if nothing happened"),
        }
        assert!(same(&sha(&path), &bytes), "a failed open never writes");
    }

    #[test]
    fn an_open_store_is_locked_against_a_second_opener() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.redb");
        let _first = RedbStore::open(&path).unwrap();
        let err = RedbStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }
}
