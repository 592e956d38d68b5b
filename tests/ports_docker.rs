//! The host address of a published port, on the real Docker Engine: a compose file that
//! publishes `127.0.0.1:PORT:80` gets its port published on 127.0.0.1 only (the
//! engine's `HostConfig.PortBindings` say so), and what the backend reports (what `ps`
//! prints) is that same address.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/runtime.rs"]
mod runtime;

use std::net::{IpAddr, Ipv4Addr};

use kyozo::backend::LABEL_TEAM;
use kyozo::model::PortMapping;
use kyozo::plan::Planner;
use kyozo::topology::TopologyEngine;

use docker::{BUSYBOX, Cleanup, engine};
use runtime::{free_port, kyozo_on};

#[test]
fn the_short_syntax_keeps_the_host_address() {
    let p = PortMapping::parse("127.0.0.1:8080:80").unwrap();
    assert_eq!(
        (p.host_ip, p.host_port, p.container_port),
        (Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), Some(8080), 80)
    );
    assert_eq!(p.to_string(), "127.0.0.1:8080:80/tcp");
    let p = PortMapping::parse("[::1]:8080:80").unwrap();
    assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
    assert_eq!(PortMapping::parse(&p.to_string()).unwrap(), p);
    assert!(PortMapping::parse("example.com:8080:80").is_err());
    assert_eq!(PortMapping::parse("8080:80").unwrap().host_ip, None);
}

/// A compose service whose name the topology normalizes (`web_app` → `web-app`) keeps
/// its host addresses, its override file's ports count, and a host address taken from
/// the environment is never read from this process's environment nor quoted.
#[test]
fn host_addresses_hold_for_any_service_name_and_never_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  web_app:\n    image: {BUSYBOX}\n    ports:\n      - \"127.0.0.1:8080:80\"\n      - \"${{PATH}}:9090:90\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("compose.override.yaml"),
        "services:\n  web_app:\n    ports:\n      - \"127.0.0.1:8443:443\"\n",
    )
    .unwrap();
    // `PATH` is set here: its value must not be what the plan publishes on, nor said.
    let secret = std::env::var("PATH").unwrap();
    let topology = TopologyEngine::new().analyze(dir.path()).unwrap();
    let plan = Planner::new().plan(&topology);
    let web = plan
        .services
        .iter()
        .find(|s| s.name == "web-app")
        .unwrap_or_else(|| panic!("{:?}", plan.services));
    let published: Vec<(Option<IpAddr>, Option<u16>, u16)> = web
        .spec
        .ports
        .iter()
        .map(|p| (p.host_ip, p.host_port, p.container_port))
        .collect();
    let local = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(
        published.contains(&(local, Some(8080), 80)),
        "{published:?}"
    );
    assert!(
        published.contains(&(local, Some(8443), 443)),
        "{published:?}"
    );
    let said = serde_json::to_string(&plan).unwrap();
    assert!(!said.contains(&secret), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_published_on_127_0_0_1_is_bound_there_and_reported_so() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  web:\n    image: {BUSYBOX}\n    command: [\"httpd\", \"-f\", \"-p\", \"80\"]\n    ports:\n      - \"127.0.0.1:{port}:80\"\n"
        ),
    )
    .unwrap();

    // The plan publishes what the compose file says, host address included.
    let topology = TopologyEngine::new().analyze(dir.path()).unwrap();
    let plan = Planner::new().plan(&topology);
    let web = plan
        .services
        .iter()
        .find(|s| s.name == "web")
        .unwrap_or_else(|| panic!("{:?}", plan.recommendations));
    assert_eq!(
        web.spec.ports,
        vec![PortMapping::new(80, Some(port)).with_host_ip(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)))]
    );

    // Deployed, the engine binds 127.0.0.1 only.
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    ws.root = Some(dir.path().to_path_buf());
    kyozo.store().put_workspace(&ws).unwrap();
    let mut s = web.service(team.id, ws.id);
    s.config.command = Some(vec!["httpd".into(), "-f".into(), "-p".into(), "80".into()]);
    s.health_check = None;
    let s = kyozo.create_service(owner.actor(), s).unwrap();
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let deployed = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let container = deployed.containers[0].0.clone();
    let out = std::process::Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{json .HostConfig.PortBindings}}",
            &container,
        ])
        .output()
        .unwrap();
    let bindings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        bindings["80/tcp"],
        serde_json::json!([{"HostIp": "127.0.0.1", "HostPort": port.to_string()}]),
        "{bindings}"
    );
    // What the backend reports (what `kyozo ps` prints) is that address.
    let state = backend.inspect(&container).await.unwrap();
    assert_eq!(state.ports.get(&80), Some(&port));
    assert_eq!(
        state.host_ips.get(&80),
        Some(&IpAddr::V4(Ipv4Addr::LOCALHOST))
    );
}
