//! The `kyozo` binary, run for real: help texts and `analyze` on the bundled polyglot
//! example, as snapshots with volatile fields redacted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::kyozo;

#[path = "../../../tests/common/files.rs"]
mod files;
use files::copy_dir;

use std::path::PathBuf;
use std::process::Command;

#[path = "../../../tests/common/plugins.rs"]
mod plugins;

fn polyglot() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../polyglot")
}

/// Replaces what changes from machine to machine or run to run.
fn redact(text: &str) -> String {
    let root = std::fs::canonicalize(polyglot()).unwrap();
    let text = text.replace(&root.display().to_string(), "[root]");
    let mut out = String::new();
    for line in text.lines() {
        // "(12 ms)" in the report header.
        let line = match (line.rfind('('), line.rfind(" ms)")) {
            (Some(a), Some(b)) if b > a && line[a + 1..b].chars().all(|c| c.is_ascii_digit()) => {
                format!("{}([n] ms){}", &line[..a], &line[b + 4..])
            }
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn help_texts() {
    let (code, out, _) = kyozo(&["--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("help", out);
    let (code, out, _) = kyozo(&["analyze", "--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("analyze-help", out);
    // Every command explains itself.
    for command in [
        "up",
        "ps",
        "logs",
        "scale",
        "start",
        "stop",
        "restart",
        "rollback",
        "down",
        "events",
        "top",
        "health",
        "members",
        "completions",
    ] {
        let (code, out, err) = kyozo(&[command, "--help"]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("{command}-help"), out);
    }
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = kyozo(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        for command in ["up", "rollback", "events"] {
            assert!(out.contains(command), "{shell} completes {command}");
        }
    }
    let (code, _, err) = kyozo(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
}

#[test]
fn commands_on_a_folder_without_state_say_to_run_up_first() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = kyozo(&["-C", dir.path().to_str().unwrap(), "ps"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("run `kyozo up` there first"), "{err}");
    assert!(!dir.path().join(".kyozo").exists(), "ps makes no state");
}

#[test]
fn analyze_the_polyglot_example() {
    let path = polyglot();
    let (code, out, err) = kyozo(&["analyze", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("analyze-polyglot", redact(&out));

    let (code, out, err) = kyozo(&["analyze", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "root",
        "strategy",
        "services",
        "shared_packages",
        "recommendations",
        "warnings",
        "duration_ms",
    ] {
        assert!(json.get(key).is_some(), "--json has {key}");
    }
    let services = json["services"].as_array().unwrap();
    assert!(services.len() >= 3, "web, api and worker: {services:?}");
    for s in services {
        for key in [
            "name",
            "path",
            "context",
            "language",
            "framework",
            "package_manager",
            "runtime_version",
            "install_command",
            "build_command",
            "start_command",
            "ports",
            "env",
            "backing_services",
            "depends_on",
            "confidence",
            "evidence",
        ] {
            assert!(s.get(key).is_some(), "service has {key}: {s}");
        }
        let c = s["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
    }
    // Where a value came from is a tagged object, the same text the report shows.
    let api = services.iter().find(|s| s["name"] == "api").unwrap();
    assert_eq!(
        api["ports"][0]["source"],
        serde_json::json!({"kind": "declared", "at": "compose.yaml services.api.ports"})
    );
    assert_eq!(
        api["runtime_version"],
        serde_json::json!({
            "value": "3.12",
            "source": {"kind": "declared", "at": "services/api/.python-version"}
        })
    );
}

#[test]
fn a_missing_folder_fails_with_a_clear_message() {
    let (code, out, err) = kyozo(&["analyze", "/definitely/not/here"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(
        err.trim(),
        "kyozo: cannot analyse /definitely/not/here: No such file or directory (os error 2)"
    );
}

/// `--plugin` (repeatable) adds WASM detectors to the analysis; their findings are
/// marked `plugin:<id>`. A plugin that cannot be loaded is skipped with a clear line on
/// stderr.
#[test]
fn analyze_with_plugins() {
    let cache = tempfile::tempdir().unwrap();
    let site = plugins::detectors().join("hugo/fixtures/basic");
    let hugo = plugins::plugin("hugo");
    let jekyll = plugins::plugin("jekyll");
    let run = |args: &[&str]| {
        let out = common::command()
            .args(args)
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, err) = run(&[
        "analyze",
        site.to_str().unwrap(),
        "--plugin",
        hugo.to_str().unwrap(),
        "--plugin",
        jekyll.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let root = std::fs::canonicalize(&site).unwrap();
    let out = out.replace(&root.display().to_string(), "[site]");
    let out: String = out
        .lines()
        .map(|l| match l.find(" ms)") {
            Some(end) => {
                let start = l[..end].rfind('(').unwrap();
                format!("{}([n] ms){}\n", &l[..start], &l[end + 4..])
            }
            None => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!("analyze-with-plugins", out);

    // One that cannot be loaded is skipped and said so; the analysis goes on
    // (examples/cli/tests/plugins.rs covers the rest).
    let (code, out, err) = run(&[
        "analyze",
        site.to_str().unwrap(),
        "--plugin",
        "/nonexistent.wasm",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.is_empty(), "the report is printed");
    assert_eq!(
        err.trim(),
        "plugin /nonexistent.wasm skipped: cannot read plugin /nonexistent.wasm: No such file or directory (os error 2)"
    );
}

#[test]
fn plan_writes_what_is_missing_and_keeps_what_is_yours() {
    let (code, out, _) = kyozo(&["plan", "--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("plan-help", out);

    let dir = std::env::temp_dir().join(format!("kyozo-cli-plan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&polyglot(), &dir);
    let root = dir.display().to_string();

    // --dry-run writes nothing.
    let (code, out, err) = kyozo(&["plan", &root, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Would write (--dry-run: nothing written):"),
        "{out}"
    );
    assert!(!dir.join("services/api/Dockerfile").exists());

    let (code, out, err) = kyozo(&["plan", &root]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("plan-polyglot", out.replace(&root, "[root]"));
    assert!(dir.join("services/api/Dockerfile").is_file());
    // The example's compose file runs every service: Kyozo adds none.
    assert!(!dir.join("compose.kyozo.yaml").exists());
    let api = std::fs::read_to_string(dir.join("services/api/Dockerfile")).unwrap();
    assert!(api.starts_with("# Generated by Kyozo"), "{api}");

    // Again: nothing changes.
    let (code, out, _) = kyozo(&["plan", &root]);
    assert_eq!(code, 0);
    assert!(
        !out.contains("created") && !out.contains("replaced"),
        "{out}"
    );

    // A file of Kyozo's that the user edited is theirs: kept, unless --force.
    let node = dir.join("node");
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/plan-node"),
        &node,
    );
    let node_root = node.display().to_string();
    let (code, out, err) = kyozo(&["plan", &node_root]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created"), "{out}");
    std::fs::write(node.join("compose.kyozo.yaml"), "services: {}\n").unwrap();
    let (_, out, _) = kyozo(&["plan", &node_root]);
    assert!(out.contains("kept (yours; --force replaces it)"), "{out}");
    assert_eq!(
        std::fs::read_to_string(node.join("compose.kyozo.yaml")).unwrap(),
        "services: {}\n"
    );
    let (_, out, _) = kyozo(&["plan", &node_root, "--force"]);
    assert!(out.contains("replaced"), "{out}");
    std::fs::remove_dir_all(&node).unwrap();

    // --json: the plan and what was written.
    let (code, out, _) = kyozo(&[
        "plan",
        &root,
        "--json",
        "--image",
        "python=mirror.corp/python:3.12",
    ]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["plan"]["services"].as_array().unwrap().len(), 3);
    let (code, _, err) = kyozo(&["plan", &root, "--image", "python"]);
    assert_ne!(code, 0);
    assert!(err.contains("--image takes KEY=IMAGE"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Colours on a terminal only, and never with `NO_COLOR`: the same error, piped, on a
/// pseudo-terminal (`script`, from util-linux), and on one with `NO_COLOR=1`.
#[test]
fn colours_only_on_a_terminal_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "{} -C {} ps",
        env!("CARGO_BIN_EXE_kyozo"),
        dir.path().display()
    );
    let run = |terminal: bool, no_color: bool| -> String {
        let mut c = if terminal {
            let mut c = Command::new("script");
            c.args(["-qec", &command, "/dev/null"]);
            c
        } else {
            let mut c = Command::new(env!("CARGO_BIN_EXE_kyozo"));
            c.args(["-C", dir.path().to_str().unwrap(), "ps"]);
            c
        };
        c.env_remove("NO_COLOR").env_remove("KYOZO_STATE");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let piped = run(false, false);
    assert!(piped.starts_with("kyozo: no Kyozo state"), "{piped}");
    assert!(!piped.contains('\x1b'), "{piped:?}");
    let terminal = run(true, false);
    assert!(
        terminal.contains("\x1b[31mkyozo:\x1b[0m no Kyozo state"),
        "{terminal:?}"
    );
    let no_color = run(true, true);
    assert!(no_color.contains("kyozo: no Kyozo state"), "{no_color:?}");
    assert!(!no_color.contains('\x1b'), "{no_color:?}");
}

/// Without an engine, `up` says so and writes nothing.
#[test]
fn up_without_an_engine_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hello"),
        dir.path(),
    );
    let out = common::command()
        .args(["up", dir.path().to_str().unwrap()])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "kyozo: cannot reach the Docker Engine (DOCKER_HOST, else /var/run/docker.sock)"
        ),
        "{err}"
    );
    assert!(
        err.contains("/nonexistent/docker.sock"),
        "names the endpoint: {err}"
    );
    assert!(!dir.path().join(".kyozo").exists(), "nothing written");
}
