//! What the `kyozo` binary writes to a terminal when the folder is hostile: names,
//! paths, commands and evidence that carry ANSI escapes, OSC 52 (a clipboard write) or
//! a `\r` that forges a line reach stdout and stderr escaped, never raw; `--json` stays
//! valid and keeps every value as it was. And `.env` values (secrets) never appear in
//! what `analyze` and `plan` print.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::assert_clean;

use std::path::{Path, PathBuf};

/// Runs `kyozo ARGS` (no colours); its exit code, stdout and stderr as bytes.
fn run(args: &[&str]) -> (i32, Vec<u8>, Vec<u8>) {
    let out = common::command().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

const API: &str = "api\x1b]52;c;aGk=\x07";
const WEB: &str = "web\x1b[2J\rkyozo: ok";

/// A workspace of two node services whose folder names carry an OSC 52 clipboard write
/// and a screen clear followed by a forged line; and a Procfile service whose command
/// carries the same.
fn hostile() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let mono = tmp.path().join("mono");
    for name in [API, WEB] {
        let dir = mono.join("services").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("package.json"),
            r#"{"name":"x","scripts":{"start":"node s.js"},"dependencies":{"express":"4"}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("s.js"), "require('express')().listen(3000)\n").unwrap();
    }
    std::fs::write(
        mono.join("package.json"),
        r#"{"name":"mono","private":true,"workspaces":["services/*"]}"#,
    )
    .unwrap();
    let procfile = tmp.path().join("procfile");
    std::fs::create_dir_all(&procfile).unwrap();
    std::fs::write(
        procfile.join("Procfile"),
        "web: python app.py \x1b]52;c;aGk=\x07\x1b[2K\rkyozo: all good\x1b[31m\nworker\x1b[1m: python w.py \u{9b}2J\n",
    )
    .unwrap();
    std::fs::write(procfile.join("requirements.txt"), "flask\n").unwrap();
    std::fs::write(procfile.join("app.py"), "print(1)\n").unwrap();
    (tmp, mono, procfile)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn analyze_plan_and_up_dry_run_print_hostile_values_escaped() {
    let (_tmp, mono, procfile) = hostile();
    for dir in [&mono, &procfile] {
        for args in [
            vec!["analyze", s(dir)],
            vec!["plan", "--dry-run", s(dir)],
            vec!["up", "--dry-run", s(dir)],
        ] {
            let (code, out, err) = run(&args);
            assert_eq!(code, 0, "{args:?}: {}", String::from_utf8_lossy(&err));
            assert_clean(&format!("{args:?}"), &out, &err);
        }
    }
    // The values are there, escaped: the reader sees what the folder holds.
    let (_, out, _) = run(&["analyze", s(&mono)]);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("services/api\\u{1b}]52;c;aGk=\\u{7}"), "{out}");
    assert!(out.contains("services/web\\u{1b}[2J\\rkyozo: ok"), "{out}");
    let (_, out, _) = run(&["analyze", s(&procfile)]);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("python app.py \\u{1b}]52;c;aGk=\\u{7}\\u{1b}[2K\\rkyozo: all good"),
        "{out}"
    );
}

#[test]
fn json_stays_valid_and_lossless() {
    let (_tmp, mono, procfile) = hostile();
    let (code, out, err) = run(&["analyze", "--json", s(&mono)]);
    assert_eq!(code, 0);
    assert_clean("analyze --json", &out, &err);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mut paths: Vec<&str> = doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [format!("services/{API}"), format!("services/{WEB}")],
        "the values as the folder has them"
    );

    let (code, out, err) = run(&["analyze", "--json", s(&procfile)]);
    assert_eq!(code, 0);
    assert_clean("analyze --json", &out, &err);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        doc["services"][0]["start_command"]["value"],
        "python app.py \x1b]52;c;aGk=\x07\x1b[2K\rkyozo: all good\x1b[31m"
    );

    let (code, out, err) = run(&["plan", "--dry-run", "--json", s(&mono)]);
    assert_eq!(code, 0);
    assert_clean("plan --json", &out, &err);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(doc["plan"].is_object(), "{doc}");
}

/// The compose file takes its ports from `.env`; they are not port mappings, and the
/// warning quotes the compose file as written, never the value `.env` gave.
#[test]
fn env_values_never_appear_in_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  app:\n    image: \"busybox:${TAG}\"\n    ports: [\"${PORT}:80\", \"${SECRET_KEY}\"]\n    expose: [\"${SECRET_KEY}\"]\n    environment:\n      KEY: ${SECRET_KEY}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(".env"),
        "TAG=1\nPORT=hunter2-port-secret\nSECRET_KEY=sk_live_hunter2\nthis line is malformed sk_live_malformed\n\"unterminated=sk_live_quote\n",
    )
    .unwrap();
    for args in [
        vec!["analyze", s(dir)],
        vec!["analyze", "--json", s(dir)],
        vec!["plan", "--dry-run", s(dir)],
        vec!["up", "--dry-run", s(dir)],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{args:?}: {}", String::from_utf8_lossy(&err));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        for secret in ["hunter2", "sk_live"] {
            assert!(!all.contains(secret), "{args:?} shows {secret}:\n{all}");
        }
        if args[0] == "analyze" {
            // The warning is still given, quoting the file.
            assert!(all.contains("is not a port mapping"), "{all}");
            assert!(all.contains("${PORT}:80"), "{all}");
        }
    }
}

#[path = "../../../tests/common/docker.rs"]
mod docker;

/// `kyozo logs` on a container that writes ANSI escapes, OSC 52 and a `\r` that would
/// overwrite the `SERVICE |` prefix: each line printed with its controls escaped (tabs
/// kept), and a `\r\n` line ending taken as a line ending.
#[tokio::test(flavor = "multi_thread")]
async fn logs_of_a_hostile_container_are_escaped() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let busybox = docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let state = dir.join("state.redb");
    let team = {
        let k = kyozo::Kyozo::builder()
            .state_file(&state)
            .backend(std::sync::Arc::new(engine.clone()))
            .build()
            .unwrap();
        let (team, owner) = k.create_team("local", "olga").unwrap();
        let actor = owner.actor();
        let ws = k.create_workspace(actor, team.id, "noisy").unwrap();
        k.set_workspace_root(actor, team.id, ws.id, &dir).unwrap();
        let mut s = kyozo::model::ServiceInstance::new(team.id, ws.id, "noisy", ".");
        s.image = Some(busybox);
        s.config.command = Some(vec![
            "sh".into(),
            "-c".into(),
            "printf 'a\\tb \\033[2J\\033]52;c;aGk=\\007 clear\\rkyozo: forged\\r\\n'; exec sleep 1000"
                .into(),
        ]);
        let s = k.create_service(actor, s).unwrap();
        k.deploy(actor, team.id, s.id).await.unwrap();
        team.id.to_string()
    };
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team);
    let (code, out, err) = run(&["--state", s(&state), "-C", s(&dir), "logs", "noisy"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert_clean("logs", &out, &err);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("| a\tb \\u{1b}[2J\\u{1b}]52;c;aGk=\\u{7} clear\\rkyozo: forged\n"),
        "{out:?}"
    );
    let (code, _, err) = run(&["--state", s(&state), "-C", s(&dir), "down"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
}

/// A compose file's keys Kyozo does not apply (privileges, host namespaces, devices,
/// host mounts) are named by `analyze`, `plan` and `up --dry-run` alike (what `up`
/// runs is never silently less than the file asked for), never with a `.env` value.
#[test]
fn dropped_compose_keys_are_named_by_every_command_that_plans() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join(".env"), "SECRET_CAP=hunter2-secret\n").unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    image: busybox\n    privileged: true\n    cap_add: [\"${SECRET_CAP}\"]\n    devices: [\"/dev/sda:/dev/sda\"]\n    network_mode: host\n    volumes: [\"/:/host\"]\n",
    )
    .unwrap();
    for args in [
        vec!["analyze", s(dir)],
        vec!["plan", "--dry-run", s(dir)],
        vec!["plan", "--dry-run", "--json", s(dir)],
        vec!["up", "--dry-run", s(dir)],
    ] {
        let (code, out, err) = run(&args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        assert_eq!(code, 0, "{args:?}: {all}");
        for key in [
            "privileged",
            "cap_add",
            "devices",
            "network_mode",
            "volumes",
        ] {
            let named = format!("services.web.{key}");
            assert!(
                all.lines()
                    .any(|l| l.contains(&named) && l.contains("does not apply")),
                "{args:?} does not name {key}:\n{all}"
            );
        }
        assert!(
            !all.contains("hunter2"),
            "{args:?} shows a .env value:\n{all}"
        );
    }
}
