//! Deployment plans: from a [`Topology`], the files that build and run it.
//!
//! For every service the topology found, a [`ServicePlan`]: its Dockerfile (the one
//! the user wrote, kept as it is, or one generated from the template of its stack),
//! a `.dockerignore` when it has none, and the [`DeploySpec`] the runtime hands to a
//! container backend. For the whole folder, a compose file (compose-spec) with every
//! service, the backing services they need (postgres, redis...) with health checks and
//! named volumes, env wiring between them (`DATABASE_URL` pointing at the postgres
//! service) and `depends_on` gated on health where a health check exists.
//!
//! Kyozo never rewrites what the user wrote: it only fills gaps. What it cannot plan
//! (a stack without a template, a service without a start command) is left out with a
//! recommendation saying why and what to do, never a broken file.

mod base_of;
mod compose;
mod images;
mod install;
mod stacks;
mod static_site;
mod templates;
mod user_compose;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use base_of::BaseImage;
pub use compose::{BackingPlan, backing_service};
pub use images::BaseImages;
pub use install::{BuildTools, TESTED_CONSTRAINTS, TESTED_VERSIONS};
pub use templates::Templates;

use crate::model::{
    HealthCheckConfig, HealthProbe, PortMapping, ResourceLimits, RestartPolicy, ServiceKind,
};
use crate::topology::{Topology, TopologyService, join};
use stacks::*;
use user_compose::*;

/// Planning failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// No template for a stack.
    #[error("no Dockerfile template for the stack {0}")]
    NoTemplate(String),
    /// A template does not parse or render.
    #[error("the Dockerfile template for {stack} is broken: {message}")]
    Template {
        /// The stack.
        stack: String,
        /// The template engine's error.
        message: String,
    },
    /// A command needs a tool the stack's base image does not have.
    #[error(
        "{command:?} needs {tool}, which the {stack} base image Kyozo uses does not have: write a Dockerfile, or give the planner a template for {stack}"
    )]
    MissingTool {
        /// The tool.
        tool: String,
        /// The stack.
        stack: String,
        /// The command that needs it.
        command: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A value from the folder (a folder, file or package name, a command) cannot be
    /// put in the generated file safely: the service is not planned.
    #[error(
        "{service}: the {variable} {value:?} (from {origin}) {reason}: Kyozo does not put it in a Dockerfile; rename it, or write a Dockerfile for {service}"
    )]
    Unsafe {
        /// The service.
        service: String,
        /// The template variable (`install`, `workdir`...).
        variable: String,
        /// Where the value came from (a file or folder of the project), its control
        /// characters escaped.
        origin: String,
        /// The value.
        value: String,
        /// Why it cannot be put there.
        reason: String,
    },
    /// The compose file could not be written as YAML.
    #[error("cannot write the compose file: {0}")]
    Compose(String),
}

/// How generated images are built: what the runtime and the compose file pass to the
/// builder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The network of `RUN` steps: `host` where the default bridge has no way out and
    /// a build downloads packages.
    pub network: Option<String>,
    /// Build arguments for every image.
    pub args: BTreeMap<String, String>,
    /// Labels for every image.
    pub labels: BTreeMap<String, String>,
}

/// Makes plans: base images, templates and build options, all replaceable.
#[derive(Debug, Clone, Default)]
pub struct Planner {
    images: BaseImages,
    templates: Templates,
    build: BuildOptions,
    host_ports: BTreeMap<String, u16>,
    tools: BuildTools,
}

/// A file a plan writes, relative to the folder analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlannedFile {
    /// Where, relative to the folder (`api/Dockerfile`).
    pub path: String,
    /// What.
    pub contents: String,
}

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageSource {
    /// The Dockerfile the user wrote (its path from the folder), kept as it is.
    Existing {
        /// Its path.
        path: String,
    },
    /// A Dockerfile Kyozo generates.
    Generated {
        /// The file.
        file: PlannedFile,
    },
    /// An image the service runs as it is.
    Image {
        /// The image.
        image: String,
    },
}

/// How an image is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BuildPlan {
    /// The build context, from the folder analysed (`.` or `apps/web`; the workspace
    /// root for an app of a monorepo that needs its shared packages).
    pub context: String,
    /// The Dockerfile, from the context.
    pub dockerfile: String,
    /// Build arguments.
    pub args: BTreeMap<String, String>,
    /// The network of `RUN` steps.
    pub network: Option<String>,
    /// Labels of the image.
    pub labels: BTreeMap<String, String>,
}

/// What the runtime needs to run a service.
///
/// [`DeploySpec::service`] makes the runtime's [`ServiceInstance`](crate::model::ServiceInstance)
/// from it and [`DeploySpec::from_service`] gives it back: the round trip keeps every
/// field (env values come back as the runtime runs them: [`DeploySpec::resolved`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeploySpec {
    /// The service.
    pub name: String,
    /// The image to run (built under this tag when `build` is set).
    pub image: String,
    /// How to build it, unless it runs as it is.
    pub build: Option<BuildPlan>,
    /// Env vars Kyozo sets: the wiring to backing services (`DATABASE_URL`...) and
    /// `PORT`. Values may use compose's `${NAME:-default}` for what the user supplies.
    pub env: BTreeMap<String, String>,
    /// Env vars the service reads that the user must supply (their names).
    pub env_required: Vec<String>,
    /// Ports, each published on a host port of its own.
    pub ports: Vec<PortMapping>,
    /// Limits per replica (none by default).
    pub limits: ResourceLimits,
    /// How to tell it is healthy.
    pub health: Option<HealthCheckConfig>,
    /// How many replicas.
    pub replicas: u32,
    /// Labels of its containers.
    pub labels: BTreeMap<String, String>,
    /// The services it needs first.
    pub depends_on: Vec<String>,
    /// Whether it runs until stopped (a service) or once to its end (a job): see
    /// `docs/plans.md`, "Services and jobs", for how the plan tells.
    #[serde(default)]
    pub kind: ServiceKind,
    /// Whether the engine restarts its containers when they exit on their own: a
    /// service comes back ([`RestartPolicy::Always`], the engine's and compose's
    /// `unless-stopped`); a job does not ([`RestartPolicy::Never`], compose's `no`).
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Named volumes it mounts (a backing service's data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<crate::model::VolumeSpec>,
}

/// The plan of one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ServicePlan {
    /// Its name.
    pub name: String,
    /// Its folder, from the folder analysed.
    pub path: String,
    /// Where its image comes from.
    pub source: ImageSource,
    /// A `.dockerignore` for its build context, when it has none.
    pub dockerignore: Option<PlannedFile>,
    /// How to run it.
    pub spec: DeploySpec,
}

/// What Kyozo will do with a folder.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The folder analysed.
    pub root: PathBuf,
    /// The services it can deploy, in start order.
    pub services: Vec<ServicePlan>,
    /// The backing services they need.
    pub backing: Vec<BackingPlan>,
    /// The compose file the user wrote, if any (kept; Kyozo's goes beside it).
    pub user_compose: Option<String>,
    /// The services the user's compose file runs: Kyozo's compose file leaves them (and
    /// the backing services they need) to it.
    pub user_services: BTreeSet<String>,
    /// What Kyozo could not plan, or what the user should know.
    pub recommendations: Vec<crate::topology::Recommendation>,
}

/// What [`Plan::write`] did with one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// What happened to it.
    pub outcome: WriteOutcome,
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WriteOutcome {
    /// Written; there was none.
    Created,
    /// Written over a file Kyozo had generated, or over the user's with `force`.
    Replaced,
    /// Left alone: the same contents are there.
    Unchanged,
    /// Left alone: a file of the user's is there (write with `force` to replace it).
    KeptUsers,
}

pub use crate::generated::GENERATED_MARK;
use crate::generated::{is_pristine, seal};

/// The label a plan gives a service's containers and images: its stack (`node`).
pub const STACK_LABEL: &str = "dev.kyozo.stack";

/// The port a static site is served on in the image Kyozo generates for it (Caddy's),
/// the port HTTP has; it is published on [`STATIC_HOST_PORT`] unless told otherwise.
pub const STATIC_PORT: u16 = 80;

/// The host port a generated static site's port is published on (no root needed).
pub const STATIC_HOST_PORT: u16 = 8080;

/// The route of a generated static site's image that answers its health check, ahead
/// of any basic auth (the site's own pages may all need a password).
pub const STATIC_HEALTH_PATH: &str = "/.kyozo/health";

/// The compose file Kyozo writes (beside the user's, if there is one).
pub const COMPOSE_FILE: &str = "compose.kyozo.yaml";

impl Planner {
    /// A planner with the default base images and templates.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses these base images.
    #[must_use]
    pub fn with_images(mut self, images: BaseImages) -> Self {
        self.images = images;
        self
    }

    /// Uses these templates.
    #[must_use]
    pub fn with_templates(mut self, templates: Templates) -> Self {
        self.templates = templates;
        self
    }

    /// Builds with these options.
    #[must_use]
    pub fn with_build_options(mut self, build: BuildOptions) -> Self {
        self.build = build;
        self
    }

    /// Host ports chosen per service: the service's first published port is published
    /// on this host port, whatever the folder says (and no other service takes it).
    #[must_use]
    pub fn with_host_ports(mut self, ports: BTreeMap<String, u16>) -> Self {
        self.host_ports = ports;
        self
    }

    /// Fetches installers at these versions and adds these Debian packages
    /// ([`BuildTools`]).
    #[must_use]
    pub fn with_build_tools(mut self, tools: BuildTools) -> Self {
        self.tools = tools;
        self
    }

    /// The plan for `topology`.
    pub fn plan(&self, topology: &Topology) -> Plan {
        let mut recommendations = Vec::new();
        let recommend = |r: &mut Vec<crate::topology::Recommendation>,
                         service: Option<&str>,
                         code: &str,
                         message: String| {
            r.push(crate::topology::Recommendation::new(
                service.map(str::to_string),
                code,
                message,
            ));
        };
        // The folder as the detectors saw it: the planner reads nothing else.
        let files = Files::of(topology);
        // The user's compose file, and the services it runs (with their backing
        // services): those stay the user's.
        let user_compose = [
            "compose.yaml",
            "compose.yml",
            "docker-compose.yaml",
            "docker-compose.yml",
        ]
        .iter()
        .find(|f| files.is_file(f))
        .map(|f| f.to_string());
        let user_doc = user_compose.as_ref().map(|f| {
            files.read(f).and_then(|text| {
                serde_saphyr::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
            })
        });
        // The ports the user's compose file publishes, as it publishes them (host
        // address included).
        let mut compose_ports: BTreeMap<String, ComposePorts> = BTreeMap::new();
        let mut user_value: Option<serde_json::Value> = None;
        let user_services: BTreeSet<String> = match (&user_compose, user_doc) {
            (Some(file), Some(Err(why))) => {
                let first = why.lines().next().unwrap_or("").to_string();
                recommend(
                    &mut recommendations,
                    None,
                    "compose-unreadable",
                    format!(
                        "{file} does not parse ({first}): Kyozo's compose file runs every service on its own; fix {file} or remove it"
                    ),
                );
                BTreeSet::new()
            }
            (Some(file), Some(Ok(doc))) => {
                let mut names = compose_services(&doc);
                compose_ports = published_ports(&doc, file, &mut recommendations);
                user_value = Some(doc.clone());
                // And its override file, which compose reads with it.
                let stem = file.rsplit_once('.').map_or(file.as_str(), |(s, _)| s);
                for ext in ["yaml", "yml"] {
                    let override_file = format!("{stem}.override.{ext}");
                    if let Some(doc) = files
                        .text(&override_file)
                        .and_then(|t| serde_saphyr::from_str::<serde_json::Value>(&t).ok())
                    {
                        names.extend(compose_services(&doc));
                        // Compose adds an override's ports to the file's.
                        for (name, ports) in
                            published_ports(&doc, &override_file, &mut recommendations)
                        {
                            let known = compose_ports.entry(name).or_default();
                            known.unreadable |= ports.unreadable;
                            for p in ports.list {
                                if !known
                                    .list
                                    .iter()
                                    .any(|m| m.container_port == p.container_port)
                                {
                                    known.list.push(p);
                                }
                            }
                        }
                    }
                }
                names
            }
            _ => BTreeSet::new(),
        };
        // An unreadable compose file is not one to run beside Kyozo's.
        let user_compose = user_compose.filter(|_| {
            !recommendations
                .iter()
                .any(|r| r.code == "compose-unreadable")
        });
        let mut services: Vec<ServicePlan> = Vec::new();
        let mut backing_names: BTreeSet<String> = BTreeSet::new();
        for found in &topology.services {
            match self.plan_service(&files, found) {
                Ok(plan) => {
                    if !user_services.contains(&found.name) {
                        backing_names.extend(found.backing_services.iter().cloned());
                    }
                    services.push(plan);
                }
                Err(why) => recommend(&mut recommendations, Some(&found.name), why.0, why.1),
            }
        }
        // Backing services, with what the services that need them are told.
        let mut backing = Vec::new();
        let app_names: BTreeSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
        for name in &backing_names {
            if user_services.contains(name) {
                // The user's compose file runs one by that name: theirs serves.
                continue;
            }
            if app_names.contains(name.as_str()) {
                recommend(
                    &mut recommendations,
                    Some(name),
                    "backing-service-name-taken",
                    format!(
                        "a service of the project is named {name}, like the backing service its neighbours need: Kyozo does not add one; rename the service or run {name} yourself"
                    ),
                );
                continue;
            }
            match backing_service(name, &self.images) {
                Some(b) => backing.push(b),
                None => recommend(
                    &mut recommendations,
                    None,
                    "backing-service-unplanned",
                    format!(
                        "{name} is needed but Kyozo has no image for it: add it to the base-image map or run it yourself"
                    ),
                ),
            }
        }
        // The backing services the user's compose file runs from an image (its `db`,
        // its `cache`), as it runs them: `up` starts them too, under their names, and
        // its services get the env the file gives them.
        if let Some(doc) = user_value.as_ref().filter(|_| user_compose.is_some()) {
            let from_compose = compose_backing(doc, &self.images);
            let apps: BTreeSet<String> = services.iter().map(|s| s.name.clone()).collect();
            for b in from_compose.backing {
                if !backing.iter().any(|x| x.name == b.name) && !apps.contains(&b.name) {
                    backing.push(b);
                }
            }
            for s in &mut services {
                if let Some(env) = from_compose.env.get(&s.name) {
                    for (k, v) in env {
                        s.spec.env.insert(k.clone(), v.clone());
                    }
                }
                if let Some(deps) = from_compose.depends_on.get(&s.name) {
                    s.spec.depends_on.extend(deps.iter().cloned());
                }
            }
        }
        let planned: BTreeSet<String> = services.iter().map(|s| s.name.clone()).collect();
        let ports_of: BTreeMap<String, u16> = services
            .iter()
            .filter_map(|s| Some((s.name.clone(), s.spec.ports.first()?.container_port)))
            .collect();
        for s in &mut services {
            let found = topology
                .services
                .iter()
                .find(|f| f.name == s.name)
                .map(|f| f.backing_services.clone())
                .unwrap_or_default();
            for b in backing.iter().filter(|b| found.contains(&b.name)) {
                for (k, v) in &b.wiring {
                    s.spec.env.entry(k.clone()).or_insert_with(|| v.clone());
                }
                s.spec.depends_on.push(b.name.clone());
            }
            s.spec.env_required.retain(|e| !s.spec.env.contains_key(e));
            // `API_URL` of a service that depends on `api`: the address of `api`.
            let needed = s.spec.env_required.clone();
            for dep in &s.spec.depends_on {
                let Some(port) = ports_of.get(dep) else {
                    continue;
                };
                let prefix = dep.to_uppercase().replace('-', "_");
                for var in &needed {
                    if var == &format!("{prefix}_URL") || var == &format!("{prefix}_BASE_URL") {
                        s.spec
                            .env
                            .insert(var.clone(), format!("http://{dep}:{port}"));
                    }
                }
            }
            s.spec.env_required.retain(|e| !s.spec.env.contains_key(e));
            // Dependencies on services Kyozo could not plan are dropped (said above).
            s.spec
                .depends_on
                .retain(|d| planned.contains(d) || backing.iter().any(|b| &b.name == d));
            s.spec.depends_on.sort();
            s.spec.depends_on.dedup();
            if !s.spec.env_required.is_empty() && !user_services.contains(&s.name) {
                recommend(
                    &mut recommendations,
                    Some(&s.name),
                    "env-required",
                    format!(
                        "it reads {} and Kyozo cannot know the values: set them before deploying",
                        s.spec.env_required.join(", ")
                    ),
                );
            }
        }
        for s in &mut services {
            if let Some(ports) = compose_ports.get(&s.name) {
                let mut list = ports.list.clone();
                if ports.unreadable {
                    // The ports the topology read (with `.env`) that this could not.
                    for p in &s.spec.ports {
                        if !list.iter().any(|m| m.container_port == p.container_port) {
                            list.push(*p);
                        }
                    }
                }
                s.spec.ports = list;
            }
        }
        // A job the user's compose file publishes ports of serves them.
        for s in services.iter_mut().filter(|s| !s.spec.ports.is_empty()) {
            s.spec.kind = ServiceKind::Service;
            s.spec.restart = restart_of(ServiceKind::Service);
        }
        break_cycles(&mut services, &mut recommendations);
        assign_host_ports(
            &mut services,
            &backing,
            (&user_services, &self.host_ports),
            &mut recommendations,
        );
        let kyozo_runs = services
            .iter()
            .filter(|s| !user_services.contains(&s.name))
            .count();
        if let Some(file) = &user_compose {
            let message = if kyozo_runs == 0 {
                format!(
                    "{file} is yours and already runs every service: Kyozo adds no compose file"
                )
            } else {
                format!(
                    "{file} is yours and stays as it is; the services it does not run are in {COMPOSE_FILE}: run both with `docker compose -f {file} -f {COMPOSE_FILE} up`"
                )
            };
            recommend(&mut recommendations, None, "compose-kept", message);
        }
        Plan {
            root: topology.root.clone(),
            services,
            backing,
            user_compose,
            user_services,
            recommendations,
        }
    }

    /// The plan of one service, or why there is none (a code and a message).
    fn plan_service(
        &self,
        files: &Files,
        found: &TopologyService,
    ) -> Result<ServicePlan, (&'static str, String)> {
        // A template given for the service's own stack comes first (one for a stack
        // Kyozo has none for: a plugin's, say); else the built-in template it maps to.
        let stack = if self.templates.has(&found.language) {
            Some(found.language.as_str())
        } else {
            template_stack(found)
        };
        let own_template = stack.is_some() && stack != template_stack(found);
        // A static site is served by the image Kyozo gives it (Caddy, on 80), as its
        // folder's conventions ask (a single-page app's fallback, basic auth): a site
        // whose passwords it cannot honour is not served at all.
        let generated_static = stack == Some("static") && found.dockerfile.is_none();
        if generated_static {
            static_site::static_site(files, &found.path)?;
        }
        let port = if generated_static {
            Some(STATIC_PORT)
        } else {
            found.ports.first().map(|p| p.port)
        };
        let health_path = if generated_static {
            STATIC_HEALTH_PATH.to_string()
        } else {
            found
                .healthcheck
                .as_ref()
                .map(|h| h.value.clone())
                .filter(|v| is_route(v))
                .unwrap_or_default()
        };
        let mut labels = self.build.labels.clone();
        labels.insert(STACK_LABEL.into(), found.language.clone());
        // The user's Dockerfile, or image, first.
        // A Dockerfile Kyozo generated, unchanged since, is Kyozo's to generate again.
        let users_dockerfile = found
            .dockerfile
            .as_ref()
            .filter(|d| files.text(d).is_none_or(|text| !is_pristine(&text)));
        let (source, build) = if let Some(dockerfile) = users_dockerfile {
            let context = found.context.clone();
            let from_context = relative_to(dockerfile, &context);
            (
                ImageSource::Existing {
                    path: dockerfile.clone(),
                },
                Some(self.build_plan(&context, &from_context, &labels)),
            )
        } else if let Some(image) = &found.image {
            (
                ImageSource::Image {
                    image: image.clone(),
                },
                None,
            )
        } else {
            let Some(stack) = stack else {
                return Err((
                    "no-template",
                    format!(
                        "Kyozo has no Dockerfile template for {} yet: write a Dockerfile in {} (or give the planner a template for the stack)",
                        found.language, found.path
                    ),
                ));
            };
            let start = found.start_command.as_ref().map(|c| c.value.clone());
            // A template of the caller's decides itself what it needs.
            if start.is_none()
                && !own_template
                && !matches!(stack, "static" | "go" | "rust" | "java")
            {
                return Err((
                    "no-start-command",
                    "no start command found (a `start` script, a Procfile, a main module...): add one, or write a Dockerfile".to_string(),
                ));
            }
            let file = self
                .dockerfile(files, found, stack, port, &health_path)
                .map_err(|e| match e {
                    PlanError::MissingTool { .. } => ("tool-missing", e.to_string()),
                    PlanError::Unsafe { .. } => ("unsafe-value", e.to_string()),
                    _ => ("template-failed", e.to_string()),
                })?;
            let context = found.context.clone();
            let path = generated_dockerfile(&found.path);
            let from_context = relative_to(&path, &context);
            (
                ImageSource::Generated {
                    file: PlannedFile {
                        path,
                        contents: seal(&file),
                    },
                },
                Some(self.build_plan(&context, &from_context, &labels)),
            )
        };
        let dockerignore = match &build {
            // Only beside a Dockerfile Kyozo writes: the user's build contexts are theirs.
            Some(b)
                if matches!(source, ImageSource::Generated { .. })
                    && !files.is_file(&join(&b.context, ".dockerignore")) =>
            {
                Some(PlannedFile {
                    path: join(&b.context, ".dockerignore"),
                    contents: seal(&dockerignore(&found.language)),
                })
            }
            _ => None,
        };
        let image = match &source {
            ImageSource::Image { image } => image.clone(),
            _ => built_image(&found.name),
        };
        let mut env = BTreeMap::new();
        if let Some(p) = port {
            env.insert("PORT".to_string(), p.to_string());
        }
        let health = port.map(|p| {
            let probe = match &found.healthcheck {
                _ if generated_static => HealthProbe::Http {
                    port: p,
                    path: STATIC_HEALTH_PATH.to_string(),
                    expect_status: None,
                },
                Some(h) if is_route(&h.value) => HealthProbe::Http {
                    port: p,
                    path: h.value.clone(),
                    expect_status: None,
                },
                _ => HealthProbe::Tcp { port: p },
            };
            HealthCheckConfig::new(probe)
        });
        let mut ports: Vec<PortMapping> = Vec::new();
        if generated_static {
            ports.push(PortMapping::new(STATIC_PORT, Some(STATIC_HOST_PORT)));
        }
        for p in found.ports.iter().filter(|_| !generated_static) {
            if !ports.iter().any(|m| m.container_port == p.port) {
                ports.push(PortMapping::new(p.port, Some(p.port)));
            }
        }
        let env_required = found
            .env
            .iter()
            .map(|e| e.name.clone())
            .filter(|e| !sets_env(&source, e))
            .collect();
        let kind = kind_of(files, found, users_dockerfile.is_some(), ports.is_empty());
        Ok(ServicePlan {
            name: found.name.clone(),
            path: found.path.clone(),
            source,
            dockerignore,
            spec: DeploySpec {
                name: found.name.clone(),
                image,
                build,
                env,
                env_required,
                ports,
                limits: ResourceLimits::default(),
                health,
                replicas: 1,
                labels: BTreeMap::from([(STACK_LABEL.to_string(), found.language.clone())]),
                depends_on: found.depends_on.clone(),
                kind,
                restart: restart_of(kind),
                volumes: Vec::new(),
            },
        })
    }

    fn build_plan(
        &self,
        context: &str,
        dockerfile: &str,
        labels: &BTreeMap<String, String>,
    ) -> BuildPlan {
        BuildPlan {
            context: context.to_string(),
            dockerfile: dockerfile.to_string(),
            args: self.build.args.clone(),
            network: self.build.network.clone(),
            labels: labels.clone(),
        }
    }
}

/// The files of the folder planned, as the detectors saw them: the topology's
/// [`ProjectView`](crate::topology::ProjectView) (its reads cached, so a file the
/// detectors read has the contents they read), or, for a topology without one (read
/// back from JSON), a view of its root scanned once.
struct Files(Option<crate::topology::ProjectView>);

impl Files {
    fn of(topology: &Topology) -> Self {
        Files(
            topology
                .view()
                .cloned()
                .or_else(|| crate::topology::ProjectView::scan(&topology.root).ok()),
        )
    }

    /// Whether `path` (from the root; `./` and `.` allowed) is a file of the view.
    fn is_file(&self, path: &str) -> bool {
        self.0.as_ref().is_some_and(|v| v.is_file(view_path(path)))
    }

    /// The text of `path`, if the view has it and it reads.
    fn text(&self, path: &str) -> Option<std::sync::Arc<str>> {
        self.read(path).ok()
    }

    /// The size of `path` in bytes, if the view has it.
    fn size(&self, path: &str) -> Option<u64> {
        self.0.as_ref().and_then(|v| v.size(view_path(path)))
    }

    /// The text of `path`, or why not.
    fn read(&self, path: &str) -> Result<std::sync::Arc<str>, String> {
        match &self.0 {
            Some(v) => v.read_text(view_path(path)).map_err(|e| e.to_string()),
            None => Err(format!("{path}: the folder cannot be read")),
        }
    }
}

/// A path from the root as the view names it (`./a` → `a`).
fn view_path(path: &str) -> &str {
    path.strip_prefix("./").unwrap_or(path)
}

/// The label of a Dockerfile that states what its service is: `job` or `service`
/// (`LABEL dev.kyozo.kind=job`), over what the plan would tell.
pub const KIND_LABEL: &str = "dev.kyozo.kind";

/// Words in a start command (or a service's name) that say its process runs until it
/// is stopped: servers, workers and queue consumers, schedulers, bots, watchers.
/// Sorted.
pub const RUNS_UNTIL_STOPPED: &[&str] = &[
    "arq",
    "beat",
    "bot",
    "celery",
    "consume",
    "consumer",
    "cron",
    "daemon",
    "daphne",
    "dev",
    "dramatiq",
    "faust",
    "forever",
    "gunicorn",
    "huey",
    "hypercorn",
    "listen",
    "listener",
    "loop",
    "nodemon",
    "pm2",
    "poll",
    "poller",
    "puma",
    "queue",
    "rails",
    "rq",
    "rqworker",
    "runserver",
    "schedule",
    "scheduler",
    "serve",
    "server",
    "sidekiq",
    "start",
    "stream",
    "subscribe",
    "subscriber",
    "supervisord",
    "unicorn",
    "uvicorn",
    "watch",
    "watcher",
    "worker",
    "workers",
];

/// What a service is, the rule of `docs/plans.md` ("Services and jobs"): what its
/// Dockerfile states with [`KIND_LABEL`]; else a job only when nothing says it runs
/// until stopped: no port, no health check, no framework, not the user's Dockerfile
/// or image, and a start command (and name) without a word of
/// [`RUNS_UNTIL_STOPPED`].
fn kind_of(
    files: &Files,
    found: &TopologyService,
    users_dockerfile: bool,
    no_ports: bool,
) -> ServiceKind {
    if let Some(kind) = found
        .dockerfile
        .as_ref()
        .and_then(|d| files.text(d))
        .and_then(|text| stated_kind(&text))
    {
        return kind;
    }
    let Some(start) = &found.start_command else {
        return ServiceKind::Service;
    };
    if !no_ports
        || users_dockerfile
        || found.image.is_some()
        || found.healthcheck.is_some()
        || found.framework.is_some()
    {
        return ServiceKind::Service;
    }
    let words = format!("{} {}", found.name, start.value).to_lowercase();
    let runs = words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| RUNS_UNTIL_STOPPED.binary_search(&w).is_ok());
    if runs {
        ServiceKind::Service
    } else {
        ServiceKind::Job
    }
}

/// The kind a Dockerfile states: its last `LABEL dev.kyozo.kind=job|service`.
fn stated_kind(dockerfile: &str) -> Option<ServiceKind> {
    let mut kind = None;
    for line in dockerfile.lines() {
        let line = line.trim();
        let Some(rest) = line
            .get(..6)
            .filter(|l| l.eq_ignore_ascii_case("label "))
            .map(|_| &line[6..])
        else {
            continue;
        };
        for pair in rest.split_whitespace() {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if key.trim_matches('"') != KIND_LABEL {
                continue;
            }
            match value.trim_matches('"').to_ascii_lowercase().as_str() {
                "job" => kind = Some(ServiceKind::Job),
                "service" => kind = Some(ServiceKind::Service),
                _ => {}
            }
        }
    }
    kind
}

/// The restart policy of a kind: a service comes back, a job runs once.
fn restart_of(kind: ServiceKind) -> RestartPolicy {
    match kind {
        ServiceKind::Service => RestartPolicy::Always,
        ServiceKind::Job => RestartPolicy::Never,
    }
}

/// Whether the Dockerfile Kyozo generated sets env var `name` itself.
fn sets_env(source: &ImageSource, name: &str) -> bool {
    let ImageSource::Generated { file } = source else {
        return false;
    };
    file.contents
        .lines()
        .filter_map(|l| l.strip_prefix("ENV "))
        .any(|l| {
            l.split_whitespace()
                .any(|kv| kv.split('=').next() == Some(name))
        })
}

/// `path` (from the root) relative to `dir` (from the root).
fn relative_to(path: &str, dir: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => path.to_string(),
        d => path
            .strip_prefix(d)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(path)
            .to_string(),
    }
}

/// Drops the `depends_on` edges that close a cycle, with a recommendation: compose
/// refuses a cycle, and a cycle cannot be started in order anyway.
fn break_cycles(
    services: &mut [ServicePlan],
    recommendations: &mut Vec<crate::topology::Recommendation>,
) {
    let index: BTreeMap<String, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let mut graph = petgraph::graphmap::DiGraphMap::<usize, ()>::new();
    for (i, s) in services.iter().enumerate() {
        graph.add_node(i);
        for d in &s.spec.depends_on {
            if let Some(&j) = index.get(d) {
                graph.add_edge(i, j, ());
            }
        }
    }
    for scc in petgraph::algo::tarjan_scc(&graph) {
        if scc.len() < 2 {
            continue;
        }
        let members: BTreeSet<String> = scc.iter().map(|i| services[*i].name.clone()).collect();
        for i in &scc {
            services[*i]
                .spec
                .depends_on
                .retain(|d| !members.contains(d));
        }
        recommendations.push(crate::topology::Recommendation::new(
            None,
            "dependency-cycle",
            format!(
                "{} depend on each other in a cycle: Kyozo starts them without an order between them; break the cycle so that one can start first",
                members.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
}

/// Publishes each service's ports on the same host port when it is free among the
/// plan's, else on the next free one, with a recommendation.
fn assign_host_ports(
    services: &mut [ServicePlan],
    backing: &[BackingPlan],
    (users, chosen): (&BTreeSet<String>, &BTreeMap<String, u16>),
    recommendations: &mut Vec<crate::topology::Recommendation>,
) {
    let mut taken: BTreeMap<u16, String> = BTreeMap::new();
    for b in backing {
        taken.insert(b.port, b.name.clone());
    }
    // Host ports chosen for a service come first, whatever the folder says.
    for s in services.iter_mut() {
        if let (Some(port), Some(first)) = (chosen.get(&s.name), s.spec.ports.first_mut()) {
            first.host_port = Some(*port);
            taken.insert(*port, s.name.clone());
        }
    }
    // The user's compose file publishes its services as it says.
    for s in services.iter_mut().filter(|s| !users.contains(&s.name)) {
        let first_chosen = chosen.contains_key(&s.name);
        for (i, p) in s.spec.ports.iter_mut().enumerate() {
            if i == 0 && first_chosen {
                continue;
            }
            let wanted = p.host_port.unwrap_or(p.container_port);
            let mut host = wanted;
            while taken.contains_key(&host) {
                host = host.checked_add(1).unwrap_or(1024);
            }
            if host != wanted {
                recommendations.push(crate::topology::Recommendation::new(
                    Some(s.name.clone()),
                    "port-clash",
                    format!(
                        "{} and {} both use port {wanted}: {} is published on host port {host}",
                        taken[&wanted], s.name, s.name
                    ),
                ));
            }
            taken.insert(host, s.name.clone());
            p.host_port = Some(host);
        }
    }
}

impl Plan {
    /// Every file the plan writes into the folder analysed (Dockerfiles and
    /// `.dockerignore`s it generates, and its compose file).
    pub fn files(&self) -> Result<Vec<PlannedFile>, PlanError> {
        self.files_for(&self.root)
    }

    /// Every file the plan writes into `dest` (the folder analysed, or another one that
    /// mirrors it: then the compose file names the build contexts in the folder
    /// analysed and the Dockerfiles in `dest` by their absolute paths).
    pub fn files_for(&self, dest: &Path) -> Result<Vec<PlannedFile>, PlanError> {
        let mut files = Vec::new();
        for s in &self.services {
            if let ImageSource::Generated { file } = &s.source {
                files.push(file.clone());
            }
            // A .dockerignore works only in its build context, in the folder analysed.
            if let Some(ignore) = &s.dockerignore
                && dest == self.root
                && !files.iter().any(|f: &PlannedFile| f.path == ignore.path)
            {
                files.push(ignore.clone());
            }
        }
        if self
            .services
            .iter()
            .any(|s| !self.user_services.contains(&s.name))
        {
            files.push(PlannedFile {
                path: COMPOSE_FILE.to_string(),
                contents: seal(&compose::render(self, dest)?),
            });
        }
        Ok(files)
    }

    /// The compose file, its paths relative to the folder analysed.
    pub fn compose(&self) -> Result<String, PlanError> {
        compose::render(self, &self.root)
    }

    /// Writes the plan's files under `dest` (the folder analysed, or another folder that
    /// mirrors it): a file Kyozo generated before is replaced, a file of the user's is
    /// kept unless `force`.
    pub fn write(&self, dest: &Path, force: bool) -> Result<Vec<Written>, PlanError> {
        let mut written = Vec::new();
        for file in self.files_for(dest)? {
            let path = dest.join(&file.path);
            let err = |source| PlanError::Write {
                path: path.clone(),
                source,
            };
            // Nothing on the way may be a link out of the folder.
            crate::safe_fs::check_inside(dest, path.parent().unwrap_or(dest)).map_err(err)?;
            // Only a regular file is read: a link (or anything else) is the user's, and
            // with `force` the link itself is replaced, never what it points at.
            let existing = match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() => Some(std::fs::read_to_string(&path)),
                Ok(_) => Some(Err(std::io::Error::other("not a regular file"))),
                Err(_) => None,
            };
            let outcome = match existing {
                Some(Ok(existing)) if existing == file.contents => WriteOutcome::Unchanged,
                Some(Ok(existing)) if !force && !is_pristine(&existing) => WriteOutcome::KeptUsers,
                Some(Ok(_)) => WriteOutcome::Replaced,
                Some(Err(_)) if !force => WriteOutcome::KeptUsers,
                Some(Err(_)) => WriteOutcome::Replaced,
                None => WriteOutcome::Created,
            };
            if matches!(outcome, WriteOutcome::Created | WriteOutcome::Replaced) {
                if let Some(parent) = path.parent() {
                    crate::safe_fs::create_dirs_inside(dest, parent).map_err(err)?;
                }
                crate::safe_fs::replace_file(&path, file.contents.as_bytes(), 0o644)
                    .map_err(err)?;
            }
            written.push(Written { path, outcome });
        }
        Ok(written)
    }
}

impl ServicePlan {
    /// The service to create in `workspace` (whose root is the folder analysed) to
    /// deploy this plan with the runtime ([`Kyozo::apply`](crate::Kyozo::apply) creates
    /// or updates it). A Dockerfile Kyozo generates travels in the service's config
    /// (`DeploymentConfig::dockerfile_text`) and in its build context, so nothing needs
    /// writing into the project's folder.
    pub fn service(
        &self,
        team: crate::model::TeamId,
        workspace: crate::model::WorkspaceId,
    ) -> crate::model::ServiceInstance {
        let mut s = self.spec.service(team, workspace, &self.path);
        if let ImageSource::Generated { file } = &self.source {
            s.config.dockerfile = None;
            s.config.dockerfile_text = Some(file.contents.clone());
        }
        s
    }
}

/// The tag a plan gives the image it builds for service `name` (the compose file builds
/// under it; the runtime tags its builds by a fingerprint of what they send).
pub fn built_image(name: &str) -> String {
    format!("kyozo/{name}:latest")
}

/// Where a plan puts the Dockerfile it generates for the service in folder `path`.
fn generated_dockerfile(path: &str) -> String {
    join(path, "Dockerfile")
}

impl DeploySpec {
    /// The service to create in `workspace` (whose root is the folder analysed) to
    /// deploy this spec with the runtime ([`Kyozo::create_service`](crate::Kyozo::create_service)),
    /// `path` being the service's folder. Compose's `${NAME:-default}` in env values is
    /// filled in from this process's environment, else the default (the runtime
    /// interpolates nothing). [`DeploySpec::from_service`] gives the spec back.
    pub fn service(
        &self,
        team: crate::model::TeamId,
        workspace: crate::model::WorkspaceId,
        path: &str,
    ) -> crate::model::ServiceInstance {
        let folder = if path.is_empty() { "." } else { path };
        let mut s = crate::model::ServiceInstance::new(team, workspace, self.name.clone(), folder);
        match &self.build {
            Some(b) => {
                s.config.build_context = Some(b.context.clone().into());
                s.config.dockerfile = Some(b.dockerfile.clone().into());
                s.config.build_args = b.args.clone();
                s.config.build_network = b.network.clone();
                s.config.build_labels = b.labels.clone();
            }
            None => s.image = Some(self.image.clone()),
        }
        s.stack = self.labels.get(STACK_LABEL).cloned();
        s.ports = self.ports.clone();
        s.env = self
            .resolved_env()
            .into_iter()
            .map(|(k, v)| (k, crate::model::SecretValue::from(v)))
            .collect();
        s.limits = self.limits;
        s.health_check = self.health.clone();
        s.replicas = self.replicas;
        s.config.labels = self.labels.clone();
        s.config.depends_on = self.depends_on.clone();
        s.config.env_required = self.env_required.clone();
        s.config.restart = self.restart;
        s.config.kind = self.kind;
        s.config.volumes = self.volumes.clone();
        s
    }

    /// The spec a service runs: what [`DeploySpec::service`] made it from, with its env
    /// values as the runtime runs them. A service built from a Dockerfile Kyozo
    /// generated names it where the plan puts it (`Dockerfile` in the service's folder);
    /// a service that builds names its image [`built_image`], whatever its last build
    /// was tagged.
    pub fn from_service(service: &crate::model::ServiceInstance) -> Self {
        let c = &service.config;
        let folder = service.folder.to_string_lossy().into_owned();
        let builds = c.dockerfile.is_some() || c.dockerfile_text.is_some();
        let build = builds.then(|| {
            let context = c
                .build_context
                .as_ref()
                .map_or_else(|| folder.clone(), |p| p.to_string_lossy().into_owned());
            let dockerfile = match &c.dockerfile {
                Some(d) => d.to_string_lossy().into_owned(),
                None => relative_to(&generated_dockerfile(&folder), &context),
            };
            BuildPlan {
                context,
                dockerfile,
                args: c.build_args.clone(),
                network: c.build_network.clone(),
                labels: c.build_labels.clone(),
            }
        });
        Self {
            name: service.name.clone(),
            image: if builds {
                built_image(&service.name)
            } else {
                service.image.clone().unwrap_or_default()
            },
            build,
            env: service
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string()))
                .collect(),
            env_required: c.env_required.clone(),
            ports: service.ports.clone(),
            limits: service.limits,
            health: service.health_check.clone(),
            replicas: service.replicas,
            labels: c.labels.clone(),
            depends_on: c.depends_on.clone(),
            kind: c.kind,
            restart: c.restart,
            volumes: c.volumes.clone(),
        }
    }

    /// This spec with compose's `${NAME:-default}` in its env values filled in as
    /// [`DeploySpec::service`] fills them: what the runtime runs.
    #[must_use]
    pub fn resolved(&self) -> Self {
        let mut spec = self.clone();
        spec.env = self.resolved_env();
        spec
    }

    fn resolved_env(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), defaults_filled(v)))
            .collect()
    }
}

/// `value` with compose's `${NAME:-default}` replaced by the value of `NAME` in this
/// process's environment, else the default (the runtime interpolates nothing).
pub(crate) fn defaults_filled(value: &str) -> String {
    interpolate(value, |name| std::env::var(name).ok())
}

/// `value` with compose's `${NAME:-default}` replaced by the default and `${NAME}` by
/// nothing: what the file itself says, never a value of this process's environment
/// (which may hold secrets, and which the deployment does not read).
fn defaults_only(value: &str) -> String {
    interpolate(value, |_| None)
}

/// `value` with each `${NAME}`, `${NAME:-default}` or `${NAME-default}` replaced by
/// `lookup(NAME)`, else the default, else nothing.
fn interpolate(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (name, default) = inner
            .split_once(":-")
            .or_else(|| inner.split_once('-'))
            .unwrap_or((inner, ""));
        out.push_str(&lookup(name).unwrap_or_else(|| default.to_string()));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_of_long_running_processes_are_sorted() {
        assert!(RUNS_UNTIL_STOPPED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_dockerfile_label_states_the_kind() {
        let job = "FROM x\nLABEL a=b dev.kyozo.kind=job\nCMD [\"x\"]\n";
        assert_eq!(stated_kind(job), Some(ServiceKind::Job));
        let service = "FROM x\nlabel \"dev.kyozo.kind\"=\"service\"\n";
        assert_eq!(stated_kind(service), Some(ServiceKind::Service));
        assert_eq!(stated_kind("FROM x\nLABEL dev.kyozo.kind=other\n"), None);
        assert_eq!(stated_kind("FROM x\n"), None);
        // Not a panic on short or odd lines.
        assert_eq!(stated_kind("LABEL\nLAB\n\u{e9}\u{e9}\u{e9}\n"), None);
    }
}
