//! [`ServiceInstance`] and the configuration it carries: ports, limits, health checks.
//! Validations and calculations live next to the types they concern.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::validate::{ValidationError, validate_name};
use super::{
    MemberId, SecretValue, ServiceId, ServiceMetric, ServiceStatus, StatusTransitionError, TeamId,
    Timestamp, WorkspaceId,
};

/// A transport protocol of a port mapping.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            _ => Err(ValidationError::invalid("protocol", s, "tcp or udp")),
        }
    }
}

/// A container port, published on a host port or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PortMapping {
    /// The port the service listens on inside its container (1-65535).
    pub container_port: u16,
    /// The host port it is published on; `None` lets the engine pick a free one.
    pub host_port: Option<u16>,
    /// TCP or UDP.
    #[serde(default)]
    pub protocol: Protocol,
    /// The host address it is published on (`127.0.0.1`); `None`: every address of the
    /// host, as the engine does by default. What is published and what is shown both
    /// come from this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<std::net::IpAddr>,
}

impl PortMapping {
    /// A TCP mapping of `container_port` on `host_port`.
    pub fn new(container_port: u16, host_port: Option<u16>) -> Self {
        Self {
            container_port,
            host_port,
            protocol: Protocol::Tcp,
            host_ip: None,
        }
    }

    /// The same mapping published on the host address `ip` only.
    pub fn with_host_ip(mut self, ip: Option<std::net::IpAddr>) -> Self {
        self.host_ip = ip;
        self
    }

    /// The same mapping with another protocol.
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Parses the compose short form: `80`, `8080:80`, `8080:80/udp`,
    /// `127.0.0.1:8080:80`, `[::1]:8080:80`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        // A host address first: `[v6]:` or `a.b.c.d:` before `host:container`.
        let (host_ip, s) = match s.strip_prefix('[').and_then(|r| r.split_once("]:")) {
            Some((ip, rest)) => (Some(ip), rest),
            None => match s.splitn(3, ':').collect::<Vec<_>>()[..] {
                [ip, _, _] => (Some(ip), &s[ip.len() + 1..]),
                _ => (None, s),
            },
        };
        let host_ip =
            match host_ip {
                Some(ip) => Some(ip.parse::<std::net::IpAddr>().map_err(|_| {
                    ValidationError::invalid("host_ip", ip, "an IPv4 or IPv6 address")
                })?),
                None => None,
            };
        let (ports, protocol) = match s.split_once('/') {
            Some((p, proto)) => (p, proto.parse::<Protocol>()?),
            None => (s, Protocol::Tcp),
        };
        let port = |field: &str, v: &str| -> Result<u16, ValidationError> {
            match v.parse::<u64>() {
                Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
                Ok(n) => Err(ValidationError::out_of_range(field, n, "1-65535")),
                Err(_) => Err(ValidationError::invalid(field, v, "a port number 1-65535")),
            }
        };
        let (host, container) = match ports.split_once(':') {
            Some(("", c)) => (None, port("container_port", c)?),
            Some((h, c)) => (Some(port("host_port", h)?), port("container_port", c)?),
            None => (None, port("container_port", ports)?),
        };
        Ok(Self {
            container_port: container,
            host_port: host,
            protocol,
            host_ip,
        })
    }

    /// Checks one mapping; `field` is its path (`ports[0]`).
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if self.container_port == 0 {
            return Err(ValidationError::out_of_range(
                format!("{field}.container_port"),
                0,
                "1-65535",
            ));
        }
        if self.host_port == Some(0) {
            return Err(ValidationError::out_of_range(
                format!("{field}.host_port"),
                0,
                "1-65535, or none to let the engine choose",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(std::net::IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(ip) => write!(f, "{ip}:")?,
            None => {}
        }
        match self.host_port {
            Some(h) => write!(f, "{h}:")?,
            None if self.host_ip.is_some() => write!(f, ":")?,
            None => {}
        }
        write!(f, "{}/{}", self.container_port, self.protocol)
    }
}

/// Checks a list of mappings: each valid, and no two on the same host port and protocol.
pub fn validate_ports(ports: &[PortMapping]) -> Result<(), ValidationError> {
    let mut seen: BTreeMap<(u16, Protocol), usize> = BTreeMap::new();
    for (i, p) in ports.iter().enumerate() {
        p.validate(&format!("ports[{i}]"))?;
        if let Some(h) = p.host_port
            && let Some(first) = seen.insert((h, p.protocol), i)
        {
            return Err(ValidationError::Conflict {
                field: "ports".into(),
                value: format!("host port {h}/{}", p.protocol),
                first: format!("ports[{first}]"),
                second: format!("ports[{i}]"),
            });
        }
    }
    Ok(())
}

/// Resource limits of one replica. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ResourceLimits {
    /// CPUs (fractions allowed: `0.5` is half a core).
    pub cpus: Option<f64>,
    /// Memory in bytes.
    pub memory_bytes: Option<u64>,
    /// Writable storage in bytes.
    pub storage_bytes: Option<u64>,
}

impl ResourceLimits {
    /// The smallest memory limit the Docker Engine accepts: 6 MiB.
    pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;
    /// The largest memory limit accepted: 4 TiB.
    pub const MAX_MEMORY: u64 = 4 * 1024 * 1024 * 1024 * 1024;
    /// The largest CPU limit accepted.
    pub const MAX_CPUS: f64 = 1024.0;
    /// The smallest storage limit accepted: 1 MiB.
    pub const MIN_STORAGE: u64 = 1024 * 1024;
    /// The largest storage limit accepted: 1 PiB.
    pub const MAX_STORAGE: u64 = 1024 * 1024 * 1024 * 1024 * 1024;

    /// Checks every limit against its bounds.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(c) = self.cpus
            && !(c.is_finite() && c > 0.0 && c <= Self::MAX_CPUS)
        {
            return Err(ValidationError::out_of_range(
                "limits.cpus",
                c,
                format!("greater than 0, at most {}", Self::MAX_CPUS),
            ));
        }
        if let Some(m) = self.memory_bytes
            && !(Self::MIN_MEMORY..=Self::MAX_MEMORY).contains(&m)
        {
            return Err(ValidationError::out_of_range(
                "limits.memory_bytes",
                m,
                "6 MiB (6291456) to 4 TiB",
            ));
        }
        if let Some(s) = self.storage_bytes
            && !(Self::MIN_STORAGE..=Self::MAX_STORAGE).contains(&s)
        {
            return Err(ValidationError::out_of_range(
                "limits.storage_bytes",
                s,
                "1 MiB (1048576) to 1 PiB",
            ));
        }
        Ok(())
    }
}

/// How a service's health is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HealthProbe {
    /// An HTTP GET that must answer with a status below 400 (or `expect_status`).
    Http {
        /// The container port.
        port: u16,
        /// The path, starting with `/`.
        path: String,
        /// The exact status expected, if not any status below 400.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect_status: Option<u16>,
    },
    /// A TCP connection that must be accepted.
    Tcp {
        /// The container port.
        port: u16,
    },
    /// A command run in the container that must exit 0.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
    },
}

impl HealthProbe {
    /// The kind of probe.
    pub fn kind(&self) -> super::HealthCheckKind {
        match self {
            HealthProbe::Http { .. } => super::HealthCheckKind::Http,
            HealthProbe::Tcp { .. } => super::HealthCheckKind::Tcp,
            HealthProbe::Command { .. } => super::HealthCheckKind::Command,
        }
    }

    /// What the probe targets, for display (`http :8080/health`).
    pub fn target(&self) -> String {
        match self {
            HealthProbe::Http { port, path, .. } => format!(":{port}{path}"),
            HealthProbe::Tcp { port } => format!(":{port}"),
            HealthProbe::Command { argv } => argv.join(" "),
        }
    }
}

/// A service's health check: what to probe and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthCheckConfig {
    /// What to probe.
    pub probe: HealthProbe,
    /// Time between checks (default 30 s).
    #[serde(with = "duration_ms")]
    pub interval: Duration,
    /// How long one check may take (default 5 s).
    #[serde(with = "duration_ms")]
    pub timeout: Duration,
    /// Consecutive failures before the service counts as unhealthy (default 3).
    pub retries: u32,
    /// Grace time after start during which failures don't count (default 0).
    #[serde(with = "duration_ms")]
    pub start_period: Duration,
}

impl HealthCheckConfig {
    /// A check of `probe` with the default timings.
    pub fn new(probe: HealthProbe) -> Self {
        Self {
            probe,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            retries: 3,
            start_period: Duration::ZERO,
        }
    }

    /// Checks the probe and the timings.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match &self.probe {
            HealthProbe::Http {
                port,
                path,
                expect_status,
            } => {
                if *port == 0 {
                    return Err(ValidationError::out_of_range(
                        "health_check.port",
                        0,
                        "1-65535",
                    ));
                }
                if !path.starts_with('/')
                    || path.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(ValidationError::invalid(
                        "health_check.path",
                        path.clone(),
                        "a path starting with '/' without spaces",
                    ));
                }
                if let Some(s) = expect_status
                    && !(100..=599).contains(s)
                {
                    return Err(ValidationError::out_of_range(
                        "health_check.expect_status",
                        s,
                        "100-599",
                    ));
                }
            }
            HealthProbe::Tcp { port } => {
                if *port == 0 {
                    return Err(ValidationError::out_of_range(
                        "health_check.port",
                        0,
                        "1-65535",
                    ));
                }
            }
            HealthProbe::Command { argv } => {
                if argv.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(ValidationError::invalid(
                        "health_check.argv",
                        "[]",
                        "a program to run",
                    ));
                }
            }
        }
        if self.interval < Duration::from_secs(1) || self.interval > Duration::from_secs(86_400) {
            return Err(ValidationError::out_of_range(
                "health_check.interval",
                format!("{:?}", self.interval),
                "1s to 24h",
            ));
        }
        if self.timeout.is_zero() || self.timeout > self.interval {
            return Err(ValidationError::out_of_range(
                "health_check.timeout",
                format!("{:?}", self.timeout),
                "more than 0, at most the interval",
            ));
        }
        if self.start_period > Duration::from_secs(86_400) {
            return Err(ValidationError::out_of_range(
                "health_check.start_period",
                format!("{:?}", self.start_period),
                "at most 24h",
            ));
        }
        if !(1..=100).contains(&self.retries) {
            return Err(ValidationError::out_of_range(
                "health_check.retries",
                self.retries,
                "1-100",
            ));
        }
        Ok(())
    }
}

/// Whether the engine restarts a service's containers when they exit on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RestartPolicy {
    /// Never (the default, as in compose): a crash leaves the replica down.
    #[default]
    Never,
    /// When it exits with a non-zero code, at most `max_retries` times in a row (the
    /// engine waits longer between attempts each time).
    OnFailure {
        /// The most attempts (1-100).
        max_retries: u32,
    },
    /// Whenever it exits, unless Kyozo stopped it.
    Always,
}

impl RestartPolicy {
    /// Checks the policy.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            RestartPolicy::OnFailure { max_retries } if !(1..=100).contains(max_retries) => Err(
                ValidationError::out_of_range("config.restart.max_retries", max_retries, "1-100"),
            ),
            _ => Ok(()),
        }
    }
}

/// What a service's process is meant to do: run until stopped, or run once to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServiceKind {
    /// Runs until it is stopped (a web server, a worker): a process that exits before
    /// it is ready fails its deployment.
    #[default]
    Service,
    /// Runs once to its end (a script, a migration): its deployment waits for it, and
    /// an exit with code 0 completes it.
    Job,
}

impl ServiceKind {
    /// `service` or `job`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Service => "service",
            ServiceKind::Job => "job",
        }
    }

    /// Whether this is the default kind (a service), for serde.
    pub fn is_service(&self) -> bool {
        *self == ServiceKind::Service
    }
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a service is built and run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct DeploymentConfig {
    /// The Dockerfile to build, relative to the build context (`None`: use or generate one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<PathBuf>,
    /// The text of a Dockerfile that is not a file of the project (one Kyozo generated,
    /// kept out of the user's folder), used when `dockerfile` is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile_text: Option<String>,
    /// The build context, relative to the workspace root (`None`: the service folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_context: Option<PathBuf>,
    /// The command to run instead of the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Build arguments.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
    /// Whether the engine restarts its containers when they exit on their own.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Whether it runs until stopped or once to its end.
    #[serde(default, skip_serializing_if = "ServiceKind::is_service")]
    pub kind: ServiceKind,
    /// The network of the build's `RUN` steps (`host` where the default bridge has no
    /// way out and the build downloads packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_network: Option<String>,
    /// Named volumes its containers mount (data that outlives them: a database's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeSpec>,
    /// Labels its plan gives its containers (`dev.kyozo.stack`), kept as the plan said
    /// them. Kyozo's own labels (`dev.kyozo.team`...) are the runtime's and are not
    /// among them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Labels its plan gives the images it builds, kept as the plan said them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_labels: BTreeMap<String, String>,
    /// The services its plan starts before it (by name). The runtime deploys one
    /// service at a time: the caller deploys these first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Env vars it reads that its plan could not give a value (their names): the user
    /// sets them in `env`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_required: Vec<String>,
}

/// A named volume a service mounts: the engine's volume is the workspace's
/// (`kyozo-<workspace>-<name>`), so redeploys keep its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VolumeSpec {
    /// Its name in the workspace (DNS label rules).
    pub name: String,
    /// Where it is mounted (an absolute path).
    pub path: String,
}

impl VolumeSpec {
    /// Volume `name` mounted at `path`.
    pub fn new(name: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
        }
    }

    /// Checks the name and the path.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_name("config.volumes.name", &self.name)?;
        if !self.path.starts_with('/')
            || self.path.split('/').any(|p| p == "..")
            || self.path.chars().any(|c| c == ':' || c.is_control())
        {
            return Err(ValidationError::invalid(
                "config.volumes.path",
                self.path.clone(),
                "an absolute path without '..' or ':'",
            ));
        }
        Ok(())
    }
}

/// One service of a workspace, and everything Kyozo knows about running it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceInstance {
    /// The service's id.
    pub id: ServiceId,
    /// Its name (DNS label rules), unique in its workspace by convention.
    pub name: String,
    /// The team it belongs to.
    pub team: TeamId,
    /// The workspace it belongs to.
    pub workspace: WorkspaceId,
    /// The service's folder, relative to the workspace root.
    pub folder: PathBuf,
    /// The stack the topology engine detected (`node`, `python`...), if any.
    pub stack: Option<String>,
    /// How sure the detection was, in [0, 1].
    pub confidence: Option<f64>,
    /// How it is built and run.
    pub config: DeploymentConfig,
    /// Its ports.
    pub ports: Vec<PortMapping>,
    /// Its environment as its plan (or whoever created it) says. Values are secrets:
    /// they never appear in events or logs.
    pub env: BTreeMap<String, SecretValue>,
    /// Env vars its people set themselves (`kyozo env set`, an env file), kept apart
    /// from `env` (a new plan replaces `env`, never these) and applied over it:
    /// [`ServiceInstance::effective_env`] is what its containers get.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, super::Setting>,
    /// Limits per replica.
    pub limits: ResourceLimits,
    /// How many replicas should run.
    pub replicas: u32,
    /// Its health check, if any.
    pub health_check: Option<HealthCheckConfig>,
    /// The image it runs (after a build or as given).
    pub image: Option<String>,
    /// The ids of its containers, as the engine knows them.
    pub container_ids: Vec<String>,
    /// Where it is in its lifecycle.
    pub status: ServiceStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last deployed.
    pub deployed_at: Option<Timestamp>,
    /// When its containers last started.
    pub started_at: Option<Timestamp>,
    /// When its containers last stopped.
    pub stopped_at: Option<Timestamp>,
    /// When its health was last checked.
    pub last_health_check_at: Option<Timestamp>,
    /// The member who created it (`None`: the system).
    pub created_by: Option<MemberId>,
}

/// The largest number of replicas a service may ask for.
pub const MAX_REPLICAS: u32 = 1000;

impl ServiceInstance {
    /// A new pending service named `name` in `workspace`, with one replica and no limits.
    pub fn new(
        team: TeamId,
        workspace: WorkspaceId,
        name: impl Into<String>,
        folder: impl Into<PathBuf>,
    ) -> Self {
        Self {
            id: ServiceId::new(),
            name: name.into(),
            team,
            workspace,
            folder: folder.into(),
            stack: None,
            confidence: None,
            config: DeploymentConfig::default(),
            ports: Vec::new(),
            env: BTreeMap::new(),
            settings: BTreeMap::new(),
            limits: ResourceLimits::default(),
            replicas: 1,
            health_check: None,
            image: None,
            container_ids: Vec::new(),
            status: ServiceStatus::Pending,
            created_at: Timestamp::now(),
            deployed_at: None,
            started_at: None,
            stopped_at: None,
            last_health_check_at: None,
            created_by: None,
        }
    }

    /// The env its containers get: [`env`](Self::env) with its
    /// [`settings`](Self::settings) over it.
    pub fn effective_env(&self) -> BTreeMap<String, SecretValue> {
        super::effective_env(&self.env, &self.settings)
    }

    /// Checks every field that has rules: name, ports, env names, limits, replicas,
    /// health check, stack confidence.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_name("service.name", &self.name)?;
        validate_ports(&self.ports)?;
        for name in self.env.keys().chain(self.settings.keys()) {
            validate_env_name(name)?;
        }
        self.limits.validate()?;
        if self.replicas > MAX_REPLICAS {
            return Err(ValidationError::out_of_range(
                "replicas",
                self.replicas,
                format!("0-{MAX_REPLICAS}"),
            ));
        }
        if let Some(hc) = &self.health_check {
            hc.validate()?;
        }
        self.config.restart.validate()?;
        for v in &self.config.volumes {
            v.validate()?;
        }
        if let Some(c) = self.confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(ValidationError::out_of_range("confidence", c, "0 to 1"));
        }
        if self.folder.is_absolute()
            || self
                .folder
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(ValidationError::invalid(
                "folder",
                self.folder.display().to_string(),
                "a path relative to the workspace root, without '..'",
            ));
        }
        let relative = |field: &str, path: &Option<PathBuf>| match path {
            Some(p)
                if p.is_absolute()
                    || p.components()
                        .any(|c| matches!(c, std::path::Component::ParentDir))
                    || p.to_string_lossy().chars().any(char::is_control) =>
            {
                Err(ValidationError::invalid(
                    field,
                    p.display().to_string(),
                    "a path relative to the workspace root, without '..'",
                ))
            }
            _ => Ok(()),
        };
        relative("config.build_context", &self.config.build_context)?;
        relative("config.dockerfile", &self.config.dockerfile)?;
        if let Some(n) = &self.config.build_network {
            let ok = !n.is_empty()
                && n.len() <= 128
                && n.starts_with(|c: char| c.is_ascii_alphanumeric())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                return Err(ValidationError::invalid(
                    "config.build_network",
                    n.clone(),
                    "a network name (letters, digits, '_', '.', '-')",
                ));
            }
        }
        Ok(())
    }

    /// Moves the service to `to`, stamping the matching timestamp, or refuses an illegal
    /// transition and leaves the service unchanged.
    pub fn set_status(
        &mut self,
        to: ServiceStatus,
        at: Timestamp,
    ) -> Result<(), StatusTransitionError> {
        self.status = self.status.transition(to)?;
        match to {
            ServiceStatus::Running
                if (self.started_at.is_none() || self.stopped_at >= self.started_at) =>
            {
                self.started_at = Some(at);
            }
            ServiceStatus::Deploying => self.deployed_at = Some(at),
            ServiceStatus::Stopped | ServiceStatus::Failed | ServiceStatus::Removed => {
                self.stopped_at = Some(at)
            }
            _ => {}
        }
        Ok(())
    }

    /// How long the service has been running at `now`: `None` unless it is running.
    pub fn uptime(&self, now: Timestamp) -> Option<Duration> {
        match (self.status, self.started_at) {
            (ServiceStatus::Running | ServiceStatus::Scaling, Some(started)) => {
                Some(now.duration_since(started))
            }
            _ => None,
        }
    }

    /// A one-line status for people: `running for 2h 5m (3 replicas)`, `failed 4m ago`.
    pub fn status_summary(&self, now: Timestamp) -> String {
        let replicas = match self.replicas {
            1 => String::new(),
            n => format!(" ({n} replicas)"),
        };
        let ago = |t: Option<Timestamp>| match t {
            Some(t) => format!(" {} ago", human_duration(now.duration_since(t))),
            None => String::new(),
        };
        match self.status {
            ServiceStatus::Running => match self.uptime(now) {
                Some(up) => format!("running for {}{replicas}", human_duration(up)),
                None => format!("running{replicas}"),
            },
            ServiceStatus::Pending => "pending: never deployed".to_string(),
            ServiceStatus::Building => "building its image".to_string(),
            ServiceStatus::Deploying => "deploying".to_string(),
            ServiceStatus::Scaling => format!("scaling to {} replicas", self.replicas),
            ServiceStatus::Stopped => format!("stopped{}", ago(self.stopped_at)),
            ServiceStatus::Failed => format!("failed{}", ago(self.stopped_at)),
            ServiceStatus::Removed => format!("removed{}", ago(self.stopped_at)),
        }
    }

    /// The latest metric measured against this service's limits.
    pub fn utilisation(&self, latest: &ServiceMetric) -> ResourceUtilisation {
        let cpu_percent_of_limit = self
            .limits
            .cpus
            .filter(|c| *c > 0.0)
            .map(|c| latest.cpu_percent / c);
        let memory_percent_of_limit = self
            .limits
            .memory_bytes
            .filter(|m| *m > 0)
            .map(|m| latest.memory_bytes as f64 * 100.0 / m as f64);
        ResourceUtilisation {
            cpu_percent_of_limit,
            memory_percent_of_limit,
            measured_at: latest.at,
        }
    }
}

/// Resource use against limits, in percent of the limit (`None`: no limit set).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceUtilisation {
    /// CPU use as a percentage of the CPU limit (100 = the whole limit).
    pub cpu_percent_of_limit: Option<f64>,
    /// Memory use as a percentage of the memory limit.
    pub memory_percent_of_limit: Option<f64>,
    /// When the metric was measured.
    pub measured_at: Timestamp,
}

/// Checks an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 256 bytes.
pub fn validate_env_name(name: &str) -> Result<(), ValidationError> {
    let mut bytes = name.bytes();
    let ok = name.len() <= 256
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::invalid(
            "env",
            name.chars().take(80).collect::<String>(),
            "a name of letters, digits and '_', not starting with a digit",
        ))
    }
}

/// A duration for people, two units at most: `45s`, `3m 20s`, `2h 5m`, `4d 1h`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins, secs) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m {secs}s")
    } else {
        format!("{secs}s")
    }
}

pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

pub(crate) mod duration_ms_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_millis))
    }
}
