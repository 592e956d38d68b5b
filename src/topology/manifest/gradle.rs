//! Parser of gradle manifests (not written yet).
