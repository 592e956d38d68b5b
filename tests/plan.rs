//! Deployment plans of the topology fixtures: every generated Dockerfile, .dockerignore
//! and compose file snapshotted (`tests/snapshots/plan-<fixture>.snap`), every compose
//! file checked by `docker-compose config`, and the bad cases (a cycle, no start
//! command, an unknown stack, a port clash) giving recommendations, never a broken
//! file. Writing never replaces a user's file unless forced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/files.rs"]
mod files;
use files::copy_dir;
mod common;

use std::path::Path;

use kyozo::plan::{BaseImages, ImageSource, Planner, Templates, WriteOutcome};
use kyozo::topology::{Topology, TopologyEngine};

/// The fixtures a plan is made of: every topology fixture.
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("deploy-") && !n.starts_with("plugin-"))
        .collect();
    names.sort();
    names
}

/// The plan's files and recommendations as one text.
fn render(plan: &kyozo::plan::Plan) -> String {
    let mut out = String::new();
    for file in plan.files().unwrap() {
        out.push_str(&format!("===== {}\n{}\n", file.path, file.contents));
    }
    for s in &plan.services {
        if let ImageSource::Existing { path } = &s.source {
            out.push_str(&format!("===== {} (the user's, kept)\n", path));
        }
    }
    out.push_str("===== recommendations\n");
    for r in &plan.recommendations {
        out.push_str(&format!(
            "[{}] {}{}\n",
            r.code,
            r.service
                .as_deref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default(),
            r.message
        ));
    }
    out
}

#[test]
fn plans_of_the_fixtures_match_their_snapshots() {
    for name in fixtures() {
        let topology = common::analyze(&name);
        let plan = Planner::new().plan(&topology);
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("plan-{name}"), render(&plan));
        });
    }
}

#[test]
fn every_generated_compose_file_passes_docker_compose_config() {
    let compose = std::process::Command::new("docker-compose")
        .arg("version")
        .output();
    if compose.is_err() {
        assert!(
            std::env::var("KYOZO_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "KYOZO_REQUIRE_DOCKER=1 but no docker-compose: apt-get install docker-compose"
        );
        eprintln!("SKIPPED: no docker-compose");
        return;
    }
    let mut checked = 0;
    for name in fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(&name);
        copy_dir(&common::fixture(&name), &root);
        let topology = TopologyEngine::new().analyze(&root).unwrap();
        let plan = Planner::new().plan(&topology);
        if plan.services.is_empty() {
            continue;
        }
        let written = plan.write(&root, false).unwrap();
        if !written
            .iter()
            .any(|w| w.path.ends_with(kyozo::plan::COMPOSE_FILE))
        {
            // The user's compose file runs everything.
            continue;
        }
        // With the user's compose file, as the plan says to run them.
        let mut files = Vec::new();
        if let Some(user) = &plan.user_compose {
            files.extend(["-f".to_string(), user.clone()]);
        }
        files.extend(["-f".to_string(), kyozo::plan::COMPOSE_FILE.to_string()]);
        let out = std::process::Command::new("docker-compose")
            .args(&files)
            .args(["config", "-q"])
            .current_dir(&root)
            .env("COMPOSE_PROJECT_NAME", "kyozo-plan-test")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: docker-compose config refused the compose file:\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(root.join(kyozo::plan::COMPOSE_FILE)).unwrap()
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} compose files checked");
    eprintln!("{checked} compose files passed docker-compose config");
}

fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

fn analyze(root: &Path) -> Topology {
    TopologyEngine::new().analyze(root).unwrap()
}

fn codes(plan: &kyozo::plan::Plan) -> Vec<&str> {
    plan.recommendations
        .iter()
        .map(|r| r.code.as_str())
        .collect()
}

#[test]
fn a_dependency_cycle_is_broken_with_a_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    // Two node apps of a workspace.
    write_files(
        dir.path(),
        &[
            (
                "package.json",
                r#"{"name":"root","private":true,"workspaces":["apps/*"]}"#,
            ),
            (
                "apps/a/package.json",
                r#"{"name":"a","scripts":{"start":"node a.js"},"dependencies":{"b":"*"}}"#,
            ),
            ("apps/a/a.js", "require('http').createServer().listen(3000)"),
            (
                "apps/b/package.json",
                r#"{"name":"b","scripts":{"start":"node b.js"},"dependencies":{"a":"*"}}"#,
            ),
            ("apps/b/b.js", "require('http').createServer().listen(3001)"),
        ],
    );
    // A topology whose services depend on each other (as a compose file or a caller
    // can say).
    let mut topology = analyze(dir.path());
    assert_eq!(topology.services.len(), 2);
    topology.services[0].depends_on = vec!["b".into()];
    topology.services[1].depends_on = vec!["a".into()];
    let plan = Planner::new().plan(&topology);
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(
        codes(&plan).contains(&"dependency-cycle"),
        "{:?}",
        plan.recommendations
    );
    for s in &plan.services {
        assert!(s.spec.depends_on.iter().all(|d| d != "a" && d != "b"));
    }
    let compose = plan.compose().unwrap();
    assert!(!compose.contains("depends_on:\n      a:"), "{compose}");
}

#[test]
fn no_start_command_and_an_unknown_stack_are_recommendations_not_files() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            // An express app with nothing that says how to start it.
            (
                "web/package.json",
                r#"{"name":"web","dependencies":{"express":"^4"}}"#,
            ),
            // A stack Kyozo has no template for.
            (
                "lib/CMakeLists.txt",
                "cmake_minimum_required(VERSION 3.20)\nproject(lib)\nadd_executable(lib main.c)\n",
            ),
            ("lib/main.c", "int main(void) { return 0; }\n"),
        ],
    );
    let topology = analyze(dir.path());
    let plan = Planner::new().plan(&topology);
    assert!(plan.services.is_empty(), "{:?}", plan.services);
    let codes = codes(&plan);
    assert!(codes.contains(&"no-start-command"), "{codes:?}");
    assert!(codes.contains(&"no-template"), "{codes:?}");
    assert!(plan.files().unwrap().is_empty(), "nothing to write");
}

#[test]
fn a_port_clash_is_published_elsewhere_with_a_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    let app = |name: &str| {
        (
            format!("apps/{name}/package.json"),
            format!(r#"{{"name":"{name}","scripts":{{"start":"node server.js"}}}}"#),
        )
    };
    let (a, a_json) = app("a");
    let (b, b_json) = app("b");
    let server =
        "require('http').createServer((q, r) => r.end('ok')).listen(process.env.PORT || 3000)";
    write_files(
        dir.path(),
        &[
            (
                "package.json",
                r#"{"name":"root","private":true,"workspaces":["apps/*"]}"#,
            ),
            (&a, &a_json),
            ("apps/a/server.js", server),
            (&b, &b_json),
            ("apps/b/server.js", server),
        ],
    );
    let plan = Planner::new().plan(&analyze(dir.path()));
    let hosts: Vec<u16> = plan
        .services
        .iter()
        .flat_map(|s| s.spec.ports.iter().filter_map(|p| p.host_port))
        .collect();
    let unique: std::collections::BTreeSet<_> = hosts.iter().collect();
    assert_eq!(unique.len(), hosts.len(), "host ports {hosts:?}");
    assert_eq!(hosts.len(), 2, "{:?}", plan.services);
    assert_eq!(
        plan.services[0].spec.ports[0].container_port,
        plan.services[1].spec.ports[0].container_port,
        "both listen on the same port"
    );
    assert!(
        codes(&plan).contains(&"port-clash"),
        "{:?}",
        plan.recommendations
    );
}

#[test]
fn writing_keeps_the_users_files_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            (
                "package.json",
                r#"{"name":"web","scripts":{"start":"node server.js"}}"#,
            ),
            (
                "server.js",
                "require('http').createServer((q, r) => r.end('ok')).listen(3000)",
            ),
        ],
    );
    let plan = Planner::new().plan(&analyze(dir.path()));
    let written = plan.write(dir.path(), false).unwrap();
    assert!(
        written.iter().all(|w| w.outcome == WriteOutcome::Created),
        "{written:?}"
    );
    // Again: the same files, unchanged.
    let again = plan.write(dir.path(), false).unwrap();
    assert!(
        again.iter().all(|w| w.outcome == WriteOutcome::Unchanged),
        "{again:?}"
    );
    // The user edits the compose file: it is theirs now.
    let compose = dir.path().join(kyozo::plan::COMPOSE_FILE);
    std::fs::write(&compose, "services: {}\n").unwrap();
    let kept = plan.write(dir.path(), false).unwrap();
    let outcome =
        |w: &[kyozo::plan::Written]| w.iter().find(|w| w.path == compose).unwrap().outcome;
    assert_eq!(outcome(&kept), WriteOutcome::KeptUsers);
    assert_eq!(std::fs::read_to_string(&compose).unwrap(), "services: {}\n");
    let forced = plan.write(dir.path(), true).unwrap();
    assert_eq!(outcome(&forced), WriteOutcome::Replaced);
    // A file of Kyozo's edited with its header left in place is the user's too.
    let dockerfile = dir.path().join("Dockerfile");
    let edited = std::fs::read_to_string(&dockerfile)
        .unwrap()
        .replace("USER 10001", "USER 10002");
    std::fs::write(&dockerfile, &edited).unwrap();
    let replanned = Planner::new().plan(&analyze(dir.path()));
    assert!(
        matches!(replanned.services[0].source, ImageSource::Existing { .. }),
        "the edited Dockerfile is the user's: {:?}",
        replanned.services[0].source
    );
    replanned.write(dir.path(), false).unwrap();
    assert_eq!(std::fs::read_to_string(&dockerfile).unwrap(), edited);
    let again = plan.write(dir.path(), false).unwrap();
    assert_eq!(
        again.iter().find(|w| w.path == dockerfile).unwrap().outcome,
        WriteOutcome::KeptUsers
    );
    std::fs::remove_file(&dockerfile).unwrap();
    plan.write(dir.path(), false).unwrap();
    // Analysed again, the Dockerfile Kyozo wrote is still Kyozo's to generate.
    let replanned = Planner::new().plan(&analyze(dir.path()));
    assert!(
        matches!(replanned.services[0].source, ImageSource::Generated { .. }),
        "{:?}",
        replanned.services
    );
}

#[test]
fn base_images_and_templates_can_be_replaced() {
    let topology = common::analyze("python-flask-pip");
    let mut templates = Templates::default();
    templates
        .set(
            "python",
            "# {{ name }} on {{ base }}\nCMD {{ start | json }}\n",
        )
        .unwrap();
    assert!(
        templates.set("python", "{% if %}").is_err(),
        "a broken template is refused"
    );
    let plan = Planner::new()
        .with_images(BaseImages::default().set("python:3.11", "mirror.corp/python:3.11"))
        .with_templates(templates)
        .plan(&topology);
    let ImageSource::Generated { file } = &plan.services[0].source else {
        panic!("{:?}", plan.services[0].source)
    };
    assert!(
        file.contents.starts_with(
            "# python-flask-pip on mirror.corp/python:3.11\nCMD \"gunicorn app:app --bind 0.0.0.0:${PORT:-8000}\"\n# kyozo-checksum: "
        ),
        "{}",
        file.contents
    );
}
