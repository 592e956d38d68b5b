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
    as_member: Option<String>,
}

impl Local {
    /// Opens the state of `dir`. `create`: make the state file, team and workspace
    /// when they do not exist (what `up` does); otherwise their absence is an error
    /// that says to run `up` first.
    pub(crate) async fn open(g: &Global, dir: &Path, create: bool) -> anyhow::Result<Local> {
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
        if !state.exists() && !create {
            anyhow::bail!(
                "no Kyozo state for {} (looked for {}): run `kyozo up` there first, or give --state",
                root.display(),
                state.display()
            );
        }
        // The engine before anything is written: without one, nothing is left behind.
        let backend: Arc<dyn kyozo::backend::ContainerBackend> =
            Arc::new(kyozo::backend::DockerBackend::connect().await.context(
                "cannot reach the Docker Engine (DOCKER_HOST, else /var/run/docker.sock)",
            )?);
        if !state.exists()
            && let Some(parent) = state.parent()
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
            if g.state.is_none() {
                // Keep the state out of version control.
                let ignore = parent.join(".gitignore");
                if !ignore.exists() {
                    let _ = std::fs::write(ignore, "*\n");
                }
            }
        }
        if state.starts_with(&root)
            && !state
                .components()
                .any(|c| c.as_os_str() == std::ffi::OsStr::new(".kyozo"))
        {
            eprintln!(
                "kyozo: note: the state file {} is in the folder, outside a .kyozo folder: builds will send it, and every `up` will rebuild",
                state.display()
            );
        }
        let kyozo = open_state(&state, &backend, Some(LOCK_WAIT)).await?;
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
                state.display()
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
            as_member: g.as_member.clone(),
        })
    }

    /// Closes the state file and opens it again: a command that keeps running (`events
    /// -f`, `top`) holds it only while it reads, so other commands can run meanwhile.
    pub(crate) async fn reopen(&mut self) -> anyhow::Result<()> {
        // Drop the open store first: redb allows one open per file.
        self.close()?;
        // A follower waits as long as it takes (an `up` may build for minutes).
        self.kyozo = open_state(&self.state, &self.backend, None).await?;
        Ok(())
    }

    /// Lets go of the state file until [`reopen`](Self::reopen).
    pub(crate) fn close(&mut self) -> anyhow::Result<()> {
        // An empty runtime in memory holds its place.
        let placeholder = Kyozo::builder().build()?;
        drop(std::mem::replace(&mut self.kyozo, placeholder));
        Ok(())
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
    wait: Option<Duration>,
) -> anyhow::Result<Kyozo> {
    let started = Instant::now();
    // A follower (no limit) says nothing: it waits between its reads anyway.
    let mut said = wait.is_none();
    loop {
        match Kyozo::builder()
            .state_file(state)
            .backend(backend.clone())
            .build()
        {
            Ok(k) => return Ok(k),
            Err(kyozo::Error::Store(kyozo::store::StoreError::Locked { .. }))
                if wait.is_none_or(|w| started.elapsed() < w) =>
            {
                if !said {
                    eprintln!(
                        "kyozo: waiting for another kyozo command using {}",
                        state.display()
                    );
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot open the state file {}", state.display())));
            }
        }
    }
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
