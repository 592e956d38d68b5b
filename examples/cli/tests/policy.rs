//! Every `kyozo` command goes through the team's policy, as the library's calls do: a
//! viewer's `ps` and `health` run nothing inside containers (they show the last
//! recorded health), and `members` lists through the policy.
//!
//! The state is made with the library (a service whose health check is a command run in
//! its container, deployed on the real engine from the busybox test image), then the
//! binary runs as its owner and as a viewer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "../../../tests/common/docker.rs"]
mod docker;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use kyozo::backend::LABEL_TEAM;
use kyozo::model::{HealthCheckConfig, HealthProbe, Role, ServiceInstance};

/// `kyozo --state STATE -C DIR [--as MEMBER] ARGS`: exit code, stdout, stderr.
fn kyozo_as(
    state: &Path,
    dir: &Path,
    member: Option<&str>,
    args: &[&str],
) -> (i32, String, String) {
    let mut c = common::command();
    c.arg("--state").arg(state).arg("-C").arg(dir);
    if let Some(m) = member {
        c.args(["--as", m]);
    }
    let out = c.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// How many times the health check ran in the container (it appends a line each time).
fn probes(container: &str) -> usize {
    let out = Command::new("docker")
        .args([
            "exec",
            container,
            "sh",
            "-c",
            "cat /probed 2>/dev/null || true",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_runs_nothing_in_containers_and_members_go_through_the_policy() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let busybox = docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let state = dir.join("state.redb");
    let (team, container) = {
        let k = kyozo::Kyozo::builder()
            .state_file(&state)
            .backend(Arc::new(engine.clone()))
            .build()
            .unwrap();
        let (team, owner) = k.create_team("local", "olga").unwrap();
        let actor = owner.actor();
        k.add_member(actor, team.id, "vera", Role::Viewer).unwrap();
        let ws = k.create_workspace(actor, team.id, "probed").unwrap();
        k.set_workspace_root(actor, team.id, ws.id, &dir).unwrap();
        let mut s = ServiceInstance::new(team.id, ws.id, "probed", ".");
        s.image = Some(busybox.clone());
        s.config.command = Some(vec!["sleep".into(), "1000".into()]);
        s.health_check = Some(HealthCheckConfig::new(HealthProbe::Command {
            argv: vec!["sh".into(), "-c".into(), "echo probed >> /probed".into()],
        }));
        let s = k.create_service(actor, s).unwrap();
        k.deploy(actor, team.id, s.id).await.unwrap();
        let s = k.service(actor, team.id, s.id).unwrap();
        (team.id.to_string(), s.container_ids[0].clone())
    };
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.clone());
    let before = probes(&container);

    // The owner's ps checks health now: the command runs in the container.
    let (code, out, err) = kyozo_as(&state, &dir, None, &["ps"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("healthy"), "{out}");
    let after_owner = probes(&container);
    assert!(after_owner > before, "the owner's ps ran the check");

    // The viewer's ps and health: the last recorded health, nothing run.
    let (code, out, err) = kyozo_as(&state, &dir, Some("vera"), &["ps"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("healthy"), "the recorded health:\n{out}");
    let (code, out, err) = kyozo_as(&state, &dir, Some("vera"), &["health"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("healthy"), "{out}");
    let (code, out, err) = kyozo_as(&state, &dir, Some("vera"), &["health", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["services"][0]["status"], "healthy", "{doc}");
    assert_eq!(
        probes(&container),
        after_owner,
        "a viewer's ps and health ran nothing in the container"
    );

    // members: the viewer lists them (the policy lets every member of the team).
    let (code, out, err) = kyozo_as(&state, &dir, Some("vera"), &["members"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("olga") && out.contains("vera"), "{out}");

    let (code, _, err) = kyozo_as(&state, &dir, None, &["down"]);
    assert_eq!(code, 0, "{err}");
}

/// `Kyozo::members`, which `kyozo members` calls: a team's members, for its members
/// only; another team's owner learns nothing (not found, as for a team that does not
/// exist).
#[test]
fn listing_members_goes_through_the_policy() {
    let k = kyozo::Kyozo::builder().build().unwrap();
    let (a, ann) = k.create_team("a", "ann").unwrap();
    let (_, bob) = k.create_team("b", "bob").unwrap();
    k.add_member(ann.actor(), a.id, "vic", Role::Viewer)
        .unwrap();
    let vic = k
        .store()
        .members(a.id)
        .unwrap()
        .into_iter()
        .find(|m| m.user == "vic")
        .unwrap();
    let users: Vec<String> = k
        .members(vic.actor(), a.id)
        .unwrap()
        .into_iter()
        .map(|m| m.user)
        .collect();
    assert_eq!(users.len(), 2, "{users:?}");
    let err = k.members(bob.actor(), a.id).unwrap_err();
    assert!(
        matches!(err, kyozo::Error::NotFound { .. }),
        "another team's owner: {err:?}"
    );
}
