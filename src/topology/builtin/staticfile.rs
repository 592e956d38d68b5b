//! The staticfile detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects staticfile projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StaticfileDetector;

impl Detector for StaticfileDetector {
    fn id(&self) -> &str {
        "staticfile"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
