//! Parser of Cargo manifests (`Cargo.toml`): the `[package]` (with workspace
//! inheritance such as `version.workspace = true`), the `[lib]` and `[[bin]]` targets,
//! the dependencies of every table (including `[target.'cfg(..)'.dependencies]`) and
//! the `[workspace]` (members, excludes, `workspace.package`, `workspace.dependencies`).
//!
//! The file is read as generic TOML and picked apart by hand, so a field of an
//! unexpected type is ignored rather than failing the whole manifest; only invalid
//! TOML is an error.

use toml::{Table, Value};

use super::ManifestError;

/// A parsed `Cargo.toml`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CargoManifest {
    /// The `[package]` table, if the manifest is a package.
    pub package: Option<CargoPackage>,
    /// The `[workspace]` table, if the manifest is a workspace root.
    pub workspace: Option<CargoWorkspace>,
    /// The `[lib]` target, when declared.
    pub lib: Option<CargoTarget>,
    /// The `[[bin]]` targets declared (auto-discovered ones are not listed).
    pub bins: Vec<CargoTarget>,
    /// Every dependency, of every kind and target.
    pub dependencies: Vec<CargoDependency>,
}

/// A package field that is either written out or inherited from the workspace
/// (`rust-version.workspace = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inheritable<T> {
    /// The value itself.
    Value(T),
    /// `{ workspace = true }`: the value of `[workspace.package]`.
    Workspace,
}

impl<T> Inheritable<T> {
    /// The value, if written out.
    pub fn value(&self) -> Option<&T> {
        match self {
            Inheritable::Value(v) => Some(v),
            Inheritable::Workspace => None,
        }
    }
}

/// The `[package]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CargoPackage {
    /// The package name.
    pub name: Option<String>,
    /// The version.
    pub version: Option<Inheritable<String>>,
    /// The edition.
    pub edition: Option<Inheritable<String>>,
    /// The minimum supported Rust version.
    pub rust_version: Option<Inheritable<String>>,
    /// The binary `cargo run` runs when there are several.
    pub default_run: Option<String>,
    /// `autobins` (default true): whether `src/main.rs` and `src/bin/*` are targets.
    pub autobins: bool,
    /// `publish = false` (or an empty registry list).
    pub publish: bool,
    /// The `workspace` key: the path of the workspace root, when not the nearest.
    pub workspace: Option<String>,
}

/// A `[lib]` or `[[bin]]` target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CargoTarget {
    /// Its name.
    pub name: Option<String>,
    /// Its source file.
    pub path: Option<String>,
    /// Features it needs.
    pub required_features: Vec<String>,
}

/// Which table a dependency was declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DependencyKind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

/// One dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoDependency {
    /// The key it is declared under (the name the code uses).
    pub name: String,
    /// The crate's real name when renamed (`package = "..."`).
    pub package: Option<String>,
    /// The version requirement.
    pub version: Option<String>,
    /// Features enabled.
    pub features: Vec<String>,
    /// Whether default features stay on.
    pub default_features: bool,
    /// Whether it is optional.
    pub optional: bool,
    /// `workspace = true`: the details come from `[workspace.dependencies]`.
    pub workspace: bool,
    /// A local path dependency.
    pub path: Option<String>,
    /// The table it was declared in.
    pub kind: DependencyKind,
}

impl CargoDependency {
    /// The crate's real name (`package`, else the key).
    pub fn crate_name(&self) -> &str {
        self.package.as_deref().unwrap_or(&self.name)
    }
}

/// The `[workspace]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CargoWorkspace {
    /// `members` globs.
    pub members: Vec<String>,
    /// `exclude` paths.
    pub exclude: Vec<String>,
    /// `default-members` globs.
    pub default_members: Vec<String>,
    /// `[workspace.package]` `rust-version`.
    pub rust_version: Option<String>,
    /// `[workspace.package]` `edition`.
    pub edition: Option<String>,
    /// `[workspace.package]` `version`.
    pub version: Option<String>,
    /// `[workspace.dependencies]`.
    pub dependencies: Vec<CargoDependency>,
}

/// Parses a `Cargo.toml`.
pub fn parse(text: &str) -> Result<CargoManifest, ManifestError> {
    let table: Table = toml::from_str(text).map_err(|e| ManifestError::new(one_line(&e, text)))?;
    let mut out = CargoManifest {
        package: table.get("package").and_then(Value::as_table).map(package),
        workspace: table
            .get("workspace")
            .and_then(Value::as_table)
            .map(workspace),
        lib: table.get("lib").and_then(Value::as_table).map(target),
        bins: table
            .get("bin")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_table).map(target).collect())
            .unwrap_or_default(),
        dependencies: Vec::new(),
    };
    push_dependency_tables(&table, &mut out.dependencies);
    if let Some(targets) = table.get("target").and_then(Value::as_table) {
        for t in targets.values().filter_map(Value::as_table) {
            push_dependency_tables(t, &mut out.dependencies);
        }
    }
    Ok(out)
}

fn one_line(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().to_string();
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {msg}")
        }
        None => msg,
    }
}

fn string(t: &Table, key: &str) -> Option<String> {
    t.get(key).and_then(Value::as_str).map(str::to_string)
}

fn strings(t: &Table, key: &str) -> Vec<String> {
    t.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn inheritable(t: &Table, key: &str) -> Option<Inheritable<String>> {
    match t.get(key)? {
        Value::String(s) => Some(Inheritable::Value(s.clone())),
        Value::Table(inner) if inner.get("workspace").and_then(Value::as_bool) == Some(true) => {
            Some(Inheritable::Workspace)
        }
        _ => None,
    }
}

fn package(t: &Table) -> CargoPackage {
    let publish = match t.get("publish") {
        Some(Value::Boolean(b)) => *b,
        Some(Value::Array(a)) => !a.is_empty(),
        _ => true,
    };
    CargoPackage {
        name: string(t, "name"),
        version: inheritable(t, "version"),
        edition: inheritable(t, "edition"),
        rust_version: inheritable(t, "rust-version"),
        default_run: string(t, "default-run"),
        autobins: t.get("autobins").and_then(Value::as_bool).unwrap_or(true),
        publish,
        workspace: string(t, "workspace"),
    }
}

fn target(t: &Table) -> CargoTarget {
    CargoTarget {
        name: string(t, "name"),
        path: string(t, "path"),
        required_features: strings(t, "required-features"),
    }
}

fn workspace(t: &Table) -> CargoWorkspace {
    let pkg = t.get("package").and_then(Value::as_table);
    let mut dependencies = Vec::new();
    if let Some(deps) = t.get("dependencies").and_then(Value::as_table) {
        push_dependencies(deps, DependencyKind::Normal, &mut dependencies);
    }
    CargoWorkspace {
        members: strings(t, "members"),
        exclude: strings(t, "exclude"),
        default_members: strings(t, "default-members"),
        rust_version: pkg.and_then(|p| string(p, "rust-version")),
        edition: pkg.and_then(|p| string(p, "edition")),
        version: pkg.and_then(|p| string(p, "version")),
        dependencies,
    }
}

fn push_dependency_tables(t: &Table, out: &mut Vec<CargoDependency>) {
    for (keys, kind) in [
        (&["dependencies"][..], DependencyKind::Normal),
        (
            &["dev-dependencies", "dev_dependencies"][..],
            DependencyKind::Dev,
        ),
        (
            &["build-dependencies", "build_dependencies"][..],
            DependencyKind::Build,
        ),
    ] {
        for key in keys {
            if let Some(deps) = t.get(*key).and_then(Value::as_table) {
                push_dependencies(deps, kind, out);
            }
        }
    }
}

fn push_dependencies(deps: &Table, kind: DependencyKind, out: &mut Vec<CargoDependency>) {
    for (name, spec) in deps {
        let dep = match spec {
            Value::String(v) => CargoDependency {
                name: name.clone(),
                package: None,
                version: Some(v.clone()),
                features: Vec::new(),
                default_features: true,
                optional: false,
                workspace: false,
                path: None,
                kind,
            },
            Value::Table(t) => CargoDependency {
                name: name.clone(),
                package: string(t, "package"),
                version: string(t, "version"),
                features: strings(t, "features"),
                default_features: t
                    .get("default-features")
                    .or_else(|| t.get("default_features"))
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                optional: t.get("optional").and_then(Value::as_bool).unwrap_or(false),
                workspace: t.get("workspace").and_then(Value::as_bool).unwrap_or(false),
                path: string(t, "path"),
                kind,
            },
            _ => continue,
        };
        out.push(dep);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn package_with_targets_and_inheritance() {
        let text = r#"
[package]
name = "api"
version.workspace = true
edition = { workspace = true }
rust-version = "1.78"
default-run = "api"
publish = false

[[bin]]
name = "api"
path = "src/main.rs"

[[bin]]
name = "migrate"
path = "src/bin/migrate.rs"
required-features = ["cli"]

[lib]
name = "api_core"

[dependencies]
axum = "0.7"
sqlx = { workspace = true, features = ["postgres"] }
pg = { package = "tokio-postgres", version = "0.7", optional = true }
shared = { path = "../shared" }

[dev-dependencies]
tower = "0.4"

[target.'cfg(unix)'.dependencies]
nix = "0.28"
"#;
        let m = parse(text).unwrap();
        let p = m.package.unwrap();
        assert_eq!(p.name.as_deref(), Some("api"));
        assert_eq!(p.version, Some(Inheritable::Workspace));
        assert_eq!(p.edition, Some(Inheritable::Workspace));
        assert_eq!(p.rust_version, Some(Inheritable::Value("1.78".into())));
        assert_eq!(p.default_run.as_deref(), Some("api"));
        assert!(!p.publish);
        assert!(p.autobins);
        assert_eq!(m.bins.len(), 2);
        assert_eq!(m.bins[1].required_features, vec!["cli"]);
        assert_eq!(m.lib.unwrap().name.as_deref(), Some("api_core"));
        let sqlx = m.dependencies.iter().find(|d| d.name == "sqlx").unwrap();
        assert!(sqlx.workspace);
        assert_eq!(sqlx.features, vec!["postgres"]);
        let pg = m.dependencies.iter().find(|d| d.name == "pg").unwrap();
        assert_eq!(pg.crate_name(), "tokio-postgres");
        assert!(pg.optional);
        let shared = m.dependencies.iter().find(|d| d.name == "shared").unwrap();
        assert_eq!(shared.path.as_deref(), Some("../shared"));
        let tower = m.dependencies.iter().find(|d| d.name == "tower").unwrap();
        assert_eq!(tower.kind, DependencyKind::Dev);
        assert!(m.dependencies.iter().any(|d| d.name == "nix"));
        assert!(m.workspace.is_none());
    }

    #[test]
    fn workspace_root() {
        let text = r#"
[workspace]
resolver = "2"
members = ["crates/*", "apps/api"]
exclude = ["crates/experimental"]

[workspace.package]
version = "0.3.0"
edition = "2021"
rust-version = "1.80"

[workspace.dependencies]
sqlx = { version = "0.7", default-features = false, features = ["runtime-tokio", "mysql"] }
"#;
        let m = parse(text).unwrap();
        assert!(m.package.is_none());
        let w = m.workspace.unwrap();
        assert_eq!(w.members, vec!["crates/*", "apps/api"]);
        assert_eq!(w.exclude, vec!["crates/experimental"]);
        assert_eq!(w.rust_version.as_deref(), Some("1.80"));
        assert_eq!(w.version.as_deref(), Some("0.3.0"));
        assert_eq!(w.dependencies.len(), 1);
        assert!(!w.dependencies[0].default_features);
        assert!(w.dependencies[0].features.contains(&"mysql".to_string()));
    }

    #[test]
    fn odd_types_are_ignored_invalid_toml_is_an_error() {
        let m = parse("[package]\nname = 3\nrust-version = []\n[dependencies]\nx = 1\n").unwrap();
        assert_eq!(m.package.unwrap().name, None);
        assert!(m.dependencies.is_empty());
        let e = parse("[package\nname = \"x\"").unwrap_err();
        assert!(!e.message.is_empty());
        assert!(parse("bin = 3\nlib = []\ntarget = 1\nworkspace = \"x\"").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-z0-9 \\[\\]{}=\".,\n-]{0,160}") {
            let _ = parse(&text);
        }
    }
}
