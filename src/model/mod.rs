//! The domain model: plain serde data. Validations and calculations live next to the
//! type they concern; nothing here does I/O.

mod actor;
mod dependency;
mod event;
mod health;
mod ids;
mod metric;
mod permission;
mod secret;
mod service;
mod setting;
mod shell;
mod status;
mod team;
mod time;
mod topology;
mod validate;

pub use actor::Actor;
pub use dependency::{DependencyKind, ServiceDependency, Wiring};
pub use event::{DeploymentEvent, EventError, EventKind, EventPayload, MAX_EVENT_BYTES, NewEvent};
pub use health::{HealthCheck, HealthCheckKind, HealthStatus};
pub use ids::{
    DeploymentId, EventId, HealthCheckId, MemberId, ServiceId, TeamId, TopologyId, WorkspaceId,
};
pub use metric::{Aggregate, MetricBucket, ServiceMetric, downsample};
pub use permission::{Right, ServicePermission};
pub use secret::SecretValue;
pub use service::{
    DeploymentConfig, HealthCheckConfig, HealthProbe, MAX_REPLICAS, PortMapping, Protocol,
    ResourceLimits, ResourceUtilisation, RestartPolicy, ServiceInstance, ServiceKind, VolumeSpec,
    human_duration, validate_env_name, validate_ports,
};
pub use setting::{
    EnvEntry, EnvSource, Setting, SettingOrigin, effective_env, env_entries, parse_env_file,
};
pub use shell::shell_quote;
pub use status::{ServiceStatus, StatusTransitionError};
pub use team::{DeployDefaults, Member, Role, Team, Workspace};
pub use time::{ParseTimestampError, Timestamp};
pub use topology::{DetectedService, TopologyDetection};
pub use validate::{ValidationError, is_debian_package};
