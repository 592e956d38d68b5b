//! Helpers every detector shares: env var names from example files, `.tool-versions`,
//! looking up a folder's ancestors, backing services from env names.

use std::collections::BTreeSet;

use super::detect::{Provenance, Sourced};
use super::view::{ProjectView, is_inside, join, parent};
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
                Provenance::inferred(format!("{} env {}", e.source, e.value)),
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
    let message = message.to_string();
    // A parser's message over several lines (TOML's quotes the line with a caret
    // under it): its first line, where, and its last, what.
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut message = match lines.as_slice() {
        [first, .., last] if lines.len() > 1 => format!("{first}: {last}"),
        _ => message.trim().to_string(),
    };
    if message.len() > 300 {
        let mut cut = 300;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
    }
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

/// `dir` relative to `base` (`base` must contain it).
pub fn strip_dir<'a>(base: &str, dir: &'a str) -> &'a str {
    if base.is_empty() {
        dir
    } else if dir == base {
        ""
    } else {
        dir.strip_prefix(base)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(dir)
    }
}

/// Whether `path` is `ancestor` or inside it.
pub fn is_inside_or_same(path: &str, ancestor: &str) -> bool {
    path == ancestor || is_inside(path, ancestor)
}

/// The deepest folder containing both.
pub fn common_ancestor(a: &str, b: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for (x, y) in a.split('/').zip(b.split('/')) {
        if x != y || x.is_empty() {
            break;
        }
        out.push(x);
    }
    out.join("/")
}

/// `rel` (a relative or root-absolute path as written in a manifest, `/` or `\`
/// separated) resolved against folder `base`; `None` when it leaves the project.
pub fn resolve_path(base: &str, rel: &str) -> Option<String> {
    let rel = rel.trim().replace('\\', "/");
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        return None;
    } else {
        base.split('/').filter(|s| !s.is_empty()).collect()
    };
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The double-quoted string literals of a source file (a rough cut: escapes are kept).
pub fn quoted_strings(text: &str) -> impl Iterator<Item = &str> {
    text.lines().flat_map(|line| {
        let line = match line.find("//") {
            Some(i) if line[..i].matches('"').count() % 2 == 0 => &line[..i],
            _ => line,
        };
        line.split('"').skip(1).step_by(2)
    })
}

/// Ports in listen-address literals: `":8080"`, `"0.0.0.0:3000"`, `"[::]:80"`,
/// `"localhost:8000"`.
pub fn listen_ports(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for s in quoted_strings(text) {
        let Some((host, port)) = s.rsplit_once(':') else {
            continue;
        };
        let host_ok = matches!(
            host,
            "" | "0.0.0.0" | "localhost" | "127.0.0.1" | "[::]" | "::" | "[::1]"
        );
        if !host_ok || port.is_empty() || port.len() > 5 {
            continue;
        }
        if let Ok(p) = port.parse::<u16>()
            && p > 0
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}

/// Paths a health endpoint is conventionally served at, best first: the one list every
/// detector that looks for a health route in source code reads.
pub const HEALTH_ROUTES: &[&str] = &[
    "/healthz",
    "/health",
    "/healthcheck",
    "/health-check",
    "/livez",
    "/readyz",
    "/api/health",
    "/health/live",
    "/_health",
    "/ping",
];

/// A health endpoint route written as a string literal in a source file.
pub fn health_route(text: &str) -> Option<&'static str> {
    let literals: BTreeSet<&str> = quoted_strings(text).collect();
    HEALTH_ROUTES.iter().copied().find(|r| literals.contains(r))
}

/// Env-var-like names written right after `needle` up to the next quote
/// (`Getenv("` → `Getenv("DATABASE_URL")` gives `DATABASE_URL`).
pub fn quoted_after(text: &str, needle: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in text.match_indices(needle) {
        let rest = &text[i + needle.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let name = name.split(',').next().unwrap_or_default().to_string();
        if !name.is_empty()
            && crate::model::validate_env_name(&name).is_ok()
            && name.chars().any(|c| c.is_ascii_uppercase())
            && !name.chars().any(|c| c.is_ascii_lowercase())
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
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
    fn health_routes_of_the_one_list() {
        // `/healthcheck` came from the python detector's former list, `/api/health` from
        // this module's: both readers now know both.
        assert_eq!(
            health_route(r#"get("/healthcheck", h)"#),
            Some("/healthcheck")
        );
        assert_eq!(
            health_route(r#"get("/api/health", h)"#),
            Some("/api/health")
        );
        assert_eq!(
            health_route(r#"get("/ping"); get("/healthz")"#),
            Some("/healthz")
        );
    }

    #[test]
    fn service_names() {
        assert_eq!(service_name("@acme/Web_App"), "web-app");
        assert_eq!(service_name("--"), "app");
        assert_eq!(service_name("API.Server"), "api-server");
    }
}
