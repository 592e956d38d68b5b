//! Parser of gemfile manifests (not written yet).
