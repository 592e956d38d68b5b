//! Parser of compose manifests (not written yet).
