//! The rust detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects rust projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RustDetector;

impl Detector for RustDetector {
    fn id(&self) -> &str {
        "rust"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
