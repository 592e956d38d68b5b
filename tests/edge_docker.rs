//! A service's published port stays answering while its replicas change, on the real
//! Docker Engine: through the edge proxy (a Caddy container that outlives the process,
//! made from Debian's caddy package) and through the in-process endpoint. A client
//! polls the address throughout a rolling update, `scale 2` and a rollback; every
//! request is counted and none may fail. Removing the service removes its routes, and
//! the proxy with the last one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/images.rs"]
mod images;
#[path = "common/runtime.rs"]
mod runtime;

use std::sync::Arc;
use std::time::Duration;

use kyozo::Kyozo;
use kyozo::backend::LABEL_TEAM;
use kyozo::model::{Member, PortMapping, ServiceInstance};
use kyozo::runtime::{EdgeProxy, LABEL_EDGE, UpdateStrategy};

use docker::{Cleanup, engine};
use runtime::{Poller, body, change, free_port, get, http_on_8080, service};

/// Version 1 deployed, then, while a client polls `port`: version 2 (a rolling
/// update), `scale 2`, and a rollback to version 1. Checks the answers.
async fn update_scale_rollback(kyozo: &Kyozo, owner: &Member, s: &ServiceInstance, port: u16) {
    assert_eq!(body(&get(port).unwrap()), "version 1");
    let poller = Poller::start(port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    change(kyozo, owner, s, |s| {
        s.config.build_args.insert("VERSION".into(), "2".into());
    })
    .await;
    let second = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(second.strategy, UpdateStrategy::Rolling);
    tokio::time::sleep(Duration::from_millis(300)).await;
    kyozo.scale(owner.actor(), s.team, s.id, 2).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let back = kyozo
        .rollback(owner.actor(), s.team, s.id, None)
        .await
        .unwrap();
    assert_eq!(back.strategy, UpdateStrategy::Rolling);
    assert_eq!(back.containers.len(), 2, "the rollback keeps 2 replicas");
    let bodies = poller.stop("update, scale 2, rollback");
    assert_eq!(bodies.first().map(String::as_str), Some("version 1"));
    assert!(
        bodies.iter().any(|b| b == "version 2"),
        "version 2 answered"
    );
    assert_eq!(bodies.last().map(String::as_str), Some("version 1"));
    // Both replicas of the rollback answer on the one address.
    for _ in 0..4 {
        assert_eq!(body(&get(port).unwrap()), "version 1");
    }
}

/// A versioned busybox web service on host port `host` (container port 8080).
fn versioned(kyozo: &Kyozo, host: u16) -> (Member, ServiceInstance) {
    service(kyozo, "deploy-versioned", |s| {
        http_on_8080(s);
        s.ports = vec![PortMapping::new(8080, Some(host))];
        s.config.build_args.insert("VERSION".into(), "1".into());
    })
}

/// What `docker port` says of a container's port.
fn docker_port(container: &str, port: u16) -> String {
    let out = std::process::Command::new("docker")
        .args(["port", container, &port.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether a container with the label `key=value` exists.
fn exists(key: &str, value: &str) -> bool {
    let out = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={key}={value}")])
        .output()
        .unwrap();
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

#[tokio::test]
async fn through_the_edge_proxy_the_address_answers_every_request_of_an_update_a_scale_and_a_rollback()
 {
    let Some(engine) = engine().await else { return };
    runtime::require_migrating_host();
    docker::busybox(&engine).await;
    let proxy = images::caddy();
    let run = Cleanup::new();
    let name = format!("kyozo-edge-test-{}", run.run);
    let admin = tempfile::tempdir().unwrap();
    let _edge_cleanup = Cleanup::for_label(LABEL_EDGE, name.clone());
    let backend: Arc<dyn kyozo::backend::ContainerBackend> = Arc::new(engine);
    let kyozo = Kyozo::builder()
        .backend(backend)
        .edge(
            EdgeProxy::caddy(proxy)
                .with_name(name.clone())
                .with_admin_dir(admin.path().join("edge")),
        )
        .build()
        .unwrap();
    let host = free_port();
    let (owner, s) = versioned(&kyozo, host);
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());

    let first = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(first.strategy, UpdateStrategy::Fresh);
    // The replica publishes on the loopback only; the proxy holds the address.
    let published = docker_port(&first.containers[0].0, 8080);
    assert!(published.starts_with("127.0.0.1:"), "{published}");
    assert!(exists(LABEL_EDGE, &name), "the proxy runs");

    update_scale_rollback(&kyozo, &owner, &s, host).await;

    let routes = kyozo
        .edge_routes(owner.actor(), s.team, s.id)
        .await
        .unwrap();
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0].listen, vec![format!(":{host}")]);
    assert_eq!(routes[0].upstreams.len(), 2, "{routes:?}");

    // Removing the service removes its route, and the proxy with its last route.
    kyozo
        .remove_service(owner.actor(), s.team, s.id)
        .await
        .unwrap();
    assert!(get(host).is_err(), "nothing listens on {host} any more");
    assert!(
        !exists(LABEL_EDGE, &name),
        "the proxy went with its last route"
    );
}

// The endpoint runs in this process: a runtime with threads of its own serves it
// while the test's requests block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_in_process_endpoint_the_address_answers_every_request_of_an_update_a_scale_and_a_rollback()
 {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = runtime::kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-versioned", |s| {
        http_on_8080(s);
        s.config.build_args.insert("VERSION".into(), "1".into());
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let endpoint = kyozo
        .expose(
            owner.actor(),
            s.team,
            s.id,
            8080,
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
    update_scale_rollback(&kyozo, &owner, &s, endpoint.local_addr().port()).await;
}
