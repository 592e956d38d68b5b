//! The shell detector: a folder run by a script of its own, the fallback when nothing
//! else says how to run it.
//!
//! A `start.sh` (confidence 0.5), `run.sh` (0.45) or `entrypoint.sh` (0.4) at a folder's
//! root that starts with a shebang (`#!/bin/sh`, `#!/usr/bin/env bash`...) makes the
//! folder a `shell` service started with `./start.sh`. The first of the three wins.
//! Folders holding an app manifest (`package.json`, `go.mod`...) or a `Dockerfile` are
//! left to those: there the script is a helper, not the app. The merge drops a shell
//! folder nested inside another service.
//!
//! From the script: a port from `${PORT:-8080}` or `PORT=8080`; env var names from
//! expansions with a default or a check (`${DATABASE_URL:?}`, `${LOG_LEVEL:-info}`) and
//! from plain `$NAME` references to upper-case names the script never assigns (common
//! shell variables like `HOME` or `PATH` excepted); backing services from those names.

use crate::topology::{
    Detection, Detector, DetectorError, ProjectView, Sourced, common, file_name, join, parent,
};

use super::staticfile::has_app_manifest;

/// Scripts that start a folder, with their confidence, in precedence order.
const SCRIPTS: &[(&str, f64)] = &[("start.sh", 0.5), ("run.sh", 0.45), ("entrypoint.sh", 0.4)];

/// Variables every shell has: never env hints.
const SHELL_VARIABLES: &[&str] = &[
    "BASH_SOURCE",
    "HOME",
    "HOSTNAME",
    "IFS",
    "LANG",
    "LINENO",
    "OLDPWD",
    "PATH",
    "PPID",
    "PWD",
    "RANDOM",
    "SECONDS",
    "SHELL",
    "TERM",
    "TMPDIR",
    "UID",
    "USER",
];

/// Detects shell-script apps.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShellDetector;

impl Detector for ShellDetector {
    fn id(&self) -> &str {
        "shell"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut dirs: Vec<&str> = SCRIPTS
            .iter()
            .flat_map(|(name, _)| view.named(name).iter().map(|p| parent(p)))
            .collect();
        dirs.sort_unstable();
        dirs.dedup();
        let mut out = Vec::new();
        for dir in dirs {
            if has_app_manifest(view, dir)
                || view.files_in(dir).any(|f| {
                    let n = file_name(f);
                    n == "Dockerfile" || n == "Containerfile" || n.ends_with(".Dockerfile")
                })
            {
                continue;
            }
            for (name, confidence) in SCRIPTS {
                let path = join(dir, name);
                let Some(text) = view.text(&path) else {
                    continue;
                };
                let Some(shebang) = shebang(&text) else {
                    continue;
                };
                out.push(detection(
                    view,
                    dir,
                    &path,
                    name,
                    &text,
                    shebang,
                    *confidence,
                ));
                break;
            }
        }
        Ok(out)
    }
}

fn detection(
    view: &ProjectView,
    dir: &str,
    path: &str,
    name: &str,
    text: &str,
    shebang: &str,
    confidence: f64,
) -> Detection {
    let mut d = Detection::new("shell", dir.to_string(), "shell", confidence).with_evidence(
        path.to_string(),
        format!("start script with shebang {shebang}"),
    );
    d.hints.start_command = Some(Sourced::new(format!("./{name}"), path.to_string()));
    if let Some(port) = port_in_script(text) {
        d.hints.ports.push(Sourced::new(port, path.to_string()));
    }
    let mut env = common::env_from_examples(view, dir);
    for n in env_in_script(text) {
        if !env.iter().any(|e| e.value == n) {
            env.push(Sourced::new(n, path.to_string()));
        }
    }
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;
    d
}

/// The interpreter line of a script, if it has one naming a shell.
fn shebang(text: &str) -> Option<&str> {
    let first = text.lines().next()?.trim_end();
    let rest = first.strip_prefix("#!")?.trim();
    (!rest.is_empty()).then_some(first)
}

/// `${PORT:-8080}`, `${PORT-8080}` or `PORT=8080`.
fn port_in_script(text: &str) -> Option<u16> {
    let parse = |s: &str| -> Option<u16> {
        let digits: String = s
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u16>().ok().filter(|p| *p > 0)
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        for marker in ["${PORT:-", "${PORT-", "${PORT:="] {
            if let Some(i) = line.find(marker)
                && let Some(p) = parse(&line[i + marker.len()..])
            {
                return Some(p);
            }
        }
        let assignment = line.strip_prefix("export ").unwrap_or(line);
        if let Some(v) = assignment.strip_prefix("PORT=")
            && let Some(p) = parse(v)
        {
            return Some(p);
        }
    }
    None
}

fn is_env_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !SHELL_VARIABLES.contains(&name)
}

/// Env var names a script reads (see the module docs).
fn env_in_script(text: &str) -> Vec<String> {
    let mut assigned: Vec<String> = Vec::new();
    let mut defaulted: Vec<String> = Vec::new();
    let mut plain: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        let stmt = trimmed
            .strip_prefix("export ")
            .or_else(|| trimmed.strip_prefix("local "))
            .or_else(|| trimmed.strip_prefix("readonly "))
            .unwrap_or(trimmed);
        if let Some((name, _)) = stmt.split_once('=')
            && is_env_name(name)
        {
            assigned.push(name.to_string());
        }
        let mut rest = trimmed;
        while let Some(i) = rest.find('$') {
            rest = &rest[i + 1..];
            let braced = rest.starts_with('{');
            let body = if braced { &rest[1..] } else { rest };
            let name: String = body
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !is_env_name(&name) {
                continue;
            }
            let after = &body[name.len()..];
            let checked = braced
                && [":-", "-", ":?", "?", ":="]
                    .iter()
                    .any(|op| after.starts_with(op));
            let list = if checked { &mut defaulted } else { &mut plain };
            if !list.contains(&name) {
                list.push(name);
            }
        }
    }
    let mut out = defaulted;
    for n in plain {
        if !assigned.contains(&n) && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A temporary project holding `files`, and what the detector finds in it.
    fn scan(files: &[(&str, &str)]) -> Vec<Detection> {
        crate::topology::testing::scan(&ShellDetector, files)
    }

    #[test]
    fn scripts_that_are_not_the_app() {
        let found = scan(&[
            // No shebang.
            ("a/start.sh", "echo hi\n"),
            // Beside an app manifest: a helper of that app.
            ("b/start.sh", "#!/bin/sh\nnode server.js\n"),
            ("b/package.json", "{}"),
            // Beside a Dockerfile: the image's entrypoint.
            ("c/entrypoint.sh", "#!/bin/sh\nexec \"$@\"\n"),
            ("c/Dockerfile", "FROM alpine\n"),
        ]);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn start_sh_wins_over_run_sh() {
        let found = scan(&[
            ("svc/run.sh", "#!/bin/sh\nexec ./a\n"),
            ("svc/start.sh", "#!/bin/bash\nexec ./b\n"),
            ("other/run.sh", "#!/bin/sh\nexec ./c\n"),
        ]);
        let starts: Vec<(&str, &str)> = found
            .iter()
            .map(|d| {
                (
                    d.path.as_str(),
                    d.hints.start_command.as_ref().unwrap().value.as_str(),
                )
            })
            .collect();
        assert_eq!(starts, vec![("other", "./run.sh"), ("svc", "./start.sh")]);
    }

    #[test]
    fn shebangs() {
        assert_eq!(shebang("#!/bin/sh\necho"), Some("#!/bin/sh"));
        assert_eq!(
            shebang("#!/usr/bin/env bash\r\n"),
            Some("#!/usr/bin/env bash")
        );
        assert_eq!(shebang("echo hi\n"), None);
        assert_eq!(shebang("#!\n"), None);
        assert_eq!(shebang(""), None);
    }

    #[test]
    fn ports() {
        assert_eq!(
            port_in_script("exec app --port \"${PORT:-8080}\""),
            Some(8080)
        );
        assert_eq!(port_in_script("export PORT=9000\n"), Some(9000));
        assert_eq!(port_in_script("# PORT=1\nexec x"), None);
        assert_eq!(port_in_script("PORT=$1"), None);
    }

    #[test]
    fn env_names() {
        let script = "#!/bin/sh\nset -eu\n: \"${DATABASE_URL:?must be set}\"\nAPP_DIR=/srv/app\ncd \"$APP_DIR\"\nexec ./server --log \"${LOG_LEVEL:-info}\" --redis $REDIS_URL --home $HOME $1 ${é}\n";
        assert_eq!(
            env_in_script(script),
            vec!["DATABASE_URL", "LOG_LEVEL", "REDIS_URL"]
        );
    }

    proptest::proptest! {
        #[test]
        fn scanners_never_panic(text in "\\PC*") {
            let _ = shebang(&text);
            let _ = port_in_script(&text);
            let _ = env_in_script(&text);
        }

        #[test]
        fn scanners_never_panic_on_script_like(text in "(\\$\\{?|PORT|[A-Z_]|:-|:\\?|=|[ 0-9é}\n#])*") {
            let _ = port_in_script(&text);
            let _ = env_in_script(&text);
        }
    }
}
