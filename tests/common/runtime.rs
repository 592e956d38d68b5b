//! Shared by the runtime tests on the real engine: a team, a workspace rooted at the
//! fixtures and a service in it; waiting for an event; a plain HTTP GET, and a client
//! that polls an address counting every answer.

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
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The body of an HTTP answer.
pub fn body(answer: &str) -> &str {
    answer.split("\r\n\r\n").nth(1).unwrap_or("").trim()
}

/// Fails unless this host hands the connections queued on a closed listener to the
/// next one (`net.ipv4.tcp_migrate_req=1`): without it, Caddy's reload on a route
/// change resets a connection that arrives at that instant (measured: about one in
/// a hundred route changes under load), and a test that counts every request cannot
/// hold. `.ci/run` sets it; docs/runtime.md, "The edge proxy", says why.
pub fn require_migrating_host() {
    assert_ne!(
        kyozo::runtime::EdgeProxy::host_migrates_connections(),
        Some(false),
        "this test counts every request through the edge proxy: run `sysctl -w net.ipv4.tcp_migrate_req=1` first (docs/runtime.md, \"The edge proxy\")"
    );
}

/// A free TCP port on 127.0.0.1 (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of a 200 answer to `GET /` on 127.0.0.1:`port`, else why there was none.
pub fn get_ok(port: u16) -> Result<String, String> {
    match get(port) {
        Ok(a) if a.starts_with("HTTP/1.0 200") || a.starts_with("HTTP/1.1 200") => {
            Ok(body(&a).to_string())
        }
        Ok(a) => Err(format!("answer: {a:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A client on a thread of its own that polls `GET /` on a port every 10 ms, a new
/// connection each time, until stopped.
pub struct Poller {
    on: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Result<String, String>>>,
}

impl Poller {
    pub fn start(port: u16) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let on = std::sync::Arc::new(AtomicBool::new(true));
        let polling = on.clone();
        let thread = std::thread::spawn(move || {
            let mut answers = Vec::new();
            while polling.load(Ordering::SeqCst) {
                answers.push(get_ok(port));
                std::thread::sleep(Duration::from_millis(10));
            }
            answers
        });
        Self { on, thread }
    }

    /// Stops (300 ms from now); the body of every answer, once it is checked that none
    /// failed and that there were at least 30.
    pub fn stop(self, what: &str) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        self.on.store(false, std::sync::atomic::Ordering::SeqCst);
        let answers = self.thread.join().unwrap();
        let failed: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
        eprintln!(
            "{what}: {} requests, {} failed",
            answers.len(),
            failed.len()
        );
        assert!(failed.is_empty(), "{what}: failed requests: {failed:?}");
        assert!(
            answers.len() >= 30,
            "{what}: only {} requests",
            answers.len()
        );
        answers.into_iter().map(Result::unwrap).collect()
    }
}
