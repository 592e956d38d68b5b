//! The `kyozo` binary publishes a service's port through the edge proxy (a Caddy
//! container that outlives each command): while a client polls the address, `up` of a
//! changed folder (a rolling update), `scale 2` and `rollback` answer every request
//! (counted: none fails); `kyozo down` removes the folder's route and leaves another
//! folder's (and the proxy), and the proxy goes with its last route.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::kyozo;

#[path = "../../../tests/common/docker.rs"]
mod docker;
#[path = "../../../tests/common/runtime.rs"]
mod runtime;

use std::path::Path;
use std::time::Duration;

use kyozo::backend::LABEL_TEAM;
use kyozo::runtime::LABEL_EDGE;
use runtime::{Poller, get_ok as get};

/// `kyozo ARGS`, which must succeed.
fn ok(args: &[&str]) -> String {
    let (code, out, err) = kyozo(args);
    assert_eq!(code, 0, "kyozo {args:?} failed:\n{err}\n{out}");
    out
}

/// Whether a container with the label `key=value` exists.
fn exists(key: &str, value: &str) -> bool {
    let out = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={key}={value}")])
        .output()
        .unwrap();
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

/// A web service of the busybox test image that says `text` on port 8080.
fn write_site(dir: &Path, text: &str) {
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {}\nCOPY index.html /www/index.html\nEXPOSE 8080\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
            docker::BUSYBOX
        ),
    )
    .unwrap();
    std::fs::write(dir.join("index.html"), format!("{text}\n")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_edge_proxy_keeps_the_port_answering_through_up_scale_and_rollback() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    runtime::require_migrating_host();
    docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("site");
    std::fs::create_dir(&dir).unwrap();
    write_site(&dir, "version 1");
    let root = dir.to_str().unwrap();
    let _edge = docker::Cleanup::for_label(LABEL_EDGE, common::edge_name());
    // A free host port (this machine's 8080 may be taken); `up` remembers it.
    let port = common::free_port();

    ok(&["up", root, "--port", &format!("site={port}")]);
    let team = {
        let kyozo = kyozo::Kyozo::builder()
            .state_file(dir.join(".kyozo/state.redb"))
            .build()
            .unwrap();
        let teams = kyozo.store().teams().unwrap();
        teams[0].id.to_string()
    };
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team);
    assert_eq!(get(port).unwrap(), "version 1");
    let ps: serde_json::Value = serde_json::from_str(&ok(&["-C", root, "ps", "--json"])).unwrap();
    let ports = &ps["services"][0]["ports"];
    assert_eq!(ports[0]["host"], port, "{ps}");
    assert_eq!(ports[0]["host_ip"], "0.0.0.0", "{ps}");

    // A client polls the address while the folder changes, scales and rolls back.
    let poller = Poller::start(port);
    std::thread::sleep(Duration::from_millis(300));
    write_site(&dir, "version 2");
    let (code, out, err) = kyozo(&["up", root]);
    assert_eq!(code, 0, "{err}\n{out}");
    ok(&["-C", root, "scale", "site", "2"]);
    ok(&["-C", root, "rollback", "site"]);
    let bodies = poller.stop("up, scale 2, rollback through the CLI");
    assert_eq!(bodies.first().map(String::as_str), Some("version 1"));
    assert!(
        bodies.iter().any(|b| b == "version 2"),
        "version 2 answered"
    );
    assert_eq!(bodies.last().map(String::as_str), Some("version 1"));

    // Another folder (another state) publishes through the same proxy.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    write_site(&other, "the other site");
    let other_root = other.to_str().unwrap();
    let other_port = common::free_port();
    ok(&["up", other_root, "--port", &format!("other={other_port}")]);
    let other_team = {
        let kyozo = kyozo::Kyozo::builder()
            .state_file(other.join(".kyozo/state.redb"))
            .build()
            .unwrap();
        kyozo.store().teams().unwrap()[0].id.to_string()
    };
    let _other_cleanup = docker::Cleanup::for_label(LABEL_TEAM, other_team);
    assert_eq!(get(other_port).unwrap(), "the other site");

    // `down` takes this folder's route away and leaves the other's, and the proxy.
    ok(&["-C", root, "down"]);
    assert!(get(port).is_err(), "nothing answers on {port} after down");
    assert_eq!(get(other_port).unwrap(), "the other site");
    assert!(exists(LABEL_EDGE, &common::edge_name()), "the proxy stays");
    // The proxy goes with its last route.
    ok(&["-C", other_root, "down"]);
    assert!(get(other_port).is_err(), "nothing answers after down");
    assert!(
        !exists(LABEL_EDGE, &common::edge_name()),
        "the proxy went with its last route"
    );
}

/// An address of this host other than the loopback (the first `hostname -I` gives).
fn another_address() -> std::net::IpAddr {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<std::net::IpAddr>().ok())
        .find(|a| a.is_ipv4() && !a.is_loopback())
        .expect("a non-loopback IPv4 address of this host")
}

/// A compose file that publishes `127.0.0.1:PORT:8080`: `up` publishes it there and
/// only there (the edge proxy listens on 127.0.0.1), `ps --json` says so from the same
/// value, and another address of the host gets no connection.
#[tokio::test(flavor = "multi_thread")]
async fn a_port_published_on_127_0_0_1_answers_there_only() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("local-only");
    std::fs::create_dir(&dir).unwrap();
    write_site(&dir, "only here");
    let port = common::free_port();
    std::fs::write(
        dir.join("compose.yaml"),
        format!("services:\n  site:\n    build: .\n    ports: [\"127.0.0.1:{port}:8080\"]\n"),
    )
    .unwrap();
    let root = dir.to_str().unwrap();
    // A proxy of its own: the other test here removes its proxy with its last route,
    // and checks that it went.
    let edge = format!("{}-local", common::edge_name());
    let _edge = docker::Cleanup::for_label(LABEL_EDGE, edge.clone());
    let run = |args: &[&str]| {
        let out = common::command()
            .env("KYOZO_EDGE_NAME", &edge)
            .args(args)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    };
    let (code, out, err) = run(&["up", root]);
    let team = {
        let kyozo = kyozo::Kyozo::builder()
            .state_file(dir.join(".kyozo/state.redb"))
            .build()
            .unwrap();
        kyozo.store().teams().unwrap()[0].id.to_string()
    };
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team);
    assert_eq!(code, 0, "{err}\n{out}");
    assert_eq!(get(port).unwrap(), "only here");
    let (code, ps, err) = run(&["-C", root, "ps", "--json"]);
    assert_eq!(code, 0, "{err}");
    let ps: serde_json::Value = serde_json::from_str(&ps).unwrap();
    let ports = &ps["services"][0]["ports"];
    assert_eq!(ports[0]["host"], port, "{ps}");
    assert_eq!(ports[0]["host_ip"], "127.0.0.1", "{ps}");
    let elsewhere = std::net::SocketAddr::new(another_address(), port);
    assert!(
        std::net::TcpStream::connect_timeout(&elsewhere, Duration::from_secs(5)).is_err(),
        "{elsewhere} accepted a connection"
    );
    let (code, _, err) = run(&["-C", root, "down"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !exists(LABEL_EDGE, &edge),
        "the proxy went with its last route"
    );
}
