//! [`CircuitBreaker`]: a [`ContainerBackend`] that stops calling an engine that keeps
//! failing to answer, and fails fast instead, until a cool-down has passed.
//!
//! Only [`BackendError::Unavailable`] counts as a failure: an engine that answers with
//! a refusal (a missing container, a port in use) is up. After `threshold` failures in
//! a row the circuit opens: every call fails at once with `Unavailable` saying so,
//! without touching the engine. After `cooldown` one call goes through; if the engine
//! answers the circuit closes, if not it opens again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{self, BoxStream, StreamExt};

use super::{
    BackendError, BackendInfo, BuildProgress, BuildSpec, Capabilities, ContainerBackend,
    ContainerEvent, ContainerSpec, ContainerState, ContainerStats, ExecOutput, ImageInfo, LogLine,
    LogOptions, NetworkInfo, VolumeInfo,
};

/// How long a probe call may run before another is let through.
const PROBE_TIMEOUT: Duration = Duration::from_secs(120);

/// A circuit breaker around a backend. See the [module docs](self).
#[derive(Debug)]
pub struct CircuitBreaker {
    inner: Arc<dyn ContainerBackend>,
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    /// After the cool-down, one call is let through to probe the engine (a probe that
    /// never settles, its future dropped, stops counting after [`PROBE_TIMEOUT`]).
    probe_since: Option<Instant>,
    /// The endpoint named by the last failure, for the errors of the open circuit.
    endpoint: Option<String>,
}

/// Whether the circuit lets calls through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Calls go to the engine.
    Closed,
    /// Calls fail fast until the cool-down ends.
    Open,
}

impl CircuitBreaker {
    /// Failures in a row that open the circuit by default.
    pub const DEFAULT_THRESHOLD: u32 = 3;
    /// How long the circuit stays open by default.
    pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5);

    /// A breaker around `inner` with the default threshold and cool-down.
    pub fn new(inner: Arc<dyn ContainerBackend>) -> Self {
        Self::with(inner, Self::DEFAULT_THRESHOLD, Self::DEFAULT_COOLDOWN)
    }

    /// A breaker that opens after `threshold` failures in a row, for `cooldown`.
    pub fn with(inner: Arc<dyn ContainerBackend>, threshold: u32, cooldown: Duration) -> Self {
        Self {
            inner,
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether calls go through now.
    pub fn circuit(&self) -> CircuitState {
        match self.state().open_until {
            Some(until) if Instant::now() < until => CircuitState::Open,
            _ => CircuitState::Closed,
        }
    }

    /// Refuses the call while the circuit is open.
    fn admit(&self) -> Result<(), BackendError> {
        let mut state = self.state();
        let refuse = |state: &State, wait: Duration| {
            BackendError::unavailable(
                state
                    .endpoint
                    .clone()
                    .unwrap_or_else(|| "the container engine".into()),
                format!(
                    "circuit open after {} failed calls in a row; the next call goes through in {} ms",
                    state.failures,
                    wait.as_millis()
                ),
            )
        };
        match state.open_until {
            Some(until) if Instant::now() < until => Err(refuse(
                &state,
                until.saturating_duration_since(Instant::now()),
            )),
            // Cool-down over: one call probes the engine, the others wait for it.
            Some(_)
                if state
                    .probe_since
                    .is_some_and(|t| t.elapsed() < PROBE_TIMEOUT) =>
            {
                Err(refuse(&state, Duration::ZERO))
            }
            Some(_) => {
                state.probe_since = Some(Instant::now());
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts the outcome of a call that went through.
    fn settle<T>(&self, outcome: Result<T, BackendError>) -> Result<T, BackendError> {
        let mut state = self.state();
        state.probe_since = None;
        match &outcome {
            Err(BackendError::Unavailable { endpoint, .. }) => {
                state.endpoint = Some(endpoint.clone());
                state.failures = state.failures.saturating_add(1);
                if state.failures >= self.threshold {
                    state.open_until = Some(Instant::now() + self.cooldown);
                }
            }
            _ => {
                state.failures = 0;
                state.open_until = None;
            }
        }
        outcome
    }
}

macro_rules! guarded {
    ($self:ident, $call:expr) => {{
        $self.admit()?;
        let outcome = $call.await;
        $self.settle(outcome)
    }};
}

#[async_trait::async_trait]
impl ContainerBackend for CircuitBreaker {
    async fn info(&self) -> Result<BackendInfo, BackendError> {
        guarded!(self, self.inner.info())
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn build_image(
        &self,
        spec: &BuildSpec,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<String, BackendError> {
        guarded!(self, self.inner.build_image(spec, progress))
    }

    async fn remove_image(&self, image: &str) -> Result<(), BackendError> {
        guarded!(self, self.inner.remove_image(image))
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, BackendError> {
        guarded!(self, self.inner.create(spec))
    }

    async fn start(&self, id: &str) -> Result<(), BackendError> {
        guarded!(self, self.inner.start(id))
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<(), BackendError> {
        guarded!(self, self.inner.stop(id, grace))
    }

    async fn kill(&self, id: &str) -> Result<(), BackendError> {
        guarded!(self, self.inner.kill(id))
    }

    async fn remove(&self, id: &str) -> Result<(), BackendError> {
        guarded!(self, self.inner.remove(id))
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, BackendError> {
        guarded!(self, self.inner.inspect(id))
    }

    async fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerState>, BackendError> {
        guarded!(self, self.inner.list(labels))
    }

    fn logs(
        &self,
        id: &str,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine, BackendError>> {
        match self.admit() {
            Ok(()) => self.inner.logs(id, options),
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn stats(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, ContainerStats>, BackendError> {
        guarded!(self, self.inner.stats(ids))
    }

    fn events(
        &self,
        since_nanos: Option<i64>,
    ) -> BoxStream<'static, Result<ContainerEvent, BackendError>> {
        match self.admit() {
            Ok(()) => self.inner.events(since_nanos),
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn wait(&self, id: &str) -> Result<i64, BackendError> {
        guarded!(self, self.inner.wait(id))
    }

    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        guarded!(self, self.inner.exec(id, argv, timeout))
    }

    async fn list_images(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, BackendError> {
        guarded!(self, self.inner.list_images(labels))
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, BackendError> {
        guarded!(self, self.inner.create_network(name, labels))
    }

    async fn remove_network(&self, name: &str) -> Result<(), BackendError> {
        guarded!(self, self.inner.remove_network(name))
    }

    async fn list_networks(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<NetworkInfo>, BackendError> {
        guarded!(self, self.inner.list_networks(labels))
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), BackendError> {
        guarded!(self, self.inner.create_volume(name, labels))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), BackendError> {
        guarded!(self, self.inner.remove_volume(name))
    }

    async fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>, BackendError> {
        guarded!(self, self.inner.list_volumes(labels))
    }
}
