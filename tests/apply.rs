//! `Kyozo::apply`: the one call that makes the runtime's service what a plan says. A
//! first apply creates it; a later one updates the same service (its id kept), keeping
//! what is the runtime's to say once it runs (its replica count, the image its last
//! deployment built) and taking everything else from the plan.

#![allow(clippy::unwrap_used)]

mod common;

use kyozo::model::EventKind;
use kyozo::plan::{DeploySpec, Planner};

#[tokio::test]
async fn apply_creates_then_updates_the_same_service_from_the_plan() {
    let kyozo = kyozo::Kyozo::builder().build().unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let actor = owner.actor();
    let ws = kyozo.create_workspace(actor, team.id, "shop").unwrap();
    let topology = common::analyze("plan-flask");
    let mut plan = Planner::new().plan(&topology);
    let planned = &mut plan.services[0];

    let created = kyozo.apply(actor, team.id, ws.id, planned).await.unwrap();
    assert_eq!(DeploySpec::from_service(&created), planned.spec.resolved());

    // What runs says: scaled to 3, and its last deployment built an image.
    let mut running = kyozo.service(actor, team.id, created.id).unwrap();
    running.replicas = 3;
    running.image = Some("kyozo/plan-flask:0123abcd-ffff".into());
    kyozo.store().put_service(&running).unwrap();

    // The plan changes: a new env var.
    planned
        .spec
        .env
        .insert("GREETING".into(), "${GREETING:-hello}".into());
    let updated = kyozo.apply(actor, team.id, ws.id, planned).await.unwrap();
    assert_eq!(updated.id, created.id, "the same service");
    assert_eq!(updated.replicas, 3, "the replica count is scale's to say");
    assert_eq!(
        updated.image.as_deref(),
        Some("kyozo/plan-flask:0123abcd-ffff"),
        "the image its last deployment built"
    );
    assert_eq!(
        updated.env.get("GREETING").map(|v| v.expose().to_string()),
        Some("hello".to_string())
    );
    assert_eq!(
        kyozo.services(actor, team.id, Some(ws.id)).unwrap().len(),
        1
    );
    let mut spec = planned.spec.resolved();
    spec.replicas = 3;
    assert_eq!(DeploySpec::from_service(&updated), spec);
    let kinds: Vec<EventKind> = kyozo
        .events(actor, team.id, created.id, 10)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&EventKind::ServiceCreated), "{kinds:?}");
    assert!(kinds.contains(&EventKind::ConfigChanged), "{kinds:?}");

    // Applied again unchanged: nothing to record.
    let again = kyozo.apply(actor, team.id, ws.id, planned).await.unwrap();
    assert_eq!(again.id, created.id);
    assert_eq!(
        kyozo.events(actor, team.id, created.id, 10).unwrap().len(),
        kinds.len()
    );
}
