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

/// The plan of one fixture against its snapshot.
fn plan_matches_its_snapshot(name: &str) {
    let topology = common::analyze(name);
    let plan = Planner::new().plan(&topology);
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("plan-{name}"), render(&plan));
    });
}

/// One test per fixture, so one failing snapshot does not hide the others.
macro_rules! plan_snapshots {
    ($($test:ident => $fixture:literal,)*) => {
        /// The fixtures the tests below cover.
        const SNAPSHOTTED: &[&str] = &[$($fixture),*];
        mod plan_of {
            $(
                #[test]
                fn $test() {
                    super::plan_matches_its_snapshot($fixture);
                }
            )*
        }
    };
}

plan_snapshots! {
    clojure_deps => "clojure-deps",
    clojure_lein => "clojure-lein",
    compose_invalid => "compose-invalid",
    compose_override => "compose-override",
    compose_stack => "compose-stack",
    cpp_cmake_exe => "cpp-cmake-exe",
    cpp_cmake_library => "cpp-cmake-library",
    cpp_makefile => "cpp-makefile",
    cpp_meson => "cpp-meson",
    crystal_invalid_manifest => "crystal-invalid-manifest",
    crystal_kemal => "crystal-kemal",
    dart_flutter_web => "dart-flutter-web",
    dart_shelf => "dart-shelf",
    dart_workspace => "dart-workspace",
    deno_basic => "deno-basic",
    deno_fresh => "deno-fresh",
    docker_basic => "docker-basic",
    docker_multistage_node => "docker-multistage-node",
    docker_subfolder_go => "docker-subfolder-go",
    dotnet_aspnet => "dotnet-aspnet",
    dotnet_solution => "dotnet-solution",
    elixir_phoenix => "elixir-phoenix",
    elixir_umbrella => "elixir-umbrella",
    gleam_basic => "gleam-basic",
    go_basic => "go-basic",
    go_cmd_layout => "go-cmd-layout",
    go_invalid_gomod => "go-invalid-gomod",
    go_library => "go-library",
    go_no_gomod => "go-no-gomod",
    go_work => "go-work",
    haskell_cabal_exe => "haskell-cabal-exe",
    haskell_cabal_library => "haskell-cabal-library",
    haskell_cabal_workspace => "haskell-cabal-workspace",
    haskell_stack_scotty => "haskell-stack-scotty",
    java_gradle_multiproject => "java-gradle-multiproject",
    java_maven_multimodule => "java-maven-multimodule",
    java_spring_gradle => "java-spring-gradle",
    java_spring_maven => "java-spring-maven",
    kotlin_ktor_gradle => "kotlin-ktor-gradle",
    node_angular => "node-angular",
    node_astro_node => "node-astro-node",
    node_astro_static => "node-astro-static",
    node_corepack_mismatch => "node-corepack-mismatch",
    node_cra => "node-cra",
    node_express_npm => "node-express-npm",
    node_fastify_bun => "node-fastify-bun",
    node_invalid_package_json => "node-invalid-package-json",
    node_monorepo_turbo_pnpm => "node-monorepo-turbo-pnpm",
    node_nestjs_yarn => "node-nestjs-yarn",
    node_nextjs_pnpm => "node-nextjs-pnpm",
    node_no_lockfile => "node-no-lockfile",
    node_npm_workspaces => "node-npm-workspaces",
    node_nuxt => "node-nuxt",
    node_remix => "node-remix",
    node_sveltekit => "node-sveltekit",
    node_vite_spa => "node-vite-spa",
    php_laravel => "php-laravel",
    php_plain => "php-plain",
    php_symfony => "php-symfony",
    plan_flask => "plan-flask",
    plan_node => "plan-node",
    procfile_basic => "procfile-basic",
    python_django_poetry => "python-django-poetry",
    python_fastapi_uv => "python-fastapi-uv",
    python_flask_pip => "python-flask-pip",
    python_invalid_pyproject => "python-invalid-pyproject",
    python_pdm => "python-pdm",
    python_pipenv => "python-pipenv",
    python_requirements_only_script => "python-requirements-only-script",
    python_streamlit => "python-streamlit",
    python_uv_workspace => "python-uv-workspace",
    ruby_rack => "ruby-rack",
    ruby_rails => "ruby-rails",
    ruby_sinatra => "ruby-sinatra",
    rust_axum => "rust-axum",
    rust_invalid_cargo_toml => "rust-invalid-cargo-toml",
    rust_workspace => "rust-workspace",
    scala_play => "scala-play",
    scala_sbt => "scala-sbt",
    shell_start_sh => "shell-start-sh",
    static_index => "static-index",
    static_staticfile => "static-staticfile",
    swift_cli => "swift-cli",
    swift_vapor => "swift-vapor",
    zig_exe => "zig-exe",
    zig_library => "zig-library",
}

/// A fixture added to `tests/fixtures` gets a snapshot test here too.
#[test]
fn every_fixture_has_a_plan_snapshot_test() {
    assert_eq!(SNAPSHOTTED, fixtures());
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

/// The planner reads what the detectors saw, never the disk again: a folder changed
/// between the analysis and the plan is planned as it was analysed (its start script,
/// its dependencies, its Staticfile, the absence of a compose file).
#[test]
fn the_plan_reads_what_the_detectors_saw() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_files(
        root,
        &[
            (
                "api/package.json",
                r#"{"name": "api", "scripts": {"start": "node server.js"}}"#,
            ),
            (
                "api/server.js",
                "require('http').createServer().listen(3000)\n",
            ),
            ("site/Staticfile", "root: public\n"),
            ("site/public/index.html", "<p>hi</p>\n"),
        ],
    );
    let topology = analyze(root);
    // Changed on disk after the analysis.
    write_files(
        root,
        &[
            (
                "api/package.json",
                r#"{"name": "api", "scripts": {"start": "node other.js"}, "dependencies": {"left-pad": "1"}}"#,
            ),
            ("site/Staticfile", "root: elsewhere\n"),
            (
                "compose.yaml",
                "services:\n  api:\n    build: ./api\n    ports: ['9999:3000']\n",
            ),
        ],
    );
    let plan = Planner::new().plan(&topology);
    let dockerfile = |name: &str| match &plan
        .services
        .iter()
        .find(|s| s.name == name)
        .unwrap()
        .source
    {
        ImageSource::Generated { file } => file.contents.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let api = dockerfile("api");
    assert!(api.contains("node server.js"), "{api}");
    assert!(!api.contains("other.js") && !api.contains("npm"), "{api}");
    let site = dockerfile("site");
    assert!(
        site.contains("public") && !site.contains("elsewhere"),
        "{site}"
    );
    assert_eq!(plan.user_compose, None);
    assert!(plan.user_services.is_empty());
}

/// A template given for a stack Kyozo has none for (crystal here; a plugin's made-up
/// stack alike) plans that stack's services with it, with the base image the map gives
/// the stack.
#[test]
fn a_template_for_a_stack_kyozo_has_none_for_is_used() {
    let topology = common::analyze("crystal-kemal");
    assert_eq!(topology.services[0].language, "crystal");
    let without = Planner::new().plan(&topology);
    assert!(without.services.is_empty(), "{:?}", without.services);
    assert!(codes(&without).contains(&"no-template"));

    let mut templates = Templates::default();
    templates
        .set(
            "crystal",
            "FROM {{ base }}\n# {{ stack }} service {{ name }}\nCMD {{ start | json }}\n",
        )
        .unwrap();
    let plan = Planner::new()
        .with_images(BaseImages::default().set("crystal", "mirror.corp/crystal:1"))
        .with_templates(templates)
        .plan(&topology);
    assert!(
        !codes(&plan).contains(&"no-template"),
        "{:?}",
        plan.recommendations
    );
    let ImageSource::Generated { file } = &plan.services[0].source else {
        panic!("{:?}", plan.services)
    };
    assert!(
        file.contents
            .starts_with("FROM mirror.corp/crystal:1\n# crystal service todo-api\nCMD "),
        "{}",
        file.contents
    );
    assert_eq!(
        plan.services[0]
            .spec
            .labels
            .get("dev.kyozo.stack")
            .map(String::as_str),
        Some("crystal")
    );
}
