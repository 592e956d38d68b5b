//! `kyozo env` and `kyozo up --env-file`, run for real on the Docker Engine: a setting
//! given before the first `up` reaches the container; `env list` shows names and where
//! each came from with values masked, `--reveal` shows them to the owner only; `env
//! set` on a running service redeploys it; an env file's values are settings that a
//! second `up` with the same file leaves as they are; `env unset`; a bad env file is
//! refused naming its line, before anything is built.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{command, kyozo, ok_in as ok};

#[path = "../../../tests/common/docker.rs"]
mod docker;

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// `kyozo -C DIR ARGS`, which must fail; its stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-C", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, out, err) = kyozo(&all);
    assert_eq!(code, 1, "kyozo {args:?} should fail:\n{out}\n{err}");
    err
}

/// Waits (at most 20 s) until the service's logs hold `line`.
fn logs_show(dir: &Path, service: &str, line: &str) {
    let started = Instant::now();
    loop {
        let out = ok(dir, &["logs", service]);
        if out.lines().any(|l| l.ends_with(line)) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the logs of {service} never showed {line:?}:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_are_given_listed_revealed_to_owners_and_applied_by_a_redeploy() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let busybox = docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("web");
    std::fs::create_dir(&dir).unwrap();
    // The program says its GREETING, then waits.
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {busybox}\nCMD [\"sh\", \"-c\", \"echo \\\"greeting=$GREETING token=$TOKEN\\\"; exec sleep 100000\"]\n"
        ),
    )
    .unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap();
    let _down = common::state::Down(dir.clone());

    // Before the first `up`: stored, not deployed. A NAME alone reads stdin.
    let out = ok(&dir, &["env", "set", "web", "GREETING=before-up"]);
    assert!(out.contains("next deployment"), "{out}");
    let mut child = command()
        .args(["-C", dir.to_str().unwrap(), "env", "set", "web", "TOKEN"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from-stdin\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    ok(&dir, &["up"]);
    logs_show(&dir, "web", "greeting=before-up token=from-stdin");

    // Listed: names and where each came from; values only when revealed, to an owner.
    let listed = ok(&dir, &["env", "list", "web"]);
    assert!(listed.contains("GREETING"), "{listed}");
    assert!(listed.contains("set by"), "{listed}");
    assert!(
        !listed.contains("before-up"),
        "a value was shown:\n{listed}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["env", "list", "web", "--json"])).unwrap();
    assert!(!json.to_string().contains("before-up"), "{json}");
    let revealed = ok(&dir, &["env", "list", "web", "--reveal"]);
    assert!(revealed.contains("before-up"), "{revealed}");
    ok(&dir, &["members", "add", "bo", "--role", "admin"]);
    let err = fails(&dir, &["--as", "bo", "env", "list", "web", "--reveal"]);
    assert!(err.contains("reveal_secrets"), "{err}");
    assert!(!err.contains("before-up"), "{err}");

    // Set on a running service: redeployed, and it says the new value.
    let out = ok(&dir, &["env", "set", "web", "GREETING=after"]);
    assert!(out.contains("redeployed"), "{out}");
    logs_show(&dir, "web", "greeting=after token=from-stdin");

    // An env file: its values are settings; the same file again changes nothing.
    let file = tmp.path().join("prod.env");
    std::fs::write(&file, "# production\nGREETING=\"from the file\"\n").unwrap();
    let file = file.to_str().unwrap();
    ok(&dir, &["up", "--env-file", file]);
    logs_show(&dir, "web", "greeting=from the file token=from-stdin");
    let listed = ok(&dir, &["env", "list", "web"]);
    assert!(listed.contains("env file"), "{listed}");
    let again = ok(&dir, &["up", "--env-file", &format!("web={file}")]);
    assert!(again.contains("unchanged"), "{again}");

    // A bad env file: refused with its line, nothing deployed.
    let bad = tmp.path().join("bad.env");
    std::fs::write(&bad, "GREETING=x\nthis is not a setting\n").unwrap();
    let err = fails(&dir, &["up", "--env-file", bad.to_str().unwrap()]);
    assert!(err.contains("line 2"), "{err}");

    // Unset: gone from the container at the redeploy.
    ok(&dir, &["env", "unset", "web", "GREETING"]);
    logs_show(&dir, "web", "greeting= token=from-stdin");
    let err = fails(&dir, &["env", "unset", "web", "GREETING"]);
    assert!(err.contains("GREETING"), "{err}");

    ok(&dir, &["down"]);
}
