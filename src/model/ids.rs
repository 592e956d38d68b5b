//! Identifiers: one UUIDv7 newtype per kind of record.
//!
//! UUIDv7 ids sort by creation time, which the store relies on for key order (a team's
//! records iterate oldest first) and which makes ids readable in logs. Distinct types
//! stop a `ServiceId` from being passed where a `TeamId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id (UUIDv7: time-ordered, monotonic within this process).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// The id as a big-endian integer, the form the store orders keys by.
            pub const fn as_u128(&self) -> u128 {
                self.0.as_u128()
            }

            /// The inverse of [`Self::as_u128`].
            pub const fn from_u128(v: u128) -> Self {
                Self(Uuid::from_u128(v))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "-{}"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.strip_prefix(concat!($prefix, "-")).unwrap_or(s);
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies a [`Team`](super::Team), the unit of tenancy.
    TeamId,
    "team"
);
id_type!(
    /// Identifies a [`Workspace`](super::Workspace) inside a team.
    WorkspaceId,
    "ws"
);
id_type!(
    /// Identifies a [`Member`](super::Member): one user's membership of one team.
    MemberId,
    "member"
);
id_type!(
    /// Identifies a [`ServiceInstance`](super::ServiceInstance).
    ServiceId,
    "svc"
);
id_type!(
    /// Identifies a stored [`TopologyDetection`](super::TopologyDetection).
    TopologyId,
    "topo"
);
id_type!(
    /// Identifies a [`DeploymentEvent`](super::DeploymentEvent).
    EventId,
    "evt"
);
id_type!(
    /// Identifies one deployment of a service (the events of one deploy share it).
    DeploymentId,
    "deploy"
);
id_type!(
    /// Identifies a [`HealthCheck`](super::HealthCheck) result.
    HealthCheckId,
    "hc"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_round_trip() {
        let a = ServiceId::new();
        let b = ServiceId::new();
        assert!(a < b, "UUIDv7 ids made later sort later");
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(ServiceId::from_u128(a.as_u128()), a);
        assert_eq!(a.to_string().parse::<ServiceId>().ok(), Some(a));
        assert_eq!(format!("{a:?}").parse::<ServiceId>().ok(), Some(a));
        assert!("not-a-uuid".parse::<ServiceId>().is_err());
        let json = serde_json::to_string(&a).unwrap_or_default();
        assert_eq!(json, format!("\"{a}\""));
    }
}
