//! Parser of cargo_toml manifests (not written yet).
