//! Kyozo's [`RedbStore`] against SQLite (WAL, `synchronous=FULL`) doing the same work on
//! the audit trail: durable one-event appends, 1,000-event batched appends, and the
//! newest 100 events of one service among 1,000,000.
//!
//! Both stores live in one temporary directory under Cargo's target dir, so they share a
//! filesystem. Both store the same JSON (`serde_json` of a [`DeploymentEvent`]), number
//! each service's events inside the write transaction that stores them, and decode what a
//! query returns into [`DeploymentEvent`]s. See `docs/benchmarks.md` for the figures.
//!
//! Run with `cargo bench --bench store`.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kyozo::auth::Actor;
use kyozo::model::{
    DeploymentEvent, DeploymentId, EventId, EventKind, EventPayload, NewEvent, ServiceId,
    ServiceInstance, Team, TeamId, Workspace, WorkspaceId,
};
use kyozo::store::{RedbStore, Store, StoreExt};
use rusqlite::{Connection, TransactionBehavior, params};

/// Events in the store the query benchmark reads.
const POPULATION: usize = 1_000_000;
/// Services sharing those events (one team, one workspace).
const POPULATION_SERVICES: usize = 1_000;
/// Events of the service the query benchmark reads (the others share the rest).
const TARGET_EVENTS: usize = 5_000;
/// Events per transaction while populating.
const POPULATION_BATCH: usize = 10_000;
/// Events per transaction in the batched-append benchmark.
const BATCH: usize = 1_000;
/// Services the append benchmarks spread their events over.
const APPEND_SERVICES: usize = 10;
/// Events the query benchmark asks for.
const LATEST: usize = 100;

/// One team, one workspace, some services: what events hang off.
struct Fixture {
    team: TeamId,
    workspace: WorkspaceId,
    services: Vec<ServiceId>,
}

impl Fixture {
    /// Creates the records in a Kyozo store (services must exist before their events).
    fn create(store: &RedbStore, services: usize) -> Self {
        let team = Team::new("acme").unwrap();
        store.put_team(&team).unwrap();
        let ws = Workspace::new(team.id, "shop").unwrap();
        store.put_workspace(&ws).unwrap();
        let services = (0..services)
            .map(|i| {
                let svc =
                    ServiceInstance::new(team.id, ws.id, format!("svc-{i}"), format!("apps/{i}"));
                store.put_service(&svc).unwrap();
                svc.id
            })
            .collect();
        Self {
            team: team.id,
            workspace: ws.id,
            services,
        }
    }

    /// A realistic event on `service`: a deployment starting, with its image.
    fn event(&self, service: ServiceId) -> NewEvent {
        let deployment = DeploymentId::new();
        NewEvent::new(
            self.team,
            self.workspace,
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

    /// `n` events spread round-robin over the services, starting at service `from`.
    fn events(&self, n: usize, from: usize) -> Vec<NewEvent> {
        (0..n)
            .map(|i| self.event(self.services[(from + i) % self.services.len()]))
            .collect()
    }
}

/// The SQLite side: one connection in WAL mode with `synchronous=FULL`.
struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    fn open(path: &Path) -> Self {
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
        Self { conn }
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
            let mut next: HashMap<ServiceId, i64> = HashMap::new();
            for e in events {
                // The same checks Kyozo runs on every event it appends.
                e.validate().unwrap();
                let team = e.team.as_uuid().into_bytes();
                let service = e.service.as_uuid().into_bytes();
                let seq = match next.get(&e.service) {
                    Some(s) => *s,
                    None => {
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
                out.push(event);
            }
        }
        tx.commit().unwrap();
        out
    }

    /// The newest `n` events of a service, newest first, decoded.
    fn latest(&self, team: TeamId, service: ServiceId, n: usize) -> Vec<DeploymentEvent> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT body FROM events WHERE team = ?1 AND service = ?2 ORDER BY seq DESC LIMIT ?3",
            )
            .unwrap();
        let rows = stmt
            .query_map(
                params![
                    team.as_uuid().into_bytes(),
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

/// Fresh stores with a few services, for the append benchmarks.
fn append_stores(dir: &Path) -> (RedbStore, Fixture, Sqlite) {
    let store = RedbStore::open(dir.join("kyozo.redb")).unwrap();
    let fixture = Fixture::create(&store, APPEND_SERVICES);
    let sqlite = Sqlite::open(&dir.join("sqlite.db"));
    (store, fixture, sqlite)
}

fn append_durable_single(c: &mut Criterion) {
    let dir = tempdir();
    let (store, fx, mut sqlite) = append_stores(dir.path());
    let mut group = c.benchmark_group("append_durable_single");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    let svc = fx.services[0];
    group.bench_function("kyozo_redb", |b| {
        b.iter_batched(
            || fx.event(svc),
            |e| black_box(store.append_event(e).unwrap()),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("sqlite_wal_full", |b| {
        b.iter_batched(
            || vec![fx.event(svc)],
            |e| black_box(sqlite.append(e)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn append_batch_1000(c: &mut Criterion) {
    let dir = tempdir();
    let (store, fx, mut sqlite) = append_stores(dir.path());
    let mut group = c.benchmark_group("append_batch_1000");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("kyozo_redb", |b| {
        b.iter_batched(
            || fx.events(BATCH, 0),
            |e| black_box(store.append_events(e).unwrap()),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("sqlite_wal_full", |b| {
        b.iter_batched(
            || fx.events(BATCH, 0),
            |e| black_box(sqlite.append(e)),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// Fills both stores with [`POPULATION`] events: [`TARGET_EVENTS`] on the first service,
/// the rest round-robin over the others, in transactions of [`POPULATION_BATCH`].
fn populate(store: &RedbStore, fx: &Fixture, sqlite: &mut Sqlite) {
    let target = fx.services[0];
    let others = Fixture {
        team: fx.team,
        workspace: fx.workspace,
        services: fx.services[1..].to_vec(),
    };
    let mut remaining_target = TARGET_EVENTS;
    let mut remaining = POPULATION;
    let (mut kyozo_time, mut sqlite_time) = (Duration::ZERO, Duration::ZERO);
    let mut from = 0;
    while remaining > 0 {
        let n = remaining.min(POPULATION_BATCH);
        // Interleave the target's events with the others', as a live system would.
        let mine = (remaining_target * n)
            .div_ceil(remaining)
            .min(remaining_target);
        let mut batch = others.events(n - mine, from);
        from += n - mine;
        batch.extend((0..mine).map(|_| fx.event(target)));
        remaining_target -= mine;
        remaining -= n;
        let copy = batch.clone();
        let t = Instant::now();
        store.append_events(batch).unwrap();
        kyozo_time += t.elapsed();
        let t = Instant::now();
        sqlite.append(copy);
        sqlite_time += t.elapsed();
    }
    eprintln!(
        "populated {POPULATION} events over {} services ({TARGET_EVENTS} on the target): \
         kyozo_redb {:.1} s, sqlite_wal_full {:.1} s",
        fx.services.len(),
        kyozo_time.as_secs_f64(),
        sqlite_time.as_secs_f64(),
    );
}

fn latest_100_of_1m(c: &mut Criterion) {
    let dir = tempdir();
    let store = RedbStore::open(dir.path().join("kyozo.redb")).unwrap();
    let fx = Fixture::create(&store, POPULATION_SERVICES);
    let mut sqlite = Sqlite::open(&dir.path().join("sqlite.db"));
    populate(&store, &fx, &mut sqlite);
    let (team, target) = (fx.team, fx.services[0]);

    // Both answer the same: the target's newest 100, newest first.
    let k = store.latest_events(team, target, LATEST).unwrap();
    let s = sqlite.latest(team, target, LATEST);
    assert_eq!(k.len(), LATEST);
    assert_eq!(s.len(), LATEST);
    assert_eq!(k[0].seq, TARGET_EVENTS as u64);
    let seqs = |v: &[DeploymentEvent]| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&k), seqs(&s));
    assert_eq!(
        store.last_seq(team, fx.services[1]).unwrap(),
        ((POPULATION - TARGET_EVENTS) / (POPULATION_SERVICES - 1)) as u64 + 1
    );

    let mut group = c.benchmark_group("latest_100_of_1m");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("kyozo_redb", |b| {
        b.iter(|| black_box(store.latest_events(team, target, LATEST).unwrap()));
    });
    group.bench_function("sqlite_wal_full", |b| {
        b.iter(|| black_box(sqlite.latest(team, target, LATEST)));
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
