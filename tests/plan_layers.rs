//! What the generated Dockerfiles install, and in which order, read back with the strict
//! Dockerfile splitter: every stack copies its dependency manifests and installs before
//! it copies the code (so a code edit rebuilds only the code layers on the classic
//! builder), every installer trusts the system's CA bundle, python's home is set after
//! the installs, installers are pinned (and the pins overridable), native dependencies
//! get their Debian packages (and the caller's are added), a python folder whose
//! framework app does not exist runs its script, and go without a go.mod builds in a
//! module of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/dockerfile_split.rs"]
mod dockerfile_split;

use std::path::Path;

use dockerfile_split::Instruction;
use kyozo::plan::{BuildTools, ImageSource, Plan, Planner};
use kyozo::topology::TopologyEngine;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

/// The generated Dockerfile of service `name` of `plan`.
fn dockerfile(plan: &Plan, name: &str) -> String {
    let s = plan
        .services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name}: {:?}", plan.recommendations));
    match &s.source {
        ImageSource::Generated { file } => file.contents.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

/// The generated Dockerfile of the only (or first) service of a fixture.
fn fixture_dockerfile(fixture: &str) -> String {
    let plan = Planner::new().plan(&common::analyze(fixture));
    let first = plan
        .services
        .first()
        .unwrap_or_else(|| panic!("{fixture}: {:?}", plan.recommendations));
    dockerfile(&plan, &first.name.clone())
}

fn split(text: &str) -> Vec<Instruction> {
    dockerfile_split::split(text).unwrap_or_else(|why| panic!("{why}:\n{text}"))
}

/// Whether an instruction copies the whole build context (the code).
fn copies_the_code(i: &Instruction) -> bool {
    i.keyword == "COPY" && !i.rest.contains("--from") && i.rest.trim_end().ends_with(". .")
}

/// Asserts that the Dockerfile copies `manifests` (and nothing else) first, then runs a
/// step holding `install`, then copies the code; returns the instructions.
fn assert_dependencies_first(fixture: &str, manifests: &[&str], install: &str) -> Vec<Instruction> {
    let text = fixture_dockerfile(fixture);
    let all = split(&text);
    // The last stage that copies the code (the build stage of multi-stage files).
    let code = all
        .iter()
        .rposition(copies_the_code)
        .unwrap_or_else(|| panic!("{fixture}: no COPY of the code:\n{text}"));
    let stage = all[..code]
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .unwrap();
    let before = &all[stage..code];
    let copied: Vec<String> = before
        .iter()
        .filter(|i| i.keyword == "COPY" && !i.rest.contains("--from"))
        .map(|i| i.rest.split_whitespace().next().unwrap().to_string())
        .collect();
    for m in manifests {
        assert!(
            copied.iter().any(|c| c == &format!("./{m}")),
            "{fixture}: {m} is not copied before the code ({copied:?}):\n{text}"
        );
    }
    let last_copy = before.iter().rposition(|i| i.keyword == "COPY").unwrap();
    assert!(
        before[last_copy..]
            .iter()
            .any(|i| i.keyword == "RUN" && i.rest.contains(install)),
        "{fixture}: no RUN with {install:?} between the manifests and the code:\n{text}"
    );
    all
}

#[test]
fn every_stack_copies_its_manifests_and_installs_before_the_code() {
    assert_dependencies_first(
        "python-fastapi-uv",
        &["pyproject.toml", "uv.lock"],
        "uv sync --frozen --no-dev --no-install-project",
    );
    assert_dependencies_first(
        "python-flask-pip",
        &["requirements.txt"],
        "pip install -r requirements.txt",
    );
    assert_dependencies_first(
        "python-django-poetry",
        &["pyproject.toml", "poetry.lock"],
        "poetry install --no-root --only main",
    );
    assert_dependencies_first(
        "python-pdm",
        &["pyproject.toml", "pdm.lock"],
        "pdm install --prod --no-self",
    );
    assert_dependencies_first(
        "python-pipenv",
        &["Pipfile", "Pipfile.lock"],
        "pipenv install",
    );
    assert_dependencies_first(
        "node-express-npm",
        &["package.json", "package-lock.json"],
        "npm ci",
    );
    assert_dependencies_first(
        "node-nextjs-pnpm",
        &["package.json", "pnpm-lock.yaml"],
        "pnpm install",
    );
    assert_dependencies_first("go-basic", &["go.mod", "go.sum"], "go mod download");
    assert_dependencies_first("rust-axum", &["Cargo.toml", "Cargo.lock"], "cargo fetch");
    assert_dependencies_first(
        "ruby-sinatra",
        &["Gemfile", "Gemfile.lock"],
        "bundle install",
    );
    assert_dependencies_first(
        "php-laravel",
        &["composer.json", "composer.lock"],
        "--no-scripts --no-autoloader",
    );
    assert_dependencies_first("java-spring-maven", &["pom.xml"], "dependency:go-offline");
    assert_dependencies_first(
        "java-spring-gradle",
        &["build.gradle.kts", "gradlew"],
        "dependencies",
    );
    assert_dependencies_first("deno-fresh", &["deno.json"], "deno install");
}

/// A uv project that is a package installs itself once its code is there (its
/// dependencies are already in); one that is not has nothing more to install.
#[test]
fn uv_installs_a_package_project_after_the_code() {
    let after_code = |text: &str| {
        let all = split(text);
        let code = all.iter().position(copies_the_code).unwrap();
        all[code + 1..]
            .iter()
            .any(|i| i.keyword == "RUN" && i.rest.ends_with("uv sync --frozen --no-dev"))
    };
    assert!(!after_code(&fixture_dockerfile("python-fastapi-uv")));
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "pyproject.toml",
                "[project]\nname = \"api\"\nversion = \"1\"\ndependencies = [\"fastapi\"]\n\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
            ),
            ("uv.lock", "version = 1\n"),
            ("main.py", "from fastapi import FastAPI\napp = FastAPI()\n"),
        ],
    );
    let plan = Planner::new().plan(&TopologyEngine::new().analyze(dir.path()).unwrap());
    let text = dockerfile(&plan, &plan.services[0].name.clone());
    assert!(after_code(&text), "{text}");
}

/// A requirements file that installs local code (`-e .`) needs the code first.
#[test]
fn a_requirements_file_with_local_code_copies_the_code_first() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("requirements.txt", "flask\n-r base.txt\n"),
            ("base.txt", "gunicorn\n-e .\n"),
            (
                "setup.py",
                "from setuptools import setup\nsetup(name='x')\n",
            ),
            ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        ],
    );
    // The Dockerfile the folder is planned with.
    let planned = || {
        let plan = Planner::new().plan(&TopologyEngine::new().analyze(dir.path()).unwrap());
        dockerfile(&plan, &plan.services[0].name.clone())
    };
    let code_first = |text: &str| {
        let all = split(text);
        let code = all.iter().position(copies_the_code).unwrap();
        assert!(
            !all[..code].iter().any(|i| i.keyword == "COPY"),
            "nothing copied before the code:\n{text}"
        );
    };
    code_first(&planned());
    // Includes are copied with the file that includes them.
    write(dir.path(), &[("base.txt", "gunicorn\n")]);
    let text = planned();
    assert!(
        text.contains("COPY ./requirements.txt ./requirements.txt\n"),
        "{text}"
    );
    assert!(text.contains("COPY ./base.txt ./base.txt\n"), "{text}");
    // A package named with a local path (`name @ ./path`) is local code too.
    write(
        dir.path(),
        &[("base.txt", "gunicorn\nacme-lib @ ./vendor/acme\n")],
    );
    code_first(&planned());
}

/// Every installer a template runs is told where the system's CA bundle is, when there
/// is one, in the step that runs it.
#[test]
fn every_installer_trusts_the_system_ca_bundle() {
    let cases: &[(&str, &[&str])] = &[
        (
            "python-fastapi-uv",
            &["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"],
        ),
        (
            "node-express-npm",
            &["NODE_EXTRA_CA_CERTS", "npm_config_cafile"],
        ),
        ("node-nestjs-yarn", &["YARN_HTTPS_CA_FILE_PATH"]),
        ("go-basic", &["SSL_CERT_FILE"]),
        ("rust-axum", &["CARGO_HTTP_CAINFO"]),
        ("ruby-sinatra", &["BUNDLE_SSL_CA_CERT", "SSL_CERT_FILE"]),
        ("php-laravel", &["COMPOSER_CAFILE"]),
        ("deno-fresh", &["DENO_CERT"]),
    ];
    for (fixture, variables) in cases {
        let text = fixture_dockerfile(fixture);
        let installs: Vec<Instruction> = split(&text)
            .into_iter()
            .filter(|i| i.keyword == "RUN" && i.rest.contains("ca-certificates.crt"))
            .collect();
        assert!(!installs.is_empty(), "{fixture}:\n{text}");
        for i in &installs {
            assert!(
                i.rest
                    .contains("if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export "),
                "{fixture}: set only when the bundle exists: {}",
                i.rest
            );
            for v in *variables {
                assert!(
                    i.rest
                        .contains(&format!("{v}=/etc/ssl/certs/ca-certificates.crt")),
                    "{fixture}: {v} in {}",
                    i.rest
                );
            }
        }
    }
}

/// Python's installs and build run as root with root's home (their caches are root's:
/// uv, pip, collectstatic), and the app's user has its own writable home.
#[test]
fn python_installs_run_with_roots_home() {
    for fixture in [
        "python-fastapi-uv",
        "python-django-poetry",
        "python-flask-pip",
    ] {
        let text = fixture_dockerfile(fixture);
        let all = split(&text);
        assert!(
            all.iter()
                .any(|i| i.keyword == "ENV" && i.rest.contains("HOME=/home/app")),
            "{text}"
        );
        assert!(
            all.iter()
                .any(|i| i.keyword == "RUN" && i.rest.contains("chown 10001:10001 /home/app")),
            "{text}"
        );
        let installs: Vec<&Instruction> = all
            .iter()
            .filter(|i| {
                i.keyword == "RUN"
                    && ["pip install", "uv sync", "poetry install", "manage.py"]
                        .iter()
                        .any(|w| i.rest.contains(w))
            })
            .collect();
        assert!(!installs.is_empty(), "{text}");
        for i in installs {
            assert!(
                i.rest.starts_with("export HOME=/root && "),
                "{fixture}: {}",
                i.rest
            );
        }
        let user = all.iter().position(|i| i.keyword == "USER").unwrap();
        assert!(
            !all[user..].iter().any(|i| i.keyword == "RUN"),
            "{fixture}: a RUN as the app's user:\n{text}"
        );
    }
}

/// The installers are fetched at the tested version; the caller can pick another.
#[test]
fn installers_are_pinned_and_the_pins_can_be_overridden() {
    let uv = kyozo::plan::TESTED_VERSIONS
        .iter()
        .find(|(t, _)| *t == "uv")
        .unwrap()
        .1;
    let text = fixture_dockerfile("python-fastapi-uv");
    assert!(
        text.contains(&format!("/opt/kyozo-tools/bin/pip install uv=={uv} ")),
        "{text}"
    );
    for (fixture, tool) in [
        ("python-django-poetry", "poetry"),
        ("python-pdm", "pdm"),
        ("python-pipenv", "pipenv"),
    ] {
        let v = BuildTools::default().version(tool).unwrap().to_string();
        let text = fixture_dockerfile(fixture);
        assert!(
            text.contains(&format!("pip install {tool}=={v} ")),
            "{text}"
        );
    }
    // pdm's own dependency hishel is pinned with it: hishel 2.0.0 breaks pdm 2.29.4.
    let text = fixture_dockerfile("python-pdm");
    assert!(
        text.contains("pip install pdm==2.29.4 hishel==1.4.0 "),
        "{text}"
    );
    let topology = common::analyze("python-fastapi-uv");
    let plan = Planner::new()
        .with_build_tools(BuildTools::default().with_version("uv", "0.13.8"))
        .plan(&topology);
    let text = dockerfile(&plan, &plan.services[0].name.clone());
    assert!(text.contains("pip install uv==0.13.8 "), "{text}");
    // A version that is not one is refused, naming where it came from.
    let plan = Planner::new()
        .with_build_tools(BuildTools::default().with_version("uv", "1; touch /x"))
        .plan(&topology);
    assert!(plan.services.is_empty());
    let r = &plan
        .recommendations
        .iter()
        .find(|r| r.code == "unsafe-value")
        .unwrap();
    assert!(r.message.contains("BuildTools"), "{}", r.message);
}

/// psycopg2 compiles against libpq: its Debian packages are installed before the
/// dependencies, with Python's headers when the image has none; the caller's extra
/// packages are added, and a name that is not a Debian package is refused.
#[test]
fn native_dependencies_get_their_debian_packages() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "requirements.txt",
                "flask==3.1.2\ngunicorn\npsycopg2==2.9.10\n",
            ),
            ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        ],
    );
    let topology = TopologyEngine::new().analyze(dir.path()).unwrap();
    let plan = Planner::new().plan(&topology);
    let text = dockerfile(&plan, &plan.services[0].name.clone());
    let all = split(&text);
    let apt = all
        .iter()
        .position(|i| i.keyword == "RUN" && i.rest.contains("apt-get install"))
        .unwrap_or_else(|| panic!("no apt-get install:\n{text}"));
    let rest = &all[apt].rest;
    assert!(rest.contains(" gcc libpq-dev $headers"), "{rest}");
    assert!(rest.contains("'python3-dev'"), "{rest}");
    let install = all
        .iter()
        .position(|i| i.keyword == "RUN" && i.rest.contains("pip install -r"))
        .unwrap();
    assert!(apt < install, "{text}");
    // Without a native dependency, no apt-get.
    let plain = fixture_dockerfile("python-flask-pip");
    assert!(!plain.contains("apt-get"), "{plain}");

    let plan = Planner::new()
        .with_build_tools(BuildTools::default().with_system_packages(["libgeos-dev"]))
        .plan(&topology);
    let text = dockerfile(&plan, &plan.services[0].name.clone());
    assert!(
        text.contains(" gcc libpq-dev libgeos-dev $headers"),
        "{text}"
    );
    let plan = Planner::new()
        .with_build_tools(BuildTools::default().with_system_packages(["--force-yes"]))
        .plan(&topology);
    assert!(plan.services.is_empty(), "{:?}", plan.services);
    assert!(
        plan.recommendations
            .iter()
            .any(|r| r.code == "unsafe-value")
    );
}

/// Node modules built with node-gyp get a compiler and python in the build stage.
#[test]
fn node_gyp_modules_get_a_compiler() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "package.json",
                r#"{"name":"api","scripts":{"start":"node server.js"},"dependencies":{"bcrypt":"^5.1.1","express":"^4.19.0"}}"#,
            ),
            ("package-lock.json", "{}"),
            ("server.js", "require('express')().listen(3000)\n"),
        ],
    );
    let plan = Planner::new().plan(&TopologyEngine::new().analyze(dir.path()).unwrap());
    let text = dockerfile(&plan, "api");
    assert!(
        text.contains("apt-get install -y --no-install-recommends g++ make python3 \\"),
        "{text}"
    );
}

/// A folder whose only code is a `main.py` script, with Flask and gunicorn in its
/// requirements, runs the script: there is no `app.py` for `gunicorn app:app`.
#[test]
fn a_script_runs_when_the_framework_app_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("requirements.txt", "flask\ngunicorn\n"),
            ("main.py", "print('hello')\n"),
        ],
    );
    let topology = TopologyEngine::new().analyze(dir.path()).unwrap();
    let service = &topology.services[0];
    let start = &service.start_command.as_ref().unwrap().value;
    assert!(start.contains("main.py"), "{start}");
    assert!(!start.contains("gunicorn"), "{start}");
    // With the app there, gunicorn serves it.
    write(
        dir.path(),
        &[("app.py", "from flask import Flask\napp = Flask(__name__)\n")],
    );
    let topology = TopologyEngine::new().analyze(dir.path()).unwrap();
    let start = &topology.services[0].start_command.as_ref().unwrap().value;
    assert!(start.starts_with("gunicorn app:app"), "{start}");
}

/// Go sources without a go.mod build in a module made for the build.
#[test]
fn go_without_go_mod_builds_in_a_module_of_its_own() {
    let text = fixture_dockerfile("go-no-gomod");
    let all = split(&text);
    let build = all
        .iter()
        .find(|i| i.keyword == "RUN" && i.rest.contains("go build"))
        .unwrap();
    assert!(
        build
            .rest
            .contains("go mod init kyozo.local/app && go mod tidy && "),
        "{text}"
    );
    // With a go.mod, no module is made.
    let text = fixture_dockerfile("go-basic");
    assert!(!text.contains("go mod init"), "{text}");
}
