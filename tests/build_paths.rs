//! What a library caller gives as paths is held to the workspace: a build context or
//! Dockerfile that climbs out (`..`, an absolute path, a link), a build network that is
//! not a network name, a workspace root that is not an existing folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;

use std::sync::Arc;

use kyozo::Kyozo;
use kyozo::model::ServiceInstance;

fn team(kyozo: &Kyozo, root: &std::path::Path) -> (kyozo::model::Member, kyozo::model::Workspace) {
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    let ws = kyozo
        .set_workspace_root(owner.actor(), team.id, ws.id, root)
        .unwrap();
    (owner, ws)
}

#[test]
fn paths_that_climb_out_and_odd_network_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kyozo = Kyozo::builder().build().unwrap();
    let (owner, ws) = team(&kyozo, dir.path());
    type Edit = Box<dyn Fn(&mut ServiceInstance)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "config.build_context",
            Box::new(|s| s.config.build_context = Some("../elsewhere".into())),
        ),
        (
            "config.build_context",
            Box::new(|s| s.config.build_context = Some("/etc".into())),
        ),
        (
            "config.dockerfile",
            Box::new(|s| s.config.dockerfile = Some("../../etc/passwd".into())),
        ),
        (
            "config.build_network",
            Box::new(|s| s.config.build_network = Some("host --privileged".into())),
        ),
        (
            "config.build_network",
            Box::new(|s| s.config.build_network = Some("-x".into())),
        ),
    ];
    for (field, edit) in cases {
        let mut s = ServiceInstance::new(ws.team, ws.id, "web", "web");
        edit(&mut s);
        let e = kyozo.create_service(owner.actor(), s).unwrap_err();
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    let mut fine = ServiceInstance::new(ws.team, ws.id, "web", "web");
    fine.config.build_context = Some("apps/web".into());
    fine.config.build_network = Some("host".into());
    kyozo.create_service(owner.actor(), fine).unwrap();
}

#[test]
fn a_workspace_root_is_an_existing_folder_with_links_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let kyozo = Kyozo::builder().build().unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    for bad in [
        std::path::PathBuf::from("relative/path"),
        dir.path().join("missing"),
    ] {
        let e = kyozo
            .set_workspace_root(owner.actor(), team.id, ws.id, &bad)
            .unwrap_err();
        assert!(e.to_string().contains("workspace.root"), "{e}");
    }
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let ws = kyozo
        .set_workspace_root(owner.actor(), team.id, ws.id, &link)
        .unwrap();
    assert_eq!(ws.root, Some(std::fs::canonicalize(&real).unwrap()));
}

#[tokio::test]
async fn a_build_context_or_dockerfile_linked_out_of_the_workspace_is_refused() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(outside.join("secret.txt"), "do not send me\n").unwrap();
    // A folder of the project that is a link out of it.
    std::os::unix::fs::symlink(&outside, root.join("web")).unwrap();
    // A Dockerfile of the project that is a link out of it.
    std::fs::create_dir(root.join("api")).unwrap();
    std::os::unix::fs::symlink(outside.join("Dockerfile"), root.join("api/Dockerfile")).unwrap();

    let kyozo = Kyozo::builder().backend(Arc::new(engine)).build().unwrap();
    let (owner, ws) = team(&kyozo, &root);
    // Nothing should reach the engine; whatever would is removed.
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, ws.team.to_string());
    for (name, why) in [
        ("web", "leads out of the workspace's folder"),
        ("api", "leads out of its build context"),
    ] {
        let mut s = ServiceInstance::new(ws.team, ws.id, name, name);
        s.config.dockerfile = Some("Dockerfile".into());
        let s = kyozo.create_service(owner.actor(), s).unwrap();
        let e = kyozo
            .deploy(owner.actor(), ws.team, s.id)
            .await
            .unwrap_err();
        assert!(
            matches!(e, kyozo::Error::Deploy { step: "build", .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains(why), "{name}: {e}");
    }
}
