//! Parser of package_json manifests (not written yet).
