//! The dockerfile detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects dockerfile projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DockerfileDetector;

impl Detector for DockerfileDetector {
    fn id(&self) -> &str {
        "dockerfile"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
