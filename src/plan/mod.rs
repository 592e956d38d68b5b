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

mod compose;
mod images;
mod templates;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use compose::{BackingPlan, backing_service};
pub use images::BaseImages;
pub use templates::Templates;

use crate::model::{HealthCheckConfig, HealthProbe, PortMapping, ResourceLimits};
use crate::topology::{Topology, TopologyService};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// The first line of every file Kyozo generates: how it tells its own files from the
/// user's.
pub const GENERATED_MARK: &str = "Generated by Kyozo";

/// The port a static site is served on in the image Kyozo generates for it.
pub const STATIC_PORT: u16 = 8080;

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
        // The user's compose file, and the services it runs (with their backing
        // services): those stay the user's.
        let user_compose = [
            "compose.yaml",
            "compose.yml",
            "docker-compose.yaml",
            "docker-compose.yml",
        ]
        .iter()
        .find(|f| topology.root.join(f).is_file())
        .map(|f| f.to_string());
        let user_doc = user_compose.as_ref().map(|f| {
            std::fs::read_to_string(topology.root.join(f))
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    serde_saphyr::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
                })
        });
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
                // And its override file, which compose reads with it.
                let stem = file.rsplit_once('.').map_or(file.as_str(), |(s, _)| s);
                for ext in ["yaml", "yml"] {
                    if let Some(doc) = std::fs::read_to_string(
                        topology.root.join(format!("{stem}.override.{ext}")),
                    )
                    .ok()
                    .and_then(|t| serde_saphyr::from_str::<serde_json::Value>(&t).ok())
                    {
                        names.extend(compose_services(&doc));
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
            match self.plan_service(topology, found) {
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
        break_cycles(&mut services, &mut recommendations);
        assign_host_ports(
            &mut services,
            &backing,
            &user_services,
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
        topology: &Topology,
        found: &TopologyService,
    ) -> Result<ServicePlan, (&'static str, String)> {
        let stack = template_stack(found);
        // A static site is served by the image Kyozo gives it, on 8080 (no root needed).
        let generated_static = stack == Some("static") && found.dockerfile.is_none();
        let port = if generated_static {
            Some(STATIC_PORT)
        } else {
            found.ports.first().map(|p| p.port)
        };
        let health_path = found
            .healthcheck
            .as_ref()
            .map(|h| h.value.clone())
            .filter(|v| is_route(v))
            .unwrap_or_default();
        let mut labels = self.build.labels.clone();
        labels.insert("dev.kyozo.stack".into(), found.language.clone());
        // The user's Dockerfile, or image, first.
        // A Dockerfile Kyozo generated, unchanged since, is Kyozo's to generate again.
        let users_dockerfile = found.dockerfile.as_ref().filter(|d| {
            std::fs::read_to_string(topology.root.join(d.as_str()))
                .map_or(true, |text| !is_pristine(&text))
        });
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
            if start.is_none() && !matches!(stack, "static" | "go" | "rust" | "java") {
                return Err((
                    "no-start-command",
                    "no start command found (a `start` script, a Procfile, a main module...): add one, or write a Dockerfile".to_string(),
                ));
            }
            let file = self
                .dockerfile(topology, found, stack, port, &health_path)
                .map_err(|e| match e {
                    PlanError::MissingTool { .. } => ("tool-missing", e.to_string()),
                    _ => ("template-failed", e.to_string()),
                })?;
            let context = found.context.clone();
            let path = join(&found.path, "Dockerfile");
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
                    && !topology
                        .root
                        .join(&b.context)
                        .join(".dockerignore")
                        .exists() =>
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
            _ => format!("kyozo/{}:latest", found.name),
        };
        let mut env = BTreeMap::new();
        if let Some(p) = port {
            env.insert("PORT".to_string(), p.to_string());
        }
        let health = port.map(|p| {
            let probe = match &found.healthcheck {
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
            ports.push(PortMapping::new(STATIC_PORT, Some(STATIC_PORT)));
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
                labels: BTreeMap::from([("dev.kyozo.stack".to_string(), found.language.clone())]),
                depends_on: found.depends_on.clone(),
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

    /// Renders the Dockerfile of a service from its stack's template.
    fn dockerfile(
        &self,
        topology: &Topology,
        found: &TopologyService,
        stack: &str,
        port: Option<u16>,
        health_path: &str,
    ) -> Result<String, PlanError> {
        let version = found.runtime_version.as_ref().map(|v| v.value.as_str());
        let image = |key: &str| -> Result<String, PlanError> {
            self.images
                .lookup(key, version)
                .map(str::to_string)
                .ok_or_else(|| PlanError::Template {
                    stack: stack.to_string(),
                    message: format!("no base image for {key} in the base-image map"),
                })
        };
        let value = |c: &Option<crate::topology::Sourced<String>>| {
            c.as_ref().map(|c| c.value.clone()).unwrap_or_default()
        };
        let mut install = value(&found.install_command);
        let mut build = value(&found.build_command);
        let start = value(&found.start_command);
        let folder = topology.root.join(&found.path);
        let context_dir = topology.root.join(&found.context);
        // The service's folder from its build context: where it runs in a monorepo.
        let member = relative_to(&found.path, &found.context);
        let member = if member.is_empty() || member == "." || found.path == found.context {
            ".".to_string()
        } else {
            member
        };
        let start = if stack == "node" {
            own_script(&folder, &start).unwrap_or(start)
        } else {
            start
        };
        // Node runs workspace commands (`pnpm --filter ...`) from the root; a service's
        // own script, and every other stack, from its folder.
        let runs_from_root =
            stack == "node" && (start.contains("--filter") || start.contains("--workspace"));
        let workdir = if member == "." || runs_from_root {
            "/app".to_string()
        } else {
            format!("/app/{member}")
        };
        if stack == "node" && !has_node_dependencies(&folder) {
            // Nothing to install (and no npm needed to install nothing).
            install.clear();
        }
        let wrapper = |name: &str| folder.join(name).is_file() || context_dir.join(name).is_file();
        let mut java_builder = "java";
        if stack == "java" && build.is_empty() {
            build = if wrapper("mvnw") {
                "./mvnw -q -DskipTests package".into()
            } else if wrapper("gradlew") {
                "./gradlew --no-daemon build -x test".into()
            } else if folder.join("pom.xml").is_file() || context_dir.join("pom.xml").is_file() {
                java_builder = "maven";
                "mvn -q -DskipTests package".into()
            } else {
                java_builder = "gradle";
                "gradle --no-daemon build -x test".into()
            };
        }
        // Tools the stack's image has, or that the template brings.
        let python_tool = first_word(&install)
            .filter(|t| ["poetry", "uv", "pipenv", "pdm"].contains(t))
            .map(str::to_string)
            .unwrap_or_default();
        let uses_composer = first_word(&install) == Some("composer");
        let missing: &[&str] = match stack {
            "node" => &["bun", "deno"],
            "java" => &["sbt", "lein", "clojure"],
            "python" => &["conda", "mamba"],
            _ => &[],
        };
        for command in [&install, &build, &start] {
            if let Some(tool) = first_word(command).filter(|t| missing.contains(t)) {
                return Err(PlanError::MissingTool {
                    tool: tool.to_string(),
                    stack: stack.to_string(),
                    command: command.clone(),
                });
            }
        }
        let (base, build_image) = match stack {
            "go" => (image("go-runtime")?, image("go")?),
            "rust" => (image("rust-runtime")?, image("rust")?),
            "java" => (image("java-runtime")?, image(java_builder)?),
            "static" => {
                let builder = if build.is_empty() {
                    String::new()
                } else {
                    image("node")?
                };
                (image("static")?, builder)
            }
            other => (image(other)?, String::new()),
        };
        let composer_image = if uses_composer {
            image("composer")?
        } else {
            String::new()
        };
        let context = BTreeMap::from([
            ("name", found.name.clone()),
            ("stack", found.language.clone()),
            ("framework", found.framework.clone().unwrap_or_default()),
            (
                "package_manager",
                found.package_manager.clone().unwrap_or_default(),
            ),
            ("base", base),
            ("build_image", build_image),
            ("composer_image", composer_image),
            ("port", port.map(|p| p.to_string()).unwrap_or_default()),
            ("health_path", health_path.to_string()),
            ("install", std::mem::take(&mut install)),
            ("tool", python_tool),
            ("build", build),
            ("start", start.clone()),
            ("workdir", workdir),
            ("module", member),
            ("package", go_package(&found.build_command, &start)),
            ("binary", rust_binary(&start, &found.name)),
            ("site_dir", static_dir(&folder, &found.build_command)),
        ]);
        self.templates.render(stack, &context)
    }
}

/// The program a command runs (after any `NAME=value` assignments).
fn first_word(command: &str) -> Option<&str> {
    command.split_whitespace().find(|w| !w.contains('='))
}

/// The template a service's stack uses, if Kyozo has one.
fn template_stack(found: &TopologyService) -> Option<&'static str> {
    Some(match found.language.as_str() {
        "node" => "node",
        "python" => "python",
        "go" => "go",
        "rust" => "rust",
        "java" | "kotlin" | "scala" => "java",
        "ruby" => "ruby",
        "php" => "php",
        "deno" => "deno",
        "static" | "staticfile" => "static",
        _ => return None,
    })
}

/// `npm start` or `npm run NAME` of the package in `folder`: the script itself, so the
/// container runs the app as its main process (signals reach it; no npm needed).
fn own_script(folder: &Path, start: &str) -> Option<String> {
    let words: Vec<&str> = start.split_whitespace().collect();
    let name = match words.as_slice() {
        ["npm", "start"] | ["npm", "run", "start"] => "start",
        ["npm", "run", name] => name,
        _ => return None,
    };
    let text = std::fs::read_to_string(folder.join("package.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    let script = manifest.get("scripts")?.get(name)?.as_str()?.trim();
    // A script that runs other scripts, or is empty, stays with npm.
    if script.is_empty() || script.contains("npm ") || script.contains("&&") {
        return None;
    }
    Some(script.to_string())
}

/// Whether the package.json in `folder` lists dependencies to install.
fn has_node_dependencies(folder: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(folder.join("package.json")) else {
        return true;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return true;
    };
    ["dependencies", "devDependencies"].iter().any(|k| {
        manifest
            .get(k)
            .and_then(|d| d.as_object())
            .is_some_and(|d| !d.is_empty())
    })
}

/// The package `go build` builds: from the build or start command, else `.`.
fn go_package(build: &Option<crate::topology::Sourced<String>>, start: &str) -> String {
    let from = |cmd: &str| {
        cmd.split_whitespace()
            .skip_while(|w| *w != "build" && *w != "run")
            .skip(1)
            .find(|w| w.starts_with("./") || *w == ".")
            .map(str::to_string)
    };
    build
        .as_ref()
        .and_then(|b| from(&b.value))
        .or_else(|| from(start))
        .unwrap_or_else(|| ".".into())
}

/// The binary a rust service runs: from `target/release/NAME` in its start command,
/// else the service's name.
fn rust_binary(start: &str, name: &str) -> String {
    start
        .split_whitespace()
        .find_map(|w| w.rsplit_once("target/release/").map(|(_, b)| b.to_string()))
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| name.to_string())
}

/// The folder a static site serves: the `root:` of its Staticfile, or the build's
/// output (`dist`) when it builds, else the service's folder.
fn static_dir(folder: &Path, build: &Option<crate::topology::Sourced<String>>) -> String {
    let root = std::fs::read_to_string(folder.join("Staticfile"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("root:").map(|r| r.trim().to_string()))
        })
        .filter(|r| {
            !r.is_empty()
                && !r.starts_with('/')
                && r.split('/').all(|p| p != "..")
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        });
    match (root, build) {
        (Some(root), _) => root,
        (None, Some(_)) => "dist".into(),
        (None, None) => ".".into(),
    }
}

/// Whether `v` is an HTTP route safe to put in a Dockerfile (`/healthz`).
fn is_route(v: &str) -> bool {
    v.starts_with('/')
        && v.len() <= 200
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-~?=&".contains(c))
}

/// The names of the services of a compose document.
fn compose_services(doc: &serde_json::Value) -> BTreeSet<String> {
    doc.get("services")
        .and_then(|s| s.as_object())
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default()
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

/// `a/b` from `a` and `b`, with `.` for the folder itself.
fn join(dir: &str, file: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => file.to_string(),
        d => format!("{d}/{file}"),
    }
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

/// A `.dockerignore` for a stack: version control, local state, dependencies and
/// build output that the image makes itself.
fn dockerignore(stack: &str) -> String {
    let mut lines = vec![
        format!("# {GENERATED_MARK}: what the build context leaves out."),
        ".git".into(),
        ".kyozo".into(),
        "**/.env".into(),
        "**/*.log".into(),
        "Dockerfile".into(),
        ".dockerignore".into(),
    ];
    let extra: &[&str] = match stack {
        "node" | "deno" | "static" => &["**/node_modules", ".next/cache"],
        "python" => &[
            "**/__pycache__",
            "**/*.pyc",
            ".venv",
            "venv",
            ".pytest_cache",
        ],
        "rust" => &["target"],
        "java" | "kotlin" | "scala" => &["target", "build", ".gradle"],
        "ruby" => &["vendor/bundle", "tmp", "log"],
        "php" => &["vendor"],
        _ => &[],
    };
    lines.extend(extra.iter().map(|s| s.to_string()));
    let mut out = lines.join("\n");
    out.push('\n');
    out
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
    users: &BTreeSet<String>,
    recommendations: &mut Vec<crate::topology::Recommendation>,
) {
    let mut taken: BTreeMap<u16, String> = BTreeMap::new();
    for b in backing {
        taken.insert(b.port, b.name.clone());
    }
    // The user's compose file publishes its services as it says.
    for s in services.iter_mut().filter(|s| !users.contains(&s.name)) {
        for p in &mut s.spec.ports {
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
            let outcome = match std::fs::read_to_string(&path) {
                Ok(existing) if existing == file.contents => WriteOutcome::Unchanged,
                Ok(existing) if !force && !is_pristine(&existing) => WriteOutcome::KeptUsers,
                Ok(_) => WriteOutcome::Replaced,
                Err(_) if path.exists() && !force => WriteOutcome::KeptUsers,
                Err(_) => WriteOutcome::Created,
            };
            if matches!(outcome, WriteOutcome::Created | WriteOutcome::Replaced) {
                write_atomically(&path, &file.contents)?;
            }
            written.push(Written { path, outcome });
        }
        Ok(written)
    }
}

impl ServicePlan {
    /// The service to create in `workspace` (whose root is the folder analysed) to
    /// deploy this plan with the runtime. A Dockerfile Kyozo generates travels in the
    /// service's config (`DeploymentConfig::dockerfile_text`) and in its build context,
    /// so nothing needs writing into the project's folder.
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

impl DeploySpec {
    /// The service to create in `workspace` (whose root is the folder analysed) to
    /// deploy this spec with the runtime ([`Kyozo::create_service`](crate::Kyozo::create_service)).
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
            }
            None => s.image = Some(self.image.clone()),
        }
        s.ports = self.ports.clone();
        s.env = self
            .env
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    crate::model::SecretValue::from(defaults_filled(v)),
                )
            })
            .collect();
        s.limits = self.limits;
        s.health_check = self.health.clone();
        s.replicas = self.replicas;
        s
    }
}

/// `value` with compose's `${NAME:-default}` replaced by the value of `NAME` in this
/// process's environment, else the default (the runtime interpolates nothing).
pub(crate) fn defaults_filled(value: &str) -> String {
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
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        out.push_str(&std::env::var(name).unwrap_or_else(|_| default.to_string()));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The last line of every file Kyozo generates: a checksum of what comes before it.
const CHECKSUM_PREFIX: &str = "# kyozo-checksum: ";

/// `contents` with Kyozo's checksum line at its end.
pub(crate) fn seal(contents: &str) -> String {
    let mut out = contents.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let sum = crc32fast::hash(out.as_bytes());
    out.push_str(&format!("{CHECKSUM_PREFIX}{sum:08x}\n"));
    out
}

/// Whether `text` is a file Kyozo generated and nobody changed since: its checksum
/// line matches what comes before it. A file of Kyozo's that the user edited is the
/// user's from then on.
pub(crate) fn is_pristine(text: &str) -> bool {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let Some((before, last)) = body.rsplit_once('\n') else {
        return false;
    };
    let Some(sum) = last.strip_prefix(CHECKSUM_PREFIX) else {
        return false;
    };
    let before = format!("{before}\n");
    u32::from_str_radix(sum.trim(), 16).is_ok_and(|s| s == crc32fast::hash(before.as_bytes()))
}

/// Writes `contents` to `path` through a temporary file, synced and renamed into
/// place, so a crash leaves the old file or the new one, never half of one.
fn write_atomically(path: &Path, contents: &str) -> Result<(), PlanError> {
    use std::io::Write as _;
    let err = |source| PlanError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let tmp = path.with_extension("kyozo-tmp");
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(contents.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}
