//! The compose detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects compose projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ComposeDetector;

impl Detector for ComposeDetector {
    fn id(&self) -> &str {
        "compose"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
