//! Who performs an operation: plain data that events record. Whether they may is the
//! policy's to say (`auth::policy`), asked by the runtime's facade only.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{MemberId, TeamId};

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
