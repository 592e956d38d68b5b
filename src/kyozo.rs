//! [`Kyozo`], the facade, and [`KyozoBuilder`]. Every call that acts for someone takes
//! an [`Actor`] and goes through [`policy::decide`] before it touches the store; then it
//! delegates to the [`Runtime`] beneath (which never asks the policy). The only file
//! that asks the policy on the runtime's behalf.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::policy::{self, Decision, Operation, Principal, Target};
use crate::auth::{Actor, AuthError};
use crate::error::{Error, Result};
use crate::model::{
    DeploymentEvent, DeploymentId, Member, MemberId, Role, ServiceId, ServiceInstance,
    ServicePermission, ServiceStatus, Team, TeamId, Timestamp, Workspace,
};
use crate::runtime::{
    Cleanup, DeployProgress, DeployReport, EdgeRoute, Endpoint, Manager, ManagerConfig, Runtime,
    Subscription, Sweep,
};
use crate::store::{MemoryStore, Store};
use crate::topology::{Detector, Topology, TopologyEngine};

/// The Kyozo runtime API: the one entry point for acting on teams, workspaces and
/// services. Each call checks the policy, then delegates to the runtime beneath.
/// Cheap to clone; clones share the store.
#[derive(Debug, Clone)]
pub struct Kyozo {
    runtime: Runtime,
    engine: Arc<TopologyEngine>,
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
    trusted_plugins: Vec<String>,
    edge: Option<crate::runtime::EdgeProxy>,
    max_concurrent_builds: Option<usize>,
    build_limits: Option<crate::backend::BuildLimits>,
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

    /// Trusts the plugin with the id `id` (`hugo`): its values may override the
    /// built-in detectors'. By default a plugin never overrides a value a built-in set;
    /// it only fills fields no built-in filled and adds services no built-in found
    /// (see [`TopologyEngine::with_trusted_plugin`] and `docs/plugins.md`).
    pub fn trust_plugin(mut self, id: impl Into<String>) -> Self {
        self.trusted_plugins.push(id.into());
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

    /// Publishes services' ports through `edge`, a proxy container that outlives the
    /// process: the replicas publish on `127.0.0.1` only, and rolling updates, scaling
    /// and rollbacks change the proxy's upstreams, never the address (see
    /// [`EdgeProxy`](crate::runtime::EdgeProxy)). Without it, containers publish the
    /// services' ports themselves (an update of a service on a fixed host port stops
    /// the old container first), and [`Kyozo::expose`] gives an endpoint in this
    /// process.
    pub fn edge(mut self, edge: crate::runtime::EdgeProxy) -> Self {
        self.edge = Some(edge);
        self
    }

    /// At most `n` image builds at once (default: one per core of the host,
    /// [`default_concurrent_builds`](crate::runtime::default_concurrent_builds)); a
    /// deployment that builds waits for its turn. `build` refuses 0.
    pub fn max_concurrent_builds(mut self, n: usize) -> Self {
        self.max_concurrent_builds = Some(n);
        self
    }

    /// What the steps of each image build may use (default [`BuildLimits::default`]:
    /// 2047 MiB of memory, the host's cores but one).
    ///
    /// [`BuildLimits::default`]: crate::backend::BuildLimits
    pub fn build_limits(mut self, limits: crate::backend::BuildLimits) -> Self {
        self.build_limits = Some(limits);
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
            // Two plugins of one id would mix their detections under one name.
            let mut ids: BTreeMap<String, String> = BTreeMap::new();
            for source in self.plugins {
                let name = source.name();
                let plugin = host.load(source)?;
                let id = plugin.metadata().id.clone();
                if let Some(first) = ids.get(&id) {
                    return Err(crate::topology::wasm::PluginError::DuplicateId {
                        id,
                        first: first.clone(),
                        second: name,
                    }
                    .into());
                }
                ids.insert(id, name);
                detectors.push(Arc::new(plugin));
            }
        }
        let engine = detectors
            .into_iter()
            .fold(TopologyEngine::new(), TopologyEngine::with_detector);
        let engine = self
            .trusted_plugins
            .into_iter()
            .fold(engine, TopologyEngine::with_trusted_plugin);
        let edge = self.edge;
        if let Some(edge) = &edge {
            edge.validate()?;
        }
        let builds = self
            .max_concurrent_builds
            .unwrap_or_else(crate::runtime::default_concurrent_builds);
        if builds == 0 {
            return Err(crate::model::ValidationError::invalid(
                "max_concurrent_builds",
                "0",
                "at least one build at a time",
            )
            .into());
        }
        Ok(Kyozo {
            runtime: Runtime {
                store,
                backend: self.backend,
                service_locks: Arc::default(),
                bus: Arc::default(),
                routes: Arc::default(),
                edge: edge.map(Arc::new),
                builds: Arc::new(tokio::sync::Semaphore::new(builds)),
                build_limits: self.build_limits.unwrap_or_default(),
            },
            engine: Arc::new(engine),
        })
    }
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
        &self.runtime.store
    }

    /// Checks that `actor` may perform `op` on `target`. A member of another team, or a
    /// service of another team, answers [`Error::NotFound`], exactly as a missing one.
    pub fn authorize(&self, actor: Actor, op: Operation, target: Target) -> Result<()> {
        let member = match actor {
            Actor::System => None,
            Actor::Member { team, member } => Some(
                self.store()
                    .member(team, member)?
                    .ok_or(AuthError::UnknownActor { actor, team })?,
            ),
        };
        let grant = match (&member, target.service) {
            (Some(m), Some(service)) if m.team == target.team => {
                self.store().permission(m.team, m.id, service)?
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
        self.store()
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
            .store()
            .workspace(workspace.team, workspace.id)?
            .is_none()
        {
            return Err(not_found("workspace", workspace.id));
        }
        let topology = self.engine.analyze(path)?;
        let mut record = topology.to_detection(workspace.team);
        record.workspace = Some(workspace.id);
        self.store().put_topology(&record)?;
        Ok((topology, record))
    }

    /// Creates a team with `owner_user` as its owner. Anyone may create a team; they
    /// own it.
    pub fn create_team(&self, name: &str, owner_user: &str) -> Result<(Team, Member)> {
        let team = Team::new(name)?;
        let owner = Member::new(team.id, owner_user, Role::Owner)?;
        self.store().put_team(&team)?;
        self.store().put_member(&owner)?;
        Ok((team, owner))
    }

    /// Adds `user` to `team` with `role`.
    pub fn add_member(&self, actor: Actor, team: TeamId, user: &str, role: Role) -> Result<Member> {
        self.authorize(actor, Operation::ManageMembers, Target::team(team))?;
        let member = Member::new(team, user, role)?;
        self.store().put_member(&member)?;
        Ok(member)
    }

    /// The members of `team`, with their roles (every member of the team sees them; a
    /// member of another team gets [`Error::NotFound`], as for a team that does not
    /// exist).
    pub fn members(&self, actor: Actor, team: TeamId) -> Result<Vec<Member>> {
        self.authorize(actor, Operation::ViewService, Target::team(team))?;
        Ok(self.store().members(team)?)
    }

    /// Creates a workspace in `team`.
    pub fn create_workspace(&self, actor: Actor, team: TeamId, name: &str) -> Result<Workspace> {
        self.authorize(actor, Operation::CreateWorkspace, Target::team(team))?;
        let ws = Workspace::new(team, name)?;
        self.store().put_workspace(&ws)?;
        Ok(ws)
    }

    /// The team's workspaces (every member of the team sees them).
    pub fn workspaces(&self, actor: Actor, team: TeamId) -> Result<Vec<Workspace>> {
        self.authorize(actor, Operation::ViewService, Target::team(team))?;
        Ok(self.store().workspaces(team)?)
    }

    /// Sets the folder a workspace's services are built from: an absolute path to an
    /// existing folder, stored with its links resolved.
    pub fn set_workspace_root(
        &self,
        actor: Actor,
        team: TeamId,
        workspace: crate::model::WorkspaceId,
        root: impl Into<PathBuf>,
    ) -> Result<Workspace> {
        self.authorize(actor, Operation::CreateWorkspace, Target::team(team))?;
        let root = root.into();
        // The folder as it is on disk (links resolved): what builds are checked against.
        let root = match std::fs::canonicalize(&root) {
            Ok(real) if root.is_absolute() && real.is_dir() => real,
            _ => {
                return Err(crate::model::ValidationError::invalid(
                    "workspace.root",
                    root.display().to_string(),
                    "an absolute path to an existing folder",
                )
                .into());
            }
        };
        let mut ws = self
            .store()
            .workspace(team, workspace)?
            .ok_or_else(|| not_found("workspace", workspace))?;
        ws.root = Some(root);
        self.store().put_workspace(&ws)?;
        Ok(ws)
    }

    /// Sets how a workspace's folder is planned and deployed when a call does not say
    /// otherwise ([`DeployDefaults`](crate::model::DeployDefaults)), validated.
    pub fn set_workspace_defaults(
        &self,
        actor: Actor,
        team: TeamId,
        workspace: crate::model::WorkspaceId,
        defaults: crate::model::DeployDefaults,
    ) -> Result<Workspace> {
        self.authorize(actor, Operation::CreateWorkspace, Target::team(team))?;
        defaults.validate()?;
        let mut ws = self
            .store()
            .workspace(team, workspace)?
            .ok_or_else(|| not_found("workspace", workspace))?;
        if ws.defaults != defaults {
            ws.defaults = defaults;
            self.store().put_workspace(&ws)?;
        }
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
            .store()
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
            .store()
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
        self.runtime.create_service(actor, service)
    }

    /// Makes the runtime's service what `plan` says (the one road from a plan to a
    /// running service; `kyozo up` takes it): creates the service of `workspace` named
    /// like the plan if there is none, else updates that one from the plan, keeping its
    /// id, its replica count (once it runs, `scale` says how many) and, for a service
    /// built from a Dockerfile, the image its last deployment built (the runtime's to
    /// say). What it holds then is what the plan says:
    /// [`DeploySpec::from_service`](crate::plan::DeploySpec::from_service) of it is the
    /// plan's spec. Deploy it with [`deploy`](Self::deploy).
    pub async fn apply(
        &self,
        actor: Actor,
        team: TeamId,
        workspace: crate::model::WorkspaceId,
        plan: &crate::plan::ServicePlan,
    ) -> Result<ServiceInstance> {
        self.apply_service(actor, plan.service(team, workspace))
            .await
    }

    /// [`apply`](Self::apply) for a backing service of a plan (postgres, redis...).
    pub async fn apply_backing(
        &self,
        actor: Actor,
        team: TeamId,
        workspace: crate::model::WorkspaceId,
        plan: &crate::plan::BackingPlan,
    ) -> Result<ServiceInstance> {
        self.apply_service(actor, plan.service(team, workspace))
            .await
    }

    /// Creates `want`, or updates the service of its workspace that has its name.
    async fn apply_service(&self, actor: Actor, want: ServiceInstance) -> Result<ServiceInstance> {
        self.authorize(actor, Operation::ViewService, Target::team(want.team))?;
        let existing = self
            .store()
            .services(want.team, Some(want.workspace))?
            .into_iter()
            .find(|s| s.name == want.name && s.status != ServiceStatus::Removed);
        let Some(existing) = existing else {
            return self.create_service(actor, want);
        };
        let mut changed = want;
        changed.id = existing.id;
        changed.created_at = existing.created_at;
        changed.created_by = existing.created_by;
        // A service built from a folder runs the image its last deployment built: that
        // is the runtime's to say, not the plan's.
        if changed.image.is_none() {
            changed.image = existing.image;
        }
        changed.replicas = existing.replicas;
        // What its people set is theirs: a plan never replaces it.
        changed.settings = existing.settings;
        self.update_service(actor, changed).await
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
        Ok(self.store().latest_events(team, service.id, n)?)
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
            .store()
            .events(team, service.id, after.saturating_add(1)..=u64::MAX)?)
    }

    /// Grants `rights` on a service to a member of the same team.
    pub fn grant(&self, actor: Actor, permission: ServicePermission) -> Result<()> {
        self.authorize(
            actor,
            Operation::ManagePermissions,
            Target::service(permission.team, permission.service),
        )?;
        Ok(self.store().put_permission(&permission)?)
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
        Ok(self.store().delete_permission(team, member, service)?)
    }

    // The runtime: each call asks the policy, then the runtime does the work.

    /// The events the runtime records from now on, for the services of `team` the
    /// actor may read events of, as they are recorded (for dashboards). A subscriber
    /// that falls more than [`BUS_CAPACITY`](crate::runtime::BUS_CAPACITY) of its team's
    /// events behind skips ahead and is told how many of them it missed (`Err(n)`); the
    /// store has them all.
    pub fn subscribe(&self, actor: Actor, team: TeamId) -> Result<Subscription> {
        self.authorize(actor, Operation::ReadEvents, Target::team(team))?;
        let me = self.clone();
        Ok(self.runtime.subscribe(team, move |e| {
            me.authorized_service(actor, Operation::ReadEvents, team, e.service)
                .is_ok()
        }))
    }

    /// Changes how a service is built and run (its folder, build and run config, ports,
    /// env, limits, replicas, health check, image), validated, and records
    /// `config_changed` naming what changed (env by name, never by value). Takes effect
    /// at the next deployment. Its name, team and workspace cannot change; what the
    /// runtime keeps (status, containers, timestamps) is left as stored.
    pub async fn update_service(
        &self,
        actor: Actor,
        changed: ServiceInstance,
    ) -> Result<ServiceInstance> {
        let service =
            self.authorized_service(actor, Operation::Deploy, changed.team, changed.id)?;
        self.runtime.update_service(actor, service, changed).await
    }

    /// Sets env vars of a service (its settings: kept apart from what its plan says,
    /// applied over it, never replaced by a new plan; see
    /// [`ServiceInstance::settings`]), recording `config_changed` with their names,
    /// never their values. A name set again with the same value and origin is left as
    /// it was (no change, no redeployment). Takes effect at the next deployment, a
    /// rolling update ([`deploy`](Self::deploy)). Takes `deploy`.
    pub async fn set_env(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        values: BTreeMap<String, crate::model::SecretValue>,
        origin: crate::model::SettingOrigin,
    ) -> Result<ServiceInstance> {
        let service = self.authorized_service(actor, Operation::Deploy, team, id)?;
        let set_by = match actor {
            Actor::Member { member, .. } => Some(member),
            Actor::System => None,
        };
        let mut changed = service.clone();
        for (name, value) in values {
            crate::model::validate_env_name(&name)?;
            let same = changed
                .settings
                .get(&name)
                .is_some_and(|s| s.value == value && s.origin == origin);
            if !same {
                changed.settings.insert(
                    name,
                    crate::model::Setting::new(value, origin.clone(), set_by),
                );
            }
        }
        if changed.settings == service.settings {
            return Ok(service);
        }
        self.runtime.update_service(actor, service, changed).await
    }

    /// Removes settings of a service by name (the plan's value of the same name, if
    /// any, applies again), recording `config_changed`. A name that is not a setting is
    /// an error naming it, and nothing is removed. Takes `deploy`.
    pub async fn unset_env(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        names: &[String],
    ) -> Result<ServiceInstance> {
        let service = self.authorized_service(actor, Operation::Deploy, team, id)?;
        if let Some(missing) = names.iter().find(|n| !service.settings.contains_key(*n)) {
            return Err(crate::model::ValidationError::invalid(
                "env",
                crate::text::terminal_safe(missing).into_owned(),
                if service.env.contains_key(missing) {
                    "a setting of the service (this one comes from its plan: set another value instead)"
                } else {
                    "a setting of the service"
                },
            )
            .into());
        }
        let mut changed = service.clone();
        for n in names {
            changed.settings.remove(n);
        }
        self.runtime.update_service(actor, service, changed).await
    }

    /// A service's env as it runs: every name, where its value comes from (the plan or
    /// a setting, with who set it and when), values masked unless `reveal`, which takes
    /// `reveal_secrets` (owners only: docs/policy.md). Takes `view_service`.
    pub fn env(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        reveal: bool,
    ) -> Result<Vec<crate::model::EnvEntry>> {
        let service = self.authorized_service(actor, Operation::ViewService, team, id)?;
        if reveal {
            self.authorize(actor, Operation::RevealSecrets, Target::service(team, id))?;
        }
        Ok(crate::model::env_entries(
            &service.env,
            &service.settings,
            reveal,
        ))
    }

    /// Deploys a service: builds its image (when it has a Dockerfile) or takes its
    /// image, starts its replicas, waits until they answer (its health check, or its
    /// first port accepting connections, or the containers running), then retires
    /// the containers of its previous deployment. Every step is an event of the
    /// service: `deployment_started`, `image_built`, `started`, then
    /// `deployment_completed` or `deployment_failed` with the error and the duration.
    /// A failed deployment removes what it created and leaves the previous one running.
    pub async fn deploy(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<DeployReport> {
        self.deploy_with_progress(actor, team, id, &mut |_| {})
            .await
    }

    /// [`deploy`](Self::deploy), telling `progress` what it does as it does it: the
    /// build's output line by line, the start of the replicas, the wait until they are
    /// ready, and, when a replica fails, its last log lines (taken before the failed
    /// deployment removes it), for a progress display and an error report.
    pub async fn deploy_with_progress(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        progress: &mut (dyn FnMut(DeployProgress) + Send),
    ) -> Result<DeployReport> {
        let service = self.authorized_service(actor, Operation::Deploy, team, id)?;
        self.runtime.deploy(actor, service, progress).await
    }

    /// The routes the edge proxy holds for a service (none without an edge proxy).
    pub async fn edge_routes(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
    ) -> Result<Vec<EdgeRoute>> {
        let service = self.authorized_service(actor, Operation::ViewService, team, id)?;
        self.runtime.edge_routes(&service).await
    }

    /// Stops the service's containers (each gets `grace` to exit) and records
    /// `stopped` (or `operation_failed`).
    pub async fn stop(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        grace: Duration,
    ) -> Result<()> {
        let service = self.authorized_service(actor, Operation::Stop, team, id)?;
        self.runtime.stop(actor, service, grace).await
    }

    /// Starts the service's stopped containers, waits until they are ready and records
    /// `started` (or `operation_failed`).
    pub async fn start(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let service = self.authorized_service(actor, Operation::Start, team, id)?;
        self.runtime.start(actor, service).await
    }

    /// Restarts the service's containers one at a time (each taken out of the
    /// endpoint's routes, stopped, started, waited until ready, and routed to again, so
    /// a service with several replicas keeps answering) and records `restarted` (or
    /// `operation_failed`).
    pub async fn restart(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let service = self.authorized_service(actor, Operation::Restart, team, id)?;
        self.runtime.restart(actor, service).await
    }

    /// Runs `replicas` containers of the service's current deployment: starts more
    /// (waiting until each is ready before routing to it) or takes the newest out of
    /// the routes, lets their connections finish, and removes them; records `scaled`
    /// (or `operation_failed`, with the replicas that run then).
    pub async fn scale(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        replicas: u32,
    ) -> Result<()> {
        if replicas == 0 || replicas > crate::model::MAX_REPLICAS {
            return Err(crate::model::ValidationError::out_of_range(
                "replicas",
                replicas,
                format!(
                    "1-{} (stop the service to run none)",
                    crate::model::MAX_REPLICAS
                ),
            )
            .into());
        }
        let service = self.authorized_service(actor, Operation::Scale, team, id)?;
        self.runtime.scale(actor, service, replicas).await
    }

    /// Deploys again the exact image of an earlier completed deployment (`to`, or the
    /// one before the current) and records `rolled_back`.
    pub async fn rollback(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        to: Option<DeploymentId>,
    ) -> Result<DeployReport> {
        let service = self.authorized_service(actor, Operation::Rollback, team, id)?;
        self.runtime.rollback(actor, service, to).await
    }

    /// Removes the service's containers and every image Kyozo built for it (every image
    /// the engine holds with the service's team and service labels, by Kyozo's own tags,
    /// `kyozo/NAME:...`, or by id when it has none: an interrupted `up` may have built
    /// one it never recorded; an image someone also tagged otherwise keeps that tag and
    /// stays), marks it removed and records `removed`. Its history stays.
    pub async fn remove_service(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let service = self.authorized_service(actor, Operation::Remove, team, id)?;
        self.runtime.remove_service(actor, service).await
    }

    /// Whether the service runs what a deployment would run now: it runs, every
    /// container of its current deployment runs, its config has not changed since its
    /// last completed deployment, and (when it builds from a Dockerfile) what a build
    /// would send now is what its image was built from. What `kyozo up` asks before
    /// deploying a service again.
    pub async fn is_current(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<bool> {
        let service = self.authorized_service(actor, Operation::ViewService, team, id)?;
        self.runtime.is_current(service).await
    }

    /// Removes the volumes of a removed service, and their data (what `kyozo down
    /// --volumes` does). A service that is not removed keeps them.
    pub async fn remove_volumes(&self, actor: Actor, team: TeamId, id: ServiceId) -> Result<()> {
        let service = self.authorized_service(actor, Operation::Remove, team, id)?;
        self.runtime.remove_volumes(service).await
    }

    /// The service's containers on the engine now (every deployment's), with their
    /// state and published ports.
    pub async fn containers(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
    ) -> Result<Vec<crate::backend::ContainerState>> {
        let service = self.authorized_service(actor, Operation::ViewService, team, id)?;
        self.runtime.containers(&service).await
    }

    /// The newest `n` health checks of a service, newest first.
    pub fn health(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        n: usize,
    ) -> Result<Vec<crate::model::HealthCheck>> {
        let service = self.authorized_service(actor, Operation::ReadMetrics, team, id)?;
        self.runtime.health(&service, n)
    }

    /// A service's metrics between `from` and `to`, oldest first.
    pub fn metrics(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<crate::model::ServiceMetric>> {
        let service = self.authorized_service(actor, Operation::ReadMetrics, team, id)?;
        self.runtime.metrics(&service, from, to)
    }

    /// The log lines of every container of a service (follow them with
    /// `options.follow`), each with the container it came from.
    pub async fn logs(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        options: crate::backend::LogOptions,
    ) -> Result<
        futures_util::stream::BoxStream<
            'static,
            (
                String,
                std::result::Result<crate::backend::LogLine, crate::backend::BackendError>,
            ),
        >,
    > {
        let service = self.authorized_service(actor, Operation::ReadLogs, team, id)?;
        self.runtime.logs(&service, options).await
    }

    /// One sample of the resource use of each of the service's running containers.
    pub async fn stats(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
    ) -> Result<std::collections::BTreeMap<String, crate::backend::ContainerStats>> {
        let service = self.authorized_service(actor, Operation::ReadMetrics, team, id)?;
        self.runtime.stats(&service).await
    }

    /// Listens on `listen` and forwards every connection to the service's
    /// `container_port` on one of its ready replicas, in turn. Redeploys, scaling and
    /// restarts change where connections go without closing the endpoint: a client of
    /// the endpoint sees no gap while a health-gated rolling update swaps the replicas.
    ///
    /// Needs the right to deploy the service (it publishes a port on the host).
    pub async fn expose(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
        container_port: u16,
        listen: SocketAddr,
    ) -> Result<Endpoint> {
        let service = self.authorized_service(actor, Operation::Deploy, team, id)?;
        self.runtime.expose(service, container_port, listen).await
    }

    /// Reconciles the store with the engine, then starts the background work with the
    /// default [`ManagerConfig`].
    pub async fn start_manager(&self) -> Result<Manager> {
        self.start_manager_with(ManagerConfig::default()).await
    }

    /// Reconciles the store with the engine, then starts the background work.
    pub async fn start_manager_with(&self, config: ManagerConfig) -> Result<Manager> {
        self.runtime.start_manager(config).await
    }

    /// One health check of every running service that has one and one metrics sample
    /// of every running service, done concurrently and recorded (what the manager does
    /// at its intervals, at once: for a program that runs no manager, or a test). The
    /// raw results are recorded; the `health_passed`/`health_failed` events, which
    /// weigh `retries` and `start_period`, are the manager's.
    ///
    /// Like the manager, this is the process's own work over every team, not an
    /// actor's: it takes no [`Actor`] and records as the system.
    pub async fn sweep(&self) -> Result<Sweep> {
        self.runtime.sweep().await
    }

    /// Checks a service's health now: its health check, run on every container of its
    /// current deployment. The result is recorded in its health history and returned;
    /// `None` when it has no health check, or when an operation on it (a deployment
    /// swapping replicas...) is under way in this process, leaving nothing steady to
    /// check. What `kyozo health` and `kyozo ps` show, where no manager runs.
    ///
    /// Reading health takes `read_metrics`; a health check that runs a command in the
    /// containers ([`HealthProbe::Command`](crate::model::HealthProbe::Command)) also
    /// takes `restart` (running something in a container is operating it): a viewer
    /// reads the recorded history instead ([`health`](Self::health)).
    pub async fn check_health(
        &self,
        actor: Actor,
        team: TeamId,
        id: ServiceId,
    ) -> Result<Option<crate::model::HealthCheck>> {
        let service = self.authorized_service(actor, Operation::ReadMetrics, team, id)?;
        if let Some(crate::model::HealthProbe::Command { .. }) =
            service.health_check.as_ref().map(|h| &h.probe)
        {
            self.authorize(actor, Operation::Restart, Target::service(team, id))?;
        }
        self.runtime.check_health(&service).await
    }

    /// Removes Kyozo's dead containers that no service counts as its own and the
    /// images Kyozo built that no container uses and that are not among the images of
    /// a service's `keep_images` newest completed deployments; records a `cleaned_up`
    /// event for each service that lost something. Containers and images of services
    /// the store does not know are left alone: they may be another Kyozo's. An image
    /// counts as the service's only if its history says Kyozo built it for it.
    ///
    /// The process's own work over every team (as the manager does it every
    /// [`ManagerConfig::cleanup_interval`]): it takes no [`Actor`].
    pub async fn cleanup(&self, keep_images: usize) -> Result<Cleanup> {
        self.runtime.cleanup(keep_images).await
    }
}

fn not_found(kind: &'static str, id: impl ToString) -> Error {
    Error::NotFound {
        kind,
        id: id.to_string(),
    }
}
