//! The `kyozo` binary publishes a service's port through the edge proxy (a Caddy
//! container that outlives each command): while a client polls the address, `up` of a
//! changed folder (a rolling update), `scale 2` and `rollback` answer every request
//! (counted: none fails); `kyozo down` removes the service's route, and the proxy with
//! its last one.

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

    ok(&["up", root]);
    let team = {
        let kyozo = kyozo::Kyozo::builder()
            .state_file(dir.join(".kyozo/state.redb"))
            .build()
            .unwrap();
        let teams = kyozo.store().teams().unwrap();
        teams[0].id.to_string()
    };
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team);
    assert_eq!(get(8080).unwrap(), "version 1");
    let ps: serde_json::Value = serde_json::from_str(&ok(&["-C", root, "ps", "--json"])).unwrap();
    let ports = &ps["services"][0]["ports"];
    assert_eq!(ports[0]["host"], 8080, "{ps}");
    assert_eq!(ports[0]["host_ip"], "0.0.0.0", "{ps}");

    // A client polls the address while the folder changes, scales and rolls back.
    let poller = Poller::start(8080);
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

    // `down` takes the route away, and the proxy with its last route.
    ok(&["-C", root, "down"]);
    assert!(get(8080).is_err(), "nothing answers on 8080 after down");
    assert!(
        !exists(LABEL_EDGE, &common::edge_name()),
        "the proxy went with its last route"
    );
}
