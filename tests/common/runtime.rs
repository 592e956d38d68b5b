//! Shared by the runtime tests on the real engine: a team, a workspace rooted at the
//! fixtures and a service in it; waiting for an event; a plain HTTP GET.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kyozo::Kyozo;
use kyozo::model::{
    DeploymentEvent, EventKind, HealthCheckConfig, HealthProbe, Member, PortMapping,
    ServiceInstance,
};

/// A Kyozo on `engine` (with its breaker), once the busybox test image is there.
pub async fn kyozo_on(
    engine: kyozo::backend::DockerBackend,
) -> (Kyozo, std::sync::Arc<dyn kyozo::backend::ContainerBackend>) {
    crate::docker::busybox(&engine).await;
    let backend: std::sync::Arc<dyn kyozo::backend::ContainerBackend> = std::sync::Arc::new(engine);
    let kyozo = Kyozo::builder().backend(backend.clone()).build().unwrap();
    (kyozo, backend)
}

/// The fixtures folder, or one fixture in it.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A team, a workspace rooted at the fixtures and a service `web` built from the
/// Dockerfile of `folder`, changed by `edit` before it is created.
pub fn service(
    kyozo: &Kyozo,
    folder: &str,
    edit: impl FnOnce(&mut ServiceInstance),
) -> (Member, ServiceInstance) {
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    ws.root = Some(fixture(""));
    kyozo.store().put_workspace(&ws).unwrap();
    let mut s = ServiceInstance::new(team.id, ws.id, "web", folder);
    s.config.dockerfile = Some("Dockerfile".into());
    edit(&mut s);
    let s = kyozo.create_service(owner.actor(), s).unwrap();
    (owner, s)
}

/// Changes the stored service `s` with `edit` (`Kyozo::update_service`, as `owner`).
pub async fn change(
    kyozo: &Kyozo,
    owner: &Member,
    s: &ServiceInstance,
    edit: impl FnOnce(&mut ServiceInstance),
) {
    let mut stored = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    edit(&mut stored);
    kyozo.update_service(owner.actor(), stored).await.unwrap();
}

/// Publishes port 8080 and checks `GET /` on it every second.
pub fn http_on_8080(s: &mut ServiceInstance) {
    s.ports.push(PortMapping::new(8080, None));
    let mut health = HealthCheckConfig::new(HealthProbe::Http {
        port: 8080,
        path: "/".into(),
        expect_status: None,
    });
    health.interval = Duration::from_secs(1);
    health.timeout = Duration::from_secs(1);
    s.health_check = Some(health);
}

/// Waits (at most `within`) for an event of `kind`; returns it and how long it took.
pub async fn event_within(
    kyozo: &Kyozo,
    owner: &Member,
    s: &ServiceInstance,
    kind: EventKind,
    within: Duration,
) -> (DeploymentEvent, Duration) {
    let started = Instant::now();
    loop {
        let events = kyozo.events(owner.actor(), s.team, s.id, 200).unwrap();
        if let Some(e) = events.into_iter().find(|e| e.kind == kind) {
            return (e, started.elapsed());
        }
        assert!(
            started.elapsed() < within,
            "no {kind:?} event within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /` on 127.0.0.1:`port` (HTTP/1.0, so the answer ends with the connection).
pub fn get(port: u16) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
