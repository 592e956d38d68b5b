//! Crash test for [`RedbStore`]: a child process appends events to a store file and is
//! killed with SIGKILL at a random moment, many times over on the same file. After each
//! kill the parent opens the file (which verifies its integrity) and checks the
//! durability and numbering contract of `kyozo::store`:
//!
//! - every append that returned `Ok` in the child is in the file, unchanged (same event
//!   id, kind and service at the sequence number the child was given);
//! - each service's events are numbered exactly `1..=last_seq`, no gap, no duplicate;
//! - nothing seen after an earlier kill is lost or changed later (append-only);
//! - the workspace index holds exactly the stored events (both are written in one
//!   transaction).
//!
//! The child is this test binary itself, run on the single test [`crash_child`] with
//! `KYOZO_CRASH_CHILD` set. It reports each acknowledged append on stdout as a line
//! `@kyozo-crash@ ack <service> <seq> <event-id> <kind>`.
//!
//! A run prints its seed on stderr; set `KYOZO_CRASH_SEED=<seed>` to replay the same
//! choices (kill delays, thread counts, batches; the timing itself is not replayable).
//! `KYOZO_CRASH_ITERATIONS` changes the number of kills (default 25).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kyozo::auth::Actor;
use kyozo::model::{
    DeploymentId, EventError, EventId, EventKind, EventPayload, NewEvent, ServiceId,
    ServiceInstance, Team, TeamId, Timestamp, Workspace, WorkspaceId,
};
use kyozo::store::{RedbStore, Store, StoreExt};

/// The child's entry point: set, it names the store file the child appends to.
const CHILD_ENV: &str = "KYOZO_CRASH_CHILD";
const TEAM_ENV: &str = "KYOZO_CRASH_TEAM";
const WORKSPACE_ENV: &str = "KYOZO_CRASH_WORKSPACE";
/// Comma-separated service ids.
const SERVICES_ENV: &str = "KYOZO_CRASH_SERVICES";
const THREADS_ENV: &str = "KYOZO_CRASH_THREADS";
const CHILD_SEED_ENV: &str = "KYOZO_CRASH_CHILD_SEED";
/// Overrides the parent's seed.
const SEED_ENV: &str = "KYOZO_CRASH_SEED";
/// Overrides the number of kill iterations.
const ITERATIONS_ENV: &str = "KYOZO_CRASH_ITERATIONS";

/// The name of the child test, as `--exact` needs it.
const CHILD_TEST: &str = "crash_child";
/// Starts every line the child means for the parent. libtest may print
/// `test crash_child ... ` on the same line before it, so the parent looks for it anywhere.
const MARK: &str = "@kyozo-crash@";

const DEFAULT_ITERATIONS: u32 = 25;
const SERVICE_COUNT: usize = 3;
/// How long the child may take to open the store and say `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// xorshift64: small, seedable, good enough to pick delays and batch sizes.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 once, so nearby seeds give unrelated streams; never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 1 } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn env_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the crash child needs {name}"))
}

// ---------------------------------------------------------------------------------------
// The child
// ---------------------------------------------------------------------------------------

/// Not a test on its own: the entry point of the child process that
/// [`redb_store_survives_sigkill_during_appends`] spawns (with `--ignored`) and kills.
/// With `KYOZO_CRASH_CHILD` it appends events to that store file until it is killed and
/// never returns; anything else (run by hand without the parent's variables, the
/// appending threads stopping, an append failing) fails it.
#[test]
#[ignore = "the child process of redb_store_survives_sigkill_during_appends, which runs it"]
fn crash_child() {
    let path = std::env::var_os(CHILD_ENV).unwrap_or_else(|| {
        panic!("{CHILD_TEST} is started by redb_store_survives_sigkill_during_appends with {CHILD_ENV} set")
    });
    run_child(Path::new(&path));
}

/// Writes one line for the parent and flushes it; exits if the parent is gone.
fn say(out: &mut impl Write, line: std::fmt::Arguments<'_>) {
    if writeln!(out, "{MARK} {line}").is_err() {
        std::process::exit(3);
    }
}

fn flush(out: &mut impl Write) {
    if out.flush().is_err() {
        std::process::exit(3);
    }
}

/// Reports a failure the parent must fail on, and exits.
fn child_fail(what: std::fmt::Arguments<'_>) -> ! {
    let mut out = std::io::stdout().lock();
    say(
        &mut out,
        format_args!("error {}", what.to_string().replace('\n', " ")),
    );
    flush(&mut out);
    std::process::exit(2);
}

fn run_child(path: &Path) -> ! {
    let team: TeamId = env_var(TEAM_ENV).parse().expect("team id");
    let workspace: WorkspaceId = env_var(WORKSPACE_ENV).parse().expect("workspace id");
    let services: Vec<ServiceId> = env_var(SERVICES_ENV)
        .split(',')
        .map(|s| s.parse().expect("service id"))
        .collect();
    let threads: u64 = env_var(THREADS_ENV).parse().expect("thread count");
    let seed: u64 = env_var(CHILD_SEED_ENV).parse().expect("child seed");

    let store = match RedbStore::open(path) {
        Ok(s) => Arc::new(s),
        Err(e) => child_fail(format_args!("open failed: {e} ({e:?})")),
    };
    {
        let mut out = std::io::stdout().lock();
        say(&mut out, format_args!("ready"));
        flush(&mut out);
    }

    let workers: Vec<JoinHandle<()>> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            let services = services.clone();
            let mut rng = Rng::new(seed ^ (t + 1).wrapping_mul(0x0100_0000_01B3));
            thread::spawn(move || {
                let mut n: u64 = 0;
                loop {
                    let size = if rng.range(0, 3) == 0 {
                        rng.range(2, 20)
                    } else {
                        1
                    };
                    let batch: Vec<NewEvent> = (0..size)
                        .map(|_| {
                            n += 1;
                            let svc = services[rng.range(0, services.len() as u64 - 1) as usize];
                            new_event(team, workspace, svc, &mut rng, t, n)
                        })
                        .collect();
                    append(&store, batch);
                }
            })
        })
        .collect();
    for w in workers {
        if w.join().is_err() {
            child_fail(format_args!("an appending thread panicked"));
        }
    }
    child_fail(format_args!("the appending threads stopped"));
}

/// Appends one batch (through `append_event` when it holds one event) and acknowledges
/// every event the store numbered.
fn append(store: &RedbStore, batch: Vec<NewEvent>) {
    let sent: Vec<(ServiceId, EventKind)> = batch.iter().map(|e| (e.service, e.kind)).collect();
    let result = if batch.len() == 1 {
        let event = batch.into_iter().next().expect("one event");
        store.append_event(event).map(|e| vec![e])
    } else {
        store.append_events(batch)
    };
    let stored = match result {
        Ok(stored) => stored,
        Err(e) => child_fail(format_args!("append failed: {e} ({e:?})")),
    };
    if stored.len() != sent.len()
        || stored
            .iter()
            .zip(&sent)
            .any(|(e, (svc, kind))| e.service != *svc || e.kind != *kind)
    {
        child_fail(format_args!(
            "append returned {} events not matching the {} sent",
            stored.len(),
            sent.len()
        ));
    }
    // One lock for the whole batch: lines never interleave.
    let mut out = std::io::stdout().lock();
    for e in &stored {
        say(
            &mut out,
            format_args!("ack {} {} {} {}", e.service, e.seq, e.id, e.kind),
        );
    }
    flush(&mut out);
}

/// A valid event of a random kind, with a payload that suits it.
fn new_event(
    team: TeamId,
    workspace: WorkspaceId,
    service: ServiceId,
    rng: &mut Rng,
    thread: u64,
    n: u64,
) -> NewEvent {
    let base = |kind| NewEvent::new(team, workspace, service, kind, Actor::System);
    match rng.range(0, 7) {
        0 => base(EventKind::ServiceCreated),
        1 => base(EventKind::ConfigChanged).with_payload(EventPayload::Config {
            changed: vec!["PORT".into(), format!("VAR_{thread}_{n}")],
        }),
        2 => base(EventKind::Started).with_payload(EventPayload::Containers {
            ids: vec![format!("c-{thread}-{n}")],
        }),
        3 => base(EventKind::Stopped),
        4 => base(EventKind::Restarted),
        5 => base(EventKind::Scaled).with_payload(EventPayload::Scaled {
            from: u32::try_from(n % 1000).unwrap_or(0),
            to: u32::try_from(n % 1000 + 1).unwrap_or(1),
        }),
        6 => base(EventKind::Crashed).with_payload(EventPayload::Exited {
            container: format!("c-{thread}-{n}"),
            exit_code: Some(137),
        }),
        _ => {
            let deployment = DeploymentId::new();
            base(EventKind::DeploymentFailed)
                .with_payload(EventPayload::Deployment {
                    deployment,
                    image: Some(format!("img:{n}")),
                })
                .with_deployment(deployment)
                .with_error(EventError::new("build failed").with_detail("step", "3"))
                .with_duration(Duration::from_millis(n))
        }
    }
}

// ---------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------

/// An append the child reported as `Ok`.
#[derive(Debug, Clone, Copy)]
struct Ack {
    service: ServiceId,
    seq: u64,
    id: EventId,
    kind: EventKind,
}

#[derive(Debug)]
enum Msg {
    Ready,
    Ack(Ack),
    Error(String),
}

fn parse_line(line: &str) -> Option<Msg> {
    let (_, rest) = line.split_once(MARK)?;
    let mut words = rest.split_whitespace();
    match words.next()? {
        "ready" => Some(Msg::Ready),
        "error" => Some(Msg::Error(rest.trim().to_owned())),
        "ack" => {
            let bad = || panic!("malformed ack line from the child: {line:?}");
            let service = words.next().and_then(|w| w.parse().ok());
            let seq = words.next().and_then(|w| w.parse().ok());
            let id = words.next().and_then(|w| w.parse().ok());
            let kind = words
                .next()
                .and_then(|w| EventKind::ALL.into_iter().find(|k| k.as_str() == w));
            match (service, seq, id, kind) {
                (Some(service), Some(seq), Some(id), Some(kind)) => Some(Msg::Ack(Ack {
                    service,
                    seq,
                    id,
                    kind,
                })),
                _ => bad(),
            }
        }
        _ => panic!("unknown line from the child: {line:?}"),
    }
}

/// Reads the child's stdout: one message per complete line. A line cut short by the
/// kill (no newline) is dropped: the child had not finished saying it.
fn read_stdout(stdout: impl Read + Send + 'static) -> (Receiver<Msg>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) if buf.last() != Some(&b'\n') => return,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    if let Some(msg) = parse_line(&line)
                        && tx.send(msg).is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    (rx, handle)
}

fn read_stderr(stderr: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    })
}

/// The fixture the child appends to.
#[derive(Debug, Clone)]
struct Fixture {
    db: PathBuf,
    team: TeamId,
    workspace: WorkspaceId,
    services: Vec<ServiceId>,
}

fn setup(db: &Path) -> Fixture {
    let store = RedbStore::open(db).expect("create the store");
    let team = Team::new("crash").expect("team");
    store.put_team(&team).expect("put team");
    let ws = Workspace::new(team.id, "shop").expect("workspace");
    store.put_workspace(&ws).expect("put workspace");
    let services = (0..SERVICE_COUNT)
        .map(|i| {
            let svc = ServiceInstance::new(team.id, ws.id, format!("svc-{i}"), format!("apps/{i}"));
            store.put_service(&svc).expect("put service");
            svc.id
        })
        .collect();
    drop(store);
    Fixture {
        db: db.to_path_buf(),
        team: team.id,
        workspace: ws.id,
        services,
    }
}

fn spawn_child(fx: &Fixture, threads: u64, seed: u64) -> Child {
    let services: Vec<String> = fx.services.iter().map(ToString::to_string).collect();
    Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            CHILD_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &fx.db)
        .env(TEAM_ENV, fx.team.to_string())
        .env(WORKSPACE_ENV, fx.workspace.to_string())
        .env(SERVICES_ENV, services.join(","))
        .env(THREADS_ENV, threads.to_string())
        .env(CHILD_SEED_ENV, seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the crash child")
}

/// What the parent knows across iterations.
#[derive(Debug, Default)]
struct Seen {
    /// Every acknowledged append, by service and sequence number.
    acked: HashMap<ServiceId, BTreeMap<u64, Ack>>,
    /// The event ids found in the file at the last check, by service, in sequence order.
    stored: HashMap<ServiceId, Vec<EventId>>,
}

/// Opens the file after a kill and checks everything the parent has been told and seen.
/// Returns each service's last sequence number.
fn verify(fx: &Fixture, seen: &mut Seen, iteration: u32, seed: u64) -> Vec<u64> {
    let ctx = format!("iteration {iteration} (seed {seed})");
    let store = RedbStore::open(&fx.db)
        .unwrap_or_else(|e| panic!("{ctx}: opening the store after SIGKILL failed: {e} ({e:?})"));
    assert!(
        store.team(fx.team).expect("read team").is_some(),
        "{ctx}: the team is gone"
    );
    let mut lasts = Vec::new();
    let mut by_id: HashMap<EventId, (ServiceId, u64)> = HashMap::new();
    for &svc in &fx.services {
        assert!(
            store.service(fx.team, svc).expect("read service").is_some(),
            "{ctx}: service {svc} is gone"
        );
        let last = store
            .last_seq(fx.team, svc)
            .unwrap_or_else(|e| panic!("{ctx}: last_seq({svc}) failed: {e} ({e:?})"));
        let events = store
            .all_events(fx.team, svc)
            .unwrap_or_else(|e| panic!("{ctx}: all_events({svc}) failed: {e} ({e:?})"));
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        let expected: Vec<u64> = (1..=last).collect();
        assert_eq!(
            seqs, expected,
            "{ctx}: service {svc}: sequence numbers are not exactly 1..={last}"
        );
        for e in &events {
            assert_eq!(e.service, svc, "{ctx}: event {} in the wrong service", e.id);
            assert_eq!(e.team, fx.team, "{ctx}: event {} in the wrong team", e.id);
            assert_eq!(
                e.workspace, fx.workspace,
                "{ctx}: event {} in the wrong workspace",
                e.id
            );
            assert!(
                e.kind.accepts(&e.payload),
                "{ctx}: event {} has kind {} with a payload it does not carry: {:?}",
                e.id,
                e.kind,
                e.payload
            );
            assert_eq!(
                e.error.is_some(),
                e.kind == EventKind::DeploymentFailed,
                "{ctx}: event {} ({}) error round trip",
                e.id,
                e.kind
            );
            assert!(
                by_id.insert(e.id, (svc, e.seq)).is_none(),
                "{ctx}: event id {} stored twice",
                e.id
            );
        }

        let acked = seen.acked.entry(svc).or_default();
        if let Some((&max, _)) = acked.last_key_value() {
            assert!(
                last >= max,
                "{ctx}: service {svc}: last_seq is {last} but seq {max} was acknowledged"
            );
        }
        for (&seq, ack) in acked.iter() {
            let e = &events[usize::try_from(seq - 1).expect("seq fits usize")];
            assert_eq!(
                (e.id, e.kind, e.service),
                (ack.id, ack.kind, ack.service),
                "{ctx}: service {svc} seq {seq}: the stored event is not the acknowledged one"
            );
        }

        let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
        let before = seen.stored.entry(svc).or_default();
        assert!(
            ids.len() >= before.len() && ids[..before.len()] == before[..],
            "{ctx}: service {svc}: events seen after an earlier kill were lost or changed \
             (had {}, now {})",
            before.len(),
            ids.len()
        );
        *before = ids;
        lasts.push(last);
    }

    let total: u64 = lasts.iter().sum();
    let indexed = store
        .workspace_events(
            fx.team,
            fx.workspace,
            Timestamp::EPOCH,
            Timestamp::MAX,
            usize::MAX,
        )
        .unwrap_or_else(|e| panic!("{ctx}: workspace_events failed: {e} ({e:?})"));
    assert_eq!(
        indexed.len() as u64,
        total,
        "{ctx}: the workspace index holds {} events, the services {total}",
        indexed.len()
    );
    for e in &indexed {
        assert_eq!(
            by_id.get(&e.id),
            Some(&(e.service, e.seq)),
            "{ctx}: the workspace index names event {} that is not stored as such",
            e.id
        );
    }
    drop(store);
    lasts
}

/// Records what the child acknowledged; an ack for a seq already acknowledged with
/// another event means the store handed out a number twice.
fn record_acks(seen: &mut Seen, acks: &[Ack], ctx: &str) {
    for ack in acks {
        let prev = seen
            .acked
            .entry(ack.service)
            .or_default()
            .insert(ack.seq, *ack);
        if let Some(prev) = prev {
            assert_eq!(
                prev.id, ack.id,
                "{ctx}: service {} seq {} acknowledged for two different events",
                ack.service, ack.seq
            );
        }
    }
}

/// The test's temporary folder, kept (and its path printed) when the test fails, so
/// the file that failed can be examined.
#[derive(Debug)]
struct KeepOnPanic(Option<tempfile::TempDir>);

impl KeepOnPanic {
    fn path(&self) -> &Path {
        self.0.as_ref().expect("the folder").path()
    }
}

impl Drop for KeepOnPanic {
    fn drop(&mut self) {
        if thread::panicking()
            && let Some(dir) = self.0.take()
        {
            eprintln!(
                "store_crash: failed; the store is kept in {}",
                dir.keep().display()
            );
        }
    }
}

fn take(msg: Msg, acks: &mut Vec<Ack>, errors: &mut Vec<String>) {
    match msg {
        Msg::Ready => {}
        Msg::Ack(a) => acks.push(a),
        Msg::Error(e) => errors.push(e),
    }
}

#[test]
fn redb_store_survives_sigkill_during_appends() {
    let seed = match std::env::var(SEED_ENV) {
        Ok(s) => s.parse().expect("KYOZO_CRASH_SEED is a u64"),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    let iterations: u32 = std::env::var(ITERATIONS_ENV)
        .map(|s| s.parse().expect("KYOZO_CRASH_ITERATIONS is a number"))
        .unwrap_or(DEFAULT_ITERATIONS);
    eprintln!("store_crash: seed {seed} ({SEED_ENV}={seed} to replay), {iterations} kills");
    let mut rng = Rng::new(seed);

    let dir = KeepOnPanic(Some(tempfile::tempdir().expect("tempdir")));
    let fx = setup(&dir.path().join("state.redb"));
    let mut seen = Seen::default();
    let started = Instant::now();
    let mut total_acks = 0usize;
    let mut iterations_with_acks = 0u32;
    let mut lasts = vec![0; fx.services.len()];

    for iteration in 1..=iterations {
        let ctx = format!("iteration {iteration} (seed {seed})");
        let threads = rng.range(2, 4);
        let delay = Duration::from_millis(rng.range(20, 400));
        let mut child = spawn_child(&fx, threads, rng.next());
        let (rx, reader) = read_stdout(child.stdout.take().expect("child stdout"));
        let stderr = read_stderr(child.stderr.take().expect("child stderr"));

        let mut acks = Vec::new();
        let mut errors = Vec::new();
        // Wait for `ready`, then let the child append for `delay`.
        let ready = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Msg::Ready) => true,
            Ok(msg) => {
                take(msg, &mut acks, &mut errors);
                false
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        };
        if !ready {
            let _ = child.kill();
            let status = child.wait().expect("wait for the child");
            let _ = reader.join();
            panic!(
                "{ctx}: the child never said ready ({status}); errors: {errors:?}; stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(delay);
        if let Some(status) = child.try_wait().expect("poll the child") {
            let _ = reader.join();
            for msg in rx.try_iter() {
                take(msg, &mut acks, &mut errors);
            }
            panic!(
                "{ctx}: the child exited on its own ({status}); errors: {errors:?}; stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        child.kill().expect("SIGKILL the child");
        let status = child.wait().expect("wait for the child");
        reader.join().expect("the stdout reader");
        let child_stderr = stderr.join().unwrap_or_default();
        for msg in rx.try_iter() {
            take(msg, &mut acks, &mut errors);
        }
        assert!(
            errors.is_empty(),
            "{ctx}: the child failed: {errors:?}; stderr:\n{child_stderr}"
        );
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{ctx}: the child was not killed by SIGKILL ({status}); stderr:\n{child_stderr}"
        );

        record_acks(&mut seen, &acks, &ctx);
        total_acks += acks.len();
        if !acks.is_empty() {
            iterations_with_acks += 1;
        }
        let now = verify(&fx, &mut seen, iteration, seed);
        for (before, after) in lasts.iter().zip(&now) {
            assert!(after >= before, "{ctx}: last_seq went back");
        }
        eprintln!(
            "store_crash: iteration {iteration}: {threads} threads, killed after {} ms, \
             {} acks, last seqs {now:?}",
            delay.as_millis(),
            acks.len(),
        );
        lasts = now;
    }

    let stored: u64 = lasts.iter().sum();
    eprintln!(
        "store_crash: {iterations} kills in {:.1?}: {total_acks} acknowledged appends \
         ({iterations_with_acks} kills with at least one), {stored} events in the file",
        started.elapsed()
    );
    assert!(total_acks > 0, "no append was ever acknowledged");
    assert!(
        iterations_with_acks > 0,
        "no iteration acknowledged an append"
    );
    assert!(
        stored >= total_acks as u64,
        "fewer events stored ({stored}) than acknowledged ({total_acks})"
    );
}
