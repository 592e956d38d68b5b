//! 10,000 nested folders: the walk stops at the depth cap with one partial error, and the
//! rest of the tree is still analysed. In its own test binary because it changes the
//! process's working folder (paths that deep exceed PATH_MAX otherwise).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use kyozo::topology::{PartialErrorKind, ProjectView, TopologyEngine};

#[test]
fn ten_thousand_nested_folders_hit_the_depth_cap() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("good")).unwrap();
    fs::write(
        root.join("good/Dockerfile"),
        "FROM alpine:3.20\nEXPOSE 8080\nCMD [\"./server\"]\n",
    )
    .unwrap();
    // 10,000 levels: build the path relative to the root, one level at a time, so no
    // single path handed to the kernel exceeds PATH_MAX.
    let cur = root.join("deep");
    fs::create_dir(&cur).unwrap();
    let _cleanup = DeepTree(cur.clone());
    let keep = std::env::current_dir().unwrap();
    std::env::set_current_dir(&cur).unwrap();
    for _ in 0..10_000 {
        fs::create_dir("d").unwrap();
        std::env::set_current_dir("d").unwrap();
    }
    fs::write("index.html", "<h1>deep</h1>").unwrap();
    std::env::set_current_dir(&keep).unwrap();

    let view = ProjectView::scan(root).unwrap();
    let depth = view
        .errors()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| matches!(k, PartialErrorKind::DepthLimit { cap: 48 }))
        .count();
    assert_eq!(
        depth, 1,
        "one partial error for the one folder past the cap"
    );
    let t = TopologyEngine::new().analyze(root).unwrap();
    assert!(t.services.iter().any(|s| s.path == "good"));
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("deeper than 48 levels"))
    );
}

/// Removes the deep tree when the test ends, pass or fail (a plain recursive removal
/// runs out of file handles that deep).
struct DeepTree(std::path::PathBuf);

impl Drop for DeepTree {
    fn drop(&mut self) {
        remove_deep(&self.0);
    }
}

/// Removes a tree too deep for one path, from the bottom up, level by level.
fn remove_deep(top: &Path) {
    let keep = std::env::current_dir().unwrap();
    std::env::set_current_dir(top).unwrap();
    let mut levels = 0;
    while Path::new("d").is_dir() {
        std::env::set_current_dir("d").unwrap();
        levels += 1;
    }
    for _ in 0..levels {
        for entry in fs::read_dir(".").unwrap() {
            let p = entry.unwrap().path();
            if p.is_file() {
                fs::remove_file(p).unwrap();
            }
        }
        std::env::set_current_dir("..").unwrap();
        fs::remove_dir("d").unwrap();
    }
    std::env::set_current_dir(keep).unwrap();
}
