//! A [`ContainerBackend`] written outside Kyozo, only against its public API:
//! [`NamespacedBackend`] lets several Kyozo installations share one engine without
//! seeing each other's containers. It wraps any backend, prefixes the names of the
//! containers it makes with its namespace, labels everything it makes with it, and
//! shows (lists, inspects, streams events of) only what carries its label, with the
//! names as Kyozo gave them.
//!
//! Its tests hold it to Kyozo's contract with the public conformance suite
//! (`kyozo::testing::backend_conformance`, the `testing` feature) on the in-memory
//! backend, and deploy a service through `Kyozo` on it. Run them with:
//!
//! ```sh
//! cargo test -p kyozo-custom-backend
//! ```
//!
//! The same wrapper around a `DockerBackend` namespaces a real engine.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use kyozo::backend::{
    BackendError, BackendInfo, BuildProgress, BuildSpec, Capabilities, ContainerBackend,
    ContainerEvent, ContainerSpec, ContainerState, ContainerStats, ExecOutput, ImageInfo, LogLine,
    LogOptions, NetworkInfo, VolumeInfo,
};

/// The label naming the namespace of everything a [`NamespacedBackend`] makes.
pub const LABEL_NAMESPACE: &str = "dev.kyozo.example.namespace";

/// A backend that sees only its namespace of a shared engine. See the crate docs.
#[derive(Debug)]
pub struct NamespacedBackend<B> {
    inner: B,
    namespace: String,
}

impl<B: ContainerBackend> NamespacedBackend<B> {
    /// `inner`, seen through the namespace `namespace` (a name prefix: letters,
    /// digits and `-`).
    pub fn new(inner: B, namespace: impl Into<String>) -> Self {
        Self {
            inner,
            namespace: namespace.into(),
        }
    }

    /// The backend it wraps.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn prefix(&self) -> String {
        format!("{}-", self.namespace)
    }

    /// `labels` and the namespace's label.
    fn labelled(&self, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = labels.clone();
        all.insert(LABEL_NAMESPACE.to_string(), self.namespace.clone());
        all
    }

    fn ours(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.get(LABEL_NAMESPACE) == Some(&self.namespace)
    }

    /// A container of the inner engine as this namespace shows it: its name without
    /// the prefix; another namespace's container is not there.
    fn shown(
        &self,
        mut state: ContainerState,
        asked: &str,
    ) -> Result<ContainerState, BackendError> {
        if !self.ours(&state.labels) {
            return Err(BackendError::not_found("container", asked));
        }
        if let Some(name) = state.name.strip_prefix(&self.prefix()) {
            state.name = name.to_string();
        }
        Ok(state)
    }

    /// The inner engine's id of a container given by id or by the name Kyozo gave it;
    /// `None` when this namespace has no such container.
    async fn resolve(&self, id: &str) -> Result<Option<String>, BackendError> {
        match self.inspect(id).await {
            Ok(state) => Ok(Some(state.id)),
            Err(BackendError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl<B: ContainerBackend> ContainerBackend for NamespacedBackend<B> {
    async fn info(&self) -> Result<BackendInfo, BackendError> {
        let inner = self.inner.info().await?;
        Ok(BackendInfo::new(
            format!("{} (namespace {})", inner.server, self.namespace),
            inner.api_version,
            inner.platform,
        ))
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn build_image(
        &self,
        spec: &BuildSpec,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<String, BackendError> {
        let mut spec = spec.clone();
        spec.labels = self.labelled(&spec.labels);
        self.inner.build_image(&spec, progress).await
    }

    async fn remove_image(&self, image: &str) -> Result<(), BackendError> {
        self.inner.remove_image(image).await
    }

    async fn list_images(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, BackendError> {
        self.inner.list_images(&self.labelled(labels)).await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, BackendError> {
        let mut spec = spec.clone();
        spec.name = format!("{}{}", self.prefix(), spec.name);
        spec.labels = self.labelled(&spec.labels);
        self.inner.create(&spec).await
    }

    async fn start(&self, id: &str) -> Result<(), BackendError> {
        match self.resolve(id).await? {
            Some(id) => self.inner.start(&id).await,
            None => Err(BackendError::not_found("container", id)),
        }
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<(), BackendError> {
        match self.resolve(id).await? {
            Some(id) => self.inner.stop(&id, grace).await,
            None => Ok(()),
        }
    }

    async fn kill(&self, id: &str) -> Result<(), BackendError> {
        match self.resolve(id).await? {
            Some(id) => self.inner.kill(&id).await,
            None => Ok(()),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), BackendError> {
        match self.resolve(id).await? {
            Some(id) => self.inner.remove(&id).await,
            None => Ok(()),
        }
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, BackendError> {
        let state = match self.inner.inspect(id).await {
            Err(BackendError::NotFound { .. }) => {
                self.inner
                    .inspect(&format!("{}{id}", self.prefix()))
                    .await?
            }
            other => other?,
        };
        self.shown(state, id)
    }

    async fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerState>, BackendError> {
        let found = self.inner.list(&self.labelled(labels)).await?;
        Ok(found
            .into_iter()
            .filter_map(|c| {
                let id = c.id.clone();
                self.shown(c, &id).ok()
            })
            .collect())
    }

    fn logs(
        &self,
        id: &str,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine, BackendError>> {
        self.inner.logs(id, options)
    }

    async fn stats(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, ContainerStats>, BackendError> {
        self.inner.stats(ids).await
    }

    fn events(
        &self,
        since_nanos: Option<i64>,
    ) -> BoxStream<'static, Result<ContainerEvent, BackendError>> {
        let namespace = self.namespace.clone();
        self.inner
            .events(since_nanos)
            .filter(move |e| {
                let keep = match e {
                    Ok(e) => e.labels.get(LABEL_NAMESPACE) == Some(&namespace),
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }

    async fn wait(&self, id: &str) -> Result<i64, BackendError> {
        self.inner.wait(id).await
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, BackendError> {
        self.inner
            .create_network(name, &self.labelled(labels))
            .await
    }

    async fn remove_network(&self, name: &str) -> Result<(), BackendError> {
        self.inner.remove_network(name).await
    }

    async fn list_networks(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<NetworkInfo>, BackendError> {
        self.inner.list_networks(&self.labelled(labels)).await
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), BackendError> {
        self.inner.create_volume(name, &self.labelled(labels)).await
    }

    async fn remove_volume(&self, name: &str) -> Result<(), BackendError> {
        self.inner.remove_volume(name).await
    }

    async fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>, BackendError> {
        self.inner.list_volumes(&self.labelled(labels)).await
    }

    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        self.inner.exec(id, argv, timeout).await
    }
}
