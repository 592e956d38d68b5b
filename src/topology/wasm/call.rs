//! One plugin call: the store's state, the host functions with their budgets, the
//! memory limiter, and the checks of what the plugin returns. Nothing here depends on
//! the interface version but the records [`check_detections`] reads; each version's
//! module (`v0_1_0`) maps its imports and exports onto these.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Trap};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::stdio::CappedPipe;
use super::v0_1_0::kyozo::detector::types;
use super::{PluginError, PluginLimits, PluginMetadata, select};
use crate::topology::{
    Detection, DetectionKind, Evidence, ProjectView, Provenance, ReadError, Sourced,
};

/// Per-instance caps besides memory: a plugin component has a handful of core
/// instances, memories and tables.
const MAX_INSTANCES: usize = 16;
const MAX_TABLES: usize = 16;
const MAX_MEMORIES: usize = 4;
const MAX_TABLE_ELEMENTS: usize = 100_000;
/// WASI resources (streams, pollables) a call may hold at once.
const MAX_RESOURCES: usize = 1024;

/// Why the host stopped a call itself: carried as the trap's error and recognised by
/// [`classify`], so a stop is never confused with an unrelated trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The plugin kept calling the host after a budget was spent.
    Budget(Spent),
    /// The plugin's memories together would pass the cap.
    Memory,
    /// The plugin tried to wait on a clock (`sleep`): plugins get no time.
    Clock,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Budget(spent) => write!(f, "host budget spent: {spent:?}"),
            Stop::Memory => f.write_str("memory cap reached"),
            Stop::Clock => f.write_str("waiting on a clock is not granted to plugins"),
        }
    }
}

impl std::error::Error for Stop {}

/// A budget a plugin kept calling the host past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spent {
    Reads,
    BytesRead,
    Listings,
    PathsExamined,
}

impl Spent {
    fn describe(self, limits: &PluginLimits) -> String {
        match self {
            Spent::Reads => format!("{} file reads", limits.max_reads),
            Spent::BytesRead => format!("{} bytes read", limits.max_read_bytes),
            Spent::Listings => format!("{} file listings", limits.max_lists),
            Spent::PathsExamined => format!("{} paths examined", limits.max_paths_examined),
        }
    }
}

/// The state of one call's store.
pub(crate) struct CallState {
    view: Option<ProjectView>,
    globs: Arc<select::GlobCache>,
    limits: PluginLimits,
    reads: u32,
    bytes_read: u64,
    lists: u32,
    examined: u64,
    refused: u32,
    /// Bytes of all the plugin's linear memories together.
    memory_total: usize,
    log: Vec<String>,
    log_dropped: u64,
    stdout: CappedPipe,
    stderr: CappedPipe,
    /// The paths this call's `list-files` and `read-file` handed to the plugin: the
    /// only files its evidence may name.
    handed: std::collections::BTreeSet<String>,
    wasi: WasiCtx,
    table: ResourceTable,
}

/// A clock that never moves: plugins need no time, and get none to measure with.
struct Frozen;

impl HostWallClock for Frozen {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for Frozen {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl CallState {
    pub(super) fn new(
        view: Option<ProjectView>,
        globs: Arc<select::GlobCache>,
        limits: &PluginLimits,
    ) -> Self {
        let stdout = CappedPipe::new(limits.max_stdio_bytes);
        let stderr = CappedPipe::new(limits.max_stdio_bytes);
        // Nothing is granted: no preopened folder, no environment, no arguments, no
        // network, frozen clocks; stdin is empty; stdout and stderr are captured.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(Frozen)
            .monotonic_clock(Frozen)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .allow_blocking_current_thread(true)
            .max_random_size(64 << 10)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        Self {
            view,
            globs,
            limits: limits.clone(),
            reads: 0,
            bytes_read: 0,
            lists: 0,
            examined: limits.max_paths_examined,
            refused: 0,
            memory_total: 0,
            log: Vec::new(),
            log_dropped: 0,
            stdout,
            stderr,
            handed: std::collections::BTreeSet::new(),
            wasi,
            table,
        }
    }

    /// The log of the call: `log` lines, then stdout and stderr lines, then a count of
    /// what was dropped.
    pub(super) fn take_log(&mut self) -> Vec<String> {
        let mut log = std::mem::take(&mut self.log);
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = pipe.contents();
            for line in String::from_utf8_lossy(&bytes).lines() {
                if log.len() < self.limits.max_log_lines {
                    log.push(format!(
                        "{stream}: {}",
                        truncate(line, self.limits.max_log_line_bytes)
                    ));
                } else {
                    self.log_dropped += 1;
                }
            }
        }
        if self.log_dropped > 0 {
            log.push(format!("({} more lines dropped)", self.log_dropped));
        }
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let dropped = pipe.dropped();
            if dropped > 0 {
                log.push(format!(
                    "({dropped} bytes of {stream} dropped past the {}-byte cap)",
                    self.limits.max_stdio_bytes
                ));
            }
        }
        log
    }

    /// The paths handed to the plugin during this call.
    pub(super) fn take_handed(&mut self) -> std::collections::BTreeSet<String> {
        std::mem::take(&mut self.handed)
    }

    /// The end of what the plugin wrote to stderr (a panic message), if anything: its
    /// last three lines, without Rust's hint about backtraces.
    fn stderr_tail(&self) -> Option<String> {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        let tail = lines.get(lines.len().saturating_sub(3)..)?.join(" ");
        (!tail.is_empty()).then(|| truncate(&tail, self.limits.max_log_line_bytes))
    }

    /// A host call refused for a spent budget: the plugin hears `budget-exhausted`;
    /// after too many refusals the call is stopped.
    fn refuse(&mut self, spent: Spent) -> wasmtime::Result<()> {
        self.refused += 1;
        if self.refused > self.limits.max_refused_calls {
            return Err(wasmtime::Error::new(Stop::Budget(spent)));
        }
        Ok(())
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for CallState {
    /// The cap is on all the plugin's memories together; passing it stops the call
    /// (an error, not a refused growth the plugin could recover from and retry).
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_add(desired.saturating_sub(current));
        if total > self.limits.memory_bytes {
            return Err(wasmtime::Error::new(Stop::Memory));
        }
        self.memory_total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// A plugin path made relative and plain (`./a//b` → `a/b`); `None` when it reaches
/// out of the root (`..`, an absolute path, a drive or a backslash).
fn plain_path(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') || path.contains(':') || path.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Replaces WASI's clock subscriptions (what `sleep` waits on) with a stop: the wait
/// would happen in host code, where the epoch deadline cannot interrupt it.
pub(super) fn deny_clock_waits(
    linker: &mut wasmtime::component::Linker<CallState>,
) -> wasmtime::Result<()> {
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::DynPollable;
    linker.allow_shadowing(true);
    let mut clock = linker.instance("wasi:clocks/monotonic-clock@0.2.12")?;
    clock.func_wrap(
        "subscribe-duration",
        |_: wasmtime::StoreContextMut<'_, CallState>,
         (_,): (u64,)|
         -> wasmtime::Result<(Resource<DynPollable>,)> {
            Err(wasmtime::Error::new(Stop::Clock))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |_: wasmtime::StoreContextMut<'_, CallState>,
         (_,): (u64,)|
         -> wasmtime::Result<(Resource<DynPollable>,)> {
            Err(wasmtime::Error::new(Stop::Clock))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Why the host refused a `read-file`, whatever the interface version says it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadRefusal {
    /// Absent, ignored, or outside the root.
    NotFound,
    /// Larger than the read cap; the size in bytes.
    TooLarge(u64),
    /// Not UTF-8 text.
    Binary,
    /// The call's budget of reads or bytes is spent.
    BudgetExhausted,
}

/// The host functions, as every interface version serves them (each version's module
/// maps its own imports onto these). An `Err` stops the call; an `Ok(Err(_))` is what
/// the plugin hears.
impl CallState {
    /// `list-files`: the view's files matching `glob`, at most `limit`.
    pub(super) fn list_files(
        &mut self,
        glob: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        let Some(view) = self.view.clone() else {
            return Ok(Err("no project during metadata()".into()));
        };
        if self.lists >= self.limits.max_lists {
            self.refuse(Spent::Listings)?;
            return Ok(Err("this call's budget of file listings is spent".into()));
        }
        if self.examined == 0 {
            self.refuse(Spent::PathsExamined)?;
            return Ok(Err("this call's budget of paths examined is spent".into()));
        }
        self.lists += 1;
        if glob.len() > 1024 {
            return Ok(Err("glob longer than 1024 bytes".into()));
        }
        let limit = limit.min(self.limits.max_list_results) as usize;
        let listed = select::select(&view, &glob, limit, &mut self.examined, &self.globs);
        if let Ok(paths) = &listed {
            self.handed.extend(paths.iter().cloned());
        }
        Ok(listed)
    }

    /// `read-file`: a file of the view as text.
    pub(super) fn read_file(
        &mut self,
        path: String,
    ) -> wasmtime::Result<Result<String, ReadRefusal>> {
        let Some(view) = self.view.clone() else {
            return Ok(Err(ReadRefusal::NotFound));
        };
        if self.reads >= self.limits.max_reads {
            self.refuse(Spent::Reads)?;
            return Ok(Err(ReadRefusal::BudgetExhausted));
        }
        if self.bytes_read >= self.limits.max_read_bytes {
            self.refuse(Spent::BytesRead)?;
            return Ok(Err(ReadRefusal::BudgetExhausted));
        }
        self.reads += 1;
        let Some(path) = plain_path(&path) else {
            return Ok(Err(ReadRefusal::NotFound));
        };
        // Only files of the walk: the view refuses anything else, and checks again
        // that the file has not become a link out of the root since.
        if !view.is_file(&path) {
            return Ok(Err(ReadRefusal::NotFound));
        }
        // The plugin now knows the file is there, whatever the read gives.
        self.handed.insert(path.clone());
        Ok(match view.read_text(&path) {
            Ok(text) => {
                let len = text.len() as u64;
                if len > self.limits.max_file_bytes {
                    Err(ReadRefusal::TooLarge(len))
                } else if self.bytes_read + len > self.limits.max_read_bytes {
                    self.bytes_read = self.limits.max_read_bytes;
                    Err(ReadRefusal::BudgetExhausted)
                } else {
                    self.bytes_read += len;
                    Ok(text.to_string())
                }
            }
            Err(ReadError::TooLarge { size, .. }) => Err(ReadRefusal::TooLarge(size)),
            Err(ReadError::Binary(_)) => Err(ReadRefusal::Binary),
            Err(ReadError::NotInView(_) | ReadError::Unreadable { .. }) => {
                Err(ReadRefusal::NotFound)
            }
        })
    }

    /// `log`: a line of the call's log.
    pub(super) fn log(&mut self, message: String) -> wasmtime::Result<()> {
        if self.log.len() < self.limits.max_log_lines {
            let line = truncate(&message, self.limits.max_log_line_bytes);
            self.log.push(line);
        } else {
            self.log_dropped += 1;
        }
        Ok(())
    }
}

/// `text` cut to at most `max` bytes on a character boundary, with `…` when cut.
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Turns a failed call into a typed error: the budget, memory or deadline that
/// stopped it if one did, a full pool, or the trap.
pub(super) fn classify(
    plugin: &str,
    error: wasmtime::Error,
    state: &CallState,
    limits: &PluginLimits,
    slots: u32,
    log: &[String],
) -> PluginError {
    let plugin = plugin.to_string();
    match error.downcast_ref::<Stop>() {
        Some(Stop::Budget(spent)) => {
            return PluginError::Budget {
                plugin,
                budget: spent.describe(limits),
            };
        }
        Some(Stop::Memory) => {
            return PluginError::Memory {
                plugin,
                limit: limits.memory_bytes,
            };
        }
        Some(Stop::Clock) | None => {}
    }
    if let Some(Trap::Interrupt) = error.downcast_ref::<Trap>() {
        return PluginError::Deadline {
            plugin,
            limit_ms: u64::try_from(limits.deadline.as_millis()).unwrap_or(u64::MAX),
        };
    }
    if error.is::<wasmtime::PoolConcurrencyLimitError>() {
        return PluginError::Busy { limit: slots };
    }
    // The chain without wasmtime's backtrace context: the trap, or the host's reason.
    let mut message = match error.downcast_ref::<Trap>() {
        Some(t) => t.to_string(),
        None => error.root_cause().to_string(),
    };
    if let Some(line) = state.stderr_tail() {
        message = format!("{message}; it printed: {line}");
    } else if let Some(line) = log.last() {
        message = format!("{message}; its last log line: {line}");
    }
    PluginError::Trap {
        plugin,
        message: truncate(&message, 2048),
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && id.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Checks a plugin's metadata, from a component implementing the interface
/// `implemented`.
pub(super) fn check_metadata(
    plugin: &str,
    m: PluginMetadata,
    implemented: &str,
) -> Result<PluginMetadata, PluginError> {
    let invalid = |reason: String| PluginError::InvalidMetadata {
        plugin: plugin.to_string(),
        reason,
    };
    if !valid_id(&m.id) {
        return Err(invalid(format!(
            "id {:?} is not 1 to 64 lower-case letters, digits, '-' or '_' starting with a letter",
            truncate(&m.id, 80)
        )));
    }
    if m.interface_version != implemented {
        return Err(invalid(format!(
            "it says it implements interface {:?} but its component implements {implemented}",
            truncate(&m.interface_version, 80),
        )));
    }
    if m.interested_in.len() > 64 || m.interested_in.iter().any(|g| g.len() > 1024) {
        return Err(invalid(
            "more than 64 interest globs, or one longer than 1024 bytes".into(),
        ));
    }
    for g in &m.interested_in {
        globset::Glob::new(g).map_err(|e| invalid(format!("interest glob {g:?}: {}", e.kind())))?;
    }
    if m.name.len() > 256 || m.version.len() > 64 {
        return Err(invalid(
            "name longer than 256 bytes or version longer than 64".into(),
        ));
    }
    Ok(m)
}

/// Whether `path` (plain) is a file `handed` to the plugin, or a folder holding one.
fn was_handed(handed: &std::collections::BTreeSet<String>, path: &str) -> bool {
    if handed.contains(path) {
        return true;
    }
    if path.is_empty() {
        return !handed.is_empty();
    }
    let folder = format!("{path}/");
    handed
        .range(folder.clone()..)
        .next()
        .is_some_and(|h| h.starts_with(&folder))
}

/// Checks a plugin's detections and turns them into the engine's, marked `detector`.
/// `handed` holds the paths the call's `list-files` and `read-file` gave the plugin:
/// evidence must name one of them, or a folder holding one.
///
/// This is the decoder of what a plugin returns: it never panics, whatever `raw`
/// holds (`fuzz/fuzz_targets/plugin_result.rs`). Its records are those of
/// `kyozo:detector@0.1.0`: a later interface version converts its own into them (or
/// widens them), so every version's results pass the same checks.
pub(super) fn check_detections(
    plugin: &str,
    detector: &str,
    raw: Vec<types::Detection>,
    limits: &PluginLimits,
    handed: &std::collections::BTreeSet<String>,
) -> Result<Vec<Detection>, PluginError> {
    let oversized = |reason: String| PluginError::OversizedResult {
        plugin: plugin.to_string(),
        reason,
    };
    let invalid = |reason: String| PluginError::InvalidResult {
        plugin: plugin.to_string(),
        reason,
    };
    if raw.len() > limits.max_detections {
        return Err(oversized(format!(
            "{} detections, more than the limit of {}",
            raw.len(),
            limits.max_detections
        )));
    }
    let mut total = 0usize;
    let mut out = Vec::with_capacity(raw.len());
    for (i, d) in raw.into_iter().enumerate() {
        let mut strings: Vec<(&str, &str)> = vec![("path", &d.path), ("language", &d.language)];
        for (field, value) in [
            ("framework", &d.framework),
            ("package-manager", &d.package_manager),
            ("runtime-version", &d.runtime_version),
            ("install-command", &d.install_command),
            ("build-command", &d.build_command),
            ("start-command", &d.start_command),
        ] {
            if let Some(v) = value {
                strings.push((field, &v.value));
                strings.push((field, &v.source));
            }
        }
        for v in d.env.iter().chain(&d.backing_services) {
            strings.push(("env or backing service", &v.value));
            strings.push(("env or backing service", &v.source));
        }
        for p in &d.ports {
            strings.push(("port source", &p.source));
        }
        for e in &d.evidence {
            strings.push(("evidence", &e.path));
            strings.push(("evidence", &e.reason));
        }
        for (field, n) in [
            ("evidence", d.evidence.len()),
            ("ports", d.ports.len()),
            ("env", d.env.len()),
            ("backing-services", d.backing_services.len()),
        ] {
            if n > limits.max_list_entries {
                return Err(oversized(format!(
                    "detection {i}: {n} {field} entries, more than the limit of {}",
                    limits.max_list_entries
                )));
            }
            // Every entry costs its record besides its text.
            total += n * 16;
        }
        for (field, s) in &strings {
            if s.len() > limits.max_string_bytes {
                return Err(oversized(format!(
                    "detection {i}: {field} is {} bytes, more than the limit of {}",
                    s.len(),
                    limits.max_string_bytes
                )));
            }
            total += s.len();
        }
        if total > limits.max_result_bytes {
            return Err(oversized(format!(
                "more than {} bytes of text in all",
                limits.max_result_bytes
            )));
        }
        if !d.confidence.is_finite() || !(0.0..=1.0).contains(&d.confidence) {
            return Err(invalid(format!(
                "detection {i}: confidence {} is not a number in [0, 1]",
                d.confidence
            )));
        }
        let Some(path) = plain_path(&d.path) else {
            return Err(invalid(format!(
                "detection {i}: path {:?} is not a folder inside the project",
                truncate(&d.path, 80)
            )));
        };
        let mut evidence = Vec::with_capacity(d.evidence.len());
        for e in d.evidence {
            match plain_path(&e.path) {
                Some(p) if was_handed(handed, &p) => evidence.push(Evidence::new(p, e.reason)),
                _ => {
                    return Err(invalid(format!(
                        "detection {i}: evidence names {:?}, which the host did not hand to the plugin in this call (not handed: evidence must name a file it listed or read, or a folder holding one)",
                        truncate(&e.path, 80)
                    )));
                }
            }
        }
        let language = d.language.trim().to_ascii_lowercase();
        if language.is_empty()
            || language.len() > 64
            || !language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-_.#".contains(c))
        {
            return Err(invalid(format!(
                "detection {i}: language {:?} is not a short lower-case name",
                truncate(&d.language, 80)
            )));
        }
        let mut det = Detection::new(detector, path, language, d.confidence);
        det.kind = match d.kind {
            types::DetectionKind::Service => DetectionKind::Service,
            types::DetectionKind::Library => DetectionKind::Library,
            types::DetectionKind::WorkspaceRoot => DetectionKind::WorkspaceRoot,
        };
        let sourced =
            |s: types::Sourced| Sourced::new(s.value, Provenance::plugin(plugin, s.source));
        let h = &mut det.hints;
        h.framework = d.framework.map(sourced);
        h.package_manager = d.package_manager.map(sourced);
        h.runtime_version = d.runtime_version.map(sourced);
        h.install_command = d.install_command.map(sourced);
        h.build_command = d.build_command.map(sourced);
        h.start_command = d.start_command.map(sourced);
        h.ports = d
            .ports
            .into_iter()
            .map(|p| Sourced::new(p.port, Provenance::plugin(plugin, p.source)))
            .collect();
        h.env = d.env.into_iter().map(sourced).collect();
        h.backing_services = d
            .backing_services
            .into_iter()
            .map(|b| {
                Sourced::new(
                    b.value.to_ascii_lowercase(),
                    Provenance::plugin(plugin, b.source),
                )
            })
            .collect();
        det.evidence = evidence;
        if det.evidence.is_empty() {
            det.evidence.push(Evidence::new(
                det.path.clone(),
                format!("reported by {detector} without evidence"),
            ));
        }
        out.push(det);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_stay_inside_the_root() {
        assert_eq!(plain_path("a/./b//c").as_deref(), Some("a/b/c"));
        assert_eq!(plain_path("").as_deref(), Some(""));
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../x",
            "a/../b",
            "C:\\x",
            "a\\..\\b",
            "x\0",
        ] {
            assert_eq!(plain_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("hi", 5), "hi");
    }
}
