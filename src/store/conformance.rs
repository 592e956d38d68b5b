//! The conformance suite: one set of checks that every [`Store`] must pass. Each store's
//! tests call [`run`] (a store outside the crate too, with the `testing` feature:
//! `kyozo::testing::store_conformance`); the suite talks to the store only through
//! `&dyn Store`, so it also proves the trait is object-safe.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Store, StoreError, StoreExt};
use crate::model::Actor;
use crate::model::*;

/// Runs every check against `store`, which must be empty.
///
/// # Panics
///
/// On the first check the store fails, saying what it did wrong (it is a test).
pub fn run(store: &dyn Store) {
    tenancy_records(store);
    services_need_their_workspace(store);
    events_are_numbered_and_append_only(store);
    concurrent_appends_have_no_gap_or_duplicate(store);
    workspace_events_by_time(store);
    health_history(store);
    metrics_ranges_downsampling_and_retention(store);
    dependencies(store);
    permissions(store);
    topologies(store);
}

struct Fixture {
    team: Team,
    ws: Workspace,
    owner: Member,
    services: Vec<ServiceInstance>,
}

fn fixture(store: &dyn Store, name: &str, services: usize) -> Fixture {
    let team = Team::new(name).unwrap();
    store.put_team(&team).unwrap();
    let ws = Workspace::new(team.id, "main").unwrap();
    store.put_workspace(&ws).unwrap();
    let owner = Member::new(team.id, format!("owner@{name}"), Role::Owner).unwrap();
    store.put_member(&owner).unwrap();
    let services = (0..services)
        .map(|i| {
            let s = ServiceInstance::new(team.id, ws.id, format!("svc-{i}"), format!("apps/{i}"));
            store.put_service(&s).unwrap();
            s
        })
        .collect();
    Fixture {
        team,
        ws,
        owner,
        services,
    }
}

fn event(f: &Fixture, svc: usize, kind: EventKind) -> NewEvent {
    let s = &f.services[svc];
    NewEvent::new(f.team.id, f.ws.id, s.id, kind, f.owner.actor())
}

fn tenancy_records(store: &dyn Store) {
    let a = fixture(store, "tenancy-a", 1);
    let b = fixture(store, "tenancy-b", 1);
    let teams = store.teams().unwrap();
    assert!(teams.iter().any(|t| t.id == a.team.id) && teams.iter().any(|t| t.id == b.team.id));
    assert_eq!(store.team(a.team.id).unwrap().as_ref(), Some(&a.team));

    // Each team sees its own records, and asking with another team's id finds nothing.
    assert_eq!(store.workspaces(a.team.id).unwrap(), vec![a.ws.clone()]);
    assert_eq!(store.workspace(b.team.id, a.ws.id).unwrap(), None);
    assert_eq!(store.members(a.team.id).unwrap(), vec![a.owner.clone()]);
    assert_eq!(store.member(b.team.id, a.owner.id).unwrap(), None);
    assert_eq!(store.services(a.team.id, None).unwrap(), a.services);
    assert_eq!(store.service(b.team.id, a.services[0].id).unwrap(), None);
    assert_eq!(
        store.service(a.team.id, a.services[0].id).unwrap().as_ref(),
        Some(&a.services[0])
    );

    // Replacing a record keeps one copy.
    let mut renamed = a.owner.clone();
    renamed.role = Role::Admin;
    store.put_member(&renamed).unwrap();
    assert_eq!(store.members(a.team.id).unwrap(), vec![renamed.clone()]);

    // Records of a team that does not exist are refused.
    let orphan = Workspace::new(TeamId::new(), "orphan").unwrap();
    assert!(matches!(
        store.put_workspace(&orphan),
        Err(StoreError::NotFound { kind: "team", .. })
    ));
    let orphan = Member::new(TeamId::new(), "nobody", Role::Viewer).unwrap();
    assert!(matches!(
        store.put_member(&orphan),
        Err(StoreError::NotFound { kind: "team", .. })
    ));

    assert!(store.delete_member(a.team.id, renamed.id).unwrap());
    assert!(!store.delete_member(a.team.id, renamed.id).unwrap());
    assert_eq!(store.member(a.team.id, renamed.id).unwrap(), None);
}

fn services_need_their_workspace(store: &dyn Store) {
    let a = fixture(store, "svc-a", 0);
    let b = fixture(store, "svc-b", 0);
    // A service of team B in team A's workspace: refused, nothing written.
    let cross = ServiceInstance::new(b.team.id, a.ws.id, "cross", "x");
    assert!(matches!(
        store.put_service(&cross),
        Err(StoreError::NotFound {
            kind: "workspace",
            ..
        })
    ));
    assert_eq!(store.service(b.team.id, cross.id).unwrap(), None);
    assert_eq!(store.service(a.team.id, cross.id).unwrap(), None);

    // Invalid services are refused with the field named.
    let mut bad = ServiceInstance::new(a.team.id, a.ws.id, "web", "web");
    bad.ports = vec![
        PortMapping::new(80, Some(8080)),
        PortMapping::new(81, Some(8080)),
    ];
    match store.put_service(&bad) {
        Err(StoreError::Invalid(e)) => assert_eq!(e.field(), "ports"),
        other => panic!("expected an invalid-record error, got {other:?}"),
    }
    assert_eq!(store.service(a.team.id, bad.id).unwrap(), None);

    // Workspace filter and delete.
    let ws2 = Workspace::new(a.team.id, "second").unwrap();
    store.put_workspace(&ws2).unwrap();
    let s1 = ServiceInstance::new(a.team.id, a.ws.id, "one", "one");
    let s2 = ServiceInstance::new(a.team.id, ws2.id, "two", "two");
    store.put_service(&s1).unwrap();
    store.put_service(&s2).unwrap();
    assert_eq!(
        store.services(a.team.id, Some(ws2.id)).unwrap(),
        vec![s2.clone()]
    );
    assert_eq!(
        store.services(a.team.id, None).unwrap(),
        vec![s1.clone(), s2.clone()]
    );
    assert!(store.delete_service(a.team.id, s2.id).unwrap());
    assert!(!store.delete_service(a.team.id, s2.id).unwrap());
    assert_eq!(store.services(a.team.id, None).unwrap(), vec![s1]);
}

fn events_are_numbered_and_append_only(store: &dyn Store) {
    let f = fixture(store, "events", 2);
    let other = fixture(store, "events-other", 1);
    let (t, s0, s1) = (f.team.id, f.services[0].id, f.services[1].id);
    assert_eq!(store.last_seq(t, s0).unwrap(), 0);
    assert!(store.latest_events(t, s0, 10).unwrap().is_empty());

    let first = store
        .append_event(event(&f, 0, EventKind::ServiceCreated))
        .unwrap();
    assert_eq!(first.seq, 1);
    let batch = store
        .append_events(vec![
            event(&f, 0, EventKind::DeploymentStarted).with_payload(EventPayload::Deployment {
                deployment: DeploymentId::new(),
                image: None,
            }),
            event(&f, 1, EventKind::ServiceCreated),
            event(&f, 0, EventKind::Started),
        ])
        .unwrap();
    assert_eq!(
        batch.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 1, 3]
    );
    assert_eq!(store.last_seq(t, s0).unwrap(), 3);
    assert_eq!(store.last_seq(t, s1).unwrap(), 1);

    let all = store.all_events(t, s0).unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[0], first);
    assert_eq!(all[2], batch[2]);
    assert_eq!(store.events(t, s0, 2..=3).unwrap(), all[1..].to_vec());
    assert_eq!(store.events(t, s0, 5..=9).unwrap(), vec![]);
    let newest = store.latest_events(t, s0, 2).unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 2]);

    // Another team cannot read them, even knowing the ids.
    assert!(store.all_events(other.team.id, s0).unwrap().is_empty());
    assert_eq!(store.last_seq(other.team.id, s0).unwrap(), 0);

    // A batch with one bad event stores nothing.
    let before = store.last_seq(t, s0).unwrap();
    let bad = vec![
        event(&f, 0, EventKind::Stopped),
        event(&f, 0, EventKind::Scaled), // a scaled event needs a Scaled payload
    ];
    assert!(matches!(
        store.append_events(bad),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.last_seq(t, s0).unwrap(), before);

    // Unknown service, another team's service, the wrong workspace: refused.
    let mut stray = event(&f, 0, EventKind::Started);
    stray.service = ServiceId::new();
    assert!(matches!(
        store.append_event(stray),
        Err(StoreError::NotFound {
            kind: "service",
            ..
        })
    ));
    let mut cross = event(&f, 0, EventKind::Started);
    cross.team = other.team.id;
    cross.workspace = other.ws.id;
    assert!(matches!(
        store.append_event(cross),
        Err(StoreError::NotFound { .. })
    ));
    let mut wrong_ws = event(&f, 0, EventKind::Started);
    wrong_ws.workspace = other.ws.id;
    assert!(matches!(
        store.append_event(wrong_ws),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.last_seq(t, s0).unwrap(), before);

    // A failure keeps its error and details; a removed service keeps its trail.
    let failed = store
        .append_event(
            event(&f, 1, EventKind::DeploymentFailed)
                .with_payload(EventPayload::Deployment {
                    deployment: DeploymentId::new(),
                    image: Some("web:1".into()),
                })
                .with_error(EventError::new("build failed").with_detail("step", "RUN make"))
                .with_duration(Duration::from_millis(1234)),
        )
        .unwrap();
    assert!(store.delete_service(t, s1).unwrap());
    let kept = store.all_events(t, s1).unwrap();
    assert_eq!(kept.last(), Some(&failed));
    assert_eq!(
        kept.last().and_then(|e| e.duration),
        Some(Duration::from_millis(1234))
    );
    assert!(matches!(
        store.append_event(event(&f, 1, EventKind::Started)),
        Err(StoreError::NotFound { .. })
    ));
}

fn concurrent_appends_have_no_gap_or_duplicate(store: &dyn Store) {
    let f = fixture(store, "concurrent", 2);
    let threads = 8;
    let per_thread = 40;
    let acked: Vec<Vec<(ServiceId, u64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let f = &f;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    for j in 0..per_thread {
                        let svc = (i + j) % 2;
                        let e = if j % 5 == 0 {
                            store
                                .append_events(vec![event(f, svc, EventKind::Restarted); 3])
                                .unwrap()
                        } else {
                            vec![
                                store
                                    .append_event(event(f, svc, EventKind::Restarted))
                                    .unwrap(),
                            ]
                        };
                        mine.extend(e.iter().map(|e| (e.service, e.seq)));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let acked: BTreeSet<(ServiceId, u64)> = acked.into_iter().flatten().collect();
    let total = threads * (per_thread + 2 * per_thread / 5);
    assert_eq!(
        acked.len(),
        total,
        "every acknowledged (service, seq) is unique"
    );
    for s in &f.services {
        let seqs: Vec<u64> = store
            .all_events(f.team.id, s.id)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "gap-free sequence for {}", s.name);
        assert!(seqs.iter().all(|q| acked.contains(&(s.id, *q))));
    }
}

fn workspace_events_by_time(store: &dyn Store) {
    let f = fixture(store, "ws-events", 2);
    let other_ws = Workspace::new(f.team.id, "other").unwrap();
    store.put_workspace(&other_ws).unwrap();
    let elsewhere = ServiceInstance::new(f.team.id, other_ws.id, "elsewhere", "e");
    store.put_service(&elsewhere).unwrap();
    let at = |ms: i64| Timestamp::from_millis(1_800_000_000_000 + ms);
    for (svc, ms) in [(0, 30), (1, 10), (0, 20), (1, 40), (0, 50)] {
        store
            .append_event(event(&f, svc, EventKind::Started).at(at(ms)))
            .unwrap();
    }
    store
        .append_event(
            NewEvent::new(
                f.team.id,
                other_ws.id,
                elsewhere.id,
                EventKind::Started,
                Actor::System,
            )
            .at(at(25)),
        )
        .unwrap();
    let got = store
        .workspace_events(f.team.id, f.ws.id, at(10), at(50), 100)
        .unwrap();
    let times: Vec<i64> = got
        .iter()
        .map(|e| e.at.as_millis() - at(0).as_millis())
        .collect();
    assert_eq!(
        times,
        vec![10, 20, 30, 40],
        "oldest first, from inclusive, to exclusive"
    );
    assert!(got.iter().all(|e| e.workspace == f.ws.id));
    let limited = store
        .workspace_events(f.team.id, f.ws.id, at(0), at(100), 2)
        .unwrap();
    assert_eq!(limited, got[..2].to_vec());
    assert!(
        store
            .workspace_events(TeamId::new(), f.ws.id, at(0), at(100), 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .workspace_events(f.team.id, f.ws.id, at(50), at(10), 10)
            .unwrap()
            .is_empty()
    );
}

fn health_history(store: &dyn Store) {
    let f = fixture(store, "health", 1);
    let s = f.services[0].id;
    let checks: Vec<HealthCheck> = (0..5)
        .map(|i| {
            let status = if i % 2 == 0 {
                HealthStatus::Healthy
            } else {
                HealthStatus::Unhealthy
            };
            HealthCheck::new(f.team.id, s, HealthCheckKind::Http, ":8080/health", status)
                .at(Timestamp::from_millis(1_000 * i))
                .with_response_time(Duration::from_millis(3))
        })
        .collect();
    store.record_health(&checks[..3]).unwrap();
    store.record_health(&checks[3..]).unwrap();
    let newest = store.health_history(f.team.id, s, 3).unwrap();
    assert_eq!(
        newest,
        vec![checks[4].clone(), checks[3].clone(), checks[2].clone()]
    );
    assert!(
        store
            .health_history(TeamId::new(), s, 3)
            .unwrap()
            .is_empty()
    );
}

fn metrics_ranges_downsampling_and_retention(store: &dyn Store) {
    let f = fixture(store, "metrics", 2);
    let (t, s) = (f.team.id, f.services[0].id);
    let samples: Vec<ServiceMetric> = (0..10)
        .map(|i| {
            let mut m = ServiceMetric::new(t, s, Timestamp::from_millis(10_000 + i * 1_000));
            m.cpu_percent = i as f64;
            m.memory_bytes = 100 * i as u64;
            m
        })
        .collect();
    store.record_metrics(&samples).unwrap();
    let mut other = ServiceMetric::new(t, f.services[1].id, Timestamp::from_millis(12_000));
    other.cpu_percent = 99.0;
    store.record_metrics(&[other]).unwrap();

    let got = store
        .metrics(
            t,
            s,
            Timestamp::from_millis(12_000),
            Timestamp::from_millis(15_000),
        )
        .unwrap();
    assert_eq!(
        got,
        samples[2..5].to_vec(),
        "from inclusive, to exclusive, one service only"
    );
    assert!(
        store
            .metrics(TeamId::new(), s, Timestamp::EPOCH, Timestamp::MAX)
            .unwrap()
            .is_empty()
    );

    let buckets = store
        .metrics_downsampled(
            t,
            s,
            Timestamp::EPOCH,
            Timestamp::MAX,
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(buckets.len(), 2);
    assert_eq!(
        (buckets[0].start.as_millis(), buckets[0].samples),
        (10_000, 5)
    );
    assert_eq!(buckets[0].cpu_percent, Aggregate { avg: 2.0, max: 4.0 });
    assert_eq!(
        buckets[1].memory_bytes,
        Aggregate {
            avg: 700.0,
            max: 900.0
        }
    );

    // Same millisecond replaces.
    let mut again = samples[0].clone();
    again.cpu_percent = 50.0;
    store.record_metrics(&[again.clone()]).unwrap();
    let first = store
        .metrics(t, s, Timestamp::EPOCH, Timestamp::from_millis(10_001))
        .unwrap();
    assert_eq!(first, vec![again]);

    let old = HealthCheck::new(t, s, HealthCheckKind::Tcp, ":5432", HealthStatus::Healthy)
        .at(Timestamp::from_millis(1));
    let new = HealthCheck::new(t, s, HealthCheckKind::Tcp, ":5432", HealthStatus::Healthy)
        .at(Timestamp::from_millis(20_000));
    store.record_health(&[old, new.clone()]).unwrap();
    let report = store.prune_history(Timestamp::from_millis(15_000)).unwrap();
    assert!(
        report.metrics >= 6,
        "5 old samples of one service and 1 of the other: {report:?}"
    );
    assert!(report.health_checks >= 1);
    let left = store
        .metrics(t, s, Timestamp::EPOCH, Timestamp::MAX)
        .unwrap();
    assert_eq!(left, samples[5..].to_vec());
    assert_eq!(store.health_history(t, s, 10).unwrap(), vec![new]);
}

fn dependencies(store: &dyn Store) {
    let f = fixture(store, "deps", 3);
    let other = fixture(store, "deps-other", 1);
    let (t, w) = (f.team.id, f.ws.id);
    let mut d = ServiceDependency::new(t, w, f.services[0].id, f.services[1].id);
    d.wiring = Wiring::EnvVar {
        name: "DATABASE_URL".into(),
    };
    store.put_dependency(&d).unwrap();
    let d2 = ServiceDependency::new(t, w, f.services[0].id, f.services[2].id);
    store.put_dependency(&d2).unwrap();
    let got = store.dependencies(t, w).unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.contains(&d) && got.contains(&d2));

    let selfish = ServiceDependency::new(t, w, f.services[0].id, f.services[0].id);
    assert!(matches!(
        store.put_dependency(&selfish),
        Err(StoreError::Invalid(_))
    ));
    let cross = ServiceDependency::new(t, w, f.services[0].id, other.services[0].id);
    assert!(matches!(
        store.put_dependency(&cross),
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.dependencies(other.team.id, w).unwrap().is_empty());

    assert!(store.delete_dependency(t, d.from, d.to).unwrap());
    assert!(!store.delete_dependency(t, d.from, d.to).unwrap());
    assert_eq!(store.dependencies(t, w).unwrap(), vec![d2]);
}

fn permissions(store: &dyn Store) {
    let f = fixture(store, "perms", 2);
    let other = fixture(store, "perms-other", 1);
    let t = f.team.id;
    let dev = Member::new(t, "dev@perms", Role::Member).unwrap();
    store.put_member(&dev).unwrap();
    let p = ServicePermission::new(t, dev.id, f.services[0].id, [Right::Deploy]);
    store.put_permission(&p).unwrap();
    let p2 = ServicePermission::new(t, dev.id, f.services[1].id, [Right::Logs]);
    store.put_permission(&p2).unwrap();
    assert_eq!(
        store
            .permission(t, dev.id, f.services[0].id)
            .unwrap()
            .as_ref(),
        Some(&p)
    );
    assert_eq!(store.permissions(t, dev.id).unwrap().len(), 2);
    assert_eq!(
        store
            .permission(other.team.id, dev.id, f.services[0].id)
            .unwrap(),
        None
    );

    // A grant on another team's service, or to another team's member: refused.
    let cross = ServicePermission::new(t, dev.id, other.services[0].id, [Right::Admin]);
    assert!(matches!(
        store.put_permission(&cross),
        Err(StoreError::NotFound {
            kind: "service",
            ..
        })
    ));
    let cross = ServicePermission::new(t, other.owner.id, f.services[0].id, [Right::Admin]);
    assert!(matches!(
        store.put_permission(&cross),
        Err(StoreError::NotFound { kind: "member", .. })
    ));

    assert!(
        store
            .delete_permission(t, dev.id, f.services[1].id)
            .unwrap()
    );
    assert!(
        !store
            .delete_permission(t, dev.id, f.services[1].id)
            .unwrap()
    );
    assert_eq!(store.permissions(t, dev.id).unwrap(), vec![p]);

    // Removing a member removes their grants.
    assert!(store.delete_member(t, dev.id).unwrap());
    assert!(store.permissions(t, dev.id).unwrap().is_empty());
}

fn topologies(store: &dyn Store) {
    let f = fixture(store, "topo", 0);
    let mut d = TopologyDetection::new(f.team.id, "/src/shop");
    d.strategy = "per-service".into();
    d.patterns = vec!["monorepo".into()];
    d.duration = Duration::from_millis(42);
    store.put_topology(&d).unwrap();
    assert_eq!(store.topology(f.team.id, d.id).unwrap().as_ref(), Some(&d));
    assert_eq!(store.topologies(f.team.id).unwrap(), vec![d.clone()]);
    assert_eq!(store.topology(TeamId::new(), d.id).unwrap(), None);
    let orphan = TopologyDetection::new(TeamId::new(), "/x");
    assert!(matches!(
        store.put_topology(&orphan),
        Err(StoreError::NotFound { .. })
    ));
}
