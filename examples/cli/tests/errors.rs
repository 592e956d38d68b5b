//! What the `kyozo` binary says when something outside it fails: each cause once (an
//! OS error is not repeated by the context that quotes it), and an engine it cannot
//! reach named with the cause (no socket, nobody listening, no permission) and a hint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

/// A folder with one static site, which `up` would run.
fn site() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("index.html"), "<h1>hi</h1>\n").unwrap();
    tmp
}

fn up_with_engine_at(dir: &Path, docker_host: &str) -> (i32, String) {
    let out = common::command()
        .env("DOCKER_HOST", docker_host)
        .args(["up", dir.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// No text of the message comes twice ("X: Y: Y").
fn assert_each_cause_once(err: &str) {
    let parts: Vec<&str> = err.lines().next().unwrap_or_default().split(": ").collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..].contains(p),
            "{p:?} is said twice in:\n{err}"
        );
    }
}

#[test]
fn a_missing_socket_is_named_with_a_hint() {
    let tmp = site();
    let (code, err) = up_with_engine_at(tmp.path(), "unix:///nonexistent/docker.sock");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/docker.sock"), "{err}");
    assert!(err.contains("\nhint: no Docker Engine answers at /nonexistent/docker.sock: it is not running or not reachable there"), "{err}");
    assert_each_cause_once(&err);
    assert!(!tmp.path().join(".kyozo").exists(), "nothing written");
}

#[test]
fn a_socket_nobody_listens_on_says_connection_refused() {
    let tmp = site();
    let socket = tmp.path().join("engine.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let (code, err) = up_with_engine_at(tmp.path(), &format!("unix://{}", socket.display()));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Connection refused"),
        "the cause, not just `client error (Connect)`:\n{err}"
    );
    assert!(
        err.contains(&format!(
            "hint: no Docker Engine answers at {}",
            socket.display()
        )),
        "{err}"
    );
    assert_each_cause_once(&err);
}

/// Run as `nobody` (root ignores file permissions), against the real engine's socket,
/// which only root and the docker group may use.
#[test]
fn a_socket_without_permission_hints_at_the_docker_group() {
    let socket = Path::new("/var/run/docker.sock");
    assert!(
        socket.exists(),
        "this test needs the engine's socket at /var/run/docker.sock"
    );
    let tmp = site();
    // nobody may read the folder.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_kyozo"))
        .args(["up", tmp.path().to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", "unix:///var/run/docker.sock")
        .env_remove("KYOZO_STATE")
        .output()
        .expect("setpriv (util-linux) runs the binary as nobody");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Permission denied"), "the cause:\n{err}");
    assert!(
        err.contains(
            "hint: you may not use the engine's socket /var/run/docker.sock: add your user to its group"
        ),
        "{err}"
    );
    assert_each_cause_once(&err);
}

/// A write the OS refuses: the path and the OS's reason, once.
#[test]
fn an_os_error_is_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("index.html"), "<h1>hi</h1>\n").unwrap();
    let locked = tmp.path();
    // Root ignores the mode: make the folder immutable instead.
    let root = is_root();
    if root {
        let ok = std::process::Command::new("chattr")
            .args(["+i", locked.to_str().unwrap()])
            .status()
            .expect("chattr (e2fsprogs)");
        assert!(ok.success(), "chattr +i");
    } else {
        std::fs::set_permissions(locked, std::os::unix::fs::PermissionsExt::from_mode(0o555))
            .unwrap();
    }
    let out = common::command()
        .args(["plan", locked.to_str().unwrap()])
        .output()
        .unwrap();
    if root {
        let _ = std::process::Command::new("chattr")
            .args(["-i", locked.to_str().unwrap()])
            .status();
    } else {
        let _ =
            std::fs::set_permissions(locked, std::os::unix::fs::PermissionsExt::from_mode(0o755));
    }
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(locked.to_str().unwrap()),
        "names the path:\n{err}"
    );
    assert!(err.contains("(os error"), "says the OS's reason:\n{err}");
    assert_eq!(err.matches("(os error").count(), 1, "once:\n{err}");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
