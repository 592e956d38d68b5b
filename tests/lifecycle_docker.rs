//! What a planned service's process does once started, on the real Docker Engine: a
//! process that exits at once fails the deployment at its `start` step with its exit
//! code and last line (what ran before runs on); a service whose process is killed
//! comes back, because the plan gives services a restart policy, and the plan, the
//! compose file and the container say the same one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/runtime.rs"]
mod runtime;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kyozo::Kyozo;
use kyozo::backend::LABEL_TEAM;
use kyozo::model::{Member, RestartPolicy, TeamId, WorkspaceId};

use docker::{BUSYBOX, Cleanup, engine};
use runtime::kyozo_on;

/// A folder holding a Dockerfile of the busybox test image that runs `script`.
fn folder(tmp: &Path, script: &str) -> PathBuf {
    let dir = tmp.join("app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {BUSYBOX}\nCMD [\"sh\", \"-c\", {script:?}]\n"),
    )
    .unwrap();
    std::fs::canonicalize(&dir).unwrap()
}

/// A team and a workspace rooted at `root`.
fn workspace(kyozo: &Kyozo, root: &Path) -> (TeamId, Member, WorkspaceId) {
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "app")
        .unwrap();
    ws.root = Some(root.to_path_buf());
    kyozo.store().put_workspace(&ws).unwrap();
    (team.id, owner, ws.id)
}

/// The plan of `root`, analysed through the workspace.
fn plan(kyozo: &Kyozo, owner: &Member, ws: WorkspaceId, root: &Path) -> kyozo::plan::Plan {
    let w = kyozo
        .workspaces(owner.actor(), owner.team)
        .unwrap()
        .into_iter()
        .find(|w| w.id == ws)
        .unwrap();
    let (topology, _) = kyozo.analyze(owner.actor(), &w, root).unwrap();
    kyozo::plan::Planner::new().plan(&topology)
}

fn docker_inspect(id: &str, format: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["inspect", "-f", format, id])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn a_service_that_exits_at_once_fails_its_deploy_with_its_code_and_last_line() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let root = folder(tmp.path(), "echo serving; exec sleep 300");
    let (team, owner, ws) = workspace(&kyozo, &root);
    let _cleanup = Cleanup::for_label(LABEL_TEAM, team.to_string());

    // A version that runs: deployed.
    let first = plan(&kyozo, &owner, ws, &root);
    let s = kyozo
        .apply(owner.actor(), team, ws, &first.services[0])
        .await
        .unwrap();
    let good = kyozo.deploy(owner.actor(), team, s.id).await.unwrap();
    let old = good.containers[0].0.clone();

    // A version that prints and exits 3 at once: the deployment fails at `start`, says
    // the code and what the process said last; the old replica runs on.
    std::fs::write(
        root.join("Dockerfile"),
        format!(
            "FROM {BUSYBOX}\nCMD [\"sh\", \"-c\", \"echo starting; echo 'fatal: no config file'; exit 3\"]\n"
        ),
    )
    .unwrap();
    let second = plan(&kyozo, &owner, ws, &root);
    kyozo
        .apply(owner.actor(), team, ws, &second.services[0])
        .await
        .unwrap();
    let started = Instant::now();
    let err = kyozo.deploy(owner.actor(), team, s.id).await.unwrap_err();
    let took = started.elapsed();
    match &err {
        kyozo::Error::Deploy { step, message, .. } => {
            assert_eq!(*step, "start", "{err}");
            assert!(message.contains("exited with code 3"), "{message}");
            assert!(message.contains("fatal: no config file"), "{message}");
        }
        other => panic!("not a deploy error: {other}"),
    }
    assert!(took < Duration::from_secs(30), "failed in {took:?}");
    assert!(
        backend.inspect(&old).await.unwrap().running,
        "the old replica runs on"
    );
}

#[tokio::test]
async fn a_killed_service_container_comes_back_as_the_plan_and_compose_file_say() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let root = folder(tmp.path(), "echo serving; exec sleep 300");
    let (team, owner, ws) = workspace(&kyozo, &root);
    let _cleanup = Cleanup::for_label(LABEL_TEAM, team.to_string());

    let plan = plan(&kyozo, &owner, ws, &root);
    let planned = &plan.services[0];
    assert_eq!(planned.spec.restart, RestartPolicy::Always);
    let compose: serde_json::Value = serde_saphyr::from_str(&plan.compose().unwrap()).unwrap();
    assert_eq!(
        compose["services"][&planned.name]["restart"], "unless-stopped",
        "{compose}"
    );

    let s = kyozo.apply(owner.actor(), team, ws, planned).await.unwrap();
    assert_eq!(s.config.restart, RestartPolicy::Always);
    let report = kyozo.deploy(owner.actor(), team, s.id).await.unwrap();
    let id = report.containers[0].0.clone();
    assert_eq!(
        docker_inspect(&id, "{{.HostConfig.RestartPolicy.Name}}"),
        "unless-stopped"
    );

    // Its process killed (as by the kernel, or a crash), not the container stopped by
    // someone: `docker kill` and `docker stop` count as stopping it on purpose.
    let killed = std::process::Command::new("docker")
        .args(["exec", &id, "sh", "-c", "kill -9 $(pidof sleep)"])
        .output()
        .unwrap();
    assert!(killed.status.success(), "{killed:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = backend.inspect(&id).await.unwrap();
        if state.running && state.restart_count >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed container did not come back: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
