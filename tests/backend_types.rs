//! What a backend written outside the crate must return, built through the public API
//! alone: the types stay `#[non_exhaustive]`, so this file is the proof that their
//! constructors and builders reach every field a backend has to fill.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use kyozo::backend::{
    BackendInfo, Capabilities, ContainerEvent, ContainerEventKind, ContainerState, ContainerStats,
    ExecOutput, ImageInfo, LogLine, LogOptions, NetworkInfo, VolumeInfo,
};

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("dev.kyozo.team".to_string(), "t".to_string())])
}

#[test]
fn backend_info_and_capabilities() {
    let info = BackendInfo::new("Acme Engine 1.0", "1.0", "linux/amd64");
    assert_eq!(info.server, "Acme Engine 1.0");
    assert_eq!(info.api_version, "1.0");
    assert_eq!(info.platform, "linux/amd64");

    let none = Capabilities::none();
    assert!(!none.replicas && !none.host_ports && !none.build && !none.exec);
    assert!(!none.restart_policies && !none.networks && !none.volumes);
    let all = Capabilities::all();
    assert!(all.replicas && all.host_ports && all.build && all.exec);
    assert!(all.restart_policies && all.networks && all.volumes);
    let some = Capabilities::none()
        .with_replicas(true)
        .with_build(true)
        .with_exec(true)
        .with_restart_policies(true)
        .with_networks(true)
        .with_volumes(true)
        .with_host_ports(false);
    assert_eq!(some, Capabilities::all().with_host_ports(false));
}

#[test]
fn container_state() {
    let state = ContainerState::new("c1", "kyozo-web-1", "busybox")
        .with_running(false)
        .with_status("exited")
        .with_exit_code(Some(3))
        .with_oom_killed(true)
        .with_restart_count(2)
        .with_health(Some("unhealthy".to_string()))
        .with_port(8080, 32768, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .with_labels(labels());
    assert_eq!(
        (state.id.as_str(), state.name.as_str(), state.image.as_str()),
        ("c1", "kyozo-web-1", "busybox")
    );
    assert!(!state.running);
    assert_eq!(state.status, "exited");
    assert_eq!(state.exit_code, Some(3));
    assert!(state.oom_killed);
    assert_eq!(state.restart_count, 2);
    assert_eq!(state.health.as_deref(), Some("unhealthy"));
    assert_eq!(state.ports[&8080], 32768);
    assert_eq!(state.host_ips[&8080], IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_eq!(state.labels, labels());

    let fresh = ContainerState::new("c2", "n", "i");
    assert!(!fresh.running && fresh.exit_code.is_none() && fresh.ports.is_empty());
    assert_eq!(fresh.status, "created");
    let running = ContainerState::new("c3", "n", "i").with_running(true);
    assert_eq!(running.status, "running", "running sets the status with it");
}

#[test]
fn exec_output_images_logs_and_options() {
    let out = ExecOutput::new(7, "hello");
    assert_eq!((out.exit_code, out.output.as_str()), (7, "hello"));

    let image = ImageInfo::new("sha256:1")
        .with_tag("kyozo/web:1")
        .with_labels(labels())
        .with_created(1_700_000_000);
    assert_eq!(image.id, "sha256:1");
    assert_eq!(image.tags, ["kyozo/web:1"]);
    assert_eq!(image.labels, labels());
    assert_eq!(image.created, 1_700_000_000);

    let out = LogLine::stdout("one");
    let err = LogLine::stderr("two");
    assert!(!out.stderr && err.stderr);
    assert_eq!((out.text.as_str(), err.text.as_str()), ("one", "two"));
    assert_eq!(LogLine::new(true, "x"), LogLine::stderr("x"));

    let options = LogOptions::default()
        .with_follow(true)
        .with_tail(Some(5))
        .with_since(Some(10));
    assert!(options.follow);
    assert_eq!((options.tail, options.since), (Some(5), Some(10)));
}

#[test]
fn stats_events_networks_and_volumes() {
    let stats = ContainerStats::default()
        .with_cpu_percent(12.5)
        .with_memory(1024, 4096)
        .with_network(10, 20)
        .with_block_io(30, 40)
        .with_cpu_times(500, 1000, 2);
    assert_eq!(stats.cpu_percent, 12.5);
    assert_eq!((stats.memory_bytes, stats.memory_limit_bytes), (1024, 4096));
    assert_eq!((stats.network_rx_bytes, stats.network_tx_bytes), (10, 20));
    assert_eq!((stats.block_read_bytes, stats.block_write_bytes), (30, 40));
    assert_eq!(
        (
            stats.cpu_total_nanos,
            stats.system_cpu_nanos,
            stats.online_cpus
        ),
        (500, 1000, 2)
    );

    let event = ContainerEvent::new("c1", ContainerEventKind::Died { exit_code: Some(1) }, 42)
        .with_labels(labels());
    assert_eq!(event.id, "c1");
    assert_eq!(event.kind, ContainerEventKind::Died { exit_code: Some(1) });
    assert_eq!(event.time_nanos, 42);
    assert_eq!(event.labels, labels());

    let network = NetworkInfo::new("n1", "kyozo-shop").with_labels(labels());
    assert_eq!(
        (network.id.as_str(), network.name.as_str()),
        ("n1", "kyozo-shop")
    );
    assert_eq!(network.labels, labels());
    let volume = VolumeInfo::new("kyozo-shop-data").with_labels(labels());
    assert_eq!(volume.name, "kyozo-shop-data");
    assert_eq!(volume.labels, labels());
}
