//! Parser of procfile manifests (not written yet).
