//! Tenancy records: [`Team`], [`Workspace`], [`Member`] and the [`Role`] a member holds.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::validate::{ValidationError, validate_display_name, validate_name};
use super::{MemberId, TeamId, Timestamp, WorkspaceId};

/// A team: the unit of tenancy. Every other record belongs to exactly one team, and no
/// query crosses from one team into another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Team {
    /// The team's id.
    pub id: TeamId,
    /// A short name (DNS label rules), unique per store by convention.
    pub name: String,
    /// When the team was created.
    pub created_at: Timestamp,
}

impl Team {
    /// A new team named `name`, validated.
    pub fn new(name: impl Into<String>) -> Result<Self, ValidationError> {
        let name = name.into();
        validate_name("team.name", &name)?;
        Ok(Self {
            id: TeamId::new(),
            name,
            created_at: Timestamp::now(),
        })
    }
}

/// A workspace: a folder or project of a team, holding its services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Workspace {
    /// The workspace's id.
    pub id: WorkspaceId,
    /// The team it belongs to.
    pub team: TeamId,
    /// A short name (DNS label rules).
    pub name: String,
    /// The folder the workspace was made from, if any.
    pub root: Option<std::path::PathBuf>,
    /// When the workspace was created.
    pub created_at: Timestamp,
}

impl Workspace {
    /// A new workspace of `team`, validated.
    pub fn new(team: TeamId, name: impl Into<String>) -> Result<Self, ValidationError> {
        let name = name.into();
        validate_name("workspace.name", &name)?;
        Ok(Self {
            id: WorkspaceId::new(),
            team,
            name,
            root: None,
            created_at: Timestamp::now(),
        })
    }

    /// The same workspace, recording the folder it was made from.
    pub fn with_root(mut self, root: impl Into<std::path::PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }
}

/// A role in a team, from most to least powerful.
///
/// What each role may do is decided in one place, [`crate::auth::policy`], and written
/// as a table in `docs/policy.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Owns the team: everything, including managing members and permissions.
    Owner,
    /// Administers the team: everything on its services, including deploy, scale and remove.
    Admin,
    /// Works on the team's services: create, operate, read; deploy only where granted.
    Member,
    /// Reads the team's services, events and metrics.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// The role's name as written in docs and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::invalid("role", s, "owner, admin, member or viewer"))
    }
}

/// A user's membership of a team, with the role they hold in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Member {
    /// The membership's id; an [`Actor`](crate::auth::Actor) names it.
    pub id: MemberId,
    /// The team.
    pub team: TeamId,
    /// The user's name (free text: a login, an email address).
    pub user: String,
    /// The role held in the team.
    pub role: Role,
    /// When the membership was created.
    pub created_at: Timestamp,
}

impl Member {
    /// A new membership of `team` for `user` with `role`, validated.
    pub fn new(team: TeamId, user: impl Into<String>, role: Role) -> Result<Self, ValidationError> {
        let user = user.into();
        validate_display_name("member.user", &user)?;
        Ok(Self {
            id: MemberId::new(),
            team,
            user,
            role,
            created_at: Timestamp::now(),
        })
    }
}
