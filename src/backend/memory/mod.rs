//! [`MemoryBackend`]: a [`ContainerBackend`] that keeps its containers, images,
//! networks and volumes as records in memory, for the unit tests of programs that embed
//! Kyozo and of Kyozo's own runtime logic.
//!
//! It is deterministic and needs no threads, no sleeps and no engine:
//! - **containers** are records with states. A container's command is read by a small
//!   `sh` (`sh -c '...'`, see below) and run at `start`, in **virtual time**: `sleep`
//!   waits on the backend's clock, which moves only when [`MemoryBackend::advance`] is
//!   called or a [`wait`](ContainerBackend::wait) lets time pass until its container
//!   ends. A container with no command, or whose script runs a program the shell does
//!   not know (`httpd`, the image's own server), runs until it is stopped, killed, or
//!   made to exit with [`MemoryBackend::exit`];
//! - **images** are present when added with [`MemoryBackend::with_image`] or built: a
//!   build records its [`BuildSpec`] ([`MemoryBackend::builds`]) and gives a digest of
//!   it (equal specs, equal digests); `create` of an image it does not have fails as a
//!   pull with no registry would;
//! - **logs** are what scripts print plus what the embedder feeds
//!   ([`MemoryBackend::push_log`]); **stats** are fed ([`MemoryBackend::set_stats`]) or
//!   synthesised (a running container uses 8 MiB); **events** are recorded for every
//!   change (created, started, died with the code, oom, health, destroyed) and can be
//!   read from any time;
//! - **exec** answers what the embedder scripted for an argv
//!   ([`MemoryBackend::script_exec`]), or runs an `sh -c` script with the same shell
//!   (an unknown program is "not found", exit 127; a script whose sleeps exceed the
//!   timeout is a [`BackendError::Timeout`]);
//! - **crashes**: [`MemoryBackend::exit`] ends a container's process with a code (the
//!   restart policy applies, as when a process dies on a real engine),
//!   [`MemoryBackend::oom`] kills it for memory, [`MemoryBackend::set_health`] changes
//!   its health;
//! - **faults**: [`MemoryBackend::fail_next`] makes the next call of an operation fail
//!   with the error given, so an embedder can test its error paths.
//!
//! Its capabilities are Docker's but host ports: nothing listens, so a port cannot be
//! published (a service with ports deploys, and is ready once it runs). Health checks
//! over HTTP or TCP need a real engine; command checks go through exec.
//!
//! It passes the shared [conformance suite](super::conformance) like every backend, but
//! it is a model, not an engine: it never replaces the tests on a real Docker Engine as
//! proof of what Kyozo does there.
//!
//! The shell understands `;`, newlines, `&&`, `||`, quotes (no `$` expansions),
//! `echo [-n]`, `cat`, `sleep`, `exit`, `true`, `false`, `:`, `mkdir`, `touch`, `exec`,
//! and output to `>&2`, `> FILE` and `>> FILE`. Files live in the container (gone with
//! it) or, under a volume's mount path, in the volume (kept with it).

mod shell;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};

use super::{
    BackendError, BackendInfo, BuildProgress, BuildSpec, Capabilities, ContainerBackend,
    ContainerEvent, ContainerEventKind, ContainerSpec, ContainerState, ContainerStats,
    EXEC_OUTPUT_LIMIT, ExecOutput, ImageInfo, LABEL_MANAGED_BY, LogLine, LogOptions, NetworkInfo,
    VolumeInfo,
};
use crate::model::RestartPolicy;
use shell::{Run, Stop};

/// The events kept for [`ContainerBackend::events`]; older ones are dropped.
const EVENTS_KEPT: usize = 10_000;
/// The log lines kept per container; older ones are dropped.
const LOG_LINES_KEPT: usize = 10_000;
/// The memory a running container uses when no stats were fed.
const SYNTHETIC_MEMORY: u64 = 8 * 1024 * 1024;

/// An operation of [`ContainerBackend`], to make fail with [`MemoryBackend::fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Call {
    /// [`ContainerBackend::info`].
    Info,
    /// [`ContainerBackend::build_image`].
    BuildImage,
    /// [`ContainerBackend::remove_image`].
    RemoveImage,
    /// [`ContainerBackend::list_images`].
    ListImages,
    /// [`ContainerBackend::create`].
    Create,
    /// [`ContainerBackend::start`].
    Start,
    /// [`ContainerBackend::stop`].
    Stop,
    /// [`ContainerBackend::kill`].
    Kill,
    /// [`ContainerBackend::remove`].
    Remove,
    /// [`ContainerBackend::inspect`].
    Inspect,
    /// [`ContainerBackend::list`].
    List,
    /// [`ContainerBackend::logs`] (the stream's first item is the error).
    Logs,
    /// [`ContainerBackend::stats`].
    Stats,
    /// [`ContainerBackend::events`] (the stream's first item is the error).
    Events,
    /// [`ContainerBackend::wait`].
    Wait,
    /// [`ContainerBackend::create_network`].
    CreateNetwork,
    /// [`ContainerBackend::remove_network`].
    RemoveNetwork,
    /// [`ContainerBackend::list_networks`].
    ListNetworks,
    /// [`ContainerBackend::create_volume`].
    CreateVolume,
    /// [`ContainerBackend::remove_volume`].
    RemoveVolume,
    /// [`ContainerBackend::list_volumes`].
    ListVolumes,
    /// [`ContainerBackend::exec`].
    Exec,
}

/// An in-memory container engine. See the [module docs](self). Cheap to clone; clones
/// share the engine.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    world: Mutex<World>,
    /// Bumped on every change, so that waits, follows and event streams wake up.
    changes: tokio::sync::watch::Sender<u64>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            world: Mutex::new(World::default()),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }
}

#[derive(Debug)]
struct World {
    capabilities: Capabilities,
    /// The virtual clock scripts sleep on.
    clock: Duration,
    /// The last event time given (Unix nanoseconds), so times never go back.
    last_nanos: i64,
    next_id: u64,
    containers: BTreeMap<String, Container>,
    images: BTreeMap<String, ImageInfo>,
    builds: Vec<BuildSpec>,
    networks: BTreeMap<String, NetworkInfo>,
    volumes: BTreeMap<String, Volume>,
    /// Events, the first of which has index `events_base`.
    events: VecDeque<ContainerEvent>,
    events_base: usize,
    faults: BTreeMap<Call, VecDeque<BackendError>>,
    exec_scripts: BTreeMap<Vec<String>, ExecOutput>,
}

impl Default for World {
    fn default() -> Self {
        Self {
            capabilities: Capabilities::all().with_host_ports(false),
            clock: Duration::ZERO,
            last_nanos: 0,
            next_id: 0,
            containers: BTreeMap::new(),
            images: BTreeMap::new(),
            builds: Vec::new(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            events: VecDeque::new(),
            events_base: 0,
            faults: BTreeMap::new(),
            exec_scripts: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Default)]
struct Volume {
    labels: BTreeMap<String, String>,
    files: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Container {
    spec: ContainerSpec,
    state: ContainerState,
    /// The script it runs, and where it is; `None`: it runs until stopped.
    run: Option<Run>,
    /// When (on the virtual clock) its sleep ends, while it sleeps.
    wakes_at: Option<Duration>,
    /// When (on the virtual clock) it last started.
    started_at: Duration,
    /// An `always` restart waiting for the clock to move.
    restart_pending: bool,
    /// Whether it ever ran (a failed first start removes it).
    ran: bool,
    logs: VecDeque<(LogLine, i64)>,
    /// Lines dropped from the front of `logs`.
    logs_dropped: usize,
    /// A piece of a line printed without its line break.
    partial: [String; 2],
    files: BTreeMap<String, String>,
    stats: Option<ContainerStats>,
}

fn unix_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A stable 64-bit digest (FNV-1a) of the parts, for image ids.
fn digest(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("memory:{hash:016x}")
}

impl MemoryBackend {
    /// An empty engine: no images, containers, networks or volumes; every capability
    /// but host ports.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `image` present, as if pulled (not Kyozo's: [`list_images`] leaves it out).
    ///
    /// [`list_images`]: ContainerBackend::list_images
    #[must_use]
    pub fn with_image(self, image: impl Into<String>) -> Self {
        self.add_image(image);
        self
    }

    /// With these capabilities instead (to test how a program copes with a backend
    /// that cannot do something). Host ports are never really published.
    #[must_use]
    pub fn with_capabilities(self, capabilities: Capabilities) -> Self {
        self.world().capabilities = capabilities;
        self
    }

    /// Makes `image` present, as if pulled.
    pub fn add_image(&self, image: impl Into<String>) {
        let image = image.into();
        let mut w = self.world();
        if w.find_image(&image).is_none() {
            let info = ImageInfo::new(digest(&["pulled", &image])).with_tag(&image);
            w.images.insert(image, info);
        }
    }

    /// Makes the next call of `call` fail with `error` (each call to this queues one
    /// more failure; the calls after them succeed again).
    pub fn fail_next(&self, call: Call, error: BackendError) {
        self.world()
            .faults
            .entry(call)
            .or_default()
            .push_back(error);
    }

    /// Ends container `id`'s process with `code`, as a crash (or a clean exit, with
    /// 0) on a real engine: a `Died` event, and the container's restart policy applies.
    pub fn exit(&self, id: &str, code: i64) -> Result<(), BackendError> {
        self.change(|w| {
            let c = w.container(id)?;
            if c.state.running {
                let key = c.state.id.clone();
                w.exited(&key, code, false);
            }
            Ok(())
        })
    }

    /// Kills container `id` for memory: an `Oom` event, then it dies with code 137 and
    /// `oom_killed` set (the restart policy applies).
    pub fn oom(&self, id: &str) -> Result<(), BackendError> {
        self.change(|w| {
            let c = w.container(id)?;
            if c.state.running {
                let key = c.state.id.clone();
                w.event(&key, ContainerEventKind::Oom);
                w.exited(&key, 137, true);
            }
            Ok(())
        })
    }

    /// Sets container `id`'s health (`healthy`, `unhealthy`, `starting`; `None`: no
    /// health check), with a `Health` event when it is one.
    pub fn set_health(&self, id: &str, health: Option<&str>) -> Result<(), BackendError> {
        self.change(|w| {
            let c = w.container_mut(id)?;
            c.state.health = health.map(str::to_string);
            let key = c.state.id.clone();
            if let Some(h) = health {
                w.event(&key, ContainerEventKind::Health(h.to_string()));
            }
            Ok(())
        })
    }

    /// Adds a line to container `id`'s log, as if it printed it.
    pub fn push_log(&self, id: &str, line: LogLine) -> Result<(), BackendError> {
        self.change(|w| {
            w.container_mut(id)?.log(line);
            Ok(())
        })
    }

    /// What [`stats`](ContainerBackend::stats) reports for container `id` from now on.
    pub fn set_stats(&self, id: &str, stats: ContainerStats) -> Result<(), BackendError> {
        self.world().container_mut(id)?.stats = Some(stats);
        Ok(())
    }

    /// What an exec of exactly `argv` answers, in any running container.
    pub fn script_exec(&self, argv: Vec<String>, output: ExecOutput) {
        self.world().exec_scripts.insert(argv, output);
    }

    /// Every image build asked for, in order (failed ones too).
    pub fn builds(&self) -> Vec<BuildSpec> {
        self.world().builds.clone()
    }

    /// Moves the virtual clock on by `by`: sleeping scripts whose sleep ends go on (in
    /// the order their sleeps end), and `always` restarts held back run.
    pub fn advance(&self, by: Duration) {
        self.change(|w| w.advance_to(w.clock.saturating_add(by)));
    }

    /// The virtual clock: how much time the backend let pass.
    pub fn clock(&self) -> Duration {
        self.world().clock
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.shared
            .world
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn changed(&self) {
        self.shared.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Runs `f` on the world, then wakes the waits, follows and event streams (which
    /// look again at what changed, if anything did).
    fn change<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let out = f(&mut self.world());
        self.changed();
        out
    }

    /// The queued failure of `call`, if any.
    fn fault(&self, call: Call) -> Result<(), BackendError> {
        match self
            .world()
            .faults
            .get_mut(&call)
            .and_then(VecDeque::pop_front)
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Container {
    fn log(&mut self, line: LogLine) {
        self.logs.push_back((line, unix_nanos() / 1_000_000_000));
        if self.logs.len() > LOG_LINES_KEPT {
            self.logs.pop_front();
            self.logs_dropped += 1;
        }
    }
}

/// A container's output and files, as its script sees them.
struct ContainerIo<'a> {
    container: &'a mut Container,
    volumes: &'a mut BTreeMap<String, Volume>,
}

impl ContainerIo<'_> {
    /// The volume holding `path` and the path inside it, if a volume is mounted there.
    fn volume_path(&self, path: &str) -> Option<(String, String)> {
        self.container.spec.volumes.iter().find_map(|m| {
            let base = m.path.trim_end_matches('/');
            let rest = path.strip_prefix(base)?;
            (rest.is_empty() || rest.starts_with('/')).then(|| (m.volume.clone(), rest.to_string()))
        })
    }
}

impl shell::Io for ContainerIo<'_> {
    fn print(&mut self, stderr: bool, text: &str, newline: bool) {
        let partial = &mut self.container.partial[usize::from(stderr)];
        partial.push_str(text);
        if newline {
            let text = std::mem::take(partial);
            self.container.log(LogLine::new(stderr, text));
        }
    }

    fn read(&self, path: &str) -> Option<String> {
        match self.volume_path(path) {
            Some((volume, inner)) => self.volumes.get(&volume)?.files.get(&inner).cloned(),
            None => self.container.files.get(path).cloned(),
        }
    }

    fn write(&mut self, path: &str, text: &str, append: bool) {
        let file = match self.volume_path(path) {
            Some((volume, inner)) => self
                .volumes
                .entry(volume)
                .or_default()
                .files
                .entry(inner)
                .or_default(),
            None => self.container.files.entry(path.to_string()).or_default(),
        };
        if !append {
            file.clear();
        }
        file.push_str(text);
    }
}

/// An exec's output and the files it sees (read-only but for its own writes).
struct ExecIo<'a> {
    inner: ContainerIo<'a>,
    output: String,
}

impl shell::Io for ExecIo<'_> {
    fn print(&mut self, _stderr: bool, text: &str, newline: bool) {
        self.output.push_str(text);
        if newline {
            self.output.push('\n');
        }
    }

    fn read(&self, path: &str) -> Option<String> {
        self.inner.read(path)
    }

    fn write(&mut self, path: &str, text: &str, append: bool) {
        self.inner.write(path, text, append);
    }
}

/// The script of a command: `sh -c SCRIPT` (or `/bin/sh -c`), or the words of any other
/// command as one line of script.
fn script_of(argv: &[String]) -> String {
    match argv {
        [sh, c, script, ..] if (sh == "sh" || sh.ends_with("/sh")) && c == "-c" => script.clone(),
        words => words.join(" "),
    }
}

impl World {
    fn now_nanos(&mut self) -> i64 {
        self.last_nanos = unix_nanos().max(self.last_nanos.saturating_add(1));
        self.last_nanos
    }

    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:012x}", self.next_id)
    }

    /// A container by id or name.
    fn container(&self, id: &str) -> Result<&Container, BackendError> {
        self.containers
            .get(id)
            .or_else(|| self.containers.values().find(|c| c.state.name == id))
            .ok_or_else(|| BackendError::not_found("container", id))
    }

    /// A container by id or name, to change.
    fn container_mut(&mut self, id: &str) -> Result<&mut Container, BackendError> {
        let key = self.key(id)?;
        self.containers
            .get_mut(&key)
            .ok_or_else(|| BackendError::not_found("container", id))
    }

    /// The key (the engine's id) of a container by id or name.
    fn key(&self, id: &str) -> Result<String, BackendError> {
        self.container(id).map(|c| c.state.id.clone())
    }

    /// The key of an image by tag or id.
    fn find_image(&self, image: &str) -> Option<String> {
        if self.images.contains_key(image) {
            return Some(image.to_string());
        }
        self.images
            .iter()
            .find(|(_, i)| i.id == image || i.tags.iter().any(|t| t == image))
            .map(|(k, _)| k.clone())
    }

    fn event(&mut self, key: &str, kind: ContainerEventKind) {
        let labels = self
            .containers
            .get(key)
            .map(|c| c.state.labels.clone())
            .unwrap_or_default();
        let time = self.now_nanos();
        self.events
            .push_back(ContainerEvent::new(key, kind, time).with_labels(labels));
        if self.events.len() > EVENTS_KEPT {
            self.events.pop_front();
            self.events_base += 1;
        }
    }

    /// Starts (or restarts) a container's process: its script from the top.
    fn run(&mut self, key: &str) {
        let clock = self.clock;
        let Some(c) = self.containers.get_mut(key) else {
            return;
        };
        c.state = c.state.clone().with_running(true).with_exit_code(None);
        c.state.oom_killed = false;
        c.ran = true;
        c.started_at = clock;
        c.wakes_at = None;
        c.restart_pending = false;
        c.run = c
            .spec
            .command
            .as_ref()
            .map(|argv| Run::new(shell::parse(&script_of(argv))));
        self.event(key, ContainerEventKind::Started);
        self.go_on(key);
    }

    /// Runs a container's script until it sleeps, ends or runs something forever.
    fn go_on(&mut self, key: &str) {
        let clock = self.clock;
        let Some(c) = self.containers.get_mut(key) else {
            return;
        };
        let Some(mut run) = c.run.take() else { return };
        let stop = run.resume(
            &mut ContainerIo {
                container: c,
                volumes: &mut self.volumes,
            },
            None,
        );
        c.run = Some(run);
        match stop {
            Stop::Sleeping(d) => c.wakes_at = Some(clock.saturating_add(d)),
            Stop::Forever => c.wakes_at = None,
            Stop::Exited(code) => {
                c.wakes_at = None;
                self.exited(key, code, false);
            }
        }
    }

    /// A container's process ended on its own (not stopped by a caller): the event,
    /// and its restart policy.
    fn exited(&mut self, key: &str, code: i64, oom: bool) {
        let clock = self.clock;
        let Some(c) = self.containers.get_mut(key) else {
            return;
        };
        c.state = c
            .state
            .clone()
            .with_running(false)
            .with_exit_code(Some(code));
        c.state.oom_killed = oom;
        c.wakes_at = None;
        let restart = match c.spec.restart {
            RestartPolicy::OnFailure { max_retries } => {
                code != 0 && c.state.restart_count < i64::from(max_retries)
            }
            RestartPolicy::Always => true,
            _ => false,
        };
        // An `always` container that ends again at the instant it started waits for
        // the clock to move (a real engine backs off) instead of looping here.
        let hold = matches!(c.spec.restart, RestartPolicy::Always) && c.started_at == clock;
        self.event(
            key,
            ContainerEventKind::Died {
                exit_code: Some(code),
            },
        );
        if restart && hold {
            if let Some(c) = self.containers.get_mut(key) {
                c.restart_pending = true;
                c.state.status = "restarting".into();
            }
        } else if restart {
            if let Some(c) = self.containers.get_mut(key) {
                c.state.restart_count += 1;
            }
            self.run(key);
        }
    }

    /// Stops a running container on request (no restart policy applies).
    fn halt(&mut self, key: &str, code: i64) {
        let Some(c) = self.containers.get_mut(key) else {
            return;
        };
        if std::mem::take(&mut c.restart_pending) {
            // Stopped between two runs: it stays down with the code it last died with.
            c.state.status = "exited".into();
        }
        if !c.state.running {
            return;
        }
        c.state = c
            .state
            .clone()
            .with_running(false)
            .with_exit_code(Some(code));
        c.wakes_at = None;
        self.event(
            key,
            ContainerEventKind::Died {
                exit_code: Some(code),
            },
        );
    }

    /// Moves the clock to `to`, waking sleepers in the order their sleeps end.
    fn advance_to(&mut self, to: Duration) {
        loop {
            let next = self
                .containers
                .iter()
                .filter(|(_, c)| c.state.running)
                .filter_map(|(k, c)| c.wakes_at.filter(|t| *t <= to).map(|t| (t, k.clone())))
                .min();
            let Some((t, key)) = next else { break };
            self.clock = self.clock.max(t);
            if let Some(c) = self.containers.get_mut(&key) {
                c.wakes_at = None;
            }
            self.go_on(&key);
        }
        self.clock = self.clock.max(to);
        let pending: Vec<String> = self
            .containers
            .iter()
            .filter(|(_, c)| c.restart_pending)
            .map(|(k, _)| k.clone())
            .collect();
        for key in pending {
            if let Some(c) = self.containers.get_mut(&key) {
                c.state.restart_count += 1;
            }
            self.run(&key);
        }
    }

    fn remove(&mut self, key: &str) {
        self.halt(key, 137);
        self.event(key, ContainerEventKind::Destroyed);
        self.containers.remove(key);
    }
}

/// Whether `labels` carry every label of `wanted`, and Kyozo's.
fn matches(labels: &BTreeMap<String, String>, wanted: &BTreeMap<String, String>) -> bool {
    labels.get(LABEL_MANAGED_BY).map(String::as_str) == Some("kyozo")
        && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn with_kyozo(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all = labels.clone();
    all.insert(LABEL_MANAGED_BY.into(), "kyozo".into());
    all
}

#[async_trait::async_trait]
impl ContainerBackend for MemoryBackend {
    async fn info(&self) -> Result<BackendInfo, BackendError> {
        self.fault(Call::Info)?;
        Ok(BackendInfo::new(
            concat!("Kyozo in-memory backend ", env!("CARGO_PKG_VERSION")),
            "memory",
            format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        ))
    }

    fn capabilities(&self) -> Capabilities {
        self.world().capabilities
    }

    async fn build_image(
        &self,
        spec: &BuildSpec,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<String, BackendError> {
        self.world().builds.push(spec.clone());
        self.fault(Call::BuildImage)?;
        let args: Vec<String> = spec.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let labels: Vec<String> = spec
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let id = digest(&[
            "built",
            &spec.context.display().to_string(),
            &spec.dockerfile,
            spec.dockerfile_contents.as_deref().unwrap_or(""),
            &args.join("\n"),
            &labels.join("\n"),
        ]);
        progress(BuildProgress::Output(format!(
            "recorded the build of {} from {} (in memory: no step runs)",
            spec.tag,
            spec.context.display()
        )));
        progress(BuildProgress::Built(id.clone()));
        let mut w = self.world();
        // The tag moves to the new image, as on an engine.
        for image in w.images.values_mut() {
            image.tags.retain(|t| t != &spec.tag);
        }
        w.images.retain(|_, i| !i.tags.is_empty() || i.id == id);
        let created = unix_nanos() / 1_000_000_000;
        let image = w.images.entry(id.clone()).or_insert_with(|| {
            ImageInfo::new(&id)
                .with_labels(with_kyozo(&spec.labels))
                .with_created(created)
        });
        if !spec.tag.is_empty() {
            image.tags.push(spec.tag.clone());
        }
        Ok(id)
    }

    async fn remove_image(&self, image: &str) -> Result<(), BackendError> {
        self.fault(Call::RemoveImage)?;
        let mut w = self.world();
        let Some(key) = w.find_image(image) else {
            return Ok(());
        };
        let Some(found) = w.images.get_mut(&key) else {
            return Ok(());
        };
        // By tag: the tag goes, and the image with its last tag; by id: the image.
        if found.id != image && found.tags.len() > 1 {
            found.tags.retain(|t| t != image);
            return Ok(());
        }
        let (id, tags) = (found.id.clone(), found.tags.clone());
        // As on an engine, not while a container (running or not) uses it.
        if let Some(user) = w
            .containers
            .values()
            .find(|c| c.spec.image == id || tags.contains(&c.spec.image))
        {
            return Err(BackendError::conflict(format!(
                "unable to remove {image}: container {} is using it",
                user.state.id
            )));
        }
        w.images.remove(&key);
        Ok(())
    }

    async fn list_images(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, BackendError> {
        self.fault(Call::ListImages)?;
        Ok(self
            .world()
            .images
            .values()
            .filter(|i| matches(&i.labels, labels))
            .cloned()
            .collect())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, BackendError> {
        self.fault(Call::Create)?;
        let mut w = self.world();
        if let Some((key, existing)) = w.containers.iter().find(|(_, c)| c.state.name == spec.name)
        {
            return if existing.state.image == spec.image {
                Ok(key.clone())
            } else {
                Err(BackendError::conflict(format!(
                    "the container name {} is already in use by container {key}",
                    spec.name
                )))
            };
        }
        if w.find_image(&spec.image).is_none() {
            return Err(BackendError::pull(
                &spec.image,
                "the in-memory backend has no registry: add the image with MemoryBackend::add_image",
            ));
        }
        if let Some(network) = &spec.network
            && !w.networks.contains_key(network)
        {
            return Err(BackendError::not_found("network", network));
        }
        for m in &spec.volumes {
            w.volumes.entry(m.volume.clone()).or_default();
        }
        let id = w.new_id("memory-");
        let state =
            ContainerState::new(&id, &spec.name, &spec.image).with_labels(with_kyozo(&spec.labels));
        w.containers.insert(
            id.clone(),
            Container {
                spec: spec.clone(),
                state,
                run: None,
                wakes_at: None,
                started_at: Duration::ZERO,
                restart_pending: false,
                ran: false,
                logs: VecDeque::new(),
                logs_dropped: 0,
                partial: Default::default(),
                files: BTreeMap::new(),
                stats: None,
            },
        );
        w.event(&id, ContainerEventKind::Created);
        drop(w);
        self.changed();
        Ok(id)
    }

    async fn start(&self, id: &str) -> Result<(), BackendError> {
        let fault = self.fault(Call::Start);
        self.change(|w| {
            let c = w.container(id)?;
            let key = c.state.id.clone();
            if let Err(e) = fault {
                // The contract: a first start that fails leaves nothing behind.
                if !c.ran {
                    w.remove(&key);
                }
                return Err(e);
            }
            if !c.state.running {
                w.run(&key);
            }
            Ok(())
        })
    }

    async fn stop(&self, id: &str, _grace: Duration) -> Result<(), BackendError> {
        self.fault(Call::Stop)?;
        self.change(|w| {
            if let Ok(key) = w.key(id) {
                w.halt(&key, 143);
            }
        });
        Ok(())
    }

    async fn kill(&self, id: &str) -> Result<(), BackendError> {
        self.fault(Call::Kill)?;
        self.change(|w| {
            if let Ok(key) = w.key(id) {
                w.halt(&key, 137);
            }
        });
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), BackendError> {
        self.fault(Call::Remove)?;
        self.change(|w| {
            if let Ok(key) = w.key(id) {
                w.remove(&key);
            }
        });
        Ok(())
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, BackendError> {
        self.fault(Call::Inspect)?;
        Ok(self.world().container(id)?.state.clone())
    }

    async fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerState>, BackendError> {
        self.fault(Call::List)?;
        Ok(self
            .world()
            .containers
            .values()
            .filter(|c| matches(&c.state.labels, labels))
            .map(|c| c.state.clone())
            .collect())
    }

    fn logs(
        &self,
        id: &str,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine, BackendError>> {
        if let Err(e) = self.fault(Call::Logs) {
            return stream::once(async move { Err(e) }).boxed();
        }
        let w = self.world();
        let c = match w.container(id) {
            Ok(c) => c,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        let key = c.state.id.clone();
        let since = options.since.unwrap_or(i64::MIN);
        let mut first: Vec<LogLine> = c
            .logs
            .iter()
            .filter(|(_, t)| *t >= since)
            .map(|(l, _)| l.clone())
            .collect();
        if let Some(n) = options.tail {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            first.drain(..first.len().saturating_sub(n));
        }
        let next = c.logs_dropped + c.logs.len();
        drop(w);
        let head = stream::iter(first.into_iter().map(Ok));
        if !options.follow {
            return head.boxed();
        }
        // Following: the lines printed from now on, until the container stops.
        let me = self.clone();
        let changes = self.shared.changes.subscribe();
        let tail = stream::unfold(
            (me, key, next, changes, VecDeque::new()),
            |(me, key, mut next, mut changes, mut ready)| async move {
                loop {
                    if let Some(line) = ready.pop_front() {
                        return Some((Ok(line), (me, key, next, changes, ready)));
                    }
                    {
                        let w = me.world();
                        let c = w.containers.get(&key)?;
                        let start = next.saturating_sub(c.logs_dropped);
                        ready.extend(c.logs.iter().skip(start).map(|(l, _)| l.clone()));
                        next = c.logs_dropped + c.logs.len();
                        if ready.is_empty() && !c.state.running {
                            return None;
                        }
                    }
                    if ready.is_empty() && changes.changed().await.is_err() {
                        return None;
                    }
                }
            },
        );
        head.chain(tail).boxed()
    }

    async fn stats(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, ContainerStats>, BackendError> {
        self.fault(Call::Stats)?;
        let w = self.world();
        let mut out = BTreeMap::new();
        for id in ids {
            let Ok(c) = w.container(id) else { continue };
            let stats = c.stats.unwrap_or_else(|| {
                let limit = c
                    .spec
                    .memory_bytes
                    .and_then(|m| u64::try_from(m).ok())
                    .unwrap_or(1 << 30);
                if c.state.running {
                    ContainerStats::default()
                        .with_memory(SYNTHETIC_MEMORY.min(limit), limit)
                        .with_cpu_times(0, 0, 1)
                } else {
                    ContainerStats::default()
                }
            });
            out.insert(id.clone(), stats);
        }
        Ok(out)
    }

    fn events(
        &self,
        since_nanos: Option<i64>,
    ) -> BoxStream<'static, Result<ContainerEvent, BackendError>> {
        if let Err(e) = self.fault(Call::Events) {
            return stream::once(async move { Err(e) }).boxed();
        }
        let me = self.clone();
        let changes = self.shared.changes.subscribe();
        let since = since_nanos.unwrap_or_else(unix_nanos);
        let next = {
            let w = self.world();
            if since_nanos.is_some() {
                w.events_base
            } else {
                w.events_base + w.events.len()
            }
        };
        stream::unfold(
            (me, next, changes),
            move |(me, mut next, mut changes)| async move {
                loop {
                    let found = {
                        let w = me.world();
                        next = next.max(w.events_base);
                        let mut found = None;
                        while let Some(e) = w.events.get(next - w.events_base) {
                            next += 1;
                            if e.time_nanos >= since && matches(&e.labels, &BTreeMap::new()) {
                                found = Some(e.clone());
                                break;
                            }
                        }
                        found
                    };
                    if let Some(e) = found {
                        return Some((Ok(e), (me, next, changes)));
                    }
                    if changes.changed().await.is_err() {
                        return None;
                    }
                }
            },
        )
        .boxed()
    }

    async fn wait(&self, id: &str) -> Result<i64, BackendError> {
        self.fault(Call::Wait)?;
        let mut changes = self.shared.changes.subscribe();
        loop {
            {
                let mut w = self.world();
                let c = w.container(id)?;
                if !c.state.running {
                    return Ok(c.state.exit_code.unwrap_or(0));
                }
                // Waiting lets virtual time pass until the container's sleep ends.
                if let Some(t) = c.wakes_at {
                    w.advance_to(t);
                    drop(w);
                    self.changed();
                    continue;
                }
            }
            if changes.changed().await.is_err() {
                return Err(BackendError::engine(format!("waiting for {id}: no answer")));
            }
        }
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, BackendError> {
        self.fault(Call::CreateNetwork)?;
        let mut w = self.world();
        if let Some(existing) = w.networks.get(name) {
            return Ok(existing.id.clone());
        }
        let id = w.new_id("network-");
        w.networks.insert(
            name.to_string(),
            NetworkInfo::new(&id, name).with_labels(with_kyozo(labels)),
        );
        Ok(id)
    }

    async fn remove_network(&self, name: &str) -> Result<(), BackendError> {
        self.fault(Call::RemoveNetwork)?;
        let mut w = self.world();
        let in_use = w
            .containers
            .values()
            .any(|c| c.state.running && c.spec.network.as_deref() == Some(name));
        if in_use {
            return Err(BackendError::conflict(format!(
                "network {name} has active endpoints"
            )));
        }
        w.networks.remove(name);
        Ok(())
    }

    async fn list_networks(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<NetworkInfo>, BackendError> {
        self.fault(Call::ListNetworks)?;
        Ok(self
            .world()
            .networks
            .values()
            .filter(|n| matches(&n.labels, labels))
            .cloned()
            .collect())
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), BackendError> {
        self.fault(Call::CreateVolume)?;
        let mut w = self.world();
        let volume = w.volumes.entry(name.to_string()).or_default();
        if volume.labels.is_empty() {
            volume.labels = with_kyozo(labels);
        }
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<(), BackendError> {
        self.fault(Call::RemoveVolume)?;
        let mut w = self.world();
        let in_use = w
            .containers
            .values()
            .any(|c| c.spec.volumes.iter().any(|m| m.volume == name));
        if in_use {
            return Err(BackendError::conflict(format!("volume {name} is in use")));
        }
        w.volumes.remove(name);
        Ok(())
    }

    async fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>, BackendError> {
        self.fault(Call::ListVolumes)?;
        Ok(self
            .world()
            .volumes
            .iter()
            .filter(|(_, v)| matches(&v.labels, labels))
            .map(|(name, v)| VolumeInfo::new(name).with_labels(v.labels.clone()))
            .collect())
    }

    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        self.fault(Call::Exec)?;
        let mut w = self.world();
        let key = w.key(id)?;
        if !w.containers.get(&key).is_some_and(|c| c.state.running) {
            return Err(BackendError::conflict(format!(
                "container {id} is not running"
            )));
        }
        if let Some(out) = w.exec_scripts.get(argv) {
            return Ok(out.clone());
        }
        let World {
            containers,
            volumes,
            ..
        } = &mut *w;
        let Some(container) = containers.get_mut(&key) else {
            return Err(BackendError::not_found("container", id));
        };
        let mut io = ExecIo {
            inner: ContainerIo { container, volumes },
            output: String::new(),
        };
        let mut run = Run::new(shell::parse(&script_of(argv)));
        let mut slept = Duration::ZERO;
        let code = loop {
            match run.resume(&mut io, Some(127)) {
                Stop::Exited(code) => break code,
                Stop::Sleeping(d) if slept.saturating_add(d) <= timeout => {
                    slept = slept.saturating_add(d);
                }
                Stop::Sleeping(_) | Stop::Forever => {
                    return Err(BackendError::Timeout {
                        what: format!("`{}` in container {id}", argv.join(" ")),
                        seconds: timeout.as_secs(),
                    });
                }
            }
        };
        let mut output = io.output;
        if output.len() > EXEC_OUTPUT_LIMIT {
            let mut cut = output.len() - EXEC_OUTPUT_LIMIT;
            while !output.is_char_boundary(cut) {
                cut += 1;
            }
            output.drain(..cut);
        }
        Ok(ExecOutput::new(code, output))
    }
}
