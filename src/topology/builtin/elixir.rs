//! The elixir detector: every folder with a `mix.exs`.
//!
//! - **Umbrellas**: a root `mix.exs` with `apps_path:` is a workspace root
//!   (`mix-umbrella`); its apps (`apps/*`) build from it (`context`). The apps that
//!   serve HTTP (phoenix, or a plug server) are services; the others are libraries
//!   (they ship inside the web app).
//! - **Package manager**: mix. Install: `mix local.hex --force && mix local.rebar
//!   --force && MIX_ENV=prod mix deps.get --only prod`.
//! - **Frameworks**: phoenix (the `phoenix` dependency). Build: `MIX_ENV=prod mix
//!   compile`, then `mix assets.deploy` when the alias exists (Phoenix ≥ 1.6) or
//!   `mix phx.digest` when there are assets, then `mix release` when the project
//!   declares `releases:` or has a `rel/` folder (and is not an umbrella app). Start:
//!   the release's `bin/server` (from `mix phx.gen.release`) or `bin/<app> start`,
//!   else `MIX_ENV=prod mix phx.server`. A plug/bandit/cowboy app runs with `mix run
//!   --no-halt`; an OTP app with a `mod:` callback and no server is a worker.
//! - **Ports**: `PORT` in an example env file, the `PORT` default of
//!   `config/runtime.exs` (`System.get_env("PORT") || "4000"`), else 4000 (phoenix and
//!   plug apps as generated).
//! - **Runtime version** precedence: `.tool-versions` `elixir` (the folder or an
//!   ancestor) > `mix.exs` `elixir:` (`~> 1.15` → `1.15`).
//! - **Backing services**: dependencies (postgrex, myxql, redix, mongodb_driver, amqp,
//!   brod...; `ecto_sql` alone counts as postgres, with another adapter it does not),
//!   including those of sibling umbrella apps it depends on, and env names read in
//!   `config/runtime.exs` and `config/prod.exs` (`System.get_env`, `System.fetch_env!`).
//! - **Confidence**: mix.exs 0.7, +0.05 with mix.lock, +0.15 for phoenix, +0.05 when
//!   its endpoint is found; a worker 0.5.

use crate::topology::common::lookup;
use std::collections::BTreeMap;

use super::shared::{
    env_backing, env_names_in, example_port, health_route, push_unique, version_from_constraint,
};
use crate::topology::common;
use crate::topology::manifest::mix::{self, MixProject};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Note, ProjectView, Sourced, backing, join,
    parent,
};

/// How Elixir config reads env vars.
const ENV_READS: &[&str] = &["System.fetch_env!(", "System.fetch_env(", "System.get_env("];

/// Dependencies that mean a backing service and are not (yet) in the shared table.
const ELIXIR_BACKING: &[(&str, &str)] = &[
    ("broadway_kafka", "kafka"),
    ("broadway_rabbitmq", "rabbitmq"),
    ("brod", "kafka"),
    ("elastix", "elasticsearch"),
    ("kafka_ex", "kafka"),
    ("mongodb_driver", "mongodb"),
    ("myxql", "mysql"),
    ("snap", "elasticsearch"),
];

/// SQL adapters besides postgrex: with one of them, `ecto_sql` does not mean postgres.
const OTHER_ECTO_ADAPTERS: &[&str] = &["ecto_sqlite3", "myxql", "tds"];

/// Web servers a plain (non-phoenix) app can serve HTTP with.
const PLUG_SERVERS: &[&str] = &["bandit", "cowboy", "plug_cowboy"];

/// Detects elixir projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ElixirDetector;

impl Detector for ElixirDetector {
    fn id(&self) -> &str {
        "elixir"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut projects: BTreeMap<String, Option<MixProject>> = BTreeMap::new();
        for path in view.named("mix.exs") {
            if fetched_dependency(view, parent(path)) {
                continue;
            }
            let parsed = view.text(path).and_then(|t| {
                mix::parse(&t)
                    .map_err(|e| common::invalid(view, path, e))
                    .ok()
            });
            projects.insert(parent(path).to_string(), parsed);
        }
        // Umbrella roots and the folder of their apps.
        let umbrellas: Vec<(String, String)> = projects
            .iter()
            .filter_map(|(dir, p)| {
                let apps = p.as_ref()?.apps_path.as_ref()?;
                Some((dir.clone(), join(dir, apps.trim_end_matches('/'))))
            })
            .collect();
        let mut out = Vec::new();
        for (dir, project) in &projects {
            let umbrella = umbrellas
                .iter()
                .find(|(root, apps)| root != dir && parent(dir) == apps)
                .map(|(root, _)| root.as_str());
            out.push(analyse(view, dir, project.as_ref(), umbrella, &projects));
        }
        Ok(out)
    }
}

fn analyse(
    view: &ProjectView,
    dir: &str,
    project: Option<&MixProject>,
    umbrella: Option<&str>,
    projects: &BTreeMap<String, Option<MixProject>>,
) -> Detection {
    let at = |name: &str| join(dir, name);
    let manifest = at("mix.exs");
    let mut d = Detection::new("elixir", dir, "elixir", 0.7);
    let mut evidence: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    let Some(project) = project else {
        d.confidence = 0.5;
        return d.with_evidence(manifest, "mix.exs (unreadable, see warnings)");
    };
    evidence.push((manifest.clone(), "mix.exs: a mix project".into()));

    // The folder holding mix.lock and config/: the umbrella root for its apps.
    let home = umbrella.unwrap_or(dir);
    let lock = join(home, "mix.lock");
    if view.is_file(&lock) {
        d.boost(0.05);
        evidence.push((lock.clone(), "lockfile pins the dependencies".into()));
    } else {
        notes.push(Note::new(
            "no-lockfile",
            "no mix.lock: installs are not reproducible; run `mix deps.get` and commit mix.lock",
        ));
    }
    d.hints.package_manager = Some(Sourced::new("mix".to_string(), manifest.clone()));
    d.hints.runtime_version = runtime_version(view, dir, project, &manifest);
    d.hints.name = project
        .app
        .as_ref()
        .map(|a| Sourced::new(a.clone(), format!("{manifest} app")));

    if project.apps_path.is_some() {
        d.kind = DetectionKind::WorkspaceRoot;
        d.hints.patterns.push("mix-umbrella".into());
        evidence.push((manifest.clone(), "apps_path: an umbrella project".into()));
        d.hints.notes = notes;
        return with_evidence(d, evidence);
    }
    if let Some(root) = umbrella {
        d.hints.context = Some(root.to_string());
        d.hints.patterns.push("mix-umbrella".into());
    }

    // Dependencies, with those of the sibling umbrella apps it depends on.
    let mut deps: Vec<(String, String)> = project
        .deps
        .iter()
        .filter(|dep| dep.is_prod())
        .map(|dep| (dep.name.clone(), manifest.clone()))
        .collect();
    if umbrella.is_some() {
        let apps_dir = parent(dir);
        for dep in project.deps.iter().filter(|dep| dep.in_umbrella) {
            let sibling = join(apps_dir, &dep.name);
            if let Some(Some(p)) = projects.get(&sibling) {
                let path = join(&sibling, "mix.exs");
                deps.extend(
                    p.deps
                        .iter()
                        .filter(|x| x.is_prod())
                        .map(|x| (x.name.clone(), path.clone())),
                );
            }
        }
    }
    let has = |name: &str| deps.iter().any(|(n, _)| n == name);

    let is_phoenix = has("phoenix");
    let plug_server = PLUG_SERVERS.iter().find(|s| has(s)).copied();
    let app = project.app.clone().unwrap_or_else(|| "app".into());
    let config = join(home, "config");
    let runtime_exs = join(&config, "runtime.exs");
    let example = example_port(view, dir).or_else(|| umbrella.and_then(|r| example_port(view, r)));

    let install =
        "mix local.hex --force && mix local.rebar --force && MIX_ENV=prod mix deps.get --only prod";
    d.hints.install_command = Some(Sourced::new(install.to_string(), manifest.clone()));

    let mut confirmed = false;
    if is_phoenix {
        let endpoint = find_endpoint(view, dir);
        confirmed = endpoint.is_some();
        if let Some(e) = &endpoint {
            evidence.push((e.clone(), "Phoenix endpoint".into()));
        }
        d.hints.framework = Some(Sourced::new("phoenix".to_string(), manifest.clone()));
        let port = example
            .clone()
            .or_else(|| runtime_port(view, &runtime_exs))
            .unwrap_or_else(|| Sourced::assumed(4000, "phoenix"));

        // Build: compile, assets, release.
        let mut steps = vec!["MIX_ENV=prod mix compile".to_string()];
        let mut build_source = manifest.clone();
        if project.has_alias("assets.deploy") {
            steps.push("MIX_ENV=prod mix assets.deploy".into());
            build_source = format!("{manifest} aliases assets.deploy");
        } else if view.is_dir(&at("assets")) || view.is_dir(&at("priv/static")) {
            steps.push("MIX_ENV=prod mix phx.digest".into());
        }
        let release = umbrella.is_none() && (project.releases || view.is_dir(&at("rel")));
        let server_script = at("rel/overlays/bin/server");
        let start = if release {
            steps.push("MIX_ENV=prod mix release".into());
            if view.is_file(&server_script) {
                Sourced::new(
                    format!("_build/prod/rel/{app}/bin/server"),
                    server_script.clone(),
                )
            } else {
                push_unique(&mut d.hints.env, "PHX_SERVER", &manifest);
                notes.push(Note::new(
                    "phoenix-server",
                    "set PHX_SERVER=true: a release starts the endpoint only then (or generate bin/server with `mix phx.gen.release`)",
                ));
                Sourced::new(
                    format!("_build/prod/rel/{app}/bin/{app} start"),
                    format!("{manifest} releases"),
                )
            }
        } else {
            Sourced::new(
                "MIX_ENV=prod mix phx.server".to_string(),
                format!("{manifest} phoenix"),
            )
        };
        if !release && umbrella.is_none() {
            notes.push(Note::new(
                "elixir-release",
                "for production, build a release (`mix phx.gen.release`, then `MIX_ENV=prod mix release`): smaller images, no build tools at run time",
            ));
        }
        d.hints.build_command = Some(Sourced::new(steps.join(" && "), build_source));
        d.hints.start_command = Some(start);
        d.hints.ports.push(port);
        if has("ecto_sql") {
            let migrate = if view.is_file(&at("rel/overlays/bin/migrate")) {
                format!("_build/prod/rel/{app}/bin/migrate")
            } else {
                "MIX_ENV=prod mix ecto.migrate".to_string()
            };
            notes.push(Note::new(
                "migrations",
                format!("run `{migrate}` before each release (a release or pre-start step)"),
            ));
        }
        d.hints.healthcheck = find_health(view, dir);
    } else if let Some(server) = plug_server.filter(|_| project.application_mod.is_some()) {
        confirmed = true;
        evidence.push((
            manifest.clone(),
            format!("an OTP app serving HTTP with {server}"),
        ));
        let port = example
            .clone()
            .or_else(|| runtime_port(view, &runtime_exs))
            .unwrap_or_else(|| Sourced::assumed(4000, format!("plug ({server})")));
        d.hints.start_command = Some(Sourced::new(
            "MIX_ENV=prod mix run --no-halt".to_string(),
            format!("{manifest} application mod"),
        ));
        d.hints.build_command = Some(Sourced::new(
            "MIX_ENV=prod mix compile".to_string(),
            manifest.clone(),
        ));
        d.hints.ports.push(port);
        d.hints.healthcheck = find_health(view, dir);
    } else if project.application_mod.is_some() && umbrella.is_none() {
        // An OTP application with a supervision tree and no HTTP server: a worker.
        evidence.push((
            manifest.clone(),
            "an OTP application (mod:) without a web server".into(),
        ));
        d.hints.start_command = Some(Sourced::new(
            "MIX_ENV=prod mix run --no-halt".to_string(),
            format!("{manifest} application mod"),
        ));
        d.hints.build_command = Some(Sourced::new(
            "MIX_ENV=prod mix compile".to_string(),
            manifest.clone(),
        ));
        d.boost(-0.2);
    } else {
        d.kind = DetectionKind::Library;
    }
    if d.hints.framework.is_some() {
        d.boost(if confirmed { 0.2 } else { 0.15 });
    } else if d.kind == DetectionKind::Service && confirmed {
        d.boost(0.1);
    }

    // Env names: example files and the runtime configuration.
    let mut env = common::env_from_examples(view, dir);
    if let Some(root) = umbrella {
        for e in common::env_from_examples(view, root) {
            push_unique(&mut env, e.value, e.source);
        }
    }
    for e in std::mem::take(&mut d.hints.env) {
        push_unique(&mut env, e.value, e.source);
    }
    for file in ["runtime.exs", "prod.exs"] {
        let path = join(&config, file);
        if let Some(text) = view.text(&path) {
            for name in env_names_in(&text, ENV_READS) {
                push_unique(&mut env, name, &path);
            }
        }
    }

    // Backing services.
    let other_adapter = OTHER_ECTO_ADAPTERS.iter().any(|a| has(a));
    let mut services: Vec<Sourced<String>> = Vec::new();
    for (name, source) in &deps {
        if name == "ecto_sql" && other_adapter {
            continue;
        }
        if let Some(b) = lookup(ELIXIR_BACKING, name).or_else(|| backing::from_package(name)) {
            push_unique(&mut services, b, format!("{source} {name}"));
        }
    }
    let sqlite = has("ecto_sqlite3");
    for b in env_backing(view, dir, &env, &services, sqlite) {
        if !services.iter().any(|s| s.value == b.value) {
            services.push(b);
        }
    }
    d.hints.env = env;
    d.hints.backing_services = services;
    d.hints.notes = notes;
    with_evidence(d, evidence)
}

/// Whether `dir` is a dependency fetched into a project's `deps/` folder (not
/// ignored when the project has no `.gitignore`).
fn fetched_dependency(view: &ProjectView, dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').collect();
    parts.iter().enumerate().any(|(i, part)| {
        *part == "deps"
            && parts
                .get(..i)
                .is_some_and(|p| view.is_file(&join(&p.join("/"), "mix.exs")))
    })
}

fn with_evidence(mut d: Detection, mut evidence: Vec<(String, String)>) -> Detection {
    evidence.sort();
    evidence.dedup();
    for (path, reason) in evidence {
        d = d.with_evidence(path, reason);
    }
    d
}

fn runtime_version(
    view: &ProjectView,
    dir: &str,
    project: &MixProject,
    manifest: &str,
) -> Option<Sourced<String>> {
    if let Some(v) = common::tool_version(view, dir, &["elixir"]) {
        return Some(v);
    }
    let constraint = project.elixir.as_deref()?;
    version_from_constraint(constraint)
        .map(|v| Sourced::new(v, format!("{manifest} elixir ({constraint})")))
}

/// The `PORT` default of `config/runtime.exs`: `System.get_env("PORT") || "4000"` or
/// `System.get_env("PORT", "4000")`.
fn runtime_port(view: &ProjectView, path: &str) -> Option<Sourced<u16>> {
    let text = view.text(path)?;
    let at = text.find("System.get_env(\"PORT\"")?;
    let rest = text.get(at + "System.get_env(\"PORT\"".len()..)?;
    let window: String = rest.chars().take(40).collect();
    let digits: String = window
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    let port = digits.parse::<u16>().ok().filter(|p| *p >= 80)?;
    Some(Sourced::new(port, format!("{path} PORT")))
}

/// The Phoenix endpoint module file (`lib/hello_web/endpoint.ex`).
fn find_endpoint(view: &ProjectView, dir: &str) -> Option<String> {
    let lib = join(dir, "lib");
    view.dirs_in(&lib)
        .map(|d| join(d, "endpoint.ex"))
        .find(|f| view.is_file(f))
}

/// A health route in the app's router (`get "/health", ...`).
fn find_health(view: &ProjectView, dir: &str) -> Option<Sourced<String>> {
    let lib = join(dir, "lib");
    let router = view
        .dirs_in(&lib)
        .map(|d| join(d, "router.ex"))
        .chain(std::iter::once(join(&lib, "router.ex")))
        .find(|f| view.is_file(f))?;
    let text = view.text(&router)?;
    health_route(&text).map(|p| Sourced::new(p.to_string(), router))
}
