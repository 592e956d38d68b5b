//! The dart detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects dart projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DartDetector;

impl Detector for DartDetector {
    fn id(&self) -> &str {
        "dart"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
