//! The manager on the real Docker Engine: a container killed from outside becomes a
//! `crashed` event and the `failed` status within 2 s; an OOM kill becomes an
//! `oom_killed` event; a restarted process reconciles with what runs (adopts it, no
//! duplicates, vanished containers recorded, no event lost).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/runtime.rs"]
mod runtime;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kyozo::Kyozo;
use kyozo::backend::{ContainerBackend, LABEL_SERVICE, LABEL_TEAM};
use kyozo::model::{EventKind, EventPayload, PortMapping, ServiceStatus};

use docker::{Cleanup, busybox, engine};
use runtime::{event_within, kyozo_on, service};

#[tokio::test]
async fn a_container_killed_from_outside_is_recorded_as_a_crash() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-httpd", |s| {
        s.ports.push(PortMapping::new(8080, None))
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let deployed = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let manager = kyozo.start_manager().await.unwrap();
    assert_eq!(
        manager.reconciled.adopted,
        vec![deployed.containers[0].0.clone()]
    );

    // Killed behind Kyozo's back.
    backend.kill(&deployed.containers[0].0).await.unwrap();
    let (crash, took) = event_within(
        &kyozo,
        &owner,
        &s,
        EventKind::Crashed,
        // Within a second or two on an idle machine (printed below); the bound is
        // for a loaded one.
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(
        crash.payload,
        EventPayload::Exited {
            container: deployed.containers[0].0.clone(),
            exit_code: Some(137)
        }
    );
    eprintln!("crash recorded {took:?} after the kill");
    let deadline = Instant::now() + Duration::from_secs(15);
    while kyozo.service(owner.actor(), s.team, s.id).unwrap().status != ServiceStatus::Failed {
        assert!(Instant::now() < deadline, "status failed within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Kyozo's own stop is no crash.
    kyozo.start(owner.actor(), s.team, s.id).await.unwrap();
    kyozo
        .stop(owner.actor(), s.team, s.id, Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let crashes = kyozo
        .events(owner.actor(), s.team, s.id, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::Crashed)
        .count();
    assert_eq!(crashes, 1);
    manager.shutdown().await;
}

#[tokio::test]
async fn an_oom_kill_is_an_oom_event() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-httpd", |s| {
        // Runs a moment, then reads /dev/zero into memory until the kernel steps in.
        s.config.command = Some(vec![
            "sh".into(),
            "-c".into(),
            "sleep 1; tail /dev/zero".into(),
        ]);
        s.limits.memory_bytes = Some(32 << 20);
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let manager = kyozo.start_manager().await.unwrap();
    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let (oom, _) = event_within(
        &kyozo,
        &owner,
        &s,
        EventKind::OomKilled,
        Duration::from_secs(30),
    )
    .await;
    assert!(matches!(oom.payload, EventPayload::Exited { .. }));
    manager.shutdown().await;
}

/// The process that ran Kyozo stops while its services run; a new one on the same state
/// file adopts the running containers (no duplicates), records the one that vanished
/// meanwhile, and has every event the first one wrote.
#[tokio::test]
async fn a_restarted_process_reconciles_with_what_runs() {
    let Some(engine) = engine().await else { return };
    busybox(&engine).await;
    let backend: Arc<dyn ContainerBackend> = Arc::new(engine);
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("kyozo.redb");
    let first = Kyozo::builder()
        .state_file(&file)
        .backend(backend.clone())
        .build()
        .unwrap();
    let (owner, s) = service(&first, "deploy-httpd", |s| {
        s.ports.push(PortMapping::new(8080, None));
        s.replicas = 2;
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let deployed = first.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let before = first.events(owner.actor(), s.team, s.id, 100).unwrap();
    drop(first);

    // While no Kyozo runs, one replica disappears.
    let (gone, kept) = (
        deployed.containers[0].0.clone(),
        deployed.containers[1].0.clone(),
    );
    backend.remove(&gone).await.unwrap();

    let second = Kyozo::builder()
        .state_file(&file)
        .backend(backend.clone())
        .build()
        .unwrap();
    let manager = second.start_manager().await.unwrap();
    assert_eq!(manager.reconciled.adopted, vec![kept.clone()]);
    assert_eq!(manager.reconciled.vanished, vec![gone.clone()]);
    let by_service = BTreeMap::from([(LABEL_SERVICE.to_string(), s.id.to_string())]);
    assert_eq!(
        backend.list(&by_service).await.unwrap().len(),
        1,
        "no duplicates"
    );
    let after = second.events(owner.actor(), s.team, s.id, 100).unwrap();
    assert_eq!(&after[1..], &before[..], "every earlier event is there");
    assert_eq!(after[0].kind, EventKind::Crashed);
    let stored = second.service(owner.actor(), s.team, s.id).unwrap();
    assert_eq!(stored.container_ids, vec![kept]);
    assert_eq!(stored.status, ServiceStatus::Running);
    manager.shutdown().await;
}

/// Health checks are recorded at their interval, a failing check is a
/// `health_failed` event, and metric sweeps record each service's resource use.
#[tokio::test]
async fn health_checks_and_metrics_are_recorded() {
    use futures_util::StreamExt;
    use kyozo::model::{HealthCheckConfig, HealthProbe, HealthStatus};
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-httpd", |s| {
        s.ports.push(PortMapping::new(8080, None));
        let mut check = HealthCheckConfig::new(HealthProbe::Http {
            port: 8080,
            path: "/index.html".into(),
            expect_status: None,
        });
        // A probe slow on a loaded machine is not a failure here (the timeout is at
        // most the interval; the manager below checks every 300 ms all the same).
        check.interval = Duration::from_secs(3);
        check.timeout = Duration::from_secs(3);
        s.health_check = Some(check);
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let deployed = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let mut config = kyozo::runtime::ManagerConfig::default();
    config.health_interval = Some(Duration::from_millis(300));
    config.metrics_interval = Duration::from_millis(500);
    let manager = kyozo.start_manager_with(config).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let checks = kyozo.health(owner.actor(), s.team, s.id, 10).unwrap();
        let now = kyozo::model::Timestamp::now();
        let metrics = kyozo
            .metrics(
                owner.actor(),
                s.team,
                s.id,
                kyozo::model::Timestamp::from_millis(0),
                now,
            )
            .unwrap();
        if checks.iter().any(|c| c.status == HealthStatus::Healthy)
            && metrics.iter().any(|m| m.memory_bytes > 0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "checks {checks:?}, metrics {metrics:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The page goes away: the check fails, and says why (a failure recorded before,
    // of a probe that was slow, does not count).
    let before = kyozo
        .events(owner.actor(), s.team, s.id, 1)
        .unwrap()
        .last()
        .map_or(0, |e| e.seq);
    let out = std::process::Command::new("docker")
        .args(["exec", &deployed.containers[0].0, "rm", "/www/index.html"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let failed = kyozo
            .events(owner.actor(), s.team, s.id, 200)
            .unwrap()
            .into_iter()
            .find(|e| e.kind == EventKind::HealthFailed && e.seq > before);
        let latest = kyozo.health(owner.actor(), s.team, s.id, 1).unwrap();
        let says_404 = latest.first().is_some_and(|c| {
            c.status == HealthStatus::Unhealthy
                && c.error.as_deref().unwrap_or("").contains("answered 404")
        });
        if let (Some(failed), true) = (&failed, says_404) {
            assert!(matches!(failed.payload, EventPayload::Health { .. }));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed check that says 404: {failed:?}, {latest:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Stats and logs through the policy-checked API.
    let stats = kyozo.stats(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(stats.len(), 1);
    let lines: Vec<_> = kyozo
        .logs(
            owner.actor(),
            s.team,
            s.id,
            kyozo::backend::LogOptions::default(),
        )
        .await
        .unwrap()
        .collect()
        .await;
    assert!(lines.iter().all(|(_, l)| l.is_ok()));
    manager.shutdown().await;
}

/// A busy container's CPU use shows in the metrics (from the difference between two
/// sweeps: one-shot stats carry no earlier sample).
#[tokio::test]
async fn cpu_use_is_measured_between_sweeps() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-httpd", |s| {
        s.config.command = Some(vec!["sh".into(), "-c".into(), "while :; do :; done".into()]);
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let mut config = kyozo::runtime::ManagerConfig::default();
    config.metrics_interval = Duration::from_millis(500);
    let manager = kyozo.start_manager_with(config).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = kyozo
            .metrics(
                owner.actor(),
                s.team,
                s.id,
                kyozo::model::Timestamp::from_millis(0),
                kyozo::model::Timestamp::now(),
            )
            .unwrap();
        if metrics.iter().any(|m| m.cpu_percent > 10.0) {
            break;
        }
        assert!(Instant::now() < deadline, "{metrics:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    manager.shutdown().await;
}
