//! The Dart detector: every folder with a `pubspec.yaml`.
//!
//! - A **server** (dependencies `shelf`, `dart_frog`, `serverpod`, `alfred`...) or a
//!   **command-line app** (a `bin/*.dart` entrypoint) is a service: `dart pub get`,
//!   `dart compile exe bin/server.dart -o bin/server`, `./bin/server`. Dart Frog apps are
//!   built with `dart_frog build`; Serverpod servers start with `--mode production`.
//! - A **Flutter app** (`flutter` SDK dependency and `lib/main.dart`) is deployable only
//!   through its web build: `flutter build web --release` writes a static site to
//!   `build/web`. Without a `web/` folder it is a mobile/desktop app: a low-confidence
//!   service with a note, since nothing of it can run on a server.
//! - A package with neither (only `lib/`) is a library.
//! - A `pubspec.yaml` with a `workspace:` list (Dart 3.6 pub workspaces) or a folder with
//!   `melos.yaml` is a workspace root; members with `resolution: workspace` build from it.
//!
//! Ports: the default of `Platform.environment['PORT'] ?? '8080'` read in the entrypoint,
//! else Serverpod's `config/production.yaml` `apiServer.port`, else the framework's
//! default (8080 for shelf, Dart Frog and Serverpod), marked `default for X`.
//!
//! Runtime version precedence. Dart: `.tool-versions` `dart` > `pubspec.yaml`
//! `environment.sdk` (its lower bound). Flutter apps give the Flutter version: `.fvmrc`
//! `flutter` > `.fvm/fvm_config.json` `flutterSdkVersion` > `.tool-versions` `flutter` >
//! `pubspec.yaml` `environment.flutter` > `environment.sdk`.

use serde_json::Value;

use crate::topology::common;
use crate::topology::manifest::ManifestError;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    backing, file_name, join, parent,
};

/// Detects Dart and Flutter projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DartDetector;

impl Detector for DartDetector {
    fn id(&self) -> &str {
        "dart"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut out = Vec::new();
        for path in view.named("pubspec.yaml") {
            let Some(text) = view.text(path) else {
                continue;
            };
            match parse_pubspec(&text) {
                Ok(pubspec) => out.extend(detect_package(view, path, &pubspec)),
                Err(e) => common::invalid(view, path, e),
            }
        }
        Ok(out)
    }
}

/// What Kyozo reads of a `pubspec.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pubspec {
    /// `name`.
    pub(crate) name: Option<String>,
    /// `environment.sdk`, the Dart SDK constraint.
    pub(crate) sdk: Option<String>,
    /// `environment.flutter`, the Flutter SDK constraint.
    pub(crate) flutter: Option<String>,
    /// Names of `dependencies`.
    pub(crate) dependencies: Vec<String>,
    /// Names of `dev_dependencies`.
    pub(crate) dev_dependencies: Vec<String>,
    /// Whether it depends on the Flutter SDK (`flutter: {sdk: flutter}`).
    pub(crate) uses_flutter: bool,
    /// `executables`: command name and the `bin/` script it runs.
    pub(crate) executables: Vec<(String, String)>,
    /// `workspace`: member folders of a pub workspace.
    pub(crate) workspace: Vec<String>,
    /// `resolution: workspace`: a member of a pub workspace.
    pub(crate) workspace_member: bool,
}

/// Parses a `pubspec.yaml`.
pub(crate) fn parse_pubspec(text: &str) -> Result<Pubspec, ManifestError> {
    let value: Value = serde_saphyr::from_str(text).map_err(|e| yaml_error(&e))?;
    let Value::Object(map) = value else {
        return Err(ManifestError::new("pubspec.yaml is not a mapping"));
    };
    let string = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let keys = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    };
    let env = map.get("environment");
    let deps = map.get("dependencies");
    let uses_flutter = deps
        .and_then(|d| d.get("flutter"))
        .and_then(|f| f.get("sdk"))
        .is_some_and(|s| s.as_str() == Some("flutter"));
    let executables = match map.get("executables") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or(k).to_string()))
            .collect(),
        _ => Vec::new(),
    };
    let workspace = match map.get("workspace") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Pubspec {
        name: string(map.get("name")),
        sdk: string(env.and_then(|e| e.get("sdk"))),
        flutter: string(env.and_then(|e| e.get("flutter"))),
        dependencies: keys(deps),
        dev_dependencies: keys(map.get("dev_dependencies")),
        uses_flutter,
        executables,
        workspace,
        workspace_member: map.get("resolution").and_then(Value::as_str) == Some("workspace"),
    })
}

fn yaml_error(e: &serde_saphyr::Error) -> ManifestError {
    let message = e.to_string();
    ManifestError::new(message.lines().next().unwrap_or("invalid YAML").to_string())
}

/// Server frameworks and libraries: (dependency, framework name, default port).
const SERVER_DEPENDENCIES: &[(&str, &str, u16)] = &[
    ("alfred", "alfred", 8080),
    ("dart_frog", "dart-frog", 8080),
    ("serverpod", "serverpod", 8080),
    ("shelf", "shelf", 8080),
    ("shelf_router", "shelf", 8080),
];

/// The lower bound of a pub version constraint: `>=3.0.0 <4.0.0` → `3.0.0`, `^3.2.0` →
/// `3.2.0`. `any` and unparsable constraints give nothing.
pub(crate) fn lower_bound(constraint: &str) -> Option<String> {
    // `>= 2.17.0`: an operator may stand apart from its version.
    let mut joined = String::with_capacity(constraint.len());
    for part in constraint.split_whitespace() {
        let after_operator = joined.ends_with(['>', '=', '^', '~', '<']);
        if !joined.is_empty() && !after_operator {
            joined.push(' ');
        }
        joined.push_str(part);
    }
    let first = joined
        .split_whitespace()
        .find(|part| !part.starts_with('<'))?;
    let version = first.trim_start_matches(['^', '>', '=', '~', '\'', '"']);
    let version = version.trim_end_matches(['\'', '"', ',']);
    let starts_with_digit = version.chars().next().is_some_and(|c| c.is_ascii_digit());
    (starts_with_digit && version.len() <= 32).then(|| version.to_string())
}

fn detect_package(view: &ProjectView, path: &str, pubspec: &Pubspec) -> Vec<Detection> {
    let dir = parent(path);
    let mut out = Vec::new();
    let melos = join(dir, "melos.yaml");
    if !pubspec.workspace.is_empty() || view.is_file(&melos) {
        let mut root =
            Detection::new("dart", dir, "dart", 0.8).with_kind(DetectionKind::WorkspaceRoot);
        if !pubspec.workspace.is_empty() {
            root.hints.patterns.push("pub-workspace".into());
            root.evidence.push(Evidence::new(
                path,
                format!("pub workspace of {}", pubspec.workspace.join(", ")),
            ));
        }
        if view.is_file(&melos) {
            root.hints.patterns.push("melos".into());
            root.evidence
                .push(Evidence::new(melos.clone(), "melos monorepo"));
        }
        root.hints.name = pubspec
            .name
            .clone()
            .map(|n| Sourced::new(n, format!("{path} name")));
        out.push(root);
        // A workspace root is usually nothing more; it is a package too only if it
        // has code of its own.
        if !view.is_dir(&join(dir, "lib")) && !view.is_dir(&join(dir, "bin")) {
            return out;
        }
    }

    let context = if pubspec.workspace_member {
        workspace_root(view, dir)
    } else {
        None
    };
    let lock_dir = context.as_deref().unwrap_or(dir);
    let lockfile = join(lock_dir, "pubspec.lock");
    let has_lock = view.is_file(&lockfile);

    let mut d = Detection::new("dart", dir, "dart", 0.75)
        .with_evidence(path, "pubspec.yaml: a Dart package");
    d.hints.name = pubspec
        .name
        .clone()
        .map(|n| Sourced::new(n, format!("{path} name")));
    d.hints.context = context.clone();
    d.hints.package_manager = Some(Sourced::new("pub".to_string(), path.to_string()));
    if has_lock {
        d = d.with_evidence(lockfile.clone(), "pubspec.lock pins the dependencies");
    }

    let env = common::env_from_examples(view, dir);
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;
    for dep in &pubspec.dependencies {
        if let Some(b) = backing::from_package(dep)
            && !d.hints.backing_services.iter().any(|s| s.value == b)
        {
            d.hints.backing_services.push(Sourced::new(
                b.to_string(),
                format!("{path} dependencies.{dep}"),
            ));
        }
    }

    let is_app = if pubspec.uses_flutter {
        flutter_app(view, path, pubspec, &mut d)
    } else {
        dart_app(view, path, pubspec, has_lock, &mut d)
    };
    if !is_app {
        d.kind = DetectionKind::Library;
        d.hints.start_command = None;
        d.hints.build_command = None;
        d.hints.install_command = None;
        d.hints.ports.clear();
        d.hints.framework = None;
        d.hints.notes.clear();
        out.push(d);
        return out;
    }
    if has_lock {
        d.boost(0.05);
    } else {
        d.hints.notes.push(Note::new(
            "no-lockfile",
            format!(
                "no pubspec.lock in {}: installs are not reproducible; run `dart pub get` and commit pubspec.lock",
                if lock_dir.is_empty() { "." } else { lock_dir }
            ),
        ));
    }
    out.push(d);
    out
}

/// The folder of the pub workspace a member belongs to: the nearest ancestor whose
/// `pubspec.yaml` lists a workspace.
fn workspace_root(view: &ProjectView, dir: &str) -> Option<String> {
    let mut d = dir;
    while !d.is_empty() {
        d = parent(d);
        let candidate = join(d, "pubspec.yaml");
        if let Some(text) = view.text(&candidate)
            && parse_pubspec(&text).is_ok_and(|p| !p.workspace.is_empty())
        {
            return Some(d.to_string());
        }
    }
    None
}

/// The folder of a workspace member relative to its context (commands run from the
/// context); empty outside a workspace.
fn member_folder(d: &Detection, dir: &str) -> String {
    d.hints
        .context
        .as_deref()
        .map(|ctx| {
            dir.strip_prefix(ctx)
                .unwrap_or(dir)
                .trim_start_matches('/')
                .to_string()
        })
        .unwrap_or_default()
}

/// Fills in a Flutter app; false when it is a Flutter package, not an app.
fn flutter_app(view: &ProjectView, path: &str, pubspec: &Pubspec, d: &mut Detection) -> bool {
    let dir = parent(path);
    let main = join(dir, "lib/main.dart");
    if !view.is_file(&main) {
        return false;
    }
    d.evidence
        .push(Evidence::new(path, "depends on the Flutter SDK"));
    d.evidence
        .push(Evidence::new(main.clone(), "Flutter app entrypoint"));
    d.hints.framework = Some(Sourced::new(
        "flutter".to_string(),
        format!("{path} dependencies.flutter"),
    ));
    d.hints.runtime_version = flutter_version(view, dir, path, pubspec);
    d.hints.install_command = Some(Sourced::assumed("flutter pub get".to_string(), "flutter"));
    let web = join(dir, "web/index.html");
    if view.is_file(&web) {
        d.evidence.push(Evidence::new(
            web,
            "web platform enabled: the web build is a static site",
        ));
        d.confidence = 0.85;
        let member = member_folder(d, dir);
        let cd = if member.is_empty() {
            String::new()
        } else {
            format!("cd {member} && ")
        };
        d.hints.build_command = Some(Sourced::assumed(
            format!("{cd}flutter build web --release"),
            "flutter web",
        ));
        d.hints.notes.push(Note::new(
            "static-output",
            format!(
                "the Flutter web build is static: serve {} with a static file server (mobile and desktop builds are not deployable)",
                join(&member, "build/web")
            ),
        ));
    } else {
        d.confidence = 0.5;
        d.hints.notes.push(Note::new(
            "not-deployable",
            "a Flutter app without the web platform: mobile and desktop builds cannot run on a server; add web with `flutter create --platforms web .` to deploy its web build",
        ));
    }
    true
}

fn flutter_version(
    view: &ProjectView,
    dir: &str,
    path: &str,
    pubspec: &Pubspec,
) -> Option<Sourced<String>> {
    let from_json = |file: &str, key: &str| -> Option<Sourced<String>> {
        let found = common::find_up(view, dir, file)?;
        let text = view.text(&found)?;
        let value: Value = serde_json::from_str(&text).ok()?;
        let version = value.get(key)?.as_str()?.trim();
        (!version.is_empty() && version.len() <= 32)
            .then(|| Sourced::new(version.to_string(), format!("{found} {key}")))
    };
    from_json(".fvmrc", "flutter")
        .or_else(|| from_json(".fvm/fvm_config.json", "flutterSdkVersion"))
        .or_else(|| common::tool_version(view, dir, &["flutter"]))
        .or_else(|| {
            pubspec
                .flutter
                .as_deref()
                .and_then(lower_bound)
                .map(|v| Sourced::new(v, format!("{path} environment.flutter")))
        })
        .or_else(|| dart_version_from_pubspec(path, pubspec))
}

fn dart_version_from_pubspec(path: &str, pubspec: &Pubspec) -> Option<Sourced<String>> {
    pubspec
        .sdk
        .as_deref()
        .and_then(lower_bound)
        .map(|v| Sourced::new(v, format!("{path} environment.sdk")))
}

/// Fills in a Dart server or command-line app; false when it is a library.
fn dart_app(
    view: &ProjectView,
    path: &str,
    pubspec: &Pubspec,
    has_lock: bool,
    d: &mut Detection,
) -> bool {
    let dir = parent(path);
    d.hints.runtime_version = common::tool_version(view, dir, &["dart"])
        .or_else(|| dart_version_from_pubspec(path, pubspec));
    let server = SERVER_DEPENDENCIES
        .iter()
        .find(|(dep, _, _)| pubspec.dependencies.iter().any(|d| d == dep));
    let install = if has_lock {
        "dart pub get --enforce-lockfile"
    } else {
        "dart pub get"
    };
    d.hints.install_command = Some(Sourced::assumed(install.to_string(), "dart"));

    if let Some((dep, framework, port)) = server {
        d.evidence.push(Evidence::new(
            path,
            format!("depends on {dep}: an HTTP server"),
        ));
        d.hints.framework = Some(Sourced::new(
            framework.to_string(),
            format!("{path} dependencies.{dep}"),
        ));
        d.hints.ports.push(Sourced::assumed(*port, *framework));
    }

    // Commands run from the build context: a workspace member's paths are prefixed
    // with its folder relative to the workspace root.
    let member = member_folder(d, dir);

    if server.is_some_and(|(dep, _, _)| *dep == "dart_frog") && view.is_dir(&join(dir, "routes")) {
        d.evidence
            .push(Evidence::new(join(dir, "routes"), "Dart Frog routes"));
        d.confidence = 0.85;
        let cd = if member.is_empty() {
            String::new()
        } else {
            format!("cd {member} && ")
        };
        d.hints.build_command = Some(Sourced::assumed(
            format!(
                "{cd}dart pub global activate dart_frog_cli && dart_frog build && dart compile exe build/bin/server.dart -o build/bin/server"
            ),
            "dart-frog",
        ));
        d.hints.start_command = Some(Sourced::assumed(
            format!("./{}", join(&member, "build/bin/server")),
            "dart-frog",
        ));
        return true;
    }

    let Some((entry, entry_source)) = entrypoint(view, dir, path, pubspec) else {
        // A server library without an entrypoint of its own is still a library.
        return false;
    };
    d.evidence
        .push(Evidence::new(entry.clone(), "a runnable entrypoint"));
    d.confidence = if server.is_some() { 0.85 } else { 0.8 };
    let relative = entry
        .strip_prefix(&format!("{dir}/"))
        .unwrap_or(&entry)
        .to_string();
    let stem = file_name(&entry).trim_end_matches(".dart");
    let binary = if stem == "main" { "server" } else { stem };
    let relative = join(&member, &relative);
    let output = join(&member, &format!("bin/{binary}"));
    d.hints.build_command = Some(Sourced::new(
        format!("dart compile exe {relative} -o {output}"),
        entry_source.clone(),
    ));
    let serverpod = server.is_some_and(|(dep, _, _)| *dep == "serverpod");
    let start = if serverpod {
        format!("./{output} --mode production")
    } else {
        format!("./{output}")
    };
    d.hints.start_command = Some(Sourced::new(start, entry_source));

    if let Some(text) = view.text(&entry)
        && let Some(port) = port_env_default(&text)
    {
        d.hints.ports = vec![Sourced::new(port, format!("{entry} PORT default"))];
    } else if serverpod && let Some(port) = serverpod_port(view, dir) {
        d.hints.ports = vec![port];
    }
    if serverpod
        && !d
            .hints
            .backing_services
            .iter()
            .any(|b| b.value == "postgres")
    {
        d.hints
            .backing_services
            .push(Sourced::assumed("postgres".to_string(), "serverpod"));
    }
    true
}

/// The file the app starts from, and where that came from.
fn entrypoint(
    view: &ProjectView,
    dir: &str,
    path: &str,
    pubspec: &Pubspec,
) -> Option<(String, String)> {
    let bin = join(dir, "bin");
    for candidate in ["server.dart", "main.dart"] {
        let p = join(&bin, candidate);
        if view.is_file(&p) {
            return Some((p.clone(), p));
        }
    }
    if let Some(name) = &pubspec.name {
        let p = join(&bin, &format!("{name}.dart"));
        if view.is_file(&p) {
            return Some((p.clone(), p));
        }
    }
    for (command, script) in &pubspec.executables {
        let p = join(&bin, &format!("{script}.dart"));
        if view.is_file(&p) {
            return Some((p, format!("{path} executables.{command}")));
        }
    }
    view.files_in(&bin)
        .find(|f| f.ends_with(".dart"))
        .map(|f| (f.to_string(), f.to_string()))
}

/// The default of `Platform.environment['PORT'] ?? '8080'` in Dart source.
pub(crate) fn port_env_default(source: &str) -> Option<u16> {
    for needle in ["['PORT']", "[\"PORT\"]"] {
        let mut rest = source;
        while let Some(i) = rest.find(needle) {
            rest = rest.get(i + needle.len()..).unwrap_or("");
            let after = rest.trim_start();
            let Some(after) = after.strip_prefix("??") else {
                continue;
            };
            let after = after.trim_start().trim_start_matches(['\'', '"']);
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(port) = digits.parse::<u16>()
                && port > 0
            {
                return Some(port);
            }
        }
    }
    None
}

/// Serverpod's API port from `config/production.yaml`.
fn serverpod_port(view: &ProjectView, dir: &str) -> Option<Sourced<u16>> {
    let path = join(dir, "config/production.yaml");
    let text = view.text(&path)?;
    let value: Value = serde_saphyr::from_str(&text).ok()?;
    let port = value.get("apiServer")?.get("port")?.as_u64()?;
    let port = u16::try_from(port).ok().filter(|p| *p > 0)?;
    Some(Sourced::new(port, format!("{path} apiServer.port")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pubspec_fields() {
        let p = parse_pubspec(
            "name: api\nenvironment:\n  sdk: '>=3.0.0 <4.0.0'\ndependencies:\n  shelf: ^1.4.0\n  path:\ndev_dependencies:\n  test: any\nexecutables:\n  api: server\n  tool:\n",
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("api"));
        assert_eq!(p.sdk.as_deref(), Some(">=3.0.0 <4.0.0"));
        assert_eq!(p.dependencies, vec!["path", "shelf"]);
        assert_eq!(p.dev_dependencies, vec!["test"]);
        assert_eq!(
            p.executables,
            vec![
                ("api".to_string(), "server".to_string()),
                ("tool".to_string(), "tool".to_string())
            ]
        );
        assert!(!p.uses_flutter);
    }

    #[test]
    fn flutter_and_workspaces() {
        let p = parse_pubspec(
            "name: app\nresolution: workspace\ndependencies:\n  flutter:\n    sdk: flutter\n",
        )
        .unwrap();
        assert!(p.uses_flutter && p.workspace_member);
        let p = parse_pubspec("name: ws\nworkspace:\n  - packages/a\n  - apps/b\n").unwrap();
        assert_eq!(p.workspace, vec!["packages/a", "apps/b"]);
    }

    #[test]
    fn bad_pubspecs_are_errors() {
        assert!(parse_pubspec("- a\n- b\n").is_err());
        assert!(parse_pubspec("name: [\n").is_err());
        assert!(parse_pubspec("").is_err());
        // Odd value types are ignored, not errors.
        let p = parse_pubspec("name: 3\ndependencies: [a]\nenvironment: x\n").unwrap();
        assert_eq!(p.name.as_deref(), Some("3"));
        assert!(p.dependencies.is_empty());
    }

    #[test]
    fn constraints() {
        assert_eq!(lower_bound(">=3.0.0 <4.0.0").as_deref(), Some("3.0.0"));
        assert_eq!(lower_bound("^3.2.0").as_deref(), Some("3.2.0"));
        assert_eq!(lower_bound(">= 2.17.0").as_deref(), Some("2.17.0"));
        assert_eq!(lower_bound("3.3.0").as_deref(), Some("3.3.0"));
        assert_eq!(lower_bound("any"), None);
        assert_eq!(lower_bound("<4.0.0"), None);
        assert_eq!(lower_bound(""), None);
    }

    #[test]
    fn port_defaults_in_source() {
        let src = "final port = int.parse(Platform.environment['PORT'] ?? '8081');";
        assert_eq!(port_env_default(src), Some(8081));
        let src = "final port = int.parse(Platform.environment[\"PORT\"]??\"9000\");";
        assert_eq!(port_env_default(src), Some(9000));
        assert_eq!(port_env_default("env['PORT'] ?? defaultPort"), None);
        assert_eq!(port_env_default("['PORT'] ?? '99999'"), None);
        assert_eq!(port_env_default("['PORT']"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_pubspec(&text);
            let _ = lower_bound(&text);
            let _ = port_env_default(&text);
        }

        #[test]
        fn never_panics_on_syntax(text in "[a-z_A-Z0-9(){}\\[\\]\"'#=.,:;/\\\\@*<>^~|$ \n\t-]*") {
            let _ = parse_pubspec(&text);
            let _ = lower_bound(&text);
            let _ = port_env_default(&text);
        }
    }
}
