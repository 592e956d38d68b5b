//! What runs and how it does: the service's containers on the engine, their logs and
//! their resource use, and the health checks and metrics recorded for it.

use std::collections::BTreeMap;

use super::Runtime;
use crate::backend::{BackendError, ContainerBackend, LABEL_SERVICE, LABEL_TEAM, LABEL_WORKSPACE};
use crate::error::Result;
use crate::model::{ServiceInstance, Timestamp};

impl Runtime {
    /// The service's containers on the backend (any deployment), sorted by name: those
    /// Kyozo named for it whose team, workspace and service labels all match. Labels
    /// alone prove nothing (an image's `LABEL`s reach the containers built from it).
    pub(crate) async fn containers_of(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> Result<Vec<crate::backend::ContainerState>> {
        let filter = BTreeMap::from([
            (LABEL_TEAM.to_string(), service.team.to_string()),
            (LABEL_WORKSPACE.to_string(), service.workspace.to_string()),
            (LABEL_SERVICE.to_string(), service.id.to_string()),
        ]);
        let prefix = format!("kyozo-{}-", service.name);
        let mut found: Vec<_> = backend
            .list(&filter)
            .await?
            .into_iter()
            .filter(|c| c.name.starts_with(&prefix))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The containers of the service's current deployment: those of
    /// [`containers_of`](Self::containers_of) that the service records (a deployment
    /// may leave an earlier one's behind when it could not retire them).
    pub(super) async fn deployed_containers(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> Result<Vec<crate::backend::ContainerState>> {
        let mut all = self.containers_of(backend, service).await?;
        all.retain(|c| service.container_ids.contains(&c.id));
        Ok(all)
    }

    /// The service's containers on the engine now (every deployment's), with their
    /// state and published ports.
    pub(crate) async fn containers(
        &self,
        service: &ServiceInstance,
    ) -> Result<Vec<crate::backend::ContainerState>> {
        let backend = self.backend_or_err()?;
        self.containers_of(&*backend, service).await
    }

    /// The newest `n` health checks of a service, newest first.
    pub(crate) fn health(
        &self,
        service: &ServiceInstance,
        n: usize,
    ) -> Result<Vec<crate::model::HealthCheck>> {
        Ok(self.store.health_history(service.team, service.id, n)?)
    }

    /// A service's metrics between `from` and `to`, oldest first.
    pub(crate) fn metrics(
        &self,
        service: &ServiceInstance,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<crate::model::ServiceMetric>> {
        Ok(self.store.metrics(service.team, service.id, from, to)?)
    }

    /// The log lines of every container of a service (follow them with
    /// `options.follow`), each with the container it came from.
    pub(crate) async fn logs(
        &self,
        service: &ServiceInstance,
        options: crate::backend::LogOptions,
    ) -> Result<
        futures_util::stream::BoxStream<
            'static,
            (
                String,
                std::result::Result<crate::backend::LogLine, BackendError>,
            ),
        >,
    > {
        use futures_util::StreamExt;
        let backend = self.backend_or_err()?;
        let streams = self
            .containers_of(&*backend, service)
            .await?
            .into_iter()
            .map(|c| {
                let name = c.name.clone();
                backend
                    .logs(&c.id, options)
                    .map(move |l| (name.clone(), l))
                    .boxed()
            });
        Ok(futures_util::stream::select_all(streams).boxed())
    }

    /// One sample of the resource use of each of the service's running containers.
    pub(crate) async fn stats(
        &self,
        service: &ServiceInstance,
    ) -> Result<BTreeMap<String, crate::backend::ContainerStats>> {
        let backend = self.backend_or_err()?;
        let ids: Vec<String> = self
            .containers_of(&*backend, service)
            .await?
            .into_iter()
            .filter(|c| c.running)
            .map(|c| c.id)
            .collect();
        Ok(backend.stats(&ids).await?)
    }
}
