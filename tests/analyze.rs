//! `Kyozo::analyze`: runs the topology engine for a workspace, applies the policy, and
//! stores the result as a `TopologyDetection` of the team.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kyozo::model::Role;
use kyozo::{Error, Kyozo};

#[test]
fn analyze_stores_a_detection_and_follows_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM alpine\nEXPOSE 8080\nCMD [\"./app\"]\n",
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let kyozo = Kyozo::builder()
        .state_file(state.path().join("k.redb"))
        .build()
        .unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada").unwrap();
    let ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();

    let (topology, record) = kyozo.analyze(owner.actor(), &ws, dir.path()).unwrap();
    assert_eq!(record.team, team.id);
    assert_eq!(record.workspace, Some(ws.id));
    assert_eq!(record.services.len(), topology.services.len());
    assert_eq!(record.strategy, topology.strategy.as_str());
    let stored = kyozo.store().topology(team.id, record.id).unwrap().unwrap();
    assert_eq!(stored, record);

    // A viewer may not analyse; another team's member learns nothing.
    let viewer = kyozo
        .add_member(owner.actor(), team.id, "vic", Role::Viewer)
        .unwrap();
    assert!(matches!(
        kyozo.analyze(viewer.actor(), &ws, dir.path()),
        Err(Error::Auth(_))
    ));
    let (_, rex) = kyozo.create_team("rival", "rex").unwrap();
    assert!(matches!(
        kyozo.analyze(rex.actor(), &ws, dir.path()),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        kyozo.store().topologies(team.id).unwrap().len(),
        1,
        "refused calls store nothing"
    );

    // A missing folder is a clear error.
    let err = kyozo
        .analyze(owner.actor(), &ws, dir.path().join("nope"))
        .unwrap_err();
    assert!(matches!(err, Error::Topology(_)), "{err}");
}
