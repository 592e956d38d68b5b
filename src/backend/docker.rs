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
}

impl DockerBackend {
    /// Connects to the engine named by `DOCKER_HOST`, or to the default socket
    /// (`/var/run/docker.sock`).
    pub async fn connect() -> Result<Self, BackendError> {
        let endpoint =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let docker = Docker::connect_with_defaults().map_err(|e| unavailable(&endpoint, &e))?;
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
        .map_err(|e| unavailable(&endpoint, &e))?;
        Self::negotiate(docker, endpoint).await
    }

    async fn negotiate(docker: Docker, endpoint: String) -> Result<Self, BackendError> {
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| unavailable(&endpoint, &e))?;
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
        })
    }

    /// Where the engine is (`unix:///var/run/docker.sock`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn error(&self, kind: &'static str, id: &str, e: DockerError) -> BackendError {
        match e {
            DockerError::DockerResponseServerError {
                status_code: 404, ..
            } => BackendError::NotFound {
                kind,
                id: id.to_string(),
            },
            DockerError::DockerResponseServerError {
                status_code: 409,
                message,
            } => BackendError::Conflict(message),
            DockerError::DockerResponseServerError { message, .. } => BackendError::Engine(message),
            // The engine could not be talked to at all.
            other @ (DockerError::IOError { .. }
            | DockerError::HyperResponseError { .. }
            | DockerError::HyperLegacyError { .. }
            | DockerError::HttpClientError { .. }
            | DockerError::RequestTimeoutError
            | DockerError::SocketNotFoundError(_)) => unavailable(&self.endpoint, &other),
            // It answered, with something unexpected.
            other => BackendError::Engine(other.to_string()),
        }
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
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                DockerError::DockerStreamError { error } => BackendError::Pull {
                    image: image.to_string(),
                    reason: error,
                },
                DockerError::DockerResponseServerError { message, .. } => BackendError::Pull {
                    image: image.to_string(),
                    reason: message,
                },
                other => self.error("image", image, other),
            })?;
            if let Some(detail) = info.error_detail {
                return Err(BackendError::Pull {
                    image: image.to_string(),
                    reason: detail.message.unwrap_or_default(),
                });
            }
        }
        Ok(())
    }
}

/// Errors that say the engine could not be talked to at all.
fn unavailable(endpoint: &str, e: &DockerError) -> BackendError {
    BackendError::Unavailable {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    }
}

fn labels_with_kyozo(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    let mut all: HashMap<String, String> =
        labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    all.insert(LABEL_MANAGED_BY.into(), "kyozo".into());
    all
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

#[async_trait::async_trait]
impl ContainerBackend for DockerBackend {
    async fn info(&self) -> Result<BackendInfo, BackendError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|e| unavailable(&self.endpoint, &e))?;
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
        let context = spec.context.clone();
        let dockerfile = spec.dockerfile.trim_start_matches("./").to_string();
        let inline = spec.dockerfile_contents.clone();
        let body = tokio::task::spawn_blocking(move || {
            super::context::pack(&context, &dockerfile, inline.as_deref())
        })
        .await
        .map_err(|e| BackendError::Engine(e.to_string()))??;
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
            labels: Some(labels_with_kyozo(&spec.labels)),
            networkmode: spec.network.clone(),
            ..BuildImageOptions::default()
        };
        let mut stream = self.docker.build_image(
            options,
            None,
            Some(bollard::body_full(bytes::Bytes::from(body))),
        );
        let mut tail: Vec<String> = Vec::new();
        let mut built: Option<String> = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                DockerError::DockerStreamError { error } => BackendError::Build {
                    tag: spec.tag.clone(),
                    message: format!("{error}\n{}", tail.join("\n")),
                },
                other => self.error("image", &spec.tag, other),
            })?;
            if let Some(line) = info.stream {
                for l in line.lines().filter(|l| !l.trim().is_empty()) {
                    tail.push(l.to_string());
                    if tail.len() > 20 {
                        tail.remove(0);
                    }
                    progress(BuildProgress::Output(l.to_string()));
                }
            }
            if let Some(detail) = info.error_detail {
                return Err(BackendError::Build {
                    tag: spec.tag.clone(),
                    message: format!(
                        "{}\n{}",
                        detail.message.unwrap_or_default(),
                        tail.join("\n")
                    ),
                });
            }
            if let Some(id) = info.aux.and_then(|a| a.id) {
                built = Some(id);
            }
        }
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
                    host_ip: None,
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
            binds: (!spec.volumes.is_empty()).then(|| {
                spec.volumes
                    .iter()
                    .map(|v| format!("{}:{}", v.volume, v.path))
                    .collect()
            }),
            ..host_config
        };
        let networking_config = spec.network.as_ref().map(|network| NetworkingConfig {
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
                BackendError::Conflict(message) => {
                    let existing = self.inspect(&spec.name).await?;
                    if existing.image == spec.image
                        && existing.labels.get(LABEL_MANAGED_BY).map(String::as_str)
                            == Some("kyozo")
                    {
                        Ok(existing.id)
                    } else {
                        Err(BackendError::Conflict(message))
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
        let published = c.network_settings.and_then(|n| n.ports).unwrap_or_default();
        for (key, bindings) in published {
            let Some(container) = key.split('/').next().and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            let host = bindings
                .into_iter()
                .flatten()
                .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()));
            if let Some(host) = host {
                ports.insert(container, host);
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
                    BackendError::NotFound { .. } | BackendError::Conflict(_) => {}
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
            None => Err(BackendError::Engine(format!("waiting for {id}: no answer"))),
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
        let owned = |labels: Option<&HashMap<String, String>>| {
            labels
                .and_then(|l| l.get(LABEL_MANAGED_BY))
                .is_some_and(|v| v == "kyozo")
        };
        if let Ok(existing) = self.docker.inspect_network(name, None).await {
            if owned(existing.labels.as_ref()) {
                return Ok(existing.id.unwrap_or_default());
            }
            return Err(BackendError::Conflict(format!(
                "a network named {name} exists and is not Kyozo's"
            )));
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels_with_kyozo(labels)),
            ..NetworkCreateRequest::default()
        };
        match self.docker.create_network(request).await {
            Ok(created) => Ok(created.id),
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
            return Err(BackendError::Conflict(format!(
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
