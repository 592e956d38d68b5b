//! [`ServiceStatus`], the lifecycle state machine of a service.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a service is in its lifecycle.
///
/// ```text
///            ┌──────────────────────────────────────────────┐
/// pending ─► building ─► deploying ─► running ⇄ stopped      │ any non-removed state
///    │                      ▲   ▲        │  ▲                 ├──► failed ─► building / deploying
///    └──────────────────────┘   └────────┤  │                 │              / stopped / removed
///                                        ▼  │                 │
///                                     scaling                 └──► removed (terminal)
/// ```
///
/// [`ServiceStatus::can_transition_to`] is the whole table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServiceStatus {
    /// Created, never deployed.
    Pending,
    /// Its image is being built.
    Building,
    /// Containers are being created and started (a deploy, a redeploy or a rollback).
    Deploying,
    /// Its containers run.
    Running,
    /// The number of replicas is changing.
    Scaling,
    /// Stopped on purpose; can be started again.
    Stopped,
    /// The last operation failed, or its containers died.
    Failed,
    /// Removed; terminal.
    Removed,
}

/// A status change that the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a service cannot go from {from} to {to}")]
pub struct StatusTransitionError {
    /// The current status.
    pub from: ServiceStatus,
    /// The refused status.
    pub to: ServiceStatus,
}

impl ServiceStatus {
    /// Every status.
    pub const ALL: [ServiceStatus; 8] = [
        ServiceStatus::Pending,
        ServiceStatus::Building,
        ServiceStatus::Deploying,
        ServiceStatus::Running,
        ServiceStatus::Scaling,
        ServiceStatus::Stopped,
        ServiceStatus::Failed,
        ServiceStatus::Removed,
    ];

    /// Whether the state machine allows going from `self` to `to`. Staying in the same
    /// state is not a transition and is refused.
    pub const fn can_transition_to(self, to: ServiceStatus) -> bool {
        use ServiceStatus::*;
        matches!(
            (self, to),
            (Pending, Building | Deploying | Failed | Removed)
                | (Building, Deploying | Failed | Removed)
                | (Deploying, Running | Failed | Removed)
                | (
                    Running,
                    Building | Deploying | Scaling | Stopped | Failed | Removed
                )
                | (Scaling, Running | Failed | Removed)
                | (Stopped, Building | Deploying | Running | Failed | Removed)
                | (Failed, Building | Deploying | Running | Stopped | Removed)
        )
    }

    /// `to` if the transition is allowed, a typed error otherwise.
    pub fn transition(self, to: ServiceStatus) -> Result<ServiceStatus, StatusTransitionError> {
        if self.can_transition_to(to) {
            Ok(to)
        } else {
            Err(StatusTransitionError { from: self, to })
        }
    }

    /// Whether the service is in the middle of an operation.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            ServiceStatus::Building | ServiceStatus::Deploying | ServiceStatus::Scaling
        )
    }

    /// Whether no transition leaves this state.
    pub const fn is_terminal(self) -> bool {
        matches!(self, ServiceStatus::Removed)
    }

    /// The status as written in docs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Pending => "pending",
            ServiceStatus::Building => "building",
            ServiceStatus::Deploying => "deploying",
            ServiceStatus::Running => "running",
            ServiceStatus::Scaling => "scaling",
            ServiceStatus::Stopped => "stopped",
            ServiceStatus::Failed => "failed",
            ServiceStatus::Removed => "removed",
        }
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = ServiceStatus> {
        proptest::sample::select(ServiceStatus::ALL.to_vec())
    }

    proptest! {
        /// Any walk of the machine that only takes allowed steps ends in a state from
        /// which `removed` is reachable, unless it is `removed`; refused steps leave the
        /// state unchanged and name both ends.
        #[test]
        fn random_walks_respect_the_table(steps in proptest::collection::vec(status(), 0..64)) {
            let mut current = ServiceStatus::Pending;
            for to in steps {
                match current.transition(to) {
                    Ok(next) => {
                        prop_assert!(current.can_transition_to(to));
                        prop_assert_ne!(current, next);
                        current = next;
                    }
                    Err(e) => {
                        prop_assert_eq!(e, StatusTransitionError { from: current, to });
                        prop_assert!(!current.can_transition_to(to));
                    }
                }
            }
            prop_assert!(current.is_terminal() || current.can_transition_to(ServiceStatus::Removed));
        }

        #[test]
        fn removed_is_terminal_and_self_loops_are_refused(to in status()) {
            prop_assert!(ServiceStatus::Removed.transition(to).is_err());
            prop_assert!(to.transition(to).is_err());
        }

        #[test]
        fn every_live_state_can_fail_and_be_removed(from in status()) {
            if from != ServiceStatus::Removed {
                prop_assert!(from.can_transition_to(ServiceStatus::Removed));
                prop_assert_eq!(from.can_transition_to(ServiceStatus::Failed), from != ServiceStatus::Failed);
            }
        }
    }

    #[test]
    fn the_usual_lifecycle_is_allowed() {
        use ServiceStatus::*;
        let path = [
            Pending, Building, Deploying, Running, Stopped, Running, Scaling, Running, Deploying,
            Running, Removed,
        ];
        for pair in path.windows(2) {
            assert!(
                pair[0].can_transition_to(pair[1]),
                "{} -> {}",
                pair[0],
                pair[1]
            );
        }
        for (from, to) in [
            (Pending, Running),
            (Building, Running),
            (Stopped, Scaling),
            (Removed, Pending),
            (Scaling, Stopped),
        ] {
            assert!(from.transition(to).is_err(), "{from} -> {to}");
        }
    }
}
