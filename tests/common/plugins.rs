//! Shared by the plugin test files: the plugins of `detectors/`, built once per test
//! process, and a host with test-sized limits.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use kyozo::topology::wasm::{PluginConfig, PluginHost, PluginLimits};

/// The folder `detectors/` of the repository (found from the crate being tested, the
/// library or the CLI).
pub fn detectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("detectors"))
        .find(|d| d.join("Cargo.toml").is_file())
        .expect("the detectors/ folder")
}

/// Builds the plugin crates of `manifest` (a crate's or a workspace's `Cargo.toml`) with
/// `cargo build --release --target wasm32-wasip2` into `target`; returns the folder
/// that holds their components.
pub fn build_components(manifest: &Path, target: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("running cargo to build the plugins");
    assert!(
        output.status.success(),
        "building the plugins of {} failed (is the target installed? `rustup target add wasm32-wasip2`):\n{}",
        manifest.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("wasm32-wasip2/release")
}

/// The component of the plugin crate `kyozo-detector-<name>`, built with
/// [`build_components`] the first time it is asked for.
pub fn plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let out = BUILT.get_or_init(|| {
        let root = detectors();
        build_components(&root.join("Cargo.toml"), &root.join("target"))
    });
    let path = out.join(format!("kyozo_detector_{name}.wasm"));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Limits for tests: the defaults with a short deadline, so a runaway plugin is
/// stopped quickly.
pub fn test_limits() -> PluginLimits {
    let mut limits = PluginLimits::default();
    limits.deadline = Duration::from_millis(1500);
    limits
}

/// A host with [`test_limits`] and a compile cache private to this test process.
pub fn host() -> PluginHost {
    static HOST: OnceLock<(PluginHost, tempfile::TempDir)> = OnceLock::new();
    HOST.get_or_init(|| {
        let cache = tempfile::tempdir().unwrap();
        let mut config = PluginConfig::default();
        config.limits = test_limits();
        config.cache_dir = Some(cache.path().to_path_buf());
        (PluginHost::new(config).unwrap(), cache)
    })
    .0
    .clone()
}
