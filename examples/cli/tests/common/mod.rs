//! Shared by the CLI's tests: the built `kyozo`, run without colours and without a state
//! file named by the environment.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::process::Command;

pub mod state;

/// The edge proxy's image the tests publish through (Debian's caddy, made by
/// `tests/support/caddy-image.sh`: nothing can be pulled here).
pub const EDGE_IMAGE: &str = "kyozo-test/caddy:2";

/// Makes [`EDGE_IMAGE`] once per process, where an engine runs (a test without one
/// never reaches the proxy; one that needs it says so when the proxy cannot start).
fn edge_image() {
    static MADE: std::sync::Once = std::sync::Once::new();
    MADE.call_once(|| {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/support/caddy-image.sh");
        let _ = Command::new("bash").arg(script).arg(EDGE_IMAGE).output();
    });
}

/// `kyozo`, to be given its arguments: `NO_COLOR` set, `KYOZO_STATE` unset, the edge
/// proxy from [`EDGE_IMAGE`] under a name of this test process's.
pub fn command() -> Command {
    edge_image();
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyozo"));
    c.env("NO_COLOR", "1")
        .env_remove("KYOZO_STATE")
        .env("KYOZO_EDGE_IMAGE", EDGE_IMAGE)
        .env("KYOZO_EDGE_NAME", edge_name());
    c
}

/// The edge proxy's name for this test process: one proxy per test binary, removed
/// with its last route.
pub fn edge_name() -> String {
    format!("kyozo-edge-test-{}", std::process::id())
}

/// Runs `kyozo ARGS`, returning its exit code, stdout and stderr.
pub fn kyozo(args: &[&str]) -> (i32, String, String) {
    let out = command().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs `kyozo -C DIR ARGS`: exit code, stdout, stderr.
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["-C", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    kyozo(&all)
}

/// Runs `kyozo -C DIR ARGS`, which must succeed: all it printed (stdout, then stderr).
pub fn ok_in(dir: &std::path::Path, args: &[&str]) -> String {
    let (code, out, err) = run_in(dir, args);
    assert_eq!(code, 0, "kyozo {args:?} failed:\n{out}\n{err}");
    format!("{out}{err}")
}

/// A free TCP port on every address (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Bytes a terminal acts on: C0 controls but `\n` and `\t`, and DEL. (C1 controls are
/// two bytes in UTF-8, 0xC2 0x80..0x9F: looked for too.)
pub fn controls(bytes: &[u8]) -> Vec<(usize, u8)> {
    let mut found: Vec<(usize, u8)> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| (**b < 0x20 && **b != b'\n' && **b != b'\t') || **b == 0x7f)
        .map(|(i, b)| (i, *b))
        .collect();
    found.extend(
        bytes
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]))
            .map(|(i, w)| (i, w[1])),
    );
    found
}

/// Asserts that neither stream carries a byte a terminal acts on.
pub fn assert_clean(what: &str, stdout: &[u8], stderr: &[u8]) {
    for (stream, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        let bad = controls(bytes);
        assert!(
            bad.is_empty(),
            "{what}: {stream} carries control bytes {bad:?}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}
