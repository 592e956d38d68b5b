//! Kyozo's quickstart: creates a team, a workspace and a service in a redb file and
//! prints the service's event history.
//!
//! Run with `cargo run --example quickstart [STATE_FILE]` (default:
//! `kyozo-quickstart.redb` in the current folder). Run it twice: the second run finds
//! the first run's team in the file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use kyozo::Kyozo;
use kyozo::model::{
    EventPayload, HealthCheckConfig, HealthProbe, PortMapping, Role, SecretValue, ServiceInstance,
    Timestamp,
};
use kyozo::store::StoreExt;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> kyozo::Result<()> {
    let path = std::env::args_os()
        .nth(1)
        .unwrap_or_else(|| "kyozo-quickstart.redb".into());
    let kyozo = Kyozo::builder().state_file(&path).build()?;
    let earlier = kyozo.store().teams()?.len();

    // A team with its owner, a second member and a workspace: made on the first run,
    // found in the file on the next ones.
    let found = kyozo
        .store()
        .teams()?
        .into_iter()
        .find(|t| t.name == "acme");
    let (team, ada, ops, shop) = match found {
        Some(team) => {
            let members = kyozo.store().members(team.id)?;
            let owner = members.iter().find(|m| m.role == Role::Owner).cloned();
            let ops = members.iter().find(|m| m.role == Role::Member).cloned();
            let shop = kyozo.store().workspaces(team.id)?.into_iter().next();
            match (owner, ops, shop) {
                (Some(o), Some(m), Some(w)) => (team, o, m, w),
                _ => {
                    return Err(kyozo::model::ValidationError::Invalid {
                        field: "state file".into(),
                        value: path.to_string_lossy().into_owned(),
                        expected: "a file made by this quickstart".into(),
                    }
                    .into());
                }
            }
        }
        None => {
            let (team, ada) = kyozo.create_team("acme", "ada@acme.test")?;
            let ops = kyozo.add_member(ada.actor(), team.id, "grace@acme.test", Role::Member)?;
            let shop = kyozo.create_workspace(ada.actor(), team.id, "shop")?;
            (team, ada, ops, shop)
        }
    };
    // A new service each run: web, web-2, web-3...
    let n = kyozo.store().services(team.id, Some(shop.id))?.len();
    let name = if n == 0 {
        "web".to_string()
    } else {
        format!("web-{}", n + 1)
    };
    let mut web = ServiceInstance::new(team.id, shop.id, name, "apps/web");
    web.stack = Some("node".into());
    web.confidence = Some(0.92);
    web.ports = vec![PortMapping::parse("8080:3000")?];
    web.env.insert(
        "DATABASE_URL".into(),
        SecretValue::new("postgres://shop:s3cret@db/shop"),
    );
    web.health_check = Some(HealthCheckConfig::new(HealthProbe::Http {
        port: 3000,
        path: "/health".into(),
        expect_status: None,
    }));
    let web = kyozo.create_service(ops.actor(), web)?;

    // Written in one go so that a closed pipe (`| head`) is not an error.
    let mut out = String::new();
    let _ = writeln!(out, "state file: {}", std::path::Path::new(&path).display());
    let _ = writeln!(out, "teams in the file before this run: {earlier}");
    let _ = writeln!(out, "team {} ({}), owner {}", team.name, team.id, ada.user);
    let _ = writeln!(out, "workspace {} ({})", shop.name, shop.id);
    let _ = writeln!(
        out,
        "service {} ({}): {}, ports {}, env {:?}",
        web.name,
        web.id,
        web.status_summary(Timestamp::now()),
        web.ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        web.env,
    );

    let _ = writeln!(out, "\nevent history of {} (oldest first):", web.name);
    let events = kyozo.store().all_events(team.id, web.id)?;
    for e in &events {
        let detail = match &e.payload {
            EventPayload::Config { changed } => format!("set {}", changed.join(", ")),
            other => format!("{other:?}"),
        };
        let _ = writeln!(
            out,
            "  #{} {} {} by {}: {}",
            e.seq, e.at, e.kind, e.actor, detail
        );
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(())
}
