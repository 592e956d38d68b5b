//! `kyozo`, the command-line tool: a folder to running services.
//!
//! Run with `cargo run -p kyozo-cli -- analyze examples/polyglot` (or any folder).
//! It is a thin layer over the `kyozo` library's public API.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod render;

/// Kyozo turns a folder into running services.
#[derive(Debug, Parser)]
#[command(name = "kyozo", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Detect the services in a folder or monorepo and explain why.
    ///
    /// Every detector runs; each service comes with its language, framework, package
    /// manager, commands, ports, env vars, backing services, dependencies, a confidence
    /// and the evidence behind it. Nothing is written or started.
    Analyze {
        /// The folder to analyse.
        #[arg(default_value = ".")]
        path: PathBuf,
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
        /// The folder to plan.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Write the files under DIR (mirroring the folder) instead of into the folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Replace files of yours too.
        #[arg(long)]
        force: bool,
        /// Show what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The base image for a stack, a runtime version or a backing service
        /// (python=IMAGE, python:3.12=IMAGE, go-runtime=IMAGE, postgres=IMAGE); repeat.
        #[arg(long = "image", value_name = "KEY=IMAGE")]
        images: Vec<String>,
        /// The network of the builds' RUN steps (host, where the default bridge has no
        /// way out and a build downloads packages).
        #[arg(long, value_name = "NETWORK")]
        build_network: Option<String>,
        /// Print one JSON document (the plan and what was written) instead of the
        /// summary.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kyozo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze {
            path,
            json,
            plugins,
        } => {
            let kyozo = plugins
                .into_iter()
                .fold(kyozo::Kyozo::builder(), |b, p| b.detector_plugin(p))
                .build()?;
            let topology = kyozo.engine().analyze(&path)?;
            let out = if json {
                let mut s = serde_json::to_string_pretty(&render::json(&topology))?;
                s.push('\n');
                s
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
            images,
            build_network,
            json,
        } => {
            let mut base = kyozo::plan::BaseImages::default();
            for entry in images {
                let Some((key, image)) = entry.split_once('=') else {
                    anyhow::bail!(
                        "--image takes KEY=IMAGE (python=registry.corp/python:3.12), not {entry:?}"
                    );
                };
                base = base.set(key.trim(), image.trim());
            }
            let mut options = kyozo::plan::BuildOptions::default();
            options.network = build_network;
            let topology = kyozo::Kyozo::builder().build()?.engine().analyze(&path)?;
            let plan = kyozo::plan::Planner::new()
                .with_images(base)
                .with_build_options(options)
                .plan(&topology);
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
                let mut s = serde_json::to_string_pretty(&serde_json::json!({
                    "plan": plan,
                    "written": written,
                }))?;
                s.push('\n');
                s
            } else {
                render::plan(&plan, &dest, &written, dry_run)?
            };
            render::print(&out);
            Ok(ExitCode::SUCCESS)
        }
    }
}
