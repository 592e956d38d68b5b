//! Parser of pipfile manifests (not written yet).
