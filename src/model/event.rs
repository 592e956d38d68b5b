//! [`DeploymentEvent`]: one entry of a service's audit trail, and [`NewEvent`], the form
//! an event takes before the store numbers it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::validate::ValidationError;
use super::{DeploymentId, EventId, HealthCheckKind, ServiceId, TeamId, Timestamp, WorkspaceId};
use crate::model::Actor;

/// The largest event accepted: 64 KiB (its payload and error as JSON, plus a fixed
/// allowance for the other fields).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// What the fixed-size fields of an event count for against [`MAX_EVENT_BYTES`].
const FIXED_EVENT_BYTES: usize = 512;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The service was created.
    ServiceCreated,
    /// Its configuration changed.
    ConfigChanged,
    /// A deployment began.
    DeploymentStarted,
    /// A deployment finished: the new containers run (and are healthy, with a check).
    DeploymentCompleted,
    /// A deployment failed.
    DeploymentFailed,
    /// An image was built.
    ImageBuilt,
    /// Containers started.
    Started,
    /// Containers stopped on request.
    Stopped,
    /// Containers restarted.
    Restarted,
    /// The number of replicas changed.
    Scaled,
    /// The service went back to an earlier deployment.
    RolledBack,
    /// A health check passed after failing (or for the first time).
    HealthPassed,
    /// A health check failed.
    HealthFailed,
    /// A container exited without being asked to.
    Crashed,
    /// A container was killed for using more memory than its limit.
    OomKilled,
    /// The service was removed.
    Removed,
    /// An operation other than a deployment (start, stop, restart, scale) failed; its
    /// error names the operation (detail `operation`) and the step.
    OperationFailed,
    /// The manager removed dead containers or images no deployment needs any more.
    CleanedUp,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 18] = [
        EventKind::ServiceCreated,
        EventKind::ConfigChanged,
        EventKind::DeploymentStarted,
        EventKind::DeploymentCompleted,
        EventKind::DeploymentFailed,
        EventKind::ImageBuilt,
        EventKind::Started,
        EventKind::Stopped,
        EventKind::Restarted,
        EventKind::Scaled,
        EventKind::RolledBack,
        EventKind::HealthPassed,
        EventKind::HealthFailed,
        EventKind::Crashed,
        EventKind::OomKilled,
        EventKind::Removed,
        EventKind::OperationFailed,
        EventKind::CleanedUp,
    ];

    /// The kind as written in JSON (`deployment_started`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ServiceCreated => "service_created",
            EventKind::ConfigChanged => "config_changed",
            EventKind::DeploymentStarted => "deployment_started",
            EventKind::DeploymentCompleted => "deployment_completed",
            EventKind::DeploymentFailed => "deployment_failed",
            EventKind::ImageBuilt => "image_built",
            EventKind::Started => "started",
            EventKind::Stopped => "stopped",
            EventKind::Restarted => "restarted",
            EventKind::Scaled => "scaled",
            EventKind::RolledBack => "rolled_back",
            EventKind::HealthPassed => "health_passed",
            EventKind::HealthFailed => "health_failed",
            EventKind::Crashed => "crashed",
            EventKind::OomKilled => "oom_killed",
            EventKind::Removed => "removed",
            EventKind::OperationFailed => "operation_failed",
            EventKind::CleanedUp => "cleaned_up",
        }
    }

    /// Whether `payload` is a payload this kind carries.
    pub fn accepts(self, payload: &EventPayload) -> bool {
        use EventKind as K;
        use EventPayload as P;
        matches!(
            (self, payload),
            (
                K::ServiceCreated | K::ConfigChanged,
                P::None | P::Config { .. }
            ) | (
                K::DeploymentStarted | K::DeploymentCompleted | K::DeploymentFailed,
                P::Deployment { .. }
            ) | (K::ImageBuilt, P::ImageBuilt { .. })
                | (
                    K::Started | K::Stopped | K::Restarted | K::Removed,
                    P::None | P::Containers { .. }
                )
                | (K::Scaled, P::Scaled { .. })
                | (K::RolledBack, P::RolledBack { .. })
                | (K::HealthPassed | K::HealthFailed, P::Health { .. })
                | (K::Crashed | K::OomKilled, P::Exited { .. })
                | (
                    K::OperationFailed,
                    P::None | P::Containers { .. } | P::Scaled { .. }
                )
                | (K::CleanedUp, P::CleanedUp { .. })
        )
    }

    /// Whether events of this kind must say what went wrong.
    pub fn requires_error(self) -> bool {
        matches!(
            self,
            EventKind::DeploymentFailed | EventKind::OperationFailed
        )
    }

    /// Whether events of this kind report a failure (and so may carry an error).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            EventKind::DeploymentFailed
                | EventKind::OperationFailed
                | EventKind::HealthFailed
                | EventKind::Crashed
                | EventKind::OomKilled
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The data an event carries; which payload goes with which kind is checked by
/// [`EventKind::accepts`]. Payloads never hold secret values: a config change lists the
/// names of what changed, not the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventPayload {
    /// Nothing more to say.
    #[default]
    None,
    /// Names of the settings that changed (env var names, `ports`, `limits`...).
    Config {
        /// What changed, by name.
        changed: Vec<String>,
    },
    /// A deployment and the image it deploys.
    Deployment {
        /// Which deployment.
        deployment: DeploymentId,
        /// The image deployed, once known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    },
    /// An image was built.
    ImageBuilt {
        /// Its tag.
        image: String,
        /// Its id or digest, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// The containers concerned.
    Containers {
        /// Container ids.
        ids: Vec<String>,
    },
    /// Replicas before and after.
    Scaled {
        /// Before.
        from: u32,
        /// After.
        to: u32,
    },
    /// The deployment gone back to.
    RolledBack {
        /// The earlier deployment.
        to_deployment: DeploymentId,
        /// The image it ran.
        image: String,
    },
    /// A health check.
    Health {
        /// The kind of probe.
        kind: HealthCheckKind,
        /// What it probed.
        target: String,
    },
    /// A container exit.
    Exited {
        /// The container.
        container: String,
        /// Its exit code, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i64>,
    },
    /// What a cleanup removed.
    CleanedUp {
        /// Dead containers removed.
        containers: Vec<String>,
        /// Images removed (their tags).
        images: Vec<String>,
    },
}

/// What went wrong, on a failure event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventError {
    /// A one-line message.
    pub message: String,
    /// Details by name (the failing step, a log tail...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

impl EventError {
    /// An error with a message and no details.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: BTreeMap::new(),
        }
    }

    /// The same error with one more detail.
    pub fn with_detail(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.insert(name.into(), value.into());
        self
    }
}

/// An event before the store appends it: everything but its id and sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewEvent {
    /// The team.
    pub team: TeamId,
    /// The workspace of the service.
    pub workspace: WorkspaceId,
    /// The service.
    pub service: ServiceId,
    /// What happened.
    pub kind: EventKind,
    /// Its data; must suit `kind`.
    pub payload: EventPayload,
    /// Who did it.
    pub actor: Actor,
    /// The deployment it belongs to, if any.
    pub deployment: Option<DeploymentId>,
    /// What went wrong, on a failure.
    pub error: Option<EventError>,
    /// How long the operation took, on a completion or failure.
    #[serde(with = "super::service::duration_ms_opt")]
    pub duration: Option<Duration>,
    /// When it happened.
    pub at: Timestamp,
}

impl NewEvent {
    /// An event of `service` (its team, workspace and id), of `kind`, by `actor`.
    pub fn about(service: &super::ServiceInstance, kind: EventKind, actor: Actor) -> Self {
        Self::new(service.team, service.workspace, service.id, kind, actor)
    }

    /// An event of `kind` on a service, now, with no payload.
    pub fn new(
        team: TeamId,
        workspace: WorkspaceId,
        service: ServiceId,
        kind: EventKind,
        actor: Actor,
    ) -> Self {
        Self {
            team,
            workspace,
            service,
            kind,
            payload: EventPayload::None,
            actor,
            deployment: None,
            error: None,
            duration: None,
            at: Timestamp::now(),
        }
    }

    /// The same event with a payload.
    pub fn with_payload(mut self, payload: EventPayload) -> Self {
        self.payload = payload;
        self
    }

    /// The same event with an error.
    pub fn with_error(mut self, error: EventError) -> Self {
        self.error = Some(error);
        self
    }

    /// The same event with a duration.
    pub fn with_duration(mut self, d: Duration) -> Self {
        self.duration = Some(d);
        self
    }

    /// The same event as part of a deployment.
    pub fn with_deployment(mut self, d: DeploymentId) -> Self {
        self.deployment = Some(d);
        self
    }

    /// The same event at another time.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = at;
        self
    }

    /// Checks the event: the payload suits the kind, an error is present where the kind
    /// requires one and absent where the kind is not a failure, and the event fits the
    /// size cap.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_shape()?;
        let size = self.variable_size();
        if size > MAX_EVENT_BYTES {
            return Err(ValidationError::TooLarge {
                field: "event".into(),
                size,
                max: MAX_EVENT_BYTES,
            });
        }
        Ok(())
    }

    /// The checks of [`Self::validate`] but the size cap (stores check the size of what
    /// they encode instead, to encode once).
    pub(crate) fn validate_shape(&self) -> Result<(), ValidationError> {
        if !self.kind.accepts(&self.payload) {
            return Err(ValidationError::invalid(
                "event.payload",
                payload_name(&self.payload),
                format!("a payload that a {} event carries", self.kind),
            ));
        }
        if self.kind.requires_error() && self.error.is_none() {
            return Err(ValidationError::invalid(
                "event.error",
                "none",
                format!(
                    "an error message: a {} event says what went wrong",
                    self.kind
                ),
            ));
        }
        if !self.kind.is_failure() && self.error.is_some() {
            return Err(ValidationError::invalid(
                "event.error",
                "an error",
                format!("no error on a {} event", self.kind),
            ));
        }
        Ok(())
    }

    /// The size of the event's variable parts (payload and error) as JSON, plus a
    /// fixed allowance for the rest: what the size cap applies to.
    pub(crate) fn variable_size(&self) -> usize {
        let tail =
            serde_json::to_vec(&(&self.payload, &self.error)).map_or(usize::MAX, |v| v.len());
        tail.saturating_add(FIXED_EVENT_BYTES)
    }

    /// The stored event this becomes once numbered. Its duration keeps whole
    /// milliseconds, the precision it is stored with, so an event reads the same
    /// before and after it reaches the disk.
    pub fn into_event(self, id: EventId, seq: u64) -> DeploymentEvent {
        DeploymentEvent {
            id,
            seq,
            team: self.team,
            workspace: self.workspace,
            service: self.service,
            kind: self.kind,
            payload: self.payload,
            actor: self.actor,
            deployment: self.deployment,
            error: self.error,
            duration: self
                .duration
                .map(|d| Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))),
            at: self.at,
        }
    }
}

fn payload_name(p: &EventPayload) -> &'static str {
    match p {
        EventPayload::None => "none",
        EventPayload::Config { .. } => "config",
        EventPayload::Deployment { .. } => "deployment",
        EventPayload::ImageBuilt { .. } => "image_built",
        EventPayload::Containers { .. } => "containers",
        EventPayload::Scaled { .. } => "scaled",
        EventPayload::RolledBack { .. } => "rolled_back",
        EventPayload::Health { .. } => "health",
        EventPayload::Exited { .. } => "exited",
        EventPayload::CleanedUp { .. } => "cleaned_up",
    }
}

/// One entry of a service's audit trail. Events are append-only: once stored, an event
/// is never changed or deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeploymentEvent {
    /// The event's id.
    pub id: EventId,
    /// Its place in the service's trail: 1, 2, 3... with no gaps.
    pub seq: u64,
    /// The team.
    pub team: TeamId,
    /// The workspace of the service.
    pub workspace: WorkspaceId,
    /// The service.
    pub service: ServiceId,
    /// What happened.
    pub kind: EventKind,
    /// Its data.
    pub payload: EventPayload,
    /// Who did it.
    pub actor: Actor,
    /// The deployment it belongs to, if any.
    pub deployment: Option<DeploymentId>,
    /// What went wrong, on a failure.
    pub error: Option<EventError>,
    /// How long the operation took.
    #[serde(with = "super::service::duration_ms_opt")]
    pub duration: Option<Duration>,
    /// When it happened.
    pub at: Timestamp,
}
