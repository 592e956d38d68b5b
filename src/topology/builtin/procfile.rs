//! The procfile detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects procfile projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcfileDetector;

impl Detector for ProcfileDetector {
    fn id(&self) -> &str {
        "procfile"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
