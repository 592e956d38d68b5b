//! `Kyozo::subscribe` without an engine: each team has its own channel, so a subscriber
//! that falls behind is told how many of its own team's events it missed, and another
//! team's flood makes nobody fall behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::StreamExt;
use kyozo::Kyozo;
use kyozo::model::{EventKind, ServiceInstance};
use kyozo::runtime::BUS_CAPACITY;

fn create(kyozo: &Kyozo, owner: &kyozo::model::Member, ws: kyozo::model::WorkspaceId, n: usize) {
    for i in 0..n {
        let s = ServiceInstance::new(owner.team, ws, format!("svc-{i}"), ".");
        kyozo.create_service(owner.actor(), s).unwrap();
    }
}

#[tokio::test]
async fn another_teams_flood_makes_nobody_fall_behind() {
    let kyozo = Kyozo::builder().build().unwrap();
    let (a, ada) = kyozo.create_team("a", "ada@a.test").unwrap();
    let (b, bob) = kyozo.create_team("b", "bob@b.test").unwrap();
    let ws_a = kyozo.create_workspace(ada.actor(), a.id, "main").unwrap();
    let ws_b = kyozo.create_workspace(bob.actor(), b.id, "main").unwrap();
    let mut mine = kyozo.subscribe(ada.actor(), a.id).unwrap();
    let mut theirs = kyozo.subscribe(bob.actor(), b.id).unwrap();

    create(&kyozo, &bob, ws_b.id, BUS_CAPACITY + 100);
    create(&kyozo, &ada, ws_a.id, 1);
    let first = tokio::time::timeout(Duration::from_secs(5), mine.next())
        .await
        .expect("an event")
        .unwrap();
    let event = first.expect("not behind: the flood was another team's");
    assert_eq!((event.team, event.kind), (a.id, EventKind::ServiceCreated));

    // Team b's own subscriber did fall behind, by exactly its team's overflow.
    let lagged = theirs.next().await.unwrap();
    assert_eq!(lagged.unwrap_err(), 100);
    let next = theirs.next().await.unwrap().unwrap();
    assert_eq!(next.team, b.id);
}
