//! The Rust detector: every Cargo package and workspace of the tree.
//!
//! - A package with a binary target (`[[bin]]`, `src/main.rs`, `src/bin/*`) is a
//!   service; with only a library it is a library (so are fuzz-target crates and
//!   `xtask` helpers). A `[workspace]` manifest is a workspace root (`cargo-workspace`);
//!   its members build from it (`cargo build -p <name>`), with the workspace's
//!   `Cargo.lock` and `target/`. A package outside any workspace whose `path`
//!   dependencies leave its folder builds from their common ancestor
//!   (`--manifest-path`).
//! - The binary: `default-run` > the one named like the package > the only one > the
//!   first; a `several-bins` note lists the others.
//! - Runtime version: `rust-toolchain.toml` / `rust-toolchain` (nearest, up to the
//!   root) > `package.rust-version` (or the workspace's, when inherited) >
//!   `workspace.package.rust-version` > `.tool-versions` `rust`.
//! - Ports: `Rocket.toml`, listen addresses in the binary's source (`"0.0.0.0:3000"`,
//!   `([0, 0, 0, 0], 3000)`, a `PORT` fallback), else the web framework's default
//!   (axum 3000, actix-web 8080, rocket 8000, warp 3030, poem 3000, loco 5150).
//! - Backing services: dependencies (`sqlx`/`diesel`/`sea-orm` by their features,
//!   `tokio-postgres`, `redis`, `mongodb`, `lapin`, `rdkafka`...) and env names.

use crate::topology::common::push_unique;
use std::collections::{BTreeMap, BTreeSet};

use crate::topology::backing;
use crate::topology::common;
use crate::topology::common::{
    common_ancestor, health_route, is_inside_or_same, listen_ports, quoted_after, quoted_strings,
    resolve_path, strip_dir,
};
use crate::topology::manifest::cargo_toml::{
    self, CargoDependency, CargoManifest, DependencyKind, Inheritable,
};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    file_name, join, parent,
};

/// Detects rust projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RustDetector;

impl Detector for RustDetector {
    fn id(&self) -> &str {
        "rust"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(detect(view))
    }
}

const ID: &str = "rust";

/// Web frameworks and the port they are usually run on (sorted).
const WEB_FRAMEWORKS: &[(&str, u16)] = &[
    ("actix-web", 8080),
    ("axum", 3000),
    ("loco-rs", 5150),
    ("poem", 3000),
    ("rocket", 8000),
    ("warp", 3030),
];

/// Crates that mean a backing service, beyond
/// [`crate::topology::backing::PACKAGE_TO_BACKING`] (sorted).
const EXTRA_BACKING: &[(&str, &str)] = &[
    ("async-nats", "nats"),
    ("bb8-postgres", "postgres"),
    ("bb8-redis", "redis"),
    ("deadpool-postgres", "postgres"),
    ("deadpool-redis", "redis"),
    ("elasticsearch", "elasticsearch"),
    ("fred", "redis"),
    ("lapin", "rabbitmq"),
    ("memcache", "memcached"),
    ("mongodb", "mongodb"),
    ("mysql", "mysql"),
    ("mysql_async", "mysql"),
    ("rdkafka", "kafka"),
];

#[derive(Debug)]
struct Workspace {
    dir: String,
    path: String,
    manifest: CargoManifest,
    members: BTreeSet<String>,
}

fn detect(view: &ProjectView) -> Vec<Detection> {
    let mut manifests: BTreeMap<String, (String, CargoManifest)> = BTreeMap::new();
    for path in view.named("Cargo.toml") {
        let Some(text) = view.text(path) else {
            continue;
        };
        match cargo_toml::parse(&text) {
            Ok(m) => {
                manifests.insert(parent(path).to_string(), (path.to_string(), m));
            }
            Err(e) => common::invalid(view, path, e),
        }
    }

    let mut out = Vec::new();
    let mut workspaces: Vec<Workspace> = Vec::new();
    for (dir, (path, m)) in &manifests {
        let Some(ws) = &m.workspace else {
            continue;
        };
        let members = expand_members(dir, &ws.members, &ws.exclude, &manifests);
        let mut d = Detection::new(ID, dir.as_str(), "rust", 0.85)
            .with_kind(DetectionKind::WorkspaceRoot)
            .with_evidence(
                path.as_str(),
                format!("cargo workspace of {} member(s)", members.len()),
            );
        d.hints.patterns.push("cargo-workspace".into());
        d.hints.package_manager = Some(Sourced::new("cargo".into(), path.clone()));
        d.hints.runtime_version = toolchain(view, dir)
            .or_else(|| {
                ws.rust_version
                    .clone()
                    .map(|v| Sourced::new(v, format!("{path} workspace.package.rust-version")))
            })
            .or_else(|| common::tool_version(view, dir, &["rust"]));
        let lock = join(dir, "Cargo.lock");
        if view.is_file(&lock) {
            d.evidence.push(Evidence::new(lock, "workspace lockfile"));
        } else {
            d.hints.notes.push(no_lockfile(dir));
        }
        out.push(d);
        workspaces.push(Workspace {
            dir: dir.clone(),
            path: path.clone(),
            manifest: m.clone(),
            members,
        });
    }

    for (dir, (path, m)) in &manifests {
        if m.package.is_none() {
            continue;
        }
        let workspace = workspace_of(dir, m, &workspaces);
        out.push(package_detection(view, dir, path, m, workspace));
    }
    out
}

fn no_lockfile(dir: &str) -> Note {
    Note::new(
        "no-lockfile",
        format!(
            "{} has no Cargo.lock: builds are not reproducible; commit Cargo.lock (cargo generate-lockfile)",
            if dir.is_empty() { "." } else { dir }
        ),
    )
}

/// The member folders of a workspace: its `members` globs matched against the folders
/// that hold a `Cargo.toml`, minus `exclude`, plus the root package.
fn expand_members(
    dir: &str,
    members: &[String],
    exclude: &[String],
    manifests: &BTreeMap<String, (String, CargoManifest)>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for pattern in members {
        let Some(full) = resolve_path(dir, pattern) else {
            continue;
        };
        let matcher = globset::GlobBuilder::new(&full)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher());
        for candidate in manifests.keys() {
            let hit = match &matcher {
                Ok(m) => m.is_match(candidate),
                Err(_) => *candidate == full,
            };
            if hit {
                out.insert(candidate.clone());
            }
        }
    }
    for ex in exclude {
        if let Some(full) = resolve_path(dir, ex) {
            out.retain(|m| !is_inside_or_same(m, &full));
        }
    }
    if manifests.get(dir).is_some_and(|(_, m)| m.package.is_some()) {
        out.insert(dir.to_string());
    }
    out
}

fn workspace_of<'a>(
    dir: &str,
    m: &CargoManifest,
    workspaces: &'a [Workspace],
) -> Option<&'a Workspace> {
    if let Some(explicit) = m
        .package
        .as_ref()
        .and_then(|p| p.workspace.as_deref())
        .and_then(|w| resolve_path(dir, w))
    {
        return workspaces.iter().find(|w| w.dir == explicit);
    }
    workspaces
        .iter()
        .filter(|w| is_inside_or_same(dir, &w.dir) && w.members.contains(dir))
        .max_by_key(|w| w.dir.len())
}

/// A binary target and where it was found.
#[derive(Debug, Clone)]
struct Bin {
    name: String,
    source: String,
    needs_features: bool,
}

fn bins_of(view: &ProjectView, dir: &str, m: &CargoManifest, package: &str) -> Vec<Bin> {
    let mut bins: Vec<Bin> = Vec::new();
    for b in &m.bins {
        let path = b
            .path
            .clone()
            .unwrap_or_else(|| format!("src/bin/{}.rs", b.name.as_deref().unwrap_or(package)));
        let name = b.name.clone().unwrap_or_else(|| package.to_string());
        let source = resolve_path(dir, &path).unwrap_or_else(|| join(dir, &path));
        bins.push(Bin {
            name,
            source,
            needs_features: !b.required_features.is_empty(),
        });
    }
    let autobins = m.package.as_ref().is_none_or(|p| p.autobins);
    if autobins {
        let mut add = |name: String, source: String| {
            if !bins.iter().any(|b| b.name == name || b.source == source) {
                bins.push(Bin {
                    name,
                    source,
                    needs_features: false,
                });
            }
        };
        let main = join(dir, "src/main.rs");
        if view.is_file(&main) {
            add(package.to_string(), main);
        }
        let bin_dir = join(dir, "src/bin");
        for f in view.files_in(&bin_dir) {
            if let Some(stem) = file_name(f).strip_suffix(".rs") {
                add(stem.to_string(), f.to_string());
            }
        }
        for d in view.dirs_in(&bin_dir) {
            let main = join(d, "main.rs");
            if view.is_file(&main) {
                add(file_name(d).to_string(), main);
            }
        }
    }
    bins
}

fn choose_bin<'a>(bins: &'a [Bin], m: &CargoManifest, package: &str) -> Option<&'a Bin> {
    let default_run = m.package.as_ref().and_then(|p| p.default_run.as_deref());
    default_run
        .and_then(|d| bins.iter().find(|b| b.name == d))
        .or_else(|| bins.iter().find(|b| b.name == package))
        .or_else(|| bins.iter().find(|b| !b.needs_features))
        .or_else(|| bins.first())
}

fn package_detection(
    view: &ProjectView,
    dir: &str,
    path: &str,
    m: &CargoManifest,
    workspace: Option<&Workspace>,
) -> Detection {
    let pkg = m.package.clone().unwrap_or_default();
    let name = pkg
        .name
        .clone()
        .unwrap_or_else(|| file_name(dir).to_string());
    let bins = bins_of(view, dir, m, &name);
    let dev_tool = name == "xtask"
        || m.dependencies
            .iter()
            .any(|d| d.crate_name() == "libfuzzer-sys" && d.kind == DependencyKind::Normal);
    let chosen = if dev_tool {
        None
    } else {
        choose_bin(&bins, m, &name)
    };
    let kind = if chosen.is_some() {
        DetectionKind::Service
    } else {
        DetectionKind::Library
    };
    let mut d = Detection::new(ID, dir, "rust", 0.75)
        .with_kind(kind)
        .with_evidence(path, format!("cargo package {name}"));
    d.hints.name = Some(Sourced::new(name.clone(), format!("{path} package.name")));
    d.hints.package_manager = Some(Sourced::new("cargo".into(), path.to_string()));

    // Runtime version.
    let ws_rust = workspace.and_then(|w| {
        w.manifest
            .workspace
            .as_ref()
            .and_then(|ws| ws.rust_version.clone())
            .map(|v| Sourced::new(v, format!("{} workspace.package.rust-version", w.path)))
    });
    let own = match &pkg.rust_version {
        Some(Inheritable::Value(v)) => Some(Sourced::new(
            v.clone(),
            format!("{path} package.rust-version"),
        )),
        _ => None,
    };
    d.hints.runtime_version = toolchain(view, dir)
        .or(own)
        .or(ws_rust)
        .or_else(|| common::tool_version(view, dir, &["rust"]));

    // Dependencies, with workspace-inherited ones completed from the workspace.
    let ws_deps: &[CargoDependency] = workspace
        .and_then(|w| w.manifest.workspace.as_ref())
        .map_or(&[], |ws| ws.dependencies.as_slice());
    let deps: Vec<CargoDependency> = m
        .dependencies
        .iter()
        .filter(|d| d.kind == DependencyKind::Normal)
        .map(|d| resolve_dependency(d, ws_deps))
        .collect();
    for dep in &deps {
        if let Some(b) = backing_of_crate(dep) {
            push_unique(
                &mut d.hints.backing_services,
                Sourced::new(
                    b.to_string(),
                    format!("{path} dependency {}", dep.crate_name()),
                ),
            );
        }
    }
    for e in common::env_from_examples(view, dir) {
        push_unique(&mut d.hints.env, e);
    }

    let lock_dir = workspace.map_or(dir, |w| w.dir.as_str());
    let lock = join(lock_dir, "Cargo.lock");
    let locked = view.is_file(&lock);

    let Some(bin) = chosen else {
        if dev_tool {
            d.evidence.push(Evidence::new(
                path,
                "a development tool (xtask or fuzz targets), not a service",
            ));
        }
        return d;
    };
    d.boost(0.05);
    if locked {
        d.boost(0.1);
        d.evidence.push(Evidence::new(lock.clone(), "lockfile"));
    } else if workspace.is_none() {
        d.hints.notes.push(no_lockfile(dir));
    }
    d.evidence.push(Evidence::new(
        bin.source.clone(),
        format!("binary target {}", bin.name),
    ));
    let runnable: Vec<&Bin> = bins.iter().filter(|b| !b.needs_features).collect();
    if runnable.len() > 1 {
        let others: Vec<&str> = runnable
            .iter()
            .filter(|b| b.name != bin.name)
            .map(|b| b.name.as_str())
            .collect();
        d.hints.notes.push(Note::new(
            "several-bins",
            format!(
                "{name} has several binaries: running {}; the others ({}) need their own service with their command",
                bin.name,
                others.join(", ")
            ),
        ));
    }

    // Context and commands (they run from the context).
    let locked_flag = if locked { " --locked" } else { "" };
    let bin_flag = if bins.len() > 1 {
        format!(" --bin {}", bin.name)
    } else {
        String::new()
    };
    let (build, start, context) = match workspace {
        Some(w) => {
            let target = join(&w.dir, "target/release");
            (
                format!("cargo build --release{locked_flag} -p {name}{bin_flag}"),
                format!("./{}", strip_dir(&w.dir, &join(&target, &bin.name))),
                Some(w.dir.clone()),
            )
        }
        None => {
            let outside = path_dependency_root(dir, m);
            match outside {
                Some(ctx) => {
                    let rel = strip_dir(&ctx, dir);
                    (
                        format!(
                            "cargo build --release{locked_flag} --manifest-path {rel}/Cargo.toml{bin_flag}"
                        ),
                        format!("./{rel}/target/release/{}", bin.name),
                        Some(ctx),
                    )
                }
                None => (
                    format!("cargo build --release{locked_flag}{bin_flag}"),
                    format!("./target/release/{}", bin.name),
                    None,
                ),
            }
        }
    };
    d.hints.install_command = Some(Sourced::new(
        match &context {
            Some(ctx) if workspace.is_none() => format!(
                "cargo fetch{locked_flag} --manifest-path {}/Cargo.toml",
                strip_dir(ctx, dir)
            ),
            _ => format!("cargo fetch{locked_flag}"),
        },
        if locked {
            lock.clone()
        } else {
            path.to_string()
        },
    ));
    if let Some(ctx) = context
        && ctx != dir
    {
        d.hints.context = Some(ctx);
    }
    d.hints.build_command = Some(Sourced::new(build, format!("{path} binary {}", bin.name)));
    d.hints.start_command = Some(Sourced::new(start, format!("{path} binary {}", bin.name)));

    // Ports and env vars from the binary's source and config modules; then framework
    // defaults.
    let mut files = vec![bin.source.clone()];
    for f in [
        "src/config.rs",
        "src/settings.rs",
        "src/config/mod.rs",
        "src/app.rs",
        "src/lib.rs",
        "src/server.rs",
        "src/routes.rs",
    ] {
        let f = join(dir, f);
        if view.is_file(&f) && !files.contains(&f) {
            files.push(f);
        }
    }
    scan_sources(view, &files, &mut d);
    if let Some((port, source)) = rocket_port(view, dir) {
        d.hints.ports.insert(0, Sourced::new(port, source));
    }
    if d.hints.ports.is_empty()
        && let Some((framework, port)) = deps.iter().find_map(|dep| {
            WEB_FRAMEWORKS
                .iter()
                .find(|(f, _)| *f == dep.crate_name())
                .copied()
        })
    {
        d.hints.ports.push(Sourced::assumed(port, framework));
    }
    for b in common::backing_from_env(&d.hints.env) {
        push_unique(&mut d.hints.backing_services, b);
    }
    d
}

/// The folder a standalone package must build from to see its `path` dependencies.
fn path_dependency_root(dir: &str, m: &CargoManifest) -> Option<String> {
    let mut root: Option<String> = None;
    for dep in &m.dependencies {
        let Some(p) = &dep.path else {
            continue;
        };
        let Some(target) = resolve_path(dir, p) else {
            continue;
        };
        if !is_inside_or_same(&target, dir) {
            root = Some(common_ancestor(root.as_deref().unwrap_or(dir), &target));
        }
    }
    root
}

fn resolve_dependency(dep: &CargoDependency, ws: &[CargoDependency]) -> CargoDependency {
    if !dep.workspace {
        return dep.clone();
    }
    let Some(base) = ws.iter().find(|w| w.name == dep.name) else {
        return dep.clone();
    };
    let mut out = base.clone();
    out.name = dep.name.clone();
    out.kind = dep.kind;
    out.optional = dep.optional;
    for f in &dep.features {
        if !out.features.contains(f) {
            out.features.push(f.clone());
        }
    }
    out
}

fn backing_of_crate(dep: &CargoDependency) -> Option<&'static str> {
    let name = dep.crate_name();
    let has = |f: &str| dep.features.iter().any(|x| x == f);
    match name {
        "sqlx" => {
            return if has("postgres") {
                Some("postgres")
            } else if has("mysql") {
                Some("mysql")
            } else if has("sqlite") {
                None
            } else {
                Some("postgres")
            };
        }
        "diesel" | "diesel-async" => {
            return if has("postgres") {
                Some("postgres")
            } else if has("mysql") {
                Some("mysql")
            } else {
                None
            };
        }
        "sea-orm" => {
            return if has("sqlx-postgres") {
                Some("postgres")
            } else if has("sqlx-mysql") {
                Some("mysql")
            } else {
                None
            };
        }
        _ => {}
    }
    backing::from_package(name).or_else(|| {
        EXTRA_BACKING
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .and_then(|i| EXTRA_BACKING.get(i))
            .map(|(_, b)| *b)
    })
}

/// The pinned toolchain: the nearest `rust-toolchain.toml` or `rust-toolchain`.
fn toolchain(view: &ProjectView, dir: &str) -> Option<Sourced<String>> {
    let mut d = dir;
    loop {
        for name in ["rust-toolchain.toml", "rust-toolchain"] {
            let path = join(d, name);
            if !view.is_file(&path) {
                continue;
            }
            let text = view.text(&path)?;
            if let Some(channel) = toolchain_channel(&text) {
                return Some(Sourced::new(channel, format!("{path} channel")));
            }
            common::invalid(view, &path, "no toolchain channel");
        }
        if d.is_empty() {
            return None;
        }
        d = parent(d);
    }
}

/// `[toolchain] channel = "1.78"`, or a legacy one-line file (`stable`, `1.78.0`).
fn toolchain_channel(text: &str) -> Option<String> {
    if let Ok(t) = toml::from_str::<toml::Table>(text) {
        return t
            .get("toolchain")
            .and_then(toml::Value::as_table)
            .and_then(|tc| tc.get("channel"))
            .and_then(toml::Value::as_str)
            .map(str::to_string);
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let ok = line.len() <= 64
        && line
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    ok.then(|| line.to_string())
}

/// `Rocket.toml`: `[release] port`, else `[default] port`, else `[global] port`.
fn rocket_port(view: &ProjectView, dir: &str) -> Option<(u16, String)> {
    let path = join(dir, "Rocket.toml");
    let text = view.text(&path)?;
    let table: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            common::invalid(view, &path, e.message());
            return None;
        }
    };
    ["release", "default", "global"].iter().find_map(|profile| {
        let port = table.get(*profile)?.as_table()?.get("port")?.as_integer()?;
        let port = u16::try_from(port).ok()?;
        Some((port, format!("{path} {profile}.port")))
    })
}

fn scan_sources(view: &ProjectView, files: &[String], d: &mut Detection) {
    for f in files {
        let Some(text) = view.text(f) else {
            continue;
        };
        let mut ports = listen_ports(&text);
        for p in tuple_ports(&text) {
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        for p in ports {
            if !d.hints.ports.iter().any(|q| q.value == p) {
                d.hints
                    .ports
                    .push(Sourced::new(p, format!("{f} listen address")));
            }
        }
        let reads_port = text.contains("var(\"PORT\")");
        if reads_port && d.hints.ports.is_empty() {
            // `env::var("PORT").unwrap_or_else(|_| "3000".into())`
            if let Some(port) = quoted_strings(&text)
                .filter_map(|s| s.parse::<u16>().ok())
                .find(|p| *p >= 80)
            {
                d.hints
                    .ports
                    .push(Sourced::new(port, format!("{f} PORT fallback")));
            }
        }
        for (needle, what) in [
            ("env::var(\"", "env::var"),
            ("env::var_os(\"", "env::var_os"),
            ("dotenvy::var(\"", "dotenvy::var"),
            ("env = \"", "clap env"),
        ] {
            for name in quoted_after(&text, needle) {
                push_unique(&mut d.hints.env, Sourced::new(name, format!("{f} {what}")));
            }
        }
        if d.hints.healthcheck.is_none() {
            d.hints.healthcheck =
                health_route(&text).map(|r| Sourced::new(r.to_string(), format!("{f} route")));
        }
    }
}

/// Ports in socket-address tuples: `([0, 0, 0, 0], 3000)`, `("0.0.0.0", 8080)`.
pub(super) fn tuple_ports(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for needle in [
        "[0, 0, 0, 0], ",
        "[127, 0, 0, 1], ",
        "\"0.0.0.0\", ",
        "\"127.0.0.1\", ",
        "\"localhost\", ",
        "\"::\", ",
    ] {
        for (i, _) in text.match_indices(needle) {
            let digits: String = text[i + needle.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(p) = digits.parse::<u16>()
                && p > 0
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(EXTRA_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(WEB_FRAMEWORKS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn channels() {
        assert_eq!(
            toolchain_channel("[toolchain]\nchannel = \"1.79.0\"\ncomponents = [\"clippy\"]\n")
                .as_deref(),
            Some("1.79.0")
        );
        assert_eq!(
            toolchain_channel("nightly-2024-05-01\n").as_deref(),
            Some("nightly-2024-05-01")
        );
        assert_eq!(
            toolchain_channel("[toolchain]\nprofile = \"minimal\"\n"),
            None
        );
        assert_eq!(toolchain_channel("not a channel!"), None);
    }

    #[test]
    fn tuples() {
        let src = "let addr = SocketAddr::from(([0, 0, 0, 0], 3000));\nHttpServer::new(f).bind((\"0.0.0.0\", 8080))?";
        assert_eq!(tuple_ports(src), vec![3000, 8080]);
    }

    #[test]
    fn backing_by_features() {
        let dep = |name: &str, features: &[&str]| CargoDependency {
            name: name.into(),
            package: None,
            version: None,
            features: features.iter().map(|f| f.to_string()).collect(),
            default_features: true,
            optional: false,
            workspace: false,
            path: None,
            kind: DependencyKind::Normal,
        };
        assert_eq!(
            backing_of_crate(&dep("sqlx", &["runtime-tokio", "mysql"])),
            Some("mysql")
        );
        assert_eq!(backing_of_crate(&dep("sqlx", &["sqlite"])), None);
        assert_eq!(backing_of_crate(&dep("sqlx", &[])), Some("postgres"));
        assert_eq!(
            backing_of_crate(&dep("diesel", &["postgres"])),
            Some("postgres")
        );
        assert_eq!(backing_of_crate(&dep("lapin", &[])), Some("rabbitmq"));
        assert_eq!(backing_of_crate(&dep("serde", &[])), None);
    }
}
