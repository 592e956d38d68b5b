//! The gleam detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects gleam projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GleamDetector;

impl Detector for GleamDetector {
    fn id(&self) -> &str {
        "gleam"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
