//! The go detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects go projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GoDetector;

impl Detector for GoDetector {
    fn id(&self) -> &str {
        "go"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
