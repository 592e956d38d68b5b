//! Parser of dockerfile manifests (not written yet).
