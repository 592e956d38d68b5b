//! The clojure detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects clojure projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClojureDetector;

impl Detector for ClojureDetector {
    fn id(&self) -> &str {
        "clojure"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
