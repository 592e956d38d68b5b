//! The dotnet detector (not written yet: finds nothing).

use crate::topology::{Detection, Detector, DetectorError, ProjectView};

/// Detects dotnet projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DotnetDetector;

impl Detector for DotnetDetector {
    fn id(&self) -> &str {
        "dotnet"
    }

    fn detect(&self, _view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(Vec::new())
    }
}
