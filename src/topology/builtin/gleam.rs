//! The gleam detector: every folder with a `gleam.toml` (`manifest.toml` is its
//! lockfile).
//!
//! - **Kinds**: a project whose main module (`src/<name>.gleam`) has `pub fn main` is a
//!   service; without one it is a library (a Hex package).
//! - **Commands**: install `gleam deps download`. Erlang target (the default): build
//!   `gleam export erlang-shipment`, start `build/erlang-shipment/entrypoint.sh run` —
//!   the deployment Gleam documents: no compiler at run time, just the BEAM.
//!   JavaScript target: build `gleam build --target javascript`, start `gleam run
//!   --target javascript --runtime <node|deno|bun>` (`[javascript] runtime`).
//! - **Web**: a `mist` dependency (directly or through `wisp`) means an HTTP server;
//!   the framework is reported as `wisp` when wisp is used. Port: `PORT` in an example
//!   env file, the `mist.port(N)` call in `src/`, else 4000 (mist's own default).
//!   Mist listens on `localhost` unless told otherwise: without `mist.bind("0.0.0.0")`
//!   in `src/` a `bind-localhost` note says the app is unreachable in a container.
//! - **Runtime version** precedence: `.tool-versions` `gleam` > `gleam.toml` `gleam`
//!   (a constraint: `>= 1.4.0` → `1.4`).
//! - **Backing services**: dependencies (pog and gleam_pgo → postgres, radish and
//!   valkyrie → redis, mungo → mongodb) and env names.
//! - **Confidence**: gleam.toml 0.75, +0.05 with manifest.toml, +0.1 with a main
//!   function, +0.05 for a web server.

use crate::topology::common::lookup;
use toml::{Table, Value};

use super::shared::{
    env_backing, env_names_in, example_port, files_under, health_route, push_unique,
    version_from_constraint,
};
use crate::topology::common;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Note, ProjectView, Sourced, backing, join,
    parent,
};

/// Dependencies that mean a backing service and are not (yet) in the shared table.
const GLEAM_BACKING: &[(&str, &str)] = &[
    ("gleam_pgo", "postgres"),
    ("mungo", "mongodb"),
    ("pog", "postgres"),
    ("radish", "redis"),
    ("valkyrie", "redis"),
];

/// How Gleam code reads env vars (`envoy.get("X")`, `os.get_env("X")`).
const ENV_READS: &[&str] = &["envoy.get(", "get_env("];

/// Detects gleam projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GleamDetector;

impl Detector for GleamDetector {
    fn id(&self) -> &str {
        "gleam"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(view
            .named("gleam.toml")
            .iter()
            .filter(|path| !fetched_package(view, parent(path)))
            .filter_map(|path| analyse(view, path))
            .collect())
    }
}

/// Whether `dir` is a package Gleam fetched into a project's `build/packages/` (not
/// ignored when the project has no `.gitignore`).
fn fetched_package(view: &ProjectView, dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').collect();
    parts.windows(2).enumerate().any(|(i, w)| {
        w == ["build", "packages"]
            && parts
                .get(..i)
                .is_some_and(|p| view.is_file(&join(&p.join("/"), "gleam.toml")))
    })
}

/// What a deployment needs from `gleam.toml`.
#[derive(Debug, Default)]
struct GleamToml {
    name: Option<String>,
    target: Option<String>,
    gleam: Option<String>,
    js_runtime: Option<String>,
    dependencies: Vec<String>,
}

fn parse(text: &str) -> Result<GleamToml, toml::de::Error> {
    let table: Table = toml::from_str(text)?;
    let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    Ok(GleamToml {
        name: string(table.get("name")),
        target: string(table.get("target")),
        gleam: string(table.get("gleam")),
        js_runtime: string(table.get("javascript").and_then(|j| j.get("runtime"))),
        dependencies: table
            .get("dependencies")
            .and_then(Value::as_table)
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default(),
    })
}

fn analyse(view: &ProjectView, manifest: &str) -> Option<Detection> {
    let dir = parent(manifest);
    let text = view.text(manifest)?;
    let config = match parse(&text) {
        Ok(c) => c,
        Err(e) => {
            common::invalid(view, manifest, e);
            return Some(
                Detection::new("gleam", dir, "gleam", 0.5)
                    .with_evidence(manifest, "gleam.toml (invalid, see warnings)"),
            );
        }
    };
    let mut d = Detection::new("gleam", dir, "gleam", 0.75)
        .with_evidence(manifest, "gleam.toml: a Gleam project");
    let mut notes: Vec<Note> = Vec::new();
    let lock = join(dir, "manifest.toml");
    if view.is_file(&lock) {
        d.boost(0.05);
        d = d.with_evidence(lock.clone(), "lockfile pins the dependencies");
    } else {
        notes.push(Note::new(
            "no-lockfile",
            "no manifest.toml: installs are not reproducible; run `gleam deps download` and commit manifest.toml",
        ));
    }
    let has = |name: &str| config.dependencies.iter().any(|x| x == name);
    let name = config.name.clone().unwrap_or_else(|| "app".into());
    let main_module = join(dir, &format!("src/{name}.gleam"));
    let has_main = view
        .text(&main_module)
        .is_some_and(|t| t.contains("pub fn main("));
    let sources = files_under(view, &join(dir, "src"), 3, "gleam", 200);

    let hints = &mut d.hints;
    hints.name = config
        .name
        .clone()
        .map(|n| Sourced::new(n, format!("{manifest} name")));
    hints.package_manager = Some(Sourced::new("gleam".to_string(), manifest.to_string()));
    hints.install_command = Some(Sourced::new(
        "gleam deps download".to_string(),
        manifest.to_string(),
    ));
    hints.runtime_version = common::tool_version(view, dir, &["gleam"]).or_else(|| {
        let c = config.gleam.as_deref()?;
        version_from_constraint(c).map(|v| Sourced::new(v, format!("{manifest} gleam ({c})")))
    });

    let mut env = common::env_from_examples(view, dir);
    let mut web = false;
    if has_main {
        let javascript = config.target.as_deref() == Some("javascript");
        if javascript {
            let runtime = config.js_runtime.clone().unwrap_or_else(|| "node".into());
            hints.build_command = Some(Sourced::new(
                "gleam build --target javascript".to_string(),
                format!("{manifest} target"),
            ));
            hints.start_command = Some(Sourced::new(
                format!("gleam run --target javascript --runtime {runtime}"),
                main_module.clone(),
            ));
        } else {
            hints.build_command = Some(Sourced::new(
                "gleam export erlang-shipment".to_string(),
                manifest.to_string(),
            ));
            hints.start_command = Some(Sourced::new(
                "build/erlang-shipment/entrypoint.sh run".to_string(),
                main_module.clone(),
            ));
        }
        web = has("mist") || has("wisp");
        let code: Vec<(String, std::sync::Arc<str>)> = sources
            .iter()
            .filter_map(|f| view.text(f).map(|t| (f.clone(), t)))
            .collect();
        if web {
            if has("wisp") {
                hints.framework = Some(Sourced::new("wisp".to_string(), manifest.to_string()));
            }
            let code_port = code
                .iter()
                .find_map(|(f, t)| mist_port(t).map(|p| Sourced::new(p, format!("{f} mist.port"))));
            let port = example_port(view, dir)
                .or(code_port)
                .unwrap_or_else(|| Sourced::assumed(4000, "mist"));
            hints.ports.push(port);
            if !code.iter().any(|(_, t)| t.contains("mist.bind(")) {
                notes.push(Note::new(
                    "bind-localhost",
                    "mist listens on localhost by default, unreachable from outside a container: add `|> mist.bind(\"0.0.0.0\")`",
                ));
            }
            hints.healthcheck = code
                .iter()
                .find_map(|(f, t)| gleam_health(t).map(|p| Sourced::new(p.to_string(), f.clone())));
        }
        for (f, t) in &code {
            for n in env_names_in(t, ENV_READS) {
                push_unique(&mut env, n, f);
            }
        }
        d = d.with_evidence(main_module.clone(), "main module with `pub fn main`");
    }

    let mut services: Vec<Sourced<String>> = Vec::new();
    for dep in &config.dependencies {
        if let Some(b) = lookup(GLEAM_BACKING, dep).or_else(|| backing::from_package(dep)) {
            push_unique(&mut services, b, format!("{manifest} {dep}"));
        }
    }
    for b in env_backing(view, dir, &env, &services, has("sqlight")) {
        if !services.iter().any(|s| s.value == b.value) {
            services.push(b);
        }
    }
    d.hints.env = env;
    d.hints.backing_services = services;
    d.hints.notes = notes;
    if has_main {
        d.boost(0.1);
        if web {
            d.boost(0.05);
        }
    } else {
        d.kind = DetectionKind::Library;
    }
    Some(d)
}

/// The port of a `mist.port(8000)` call.
fn mist_port(code: &str) -> Option<u16> {
    let at = code.find("mist.port(")?;
    let rest = code.get(at + "mist.port(".len()..)?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse::<u16>().ok().filter(|p| *p > 0)
}

/// A health route in wisp's path matching (`["health"] ->`), or a string literal.
fn gleam_health(code: &str) -> Option<&'static str> {
    for (segment, path) in [
        ("[\"healthz\"]", "/healthz"),
        ("[\"health\"]", "/health"),
        ("[\"ping\"]", "/ping"),
    ] {
        if code.contains(segment) {
            return Some(path);
        }
    }
    health_route(code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn gleam_toml() {
        let text = "name = \"app\"\nversion = \"1.0.0\"\ngleam = \">= 1.4.0\"\ntarget = \"javascript\"\n\n[javascript]\nruntime = \"bun\"\n\n[dependencies]\ngleam_stdlib = \">= 0.34.0 and < 2.0.0\"\nwisp = \">= 1.0.0 and < 2.0.0\"\n";
        let c = parse(text).unwrap();
        assert_eq!(c.name.as_deref(), Some("app"));
        assert_eq!(c.target.as_deref(), Some("javascript"));
        assert_eq!(c.js_runtime.as_deref(), Some("bun"));
        assert_eq!(c.dependencies, vec!["gleam_stdlib", "wisp"]);
        assert!(parse("name = ").is_err());
    }

    #[test]
    fn mist_calls() {
        assert_eq!(mist_port("  |> mist.port(8000)\n"), Some(8000));
        assert_eq!(mist_port("mist.port(port)"), None);
        assert_eq!(
            gleam_health("case wisp.path_segments(req) {\n [\"health\"] -> ok"),
            Some("/health")
        );
    }
}
