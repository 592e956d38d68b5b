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
pub mod memory;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::stream::BoxStream;

pub use breaker::{CircuitBreaker, CircuitState};
pub use context::fingerprint;
pub use docker::{DEFAULT_BUILD_STALL, DockerBackend, MIN_API_VERSION};
pub use memory::MemoryBackend;

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
/// The label naming the folder (its workspace's root) a container was deployed from:
/// how a new state finds what an earlier one left running from the same folder.
pub const LABEL_ROOT: &str = "dev.kyozo.root";

/// The engine's own error under a [`BackendError`], kept so that a caller can walk
/// [`source()`](std::error::Error::source) and downcast it (to bollard's
/// `bollard::errors::Error` for [`DockerBackend`]).
pub type ErrorSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A backend operation failed.
///
/// Variants that carry an engine's answer keep the engine's own error as their
/// [`source()`](std::error::Error::source) when the backend has one; the message says
/// everything on its own, the source is there to walk or downcast. A backend outside the
/// crate builds them with [`BackendError::not_found`], [`BackendError::engine`]... and
/// [`BackendError::with_source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The engine cannot be reached (no socket, connection refused, timed out).
    #[error("the container engine at {endpoint} is unavailable: {reason}")]
    Unavailable {
        /// Where Kyozo looked for it.
        endpoint: String,
        /// Why it could not talk to it.
        reason: String,
        /// The engine client's error, if there was one.
        #[source]
        source: Option<ErrorSource>,
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
        /// The engine's answer, if there was one.
        #[source]
        source: Option<ErrorSource>,
    },
    /// The request conflicts with the engine's state (a name in use, a port taken...).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
        /// The engine's answer, if there was one.
        #[source]
        source: Option<ErrorSource>,
    },
    /// An image build failed.
    #[error("building {tag} failed: {message}")]
    Build {
        /// The image being built.
        tag: String,
        /// The builder's error and the last lines of its output.
        message: String,
        /// The engine's answer, if there was one.
        #[source]
        source: Option<ErrorSource>,
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
        /// The engine's answer, if there was one.
        #[source]
        source: Option<ErrorSource>,
    },
    /// Any other refusal of the engine.
    #[error("the container engine refused: {message}")]
    Engine {
        /// What the engine said.
        message: String,
        /// The engine's answer, if there was one.
        #[source]
        source: Option<ErrorSource>,
    },
}

impl BackendError {
    /// [`BackendError::Unavailable`]: the engine at `endpoint` cannot be reached, for
    /// `reason`.
    pub fn unavailable(endpoint: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Unavailable {
            endpoint: endpoint.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// [`BackendError::NotFound`]: no `kind` (`container`, `image`...) named `id`.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
            source: None,
        }
    }

    /// [`BackendError::Conflict`]: the request conflicts with the engine's state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            source: None,
        }
    }

    /// [`BackendError::Build`]: building `tag` failed.
    pub fn build(tag: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Build {
            tag: tag.into(),
            message: message.into(),
            source: None,
        }
    }

    /// [`BackendError::Pull`]: `image` is missing and could not be pulled.
    pub fn pull(image: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Pull {
            image: image.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// [`BackendError::Engine`]: any other refusal of the engine.
    pub fn engine(message: impl Into<String>) -> Self {
        Self::Engine {
            message: message.into(),
            source: None,
        }
    }

    /// The same error with `source` as its cause. Variants that carry no engine answer
    /// (`TooOld`, `Context`, `Timeout`) are returned as they are.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<ErrorSource>) -> Self {
        match &mut self {
            Self::Unavailable { source: s, .. }
            | Self::NotFound { source: s, .. }
            | Self::Conflict { source: s, .. }
            | Self::Build { source: s, .. }
            | Self::Pull { source: s, .. }
            | Self::Engine { source: s, .. } => *s = Some(source.into()),
            Self::TooOld { .. } | Self::Context { .. } | Self::Timeout { .. } => {}
        }
        self
    }
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

impl BackendInfo {
    /// What an engine is: its name and version, the API version in use and its
    /// platform.
    pub fn new(
        server: impl Into<String>,
        api_version: impl Into<String>,
        platform: impl Into<String>,
    ) -> Self {
        Self {
            server: server.into(),
            api_version: api_version.into(),
            platform: platform.into(),
        }
    }
}

/// What a backend supports. Start from [`Capabilities::none`] (also the `Default`) or
/// [`Capabilities::all`] and change what differs with the `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

impl Capabilities {
    /// A backend that can do none of the optional things.
    pub const fn none() -> Self {
        Self {
            replicas: false,
            host_ports: false,
            build: false,
            exec: false,
            restart_policies: false,
            networks: false,
            volumes: false,
        }
    }

    /// A backend that can do everything Kyozo asks of an engine (as Docker can).
    pub const fn all() -> Self {
        Self {
            replicas: true,
            host_ports: true,
            build: true,
            exec: true,
            restart_policies: true,
            networks: true,
            volumes: true,
        }
    }

    /// Whether it supports several replicas of a service ([`Capabilities::replicas`]).
    #[must_use]
    pub const fn with_replicas(mut self, yes: bool) -> Self {
        self.replicas = yes;
        self
    }

    /// Whether it supports publishing container ports on the host ([`Capabilities::host_ports`]).
    #[must_use]
    pub const fn with_host_ports(mut self, yes: bool) -> Self {
        self.host_ports = yes;
        self
    }

    /// Whether it supports building images ([`Capabilities::build`]).
    #[must_use]
    pub const fn with_build(mut self, yes: bool) -> Self {
        self.build = yes;
        self
    }

    /// Whether it supports running a command in a running container ([`Capabilities::exec`]).
    #[must_use]
    pub const fn with_exec(mut self, yes: bool) -> Self {
        self.exec = yes;
        self
    }

    /// Whether it supports restart policies ([`Capabilities::restart_policies`]).
    #[must_use]
    pub const fn with_restart_policies(mut self, yes: bool) -> Self {
        self.restart_policies = yes;
        self
    }

    /// Whether it supports networks of their own ([`Capabilities::networks`]).
    #[must_use]
    pub const fn with_networks(mut self, yes: bool) -> Self {
        self.networks = yes;
        self
    }

    /// Whether it supports named volumes ([`Capabilities::volumes`]).
    #[must_use]
    pub const fn with_volumes(mut self, yes: bool) -> Self {
        self.volumes = yes;
        self
    }
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

impl NetworkInfo {
    /// A network with the engine's `id` and its `name`, without labels.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            labels: BTreeMap::new(),
        }
    }

    /// With these labels.
    #[must_use]
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }
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

impl VolumeInfo {
    /// A volume named `name`, without labels.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            labels: BTreeMap::new(),
        }
    }

    /// With these labels.
    #[must_use]
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }
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
    /// The host address it binds; `None`: every address (the engine's default).
    pub host_ip: Option<std::net::IpAddr>,
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
    /// Host folders it mounts (Kyozo's own containers only, such as the edge proxy's
    /// admin folder: never a path from a folder Kyozo deploys).
    pub binds: Vec<BindMount>,
    /// The user it runs as (`uid:gid`), if not the image's.
    pub user: Option<String>,
}

/// A host folder mounted in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BindMount {
    /// The folder on the engine's host.
    pub host: std::path::PathBuf,
    /// Where it is mounted in the container.
    pub path: String,
}

impl BindMount {
    /// `host` mounted at `path`.
    pub fn new(host: impl Into<std::path::PathBuf>, path: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            path: path.into(),
        }
    }
}

/// The network of a container that shares the host's network (its ports are the
/// host's: nothing is published).
pub const HOST_NETWORK: &str = "host";

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
    /// What the build's steps may use (memory, CPUs); [`BuildLimits::default`] unless
    /// changed.
    pub limits: BuildLimits,
}

/// The most a build's steps may use, so that a build cannot take the host down: each
/// `RUN` step's container gets these limits. Set for the builds of a [`Kyozo`](crate::Kyozo) with
/// [`KyozoBuilder::build_limits`](crate::KyozoBuilder::build_limits).
///
/// A step that outgrows the memory limit is killed by the kernel, and the build fails
/// with [`BackendError::Build`] saying "the build ran out of memory (limit N MiB)".
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BuildLimits {
    /// The memory of a step, in bytes (swap included: a step never swaps beyond it);
    /// `None` for no limit. Default [`DEFAULT_BUILD_MEMORY`]. The Docker backend sends
    /// it as a 32-bit number: at most `i32::MAX` bytes (2 GiB less one byte); a larger
    /// limit is refused, `None` lifts it.
    pub memory_bytes: Option<u64>,
    /// The CPUs a step may use (`1.5` is one and a half); `None` for no limit. Default:
    /// all the host's cores but one, at least one ([`BuildLimits::default_cpus`]).
    pub cpus: Option<f64>,
}

/// The default memory limit of a build step: 2 GiB less 1 MiB (2047 MiB), the most the
/// Docker Engine client Kyozo uses can send.
pub const DEFAULT_BUILD_MEMORY: u64 = 2047 * 1024 * 1024;

impl BuildLimits {
    /// No limits at all.
    pub fn unlimited() -> Self {
        Self {
            memory_bytes: None,
            cpus: None,
        }
    }

    /// These limits with `bytes` of memory (`None`: no limit).
    #[must_use]
    pub fn with_memory_bytes(mut self, bytes: Option<u64>) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// These limits with `cpus` CPUs (`None`: no limit).
    #[must_use]
    pub fn with_cpus(mut self, cpus: Option<f64>) -> Self {
        self.cpus = cpus;
        self
    }

    /// The default CPU limit of a build step on this host: its cores but one, at least
    /// one, so that a build leaves a core to everything else.
    pub fn default_cpus() -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        cores.saturating_sub(1).max(1) as f64
    }
}

impl Default for BuildLimits {
    /// [`DEFAULT_BUILD_MEMORY`] and [`BuildLimits::default_cpus`].
    fn default() -> Self {
        Self {
            memory_bytes: Some(DEFAULT_BUILD_MEMORY),
            cpus: Some(Self::default_cpus()),
        }
    }
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
    /// The host address each published container port is bound to, as the engine
    /// reports it (`0.0.0.0` or `::` for every address).
    pub host_ips: BTreeMap<u16, std::net::IpAddr>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

impl ContainerState {
    /// A container with the engine's `id`, its `name` and `image`, created and not
    /// running: status `created`, no exit code, no restarts, health, ports or labels.
    pub fn new(id: impl Into<String>, name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            image: image.into(),
            running: false,
            status: "created".into(),
            exit_code: None,
            oom_killed: false,
            restart_count: 0,
            health: None,
            ports: BTreeMap::new(),
            host_ips: BTreeMap::new(),
            labels: BTreeMap::new(),
        }
    }

    /// Running or not; the status follows (`running`, or `exited` for a container
    /// that ran). Set a status of your own with [`with_status`](Self::with_status) after.
    #[must_use]
    pub fn with_running(mut self, running: bool) -> Self {
        self.running = running;
        self.status = if running { "running" } else { "exited" }.into();
        self
    }

    /// With this status (`created`, `running`, `exited`...).
    #[must_use]
    pub fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// With this exit code (`None` until it has exited).
    #[must_use]
    pub fn with_exit_code(mut self, code: Option<i64>) -> Self {
        self.exit_code = code;
        self
    }

    /// Whether the kernel killed it for memory.
    #[must_use]
    pub fn with_oom_killed(mut self, oom_killed: bool) -> Self {
        self.oom_killed = oom_killed;
        self
    }

    /// How often the engine restarted it.
    #[must_use]
    pub fn with_restart_count(mut self, count: i64) -> Self {
        self.restart_count = count;
        self
    }

    /// Its health (`healthy`, `unhealthy`, `starting`), when it has a health check.
    #[must_use]
    pub fn with_health(mut self, health: Option<String>) -> Self {
        self.health = health;
        self
    }

    /// With container port `container` published on host port `host`, bound to `ip`.
    #[must_use]
    pub fn with_port(mut self, container: u16, host: u16, ip: std::net::IpAddr) -> Self {
        self.ports.insert(container, host);
        self.host_ips.insert(container, ip);
        self
    }

    /// With these labels.
    #[must_use]
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }
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

impl ExecOutput {
    /// A command that exited with `exit_code` after printing `output` (keep at most
    /// the last [`EXEC_OUTPUT_LIMIT`] bytes, as the contract says).
    pub fn new(exit_code: i64, output: impl Into<String>) -> Self {
        Self {
            exit_code,
            output: output.into(),
        }
    }
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

impl ImageInfo {
    /// An image with the engine's `id`, without tags or labels, made at Unix time 0.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            tags: Vec::new(),
            labels: BTreeMap::new(),
            created: 0,
        }
    }

    /// With one more tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// With these labels.
    #[must_use]
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }

    /// Made at this Unix time (seconds).
    #[must_use]
    pub fn with_created(mut self, created: i64) -> Self {
        self.created = created;
        self
    }
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

impl LogLine {
    /// A line of stderr (`stderr`) or stdout.
    pub fn new(stderr: bool, text: impl Into<String>) -> Self {
        Self {
            stderr,
            text: text.into(),
        }
    }

    /// A line of stdout.
    pub fn stdout(text: impl Into<String>) -> Self {
        Self::new(false, text)
    }

    /// A line of stderr.
    pub fn stderr(text: impl Into<String>) -> Self {
        Self::new(true, text)
    }
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

impl LogOptions {
    /// Keep following new lines until the container stops.
    #[must_use]
    pub fn with_follow(mut self, follow: bool) -> Self {
        self.follow = follow;
        self
    }

    /// Only the last `n` lines.
    #[must_use]
    pub fn with_tail(mut self, n: Option<u32>) -> Self {
        self.tail = n;
        self
    }

    /// Only lines since this Unix time (seconds).
    #[must_use]
    pub fn with_since(mut self, since: Option<i64>) -> Self {
        self.since = since;
        self
    }
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

/// Build a sample from `ContainerStats::default()` (all zero) with the `with_*` methods.
impl ContainerStats {
    /// With this CPU use, in percent of one core.
    #[must_use]
    pub fn with_cpu_percent(mut self, percent: f64) -> Self {
        self.cpu_percent = percent;
        self
    }

    /// With this memory in use and limit, bytes.
    #[must_use]
    pub fn with_memory(mut self, used: u64, limit: u64) -> Self {
        self.memory_bytes = used;
        self.memory_limit_bytes = limit;
        self
    }

    /// With these bytes received and sent over all networks.
    #[must_use]
    pub fn with_network(mut self, rx: u64, tx: u64) -> Self {
        self.network_rx_bytes = rx;
        self.network_tx_bytes = tx;
        self
    }

    /// With these bytes read from and written to block devices.
    #[must_use]
    pub fn with_block_io(mut self, read: u64, written: u64) -> Self {
        self.block_read_bytes = read;
        self.block_write_bytes = written;
        self
    }

    /// With the container's CPU time, the host's CPU time at the sample (both in
    /// nanoseconds) and the CPUs it may use.
    #[must_use]
    pub fn with_cpu_times(mut self, container_nanos: u64, system_nanos: u64, cpus: u32) -> Self {
        self.cpu_total_nanos = container_nanos;
        self.system_cpu_nanos = system_nanos;
        self.online_cpus = cpus;
        self
    }

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

impl ContainerEvent {
    /// Container `id` did `kind` at `time_nanos` (Unix nanoseconds), without labels.
    pub fn new(id: impl Into<String>, kind: ContainerEventKind, time_nanos: i64) -> Self {
        Self {
            id: id.into(),
            kind,
            time_nanos,
            labels: BTreeMap::new(),
        }
    }

    /// With the container's labels.
    #[must_use]
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }
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
    /// one of that name that Kyozo made is returned as it is, also to calls made at the
    /// same time (services deployed together ask for their workspace's network at
    /// once: each gets the one network). Returns its id.
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
