//! Hostile files handed to `RedbStore::open`: random bytes behind a valid redb magic
//! number, and truncated stores. Opening must refuse them with the error that says what
//! is wrong (damaged, cut short, not a redb file) and leave the file as it was, or, for
//! a cut that kept every page, open the whole store; never a panic or a hang.

#![allow(clippy::unwrap_used)]

use kyozo::model::{ServiceInstance, Team, Workspace};
use kyozo::store::{RedbStore, Store, StoreError};
use proptest::prelude::*;

const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

fn a_valid_store(path: &std::path::Path) {
    let store = RedbStore::open(path).unwrap();
    let team = Team::new("t").unwrap();
    store.put_team(&team).unwrap();
    let ws = Workspace::new(team.id, "w").unwrap();
    store.put_workspace(&ws).unwrap();
    for i in 0..50 {
        store
            .put_service(&ServiceInstance::new(team.id, ws.id, format!("s{i}"), "x"))
            .unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_behind_the_magic_number_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..20_000)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile.redb");
        let mut bytes = REDB_MAGIC.to_vec();
        bytes.extend_from_slice(&tail);
        std::fs::write(&path, &bytes).unwrap();
        // Random pages are not a store: redb's checksums and Kyozo's schema check turn
        // them away as damaged, naming the file, and leave it as it was.
        match RedbStore::open(&path) {
            Ok(store) => prop_assert!(
                false,
                "{} random bytes opened as a store (teams {:?})",
                tail.len(),
                store.teams()
            ),
            Err(e) => {
                prop_assert!(
                    matches!(e, StoreError::Corrupt { .. } | StoreError::Truncated { .. }),
                    "{} random bytes: {e:?}",
                    tail.len()
                );
                prop_assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            }
        }
        prop_assert_eq!(std::fs::read(&path).unwrap(), bytes, "left untouched");
    }

    #[test]
    fn truncated_stores_never_panic(keep in 0.0f64..1.0) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truncated.redb");
        a_valid_store(&path);
        let bytes = std::fs::read(&path).unwrap();
        let cut = ((bytes.len() as f64) * keep) as usize;
        std::fs::write(&path, &bytes[..cut]).unwrap();
        match RedbStore::open(&path) {
            // A truncated store is never taken for a new one: whatever opens still
            // holds every record.
            Ok(store) => {
                let teams = store.teams().unwrap();
                prop_assert_eq!(
                    teams.len(),
                    1,
                    "a store cut at {} of {} bytes opened as {:?}",
                    cut,
                    bytes.len(),
                    teams
                );
                let services = store.services(teams[0].id, None).unwrap();
                prop_assert_eq!(services.len(), 50, "cut at {}", cut);
            }
            // Damaged, or cut short: never a foreign file, except a cut inside the
            // magic number itself (then the file does not start like a redb file).
            Err(e) => {
                let expected = match cut {
                    0 => matches!(e, StoreError::Truncated { .. }),
                    c if c < REDB_MAGIC.len() => matches!(e, StoreError::NotADatabase { .. }),
                    _ => matches!(e, StoreError::Corrupt { .. } | StoreError::Truncated { .. }),
                };
                prop_assert!(expected, "a store cut at {} bytes: {:?}", cut, e);
                let after = std::fs::read(&path).unwrap();
                prop_assert!(after == bytes[..cut], "a store cut at {} bytes was changed", cut);
            }
        }
    }
}

#[test]
fn an_empty_or_truncated_file_is_not_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    std::fs::write(&path, b"").unwrap();
    let e = RedbStore::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Truncated { .. }), "{e}");
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("remove it"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), b"", "left untouched");
    // Cut to its first page: redb would take it for an empty database.
    let path = dir.path().join("cut.redb");
    a_valid_store(&path);
    let bytes = std::fs::read(&path).unwrap();
    for cut in [REDB_MAGIC.len(), 64, 512, 4096] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        match RedbStore::open(&path) {
            Ok(store) => panic!(
                "a store cut to {cut} bytes opened, with teams {:?}",
                store.teams()
            ),
            Err(e) => assert!(
                matches!(e, StoreError::Corrupt { .. } | StoreError::Truncated { .. }),
                "cut to {cut} bytes: {e:?}"
            ),
        }
    }
}

#[test]
fn a_new_store_is_private_and_appears_whole() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    drop(RedbStore::open(&path).unwrap());
    for p in [path.clone(), dir.path().join("state.redb.events.log")] {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    // Nothing else was left beside it (no temporary file).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["state.redb", "state.redb.events.log"]);
    // An existing store that others may read is made private.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(RedbStore::open(&path).unwrap());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// A folder someone else wrote ships its `.kyozo/` with links to files of the user's.
#[test]
fn a_state_path_that_is_a_link_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("authorized_keys");
    let original = b"ssh-ed25519 AAAA precious\n".to_vec();
    let reset = || std::fs::write(&precious, &original).unwrap();
    reset();

    // The store file itself.
    let state = dir.path().join("repo/.kyozo");
    std::fs::create_dir_all(&state).unwrap();
    let store = state.join("state.redb");
    std::os::unix::fs::symlink(&precious, &store).unwrap();
    let e = RedbStore::open(&store).unwrap_err();
    assert!(matches!(e, StoreError::UnsafePath { .. }), "{e}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(e.to_string().contains(&store.display().to_string()), "{e}");
    assert_eq!(std::fs::read(&precious).unwrap(), original);

    // Its event log.
    std::fs::remove_file(&store).unwrap();
    let log = state.join("state.redb.events.log");
    std::os::unix::fs::symlink(&precious, &log).unwrap();
    let e = RedbStore::open(&store).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(e.to_string().contains(&log.display().to_string()), "{e}");
    assert_eq!(std::fs::read(&precious).unwrap(), original);

    // The state folder.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let linked = dir.path().join("repo2/.kyozo");
    std::fs::create_dir_all(linked.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
    let e = RedbStore::open(linked.join("state.redb")).unwrap_err();
    assert!(matches!(e, StoreError::UnsafePath { .. }), "{e}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// A store file that belongs to another user is not used (this test runs as root, as
/// CI does, to give the file away).
#[test]
fn another_users_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    a_valid_store(&path);
    std::os::unix::fs::chown(&path, Some(65534), Some(65534))
        .expect("giving the file to nobody needs root (CI runs as root)");
    let before = std::fs::read(&path).unwrap();
    let e = RedbStore::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::UnsafePath { .. }), "{e}");
    assert!(e.to_string().contains("another user"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// The store's event log, or the state folder, that belongs to another user is not
/// used either: refused with an error that names it, and left as it was.
#[test]
fn another_users_event_log_or_state_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    a_valid_store(&path);
    let log = dir.path().join("state.redb.events.log");
    assert!(log.is_file(), "the store keeps its log beside it");
    std::os::unix::fs::chown(&log, Some(65534), Some(65534))
        .expect("giving the file to nobody needs root (CI runs as root)");
    let before = std::fs::read(&log).unwrap();
    let e = RedbStore::open(&path).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("another user"), "{message}");
    assert!(message.contains(&log.display().to_string()), "{message}");
    assert_eq!(std::fs::read(&log).unwrap(), before);

    let state = dir.path().join(".kyozo");
    std::fs::create_dir(&state).unwrap();
    std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
    let e = kyozo::safe_fs::create_private_dir(&state).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("another user"), "{e}");
}

/// A store knows the file it was made in: reopened, it says so; a copy of it (as a
/// repository or an archive ships one, even put back at the same path) says it is not.
#[test]
fn a_copied_store_says_it_was_not_made_here() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    a_valid_store(&path);
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.made_here().unwrap(), Some(true));
    drop(store);

    let copy = dir.path().join("copy.redb");
    std::fs::copy(&path, &copy).unwrap();
    assert_eq!(
        RedbStore::open(&copy).unwrap().made_here().unwrap(),
        Some(false)
    );
    // The copy put back in place of the original: still a copy.
    std::fs::rename(&copy, &path).unwrap();
    assert_eq!(
        RedbStore::open(&path).unwrap().made_here().unwrap(),
        Some(false)
    );
}
