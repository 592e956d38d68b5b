//! The folder's state (`.kyozo/`), when the folder was written by someone else: links
//! where Kyozo keeps its state are refused and their targets left byte for byte, a new
//! state is private, a state that came with the folder is warned about, an empty one is
//! not taken for a new one, and a new state never runs a folder a second time beside
//! what an earlier state left running. Run on the Docker Engine (every command reaches
//! it before it touches the state).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::kyozo;

#[path = "../../../tests/common/docker.rs"]
mod docker;
#[path = "../../../tests/common/images.rs"]
mod images;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

const PRECIOUS: &[u8] = b"ssh-ed25519 AAAAC3Nza precious@laptop\n";

/// A folder with a Dockerfile, canonical.
fn folder(tmp: &Path, name: &str, dockerfile: &str) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    std::fs::canonicalize(&dir).unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn links_where_the_state_goes_are_refused_and_their_targets_untouched() {
    let Some(_engine) = docker::engine().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let precious = tmp.path().join("authorized_keys");
    std::fs::write(&precious, PRECIOUS).unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let dockerfile = "FROM scratch\nCMD [\"x\"]\n";

    // `.kyozo` itself a link to a folder outside.
    let a = folder(tmp.path(), "a", dockerfile);
    std::os::unix::fs::symlink(&outside, a.join(".kyozo")).unwrap();
    let (code, _, err) = kyozo(&["up", a.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(".kyozo"), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

    // The store, and its event log, links to a file of the user's.
    for name in ["state.redb", "state.redb.events.log"] {
        let b = folder(tmp.path(), &format!("b-{name}"), dockerfile);
        std::fs::create_dir(b.join(".kyozo")).unwrap();
        let link = b.join(".kyozo").join(name);
        std::os::unix::fs::symlink(&precious, &link).unwrap();
        let (code, _, err) = kyozo(&["up", b.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(name), "{err}");
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&precious).unwrap(), PRECIOUS, "{name}");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    // An empty store is not a new one: it is named, with what to do.
    let c = folder(tmp.path(), "c", dockerfile);
    std::fs::create_dir(c.join(".kyozo")).unwrap();
    std::fs::write(c.join(".kyozo/state.redb"), b"").unwrap();
    let (code, _, err) = kyozo(&["-C", c.to_str().unwrap(), "ps"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("state.redb"), "{err}");
    assert!(err.contains("empty"), "{err}");
    assert!(err.contains("remove it"), "{err}");
    assert_eq!(std::fs::read(c.join(".kyozo/state.redb")).unwrap(), b"");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_state_is_private_and_one_from_elsewhere_is_warned_about() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let busybox = docker::busybox(&engine).await;
    let tmp = tempfile::tempdir().unwrap();
    // Something to run: `up` makes the state (a folder with nothing to run gets none:
    // lifecycle.rs).
    let dir = folder(
        tmp.path(),
        "small",
        &format!("FROM {busybox}\nCMD [\"sleep\", \"300\"]\n"),
    );
    let (code, out, err) = kyozo(&["up", dir.to_str().unwrap()]);
    let team = {
        let k = kyozo::Kyozo::builder()
            .state_file(dir.join(".kyozo/state.redb"))
            .build()
            .unwrap();
        k.store().teams().unwrap()[0].id.to_string()
    };
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team);
    assert_eq!(code, 0, "{out}\n{err}");
    let state = dir.join(".kyozo");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("state.redb")), 0o600);
    assert_eq!(mode(&state.join("state.redb.events.log")), 0o600);
    assert_eq!(std::fs::read(state.join(".gitignore")).unwrap(), b"*\n");
    // Nothing else: no temporary file left.
    let mut names: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".gitignore", "state.redb", "state.redb.events.log"]);

    // The same state, shipped with a copy of the folder.
    let copy = tmp.path().join("cloned");
    std::fs::create_dir_all(copy.join(".kyozo")).unwrap();
    for name in ["state.redb", "state.redb.events.log"] {
        std::fs::copy(state.join(name), copy.join(".kyozo").join(name)).unwrap();
    }
    std::fs::write(copy.join("README.md"), "nothing here\n").unwrap();
    let (_, _, err) = kyozo(&["up", copy.to_str().unwrap()]);
    assert!(
        err.contains("was not made for this folder"),
        "a state from elsewhere is warned about: {err}"
    );
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(err.contains("is a copy"), "{err}");
    // The state folder that came with it is made private.
    assert_eq!(mode(&copy.join(".kyozo")), 0o700);

    // A state made for the very path it lands at (a repository can ship one for the
    // path it knows it will be cloned to): a copy all the same, and said so. Here: the
    // first folder's own state, replaced by a copy of itself.
    let (code, _, err) = kyozo(&["ps", "-C", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "its own state: {err}");
    let own = state.join("state.redb");
    let copied = state.join("copied");
    std::fs::copy(&own, &copied).unwrap();
    std::fs::rename(&copied, &own).unwrap();
    let (code, _, err) = kyozo(&["ps", "-C", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is a copy"), "{err}");
    assert!(!err.contains("was not made for this folder"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_state_refuses_to_run_a_folder_twice() {
    let Some(_engine) = docker::engine().await else {
        return;
    };
    let runtimes = tokio::task::spawn_blocking(images::runtimes).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(
        tmp.path(),
        "twice",
        &format!("FROM {runtimes}\nCMD [\"sleep\", \"1000\"]\n"),
    );
    let (code, _, err) = kyozo(&["up", dir.to_str().unwrap()]);
    let team = {
        let k = kyozo::Kyozo::builder()
            .state_file(dir.join(".kyozo/state.redb"))
            .build()
            .unwrap();
        let teams = k.store().teams().unwrap();
        teams[0].id.to_string()
    };
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team);
    assert_eq!(code, 0, "{err}");
    // The state is lost; what it ran still runs.
    std::fs::remove_dir_all(dir.join(".kyozo")).unwrap();
    let (code, _, err) = kyozo(&["up", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("by another Kyozo state"), "{err}");
    assert!(err.contains("kyozo-twice-"), "names the container: {err}");
    assert!(err.contains("docker rm -f kyozo-twice-"), "{err}");
    let running = std::process::Command::new("docker")
        .args(["ps", "-q", "--filter", "name=kyozo-twice-"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&running.stdout).lines().count(),
        1,
        "one container, not two"
    );
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a small tmpfs needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(at.to_path_buf())
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The image the one running container of `name` runs.
fn running_image(name: &str) -> String {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "--filter",
            &format!("name=kyozo-{name}-"),
            "--format",
            "{{.Image}}",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The state on a disk that fills up: whatever `up` says it recorded, the state holds
/// afterwards, and it never says "recorded" of what it could not write.
#[tokio::test(flavor = "multi_thread")]
async fn up_on_a_full_disk_claims_nothing_it_could_not_write() {
    let Some(_engine) = docker::engine().await else {
        return;
    };
    let runtimes = tokio::task::spawn_blocking(images::runtimes).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&tmp.path().join("disk"), "16m");
    let state = disk.0.join("state.redb");
    let state_arg = state.to_str().unwrap().to_string();
    let dir = folder(
        tmp.path(),
        "fills",
        &format!("FROM {runtimes}\nCMD [\"sleep\", \"1000\"]\n"),
    );
    let dir_arg = dir.to_str().unwrap().to_string();
    let (code, _, err) = kyozo(&["--state", &state_arg, "up", &dir_arg]);
    let team = {
        let k = kyozo::Kyozo::builder().state_file(&state).build().unwrap();
        k.store().teams().unwrap()[0].id.to_string()
    };
    let _cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team);
    assert_eq!(code, 0, "{err}");
    let first = running_image("fills");

    // The disk fills; the folder changes; `up` again.
    let filler = disk.fill();
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {runtimes}\nCMD [\"sleep\", \"1001\"]\n"),
    )
    .unwrap();
    let (code, out, err) = kyozo(&["--state", &state_arg, "up", &dir_arg]);
    let said = format!("{out}\n{err}");
    eprintln!("up on a full disk, exit {code}:\n{said}");
    std::fs::remove_file(&filler).unwrap();
    assert!(
        !said.contains("is recorded"),
        "nothing is said to be recorded on a full disk: {said}"
    );
    let (_, ps, ps_err) = kyozo(&["--state", &state_arg, "-C", &dir_arg, "ps", "--json"]);
    let ps: serde_json::Value = serde_json::from_str(&ps).expect(&ps_err);
    let stored = ps["services"][0]["image"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let runs = running_image("fills");
    if code == 0 {
        // It said it deployed: the state says what runs.
        assert_ne!(runs, first, "{said}");
        assert_eq!(stored, runs, "{said}");
    } else {
        assert!(said.contains("No space left on device"), "{said}");
        assert!(
            said.contains("could not be recorded") || said.contains("cannot open the state"),
            "{said}"
        );
    }
    // With room again, `up` brings the state and the engine together.
    let (code, _, err) = kyozo(&["--state", &state_arg, "up", &dir_arg]);
    assert_eq!(code, 0, "{err}");
    let (_, ps, _) = kyozo(&["--state", &state_arg, "-C", &dir_arg, "ps", "--json"]);
    let ps: serde_json::Value = serde_json::from_str(&ps).unwrap();
    assert_eq!(
        ps["services"][0]["image"].as_str().unwrap(),
        running_image("fills")
    );
    assert_ne!(running_image("fills"), first);
    let (code, _, err) = kyozo(&["--state", &state_arg, "-C", &dir_arg, "down"]);
    assert_eq!(code, 0, "{err}");
    drop(disk);
}
