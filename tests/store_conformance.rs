//! The store conformance suite as a store written outside the crate runs it:
//! `kyozo::testing::store_conformance` (the `testing` feature), here against the
//! stores Kyozo ships.

#![allow(clippy::unwrap_used)]

#[test]
fn the_memory_store_conforms_through_the_public_suite() {
    kyozo::testing::store_conformance(&kyozo::store::MemoryStore::new());
}

#[cfg(feature = "redb")]
#[test]
fn the_redb_store_conforms_through_the_public_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = kyozo::store::RedbStore::open(dir.path().join("kyozo.redb")).unwrap();
    kyozo::testing::store_conformance(&store);
}
