//! Hostile files handed to `RedbStore::open`: random bytes behind a valid redb magic
//! number, and truncated stores. Opening must answer with an error or a usable store,
//! never a panic or a hang.

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
        match RedbStore::open(&path) {
            Ok(store) => {
                // Whatever opened must answer queries with data or errors, not panics.
                let _ = store.teams();
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
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
            Ok(store) => {
                let _ = store.teams();
            }
            Err(e) => prop_assert!(
                !matches!(e, StoreError::NotADatabase { .. }) || cut < REDB_MAGIC.len(),
                "a truncated store is reported as damaged, not as a foreign file: {e}"
            ),
        }
    }
}
