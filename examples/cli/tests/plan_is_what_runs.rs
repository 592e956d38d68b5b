//! What `kyozo plan` prints is what `kyozo up` runs: for every fixture folder and every
//! example folder the CLI's tests use, the spec of each service `kyozo plan --json`
//! prints, the backing services' (postgres, redis...) among them, is compared with the
//! spec of the service `up` would deploy (`up` takes the plan to the runtime with
//! `Kyozo::apply` and `Kyozo::apply_backing`; here the same calls, on the same folder,
//! read back from the state), created and then updated. Every difference of every
//! folder is reported at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::kyozo;

use std::path::{Path, PathBuf};

use kyozo::plan::DeploySpec;
use serde_json::Value;

/// The folders: `tests/fixtures/*`, and the examples the CLI's tests run.
fn folders() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.push(root.join("examples/hello"));
    dirs.push(root.join("examples/polyglot"));
    dirs.into_iter()
        .map(|d| std::fs::canonicalize(d).unwrap())
        .collect()
}

/// The fields where two JSON values differ, by path.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let none = Value::Null;
                differences(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&none),
                    y.get(k).unwrap_or(&none),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: plan {a} / runs {b}")),
        _ => {}
    }
}

#[tokio::test]
async fn every_planned_spec_is_the_spec_of_the_service_up_deploys() {
    let state = kyozo::Kyozo::builder().build().unwrap();
    let (team, owner) = state.create_team("local", "me@local").unwrap();
    let actor = owner.actor();
    let mut failures: Vec<String> = Vec::new();
    let mut compared = 0;
    let mut backing = 0;
    for (i, dir) in folders().iter().enumerate() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (code, out, err) = kyozo(&["plan", "--json", "--dry-run", dir.to_str().unwrap()]);
        if code != 0 {
            failures.push(format!("{name}: kyozo plan failed: {err}"));
            continue;
        }
        let doc: Value = serde_json::from_str(&out).unwrap();
        // The app services and the backing services alike, each with its spec.
        let printed: Vec<Value> = ["services", "backing"]
            .iter()
            .flat_map(|k| doc["plan"][k].as_array().cloned().unwrap_or_default())
            .collect();
        if printed.is_empty() {
            continue;
        }
        // What `up` does with the folder: analyse, plan, apply each service.
        let ws = state
            .create_workspace(actor, team.id, &format!("w{i}"))
            .unwrap();
        let topology = state.engine().analyze(dir).unwrap();
        let plan = kyozo::plan::Planner::new().plan(&topology);
        for round in ["created", "updated"] {
            for planned in &plan.backing {
                state
                    .apply_backing(actor, team.id, ws.id, planned)
                    .await
                    .unwrap();
            }
            for planned in &plan.services {
                state.apply(actor, team.id, ws.id, planned).await.unwrap();
            }
            let services = state.services(actor, team.id, Some(ws.id)).unwrap();
            if services.len() != printed.len() {
                failures.push(format!(
                    "{name} ({round}): plan prints {} services, up would run {}",
                    printed.len(),
                    services.len()
                ));
            }
            for p in &printed {
                let service_name = p["name"].as_str().unwrap();
                let Some(service) = services.iter().find(|s| s.name == service_name) else {
                    failures.push(format!("{name} ({round}): {service_name} is not applied"));
                    continue;
                };
                let service = state.service(actor, team.id, service.id).unwrap();
                let spec: DeploySpec = match serde_json::from_value(p["spec"].clone()) {
                    Ok(s) => s,
                    Err(e) => {
                        failures.push(format!("{name}: the printed spec does not read: {e}"));
                        continue;
                    }
                };
                let mut diff = Vec::new();
                differences(
                    service_name,
                    &serde_json::to_value(spec.resolved()).unwrap(),
                    &serde_json::to_value(DeploySpec::from_service(&service)).unwrap(),
                    &mut diff,
                );
                // The Dockerfile it builds: the plan's generated text (the user's is
                // compared as a path, in the spec).
                if p["source"]["kind"] == "generated" {
                    let runs = service.config.dockerfile_text.as_deref();
                    if runs.map_or(Value::Null, Value::from) != p["source"]["file"]["contents"] {
                        diff.push(format!("{service_name}.dockerfile_text differs"));
                    }
                }
                if p.get("wiring").is_some() {
                    backing += 1;
                }
                // The folder: `.` when the plan's path is empty (or missing).
                let planned = p["path"].as_str().filter(|p| !p.is_empty()).unwrap_or(".");
                if service.folder != Path::new(planned) {
                    diff.push(format!(
                        "{service_name}.path: plan {planned:?} / runs {:?}",
                        service.folder
                    ));
                }
                failures.extend(diff.into_iter().map(|d| format!("{name} ({round}): {d}")));
                compared += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences between what `kyozo plan` prints and what `up` runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared > 80, "only {compared} services compared");
    assert!(backing > 10, "only {backing} backing services compared");
}
