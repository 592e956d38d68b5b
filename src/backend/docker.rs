//! [`DockerBackend`]: the [`ContainerBackend`] of a real Docker Engine, through bollard.
//!
//! Connects to `DOCKER_HOST` or the default socket, negotiates the API version and
//! refuses engines older than [`MIN_API_VERSION`]. Every container runs with
//! `init: true` (so a stop does not wait out its grace period) and carries Kyozo's
//! labels; a start that fails removes the container it was given.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerStatsResponse, EndpointSettings, EventMessageTypeEnum,
    ExecConfig, HostConfig, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    BuildImageOptions, CreateContainerOptions, EventsOptions, KillContainerOptions,
    ListContainersOptions, ListImagesOptionsBuilder, ListNetworksOptions, ListVolumesOptions,
    LogsOptions, RemoveContainerOptions, RemoveImageOptions, RemoveVolumeOptions, StatsOptions,
    StopContainerOptions,
};
use futures_util::stream::{self, BoxStream, StreamExt};

use super::{
    BackendError, BackendInfo, BuildProgress, BuildSpec, Capabilities, ContainerBackend,
    ContainerEvent, ContainerEventKind, ContainerSpec, ContainerState, ContainerStats,
    EXEC_OUTPUT_LIMIT, ExecOutput, ImageInfo, LABEL_MANAGED_BY, LogLine, LogOptions, NetworkInfo,
    VolumeInfo,
};

/// The oldest Docker Engine API Kyozo talks to.
pub const MIN_API_VERSION: (usize, usize) = (1, 41);

/// Seconds a request to the engine may take (builds stream, and are not bound by it).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// A Docker Engine.
#[derive(Debug, Clone)]
pub struct DockerBackend {
    docker: Docker,
    endpoint: String,
    api_version: String,
    build_stall: std::time::Duration,
    /// Held while a network is made: the engine does not keep network names unique
    /// (four creations of one name at once make four networks), so this process makes
    /// one at a time, and [`DockerBackend::settled_network`] settles a race with another.
    network_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// How long a build may go without a line of output before it is given up
/// ([`DockerBackend::with_build_stall_timeout`]).
pub const DEFAULT_BUILD_STALL: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The longest line of build output kept, in bytes (a step may print anything).
const BUILD_LINE_MAX: usize = 4096;

impl DockerBackend {
    /// Connects to the engine named by `DOCKER_HOST`, or to the default socket
    /// (`/var/run/docker.sock`).
    pub async fn connect() -> Result<Self, BackendError> {
        let endpoint =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let docker = Docker::connect_with_defaults().map_err(|e| unavailable(&endpoint, e))?;
        Self::negotiate(docker, endpoint).await
    }

    /// Connects to the engine listening on the Unix socket `path`.
    pub async fn connect_socket(path: impl AsRef<Path>) -> Result<Self, BackendError> {
        let endpoint = format!("unix://{}", path.as_ref().display());
        let docker = Docker::connect_with_unix(
            &path.as_ref().display().to_string(),
            REQUEST_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| unavailable(&endpoint, e))?;
        Self::negotiate(docker, endpoint).await
    }

    async fn negotiate(docker: Docker, endpoint: String) -> Result<Self, BackendError> {
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| unavailable(&endpoint, e))?;
        let v = docker.client_version();
        let api_version = format!("{}.{}", v.major_version, v.minor_version);
        if (v.major_version, v.minor_version) < MIN_API_VERSION {
            return Err(BackendError::TooOld {
                endpoint,
                found: api_version,
                required: format!("{}.{}", MIN_API_VERSION.0, MIN_API_VERSION.1),
            });
        }
        Ok(Self {
            docker,
            endpoint,
            api_version,
            build_stall: DEFAULT_BUILD_STALL,
            network_lock: std::sync::Arc::default(),
        })
    }

    /// Gives up a build that sends no output for `stall` (default
    /// [`DEFAULT_BUILD_STALL`], 10 minutes): an engine that hangs mid-build, or a step
    /// that waits on something that never comes, ends in [`BackendError::Timeout`]
    /// instead of a wait without end. A step that works quietly for longer needs more.
    #[must_use]
    pub fn with_build_stall_timeout(mut self, stall: std::time::Duration) -> Self {
        self.build_stall = stall;
        self
    }

    /// Where the engine is (`unix:///var/run/docker.sock`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Kyozo's networks named `name`, settled to one: the engine lets a name repeat (two
    /// processes that make it at once make two), and a name held twice is ambiguous to
    /// every later call that names it. The oldest stays (the one the earliest caller
    /// saw); every other one that nothing uses is removed (the engine refuses to remove
    /// one in use). `None` when there is none.
    async fn settled_network(&self, name: &str) -> Result<Option<String>, BackendError> {
        let options = ListNetworksOptions {
            filters: Some(HashMap::from([
                ("name".to_string(), vec![name.to_string()]),
                (
                    "label".to_string(),
                    vec![format!("{LABEL_MANAGED_BY}=kyozo")],
                ),
            ])),
        };
        let listed = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.error("network", name, e))?;
        // RFC 3339 in UTC (`2026-12-06T04:12:12.5Z`), the fraction's trailing zeros cut:
        // the seconds, then the fraction padded to nanoseconds.
        let age = |created: &str| {
            let seconds = created.get(..19).unwrap_or(created).to_string();
            let fraction: String = created
                .get(19..)
                .and_then(|rest| rest.strip_prefix('.'))
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            (seconds, format!("{fraction:0<9}"))
        };
        let mut named: Vec<((String, String), String)> = listed
            .into_iter()
            .filter(|n| n.name.as_deref() == Some(name))
            .filter_map(|n| Some((age(n.created.as_deref().unwrap_or_default()), n.id?)))
            .collect();
        named.sort();
        let mut named = named.into_iter().map(|(_, id)| id);
        let oldest = named.next();
        for other in named {
            let _ = self.docker.remove_network(&other).await;
        }
        Ok(oldest)
    }

    /// The engine's error `e` about `kind` `id` as a [`BackendError`], with `e` as its
    /// source.
    fn error(&self, kind: &'static str, id: &str, e: DockerError) -> BackendError {
        let made = match &e {
            DockerError::DockerResponseServerError {
                status_code: 404, ..
            } => BackendError::not_found(kind, id),
            DockerError::DockerResponseServerError {
                status_code: 409,
                message,
            } => BackendError::conflict(message.clone()),
            DockerError::DockerResponseServerError { message, .. } => {
                BackendError::engine(message.clone())
            }
            // The engine could not be talked to at all.
            DockerError::IOError { .. }
            | DockerError::HyperResponseError { .. }
            | DockerError::HyperLegacyError { .. }
            | DockerError::HttpClientError { .. }
            | DockerError::RequestTimeoutError
            | DockerError::SocketNotFoundError(_) => return unavailable(&self.endpoint, e),
            // It answered, with something unexpected.
            other => BackendError::engine(other.to_string()),
        };
        made.with_source(e)
    }
}

impl DockerBackend {
    /// Pulls `image` from its registry (what `docker pull` does), to the end of the
    /// engine's progress stream.
    async fn pull(&self, image: &str) -> Result<(), BackendError> {
        let options = bollard::query_parameters::CreateImageOptionsBuilder::new()
            .from_image(image)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        loop {
            // A pull that stalls is given up as a build is.
            let next = tokio::time::timeout(self.build_stall, stream.next()).await;
            let Ok(next) = next else {
                return Err(BackendError::Timeout {
                    what: format!("the pull of {image} to make progress"),
                    seconds: self.build_stall.as_secs(),
                });
            };
            let Some(item) = next else { break };
            let info = item.map_err(|e| match &e {
                DockerError::DockerStreamError { error: reason }
                | DockerError::DockerResponseServerError {
                    message: reason, ..
                } => BackendError::pull(image, reason.clone()).with_source(e),
                _ => self.error("image", image, e),
            })?;
            if let Some(detail) = info.error_detail {
                return Err(BackendError::pull(
                    image,
                    detail.message.unwrap_or_default(),
                ));
            }
        }
        Ok(())
    }
}

/// Errors that say the engine could not be talked to at all.
/// The reason names every cause once: the last one is the one that says why (a
/// missing socket, a permission, a refused connection).
fn unavailable(endpoint: &str, e: DockerError) -> BackendError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = cause.source();
    }
    BackendError::unavailable(endpoint, reason).with_source(e)
}

fn labels_with_kyozo(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    let mut all: HashMap<String, String> =
        labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    all.insert(LABEL_MANAGED_BY.into(), "kyozo".into());
    all
}

/// The CPU period of a build step's CPU quota, in microseconds (the kernel's default).
const CPU_PERIOD: i32 = 100_000;

/// The engine's memory limit (bytes) and CPU quota (microseconds per [`CPU_PERIOD`])
/// for `spec`'s limits, or why they cannot be sent.
fn build_limits(spec: &BuildSpec) -> Result<(Option<i32>, Option<i32>), BackendError> {
    let memory = spec
        .limits
        .memory_bytes
        .map(|bytes| {
            i32::try_from(bytes).map_err(|_| {
                BackendError::build(
                    &spec.tag,
                    format!(
                        "its memory limit of {} MiB is more than the {} MiB the engine client \
                         can send: lower it, or lift it (BuildLimits::with_memory_bytes(None))",
                        bytes >> 20,
                        i32::MAX >> 20
                    ),
                )
            })
        })
        .transpose()?;
    let quota = match spec.limits.cpus {
        None => None,
        Some(cpus) if (0.01..=4096.0).contains(&cpus) => {
            Some((cpus * f64::from(CPU_PERIOD)).round() as i32)
        }
        Some(cpus) => {
            return Err(BackendError::build(
                &spec.tag,
                format!("its CPU limit {cpus} is not a number of CPUs from 0.01 to 4096"),
            ));
        }
    };
    Ok((memory, quota))
}

/// `dockerfile` with one `LABEL` step at its end (the final stage) setting `labels`,
/// quoted for the Dockerfile's escape character (`\\`, or the one its `# escape=`
/// directive names), and the labels a Dockerfile line cannot carry (a control character
/// in the key or the value), left to the engine's build labels.
fn with_label_step(
    dockerfile: &str,
    labels: BTreeMap<String, String>,
) -> (String, BTreeMap<String, String>) {
    let escape = dockerfile_escape(dockerfile);
    let quote = |s: &str| {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            if c == '"' || c == '$' || c == escape {
                out.push(escape);
            }
            out.push(c);
        }
        out.push('"');
        out
    };
    let (line, rest): (BTreeMap<_, _>, BTreeMap<_, _>) =
        labels.into_iter().partition(|(k, v): &(String, String)| {
            !k.is_empty() && !k.chars().chain(v.chars()).any(char::is_control)
        });
    let mut text = dockerfile.to_string();
    if !line.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("LABEL");
        for (k, v) in &line {
            text.push(' ');
            text.push_str(&quote(k));
            text.push('=');
            text.push_str(&quote(v));
        }
        text.push('\n');
    }
    (text, rest)
}

/// The escape character of a Dockerfile: `\\`, unless a parser directive at its top
/// says `# escape=\``.
fn dockerfile_escape(dockerfile: &str) -> char {
    for line in dockerfile.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((name, value)) = directive.split_once('=') else {
            break;
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
        if name.eq_ignore_ascii_case("escape") && value.trim() == "`" {
            return '`';
        }
    }
    '\\'
}

fn label_filters(labels: &BTreeMap<String, String>) -> HashMap<String, Vec<String>> {
    let mut wanted = vec![format!("{LABEL_MANAGED_BY}=kyozo")];
    wanted.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
    HashMap::from([("label".to_string(), wanted)])
}

fn cpu_percent(s: &ContainerStatsResponse) -> f64 {
    let usage = |c: &Option<bollard::models::ContainerCpuStats>| {
        c.as_ref().map_or((0, 0, 1), |c| {
            (
                c.cpu_usage
                    .as_ref()
                    .and_then(|u| u.total_usage)
                    .unwrap_or(0),
                c.system_cpu_usage.unwrap_or(0),
                c.online_cpus.unwrap_or(1).max(1),
            )
        })
    };
    let (cpu, system, cpus) = usage(&s.cpu_stats);
    let (pre_cpu, pre_system, _) = usage(&s.precpu_stats);
    let cpu_delta = cpu.saturating_sub(pre_cpu) as f64;
    let system_delta = system.saturating_sub(pre_system) as f64;
    if pre_system == 0 || system_delta <= 0.0 {
        return 0.0;
    }
    cpu_delta / system_delta * f64::from(cpus) * 100.0
}

fn stats_of(s: &ContainerStatsResponse) -> ContainerStats {
    let mut out = ContainerStats {
        cpu_percent: cpu_percent(s),
        ..ContainerStats::default()
    };
    if let Some(c) = &s.cpu_stats {
        out.cpu_total_nanos = c
            .cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0);
        out.system_cpu_nanos = c.system_cpu_usage.unwrap_or(0);
        out.online_cpus = c.online_cpus.unwrap_or(1).max(1);
    }
    if let Some(m) = &s.memory_stats {
        out.memory_bytes = m.usage.unwrap_or(0);
        out.memory_limit_bytes = m.limit.unwrap_or(0);
    }
    for n in s.networks.iter().flat_map(|n| n.values()) {
        out.network_rx_bytes = out.network_rx_bytes.saturating_add(n.rx_bytes.unwrap_or(0));
        out.network_tx_bytes = out.network_tx_bytes.saturating_add(n.tx_bytes.unwrap_or(0));
    }
    let entries = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    for e in entries.into_iter().flatten() {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => {
                out.block_read_bytes = out.block_read_bytes.saturating_add(e.value.unwrap_or(0));
            }
            Some("write") => {
                out.block_write_bytes = out.block_write_bytes.saturating_add(e.value.unwrap_or(0));
            }
            _ => {}
        }
    }
    out
}

/// How long a failed build's output is still read after the builder's error.
const BUILD_DRAIN: Duration = Duration::from_secs(2);

/// How many lines of a build's output a failure shows.
const BUILD_TAIL_LINES: usize = 20;

/// The most of one line of build output held while it is still arriving: four times
/// [`BUILD_LINE_MAX`], room for the escape codes a kept line may carry.
const BUILD_RAW_LINE_MAX: usize = 4 * BUILD_LINE_MAX;

/// How the classic builder marks a chunk of a step's stderr: this before, and
/// [`STDERR_END`] after.
const STDERR_START: &str = "\u{1b}[91m";
/// See [`STDERR_START`].
const STDERR_END: &str = "\u{1b}[0m";

/// A build's output as whole, clean lines. The engine's `stream` arrives in chunks
/// that may cut a line (or an escape sequence) in two, and a step's stderr comes
/// between the chunks of its stdout (the builder paints each stderr chunk red, which
/// is how it is told apart): chunks are joined into lines, stdout and stderr each on
/// their own; a carriage return not followed by a newline starts the line over (what a
/// terminal shows of a progress bar is its last state); each finished line loses its
/// ANSI escape sequences and goes through
/// [`terminal_safe_text`](crate::text::terminal_safe_text) for any other control
/// character, then is cut to [`BUILD_LINE_MAX`] bytes. The last [`BUILD_TAIL_LINES`]
/// meaningful ones (not the builder's ` ---> id` and `Removing intermediate container`
/// bookkeeping) are kept for a failure's message.
#[derive(Debug, Default)]
struct BuildOutput {
    /// The line still arriving on stdout, and on stderr.
    partial: [PartialLine; 2],
    tail: std::collections::VecDeque<String>,
}

/// A line of output not ended yet.
#[derive(Debug, Default)]
struct PartialLine {
    text: String,
    carriage_return: bool,
}

impl BuildOutput {
    /// Takes a chunk of output, reporting each line it completes to `progress`.
    fn push(&mut self, chunk: &str, progress: &mut (dyn FnMut(BuildProgress) + Send)) {
        let (stream, chunk) = match chunk
            .strip_prefix(STDERR_START)
            .and_then(|c| c.strip_suffix(STDERR_END))
        {
            Some(stderr) => (1, stderr),
            None => (0, chunk),
        };
        for c in chunk.chars() {
            let partial = &mut self.partial[stream];
            if std::mem::take(&mut partial.carriage_return) && c != '\n' {
                partial.text.clear();
            }
            match c {
                '\r' => partial.carriage_return = true,
                '\n' => self.end_line(stream, progress),
                c if partial.text.len() < BUILD_RAW_LINE_MAX => partial.text.push(c),
                _ => {}
            }
        }
    }

    /// Ends the output: a last line without a newline is a line.
    fn finish(&mut self, progress: &mut (dyn FnMut(BuildProgress) + Send)) {
        for stream in 0..2 {
            self.partial[stream].carriage_return = false;
            if !self.partial[stream].text.is_empty() {
                self.end_line(stream, progress);
            }
        }
    }

    fn end_line(&mut self, stream: usize, progress: &mut (dyn FnMut(BuildProgress) + Send)) {
        let line = clean_line(&std::mem::take(&mut self.partial[stream].text));
        if line.trim().is_empty() {
            return;
        }
        let trimmed = line.trim_start();
        if !(trimmed.starts_with("---> ") || trimmed.starts_with("Removing intermediate container"))
        {
            if self.tail.len() == BUILD_TAIL_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line.clone());
        }
        progress(BuildProgress::Output(line));
    }

    /// The last meaningful line.
    fn last(&self) -> Option<&str> {
        self.tail.back().map(String::as_str)
    }

    /// A failure's message: the builder's `error`, then the last meaningful lines.
    fn failure(&self, error: &str) -> String {
        let mut message = clean_line(error);
        for line in &self.tail {
            message.push('\n');
            message.push_str(line);
        }
        message
    }
}

/// One line of build output without its ANSI escape sequences (CSI, as in colours;
/// OSC, as in titles and links; and the two-byte ones), then safe for a terminal and
/// at most [`BUILD_LINE_MAX`] bytes, cut on a character boundary.
fn clean_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let csi = match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    true
                }
                Some(']') => {
                    // OSC: to BEL or ST (ESC and a backslash).
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                    continue;
                }
                Some(_) => {
                    // nF (intermediate bytes, then a final one) or Fe/Fp/Fs: one byte.
                    while chars
                        .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                        .is_some()
                    {}
                    chars.next();
                    continue;
                }
                None => continue,
            },
            '\u{9b}' => true,
            c => {
                out.push(c);
                false
            }
        };
        if csi {
            // Parameters and intermediates, to the final byte (@ to ~).
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
    }
    let mut line = crate::text::terminal_safe_text(out.trim_end()).into_owned();
    if line.len() > BUILD_LINE_MAX {
        let mut cut = BUILD_LINE_MAX;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line
}

#[async_trait::async_trait]
impl ContainerBackend for DockerBackend {
    async fn info(&self) -> Result<BackendInfo, BackendError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|e| unavailable(&self.endpoint, e))?;
        Ok(BackendInfo {
            server: format!("Docker Engine {}", v.version.unwrap_or_default()),
            api_version: self.api_version.clone(),
            platform: format!(
                "{}/{}",
                v.os.unwrap_or_default(),
                v.arch.unwrap_or_default()
            ),
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            replicas: true,
            host_ports: true,
            build: true,
            exec: true,
            restart_policies: true,
            networks: true,
            volumes: true,
        }
    }

    async fn build_image(
        &self,
        spec: &BuildSpec,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<String, BackendError> {
        let (memory, cpu_quota) = build_limits(spec)?;
        let context = spec.context.clone();
        let dockerfile = spec.dockerfile.trim_start_matches("./").to_string();
        let inline = spec.dockerfile_contents.clone();
        let mut labels: BTreeMap<String, String> = spec.labels.clone();
        labels.insert(LABEL_MANAGED_BY.into(), "kyozo".into());
        let (body, build_labels) = tokio::task::spawn_blocking(move || {
            // The labels go in as one LABEL step at the end of the Dockerfile sent (the
            // classic builder makes a step of each build label, ~1-3 s each).
            let text = match inline {
                Some(text) => text,
                None => crate::safe_fs::read_inside(
                    &context,
                    Path::new(&dockerfile),
                    crate::safe_fs::READ_CAP,
                )
                .map_err(|e| BackendError::Context {
                    path: context.clone(),
                    reason: format!("the Dockerfile {dockerfile}: {e}"),
                })?,
            };
            let (text, rest) = with_label_step(&text, labels);
            super::context::pack(&context, &dockerfile, Some(&text)).map(|body| (body, rest))
        })
        .await
        .map_err(|e| BackendError::engine(e.to_string()))??;
        let options = BuildImageOptions {
            dockerfile: spec.dockerfile.clone(),
            t: Some(spec.tag.clone()),
            rm: true,
            forcerm: true,
            buildargs: Some(
                spec.args
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            labels: (!build_labels.is_empty()).then(|| build_labels.into_iter().collect()),
            networkmode: spec.network.clone(),
            // No swap beyond the memory limit: a step that outgrows it is killed, not
            // left to thrash the host.
            memory,
            memswap: memory,
            cpuperiod: cpu_quota.map(|_| CPU_PERIOD),
            cpuquota: cpu_quota,
            ..BuildImageOptions::default()
        };
        let mut stream = self.docker.build_image(
            options,
            None,
            Some(bollard::body_full(bytes::Bytes::from(body))),
        );
        let mut output = BuildOutput::default();
        let mut failed: Option<String> = None;
        let mut built: Option<String> = None;
        loop {
            // The watchdog: no output for `build_stall` gives the build up (dropping the
            // stream closes the connection, which stops the engine's build).
            // After the builder's error, only what is still in flight is waited for.
            let wait = if failed.is_some() {
                BUILD_DRAIN.min(self.build_stall)
            } else {
                self.build_stall
            };
            let next = tokio::time::timeout(wait, stream.next()).await;
            let Ok(next) = next else {
                if failed.is_some() {
                    break;
                }
                output.finish(&mut *progress);
                return Err(BackendError::Timeout {
                    what: format!(
                        "the build of {} to send output (its last line: {})",
                        spec.tag,
                        output.last().unwrap_or("none")
                    ),
                    seconds: self.build_stall.as_secs(),
                });
            };
            let Some(item) = next else { break };
            let info = match item {
                Ok(info) => info,
                // bollard gives the builder's error (`errorDetail`) as an error item.
                Err(DockerError::DockerStreamError { error }) => {
                    failed.get_or_insert(error);
                    continue;
                }
                Err(e) => {
                    output.finish(&mut *progress);
                    return Err(self.error("image", &spec.tag, e));
                }
            };
            if let Some(chunk) = info.stream {
                output.push(&chunk, &mut *progress);
            }
            // The step's last lines (its stderr) can arrive after the builder's error:
            // the stream is read to its end.
            if let Some(detail) = info.error_detail {
                failed.get_or_insert(detail.message.unwrap_or_default());
            }
            if let Some(id) = info.aux.and_then(|a| a.id) {
                built = Some(id);
            }
        }
        if let Some(error) = failed {
            output.finish(&mut *progress);
            let mut message = output.failure(&error);
            // A step the kernel killed (SIGKILL: 137) under a memory limit outgrew it.
            let killed = error.match_indices("code: 137").any(|(at, code)| {
                !error[at + code.len()..].starts_with(|c: char| c.is_ascii_digit())
            });
            if let Some(limit) = spec.limits.memory_bytes
                && killed
            {
                message = format!(
                    "the build ran out of memory (limit {} MiB): a step was killed (exit code 137); \
                     raise the limit with KyozoBuilder::build_limits \
                     (BuildLimits::with_memory_bytes), or lift it with None\n{message}",
                    limit >> 20
                );
            }
            return Err(BackendError::build(&spec.tag, message));
        }
        output.finish(&mut *progress);
        let id = match built {
            Some(id) => id,
            None => self
                .docker
                .inspect_image(&spec.tag)
                .await
                .map_err(|e| self.error("image", &spec.tag, e))?
                .id
                .unwrap_or_default(),
        };
        progress(BuildProgress::Built(id.clone()));
        Ok(id)
    }

    async fn remove_image(&self, image: &str) -> Result<(), BackendError> {
        let options = RemoveImageOptions {
            force: true,
            noprune: false,
            ..RemoveImageOptions::default()
        };
        match self.docker.remove_image(image, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(e) => match self.error("image", image, e) {
                BackendError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, BackendError> {
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        let mut exposed = Vec::new();
        for p in &spec.ports {
            let key = format!("{}/tcp", p.container);
            exposed.push(key.clone());
            bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: p.host_ip.map(|ip| ip.to_string()),
                    host_port: Some(p.host.map(|h| h.to_string()).unwrap_or_default()),
                }]),
            );
        }
        let host_config = HostConfig {
            init: Some(true),
            port_bindings: Some(bindings),
            memory: spec.memory_bytes,
            nano_cpus: spec.cpus.map(|c| (c * 1e9) as i64),
            restart_policy: Some(match spec.restart {
                crate::model::RestartPolicy::Never => RestartPolicy {
                    name: Some(RestartPolicyNameEnum::NO),
                    maximum_retry_count: None,
                },
                crate::model::RestartPolicy::OnFailure { max_retries } => RestartPolicy {
                    name: Some(RestartPolicyNameEnum::ON_FAILURE),
                    maximum_retry_count: Some(i64::from(max_retries)),
                },
                crate::model::RestartPolicy::Always => RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                },
            }),
            ..HostConfig::default()
        };
        let host_config = HostConfig {
            network_mode: spec.network.clone(),
            binds: (!spec.volumes.is_empty() || !spec.binds.is_empty()).then(|| {
                spec.volumes
                    .iter()
                    .map(|v| format!("{}:{}", v.volume, v.path))
                    .chain(
                        spec.binds
                            .iter()
                            .map(|b| format!("{}:{}", b.host.display(), b.path)),
                    )
                    .collect()
            }),
            ..host_config
        };
        // The host's network has no endpoint settings (no aliases).
        let networking_config = spec
            .network
            .as_ref()
            .filter(|n| n.as_str() != super::HOST_NETWORK)
            .map(|network| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        aliases: (!spec.aliases.is_empty()).then(|| spec.aliases.clone()),
                        ..EndpointSettings::default()
                    },
                )])),
            });
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            networking_config,
            cmd: spec.command.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            exposed_ports: Some(exposed),
            labels: Some(labels_with_kyozo(&spec.labels)),
            user: spec.user.clone(),
            host_config: Some(host_config),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..CreateContainerOptions::default()
        };
        let mut outcome = self
            .docker
            .create_container(Some(options.clone()), body.clone())
            .await;
        // An image the engine does not have is pulled, as `docker run` does, then the
        // container is created again.
        if let Err(DockerError::DockerResponseServerError {
            status_code: 404,
            message,
        }) = &outcome
            && message.contains("No such image")
        {
            self.pull(&spec.image).await?;
            outcome = self.docker.create_container(Some(options), body).await;
        }
        match outcome {
            Ok(created) => Ok(created.id),
            Err(e) => match self.error("image", &spec.image, e) {
                // The name is taken: the same container made before is this one.
                conflict @ BackendError::Conflict { .. } => {
                    let existing = self.inspect(&spec.name).await?;
                    if existing.image == spec.image
                        && existing.labels.get(LABEL_MANAGED_BY).map(String::as_str)
                            == Some("kyozo")
                    {
                        Ok(existing.id)
                    } else {
                        Err(conflict)
                    }
                }
                other => Err(other),
            },
        }
    }

    async fn start(&self, id: &str) -> Result<(), BackendError> {
        match self.docker.start_container(id, None).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let error = self.error("container", id, e);
                // A first start that fails (a port taken...) leaves a Created container
                // that never ran: remove it. A container that ran before is the
                // service's and stays.
                if let Ok(state) = self.inspect(id).await
                    && state.status == "created"
                {
                    let _ = self.remove(id).await;
                }
                Err(error)
            }
        }
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<(), BackendError> {
        let options = StopContainerOptions {
            t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
            ..StopContainerOptions::default()
        };
        match self.docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(DockerError::DockerResponseServerError {
                status_code: 304 | 404,
                ..
            }) => Ok(()),
            Err(e) => Err(self.error("container", id, e)),
        }
    }

    async fn kill(&self, id: &str) -> Result<(), BackendError> {
        match self
            .docker
            .kill_container(id, None::<KillContainerOptions>)
            .await
        {
            Ok(()) => Ok(()),
            // Gone, or not running.
            Err(DockerError::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => Ok(()),
            Err(e) => Err(self.error("container", id, e)),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), BackendError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..RemoveContainerOptions::default()
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(self.error("container", id, e)),
        }
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, BackendError> {
        let c = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| self.error("container", id, e))?;
        let state = c.state.unwrap_or_default();
        let mut ports = BTreeMap::new();
        let mut host_ips = BTreeMap::new();
        let published = c.network_settings.and_then(|n| n.ports).unwrap_or_default();
        for (key, bindings) in published {
            let Some(container) = key.split('/').next().and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            let host = bindings.into_iter().flatten().find_map(|b| {
                let port = b.host_port.and_then(|p| p.parse::<u16>().ok())?;
                let ip = b
                    .host_ip
                    .filter(|ip| !ip.is_empty())
                    .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                    .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
                Some((port, ip))
            });
            if let Some((host, ip)) = host {
                ports.insert(container, host);
                host_ips.insert(container, ip);
            }
        }
        let labels = c
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(ContainerState {
            id: c.id.unwrap_or_default(),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: c.config.and_then(|c| c.image).unwrap_or_default(),
            running: state.running.unwrap_or(false),
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            exit_code: state.exit_code.filter(|_| !state.running.unwrap_or(false)),
            oom_killed: state.oom_killed.unwrap_or(false),
            restart_count: c.restart_count.unwrap_or(0),
            health: state
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty() && s != "none"),
            ports,
            host_ips,
            labels,
        })
    }

    async fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerState>, BackendError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(label_filters(labels)),
            ..ListContainersOptions::default()
        };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error("container", "list", e))?;
        let mut out = Vec::with_capacity(found.len());
        for c in found {
            let Some(id) = c.id else { continue };
            match self.inspect(&id).await {
                Ok(state) => out.push(state),
                // Removed between the list and the inspect.
                Err(BackendError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn logs(
        &self,
        id: &str,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine, BackendError>> {
        let me = self.clone();
        let id = id.to_string();
        let request = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            since: options
                .since
                .map_or(0, |s| i32::try_from(s).unwrap_or(i32::MAX)),
            tail: options
                .tail
                .map_or_else(|| "all".to_string(), |n| n.to_string()),
            ..LogsOptions::default()
        };
        self.docker
            .logs(&id.clone(), Some(request))
            .flat_map(move |item| {
                let lines: Vec<Result<LogLine, BackendError>> = match item {
                    Ok(output) => {
                        let stderr = matches!(output, bollard::container::LogOutput::StdErr { .. });
                        let text = output.to_string();
                        text.lines()
                            .map(|l| {
                                Ok(LogLine {
                                    stderr,
                                    text: l.to_string(),
                                })
                            })
                            .collect()
                    }
                    Err(e) => vec![Err(me.error("container", &id, e))],
                };
                stream::iter(lines)
            })
            .boxed()
    }

    async fn stats(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, ContainerStats>, BackendError> {
        let requests = ids.iter().map(|id| {
            let docker = self.docker.clone();
            let id = id.clone();
            async move {
                let options = StatsOptions {
                    stream: false,
                    one_shot: true,
                };
                let sample = docker.stats(&id, Some(options)).next().await;
                (id, sample)
            }
        });
        let mut out = BTreeMap::new();
        for (id, sample) in futures_util::future::join_all(requests).await {
            match sample {
                Some(Ok(s)) => {
                    out.insert(id, stats_of(&s));
                }
                Some(Err(e)) => match self.error("container", &id, e) {
                    BackendError::NotFound { .. } | BackendError::Conflict { .. } => {}
                    other => return Err(other),
                },
                None => {}
            }
        }
        Ok(out)
    }

    fn events(
        &self,
        since_nanos: Option<i64>,
    ) -> BoxStream<'static, Result<ContainerEvent, BackendError>> {
        let me = self.clone();
        let mut filters = label_filters(&BTreeMap::new());
        filters.insert("type".into(), vec!["container".into()]);
        let options = EventsOptions {
            since: since_nanos.map(|n| {
                format!(
                    "{}.{:09}",
                    n.div_euclid(1_000_000_000),
                    n.rem_euclid(1_000_000_000)
                )
            }),
            until: None,
            filters: Some(filters),
        };
        self.docker
            .events(Some(options))
            .filter_map(move |item| {
                let me = me.clone();
                async move {
                    let message = match item {
                        Ok(m) => m,
                        Err(e) => return Some(Err(me.error("event", "stream", e))),
                    };
                    if message.typ != Some(EventMessageTypeEnum::CONTAINER) {
                        return None;
                    }
                    let actor = message.actor.unwrap_or_default();
                    let attributes = actor.attributes.unwrap_or_default();
                    let action = message.action.unwrap_or_default();
                    let kind = match action.as_str() {
                        "create" => ContainerEventKind::Created,
                        "start" => ContainerEventKind::Started,
                        "die" => ContainerEventKind::Died {
                            exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
                        },
                        "oom" => ContainerEventKind::Oom,
                        "destroy" => ContainerEventKind::Destroyed,
                        a if a.starts_with("health_status") => ContainerEventKind::Health(
                            a.trim_start_matches("health_status")
                                .trim_start_matches(':')
                                .trim()
                                .to_string(),
                        ),
                        _ => return None,
                    };
                    let labels = attributes
                        .into_iter()
                        .filter(|(k, _)| k.starts_with("dev.kyozo."))
                        .collect();
                    Some(Ok(ContainerEvent {
                        id: actor.id.unwrap_or_default(),
                        kind,
                        time_nanos: message.time_nano.unwrap_or(0),
                        labels,
                    }))
                }
            })
            .boxed()
    }

    async fn wait(&self, id: &str) -> Result<i64, BackendError> {
        let mut stream = self.docker.wait_container(id, None);
        match stream.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(DockerError::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(self.error("container", id, e)),
            None => Err(BackendError::engine(format!("waiting for {id}: no answer"))),
        }
    }

    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(argv.to_vec()),
            ..ExecConfig::default()
        };
        let run = async {
            let exec = self
                .docker
                .create_exec(id, config)
                .await
                .map_err(|e| self.error("container", id, e))?;
            let mut kept: Vec<u8> = Vec::new();
            match self
                .docker
                .start_exec(&exec.id, None::<StartExecOptions>)
                .await
                .map_err(|e| self.error("container", id, e))?
            {
                StartExecResults::Attached { mut output, .. } => {
                    while let Some(chunk) = output.next().await {
                        let chunk = chunk.map_err(|e| self.error("container", id, e))?;
                        kept.extend_from_slice(&chunk.into_bytes());
                        if kept.len() > EXEC_OUTPUT_LIMIT {
                            kept.drain(..kept.len() - EXEC_OUTPUT_LIMIT);
                        }
                    }
                }
                StartExecResults::Detached => {}
            }
            // The output can end a moment before the engine records the exit.
            let exit_code = loop {
                let inspected = self
                    .docker
                    .inspect_exec(&exec.id)
                    .await
                    .map_err(|e| self.error("container", id, e))?;
                match (inspected.running, inspected.exit_code) {
                    (Some(false), Some(code)) => break code,
                    _ => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            };
            Ok(ExecOutput {
                exit_code,
                output: String::from_utf8_lossy(&kept).into_owned(),
            })
        };
        tokio::time::timeout(timeout, run)
            .await
            .unwrap_or_else(|_| {
                Err(BackendError::Timeout {
                    what: format!("`{}` in container {id}", argv.join(" ")),
                    seconds: timeout.as_secs(),
                })
            })
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, BackendError> {
        // One at a time in this process; another process's race is settled by
        // `settled_network`, before and after making one.
        let _one_at_a_time = self.network_lock.lock().await;
        if let Some(id) = self.settled_network(name).await? {
            return Ok(id);
        }
        if let Ok(found) = self.docker.inspect_network(name, None).await {
            let kyozos = found
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_MANAGED_BY))
                .is_some_and(|v| v == "kyozo");
            if !kyozos {
                return Err(BackendError::conflict(format!(
                    "a network named {name} exists and is not Kyozo's"
                )));
            }
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels_with_kyozo(labels)),
            ..NetworkCreateRequest::default()
        };
        match self.docker.create_network(request).await {
            Ok(created) => Ok(self.settled_network(name).await?.unwrap_or(created.id)),
            Err(e) => Err(self.error("network", name, e)),
        }
    }

    async fn remove_network(&self, name: &str) -> Result<(), BackendError> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(self.error("network", name, e)),
        }
    }

    async fn list_networks(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<NetworkInfo>, BackendError> {
        let options = ListNetworksOptions {
            filters: Some(label_filters(labels)),
        };
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.error("network", "(list)", e))?;
        Ok(networks
            .into_iter()
            .map(|n| NetworkInfo {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                labels: n.labels.unwrap_or_default().into_iter().collect(),
            })
            .collect())
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), BackendError> {
        if let Ok(existing) = self.docker.inspect_volume(name).await {
            if existing
                .labels
                .get(LABEL_MANAGED_BY)
                .is_some_and(|v| v == "kyozo")
            {
                return Ok(());
            }
            return Err(BackendError::conflict(format!(
                "a volume named {name} exists and is not Kyozo's"
            )));
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels_with_kyozo(labels)),
            ..VolumeCreateRequest::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(|e| self.error("volume", name, e))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), BackendError> {
        match self
            .docker
            .remove_volume(name, Some(RemoveVolumeOptions { force: false }))
            .await
        {
            Ok(()) => Ok(()),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(self.error("volume", name, e)),
        }
    }

    async fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>, BackendError> {
        let options = ListVolumesOptions {
            filters: Some(label_filters(labels)),
        };
        let listed = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| self.error("volume", "(list)", e))?;
        Ok(listed
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeInfo {
                name: v.name,
                labels: v.labels.into_iter().collect(),
            })
            .collect())
    }

    async fn list_images(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, BackendError> {
        let options = ListImagesOptionsBuilder::new()
            .filters(&label_filters(labels))
            .build();
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|e| self.error("image", "(list)", e))?;
        Ok(images
            .into_iter()
            .map(|i| ImageInfo {
                id: i.id,
                tags: i
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect(),
                labels: i.labels.into_iter().collect(),
                created: i.created,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_joins_chunks_and_drops_escapes_cut_in_two() {
        let mut output = BuildOutput::default();
        let mut lines = Vec::new();
        let mut progress = |p: BuildProgress| {
            if let BuildProgress::Output(l) = p {
                lines.push(l);
            }
        };
        for chunk in [
            "\u{1b}[9",
            "1mred\u{1b}[0m\nhalf ",
            "and half\r",
            "\nbar 1%\rbar 99",
            "%\r\n",
            "\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{7}\u{7}bell\n ---> 123\nout ",
            "\u{1b}[91merr: in between\n\u{1b}[0m",
            "continues\nlast",
        ] {
            output.push(chunk, &mut progress);
        }
        output.finish(&mut progress);
        assert_eq!(
            lines,
            [
                "red",
                "half and half",
                "bar 99%",
                "link\\u{7}bell",
                " ---> 123",
                "err: in between",
                "out continues",
                "last"
            ]
        );
        assert_eq!(
            output.failure("failed"),
            "failed\nred\nhalf and half\nbar 99%\nlink\\u{7}bell\nerr: in between\nout continues\nlast"
        );
    }
}
