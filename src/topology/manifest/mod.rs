//! Parsers of the manifests detectors read. Each takes text and returns a typed value or
//! a [`ManifestError`]; none panics on any input (each has a fuzz target in `fuzz/`).

pub mod cargo_toml;
pub mod compose;
pub mod composer;
pub mod dockerfile;
pub mod gemfile;
pub mod go_mod;
pub mod gradle;
pub mod jsonc;
pub mod mix;
pub mod package_json;
pub mod pipfile;
pub mod pom;
pub mod procfile;
pub mod pyproject;
pub mod requirements;

/// A manifest could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ManifestError {
    /// What is wrong, with a line number where the format has lines.
    pub message: String,
}

impl ManifestError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}
