//! Parser of pom manifests (not written yet).
