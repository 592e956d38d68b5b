//! Debian images for the tests, made without a registry and kept by their tags: the
//! runtimes (python3, python3-venv, node, redis-server: `tests/support/debian-image.sh`),
//! Go's toolchain, a JDK, and a redis and a postgres to run as backing services
//! (`tests/support/redis-image.sh`, `tests/support/postgres-image.sh`).

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

/// The edge proxy's image (Debian's caddy, FROM scratch).
pub const CADDY: &str = "kyozo-test/caddy:2";

/// Makes [`CADDY`] once per process.
pub fn caddy() -> String {
    static MADE: std::sync::Once = std::sync::Once::new();
    MADE.call_once(|| make("caddy-image.sh", &[CADDY]));
    CADDY.to_string()
}

/// Debian's Go toolchain (golang-go), to build Go services.
pub const GOLANG: &str = "kyozo-test/debian-golang:1";

/// Makes [`GOLANG`] once per process (a minute or two the first time on a machine).
pub fn golang() -> String {
    static MADE: std::sync::Once = std::sync::Once::new();
    MADE.call_once(|| make("debian-image.sh", &[GOLANG, "golang-go"]));
    GOLANG.to_string()
}

/// A postgres that takes the official image's POSTGRES_USER, POSTGRES_PASSWORD and
/// POSTGRES_DB (Debian's postgresql: `tests/support/postgres-image.sh`).
pub const POSTGRES: &str = "kyozo-test/postgres:1";

/// Makes [`POSTGRES`] once per process.
pub fn postgres() -> String {
    static MADE: std::sync::Once = std::sync::Once::new();
    MADE.call_once(|| make("postgres-image.sh", &[POSTGRES]));
    POSTGRES.to_string()
}

/// Debian's JDK (openjdk-17-jdk-headless), for what a java build's JVM does.
pub const JDK: &str = "kyozo-test/debian-jdk:1";

/// Makes [`JDK`] once per process (a minute or two the first time on a machine).
pub fn jdk() -> String {
    static MADE: std::sync::Once = std::sync::Once::new();
    MADE.call_once(|| make("debian-image.sh", &[JDK, "openjdk-17-jdk-headless"]));
    JDK.to_string()
}
