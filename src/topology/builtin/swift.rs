//! The swift detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects swift projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SwiftDetector;

impl Detector for SwiftDetector {
    fn id(&self) -> &str {
        "swift"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
