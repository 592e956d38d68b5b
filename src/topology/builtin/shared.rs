//! Helpers several built-in detectors share (python, ruby, php, elixir, gleam, deno...):
//! env names read by code, example env values, backing services from env names, version
//! constraints, health routes written as literals, ports in source. Detector-neutral;
//! what the whole topology shares with plugins and the planner is in
//! [`crate::topology::common`].

use crate::topology::backing;
use crate::topology::common;
use crate::topology::{ProjectView, Provenance, Sourced, file_name, join};

/// The first of [`common::HEALTH_ROUTES`] written as a string literal in `code`, with or
/// without a trailing slash.
pub(super) fn health_route(code: &str) -> Option<&'static str> {
    common::HEALTH_ROUTES.iter().copied().find(|p| {
        code.contains(&format!("\"{p}\""))
            || code.contains(&format!("'{p}'"))
            || code.contains(&format!("\"{p}/\""))
    })
}

/// Adds `value` to a list once, with `source`.
pub(super) fn push_unique(
    list: &mut Vec<Sourced<String>>,
    value: impl Into<String>,
    source: impl Into<Provenance>,
) {
    let value = value.into();
    if !list.iter().any(|s| s.value == value) {
        list.push(Sourced::new(value, source));
    }
}

/// The value of `key` in the folder's example env files (`KEY=value`, quotes removed),
/// with the file. Used to read configuration (a port, a database scheme), never to
/// expose a value.
pub(super) fn example_value(
    view: &ProjectView,
    dir: &str,
    files: &[&str],
    key: &str,
) -> Option<(String, String)> {
    for file in common::ENV_EXAMPLE_FILES.iter().chain(files) {
        let path = join(dir, file);
        let Some(text) = view.text(&path) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if k.trim() == key {
                let v = v.trim();
                let v = v.split(" #").next().unwrap_or(v).trim();
                let v = v.trim_matches(['"', '\'']);
                return Some((v.to_string(), path));
            }
        }
    }
    None
}

/// `PORT` in the folder's example env files.
pub(super) fn example_port(view: &ProjectView, dir: &str) -> Option<Sourced<u16>> {
    let (value, path) = example_value(view, dir, &[], "PORT")?;
    let port = value.parse::<u16>().ok().filter(|p| *p > 0)?;
    Some(Sourced::new(port, format!("{path} PORT")))
}

/// Env var names read by code: each `prefix` followed by a quoted upper-case name
/// (`os.getenv("DATABASE_URL"`, `ENV.fetch("PORT"`, `System.get_env("SECRET_KEY_BASE"`).
/// A prefix must not be the tail of a longer identifier.
pub(super) fn env_names_in(text: &str, prefixes: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for prefix in prefixes {
        let mut search = 0;
        while let Some(found) = text.get(search..).and_then(|s| s.find(prefix)) {
            let at = search + found;
            search = at + prefix.len();
            let before = text.get(..at).and_then(|b| b.chars().next_back());
            let starts_word = prefix.starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if starts_word && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = text.get(at + prefix.len()..).unwrap_or("");
            let rest = rest.trim_start();
            let rest = rest.strip_prefix('(').unwrap_or(rest).trim_start();
            let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
                continue;
            };
            let inner = rest.get(1..).unwrap_or("");
            let Some(end) = inner.find(quote) else {
                continue;
            };
            let name = inner.get(..end).unwrap_or("");
            let valid = name.len() >= 2
                && name.len() <= 100
                && name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if valid && !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Backing services implied by env names, with `DATABASE_URL` checked: its example
/// value's scheme decides (`postgres://`, `mysql://`, `sqlite:` means none); without a
/// value it counts as postgres only when no dependency names a SQL database.
pub(super) fn env_backing(
    view: &ProjectView,
    dir: &str,
    env: &[Sourced<String>],
    from_deps: &[Sourced<String>],
    sqlite: bool,
) -> Vec<Sourced<String>> {
    let sql = ["postgres", "mysql", "mariadb"];
    let mut out = Vec::new();
    for b in common::backing_from_env(env) {
        // The env var the backing service was inferred from: the first that implies it.
        let from_database_url = env
            .iter()
            .find(|e| backing::from_env(&e.value) == Some(b.value.as_str()))
            .is_some_and(|e| e.value == "DATABASE_URL");
        if !from_database_url {
            out.push(b);
            continue;
        }
        match example_value(view, dir, &[".env"], "DATABASE_URL") {
            Some((value, path)) if !value.is_empty() => {
                if let Some(service) = database_scheme(&value) {
                    out.push(Sourced::new(
                        service.to_string(),
                        format!("{path} env DATABASE_URL scheme"),
                    ));
                }
            }
            _ => {
                if !sqlite && !from_deps.iter().any(|d| sql.contains(&d.value.as_str())) {
                    out.push(b);
                }
            }
        }
    }
    out
}

/// The backing service a database URL's scheme names.
pub(super) fn database_scheme(url: &str) -> Option<&'static str> {
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    let scheme = scheme.split('+').next().unwrap_or("");
    match scheme {
        "postgres" | "postgresql" | "pgsql" | "postgis" => Some("postgres"),
        "mysql" | "mysql2" | "trilogy" => Some("mysql"),
        "mariadb" => Some("mariadb"),
        "mongodb" => Some("mongodb"),
        "redis" | "rediss" => Some("redis"),
        _ => None,
    }
}

/// A version that satisfies a constraint, for picking a runtime: an exact version is
/// kept (`==3.11.4`, `3.11.4`), a range is reduced to the major.minor of its lower
/// bound (`>=3.11`, `^3.11.2`, `~> 3.2`, `~=3.10`, `3.12.*` → `3.11`, `3.11`, `3.2`,
/// `3.10`, `3.12`). `None` when there is no lower bound (`<4`, `*`).
pub(super) fn version_from_constraint(constraint: &str) -> Option<String> {
    let first = constraint
        .split("||")
        .next()
        .unwrap_or(constraint)
        .split(['|', ','])
        .next()
        .unwrap_or("")
        .trim();
    let first = first.split_whitespace().collect::<String>();
    let (exact, rest) = if let Some(r) = first.strip_prefix("===") {
        (true, r)
    } else if let Some(r) = first.strip_prefix("==") {
        (true, r)
    } else if let Some(r) = first.strip_prefix(">=") {
        (false, r)
    } else if let Some(r) = first.strip_prefix("~=") {
        (false, r)
    } else if let Some(r) = first.strip_prefix("~>") {
        (false, r)
    } else if let Some(r) = first.strip_prefix('^') {
        (false, r)
    } else if let Some(r) = first.strip_prefix('~') {
        (false, r)
    } else if let Some(r) = first.strip_prefix('=') {
        (true, r)
    } else if first.starts_with(|c: char| c.is_ascii_digit() || c == 'v') {
        (true, first.as_str())
    } else {
        return None;
    };
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let wildcard = rest.contains('*') || rest.contains(".x");
    if exact && !wildcard {
        return Some(version.to_string());
    }
    Some(version.split('.').take(2).collect::<Vec<_>>().join("."))
}

/// A port literal in JS/TS source: `process.env.PORT || 3000`, `PORT ?? 8080`,
/// `.listen(8080`, `port: 8080`.
pub(super) fn port_in_source(text: &str) -> Option<u16> {
    let number_after = |rest: &str| -> Option<u16> {
        let rest = rest.trim_start();
        let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (digits.len() >= 2 && digits.len() <= 5)
            .then(|| digits.parse::<u16>().ok())
            .flatten()
            .filter(|p| *p > 0)
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("//") || line.starts_with('*') {
            continue;
        }
        if let Some(i) = line.find("PORT") {
            let after = &line[i + 4..];
            for op in ["||", "??"] {
                if let Some(j) = after.find(op)
                    && let Some(p) = number_after(&after[j + 2..])
                {
                    return Some(p);
                }
            }
        }
        if let Some(i) = line.find(".listen(")
            && let Some(p) = number_after(&line[i + 8..])
        {
            return Some(p);
        }
        if let Some(i) = line.find("port:")
            && let Some(p) = number_after(&line[i + 5..])
        {
            return Some(p);
        }
    }
    None
}

/// `dir` relative to `root` (`None` when it is not inside it).
pub(super) fn relative_to<'a>(root: &str, dir: &'a str) -> Option<&'a str> {
    if root.is_empty() {
        Some(dir)
    } else if dir == root {
        Some("")
    } else {
        dir.strip_prefix(root)?.strip_prefix('/')
    }
}

/// Folders never searched for an entry point.
pub(super) const NOT_APP_DIRS: &[&str] = &[
    "docs",
    "migrations",
    "pages",
    "scripts",
    "static",
    "templates",
    "test",
    "tests",
];

/// `.py`-like files under `dir` up to `depth` folders deep, skipping folders that are
/// not app code and folders that are projects of their own.
pub(super) fn files_under(
    view: &ProjectView,
    dir: &str,
    depth: usize,
    ext: &str,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut level: Vec<String> = vec![dir.to_string()];
    for d in 0..=depth {
        let mut next = Vec::new();
        for folder in &level {
            for f in view.files_in(folder) {
                if f.rsplit_once('.').is_some_and(|(_, e)| e == ext) {
                    out.push(f.to_string());
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
            if d < depth {
                for sub in view.dirs_in(folder) {
                    let name = file_name(sub);
                    let own_project = PYTHON_MANIFESTS.iter().any(|m| view.is_file(&join(sub, m)))
                        || view.is_file(&join(sub, "Gemfile"))
                        || view.is_file(&join(sub, "package.json"));
                    if !NOT_APP_DIRS.contains(&name) && !name.starts_with('.') && !own_project {
                        next.push(sub.to_string());
                    }
                }
            }
        }
        level = next;
    }
    out
}

/// Files that make a folder a Python project.
pub(super) const PYTHON_MANIFESTS: &[&str] = &[
    "Pipfile",
    "Pipfile.lock",
    "pdm.lock",
    "poetry.lock",
    "pyproject.toml",
    "requirements.txt",
    "setup.cfg",
    "setup.py",
    "uv.lock",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_schemes() {
        assert_eq!(
            database_scheme("postgresql+psycopg://u@h/db"),
            Some("postgres")
        );
        assert_eq!(database_scheme("mysql://x"), Some("mysql"));
        assert_eq!(database_scheme("sqlite:///db.sqlite3"), None);
    }
}
