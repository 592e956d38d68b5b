//! Parser of pyproject manifests (not written yet).
