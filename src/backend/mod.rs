//! The container backend seam: what Kyozo needs from a container engine, with no
//! engine's types in its signature. [`DockerBackend`] talks to a
//! real Docker Engine.
//!
//! [`CircuitBreaker`] wraps any backend so that an engine that went away fails calls
//! fast. [`conformance`] is the suite every backend must pass.

pub mod breaker;
pub mod conformance;
mod context;
pub mod docker;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::stream::BoxStream;

pub use breaker::{CircuitBreaker, CircuitState};
pub use context::fingerprint;
pub use docker::{DockerBackend, MIN_API_VERSION};

/// The label every container and image Kyozo makes carries, with value `kyozo`.
pub const LABEL_MANAGED_BY: &str = "dev.kyozo.managed-by";
/// The label naming the team that owns a container.
pub const LABEL_TEAM: &str = "dev.kyozo.team";
/// The label naming the workspace of a container.
pub const LABEL_WORKSPACE: &str = "dev.kyozo.workspace";
/// The label naming the service of a container.
pub const LABEL_SERVICE: &str = "dev.kyozo.service";
/// The label naming the deployment that made a container.
pub const LABEL_DEPLOYMENT: &str = "dev.kyozo.deployment";

/// A backend operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The engine cannot be reached (no socket, connection refused, timed out).
    #[error("the container engine at {endpoint} is unavailable: {reason}")]
    Unavailable {
        /// Where Kyozo looked for it.
        endpoint: String,
        /// Why it could not talk to it.
        reason: String,
    },
    /// The engine is older than Kyozo supports.
    #[error(
        "the Docker Engine at {endpoint} speaks API {found}, older than the {required} Kyozo needs; upgrade the engine"
    )]
    TooOld {
        /// Where it is.
        endpoint: String,
        /// Its API version.
        found: String,
        /// The oldest Kyozo supports.
        required: String,
    },
    /// No such container or image.
    #[error("no {kind} {id} on the engine")]
    NotFound {
        /// `container` or `image`.
        kind: &'static str,
        /// What was asked for.
        id: String,
    },
    /// The request conflicts with the engine's state (a name in use, a port taken...).
    #[error("{0}")]
    Conflict(String),
    /// An image build failed.
    #[error("building {tag} failed: {message}")]
    Build {
        /// The image being built.
        tag: String,
        /// The builder's error and the last lines of its output.
        message: String,
    },
    /// The build context could not be packed.
    #[error("cannot pack the build context {path}: {reason}")]
    Context {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An operation did not finish in time.
    #[error("{what} did not finish within {seconds} s")]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        seconds: u64,
    },
    /// An image the engine did not have could not be pulled from its registry.
    #[error("the engine has no image {image}, and pulling it failed: {reason}")]
    Pull {
        /// The image.
        image: String,
        /// The registry's or the engine's answer.
        reason: String,
    },
    /// Any other refusal of the engine.
    #[error("the container engine refused: {0}")]
    Engine(String),
}

/// What the engine is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendInfo {
    /// The engine's name and version (`Docker Engine 20.10.24`).
    pub server: String,
    /// The API version in use after negotiation (`1.41`).
    pub api_version: String,
    /// The operating system and architecture (`linux/amd64`).
    pub platform: String,
}

/// What a backend supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Several replicas of a service.
    pub replicas: bool,
    /// Publishing container ports on the host.
    pub host_ports: bool,
    /// Building images from a folder.
    pub build: bool,
    /// Running a command in a running container ([`ContainerBackend::exec`]).
    pub exec: bool,
    /// Restart policies ([`ContainerSpec::restart`]): restarting containers that exit
    /// on their own, with an error or at all.
    pub restart_policies: bool,
    /// Networks of their own for containers, where they find each other by alias
    /// ([`ContainerBackend::create_network`]).
    pub networks: bool,
    /// Named volumes that outlive containers ([`ContainerBackend::create_volume`]).
    pub volumes: bool,
}

/// A network Kyozo made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkInfo {
    /// The engine's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// A named volume Kyozo made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeInfo {
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// A named volume mounted in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// The volume's name.
    pub volume: String,
    /// Where it is mounted in the container.
    pub path: String,
}

/// A port to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    /// The container's port (TCP).
    pub container: u16,
    /// The host port; `None` lets the engine pick a free one.
    pub host: Option<u16>,
}

/// A container to create. Its `Debug` shows env names, never values.
#[derive(Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ContainerSpec {
    /// Its name; deterministic names make creation idempotent.
    pub name: String,
    /// The image.
    pub image: String,
    /// The command, if not the image's.
    pub command: Option<Vec<String>>,
    /// Environment (`NAME` → value). Values are secrets: never logged.
    pub env: BTreeMap<String, String>,
    /// Ports to publish.
    pub ports: Vec<PortSpec>,
    /// Labels, besides [`LABEL_MANAGED_BY`] which the backend always adds.
    pub labels: BTreeMap<String, String>,
    /// Memory limit in bytes.
    pub memory_bytes: Option<i64>,
    /// CPU limit in cores.
    pub cpus: Option<f64>,
    /// Whether the engine restarts the container when it exits.
    pub restart: crate::model::RestartPolicy,
    /// The network it joins (made with [`ContainerBackend::create_network`]); `None`:
    /// the engine's default bridge.
    pub network: Option<String>,
    /// The names other containers of its network reach it by.
    pub aliases: Vec<String>,
    /// Named volumes it mounts.
    pub volumes: Vec<VolumeMount>,
}

impl std::fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: BTreeMap<&str, &str> = self.env.keys().map(|k| (k.as_str(), "***")).collect();
        f.debug_struct("ContainerSpec")
            .field("name", &self.name)
            .field("image", &self.image)
            .field("command", &self.command)
            .field("env", &env)
            .field("ports", &self.ports)
            .field("labels", &self.labels)
            .field("memory_bytes", &self.memory_bytes)
            .field("cpus", &self.cpus)
            .field("restart", &self.restart)
            .field("network", &self.network)
            .field("aliases", &self.aliases)
            .field("volumes", &self.volumes)
            .finish()
    }
}

impl ContainerSpec {
    /// A container `name` running `image`.
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            ..Self::default()
        }
    }
}

/// An image to build.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct BuildSpec {
    /// The folder sent as the build context.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
    /// The tag to give the image.
    pub tag: String,
    /// Build arguments.
    pub args: BTreeMap<String, String>,
    /// Labels, besides [`LABEL_MANAGED_BY`].
    pub labels: BTreeMap<String, String>,
    /// The network of `RUN` steps (`host` where the bridge has no egress).
    pub network: Option<String>,
    /// The Dockerfile's text, when it is not a file of the context (a Dockerfile Kyozo
    /// generated, kept out of the user's folder): sent as `dockerfile`.
    pub dockerfile_contents: Option<String>,
}

/// A line of build output, as it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildProgress {
    /// A line of a step's output.
    Output(String),
    /// The built image's id.
    Built(String),
}

/// A container's state, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerState {
    /// The engine's id.
    pub id: String,
    /// Its name (without the leading `/`).
    pub name: String,
    /// The image it runs.
    pub image: String,
    /// Whether it runs.
    pub running: bool,
    /// `created`, `running`, `exited`...
    pub status: String,
    /// The exit code, once it has exited.
    pub exit_code: Option<i64>,
    /// Whether the kernel killed it for memory.
    pub oom_killed: bool,
    /// How often the engine restarted it.
    pub restart_count: i64,
    /// Its health (`healthy`, `unhealthy`, `starting`), when it has a health check.
    pub health: Option<String>,
    /// Published ports: container port → host port.
    pub ports: BTreeMap<u16, u16>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// What a command run in a container ([`ContainerBackend::exec`]) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOutput {
    /// Its exit code.
    pub exit_code: i64,
    /// The last [`EXEC_OUTPUT_LIMIT`] bytes of its output (stdout and stderr together),
    /// lossily decoded.
    pub output: String,
}

/// How much of a command's output [`ExecOutput`] keeps.
pub const EXEC_OUTPUT_LIMIT: usize = 4096;

/// An image Kyozo built, as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageInfo {
    /// The engine's id.
    pub id: String,
    /// Its tags (`kyozo/web:1a2b3c4d`).
    pub tags: Vec<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// When it was made, Unix seconds.
    pub created: i64,
}

/// A line of a container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogLine {
    /// Whether it came from stderr.
    pub stderr: bool,
    /// The text (without its line break).
    pub text: String,
}

/// Which log lines to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LogOptions {
    /// Keep following new lines until the container stops.
    pub follow: bool,
    /// Only the last `n` lines.
    pub tail: Option<u32>,
    /// Only lines since this Unix time (seconds).
    pub since: Option<i64>,
}

/// One sample of a container's resource use.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct ContainerStats {
    /// CPU use in percent of one core.
    pub cpu_percent: f64,
    /// Memory in use, bytes.
    pub memory_bytes: u64,
    /// The memory limit, bytes.
    pub memory_limit_bytes: u64,
    /// Bytes received over all networks.
    pub network_rx_bytes: u64,
    /// Bytes sent over all networks.
    pub network_tx_bytes: u64,
    /// Bytes read from block devices.
    pub block_read_bytes: u64,
    /// Bytes written to block devices.
    pub block_write_bytes: u64,
    /// CPU time the container used since it started, in nanoseconds (with the two
    /// figures below, two samples give the CPU use between them when `cpu_percent`,
    /// which needs the engine's previous sample, is 0).
    pub cpu_total_nanos: u64,
    /// The host's CPU time at the sample, in nanoseconds.
    pub system_cpu_nanos: u64,
    /// The CPUs the container may use.
    pub online_cpus: u32,
}

impl ContainerStats {
    /// CPU use in percent of one core between an `earlier` sample of the same container
    /// and this one (0 when the host's clock did not move).
    pub fn cpu_percent_since(&self, earlier: &ContainerStats) -> f64 {
        let cpu = self.cpu_total_nanos.saturating_sub(earlier.cpu_total_nanos) as f64;
        let system = self
            .system_cpu_nanos
            .saturating_sub(earlier.system_cpu_nanos) as f64;
        if system <= 0.0 {
            return 0.0;
        }
        cpu / system * f64::from(self.online_cpus.max(1)) * 100.0
    }
}

/// What happened to a container, normalized from the engine's event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContainerEventKind {
    /// Created.
    Created,
    /// Started.
    Started,
    /// Its process ended, with this exit code.
    Died {
        /// The exit code.
        exit_code: Option<i64>,
    },
    /// The kernel killed it for memory.
    Oom,
    /// Its health changed (`healthy`, `unhealthy`).
    Health(String),
    /// Removed.
    Destroyed,
}

/// An event of a container Kyozo manages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerEvent {
    /// The container's id.
    pub id: String,
    /// What happened.
    pub kind: ContainerEventKind,
    /// When, in Unix nanoseconds (resume the stream from here).
    pub time_nanos: i64,
    /// The container's labels.
    pub labels: BTreeMap<String, String>,
}

/// A container engine. Object-safe; every method is cancel-safe to drop.
///
/// # Contract
///
/// - Every container and image the backend makes carries [`LABEL_MANAGED_BY`] = `kyozo`
///   and the spec's labels; `list` and `events` see only those.
/// - `create` is idempotent by name: creating a name that exists with the same image
///   returns the existing container.
/// - A first `start` that fails removes the container `create` made, so nothing
///   half-made is left behind; a container that ran before is left alone.
/// - `stop`, `kill` and `remove` of a container that is already gone succeed.
#[async_trait::async_trait]
pub trait ContainerBackend: Send + Sync + std::fmt::Debug {
    /// What the engine is.
    async fn info(&self) -> Result<BackendInfo, BackendError>;
    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;
    /// Builds an image, reporting each line of output to `progress`; returns its id.
    async fn build_image(
        &self,
        spec: &BuildSpec,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<String, BackendError>;
    /// Removes an image (and its untagged parents); an absent image is not an error.
    async fn remove_image(&self, image: &str) -> Result<(), BackendError>;
    /// The managed images carrying every label of `labels`.
    async fn list_images(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, BackendError>;
    /// Creates a container (not started); returns its id.
    async fn create(&self, spec: &ContainerSpec) -> Result<String, BackendError>;
    /// Starts a created container.
    async fn start(&self, id: &str) -> Result<(), BackendError>;
    /// Asks a container to stop, killing it after `grace`.
    async fn stop(&self, id: &str, grace: Duration) -> Result<(), BackendError>;
    /// Kills a container at once.
    async fn kill(&self, id: &str) -> Result<(), BackendError>;
    /// Removes a container, stopping it first if it runs.
    async fn remove(&self, id: &str) -> Result<(), BackendError>;
    /// A container's state.
    async fn inspect(&self, id: &str) -> Result<ContainerState, BackendError>;
    /// The managed containers carrying every label of `labels`, running or not.
    async fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerState>, BackendError>;
    /// A container's log lines.
    fn logs(
        &self,
        id: &str,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine, BackendError>>;
    /// One sample of each container's resource use, taken concurrently; a container
    /// that is gone is left out.
    async fn stats(&self, ids: &[String])
    -> Result<BTreeMap<String, ContainerStats>, BackendError>;
    /// Events of managed containers, from `since_nanos` (Unix nanoseconds) if given.
    fn events(
        &self,
        since_nanos: Option<i64>,
    ) -> BoxStream<'static, Result<ContainerEvent, BackendError>>;
    /// Waits until a container stops; returns its exit code.
    async fn wait(&self, id: &str) -> Result<i64, BackendError>;
    /// Makes a network named `name` (a bridge), carrying Kyozo's labels and `labels`;
    /// one of that name that Kyozo made is returned as it is. Returns its id.
    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, BackendError>;
    /// Removes a network; an absent one is not an error.
    async fn remove_network(&self, name: &str) -> Result<(), BackendError>;
    /// The networks Kyozo made that carry every label of `labels`.
    async fn list_networks(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<NetworkInfo>, BackendError>;
    /// Makes a named volume carrying Kyozo's labels and `labels`; one of that name
    /// that Kyozo made is kept as it is (with its data).
    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), BackendError>;
    /// Removes a volume and its data; an absent one is not an error.
    async fn remove_volume(&self, name: &str) -> Result<(), BackendError>;
    /// The volumes Kyozo made that carry every label of `labels`.
    async fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>, BackendError>;
    /// Runs `argv` in a running container and waits for it, at most `timeout`
    /// ([`BackendError::Timeout`] after that; the command may still run).
    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError>;
}
