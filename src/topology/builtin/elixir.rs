//! The elixir detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects elixir projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ElixirDetector;

impl Detector for ElixirDetector {
    fn id(&self) -> &str {
        "elixir"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
