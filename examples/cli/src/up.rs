//! `kyozo up`: analyse, plan, build and deploy every service in start order, wait until
//! healthy, and say where each answers.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kyozo::model::ServiceInstance;
use kyozo::runtime::DeployProgress;

use crate::local::Local;
use crate::show::{self, Style};
use crate::{Global, PlanArgs, render};

/// How many lines of a failure's log tail are shown.
const TAIL: usize = 15;

pub(crate) async fn up(
    g: &Global,
    dir: &Path,
    args: &PlanArgs,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let planner = args.planner()?;
    let out = Style::stdout();
    if dry_run {
        let topology = kyozo::Kyozo::builder().build()?.engine().analyze(dir)?;
        let plan = planner.plan(&topology);
        let mut text = found(&topology, out);
        text.push_str(&render::plan_services(&plan)?);
        text.push_str("\n--dry-run: nothing was built or started.\n");
        render::print(&text);
        print_recommendations(&plan);
        return Ok(ExitCode::SUCCESS);
    }

    let local = Local::open(g, dir, true).await?;
    let (kyozo, actor, team) = (&local.kyozo, local.actor, local.team);
    let (topology, _) = kyozo.analyze(actor, &local.workspace, &local.root)?;
    let plan = planner.plan(&topology);
    render::print(&found(&topology, out));
    if plan.services.is_empty() && plan.backing.is_empty() {
        eprintln!(
            "kyozo: nothing to run in {}: no service could be planned{}",
            local.root.display(),
            if plan.recommendations.is_empty() {
                ""
            } else {
                " (see the recommendations above)"
            }
        );
        print_recommendations(&plan);
        return Ok(ExitCode::FAILURE);
    }
    print_recommendations(&plan);

    // Backing services first (they have no dependencies), then the plan's start order.
    let wanted: Vec<ServiceInstance> = plan
        .backing
        .iter()
        .map(|b| b.service(team, local.workspace.id))
        .chain(
            plan.services
                .iter()
                .map(|s| s.service(team, local.workspace.id)),
        )
        .collect();
    // Services deployed from this folder before that it no longer has: said, left.
    let mut existing: std::collections::BTreeMap<String, ServiceInstance> = local
        .services()?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    for gone in existing
        .values()
        .filter(|s| !wanted.iter().any(|w| w.name == s.name))
    {
        eprintln!(
            "{} {} is no longer in the folder; it is left as it is ({}): `kyozo down` removes everything",
            Style::stderr().yellow("note:"),
            gone.name,
            gone.status
        );
    }
    let mut deployed: Vec<(ServiceInstance, &'static str)> = Vec::new();
    let reporter = Reporter::new();
    for want in wanted {
        let service = match existing.remove(&want.name) {
            None => kyozo.create_service(actor, want)?,
            Some(existing) => {
                let mut changed = want;
                changed.id = existing.id;
                changed.created_at = existing.created_at;
                changed.created_by = existing.created_by;
                // A service built from a folder runs the image its last deployment
                // built: that is the runtime's to say, not the plan's.
                if changed.image.is_none() {
                    changed.image = existing.image.clone();
                }
                // How many replicas run is `kyozo scale`'s to say once it runs.
                changed.replicas = existing.replicas;
                kyozo.update_service(actor, changed).await?
            }
        };
        if kyozo.is_current(actor, team, service.id).await? {
            reporter.line(&service.name, &out.dim("unchanged, left running"));
            deployed.push((service, "unchanged"));
            continue;
        }
        let mut bar = reporter.start(&service.name);
        let mut failed_logs: Vec<(usize, Vec<String>)> = Vec::new();
        let started = Instant::now();
        let outcome = kyozo
            .deploy_with_progress(actor, team, service.id, &mut |p| match p {
                DeployProgress::Building { image } => bar.step(&format!("building {image}")),
                DeployProgress::BuildOutput(line) => bar.detail(&line),
                DeployProgress::ImageReused { image } => {
                    bar.step(&format!("image {image} (built before)"));
                }
                DeployProgress::Starting { replicas, .. } => bar.step(&format!(
                    "starting {replicas} replica{}",
                    if replicas == 1 { "" } else { "s" }
                )),
                DeployProgress::WaitingReady { health_check } => bar.step(if health_check {
                    "waiting until healthy"
                } else {
                    "waiting until ready"
                }),
                DeployProgress::FailedReplica { replica, logs, .. } => {
                    failed_logs.push((replica, logs));
                }
                _ => {}
            })
            .await;
        match outcome {
            Ok(report) => {
                bar.finish(&format!(
                    "{} in {:.1} s",
                    out.green("deployed"),
                    started.elapsed().as_secs_f64()
                ));
                let _ = report;
                deployed.push((service, "deployed"));
            }
            Err(e) => {
                bar.finish(&out.red("failed"));
                failure(&e, &failed_logs, &local);
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    render::print(&summary(&local, &deployed, out).await?);
    Ok(ExitCode::SUCCESS)
}

/// What the analysis found: each service, how sure, and why.
fn found(topology: &kyozo::topology::Topology, style: Style) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} service{} in {}",
        style.bold("Found"),
        topology.services.len(),
        if topology.services.len() == 1 {
            ""
        } else {
            "s"
        },
        topology.root.display()
    );
    for s in &topology.services {
        let what = [
            Some(s.language.clone()),
            s.framework.clone(),
            s.package_manager.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let _ = writeln!(
            o,
            "  {:<16} {:<28} confidence {:.2}",
            s.name,
            format!("{} ({what})", if s.path.is_empty() { "." } else { &s.path }),
            s.confidence
        );
        for e in s.evidence.iter().take(3) {
            let _ = writeln!(
                o,
                "  {:<16} {}",
                "",
                style.dim(&format!("{}: {}", e.path, e.reason))
            );
        }
        if !s.backing_services.is_empty() {
            let _ = writeln!(o, "  {:<16} needs {}", "", s.backing_services.join(", "));
        }
    }
    o.push('\n');
    o
}

fn print_recommendations(plan: &kyozo::plan::Plan) {
    if plan.recommendations.is_empty() {
        return;
    }
    let style = Style::stderr();
    for r in &plan.recommendations {
        let who = r
            .service
            .as_deref()
            .map_or(String::new(), |s| format!("{s}: "));
        eprintln!("{} {who}{}", style.yellow("note:"), r.message);
    }
    eprintln!();
}

/// Says what failed, where, why, and what the failing container or build said last.
fn failure(e: &kyozo::Error, logs: &[(usize, Vec<String>)], local: &Local) {
    let style = Style::stderr();
    let mut o = String::new();
    match e {
        kyozo::Error::Deploy {
            service,
            step,
            message,
        } => {
            let mut lines = message.lines();
            let first = lines.next().unwrap_or_default();
            let _ = writeln!(
                o,
                "\n{} {service} failed at the {step} step: {first}",
                style.red("kyozo:")
            );
            if first.contains("pulling it failed")
                || (*step == "build" && (first.contains("registry") || first.contains("pull")))
            {
                let _ = writeln!(
                    o,
                    "{} a base image could not be fetched: --image KEY=IMAGE names one this engine has (node=…, python=…, redis=…)",
                    style.yellow("hint:")
                );
            }
            let rest: Vec<&str> = lines.collect();
            if !rest.is_empty() {
                let _ = writeln!(
                    o,
                    "{}",
                    if *step == "build" {
                        "last lines of the build:"
                    } else {
                        "more:"
                    }
                );
                for l in &rest[rest.len().saturating_sub(TAIL)..] {
                    let _ = writeln!(o, "  | {l}");
                }
            }
        }
        other => {
            let _ = writeln!(o, "\n{} {other}", style.red("kyozo:"));
        }
    }
    for (replica, lines) in logs {
        if lines.is_empty() {
            let _ = writeln!(o, "replica {replica} wrote nothing.");
            continue;
        }
        let _ = writeln!(o, "last lines of replica {replica}:");
        for l in &lines[lines.len().saturating_sub(TAIL)..] {
            let _ = writeln!(o, "  | {l}");
        }
    }
    let _ = writeln!(
        o,
        "The failure is recorded in {} (kyozo events); services deployed before it keep running.",
        local.state.display()
    );
    eprint!("{o}");
}

/// Where each service answers, its state and health.
async fn summary(
    local: &Local,
    done: &[(ServiceInstance, &'static str)],
    style: Style,
) -> anyhow::Result<String> {
    let mut rows = Vec::new();
    for (s, what) in done {
        let containers = local
            .kyozo
            .containers(local.actor, local.team, s.id)
            .await?;
        let health = local
            .kyozo
            .check_health(local.actor, local.team, s.id)
            .await?
            .map_or("-", |h| crate::ops::health_word(h.status))
            .to_string();
        let ports = show::ports(&containers);
        let at = if ports.is_empty() {
            match s.ports.first() {
                Some(p) => format!("{}:{} (on its network)", s.name, p.container_port),
                None => format!("{} (on its network)", s.name),
            }
        } else {
            ports
                .iter()
                .map(|(_, host)| format!("http://127.0.0.1:{host}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let running = containers.iter().filter(|c| c.running).count();
        rows.push(vec![
            s.name.clone(),
            (*what).to_string(),
            format!("{running}/{}", s.replicas.max(1)),
            health,
            at,
        ]);
    }
    let mut o = String::from("\n");
    o.push_str(&show::table(
        &["SERVICE", "UP", "REPLICAS", "HEALTH", "ANSWERS AT"],
        &rows,
        &[3],
        style,
    ));
    let _ = writeln!(
        o,
        "\n{} {} service{} running from {}. `kyozo ps` shows them, `kyozo logs SERVICE` what they say, `kyozo down` removes them.",
        style.green("Up:"),
        done.len(),
        if done.len() == 1 { "" } else { "s" },
        local.root.display()
    );
    Ok(o)
}

/// One step of a service, as a line on stderr (where there are no spinners).
fn step_line(style: Style, service: &str, text: &str) {
    eprintln!("{} {text}", style.bold(&format!("{service:<16}")));
}

/// Progress on stderr: spinners on a terminal, one line per step otherwise.
struct Reporter {
    terminal: bool,
    style: Style,
}

impl Reporter {
    fn new() -> Self {
        Reporter {
            terminal: std::io::stderr().is_terminal(),
            style: Style::stderr(),
        }
    }

    fn line(&self, service: &str, text: &str) {
        step_line(self.style, service, text);
    }

    fn start(&self, service: &str) -> Bar {
        let bar = if self.terminal {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let template = if self.style.bold("x") == "x" {
                "{spinner} {prefix:16} {msg} ({elapsed})"
            } else {
                "{spinner:.cyan} {prefix:16.bold} {msg} ({elapsed})"
            };
            if let Ok(s) = ProgressStyle::with_template(template) {
                bar.set_style(s);
            }
            bar.set_prefix(service.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            None
        };
        Bar {
            service: service.to_string(),
            bar,
            step: String::new(),
            style: self.style,
        }
    }
}

/// One service's progress.
struct Bar {
    service: String,
    bar: Option<ProgressBar>,
    step: String,
    style: Style,
}

impl Bar {
    fn step(&mut self, text: &str) {
        self.step = text.to_string();
        match &self.bar {
            Some(b) => b.set_message(text.to_string()),
            None => step_line(self.style, &self.service, text),
        }
    }

    /// A line of build output: shown beside the step on a terminal only.
    fn detail(&self, line: &str) {
        if let Some(b) = &self.bar {
            let short: String = line.chars().take(60).collect();
            b.set_message(format!("{}: {short}", self.step));
        }
    }

    fn finish(&self, text: &str) {
        match &self.bar {
            Some(b) => {
                b.set_style(
                    ProgressStyle::with_template("  {prefix:16} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b.finish_with_message(text.to_string());
            }
            None => step_line(self.style, &self.service, text),
        }
    }
}
