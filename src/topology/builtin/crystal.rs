//! The Crystal detector: every folder with a `shard.yml`.
//!
//! A shard with `targets` is a service: `shards install --production`,
//! `shards build --production --release`, `./bin/<target>` (the target named like the
//! shard, else the first). A shard without targets that depends on a web framework
//! (`kemal`, `lucky`, `amber`, `athena`) and has `src/<name>.cr` is built with
//! `crystal build --release`; any other shard is a library.
//!
//! Ports: `Kemal.run(N)` / `Kemal.config.port = N` in the target's main file, Amber's
//! `config/environments/production.yml` `port`, else the framework's default (3000),
//! marked `default for X`.
//!
//! Runtime version precedence: `.tool-versions` `crystal` > `shard.yml` `crystal` (the
//! lower bound of its constraint).

use serde_json::Value;

use crate::topology::common;
use crate::topology::manifest::ManifestError;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    backing, file_name, join, parent,
};

/// Detects Crystal projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CrystalDetector;

impl Detector for CrystalDetector {
    fn id(&self) -> &str {
        "crystal"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut out = Vec::new();
        for path in view.named("shard.yml") {
            // `shards install` puts dependencies in <project>/lib/<name>: not projects.
            let lib = parent(parent(path));
            if file_name(lib) == "lib" && view.is_file(&join(parent(lib), "shard.yml")) {
                continue;
            }
            let Some(text) = view.text(path) else {
                continue;
            };
            match parse_shard(&text) {
                Ok(shard) => out.push(detect_shard(view, path, &shard)),
                Err(e) => common::invalid(view, path, e),
            }
        }
        Ok(out)
    }
}

/// What Kyozo reads of a `shard.yml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shard {
    /// `name`.
    pub(crate) name: Option<String>,
    /// `crystal`: the compiler constraint.
    pub(crate) crystal: Option<String>,
    /// `targets`: executable name and its `main` file.
    pub(crate) targets: Vec<(String, Option<String>)>,
    /// Names of `dependencies`.
    pub(crate) dependencies: Vec<String>,
}

/// Parses a `shard.yml`.
pub(crate) fn parse_shard(text: &str) -> Result<Shard, ManifestError> {
    let value: Value = serde_saphyr::from_str(text).map_err(|e| {
        let message = e.to_string();
        ManifestError::new(message.lines().next().unwrap_or("invalid YAML").to_string())
    })?;
    let Value::Object(map) = value else {
        return Err(ManifestError::new("shard.yml is not a mapping"));
    };
    let string = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let targets = match map.get("targets") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(name, t)| (name.clone(), string(t.get("main"))))
            .collect(),
        _ => Vec::new(),
    };
    let dependencies = match map.get("dependencies") {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    Ok(Shard {
        name: string(map.get("name")),
        crystal: string(map.get("crystal")),
        targets,
        dependencies,
    })
}

/// Web frameworks: (shard, framework, default port).
const FRAMEWORKS: &[(&str, &str, u16)] = &[
    ("amber", "amber", 3000),
    ("athena", "athena", 3000),
    ("kemal", "kemal", 3000),
    ("lucky", "lucky", 3000),
];

/// The lower bound of a shards constraint: `>= 1.0.0, < 2.0.0` → `1.0.0`, `~> 1.10` →
/// `1.10`, `1.11.2` → `1.11.2`.
pub(crate) fn lower_bound(constraint: &str) -> Option<String> {
    let first = constraint
        .split(',')
        .map(str::trim)
        .find(|part| !part.starts_with('<'))?;
    let version = first.trim_start_matches(['>', '=', '~', '^', ' ']).trim();
    let ok = version.chars().next().is_some_and(|c| c.is_ascii_digit())
        && version.len() <= 32
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    ok.then(|| version.to_string())
}

fn detect_shard(view: &ProjectView, path: &str, shard: &Shard) -> Detection {
    let dir = parent(path);
    let mut d = Detection::new("crystal", dir, "crystal", 0.75)
        .with_evidence(path, "shard.yml: a Crystal shard");
    d.hints.name = shard
        .name
        .clone()
        .map(|n| Sourced::new(n, format!("{path} name")));
    d.hints.package_manager = Some(Sourced::new("shards".to_string(), path.to_string()));
    d.hints.runtime_version = common::tool_version(view, dir, &["crystal"]).or_else(|| {
        shard
            .crystal
            .as_deref()
            .and_then(lower_bound)
            .map(|v| Sourced::new(v, format!("{path} crystal")))
    });
    let env = common::env_from_examples(view, dir);
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;
    for dep in &shard.dependencies {
        if let Some(b) = backing::from_package(dep)
            && !d.hints.backing_services.iter().any(|s| s.value == b)
        {
            d.hints.backing_services.push(Sourced::new(
                b.to_string(),
                format!("{path} dependencies.{dep}"),
            ));
        }
    }
    let framework = FRAMEWORKS
        .iter()
        .find(|(dep, _, _)| shard.dependencies.iter().any(|d| d == dep));

    // The executable: a target (the one named like the shard first), else the
    // conventional src/<name>.cr of a framework app.
    let target = shard
        .targets
        .iter()
        .find(|(t, _)| Some(t) == shard.name.as_ref())
        .or_else(|| shard.targets.first());
    let lock = join(dir, "shard.lock");
    let has_lock = view.is_file(&lock);
    let main = if let Some((name, main)) = target {
        d.evidence
            .push(Evidence::new(path, format!("target {name}: an executable")));
        d.confidence = 0.85;
        d.hints.build_command = Some(Sourced::new(
            "shards build --production --release".to_string(),
            format!("{path} targets"),
        ));
        d.hints.start_command = Some(Sourced::new(
            format!("./bin/{name}"),
            format!("{path} targets.{name}"),
        ));
        main.as_ref().map(|m| join(dir, m))
    } else {
        let name = shard.name.clone().unwrap_or_default();
        let main = join(dir, &format!("src/{name}.cr"));
        if framework.is_none() || name.is_empty() || !view.is_file(&main) {
            d.kind = DetectionKind::Library;
            return d;
        }
        d.evidence
            .push(Evidence::new(main.clone(), "the app's main file"));
        d.confidence = 0.75;
        d.hints.build_command = Some(Sourced::new(
            format!("crystal build --release src/{name}.cr -o bin/{name}"),
            main.clone(),
        ));
        d.hints.start_command = Some(Sourced::new(format!("./bin/{name}"), main.clone()));
        Some(main)
    };

    if let Some((dep, name, port)) = framework {
        d.evidence
            .push(Evidence::new(path, format!("depends on {dep}")));
        d.hints.framework = Some(Sourced::new(
            name.to_string(),
            format!("{path} dependencies.{dep}"),
        ));
        let read = main
            .as_deref()
            .and_then(|m| view.text(m).map(|t| (m.to_string(), t)))
            .and_then(|(m, text)| kemal_port(&text).map(|p| Sourced::new(p, m)))
            .or_else(|| amber_port(view, dir));
        d.hints
            .ports
            .push(read.unwrap_or_else(|| Sourced::assumed(*port, *name)));
    }

    d.hints.install_command = Some(Sourced::assumed(
        if has_lock {
            "shards install --production"
        } else {
            "shards install"
        }
        .to_string(),
        "shards",
    ));
    if has_lock {
        d = d.with_evidence(lock, "shard.lock pins the dependencies");
        d.boost(0.05);
    } else {
        d.hints.notes.push(Note::new(
            "no-lockfile",
            "no shard.lock: installs are not reproducible; run `shards install` and commit shard.lock",
        ));
    }
    d
}

/// The port a Kemal app sets in code: `Kemal.run(8080)`, `Kemal.run 8080`,
/// `Kemal.config.port = 8080`, or the default of the `PORT` env var
/// (`ENV.fetch("PORT", "8080")`, `ENV["PORT"]? || 8080`).
pub(crate) fn kemal_port(source: &str) -> Option<u16> {
    let mut rest = source;
    while let Some(i) = rest.find("\"PORT\"") {
        rest = rest.get(i + 6..).unwrap_or("");
        let after = rest.trim_start_matches([']', '?', ' ']);
        let Some(after) = after.strip_prefix(',').or_else(|| after.strip_prefix("||")) else {
            continue;
        };
        let after = after.trim_start_matches([' ', '"']);
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(port) = digits.parse::<u16>()
            && port > 0
        {
            return Some(port);
        }
    }
    for needle in ["Kemal.run", "Kemal.config.port"] {
        let mut rest = source;
        while let Some(i) = rest.find(needle) {
            rest = rest.get(i + needle.len()..).unwrap_or("");
            let after = rest.trim_start_matches([' ', '\t', '(', '=']);
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

fn amber_port(view: &ProjectView, dir: &str) -> Option<Sourced<u16>> {
    let path = join(dir, "config/environments/production.yml");
    let text = view.text(&path)?;
    let value: Value = serde_saphyr::from_str(&text).ok()?;
    let port = u16::try_from(value.get("port")?.as_u64()?).ok()?;
    (port > 0).then(|| Sourced::new(port, format!("{path} port")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shard_fields() {
        let s = parse_shard(
            "name: blog\nversion: 0.1.0\ncrystal: '>= 1.10.0, < 2.0.0'\ntargets:\n  blog:\n    main: src/blog.cr\n  worker:\n    main: src/worker.cr\ndependencies:\n  kemal:\n    github: kemalcr/kemal\n  pg:\n    github: will/crystal-pg\n",
        )
        .unwrap();
        assert_eq!(s.name.as_deref(), Some("blog"));
        assert_eq!(
            s.targets,
            vec![
                ("blog".to_string(), Some("src/blog.cr".to_string())),
                ("worker".to_string(), Some("src/worker.cr".to_string()))
            ]
        );
        assert_eq!(s.dependencies, vec!["kemal", "pg"]);
        assert_eq!(
            lower_bound(s.crystal.as_deref().unwrap()).as_deref(),
            Some("1.10.0")
        );
    }

    #[test]
    fn invalid_shards() {
        assert!(parse_shard("name: [oops\n").is_err());
        assert!(parse_shard("just text").is_err());
        assert!(parse_shard("targets: 3\ndependencies: [a]\n").is_ok());
    }

    #[test]
    fn constraints_and_ports() {
        assert_eq!(lower_bound("~> 1.10").as_deref(), Some("1.10"));
        assert_eq!(lower_bound("1.11.2").as_deref(), Some("1.11.2"));
        assert_eq!(lower_bound("*"), None);
        assert_eq!(lower_bound("< 2.0"), None);
        assert_eq!(kemal_port("Kemal.run"), None);
        assert_eq!(kemal_port("Kemal.run(8080)"), Some(8080));
        assert_eq!(
            kemal_port("Kemal.config.port = 4000\nKemal.run"),
            Some(4000)
        );
        assert_eq!(kemal_port("Kemal.run 70000"), None);
        assert_eq!(
            kemal_port("Kemal.run(ENV.fetch(\"PORT\", \"4000\").to_i)"),
            Some(4000)
        );
        assert_eq!(
            kemal_port("port = (ENV[\"PORT\"]? || 5000).to_i"),
            Some(5000)
        );
        assert_eq!(kemal_port("ENV[\"PORT\"].to_i"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_shard(&text);
            let _ = lower_bound(&text);
            let _ = kemal_port(&text);
        }

        #[test]
        fn never_panics_on_syntax(text in "[a-z_A-Z0-9(){}\\[\\]\"'#=.,:;/\\\\@*<>^~|$ \n\t-]*") {
            let _ = parse_shard(&text);
            let _ = lower_bound(&text);
            let _ = kemal_port(&text);
        }
    }
}
