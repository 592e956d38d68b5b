//! The policy: one function, [`decide`], answers whether an actor may perform an
//! operation on a target. `docs/policy.md` holds the same rules as a table, and a test
//! checks every cell of that table against this code.
//!
//! Rules:
//! - the system actor may do everything;
//! - a member acting on another team's resource gets [`Decision::Hidden`]: callers
//!   answer "not found", exactly as for a resource that does not exist, so nothing
//!   leaks about other teams;
//! - otherwise the member's role decides ([`role_allows`]); where it refuses, a
//!   [`ServicePermission`] on the target service that includes [`Operation::granted_by`]
//!   allows it. Grants only ever add.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{Member, Right, Role, ServiceId, ServicePermission, TeamId};

/// Everything an actor can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// Analyse a folder (read-only).
    Analyze,
    /// Create a workspace.
    CreateWorkspace,
    /// Create a service.
    CreateService,
    /// See a service and its configuration (without secret values).
    ViewService,
    /// Deploy a service.
    Deploy,
    /// Start a service.
    Start,
    /// Stop a service.
    Stop,
    /// Restart a service.
    Restart,
    /// Change a service's number of replicas.
    Scale,
    /// Go back to an earlier deployment.
    Rollback,
    /// Remove a service.
    Remove,
    /// Read a service's logs.
    ReadLogs,
    /// Read a service's metrics and health.
    ReadMetrics,
    /// Read a service's events (the audit trail).
    ReadEvents,
    /// Grant or revoke service permissions.
    ManagePermissions,
    /// Add, remove or change members of the team.
    ManageMembers,
    /// Read the values of a service's settings (`kyozo env list --reveal`): secrets.
    RevealSecrets,
}

impl Operation {
    /// Every operation, in the order of the docs' table.
    pub const ALL: [Operation; 17] = [
        Operation::Analyze,
        Operation::CreateWorkspace,
        Operation::CreateService,
        Operation::ViewService,
        Operation::Deploy,
        Operation::Start,
        Operation::Stop,
        Operation::Restart,
        Operation::Scale,
        Operation::Rollback,
        Operation::Remove,
        Operation::ReadLogs,
        Operation::ReadMetrics,
        Operation::ReadEvents,
        Operation::ManagePermissions,
        Operation::ManageMembers,
        Operation::RevealSecrets,
    ];

    /// The operation's name (`read_logs`), as in the docs' table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Analyze => "analyze",
            Operation::CreateWorkspace => "create_workspace",
            Operation::CreateService => "create_service",
            Operation::ViewService => "view_service",
            Operation::Deploy => "deploy",
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Restart => "restart",
            Operation::Scale => "scale",
            Operation::Rollback => "rollback",
            Operation::Remove => "remove",
            Operation::ReadLogs => "read_logs",
            Operation::ReadMetrics => "read_metrics",
            Operation::ReadEvents => "read_events",
            Operation::ManagePermissions => "manage_permissions",
            Operation::ManageMembers => "manage_members",
            Operation::RevealSecrets => "reveal_secrets",
        }
    }

    /// The service right that allows this operation on one service when the role does
    /// not; `None` for team-level operations, which no service grant can allow.
    pub const fn granted_by(self) -> Option<Right> {
        match self {
            Operation::ViewService | Operation::ReadMetrics | Operation::ReadEvents => {
                Some(Right::View)
            }
            Operation::ReadLogs => Some(Right::Logs),
            Operation::Start | Operation::Stop | Operation::Restart => Some(Right::Operate),
            Operation::Deploy | Operation::Scale | Operation::Rollback => Some(Right::Deploy),
            Operation::Remove => Some(Right::Admin),
            Operation::Analyze
            | Operation::CreateWorkspace
            | Operation::CreateService
            | Operation::ManagePermissions
            | Operation::ManageMembers
            | Operation::RevealSecrets => None,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operation acts on: a team, and a service of it where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The team that owns the resource.
    pub team: TeamId,
    /// The service, for service operations.
    pub service: Option<ServiceId>,
}

impl Target {
    /// A team-level target.
    pub fn team(team: TeamId) -> Self {
        Self {
            team,
            service: None,
        }
    }

    /// A service of `team`.
    pub fn service(team: TeamId, service: ServiceId) -> Self {
        Self {
            team,
            service: Some(service),
        }
    }
}

/// The policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// A member of the team, not allowed.
    Forbidden,
    /// Not the actor's team: answer as if the resource did not exist.
    Hidden,
}

/// Whether `role` allows `op` on anything of its own team, without any grant.
pub const fn role_allows(role: Role, op: Operation) -> bool {
    use Operation as O;
    match role {
        Role::Owner => true,
        Role::Admin => !matches!(op, O::ManageMembers | O::RevealSecrets),
        Role::Member => matches!(
            op,
            O::Analyze
                | O::CreateWorkspace
                | O::CreateService
                | O::ViewService
                | O::Start
                | O::Stop
                | O::Restart
                | O::ReadLogs
                | O::ReadMetrics
                | O::ReadEvents
        ),
        Role::Viewer => matches!(op, O::ViewService | O::ReadMetrics | O::ReadEvents),
    }
}

/// Who is asking, resolved from the store: the system, or a member record.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    /// The system actor.
    System,
    /// A member, as stored.
    Member(&'a Member),
}

/// Decides whether `who` may perform `op` on `target`. `grant` is the member's
/// permission on `target.service`, if they have one; a grant for another member or
/// another service is ignored.
pub fn decide(
    who: Principal<'_>,
    op: Operation,
    target: Target,
    grant: Option<&ServicePermission>,
) -> Decision {
    let member = match who {
        Principal::System => return Decision::Allow,
        Principal::Member(m) => m,
    };
    if member.team != target.team {
        return Decision::Hidden;
    }
    if role_allows(member.role, op) {
        return Decision::Allow;
    }
    let granted = match (op.granted_by(), target.service, grant) {
        (Some(right), Some(service), Some(g)) => {
            g.team == member.team
                && g.member == member.id
                && g.service == service
                && g.grants(right)
        }
        _ => false,
    };
    if granted {
        Decision::Allow
    } else {
        Decision::Forbidden
    }
}
