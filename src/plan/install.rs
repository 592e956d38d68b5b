//! What a generated Dockerfile installs, and in which order: the dependency manifests
//! each stack's install reads (copied, and installed, before the code, so a code edit
//! rebuilds only the layers after them), the installers it fetches at a tested version
//! ([`BuildTools`]), and the Debian packages a build needs to compile well-known native
//! dependencies (psycopg2, mysqlclient, lxml...; node-gyp modules; the mysql2 gem...)
//! plus those the caller adds. Read through the planner's view of the folder, never
//! from the detectors' internals.

use std::collections::{BTreeMap, BTreeSet};

use super::{Files, join};
use crate::topology::manifest::{pipfile, pyproject, requirements};

/// The installers generated Dockerfiles fetch, at the version each was tested with
/// (`tests/templates_docker.rs` builds with them), sorted by name.
pub const TESTED_VERSIONS: &[(&str, &str)] = &[
    ("pdm", "2.29.4"),
    ("pipenv", "2026.10.3"),
    ("poetry", "2.5.1"),
    ("uv", "0.13.9"),
];

/// Dependencies of the installers pinned with them, when the installer is fetched at
/// its tested version: an installer pins its own dependencies loosely, and a new
/// release of one breaks it (pdm 2.29.4 with hishel 2.0.0: `module 'hishel' has no
/// attribute 'SyncSqliteStorage'`). Sorted.
pub const TESTED_CONSTRAINTS: &[(&str, &[&str])] = &[("pdm", &["hishel==1.4.0"])];

/// What generated Dockerfiles install besides the project: the version of each
/// installer they fetch (uv, poetry, pdm, pipenv; [`TESTED_VERSIONS`] unless set), and
/// extra Debian packages every build installs with `apt-get` (a library a dependency
/// compiles against that Kyozo does not know).
///
/// ```
/// use kyozo::plan::{BuildTools, Planner};
/// let tools = BuildTools::default()
///     .with_version("uv", "0.13.8")
///     .with_system_packages(["libgeos-dev"]);
/// assert_eq!(tools.version("uv"), Some("0.13.8"));
/// assert_eq!(tools.version("poetry"), Some("2.5.1"));
/// let planner = Planner::new().with_build_tools(tools);
/// # let _ = planner;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildTools {
    versions: BTreeMap<String, String>,
    system_packages: Vec<String>,
}

impl Default for BuildTools {
    fn default() -> Self {
        Self {
            versions: TESTED_VERSIONS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            system_packages: Vec::new(),
        }
    }
}

impl BuildTools {
    /// The tested versions, no extra packages.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fetches `tool` at `version` (a version string of its registry: `0.13.8`). A
    /// version that is not one (blanks, quotes, shell characters) leaves the services
    /// that need the tool unplanned, with [`PlanError::Unsafe`](super::PlanError).
    #[must_use]
    pub fn with_version(mut self, tool: impl Into<String>, version: impl Into<String>) -> Self {
        self.versions.insert(tool.into(), version.into());
        self
    }

    /// Installs these Debian packages too, in every generated Dockerfile that builds on
    /// a Debian image with `apt-get` (python, node, ruby, php, and the build stage of go
    /// and rust). A name that is not a Debian package name leaves the services
    /// unplanned, with [`PlanError::Unsafe`](super::PlanError).
    #[must_use]
    pub fn with_system_packages(
        mut self,
        packages: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.system_packages
            .extend(packages.into_iter().map(Into::into));
        self
    }

    /// The version `tool` is fetched at.
    pub fn version(&self, tool: &str) -> Option<&str> {
        self.versions.get(tool).map(String::as_str)
    }

    /// The extra Debian packages.
    pub fn system_packages(&self) -> &[String] {
        &self.system_packages
    }

    /// The requirements installed with `tool` to keep it working: those of
    /// [`TESTED_CONSTRAINTS`] when `tool` is fetched at its tested version, else none
    /// (a version the caller picked comes with what it asks for).
    pub fn constraints(&self, tool: &str) -> Vec<String> {
        let tested = TESTED_VERSIONS
            .iter()
            .find(|(t, _)| *t == tool)
            .map(|(_, v)| *v);
        if tested.is_none() || self.version(tool) != tested {
            return Vec::new();
        }
        TESTED_CONSTRAINTS
            .iter()
            .find(|(t, _)| *t == tool)
            .map(|(_, c)| c.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default()
    }
}

pub(super) use crate::model::is_debian_package;

/// Whether `version` is a plain version string (`0.13.9`, `2026.10.3`, `1.0rc1`).
pub(super) fn is_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 64
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-._!".contains(c))
}

/// Python distributions (normalized names) that compile against Debian libraries when
/// no wheel fits, and the packages their build needs (the `-dev` packages bring the
/// shared libraries they run with). Sorted.
const PYTHON_NATIVE: &[(&str, &[&str])] = &[
    ("cffi", &["gcc", "libffi-dev"]),
    ("cryptography", &["gcc", "libffi-dev", "libssl-dev"]),
    ("lxml", &["gcc", "libxml2-dev", "libxslt1-dev"]),
    (
        "mysqlclient",
        &["default-libmysqlclient-dev", "gcc", "pkg-config"],
    ),
    ("pillow", &["gcc", "libjpeg-dev", "zlib1g-dev"]),
    ("psycopg", &["libpq5"]),
    ("psycopg2", &["gcc", "libpq-dev"]),
    ("pycurl", &["gcc", "libcurl4-openssl-dev", "libssl-dev"]),
    ("python-ldap", &["gcc", "libldap2-dev", "libsasl2-dev"]),
    ("pyyaml", &["gcc", "libyaml-dev"]),
    ("uwsgi", &["gcc"]),
];

/// Node modules built with node-gyp, and what their build needs. Sorted.
const NODE_NATIVE: &[(&str, &[&str])] = &[
    ("argon2", &["g++", "make", "python3"]),
    ("bcrypt", &["g++", "make", "python3"]),
    ("better-sqlite3", &["g++", "make", "python3"]),
    (
        "canvas",
        &[
            "g++",
            "libcairo2-dev",
            "libgif-dev",
            "libjpeg-dev",
            "libpango1.0-dev",
            "librsvg2-dev",
            "make",
            "python3",
        ],
    ),
    ("node-gyp", &["g++", "make", "python3"]),
    ("sqlite3", &["g++", "make", "python3"]),
];

/// Gems with native extensions beyond what the ruby template always installs
/// (build-essential, libpq-dev for pg, libyaml-dev). Sorted.
const RUBY_NATIVE: &[(&str, &[&str])] = &[
    ("mysql2", &["default-libmysqlclient-dev"]),
    ("pg", &["libpq-dev"]),
    ("sqlite3", &["libsqlite3-dev"]),
];

/// How a service's dependencies are installed.
#[derive(Debug, Default)]
pub(super) struct InstallPlan {
    /// Files copied before the install, from the build context. Empty: the code is
    /// copied first (the install reads more than manifests).
    pub(super) manifests: Vec<String>,
    /// The install run on the manifests alone.
    pub(super) deps_install: String,
    /// What the manager installs once the code is there (the project itself), if any.
    pub(super) project_install: String,
    /// Debian packages the build needs for the service's native dependencies, sorted.
    pub(super) native_packages: Vec<String>,
    /// The digest of the manifests (their paths and bytes), 16 hex digits, when there
    /// are manifests: see [`deps_key`].
    pub(super) deps_key: String,
}

/// The digest of `manifests` (paths from the context, read at `from_root`): the
/// generated Dockerfile's first step after `FROM` is a `LABEL` carrying it. The
/// engine's classic builder continues a build from the newest cached step that matches,
/// whoever built it; two apps built at once on one engine make two copies of their
/// common first steps (the same `ENV`, the same venv), and the next build of either
/// then continues from the newer copy, which lacks that app's install: a code edit
/// reinstalled every dependency. Starting each app's steps with what its install
/// depends on gives every set of manifests its own line in the cache; apps with the
/// same manifests share a line, and any copy of it holds their install.
fn deps_key(files: &Files, relative: &[String], from_root: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for (name, path) in relative.iter().zip(from_root) {
        hash.update(name.as_bytes());
        hash.update([0]);
        match files.text(path) {
            Some(text) => hash.update(text.as_bytes()),
            // Not text (a binary lock file): its size stands for it.
            None => hash.update(files.size(path).unwrap_or(0).to_le_bytes()),
        }
        hash.update([0]);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `path` (from the root) from the build context `context`, when it is inside it.
fn from_context(path: &str, context: &str) -> Option<String> {
    let context = context.trim_end_matches('/');
    if context.is_empty() || context == "." {
        return Some(path.to_string());
    }
    if path == context {
        return Some(String::new());
    }
    path.strip_prefix(context)
        .and_then(|p| p.strip_prefix('/'))
        .map(str::to_string)
}

/// Whether every manifest can be copied on its own by a Dockerfile (`COPY a a`): a path
/// the Dockerfile path escaping refuses (blanks, globs...) makes the code go first.
fn copyable(manifests: &[String]) -> bool {
    manifests
        .iter()
        .all(|m| super::templates::is_dockerfile_path(m))
}

/// The words of a command.
fn words(command: &str) -> Vec<&str> {
    command.split_whitespace().collect()
}

/// The install plan of a python service whose install command is `install`, in
/// `folder`, built from `context`.
pub(super) fn python(files: &Files, folder: &str, context: &str, install: &str) -> InstallPlan {
    let mut plan = InstallPlan {
        native_packages: python_native(files, folder),
        ..InstallPlan::default()
    };
    let at = |name: &str| join(folder, name);
    let w = words(install);
    let mut manifests: Vec<String> = Vec::new();
    match w.as_slice() {
        ["pip", "install", "-r", file] => {
            // The requirements file and what it includes, unless one installs local
            // code (`-e .`, `./pkg`): then the code goes first.
            let Some(file) = unquote(file) else {
                return plan;
            };
            let mut queue = vec![at(&file)];
            let mut seen = BTreeSet::new();
            while let Some(path) = queue.pop() {
                if seen.len() > 20 || !seen.insert(path.clone()) {
                    continue;
                }
                let Some(text) = files.text(&path) else {
                    return plan;
                };
                let Ok(parsed) = requirements::parse(&text) else {
                    return plan;
                };
                if !parsed.editables.is_empty()
                    || parsed.packages.iter().any(|p| {
                        p.url
                            .as_deref()
                            .is_some_and(|u| !u.contains("://") || u.starts_with("file:"))
                    })
                    || parsed.unknown.iter().any(|(_, l)| {
                        // `./pkg`, or `pkg @ ./pkg` (a path, not a URL, after the `@`).
                        let target = l.split_once('@').map_or(l.as_str(), |(_, t)| t.trim());
                        [l.as_str(), target]
                            .iter()
                            .any(|t| t.starts_with('.') || t.starts_with('/'))
                    })
                {
                    return plan;
                }
                manifests.push(path.clone());
                let dir = crate::topology::parent(&path).to_string();
                for include in parsed.includes.iter().chain(&parsed.constraints) {
                    match crate::topology::resolve_relative(&dir, include) {
                        Some(p) => queue.push(p),
                        None => return plan,
                    }
                }
            }
            plan.deps_install = install.to_string();
        }
        ["uv", "sync", rest @ ..] => {
            // A workspace member (`--package`) needs its neighbours: the code goes first.
            if rest.contains(&"--package") || uv_lock_has_local_sources(files, &at("uv.lock")) {
                return plan;
            }
            manifests.push(at("pyproject.toml"));
            if files.is_file(&at("uv.lock")) {
                manifests.push(at("uv.lock"));
            }
            plan.deps_install = format!("{install} --no-install-project");
            // A project that is not a package (no build system) has nothing of its
            // own to install.
            if is_package(files, &at("pyproject.toml")) {
                plan.project_install = install.to_string();
            }
        }
        ["poetry", "install", rest @ ..] => {
            manifests.push(at("pyproject.toml"));
            if files.is_file(&at("poetry.lock")) {
                manifests.push(at("poetry.lock"));
            }
            if rest.contains(&"--no-root") {
                plan.deps_install = install.to_string();
            } else {
                plan.deps_install = format!("{install} --no-root");
                plan.project_install = install.to_string();
            }
        }
        ["pdm", "install", ..] => {
            manifests.push(at("pyproject.toml"));
            if files.is_file(&at("pdm.lock")) {
                manifests.push(at("pdm.lock"));
            }
            plan.deps_install = format!("{install} --no-self");
            if is_package(files, &at("pyproject.toml")) {
                plan.project_install = install.to_string();
            }
        }
        ["pipenv", "install", ..] => {
            manifests.push(at("Pipfile"));
            if files.is_file(&at("Pipfile.lock")) {
                manifests.push(at("Pipfile.lock"));
            }
            plan.deps_install = install.to_string();
        }
        _ => return plan,
    }
    finish(plan, manifests, files, context)
}

/// Whether the `pyproject.toml` at `path` builds a package its manager installs (a
/// build system, unless `tool.uv.package` or `tool.pdm.distribution` says otherwise);
/// unreadable: assumed so.
fn is_package(files: &Files, path: &str) -> bool {
    let Some(p) = files.text(path).and_then(|t| pyproject::parse(&t).ok()) else {
        return true;
    };
    let declared =
        p.uv.as_ref()
            .and_then(|u| u.package)
            .or(p.pdm.as_ref().and_then(|d| d.distribution));
    declared.unwrap_or(p.build_backend.is_some())
}

/// `plan` with `manifests` (from the root) made relative to the context, or the code
/// first when one cannot be copied alone.
fn finish(
    mut plan: InstallPlan,
    manifests: Vec<String>,
    files: &Files,
    context: &str,
) -> InstallPlan {
    let relative: Option<Vec<String>> = manifests
        .iter()
        .map(|m| {
            if files.is_file(m) {
                from_context(m, context)
            } else {
                None
            }
        })
        .collect();
    let steps_fit = [&plan.deps_install, &plan.project_install]
        .iter()
        .all(|s| super::templates::line_fragment_problem(s).is_none());
    match relative {
        Some(r) if !r.is_empty() && copyable(&r) && steps_fit => {
            plan.deps_key = deps_key(files, &r, &manifests);
            plan.manifests = r.into_iter().map(|m| format!("./{m}")).collect();
        }
        _ => {
            plan.manifests.clear();
            plan.deps_key.clear();
            plan.deps_install.clear();
            plan.project_install.clear();
        }
    }
    plan
}

/// A shell word as the detectors wrote it (`'a b.txt'` or `plain`): its value, when it
/// is quoted simply.
fn unquote(word: &str) -> Option<String> {
    if let Some(inner) = word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) {
        return (!inner.contains('\'')).then(|| inner.to_string());
    }
    (!word.contains(['\'', '"', '\\', '$', '`'])).then(|| word.to_string())
}

/// Whether `uv.lock` installs packages from local folders other than the project (a
/// `path`, `directory` or `editable` source that is not `.`): those need the code.
fn uv_lock_has_local_sources(files: &Files, lock: &str) -> bool {
    let Some(text) = files.text(lock) else {
        return false;
    };
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("source = {")
            && ["path = ", "directory = ", "editable = "]
                .iter()
                .any(|k| l.contains(k) && !l.contains(&format!("{k}\".\"")))
    })
}

/// The Debian packages a python service's native dependencies need: its dependencies
/// read from its requirements files, `pyproject.toml`, `Pipfile` and lockfiles (which
/// also list what the dependencies need).
pub(super) fn python_native(files: &Files, folder: &str) -> Vec<String> {
    let at = |name: &str| join(folder, name);
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut requirement_files: Vec<String> = vec![at("requirements.txt")];
    if let Some(view) = &files.0 {
        requirement_files.extend(
            view.files_in(&at("requirements"))
                .filter(|f| f.ends_with(".txt"))
                .map(str::to_string),
        );
    }
    for file in requirement_files {
        if let Some(parsed) = files.text(&file).and_then(|t| requirements::parse(&t).ok()) {
            names.extend(parsed.packages.into_iter().map(|p| p.name));
        }
    }
    if let Some(p) = files
        .text(&at("pyproject.toml"))
        .and_then(|t| pyproject::parse(&t).ok())
    {
        names.extend(p.dependency_names());
    }
    if let Some(p) = files
        .text(&at("Pipfile"))
        .and_then(|t| pipfile::parse(&t).ok())
    {
        names.extend(p.packages);
    }
    for lock in ["uv.lock", "poetry.lock", "pdm.lock"] {
        if let Some(text) = files.text(&at(lock)) {
            for line in text.lines() {
                if let Some(name) = line
                    .trim()
                    .strip_prefix("name = \"")
                    .and_then(|n| n.strip_suffix('"'))
                {
                    names.insert(name.to_string());
                }
            }
        }
    }
    if let Some(lock) = files
        .text(&at("Pipfile.lock"))
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        && let Some(default) = lock.get("default").and_then(|d| d.as_object())
    {
        names.extend(default.keys().cloned());
    }
    let names: BTreeSet<String> = names.iter().map(|n| normalize(n)).collect();
    native(PYTHON_NATIVE, &names)
}

/// A distribution name, PEP 503 normalized.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The packages `table` gives `names`, sorted, each once.
fn native(table: &[(&str, &[&str])], names: &BTreeSet<String>) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for (name, packages) in table {
        if names.contains(*name) {
            out.extend(packages.iter().map(|p| p.to_string()));
        }
    }
    out.into_iter().collect()
}

/// The install plan of a node service (`package.json` and the lockfiles, every
/// workspace member's `package.json`), the code first when an install script or a
/// patch needs it.
pub(super) fn node(files: &Files, folder: &str, context: &str, install: &str) -> InstallPlan {
    let mut plan = InstallPlan::default();
    let mut packages: Vec<String> = Vec::new();
    if let Some(view) = &files.0 {
        for p in view.named("package.json") {
            let p = p.to_string();
            if from_context(&p, context).is_some() && !p.split('/').any(|s| s == "node_modules") {
                packages.push(p);
            }
        }
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    for p in &packages {
        let Some(manifest) = files
            .text(p)
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        for k in ["dependencies", "devDependencies", "optionalDependencies"] {
            if let Some(d) = manifest.get(k).and_then(|d| d.as_object()) {
                names.extend(d.keys().cloned());
            }
        }
    }
    plan.native_packages = native(NODE_NATIVE, &names);
    if install.is_empty() {
        return plan;
    }
    let root = |name: &str| join(context, name);
    // Yarn berry (plugins, releases, patches under `.yarn`) and install scripts read
    // more than the manifests.
    let needs_code = files.is_file(&root(".yarnrc.yml"))
        || packages.iter().any(|p| {
            files.text(p).is_some_and(|t| {
                let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&t) else {
                    return true;
                };
                let scripts = manifest.get("scripts").and_then(|s| s.as_object());
                ["preinstall", "install", "postinstall", "prepare"]
                    .iter()
                    .any(|s| scripts.is_some_and(|m| m.contains_key(*s)))
                    || t.contains("patchedDependencies")
            })
        });
    if needs_code {
        return plan;
    }
    let mut manifests = packages;
    for name in [
        ".npmrc",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "pnpm-workspace.yaml",
        ".pnpmfile.cjs",
    ] {
        for dir in [context, folder] {
            let p = join(dir, name);
            if files.is_file(&p) && !manifests.contains(&p) {
                manifests.push(p);
            }
        }
    }
    plan.deps_install = install.to_string();
    finish(plan, manifests, files, context)
}

/// The install plan of a ruby service (`Gemfile` and `Gemfile.lock`), the code first
/// when the Gemfile reads a gemspec or a local path.
pub(super) fn ruby(files: &Files, folder: &str, context: &str, install: &str) -> InstallPlan {
    let at = |name: &str| join(folder, name);
    let gemfile = files.text(&at("Gemfile")).unwrap_or_default();
    let mut names = BTreeSet::new();
    for line in gemfile.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("gem ") {
            let name: String = rest
                .trim()
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
                .collect();
            names.insert(name);
        }
    }
    let mut plan = InstallPlan {
        native_packages: native(RUBY_NATIVE, &names),
        ..InstallPlan::default()
    };
    if install.is_empty()
        || gemfile.contains("gemspec")
        || gemfile.contains("path:")
        || gemfile.contains(":path")
        || gemfile.contains("eval_gemfile")
    {
        return plan;
    }
    let mut manifests = vec![at("Gemfile")];
    if files.is_file(&at("Gemfile.lock")) {
        manifests.push(at("Gemfile.lock"));
    }
    for f in [".ruby-version", ".bundle/config"] {
        if files.is_file(&at(f)) {
            manifests.push(at(f));
        }
    }
    plan.deps_install = install.to_string();
    finish(plan, manifests, files, context)
}

/// The install plan of a php service: `composer.json` and `composer.lock`, installed
/// without scripts and autoloader; the full install once the code is there.
pub(super) fn php(files: &Files, folder: &str, context: &str, install: &str) -> InstallPlan {
    let at = |name: &str| join(folder, name);
    let mut plan = InstallPlan::default();
    let composer = files.text(&at("composer.json")).unwrap_or_default();
    // Path repositories are code the install reads.
    if !install.contains("composer install") || composer.contains("\"path\"") {
        return plan;
    }
    let mut manifests = vec![at("composer.json")];
    if files.is_file(&at("composer.lock")) {
        manifests.push(at("composer.lock"));
    }
    plan.deps_install = format!(
        "{} --no-scripts --no-autoloader",
        install.replace(" --optimize-autoloader", "")
    );
    plan.project_install = install.to_string();
    finish(plan, manifests, files, context)
}

/// The install plan of a go service: `go.mod` and `go.sum`, then `go mod download`
/// (a `go.work` workspace, or a module that replaces with local folders, needs the
/// code first).
pub(super) fn go(files: &Files, folder: &str, context: &str) -> InstallPlan {
    let at = |name: &str| join(folder, name);
    let mut plan = InstallPlan::default();
    let Some(gomod) = files.text(&at("go.mod")) else {
        return plan;
    };
    let local_replace = gomod.lines().any(|l| {
        l.contains("=>")
            && l.split("=>")
                .nth(1)
                .is_some_and(|t| t.trim().starts_with('.') || t.trim().starts_with('/'))
    });
    if local_replace || files.is_file(&join(context, "go.work")) {
        return plan;
    }
    let mut manifests = vec![at("go.mod")];
    if files.is_file(&at("go.sum")) {
        manifests.push(at("go.sum"));
    }
    let from = from_context(folder, context).unwrap_or_default();
    plan.deps_install = if from.is_empty() || from == "." {
        "go mod download".to_string()
    } else {
        format!("cd {} && go mod download", crate::model::shell_quote(&from))
    };
    finish(plan, manifests, files, context)
}

/// The install plan of a rust service: every `Cargo.toml` of the context and
/// `Cargo.lock`, then `cargo fetch` with placeholder sources (removed in the same
/// step) so the crates are downloaded before the code is copied.
pub(super) fn rust(files: &Files, context: &str) -> InstallPlan {
    let mut plan = InstallPlan::default();
    let mut manifests: Vec<String> = Vec::new();
    if let Some(view) = &files.0 {
        for p in view.named("Cargo.toml") {
            let p = p.to_string();
            if from_context(&p, context).is_some() && !p.split('/').any(|s| s == "target") {
                manifests.push(p);
            }
        }
    }
    if manifests.is_empty() {
        return plan;
    }
    for name in ["Cargo.lock", "rust-toolchain.toml", "rust-toolchain"] {
        let p = join(context, name);
        if files.is_file(&p) {
            manifests.push(p);
        }
    }
    let dirs: Vec<String> = manifests
        .iter()
        .filter(|m| m.ends_with("Cargo.toml"))
        .filter_map(|m| from_context(crate::topology::parent(m), context))
        .map(|d| if d.is_empty() { ".".to_string() } else { d })
        .collect();
    let quoted: Vec<String> = dirs
        .iter()
        .map(|d| crate::model::shell_quote(&format!("{d}/src")))
        .collect();
    // Placeholders where a crate has no source yet; `cargo fetch` only reads the
    // manifests and the lockfile. A manifest naming targets elsewhere may still fail
    // here: the build fetches what is missing.
    plan.deps_install = format!(
        "for d in {}; do mkdir -p \"$d\" && touch \"$d/main.rs\" \"$d/lib.rs\"; done && (cargo fetch --locked || cargo fetch || true) && rm -rf {}",
        quoted.join(" "),
        quoted.join(" ")
    );
    finish(plan, manifests, files, context)
}

/// The install plan of a java service: the build files (`pom.xml`s, or the gradle
/// build and settings files) and the wrapper, then the dependencies resolved (maven
/// `dependency:go-offline`, gradle `dependencies`) before the code.
pub(super) fn java(files: &Files, context: &str, build: &str) -> InstallPlan {
    let mut plan = InstallPlan::default();
    let Some(view) = &files.0 else {
        return plan;
    };
    let mut manifests: Vec<String> = Vec::new();
    let names: &[&str] = &[
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "settings.gradle.kts",
        "gradle.properties",
        "mvnw",
        "gradlew",
        "libs.versions.toml",
    ];
    for name in names {
        for p in view.named(name) {
            let p = p.to_string();
            if from_context(&p, context).is_some()
                && !p
                    .split('/')
                    .any(|s| s == "target" || s == "build" || s == "node_modules")
            {
                manifests.push(p);
            }
        }
    }
    for dir in [".mvn/wrapper", "gradle/wrapper"] {
        manifests.extend(
            view.files_in(&join(context, dir))
                .filter(|f| !f.ends_with(".jar") || f.ends_with("wrapper.jar"))
                .map(str::to_string),
        );
    }
    let w = words(build);
    let tool = match w.first() {
        Some(&"./mvnw") | Some(&"mvn") => format!("{} -q -B dependency:go-offline", w[0]),
        Some(&"./gradlew") | Some(&"gradle") => format!("{} --no-daemon -q dependencies", w[0]),
        _ => return plan,
    };
    // A resolution that fails here (a plugin that needs the code) is done by the build.
    plan.deps_install = format!("({tool} || true)");
    finish(plan, manifests, files, context)
}

/// The install plan of a deno service: `deno.json`/`deno.jsonc`, `deno.lock` and
/// `package.json`, then `deno install` (what they import) before the code; its own
/// install (`deno cache main.ts`) once the code is there.
pub(super) fn deno(files: &Files, folder: &str, context: &str, install: &str) -> InstallPlan {
    let at = |name: &str| join(folder, name);
    let mut plan = InstallPlan::default();
    if !install.starts_with("deno ") && !install.contains("&& deno ") {
        return plan;
    }
    let manifests: Vec<String> = ["deno.json", "deno.jsonc", "deno.lock", "package.json"]
        .iter()
        .map(|f| at(f))
        .filter(|p| files.is_file(p))
        .collect();
    if manifests.is_empty() {
        return plan;
    }
    let from = from_context(folder, context).unwrap_or_default();
    let cd = if from.is_empty() {
        String::new()
    } else {
        format!("cd {} && ", crate::model::shell_quote(&from))
    };
    // An import map that needs the code (a local path) is installed with it.
    plan.deps_install = format!("({cd}deno install || true)");
    plan.project_install = install.to_string();
    finish(plan, manifests, files, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert!(is_debian_package("libpq-dev"));
        assert!(is_debian_package("g++"));
        assert!(is_debian_package("libpango1.0-dev"));
        assert!(!is_debian_package("-o"));
        assert!(!is_debian_package("a b"));
        assert!(!is_debian_package("Libpq"));
        assert!(is_version("0.13.9"));
        assert!(!is_version("1; rm -rf /"));
        assert!(!is_version(""));
        assert_eq!(normalize("Psycopg2_Binary"), "psycopg2-binary");
        assert_eq!(normalize("Pillow"), "pillow");
        let sorted: Vec<_> = TESTED_VERSIONS.iter().map(|(k, _)| *k).collect();
        let mut s = sorted.clone();
        s.sort_unstable();
        assert_eq!(sorted, s);
        for table in [PYTHON_NATIVE, NODE_NATIVE, RUBY_NATIVE] {
            let names: Vec<_> = table.iter().map(|(k, _)| *k).collect();
            let mut s = names.clone();
            s.sort_unstable();
            assert_eq!(names, s);
            assert!(
                table
                    .iter()
                    .all(|(_, p)| p.iter().all(|p| is_debian_package(p)))
            );
        }
    }

    #[test]
    fn resolving_includes() {
        assert_eq!(unquote("'a b.txt'").as_deref(), Some("a b.txt"));
        assert_eq!(unquote("req.txt").as_deref(), Some("req.txt"));
        assert_eq!(unquote("'a'\\''b'"), None);
    }
}
