//! [`ServiceDependency`]: one service needing another, and how they are wired.

use serde::{Deserialize, Serialize};

use super::validate::ValidationError;
use super::{ServiceId, TeamId, WorkspaceId};

/// Whether the dependent can run without its dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// The dependent cannot work without it: it starts first.
    Required,
    /// The dependent works without it, with less.
    Optional,
}

/// How the dependent finds its dependency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Wiring {
    /// An environment variable of the dependent holds the address (`DATABASE_URL`).
    EnvVar {
        /// The variable's name.
        name: String,
    },
    /// The dependent reaches it by its service name on a shared network.
    Network,
    /// They share a volume.
    Volume {
        /// The volume's name.
        name: String,
    },
}

/// `from` depends on `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceDependency {
    /// The team.
    pub team: TeamId,
    /// The workspace both services are in.
    pub workspace: WorkspaceId,
    /// The dependent service.
    pub from: ServiceId,
    /// The service it needs.
    pub to: ServiceId,
    /// Required or optional.
    pub kind: DependencyKind,
    /// How they are wired.
    pub wiring: Wiring,
    /// Where `to` comes in the start order (0 starts first).
    pub start_order: u32,
}

impl ServiceDependency {
    /// A required dependency of `from` on `to`, over the network, starting in order 0.
    pub fn new(team: TeamId, workspace: WorkspaceId, from: ServiceId, to: ServiceId) -> Self {
        Self {
            team,
            workspace,
            from,
            to,
            kind: DependencyKind::Required,
            wiring: Wiring::Network,
            start_order: 0,
        }
    }

    /// Checks the dependency: a service cannot depend on itself; an env var wiring names
    /// a valid variable.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.from == self.to {
            return Err(ValidationError::invalid(
                "dependency.to",
                self.to.to_string(),
                "a service other than the dependent",
            ));
        }
        if let Wiring::EnvVar { name } = &self.wiring {
            super::service::validate_env_name(name).map_err(|_| {
                ValidationError::invalid("dependency.wiring.name", name.clone(), "an env var name")
            })?;
        }
        Ok(())
    }
}
