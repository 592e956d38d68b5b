//! The zig detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects zig projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ZigDetector;

impl Detector for ZigDetector {
    fn id(&self) -> &str {
        "zig"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
