//! Hostile trees: symlink loops, links out of the root, a 2 GiB sparse manifest, binary
//! manifests, deep nesting, non-UTF-8 names. Each gives a clear partial error; the rest
//! of the tree is still analysed.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use kyozo::topology::{PartialErrorKind, ProjectView, ScanOptions, TopologyEngine};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// A valid app, so each test can check that the rest of the tree is still analysed.
fn valid_app(root: &Path) {
    write(
        root,
        "good/Dockerfile",
        "FROM alpine:3.20\nEXPOSE 8080\nCMD [\"./server\"]\n",
    );
}

fn kinds(view: &ProjectView) -> Vec<(String, PartialErrorKind)> {
    view.errors()
        .into_iter()
        .map(|e| (e.path, e.kind))
        .collect()
}

#[test]
fn symlinks_out_of_the_root_and_loops_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "secret/package.json",
        r#"{"name":"stolen","scripts":{"start":"node x"}}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    valid_app(root);
    symlink(outside.path().join("secret"), root.join("escape-dir")).unwrap();
    symlink(
        outside.path().join("secret/package.json"),
        root.join("escape-file.json"),
    )
    .unwrap();
    symlink("/etc/passwd", root.join("passwd")).unwrap();
    fs::create_dir_all(root.join("a/b")).unwrap();
    symlink(root.join("a"), root.join("a/b/loop")).unwrap();
    symlink(root.join("good"), root.join("alias")).unwrap();
    symlink(root.join("nothing-here"), root.join("dangling")).unwrap();
    write(root, "good/real.txt", "hello");
    symlink(root.join("good/real.txt"), root.join("inside-link.txt")).unwrap();

    let view = ProjectView::scan(root).unwrap();
    let errors = kinds(&view);
    for (path, kind) in [
        ("escape-dir", PartialErrorKind::SymlinkEscapesRoot),
        ("escape-file.json", PartialErrorKind::SymlinkEscapesRoot),
        ("passwd", PartialErrorKind::SymlinkEscapesRoot),
        ("a/b/loop", PartialErrorKind::SymlinkLoop),
        ("alias", PartialErrorKind::SymlinkToDirectory),
        ("dangling", PartialErrorKind::DanglingSymlink),
    ] {
        assert!(
            errors.contains(&(path.to_string(), kind.clone())),
            "{path}: {kind:?} in {errors:?}"
        );
    }
    assert!(!view.files().any(|f| f.contains("escape") || f == "passwd"));
    assert!(view.read_text("escape-file.json").is_err());
    // A link to a file inside the root is read through its target.
    assert_eq!(&*view.read_text("inside-link.txt").unwrap(), "hello");

    let t = TopologyEngine::new().analyze(root).unwrap();
    assert!(
        t.services.iter().any(|s| s.path == "good"),
        "{:?}",
        t.services
    );
    assert!(!t.services.iter().any(|s| s.name == "stolen"));
    assert!(
        t.warnings.iter().any(|w| w.contains("outside the project")),
        "{:?}",
        t.warnings
    );
}

#[test]
fn a_2_gib_sparse_manifest_is_reported_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    valid_app(root);
    fs::create_dir_all(root.join("huge")).unwrap();
    let f = fs::File::create(root.join("huge/package.json")).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap();
    let view = ProjectView::scan(root).unwrap();
    assert_eq!(view.size("huge/package.json"), Some(2 * 1024 * 1024 * 1024));
    let err = view.read_text("huge/package.json").unwrap_err();
    assert!(
        err.to_string().contains("larger than the read cap"),
        "{err}"
    );
    assert!(kinds(&view).iter().any(|(p, k)| p == "huge/package.json"
        && matches!(k, PartialErrorKind::TooLarge { size, .. } if *size == 2 * 1024 * 1024 * 1024)));

    let t = TopologyEngine::new().analyze(root).unwrap();
    assert!(t.services.iter().any(|s| s.path == "good"));
}

#[test]
fn binary_manifests_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    valid_app(root);
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::write(
        root.join("bin/package.json"),
        [0x7f, b'E', b'L', b'F', 0, 1, 2, 3],
    )
    .unwrap();
    fs::write(root.join("bin/Cargo.toml"), [0xff, 0xfe, 0xfd]).unwrap();
    let view = ProjectView::scan(root).unwrap();
    assert!(view.read_text("bin/package.json").is_err());
    assert!(view.read_text("bin/Cargo.toml").is_err());
    let errors = kinds(&view);
    assert!(errors.contains(&("bin/package.json".into(), PartialErrorKind::Binary)));
    assert!(errors.contains(&("bin/Cargo.toml".into(), PartialErrorKind::Binary)));
}

#[test]
fn the_file_cap_stops_the_walk_with_a_partial_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..50 {
        write(root, &format!("f/{i}.txt"), "x");
    }
    let mut options = ScanOptions::default();
    options.max_files = 10;
    let view = ProjectView::scan_with(root, &options).unwrap();
    assert!(view.file_count() <= 10);
    assert!(
        kinds(&view)
            .iter()
            .any(|(_, k)| matches!(k, PartialErrorKind::FileLimit { cap: 10 }))
    );
}

#[test]
fn non_utf8_names_are_reported_and_skipped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    valid_app(root);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    fs::write(root.join(name), "x").unwrap();
    let view = ProjectView::scan(root).unwrap();
    assert!(
        kinds(&view)
            .iter()
            .any(|(p, k)| p.starts_with("caf") && *k == PartialErrorKind::NonUtf8Name)
    );
    assert!(view.files().any(|f| f == "good/Dockerfile"));
}

#[test]
fn ignored_and_dependency_folders_are_not_walked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, ".gitignore", "generated/\n");
    write(root, "generated/package.json", "{}");
    write(root, "node_modules/left-pad/package.json", "{}");
    write(root, "target/debug/Cargo.toml", "");
    write(root, "app/.venv/pyvenv.cfg", "");
    write(root, "app/main.py", "print(1)");
    write(root, ".nvmrc", "20");
    let view = ProjectView::scan(root).unwrap();
    let files: Vec<&str> = view.files().collect();
    assert_eq!(files, vec![".gitignore", ".nvmrc", "app/main.py"]);
}

#[test]
fn a_missing_root_is_an_error_not_a_panic() {
    let err = TopologyEngine::new()
        .analyze("/definitely/not/here")
        .unwrap_err();
    assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = TopologyEngine::new().analyze(file.path()).unwrap_err();
    assert!(err.to_string().contains("not a folder"), "{err}");
}
