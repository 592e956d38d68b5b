//! The php detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects php projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PhpDetector;

impl Detector for PhpDetector {
    fn id(&self) -> &str {
        "php"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
