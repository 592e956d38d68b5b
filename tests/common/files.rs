//! Shared by the tests that work on a copy of a fixture folder.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::Path;

/// Copies the folder `from` to `to` (made if missing): folders and regular files;
/// links and anything else are left out. The fixtures are small.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
