//! The Haskell detector: every package folder (a `*.cabal` file, or an hpack
//! `package.yaml`), with the project it belongs to (`stack.yaml` or `cabal.project` in
//! the folder or an ancestor).
//!
//! - A package with an executable (`executable NAME` stanza, hpack `executables:` /
//!   `executable:`) is a service. The executable named like the package is started,
//!   else the first. Stack projects: `stack build --only-dependencies`,
//!   `stack build --copy-bins --local-bin-path ./bin`; cabal projects:
//!   `cabal build --only-dependencies`, `cabal install exe:NAME --installdir=./bin ...`;
//!   both start `./bin/NAME`.
//! - A package without an executable is a library.
//! - A `stack.yaml` or `cabal.project` listing other package folders is a workspace
//!   root (`stack-project`, `cabal-project`); its member packages build from it.
//! - `package.yaml` wins over the `.cabal` hpack generates from it.
//!
//! Web libraries (`warp`, `scotty`, `servant-server`, `yesod`, `spock`...) mean a port:
//! one passed literally in the main module (`scotty 8080`, `run 8080 app`), else 3000
//! marked `default for X`. No framework name is reported for them.
//!
//! Runtime (GHC) version precedence. Stack projects: `stack.yaml` `compiler` >
//! `stack.yaml` `resolver`/`snapshot` (an LTS major mapped to its GHC, `ghc-X.Y.Z`
//! as is) > `.tool-versions` `ghc`. Cabal projects: `cabal.project` `with-compiler` >
//! `.tool-versions` `ghc` > the highest GHC of the `.cabal` `tested-with`.

use serde_json::Value;

use crate::topology::common;
use crate::topology::manifest::ManifestError;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    backing, file_name, join, parent,
};

/// Detects Haskell packages and projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HaskellDetector;

impl Detector for HaskellDetector {
    fn id(&self) -> &str {
        "haskell"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut out = Vec::new();
        // Package folders, each with the manifest that describes it.
        let mut packages: Vec<(String, String, HaskellPackage)> = Vec::new();
        for path in view.named("package.yaml") {
            let Some(text) = view.text(path) else {
                continue;
            };
            match parse_package_yaml(&text) {
                Ok(Some(p)) => packages.push((parent(path).to_string(), path.to_string(), p)),
                Ok(None) => {}
                Err(e) => common::invalid(view, path, e),
            }
        }
        for path in view.with_extension("cabal") {
            let dir = parent(path);
            if packages.iter().any(|(d, _, _)| d == dir) {
                continue;
            }
            let Some(text) = view.text(path) else {
                continue;
            };
            match parse_cabal(&text) {
                Ok(p) => packages.push((dir.to_string(), path.to_string(), p)),
                Err(e) => common::invalid(view, path, e),
            }
        }
        for (dir, path, package) in &packages {
            out.push(detect_package(view, dir, path, package));
        }
        out.extend(workspace_roots(view));
        Ok(out)
    }
}

/// An executable of a Haskell package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Executable {
    /// Its name.
    pub(crate) name: String,
    /// `main-is` / hpack `main`.
    pub(crate) main: Option<String>,
    /// `hs-source-dirs` / hpack `source-dirs`.
    pub(crate) source_dirs: Vec<String>,
}

/// What Kyozo reads of a `.cabal` file or an hpack `package.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HaskellPackage {
    /// The package name.
    pub(crate) name: Option<String>,
    /// Its executables.
    pub(crate) executables: Vec<Executable>,
    /// Whether it has a library.
    pub(crate) library: bool,
    /// Dependencies of its library, executables and common stanzas (not of tests).
    pub(crate) dependencies: Vec<String>,
    /// The highest GHC version of `tested-with`.
    pub(crate) tested_with: Option<String>,
}

/// One `field: value` of a cabal-style file, with its stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    /// The stanza header, lower-cased keyword and argument (`("executable", "app")`);
    /// empty for top-level fields.
    stanza: (String, String),
    /// The field name, lower-case.
    name: String,
    /// The value, continuation lines joined with newlines.
    value: String,
}

/// Splits a cabal-style file (`.cabal`, `cabal.project`) into its stanza headers and
/// its fields. Stanza headers
/// are unindented lines without a colon; a field's value continues on lines that are
/// not a new field, a conditional or a header. `--` comments and `{`/`}` are dropped.
fn cabal_fields(text: &str) -> (Vec<(String, String)>, Vec<Field>) {
    let mut stanzas: Vec<(String, String)> = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut stanza = (String::new(), String::new());
    let mut open = false;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        let trimmed = trimmed.trim_end_matches('{').trim();
        if trimmed == "}" || trimmed.is_empty() {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let key_len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(trimmed.len());
        let after_key = trimmed.get(key_len..).unwrap_or("").trim_start();
        let is_field = key_len > 0 && after_key.starts_with(':');
        if is_field {
            let name = trimmed.get(..key_len).unwrap_or("").to_ascii_lowercase();
            let value = after_key.get(1..).unwrap_or("").trim().to_string();
            fields.push(Field {
                stanza: stanza.clone(),
                name,
                value,
            });
            open = true;
            continue;
        }
        let first = trimmed
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if indent == 0 {
            let argument = trimmed.split_whitespace().nth(1).unwrap_or("").to_string();
            stanza = (first, argument);
            stanzas.push(stanza.clone());
            open = false;
        } else if first == "if" || first == "else" || first == "elif" {
            open = false;
        } else if open && let Some(last) = fields.last_mut() {
            last.value.push('\n');
            last.value.push_str(trimmed);
        }
    }
    (stanzas, fields)
}

/// Package names of a `build-depends` value (`base >=4 && <5, aeson`, leading commas).
fn dependency_names(value: &str) -> Vec<String> {
    value
        .split([',', '\n'])
        .filter_map(|item| {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// Parses a `.cabal` file. Fails when it has no `name` field.
pub(crate) fn parse_cabal(text: &str) -> Result<HaskellPackage, ManifestError> {
    let (stanzas, fields) = cabal_fields(text);
    let mut package = HaskellPackage::default();
    for (kind, argument) in &stanzas {
        match kind.as_str() {
            "library" => package.library = true,
            "executable"
                if !argument.is_empty()
                    && !package.executables.iter().any(|e| &e.name == argument) =>
            {
                package.executables.push(Executable {
                    name: argument.clone(),
                    ..Executable::default()
                });
            }
            _ => {}
        }
    }
    for f in &fields {
        let (kind, argument) = (f.stanza.0.as_str(), f.stanza.1.as_str());
        match (kind, f.name.as_str()) {
            ("", "name") => package.name = Some(f.value.trim().to_string()),
            ("", "tested-with") => package.tested_with = highest_ghc(&f.value),
            ("library" | "executable" | "common" | "", "build-depends") => {
                for d in dependency_names(&f.value) {
                    if !package.dependencies.contains(&d) {
                        package.dependencies.push(d);
                    }
                }
            }
            _ => {}
        }
        let Some(exe) = package
            .executables
            .iter_mut()
            .find(|e| kind == "executable" && e.name == argument)
        else {
            continue;
        };
        match f.name.as_str() {
            "main-is" => exe.main = f.value.split_whitespace().next().map(str::to_string),
            "hs-source-dirs" => {
                exe.source_dirs = f
                    .value
                    .split([',', ' ', '\n'])
                    .map(|s| s.trim().trim_matches('"'))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            _ => {}
        }
    }
    if package.name.as_deref().is_none_or(str::is_empty) {
        return Err(ManifestError::new("no `name:` field"));
    }
    Ok(package)
}

/// The highest GHC version of a `tested-with` value (`GHC == 9.4.7 || == 9.6.3`,
/// `GHC ==9.2.8, GHC ==9.4.7`).
fn highest_ghc(value: &str) -> Option<String> {
    let mut best: Option<(Vec<u64>, String)> = None;
    for word in value.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let word = word.trim_matches('.');
        if word.is_empty() || !word.contains('.') {
            continue;
        }
        let key: Vec<u64> = word.split('.').filter_map(|p| p.parse().ok()).collect();
        if best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, word.to_string()));
        }
    }
    best.map(|(_, v)| v)
}

fn yaml(text: &str) -> Result<Value, ManifestError> {
    serde_saphyr::from_str(text).map_err(|e: serde_saphyr::Error| {
        let message = e.to_string();
        ManifestError::new(message.lines().next().unwrap_or("invalid YAML").to_string())
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// hpack dependencies: a list of `name constraint` strings, or a map by name.
fn hpack_dependencies(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        other => strings(other)
            .iter()
            .flat_map(|s| dependency_names(s))
            .collect(),
    }
}

/// Parses an hpack `package.yaml`. `Ok(None)` when it is a YAML file that does not look
/// like an hpack package (pnpm also reads `package.yaml`).
pub(crate) fn parse_package_yaml(text: &str) -> Result<Option<HaskellPackage>, ManifestError> {
    let Value::Object(map) = yaml(text)? else {
        return Ok(None);
    };
    let top_deps = hpack_dependencies(map.get("dependencies"));
    let hpack = [
        "executables",
        "executable",
        "library",
        "ghc-options",
        "source-dirs",
        "tests",
    ]
    .iter()
    .any(|k| map.contains_key(*k))
        || (matches!(map.get("dependencies"), Some(Value::Array(_)))
            && top_deps.iter().any(|d| d == "base"));
    if !hpack {
        return Ok(None);
    }
    let name = map.get("name").and_then(Value::as_str).map(str::to_string);
    let top_dirs = strings(map.get("source-dirs"));
    let mut package = HaskellPackage {
        name: name.clone(),
        library: map.contains_key("library"),
        dependencies: top_deps,
        ..HaskellPackage::default()
    };
    let add_deps = |deps: Vec<String>, package: &mut HaskellPackage| {
        for d in deps {
            if !package.dependencies.contains(&d) {
                package.dependencies.push(d);
            }
        }
    };
    if let Some(lib) = map.get("library") {
        add_deps(hpack_dependencies(lib.get("dependencies")), &mut package);
    }
    let mut exes: Vec<(String, &Value)> = Vec::new();
    if let Some(Value::Object(m)) = map.get("executables") {
        exes.extend(m.iter().map(|(k, v)| (k.clone(), v)));
    }
    if let Some(exe) = map.get("executable") {
        exes.push((name.clone().unwrap_or_else(|| "app".to_string()), exe));
    }
    for (exe_name, exe) in exes {
        add_deps(hpack_dependencies(exe.get("dependencies")), &mut package);
        let dirs = strings(exe.get("source-dirs"));
        package.executables.push(Executable {
            name: exe_name,
            main: exe.get("main").and_then(Value::as_str).map(str::to_string),
            source_dirs: if dirs.is_empty() {
                top_dirs.clone()
            } else {
                dirs
            },
        });
    }
    Ok(Some(package))
}

/// What Kyozo reads of a `stack.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StackYaml {
    /// `snapshot` or `resolver` (`lts-22.6`, `nightly-2024-01-10`, `ghc-9.6.4`).
    pub(crate) resolver: Option<String>,
    /// `compiler` (`ghc-9.6.4`).
    pub(crate) compiler: Option<String>,
    /// `packages` (default `.`).
    pub(crate) packages: Vec<String>,
}

/// Parses a `stack.yaml`.
pub(crate) fn parse_stack_yaml(text: &str) -> Result<StackYaml, ManifestError> {
    let map = match yaml(text)? {
        Value::Object(map) => map,
        Value::Null => serde_json::Map::new(),
        _ => return Err(ManifestError::new("stack.yaml is not a mapping")),
    };
    let text_of = |k: &str| {
        let v = map.get(k)?;
        // `snapshot: {url: ...}` is a remote snapshot.
        v.as_str()
            .or_else(|| v.get("url").and_then(Value::as_str))
            .map(|s| s.trim().to_string())
    };
    Ok(StackYaml {
        resolver: text_of("snapshot").or_else(|| text_of("resolver")),
        compiler: text_of("compiler"),
        packages: match map.get("packages") {
            Some(v) => strings(Some(v)),
            None => vec![".".to_string()],
        },
    })
}

/// GHC version of each Stackage LTS major, sorted.
const LTS_GHC: &[(u32, &str)] = &[
    (6, "7.10"),
    (7, "8.0"),
    (8, "8.0"),
    (9, "8.0"),
    (10, "8.2"),
    (11, "8.2"),
    (12, "8.4"),
    (13, "8.6"),
    (14, "8.6"),
    (15, "8.8"),
    (16, "8.8"),
    (17, "8.10"),
    (18, "8.10"),
    (19, "9.0"),
    (20, "9.2"),
    (21, "9.4"),
    (22, "9.6"),
    (23, "9.8"),
    (24, "9.10"),
];

/// The GHC version a resolver or compiler name implies: `lts-22.6` (or a Stackage
/// snapshot URL of LTS 22) → `9.6`, `ghc-9.4.7` → `9.4.7`. Nightlies and unknown LTS
/// majors give nothing.
pub(crate) fn ghc_of(resolver: &str) -> Option<String> {
    let r = resolver.trim();
    if let Some(version) = r.strip_prefix("ghc-") {
        let ok = !version.is_empty()
            && version.len() <= 16
            && version.chars().all(|c| c.is_ascii_digit() || c == '.');
        return ok.then(|| version.to_string());
    }
    // `lts-22.6`, or a snapshot URL `.../stackage-snapshots/master/lts/22/6.yaml`.
    let major = match r.strip_prefix("lts-") {
        Some(rest) => rest.split('.').next()?,
        None => r.split_once("/lts/")?.1.split('/').next()?,
    };
    let major = major.parse::<u32>().ok()?;
    LTS_GHC
        .iter()
        .find(|(m, _)| *m == major)
        .map(|(_, g)| g.to_string())
}

/// The `packages` and `with-compiler` of a `cabal.project`.
fn parse_cabal_project(text: &str) -> (Vec<String>, Option<String>) {
    let mut packages = Vec::new();
    let mut compiler = None;
    for f in cabal_fields(text).1 {
        if !f.stanza.0.is_empty() {
            continue;
        }
        match f.name.as_str() {
            "packages" | "optional-packages" => packages.extend(
                f.value
                    .split([',', ' ', '\n', '\t'])
                    .map(|s| s.trim_matches('"'))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            "with-compiler" => {
                let v = f.value.trim();
                compiler = ghc_of(v.rsplit('/').next().unwrap_or(v));
            }
            _ => {}
        }
    }
    (packages, compiler)
}

/// Whether a project's `packages` name more than its own folder.
fn lists_others(packages: &[String]) -> bool {
    packages.iter().any(|p| {
        let p = p.trim_start_matches("./");
        !(p.is_empty() || p == "." || p.ends_with(".cabal") && !p.contains('/'))
    })
}

/// Web libraries whose presence means the executable serves HTTP. Sorted.
const WEB_LIBRARIES: &[&str] = &[
    "Spock",
    "ihp",
    "scotty",
    "servant-server",
    "snap-server",
    "warp",
    "yesod",
    "yesod-core",
];

/// Hackage packages that mean a backing service, lower-cased. Sorted.
const BACKING_PACKAGES: &[(&str, &str)] = &[
    ("beam-postgres", "postgres"),
    ("hasql", "postgres"),
    ("hedis", "redis"),
    ("hw-kafka-client", "kafka"),
    ("mongodb", "mongodb"),
    ("mysql-simple", "mysql"),
    ("opaleye", "postgres"),
    ("persistent-mongodb", "mongodb"),
    ("persistent-mysql", "mysql"),
    ("persistent-postgresql", "postgres"),
    ("persistent-redis", "redis"),
    ("postgresql-simple", "postgres"),
    ("squeal-postgresql", "postgres"),
];

/// The port passed literally in Haskell source: `scotty 8080`, `run 8080 app`,
/// `Warp.run 3000`, `runEnv 8080`, `warp 3000 App`, `setPort 8080`.
pub(crate) fn port_in_source(source: &str) -> Option<u16> {
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let words: Vec<&str> = code
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '$' | '&'))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).find_map(|w| {
        let function = w[0].rsplit('.').next().unwrap_or(w[0]);
        let port = matches!(
            function,
            "scotty"
                | "scottyT"
                | "scottyOpts"
                | "run"
                | "runEnv"
                | "warp"
                | "setPort"
                | "runSpock"
        )
        .then(|| w[1].parse::<u16>().ok())
        .flatten()?;
        (port > 0).then_some(port)
    })
}

/// The project a package folder belongs to: the nearest `stack.yaml`, else the nearest
/// `cabal.project`.
fn project_of(view: &ProjectView, dir: &str) -> Option<String> {
    common::find_up(view, dir, "stack.yaml").or_else(|| common::find_up(view, dir, "cabal.project"))
}

fn detect_package(
    view: &ProjectView,
    dir: &str,
    path: &str,
    package: &HaskellPackage,
) -> Detection {
    let mut d = Detection::new("haskell", dir, "haskell", 0.8).with_evidence(
        path,
        if path.ends_with(".yaml") {
            "package.yaml: an hpack Haskell package"
        } else {
            "a Cabal package description"
        },
    );
    d.hints.name = package
        .name
        .clone()
        .map(|n| Sourced::new(n, format!("{path} name")));
    let env = common::env_from_examples(view, dir);
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;
    for dep in &package.dependencies {
        let lower = dep.to_ascii_lowercase();
        let service = BACKING_PACKAGES
            .binary_search_by(|(k, _)| (*k).cmp(lower.as_str()))
            .ok()
            .and_then(|i| BACKING_PACKAGES.get(i))
            .map(|(_, b)| *b)
            .or_else(|| backing::from_package(dep));
        if let Some(b) = service
            && !d.hints.backing_services.iter().any(|s| s.value == b)
        {
            d.hints.backing_services.push(Sourced::new(
                b.to_string(),
                format!("{path} dependency {dep}"),
            ));
        }
    }

    let project = project_of(view, dir);
    let project_dir = project.as_deref().map(parent).unwrap_or(dir).to_string();
    let stack = match &project {
        Some(p) => file_name(p) == "stack.yaml",
        None => path.ends_with(".yaml"),
    };
    if project_dir != dir {
        d.hints.context = Some(project_dir.clone());
    }
    let manager = if stack { "stack" } else { "cabal" };
    d.hints.package_manager = Some(Sourced::new(
        manager.to_string(),
        project.clone().unwrap_or_else(|| path.to_string()),
    ));

    // Runtime version.
    let (stack_yaml, project_compiler) = match &project {
        Some(p) if stack => (
            view.text(p).and_then(|t| match parse_stack_yaml(&t) {
                Ok(s) => Some(s),
                Err(e) => {
                    common::invalid(view, p, e);
                    None
                }
            }),
            None,
        ),
        Some(p) => (None, view.text(p).and_then(|t| parse_cabal_project(&t).1)),
        None => (None, None),
    };
    let tool = common::tool_version(view, dir, &["ghc"]);
    d.hints.runtime_version = if stack {
        let p = project.clone().unwrap_or_default();
        stack_yaml
            .as_ref()
            .and_then(|s| {
                s.compiler
                    .as_deref()
                    .and_then(ghc_of)
                    .map(|v| Sourced::new(v, format!("{p} compiler")))
                    .or_else(|| {
                        let r = s.resolver.as_deref()?;
                        ghc_of(r).map(|v| Sourced::new(v, format!("{p} resolver {r}")))
                    })
            })
            .or(tool)
    } else {
        project_compiler
            .map(|v| {
                Sourced::new(
                    v,
                    format!("{} with-compiler", project.clone().unwrap_or_default()),
                )
            })
            .or(tool)
            .or_else(|| {
                package
                    .tested_with
                    .clone()
                    .map(|v| Sourced::new(v, format!("{path} tested-with")))
            })
    };
    if let Some(p) = &project {
        d = d.with_evidence(
            p.clone(),
            if stack {
                "a Stack project"
            } else {
                "a cabal project"
            },
        );
    }

    let Some(exe) = package
        .executables
        .iter()
        .find(|e| Some(&e.name) == package.name.as_ref())
        .or_else(|| package.executables.first())
    else {
        d.kind = DetectionKind::Library;
        return d;
    };
    d.evidence
        .push(Evidence::new(path, format!("executable {}", exe.name)));
    if project.is_some() {
        d.boost(0.05);
    }
    let main = exe.main.as_deref().and_then(|m| {
        let dirs: Vec<&str> = if exe.source_dirs.is_empty() {
            vec![""]
        } else {
            exe.source_dirs.iter().map(String::as_str).collect()
        };
        dirs.iter()
            .map(|s| {
                let s = s.trim_start_matches("./").trim_end_matches('/');
                if s.is_empty() || s == "." {
                    join(dir, m)
                } else {
                    join(&join(dir, s), m)
                }
            })
            .find(|p| view.is_file(p))
    });
    if let Some(main) = &main {
        d = d.with_evidence(main.clone(), "the executable's main module");
        d.boost(0.05);
    }

    let name = &exe.name;
    let member = project_dir != dir;
    let exe_source = format!("{path} executable {name}");
    if stack {
        d.hints.install_command = Some(Sourced::assumed(
            "stack build --only-dependencies".to_string(),
            "stack",
        ));
        let target = match (&package.name, member) {
            (Some(p), true) => format!(" {p}"),
            _ => String::new(),
        };
        d.hints.build_command = Some(Sourced::new(
            format!("stack build{target} --copy-bins --local-bin-path ./bin"),
            exe_source.clone(),
        ));
    } else {
        d.hints.install_command = Some(Sourced::assumed(
            "cabal update && cabal build --only-dependencies".to_string(),
            "cabal",
        ));
        d.hints.build_command = Some(Sourced::new(
            format!(
                "cabal install exe:{name} --installdir=./bin --install-method=copy --overwrite-policy=always"
            ),
            exe_source.clone(),
        ));
    }
    d.hints.start_command = Some(Sourced::new(format!("./bin/{name}"), exe_source));
    if package.executables.len() > 1 {
        let names: Vec<&str> = package
            .executables
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        d.hints.notes.push(Note::new(
            "several-executables",
            format!(
                "{} has several executables ({}): Kyozo starts {name}; add a Procfile or Dockerfile to run another",
                package.name.as_deref().unwrap_or(dir),
                names.join(", ")
            ),
        ));
    }

    if let Some(lib) = WEB_LIBRARIES
        .iter()
        .find(|l| package.dependencies.iter().any(|d| d == *l))
    {
        d.evidence.push(Evidence::new(
            path,
            format!("depends on {lib}: an HTTP server"),
        ));
        let read = main
            .as_ref()
            .and_then(|m| {
                view.text(m)
                    .and_then(|t| port_in_source(&t))
                    .map(|p| (m, p))
            })
            .map(|(m, p)| Sourced::new(p, m.clone()));
        d.hints
            .ports
            .push(read.unwrap_or_else(|| Sourced::assumed(3000, *lib)));
    }

    let (lock, how) = if stack {
        (
            "stack.yaml.lock",
            "run `stack build` and commit stack.yaml.lock",
        )
    } else {
        (
            "cabal.project.freeze",
            "run `cabal freeze` and commit cabal.project.freeze",
        )
    };
    let lock_path = join(&project_dir, lock);
    if view.is_file(&lock_path) {
        d = d.with_evidence(lock_path, "pins the dependencies");
        d.boost(0.05);
    } else if stack && project.is_none() {
        d.hints.notes.push(Note::new(
            "no-stack-yaml",
            "package.yaml without stack.yaml: pin a resolver with `stack init` and commit stack.yaml",
        ));
    } else {
        d.hints.notes.push(Note::new(
            "no-lockfile",
            format!("no {lock}: builds are not reproducible; {how}"),
        ));
    }
    d
}

/// `stack.yaml` and `cabal.project` files that list other package folders.
fn workspace_roots(view: &ProjectView) -> Vec<Detection> {
    let mut out = Vec::new();
    for (file, pattern) in [
        ("stack.yaml", "stack-project"),
        ("cabal.project", "cabal-project"),
    ] {
        for path in view.named(file) {
            let Some(text) = view.text(path) else {
                continue;
            };
            let packages = if file == "stack.yaml" {
                match parse_stack_yaml(&text) {
                    Ok(s) => s.packages,
                    Err(e) => {
                        common::invalid(view, path, e);
                        continue;
                    }
                }
            } else {
                parse_cabal_project(&text).0
            };
            if !lists_others(&packages) {
                continue;
            }
            let mut d = Detection::new("haskell", parent(path), "haskell", 0.8)
                .with_kind(DetectionKind::WorkspaceRoot)
                .with_evidence(
                    path.to_string(),
                    format!("a multi-package project: {}", packages.join(", ")),
                );
            d.hints.patterns.push(pattern.to_string());
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CABAL: &str = "cabal-version:      3.0
name:               todo
version:            0.1.0.0
-- A comment: with a colon
tested-with:        GHC == 9.4.8 || == 9.6.4
build-type:         Simple

common warnings
    ghc-options: -Wall

library
    import:           warnings
    exposed-modules:  Todo
    build-depends:    base ^>=4.18.0.0,
                      text >= 2.0
                    , aeson
    hs-source-dirs:   src
    default-language: Haskell2010

Executable todo-server
    import:           warnings
    Main-Is:          Main.hs
    build-depends:
        base ^>=4.18.0.0,
        todo,
        scotty >= 0.20
    if flag(dev)
        ghc-options: -O0
    hs-source-dirs:   app
    default-language: Haskell2010

executable todo-cli
  main-is: Cli.hs
  hs-source-dirs: cli, shared

test-suite todo-test
    type:             exitcode-stdio-1.0
    main-is:          Main.hs
    build-depends:    base, hspec
";

    #[test]
    fn cabal_stanzas() {
        let p = parse_cabal(CABAL).unwrap();
        assert_eq!(p.name.as_deref(), Some("todo"));
        assert!(p.library);
        assert_eq!(p.tested_with.as_deref(), Some("9.6.4"));
        assert_eq!(
            p.executables,
            vec![
                Executable {
                    name: "todo-server".into(),
                    main: Some("Main.hs".into()),
                    source_dirs: vec!["app".into()],
                },
                Executable {
                    name: "todo-cli".into(),
                    main: Some("Cli.hs".into()),
                    source_dirs: vec!["cli".into(), "shared".into()],
                },
            ]
        );
        assert_eq!(
            p.dependencies,
            vec!["base", "text", "aeson", "todo", "scotty"]
        );
        assert!(!p.dependencies.contains(&"hspec".to_string()));
    }

    #[test]
    fn cabal_without_name_is_invalid() {
        assert!(parse_cabal("executable x\n  main-is: Main.hs\n").is_err());
        assert!(parse_cabal("").is_err());
        let p = parse_cabal("name: lib-only\nlibrary\n").unwrap();
        assert!(p.library && p.executables.is_empty());
    }

    #[test]
    fn hpack_packages() {
        let p = parse_package_yaml(
            "name: api\ndependencies:\n- base >= 4.7 && < 5\n- servant-server\nlibrary:\n  source-dirs: src\nexecutables:\n  api-exe:\n    main: Main.hs\n    source-dirs: app\n    dependencies:\n    - api\n    - warp\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("api"));
        assert!(p.library);
        assert_eq!(
            p.dependencies,
            vec!["base", "servant-server", "api", "warp"]
        );
        assert_eq!(p.executables[0].name, "api-exe");
        assert_eq!(p.executables[0].source_dirs, vec!["app"]);
        // pnpm's package.yaml is not a Haskell package.
        assert_eq!(
            parse_package_yaml("name: web\ndependencies:\n  express: ^4\n").unwrap(),
            None
        );
        assert!(parse_package_yaml("name: [\n").is_err());
    }

    #[test]
    fn resolvers() {
        assert_eq!(ghc_of("lts-22.6").as_deref(), Some("9.6"));
        assert_eq!(ghc_of("lts-18").as_deref(), Some("8.10"));
        assert_eq!(ghc_of("ghc-9.4.7").as_deref(), Some("9.4.7"));
        assert_eq!(ghc_of("nightly-2024-01-10"), None);
        assert_eq!(ghc_of("lts-99.1"), None);
        assert_eq!(ghc_of("lts-x"), None);
        assert!(LTS_GHC.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(BACKING_PACKAGES.windows(2).all(|w| w[0].0 < w[1].0));
        let s = parse_stack_yaml("snapshot: lts-23.1\npackages:\n- app\n- lib\n").unwrap();
        assert_eq!(s.resolver.as_deref(), Some("lts-23.1"));
        assert!(lists_others(&s.packages));
        let s = parse_stack_yaml(
            "snapshot:\n  url: https://raw.githubusercontent.com/commercialhaskell/stackage-snapshots/master/lts/21/25.yaml\n",
        )
        .unwrap();
        assert_eq!(s.packages, vec![".".to_string()]);
        assert_eq!(
            ghc_of(s.resolver.as_deref().unwrap()).as_deref(),
            Some("9.4")
        );
        assert_eq!(ghc_of("https://example.com/custom.yaml"), None);
    }

    #[test]
    fn cabal_projects() {
        let (packages, compiler) = parse_cabal_project(
            "-- the project\npackages: api/\n          core/*.cabal\nwith-compiler: ghc-9.6.4\n\npackage api\n  ghc-options: -O2\n",
        );
        assert_eq!(packages, vec!["api/", "core/*.cabal"]);
        assert_eq!(compiler.as_deref(), Some("9.6.4"));
        assert!(lists_others(&packages));
        assert!(!lists_others(&["./*.cabal".to_string()]));
        assert!(!lists_others(&[".".to_string()]));
    }

    #[test]
    fn ports_in_source() {
        assert_eq!(
            port_in_source("main = scotty 8080 $ do\n  get \"/\" $ text \"hi\""),
            Some(8080)
        );
        assert_eq!(port_in_source("main = Warp.run 3001 app"), Some(3001));
        assert_eq!(port_in_source("main = run port app\n-- run 9999 app"), None);
        assert_eq!(port_in_source("main = warp 3000 App"), Some(3000));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_cabal(&text);
            let _ = parse_package_yaml(&text);
            let _ = parse_stack_yaml(&text);
            let _ = parse_cabal_project(&text);
            let _ = ghc_of(&text);
            let _ = highest_ghc(&text);
            let _ = port_in_source(&text);
        }

        #[test]
        fn never_panics_on_syntax(text in "[a-z_A-Z0-9(){}\\[\\]\"'#=.,:;/\\\\@*<>^~|$ \n\t-]*") {
            let _ = parse_cabal(&text);
            let _ = parse_package_yaml(&text);
            let _ = parse_stack_yaml(&text);
            let _ = parse_cabal_project(&text);
            let _ = ghc_of(&text);
            let _ = highest_ghc(&text);
            let _ = port_in_source(&text);
        }
    }
}
