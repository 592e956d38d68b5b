//! The dependency graph: compose `depends_on` and env vars that name another service
//! order the services; a cycle is a warning, never an error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use kyozo::topology::TopologyEngine;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn dockerfile(root: &Path, dir: &str) {
    write(
        root,
        &format!("{dir}/Dockerfile"),
        "FROM alpine:3.20\nEXPOSE 8080\nCMD [\"./app\"]\n",
    );
}

#[test]
fn depends_on_and_env_references_give_the_start_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["gateway", "users-api", "billing"] {
        dockerfile(root, d);
    }
    write(
        root,
        "compose.yaml",
        "services:\n  gateway:\n    build: ./gateway\n    environment:\n      USERS_API_URL: http://users-api:8080\n  users-api:\n    build: ./users-api\n    depends_on: [billing]\n  billing:\n    build: ./billing\n",
    );
    let t = TopologyEngine::new().analyze(root).unwrap();
    let order: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        order,
        vec!["billing", "users-api", "gateway"],
        "dependencies start first"
    );
    let gateway = t.services.iter().find(|s| s.name == "gateway").unwrap();
    assert_eq!(
        gateway.depends_on,
        vec!["users-api"],
        "from the env var USERS_API_URL"
    );
    assert!(
        t.warnings.iter().all(|w| !w.contains("cycle")),
        "{:?}",
        t.warnings
    );
}

#[test]
fn a_cycle_is_a_warning_and_every_service_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["a", "b", "c"] {
        dockerfile(root, d);
    }
    write(
        root,
        "compose.yaml",
        "services:\n  a:\n    build: ./a\n    depends_on: [b]\n  b:\n    build: ./b\n    depends_on: [a]\n  c:\n    build: ./c\n    depends_on: [a]\n",
    );
    let t = TopologyEngine::new().analyze(root).unwrap();
    let mut names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), 3);
    assert!(
        t.warnings
            .iter()
            .any(|w| w == "dependency cycle between a, b: started in name order"),
        "{:?}",
        t.warnings
    );
    // c depends on a: it still starts after a.
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("a") < pos("c"));
    names.sort();
    assert_eq!(names, vec!["a", "b", "c"]);
}
