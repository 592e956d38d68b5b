//! `kyozo env list|set|unset`: a service's settings, the env vars its people give it
//! (stored as secrets in the folder's state, applied over what the plan says, kept by
//! every later `up`), and `up --env-file`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use kyozo::model::{EnvSource, SecretValue, ServiceInstance, SettingOrigin};

use crate::local::Local;
use crate::render::print;
use crate::show::{self, Style, safe};
use crate::{Global, PlanArgs};

/// `kyozo env list SERVICE [--reveal] [--json]`.
pub(crate) async fn list(
    g: &Global,
    name: &str,
    reveal: bool,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let service = local.service(name)?;
    let entries = local
        .kyozo
        .env(local.actor, local.team, service.id, reveal)
        .with_context(|| local.trying("list the env of", name))?;
    let members: BTreeMap<kyozo::model::MemberId, String> = local
        .kyozo
        .members(local.actor, local.team)
        .map(|m| m.into_iter().map(|m| (m.id, m.user)).collect())
        .unwrap_or_default();
    if as_json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                if let (
                    Some(map),
                    EnvSource::Setting {
                        set_by: Some(m), ..
                    },
                ) = (v.as_object_mut(), &e.source)
                    && let Some(user) = members.get(m)
                {
                    map.insert("set_by_user".into(), user.clone().into());
                }
                v
            })
            .collect();
        print(&show::json_text(&serde_json::json!({
            "service": service.name,
            "env": list,
        }))?);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        print(&format!(
            "{} has no env vars: `kyozo env set {} NAME=VALUE` gives it one.\n",
            safe(name),
            safe(name)
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let value = e
                .value
                .as_ref()
                .map_or_else(|| "***".to_string(), |v| v.expose().to_string());
            let from = match &e.source {
                EnvSource::Plan => "the plan".to_string(),
                EnvSource::Setting {
                    origin,
                    set_by,
                    set_at,
                } => {
                    let who = set_by
                        .and_then(|m| members.get(&m).cloned())
                        .map_or(String::new(), |u| format!(" by {u}"));
                    let over = if e.overrides_plan {
                        " (over the plan's)"
                    } else {
                        ""
                    };
                    format!("{origin}{who} at {set_at}{over}")
                }
                _ => String::new(),
            };
            vec![e.name.clone(), value, from]
        })
        .collect();
    print(&show::table(
        &["NAME", "VALUE", "FROM"],
        &rows,
        &[],
        Style::stdout(),
    ));
    Ok(ExitCode::SUCCESS)
}

/// `kyozo env set SERVICE NAME=VALUE... [--no-deploy]`: a `NAME` without `=` reads its
/// value from standard input (one line), so a secret stays out of the shell's history.
pub(crate) async fn set(
    g: &Global,
    name: &str,
    pairs: &[String],
    deploy: bool,
    plan: &PlanArgs,
) -> anyhow::Result<ExitCode> {
    let mut values = BTreeMap::new();
    for pair in pairs {
        let (key, value) = match pair.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (pair.clone(), read_value(pair)?),
        };
        kyozo::model::validate_env_name(&key).map_err(|_| {
            anyhow::anyhow!(
                "{:?} is not an env var name (letters, digits and _, not starting with a digit)",
                kyozo::text::terminal_safe(&key)
            )
        })?;
        values.insert(key, SecretValue::from(value));
    }
    let mut local = Local::open(g, &g.dir, true).await?;
    let service = service_or_planned(&mut local, name, plan).await?;
    let keys: Vec<String> = values.keys().cloned().collect();
    let before = service.settings.clone();
    let changed = local
        .kyozo
        .set_env(
            local.actor,
            local.team,
            service.id,
            values,
            SettingOrigin::Command,
        )
        .await
        .with_context(|| local.trying("set the env of", name))?;
    if changed.settings == before {
        print(&format!(
            "{}: {} already set so; nothing changed.\n",
            safe(name),
            keys.join(", ")
        ));
        return Ok(ExitCode::SUCCESS);
    }
    print(&format!("{}: set {}\n", safe(name), keys.join(", ")));
    apply(&local, &changed, deploy).await
}

/// `kyozo env unset SERVICE NAME... [--no-deploy]`.
pub(crate) async fn unset(
    g: &Global,
    name: &str,
    keys: &[String],
    deploy: bool,
) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let service = local.service(name)?;
    let changed = local
        .kyozo
        .unset_env(local.actor, local.team, service.id, keys)
        .await
        .with_context(|| local.trying("unset the env of", name))?;
    print(&format!("{}: unset {}\n", safe(name), keys.join(", ")));
    apply(&local, &changed, deploy).await
}

/// After a change of settings: a running service is redeployed (a rolling update)
/// unless `deploy` is false; any other takes them at its next `kyozo up`.
async fn apply(local: &Local, service: &ServiceInstance, deploy: bool) -> anyhow::Result<ExitCode> {
    let running = service.status == kyozo::model::ServiceStatus::Running;
    if !deploy || !running {
        print(&format!(
            "It runs with {} at its next deployment (`kyozo up`).\n",
            if deploy { "them" } else { "the change" }
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let report = local
        .kyozo
        .deploy(local.actor, local.team, service.id)
        .await
        .with_context(|| {
            format!(
                "{}: the settings are saved, but the deployment that applies them failed (`kyozo logs {}`; `kyozo up` tries again)",
                safe(&service.name),
                safe(&service.name)
            )
        })?;
    let how = match report.strategy {
        kyozo::runtime::UpdateStrategy::Rolling => "a rolling update",
        kyozo::runtime::UpdateStrategy::Recreate => "stopped, then started again",
        _ => "started",
    };
    print(&format!(
        "{}: redeployed ({how}) in {:.1} s\n",
        safe(&service.name),
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}

/// The folder's service `name`; one `up` has not deployed yet is made from the plan
/// (not deployed: `up` does that), so it can be given settings first.
async fn service_or_planned(
    local: &mut Local,
    name: &str,
    args: &PlanArgs,
) -> anyhow::Result<ServiceInstance> {
    if let Ok(s) = local.service(name) {
        return Ok(s);
    }
    let planner = args.planner(&local.workspace.defaults)?;
    let (topology, _) = local
        .kyozo
        .analyze(local.actor, &local.workspace, &local.root)?;
    let plan = planner.plan(&topology);
    let Some(planned) = plan.services.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = plan
            .services
            .iter()
            .map(|s| s.name.as_str())
            .chain(plan.backing.iter().map(|b| b.name.as_str()))
            .collect();
        anyhow::bail!(
            "no service {:?} in {}; its plan has: {}",
            kyozo::text::terminal_safe(name),
            show::safe_path(&local.root),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    Ok(local
        .kyozo
        .apply(local.actor, local.team, local.workspace.id, planned)
        .await?)
}

/// One line of standard input: the value of `key` (a prompt on a terminal, not
/// echoed back by Kyozo: the terminal's own echo still shows it as typed).
fn read_value(key: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{} (one line): ", safe(key));
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("cannot read the value of {} from standard input", safe(key)))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Gives `service` the settings of `files` that are its (later files win), each
/// recorded with the file it came from; values as they were are left (no change).
pub(crate) async fn apply_env_files(
    local: &Local,
    service: &ServiceInstance,
    files: &EnvFiles,
) -> anyhow::Result<ServiceInstance> {
    let mut wanted: BTreeMap<String, (SecretValue, String)> = BTreeMap::new();
    for (only, values, path) in files {
        if only.as_deref().is_some_and(|o| o != service.name) {
            continue;
        }
        for (k, v) in values {
            wanted.insert(k.clone(), (v.clone(), path.clone()));
        }
    }
    let mut by_file: BTreeMap<String, BTreeMap<String, SecretValue>> = BTreeMap::new();
    for (k, (v, path)) in wanted {
        by_file.entry(path).or_default().insert(k, v);
    }
    let mut now = service.clone();
    for (path, values) in by_file {
        now = local
            .kyozo
            .set_env(
                local.actor,
                local.team,
                service.id,
                values,
                SettingOrigin::EnvFile { path },
            )
            .await
            .with_context(|| local.trying("set the env of", &service.name))?;
    }
    Ok(now)
}

/// The settings `up --env-file [SERVICE=]FILE` gives: per service name (`None`: every
/// service the folder plans), the file's values and its path.
pub(crate) type EnvFiles = Vec<(Option<String>, BTreeMap<String, SecretValue>, String)>;

/// Reads every `--env-file` of `up`: `FILE` for every service, `SERVICE=FILE` for one.
/// An unreadable or malformed file is an error naming it (and the line), before
/// anything is built.
pub(crate) fn read_env_files(args: &[String], services: &[&str]) -> anyhow::Result<EnvFiles> {
    let mut out = Vec::new();
    for arg in args {
        let (service, file) = match arg.split_once('=') {
            Some((s, f)) if services.contains(&s) => (Some(s.to_string()), f),
            _ => (None, arg.as_str()),
        };
        let text = std::fs::read_to_string(Path::new(file))
            .with_context(|| format!("cannot read the env file {}", safe(file)))?;
        let values = kyozo::model::parse_env_file(&text)
            .map_err(|e| anyhow::anyhow!("the env file {}: {e}", safe(file)))?;
        out.push((service, values, file.to_string()));
    }
    Ok(out)
}
