//! Parser of mix manifests (not written yet).
