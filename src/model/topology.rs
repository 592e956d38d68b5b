//! [`TopologyDetection`]: the stored result of analysing a folder.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{TeamId, Timestamp, TopologyId, WorkspaceId};

/// One service found in a folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DetectedService {
    /// Its name.
    pub name: String,
    /// Its folder, relative to the analysed root.
    pub path: PathBuf,
    /// The stack (`node`, `python`...).
    pub stack: String,
    /// The framework, if one was recognised.
    pub framework: Option<String>,
    /// How sure the engine is, in [0, 1].
    pub confidence: f64,
}

/// What analysing a folder found, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopologyDetection {
    /// The detection's id.
    pub id: TopologyId,
    /// The team that asked.
    pub team: TeamId,
    /// The workspace it was made for, if any.
    pub workspace: Option<WorkspaceId>,
    /// The folder analysed.
    pub root: PathBuf,
    /// The services found, with their confidence.
    pub services: Vec<DetectedService>,
    /// Patterns recognised (`monorepo`, `npm-workspaces`, `compose-stack`...).
    pub patterns: Vec<String>,
    /// The deployment strategy chosen (`single-service`, `compose`, `per-service`...).
    pub strategy: String,
    /// Every technology seen, sorted.
    pub technology_stack: Vec<String>,
    /// The files that decided (`package.json`, `Dockerfile`...).
    pub file_indicators: Vec<String>,
    /// How long the analysis took.
    #[serde(with = "super::service::duration_ms")]
    pub duration: Duration,
    /// When it ran.
    pub at: Timestamp,
}

impl TopologyDetection {
    /// An empty detection of `root` for `team`, now.
    pub fn new(team: TeamId, root: impl Into<PathBuf>) -> Self {
        Self {
            id: TopologyId::new(),
            team,
            workspace: None,
            root: root.into(),
            services: Vec::new(),
            patterns: Vec::new(),
            strategy: String::new(),
            technology_stack: Vec::new(),
            file_indicators: Vec::new(),
            duration: Duration::ZERO,
            at: Timestamp::now(),
        }
    }
}
