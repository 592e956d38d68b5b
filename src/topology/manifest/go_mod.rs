//! Parser of go_mod manifests (not written yet).
