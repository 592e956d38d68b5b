//! The plugin interface as plugin authors get it: the released WIT is frozen, the SDK
//! carries an identical copy of it, and the SDK works outside this repository (a plugin
//! depending on it alone is tested natively with `cargo test` and builds to a
//! component).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/plugins.rs"]
mod plugins;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The SHA-256 of the files of `detectors/wit/v0.1.0` as released (see
/// [`folder_digest`]). It never changes.
const WIT_V0_1_0_SHA256: &str = "e360a15c7ab8682b3eba979195057b5d3781f86865774a56d867976d124e3e7d";

/// Every file under `dir`, by its `/`-separated path relative to `dir`, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// SHA-256 over the files of `dir` in path order: each file's path, its length and
/// its bytes, so renaming, adding or removing a file changes it as editing one does.
fn folder_digest(dir: &Path) -> String {
    let mut hash = Sha256::new();
    for (path, bytes) in files(dir) {
        hash.update((path.len() as u64).to_le_bytes());
        hash.update(path.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn wit_v0_1_0() -> PathBuf {
    plugins::detectors().join("wit").join("v0.1.0")
}

#[test]
fn the_released_wit_v0_1_0_never_changes() {
    let digest = folder_digest(&wit_v0_1_0());
    assert_eq!(
        digest, WIT_V0_1_0_SHA256,
        "a file under detectors/wit/v0.1.0 changed (or was added or removed). A released \
         WIT is frozen: plugins built against it must keep running. Restore it, and put \
         the change in a new version instead (detectors/wit/v0.2.0/, with a host module \
         src/topology/wasm/v0_2_0 beside v0_1_0)."
    );
}

#[test]
fn the_sdk_carries_the_wit_it_implements_unchanged() {
    let vendored = plugins::detectors().join("sdk").join("wit");
    assert!(
        vendored.is_dir(),
        "{} is missing: the SDK must carry its own copy of the WIT",
        vendored.display()
    );
    let released = files(&wit_v0_1_0());
    let copy = files(&vendored);
    assert_eq!(
        copy.keys().collect::<Vec<_>>(),
        released.keys().collect::<Vec<_>>(),
        "detectors/sdk/wit must hold exactly the files of detectors/wit/v0.1.0"
    );
    for (path, bytes) in &released {
        assert!(
            copy[path] == *bytes,
            "detectors/sdk/wit/{path} differs from detectors/wit/v0.1.0/{path}: copy the \
             released file into the SDK unchanged"
        );
    }
}

/// A plugin as an author outside this repository writes it: it depends on the SDK
/// alone (serde's derive through the SDK's re-export) and has a native unit test.
const STANDALONE_MANIFEST: &str = r#"[package]
name = "kyozo-detector-zola"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
kyozo-detector-sdk = { path = "../sdk" }
"#;

const STANDALONE_LIB: &str = r##"//! A plugin written outside the Kyozo repository.

use kyozo_detector_sdk::serde::Deserialize;
use kyozo_detector_sdk::{Detection, Metadata, Plugin, Project, Sourced, export_detector, parent};

#[derive(Deserialize)]
#[serde(crate = "kyozo_detector_sdk::serde")]
struct Config {
    base_url: String,
}

struct Zola;

impl Plugin for Zola {
    fn metadata() -> Metadata {
        Metadata::new("zola", "Zola sites", env!("CARGO_PKG_VERSION"))
            .interested_in(["**/config.toml"])
    }

    fn detect(project: &Project) -> Result<Vec<Detection>, String> {
        let mut found = Vec::new();
        for config in project.files("**/config.toml") {
            match project.read_toml::<Config>(&config) {
                Ok(c) => found.push(
                    Detection::service(parent(&config), "zola", 0.8)
                        .evidence(&config, format!("a Zola configuration for {}", c.base_url))
                        .start(Sourced::default_for("zola", "zola serve")),
                ),
                Err(e) => project.log(&format!("{config}: {e}")),
            }
        }
        Ok(found)
    }
}

export_detector!(Zola);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_site_and_logs_a_config_it_cannot_parse() {
        let project = Project::in_memory([
            ("blog/config.toml", "base_url = \"https://blog.test\""),
            ("blog/content/a.md", "# A"),
            ("other/config.toml", "title = 1"),
        ]);
        let found = Zola::detect(&project).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "blog");
        assert_eq!(found[0].evidence[0].path, "blog/config.toml");
        assert_eq!(project.logged().len(), 1, "{:?}", project.logged());
    }
}
"##;

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_dir() && entry.file_name() != "target" {
            copy_folder(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `cargo <args>` in `dir`, offline, with a target folder of its own under the system's
/// temporary folder (not the main build's, whose lock it would wait on); its output if
/// it succeeded.
fn cargo_outside(dir: &Path, args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env(
            "CARGO_TARGET_DIR",
            std::env::temp_dir().join("kyozo-plugin-sdk-target"),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("running cargo");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`cargo {}` failed in a plugin outside the repository:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn a_plugin_outside_the_repository_needs_only_the_sdk_tests_natively_and_builds() {
    let repository = plugins::detectors().parent().unwrap().to_path_buf();
    let outside = tempfile::tempdir().unwrap();
    assert!(!outside.path().starts_with(&repository));
    copy_folder(
        &plugins::detectors().join("sdk"),
        &outside.path().join("sdk"),
    );
    let plugin = outside.path().join("plugin");
    std::fs::create_dir_all(plugin.join("src")).unwrap();
    std::fs::write(plugin.join("Cargo.toml"), STANDALONE_MANIFEST).unwrap();
    std::fs::write(plugin.join("src/lib.rs"), STANDALONE_LIB).unwrap();
    // The versions this repository's plugins build with, which are in the registry
    // cache (the build is offline).
    std::fs::copy(
        plugins::detectors().join("Cargo.lock"),
        plugin.join("Cargo.lock"),
    )
    .unwrap();

    // Natively: no WebAssembly target, no host.
    let tested = cargo_outside(&plugin, &["test"]);
    assert!(
        tested.contains("finds_a_site_and_logs_a_config_it_cannot_parse ... ok")
            && tested.contains("test result: ok. 1 passed"),
        "the plugin's native test did not run:\n{tested}"
    );

    // And as a component the host runs.
    cargo_outside(&plugin, &["build", "--target", "wasm32-wasip2"]);
    let component = std::env::temp_dir()
        .join("kyozo-plugin-sdk-target/wasm32-wasip2/debug/kyozo_detector_zola.wasm");
    let mut config = kyozo::topology::wasm::PluginConfig::default();
    config.cache_dir = None;
    let zola = kyozo::topology::wasm::PluginHost::new(config)
        .unwrap()
        .load(component)
        .unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("blog")).unwrap();
    std::fs::write(
        site.path().join("blog/config.toml"),
        "base_url = \"https://blog.test\"\n",
    )
    .unwrap();
    let run = zola
        .run(&kyozo::topology::ProjectView::scan(site.path()).unwrap())
        .unwrap();
    assert_eq!(run.detections.len(), 1, "{run:#?}");
    assert_eq!(run.detections[0].detector, "plugin:zola");
    assert_eq!(run.detections[0].path, "blog");
}
