//! The scala detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects scala projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScalaDetector;

impl Detector for ScalaDetector {
    fn id(&self) -> &str {
        "scala"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
