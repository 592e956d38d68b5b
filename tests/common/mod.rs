//! Shared by the topology test files: analyse a fixture folder and snapshot the result.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use kyozo::topology::{Topology, TopologyEngine};

/// The folder `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Analyses `tests/fixtures/<name>` with every built-in detector.
pub fn analyze(name: &str) -> Topology {
    TopologyEngine::new()
        .analyze(fixture(name))
        .unwrap_or_else(|e| panic!("analysing fixture {name}: {e}"))
}

/// Analyses a fixture and compares it with its insta snapshot (volatile fields
/// redacted), returning the topology for further assertions.
#[macro_export]
macro_rules! snapshot {
    ($name:expr) => {{
        let topology = common::analyze($name);
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!($name, topology, {
                ".root" => "[root]",
                ".duration_ms" => "[duration]",
            });
        });
        topology
    }};
}

/// The service of `topology` named `name`.
pub fn service<'a>(topology: &'a Topology, name: &str) -> &'a kyozo::topology::TopologyService {
    topology
        .services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = topology.services.iter().map(|s| s.name.as_str()).collect();
            panic!("no service {name:?}; services: {names:?}")
        })
}

/// The value of an optional sourced hint.
pub fn value(v: &Option<kyozo::topology::Sourced<String>>) -> Option<&str> {
    v.as_ref().map(|s| s.value.as_str())
}

/// The text the CLI shows for a provenance, as a `&str` the assertions compare with
/// literals (leaked: a test process is short-lived).
fn shown(p: &kyozo::topology::Provenance) -> &'static str {
    Box::leak(p.to_string().into_boxed_str())
}

/// Where an optional sourced hint came from, as the CLI shows it.
pub fn source(v: &Option<kyozo::topology::Sourced<String>>) -> Option<&'static str> {
    v.as_ref().map(|s| shown(&s.source))
}

/// A service's ports with their sources, as the CLI shows them.
pub fn ports(s: &kyozo::topology::TopologyService) -> Vec<(u16, &'static str)> {
    s.ports.iter().map(|p| (p.port, shown(&p.source))).collect()
}

/// A service's env var names.
pub fn env(s: &kyozo::topology::TopologyService) -> Vec<&str> {
    s.env.iter().map(|e| e.name.as_str()).collect()
}
