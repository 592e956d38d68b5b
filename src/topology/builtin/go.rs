//! The Go detector: every module (`go.mod`), every workspace (`go.work`), and, weakly,
//! `package main` sources with no module at all.
//!
//! - A module with a `package main` is a service; without one it is a library. When a
//!   module has several main packages (`cmd/api`, `cmd/worker`), it is still one
//!   service: the main at the module root, else `cmd/<module name>`, else
//!   `cmd/{server,api,app,web,main}`, else the first under `cmd/`, else the first
//!   found; a `several-mains` note lists the others.
//! - A `go.work` folder is a workspace root (`go-work`); its `use`d modules build from
//!   it (their context is the workspace folder). A module whose `replace` points at a
//!   folder outside it builds from the common ancestor too.
//! - Runtime version: `go.mod` `toolchain` > `go.mod` `go` > `.tool-versions`
//!   (`golang`/`go`).
//! - Ports: listen addresses written in the main package (`":8080"`,
//!   `"0.0.0.0:8080"`, a `PORT` fallback such as `port = "8080"`), else 8080 assumed
//!   for a main that serves HTTP (imports `net/http` or requires a web framework).
//! - Env vars: `os.Getenv`/`os.LookupEnv` names and `env:"X"`/`envconfig:"X"` tags in
//!   the main package and config packages, and example env files.
//! - Backing services: the direct `require`s (with their `/vN` suffix dropped when
//!   needed) and env names.

use crate::topology::common::push_unique;
use crate::topology::common::{
    common_ancestor, health_route, is_inside_or_same, listen_ports, quoted_after, quoted_strings,
    resolve_path, strip_dir,
};
use crate::topology::is_inside;
use std::collections::{BTreeMap, BTreeSet};

use crate::topology::backing;
use crate::topology::common;
use crate::topology::manifest::go_mod::{self, GoMod};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Note, ProjectView, Sourced, file_name, join,
    parent,
};

/// Detects go projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GoDetector;

impl Detector for GoDetector {
    fn id(&self) -> &str {
        "go"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(detect(view))
    }
}

const ID: &str = "go";

/// Module paths (and prefixes) of web frameworks: a main that requires one serves HTTP.
const WEB_MODULES: &[&str] = &[
    "github.com/beego/beego",
    "github.com/go-chi/chi",
    "github.com/gofiber/fiber",
    "github.com/gin-gonic/gin",
    "github.com/gorilla/mux",
    "github.com/julienschmidt/httprouter",
    "github.com/labstack/echo",
    "github.com/valyala/fasthttp",
    "google.golang.org/grpc",
];

/// Go modules that mean a backing service and are not in [`backing::PACKAGE_TO_BACKING`]
/// (yet). Sorted.
const EXTRA_BACKING: &[(&str, &str)] = &[
    ("github.com/bradfitz/gomemcache", "memcached"),
    ("github.com/confluentinc/confluent-kafka-go", "kafka"),
    ("github.com/elastic/go-elasticsearch", "elasticsearch"),
    ("github.com/gomodule/redigo", "redis"),
    ("github.com/ibm/sarama", "kafka"),
    ("github.com/shopify/sarama", "kafka"),
    ("github.com/streadway/amqp", "rabbitmq"),
    ("github.com/twmb/franz-go", "kafka"),
    ("gorm.io/driver/mysql", "mysql"),
    ("gorm.io/driver/postgres", "postgres"),
];

fn detect(view: &ProjectView) -> Vec<Detection> {
    let mut out = Vec::new();
    let module_dirs: BTreeSet<String> = view
        .named("go.mod")
        .iter()
        .map(|p| parent(p).to_string())
        .collect();

    // Workspaces first: their members build from them.
    let mut workspace_of: BTreeMap<String, String> = BTreeMap::new();
    for path in view.named("go.work") {
        let dir = parent(path);
        let Some(text) = view.text(path) else {
            continue;
        };
        let work = match go_mod::parse_work(&text) {
            Ok(w) => w,
            Err(e) => {
                common::invalid(view, path, e);
                continue;
            }
        };
        let mut d = Detection::new(ID, dir, "go", 0.85)
            .with_kind(DetectionKind::WorkspaceRoot)
            .with_evidence(
                path.to_string(),
                format!("go workspace of {} module(s)", work.uses.len()),
            );
        d.hints.patterns.push("go-work".into());
        d.hints.package_manager = Some(Sourced::new("go".into(), path.to_string()));
        if let Some(v) = work.toolchain.clone() {
            d.hints.runtime_version = Some(Sourced::new(v, format!("{path} toolchain directive")));
        } else if let Some(v) = work.go.clone() {
            d.hints.runtime_version = Some(Sourced::new(v, format!("{path} go directive")));
        }
        for u in &work.uses {
            match resolve_path(dir, u) {
                Some(member) if module_dirs.contains(&member) => {
                    workspace_of
                        .entry(member)
                        .or_insert_with(|| dir.to_string());
                }
                _ => d.hints.notes.push(Note::new(
                    "go-work-missing-module",
                    format!("{path} uses {u}, which has no go.mod in the project"),
                )),
            }
        }
        if view.is_file(&join(dir, "go.work.sum")) {
            d.evidence.push(crate::topology::Evidence::new(
                join(dir, "go.work.sum"),
                "workspace checksums",
            ));
        }
        out.push(d);
    }

    let sources = GoSources::new(view, &module_dirs);
    for path in view.named("go.mod") {
        let dir = parent(path);
        let Some(text) = view.text(path) else {
            continue;
        };
        let module = match go_mod::parse(&text) {
            Ok(m) => m,
            Err(e) => {
                common::invalid(view, path, e);
                continue;
            }
        };
        out.push(module_detection(
            view,
            path,
            dir,
            &module,
            &sources,
            workspace_of.get(dir).map(String::as_str),
        ));
    }

    // `package main` with no module above it: the weakest Go signal, and still a
    // program that builds (the plan makes a module for the build: `go mod init`), so
    // not below what `up` deploys; the note says what to commit.
    for (dir, files) in &sources.by_dir {
        if sources.owner(dir).is_some() || !files.iter().any(|f| file_name(f) == "main.go") {
            continue;
        }
        if sources.package_of(view, dir).as_deref() != Some("main") {
            continue;
        }
        // Only the topmost such folder: nested mains of an unmanaged tree are its own.
        if sources.by_dir.keys().any(|other| {
            is_inside(dir, other)
                && sources.owner(other).is_none()
                && sources.package_of(view, other).as_deref() == Some("main")
        }) {
            continue;
        }
        let main = join(dir, "main.go");
        let mut d = Detection::new(ID, dir.as_str(), "go", 0.6)
            .with_evidence(main.clone(), "package main without a go.mod");
        d.hints.package_manager = Some(Sourced::new("go".into(), main.clone()));
        d.hints.runtime_version = common::tool_version(view, dir, &["golang", "go"]);
        // Without a go.mod, only files named on the command line build (standard
        // library imports only).
        let mut names: Vec<&str> = files.iter().map(|f| file_name(f)).collect();
        names.sort_unstable();
        d.hints.build_command = Some(Sourced::assumed(
            format!("go build -o /app/server {}", names.join(" ")),
            format!("a go main package ({main})"),
        ));
        d.hints.start_command = Some(Sourced::assumed(
            "/app/server".into(),
            "go (the built binary)",
        ));
        d.hints.notes.push(Note::new(
            "no-go-mod",
            format!(
                "{} has Go sources but no go.mod: run `go mod init` and commit go.mod and go.sum",
                display(dir)
            ),
        ));
        let scan = scan_sources(view, files);
        apply_scan(&mut d, &scan, false);
        out.push(d);
    }
    out
}

fn module_detection(
    view: &ProjectView,
    path: &str,
    dir: &str,
    module: &GoMod,
    sources: &GoSources,
    workspace: Option<&str>,
) -> Detection {
    let module_path = module.module.clone().unwrap_or_default();
    let base = module_base(&module_path);
    let mains = sources.mains_of(view, dir);
    let chosen = choose_main(&mains, dir, &base);

    let kind = if chosen.is_some() {
        DetectionKind::Service
    } else {
        DetectionKind::Library
    };
    let mut d = Detection::new(ID, dir, "go", 0.75)
        .with_kind(kind)
        .with_evidence(
            path,
            if module_path.is_empty() {
                "go module".to_string()
            } else {
                format!("go module {module_path}")
            },
        );
    if !base.is_empty() {
        d.hints.name = Some(Sourced::new(base.clone(), format!("{path} module")));
    }
    d.hints.package_manager = Some(Sourced::new("go".into(), path.to_string()));
    d.hints.runtime_version = module
        .toolchain
        .clone()
        .map(|v| Sourced::new(v, format!("{path} toolchain directive")))
        .or_else(|| {
            module
                .go
                .clone()
                .map(|v| Sourced::new(v, format!("{path} go directive")))
        })
        .or_else(|| common::tool_version(view, dir, &["golang", "go"]));

    let sum = join(dir, "go.sum");
    let direct: Vec<&str> = module
        .requires
        .iter()
        .filter(|r| !r.indirect)
        .map(|r| r.path.as_str())
        .collect();
    if view.is_file(&sum) {
        d.boost(0.1);
        d.evidence
            .push(crate::topology::Evidence::new(sum, "dependency checksums"));
    } else if workspace.is_none() && !module.requires.is_empty() {
        d.hints.notes.push(Note::new(
            "no-lockfile",
            format!(
                "{} has requirements but no go.sum: builds are not verifiable; run `go mod tidy` and commit go.sum",
                display(dir)
            ),
        ));
    } else {
        d.boost(0.05);
    }

    for r in &direct {
        if let Some(b) = backing_of_module(r) {
            push_unique(
                &mut d.hints.backing_services,
                Sourced::new(b.to_string(), format!("{path} require {r}")),
            );
        }
    }

    // Where it builds from: the workspace, or the common ancestor of local replaces.
    let mut context = workspace.map(str::to_string);
    if context.is_none() {
        for r in module.replaces.iter().filter(|r| r.is_local()) {
            if let Some(target) = resolve_path(dir, &r.new)
                && !is_inside_or_same(&target, dir)
            {
                let base_dir = common_ancestor(context.as_deref().unwrap_or(dir), &target);
                context = Some(base_dir);
            }
        }
    }
    if let Some(ctx) = &context {
        d.hints.context = Some(ctx.clone());
    }

    let env = common::env_from_examples(view, dir);
    for e in env {
        push_unique(&mut d.hints.env, e);
    }

    let Some(main_dir) = chosen else {
        return d;
    };
    d.boost(0.05);
    let main_files = sources.by_dir.get(&main_dir).cloned().unwrap_or_default();
    let shown = main_files
        .iter()
        .find(|f| file_name(f) == "main.go")
        .or_else(|| main_files.first())
        .cloned()
        .unwrap_or_else(|| main_dir.clone());
    d.evidence.push(crate::topology::Evidence::new(
        shown.clone(),
        "package main",
    ));
    if mains.len() > 1 {
        let others: Vec<String> = mains
            .iter()
            .filter(|m| **m != main_dir)
            .map(|m| rel_pkg(dir, m))
            .collect();
        d.hints.notes.push(Note::new(
            "several-mains",
            format!(
                "{} has several main packages: building {}; the others ({}) need their own service (a Procfile or compose entry with their command)",
                display(dir),
                rel_pkg(dir, &main_dir),
                others.join(", ")
            ),
        ));
    }

    // Commands run from the build context.
    let pkg = match &context {
        Some(ctx) if workspace.is_some() => format!("./{}", strip_dir(ctx, &main_dir)),
        _ => rel_pkg(dir, &main_dir),
    };
    let pkg = if pkg == "./" { ".".to_string() } else { pkg };
    let cd = match &context {
        Some(ctx) if workspace.is_none() && ctx != dir => format!("cd {} && ", strip_dir(ctx, dir)),
        _ => String::new(),
    };
    let source = format!("{shown} package main");
    d.hints.install_command = Some(Sourced::new(
        format!("{cd}go mod download"),
        path.to_string(),
    ));
    d.hints.build_command = Some(Sourced::new(
        format!("{cd}go build -o /app/server {pkg}"),
        source.clone(),
    ));
    d.hints.start_command = Some(Sourced::new("/app/server".into(), source));

    // The main package and config packages say which ports and env vars it uses.
    let mut files: Vec<String> = main_files;
    files.extend(sources.config_files(dir));
    let scan = scan_sources(view, &files);
    let serves_http = scan.imports_http
        || direct
            .iter()
            .any(|r| WEB_MODULES.iter().any(|w| r.starts_with(w)));
    apply_scan(&mut d, &scan, serves_http);
    d
}

/// What the sources of a main package say.
#[derive(Debug, Default)]
struct SourceScan {
    ports: Vec<Sourced<u16>>,
    env: Vec<Sourced<String>>,
    imports_http: bool,
    health: Option<Sourced<String>>,
}

fn apply_scan(d: &mut Detection, scan: &SourceScan, serves_http: bool) {
    for p in &scan.ports {
        if !d.hints.ports.iter().any(|q| q.value == p.value) {
            d.hints.ports.push(p.clone());
        }
    }
    for e in &scan.env {
        push_unique(&mut d.hints.env, e.clone());
    }
    if d.hints.ports.is_empty() && (serves_http || scan.imports_http) {
        d.hints.ports.push(Sourced::assumed(8080, "go web servers"));
    }
    for b in common::backing_from_env(&d.hints.env) {
        push_unique(&mut d.hints.backing_services, b);
    }
    if d.hints.healthcheck.is_none() {
        d.hints.healthcheck = scan.health.clone();
    }
}

fn scan_sources(view: &ProjectView, files: &[String]) -> SourceScan {
    let mut scan = SourceScan::default();
    for f in files.iter().take(40) {
        let Some(text) = view.text(f) else {
            continue;
        };
        if text.contains("\"net/http\"") {
            scan.imports_http = true;
        }
        if scan.health.is_none() {
            scan.health =
                health_route(&text).map(|r| Sourced::new(r.to_string(), format!("{f} route")));
        }
        for port in listen_ports(&text) {
            if !scan.ports.iter().any(|p| p.value == port) {
                scan.ports
                    .push(Sourced::new(port, format!("{f} listen address")));
            }
        }
        let reads_port = text.contains("Getenv(\"PORT\")") || text.contains("LookupEnv(\"PORT\")");
        if reads_port && scan.ports.is_empty() {
            // `port := os.Getenv("PORT"); if port == "" { port = "8080" }`
            if let Some(port) = quoted_strings(&text)
                .filter_map(|s| s.parse::<u16>().ok())
                .find(|p| *p >= 80)
            {
                scan.ports
                    .push(Sourced::new(port, format!("{f} PORT fallback")));
            }
        }
        for (needle, what) in [("Getenv(\"", "os.Getenv"), ("LookupEnv(\"", "os.LookupEnv")] {
            for name in quoted_after(&text, needle) {
                push_unique(&mut scan.env, Sourced::new(name, format!("{f} {what}")));
            }
        }
        // Struct tags are in backquotes: `env:"DATABASE_URL"`.
        for needle in ["`env:\"", " env:\"", "`envconfig:\""] {
            for name in quoted_after(&text, needle) {
                push_unique(&mut scan.env, Sourced::new(name, format!("{f} env tag")));
            }
        }
    }
    scan
}

/// The `.go` files of the tree grouped by folder, and which module owns each folder.
#[derive(Debug)]
struct GoSources {
    by_dir: BTreeMap<String, Vec<String>>,
    modules: BTreeSet<String>,
    /// The owning module of each folder of `by_dir`, computed once: asking per module
    /// per folder is quadratic in a monorepo.
    owners: std::collections::HashMap<String, Option<String>>,
}

impl GoSources {
    fn new(view: &ProjectView, modules: &BTreeSet<String>) -> Self {
        let mut by_dir: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in view.with_extension("go") {
            if f.ends_with("_test.go") {
                continue;
            }
            let dir = parent(f);
            if dir
                .split('/')
                .any(|seg| seg == "testdata" || seg.starts_with('_') || seg.starts_with('.'))
            {
                continue;
            }
            by_dir
                .entry(dir.to_string())
                .or_default()
                .push(f.to_string());
        }
        for files in by_dir.values_mut() {
            // main.go first: it is the file most likely to hold the package clause we
            // want and the listen address.
            files.sort_by_key(|f| (file_name(f) != "main.go", f.clone()));
        }
        let owners = by_dir
            .keys()
            .map(|d| (d.clone(), Self::find_owner(modules, d).map(str::to_string)))
            .collect();
        Self {
            by_dir,
            modules: modules.clone(),
            owners,
        }
    }

    /// The module folder a folder belongs to (the nearest with a go.mod).
    fn owner(&self, dir: &str) -> Option<&str> {
        if let Some(cached) = self.owners.get(dir) {
            return cached.as_deref();
        }
        Self::find_owner(&self.modules, dir)
    }

    fn find_owner<'a>(modules: &'a BTreeSet<String>, dir: &str) -> Option<&'a str> {
        modules
            .iter()
            .filter(|m| is_inside_or_same(dir, m))
            .max_by_key(|m| m.len())
            .map(String::as_str)
    }

    /// The package name of a folder, from its first source file that is not excluded
    /// from builds (`//go:build ignore`).
    fn package_of(&self, view: &ProjectView, dir: &str) -> Option<String> {
        for f in self.by_dir.get(dir)?.iter().take(8) {
            let text = view.text(f)?;
            match package_clause(&text) {
                Clause::Package(p) => return Some(p),
                Clause::Ignored => continue,
                Clause::None => continue,
            }
        }
        None
    }

    /// The main package folders of a module: its root, folders with a `main.go`, and
    /// folders under `cmd/`.
    /// The source folders of a module, in order: only the folders whose path starts
    /// with the module's (a contiguous range of the sorted map) are looked at.
    fn dirs_of<'a>(
        &'a self,
        module: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Vec<String>)> + 'a {
        self.by_dir
            .range::<str, _>((
                std::ops::Bound::Included(module),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(dir, _)| dir.starts_with(module))
            .filter(move |(dir, _)| self.owner(dir) == Some(module))
    }

    fn mains_of(&self, view: &ProjectView, module: &str) -> Vec<String> {
        let mut mains = Vec::new();
        for (dir, files) in self.dirs_of(module) {
            let rel = strip_dir(module, dir);
            let candidate = dir == module
                || files.iter().any(|f| file_name(f) == "main.go")
                || rel == "cmd"
                || rel.starts_with("cmd/");
            if candidate && self.package_of(view, dir).as_deref() == Some("main") {
                mains.push(dir.clone());
            }
        }
        mains
    }

    /// Source files of a module's configuration packages (`config`, `internal/config`...).
    fn config_files(&self, module: &str) -> Vec<String> {
        self.dirs_of(module)
            .filter(|(dir, _)| matches!(file_name(dir), "config" | "configs" | "conf" | "settings"))
            .flat_map(|(_, files)| files.iter().cloned())
            .take(20)
            .collect()
    }
}

enum Clause {
    Package(String),
    Ignored,
    None,
}

/// The package clause of a Go file, skipping comments; `Ignored` for a file excluded by
/// an `ignore` build constraint.
fn package_clause(text: &str) -> Clause {
    let mut in_block = false;
    for line in text.lines() {
        let mut l = line.trim();
        if in_block {
            match l.find("*/") {
                Some(end) => {
                    in_block = false;
                    l = l[end + 2..].trim();
                }
                None => continue,
            }
        }
        if l.is_empty() {
            continue;
        }
        if let Some(c) = l.strip_prefix("//") {
            let c = c.trim();
            let constraint = c
                .strip_prefix("go:build")
                .or_else(|| c.strip_prefix("+build"));
            if let Some(expr) = constraint
                && expr
                    .split(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '!'))
                    .any(|w| w == "ignore")
            {
                return Clause::Ignored;
            }
            continue;
        }
        if l.starts_with("/*") {
            match l.find("*/") {
                Some(end) => {
                    l = l[end + 2..].trim();
                    if l.is_empty() {
                        continue;
                    }
                }
                None => {
                    in_block = true;
                    continue;
                }
            }
        }
        if let Some(rest) = l.strip_prefix("package") {
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            return if name.is_empty() {
                Clause::None
            } else {
                Clause::Package(name)
            };
        }
        return Clause::None;
    }
    Clause::None
}

fn choose_main(mains: &[String], module: &str, base: &str) -> Option<String> {
    if mains.is_empty() {
        return None;
    }
    if mains.iter().any(|m| m == module) {
        return Some(module.to_string());
    }
    let cmd = join(module, "cmd");
    let mut preferred: Vec<String> = Vec::new();
    if !base.is_empty() {
        preferred.push(join(&cmd, base));
    }
    if !module.is_empty() {
        preferred.push(join(&cmd, file_name(module)));
    }
    for n in ["server", "api", "app", "web", "main"] {
        preferred.push(join(&cmd, n));
    }
    if let Some(p) = preferred.iter().find(|p| mains.contains(p)) {
        return Some(p.clone());
    }
    mains
        .iter()
        .find(|m| is_inside_or_same(m, &cmd))
        .or_else(|| mains.first())
        .cloned()
}

fn backing_of_module(module: &str) -> Option<&'static str> {
    let lower = module.to_ascii_lowercase();
    let without_major = strip_major(&lower);
    for candidate in [lower.as_str(), without_major] {
        if let Some(b) = backing::from_package(candidate) {
            return Some(b);
        }
        if let Ok(i) = EXTRA_BACKING.binary_search_by(|(k, _)| (*k).cmp(candidate)) {
            return EXTRA_BACKING.get(i).map(|(_, b)| *b);
        }
    }
    None
}

/// `github.com/x/y/v5` → `github.com/x/y`.
fn strip_major(module: &str) -> &str {
    match module.rsplit_once('/') {
        Some((head, last))
            if last.len() > 1
                && last.starts_with('v')
                && last[1..].chars().all(|c| c.is_ascii_digit()) =>
        {
            head
        }
        _ => module,
    }
}

/// The last element of a module path without its major version (`github.com/acme/shop/v2`
/// → `shop`).
fn module_base(module: &str) -> String {
    file_name(strip_major(module)).to_string()
}

/// The package path of `dir` relative to `module`, as `go build` wants it (`.`,
/// `./cmd/api`).
fn rel_pkg(module: &str, dir: &str) -> String {
    let rel = strip_dir(module, dir);
    if rel.is_empty() {
        ".".into()
    } else {
        format!("./{rel}")
    }
}

fn display(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn package_clauses() {
        assert!(
            matches!(package_clause("// Copyright\n\n/* doc\n */\npackage main\n"), Clause::Package(p) if p == "main")
        );
        assert!(matches!(
            package_clause("//go:build ignore\n\npackage main\n"),
            Clause::Ignored
        ));
        assert!(matches!(
            package_clause("//go:build linux && !ignore\npackage main\n"),
            Clause::Package(_)
        ));
        assert!(
            matches!(package_clause("/* x */ package lib // c\n"), Clause::Package(p) if p == "lib")
        );
        assert!(matches!(package_clause("func main() {}"), Clause::None));
        assert!(matches!(package_clause(""), Clause::None));
    }

    #[test]
    fn ports_from_sources() {
        let src = r#"
	srv := &http.Server{Addr: ":8081"}
	log.Fatal(http.ListenAndServe("0.0.0.0:9090", nil)) // ":1234" in a comment
	db := "postgres://u:p@db:5432/x"
	t := "12:30"
"#;
        assert_eq!(listen_ports(src), vec![8081, 9090]);
    }

    #[test]
    fn health_routes() {
        assert_eq!(
            health_route(r#"r.Get("/ping", h); r.Get("/healthz", h)"#),
            Some("/healthz")
        );
        assert_eq!(health_route(r#"r.Get("/healthcheck-ish", h)"#), None);
    }

    #[test]
    fn env_names() {
        let src =
            r#"os.Getenv("DATABASE_URL") os.Getenv("lower") os.LookupEnv("PORT") os.Getenv(key)"#;
        assert_eq!(quoted_after(src, "Getenv(\""), vec!["DATABASE_URL"]);
        assert_eq!(quoted_after(src, "LookupEnv(\""), vec!["PORT"]);
    }

    #[test]
    fn paths() {
        assert_eq!(resolve_path("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(resolve_path("", "./api").as_deref(), Some("api"));
        assert_eq!(resolve_path("", "."), Some(String::new()));
        assert_eq!(resolve_path("", "../x"), None);
        assert_eq!(resolve_path("a", "b\\c").as_deref(), Some("a/b/c"));
        assert_eq!(common_ancestor("svc/api", "svc/lib"), "svc");
        assert_eq!(common_ancestor("api", "lib"), "");
        assert_eq!(strip_dir("", "cmd/api"), "cmd/api");
        assert_eq!(strip_dir("svc", "svc/cmd/api"), "cmd/api");
        assert_eq!(strip_dir("svc", "svc"), "");
    }

    #[test]
    fn tables_are_sorted() {
        assert!(EXTRA_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn modules() {
        assert_eq!(module_base("github.com/acme/shop/v2"), "shop");
        assert_eq!(module_base("example"), "example");
        assert_eq!(
            backing_of_module("github.com/jackc/pgx/v5"),
            Some("postgres")
        );
        assert_eq!(
            backing_of_module("github.com/go-redis/redis/v8"),
            Some("redis")
        );
        assert_eq!(
            backing_of_module("gorm.io/driver/postgres"),
            Some("postgres")
        );
        assert_eq!(backing_of_module("github.com/jmoiron/sqlx"), None);
        assert_eq!(backing_of_module("github.com/gin-gonic/gin"), None);
    }

    #[test]
    fn main_choice() {
        let mains = vec!["cmd/api".to_string(), "cmd/worker".to_string()];
        assert_eq!(choose_main(&mains, "", "shop").as_deref(), Some("cmd/api"));
        let mains = vec!["cmd/shop".to_string(), "cmd/api".to_string()];
        assert_eq!(choose_main(&mains, "", "shop").as_deref(), Some("cmd/shop"));
        let mains = vec!["".to_string(), "cmd/api".to_string()];
        assert_eq!(choose_main(&mains, "", "shop").as_deref(), Some(""));
        let mains = vec!["tools/gen".to_string()];
        assert_eq!(
            choose_main(&mains, "", "shop").as_deref(),
            Some("tools/gen")
        );
    }
}
