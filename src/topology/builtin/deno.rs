//! The deno detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects deno projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DenoDetector;

impl Detector for DenoDetector {
    fn id(&self) -> &str {
        "deno"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
