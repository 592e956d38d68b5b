//! WASM detector plugins: detectors compiled to WebAssembly components, loaded at run
//! time and run in a sandbox.
//!
//! A plugin implements the interface `kyozo:detector` (`detectors/wit/`). It sees the
//! project it is shown and nothing else: the files of the engine's own walk (ignore
//! rules applied, nothing outside the root), read-only, through two host functions; no
//! WASI file system, environment, network or clock. Every call runs in a fresh
//! instance with a memory cap and a deadline, and the host functions have budgets of
//! their own (an epoch deadline does not interrupt host code). What a plugin returns
//! is checked (confidence in [0, 1], sizes, paths, evidence naming only files the call
//! handed it) before it joins the built-in detectors' findings in the same merge,
//! marked `plugin:<id>`, where it never overrides a value a built-in set unless the
//! user trusts the plugin ([`TopologyEngine::with_trusted_plugin`](super::TopologyEngine::with_trusted_plugin)).
//!
//! ```no_run
//! use kyozo::topology::{TopologyEngine, wasm::PluginHost};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = PluginHost::shared()?;
//! let hugo = host.load("hugo.wasm")?;
//! let topology = TopologyEngine::new().with_detector(std::sync::Arc::new(hugo)).analyze(".")?;
//! # Ok(()) }
//! ```
//!
//! Limits, budgets and what each hostile behaviour ends in are listed in
//! `docs/plugins.md`.
//!
//! The host keeps a module per interface version it runs (`v0_1_0`: the bindings of
//! `detectors/wit/v0.1.0`, its imports and its calls); everything else here (limits,
//! budgets, the cache, the checks of results) is the same for every version.

mod artifact;
mod call;
#[doc(hidden)]
pub mod fuzzing;
mod select;
mod stdio;
mod v0_1_0;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Engine, EngineWeak, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::{Detection, Detector, DetectorError, ProjectView};
use call::CallState;

pub use artifact::SUPPORTED_INTERFACES;

/// The largest component the host accepts, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// How often the epoch ticks while a plugin runs; deadlines are counted in ticks.
const TICK: Duration = Duration::from_millis(5);

/// What one plugin call may use. The defaults suit real detectors with a wide margin;
/// see `docs/plugins.md`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PluginLimits {
    /// Wall-clock time for one call (loading's `metadata`, or one `detect`).
    pub deadline: Duration,
    /// Linear memory of the plugin, in bytes.
    pub memory_bytes: usize,
    /// Files read per call.
    pub max_reads: u32,
    /// Bytes of one file a plugin may read (the view's own cap applies too).
    pub max_file_bytes: u64,
    /// Bytes read per call, all files together.
    pub max_read_bytes: u64,
    /// `list-files` calls per call.
    pub max_lists: u32,
    /// Paths one `list-files` returns at most (the plugin's own limit applies too).
    pub max_list_results: u32,
    /// Paths examined by all `list-files` calls of one call together.
    pub max_paths_examined: u64,
    /// Host calls refused for a spent budget before the plugin is stopped.
    pub max_refused_calls: u32,
    /// Log lines kept per call (more are counted, not kept).
    pub max_log_lines: usize,
    /// Bytes of one log line kept.
    pub max_log_line_bytes: usize,
    /// Bytes of stdout and of stderr kept per call; what is written past them is
    /// dropped and counted in the log (the write still succeeds).
    pub max_stdio_bytes: usize,
    /// Detections one call may return.
    pub max_detections: usize,
    /// Entries of one list of a detection (evidence, ports, env, backing services).
    pub max_list_entries: usize,
    /// Bytes of any one string of a result.
    pub max_string_bytes: usize,
    /// Bytes of a whole result.
    pub max_result_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            max_reads: 1024,
            max_file_bytes: 1 << 20,
            max_read_bytes: 32 << 20,
            max_lists: 256,
            max_list_results: 10_000,
            max_paths_examined: 2_000_000,
            max_refused_calls: 1000,
            max_log_lines: 100,
            max_log_line_bytes: 1024,
            max_stdio_bytes: 64 << 10,
            max_detections: 1000,
            max_list_entries: 256,
            max_string_bytes: 16 << 10,
            max_result_bytes: 4 << 20,
        }
    }
}

/// How a [`PluginHost`] is set up.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PluginConfig {
    /// What each call may use.
    pub limits: PluginLimits,
    /// Where compiled plugins are cached (`None`: compile on every load). The default
    /// is `$XDG_CACHE_HOME/kyozo/plugins` or `~/.cache/kyozo/plugins`.
    pub cache_dir: Option<PathBuf>,
    /// Plugin calls that may run at once (instances in the pool); one more is refused
    /// with [`PluginError::Busy`].
    pub max_concurrent_calls: u32,
}

impl Default for PluginConfig {
    fn default() -> Self {
        let cache_dir = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("kyozo").join("plugins"));
        Self {
            limits: PluginLimits::default(),
            cache_dir,
            max_concurrent_calls: 32,
        }
    }
}

/// Where a plugin comes from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PluginSource {
    /// A `.wasm` component file.
    Path(PathBuf),
    /// A component's bytes, with a name for messages.
    Bytes {
        /// Shown in errors until the plugin's metadata is known.
        name: String,
        /// The component.
        bytes: Arc<[u8]>,
    },
}

impl PluginSource {
    /// A component given as bytes, named `name` in messages.
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        PluginSource::Bytes {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// How messages name it: its path, or the name given with its bytes.
    pub fn name(&self) -> String {
        match self {
            PluginSource::Path(p) => p.display().to_string(),
            PluginSource::Bytes { name, .. } => name.clone(),
        }
    }
}

impl From<&Path> for PluginSource {
    fn from(p: &Path) -> Self {
        PluginSource::Path(p.to_path_buf())
    }
}

impl From<PathBuf> for PluginSource {
    fn from(p: PathBuf) -> Self {
        PluginSource::Path(p)
    }
}

impl From<&str> for PluginSource {
    fn from(p: &str) -> Self {
        PluginSource::Path(PathBuf::from(p))
    }
}

/// A plugin could not be loaded, or one call of it failed. Every variant names the
/// plugin; none stops the host, which keeps serving other plugins and calls.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The component file could not be read.
    #[error("cannot read plugin {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// The component is larger than [`MAX_COMPONENT_BYTES`].
    #[error("plugin {plugin} is {size} bytes, larger than the {cap}-byte cap for a component")]
    TooLarge {
        /// The plugin.
        plugin: String,
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// Not a valid WebAssembly component (corrupted, truncated, a core module...).
    #[error("plugin {plugin} is not a valid WebAssembly component: {reason}")]
    Invalid {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// A valid component that does not implement `kyozo:detector`.
    #[error("plugin {plugin} is not a Kyozo detector: {reason}")]
    NotADetector {
        /// The plugin.
        plugin: String,
        /// What is missing.
        reason: String,
    },
    /// A detector built against an interface version this host does not support.
    #[error(
        "plugin {plugin} implements kyozo:detector@{found}, which this host does not support (it supports {supported}); rebuild the plugin with an SDK for one of those versions"
    )]
    UnsupportedInterface {
        /// The plugin.
        plugin: String,
        /// The version it declares.
        found: String,
        /// The versions this host supports, comma-separated.
        supported: String,
    },
    /// The plugin's metadata is unusable (an id that is not a short lower-case name...).
    #[error("plugin {plugin} has invalid metadata: {reason}")]
    InvalidMetadata {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// The call ran past its deadline and was stopped.
    #[error("plugin {plugin} ran past its deadline of {limit_ms} ms and was stopped")]
    Deadline {
        /// The plugin.
        plugin: String,
        /// The deadline.
        limit_ms: u64,
    },
    /// The plugin's memories together would pass the cap; it was stopped.
    #[error("plugin {plugin} asked for more than its {limit} bytes of memory and was stopped")]
    Memory {
        /// The plugin.
        plugin: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The plugin kept calling the host after a budget was spent and was stopped.
    #[error(
        "plugin {plugin} kept calling the host after spending its budget of {budget} and was stopped"
    )]
    Budget {
        /// The plugin.
        plugin: String,
        /// Which budget (`reads`, `bytes read`, `file listings`...).
        budget: String,
    },
    /// The plugin trapped (a panic, an `unreachable`, a stack overflow, a denied
    /// import).
    #[error("plugin {plugin} crashed: {message}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The trap, and the plugin's last stderr line if it printed one (a panic
        /// message).
        message: String,
    },
    /// The plugin returned an error itself.
    #[error("plugin {plugin} failed: {message}")]
    Failed {
        /// The plugin.
        plugin: String,
        /// Its message (truncated).
        message: String,
    },
    /// The result breaks the interface's rules (confidence NaN or out of [0, 1], a
    /// path out of the project, an empty language...).
    #[error("plugin {plugin} returned an invalid result: {reason}")]
    InvalidResult {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// The result is larger than the limits allow.
    #[error("plugin {plugin} returned too much: {reason}")]
    OversizedResult {
        /// The plugin.
        plugin: String,
        /// Which limit.
        reason: String,
    },
    /// Every instance slot is taken by calls in progress.
    #[error("too many plugin calls at once (at most {limit}); try again when one ends")]
    Busy {
        /// The number of slots.
        limit: u32,
    },
    /// The host could not be set up (the machine refused the memory reservation...).
    #[error("cannot set up the plugin host: {reason}")]
    Host {
        /// Why.
        reason: String,
    },
    /// Two plugins say they have the same id: their detections would be mixed under
    /// one name, so the second is refused.
    #[error(
        "plugin {second} has the id {id:?}, already taken by plugin {first}: load only one of them"
    )]
    DuplicateId {
        /// The id both claim.
        id: String,
        /// The plugin loaded first (its file or name).
        first: String,
        /// The plugin refused (its file or name).
        second: String,
    },
}

impl PluginError {
    /// A stable name of the variant (`trap`, `deadline`, `duplicate-id`...), for
    /// machine-readable output such as `kyozo analyze --json`.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Read { .. } => "read",
            PluginError::TooLarge { .. } => "too-large",
            PluginError::Invalid { .. } => "invalid",
            PluginError::NotADetector { .. } => "not-a-detector",
            PluginError::UnsupportedInterface { .. } => "unsupported-interface",
            PluginError::InvalidMetadata { .. } => "invalid-metadata",
            PluginError::Deadline { .. } => "deadline",
            PluginError::Memory { .. } => "memory",
            PluginError::Budget { .. } => "budget",
            PluginError::Trap { .. } => "trap",
            PluginError::Failed { .. } => "failed",
            PluginError::InvalidResult { .. } => "invalid-result",
            PluginError::OversizedResult { .. } => "oversized-result",
            PluginError::Busy { .. } => "busy",
            PluginError::Host { .. } => "host",
            PluginError::DuplicateId { .. } => "duplicate-id",
        }
    }

    /// The plugin the error is about: its id once its metadata is known, else its
    /// file or name. `None` for errors of the host itself (`Busy`, `Host`), or a file
    /// whose name is not UTF-8.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            PluginError::Read { path, .. } => path.to_str(),
            PluginError::TooLarge { plugin, .. }
            | PluginError::Invalid { plugin, .. }
            | PluginError::NotADetector { plugin, .. }
            | PluginError::UnsupportedInterface { plugin, .. }
            | PluginError::InvalidMetadata { plugin, .. }
            | PluginError::Deadline { plugin, .. }
            | PluginError::Memory { plugin, .. }
            | PluginError::Budget { plugin, .. }
            | PluginError::Trap { plugin, .. }
            | PluginError::Failed { plugin, .. }
            | PluginError::InvalidResult { plugin, .. }
            | PluginError::OversizedResult { plugin, .. } => Some(plugin),
            PluginError::DuplicateId { second, .. } => Some(second),
            PluginError::Busy { .. } | PluginError::Host { .. } => None,
        }
    }
}

/// Reads a component file, at most [`MAX_COMPONENT_BYTES`] of it. Only a regular file
/// is read: a FIFO would block the read until someone writes to it, and a device such
/// as `/dev/zero` never ends. The file is opened without blocking (a FIFO opens at
/// once) and checked through the open handle, so it cannot be swapped in between.
fn read_component(path: &Path, name: &str) -> Result<Vec<u8>, PluginError> {
    use std::io::Read as _;
    let read_error = |reason: String| PluginError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(|e| read_error(e.to_string()))?;
    let meta = file.metadata().map_err(|e| read_error(e.to_string()))?;
    if !meta.is_file() {
        return Err(read_error(
            "not a regular file (a FIFO, a device or a folder); a plugin is a .wasm file"
                .to_string(),
        ));
    }
    let too_large = |size: u64| PluginError::TooLarge {
        plugin: name.to_string(),
        size,
        cap: MAX_COMPONENT_BYTES as u64,
    };
    if meta.len() > MAX_COMPONENT_BYTES as u64 {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_COMPONENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(e.to_string()))?;
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Runs plugins: one shared wasmtime `Engine` (epoch interruption, pooling allocator),
/// its ticker thread, the limits and the compile cache. Cheap to clone; load every
/// plugin of a program through one host.
#[derive(Debug, Clone)]
pub struct PluginHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    engine: Engine,
    config: PluginConfig,
    ticker: Arc<Ticker>,
    /// WASI and the host interface, linked once; each plugin gets a clone.
    linker: Linker<CallState>,
    /// `config.cache_dir` if it is safe to load compiled code from.
    cache_dir: Option<PathBuf>,
}

impl std::fmt::Debug for HostInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Advances the engine's epoch while a call runs, and sleeps otherwise.
#[derive(Debug, Default)]
struct Ticker {
    active: AtomicUsize,
    thread: Mutex<Option<std::thread::Thread>>,
}

/// Holds the ticker awake for one call.
struct Awake<'a>(&'a Ticker);

impl Ticker {
    fn start(self: &Arc<Self>, engine: EngineWeak) -> Result<(), PluginError> {
        let me = Arc::downgrade(self);
        let handle = std::thread::Builder::new()
            .name("kyozo-plugin-epoch".into())
            .spawn(move || {
                loop {
                    let Some(ticker) = me.upgrade() else { return };
                    if ticker.active.load(Ordering::Acquire) == 0 {
                        drop(ticker);
                        std::thread::park_timeout(Duration::from_millis(500));
                        continue;
                    }
                    drop(ticker);
                    std::thread::sleep(TICK);
                    match engine.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => return,
                    }
                }
            })
            .map_err(|e| PluginError::Host {
                reason: format!("cannot start the epoch thread: {e}"),
            })?;
        if let Ok(mut t) = self.thread.lock() {
            *t = Some(handle.thread().clone());
        }
        Ok(())
    }

    fn awake(&self) -> Awake<'_> {
        if self.active.fetch_add(1, Ordering::AcqRel) == 0
            && let Ok(t) = self.thread.lock()
            && let Some(t) = t.as_ref()
        {
            t.unpark();
        }
        Awake(self)
    }
}

impl Drop for Awake<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PluginHost {
    /// A host with `config`.
    pub fn new(config: PluginConfig) -> Result<Self, PluginError> {
        let host_error = |e: wasmtime::Error| PluginError::Host {
            reason: format!("{e:#}"),
        };
        let slots = config.max_concurrent_calls.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 4)
            .total_stacks(slots)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_memory_size(config.limits.memory_bytes);
        let mut wasm = wasmtime::Config::new();
        wasm.epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .max_wasm_stack(512 << 10);
        let engine = Engine::new(&wasm).map_err(host_error)?;
        let mut linker: Linker<CallState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(host_error)?;
        call::deny_clock_waits(&mut linker).map_err(host_error)?;
        v0_1_0::add_to_linker(&mut linker).map_err(host_error)?;
        let ticker = Arc::new(Ticker::default());
        ticker.start(engine.weak())?;
        let cache_dir = config
            .cache_dir
            .as_deref()
            .and_then(artifact::prepare_cache_dir);
        Ok(Self {
            inner: Arc::new(HostInner {
                engine,
                config,
                ticker,
                linker,
                cache_dir,
            }),
        })
    }

    /// The process-wide host with the default configuration, made on first use.
    pub fn shared() -> Result<Self, PluginError> {
        static SHARED: OnceLock<Result<PluginHost, PluginError>> = OnceLock::new();
        SHARED
            .get_or_init(|| PluginHost::new(PluginConfig::default()))
            .clone()
    }

    /// The host's configuration.
    pub fn config(&self) -> &PluginConfig {
        &self.inner.config
    }

    /// Loads a plugin: reads its interface version (refusing versions this host does
    /// not support before compiling anything), compiles it (or takes it from the
    /// cache), links it with nothing but the host interface and a WASI that grants
    /// nothing, and asks it for its metadata.
    pub fn load(&self, source: impl Into<PluginSource>) -> Result<WasmDetector, PluginError> {
        let source = source.into();
        let name = source.name();
        let bytes: Arc<[u8]> = match source {
            PluginSource::Path(path) => read_component(&path, &name)?.into(),
            PluginSource::Bytes { bytes, .. } => bytes,
        };
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(PluginError::TooLarge {
                plugin: name,
                size: bytes.len() as u64,
                cap: MAX_COMPONENT_BYTES as u64,
            });
        }
        let version = artifact::interface_version(&name, &bytes)?;
        let unsupported = |plugin: String, found: String| PluginError::UnsupportedInterface {
            plugin,
            found,
            supported: SUPPORTED_INTERFACES.join(", "),
        };
        if !SUPPORTED_INTERFACES.contains(&version.as_str()) {
            return Err(unsupported(name, version));
        }
        let component = artifact::compile(
            &self.inner.engine,
            self.inner.cache_dir.as_deref(),
            &name,
            &bytes,
        )?;
        let link_error = |e: wasmtime::Error| PluginError::NotADetector {
            plugin: name.clone(),
            reason: format!("{e:#}"),
        };
        let linker = &self.inner.linker;
        // Any import neither the host interface nor WASI provides traps when called.
        // (Only when needed: a trap stub defined under an import's exact name would
        // shadow the semver-compatible WASI version the linker already holds.)
        let pre = match linker.instantiate_pre(&component) {
            Ok(pre) => pre,
            Err(_) => {
                let mut linker = linker.clone();
                linker
                    .define_unknown_imports_as_traps(&component)
                    .map_err(link_error)?;
                linker.instantiate_pre(&component).map_err(link_error)?
            }
        };
        let linked = match version.as_str() {
            v0_1_0::VERSION => Linked::V0_1_0(v0_1_0::Plugin::new(pre).map_err(link_error)?),
            _ => return Err(unsupported(name, version)),
        };
        let mut plugin = WasmDetector {
            host: self.clone(),
            linked,
            id: String::new(),
            name: name.clone(),
            metadata: PluginMetadata::default(),
            interest: OnceLock::new(),
            globs: Arc::default(),
        };
        let (metadata, _log, _) = plugin.call(None, Linked::metadata)?;
        plugin.metadata = call::check_metadata(&name, metadata, &version)?;
        plugin.id = format!("plugin:{}", plugin.metadata.id);
        plugin.name = plugin.metadata.id.clone();
        Ok(plugin)
    }
}

/// Who a plugin says it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginMetadata {
    /// Its short id (`hugo`); its detections are marked `plugin:<id>`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its own version.
    pub version: String,
    /// The globs of the files it reads; the host skips it on projects holding none.
    pub interested_in: Vec<String>,
    /// The interface version it implements.
    pub interface_version: String,
}

/// What one `detect` call of a plugin gave: its detections and its log (its `log`
/// calls, then what it wrote to stdout and stderr).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct PluginRun {
    /// The detections, checked and marked `plugin:<id>`.
    pub detections: Vec<Detection>,
    /// The log lines, truncated and capped (a last line counts what was dropped).
    pub log: Vec<String>,
    /// Whether the plugin was skipped because the project holds none of the files it
    /// is interested in.
    pub skipped: bool,
}

/// A linked plugin, by the interface version it implements: one variant per module
/// `v<major>_<minor>_<patch>`.
enum Linked {
    /// `kyozo:detector@0.1.0`.
    V0_1_0(v0_1_0::Plugin),
}

impl Linked {
    fn metadata(&self, store: &mut wasmtime::Store<CallState>) -> wasmtime::Result<PluginMetadata> {
        match self {
            Linked::V0_1_0(p) => p.metadata(store),
        }
    }

    fn detect(
        &self,
        store: &mut wasmtime::Store<CallState>,
    ) -> wasmtime::Result<Result<Vec<v0_1_0::kyozo::detector::types::Detection>, String>> {
        match self {
            Linked::V0_1_0(p) => p.detect(store),
        }
    }
}

/// A loaded plugin: a [`Detector`] like the built-ins. Cheap to share; calls may run
/// concurrently, each in its own instance.
pub struct WasmDetector {
    host: PluginHost,
    linked: Linked,
    id: String,
    name: String,
    metadata: PluginMetadata,
    /// Made on first use: compiling its globs would double the time of a cached load.
    interest: OnceLock<select::Interest>,
    globs: Arc<select::GlobCache>,
}

impl std::fmt::Debug for WasmDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmDetector")
            .field("id", &self.id)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl WasmDetector {
    /// Who the plugin says it is.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    /// Runs the plugin on `view`, with typed errors and its log. [`Detector::detect`]
    /// is this, with the log dropped and the error turned into a partial error of the
    /// view.
    pub fn run(&self, view: &ProjectView) -> Result<PluginRun, PluginError> {
        let interested = self
            .interest
            .get_or_init(|| select::Interest::new(&self.metadata.interested_in))
            .matches(view);
        if !interested {
            return Ok(PluginRun {
                skipped: true,
                ..PluginRun::default()
            });
        }
        let (result, log, handed) = self.call(Some(view.clone()), Linked::detect)?;
        let raw = result.map_err(|message| PluginError::Failed {
            plugin: self.name.clone(),
            message: call::truncate(&message, self.host.inner.config.limits.max_string_bytes),
        })?;
        let detections = call::check_detections(
            &self.name,
            &self.id,
            raw,
            &self.host.inner.config.limits,
            &handed,
        )?;
        Ok(PluginRun {
            detections,
            log,
            skipped: false,
        })
    }

    /// One call (`f` instantiates the plugin and calls one export) in a fresh store
    /// with the limits and the deadline.
    fn call<R>(
        &self,
        view: Option<ProjectView>,
        f: impl FnOnce(&Linked, &mut wasmtime::Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Vec<String>, std::collections::BTreeSet<String>), PluginError> {
        let inner = &self.host.inner;
        let limits = &inner.config.limits;
        let state = CallState::new(view, self.globs.clone(), limits);
        let mut store = wasmtime::Store::new(&inner.engine, state);
        store.limiter(|s| s);
        let ticks = limits.deadline.as_nanos().div_ceil(TICK.as_nanos()) + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        let _awake = inner.ticker.awake();
        let outcome = f(&self.linked, &mut store);
        let log = store.data_mut().take_log();
        let handed = store.data_mut().take_handed();
        match outcome {
            Ok(r) => Ok((r, log, handed)),
            Err(e) => Err(call::classify(
                &self.name,
                e,
                store.data(),
                limits,
                inner.config.max_concurrent_calls,
                &log,
            )),
        }
    }
}

impl Detector for WasmDetector {
    fn id(&self) -> &str {
        &self.id
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        self.run(view)
            .map(|r| r.detections)
            .map_err(|e| DetectorError::new(e.to_string()))
    }
}
