//! `kyozo`, the command-line tool: a folder to running services.
//!
//! Run with `cargo run -p kyozo-cli -- up examples/hello` (or any folder). It is a
//! thin layer over the `kyozo` library's public API: what it needs, the library
//! exposes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod local;
mod ops;
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
/// `rollback` and `down`.
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
    /// way out and a build downloads packages).
    #[arg(long, value_name = "NETWORK")]
    pub(crate) build_network: Option<String>,
}

impl PlanArgs {
    /// The planner these options describe.
    pub(crate) fn planner(&self) -> anyhow::Result<kyozo::plan::Planner> {
        let mut base = kyozo::plan::BaseImages::default();
        for entry in &self.images {
            let Some((key, image)) = entry.split_once('=') else {
                anyhow::bail!(
                    "--image takes KEY=IMAGE (python=registry.corp/python:3.12), not {entry:?}"
                );
            };
            base = base.set(key.trim(), image.trim());
        }
        let mut options = kyozo::plan::BuildOptions::default();
        options.network = self.build_network.clone();
        Ok(kyozo::plan::Planner::new()
            .with_images(base)
            .with_build_options(options))
    }
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
        /// read-only, with a deadline and a memory cap.
        #[arg(long = "plugin", value_name = "FILE.wasm")]
        plugins: Vec<PathBuf>,
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
            eprintln!("{} {e:#}", style.red("kyozo:"));
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
        } => {
            let path = path.unwrap_or_else(|| g.dir.clone());
            let kyozo = plugins
                .into_iter()
                .fold(kyozo::Kyozo::builder(), |b, p| b.detector_plugin(p))
                .build()?;
            let topology = kyozo.engine().analyze(&path)?;
            let out = if json {
                show::json_text(&render::json(&topology))?
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
            let planner = args.planner()?;
            let topology = kyozo::Kyozo::builder().build()?.engine().analyze(&path)?;
            let plan = planner.plan(&topology);
            // The compose file names files in DIR by absolute path: DIR must be one.
            let dest = match out {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::canonicalize(&dir)?
                }
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
                    "written": written,
                }))?
            } else {
                render::plan(&plan, &dest, &written, dry_run)?
            };
            render::print(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Up {
            path,
            dry_run,
            plan,
        } => {
            let dir = path.unwrap_or_else(|| g.dir.clone());
            rt.block_on(async {
                tokio::select! {
                    done = up::up(&g, &dir, &plan, dry_run) => done,
                    _ = tokio::signal::ctrl_c() => {
                        eprintln!(
                            "\nkyozo: interrupted. What was started stays as it is: `kyozo up` again finishes the work, `kyozo down` removes it."
                        );
                        Ok(ExitCode::from(130))
                    }
                }
            })
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kyozo", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ps { json } => rt.block_on(ops::ps(&g, json)),
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
