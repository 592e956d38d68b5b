//! A service's configuration as the runtime keeps it: creating a service, and changing
//! how it is built and run (taking effect at its next deployment). Each change is
//! recorded as an event naming what changed, env by name only.

use super::Runtime;
use crate::error::Result;
use crate::model::{Actor, EventKind, EventPayload, NewEvent, ServiceInstance};
use crate::store::StoreExt;

impl Runtime {
    /// Stores a new service and records `service_created` (see
    /// [`Kyozo::create_service`](crate::Kyozo::create_service)).
    pub(crate) fn create_service(
        &self,
        actor: Actor,
        service: ServiceInstance,
    ) -> Result<ServiceInstance> {
        self.store.put_service(&service)?;
        let mut changed: Vec<String> = vec!["name".into(), "folder".into()];
        changed.extend(service.effective_env().keys().map(|k| format!("env.{k}")));
        let stored = self.store.append_event(
            NewEvent::about(&service, EventKind::ServiceCreated, actor)
                .with_payload(EventPayload::Config { changed }),
        )?;
        self.bus.send(stored);
        Ok(service)
    }

    /// Changes `service` as `changed` says (see
    /// [`Kyozo::update_service`](crate::Kyozo::update_service)).
    pub(crate) async fn update_service(
        &self,
        actor: Actor,
        service: ServiceInstance,
        changed: ServiceInstance,
    ) -> Result<ServiceInstance> {
        let (_held, mut current) = self.lock_service(service).await?;
        if changed.name != current.name || changed.workspace != current.workspace {
            return Err(crate::model::ValidationError::invalid(
                "service.name",
                changed.name.clone(),
                "the service's name and workspace as created (create another service instead)",
            )
            .into());
        }
        changed.validate()?;
        let mut what: Vec<String> = Vec::new();
        macro_rules! take {
            ($($field:ident),*) => {$(
                if current.$field != changed.$field {
                    what.push(stringify!($field).to_string());
                    current.$field = changed.$field.clone();
                }
            )*};
        }
        take!(
            folder,
            config,
            ports,
            limits,
            replicas,
            health_check,
            image,
            stack
        );
        let names: std::collections::BTreeSet<&String> =
            current.env.keys().chain(changed.env.keys()).collect();
        what.extend(
            names
                .into_iter()
                .filter(|k| current.env.get(*k) != changed.env.get(*k))
                .map(|k| format!("env.{k}")),
        );
        // A setting set, changed (value or origin) or unset: named like the env var.
        let set: std::collections::BTreeSet<&String> = current
            .settings
            .keys()
            .chain(changed.settings.keys())
            .collect();
        for k in set {
            let name = format!("env.{k}");
            if current.settings.get(k) != changed.settings.get(k) && !what.contains(&name) {
                what.push(name);
            }
        }
        current.env = changed.env;
        current.settings = changed.settings;
        if what.is_empty() {
            return Ok(current);
        }
        let stored = current.clone();
        self.blocking(move |s| s.put_service(&stored)).await?;
        self.record(
            NewEvent::about(&current, EventKind::ConfigChanged, actor)
                .with_payload(EventPayload::Config { changed: what }),
        )
        .await?;
        Ok(current)
    }
}
