//! The cpp detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects cpp projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CppDetector;

impl Detector for CppDetector {
    fn id(&self) -> &str {
        "cpp"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
