//! Helpers every detector shares: env var names from example files, `.tool-versions`,
//! looking up a folder's ancestors, backing services from env names.

use super::detect::Sourced;
use super::view::{ProjectView, join, parent};
use super::{PartialErrorKind, backing};

/// Files that list the env vars an app reads, with example values.
pub const ENV_EXAMPLE_FILES: &[&str] = &[
    ".env.dist",
    ".env.example",
    ".env.sample",
    ".env.template",
    "env.example",
    "example.env",
];

/// The env var names listed in `dir`'s example env files (never their values).
pub fn env_from_examples(view: &ProjectView, dir: &str) -> Vec<Sourced<String>> {
    let mut out: Vec<Sourced<String>> = Vec::new();
    for file in ENV_EXAMPLE_FILES {
        let path = join(dir, file);
        let Some(text) = view.text(&path) else {
            continue;
        };
        for name in parse_dotenv_names(&text) {
            if !out.iter().any(|s| s.value == name) {
                out.push(Sourced::new(name, path.clone()));
            }
        }
    }
    out
}

/// The variable names of a dotenv file (`KEY=value`, `export KEY=value`, comments).
pub fn parse_dotenv_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if crate::model::validate_env_name(name).is_ok() && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Backing services implied by env var names.
pub fn backing_from_env(env: &[Sourced<String>]) -> Vec<Sourced<String>> {
    let mut out: Vec<Sourced<String>> = Vec::new();
    for e in env {
        if let Some(b) = backing::from_env(&e.value)
            && !out.iter().any(|s| s.value == b)
        {
            out.push(Sourced::new(
                b.to_string(),
                format!("{} env {}", e.source, e.value),
            ));
        }
    }
    out
}

/// The version `tool` is pinned to by `.tool-versions` (asdf, mise) in `dir` or an
/// ancestor, e.g. `nodejs 20.11.0`.
pub fn tool_version(view: &ProjectView, dir: &str, tools: &[&str]) -> Option<Sourced<String>> {
    let path = find_up(view, dir, ".tool-versions")?;
    let text = view.text(&path)?;
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(tool), Some(version)) = (parts.next(), parts.next()) else {
            continue;
        };
        if tools.contains(&tool) {
            return Some(Sourced::new(version.to_string(), format!("{path} {tool}")));
        }
    }
    None
}

/// The nearest `name` in `dir` or one of its ancestors up to the root.
pub fn find_up(view: &ProjectView, dir: &str, name: &str) -> Option<String> {
    let mut d = dir;
    loop {
        let candidate = join(d, name);
        if view.is_file(&candidate) {
            return Some(candidate);
        }
        if d.is_empty() {
            return None;
        }
        d = parent(d);
    }
}

/// A single-line version file (`.nvmrc`, `.python-version`, `.ruby-version`...) in
/// `dir`, trimmed, with a leading `v` dropped.
pub fn version_file(view: &ProjectView, dir: &str, name: &str) -> Option<Sourced<String>> {
    let path = join(dir, name);
    let text = view.text(&path)?;
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let v = first.strip_prefix('v').unwrap_or(first);
    (!v.is_empty() && v.len() <= 64).then(|| Sourced::new(v.to_string(), path))
}

/// Adds `item` to `list` unless a hint with the same value is already there.
pub fn push_unique(list: &mut Vec<Sourced<String>>, item: Sourced<String>) {
    if !list.iter().any(|x| x.value == item.value) {
        list.push(item);
    }
}

/// The value `name` maps to in a small table of pairs.
pub fn lookup(table: &[(&str, &'static str)], name: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

/// The folders holding a file with one of `names`, sorted, once each, leaving out any
/// folder with a path part in `skipped` (`.devcontainer`...).
pub fn folders_holding<'a>(
    view: &'a ProjectView,
    names: &[&str],
    skipped: &[&str],
) -> Vec<&'a str> {
    let mut dirs: Vec<&str> = names
        .iter()
        .flat_map(|n| view.named(n))
        .map(|p| parent(p))
        .filter(|d| !d.split('/').any(|part| skipped.contains(&part)))
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    dirs
}

/// Records an invalid manifest on the view.
pub fn invalid(view: &ProjectView, path: &str, message: impl std::fmt::Display) {
    let mut message = message.to_string();
    message.truncate(300);
    view.report(path, PartialErrorKind::InvalidManifest { message });
}

/// A name made fit for a service (DNS label rules): `@acme/Web_App` → `web-app`.
pub fn service_name(raw: &str) -> String {
    let base = raw.rsplit('/').next().unwrap_or(raw);
    let mut out = String::new();
    for c in base.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_string();
    out.truncate(63);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "app".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_names_only() {
        let text = "# db\nDATABASE_URL=postgres://x\nexport API_KEY = secret\n\nBAD NAME=1\n=x\nDATABASE_URL=again\n";
        assert_eq!(parse_dotenv_names(text), vec!["DATABASE_URL", "API_KEY"]);
    }

    #[test]
    fn service_names() {
        assert_eq!(service_name("@acme/Web_App"), "web-app");
        assert_eq!(service_name("--"), "app");
        assert_eq!(service_name("API.Server"), "api-server");
    }
}
