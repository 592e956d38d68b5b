//! `kyozo analyze --plugin`, run for real: a plugin that cannot be loaded is skipped
//! and said so, a FIFO or a device is refused without hanging, duplicate ids are
//! refused, plugin errors in `--json` are typed, and `--trust-plugin` lets a plugin
//! override the built-ins.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "../../../tests/common/plugins.rs"]
mod plugins;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs `kyozo ARGS` with a private plugin cache; fails the test (killing it) if it
/// has not ended within `limit`. Exit code, stdout, stderr.
fn kyozo_within(limit: Duration, args: &[&str]) -> (i32, String, String) {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().unwrap());
    let mut child = common::command()
        .args(args)
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "kyozo {args:?} still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn kyozo(args: &[&str]) -> (i32, String, String) {
    kyozo_within(Duration::from_secs(120), args)
}

fn site() -> PathBuf {
    plugins::detectors().join("hugo/fixtures/basic")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The finding: one plugin that could not be loaded stopped `analyze` (exit 1, nothing
/// printed). Now it is skipped with its reason on stderr, the rest is printed, exit 0.
#[test]
fn a_plugin_that_cannot_be_loaded_is_skipped_and_the_rest_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm not really").unwrap();
    let hugo = plugins::plugin("hugo");
    let site = site();
    let args = [
        "analyze",
        s(&site),
        "--plugin",
        s(&garbage),
        "--plugin",
        s(&hugo),
        "--plugin",
        "/nonexistent.wasm",
    ];
    let (code, out, err) = kyozo(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("plugin:hugo"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("plugin hugo 0.1.0 loaded from ") && l.ends_with("hugo.wasm")),
        "{err}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "plugin {} skipped: plugin {} is not a valid WebAssembly component",
            garbage.display(),
            garbage.display()
        ))),
        "{err}"
    );
    assert!(
        lines.contains(
            &"plugin /nonexistent.wasm skipped: cannot read plugin /nonexistent.wasm: No such file or directory (os error 2)"
        ),
        "{err}"
    );

    let mut with_json = args.to_vec();
    with_json.push("--json");
    let (code, out, err) = kyozo(&with_json);
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["services"][0]["language"], "hugo");
    let loaded = doc["plugins"]["loaded"].as_array().unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0]["id"], "hugo");
    assert_eq!(loaded[0]["source"], s(&hugo));
    assert_eq!(loaded[0]["trusted"], false);
    let errors = doc["plugins"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0]["kind"], "invalid");
    assert_eq!(errors[0]["plugin"], s(&garbage));
    assert_eq!(errors[0]["stage"], "load");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("not a valid")
    );
    assert_eq!(errors[1]["kind"], "read");
    assert_eq!(errors[1]["plugin"], "/nonexistent.wasm");
}

/// The finding: `--plugin` on a FIFO waited for a writer forever, and on `/dev/zero`
/// read without end. Now anything but a regular file is refused at once.
#[test]
fn a_fifo_or_a_device_as_a_plugin_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plugin.wasm");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    let site = site();
    for plugin in [s(&fifo), "/dev/zero"] {
        let (code, out, err) = kyozo_within(
            Duration::from_secs(30),
            &["analyze", s(&site), "--plugin", plugin, "--json"],
        );
        assert_eq!(code, 0, "{plugin}: {err}");
        let doc = json(&out);
        let e = &doc["plugins"]["errors"][0];
        assert_eq!(e["kind"], "read", "{plugin}: {e}");
        assert_eq!(e["plugin"], plugin);
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("not a regular file"),
            "{e}"
        );
    }
}

/// Two plugins of one id: the second is skipped, the message names both files.
#[test]
fn a_second_plugin_with_the_same_id_is_skipped_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let hugo = plugins::plugin("hugo");
    let copy = dir.path().join("another-hugo.wasm");
    std::fs::copy(&hugo, &copy).unwrap();
    let site = site();
    let (code, out, err) = kyozo(&[
        "analyze",
        s(&site),
        "--plugin",
        s(&hugo),
        "--plugin",
        s(&copy),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["plugins"]["loaded"].as_array().unwrap().len(), 1);
    let e = &doc["plugins"]["errors"][0];
    assert_eq!(e["kind"], "duplicate-id");
    assert_eq!(e["plugin"], s(&copy));
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(s(&hugo)) && message.contains(s(&copy)),
        "{message}"
    );
}

/// A plugin that fails while it runs: a typed error in `--json` (and the analysis of
/// the built-ins stands); in the readable report, a line on stderr.
#[test]
fn a_plugin_failing_at_run_time_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.txt"), "panic").unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>hi</h1>").unwrap();
    let hostile = plugins::plugin("hostile");
    let args = ["analyze", s(dir.path()), "--plugin", s(&hostile)];
    let (code, out, err) = kyozo(&[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    let errors = doc["plugins"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["kind"], "trap");
    assert_eq!(errors[0]["plugin"], "hostile");
    assert_eq!(errors[0]["stage"], "detect");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("panics on purpose")
    );
    let (code, _, err) = kyozo(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("plugin hostile failed: plugin hostile crashed:")),
        "{err}"
    );
}

/// A plugin that disagrees with a built-in: shown as a rival (with the values that
/// lost) by default; with `--trust-plugin ID`, its claim wins.
#[test]
fn trust_plugin_lets_a_plugin_override_and_the_rival_is_shown() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/plugin-disagree");
    let hugo = plugins::plugin("hugo");
    let base = ["analyze", s(&root), "--plugin", s(&hugo)];
    let (code, out, err) = kyozo(&base);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("also claimed as hugo (0.95) by plugin:hugo"),
        "{out}"
    );
    let (code, out, err) = kyozo(&[&base[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["services"][0]["language"], "node");
    assert_eq!(doc["services"][0]["rivals"][0]["detector"], "plugin:hugo");
    assert!(doc["services"][0]["rivals"][0]["values"].is_array());

    let (code, out, err) = kyozo(&[&base[..], &["--json", "--trust-plugin", "hugo"]].concat());
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["services"][0]["language"], "hugo");
    assert_eq!(doc["plugins"]["loaded"][0]["trusted"], true);
    assert_eq!(doc["services"][0]["rivals"][0]["detector"], "node");

    // Trusting an id no plugin has is said, not silently ignored.
    let (code, _, err) = kyozo(&[&base[..], &["--trust-plugin", "hugoo"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.lines()
            .any(|l| l == "--trust-plugin hugoo: no plugin loaded has this id"),
        "{err}"
    );
}

/// What a plugin says (its stack, framework and start command, its evidence, what it
/// logs, its panic message) reaches the terminal escaped, never raw, whether its claim
/// is the service or a rival of a built-in's; `--json` keeps the values as they were.
#[test]
fn a_plugins_strings_reach_the_terminal_escaped() {
    let hostile = plugins::plugin("hostile");
    const FRAMEWORK: &str = "fw\x1b[2J\rkyozo: ok\u{9b}31m";
    for with_builtin in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hostile.txt"), "ansi").unwrap();
        if with_builtin {
            std::fs::write(dir.path().join("index.html"), "<h1>hi</h1>").unwrap();
        }
        let args = ["analyze", s(dir.path()), "--plugin", s(&hostile)];
        let (code, out, err) = kyozo(&args);
        assert_eq!(code, 0, "{err}");
        let what = format!("analyze (a built-in too: {with_builtin})");
        common::assert_clean(&what, out.as_bytes(), err.as_bytes());
        // Shown, escaped: the evidence with its forged line.
        assert!(
            out.contains("reason \\u{1b}]52;c;ZXZpbA==\\u{7}\\u{1b}[2K\\rkyozo: fine"),
            "{what}: {out}"
        );

        let (code, out, err) = kyozo(&[&args[..], &["--json"]].concat());
        assert_eq!(code, 0, "{err}");
        common::assert_clean(&format!("{what} --json"), b"", err.as_bytes());
        let doc = json(&out);
        let service = &doc["services"][0];
        let claim = if with_builtin {
            assert_eq!(service["language"], "staticfile", "{doc:#}");
            &service["rivals"][0]
        } else {
            service
        };
        assert_eq!(claim["language"], "ansi", "{doc:#}");
        if !with_builtin {
            assert_eq!(service["framework"], FRAMEWORK, "{doc:#}");
        }
        assert_eq!(
            claim["evidence"][0]["reason"], "reason \x1b]52;c;ZXZpbA==\x07\x1b[2K\rkyozo: fine",
            "{doc:#}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.txt"), "ansi-panic").unwrap();
    let args = ["analyze", s(dir.path()), "--plugin", s(&hostile)];
    let (code, out, err) = kyozo(&args);
    assert_eq!(code, 0, "{err}");
    common::assert_clean("a panicking plugin", out.as_bytes(), err.as_bytes());
    assert!(
        err.contains("boom \\u{1b}]52;c;ZXZpbA==\\u{7}\\u{1b}[2J\\rkyozo: all good"),
        "{err}"
    );
}
