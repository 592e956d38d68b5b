//! Who may do what. [`Actor`] (plain data of the model, which events record) names who
//! acts; [`policy`] is the one place that decides.
//! The runtime API ([`crate::Kyozo`]) applies it on every call, so every program built
//! on the library gets the same rules.

pub mod policy;

pub use crate::model::Actor;
pub use policy::{Decision, Operation, Target};

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
        team: crate::model::TeamId,
    },
}
