//! The folder's state: its redb file, the engine, the local team, the workspace of the
//! folder, and who acts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kyozo::Kyozo;
use kyozo::auth::Actor;
use kyozo::model::{Member, Role, ServiceInstance, ServiceStatus, TeamId, Workspace};

use crate::Global;

/// The name of the team the CLI keeps in a state file.
const TEAM: &str = "local";

/// How long a command waits for another one that holds the state file.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// What a command acts on.
#[derive(Debug)]
pub(crate) struct Local {
    pub(crate) kyozo: Kyozo,
    pub(crate) actor: Actor,
    pub(crate) team: TeamId,
    pub(crate) workspace: Workspace,
    pub(crate) root: PathBuf,
    pub(crate) state: PathBuf,
    backend: Arc<dyn kyozo::backend::ContainerBackend>,
    edge: kyozo::runtime::EdgeProxy,
    as_member: Option<String>,
}

/// The edge proxy the CLI publishes services' ports through: its image from `up
/// --image caddy=IMAGE`, else `KYOZO_EDGE_IMAGE`, else the base-image map's `caddy`
/// (`caddy:2`); its container's name from `KYOZO_EDGE_NAME` (default `kyozo-edge`).
pub(crate) fn edge_proxy(image: Option<&str>) -> kyozo::runtime::EdgeProxy {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    let image = image
        .map(str::to_string)
        .or_else(|| env("KYOZO_EDGE_IMAGE"))
        .unwrap_or_else(|| {
            kyozo::plan::BaseImages::default()
                .lookup("caddy", None)
                .unwrap_or("caddy:2")
                .to_string()
        });
    let edge = kyozo::runtime::EdgeProxy::caddy(image);
    match env("KYOZO_EDGE_NAME") {
        Some(name) => edge.with_name(name),
        None => edge,
    }
}

/// How long a build may print nothing before it is given up: `KYOZO_BUILD_STALL`
/// (`90s`, `10m`, `1h`), else the library's default
/// ([`kyozo::backend::DEFAULT_BUILD_STALL`], ten minutes).
fn build_stall() -> anyhow::Result<Option<Duration>> {
    let Some(text) = std::env::var("KYOZO_BUILD_STALL")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    match crate::ops::stretch(text.trim()) {
        Some(seconds) if seconds > 0 => Ok(Some(Duration::from_secs(seconds.unsigned_abs()))),
        _ => anyhow::bail!(
            "KYOZO_BUILD_STALL takes a duration (90s, 10m, 1h), not {:?}",
            kyozo::text::terminal_safe(&text)
        ),
    }
}

/// The folder `dir` (canonical) and the state file of it: `--state`, else
/// `DIR/.kyozo/state.redb`. Nothing is created.
pub(crate) fn state_path(g: &Global, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let root = std::fs::canonicalize(dir)
        .with_context(|| format!("cannot open the folder {}", dir.display()))?;
    if !root.is_dir() {
        anyhow::bail!("{} is not a folder", root.display());
    }
    let state = match &g.state {
        Some(s) => std::path::absolute(s)
            .with_context(|| format!("cannot resolve the state file {}", s.display()))?,
        None => root.join(".kyozo").join("state.redb"),
    };
    Ok((root, state))
}

impl Local {
    /// Opens the state of `dir`. `create`: make the state file, team and workspace
    /// when they do not exist (what `up` does); otherwise their absence is an error
    /// that says to run `up` first.
    pub(crate) async fn open(g: &Global, dir: &Path, create: bool) -> anyhow::Result<Local> {
        Self::open_with_edge(g, dir, create, edge_proxy(None)).await
    }

    /// [`open`](Self::open), publishing through `edge`.
    pub(crate) async fn open_with_edge(
        g: &Global,
        dir: &Path,
        create: bool,
        edge: kyozo::runtime::EdgeProxy,
    ) -> anyhow::Result<Local> {
        let (root, state) = state_path(g, dir)?;
        if !state.exists() && !create {
            anyhow::bail!(
                "no Kyozo state for {} (looked for {}): run `kyozo up` there first, or give --state",
                root.display(),
                kyozo::text::terminal_safe(&state.display().to_string())
            );
        }
        // The engine before anything is written: without one, nothing is left behind.
        let stall = build_stall()?;
        let mut docker = kyozo::backend::DockerBackend::connect()
            .await
            .context("cannot reach the Docker Engine (DOCKER_HOST, else /var/run/docker.sock)")?;
        if let Some(stall) = stall {
            docker = docker.with_build_stall_timeout(stall);
        }
        let backend: Arc<dyn kyozo::backend::ContainerBackend> = Arc::new(docker);
        // A state that exists before this command: it may have come with the folder.
        let existed = std::fs::symlink_metadata(&state).is_ok();
        if let Some(parent) = state.parent() {
            if g.state.is_none() {
                // `.kyozo/` holds secrets: private, never a link (a folder someone else
                // wrote may ship one pointing anywhere).
                if create || parent.exists() {
                    kyozo::safe_fs::create_private_dir(parent)
                        .with_context(|| format!("cannot use {}", parent.display()))?;
                }
                if create {
                    // Keep the state out of version control; a file already there is
                    // left as it is.
                    kyozo::safe_fs::create_new_file(&parent.join(".gitignore"), b"*\n", 0o644)
                        .with_context(|| {
                            format!("cannot write {}", parent.join(".gitignore").display())
                        })?;
                }
            } else if !existed && create {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
        }
        if state.starts_with(&root)
            && !state
                .components()
                .any(|c| c.as_os_str() == std::ffi::OsStr::new(".kyozo"))
        {
            eprintln!(
                "kyozo: note: the state file {} is in the folder, outside a .kyozo folder: builds will send it, and every `up` will rebuild",
                kyozo::text::terminal_safe(&state.display().to_string())
            );
        }
        let kyozo = open_state(&state, &backend, &edge, Some(LOCK_WAIT)).await?;
        if existed {
            warn_if_from_elsewhere(&kyozo, &root, &state)?;
        }
        let (team, owner) = local_team(&kyozo, create)?;
        let actor = match &g.as_member {
            None => owner.actor(),
            Some(user) => kyozo
                .store()
                .members(team)?
                .into_iter()
                .find(|m| &m.user == user)
                .map(|m| m.actor())
                .with_context(|| {
                    format!("no member {user:?} in the local team (`kyozo members` lists them)")
                })?,
        };
        let workspace = match kyozo
            .workspaces(actor, team)?
            .into_iter()
            .find(|w| w.root.as_deref() == Some(root.as_path()))
        {
            Some(w) => w,
            None if create => {
                let name = workspace_name(&root);
                let ws = kyozo.create_workspace(actor, team, &name)?;
                kyozo.set_workspace_root(actor, team, ws.id, &root)?
            }
            None => anyhow::bail!(
                "Kyozo has run nothing from {} yet (state {}): run `kyozo up` there first",
                root.display(),
                kyozo::text::terminal_safe(&state.display().to_string())
            ),
        };
        Ok(Local {
            kyozo,
            actor,
            team,
            workspace,
            root,
            state,
            backend,
            edge,
            as_member: g.as_member.clone(),
        })
    }

    /// Where a service's ports are published: the edge proxy's address for a port it
    /// carries, else what its running containers publish; (container port, host
    /// port, host address) each.
    pub(crate) async fn published(
        &self,
        service: &kyozo::model::ServiceInstance,
        containers: &[kyozo::backend::ContainerState],
    ) -> anyhow::Result<Vec<(u16, u16, String)>> {
        let routes = self
            .kyozo
            .edge_routes(self.actor, self.team, service.id)
            .await?;
        let mut out: Vec<(u16, u16, String)> = Vec::new();
        for (c, h) in crate::show::ports(containers) {
            if routes.iter().any(|r| r.container_port == c) {
                continue;
            }
            out.push((c, h, crate::show::host_ip(containers, c)));
        }
        for r in &routes {
            for listen in &r.listen {
                let Some((ip, port)) = listen.rsplit_once(':') else {
                    continue;
                };
                let Ok(port) = port.parse::<u16>() else {
                    continue;
                };
                let ip = if ip.is_empty() { "0.0.0.0" } else { ip };
                out.push((r.container_port, port, ip.to_string()));
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Closes the state file and opens it again: a command that keeps running (`events
    /// -f`, `top`) holds it only while it reads, so other commands can run meanwhile.
    pub(crate) async fn reopen(&mut self) -> anyhow::Result<()> {
        // Drop the open store first: redb allows one open per file.
        self.close()?;
        // A follower waits as long as it takes (an `up` may build for minutes).
        self.kyozo = open_state(&self.state, &self.backend, &self.edge, None).await?;
        Ok(())
    }

    /// Lets go of the state file until [`reopen`](Self::reopen).
    pub(crate) fn close(&mut self) -> anyhow::Result<()> {
        // An empty runtime in memory holds its place.
        let placeholder = Kyozo::builder().build()?;
        drop(std::mem::replace(&mut self.kyozo, placeholder));
        Ok(())
    }

    /// Refuses to go on when containers deployed from this folder run that this state
    /// does not know (an earlier state was removed, lost or replaced): deploying again
    /// would run every service twice and clash on its ports. Names them, and says how
    /// to remove them.
    pub(crate) async fn refuse_foreign_containers(&self) -> anyhow::Result<()> {
        use kyozo::backend::{LABEL_MANAGED_BY, LABEL_ROOT, LABEL_WORKSPACE};
        let filter = std::collections::BTreeMap::from([
            (LABEL_MANAGED_BY.to_string(), "kyozo".to_string()),
            (
                LABEL_ROOT.to_string(),
                self.root.to_string_lossy().into_owned(),
            ),
        ]);
        let ours = self.workspace.id.to_string();
        let mut foreign: Vec<String> = self
            .backend
            .list(&filter)
            .await
            .context("cannot list the containers on the engine")?
            .into_iter()
            .filter(|c| c.labels.get(LABEL_WORKSPACE) != Some(&ours))
            .map(|c| c.name)
            .collect();
        if foreign.is_empty() {
            return Ok(());
        }
        foreign.sort();
        let names: Vec<String> = foreign
            .iter()
            .map(|n| kyozo::text::terminal_safe(n).into_owned())
            .collect();
        anyhow::bail!(
            "containers deployed from {} by another Kyozo state still exist: {}. The state {} does not know them, so deploying would run those services twice. Use the state that made them (--state), or remove them first: docker rm -f {}",
            kyozo::text::terminal_safe(&self.root.display().to_string()),
            names.join(", "),
            kyozo::text::terminal_safe(&self.state.display().to_string()),
            names.join(" ")
        )
    }

    /// Context for an operation's error: what was tried, on what, as whom.
    pub(crate) fn trying(&self, what: &str, on: &str) -> String {
        match &self.as_member {
            Some(m) => format!("cannot {what} {on} as {m}"),
            None => format!("cannot {what} {on}"),
        }
    }

    /// The folder's services, removed ones too, in the order they were created.
    pub(crate) fn all_services(&self) -> anyhow::Result<Vec<ServiceInstance>> {
        let mut all = self
            .kyozo
            .services(self.actor, self.team, Some(self.workspace.id))?;
        all.sort_by_key(|s| s.id);
        Ok(all)
    }

    /// The folder's services that are not removed, in the order they were created.
    pub(crate) fn services(&self) -> anyhow::Result<Vec<ServiceInstance>> {
        Ok(self
            .all_services()?
            .into_iter()
            .filter(|s| s.status != ServiceStatus::Removed)
            .collect())
    }

    /// The folder's service named `name`.
    pub(crate) fn service(&self, name: &str) -> anyhow::Result<ServiceInstance> {
        let all = self.services()?;
        match all.iter().find(|s| s.name == name) {
            Some(s) => Ok(s.clone()),
            None => {
                let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                if names.is_empty() {
                    anyhow::bail!("no service {name:?}: nothing runs from this folder (kyozo up)")
                }
                anyhow::bail!(
                    "no service {name:?} here{}; there are: {}",
                    self.as_member
                        .as_ref()
                        .map_or(String::new(), |m| format!(" that {m} may see")),
                    names.join(", ")
                )
            }
        }
    }
}

/// Opens the state file, waiting while another `kyozo` command holds it.
async fn open_state(
    state: &Path,
    backend: &Arc<dyn kyozo::backend::ContainerBackend>,
    edge: &kyozo::runtime::EdgeProxy,
    wait: Option<Duration>,
) -> anyhow::Result<Kyozo> {
    open_state_with(state, Some((backend, edge)), wait).await
}

/// [`open_state`], with an engine or without one (to read the state only).
async fn open_state_with(
    state: &Path,
    engine: Option<(
        &Arc<dyn kyozo::backend::ContainerBackend>,
        &kyozo::runtime::EdgeProxy,
    )>,
    wait: Option<Duration>,
) -> anyhow::Result<Kyozo> {
    let started = Instant::now();
    // A follower (no limit) says nothing: it waits between its reads anyway.
    let mut said = wait.is_none();
    loop {
        let mut builder = Kyozo::builder().state_file(state);
        if let Some((backend, edge)) = engine {
            builder = builder.backend(backend.clone()).edge(edge.clone());
        }
        match builder.build() {
            Ok(k) => return Ok(k),
            Err(kyozo::Error::Store(kyozo::store::StoreError::Locked { .. }))
                if wait.is_none_or(|w| started.elapsed() < w) =>
            {
                if !said {
                    eprintln!(
                        "kyozo: waiting for another kyozo command using {}",
                        kyozo::text::terminal_safe(&state.display().to_string())
                    );
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot open the state file {}",
                    kyozo::text::terminal_safe(&state.display().to_string())
                )));
            }
        }
    }
}

/// Warns when the state file holds workspaces but none of this folder: it was made
/// somewhere else (a state shipped inside a repository, or a folder moved), so what it
/// says ran is not what runs from here.
fn warn_if_from_elsewhere(kyozo: &Kyozo, root: &Path, state: &Path) -> anyhow::Result<()> {
    let store = kyozo.store();
    let mut roots = Vec::new();
    for team in store.teams()? {
        for ws in store.workspaces(team.id)? {
            if let Some(r) = ws.root {
                roots.push(r);
            }
        }
    }
    let state_text = kyozo::text::terminal_safe(&state.display().to_string()).into_owned();
    // A copy of a state (shipped with a repository, even one made for the very path it
    // was cloned to) is another file than the one it was made in.
    if store.made_here()? != Some(true) {
        eprintln!(
            "kyozo: warning: the state file {state_text} is a copy: it was not made in this file on this machine (it came with the folder, from an archive or from elsewhere), so what it says ran and the settings it keeps are someone else's. Kyozo uses it as it is; remove it, or give --state, to start afresh"
        );
    }
    if !roots.is_empty() && !roots.iter().any(|r| r == root) {
        roots.sort();
        roots.dedup();
        let made_for: Vec<String> = roots
            .iter()
            .take(3)
            .map(|r| kyozo::text::terminal_safe(&r.display().to_string()).into_owned())
            .collect();
        eprintln!(
            "kyozo: warning: the state file {state_text} was not made for this folder (it was made for {}): it comes from elsewhere, perhaps with the folder itself. Kyozo uses it as it is; remove it, or give --state, to start afresh",
            made_for.join(", ")
        );
    }
    Ok(())
}

/// The state's local team and its owner, made on first use when `create`.
fn local_team(kyozo: &Kyozo, create: bool) -> anyhow::Result<(TeamId, Member)> {
    let store = kyozo.store();
    if let Some(team) = store.teams()?.into_iter().find(|t| t.name == TEAM) {
        let owner = store
            .members(team.id)?
            .into_iter()
            .find(|m| m.role == Role::Owner)
            .context("the local team has no owner in the state file")?;
        return Ok((team.id, owner));
    }
    if !create {
        anyhow::bail!("the state file has no local team: run `kyozo up` first");
    }
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "owner".into());
    let (team, owner) = kyozo.create_team(TEAM, &user)?;
    Ok((team.id, owner))
}

/// A workspace name from a folder's name (letters, digits and `-`).
fn workspace_name(root: &Path) -> String {
    let raw = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() { "root".into() } else { name }
}

/// What the folder `dir` was last deployed with (`up`'s `--image`, `--build-network`,
/// `--port`), read from its state without an engine; nothing when it has no state or
/// Kyozo has run nothing from it.
pub(crate) async fn remembered(
    g: &Global,
    dir: &Path,
) -> anyhow::Result<kyozo::model::DeployDefaults> {
    let Ok(root) = std::fs::canonicalize(dir) else {
        return Ok(kyozo::model::DeployDefaults::default());
    };
    let state = match &g.state {
        Some(s) => std::path::absolute(s)?,
        None => root.join(".kyozo").join("state.redb"),
    };
    if !state.is_file() {
        return Ok(kyozo::model::DeployDefaults::default());
    }
    let kyozo = open_state_with(&state, None, Some(LOCK_WAIT)).await?;
    let store = kyozo.store();
    for team in store.teams()?.into_iter().filter(|t| t.name == TEAM) {
        if let Some(ws) = store
            .workspaces(team.id)?
            .into_iter()
            .find(|w| w.root.as_deref() == Some(root.as_path()))
        {
            return Ok(ws.defaults);
        }
    }
    Ok(kyozo::model::DeployDefaults::default())
}
