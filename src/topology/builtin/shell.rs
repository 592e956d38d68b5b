//! The shell detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects shell projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShellDetector;

impl Detector for ShellDetector {
    fn id(&self) -> &str {
        "shell"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
