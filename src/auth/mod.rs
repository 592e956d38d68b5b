//! Who may do what. [`Actor`] names who acts; [`policy`] is the one place that decides.
//! The runtime API ([`crate::Kyozo`]) applies it on every call, so every program built
//! on the library gets the same rules.

pub mod policy;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{MemberId, TeamId};

pub use policy::{Decision, Operation, Target};

/// Who performs an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// Kyozo itself (the manager's loops, reconciliation). Allowed everything.
    System,
    /// A member of a team, acting with the role the store holds for them.
    Member {
        /// The member's team.
        team: TeamId,
        /// The membership.
        member: MemberId,
    },
}

impl Actor {
    /// A member of `team`.
    pub fn member(team: TeamId, member: MemberId) -> Self {
        Actor::Member { team, member }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Member { member, .. } => write!(f, "member {member}"),
        }
    }
}

/// The actor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The actor is a member of the team, but neither their role nor a grant allows it.
    #[error("{actor} ({role}) may not {operation}{}", on.map(|s| format!(" on service {s}")).unwrap_or_default())]
    Forbidden {
        /// Who asked.
        actor: Actor,
        /// Their role.
        role: crate::model::Role,
        /// What they asked to do.
        operation: Operation,
        /// The service, if the operation targets one.
        on: Option<crate::model::ServiceId>,
    },
    /// The actor names no member of the team it claims (never existed, or removed).
    #[error("unknown actor: {actor} is not a member of team {team}")]
    UnknownActor {
        /// Who asked.
        actor: Actor,
        /// The team it claimed.
        team: TeamId,
    },
}
