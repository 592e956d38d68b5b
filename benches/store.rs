//! Kyozo's [`RedbStore`] against SQLite (WAL, `synchronous=FULL`) doing the same work on
//! the audit trail: durable one-event appends, 1,000-event batched appends, and the
//! newest 100 events of one service among 1,000,000.
//!
//! Both stores live in one temporary directory under Cargo's target dir, so they share a
//! filesystem. Both store the same JSON (`serde_json` of a [`DeploymentEvent`]), check
//! each event with [`NewEvent::validate`], number each service's events inside the write
//! transaction that stores them, and decode what a query returns into
//! [`DeploymentEvent`]s.
//!
//! Two SQLite schemas take part in the append benchmarks:
//! - `sqlite_wal_full`: one `events` table keyed by (team, service, seq);
//! - `sqlite_wal_full_indexed`: the same, plus what Kyozo also does on every append: a
//!   check that the service exists in the event's workspace (a `services` table) and a
//!   second index of the events by (team, workspace, time, id).
//!
//! Each store is set up the first time its benchmark runs, so a filter
//! (`cargo bench --bench store -- append_batch`) skips the setup of the others.
//! Run with `cargo bench --bench store`; the figures are in `docs/benchmarks.md`.

#![allow(clippy::unwrap_used)]

use std::cell::OnceCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kyozo::auth::Actor;
use kyozo::model::{
    DeploymentEvent, DeploymentId, EventId, EventKind, EventPayload, NewEvent, ServiceId,
    ServiceInstance, Team, Workspace,
};
use kyozo::store::{RedbStore, Store, StoreExt};
use rusqlite::{Connection, TransactionBehavior, params};

/// Events in the stores the query benchmark reads.
const POPULATION: usize = 1_000_000;
/// Services sharing those events (one team, one workspace).
const POPULATION_SERVICES: usize = 1_000;
/// Events of the service the query benchmark reads (the other services share the rest).
const TARGET_EVENTS: usize = 5_000;
/// Events per transaction while populating.
const POPULATION_BATCH: usize = 10_000;
/// Events per transaction in the batched-append benchmark.
const BATCH: usize = 1_000;
/// Services the append benchmarks spread their events over.
const APPEND_SERVICES: usize = 10;
/// Events the query benchmark asks for.
const LATEST: usize = 100;

/// One team, one workspace and its services: what events hang off.
struct Fixture {
    team: Team,
    workspace: Workspace,
    services: Vec<ServiceInstance>,
}

impl Fixture {
    fn new(services: usize) -> Self {
        let team = Team::new("acme").unwrap();
        let workspace = Workspace::new(team.id, "shop").unwrap();
        let services = (0..services)
            .map(|i| {
                ServiceInstance::new(
                    team.id,
                    workspace.id,
                    format!("svc-{i}"),
                    format!("apps/{i}"),
                )
            })
            .collect();
        Self {
            team,
            workspace,
            services,
        }
    }

    /// A new Kyozo store at `path` holding the fixture's records.
    fn kyozo(&self, path: &Path) -> RedbStore {
        let store = RedbStore::open(path).unwrap();
        store.put_team(&self.team).unwrap();
        store.put_workspace(&self.workspace).unwrap();
        for s in &self.services {
            store.put_service(s).unwrap();
        }
        store
    }

    /// A new SQLite database at `path`, with the `services` table filled when `indexed`.
    fn sqlite(&self, path: &Path, indexed: bool) -> Sqlite {
        let sqlite = Sqlite::open(path, indexed);
        if indexed {
            let mut stmt = sqlite
                .conn
                .prepare("INSERT INTO services(team, service, workspace) VALUES (?1, ?2, ?3)")
                .unwrap();
            for s in &self.services {
                stmt.execute(params![
                    s.team.as_uuid().into_bytes(),
                    s.id.as_uuid().into_bytes(),
                    s.workspace.as_uuid().into_bytes()
                ])
                .unwrap();
            }
        }
        sqlite
    }

    /// A realistic event on `service`: a deployment starting, with its image.
    fn event(&self, service: ServiceId) -> NewEvent {
        let deployment = DeploymentId::new();
        NewEvent::new(
            self.team.id,
            self.workspace.id,
            service,
            EventKind::DeploymentStarted,
            Actor::System,
        )
        .with_payload(EventPayload::Deployment {
            deployment,
            image: Some("registry.local/web:1".into()),
        })
        .with_deployment(deployment)
    }

    /// `n` events spread round-robin over `services`, starting at index `from`.
    fn events(&self, services: &[ServiceInstance], n: usize, from: usize) -> Vec<NewEvent> {
        (0..n)
            .map(|i| self.event(services[(from + i) % services.len()].id))
            .collect()
    }

    /// The batches that fill a store for the query benchmark: [`TARGET_EVENTS`] on the
    /// first service, interleaved with the rest of [`POPULATION`] round-robin over the
    /// other services, [`POPULATION_BATCH`] events per batch.
    fn population(&self, mut append: impl FnMut(Vec<NewEvent>)) {
        let target = self.services[0].id;
        let others = &self.services[1..];
        let (mut remaining, mut remaining_target, mut from) = (POPULATION, TARGET_EVENTS, 0);
        while remaining > 0 {
            let n = remaining.min(POPULATION_BATCH);
            let mine = (remaining_target * n)
                .div_ceil(remaining)
                .min(remaining_target);
            let mut batch = self.events(others, n - mine, from);
            batch.extend((0..mine).map(|_| self.event(target)));
            from += n - mine;
            remaining -= n;
            remaining_target -= mine;
            append(batch);
        }
    }
}

/// The SQLite side: one connection in WAL mode with `synchronous=FULL`.
struct Sqlite {
    conn: Connection,
    indexed: bool,
}

impl Sqlite {
    fn open(path: &Path, indexed: bool) -> Self {
        let conn = Connection::open(path).unwrap();
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        conn.execute_batch(
            "CREATE TABLE events(
                team BLOB NOT NULL,
                service BLOB NOT NULL,
                seq INTEGER NOT NULL,
                body BLOB NOT NULL,
                PRIMARY KEY(team, service, seq)
            ) WITHOUT ROWID;",
        )
        .unwrap();
        if indexed {
            conn.execute_batch(
                "CREATE TABLE services(
                    team BLOB NOT NULL,
                    service BLOB NOT NULL,
                    workspace BLOB NOT NULL,
                    PRIMARY KEY(team, service)
                ) WITHOUT ROWID;
                CREATE TABLE workspace_events(
                    team BLOB NOT NULL,
                    workspace BLOB NOT NULL,
                    at INTEGER NOT NULL,
                    id BLOB NOT NULL,
                    service BLOB NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY(team, workspace, at, id)
                ) WITHOUT ROWID;",
            )
            .unwrap();
        }
        Self { conn, indexed }
    }

    /// Appends events in one IMMEDIATE transaction, numbering each service's events from
    /// `max(seq)` read inside it, as Kyozo does; durable when the commit returns.
    fn append(&mut self, events: Vec<NewEvent>) -> Vec<DeploymentEvent> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let mut out = Vec::with_capacity(events.len());
        {
            let mut last = tx
                .prepare_cached(
                    "SELECT coalesce(max(seq), 0) FROM events WHERE team = ?1 AND service = ?2",
                )
                .unwrap();
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events(team, service, seq, body) VALUES (?1, ?2, ?3, ?4)",
                )
                .unwrap();
            let mut service_ws = self.indexed.then(|| {
                tx.prepare_cached("SELECT workspace FROM services WHERE team = ?1 AND service = ?2")
                    .unwrap()
            });
            let mut index = self.indexed.then(|| {
                tx.prepare_cached(
                    "INSERT INTO workspace_events(team, workspace, at, id, service, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .unwrap()
            });
            let mut next: HashMap<ServiceId, i64> = HashMap::new();
            for e in events {
                // The same checks Kyozo runs on every event it appends.
                e.validate().unwrap();
                let team = e.team.as_uuid().into_bytes();
                let service = e.service.as_uuid().into_bytes();
                let workspace = e.workspace.as_uuid().into_bytes();
                let seq = match next.get(&e.service) {
                    Some(s) => *s,
                    None => {
                        if let Some(stmt) = service_ws.as_mut() {
                            let ws: [u8; 16] = stmt
                                .query_row(params![team, service], |row| row.get(0))
                                .unwrap();
                            assert_eq!(ws, workspace, "the event's service is in its workspace");
                        }
                        let max: i64 = last
                            .query_row(params![team, service], |row| row.get(0))
                            .unwrap();
                        max + 1
                    }
                };
                next.insert(e.service, seq + 1);
                let event = e.into_event(EventId::new(), u64::try_from(seq).unwrap());
                let body = serde_json::to_vec(&event).unwrap();
                insert.execute(params![team, service, seq, body]).unwrap();
                if let Some(stmt) = index.as_mut() {
                    stmt.execute(params![
                        team,
                        workspace,
                        event.at.as_millis(),
                        event.id.as_uuid().into_bytes(),
                        service,
                        seq
                    ])
                    .unwrap();
                }
                out.push(event);
            }
        }
        tx.commit().unwrap();
        out
    }

    /// The newest `n` events of a service, newest first, decoded.
    fn latest(&self, team: &Team, service: ServiceId, n: usize) -> Vec<DeploymentEvent> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT body FROM events WHERE team = ?1 AND service = ?2 ORDER BY seq DESC LIMIT ?3",
            )
            .unwrap();
        let rows = stmt
            .query_map(
                params![
                    team.id.as_uuid().into_bytes(),
                    service.as_uuid().into_bytes(),
                    i64::try_from(n).unwrap()
                ],
                |row| {
                    let body = row.get_ref(0)?.as_blob()?;
                    Ok(serde_json::from_slice::<DeploymentEvent>(body).unwrap())
                },
            )
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn append_durable_single(c: &mut Criterion) {
    let dir = tempdir();
    let fx = Fixture::new(APPEND_SERVICES);
    let svc = fx.services[0].id;
    let kyozo = OnceCell::new();
    let (mut sqlite, mut sqlite_indexed) = (None, None);
    let mut group = c.benchmark_group("append_durable_single");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("kyozo_redb", |b| {
        let store = kyozo.get_or_init(|| fx.kyozo(&dir.path().join("single.redb")));
        b.iter_batched(
            || fx.event(svc),
            |e| black_box(store.append_event(e).unwrap()),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("sqlite_wal_full", |b| {
        let db = sqlite.get_or_insert_with(|| fx.sqlite(&dir.path().join("single.db"), false));
        b.iter_batched(
            || vec![fx.event(svc)],
            |e| black_box(db.append(e)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("sqlite_wal_full_indexed", |b| {
        let db = sqlite_indexed
            .get_or_insert_with(|| fx.sqlite(&dir.path().join("single-indexed.db"), true));
        b.iter_batched(
            || vec![fx.event(svc)],
            |e| black_box(db.append(e)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn append_batch_1000(c: &mut Criterion) {
    let dir = tempdir();
    let fx = Fixture::new(APPEND_SERVICES);
    let kyozo = OnceCell::new();
    let (mut sqlite, mut sqlite_indexed) = (None, None);
    let mut group = c.benchmark_group("append_batch_1000");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("kyozo_redb", |b| {
        let store = kyozo.get_or_init(|| fx.kyozo(&dir.path().join("batch.redb")));
        b.iter_batched(
            || fx.events(&fx.services, BATCH, 0),
            |e| black_box(store.append_events(e).unwrap()),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("sqlite_wal_full", |b| {
        let db = sqlite.get_or_insert_with(|| fx.sqlite(&dir.path().join("batch.db"), false));
        b.iter_batched(
            || fx.events(&fx.services, BATCH, 0),
            |e| black_box(db.append(e)),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("sqlite_wal_full_indexed", |b| {
        let db = sqlite_indexed
            .get_or_insert_with(|| fx.sqlite(&dir.path().join("batch-indexed.db"), true));
        b.iter_batched(
            || fx.events(&fx.services, BATCH, 0),
            |e| black_box(db.append(e)),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// Checks a store's answer to the query: the target's newest events, newest first.
fn check_latest(events: &[DeploymentEvent]) {
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let top = TARGET_EVENTS as u64;
    let want: Vec<u64> = (top + 1 - LATEST as u64..=top).rev().collect();
    assert_eq!(seqs, want);
}

fn latest_100_of_1m(c: &mut Criterion) {
    let dir = tempdir();
    let fx = Fixture::new(POPULATION_SERVICES);
    let target = fx.services[0].id;
    let (kyozo, sqlite) = (OnceCell::new(), OnceCell::new());
    let mut group = c.benchmark_group("latest_100_of_1m");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("kyozo_redb", |b| {
        let store = kyozo.get_or_init(|| {
            let store = fx.kyozo(&dir.path().join("population.redb"));
            let t = Instant::now();
            fx.population(|batch| {
                store.append_events(batch).unwrap();
            });
            eprintln!(
                "kyozo_redb: {POPULATION} events over {POPULATION_SERVICES} services stored in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            check_latest(&store.latest_events(fx.team.id, target, LATEST).unwrap());
            store
        });
        b.iter(|| black_box(store.latest_events(fx.team.id, target, LATEST).unwrap()));
    });
    group.bench_function("sqlite_wal_full", |b| {
        let db = sqlite.get_or_init(|| {
            let mut db = fx.sqlite(&dir.path().join("population.db"), false);
            let t = Instant::now();
            fx.population(|batch| {
                db.append(batch);
            });
            eprintln!(
                "sqlite_wal_full: {POPULATION} events over {POPULATION_SERVICES} services stored in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            check_latest(&db.latest(&fx.team, target, LATEST));
            db
        });
        b.iter(|| black_box(db.latest(&fx.team, target, LATEST)));
    });
    group.finish();
}

criterion_group!(
    benches,
    append_durable_single,
    append_batch_1000,
    latest_100_of_1m
);
criterion_main!(benches);
