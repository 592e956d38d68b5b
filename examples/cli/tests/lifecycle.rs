//! `kyozo` and a folder's state and processes, on the real Docker Engine: commands that
//! deploy nothing leave no `.kyozo/` behind; the state of one `up` is sized to its work
//! (no preallocated megabytes); a service whose process exits at once fails `up` with
//! its exit code and last line; a one-shot program is a job: the plan names it, `up`
//! waits for it and says it completed and what it said, `ps` names it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::kyozo;

#[path = "../../../tests/common/docker.rs"]
mod docker;
#[path = "../../../tests/common/images.rs"]
mod images;

use std::path::{Path, PathBuf};

/// A folder holding `files`, canonical.
fn folder(tmp: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    std::fs::canonicalize(&dir).unwrap()
}

/// The local team's id in a folder's state file.
fn team_of(state: &Path) -> String {
    let kyozo = kyozo::Kyozo::builder().state_file(state).build().unwrap();
    let teams = kyozo.store().teams().unwrap();
    teams
        .iter()
        .find(|t| t.name == "local")
        .unwrap()
        .id
        .to_string()
}

/// The bytes the files of `dir` take.
fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_that_deploy_nothing_leave_no_state_folder() {
    let Some(_engine) = docker::engine().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // Nothing Kyozo can plan here.
    let dir = folder(tmp.path(), "notes", &[("notes.txt", "nothing to run\n")]);
    let d = dir.to_str().unwrap();
    for args in [
        vec!["analyze", d],
        vec!["plan", d],
        vec!["-C", d, "ps"],
        vec!["-C", d, "down"],
        vec!["up", d],
    ] {
        let (_, out, err) = kyozo(&args);
        assert!(
            !dir.join(".kyozo").exists(),
            "kyozo {args:?} made .kyozo/:\n{out}\n{err}"
        );
    }
    let (code, _, err) = kyozo(&["up", d]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nothing to run"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_of_one_up_is_sized_to_its_work() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let busybox = docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(
        tmp.path(),
        "small",
        &[(
            "Dockerfile",
            &format!("FROM {busybox}\nCMD [\"sh\", \"-c\", \"echo up; exec sleep 300\"]\n"),
        )],
    );
    let (code, out, err) = kyozo(&["up", dir.to_str().unwrap()]);
    let team = team_of(&dir.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team);
    assert_eq!(code, 0, "{out}\n{err}");
    let size = size_of(&dir.join(".kyozo"));
    eprintln!("the state after one up: {size} bytes");
    assert!(size < 1024 * 1024, "the state takes {size} bytes");
    let (code, _, err) = kyozo(&["-C", dir.to_str().unwrap(), "down"]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_exits_at_once_fails_up_with_its_code_and_last_line() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let busybox = docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(
        tmp.path(),
        "crashing",
        &[(
            "Dockerfile",
            &format!(
                "FROM {busybox}\nCMD [\"sh\", \"-c\", \"echo starting; echo 'fatal: no config file'; exit 3\"]\n"
            ),
        )],
    );
    let (code, out, err) = kyozo(&["up", dir.to_str().unwrap()]);
    let team = team_of(&dir.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("failed at the start step"), "{err}");
    assert!(err.contains("exited with code 3"), "{err}");
    assert!(err.contains("fatal: no config file"), "{err}");
    assert!(!out.contains("Up:"), "{out}");
    kyozo(&["-C", dir.to_str().unwrap(), "down"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_shot_program_is_a_job_that_up_runs_to_completion() {
    let Some(_engine) = docker::engine().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(
        tmp.path(),
        "hello-once",
        &[
            ("main.py", "print('hello from the job')\n"),
            ("requirements.txt", ""),
        ],
    );
    let d = dir.to_str().unwrap();
    let python = format!("python={}", images::runtimes());

    // The plan names it a job, in text and in JSON, and writes nothing.
    let (code, out, err) = kyozo(&["plan", d, "--dry-run", "--image", &python]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("job: runs once"), "{out}");
    let (code, out, err) = kyozo(&["plan", d, "--dry-run", "--json", "--image", &python]);
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let spec = &plan["plan"]["services"][0]["spec"];
    assert_eq!(spec["kind"], "job", "{plan}");
    assert_eq!(spec["restart"]["kind"], "never", "{plan}");

    // `up` runs it to its end: completed, with its output.
    let (code, out, err) = kyozo(&["up", d, "--image", &python]);
    let team = team_of(&dir.join(".kyozo/state.redb"));
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("completed"), "{err}");
    assert!(err.contains("hello from the job"), "{err}");
    assert!(!err.contains("failed"), "{err}");

    // `ps` names it a job that completed, exited 0.
    let (code, out, err) = kyozo(&["-C", d, "ps"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("job completed"), "{out}");
    assert!(out.contains("exited 0"), "{out}");
    let (code, out, err) = kyozo(&["-C", d, "ps", "--json"]);
    assert_eq!(code, 0, "{err}");
    let ps: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ps["services"][0]["kind"], "job", "{ps}");
    assert_eq!(ps["services"][0]["exit_code"], 0, "{ps}");
    assert_eq!(ps["services"][0]["status"], "completed", "{ps}");
    let (code, _, err) = kyozo(&["-C", d, "down"]);
    assert_eq!(code, 0, "{err}");
}
