//! The java detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects java projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JavaDetector;

impl Detector for JavaDetector {
    fn id(&self) -> &str {
        "java"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
