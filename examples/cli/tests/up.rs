//! The `kyozo` binary, run for real on the Docker Engine: `up` on the bundled example
//! monorepo (two node services and the redis one of them needs), then everything after
//! (`ps`, HTTP to each service, a second `up` that changes nothing, a changed folder
//! rolled, `scale`, `logs`, `events`, `health`, `--as`, `rollback`, `down`), and `up`
//! failing (a build that fails, a service that crashes) with the step, the error and
//! the last lines said.
//!
//! No registry is reachable: the node and redis images are Debian root filesystems made
//! by `tests/support/` and kept by tag; `--image` points the plan at them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::kyozo;
use common::state::{left_behind, team_of};

#[path = "../../../tests/common/docker.rs"]
mod docker;
#[path = "../../../tests/common/files.rs"]
mod files;
#[path = "../../../tests/common/images.rs"]
mod images;
#[path = "../../../tests/common/proxy.rs"]
mod proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kyozo::backend::{ContainerBackend, LABEL_TEAM};
use serde_json::Value;

/// `kyozo -C DIR ARGS`, which must succeed; its stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-C", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, out, err) = kyozo(&all);
    assert_eq!(code, 0, "kyozo {args:?} failed:\n{err}\n{out}");
    out
}

/// The bundled example, copied to a temporary folder.
fn hello() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hello");
    files::copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hello"),
        &dir,
    );
    (tmp, std::fs::canonicalize(&dir).unwrap())
}

/// The images `up` plans with here.
fn image_args() -> Vec<String> {
    vec![
        "--image".into(),
        format!("node={}", images::runtimes()),
        "--image".into(),
        format!("redis={}", images::redis()),
    ]
}

/// Replaces what changes from run to run: the folder, durations.
fn redact(text: &str, root: &Path) -> String {
    let text = text.replace(&root.display().to_string(), "[root]");
    let mut out = String::new();
    for line in text.lines() {
        let mut l = line.to_string();
        // "in 3.2 s"
        if let Some(i) = l.find(" in ")
            && let Some(rest) = l[i + 4..].strip_suffix(" s")
            && rest.parse::<f64>().is_ok()
        {
            l = format!("{} in [t] s", &l[..i]);
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn ps(dir: &Path) -> BTreeMap<String, Value> {
    let doc: Value = serde_json::from_str(&ok(dir, &["ps", "--json"])).unwrap();
    doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_runs_the_example_and_down_leaves_nothing_behind() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let images = tokio::task::spawn_blocking(image_args).await.unwrap();
    let (_tmp, dir) = hello();
    let root = dir.to_str().unwrap();
    let mut up: Vec<&str> = vec!["up", root];
    up.extend(images.iter().map(String::as_str));

    // --dry-run: the plan, nothing made.
    let (code, out, err) = kyozo(&[up.clone(), vec!["--dry-run"]].concat());
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("up-dry-run", redact(&out, &dir));
    assert!(!dir.join(".kyozo").exists(), "a dry run keeps no state");

    let (code, out, err) = kyozo(&up);
    let state = dir.join(".kyozo/state.redb");
    let team = team_of(&state);
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    assert_eq!(code, 0, "kyozo up failed:\n{err}\n{out}");
    insta::assert_snapshot!("up-hello", redact(&out, &dir));
    assert!(err.contains("waiting until healthy"), "{err}");
    // The generated Dockerfiles stay out of the folder.
    assert!(!dir.join("api/Dockerfile").exists());

    // Running and healthy, each answering.
    let services = ps(&dir);
    assert_eq!(
        services.keys().collect::<Vec<_>>(),
        ["api", "redis", "web"],
        "{services:?}"
    );
    for (name, s) in &services {
        assert_eq!(s["status"], "running", "{name}: {s}");
        assert_eq!(s["health"], "healthy", "{name}: {s}");
        assert_eq!(s["replicas"]["running"], 1, "{name}: {s}");
    }
    assert_eq!(services["api"]["ports"][0]["host"], 8411);
    let table = ok(&dir, &["ps"]);
    let table: String = table
        .lines()
        .map(|l| match l.find("kyozo/") {
            Some(i) => format!("{}kyozo/[image]\n", &l[..i]),
            None => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!("ps-hello", table);
    assert!(
        services["redis"]["ports"].as_array().unwrap().is_empty(),
        "redis is reached on the services' network only"
    );
    let hits = docker::http_answer(8411, "/hits").await;
    assert!(hits.contains(r#""hits":1"#), "api counts in redis: {hits}");
    let hits = docker::http_answer(8411, "/hits").await;
    assert!(hits.contains(r#""hits":2"#), "{hits}");
    let page = docker::http_answer(8412, "/").await;
    assert!(page.contains("hello from web"), "{page}");

    // Again, unchanged: nothing is deployed.
    let containers = |s: &BTreeMap<String, Value>| -> Vec<String> {
        s.values()
            .flat_map(|s| s["containers"].as_array().unwrap().clone())
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let before = containers(&services);
    let (code, out, err) = kyozo(&up);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("unchanged, left running").count(), 3, "{err}");
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(containers(&ps(&dir)), before, "the same containers run");

    // A changed service is built and rolled; the others are left.
    let server = dir.join("web/server.js");
    let text = std::fs::read_to_string(&server).unwrap();
    std::fs::write(
        &server,
        text.replace("hello from web", "hello again from web"),
    )
    .unwrap();
    let (code, _, err) = kyozo(&up);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("unchanged, left running").count(), 2, "{err}");
    assert!(err.contains("web              building"), "{err}");
    let page = docker::http_answer(8412, "/").await;
    assert!(page.contains("hello again from web"), "{page}");
    let hits = docker::http_answer(8411, "/hits").await;
    assert!(hits.contains(r#""hits":3"#), "redis kept its count: {hits}");

    // Scale.
    assert_eq!(
        ok(&dir, &["scale", "web", "2"]),
        "web: 2 replicas running\n"
    );
    assert_eq!(ps(&dir)["web"]["replicas"]["running"], 2);
    // `up` leaves a scaled service scaled.
    let (code, _, err) = kyozo(&up);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("unchanged, left running").count(), 3, "{err}");
    assert_eq!(ps(&dir)["web"]["replicas"]["running"], 2);
    ok(&dir, &["scale", "web", "1"]);
    assert_eq!(ps(&dir)["web"]["replicas"]["running"], 1);

    // Followers (`events -f`, `logs -f`) see what happens meanwhile, and hold the state
    // file only while they read: other commands run beside them.
    // Each prints its last line first: then it follows.
    let events = Follower::spawn(&["-C", root, "events", "-f", "--json", "--tail", "1"]);
    let logs = Follower::spawn(&["-C", root, "logs", "web", "-f", "--tail", "1"]);
    events.wait_for(|_| true);
    logs.wait_for(|_| true);
    ok(&dir, &["restart", "api"]);
    let restarted = events.wait_for(|l| l.contains(r#""kind":"restarted""#));
    assert!(restarted.contains(r#""service_name":"api""#), "{restarted}");
    docker::http_answer(8412, "/followed").await;
    logs.wait_for(|l| l.contains("GET /followed"));
    drop((events, logs));

    // Top, one sample.
    let top: Value = serde_json::from_str(&ok(&dir, &["top", "--json"])).unwrap();
    let top = top["services"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    for s in top {
        assert_eq!(s["replicas"], 1, "{s}");
        assert!(s["memory_bytes"].as_u64().unwrap() > 0, "{s}");
    }

    // Logs.
    let logs = ok(&dir, &["logs", "api", "--tail", "20"]);
    assert!(logs.contains("api listening"), "{logs}");
    assert!(logs.contains("GET /hits hit 3"), "{logs}");
    let recent = ok(&dir, &["logs", "api", "--since", "1h"]);
    assert!(recent.contains("api listening"), "{recent}");
    assert_eq!(
        ok(&dir, &["logs", "api", "--since", "2099-01-01T00:00:00Z"]),
        ""
    );
    let (code, _, err) = kyozo(&["-C", root, "logs", "api", "--since", "yesterday"]);
    assert_eq!(code, 1);
    assert!(err.contains("--since takes"), "{err}");

    // Stop and start.
    assert_eq!(ok(&dir, &["stop", "web"]), "web: stopped\n");
    let web = &ps(&dir)["web"];
    assert_eq!(web["status"], "stopped", "{web}");
    assert_eq!(web["health"], Value::Null, "{web}");
    assert_eq!(ok(&dir, &["start", "web"]), "web: started\n");
    assert_eq!(ps(&dir)["web"]["status"], "running");
    let page = docker::http_answer(8412, "/").await;
    assert!(page.contains("hello again from web"), "{page}");

    // Health.
    let health: Value = serde_json::from_str(&ok(&dir, &["health", "--json"])).unwrap();
    assert_eq!(health["services"].as_array().unwrap().len(), 3);
    for s in health["services"].as_array().unwrap() {
        assert_eq!(s["status"], "healthy", "{s}");
    }

    // Who acts: a viewer sees, and may not change.
    ok(&dir, &["members", "add", "vera", "--role", "viewer"]);
    let seen: Value = serde_json::from_str(&ok(&dir, &["--as", "vera", "ps", "--json"])).unwrap();
    assert_eq!(seen["services"].as_array().unwrap().len(), 3);
    let (code, _, err) = kyozo(&["-C", root, "--as", "vera", "scale", "web", "3"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("kyozo: cannot scale web as vera: ")
            && err.contains("(viewer) may not scale"),
        "{err}"
    );
    let (code, _, err) = kyozo(&["-C", root, "--as", "nobody", "ps"]);
    assert_eq!(code, 1);
    assert!(err.contains("no member \"nobody\""), "{err}");

    // Rollback: the first web image answers again.
    let out = ok(&dir, &["rollback", "web"]);
    assert!(out.starts_with("web: rolled back to kyozo/web:"), "{out}");
    let page = docker::http_answer(8412, "/").await;
    assert!(page.contains("hello from web"), "{page}");
    // And forward again, to the deployment named.
    let trail: Vec<Value> = ok(&dir, &["events", "web", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let completed: Vec<&str> = trail
        .iter()
        .filter(|e| e["kind"] == "deployment_completed")
        .map(|e| e["deployment"].as_str().unwrap())
        .collect();
    assert_eq!(
        completed.len(),
        3,
        "first, changed, rolled back: {completed:?}"
    );
    let out = ok(&dir, &["rollback", "web", "--to", completed[1]]);
    assert!(out.starts_with("web: rolled back to kyozo/web:"), "{out}");
    let page = docker::http_answer(8412, "/").await;
    assert!(page.contains("hello again from web"), "{page}");

    // The audit trail: every event, each service's numbered without a gap.
    let (code, out, err) = kyozo(&["-C", root, "events", "--json"]);
    assert_eq!(code, 0, "{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in &events {
        seqs.entry(e["service_name"].as_str().unwrap().to_string())
            .or_default()
            .push(e["seq"].as_u64().unwrap());
    }
    assert_eq!(seqs.len(), 3);
    for (name, mut s) in seqs {
        s.sort_unstable();
        let expected: Vec<u64> = (1..=s.len() as u64).collect();
        assert_eq!(s, expected, "{name}'s events have no gap");
    }
    let kinds = |name: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["service_name"] == name)
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let web = kinds("web");
    for k in [
        "service_created",
        "deployment_started",
        "image_built",
        "deployment_completed",
        "scaled",
        "rolled_back",
    ] {
        assert!(
            web.contains(&k.to_string()),
            "web's events have {k}: {web:?}"
        );
    }
    let human = ok(&dir, &["events", "web", "--tail", "3"]);
    assert_eq!(human.lines().count(), 3, "{human}");

    // The id on each completed deployment is what rollback --to takes.
    let human = ok(&dir, &["events", "web"]);
    assert!(
        human.contains(&format!("deployment {}", completed[1])),
        "{human}"
    );

    // Down keeps the data unless --volumes; then nothing of Kyozo's is left on the
    // engine; the history stays.
    let out = ok(&dir, &["down"]);
    assert!(
        out.contains("redis: removed (its data stays in its volume: --volumes removes it)"),
        "{out}"
    );
    let left = left_behind(&engine, &team).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with("-redis-data"), "{left:?}");
    let out = ok(&dir, &["down", "--volumes"]);
    assert_eq!(out, "redis: its volumes removed\n");
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
    assert_eq!(
        ok(&dir, &["ps"]),
        "No services: `kyozo up` runs the folder's.\n"
    );
    let after = ok(&dir, &["events", "--json"]);
    assert!(
        after.lines().count() > events.len(),
        "removals are recorded too"
    );
}

/// A `kyozo` command that keeps running (`-f`), its lines read as they come; killed
/// when dropped.
struct Follower {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Follower {
    fn spawn(args: &[&str]) -> Self {
        let mut child = common::command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Follower { child, lines }
    }

    /// The first line `found` accepts, waiting at most 60 s.
    fn wait_for(&self, found: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if found(&line) => return line,
                Ok(line) => seen.push(line),
                Err(e) => panic!("no such line ({e}); saw {seen:#?}"),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kyozo up` killed (SIGKILL) while a replica it started is not ready yet, then run
/// again: the second finishes the work, the replica the first left behind is retired,
/// and the audit trail keeps the interrupted deployment without a gap.
#[tokio::test(flavor = "multi_thread")]
async fn an_up_killed_half_way_is_finished_by_the_next() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let images = tokio::task::spawn_blocking(image_args).await.unwrap();
    let (_tmp, dir) = hello();
    // Ports of its own (the other tests run beside it), and a web that takes 3 s to
    // listen: the kill lands while `up` waits for it.
    for (file, from, to) in [
        ("api/server.js", "8411", "8431"),
        ("web/server.js", "8412", "8432"),
    ] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap().replace(from, to);
        std::fs::write(&path, text).unwrap();
    }
    let web = dir.join("web/server.js");
    let text = std::fs::read_to_string(&web).unwrap().replace(
        "http\n  .createServer(",
        "setTimeout(() => http\n  .createServer(",
    );
    let text = text.replace(
        ".listen(process.env.PORT || 8432, () => console.log('web listening'));",
        ".listen(process.env.PORT || 8432, () => console.log('web listening')), 3000);",
    );
    assert!(text.contains("setTimeout"), "{text}");
    std::fs::write(&web, text).unwrap();
    let root = dir.to_str().unwrap();
    let mut up: Vec<&str> = vec!["up", root];
    up.extend(images.iter().map(String::as_str));

    let mut first = common::command()
        .args(&up)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = first.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
        let line = line.unwrap();
        let waiting = line.starts_with("web ") && line.contains("waiting until healthy");
        seen.push(line);
        if waiting {
            first.kill().unwrap();
            break;
        }
    }
    let status = first.wait().unwrap();
    assert!(!status.success(), "killed while waiting for web: {seen:#?}");
    let team = team_of(&dir.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());

    // The second `up` finishes: redis and api were done, web is deployed again.
    let (code, _, err) = kyozo(&up);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("unchanged, left running").count(), 2, "{err}");
    let services = ps(&dir);
    for (name, s) in &services {
        assert_eq!(s["status"], "running", "{name}: {s}");
        assert_eq!(s["health"], "healthy", "{name}: {s}");
        assert_eq!(
            s["containers"].as_array().unwrap().len(),
            1,
            "{name}: what the killed `up` started is retired: {s}"
        );
    }
    let page = docker::http_answer(8432, "/").await;
    assert!(page.contains("hello from web"), "{page}");
    let web_events: Vec<Value> = events_of(&dir)
        .into_iter()
        .filter(|e| e["service_name"] == "web")
        .collect();
    let count = |kind: &str| web_events.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(count("deployment_started"), 2, "{web_events:#?}");
    assert_eq!(count("deployment_completed"), 1, "{web_events:#?}");
    let seqs: Vec<u64> = web_events
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    ok(&dir, &["down", "--volumes"]);
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
}

/// Ctrl-C stops `up` with status 130 and says what to do: here while it waits for
/// the state file, which the test holds open.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_up_says_so() {
    if docker::engine().await.is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(tmp.path(), "waiting", &[("index.html", "<h1>hi</h1>\n")]);
    let state = dir.join(".kyozo/state.redb");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let held = kyozo::Kyozo::builder().state_file(&state).build().unwrap();
    let mut up = common::command()
        .args(["up", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(up.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert!(line.contains("waiting for another kyozo command"), "{line}");
    let sent = Command::new("kill")
        .args(["-INT", &up.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = up.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("kyozo: interrupted."), "{rest}");
    drop(held);
}

/// A folder with one service, `name`, made of `files`.
fn folder(tmp: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = tmp.join(name);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::canonicalize(&dir).unwrap()
}

/// The events of a folder, as JSON.
fn events_of(dir: &Path) -> Vec<Value> {
    ok(dir, &["events", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `up` killed in the middle of a build (SIGKILL while a step runs): the build stops
/// with it, and `kyozo down` leaves nothing of it on the engine (no labelled image,
/// container, network or volume).
#[tokio::test(flavor = "multi_thread")]
async fn a_build_interrupted_by_a_kill_leaves_nothing_after_down() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let images = tokio::task::spawn_blocking(image_args).await.unwrap();
    let runtimes = images::RUNTIMES;
    let tmp = tempfile::tempdir().unwrap();
    // The long step names this test's folder, so that its container is told apart.
    let marker = format!("sleep 30 # {}", tmp.path().display());
    let dir = folder(
        tmp.path(),
        "interrupted",
        &[(
            "Dockerfile",
            &format!(
                "FROM {runtimes}\nRUN echo a first step\nRUN {marker}\nCMD [\"sleep\", \"1000\"]\n"
            ),
        )],
    );
    let mut up: Vec<&str> = vec!["up", dir.to_str().unwrap()];
    up.extend(images.iter().map(String::as_str));
    let mut child = common::command()
        .args(&up)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let step_runs = || {
        let out = Command::new("docker")
            .args(["ps", "--no-trunc", "--format", "{{.Command}}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&marker)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !step_runs() {
        assert!(
            std::time::Instant::now() < deadline,
            "the long step never ran"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "up ended before the step"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let team = team_of(&dir.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    // The engine stops the build its client left.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while step_runs() {
        assert!(
            std::time::Instant::now() < deadline,
            "the engine still runs the abandoned build"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    ok(&dir, &["down"]);
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
}

/// `kyozo` in `dir` with `KYOZO_BUILD_STALL=stall`: exit code and stderr.
fn with_stall(dir: &Path, stall: &str, args: &[&str]) -> (i32, String) {
    let out = common::command()
        .current_dir(dir)
        .env("KYOZO_BUILD_STALL", stall)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A build that prints nothing for `KYOZO_BUILD_STALL` is given up and `up` says so
/// (the engine that hangs mid-build); a value that is not a duration is refused before
/// anything is made.
#[tokio::test(flavor = "multi_thread")]
async fn a_build_that_prints_nothing_for_kyozo_build_stall_is_given_up() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let images = tokio::task::spawn_blocking(image_args).await.unwrap();
    let runtimes = images::RUNTIMES;
    let tmp = tempfile::tempdir().unwrap();
    let quiet = folder(
        tmp.path(),
        "quiet",
        &[(
            "Dockerfile",
            &format!(
                "FROM {runtimes}\nRUN echo starting the quiet step && sleep 120\nCMD [\"sleep\", \"1000\"]\n"
            ),
        )],
    );
    let mut up: Vec<&str> = vec!["up"];
    up.extend(images.iter().map(String::as_str));

    let (code, err) = with_stall(&quiet, "soon", &up);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("KYOZO_BUILD_STALL takes a duration (90s, 10m, 1h), not \"soon\""),
        "{err}"
    );
    assert!(!quiet.join(".kyozo").exists(), "nothing made: {err}");

    let started = std::time::Instant::now();
    // Long enough for the step's container to start and print under load; far shorter
    // than the step.
    let (code, err) = with_stall(&quiet, "15s", &up);
    let took = started.elapsed();
    let team = team_of(&quiet.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("quiet failed at the build step"), "{err}");
    assert!(err.contains("did not finish within 15 s"), "{err}");
    assert!(
        err.contains("starting the quiet step"),
        "its last line: {err}"
    );
    // Given up at the stall, not at the end of the step.
    assert!(took < std::time::Duration::from_secs(100), "{took:?}");
    ok(&quiet, &["down"]);
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_build_and_a_crashing_service_say_where_and_why() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let images = tokio::task::spawn_blocking(image_args).await.unwrap();
    let runtimes = images::RUNTIMES;
    let tmp = tempfile::tempdir().unwrap();

    // A build that fails: the step, the builder's error and its last lines.
    let broken = folder(
        tmp.path(),
        "broken",
        &[(
            "Dockerfile",
            &format!(
                "FROM {runtimes}\nRUN echo 'compiling the thing' && echo 'error: it does not compile' >&2 && exit 7\nCMD [\"sleep\", \"1000\"]\n"
            ),
        )],
    );
    // Its state kept elsewhere (--state).
    let state = tmp.path().join("broken-state.redb");
    let state_arg = state.to_str().unwrap();
    let mut up: Vec<&str> = vec!["--state", state_arg, "up", broken.to_str().unwrap()];
    up.extend(images.iter().map(String::as_str));
    let (code, _, err) = kyozo(&up);
    let team = team_of(&state);
    assert!(
        !broken.join(".kyozo").exists(),
        "the state is where --state says"
    );
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("broken failed at the build step"), "{err}");
    assert!(
        err.contains("compiling the thing"),
        "the build's last lines: {err}"
    );
    assert!(err.contains("kyozo events"), "{err}");
    let failed: Vec<Value> = ok(&broken, &["--state", state_arg, "events", "--json"])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "deployment_failed")
        .collect();
    assert_eq!(failed.len(), 1, "the state file records the failure");
    assert_eq!(failed[0]["error"]["details"]["step"], "build");
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());

    // A service that crashes before it is ready: the container's last lines (both on
    // stderr: the engine does not keep the order of lines across stdout and stderr).
    let crashing = folder(
        tmp.path(),
        "crashing",
        &[
            (
                "package.json",
                r#"{"name": "crashing", "scripts": {"start": "node server.js"}}"#,
            ),
            (
                "server.js",
                "const port = process.env.PORT || 8421;\nconsole.error('starting on ' + port);\nconsole.error('boom: cannot read config.json');\nprocess.exit(3);\n",
            ),
        ],
    );
    let mut up: Vec<&str> = vec!["up", crashing.to_str().unwrap()];
    up.extend(images.iter().map(String::as_str));
    let (code, _, err) = kyozo(&up);
    let team = team_of(&crashing.join(".kyozo/state.redb"));
    let _cleanup2 = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    assert_eq!(code, 1, "{err}");
    let report = err[err.find("kyozo: crashing failed").expect(&err)..].to_string();
    // The engine restarts a service's process (its restart policy): the replica's
    // output may hold the run that failed more than once. Each of its lines is kept once.
    let mut kept: Vec<&str> = Vec::new();
    for line in report.lines() {
        if !(line.starts_with("  | ") && kept.contains(&line)) {
            kept.push(line);
        }
    }
    let report = kept.join("\n") + "\n";
    insta::assert_snapshot!("up-crashing", redact(&report, &crashing));
    let failed: Vec<Value> = events_of(&crashing)
        .into_iter()
        .filter(|e| e["kind"] == "deployment_failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["details"]["step"], "start");
    // The failed container is gone; the image it ran is Kyozo's, labelled, and goes
    // with `down`.
    let left = left_behind(&engine, &team).await;
    assert!(
        left.iter()
            .all(|l| l.starts_with("image") || l.starts_with("network")),
        "{left:?}"
    );
    assert!(
        left.iter().any(|l| l.starts_with("image")),
        "the image it built carries Kyozo's labels: {left:?}"
    );
    // Nothing of the failed deployment is left without Kyozo's labels either.
    let named = Command::new("docker")
        .args(["ps", "-aq", "--filter", "name=kyozo-crashing-"])
        .output()
        .unwrap();
    assert!(named.status.success());
    assert!(
        named.stdout.is_empty(),
        "no container of the failed deployment"
    );
    let ps = ok(&crashing, &["ps"]);
    assert!(ps.contains("failed"), "{ps}");
    ok(&crashing, &["down"]);
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
}

/// The image of a web server on 8472 that starts listening after `$DELAY` seconds
/// (kept by its tag, built once).
async fn httpd_later(engine: &kyozo::backend::DockerBackend) -> &'static str {
    let busybox = docker::busybox(engine).await;
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!(
            "FROM {busybox}\nCMD [\"sh\", \"-c\", \"sleep ${{DELAY:-0}}; exec httpd -f -p 8472\"]\n"
        ),
    )
    .unwrap();
    let image = "kyozo-test/httpd-later:1";
    let mut spec = kyozo::backend::BuildSpec::default();
    spec.context = context.path().to_path_buf();
    spec.dockerfile = "Dockerfile".into();
    spec.tag = image.into();
    spec.labels = BTreeMap::from([("dev.kyozo.test-image".to_string(), "1".to_string())]);
    engine.build_image(&spec, &mut |_| {}).await.unwrap();
    image
}

/// A folder of two services of [`httpd_later`]: `first`, then `second` (which takes 8 s
/// to listen, published on a free host port).
fn two_servers(tmp: &Path, name: &str, image: &str, first: &str, second: &str) -> PathBuf {
    let port = common::free_port();
    let compose = format!(
        "services:\n  {first}:\n    image: {image}\n  {second}:\n    image: {image}\n    environment:\n      DELAY: \"8\"\n    ports: [\"{port}:8472\"]\n    depends_on: [{first}]\n"
    );
    folder(tmp, name, &[("compose.yaml", &compose)])
}

/// Runs `kyozo up` in `dir` with `env`; once `waiting` says it waits for its health,
/// calls `meanwhile`. Its exit status, stdout and stderr.
fn up_with(
    dir: &Path,
    env: &[(&str, &str)],
    waiting: &str,
    meanwhile: impl FnOnce(&str),
) -> (std::process::ExitStatus, String, String) {
    let mut up = common::command();
    for (k, v) in env {
        up.env(k, v);
    }
    let mut up = up
        .args(["up", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = up.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::BufReader::new(stdout), &mut s).unwrap();
        s
    });
    let mut err = String::new();
    let mut meanwhile = Some(meanwhile);
    let lines = std::io::BufRead::lines(std::io::BufReader::new(up.stderr.take().unwrap()));
    for line in lines {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.starts_with(&format!("{waiting} "))
            && line.contains("waiting until")
            && let Some(f) = meanwhile.take()
        {
            f(&err);
        }
    }
    let status = up.wait().unwrap();
    assert!(meanwhile.is_none(), "{waiting} never waited:\n{err}");
    (status, reader.join().unwrap(), err)
}

/// A service that was ready when deployed but no longer runs when `up` ends (here its
/// container is killed while `up` waits for the next service: as when the container
/// dies mid-way) makes `up` exit 1, saying which service and what state, never "Up:".
#[tokio::test(flavor = "multi_thread")]
async fn up_fails_when_a_service_is_down_at_the_end() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let image = httpd_later(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = two_servers(tmp.path(), "dying", image, "victim", "slow");
    let (status, out, err) = up_with(&dir, &[], "slow", |err| {
        let ids = Command::new("docker")
            .args(["ps", "-q", "--filter", "name=kyozo-victim"])
            .output()
            .unwrap();
        let ids = String::from_utf8(ids.stdout).unwrap();
        assert!(!ids.trim().is_empty(), "victim runs:\n{err}");
        for id in ids.split_whitespace() {
            let killed = Command::new("docker").args(["kill", id]).output().unwrap();
            assert!(killed.status.success());
        }
    });
    let team = team_of(&dir.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    assert!(out.contains("0/1"), "the summary says it:\n{out}\n{err}");
    assert_eq!(status.code(), Some(1), "up exits 1:\n{out}\n{err}");
    assert!(!out.contains("Up:"), "{out}");
    assert!(
        err.contains("victim has 0 of 1 replica running"),
        "names the service and its state:\n{err}"
    );
    ok(&dir, &["down"]);
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
}

/// The engine goes away while `up` waits for a service (`up` reaches it through a
/// socket proxy the test stops, closing every connection): `up` exits 1 and says the
/// engine could not be reached, never "Up:"; `down`, with the engine back, removes
/// what it made.
#[tokio::test(flavor = "multi_thread")]
async fn up_fails_when_the_engine_goes_away_mid_way() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let image = httpd_later(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = two_servers(tmp.path(), "orphaned", image, "steady", "late");
    let socket = tmp.path().join("engine.sock");
    let proxy = proxy::Proxy::start(&socket);
    let host = format!("unix://{}", socket.display());
    let at = dir.clone();
    let (status, out, err) = tokio::task::spawn_blocking(move || {
        up_with(&at, &[("DOCKER_HOST", &host)], "late", |_| proxy.down())
    })
    .await
    .unwrap();
    let team = team_of(&dir.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    assert_eq!(status.code(), Some(1), "up exits 1:\n{out}\n{err}");
    assert!(!out.contains("Up:"), "{out}");
    assert!(err.contains("late failed at the health step"), "{err}");
    assert!(
        err.contains(&format!(
            "the container engine at unix://{}",
            socket.display()
        )) && err.contains("is unavailable"),
        "says the engine is gone:\n{err}"
    );
    ok(&dir, &["down"]);
    assert_eq!(left_behind(&engine, &team).await, Vec::<String>::new());
}
