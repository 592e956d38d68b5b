//! [`HealthCheck`]: the result of one health probe of a service.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{HealthCheckId, ServiceId, TeamId, Timestamp};

/// The kind of probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCheckKind {
    /// An HTTP request.
    Http,
    /// A TCP connection.
    Tcp,
    /// A command in the container.
    Command,
}

/// The verdict of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// The probe passed.
    Healthy,
    /// The probe failed.
    Unhealthy,
    /// The probe could not be run (no container, engine unavailable).
    Unknown,
}

/// One health probe's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthCheck {
    /// The result's id.
    pub id: HealthCheckId,
    /// The team.
    pub team: TeamId,
    /// The service probed.
    pub service: ServiceId,
    /// The kind of probe.
    pub kind: HealthCheckKind,
    /// What was probed (`:8080/health`).
    pub target: String,
    /// The verdict.
    pub status: HealthStatus,
    /// How long the probe took to answer.
    #[serde(with = "super::service::duration_ms_opt")]
    pub response_time: Option<Duration>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it ran.
    pub at: Timestamp,
}

impl HealthCheck {
    /// A result of a probe of `service`, now.
    pub fn new(
        team: TeamId,
        service: ServiceId,
        kind: HealthCheckKind,
        target: impl Into<String>,
        status: HealthStatus,
    ) -> Self {
        Self {
            id: HealthCheckId::new(),
            team,
            service,
            kind,
            target: target.into(),
            status,
            response_time: None,
            error: None,
            at: Timestamp::now(),
        }
    }

    /// The same result, at another time.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = at;
        self
    }

    /// The same result, with a response time.
    pub fn with_response_time(mut self, d: Duration) -> Self {
        self.response_time = Some(d);
        self
    }

    /// The same result, with an error.
    pub fn with_error(mut self, e: impl Into<String>) -> Self {
        self.error = Some(e.into());
        self
    }
}
