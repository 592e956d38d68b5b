//! The ruby detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects ruby projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RubyDetector;

impl Detector for RubyDetector {
    fn id(&self) -> &str {
        "ruby"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
