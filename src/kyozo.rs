//! [`Kyozo`], the runtime API, and [`KyozoBuilder`]. Every call that acts for someone
//! takes an [`Actor`] and goes through [`policy::decide`] before it touches the store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::policy::{self, Decision, Operation, Principal, Target};
use crate::auth::{Actor, AuthError};
use crate::error::{Error, Result};
use crate::model::{
    DeploymentEvent, EventKind, EventPayload, Member, MemberId, NewEvent, Role, ServiceId,
    ServiceInstance, ServicePermission, ServiceStatus, Team, TeamId, Workspace,
};
use crate::store::{MemoryStore, Store, StoreExt};
use crate::topology::{Detector, Topology, TopologyEngine};

/// The Kyozo runtime: the one entry point for acting on teams, workspaces and services.
/// Cheap to clone; clones share the store.
#[derive(Debug, Clone)]
pub struct Kyozo {
    pub(crate) store: Arc<dyn Store>,
    engine: Arc<TopologyEngine>,
    pub(crate) backend: Option<Arc<dyn crate::backend::ContainerBackend>>,
    /// One lock per service: operations on a service run one at a time.
    pub(crate) service_locks: Arc<crate::runtime::ServiceLocks>,
    /// Every event the runtime records, for [`Kyozo::subscribe`].
    pub(crate) bus: Arc<crate::runtime::EventBus>,
    /// Where the services' endpoints send connections.
    pub(crate) routes: Arc<crate::runtime::Routes>,
}

/// Builds a [`Kyozo`]: where its state lives.
#[derive(Debug, Default)]
#[must_use]
pub struct KyozoBuilder {
    store: Option<Arc<dyn Store>>,
    state_file: Option<PathBuf>,
    detectors: Vec<Arc<dyn Detector>>,
    backend: Option<Arc<dyn crate::backend::ContainerBackend>>,
    #[cfg(feature = "wasm")]
    plugins: Vec<crate::topology::wasm::PluginSource>,
    #[cfg(feature = "wasm")]
    plugin_host: Option<crate::topology::wasm::PluginHost>,
}

impl KyozoBuilder {
    /// Keep state in a redb file (created if missing). The default when
    /// `KYOZO_STATE` is set (see [`Self::from_env`]).
    #[cfg(feature = "redb")]
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Keep state in this store.
    pub fn store(mut self, store: impl Store + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Keep state in this shared store.
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Adds a detector to the built-in ones (a plugin, or the program's own).
    pub fn detector(mut self, detector: Arc<dyn Detector>) -> Self {
        self.detectors.push(detector);
        self
    }

    /// Adds a WASM detector plugin (a `.wasm` component file, or its bytes with
    /// [`PluginSource::bytes`](crate::topology::wasm::PluginSource::bytes)). It is
    /// loaded by [`build`](Self::build), which fails with [`Error::Plugin`] if it
    /// cannot be; its detections join the built-in detectors' in every analysis.
    #[cfg(feature = "wasm")]
    pub fn detector_plugin(
        mut self,
        source: impl Into<crate::topology::wasm::PluginSource>,
    ) -> Self {
        self.plugins.push(source.into());
        self
    }

    /// Runs plugins on `host` (its limits and cache) instead of the process-wide
    /// [`PluginHost::shared`](crate::topology::wasm::PluginHost::shared).
    #[cfg(feature = "wasm")]
    pub fn plugin_host(mut self, host: crate::topology::wasm::PluginHost) -> Self {
        self.plugin_host = Some(host);
        self
    }

    /// Runs services on `backend` (a [`DockerBackend`](crate::backend::DockerBackend)...),
    /// behind a [`CircuitBreaker`](crate::backend::CircuitBreaker) with its defaults, so
    /// an engine that stops answering makes calls fail fast instead of piling up.
    /// Without a backend, the runtime calls (`deploy`...) fail with a clear error.
    pub fn backend(mut self, backend: Arc<dyn crate::backend::ContainerBackend>) -> Self {
        self.backend = Some(Arc::new(crate::backend::CircuitBreaker::new(backend)));
        self
    }

    /// Runs services on `backend` as given, with no circuit breaker added (give a
    /// [`CircuitBreaker`](crate::backend::CircuitBreaker) with your own settings).
    pub fn backend_unguarded(mut self, backend: Arc<dyn crate::backend::ContainerBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Reads `KYOZO_STATE` (a redb file path) from the environment.
    pub fn from_env(mut self) -> Self {
        if let Some(p) = std::env::var_os("KYOZO_STATE") {
            self.state_file = Some(p.into());
        }
        self
    }

    /// Opens the state and returns the runtime. Without a store or a state file, state
    /// lives in memory and is lost when the process ends.
    pub fn build(self) -> Result<Kyozo> {
        let store: Arc<dyn Store> = match (self.store, self.state_file) {
            (Some(s), _) => s,
            #[cfg(feature = "redb")]
            (None, Some(path)) => Arc::new(crate::store::RedbStore::open(path)?),
            #[cfg(not(feature = "redb"))]
            (None, Some(path)) => {
                return Err(crate::model::ValidationError::invalid(
                    "state_file",
                    path.display().to_string(),
                    "a build with the `redb` feature",
                )
                .into());
            }
            (None, None) => Arc::new(MemoryStore::new()),
        };
        #[allow(unused_mut)]
        let mut detectors = self.detectors;
        #[cfg(feature = "wasm")]
        if !self.plugins.is_empty() {
            let host = match self.plugin_host {
                Some(h) => h,
                None => crate::topology::wasm::PluginHost::shared()?,
            };
            for source in self.plugins {
                detectors.push(Arc::new(host.load(source)?));
            }
        }
        let engine = detectors
            .into_iter()
            .fold(TopologyEngine::new(), TopologyEngine::with_detector);
        Ok(Kyozo {
            store,
            engine: Arc::new(engine),
            backend: self.backend,
            service_locks: Arc::default(),
            bus: Arc::default(),
            routes: Arc::default(),
        })
    }
}

/// The service a topology found, as a [`ServiceInstance`] to create.
fn service_from_topology(
    team: TeamId,
    workspace: crate::model::WorkspaceId,
    found: &crate::topology::TopologyService,
) -> ServiceInstance {
    use crate::model::{HealthCheckConfig, HealthProbe, PortMapping};
    let folder = if found.path.is_empty() {
        "."
    } else {
        found.path.as_str()
    };
    let mut s = ServiceInstance::new(team, workspace, found.name.clone(), folder);
    s.stack = Some(found.language.clone());
    s.confidence = Some(found.confidence);
    if let Some(dockerfile) = &found.dockerfile {
        // The topology's paths are from the root; the config's Dockerfile is from the
        // build context.
        let context = found.context.trim_end_matches('/');
        let relative = match context {
            "" | "." => dockerfile.as_str(),
            c => dockerfile
                .strip_prefix(c)
                .and_then(|r| r.strip_prefix('/'))
                .unwrap_or(dockerfile),
        };
        s.config.dockerfile = Some(relative.into());
        s.config.build_context = Some(if context.is_empty() { "." } else { context }.into());
    }
    s.image = found.image.clone();
    for p in &found.ports {
        if !s.ports.iter().any(|m| m.container_port == p.port) {
            s.ports.push(PortMapping::new(p.port, None));
        }
    }
    // A declared check is a route (`/healthz`, checked over HTTP on the first port) or
    // a command (a compose or Dockerfile HEALTHCHECK line, run in the container).
    let probe = match (&found.healthcheck, s.ports.first()) {
        (Some(route), Some(port)) if route.value.starts_with('/') => Some(HealthProbe::Http {
            port: port.container_port,
            path: route.value.clone(),
            expect_status: None,
        }),
        (Some(route), None) if route.value.starts_with('/') => None,
        (Some(line), _) => Some(HealthProbe::Command {
            argv: vec!["sh".into(), "-c".into(), line.value.clone()],
        }),
        (None, Some(port)) => Some(HealthProbe::Tcp {
            port: port.container_port,
        }),
        (None, None) => None,
    };
    s.health_check = probe.map(HealthCheckConfig::new);
    s
}

impl Member {
    /// The actor acting as this member.
    pub fn actor(&self) -> Actor {
        Actor::member(self.team, self.id)
    }
}

impl Kyozo {
    /// Options for a new runtime.
    pub fn builder() -> KyozoBuilder {
        KyozoBuilder::default()
    }

    /// The store underneath. Reads and writes through it bypass the policy: it is for
    /// the embedding program's own administration, not for acting on behalf of users.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Checks that `actor` may perform `op` on `target`. A member of another team, or a
    /// service of another team, answers [`Error::NotFound`], exactly as a missing one.
    pub fn authorize(&self, actor: Actor, op: Operation, target: Target) -> Result<()> {
        let member = match actor {
            Actor::System => None,
            Actor::Member { team, member } => Some(
                self.store
                    .member(team, member)?
                    .ok_or(AuthError::UnknownActor { actor, team })?,
            ),
        };
        let grant = match (&member, target.service) {
            (Some(m), Some(service)) if m.team == target.team => {
                self.store.permission(m.team, m.id, service)?
            }
            _ => None,
        };
        let who = member.as_ref().map_or(Principal::System, Principal::Member);
        match policy::decide(who, op, target, grant.as_ref()) {
            Decision::Allow => Ok(()),
            Decision::Hidden => Err(match target.service {
                Some(s) => not_found("service", s),
                None => not_found("team", target.team),
            }),
            Decision::Forbidden => Err(AuthError::Forbidden {
                actor,
                role: member.map_or(Role::Owner, |m| m.role),
                operation: op,
                on: target.service,
            }
            .into()),
        }
    }

    /// Loads a service of `team` that `actor` may act on with `op`.
    pub(crate) fn authorized_service(
        &self,
        actor: Actor,
        op: Operation,
        team: TeamId,
        id: ServiceId,
    ) -> Result<ServiceInstance> {
        // Decide before looking: a member of another team learns nothing, not even
        // whether the id exists.
        self.authorize(actor, op, Target::service(team, id))?;
        self.store
            .service(team, id)?
            .ok_or_else(|| not_found("service", id))
    }

    /// The topology engine (built-in detectors and any added ones).
    pub fn engine(&self) -> &TopologyEngine {
        &self.engine
    }

    /// Analyses the folder `path` for `workspace` and stores the result as a
    /// [`TopologyDetection`](crate::model::TopologyDetection) of its team.
    pub fn analyze(
        &self,
        actor: Actor,
        workspace: &Workspace,
        path: impl AsRef<Path>,
    ) -> Result<(Topology, crate::model::TopologyDetection)> {
        self.authorize(actor, Operation::Analyze, Target::team(workspace.team))?;
        if self
            .store
            .workspace(workspace.team, workspace.id)?
            .is_none()
        {
            return Err(not_found("workspace", workspace.id));
        }
        let topology = self.engine.analyze(path)?;
        let mut record = topology.to_detection(workspace.team);
        record.workspace = Some(workspace.id);
        self.store.put_topology(&record)?;
        Ok((topology, record))
    }

    /// Creates a team with `owner_user` as its owner. Anyone may create a team; they
    /// own it.
    pub fn create_team(&self, name: &str, owner_user: &str) -> Result<(Team, Member)> {
        let team = Team::new(name)?;
        let owner = Member::new(team.id, owner_user, Role::Owner)?;
        self.store.put_team(&team)?;
        self.store.put_member(&owner)?;
        Ok((team, owner))
    }

    /// Adds `user` to `team` with `role`.
    pub fn add_member(&self, actor: Actor, team: TeamId, user: &str, role: Role) -> Result<Member> {
        self.authorize(actor, Operation::ManageMembers, Target::team(team))?;
        let member = Member::new(team, user, role)?;
        self.store.put_member(&member)?;
        Ok(member)
    }

    /// Creates a workspace in `team`.
    pub fn create_workspace(&self, actor: Actor, team: TeamId, name: &str) -> Result<Workspace> {
        self.authorize(actor, Operation::CreateWorkspace, Target::team(team))?;
        let ws = Workspace::new(team, name)?;
        self.store.put_workspace(&ws)?;
        Ok(ws)
    }

    /// The team's workspaces (every member of the team sees them).
    pub fn workspaces(&self, actor: Actor, team: TeamId) -> Result<Vec<Workspace>> {
        self.authorize(actor, Operation::ViewService, Target::team(team))?;
        Ok(self.store.workspaces(team)?)
    }

    /// Sets the folder a workspace's services are built from (an absolute path).
    pub fn set_workspace_root(
        &self,
        actor: Actor,
        team: TeamId,
        workspace: crate::model::WorkspaceId,
        root: impl Into<PathBuf>,
    ) -> Result<Workspace> {
        self.authorize(actor, Operation::CreateWorkspace, Target::team(team))?;
        let root = root.into();
        if !root.is_absolute() {
            return Err(crate::model::ValidationError::invalid(
                "workspace.root",
                root.display().to_string(),
                "an absolute path",
            )
            .into());
        }
        let mut ws = self
            .store
            .workspace(team, workspace)?
            .ok_or_else(|| not_found("workspace", workspace))?;
        ws.root = Some(root);
        self.store.put_workspace(&ws)?;
        Ok(ws)
    }

    /// The services of `team` (of one workspace, or all) that `actor` may see.
    pub fn services(
        &self,
        actor: Actor,
        team: TeamId,
        workspace: Option<crate::model::WorkspaceId>,
    ) -> Result<Vec<ServiceInstance>> {
        self.authorize(actor, Operation::ViewService, Target::team(team))?;
        Ok(self
            .store
            .services(team, workspace)?
            .into_iter()
            .filter(|s| {
                self.authorize(actor, Operation::ViewService, Target::service(team, s.id))
                    .is_ok()
            })
            .collect())
    }

    /// Creates a service (validated) and records a `service_created` event.
    pub fn create_service(
        &self,
        actor: Actor,
        mut service: ServiceInstance,
    ) -> Result<ServiceInstance> {
        self.authorize(actor, Operation::CreateService, Target::team(service.team))?;
        service.validate()?;
        if self
            .store
            .workspace(service.team, service.workspace)?
            .is_none()
        {
            return Err(not_found("workspace", service.workspace));
        }
        service.status = ServiceStatus::Pending;
        service.created_by = match actor {
            Actor::Member { member, .. } => Some(member),
            Actor::System => None,
        };
        self.store.put_service(&service)?;
        let mut changed: Vec<String> = vec!["name".into(), "folder".into()];
        changed.extend(service.env.keys().map(|k| format!("env.{k}")));
        let stored = self.store.append_event(
            NewEvent::about(&service, EventKind::ServiceCreated, actor)
                .with_payload(EventPayload::Config { changed }),
        )?;
        self.bus.send(stored);
        Ok(service)
    }

    /// Creates a service of `workspace` from what the topology engine found (its name,
    /// folder, stack and confidence, its Dockerfile and build context or its image, its
    /// ports, and its declared health check: a route is checked over HTTP on its first
    /// port, a command line runs in the container; without one, a TCP check of its
    /// first port), validated, and records `service_created`. Env values are not
    /// known to an analysis: set them before deploying.
    pub fn create_service_from(
        &self,
        actor: Actor,
        team: TeamId,
        workspace: crate::model::WorkspaceId,
        found: &crate::topology::TopologyService,
    ) -> Result<ServiceInstance> {
        self.create_service(actor, service_from_topology(team, workspace, found))
    }

    /// A service, as `actor` may see it.
    pub fn service(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<ServiceInstance> {
        self.authorized_service(actor, Operation::ViewService, team, id)
    }

    /// The newest `n` events of a service, newest first.
    pub fn events(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        n: usize,
    ) -> Result<Vec<DeploymentEvent>> {
        let service = self.authorized_service(actor, Operation::ReadEvents, team, id)?;
        Ok(self.store.latest_events(team, service.id, n)?)
    }

    /// The events of a service after sequence number `after` (0: all), oldest first:
    /// what a follower that has seen up to `after` has not seen yet.
    pub fn events_after(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        after: u64,
    ) -> Result<Vec<DeploymentEvent>> {
        let service = self.authorized_service(actor, Operation::ReadEvents, team, id)?;
        Ok(self
            .store
            .events(team, service.id, after.saturating_add(1)..=u64::MAX)?)
    }

    /// Grants `rights` on a service to a member of the same team.
    pub fn grant(&self, actor: Actor, permission: ServicePermission) -> Result<()> {
        self.authorize(
            actor,
            Operation::ManagePermissions,
            Target::service(permission.team, permission.service),
        )?;
        Ok(self.store.put_permission(&permission)?)
    }

    /// Revokes a member's permission on a service; `false` if there was none.
    pub fn revoke(
        &self,
        actor: Actor,
        team: TeamId,
        member: MemberId,
        service: ServiceId,
    ) -> Result<bool> {
        self.authorize(
            actor,
            Operation::ManagePermissions,
            Target::service(team, service),
        )?;
        Ok(self.store.delete_permission(team, member, service)?)
    }
}

fn not_found(kind: &'static str, id: impl ToString) -> Error {
    Error::NotFound {
        kind,
        id: id.to_string(),
    }
}
