//! Parser of composer manifests (not written yet).
