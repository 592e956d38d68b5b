//! The commands that look after what `kyozo up` started: `ps`, `logs`, `scale`,
//! `start`/`stop`/`restart`, `rollback`, `down`, `events`, `top`, `health`, `members`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::StreamExt as _;
use kyozo::auth::Actor;
use kyozo::model::{
    DeploymentEvent, EventPayload, HealthStatus, ServiceInstance, ServiceKind, ServiceStatus,
};
use serde_json::{Value, json};

use crate::Global;
use crate::local::Local;
use crate::render::print;
use crate::show::{self, Style, safe, safe_path, safe_text};

/// `kyozo ps`.
pub(crate) async fn ps(g: &Global, as_json: bool) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let mut entries = Vec::new();
    for s in local.services()? {
        let containers = local
            .kyozo
            .containers(local.actor, local.team, s.id)
            .await?;
        let health = if s.status == ServiceStatus::Running {
            health_of(&local, &s).await?.map(|h| h.status)
        } else {
            None
        };
        let published = local.published(&s, &containers).await?;
        entries.push((s, containers, health, published));
    }
    if as_json {
        let services: Vec<Value> = entries
            .iter()
            .map(|(s, containers, health, published)| {
                let current: Vec<_> = containers
                    .iter()
                    .filter(|c| s.container_ids.contains(&c.id))
                    .collect();
                let job = s.config.kind == ServiceKind::Job;
                json!({
                    "name": s.name,
                    "id": s.id,
                    "kind": s.config.kind.as_str(),
                    "status": if job {
                        show::job_status(s, containers)
                    } else {
                        s.status.to_string()
                    },
                    "exit_code": if job { show::job_state(containers) } else { None },
                    "health": health.map(health_word),
                    "image": s.image,
                    "replicas": {
                        "wanted": s.replicas.max(1),
                        "running": current.iter().filter(|c| c.running).count(),
                    },
                    "ports": published.iter().map(|(c, h, ip)| json!({
                        "container": c,
                        "host": h,
                        "host_ip": ip,
                    })).collect::<Vec<_>>(),
                    "containers": containers.iter().map(|c| json!({
                        "id": c.id,
                        "name": c.name,
                        "running": c.running,
                        "status": c.status,
                        "restarts": c.restart_count,
                    })).collect::<Vec<_>>(),
                    "deployed_at": s.deployed_at.map(|t| t.to_string()),
                })
            })
            .collect();
        print(&show::json_text(&json!({
            "folder": local.root,
            "state": local.state,
            "options": local.workspace.defaults,
            "services": services,
        }))?);
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    if entries.is_empty() {
        print("No services: `kyozo up` runs the folder's.\n");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|(s, containers, health, ports)| {
            let running = containers
                .iter()
                .filter(|c| c.running && s.container_ids.contains(&c.id))
                .count();
            // A job: its kind and how it ended, instead of replicas that should run.
            let job = s.config.kind == ServiceKind::Job;
            vec![
                s.name.clone(),
                if job {
                    format!("job {}", show::job_status(s, containers))
                } else {
                    s.status.to_string()
                },
                health.map_or("-", health_word).to_string(),
                if job {
                    show::job_state(containers)
                        .map_or_else(|| "running".to_string(), |c| format!("exited {c}"))
                } else {
                    format!("{running}/{}", s.replicas.max(1))
                },
                if ports.is_empty() {
                    "-".into()
                } else {
                    ports
                        .iter()
                        .map(|(c, h, ip)| format!("{ip}:{h}->{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                s.image.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print(&show::table(
        &["SERVICE", "STATUS", "HEALTH", "REPLICAS", "PORTS", "IMAGE"],
        &rows,
        &[1, 2],
        style,
    ));
    // What `up` uses again when it is not told otherwise.
    let with = crate::render::flags(&local.workspace.defaults);
    if !with.is_empty() {
        print(&format!("\nDeployed with: {with}\n"));
    }
    Ok(ExitCode::SUCCESS)
}

/// A service's health for `ps` and `health`: checked now when the actor may operate
/// the service (a check may run a command in its containers), else the last one
/// recorded (a viewer runs nothing in anyone's containers).
async fn health_of(
    local: &Local,
    s: &ServiceInstance,
) -> anyhow::Result<Option<kyozo::model::HealthCheck>> {
    let operate = local.kyozo.authorize(
        local.actor,
        kyozo::auth::policy::Operation::Restart,
        kyozo::auth::policy::Target::service(local.team, s.id),
    );
    if operate.is_ok() {
        return Ok(local
            .kyozo
            .check_health(local.actor, local.team, s.id)
            .await?);
    }
    Ok(local
        .kyozo
        .health(local.actor, local.team, s.id, 1)?
        .into_iter()
        .next())
}

/// A health status as a word.
pub(crate) fn health_word(h: HealthStatus) -> &'static str {
    match h {
        HealthStatus::Healthy => "healthy",
        HealthStatus::Unhealthy => "unhealthy",
        _ => "unknown",
    }
}

/// A stretch of time (`30s`, `10m`, `2h`, `1d`), in seconds.
pub(crate) fn stretch(text: &str) -> Option<i64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n = n.parse::<i64>().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(n.saturating_mul(unit))
}

/// `--since`: a stretch back from now (`30s`, `10m`, `2h`, `1d`) or a time.
fn since(text: &str) -> anyhow::Result<i64> {
    let now = kyozo::model::Timestamp::now().as_millis() / 1000;
    if let Some(seconds) = stretch(text) {
        return Ok(now.saturating_sub(seconds));
    }
    let at: kyozo::model::Timestamp = text.parse().map_err(|_| {
        anyhow::anyhow!(
            "--since takes a stretch back from now (30s, 10m, 2h, 1d) or a time (2026-11-27T10:00:00Z), not {text:?}"
        )
    })?;
    Ok(at.as_millis() / 1000)
}

/// `kyozo logs`.
pub(crate) async fn logs(
    g: &Global,
    name: &str,
    follow: bool,
    since_text: Option<&str>,
    tail: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let mut options = kyozo::backend::LogOptions::default();
    options.follow = follow;
    options.tail = tail;
    options.since = since_text.map(since).transpose()?;
    let mut local = Local::open(g, &g.dir, false).await?;
    let service = local.service(name)?;
    let mut lines = local
        .kyozo
        .logs(local.actor, local.team, service.id, options)
        .await?;
    // The lines come from the engine: the state file is free for other commands.
    local.close()?;
    let style = Style::stdout();
    let mut out = std::io::stdout().lock();
    while let Some((container, line)) = lines.next().await {
        let line = line.with_context(|| format!("reading the logs of {container}"))?;
        let who = container.strip_prefix("kyozo-").unwrap_or(&container);
        if std::io::Write::write_all(
            &mut out,
            format!(
                "{} {}\n",
                style.dim(&format!("{} |", safe(who))),
                log_line(&line.text)
            )
            .as_bytes(),
        )
        .is_err()
        {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A container's line of output, for a terminal: a `\r\n` line ending is a line
/// ending, tabs are kept, every other control character (ANSI escapes, OSC 52, a `\r`
/// that would overwrite the `SERVICE |` prefix, a `\n` inside the line) is shown
/// escaped.
fn log_line(text: &str) -> String {
    let text = text.strip_suffix('\r').unwrap_or(text);
    safe_text(text).replace('\n', "\\n")
}

/// `kyozo scale`.
pub(crate) async fn scale(g: &Global, name: &str, replicas: u32) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let service = local.service(name)?;
    local
        .kyozo
        .scale(local.actor, local.team, service.id, replicas)
        .await
        .with_context(|| local.trying("scale", name))?;
    print(&format!(
        "{}: {replicas} replica{} running\n",
        safe(name),
        if replicas == 1 { "" } else { "s" }
    ));
    Ok(ExitCode::SUCCESS)
}

/// What `start`, `stop` and `restart` do.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Act {
    Start,
    Stop(Duration),
    Restart,
}

/// `kyozo start|stop|restart`.
pub(crate) async fn lifecycle(g: &Global, name: &str, act: Act) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let service = local.service(name)?;
    let (k, actor, team) = (&local.kyozo, local.actor, local.team);
    let done = match act {
        Act::Start => k.start(actor, team, service.id).await.map(|()| "started"),
        Act::Stop(grace) => k
            .stop(actor, team, service.id, grace)
            .await
            .map(|()| "stopped"),
        Act::Restart => k
            .restart(actor, team, service.id)
            .await
            .map(|()| "restarted"),
    }
    .with_context(|| {
        let verb = match act {
            Act::Start => "start",
            Act::Stop(_) => "stop",
            Act::Restart => "restart",
        };
        local.trying(verb, name)
    })?;
    print(&format!("{}: {done}\n", safe(name)));
    Ok(ExitCode::SUCCESS)
}

/// `kyozo rollback`.
pub(crate) async fn rollback(g: &Global, name: &str, to: Option<&str>) -> anyhow::Result<ExitCode> {
    let to = to
        .map(|t| {
            t.parse::<kyozo::model::DeploymentId>().map_err(|e| {
                anyhow::anyhow!("--to takes a deployment id (kyozo events shows them): {e}")
            })
        })
        .transpose()?;
    let local = Local::open(g, &g.dir, false).await?;
    let service = local.service(name)?;
    let report = local
        .kyozo
        .rollback(local.actor, local.team, service.id, to)
        .await
        .with_context(|| local.trying("roll back", name))?;
    print(&format!(
        "{}: rolled back to {} (deployment {})\n",
        safe(name),
        safe(&report.image),
        report.deployment
    ));
    Ok(ExitCode::SUCCESS)
}

/// `kyozo down`.
pub(crate) async fn down(g: &Global, volumes: bool) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let services = local.services()?;
    // Volumes that an earlier `down` left (without --volumes) go now.
    let mut leftover = Vec::new();
    if volumes {
        for s in local.all_services()? {
            if s.status == ServiceStatus::Removed
                && !s.config.volumes.is_empty()
                && !services.iter().any(|live| live.name == s.name)
            {
                local
                    .kyozo
                    .remove_volumes(local.actor, local.team, s.id)
                    .await
                    .with_context(|| local.trying("remove the volumes of", &s.name))?;
                leftover.push(s.name.clone());
            }
        }
    }
    for name in &leftover {
        print(&format!("{}: its volumes removed\n", safe(name)));
    }
    if services.is_empty() && leftover.is_empty() {
        print("Nothing to remove.\n");
    }
    // The reverse of the start order: dependents before what they depend on.
    for s in services.iter().rev() {
        local
            .kyozo
            .remove_service(local.actor, local.team, s.id)
            .await
            .with_context(|| local.trying("remove", &s.name))?;
        let mut what = String::from("removed");
        if volumes && !s.config.volumes.is_empty() {
            local
                .kyozo
                .remove_volumes(local.actor, local.team, s.id)
                .await
                .with_context(|| local.trying("remove the volumes of", &s.name))?;
            let names: Vec<&str> = s.config.volumes.iter().map(|v| v.name.as_str()).collect();
            let _ = write!(what, ", with its volume {}", safe(&names.join(", ")));
        } else if !s.config.volumes.is_empty() {
            let _ = write!(
                what,
                " (its data stays in its volume: --volumes removes it)"
            );
        }
        print(&format!("{}: {what}\n", safe(&s.name)));
    }
    Ok(ExitCode::SUCCESS)
}

/// Who an actor is, for people.
fn actor_name(actor: Actor, members: &BTreeMap<String, String>) -> String {
    match actor {
        Actor::System => "system".into(),
        Actor::Member { member, .. } => members
            .get(&member.to_string())
            .cloned()
            .unwrap_or_else(|| member.to_string()),
    }
}

/// What an event says, beyond its kind.
fn event_detail(e: &DeploymentEvent) -> String {
    let mut parts = Vec::new();
    // The id `kyozo rollback --to` takes.
    if e.kind == kyozo::model::EventKind::DeploymentCompleted
        && let Some(d) = e.deployment
    {
        parts.push(format!("deployment {d}"));
    }
    match &e.payload {
        EventPayload::Deployment {
            image: Some(image), ..
        } => parts.push(image.clone()),
        EventPayload::ImageBuilt { image, .. } => parts.push(image.clone()),
        EventPayload::Scaled { from, to } => parts.push(format!("{from} -> {to}")),
        EventPayload::RolledBack { image, .. } => parts.push(format!("to {image}")),
        EventPayload::Config { changed } => parts.push(changed.join(", ")),
        EventPayload::Health { target, .. } => parts.push(target.clone()),
        EventPayload::Exited {
            exit_code: Some(c), ..
        } => parts.push(format!("exit {c}")),
        EventPayload::CleanedUp { containers, images } => parts.push(format!(
            "{} containers, {} images",
            containers.len(),
            images.len()
        )),
        _ => {}
    }
    if let Some(err) = &e.error {
        let step = err
            .details
            .get("step")
            .map_or(String::new(), |s| format!("at {s}: "));
        parts.push(format!(
            "{step}{}",
            err.message.lines().next().unwrap_or_default()
        ));
    }
    if let Some(d) = e.duration {
        parts.push(format!("{:.1} s", d.as_secs_f64()));
    }
    parts.join("; ")
}

/// The services whose events to show: every one of the folder's (removed ones too:
/// their history stays), or the one named.
fn event_services(local: &Local, only: Option<&str>) -> anyhow::Result<Vec<ServiceInstance>> {
    let all = local
        .kyozo
        .services(local.actor, local.team, Some(local.workspace.id))?;
    match only {
        None => Ok(all),
        Some(name) => {
            let of_name: Vec<ServiceInstance> =
                all.into_iter().filter(|s| s.name == name).collect();
            if of_name.is_empty() {
                // The same error as every other command's.
                local.service(name)?;
            }
            Ok(of_name)
        }
    }
}

/// One event as a line of `kyozo events`.
fn event_line(
    e: &DeploymentEvent,
    names: &BTreeMap<kyozo::model::ServiceId, String>,
    members: &BTreeMap<String, String>,
    as_json: bool,
    style: Style,
) -> anyhow::Result<String> {
    let service = names.get(&e.service).cloned().unwrap_or_default();
    if as_json {
        let mut v = serde_json::to_value(e)?;
        if let Value::Object(map) = &mut v {
            map.insert("service_name".into(), json!(service));
        }
        let mut s = serde_json::to_string(&v)?;
        s.push('\n');
        return Ok(s);
    }
    let kind = e.kind.to_string();
    let painted = match kind.as_str() {
        k if k.ends_with("failed") || k == "crashed" || k == "oom" => style.red(k),
        "deployment_completed" | "health_passed" => style.green(&kind),
        _ => kind.clone(),
    };
    let pad = 22usize.saturating_sub(kind.len());
    let line = format!(
        "{}  {:<12} {:>4}  {painted}{}  {}  {}",
        style.dim(&e.at.to_string()),
        safe(&service),
        format!("#{}", e.seq),
        " ".repeat(pad),
        safe(&actor_name(e.actor, members)),
        safe(&event_detail(e))
    );
    Ok(format!("{}\n", line.trim_end()))
}

/// `kyozo events`.
pub(crate) async fn events(
    g: &Global,
    only: Option<&str>,
    follow: bool,
    tail: Option<usize>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let mut local = Local::open(g, &g.dir, false).await?;
    let style = Style::stdout();
    let members: BTreeMap<String, String> = local
        .kyozo
        .members(local.actor, local.team)?
        .into_iter()
        .map(|m| (m.id.to_string(), m.user))
        .collect();
    let mut seen: BTreeMap<kyozo::model::ServiceId, u64> = BTreeMap::new();
    let mut first = true;
    loop {
        let services = event_services(&local, only)?;
        let names: BTreeMap<_, _> = services.iter().map(|s| (s.id, s.name.clone())).collect();
        let mut batch: Vec<DeploymentEvent> = Vec::new();
        for s in &services {
            let after = seen.get(&s.id).copied().unwrap_or(0);
            let new = match local
                .kyozo
                .events_after(local.actor, local.team, s.id, after)
            {
                Ok(new) => new,
                // A service whose events the member may not read is left out.
                Err(kyozo::Error::Auth(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if let Some(last) = new.last() {
                seen.insert(s.id, last.seq);
            }
            batch.extend(new);
        }
        batch.sort_by_key(|e| (e.at, e.service, e.seq));
        if first {
            if let Some(n) = tail {
                batch.drain(..batch.len().saturating_sub(n));
            }
            first = false;
        }
        let mut text = String::new();
        for e in &batch {
            text.push_str(&event_line(e, &names, &members, as_json, style)?);
        }
        print(&text);
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        // Hold the state file only while reading.
        local.close()?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        local.reopen().await?;
    }
}

/// Resource use of a service's running containers, summed.
#[derive(Debug, Default, Clone, Copy)]
struct Use {
    replicas: usize,
    cpu: f64,
    memory: u64,
    rx: u64,
    tx: u64,
}

/// `kyozo top`.
pub(crate) async fn top(
    g: &Global,
    once: bool,
    every: Duration,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let mut local = Local::open(g, &g.dir, false).await?;
    let refresh = !once && !as_json && std::io::stdout().is_terminal();
    let style = Style::stdout();
    loop {
        let mut rows: Vec<(String, Use)> = Vec::new();
        for s in local.services()? {
            let stats = local.kyozo.stats(local.actor, local.team, s.id).await?;
            let mut u = Use {
                replicas: stats.len(),
                ..Use::default()
            };
            for st in stats.values() {
                u.cpu += st.cpu_percent;
                u.memory += st.memory_bytes;
                u.rx += st.network_rx_bytes;
                u.tx += st.network_tx_bytes;
            }
            rows.push((s.name.clone(), u));
        }
        if as_json {
            let services: Vec<Value> = rows
                .iter()
                .map(|(name, u)| {
                    json!({
                        "name": name,
                        "replicas": u.replicas,
                        "cpu_percent": (u.cpu * 10.0).round() / 10.0,
                        "memory_bytes": u.memory,
                        "network_rx_bytes": u.rx,
                        "network_tx_bytes": u.tx,
                    })
                })
                .collect();
            print(&show::json_text(&json!({ "services": services }))?);
            return Ok(ExitCode::SUCCESS);
        }
        let table = show::table(
            &["SERVICE", "REPLICAS", "CPU %", "MEMORY", "NET RX", "NET TX"],
            &rows
                .iter()
                .map(|(name, u)| {
                    vec![
                        name.clone(),
                        u.replicas.to_string(),
                        format!("{:.1}", u.cpu),
                        show::bytes(u.memory),
                        show::bytes(u.rx),
                        show::bytes(u.tx),
                    ]
                })
                .collect::<Vec<_>>(),
            &[],
            style,
        );
        if !refresh {
            print(&table);
            return Ok(ExitCode::SUCCESS);
        }
        print(&format!(
            "\x1b[2J\x1b[H{}  {}\n\n{table}",
            style.bold(&format!("kyozo top: {}", safe_path(&local.root))),
            style.dim(&format!("every {} s, Ctrl-C to stop", every.as_secs()))
        ));
        local.close()?;
        tokio::time::sleep(every).await;
        local.reopen().await?;
    }
}

/// `kyozo health`.
pub(crate) async fn health(
    g: &Global,
    only: Option<&str>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let services = match only {
        Some(name) => vec![local.service(name)?],
        None => local.services()?,
    };
    let mut results = Vec::new();
    for s in services {
        // A service that does not run has no health to check (`ps` says why).
        let check = if s.status == ServiceStatus::Running {
            health_of(&local, &s).await?
        } else {
            None
        };
        results.push((s, check));
    }
    let unhealthy = results.iter().any(|(_, c)| {
        c.as_ref()
            .is_some_and(|c| c.status == HealthStatus::Unhealthy)
    });
    if as_json {
        let services: Vec<Value> = results
            .iter()
            .map(|(s, c)| match c {
                Some(c) => json!({
                    "name": s.name,
                    "status": health_word(c.status),
                    "check": c.kind,
                    "target": c.target,
                    "response_ms": c.response_time.map(|d| d.as_millis()),
                    "error": c.error,
                    "at": c.at.to_string(),
                }),
                None => json!({
                    "name": s.name,
                    "status": Value::Null,
                    "check": Value::Null,
                }),
            })
            .collect();
        print(&show::json_text(&json!({ "services": services }))?);
    } else {
        let style = Style::stdout();
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(s, c)| match c {
                Some(c) => vec![
                    s.name.clone(),
                    health_word(c.status).to_string(),
                    c.target.clone(),
                    c.response_time
                        .map_or("-".into(), |d| format!("{} ms", d.as_millis())),
                    c.error.clone().unwrap_or_default(),
                ],
                None => vec![
                    s.name.clone(),
                    "-".into(),
                    if s.status == ServiceStatus::Running {
                        "(no health check)".into()
                    } else {
                        format!("({})", s.status)
                    },
                    "-".into(),
                    String::new(),
                ],
            })
            .collect();
        print(&show::table(
            &["SERVICE", "HEALTH", "CHECK", "TIME", "ERROR"],
            &rows,
            &[1],
            style,
        ));
    }
    Ok(if unhealthy {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `kyozo members`.
pub(crate) async fn members(g: &Global, as_json: bool) -> anyhow::Result<ExitCode> {
    let local = Local::open(g, &g.dir, false).await?;
    let members = local.kyozo.members(local.actor, local.team)?;
    if as_json {
        let list: Vec<Value> = members
            .iter()
            .map(|m| json!({ "user": m.user, "role": m.role.to_string(), "id": m.id }))
            .collect();
        print(&show::json_text(&json!({ "members": list }))?);
    } else {
        let rows: Vec<Vec<String>> = members
            .iter()
            .map(|m| vec![m.user.clone(), m.role.to_string()])
            .collect();
        print(&show::table(
            &["MEMBER", "ROLE"],
            &rows,
            &[],
            Style::stdout(),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `kyozo members add`.
pub(crate) async fn add_member(g: &Global, user: &str, role: &str) -> anyhow::Result<ExitCode> {
    let role: kyozo::model::Role = role
        .parse()
        .map_err(|_| anyhow::anyhow!("--role is owner, admin, member or viewer, not {role:?}"))?;
    let local = Local::open(g, &g.dir, false).await?;
    let m = local
        .kyozo
        .add_member(local.actor, local.team, user, role)
        .with_context(|| local.trying("add a member to", "the local team"))?;
    print(&format!("{} joined the local team as {}\n", m.user, m.role));
    Ok(ExitCode::SUCCESS)
}
