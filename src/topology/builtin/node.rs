//! The node detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects node projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NodeDetector;

impl Detector for NodeDetector {
    fn id(&self) -> &str {
        "node"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
