//! [`ServicePermission`]: rights on one service granted to one member, beyond their role.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{MemberId, ServiceId, TeamId, Timestamp};

/// A right on a service. Rights are ordered: each includes those before it
/// (`admin` ⊇ `deploy` ⊇ `operate` ⊇ `logs` ⊇ `view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// See the service, its events, health and metrics.
    View,
    /// Read its logs.
    Logs,
    /// Start, stop and restart it.
    Operate,
    /// Deploy, scale and roll it back.
    Deploy,
    /// Everything on the service, including removing it.
    Admin,
}

impl Right {
    /// Every right, weakest first.
    pub const ALL: [Right; 5] = [
        Right::View,
        Right::Logs,
        Right::Operate,
        Right::Deploy,
        Right::Admin,
    ];

    /// Whether holding `self` gives `other`.
    pub fn includes(self, other: Right) -> bool {
        self >= other
    }

    /// The right's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Right::View => "view",
            Right::Logs => "logs",
            Right::Operate => "operate",
            Right::Deploy => "deploy",
            Right::Admin => "admin",
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rights on one service granted to one member of the same team. Grants only add to
/// what the member's role allows; they never take anything away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServicePermission {
    /// The team (of both the member and the service).
    pub team: TeamId,
    /// The member granted.
    pub member: MemberId,
    /// The service.
    pub service: ServiceId,
    /// The rights granted.
    pub rights: BTreeSet<Right>,
    /// When the grant was made.
    pub granted_at: Timestamp,
}

impl ServicePermission {
    /// A grant of `rights` to `member` on `service`.
    pub fn new(
        team: TeamId,
        member: MemberId,
        service: ServiceId,
        rights: impl IntoIterator<Item = Right>,
    ) -> Self {
        Self {
            team,
            member,
            service,
            rights: rights.into_iter().collect(),
            granted_at: Timestamp::now(),
        }
    }

    /// Whether this grant gives `right`.
    pub fn grants(&self, right: Right) -> bool {
        self.rights.iter().any(|r| r.includes(right))
    }
}
