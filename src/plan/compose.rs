//! The compose file of a plan (compose-spec), and the backing services it runs: their
//! images, health checks, named volumes, and the env vars that wire a service to them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{BaseImages, ImageSource, Plan, PlanError};

/// A backing service a plan runs for its services. Printed (serialized) with its
/// `spec`, the [`DeploySpec`](super::DeploySpec) the runtime runs it by, as an app
/// service's plan is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "BackingPlanShown")]
#[non_exhaustive]
pub struct BackingPlan {
    /// Its name, which is also its host name on the plan's network (`postgres`).
    pub name: String,
    /// Its image.
    pub image: String,
    /// The port it listens on.
    pub port: u16,
    /// Its own env (user, database; the password from `${NAME:-default}`).
    pub env: BTreeMap<String, String>,
    /// The command that says it is healthy.
    pub health: Vec<String>,
    /// Its named volume and where it is mounted (its data).
    pub volume: Option<(String, String)>,
    /// What a service that needs it is told (`DATABASE_URL`...).
    pub wiring: BTreeMap<String, String>,
}

impl BackingPlan {
    /// What the runtime runs it by: its image, its env (compose's `${NAME:-default}`
    /// kept, filled in by [`DeploySpec::service`](super::DeploySpec::service)), its
    /// health command (every 2 s, up to a minute to become ready), its volume, no
    /// published port (its neighbours reach it by its name on the workspace's
    /// network), restarted when it fails (a few times: the compose file says the same).
    pub fn spec(&self) -> super::DeploySpec {
        use crate::model::{HealthCheckConfig, HealthProbe, VolumeSpec};
        let line = self.health.last().cloned().unwrap_or_default();
        let mut check = HealthCheckConfig::new(HealthProbe::Command {
            argv: vec!["sh".into(), "-c".into(), line],
        });
        check.interval = std::time::Duration::from_secs(2);
        check.timeout = std::time::Duration::from_secs(2);
        check.retries = 30;
        super::DeploySpec {
            name: self.name.clone(),
            image: self.image.clone(),
            build: None,
            env: self.env.clone(),
            env_required: Vec::new(),
            ports: Vec::new(),
            limits: crate::model::ResourceLimits::default(),
            health: Some(check),
            replicas: 1,
            labels: BTreeMap::new(),
            depends_on: Vec::new(),
            kind: crate::model::ServiceKind::Service,
            restart: BACKING_RESTART,
            volumes: self
                .volume
                .iter()
                .map(|(volume, path)| VolumeSpec::new(volume.clone(), path.clone()))
                .collect(),
        }
    }

    /// The service to create in `workspace` to run this backing service with the
    /// runtime: [`spec`](Self::spec)'s, its stack the backing service's kind.
    pub fn service(
        &self,
        team: crate::model::TeamId,
        workspace: crate::model::WorkspaceId,
    ) -> crate::model::ServiceInstance {
        let mut s = self.spec().service(team, workspace, ".");
        s.stack = Some(self.name.clone());
        s
    }
}

/// How a [`BackingPlan`] is printed: its fields and its spec.
#[derive(Serialize)]
struct BackingPlanShown {
    name: String,
    image: String,
    port: u16,
    env: BTreeMap<String, String>,
    health: Vec<String>,
    volume: Option<(String, String)>,
    wiring: BTreeMap<String, String>,
    spec: super::DeploySpec,
}

impl From<BackingPlan> for BackingPlanShown {
    fn from(b: BackingPlan) -> Self {
        let spec = b.spec();
        Self {
            name: b.name,
            image: b.image,
            port: b.port,
            env: b.env,
            health: b.health,
            volume: b.volume,
            wiring: b.wiring,
            spec,
        }
    }
}

/// How a backing service is restarted, by the runtime and in the compose file alike:
/// when it fails, a few times (a database that cannot start is not retried forever).
const BACKING_RESTART: crate::model::RestartPolicy =
    crate::model::RestartPolicy::OnFailure { max_retries: 5 };

/// A restart policy as compose writes it.
fn compose_restart(policy: crate::model::RestartPolicy) -> String {
    use crate::model::RestartPolicy;
    match policy {
        RestartPolicy::Never => "no".into(),
        RestartPolicy::OnFailure { max_retries } => format!("on-failure:{max_retries}"),
        RestartPolicy::Always => "unless-stopped".into(),
    }
}

/// The plan of the backing service `name` (as the topology names it: `postgres`,
/// `redis`...), with its image from `images`; `None` when Kyozo does not know how to
/// run it or has no image for it.
pub fn backing_service(name: &str, images: &BaseImages) -> Option<BackingPlan> {
    let image = images.lookup(name, None)?.to_string();
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let cmd = |line: &str| vec!["CMD-SHELL".to_string(), line.to_string()];
    let volume = |path: &str| Some((format!("{name}-data"), path.to_string()));
    let plan = match name {
        "postgres" => BackingPlan {
            name: name.into(),
            image,
            port: 5432,
            env: map(&[
                ("POSTGRES_USER", "kyozo"),
                ("POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:-kyozo}"),
                ("POSTGRES_DB", "kyozo"),
            ]),
            health: cmd("pg_isready -U kyozo -d kyozo"),
            volume: volume("/var/lib/postgresql/data"),
            wiring: map(&[(
                "DATABASE_URL",
                "postgres://kyozo:${POSTGRES_PASSWORD:-kyozo}@postgres:5432/kyozo",
            )]),
        },
        "mysql" | "mariadb" => BackingPlan {
            name: name.into(),
            image,
            port: 3306,
            env: map(&[
                ("MYSQL_USER", "kyozo"),
                ("MYSQL_PASSWORD", "${MYSQL_PASSWORD:-kyozo}"),
                ("MYSQL_DATABASE", "kyozo"),
                ("MYSQL_RANDOM_ROOT_PASSWORD", "yes"),
            ]),
            health: cmd(if name == "mariadb" {
                "healthcheck.sh --connect --innodb_initialized"
            } else {
                "mysqladmin ping -h 127.0.0.1 --silent"
            }),
            volume: volume("/var/lib/mysql"),
            wiring: BTreeMap::from([(
                "DATABASE_URL".to_string(),
                format!("mysql://kyozo:${{MYSQL_PASSWORD:-kyozo}}@{name}:3306/kyozo"),
            )]),
        },
        "redis" => BackingPlan {
            name: name.into(),
            image,
            port: 6379,
            env: BTreeMap::new(),
            health: cmd("redis-cli ping | grep -q PONG"),
            volume: volume("/data"),
            wiring: map(&[("REDIS_URL", "redis://redis:6379/0")]),
        },
        "mongodb" => BackingPlan {
            name: name.into(),
            image,
            port: 27017,
            env: BTreeMap::new(),
            health: cmd("mongosh --quiet --eval 'db.runCommand({ ping: 1 }).ok' | grep -q 1"),
            volume: volume("/data/db"),
            wiring: map(&[
                ("MONGODB_URI", "mongodb://mongodb:27017/kyozo"),
                ("MONGO_URL", "mongodb://mongodb:27017/kyozo"),
            ]),
        },
        "rabbitmq" => BackingPlan {
            name: name.into(),
            image,
            port: 5672,
            env: BTreeMap::new(),
            health: cmd("rabbitmq-diagnostics -q ping"),
            volume: volume("/var/lib/rabbitmq"),
            wiring: map(&[
                ("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/"),
                ("RABBITMQ_URL", "amqp://guest:guest@rabbitmq:5672/"),
            ]),
        },
        "memcached" => BackingPlan {
            name: name.into(),
            image,
            port: 11211,
            env: BTreeMap::new(),
            health: cmd("echo stats | nc -w 1 127.0.0.1 11211 | grep -q uptime"),
            volume: None,
            wiring: map(&[("MEMCACHED_URL", "memcached:11211")]),
        },
        _ => return None,
    };
    Some(plan)
}

#[derive(Serialize)]
struct Compose {
    services: BTreeMap<String, ComposeService>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    volumes: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Serialize, Default)]
struct ComposeService {
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<ComposeBuild>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    depends_on: BTreeMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    restart: String,
}

#[derive(Serialize)]
struct ComposeBuild {
    context: String,
    dockerfile: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct DependsOn {
    condition: &'static str,
}

#[derive(Serialize)]
struct Healthcheck {
    test: Vec<String>,
    interval: &'static str,
    timeout: &'static str,
    retries: u32,
    start_period: &'static str,
}

/// The compose file of `plan`, to be written in `dest`: its paths relative to the
/// folder analysed when `dest` is that folder, else absolute (the build contexts in
/// the folder analysed, the generated Dockerfiles in `dest`).
pub(super) fn render(plan: &Plan, dest: &std::path::Path) -> Result<String, PlanError> {
    let elsewhere = dest != plan.root;
    let mut services = BTreeMap::new();
    let mut volumes = BTreeMap::new();
    // Which services say when they are healthy: `depends_on` waits for that.
    let mut healthy: BTreeMap<&str, bool> = BTreeMap::new();
    for b in &plan.backing {
        healthy.insert(&b.name, true);
    }
    for s in &plan.services {
        // A generated Dockerfile has a HEALTHCHECK when the service has a port.
        let checks = match &s.source {
            ImageSource::Generated { file } => {
                file.contents.lines().any(|l| l.starts_with("HEALTHCHECK "))
            }
            _ => false,
        };
        healthy.insert(&s.name, checks);
    }
    for b in &plan.backing {
        let mut service = ComposeService {
            image: Some(b.image.clone()),
            environment: b.env.clone(),
            healthcheck: Some(Healthcheck {
                test: b.health.clone(),
                interval: "5s",
                timeout: "5s",
                retries: 20,
                start_period: "10s",
            }),
            labels: BTreeMap::from([("dev.kyozo.backing".to_string(), b.name.clone())]),
            restart: compose_restart(BACKING_RESTART),
            ..ComposeService::default()
        };
        if let Some((volume, path)) = &b.volume {
            service.volumes.push(format!("{volume}:{path}"));
            volumes.insert(volume.clone(), BTreeMap::new());
        }
        services.insert(b.name.clone(), service);
    }
    for s in plan
        .services
        .iter()
        .filter(|s| !plan.user_services.contains(&s.name))
    {
        let spec = &s.spec;
        let service = ComposeService {
            image: Some(literal(&spec.image)),
            build: spec.build.as_ref().map(|b| ComposeBuild {
                context: literal(&if elsewhere {
                    plan.root.join(&b.context).display().to_string()
                } else {
                    dot_slash(&b.context)
                }),
                dockerfile: literal(&match &s.source {
                    ImageSource::Generated { file } if elsewhere => {
                        dest.join(&file.path).display().to_string()
                    }
                    _ => b.dockerfile.clone(),
                }),
                args: literals(&b.args),
                network: b.network.as_deref().map(literal),
                labels: literals(&b.labels),
            }),
            // Kyozo's own wiring, which uses compose's `${NAME:-default}` on purpose.
            environment: spec.env.clone(),
            ports: spec
                .ports
                .iter()
                .map(|p| {
                    let ip = match p.host_ip {
                        Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]:"),
                        Some(ip) => format!("{ip}:"),
                        None => String::new(),
                    };
                    match (p.host_port, ip.is_empty()) {
                        (Some(h), _) => format!("{ip}{h}:{}", p.container_port),
                        (None, false) => format!("{ip}:{}", p.container_port),
                        (None, true) => p.container_port.to_string(),
                    }
                })
                .collect(),
            depends_on: spec
                .depends_on
                .iter()
                .map(|d| {
                    let condition = if healthy.get(d.as_str()).copied().unwrap_or(false) {
                        "service_healthy"
                    } else {
                        "service_started"
                    };
                    (d.clone(), DependsOn { condition })
                })
                .collect(),
            labels: literals(&spec.labels),
            restart: compose_restart(spec.restart),
            ..ComposeService::default()
        };
        services.insert(s.name.clone(), service);
    }
    let compose = Compose { services, volumes };
    let yaml = serde_saphyr::to_string(&compose).map_err(|e| PlanError::Compose(e.to_string()))?;
    Ok(format!(
        "# {} from what it found in this folder. Edit it freely: once edited,\n# it is yours and Kyozo never replaces it.\n{yaml}",
        super::GENERATED_MARK
    ))
}

/// A value from the folder as compose reads it literally: compose interpolates `$` in
/// every value, so a folder named `a$HOME` must be written `a$$HOME`. (YAML quoting is
/// the serializer's.)
fn literal(value: &str) -> String {
    value.replace('$', "$$")
}

/// [`literal`] on every value of a map.
fn literals(map: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), literal(v))).collect()
}

/// A relative path as compose likes it (`./api`, `.`).
fn dot_slash(path: &str) -> String {
    match path.trim_end_matches('/') {
        "" | "." => ".".into(),
        p if p.starts_with("./") || p.starts_with('/') => p.into(),
        p => format!("./{p}"),
    }
}
