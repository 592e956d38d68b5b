//! The crystal detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects crystal projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CrystalDetector;

impl Detector for CrystalDetector {
    fn id(&self) -> &str {
        "crystal"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
