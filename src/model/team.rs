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
    /// How its folder was last planned and deployed (base images, the builds'
    /// network, chosen host ports), used again where a call does not say otherwise.
    #[serde(default, skip_serializing_if = "DeployDefaults::is_empty")]
    pub defaults: DeployDefaults,
}

/// How a workspace's folder is planned and deployed when a call does not say
/// otherwise: what it was last deployed with (`kyozo up --image python=IMAGE
/// --build-network host --port web=8081` remembers them for the next `up`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeployDefaults {
    /// Base images by key of the base-image map (`python`, `python:3.12`, `redis`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub images: std::collections::BTreeMap<String, String>,
    /// The network of the builds' `RUN` steps (`host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_network: Option<String>,
    /// Host ports chosen per service (`--port web=8081`): the host port its first
    /// published port takes.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub ports: std::collections::BTreeMap<String, u16>,
    /// Debian packages every generated build installs before the dependencies
    /// (`--system-package libgdal-dev`), besides those Kyozo maps from well-known native
    /// dependencies.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub system_packages: std::collections::BTreeSet<String>,
}

impl DeployDefaults {
    /// Whether it says nothing.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
            && self.build_network.is_none()
            && self.ports.is_empty()
            && self.system_packages.is_empty()
    }

    /// Checks the values: images and the network are non-empty and hold no control
    /// characters or spaces; ports are not 0; system packages are Debian package
    /// names.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let word = |field: &str, v: &str| {
            if v.is_empty() || v.len() > 512 || v.chars().any(|c| c.is_control() || c == ' ') {
                Err(ValidationError::invalid(
                    field,
                    v.escape_debug().to_string(),
                    "a non-empty word without spaces or control characters",
                ))
            } else {
                Ok(())
            }
        };
        for (k, v) in &self.images {
            word("defaults.images.key", k)?;
            word("defaults.images", v)?;
        }
        if let Some(n) = &self.build_network {
            word("defaults.build_network", n)?;
        }
        for p in &self.system_packages {
            if !super::is_debian_package(p) {
                return Err(ValidationError::invalid(
                    "defaults.system_packages",
                    p.escape_debug().to_string(),
                    "a Debian package name (2 to 100 lower-case letters, digits, `+`, `-`, `.`)",
                ));
            }
        }
        for (service, port) in &self.ports {
            validate_name("defaults.ports.service", service)?;
            if *port == 0 {
                return Err(ValidationError::out_of_range(
                    "defaults.ports",
                    0,
                    "1-65535",
                ));
            }
        }
        Ok(())
    }
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
            defaults: DeployDefaults::default(),
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
/// What each role may do is decided in one place, `auth::policy`, and written
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
    /// The membership's id; an [`Actor`](super::Actor) names it.
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
