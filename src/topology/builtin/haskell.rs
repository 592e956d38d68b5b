//! The haskell detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects haskell projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HaskellDetector;

impl Detector for HaskellDetector {
    fn id(&self) -> &str {
        "haskell"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
