//! `kyozo`, the command-line tool: a folder to running services.
//!
//! Run with `cargo run -p kyozo-cli -- up examples/hello` (or any folder). It is a
//! thin layer over the `kyozo` library's public API: what it needs, the library
//! exposes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod env;
mod local;
mod ops;
mod plugins;
mod render;
mod show;
mod up;

/// Kyozo turns a folder into running services.
///
/// `kyozo up` finds the services in a folder or monorepo (languages, frameworks,
/// commands, ports, the databases and caches they need), plans how to build and run
/// them, and runs them as containers on the Docker Engine, each on the host port it
/// listens on. The other commands look after what `up` started: `ps`, `logs`,
/// `health`, `top`, `events` (the audit trail), `scale`, `start`, `stop`, `restart`,
/// `rollback`, `env` (a service's settings) and `down`.
///
/// State (services, deployments, the audit trail, health and metrics) lives in a redb
/// file, `.kyozo/state.redb` in the folder unless --state says otherwise. The engine is
/// the one `DOCKER_HOST` names, else `/var/run/docker.sock`. Commands act as the owner
/// of the folder's local team, or as the member `--as` names.
#[derive(Debug, Parser)]
#[command(
    name = "kyozo",
    version,
    about,
    long_about,
    max_term_width = 100,
    after_long_help = EXAMPLES
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "\
Examples:
  kyozo up                        run the current folder's services
  kyozo up ~/src/shop --dry-run   what would run, and why; nothing made
  kyozo ps --json                 state, health and ports, for scripts
  kyozo logs api -f --since 10m   follow api's output from ten minutes ago
  kyozo scale web 3               three replicas of web
  kyozo events api --tail 20      api's last twenty events
  kyozo --as vera ps              what the member vera may see
  kyozo down --volumes            remove everything, data included

More: docs/cli.md in the repository.";

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct Global {
    /// The folder whose services to act on (for `up`, `analyze` and `plan`: their PATH).
    #[arg(
        short = 'C',
        long = "dir",
        value_name = "DIR",
        global = true,
        default_value = "."
    )]
    pub(crate) dir: PathBuf,
    /// The state file [default: DIR/.kyozo/state.redb].
    #[arg(
        long,
        value_name = "FILE",
        env = "KYOZO_STATE",
        hide_env_values = true,
        global = true
    )]
    pub(crate) state: Option<PathBuf>,
    /// Act as this member of the local team (see `kyozo members`) instead of its
    /// owner: the team's policy decides what they may do.
    #[arg(long = "as", value_name = "MEMBER", global = true)]
    pub(crate) as_member: Option<String>,
}

/// How images are planned: `up` and `plan` take the same.
#[derive(Debug, Clone, Args)]
pub(crate) struct PlanArgs {
    /// The base image for a stack, a runtime version or a backing service
    /// (python=IMAGE, python:3.12=IMAGE, go-runtime=IMAGE, redis=IMAGE); repeat.
    #[arg(long = "image", value_name = "KEY=IMAGE")]
    pub(crate) images: Vec<String>,
    /// The network of the builds' RUN steps (host, where the default bridge has no
    /// way out and a build downloads packages; "" forgets a remembered one).
    #[arg(long, value_name = "NETWORK")]
    pub(crate) build_network: Option<String>,
    /// The host port of a service's (first) published port (web=8081); repeat.
    #[arg(long = "port", value_name = "SERVICE=PORT")]
    pub(crate) ports: Vec<String>,
    /// A Debian package the builds install before the dependencies (a native library
    /// Kyozo does not know a dependency needs: libgdal-dev); repeat. Replaces the
    /// remembered ones; "" forgets them.
    #[arg(long = "system-package", value_name = "PACKAGE")]
    pub(crate) system_packages: Vec<String>,
}

impl PlanArgs {
    /// These options over what the folder was last deployed with: what is given wins,
    /// key by key; `--image KEY=` and `--port SERVICE=` forget a remembered entry,
    /// `--build-network ""` the remembered network.
    pub(crate) fn over(
        &self,
        remembered: &kyozo::model::DeployDefaults,
    ) -> anyhow::Result<kyozo::model::DeployDefaults> {
        let mut d = remembered.clone();
        for entry in &self.images {
            let Some((key, image)) = entry.split_once('=') else {
                anyhow::bail!(
                    "--image takes KEY=IMAGE (python=registry.corp/python:3.12), not {:?}",
                    kyozo::text::terminal_safe(entry)
                );
            };
            let (key, image) = (key.trim(), image.trim());
            if image.is_empty() {
                d.images.remove(key);
            } else {
                d.images.insert(key.to_string(), image.to_string());
            }
        }
        match self.build_network.as_deref().map(str::trim) {
            Some("") => d.build_network = None,
            Some(n) => d.build_network = Some(n.to_string()),
            None => {}
        }
        for entry in &self.ports {
            let parsed = entry.split_once('=').map(|(s, p)| (s.trim(), p.trim()));
            match parsed {
                Some((service, "")) => {
                    d.ports.remove(service);
                }
                Some((service, port)) => match port.parse::<u16>() {
                    Ok(port) if port > 0 => {
                        d.ports.insert(service.to_string(), port);
                    }
                    _ => anyhow::bail!(
                        "--port takes SERVICE=PORT with a port from 1 to 65535, not {:?}",
                        kyozo::text::terminal_safe(entry)
                    ),
                },
                None => anyhow::bail!(
                    "--port takes SERVICE=PORT (web=8081), not {:?}",
                    kyozo::text::terminal_safe(entry)
                ),
            }
        }
        if !self.system_packages.is_empty() {
            d.system_packages = self
                .system_packages
                .iter()
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
        }
        d.validate()
            .map_err(|e| anyhow::anyhow!("{e}").context("these options cannot be used"))?;
        Ok(d)
    }

    /// The planner these options over `remembered` describe.
    pub(crate) fn planner(
        &self,
        remembered: &kyozo::model::DeployDefaults,
    ) -> anyhow::Result<kyozo::plan::Planner> {
        Ok(planner_of(&self.over(remembered)?))
    }
}

/// The planner of a folder's deploy options.
pub(crate) fn planner_of(d: &kyozo::model::DeployDefaults) -> kyozo::plan::Planner {
    let mut base = kyozo::plan::BaseImages::default();
    for (key, image) in &d.images {
        base = base.set(key.as_str(), image.as_str());
    }
    let mut options = kyozo::plan::BuildOptions::default();
    options.network = d.build_network.clone();
    kyozo::plan::Planner::new()
        .with_images(base)
        .with_build_options(options)
        .with_host_ports(d.ports.clone())
        .with_build_tools(
            kyozo::plan::BuildTools::default().with_system_packages(d.system_packages.clone()),
        )
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build and run every service of a folder, and wait until they are healthy.
    ///
    /// Analyses the folder (what it found, how sure, and why), plans it (a Dockerfile
    /// from its stack's template for a service without one, kept out of the folder; the
    /// backing services it needs, such as redis or postgres, with their data in a
    /// volume), then builds and deploys every service in start order, backing services
    /// first, each waited on until its health check passes. At the end, where each
    /// service answers.
    ///
    /// Run again, it changes only what changed: a service whose folder and config are
    /// as deployed is left running as it is; a changed one is built and rolled. When a
    /// step fails, the command exits with status 1 and says which service and step
    /// failed, the error, and the last lines the failing container wrote; the failure
    /// is in the audit trail (`kyozo events`), and services deployed before it keep
    /// running. Interrupted (Ctrl-C), it stops where it is and exits with status 130;
    /// `up` again finishes the work.
    #[command(after_long_help = "\
Examples:
  kyozo up                                     the current folder
  kyozo up examples/hello                      the bundled example: two services and a redis
  kyozo up --image node=mirror.corp/node:22    a base image of your own (no Docker Hub)
  kyozo up --build-network host                builds that download packages through the host")]
    Up {
        /// The folder [default: DIR].
        path: Option<PathBuf>,
        /// Show what was found and the plan; build and run nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        plan: PlanArgs,
        /// Build and run a service the analysis is less sure of than this (0 to 1):
        /// below it, `up` refuses it before building anything.
        #[arg(long, value_name = "CONFIDENCE", default_value_t = up::MIN_CONFIDENCE)]
        min_confidence: f64,
        /// Env vars from a file (NAME=VALUE lines, as compose reads them) for every
        /// service of the folder, or SERVICE=FILE for one; repeat. They are stored as
        /// the services' settings (`kyozo env list`), kept by later `up`s.
        #[arg(long = "env-file", value_name = "[SERVICE=]FILE")]
        env_files: Vec<String>,
    },
    /// A service's env vars: list them, set or unset settings.
    ///
    /// Settings are env vars you give a service yourself (database URLs, API keys...).
    /// They are stored as secrets in the folder's state, applied over what the plan
    /// says, and kept by every later `up`. Setting or unsetting one redeploys a running
    /// service (a rolling update) unless --no-deploy.
    #[command(after_long_help = "\
Examples:
  kyozo env list web                          names, where each comes from; values as ***
  kyozo env list web --reveal                 the values too (the team's owners only)
  kyozo env set web DATABASE_URL=postgres://db/app SECRET_KEY
                                              SECRET_KEY without = is read from stdin
  kyozo env unset web SECRET_KEY")]
    Env {
        #[command(subcommand)]
        action: EnvAction,
    },
    /// List the services and their state, replicas, health and ports.
    ///
    /// Health is checked as the command runs (each service's health check on each of
    /// its containers) and recorded in its history.
    Ps {
        /// Print one JSON document (see docs/cli.md) instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Show a service's output (stdout and stderr of every replica).
    Logs {
        /// The service.
        service: String,
        /// Keep printing new lines until interrupted (or the containers stop).
        #[arg(short, long)]
        follow: bool,
        /// Only lines written in this last stretch (30s, 10m, 2h, 1d) or since this
        /// time (2026-11-27T10:00:00Z).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only the last N lines of each replica.
        #[arg(long, value_name = "N")]
        tail: Option<u32>,
    },
    /// Run N replicas of a service (each waited on until ready).
    Scale {
        /// The service.
        service: String,
        /// How many replicas.
        replicas: u32,
    },
    /// Start a stopped service's containers again.
    Start {
        /// The service.
        service: String,
    },
    /// Stop a service's containers (kept, to start again).
    Stop {
        /// The service.
        service: String,
        /// How long each container gets to exit before it is killed, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        timeout: u64,
    },
    /// Restart a service's containers one at a time.
    Restart {
        /// The service.
        service: String,
    },
    /// Deploy again the image of an earlier deployment.
    Rollback {
        /// The service.
        service: String,
        /// The deployment to go back to (its id: `kyozo events SERVICE` names it on
        /// each `deployment_completed`) [default: the one before the current].
        #[arg(long, value_name = "DEPLOYMENT")]
        to: Option<String>,
    },
    /// Remove what Kyozo made for the folder: containers, images it built, networks.
    ///
    /// Nothing else on the engine is touched. The audit trail stays in the state file;
    /// the backing services' data stays in their volumes unless --volumes.
    Down {
        /// Also remove the services' volumes, and the data in them.
        #[arg(long)]
        volumes: bool,
    },
    /// Show the audit trail: every deployment, operation, crash and health change.
    Events {
        /// Only this service's.
        service: Option<String>,
        /// Keep printing new events until interrupted.
        #[arg(short, long)]
        follow: bool,
        /// Only the last N events [default: all].
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
        /// One JSON object per line (see docs/cli.md) instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Show live CPU, memory and network use per service.
    ///
    /// On a terminal, refreshes every --interval until interrupted; otherwise (or with
    /// --once, or --json) prints one sample.
    Top {
        /// Print one sample and exit.
        #[arg(long)]
        once: bool,
        /// Seconds between refreshes.
        #[arg(long, value_name = "SECONDS", default_value_t = 2)]
        interval: u64,
        /// Print one sample as JSON (see docs/cli.md).
        #[arg(long)]
        json: bool,
    },
    /// Check services' health now (exit status 1 when one is unhealthy).
    Health {
        /// Only this service.
        service: Option<String>,
        /// Print one JSON document (see docs/cli.md) instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// List the members of the folder's local team, or add one.
    Members {
        #[command(subcommand)]
        action: Option<MembersAction>,
        /// Print one JSON document instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Detect the services in a folder or monorepo and explain why.
    ///
    /// Every detector runs; each service comes with its language, framework, package
    /// manager, commands, ports, env vars, backing services, dependencies, a confidence
    /// and the evidence behind it. Nothing is written or started.
    Analyze {
        /// The folder to analyse [default: DIR].
        path: Option<PathBuf>,
        /// Print one JSON document instead of the readable report.
        #[arg(long)]
        json: bool,
        /// Also run this WASM detector plugin (a component built for wasm32-wasip2);
        /// repeat for several. It runs sandboxed: it sees only this folder's files,
        /// read-only, with a deadline and a memory cap. It never overrides what a
        /// built-in detector found (unless trusted); one that cannot be loaded is
        /// skipped, and said so on stderr.
        #[arg(long = "plugin", value_name = "FILE.wasm")]
        plugins: Vec<PathBuf>,
        /// Let the plugin with this id override the built-in detectors' values
        /// (its claim competes with theirs on confidence); repeat for several.
        #[arg(long = "trust-plugin", value_name = "ID")]
        trust: Vec<String>,
    },
    /// Write what it takes to build and run a folder's services.
    ///
    /// A Dockerfile for every service that has none (from the template of its stack), a
    /// .dockerignore where there is none, and compose.kyozo.yaml with every service,
    /// the backing services they need (postgres, redis...) with health checks and
    /// volumes, and the env vars that wire them together. A file Kyozo did not write is
    /// never replaced unless --force; what Kyozo cannot plan is said, not guessed.
    Plan {
        /// The folder to plan [default: DIR].
        path: Option<PathBuf>,
        /// Write the files under DIR (mirroring the folder) instead of into the folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Replace files of yours too.
        #[arg(long)]
        force: bool,
        /// Show what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        plan: PlanArgs,
        /// Print one JSON document (the plan and what was written) instead of the
        /// summary.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell's completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// For bash: `kyozo completions bash > /etc/bash_completion.d/kyozo`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum EnvAction {
    /// List a service's env vars: each name, its value (*** unless --reveal) and where
    /// it comes from (the plan, or a setting: who set it, when, how).
    List {
        /// The service.
        service: String,
        /// Show the values (only the team's owners may).
        #[arg(long)]
        reveal: bool,
        /// Print one JSON document instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Set env vars of a service (NAME=VALUE; a NAME alone reads its value from stdin).
    Set {
        /// The service (one the folder's plan has, deployed or not yet).
        service: String,
        /// NAME=VALUE, or NAME to read the value from stdin.
        #[arg(required = true, value_name = "NAME=VALUE")]
        values: Vec<String>,
        /// Store them only; the service takes them at its next `kyozo up`.
        #[arg(long)]
        no_deploy: bool,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Unset settings of a service (the plan's value of the same name applies again).
    Unset {
        /// The service.
        service: String,
        /// The names.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        /// Store the change only; the service takes it at its next `kyozo up`.
        #[arg(long)]
        no_deploy: bool,
    },
}

#[derive(Debug, Subcommand)]
enum MembersAction {
    /// Add a member to the local team (only its owner may).
    Add {
        /// Their user name.
        user: String,
        /// Their role: owner, admin, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let style = show::Style::stderr();
            eprintln!("{} {}", style.red("kyozo:"), show::error_text(&e));
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = cli.global;
    let rt = runtime()?;
    match cli.command {
        Command::Analyze {
            path,
            json,
            plugins,
            trust,
        } => {
            let path = path.unwrap_or_else(|| g.dir.clone());
            let plugins = plugins::Plugins::load(&plugins, &trust);
            let kyozo = plugins.add_to(kyozo::Kyozo::builder()).build()?;
            let topology = kyozo.engine().analyze(&path)?;
            plugins.say_run_failures();
            let out = if json {
                let mut doc = render::json(&topology);
                if let (Some(p), Some(map)) = (plugins.json(), doc.as_object_mut()) {
                    map.insert("plugins".into(), p);
                }
                show::json_text(&doc)?
            } else {
                render::report(&topology)
            };
            render::print(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            path,
            out,
            force,
            dry_run,
            plan: args,
            json,
        } => {
            let path = path.unwrap_or_else(|| g.dir.clone());
            let options = args.over(&rt.block_on(local::remembered(&g, &path))?)?;
            let planner = planner_of(&options);
            let topology = kyozo::Kyozo::builder().build()?.engine().analyze(&path)?;
            let plan = planner.plan(&topology);
            // The compose file names files in DIR by absolute path: DIR must be one.
            let dest = match out {
                Some(dir) => std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::canonicalize(&dir))
                    .map_err(|e| {
                        anyhow::anyhow!("cannot make the folder {} ({e})", dir.display())
                    })?,
                None => plan.root.clone(),
            };
            let written = if dry_run {
                Vec::new()
            } else {
                plan.write(&dest, force)?
            };
            let out = if json {
                show::json_text(&serde_json::json!({
                    "plan": plan,
                    "options": options,
                    "written": written,
                    "warnings": topology.warnings,
                }))?
            } else {
                let mut text = render::options(&options);
                text.push_str(&render::plan(&plan, &planner, &dest, &written, dry_run)?);
                text
            };
            render::print(&out);
            if !json {
                render::print_warnings(&topology);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Up {
            path,
            dry_run,
            plan,
            env_files,
            min_confidence,
        } => {
            let dir = path.unwrap_or_else(|| g.dir.clone());
            let given = up::Given {
                plan: &plan,
                env_files: &env_files,
                min_confidence,
            };
            rt.block_on(async {
                // Ctrl-C's handler is installed when its future is first polled: it is
                // polled first (`biased`), so it is in place before `up` prints anything.
                // Unbiased, `up` could print its first line first, and a Ctrl-C sent
                // then met the default handler (killed, no message, no status 130).
                tokio::select! {
                    biased;
                    _ = tokio::signal::ctrl_c() => {
                        eprintln!(
                            "\nkyozo: interrupted. What was started stays as it is: `kyozo up` again finishes the work, `kyozo down` removes it."
                        );
                        Ok(ExitCode::from(130))
                    }
                    done = up::up(&g, &dir, &given, dry_run) => done,
                }
            })
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kyozo", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ps { json } => rt.block_on(ops::ps(&g, json)),
        Command::Env { action } => match action {
            EnvAction::List {
                service,
                reveal,
                json,
            } => rt.block_on(env::list(&g, &service, reveal, json)),
            EnvAction::Set {
                service,
                values,
                no_deploy,
                plan,
            } => rt.block_on(env::set(&g, &service, &values, !no_deploy, &plan)),
            EnvAction::Unset {
                service,
                names,
                no_deploy,
            } => rt.block_on(env::unset(&g, &service, &names, !no_deploy)),
        },
        Command::Logs {
            service,
            follow,
            since,
            tail,
        } => rt.block_on(ops::logs(&g, &service, follow, since.as_deref(), tail)),
        Command::Scale { service, replicas } => rt.block_on(ops::scale(&g, &service, replicas)),
        Command::Start { service } => rt.block_on(ops::lifecycle(&g, &service, ops::Act::Start)),
        Command::Stop { service, timeout } => rt.block_on(ops::lifecycle(
            &g,
            &service,
            ops::Act::Stop(std::time::Duration::from_secs(timeout)),
        )),
        Command::Restart { service } => {
            rt.block_on(ops::lifecycle(&g, &service, ops::Act::Restart))
        }
        Command::Rollback { service, to } => {
            rt.block_on(ops::rollback(&g, &service, to.as_deref()))
        }
        Command::Down { volumes } => rt.block_on(ops::down(&g, volumes)),
        Command::Events {
            service,
            follow,
            tail,
            json,
        } => rt.block_on(ops::events(&g, service.as_deref(), follow, tail, json)),
        Command::Top {
            once,
            interval,
            json,
        } => rt.block_on(ops::top(
            &g,
            once,
            std::time::Duration::from_secs(interval.max(1)),
            json,
        )),
        Command::Health { service, json } => rt.block_on(ops::health(&g, service.as_deref(), json)),
        Command::Members { action, json } => match action {
            None => rt.block_on(ops::members(&g, json)),
            Some(MembersAction::Add { user, role }) => {
                rt.block_on(ops::add_member(&g, &user, &role))
            }
        },
    }
}
