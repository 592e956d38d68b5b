//! Debian images for the tests, made without a registry and kept by their tags: the
//! runtimes (python3, python3-venv, node, redis-server: `tests/support/debian-image.sh`)
//! and a redis to run as a backing service (`tests/support/redis-image.sh`).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// The Debian image with the runtimes.
pub const RUNTIMES: &str = "kyozo-test/debian-runtimes:2";

/// The redis image (the runtimes image running redis-server).
pub const REDIS: &str = "kyozo-test/redis:1";

fn support(script: &str) -> PathBuf {
    // This file is shared by the library's tests and the CLI's: find the repository
    // from either crate.
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = if here.join("tests/support").is_dir() {
        here.to_path_buf()
    } else {
        here.join("../..")
    };
    root.join("tests/support").join(script)
}

fn make(script: &str, args: &[&str]) {
    let out = std::process::Command::new("bash")
        .arg(support(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes [`RUNTIMES`] once per process (about 40 s the first time on a machine).
pub fn runtimes() -> String {
    static MADE: std::sync::Once = std::sync::Once::new();
    MADE.call_once(|| {
        make(
            "debian-image.sh",
            &[RUNTIMES, "python3,python3-venv,nodejs,redis-server"],
        );
    });
    RUNTIMES.to_string()
}

/// Makes [`REDIS`] (and [`RUNTIMES`], its base) once per process.
pub fn redis() -> String {
    static MADE: std::sync::Once = std::sync::Once::new();
    let base = runtimes();
    MADE.call_once(|| make("redis-image.sh", &[REDIS, &base]));
    REDIS.to_string()
}
