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
use crate::show::{self, Style, safe, safe_path, safe_text};
use crate::{Global, PlanArgs, render};

/// How many lines of a failure's log tail are shown.
const TAIL: usize = 15;

/// The confidence below which `up` refuses to build a service unless told otherwise
/// (`--min-confidence`).
pub(crate) const MIN_CONFIDENCE: f64 = 0.5;

/// What `up` is given besides the folder.
pub(crate) struct Given<'a> {
    /// How to plan.
    pub(crate) plan: &'a PlanArgs,
    /// `--env-file` entries.
    pub(crate) env_files: &'a [String],
    /// `--min-confidence`.
    pub(crate) min_confidence: f64,
}

pub(crate) async fn up(
    g: &Global,
    dir: &Path,
    given: &Given<'_>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let (args, env_files) = (given.plan, given.env_files);
    // What the folder was last deployed with, under what this call says.
    let options = args.over(&crate::local::remembered(g, dir).await?)?;
    let planner = crate::planner_of(&options);
    let out = Style::stdout();
    if dry_run {
        let topology = kyozo::Kyozo::builder().build()?.engine().analyze(dir)?;
        let plan = planner.plan(&topology);
        let mut text = found(&topology, out);
        text.push_str(&render::options(&options));
        text.push_str(&render::plan_services(&plan, &planner)?);
        text.push_str("\n--dry-run: nothing was built or started.\n");
        render::print(&text);
        render::print_warnings(&topology);
        print_recommendations(&plan);
        return Ok(ExitCode::SUCCESS);
    }

    // The edge proxy's image, when `--image caddy=IMAGE` names one.
    let edge_image = options.images.get("caddy").map(String::as_str);
    // A folder with nothing to run gets no state: `.kyozo/` is made only to deploy.
    let (root, state) = crate::local::state_path(g, dir)?;
    if std::fs::symlink_metadata(&state).is_err() {
        let topology = kyozo::Kyozo::builder().build()?.engine().analyze(&root)?;
        let plan = planner.plan(&topology);
        if plan.services.is_empty() && plan.backing.is_empty() {
            render::print(&found(&topology, out));
            return Ok(nothing_to_run(&root, &plan));
        }
    }
    let local = Local::open_with_edge(g, dir, true, crate::local::edge_proxy(edge_image)).await?;
    // Remembered for the next `up` (and shown by `ps` and `plan`).
    local.kyozo.set_workspace_defaults(
        local.actor,
        local.team,
        local.workspace.id,
        options.clone(),
    )?;
    // What another state left running from this folder would run twice.
    local.refuse_foreign_containers().await?;
    let (kyozo, actor, team) = (&local.kyozo, local.actor, local.team);
    let (topology, _) = kyozo.analyze(actor, &local.workspace, &local.root)?;
    let plan = planner.plan(&topology);
    render::print(&found(&topology, out));
    if plan.services.is_empty() && plan.backing.is_empty() {
        return Ok(nothing_to_run(&local.root, &plan));
    }
    render::print_warnings(&topology);
    print_recommendations(&plan);
    // A service the analysis is unsure of is not built unless asked.
    let unsure: Vec<&kyozo::topology::TopologyService> = topology
        .services
        .iter()
        .filter(|t| t.confidence < given.min_confidence)
        .filter(|t| plan.services.iter().any(|s| s.name == t.name))
        .collect();
    if !unsure.is_empty() {
        let style = Style::stderr();
        for t in &unsure {
            eprintln!(
                "{} {} was recognised with low confidence ({:.2}, below {:.2}): `kyozo analyze` says why and what it could not read",
                style.red("kyozo:"),
                safe(&t.name),
                t.confidence,
                given.min_confidence
            );
        }
        let lowest = unsure.iter().map(|t| t.confidence).fold(1.0_f64, f64::min);
        eprintln!(
            "{} fix what the analysis warns about, or build it anyway: `kyozo up --min-confidence {:.2}`",
            style.yellow("hint:"),
            (lowest * 100.0).floor() / 100.0
        );
        eprintln!("Nothing was built or started.");
        return Ok(ExitCode::FAILURE);
    }
    // A host port something else holds fails here, before anything is built.
    let taken = taken_ports(&local, &plan).await?;
    if !taken.is_empty() {
        let style = Style::stderr();
        for (service, port, free) in &taken {
            eprintln!(
                "{} port {port} of {} is taken on this machine (by another program)",
                style.red("kyozo:"),
                safe(service)
            );
            if let Some(free) = free {
                eprintln!(
                    "{} choose another: `kyozo up --port {}={free}` ({free} is free now; `up` remembers it)",
                    style.yellow("hint:"),
                    safe(service)
                );
            }
        }
        eprintln!("Nothing was built or started.");
        return Ok(ExitCode::FAILURE);
    }
    // Every env file is read before anything is built: a bad one fails here.
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    let env_files = crate::env::read_env_files(env_files, &names)?;

    // Backing services first (they have no dependencies), then the plan's start order.
    let wanted: Vec<&str> = plan
        .backing
        .iter()
        .map(|b| b.name.as_str())
        .chain(plan.services.iter().map(|s| s.name.as_str()))
        .collect();
    // Services deployed from this folder before that it no longer has: said, left.
    for gone in local
        .services()?
        .iter()
        .filter(|s| !wanted.contains(&s.name.as_str()))
    {
        eprintln!(
            "{} {} is no longer in the folder; it is left as it is ({}): `kyozo down` removes everything",
            Style::stderr().yellow("note:"),
            safe(&gone.name),
            gone.status
        );
    }
    let mut deployed: Vec<(ServiceInstance, &'static str)> = Vec::new();
    let reporter = Reporter::new();
    let ws = local.workspace.id;
    let steps = plan
        .backing
        .iter()
        .map(Step::Backing)
        .chain(plan.services.iter().map(Step::Service));
    for step in steps {
        // The base images it needs, for a failure to name.
        let bases = match &step {
            Step::Service(s) => BaseImages::Planned {
                users: matches!(s.source, kyozo::plan::ImageSource::Existing { .. }),
                images: planner.base_images(&local.root, s),
            },
            Step::Backing(b) => BaseImages::Backing(b.image.clone()),
        };
        // What the plan says, made the runtime's service (created or updated): what
        // `kyozo plan` prints is what runs.
        let service = match step {
            Step::Backing(b) => kyozo.apply_backing(actor, team, ws, b).await?,
            Step::Service(s) => {
                let applied = kyozo.apply(actor, team, ws, s).await?;
                crate::env::apply_env_files(&local, &applied, &env_files).await?
            }
        };
        if kyozo.is_current(actor, team, service.id).await? {
            reporter.line(
                &service.name,
                &Style::stderr().dim("unchanged, left running"),
            );
            deployed.push((service, "unchanged"));
            continue;
        }
        let mut bar = reporter.start(&service.name);
        let mut failed_logs: Vec<(usize, Vec<String>)> = Vec::new();
        let started = Instant::now();
        let outcome = kyozo
            .deploy_with_progress(actor, team, service.id, &mut |p| match p {
                DeployProgress::Building { image } => {
                    bar.step(&format!("building {}", safe(&image)));
                }
                DeployProgress::BuildOutput(line) => bar.detail(&line),
                DeployProgress::ImageReused { image } => {
                    bar.step(&format!("image {} (built before)", safe(&image)));
                }
                DeployProgress::Starting { replicas, .. } => bar.step(&format!(
                    "starting {replicas} replica{}",
                    if replicas == 1 { "" } else { "s" }
                )),
                DeployProgress::RunningJob => bar.step("running until it ends (a job)"),
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
            Ok(report) => match &report.job {
                Some(job) => {
                    let (what, word) = match job.exit_code {
                        Some(code) => (format!("completed (exited {code})"), "completed"),
                        None => ("still running (a job: it runs on)".to_string(), "running"),
                    };
                    bar.finish(&format!(
                        "{} in {:.1} s",
                        out.green(&what),
                        started.elapsed().as_secs_f64()
                    ));
                    job_output(&job.output);
                    deployed.push((service, word));
                }
                None => {
                    bar.finish(&format!(
                        "{} in {:.1} s",
                        out.green("deployed"),
                        started.elapsed().as_secs_f64()
                    ));
                    deployed.push((service, "deployed"));
                }
            },
            Err(e) => {
                bar.finish(&out.red("failed"));
                failure(&e, &failed_logs, &local, &bases);
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    let (text, unwell) = summary(&local, &deployed, out).await?;
    render::print(&text);
    if unwell.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // Deployed, but not well when `up` ends (a container that died, a health check that
    // fails, an engine that went away): `up` did not bring the folder up.
    let style = Style::stderr();
    eprintln!(
        "{} {} of {} service{} not running as wanted at the end of `up`: {}",
        style.red("kyozo:"),
        unwell.len(),
        deployed.len(),
        if deployed.len() == 1 { " is" } else { "s are" },
        unwell.join("; ")
    );
    eprintln!(
        "`kyozo ps` shows their state, `kyozo logs SERVICE` what they said, `kyozo up` tries again."
    );
    Ok(ExitCode::FAILURE)
}

/// The host ports `plan` publishes that something other than this folder's own
/// services holds on this machine: (service, port, a free port to suggest).
async fn taken_ports(
    local: &Local,
    plan: &kyozo::plan::Plan,
) -> anyhow::Result<Vec<(String, u16, Option<u16>)>> {
    let existing = local.services()?;
    let mut out = Vec::new();
    let mut planned: Vec<u16> = Vec::new();
    for s in &plan.services {
        // What this folder's service of that name publishes now is its own.
        let ours: Vec<u16> = match existing.iter().find(|x| x.name == s.name) {
            Some(x) => {
                let containers = local
                    .kyozo
                    .containers(local.actor, local.team, x.id)
                    .await?;
                local
                    .published(x, &containers)
                    .await?
                    .iter()
                    .map(|(_, host, _)| *host)
                    .collect()
            }
            None => Vec::new(),
        };
        for p in &s.spec.ports {
            let Some(host) = p.host_port else { continue };
            planned.push(host);
            let ip = p
                .host_ip
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            if ours.contains(&host) || std::net::TcpListener::bind((ip, host)).is_ok() {
                continue;
            }
            let free = (host.saturating_add(1)..=u16::MAX)
                .take(200)
                .find(|p| !planned.contains(p) && std::net::TcpListener::bind((ip, *p)).is_ok());
            out.push((s.name.clone(), host, free));
        }
    }
    Ok(out)
}

/// What a job wrote last, on stderr beside its progress.
fn job_output(lines: &[String]) {
    if lines.is_empty() {
        eprintln!("  (it wrote nothing)");
        return;
    }
    for l in &lines[lines.len().saturating_sub(TAIL)..] {
        eprintln!("  | {}", safe_line(l));
    }
}

/// Says that `plan` (of `root`) runs nothing, and why.
fn nothing_to_run(root: &Path, plan: &kyozo::plan::Plan) -> ExitCode {
    eprintln!(
        "kyozo: nothing to run in {}: no service could be planned{}",
        safe_path(root),
        if plan.recommendations.is_empty() {
            ""
        } else {
            " (see the recommendations above)"
        }
    );
    print_recommendations(plan);
    ExitCode::FAILURE
}

/// One service of a plan, in the order `up` deploys them.
enum Step<'a> {
    Backing(&'a kyozo::plan::BackingPlan),
    Service(&'a kyozo::plan::ServicePlan),
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
        safe_path(&topology.root)
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
            safe(&s.name),
            safe(&format!(
                "{} ({what})",
                if s.path.is_empty() { "." } else { &s.path }
            )),
            s.confidence
        );
        for e in s.evidence.iter().take(3) {
            let _ = writeln!(
                o,
                "  {:<16} {}",
                "",
                style.dim(&safe(&format!("{}: {}", e.path, e.reason)))
            );
        }
        if !s.backing_services.is_empty() {
            let _ = writeln!(
                o,
                "  {:<16} needs {}",
                "",
                safe(&s.backing_services.join(", "))
            );
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
            .map_or(String::new(), |s| format!("{}: ", safe(s)));
        eprintln!("{} {who}{}", style.yellow("note:"), safe(&r.message));
    }
    eprintln!();
}

/// Says what failed, where, why, and what the failing container or build said last.
/// The base images of a service `up` deploys, for a failed pull to name.
enum BaseImages {
    /// A planned service: the images its Dockerfile's `FROM` lines name (with the keys
    /// of the base-image map that give them), and whether the Dockerfile is the user's.
    Planned {
        users: bool,
        images: Vec<kyozo::plan::BaseImage>,
    },
    /// A backing service's image.
    Backing(String),
}

impl BaseImages {
    /// What to do when one could not be fetched.
    fn hint(&self) -> String {
        match self {
            BaseImages::Planned { users: true, images } => format!(
                "its Dockerfile's FROM {} could not be pulled (is a registry reachable?): load the image into this engine (`docker load`), or change the FROM",
                images
                    .iter()
                    .map(|b| b.image.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            BaseImages::Planned { images, .. } if images.iter().any(|b| !b.keys.is_empty()) => {
                format!(
                    "a base image could not be fetched: name ones this engine has with {}",
                    images
                        .iter()
                        .filter_map(|b| {
                            b.keys
                                .first()
                                .map(|k| format!("--image {k}=… (now {})", b.image))
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
            BaseImages::Backing(image) => format!(
                "the image {image} could not be fetched: --image KIND=IMAGE names one this engine has (postgres=…, redis=…)"
            ),
            BaseImages::Planned { .. } => {
                "a base image could not be fetched: --image KEY=IMAGE names one this engine has (node=…, python=…, redis=…)".to_string()
            }
        }
    }
}

fn failure(e: &kyozo::Error, logs: &[(usize, Vec<String>)], local: &Local, bases: &BaseImages) {
    let style = Style::stderr();
    let mut o = String::new();
    match e {
        kyozo::Error::Deploy {
            service,
            step,
            message,
            ..
        } => {
            let mut lines = message.lines();
            let first = lines.next().unwrap_or_default();
            let _ = writeln!(
                o,
                "\n{} {} failed at the {} step: {}",
                style.red("kyozo:"),
                safe(service),
                safe(step),
                safe(first)
            );
            if first.contains("pulling it failed")
                || (*step == "build" && (first.contains("registry") || first.contains("pull")))
            {
                let _ = writeln!(o, "{} {}", style.yellow("hint:"), safe(&bases.hint()));
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
                    let _ = writeln!(o, "  | {}", safe_line(l));
                }
            }
        }
        other => {
            let _ = writeln!(
                o,
                "\n{} {}",
                style.red("kyozo:"),
                show::indented(&safe_text(&other.to_string()))
            );
        }
    }
    for (replica, lines) in logs {
        if lines.is_empty() {
            let _ = writeln!(o, "replica {replica} wrote nothing.");
            continue;
        }
        let _ = writeln!(o, "last lines of replica {replica}:");
        for l in &lines[lines.len().saturating_sub(TAIL)..] {
            let _ = writeln!(o, "  | {}", safe_line(l));
        }
    }
    // Only a failure the state took is said to be recorded.
    match e {
        kyozo::Error::Deploy { .. } => {
            let _ = writeln!(
                o,
                "The failure is recorded in {} (kyozo events); services deployed before it keep running.",
                safe_path(&local.state)
            );
        }
        kyozo::Error::NotRecorded { .. } | kyozo::Error::Store(_) => {
            let _ = writeln!(
                o,
                "The state {} could not record this outcome: `kyozo ps` may show what it knew before. Free the space (or fix the state), then run `kyozo up` again: it finds what runs and deploys what differs.",
                safe_path(&local.state)
            );
        }
        _ => {}
    }
    eprint!("{o}");
}

/// A line of a build's or a container's output: tabs kept, other control characters
/// (a `\r` that would overwrite the `|` before it) escaped.
fn safe_line(line: &str) -> String {
    safe_text(line.strip_suffix('\r').unwrap_or(line)).replace('\n', "\\n")
}

/// Where each service answers, its state and health; and the services that are not
/// well (fewer replicas running than wanted, or unhealthy), each said with why.
async fn summary(
    local: &Local,
    done: &[(ServiceInstance, &'static str)],
    style: Style,
) -> anyhow::Result<(String, Vec<String>)> {
    let mut rows = Vec::new();
    let mut unwell = Vec::new();
    let mut through_edge = false;
    let mut jobs = 0;
    for (s, what) in done {
        let containers = local
            .kyozo
            .containers(local.actor, local.team, s.id)
            .await?;
        if s.config.kind == kyozo::model::ServiceKind::Job {
            // A job answers nowhere: what matters is how it ended.
            jobs += 1;
            let ended = show::job_state(&containers);
            if let Some(code) = ended.filter(|c| *c != 0) {
                unwell.push(format!("{} (a job) exited {code}", safe(&s.name)));
            }
            rows.push(vec![
                s.name.clone(),
                (*what).to_string(),
                "job".to_string(),
                "-".to_string(),
                ended.map_or_else(|| "running".to_string(), |c| format!("exited {c}")),
            ]);
            continue;
        }
        let check = local
            .kyozo
            .check_health(local.actor, local.team, s.id)
            .await?;
        let health = check
            .as_ref()
            .map_or("-", |h| crate::ops::health_word(h.status))
            .to_string();
        let ports = local.published(s, &containers).await?;
        through_edge |= !local
            .kyozo
            .edge_routes(local.actor, local.team, s.id)
            .await?
            .is_empty();
        let at = if ports.is_empty() {
            match s.ports.first() {
                Some(p) => format!("{}:{} (on its network)", s.name, p.container_port),
                None => format!("{} (on its network)", s.name),
            }
        } else {
            ports
                .iter()
                .map(|(_, host, _)| format!("http://127.0.0.1:{host}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        // `s` is the service as it was before its deployment: its container ids are
        // the old ones; what runs now is what the engine lists for it.
        let running = containers.iter().filter(|c| c.running).count();
        let wanted = s.replicas.max(1) as usize;
        if let Some(c) = check
            .as_ref()
            .filter(|c| c.status == kyozo::model::HealthStatus::Unhealthy)
        {
            unwell.push(format!(
                "{} is unhealthy{}",
                safe(&s.name),
                c.error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" ({})", safe(e)))
            ));
        } else if running < wanted {
            unwell.push(format!(
                "{} has {running} of {wanted} replica{} running",
                safe(&s.name),
                if wanted == 1 { "" } else { "s" }
            ));
        }
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
    if through_edge && kyozo::runtime::EdgeProxy::host_migrates_connections() == Some(false) {
        let _ = writeln!(
            o,
            "\n{} net.ipv4.tcp_migrate_req is 0 on this host: a connection that reaches the edge proxy at the instant a route changes (an update, a scale, a rollback) may be reset. `sysctl -w net.ipv4.tcp_migrate_req=1` prevents it (docs/runtime.md, \"The edge proxy\").",
            style.yellow("Note:")
        );
    }
    if !unwell.is_empty() {
        return Ok((o, unwell));
    }
    let services = done.len() - jobs;
    let _ = writeln!(
        o,
        "\n{} {} service{} running{} from {}. `kyozo ps` shows them, `kyozo logs SERVICE` what they say, `kyozo down` removes them.",
        style.green("Up:"),
        services,
        if services == 1 { "" } else { "s" },
        match jobs {
            0 => String::new(),
            1 => ", 1 job run".to_string(),
            n => format!(", {n} jobs run"),
        },
        safe_path(&local.root)
    );
    Ok((o, unwell))
}

/// One step of a service, as a line on stderr (where there are no spinners).
fn step_line(style: Style, service: &str, text: &str) {
    eprintln!("{} {text}", style.bold(&format!("{:<16}", safe(service))));
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
            bar.set_prefix(safe(service).into_owned());
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
            b.set_message(format!("{}: {}", self.step, safe(&short)));
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
