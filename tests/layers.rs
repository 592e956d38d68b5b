//! The layers of `/work/shared/DESIGN.md`, kept by a scan of the sources: the topology
//! engine and the model are below the planner and the runtime, so no file of theirs
//! names `crate::plan` or `crate::runtime` (an arrow upward is a design bug: move the
//! shared piece down). The model and the store never name `crate::auth` either: an
//! actor is plain data of the model, and only the facade asks the policy; the runtime
//! beneath it never does.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every line of the `.rs` files of `layers` (under `src/`) that names one of `above`.
fn naming(layers: &[&str], above: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for layer in layers {
        sources(&src.join(layer), &mut files);
    }
    assert!(files.len() > 5, "the scan found the sources: {files:?}");
    let mut upward = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if above.iter().any(|a| line.contains(a)) {
                upward.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(&src).unwrap().display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    upward
}

#[test]
fn topology_and_model_never_name_the_layers_above_them() {
    let upward = naming(
        &["topology", "model"],
        &[
            "crate::plan",
            "crate::runtime",
            "crate::kyozo",
            "crate::Kyozo",
        ],
    );
    assert!(
        upward.is_empty(),
        "layers below the plan name it (or the runtime):\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_runtime_never_asks_the_policy() {
    let asking = naming(
        &["runtime"],
        &[
            "crate::auth",
            "crate::auth::policy",
            "authorize",
            "authorized_service",
        ],
    );
    assert!(
        asking.is_empty(),
        "the runtime asks the policy (only the Kyozo facade may, before it delegates):\n{}",
        asking.join("\n")
    );
}

#[test]
fn model_and_store_never_name_the_policy() {
    let upward = naming(&["model", "store"], &["crate::auth", "crate::runtime"]);
    assert!(
        upward.is_empty(),
        "the model or the store names the policy (or the runtime):\n{}",
        upward.join("\n")
    );
}
