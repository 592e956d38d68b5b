//! The python detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects python projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PythonDetector;

impl Detector for PythonDetector {
    fn id(&self) -> &str {
        "python"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
