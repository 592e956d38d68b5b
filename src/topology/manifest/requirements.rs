//! Parser of requirements manifests (not written yet).
