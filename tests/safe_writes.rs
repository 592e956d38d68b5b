//! A folder someone else wrote, planned with `Plan::write`: links it ships where Kyozo
//! writes never lead a write out of it. Each test plants the link, writes the plan, and
//! checks the link's target byte for byte.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use kyozo::plan::{Planner, WriteOutcome};
use kyozo::topology::TopologyEngine;

const PRECIOUS: &[u8] = b"ssh-ed25519 AAAAC3Nza precious@laptop\n";

fn node_app(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(
        root.join("package.json"),
        r#"{"name":"web","scripts":{"start":"node server.js"}}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("server.js"),
        "require('http').createServer((q, r) => r.end('ok')).listen(3000)",
    )
    .unwrap();
}

/// A file outside the folder, and the folder.
fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("authorized_keys");
    std::fs::write(&precious, PRECIOUS).unwrap();
    let root = dir.path().join("repo");
    node_app(&root);
    (dir, precious, root)
}

fn plan_of(root: &Path) -> kyozo::plan::Plan {
    let topology = TopologyEngine::new().analyze(root).unwrap();
    Planner::new().plan(&topology)
}

#[test]
fn temporary_names_the_folder_ships_as_links_are_never_written_through() {
    let (_dir, precious, root) = setup();
    // What the old writer used as its temporary files.
    for name in [
        "Dockerfile.kyozo-tmp",
        ".dockerignore.kyozo-tmp",
        "compose.kyozo.kyozo-tmp",
    ] {
        std::os::unix::fs::symlink(&precious, root.join(name)).unwrap();
    }
    let plan = plan_of(&root);
    let written = plan.write(&root, false).unwrap();
    assert!(
        written.iter().any(|w| w.path.ends_with("Dockerfile")),
        "{written:?}"
    );
    assert_eq!(std::fs::read(&precious).unwrap(), PRECIOUS);
    for w in &written {
        let meta = std::fs::symlink_metadata(&w.path).unwrap();
        assert!(meta.is_file(), "{} is a regular file", w.path.display());
    }
    // The links are still links (nothing renamed them into place).
    assert!(
        std::fs::symlink_metadata(root.join("Dockerfile.kyozo-tmp"))
            .unwrap()
            .is_symlink()
    );
    // Nothing else is left in the folder: no temporary file of Kyozo's.
    let leftovers: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".kyozo-") && n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_generated_file_that_is_a_link_is_the_users_and_forcing_replaces_the_link() {
    let (_dir, precious, root) = setup();
    let plan = plan_of(&root);
    // The folder ships `.dockerignore` (a file Kyozo writes) as a link out of it.
    std::os::unix::fs::symlink(&precious, root.join(".dockerignore")).unwrap();
    let written = plan.write(&root, false).unwrap();
    let ignore = written
        .iter()
        .find(|w| w.path.ends_with(".dockerignore"))
        .unwrap();
    assert_eq!(ignore.outcome, WriteOutcome::KeptUsers);
    assert_eq!(std::fs::read(&precious).unwrap(), PRECIOUS);
    // Forced: the link itself is replaced by Kyozo's file; its target is untouched.
    let written = plan.write(&root, true).unwrap();
    let ignore = written
        .iter()
        .find(|w| w.path.ends_with(".dockerignore"))
        .unwrap();
    assert_eq!(ignore.outcome, WriteOutcome::Replaced);
    assert_eq!(std::fs::read(&precious).unwrap(), PRECIOUS);
    assert!(
        std::fs::symlink_metadata(root.join(".dockerignore"))
            .unwrap()
            .is_file()
    );
}

#[test]
fn a_folder_on_the_way_that_is_a_link_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    node_app(&root.join("apps/web"));
    node_app(&root.join("apps/api"));
    std::fs::write(
        root.join("package.json"),
        r#"{"name":"mono","private":true,"workspaces":["apps/*"]}"#,
    )
    .unwrap();
    let plan = plan_of(&root);
    assert!(
        plan.services.iter().any(|s| s.path == "apps/web"),
        "{:?}",
        plan.services
    );
    // Between analysis and writing, `apps/web` becomes a link to a folder outside.
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::remove_dir_all(root.join("apps/web")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("apps/web")).unwrap();
    let e = plan.write(&root, true).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("symbolic link"), "{message}");
    assert!(message.contains("apps/web"), "{message}");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing was written outside"
    );
}

/// Files the planner reads beside the topology walk (a `Staticfile`, a `package.json`,
/// a compose file), shipped as a FIFO or a link out of the folder: planning neither
/// reads them nor waits on them.
#[test]
fn files_the_planner_reads_that_are_fifos_or_links_out_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("authorized_keys");
    std::fs::write(&precious, PRECIOUS).unwrap();
    // A static site whose Staticfile is a FIFO nobody writes (opening it to read
    // waits for ever), and whose `.dockerignore` is a link out of it.
    let root = dir.path().join("site");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("index.html"), "<h1>hi</h1>").unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(root.join("Staticfile"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(&precious, root.join(".dockerignore")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let planned = root.clone();
    std::thread::spawn(move || {
        let plan = plan_of(&planned);
        let names: Vec<String> = plan.services.iter().map(|s| s.name.clone()).collect();
        let _ = tx.send((names, plan.write(&planned, false).map(|w| w.len())));
    });
    let (names, written) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("planning finished instead of waiting on the FIFO");
    assert_eq!(names.len(), 1, "the site is planned: {names:?}");
    assert!(written.is_ok(), "{written:?}");
    assert_eq!(std::fs::read(&precious).unwrap(), PRECIOUS);
}
