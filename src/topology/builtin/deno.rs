//! The deno detector: folders with a `deno.json` or `deno.jsonc` (JSON with comments),
//! or only a `deno.lock`.
//!
//! - Start: `deno task start` when `tasks.start` exists and is not a dev server (a
//!   `--watch` flag, Fresh 1's `dev.ts`, `vite`); else `deno task preview` (Fresh 1's
//!   production task); else `deno run -A <entry>` with the first of `main.ts`,
//!   `main.tsx`, `server.ts`, `app.ts`, `src/main.ts`... (not `mod.ts`: by convention a
//!   library's entry). Build: `deno task build`.
//!   Install: `deno cache <entry>` (works with Deno 1 and 2).
//! - Framework: `fresh` when the import map names Fresh (`$fresh/`, `jsr:@fresh/core`,
//!   `deno.land/x/fresh`) or `fresh.gen.ts`/`fresh.config.ts` exists. Port: a literal in
//!   the entry file (`port: 8080`, `.listen(8080`, `PORT") ?? 8080`), else 8000, the
//!   default of `Deno.serve` and Fresh, marked `default for deno`/`default for fresh`.
//! - Runtime version: `.dvmrc` > `.tool-versions` (`deno`) > `2`, marked `default for
//!   deno`.
//! - Workspaces: a `deno.json` with `workspace` members and no start of its own is a
//!   workspace root (pattern `deno-workspace`); its members build from it (`context`).
//! - A `deno.json` with `exports` and no way to start is a library (a JSR package).
//! - Env names from example env files and `Deno.env.get("X")` in the entry file; backing
//!   services from `npm:` imports (through [`backing::from_package`]), the Deno database
//!   drivers (`x/postgres`, `x/redis`, `x/mongo`, `x/mysql`, `jsr:@db/*`) and env names.
//! - A folder that is clearly a node app (its `package.json` has a start script, or a
//!   node lockfile sits beside it) keeps only a weak deno detection (0.25), below the
//!   merge's rival threshold: a `deno.json` alone must not steal a node app.

use crate::topology::Provenance;
use std::collections::BTreeSet;

use serde_json::Value;

use crate::topology::manifest::{jsonc, package_json};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, ProjectView, Sourced, backing,
    common, join, parent,
};

use super::shared::{port_in_source, relative_to};
use crate::model::shell_quote as sh_quote;

/// Detects deno projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DenoDetector;

const ENTRY_FILES: &[&str] = &[
    "main.ts",
    "main.tsx",
    "main.js",
    "server.ts",
    "server.tsx",
    "app.ts",
    "index.ts",
    "src/main.ts",
    "src/server.ts",
    "src/index.ts",
];

const NODE_LOCKFILES: &[&str] = &[
    "bun.lock",
    "bun.lockb",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
];

const DEFAULT_DENO: &str = "2";
const DEFAULT_PORT: u16 = 8000;

/// The fields of a `deno.json` that matter here.
#[derive(Debug, Default)]
struct DenoConfig {
    tasks: Vec<(String, String)>,
    imports: Vec<(String, String)>,
    import_map: Option<String>,
    workspace: Vec<String>,
    name: Option<String>,
    exports: bool,
}

impl DenoConfig {
    fn task(&self, name: &str) -> Option<&str> {
        self.tasks
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }
}

fn parse_config(text: &str) -> Result<DenoConfig, String> {
    let value = jsonc::parse(text).map_err(|e| e.to_string())?;
    let Value::Object(obj) = value else {
        return Err("deno.json is not a JSON object".into());
    };
    let mut c = DenoConfig::default();
    if let Some(Value::Object(tasks)) = obj.get("tasks") {
        for (k, v) in tasks {
            // A task is a command, or (Deno 2) an object with a command.
            let command = match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("command").and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            if let Some(cmd) = command {
                c.tasks.push((k.clone(), cmd));
            }
        }
    }
    c.imports = string_pairs(obj.get("imports"));
    c.import_map = obj
        .get("importMap")
        .and_then(Value::as_str)
        .map(str::to_string);
    c.workspace = match obj.get("workspace") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::Object(o)) => o
            .get("members")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    c.name = obj.get("name").and_then(Value::as_str).map(str::to_string);
    c.exports = obj.get("exports").is_some_and(|e| !e.is_null());
    Ok(c)
}

fn string_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(o)) => o
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a task runs a development server.
fn is_dev_task(task: &str) -> bool {
    task.contains("--watch")
        || task
            .split_whitespace()
            .any(|t| t == "dev.ts" || t == "./dev.ts")
        || task
            .split_whitespace()
            .next()
            .is_some_and(|first| first == "vite")
            && !task.contains("vite build")
}

/// The backing service an import specifier stands for.
fn backing_of_import(specifier: &str) -> Option<&'static str> {
    let s = specifier.trim();
    if let Some(npm) = s.strip_prefix("npm:") {
        let npm = npm.trim_start_matches('/');
        // `@scope/name@1.2/sub` or `name@1.2/sub`.
        let (scope, rest) = match npm.strip_prefix('@') {
            Some(r) => match r.split_once('/') {
                Some((scope, rest)) => (Some(scope), rest),
                None => (None, r),
            },
            None => (None, npm),
        };
        let name = rest.split(['@', '/']).next().unwrap_or(rest);
        let full = match scope {
            Some(scope) => format!("@{scope}/{name}"),
            None => name.to_string(),
        };
        return backing::from_package(&full);
    }
    let lower = s.to_ascii_lowercase();
    let known: &[(&str, &str)] = &[
        ("jsr:@db/mongo", "mongodb"),
        ("jsr:@db/mysql", "mysql"),
        ("jsr:@db/postgres", "postgres"),
        ("jsr:@db/redis", "redis"),
        ("/x/mongo@", "mongodb"),
        ("/x/mysql@", "mysql"),
        ("/x/postgres@", "postgres"),
        ("/x/postgresjs@", "postgres"),
        ("/x/redis@", "redis"),
    ];
    known
        .iter()
        .find(|(k, _)| lower.contains(k))
        .map(|(_, b)| *b)
}

/// Env var names read with `Deno.env.get("NAME")`.
fn env_in_source(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("Deno.env.get(") {
        rest = &rest[i + "Deno.env.get(".len()..];
        let Some(quoted) = rest.strip_prefix(['"', '\'', '`']) else {
            continue;
        };
        let name: String = quoted
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if crate::model::validate_env_name(&name).is_ok() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

impl Detector for DenoDetector {
    fn id(&self) -> &str {
        "deno"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        // One config per folder: deno.json wins over deno.jsonc, as in Deno.
        let mut configs: Vec<(String, String)> = Vec::new();
        for name in ["deno.json", "deno.jsonc"] {
            for path in view.named(name) {
                let dir = parent(path).to_string();
                if !configs.iter().any(|(d, _)| *d == dir) {
                    configs.push((dir, path.to_string()));
                }
            }
        }
        let mut parsed: Vec<(String, String, DenoConfig)> = Vec::new();
        for (dir, path) in configs {
            let Some(text) = view.text(&path) else {
                continue;
            };
            match parse_config(&text) {
                Ok(c) => parsed.push((dir, path, c)),
                Err(e) => common::invalid(view, &path, e),
            }
        }

        // Workspace members: folder -> workspace root.
        let mut member_of: Vec<(String, String)> = Vec::new();
        for (root, _, c) in &parsed {
            if c.workspace.is_empty() {
                continue;
            }
            let mut builder = globset::GlobSetBuilder::new();
            for m in &c.workspace {
                let m = m.trim().trim_start_matches("./").trim_end_matches('/');
                if m.is_empty() || m.contains("..") {
                    continue;
                }
                if let Ok(g) = globset::GlobBuilder::new(m).literal_separator(true).build() {
                    builder.add(g);
                }
            }
            let Ok(set) = builder.build() else {
                continue;
            };
            for (dir, _, _) in &parsed {
                if let Some(rel) = relative_to(root, dir)
                    && !rel.is_empty()
                    && set.is_match(rel)
                {
                    member_of.push((dir.clone(), root.clone()));
                }
            }
        }

        let mut out = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (dir, path, config) in &parsed {
            seen.insert(dir.clone());
            let context = member_of
                .iter()
                .filter(|(m, _)| m == dir)
                .map(|(_, r)| r.clone())
                .max_by_key(String::len);
            out.push(analyse(view, dir, Some((path, config)), context));
        }
        // A deno.lock without a config: a Deno app that runs on defaults.
        for path in view.named("deno.lock") {
            let dir = parent(path).to_string();
            if seen.insert(dir.clone()) {
                let d = analyse(view, &dir, None, None);
                if d.hints.start_command.is_some() {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }
}

fn analyse(
    view: &ProjectView,
    dir: &str,
    config: Option<(&String, &DenoConfig)>,
    context: Option<String>,
) -> Detection {
    let empty = DenoConfig::default();
    let (config_path, c) = match config {
        Some((p, c)) => (Some(p.as_str()), c),
        None => (None, &empty),
    };
    let lock = Some(join(dir, "deno.lock")).filter(|p| view.is_file(p));
    // A package that exports modules and has no start task is a library (a JSR
    // package): its files are not an app's entry.
    let library = c.exports && c.task("start").is_none();
    let entry = ENTRY_FILES
        .iter()
        .map(|f| join(dir, f))
        .find(|p| !library && view.is_file(p));
    let in_dir = |cmd: String| match context.as_deref().and_then(|ctx| relative_to(ctx, dir)) {
        Some(rel) if !rel.is_empty() => format!("cd {} && {cmd}", sh_quote(rel)),
        _ => cmd,
    };
    let entry_rel = entry
        .as_deref()
        .map(|e| relative_to(dir, e).unwrap_or(e).to_string());

    let mut d = Detection::new("deno", dir.to_string(), "deno", 0.75);
    match config_path {
        Some(p) => d.evidence.push(Evidence::new(p, "Deno config")),
        None => {
            d.confidence = 0.5;
        }
    }
    if let Some(l) = &lock {
        d.evidence.push(Evidence::new(l, "Deno lockfile"));
        d.boost(0.05);
    }
    d.hints.context = context.clone();
    d.hints.package_manager = Some(Sourced::new(
        "deno".to_string(),
        config_path
            .map(str::to_string)
            .or_else(|| lock.clone())
            .unwrap_or_default(),
    ));
    if let (Some(n), Some(p)) = (&c.name, config_path) {
        d.hints.name = Some(Sourced::new(n.clone(), format!("{p} name")));
    }
    d.hints.runtime_version = Some(
        common::find_up(view, dir, ".dvmrc")
            .and_then(|p| common::version_file(view, parent(&p), ".dvmrc"))
            .or_else(|| common::tool_version(view, dir, &["deno"]))
            .unwrap_or_else(|| Sourced::assumed(DEFAULT_DENO.to_string(), "deno")),
    );

    // Imports: the config's, and those of its import map file.
    let mut imports = c.imports.clone();
    if let Some(map) = &c.import_map {
        let map_path = join(dir, map.trim_start_matches("./"));
        if !map.contains("..")
            && let Some(text) = view.text(&map_path)
        {
            match jsonc::parse(&text) {
                Ok(v) => imports.extend(string_pairs(v.get("imports"))),
                Err(e) => common::invalid(view, &map_path, e),
            }
        }
    }
    let fresh_import = imports.iter().any(|(k, v)| {
        k.starts_with("$fresh/")
            || v.contains("jsr:@fresh/core")
            || v.contains("deno.land/x/fresh@")
    });
    let fresh_file = ["fresh.gen.ts", "fresh.config.ts"]
        .iter()
        .map(|f| join(dir, f))
        .find(|p| view.is_file(p));
    let fresh = fresh_import || fresh_file.is_some();
    if fresh {
        let source = match (&fresh_file, config_path) {
            (_, Some(p)) if fresh_import => format!("{p} imports"),
            (Some(f), _) => f.clone(),
            _ => String::new(),
        };
        d.hints.framework = Some(Sourced::new("fresh".to_string(), source.clone()));
        d.evidence.push(Evidence::new(
            source.split(' ').next().unwrap_or_default(),
            "Fresh framework",
        ));
    }

    // Start.
    let start_task = c.task("start");
    let start = match start_task {
        Some(t) if !is_dev_task(t) => config_path
            .map(|p| Sourced::new(in_dir("deno task start".into()), format!("{p} tasks.start"))),
        _ => None,
    }
    .or_else(|| {
        c.task("preview")
            .filter(|t| !is_dev_task(t))
            .and(config_path)
            .map(|p| {
                Sourced::new(
                    in_dir("deno task preview".into()),
                    format!("{p} tasks.preview"),
                )
            })
    })
    .or_else(|| {
        entry_rel.as_ref().zip(entry.as_ref()).map(|(rel, e)| {
            Sourced::new(in_dir(format!("deno run -A {}", sh_quote(rel))), e.clone())
        })
    })
    .or_else(|| {
        start_task
            .and(config_path)
            .map(|p| Sourced::new(in_dir("deno task start".into()), format!("{p} tasks.start")))
    });
    if start.is_some() {
        d.boost(0.15);
    }
    if let Some(e) = &entry {
        d.evidence.push(Evidence::new(e, "entry file"));
    }
    if let (Some(p), Some(t)) = (config_path, start_task) {
        d.evidence
            .push(Evidence::new(p, format!("tasks.start: {t}")));
    }
    d.hints.start_command = start;
    if c.task("build").is_some()
        && let Some(p) = config_path
    {
        d.hints.build_command = Some(Sourced::new(
            in_dir("deno task build".into()),
            format!("{p} tasks.build"),
        ));
    }
    if let (Some(rel), Some(_)) = (&entry_rel, &entry) {
        d.hints.install_command = Some(Sourced::new(
            in_dir(format!("deno cache {}", sh_quote(rel))),
            lock.as_ref()
                .map_or_else(|| Provenance::default_for("deno"), Provenance::from),
        ));
    }

    // What kind of folder.
    if d.hints.start_command.is_none() {
        if !c.workspace.is_empty() {
            d.kind = DetectionKind::WorkspaceRoot;
            d.hints.patterns.push("deno-workspace".into());
            d.confidence = 0.85;
            if let Some(p) = config_path {
                d.evidence.push(Evidence::new(
                    p,
                    format!("Deno workspace: {}", c.workspace.join(", ")),
                ));
            }
            return d;
        }
        d.kind = DetectionKind::Library;
        if c.exports
            && let Some(p) = config_path
        {
            d.evidence.push(Evidence::new(p, "exports (a JSR package)"));
        }
        return d;
    }
    if !c.workspace.is_empty() {
        d.hints.patterns.push("deno-workspace".into());
    }

    // Port, env, backing services.
    let mut env = common::env_from_examples(view, dir);
    let mut port: Option<Sourced<u16>> = None;
    if let Some(e) = &entry
        && let Some(text) = view.text(e)
    {
        port = port_in_source(&text).map(|p| Sourced::new(p, e.clone()));
        for n in env_in_source(&text) {
            if !env.iter().any(|x| x.value == n) {
                env.push(Sourced::new(n, e.clone()));
            }
        }
    }
    d.hints.ports =
        vec![port.unwrap_or_else(|| {
            Sourced::assumed(DEFAULT_PORT, if fresh { "fresh" } else { "deno" })
        })];
    let mut backing_services: Vec<Sourced<String>> = Vec::new();
    for (k, v) in &imports {
        if let Some(b) = backing_of_import(v)
            && !backing_services.iter().any(|x| x.value == b)
        {
            let source = config_path.map_or_else(String::new, |p| format!("{p} imports.{k}"));
            backing_services.push(Sourced::new(b.to_string(), source));
        }
    }
    for b in common::backing_from_env(&env) {
        if !backing_services.iter().any(|x| x.value == b.value) {
            backing_services.push(b);
        }
    }
    d.hints.backing_services = backing_services;
    d.hints.env = env;

    // A node app with a deno.json beside it stays a node app.
    let package = join(dir, "package.json");
    let node_lock = NODE_LOCKFILES
        .iter()
        .map(|f| join(dir, f))
        .find(|p| view.is_file(p));
    let node_start = view
        .text(&package)
        .and_then(|t| package_json::parse(&t).ok())
        .is_some_and(|p| p.script("start").is_some());
    if node_start || node_lock.is_some() {
        d.confidence = 0.25;
        d.evidence.push(Evidence::new(
            node_lock.unwrap_or(package),
            "a node app lives here too: the deno config is likely tooling",
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A temporary project holding `files`, and what the detector finds in it.
    fn scan(files: &[(&str, &str)]) -> Vec<Detection> {
        crate::topology::testing::scan(&DenoDetector, files)
    }

    #[test]
    fn deno_config_beside_a_node_app_stays_weak() {
        let found = scan(&[
            (
                "deno.json",
                r#"{"tasks": {"start": "deno run -A main.ts"}}"#,
            ),
            ("main.ts", "Deno.serve(() => new Response('x'))"),
            (
                "package.json",
                r#"{"scripts": {"start": "node server.js"}}"#,
            ),
            ("package-lock.json", "{}"),
        ]);
        assert_eq!(found.len(), 1);
        assert!(found[0].confidence < 0.3, "{}", found[0].confidence);
    }

    #[test]
    fn deno_workspace_root_and_members() {
        let found = scan(&[
            ("deno.json", r#"{"workspace": ["./api", "./lib"]}"#),
            (
                "api/deno.json",
                r#"{"name": "@acme/api", "tasks": {"start": "deno run -A main.ts"}}"#,
            ),
            (
                "api/main.ts",
                "Deno.serve({ port: 9000 }, () => new Response('x'))",
            ),
            (
                "lib/deno.json",
                r#"{"name": "@acme/lib", "exports": "./mod.ts"}"#,
            ),
            ("lib/mod.ts", "export const x = 1;"),
        ]);
        let paths: Vec<(&str, DetectionKind)> =
            found.iter().map(|d| (d.path.as_str(), d.kind)).collect();
        assert_eq!(
            paths,
            vec![
                ("", DetectionKind::WorkspaceRoot),
                ("api", DetectionKind::Service),
                ("lib", DetectionKind::Library),
            ]
        );
        assert_eq!(found[0].hints.patterns, vec!["deno-workspace"]);
        let api = &found[1];
        assert_eq!(api.hints.context.as_deref(), Some(""));
        assert_eq!(
            api.hints.start_command.as_ref().unwrap().value,
            "cd api && deno task start"
        );
        assert_eq!(api.hints.ports[0].value, 9000);
    }

    #[test]
    fn invalid_config_is_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deno.json"), "{ \"tasks\": ").unwrap();
        let view = ProjectView::scan(dir.path()).unwrap();
        assert!(DenoDetector.detect(&view).unwrap().is_empty());
        assert_eq!(view.errors().len(), 1);
    }

    #[test]
    fn lockfile_only_with_an_entry() {
        let found = scan(&[
            ("deno.lock", r#"{"version": "4"}"#),
            ("server.ts", "Deno.serve(() => new Response('x'))"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].hints.start_command.as_ref().unwrap().value,
            "deno run -A server.ts"
        );
        assert_eq!(
            found[0].hints.ports[0].source,
            Provenance::default_for("deno")
        );
    }

    #[test]
    fn config_with_comments() {
        let c = parse_config(
            "{\n  // tasks\n  \"tasks\": {\n    \"start\": \"deno run -A main.ts\",\n    \"check\": { \"command\": \"deno check main.ts\" },\n    \"bad\": 3,\n  },\n  \"imports\": { \"$fresh/\": \"https://deno.land/x/fresh@1.6.8/\", \"pg\": \"npm:pg@8\" },\n  \"workspace\": [\"./api\"],\n  \"exports\": \"./mod.ts\"\n}\n",
        )
        .unwrap();
        assert_eq!(c.task("start"), Some("deno run -A main.ts"));
        assert_eq!(c.task("check"), Some("deno check main.ts"));
        assert_eq!(c.task("bad"), None);
        assert_eq!(c.imports.len(), 2);
        assert_eq!(c.workspace, vec!["./api"]);
        assert!(c.exports);
        assert!(parse_config("[]").is_err());
        assert!(parse_config("{").is_err());
    }

    #[test]
    fn dev_tasks() {
        assert!(is_dev_task("deno run -A --watch=static/,routes/ dev.ts"));
        assert!(is_dev_task("vite"));
        assert!(!is_dev_task("vite build"));
        assert!(!is_dev_task("deno run -A main.ts"));
        assert!(!is_dev_task("deno serve -A _fresh/server.js"));
    }

    #[test]
    fn import_backing() {
        assert_eq!(backing_of_import("npm:pg@8.11"), Some("postgres"));
        assert_eq!(backing_of_import("npm:ioredis"), Some("redis"));
        assert_eq!(backing_of_import("npm:@prisma/client@5"), Some("postgres"));
        assert_eq!(
            backing_of_import("https://deno.land/x/postgres@v0.19.3/mod.ts"),
            Some("postgres")
        );
        assert_eq!(backing_of_import("jsr:@db/redis@0.1"), Some("redis"));
        assert_eq!(backing_of_import("jsr:@std/http"), None);
        assert_eq!(backing_of_import("npm:"), None);
        assert_eq!(backing_of_import("npm:@"), None);
    }

    #[test]
    fn deno_env() {
        let text = "const url = Deno.env.get(\"DATABASE_URL\");\nDeno.env.get(name);\nDeno.env.get('PORT')";
        assert_eq!(env_in_source(text), vec!["DATABASE_URL", "PORT"]);
    }

    proptest::proptest! {
        #[test]
        fn scanners_never_panic(text in "\\PC*") {
            let _ = parse_config(&text);
            let _ = is_dev_task(&text);
            let _ = backing_of_import(&text);
            let _ = env_in_source(&text);
        }

        #[test]
        fn import_specifiers_never_panic(text in "(npm:|jsr:|@|/|x/|[a-z0-9.é])*") {
            let _ = backing_of_import(&text);
        }
    }
}
