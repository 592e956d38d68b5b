//! Fuzzes `RedbStore::open` on arbitrary file contents behind a redb magic number: an
//! error or a store, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.redb");
    let mut bytes = REDB_MAGIC.to_vec();
    bytes.extend_from_slice(data);
    if std::fs::write(&path, &bytes).is_ok()
        && let Ok(store) = kyozo::store::RedbStore::open(&path)
    {
        let _ = kyozo::store::Store::teams(&store);
    }
});
