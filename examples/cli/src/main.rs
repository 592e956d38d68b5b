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
    }
}
