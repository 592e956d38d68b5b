//! The node detector: every folder with a `package.json` (npm, yarn, pnpm, bun), its
//! framework, package manager, commands, port, runtime version, env vars and backing
//! services, and the workspaces (monorepos) that group them.
//!
//! # What a folder becomes
//!
//! - A **workspace root** (`workspaces` in `package.json`, `pnpm-workspace.yaml`, or
//!   `lerna.json` packages) whose own `package.json` is not an app is a
//!   [`DetectionKind::WorkspaceRoot`] with patterns `npm-workspaces` / `yarn-workspaces` /
//!   `pnpm-workspaces` / `bun-workspaces`, plus `turbo` (`turbo.json`), `nx` (`nx.json`)
//!   and `lerna` (`lerna.json`).
//! - A **member** of a workspace (its folder matches one of the root's globs) is a
//!   service when it runs: an app framework (Next.js, Nuxt, Remix, Astro, SvelteKit,
//!   Angular, NestJS, create-react-app, a Vite app with an `index.html`...), a server
//!   framework in `dependencies` with a way to start it, a start script, or a
//!   `server.js`/`app.js`. Otherwise it is a [`DetectionKind::Library`]. A member's
//!   `context` is the workspace root (it installs from the root's lockfile), and its
//!   commands run from there: `pnpm --filter <name> run start`,
//!   `npm run start --workspace=<name>`, `yarn workspace <name> run start`,
//!   `bun run --filter <name> start`; builds go through `turbo run build --filter=<name>`
//!   when `turbo.json` has a build task, `nx run <name>:build` with `nx.json`, and
//!   `pnpm --filter <name>... run build` (the package and its workspace dependencies)
//!   with pnpm. Commands that are not scripts become `cd <member> && ...`.
//! - Any other `package.json` is a service by the same rules, and also when it only has
//!   an entry file (`index.js`...) outside a workspace. A `package.json` next to another
//!   stack's manifest (`Gemfile`, `composer.json`, `pyproject.toml`...) is that app's
//!   asset pipeline (a library) unless it holds a server framework. A `package.json`
//!   whose start script only starts sub-projects (`concurrently`, `--prefix api`,
//!   `cd web && ...`) is a workspace root: the sub-projects are the services.
//!
//! # Static output
//!
//! A framework that builds static files (create-react-app, a Vite SPA, Angular without
//! SSR, Astro without `@astrojs/node`, SvelteKit with `adapter-static`, Next.js with
//! `output: 'export'`, Gatsby, Docusaurus, Vue CLI, Eleventy) is still a service: it is
//! built, then its output folder is served by [`serve`](https://github.com/vercel/serve)
//! (`npx --yes serve -s dist`, with `-s` for single-page apps so every route gets
//! `index.html`), which listens on `$PORT`, 3000 by default. Neither the framework's dev
//! server in `scripts.start` (`react-scripts start`, `ng serve`, `astro dev`...) nor its
//! own server (`next start` after `output: 'export'`, `astro preview`) is used as the
//! start command; a start script running anything else (`serve -s build`, a custom
//! `node server.js`) is.
//!
//! # Package manager
//!
//! The `packageManager` field (corepack) wins; when a lockfile of another manager
//! disagrees, a `package-manager-mismatch` note says so. Then the lockfile:
//! `pnpm-lock.yaml` > `bun.lockb`/`bun.lock` > `yarn.lock` > `package-lock.json`/
//! `npm-shrinkwrap.json` (several of them: a `multiple-lockfiles` note). Then
//! `pnpm-workspace.yaml` (pnpm) or `.yarnrc.yml` (yarn). Else npm, with a `no-lockfile`
//! note. Yarn is berry (2+) with `.yarnrc.yml`, a `packageManager` of `yarn@2` or later, or
//! a lockfile with `__metadata`; classic otherwise. Install: `npm ci` / `npm install`,
//! `yarn install --frozen-lockfile` (classic) / `yarn install --immutable` (berry),
//! `pnpm install --frozen-lockfile`, `bun install --frozen-lockfile` (the non-frozen form
//! without a lockfile). A member uses its workspace root's package manager and lockfile.
//!
//! # Commands
//!
//! Start: `scripts["start:prod"]` (or `start:production`), else `scripts.start` unless it
//! runs a dev server, else the framework's production server (`next start`,
//! `node .output/server/index.mjs` for Nuxt, `node build` for SvelteKit's adapter-node,
//! `node dist/main` for NestJS...), else `node <main>`, else the first of `server.js`,
//! `app.js`, `index.js`, `main.js`, `src/server.js`, `src/index.js`... (with bun, `.ts`
//! entry files run with `bun`). Build: `scripts.build`, else the framework's build.
//!
//! # Runtime version
//!
//! `.nvmrc` > `.node-version` > `.tool-versions` (`nodejs` or `node`) — each looked up
//! from the folder to the root, as nvm does — > `engines.node` of the package > of its
//! workspace root > `volta.node` of the package > of its workspace root > `22`, marked
//! `default for node`. An `lts/<codename>` alias becomes its major version.
//!
//! # Ports
//!
//! A port flag of the start script (`-p 4000`, `--port=4000`, `PORT=4000 node ...`), else
//! `PORT` in an example env file, else a literal in the entry file
//! (`process.env.PORT || 3000`, `.listen(8080)`), else the framework's default (Next.js,
//! Nuxt, Remix, Express, Fastify, NestJS 3000; Astro with `@astrojs/node` 4321; Angular
//! SSR 4000; static output 3000), marked `default for X`.
//!
//! # Backing services and env
//!
//! Runtime `dependencies` through [`backing::from_package`]; with Prisma, the schema's
//! datasource provider instead of the generic `@prisma/client` guess, and its
//! `env("...")` names. Env names from example env files and `process.env.X` in the entry
//! file; env names that stand for a backing service add it.

use super::shared::{port_in_source, relative_to};
use crate::topology::Provenance;
use std::collections::{BTreeMap, BTreeSet};

use crate::topology::manifest::jsonc;
use crate::topology::manifest::package_json::{self, PackageJson};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    backing, common, file_name, join, parent,
};

mod frameworks;
use frameworks::*;
mod manager;
use manager::*;
mod workspaces;
use workspaces::*;

/// Detects node projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NodeDetector;

impl Detector for NodeDetector {
    fn id(&self) -> &str {
        "node"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut packages: BTreeMap<String, Option<PackageJson>> = BTreeMap::new();
        for path in view.named("package.json") {
            let dir = parent(path).to_string();
            let Some(text) = view.text(path) else {
                continue;
            };
            match package_json::parse(&text) {
                Ok(p) => {
                    packages.insert(dir, Some(p));
                }
                Err(e) => {
                    common::invalid(view, path, &e);
                    packages.insert(dir, None);
                }
            }
        }
        let workspaces = find_workspaces(view, &packages);
        let mut out = Vec::new();
        for (dir, pkg) in &packages {
            let own_workspace = workspaces.iter().find(|w| &w.root == dir);
            // The deepest workspace that lists this folder.
            let member_of = workspaces
                .iter()
                .filter(|w| w.members.contains(dir))
                .max_by_key(|w| w.root.len());
            let root_pkg = member_of
                .and_then(|w| packages.get(&w.root))
                .and_then(Option::as_ref);
            let analysis = Analysis {
                view,
                dir,
                manifest: join(dir, "package.json"),
                pkg: pkg.as_ref(),
                workspace: own_workspace,
                member_of,
                root_pkg,
                nested: packages
                    .keys()
                    .filter_map(|other| relative_to(dir, other))
                    .filter(|rel| !rel.is_empty())
                    .collect(),
            };
            out.push(analysis.detect());
        }
        // A pnpm workspace declared without a root package.json is still a root.
        for w in &workspaces {
            if !packages.contains_key(&w.root) {
                out.push(workspace_root_detection(view, w, None));
            }
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// Workspaces

// ---------------------------------------------------------------------------------------
// Package managers

// ---------------------------------------------------------------------------------------
// Frameworks

// ---------------------------------------------------------------------------------------
// Scripts

fn is_env_assignment(token: &str) -> bool {
    token.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// A port set by a command's flags (`-p 4000`, `--port=4000`, `-l tcp://0.0.0.0:5000`) or
/// env assignment (`PORT=4000 node server.js`).
fn port_in_command(command: &str) -> Option<u16> {
    let tokens: Vec<&str> = command.split_whitespace().collect();
    let number = |s: &str| -> Option<u16> {
        let s = s.trim_matches(|c| c == '"' || c == '\'');
        let digits = s.rsplit(':').next().unwrap_or(s);
        digits.parse::<u16>().ok().filter(|p| *p > 0)
    };
    for (i, t) in tokens.iter().enumerate() {
        if let Some(v) = t.strip_prefix("PORT=") {
            if let Some(p) = number(v) {
                return Some(p);
            }
            continue;
        }
        for flag in ["--port", "-p", "--listen", "-l"] {
            if *t == flag {
                if let Some(p) = tokens.get(i + 1).and_then(|n| number(n)) {
                    return Some(p);
                }
            } else if let Some(v) = t.strip_prefix(flag).and_then(|r| r.strip_prefix('='))
                && let Some(p) = number(v)
            {
                return Some(p);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Source scanning

/// Env var names read with `process.env.NAME` or `process.env["NAME"]`.
fn env_in_source(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("process.env") {
        rest = &rest[i + "process.env".len()..];
        let name_part = if let Some(r) = rest.strip_prefix('.') {
            r
        } else if let Some(r) = rest.strip_prefix("[\"").or_else(|| rest.strip_prefix("['")) {
            r
        } else {
            continue;
        };
        let name: String = name_part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if crate::model::validate_env_name(&name).is_ok() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `PORT=<number>` in an example env file of `dir`.
fn port_from_env_examples(view: &ProjectView, dir: &str) -> Option<Sourced<u16>> {
    for file in common::ENV_EXAMPLE_FILES {
        let path = join(dir, file);
        let Some(text) = view.text(&path) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if k.trim() != "PORT" {
                continue;
            }
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            let v = v.split_whitespace().next().unwrap_or_default();
            if let Ok(p) = v.parse::<u16>()
                && p > 0
            {
                return Some(Sourced::new(p, format!("{path} PORT")));
            }
        }
    }
    None
}

/// The datasource provider and env names of a Prisma schema.
fn prisma_schema(text: &str) -> (Option<String>, Vec<String>) {
    let mut provider = None;
    let mut env = Vec::new();
    let mut in_datasource = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("datasource ") {
            in_datasource = true;
            continue;
        }
        if in_datasource && line.starts_with('}') {
            in_datasource = false;
            continue;
        }
        if !in_datasource {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "provider" => {
                provider = Some(value.trim_matches('"').to_string());
            }
            "url" | "directUrl" | "shadowDatabaseUrl" => {
                if let Some(inner) = value
                    .strip_prefix("env(\"")
                    .and_then(|v| v.split('"').next())
                    && crate::model::validate_env_name(inner).is_ok()
                {
                    env.push(inner.to_string());
                }
            }
            _ => {}
        }
    }
    (provider, env)
}

fn prisma_backing(provider: &str) -> Option<&'static str> {
    match provider {
        "postgresql" | "postgres" | "cockroachdb" => Some("postgres"),
        "mysql" => Some("mysql"),
        "mongodb" => Some("mongodb"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Runtime version

/// nvm's LTS codenames, sorted.
const LTS_CODENAMES: &[(&str, &str)] = &[
    ("argon", "4"),
    ("boron", "6"),
    ("carbon", "8"),
    ("dubnium", "10"),
    ("erbium", "12"),
    ("fermium", "14"),
    ("gallium", "16"),
    ("hydrogen", "18"),
    ("iron", "20"),
    ("jod", "22"),
    ("krypton", "24"),
];

fn normalize_node_version(v: Sourced<String>) -> Sourced<String> {
    let lower = v.value.to_ascii_lowercase();
    let codename = lower.strip_prefix("lts/").unwrap_or(&lower);
    match LTS_CODENAMES.iter().find(|(c, _)| *c == codename) {
        Some((_, major)) => Sourced::new((*major).to_string(), v.source),
        None => v,
    }
}

const DEFAULT_NODE: &str = "22";

// ---------------------------------------------------------------------------------------
// One package

/// Manifests of other stacks: a `package.json` next to one of them is usually that app's
/// asset pipeline.
const FOREIGN_MANIFESTS: &[&str] = &[
    "Cargo.toml",
    "Gemfile",
    "Pipfile",
    "build.gradle",
    "build.gradle.kts",
    "composer.json",
    "go.mod",
    "manage.py",
    "mix.exs",
    "pom.xml",
    "pubspec.yaml",
    "pyproject.toml",
    "requirements.txt",
];

const ENTRY_FILES: &[&str] = &[
    "server.js",
    "server.mjs",
    "server.cjs",
    "app.js",
    "app.mjs",
    "index.js",
    "index.mjs",
    "index.cjs",
    "main.js",
    "main.mjs",
    "src/server.js",
    "src/server.mjs",
    "src/app.js",
    "src/index.js",
    "src/index.mjs",
    "src/main.js",
];

/// Entry files bun runs directly.
const BUN_ENTRY_FILES: &[&str] = &[
    "server.ts",
    "index.ts",
    "app.ts",
    "main.ts",
    "src/server.ts",
    "src/index.ts",
    "src/app.ts",
    "src/main.ts",
];

/// Source files scanned for a port and env names (besides the entry file).
const SOURCE_FILES: &[&str] = &[
    "src/main.ts",
    "src/server.ts",
    "src/index.ts",
    "src/app.ts",
    "server.ts",
    "index.ts",
    "app.ts",
];

struct Analysis<'a> {
    view: &'a ProjectView,
    dir: &'a str,
    manifest: String,
    /// `None`: the package.json does not parse.
    pkg: Option<&'a PackageJson>,
    /// The workspace this folder is the root of.
    workspace: Option<&'a Workspace>,
    /// The workspace this folder is a member of.
    member_of: Option<&'a Workspace>,
    root_pkg: Option<&'a PackageJson>,
    /// Folders below this one holding a package.json, relative to it.
    nested: Vec<&'a str>,
}

/// How commands are spelled for this folder.
struct Runner<'a> {
    pm: &'a PackageManager,
    /// The member's package name when it is usable on a command line.
    member_name: Option<String>,
    /// The folder relative to the build context, when it is a member (`apps/web`).
    member_dir: Option<String>,
    turbo_build: bool,
    nx: bool,
}

pub(super) fn sh_quote(s: &str) -> String {
    crate::model::shell_quote(s)
}

fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 214
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@/._-~".contains(c))
}

impl Runner<'_> {
    fn in_dir(&self, cmd: String) -> String {
        match &self.member_dir {
            Some(d) if !d.is_empty() => format!("cd {} && {cmd}", sh_quote(d)),
            _ => cmd,
        }
    }

    fn script(&self, script: &str) -> String {
        match (&self.member_name, &self.member_dir) {
            (Some(name), Some(_)) => match self.pm.name {
                "pnpm" => format!("pnpm --filter {name} run {script}"),
                "yarn" => format!("yarn workspace {name} run {script}"),
                "bun" => format!("bun run --filter {name} {script}"),
                _ => format!("npm run {script} --workspace={name}"),
            },
            _ => self.in_dir(self.pm.run(script)),
        }
    }

    fn build_script(&self) -> String {
        match (&self.member_name, &self.member_dir) {
            (Some(name), Some(_)) if self.turbo_build => {
                format!("{} run build --filter={name}", self.pm.exec("turbo"))
            }
            (Some(name), Some(_)) if self.nx => {
                format!("{} run {name}:build", self.pm.exec("nx"))
            }
            (Some(name), Some(_)) if self.pm.name == "pnpm" => {
                format!("pnpm --filter {name}... run build")
            }
            _ => self.script("build"),
        }
    }

    fn command(&self, c: &Command) -> String {
        match c {
            Command::Bin(b) => self.in_dir(self.pm.exec(b)),
            Command::Plain(p) => self.in_dir(p.clone()),
        }
    }

    fn serve_static(&self, dir: &str, spa: bool) -> String {
        let serve = if self.pm.name == "bun" {
            "bunx serve"
        } else {
            "npx --yes serve"
        };
        let flag = if spa { " -s" } else { "" };
        self.in_dir(format!("{serve}{flag} {}", sh_quote(dir)))
    }
}

/// What one folder holds, gathered once.
struct Facts<'p> {
    pkg: &'p PackageJson,
    valid: bool,
    pm: PackageManager,
    framework: Option<Framework>,
    /// Manifests of other stacks in the folder.
    foreign: Vec<String>,
    entry: Option<String>,
    bun_entry: Option<String>,
    /// The production start script: `start:prod`, `start:production` or `start`.
    start_script: Option<(&'static str, &'p str)>,
}

impl Facts<'_> {
    fn is_server(&self) -> bool {
        self.framework
            .as_ref()
            .is_some_and(|f| f.output == Output::Server)
    }

    fn app_framework(&self) -> bool {
        self.framework.as_ref().is_some_and(|f| f.app)
    }

    fn static_output(&self) -> Option<(&str, bool)> {
        match &self.framework {
            Some(Framework {
                output: Output::Static { dir, spa },
                ..
            }) => Some((dir.as_str(), *spa)),
            _ => None,
        }
    }
}

impl<'a> Analysis<'a> {
    fn detect(&self) -> Detection {
        let empty = PackageJson::default();
        let facts = self.facts(&empty);
        let runnable = self.runnable(&facts);

        if let Some(w) = self.workspace
            && !(runnable
                && (facts.app_framework()
                    || facts.start_script.is_some_and(|(_, s)| !delegates(s))))
        {
            let mut d = workspace_root_detection(self.view, w, self.pkg);
            d.evidence.extend(facts.pm.evidence.iter().cloned());
            d.evidence.sort();
            d.evidence.dedup();
            return d;
        }

        // A root whose start script only starts its sub-projects
        // (`concurrently "npm start --prefix api" "npm start --prefix web"`): they are the
        // services.
        if self.workspace.is_none()
            && !facts.app_framework()
            && let Some((name, script)) = facts.start_script
            && orchestrates(script, &self.nested)
        {
            let mut d = Detection::new("node", self.dir.to_string(), "node", 0.8)
                .with_kind(DetectionKind::WorkspaceRoot)
                .with_evidence(
                    self.manifest.clone(),
                    format!("scripts.{name} starts the sub-projects: {script}"),
                );
            d.hints.package_manager = Some(Sourced::new(
                facts.pm.name.to_string(),
                facts.pm.source.clone(),
            ));
            return d;
        }

        let mut d = self.base_detection(&facts);
        if !runnable {
            d.kind = DetectionKind::Library;
            if let Some(f) = facts.foreign.first() {
                d.confidence = 0.5;
                d.evidence.push(Evidence::new(
                    f,
                    "another stack's manifest: package.json is its asset pipeline",
                ));
            }
            return d;
        }
        self.service(&facts, &mut d);
        d
    }

    fn facts<'p>(&self, empty: &'p PackageJson) -> Facts<'p>
    where
        'a: 'p,
    {
        let view = self.view;
        let dir = self.dir;
        let pkg: &'p PackageJson = self.pkg.unwrap_or(empty);
        // The package manager and lockfile: a member's come from its workspace root (its
        // own packageManager field has no effect either).
        let (pm_dir, pm_pkg) = match self.member_of {
            Some(w) => (w.root.as_str(), self.root_pkg),
            None => (dir, self.pkg),
        };
        let pm = PackageManager::resolve(view, pm_dir, pm_pkg);
        let find = |files: &[&str]| files.iter().map(|f| join(dir, f)).find(|p| view.is_file(p));
        Facts {
            pkg,
            valid: self.pkg.is_some(),
            framework: self.pkg.and_then(|p| detect_framework(view, dir, p)),
            foreign: FOREIGN_MANIFESTS
                .iter()
                .map(|f| join(dir, f))
                .filter(|p| view.is_file(p))
                .collect(),
            entry: find(ENTRY_FILES),
            bun_entry: if pm.name == "bun" {
                find(BUN_ENTRY_FILES)
            } else {
                None
            },
            start_script: ["start:prod", "start:production", "start"]
                .into_iter()
                .find_map(|s| pkg.script(s).map(|c| (s, c))),
            pm,
        }
    }

    /// Whether the folder is an app (see the module docs), not a library.
    fn runnable(&self, f: &Facts<'_>) -> bool {
        let has_start = f.start_script.is_some();
        if !f.valid {
            f.entry.is_some()
        } else if !f.foreign.is_empty() {
            f.is_server() && (f.app_framework() || has_start || f.entry.is_some())
        } else if self.member_of.is_some() {
            let server_entry = ["server.js", "server.mjs", "app.js", "src/server.js"]
                .iter()
                .any(|e| self.view.is_file(&join(self.dir, e)));
            f.app_framework()
                || has_start
                || server_entry
                || (f.is_server()
                    && (f.entry.is_some() || f.pkg.main.is_some() || f.bun_entry.is_some()))
        } else {
            // A package with peer dependencies and nothing that serves is a component
            // library (a UI kit, a plugin): its `index.js` is what it exports, not a
            // program to run.
            let library = !f.pkg.peer_dependencies.is_empty() && !f.is_server();
            f.app_framework()
                || has_start
                || f.is_server()
                || (!library && (f.entry.is_some() || f.bun_entry.is_some()))
        }
    }

    /// The detection every package.json gets: evidence, name, package manager, runtime.
    fn base_detection(&self, f: &Facts<'_>) -> Detection {
        let mut d = Detection::new("node", self.dir.to_string(), "node", 0.7);
        d.evidence.push(Evidence::new(
            &self.manifest,
            if f.valid {
                "package.json manifest"
            } else {
                "package.json that does not parse"
            },
        ));
        d.evidence.extend(f.pm.evidence.iter().cloned());
        if let Some(w) = self.workspace {
            // The root is an app and a workspace at once.
            d.evidence.extend(workspace_evidence(w));
            d.hints.patterns = workspace_patterns(w, f.pm.name);
        }
        if let Some(w) = self.member_of {
            d.hints.context = Some(w.root.clone());
            d.evidence.push(Evidence::new(
                w.source.split(' ').next().unwrap_or(&w.source),
                format!("member of the workspace at {}", display(&w.root)),
            ));
        }
        if let Some(name) = &f.pkg.name {
            d.hints.name = Some(Sourced::new(
                name.clone(),
                format!("{} name", self.manifest),
            ));
        }
        d.hints.package_manager = Some(Sourced::new(f.pm.name.to_string(), f.pm.source.clone()));
        d.hints.runtime_version = Some(self.runtime_version(f.pkg));
        if !f.valid {
            d.confidence = 0.4;
            d.hints.notes.push(Note::new(
                "invalid-manifest",
                format!(
                    "{} is not valid JSON: fix it, Kyozo guessed the rest from the other files",
                    self.manifest
                ),
            ));
        }
        d
    }

    fn runner<'r>(&self, f: &'r Facts<'_>) -> Runner<'r> {
        let has_build = f.pkg.script("build").is_some();
        Runner {
            pm: &f.pm,
            member_name: self
                .member_of
                .and(f.pkg.name.as_deref())
                .filter(|n| usable_name(n))
                .map(str::to_string),
            member_dir: self
                .member_of
                .and_then(|w| relative_to(&w.root, self.dir))
                .map(str::to_string),
            turbo_build: has_build
                && self
                    .member_of
                    .is_some_and(|w| w.turbo.as_ref().is_some_and(|(_, b)| *b)),
            nx: has_build && self.member_of.is_some_and(|w| w.nx.is_some()),
        }
    }

    /// Fills in a runnable folder: confidence, framework, commands, port, env, backing.
    fn service(&self, f: &Facts<'_>, d: &mut Detection) {
        let runner = self.runner(f);

        if f.pm.lockfile.is_some() {
            d.boost(0.1);
        }
        if f.framework.is_some() || f.start_script.is_some() {
            d.boost(0.1);
        }
        if f.framework.is_some() && f.start_script.is_some() {
            d.boost(0.05);
        }
        if f.framework.is_none() && f.start_script.is_none() {
            // Only an entry file: it may as well be a library's.
            d.confidence -= 0.1;
            if let Some(e) = f.entry.as_ref().or(f.bun_entry.as_ref()) {
                d.evidence.push(Evidence::new(e, "entry file"));
            }
        }
        if let Some(m) = f.foreign.first() {
            d.confidence -= 0.15;
            d.evidence.push(Evidence::new(
                m,
                "another stack's manifest in the same folder",
            ));
        }
        d.confidence = d.confidence.clamp(0.05, 0.95);

        if let Some(fw) = &f.framework {
            if let Some(name) = fw.name {
                d.hints.framework = Some(Sourced::new(name.to_string(), fw.source.clone()));
            }
            let output = match &fw.output {
                Output::Server => "server".to_string(),
                Output::Static { dir, .. } => format!("static output in {dir}/"),
            };
            d.evidence.push(Evidence::new(
                fw.source.split(' ').next().unwrap_or(&fw.source),
                format!("depends on {} ({output})", fw.label),
            ));
            d.evidence.extend(fw.evidence.iter().cloned());
            d.hints.notes.extend(fw.notes.iter().cloned());
        }

        d.hints.install_command = Some(f.pm.install());
        d.hints.notes.extend(f.pm.notes.iter().cloned());
        let mismatch =
            f.pm.notes
                .iter()
                .any(|n| n.code == "package-manager-mismatch");
        if f.pm.lockfile.is_none() && !mismatch {
            d.hints.notes.push(Note::new(
                "no-lockfile",
                format!(
                    "no lockfile: installs are not reproducible; run `{} install` and commit {}",
                    f.pm.name,
                    lockfile_name(f.pm.name)
                ),
            ));
        }

        if f.pkg.script("build").is_some() {
            d.hints.build_command = Some(Sourced::new(
                runner.build_script(),
                format!("{} scripts.build", self.manifest),
            ));
        } else if let Some(fw) = &f.framework
            && let Some(b) = &fw.build
        {
            d.hints.build_command = Some(Sourced::assumed(
                runner.command(&Command::Bin(b.clone())),
                fw.label.as_str(),
            ));
        }

        let (start, start_port) = self.start_command(f, &runner, &mut d.hints.notes);
        d.hints.start_command = start;

        let (source_port, mut env) = self.source_signals(f);
        let port = start_port
            .or_else(|| port_from_env_examples(self.view, self.dir))
            .or_else(|| match (&f.framework, f.static_output()) {
                (Some(fw), Some(_)) => Some(Sourced::assumed(
                    3000,
                    format!("{} (served by serve)", fw.label),
                )),
                (fw, None) => source_port.or_else(|| {
                    fw.as_ref()
                        .and_then(|fw| fw.port.map(|p| Sourced::assumed(p, fw.label.as_str())))
                }),
                _ => None,
            });
        d.hints.ports = port.into_iter().collect();
        d.hints.backing_services = self.backing_services(f.pkg, &mut env);
        d.hints.env = env;
    }

    /// The start command, and a port its flags set.
    fn start_command(
        &self,
        f: &Facts<'_>,
        runner: &Runner<'_>,
        notes: &mut Vec<Note>,
    ) -> (Option<Sourced<String>>, Option<Sourced<u16>>) {
        // A static build is served by a static server: the framework's own server (`next
        // start` after `output: 'export'`, `astro preview`) is not one.
        let is_static = f.static_output().is_some();
        let usable = |s: &str| !is_dev_command(s) && (!is_static || !runs_framework_cli(s));
        if let Some((name, script)) = f.start_script.filter(|(_, s)| usable(s)) {
            let source = format!("{} scripts.{name}", self.manifest);
            let port = port_in_command(script).map(|p| Sourced::new(p, source.clone()));
            return (Some(Sourced::new(runner.script(name), source)), port);
        }
        if let (Some(fw), Some((out, spa))) = (&f.framework, f.static_output()) {
            let start = Sourced::assumed(
                runner.serve_static(out, spa),
                format!("{} (static files in {out}/)", fw.label),
            );
            return (Some(start), None);
        }
        if let Some(fw) = &f.framework
            && let Some(c) = &fw.start
        {
            let start = Sourced::assumed(runner.command(c), fw.label.as_str());
            return (Some(start), None);
        }
        let main = f
            .pkg
            .main
            .as_deref()
            .map(|m| m.trim_start_matches("./"))
            .filter(|m| !m.is_empty() && !m.contains("..") && !m.ends_with(".ts"));
        let start = if let Some(m) = main {
            Some(Sourced::new(
                runner.in_dir(format!("node {}", sh_quote(m))),
                format!("{} main", self.manifest),
            ))
        } else if let Some(e) = &f.entry {
            let rel = relative_to(self.dir, e).unwrap_or(e);
            Some(Sourced::new(
                runner.in_dir(format!("node {}", sh_quote(rel))),
                e.clone(),
            ))
        } else if let Some(e) = &f.bun_entry {
            let rel = relative_to(self.dir, e).unwrap_or(e);
            Some(Sourced::new(
                runner.in_dir(format!("bun {}", sh_quote(rel))),
                e.clone(),
            ))
        } else if let Some((name, script)) = f.start_script {
            // Only a dev server: better than nothing, but say so.
            notes.push(Note::new(
                "dev-start-script",
                format!(
                    "scripts.{name} runs a development server (`{script}`): add a production start script (e.g. `start:prod`)"
                ),
            ));
            Some(Sourced::new(
                runner.script(name),
                format!("{} scripts.{name}", self.manifest),
            ))
        } else {
            None
        };
        (start, None)
    }

    /// A port literal and the env names found in the entry files, plus the env names of
    /// the example env files.
    fn source_signals(&self, f: &Facts<'_>) -> (Option<Sourced<u16>>, Vec<Sourced<String>>) {
        let view = self.view;
        let mut env = common::env_from_examples(view, self.dir);
        let mut files: Vec<String> = [f.entry.clone(), f.bun_entry.clone()]
            .into_iter()
            .flatten()
            .collect();
        let main = f
            .pkg
            .main
            .as_deref()
            .map(|m| join(self.dir, m.trim_start_matches("./")));
        for p in main
            .into_iter()
            .chain(SOURCE_FILES.iter().map(|s| join(self.dir, s)))
        {
            if view.is_file(&p) && !files.contains(&p) {
                files.push(p);
            }
        }
        files.truncate(4);
        let mut port: Option<Sourced<u16>> = None;
        for file in &files {
            let Some(text) = view.text(file) else {
                continue;
            };
            if port.is_none() {
                port = port_in_source(&text).map(|p| Sourced::new(p, file.clone()));
            }
            for name in env_in_source(&text) {
                if !env.iter().any(|e| e.value == name) {
                    env.push(Sourced::new(name, file.clone()));
                }
            }
        }
        (port, env)
    }

    /// Backing services from runtime dependencies, the Prisma schema (whose env names
    /// join `env`) and env names.
    fn backing_services(
        &self,
        pkg: &PackageJson,
        env: &mut Vec<Sourced<String>>,
    ) -> Vec<Sourced<String>> {
        let mut out: Vec<Sourced<String>> = Vec::new();
        let mut add = |b: &str, source: Provenance| {
            if !out.iter().any(|x| x.value == b) {
                out.push(Sourced::new(b.to_string(), source));
            }
        };
        let prisma = (pkg.depends_on("@prisma/client") || pkg.depends_on("prisma"))
            .then(|| self.prisma(pkg))
            .flatten();
        if let Some((path, provider, names)) = &prisma {
            if let Some(b) = provider.as_deref().and_then(prisma_backing) {
                add(b, format!("{path} datasource provider").into());
            }
            for n in names {
                if !env.iter().any(|e| &e.value == n) {
                    env.push(Sourced::new(n.clone(), path.clone()));
                }
            }
        }
        for dep in pkg
            .dependencies
            .keys()
            .chain(pkg.optional_dependencies.keys())
        {
            // The schema says which database Prisma talks to; the client alone does not.
            if prisma.is_some() && dep == "@prisma/client" {
                continue;
            }
            if let Some(b) = backing::from_package(dep) {
                add(b, dep_source(&self.manifest, pkg, dep).into());
            }
        }
        for b in common::backing_from_env(env) {
            add(&b.value, b.source);
        }
        out
    }

    fn runtime_version(&self, pkg: &PackageJson) -> Sourced<String> {
        let view = self.view;
        let dir = self.dir;
        let from_file = |name: &str| {
            common::find_up(view, dir, name)
                .and_then(|p| common::version_file(view, parent(&p), name))
        };
        let engines = |p: Option<&PackageJson>, manifest: String| {
            p.and_then(|p| p.engines.get("node"))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| Sourced::new(v.to_string(), format!("{manifest} engines.node")))
        };
        let volta = |p: Option<&PackageJson>, manifest: String| {
            p.and_then(|p| p.volta.get("node"))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| Sourced::new(v.to_string(), format!("{manifest} volta.node")))
        };
        let root_manifest = self
            .member_of
            .map(|w| join(&w.root, "package.json"))
            .unwrap_or_default();
        from_file(".nvmrc")
            .or_else(|| from_file(".node-version"))
            .or_else(|| common::tool_version(view, dir, &["nodejs", "node"]))
            .or_else(|| engines(Some(pkg), self.manifest.clone()))
            .or_else(|| engines(self.root_pkg, root_manifest.clone()))
            .or_else(|| volta(Some(pkg), self.manifest.clone()))
            .or_else(|| volta(self.root_pkg, root_manifest))
            .map(normalize_node_version)
            .unwrap_or_else(|| Sourced::assumed(DEFAULT_NODE.to_string(), "node"))
    }

    /// The Prisma schema: its path, datasource provider and env names.
    fn prisma(&self, pkg: &PackageJson) -> Option<(String, Option<String>, Vec<String>)> {
        let view = self.view;
        let mut candidates: Vec<String> = Vec::new();
        if let Some(s) = &pkg.prisma_schema {
            let s = s.trim_start_matches("./");
            if !s.contains("..") {
                candidates.push(join(self.dir, s));
                candidates.push(join(&join(self.dir, s), "schema.prisma"));
            }
        }
        candidates.push(join(self.dir, "prisma/schema.prisma"));
        candidates.push(join(self.dir, "schema.prisma"));
        let prisma_dir = join(self.dir, "prisma/schema");
        candidates.extend(
            view.files_in(&prisma_dir)
                .filter(|f| f.ends_with(".prisma"))
                .map(str::to_string),
        );
        for c in candidates {
            if !view.is_file(&c) {
                continue;
            }
            let Some(text) = view.text(&c) else {
                continue;
            };
            let (provider, env) = prisma_schema(&text);
            if provider.is_some() {
                return Some((c, provider, env));
            }
        }
        None
    }
}

/// Whether a start script only starts the sub-projects in `nested` (`concurrently`,
/// `--prefix api`, `cd web && ...`).
fn orchestrates(script: &str, nested: &[&str]) -> bool {
    !nested.is_empty()
        && (delegates(script)
            || script.contains("--prefix")
            || nested.iter().any(|n| {
                script.contains(&format!("cd {n}")) || script.contains(&format!("cd ./{n}"))
            }))
}

/// Whether a root start script only starts the workspace's members (`turbo run start`).
fn delegates(script: &str) -> bool {
    [
        "turbo",
        "lerna",
        "nx ",
        "concurrently",
        "--workspace",
        "-w ",
        "--filter",
        "-r ",
        "--recursive",
        "npm-run-all",
        "run-p ",
        "workspace ",
    ]
    .iter()
    .any(|k| script.contains(k))
}

fn display(path: &str) -> &str {
    if path.is_empty() { "." } else { path }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A temporary project holding `files`, and what the node detector finds in it.
    /// A temporary project holding `files`, and what the detector finds in it.
    fn scan(files: &[(&str, &str)]) -> Vec<Detection> {
        crate::topology::testing::scan(&NodeDetector, files)
    }

    fn at<'d>(found: &'d [Detection], path: &str) -> &'d Detection {
        found
            .iter()
            .find(|d| d.path == path)
            .unwrap_or_else(|| panic!("no detection at {path:?}: {found:#?}"))
    }

    fn start(d: &Detection) -> Option<&str> {
        d.hints.start_command.as_ref().map(|s| s.value.as_str())
    }

    fn codes(d: &Detection) -> Vec<&str> {
        d.hints.notes.iter().map(|n| n.code.as_str()).collect()
    }

    #[test]
    fn asset_pipeline_beside_another_stack_is_a_library() {
        // Laravel: Vite builds the assets, PHP serves the app.
        let found = scan(&[
            (
                "composer.json",
                r#"{"require": {"laravel/framework": "^11.0"}}"#,
            ),
            (
                "package.json",
                r#"{"private": true, "type": "module", "scripts": {"dev": "vite", "build": "vite build"},
                   "devDependencies": {"laravel-vite-plugin": "^1.0", "vite": "^5.0"}}"#,
            ),
            ("vite.config.js", "export default {}"),
        ]);
        assert_eq!(at(&found, "").kind, DetectionKind::Library);
    }

    #[test]
    fn tooling_only_package_is_a_library() {
        let found = scan(&[(
            "package.json",
            r#"{"devDependencies": {"prettier": "^3", "husky": "^9"}, "scripts": {"prepare": "husky"}}"#,
        )]);
        assert_eq!(at(&found, "").kind, DetectionKind::Library);
    }

    #[test]
    fn next_static_export_is_served_not_started() {
        let found = scan(&[
            (
                "package.json",
                r#"{"scripts": {"build": "next build", "start": "next start"}, "dependencies": {"next": "14"}}"#,
            ),
            ("package-lock.json", "{}"),
            (
                "next.config.js",
                "module.exports = { output: 'export', images: { unoptimized: true } }",
            ),
        ]);
        let d = at(&found, "");
        assert_eq!(d.hints.framework.as_ref().unwrap().value, "nextjs");
        assert_eq!(start(d), Some("npx --yes serve out"));
    }

    #[test]
    fn sveltekit_without_a_container_adapter_says_so() {
        let found = scan(&[(
            "package.json",
            r#"{"scripts": {"build": "vite build"}, "devDependencies": {"@sveltejs/kit": "^2", "@sveltejs/adapter-auto": "^3", "vite": "^5"}}"#,
        )]);
        let d = at(&found, "");
        assert!(codes(d).contains(&"sveltekit-adapter"), "{:?}", codes(d));
        assert_eq!(start(d), None);
    }

    #[test]
    fn yarn_workspace_members_run_through_yarn_workspace() {
        let found = scan(&[
            (
                "package.json",
                r#"{"private": true, "workspaces": ["apps/*"]}"#,
            ),
            ("yarn.lock", "# yarn lockfile v1\n"),
            (
                "apps/web/package.json",
                r#"{"name": "web", "scripts": {"build": "next build", "start": "next start"}, "dependencies": {"next": "14"}}"#,
            ),
            (
                "apps/worker/package.json",
                r#"{"scripts": {"start": "node worker.js"}}"#,
            ),
        ]);
        assert_eq!(at(&found, "").kind, DetectionKind::WorkspaceRoot);
        assert_eq!(at(&found, "").hints.patterns, vec!["yarn-workspaces"]);
        let web = at(&found, "apps/web");
        assert_eq!(web.hints.context.as_deref(), Some(""));
        assert_eq!(start(web), Some("yarn workspace web run start"));
        assert_eq!(
            web.hints.build_command.as_ref().unwrap().value,
            "yarn workspace web run build"
        );
        assert_eq!(
            web.hints.install_command.as_ref().unwrap().value,
            "yarn install --frozen-lockfile"
        );
        // Without a name, the command changes folder.
        assert_eq!(
            start(at(&found, "apps/worker")),
            Some("cd apps/worker && yarn start")
        );
    }

    #[test]
    fn a_root_app_can_also_be_a_workspace() {
        let found = scan(&[
            (
                "package.json",
                r#"{"name": "portal", "workspaces": ["packages/*"], "scripts": {"start": "node server.js"}, "dependencies": {"express": "^4"}}"#,
            ),
            ("package-lock.json", "{}"),
            ("server.js", "require('express')().listen(3000)"),
            (
                "packages/lib/package.json",
                r#"{"name": "lib", "main": "index.js"}"#,
            ),
            ("packages/lib/index.js", "module.exports = 1"),
        ]);
        let root = at(&found, "");
        assert_eq!(root.kind, DetectionKind::Service);
        assert_eq!(root.hints.patterns, vec!["npm-workspaces"]);
        assert_eq!(at(&found, "packages/lib").kind, DetectionKind::Library);
    }

    #[test]
    fn a_root_that_only_starts_its_sub_projects_is_not_a_service() {
        let found = scan(&[
            (
                "package.json",
                r#"{"scripts": {"start": "concurrently \"npm start --prefix backend\" \"npm start --prefix frontend\""}, "devDependencies": {"concurrently": "^8"}}"#,
            ),
            (
                "backend/package.json",
                r#"{"scripts": {"start": "node index.js"}, "dependencies": {"express": "^4"}}"#,
            ),
            ("backend/index.js", "require('express')().listen(5000)"),
            (
                "frontend/package.json",
                r#"{"scripts": {"start": "react-scripts start", "build": "react-scripts build"}, "dependencies": {"react-scripts": "5"}}"#,
            ),
        ]);
        assert_eq!(at(&found, "").kind, DetectionKind::WorkspaceRoot);
        assert_eq!(at(&found, "backend").kind, DetectionKind::Service);
        assert_eq!(start(at(&found, "backend")), Some("npm start"));
        assert_eq!(
            start(at(&found, "frontend")),
            Some("npx --yes serve -s build")
        );
    }

    #[test]
    fn prisma_schema_names_the_database() {
        let found = scan(&[
            (
                "package.json",
                r#"{"scripts": {"start": "node index.js"}, "dependencies": {"@prisma/client": "^5", "express": "^4"}, "devDependencies": {"prisma": "^5"}}"#,
            ),
            (
                "prisma/schema.prisma",
                "datasource db {\n  provider = \"mysql\"\n  url      = env(\"DATABASE_URL\")\n}\n",
            ),
        ]);
        let d = at(&found, "");
        let backing: Vec<&str> = d
            .hints
            .backing_services
            .iter()
            .map(|b| b.value.as_str())
            .collect();
        // DATABASE_URL alone would say postgres; the schema says mysql.
        assert_eq!(backing[0], "mysql");
        assert_eq!(
            d.hints.backing_services[0].source,
            Provenance::declared("prisma/schema.prisma datasource provider")
        );
        assert!(d.hints.env.iter().any(|e| e.value == "DATABASE_URL"));
    }

    #[test]
    fn dev_only_start_script_is_used_with_a_note() {
        let found = scan(&[(
            "package.json",
            r#"{"scripts": {"start": "nodemon src/app.ts"}, "dependencies": {"koa": "^2"}}"#,
        )]);
        let d = at(&found, "");
        assert_eq!(start(d), Some("npm start"));
        assert!(codes(d).contains(&"dev-start-script"));
        assert!(codes(d).contains(&"no-lockfile"));
    }

    #[test]
    fn several_lockfiles_and_berry_from_the_lockfile() {
        let found = scan(&[
            ("package.json", r#"{"scripts": {"start": "node index.js"}}"#),
            ("yarn.lock", "__metadata:\n  version: 8\n"),
            ("package-lock.json", "{}"),
        ]);
        let d = at(&found, "");
        assert_eq!(d.hints.package_manager.as_ref().unwrap().value, "yarn");
        assert_eq!(
            d.hints.install_command.as_ref().unwrap().value,
            "yarn install --immutable"
        );
        assert!(codes(d).contains(&"multiple-lockfiles"));
    }

    #[test]
    fn entry_file_only_is_a_weak_service_outside_workspaces() {
        let found = scan(&[
            (
                "package.json",
                r#"{"name": "bot", "dependencies": {"discord.js": "^14"}}"#,
            ),
            ("index.js", "require('discord.js')"),
        ]);
        let d = at(&found, "");
        assert_eq!(d.kind, DetectionKind::Service);
        assert_eq!(start(d), Some("node index.js"));
        assert!(d.confidence < 0.7, "{}", d.confidence);
    }

    #[test]
    fn odd_names_and_paths_are_quoted_or_avoided() {
        let found = scan(&[
            ("package.json", r#"{"workspaces": ["my apps/*"]}"#),
            ("package-lock.json", "{}"),
            (
                "my apps/x/package.json",
                r#"{"name": "x; rm -rf /", "scripts": {"start": "node ."}}"#,
            ),
        ]);
        assert_eq!(
            start(at(&found, "my apps/x")),
            Some("cd 'my apps/x' && npm start")
        );
    }

    #[test]
    fn dev_commands() {
        for dev in [
            "vite",
            "vite --host",
            "react-scripts start",
            "ng serve",
            "astro dev",
            "next dev -p 4000",
            "nodemon server.js",
            "NODE_ENV=development nodemon index.js",
            "cross-env PORT=3000 react-scripts start",
            "tsx watch src/index.ts",
        ] {
            assert!(is_dev_command(dev), "{dev}");
        }
        for prod in [
            "next start",
            "node server.js",
            "vite build && serve -s dist",
            "remix-serve ./build/server/index.js",
            "node dist/main",
            "astro preview",
        ] {
            assert!(!is_dev_command(prod), "{prod}");
        }
    }

    #[test]
    fn ports_in_commands() {
        assert_eq!(port_in_command("next start -p 4000"), Some(4000));
        assert_eq!(port_in_command("next start --port=4100"), Some(4100));
        assert_eq!(port_in_command("PORT=8080 node server.js"), Some(8080));
        assert_eq!(
            port_in_command("serve -s build -l tcp://0.0.0.0:5000"),
            Some(5000)
        );
        assert_eq!(port_in_command("next start -p $PORT"), None);
        assert_eq!(port_in_command("node server.js"), None);
        assert_eq!(port_in_command("x --port 99999"), None);
    }

    #[test]
    fn ports_in_source() {
        assert_eq!(
            port_in_source("const port = process.env.PORT || 3001;"),
            Some(3001)
        );
        assert_eq!(
            port_in_source("await app.listen(process.env.PORT ?? 3000);"),
            Some(3000)
        );
        assert_eq!(
            port_in_source("const PORT = parseInt(process.env.PORT || '8080', 10)"),
            Some(8080)
        );
        assert_eq!(port_in_source("app.listen(5000, () => {})"), Some(5000));
        assert_eq!(
            port_in_source("fastify.listen({ port: 4000, host: '0.0.0.0' })"),
            Some(4000)
        );
        assert_eq!(
            port_in_source("// app.listen(5000)\napp.listen(port)"),
            None
        );
        assert_eq!(port_in_source("héllo PORT ||"), None);
    }

    #[test]
    fn env_names_in_source() {
        let text = "const a = process.env.DATABASE_URL; const b = process.env['REDIS_URL'];\nprocess.env.\nprocess.env[x]";
        assert_eq!(env_in_source(text), vec!["DATABASE_URL", "REDIS_URL"]);
    }

    #[test]
    fn config_strings() {
        let next = "const nextConfig = {\n  output: 'export',\n  distDir: \"build\",\n};";
        assert_eq!(config_string(next, "output").as_deref(), Some("export"));
        assert_eq!(config_string(next, "distDir").as_deref(), Some("build"));
        assert_eq!(config_string("{ myoutput: 'x' }", "output"), None);
        assert_eq!(
            config_string("{ 'outDir': `web` }", "outDir").as_deref(),
            Some("web")
        );
        assert_eq!(config_string("output: 'never closed", "output"), None);
        assert_eq!(config_string("output", "output"), None);
    }

    #[test]
    fn prisma_datasource() {
        let text = "generator client {\n  provider = \"prisma-client-js\"\n}\n\ndatasource db {\n  provider  = \"mysql\"\n  url       = env(\"DATABASE_URL\")\n  directUrl = env(\"DIRECT_URL\")\n}\n";
        let (provider, env) = prisma_schema(text);
        assert_eq!(provider.as_deref(), Some("mysql"));
        assert_eq!(env, vec!["DATABASE_URL", "DIRECT_URL"]);
        assert_eq!(prisma_schema("datasource db {"), (None, Vec::new()));
    }

    #[test]
    fn pnpm_workspace_file() {
        assert_eq!(
            pnpm_workspace_packages(
                "packages:\n  - 'apps/*'\n  - \"packages/**\"\n  - '!**/test/**'\n"
            )
            .unwrap(),
            vec!["apps/*", "packages/**", "!**/test/**"]
        );
        assert_eq!(
            pnpm_workspace_packages("catalog:\n  react: ^18\n").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(pnpm_workspace_packages("").unwrap(), Vec::<String>::new());
        assert!(pnpm_workspace_packages("packages: [").is_err());
    }

    #[test]
    fn members_from_globs() {
        let mut packages: BTreeMap<String, Option<PackageJson>> = BTreeMap::new();
        for d in [
            "",
            "apps/web",
            "apps/api",
            "packages/ui",
            "packages/deep/x",
            "packages/test/y",
            "other",
        ] {
            packages.insert(d.to_string(), None);
        }
        let globs = vec![
            "./apps/*".to_string(),
            "packages/**".to_string(),
            "!packages/test/**".to_string(),
        ];
        let members: Vec<String> = resolve_members("", &globs, &packages).into_iter().collect();
        assert_eq!(
            members,
            vec!["apps/api", "apps/web", "packages/deep/x", "packages/ui"]
        );
        let nested: Vec<String> = resolve_members("apps", &["*".to_string()], &packages)
            .into_iter()
            .collect();
        assert_eq!(nested, vec!["apps/api", "apps/web"]);
        assert!(resolve_members("", &["[".to_string()], &packages).is_empty());
    }

    #[test]
    fn angular_output() {
        let app = r#"{"projects": {"shop": {"projectType": "application", "architect": {"build": {
            "builder": "@angular-devkit/build-angular:application",
            "options": {"outputPath": "dist/shop"}}}}}}"#;
        let p = angular_project(app).unwrap();
        assert_eq!(
            (p.base.as_str(), p.browser.as_deref(), p.ssr),
            ("dist/shop", Some("browser"), false)
        );
        let old = r#"{"projects": {"shop": {"architect": {"build": {
            "builder": "@angular-devkit/build-angular:browser", "options": {"outputPath": "dist/shop"}}}}}}"#;
        assert_eq!(angular_project(old).unwrap().browser, None);
        let ssr = r#"{"projects": {"s": {"architect": {"build": {"builder": "@angular/build:application",
            "options": {"outputPath": {"base": "out"}, "ssr": {"entry": "server.ts"}}}}}}}"#;
        let p = angular_project(ssr).unwrap();
        assert_eq!(
            (p.base.as_str(), p.browser.as_deref(), p.ssr),
            ("out", Some("browser"), true)
        );
        assert!(angular_project("{}").is_none());
        assert!(angular_project("not json").is_none());
    }

    #[test]
    fn lts_aliases() {
        let v = normalize_node_version(Sourced::new("lts/iron".into(), ".nvmrc"));
        assert_eq!(v.value, "20");
        let v = normalize_node_version(Sourced::new("20.11.1".into(), ".nvmrc"));
        assert_eq!(v.value, "20.11.1");
        assert!(LTS_CODENAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(OTHER_SERVERS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(OTHER_STATIC.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("apps/web"), "apps/web");
        assert_eq!(sh_quote("my app"), "'my app'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert!(usable_name("@acme/web"));
        assert!(!usable_name("a;rm -rf"));
    }

    proptest::proptest! {
        #[test]
        fn scanners_never_panic(text in "\\PC*") {
            let _ = config_string(&text, "output");
            let _ = port_in_source(&text);
            let _ = port_in_command(&text);
            let _ = is_dev_command(&text);
            let _ = runs_framework_cli(&text);
            let _ = env_in_source(&text);
            let _ = prisma_schema(&text);
            let _ = angular_project(&text);
            let _ = pnpm_workspace_packages(&text);
        }

        #[test]
        fn scanners_never_panic_on_code_like(
            text in "(PORT|port:|\\.listen\\(|output|process\\.env\\.?|\\|\\||\\?\\?|[ '\"`:=()0-9é])*",
        ) {
            let _ = config_string(&text, "output");
            let _ = port_in_source(&text);
            let _ = env_in_source(&text);
        }
    }
}
