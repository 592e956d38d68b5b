//! The python detector: every folder with a Python manifest (`pyproject.toml`,
//! `requirements.txt` or `requirements/*.txt`, `Pipfile`, `setup.py`/`setup.cfg`, a
//! lockfile), plus weak signals (`manage.py`, or a root `app.py`/`main.py` that imports
//! a web framework, with no manifest at all).
//!
//! - **Package manager**, first match: `uv.lock` (uv), `poetry.lock` (poetry), `pdm.lock`
//!   (pdm), `Pipfile.lock` (pipenv), then `[tool.poetry]`, `[tool.pdm]`, `[tool.uv]`,
//!   `Pipfile`, and pip for `requirements.txt` (or `requirements/production.txt`,
//!   `prod.txt`, `base.txt`...), `setup.py` or a PEP 621 project. Install:
//!   `uv sync --frozen --no-dev` (production deps only, like the others; a uv
//!   workspace member adds `--package <name>`), `poetry install --no-root --only main`,
//!   `pdm install --prod`, `pipenv install --deploy`, `pip install -r requirements.txt`
//!   (or `pip install .`). Commands then run through the manager (`poetry run`,
//!   `uv run --no-sync`, `pdm run`, `pipenv run`) so they find the environment it
//!   installed into. `-r` includes are followed for the dependencies.
//! - **Frameworks** from the dependencies, confirmed in code: django (`manage.py`, its
//!   `DJANGO_SETTINGS_MODULE` gives the project: `gunicorn <project>.wsgi`, uvicorn or
//!   daphne on `<project>.asgi`, else `manage.py runserver`; build `collectstatic` when
//!   the settings set `STATIC_ROOT`), fastapi (the module that creates `FastAPI(`:
//!   `uvicorn module:app`), flask (the module that creates `Flask(` or defines
//!   `create_app`: gunicorn or waitress when one is a dependency, else `flask run`),
//!   streamlit (the file that imports it: `streamlit run <file>`). Start commands bind
//!   `0.0.0.0` and `${PORT:-<port>}`, so they work whether or not the platform sets
//!   `PORT`. Without a framework: a celery worker (`celery -A <module> worker`), a pdm
//!   or Pipfile `start` script, `main.py`/`app.py`/..., a file with a `__main__` guard,
//!   `python -m <package>`, or the project's only console script.
//! - **Ports**: `PORT` in an example env file, the flask `app.run(port=...)` or
//!   `.streamlit/config.toml` `server.port`; else the default of what serves the app:
//!   8000 for gunicorn/uvicorn (django, fastapi, flask under gunicorn), 5000 for the
//!   flask development server, 8080 for waitress, 8501 for streamlit.
//! - **Health checks**: a health route (`/healthz`, `/health`, `/ping`...) written in the
//!   app module; streamlit's `/_stcore/health`.
//! - **Runtime version** precedence: `.python-version` (the folder or an ancestor) >
//!   `.tool-versions` `python` > `runtime.txt` (`python-3.12.1`) > `pyproject.toml`
//!   `project.requires-python` > `[tool.poetry.dependencies] python` > `Pipfile`
//!   `[requires] python_full_version` / `python_version`. Constraints are reduced to a
//!   version that satisfies them (`>=3.11` and `^3.11` → `3.11`); the source keeps the
//!   constraint.
//! - **Env and backing services**: env names of the example env files and of what the
//!   settings (django) or the app module read (`os.environ`, `os.getenv`,
//!   django-environ, python-decouple); backing services from the dependencies, then the
//!   env names (`DATABASE_URL` is checked against the example value's scheme).
//! - **Kinds**: a package (`[project]`, `[tool.poetry]` or `setup.py`) with no framework
//!   app and nothing to run is a library (also one that depends on a framework but
//!   creates no app: a plugin). A uv workspace root without a `[project]` is a
//!   workspace root (`uv-workspace`); its members build from it (`context`) to see
//!   `uv.lock`. Not reported: a nested folder with nothing to run (helper scripts',
//!   tests' or docs' requirements), helper folders (`scripts`, `tools`, `docs`...)
//!   without a framework, documentation tooling (sphinx, mkdocs), installed packages
//!   of a virtual environment.
//! - **Confidence**: a manifest 0.7 (tool-only or invalid pyproject 0.5), +0.05 with a
//!   lockfile, +0.15 for a framework and +0.05 when its app is found in code; without
//!   a framework, a celery worker or a script keeps the manifest's figure (it runs; that
//!   it serves no traffic makes it a worker or a job, not a doubt), a root with nothing
//!   to run loses 0.35; weak signals start at 0.4; an invalid pyproject costs 0.1.
//!
//! The module's parts: `deps` (manager, requirements, install command, runtime
//! version) and `frameworks` (Django, FastAPI, Flask, Streamlit, scripts, celery). The
//! helpers it shares with other detectors are in `builtin/shared.rs`.

use crate::model::shell_quote;
use crate::topology::Provenance;
use crate::topology::common::lookup;
use crate::topology::is_inside;
use crate::topology::resolve_relative;
use std::collections::{BTreeMap, BTreeSet};

use super::shared::PYTHON_MANIFESTS as MANIFESTS;
use super::shared::{
    env_backing, env_names_in, example_port, files_under, health_route, push_unique,
    version_from_constraint,
};
use crate::topology::common;
use crate::topology::manifest::pipfile::{self, Pipfile};
use crate::topology::manifest::pyproject::{self, Pyproject};
use crate::topology::manifest::requirements;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Note, ProjectView, Sourced, backing,
    file_name, join, parent,
};

mod deps;
use deps::*;
mod frameworks;
use frameworks::*;

/// The requirements file of a `requirements/` folder, in order of preference.
const REQUIREMENTS_DIR_FILES: &[&str] = &[
    "production.txt",
    "prod.txt",
    "base.txt",
    "common.txt",
    "requirements.txt",
    "main.txt",
];

/// Files that run a script project, in order of preference.
const SCRIPT_ENTRIES: &[&str] = &[
    "main.py",
    "app.py",
    "run.py",
    "server.py",
    "bot.py",
    "worker.py",
    "src/main.py",
];

/// Files searched first for an app object, in order of preference.
const APP_MODULES: &[&str] = &[
    "app.py",
    "main.py",
    "wsgi.py",
    "asgi.py",
    "server.py",
    "application.py",
    "api.py",
    "run.py",
    "app/main.py",
    "app/__init__.py",
    "app/app.py",
    "api/main.py",
    "src/main.py",
    "src/app.py",
];

/// Streamlit entry files, in order of preference.
const STREAMLIT_ENTRIES: &[&str] = &[
    "streamlit_app.py",
    "app.py",
    "main.py",
    "Home.py",
    "Hello.py",
    "dashboard.py",
];

/// Root files that make a folder without a manifest a (weak) Python app when they
/// import a web framework.
const WEAK_ROOT_FILES: &[&str] = &["app.py", "main.py", "streamlit_app.py"];

/// Frameworks recognised from imports when there is no manifest to list them.
const FRAMEWORK_IMPORTS: &[(&str, &str)] = &[
    ("django", "django"),
    ("fastapi", "fastapi"),
    ("flask", "flask"),
    ("streamlit", "streamlit"),
];

/// Folders of helper scripts: never a service of their own without a framework.
const UTILITY_DIRS: &[&str] = &[
    "bin",
    "ci",
    "doc",
    "docs",
    "documentation",
    "hack",
    "scripts",
    "tools",
];

/// Dependencies that mean a backing service and are not (yet) in the shared table.
const PYTHON_BACKING: &[(&str, &str)] = &[
    ("aio-pika", "rabbitmq"),
    ("beanie", "mongodb"),
    ("channels-redis", "redis"),
    ("django-redis", "redis"),
    ("psycopg-binary", "postgres"),
    ("psycopg-pool", "postgres"),
    ("rq", "redis"),
];

/// How code reads env vars (`os.environ.get("X")`, django-environ, python-decouple).
const ENV_READS: &[&str] = &[
    "config(",
    "env(",
    "env.bool(",
    "env.db(",
    "env.int(",
    "env.list(",
    "env.str(",
    "environ.get(",
    "environ[",
    "getenv(",
];

/// Detects python projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PythonDetector;

impl Detector for PythonDetector {
    fn id(&self) -> &str {
        "python"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut manifest_dirs: BTreeSet<String> = BTreeSet::new();
        for name in MANIFESTS {
            for path in view.named(name) {
                manifest_dirs.insert(parent(path).to_string());
            }
        }
        for dir in view.dirs().filter(|d| file_name(d) == "requirements") {
            if view.files_in(dir).any(|f| f.ends_with(".txt")) {
                manifest_dirs.insert(parent(dir).to_string());
            }
        }
        let mut weak_dirs: BTreeSet<String> = view
            .named("manage.py")
            .iter()
            .map(|p| parent(p).to_string())
            .collect();
        if WEAK_ROOT_FILES.iter().any(|f| {
            view.text(f)
                .is_some_and(|t| !imported_frameworks(&t).is_empty())
        }) {
            weak_dirs.insert(String::new());
        }
        // A weak signal inside a Python project is part of it (a `manage.py` one
        // folder down is handled by the project).
        weak_dirs.retain(|d| {
            !manifest_dirs.contains(d) && !manifest_dirs.iter().any(|m| is_inside(d, m))
        });
        // Installed packages of a virtual environment the walk did not skip (a venv
        // not named `venv`/`.venv`) are not projects.
        let venvs: Vec<&str> = view.named("pyvenv.cfg").iter().map(|p| parent(p)).collect();
        let installed = |d: &String| {
            venvs.iter().any(|v| d == v || is_inside(d, v))
                || d.split('/').any(|part| part == "site-packages")
        };
        manifest_dirs.retain(|d| !installed(d));
        weak_dirs.retain(|d| !installed(d));

        let mut pyprojects: BTreeMap<String, Option<Pyproject>> = BTreeMap::new();
        for dir in &manifest_dirs {
            let path = join(dir, "pyproject.toml");
            if let Some(text) = view.text(&path) {
                let parsed = match pyproject::parse(&text) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        common::invalid(view, &path, e);
                        None
                    }
                };
                pyprojects.insert(dir.clone(), parsed);
            }
        }
        let workspaces = uv_workspaces(&pyprojects);

        Ok(manifest_dirs
            .iter()
            .chain(&weak_dirs)
            .filter_map(|dir| analyse(view, dir, &pyprojects, &workspaces))
            .collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manager {
    Pip,
    Poetry,
    Pdm,
    Uv,
    Pipenv,
}

impl Manager {
    fn name(self) -> &'static str {
        match self {
            Manager::Pip => "pip",
            Manager::Poetry => "poetry",
            Manager::Pdm => "pdm",
            Manager::Uv => "uv",
            Manager::Pipenv => "pipenv",
        }
    }

    /// What commands are prefixed with to run in the environment the manager made.
    fn runner(self) -> &'static str {
        match self {
            Manager::Pip => "",
            Manager::Poetry => "poetry run ",
            Manager::Pdm => "pdm run ",
            Manager::Uv => "uv run --no-sync ",
            Manager::Pipenv => "pipenv run ",
        }
    }

    fn lockfile(self) -> Option<&'static str> {
        match self {
            Manager::Pip => None,
            Manager::Poetry => Some("poetry.lock"),
            Manager::Pdm => Some("pdm.lock"),
            Manager::Uv => Some("uv.lock"),
            Manager::Pipenv => Some("Pipfile.lock"),
        }
    }
}

/// How the app is served once the framework is known.
#[derive(Debug)]
struct Serving {
    framework: &'static str,
    start: String,
    start_source: Provenance,
    port: Sourced<u16>,
    confirmed: bool,
}

fn analyse(
    view: &ProjectView,
    dir: &str,
    pyprojects: &BTreeMap<String, Option<Pyproject>>,
    workspaces: &[Workspace],
) -> Option<Detection> {
    let at = |name: &str| join(dir, name);
    let mut evidence: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    let mut deps = Deps::default();
    let mut manifest_strength = 0.0f64;

    // pyproject.toml
    let pyproject_path = at("pyproject.toml");
    let pyproject: Option<&Pyproject> = pyprojects.get(dir).and_then(Option::as_ref);
    if view.is_file(&pyproject_path) {
        match pyproject {
            Some(p) if p.is_project() => {
                manifest_strength = 0.7;
                evidence.push((
                    pyproject_path.clone(),
                    "pyproject.toml declares a Python project".into(),
                ));
                if let Some(project) = &p.project {
                    for r in &project.dependencies {
                        deps.add(&r.name, &r.extras, &pyproject_path);
                    }
                }
                if let Some(poetry) = &p.poetry {
                    for name in &poetry.dependencies {
                        deps.add(name, &[], &pyproject_path);
                    }
                }
            }
            Some(_) => {
                manifest_strength = 0.5;
                evidence.push((
                    pyproject_path.clone(),
                    "pyproject.toml configures Python tools".into(),
                ));
            }
            None => {
                manifest_strength = 0.5;
                evidence.push((
                    pyproject_path.clone(),
                    "pyproject.toml (invalid, see warnings)".into(),
                ));
                notes.push(Note::new(
                    "invalid-manifest",
                    format!("{pyproject_path} is not valid TOML: fix it, builds will fail"),
                ));
            }
        }
    }

    // requirements.txt or requirements/<x>.txt, with its includes.
    let requirements = read_requirements(view, dir, &mut deps);
    if let Some(r) = &requirements {
        manifest_strength = manifest_strength.max(if r.total > 0 { 0.7 } else { 0.5 });
        evidence.push((
            at(&r.relative),
            if r.included.is_empty() {
                format!("{} lists {} Python packages", r.relative, r.total)
            } else {
                format!(
                    "{} lists {} Python packages (with {})",
                    r.relative,
                    r.total,
                    r.included.join(", ")
                )
            },
        ));
    }

    // Pipfile
    let pipfile_path = at("Pipfile");
    let pipfile: Option<Pipfile> = view.text(&pipfile_path).and_then(|text| {
        pipfile::parse(&text)
            .map_err(|e| common::invalid(view, &pipfile_path, e))
            .ok()
    });
    if let Some(p) = &pipfile {
        manifest_strength = manifest_strength.max(0.7);
        evidence.push((pipfile_path.clone(), "Pipfile (pipenv)".into()));
        for name in &p.packages {
            deps.add(name, &[], &pipfile_path);
        }
    }

    // setup.py / setup.cfg
    for name in ["setup.py", "setup.cfg"] {
        let path = at(name);
        if let Some(text) = view.text(&path) {
            manifest_strength = manifest_strength.max(0.7);
            evidence.push((path.clone(), format!("{name} (setuptools package)")));
            for r in setup_requirements(&text) {
                deps.add(&r.name, &r.extras, &path);
            }
        }
    }

    let is_weak = manifest_strength == 0.0;
    let weak_reason = if view.is_file(&at("manage.py")) {
        "manage.py without a Python manifest"
    } else {
        "Python entry file without a manifest"
    };
    if is_weak {
        // No manifest lists the dependencies: take the frameworks the entry imports.
        for file in WEAK_ROOT_FILES.iter().chain(&["manage.py"]) {
            let path = at(file);
            if let Some(text) = view.text(&path) {
                for framework in imported_frameworks(&text) {
                    deps.add(framework, &[], &format!("{path} import"));
                }
            }
        }
        notes.push(Note::new(
            "no-manifest",
            "no requirements.txt or pyproject.toml: the dependencies cannot be installed; add a manifest that lists them",
        ));
    }

    // Documentation folders are not services.
    let doc_tools = ["sphinx", "mkdocs", "mkdocs-material"];
    let has_framework_dep = ["django", "fastapi", "flask", "streamlit"]
        .iter()
        .any(|f| deps.has(f));
    if !has_framework_dep && doc_tools.iter().any(|t| deps.has(t)) {
        return None;
    }

    // Package manager.
    let workspace = workspaces
        .iter()
        .find(|w| w.root != dir && w.members.is_match(dir) && !w.exclude.is_match(dir));
    let lock_in = |name: &str| {
        let own = at(name);
        if view.is_file(&own) {
            return Some(own);
        }
        workspace
            .map(|w| join(&w.root, name))
            .filter(|p| view.is_file(p))
    };
    let manager: Option<(Manager, String)> = if let Some(l) = lock_in("uv.lock") {
        Some((Manager::Uv, l))
    } else if let Some(l) = lock_in("poetry.lock") {
        Some((Manager::Poetry, l))
    } else if let Some(l) = lock_in("pdm.lock") {
        Some((Manager::Pdm, l))
    } else if let Some(l) = lock_in("Pipfile.lock") {
        Some((Manager::Pipenv, l))
    } else if pyproject.is_some_and(|p| p.poetry.is_some()) {
        Some((Manager::Poetry, format!("{pyproject_path} [tool.poetry]")))
    } else if pyproject.is_some_and(|p| p.pdm.is_some()) {
        Some((Manager::Pdm, format!("{pyproject_path} [tool.pdm]")))
    } else if pyproject.is_some_and(|p| p.uv.is_some()) || workspace.is_some() {
        Some((Manager::Uv, format!("{pyproject_path} [tool.uv]")))
    } else if pipfile.is_some() {
        Some((Manager::Pipenv, pipfile_path.clone()))
    } else if let Some(r) = &requirements {
        Some((Manager::Pip, at(&r.relative)))
    } else if pyproject.is_some_and(Pyproject::is_project)
        || view.is_file(&at("setup.py"))
        || view.is_file(&at("setup.cfg"))
    {
        let source = if pyproject.is_some_and(Pyproject::is_project) {
            pyproject_path.clone()
        } else {
            at("setup.py")
        };
        Some((Manager::Pip, source))
    } else {
        None
    };
    let has_lock = manager
        .as_ref()
        .and_then(|(m, _)| m.lockfile())
        .and_then(lock_in);
    if let Some(lock) = &has_lock {
        evidence.push((lock.clone(), "lockfile pins the dependencies".into()));
    } else if let Some((m, _)) = manager.as_ref().filter(|(m, _)| *m != Manager::Pip) {
        let lock = m.lockfile().unwrap_or("a lockfile");
        notes.push(Note::new(
            "no-lockfile",
            format!(
                "no {lock}: installs are not reproducible; run `{} lock` and commit {lock}",
                m.name()
            ),
        ));
    }
    let runner = manager.as_ref().map_or("", |(m, _)| m.runner());

    // uv workspace root.
    let is_workspace_root = pyproject
        .and_then(|p| p.uv.as_ref())
        .is_some_and(|u| u.workspace_members.is_some());

    // Framework and how it is served.
    let example_port = example_port(view, dir);
    let is_package = pyproject.is_some_and(Pyproject::is_project)
        || view.is_file(&at("setup.py"))
        || view.is_file(&at("setup.cfg"));
    let mut framework_notes: Vec<Note> = Vec::new();
    let mut framework_evidence: Vec<(String, String)> = Vec::new();
    let serving = django(
        view,
        dir,
        &deps,
        runner,
        example_port.as_ref(),
        &mut framework_notes,
        &mut framework_evidence,
    )
    .or_else(|| {
        fastapi(
            view,
            dir,
            &deps,
            runner,
            example_port.as_ref(),
            &mut framework_notes,
            &mut framework_evidence,
        )
    })
    .or_else(|| {
        flask(
            view,
            dir,
            &deps,
            runner,
            example_port.as_ref(),
            &mut framework_notes,
            &mut framework_evidence,
        )
    })
    .or_else(|| {
        streamlit(
            view,
            dir,
            &deps,
            runner,
            example_port.as_ref(),
            &mut framework_evidence,
        )
    })
    // A package that depends on a framework but creates no app is a library (a
    // plugin, an extension). A start command inferred from a dependency needs its app:
    // without one, the folder's script runs instead (a `main.py` that prints, with
    // flask and gunicorn in the requirements, is not `gunicorn app:app`).
    .filter(|s| {
        s.confirmed
            || s.framework == "django"
            || (!is_package
                && script_entry(view, dir, pyproject, pipfile.as_ref(), runner).is_none())
    });
    if serving.is_some() {
        notes.append(&mut framework_notes);
        evidence.append(&mut framework_evidence);
    }

    // A celery app: the worker of a web app, or the service itself.
    let celery = if deps.has("celery") {
        celery_app(view, dir)
    } else {
        None
    };
    let worker_command = |target: &str| {
        format!(
            "{runner}celery -A {} worker --loglevel=INFO",
            shell_quote(target)
        )
    };
    if serving.is_some()
        && let Some((target, _)) = &celery
    {
        notes.push(Note::new(
            "celery-worker",
            format!(
                "celery tasks need a worker: run `{}` as a second service",
                worker_command(target)
            ),
        ));
    }

    // Without a framework: a celery worker, a script, a start script, or nothing.
    let (script, worker) = match (&serving, &celery) {
        (Some(_), _) => (None, false),
        (None, Some((target, file))) => (Some((worker_command(target), file.clone())), true),
        (None, None) => (
            script_entry(view, dir, pyproject, pipfile.as_ref(), runner),
            false,
        ),
    };
    let runnable = serving.is_some() || script.is_some();
    // A nested folder with nothing to run (helper scripts' or docs' requirements) is
    // not a service; only the root is reported anyway, so the user sees what was found.
    if !runnable && !is_package && !dir.is_empty() {
        return None;
    }
    if serving.is_none() && UTILITY_DIRS.contains(&file_name(dir)) {
        return None;
    }

    let mut detection = Detection::new("python", dir, "python", 0.0);
    let kind = if is_workspace_root && pyproject.is_none_or(|p| p.project.is_none()) {
        DetectionKind::WorkspaceRoot
    } else if !runnable && is_package {
        DetectionKind::Library
    } else {
        DetectionKind::Service
    };
    detection.kind = kind;

    // Confidence.
    let mut confidence = if is_weak { 0.4 } else { manifest_strength };
    if has_lock.is_some() {
        confidence += 0.05;
    }
    match &serving {
        Some(s) => {
            confidence += 0.15;
            if s.confirmed {
                confidence += 0.05;
            }
        }
        // A worker or a script clearly runs (a file that exists is its entry point): it
        // only serves no traffic, which says what kind of service it is, not whether
        // the folder is Python. Nothing to run at all is the doubt.
        None if kind == DetectionKind::Service && !is_weak && script.is_none() => {
            confidence -= 0.35;
        }
        None => {}
    }
    if pyproject.is_none() && view.is_file(&pyproject_path) {
        confidence -= 0.1;
    }
    detection.confidence = confidence.clamp(0.05, 0.95);
    if is_weak {
        let file = if view.is_file(&at("manage.py")) {
            at("manage.py")
        } else {
            ["app.py", "main.py", "streamlit_app.py"]
                .iter()
                .map(|f| at(f))
                .find(|f| view.is_file(f))
                .unwrap_or_else(|| dir.to_string())
        };
        evidence.push((file, weak_reason.to_string()));
    }

    let hints = &mut detection.hints;
    hints.name = pyproject
        .and_then(Pyproject::name)
        .map(|n| Sourced::new(n.to_string(), format!("{pyproject_path} name")));
    if let Some((m, source)) = &manager {
        hints.package_manager = Some(Sourced::new(m.name().to_string(), source.clone()));
        hints.install_command = install_command(
            *m,
            dir,
            requirements.as_ref(),
            has_lock.is_some(),
            workspace,
            pyproject,
            &pyproject_path,
        );
    }
    if let Some(w) = workspace {
        hints.context = Some(w.root.clone());
        hints.patterns.push("uv-workspace".into());
    }
    if is_workspace_root {
        hints.patterns.push("uv-workspace".into());
    }
    hints.runtime_version = runtime_version(
        view,
        dir,
        pyproject,
        &pyproject_path,
        pipfile.as_ref(),
        &pipfile_path,
    );

    if let Some(s) = &serving {
        let source = deps
            .names
            .get(s.framework)
            .map(Provenance::from)
            .unwrap_or_else(|| s.start_source.clone());
        evidence.push((
            source.to_string(),
            format!("{} in the dependencies", s.framework),
        ));
        hints.framework = Some(Sourced::new(s.framework.to_string(), source));
        hints.start_command = Some(Sourced::new(s.start.clone(), s.start_source.clone()));
        hints.ports.push(s.port.clone());
        hints.healthcheck = healthcheck(view, s);
    } else if let Some((cmd, source)) = &script {
        let reason = if worker {
            format!("creates the Celery app: {cmd}")
        } else {
            format!("runs as a script: {cmd}")
        };
        evidence.push((source.clone(), reason));
        hints.start_command = Some(Sourced::new(cmd.clone(), source.clone()));
    }
    if serving.as_ref().is_some_and(|s| s.framework == "django") {
        hints.build_command = django_build(view, dir, runner);
    }

    // Env names: example files, and what the settings or the app module read.
    let mut env = common::env_from_examples(view, dir);
    let mut files = env_files(view, dir, serving.as_ref());
    if let Some((_, source)) = &script
        && view.is_file(source)
    {
        files.push(source.clone());
    }
    for file in files {
        if let Some(text) = view.text(&file) {
            for name in env_names_in(&text, ENV_READS) {
                push_unique(&mut env, name, &file);
            }
        }
    }

    // Backing services: dependencies first, then env names.
    let mut backing_services: Vec<Sourced<String>> = Vec::new();
    for (name, source) in &deps.names {
        let b = backing::from_package(name).or_else(|| lookup(PYTHON_BACKING, name));
        if let Some(b) = b {
            push_unique(
                &mut backing_services,
                b.to_string(),
                format!("{source} {name}"),
            );
        }
    }
    for b in env_backing(view, dir, &env, &backing_services, false) {
        if !backing_services.iter().any(|x| x.value == b.value) {
            backing_services.push(b);
        }
    }
    hints.env = env;
    hints.backing_services = backing_services;

    if manager.as_ref().is_some_and(|(m, _)| *m == Manager::Pip)
        && let Some(r) = &requirements
        && !r.unpinned.is_empty()
        && serving.is_some()
    {
        let shown: Vec<&str> = r.unpinned.iter().take(3).map(String::as_str).collect();
        notes.push(Note::new(
            "unpinned-dependencies",
            format!(
                "{} does not pin {} of {} packages ({}{}): pin them (`pip freeze`, pip-tools or a lockfile) for reproducible installs",
                r.relative,
                r.unpinned.len(),
                r.total,
                shown.join(", "),
                if r.unpinned.len() > 3 { ", ..." } else { "" }
            ),
        ));
    }
    hints.notes = notes;

    evidence.sort();
    evidence.dedup();
    for (path, reason) in evidence {
        detection = detection.with_evidence(path, reason);
    }
    Some(detection)
}

/// A Python module name for a file relative to the project (`app/main.py` → `app.main`,
/// `app/__init__.py` → `app`).
fn module_of(relative: &str) -> String {
    let stem = relative.strip_suffix(".py").unwrap_or(relative);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.replace('/', ".")
}

fn relative_to<'a>(dir: &str, path: &'a str) -> &'a str {
    if dir.is_empty() {
        path
    } else {
        path.strip_prefix(dir)
            .and_then(|p| p.strip_prefix('/'))
            .unwrap_or(path)
    }
}

/// Python files of the project to search for an app object: the usual module names
/// first, then any other file up to two folders deep (not tests, docs, migrations, or
/// other projects).
fn candidate_modules(view: &ProjectView, dir: &str, preferred: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = preferred
        .iter()
        .map(|f| join(dir, f))
        .filter(|f| view.is_file(f))
        .collect();
    for f in files_under(view, dir, 2, "py", 200) {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// Where `file` (relative to the project) sits: its module, and the folder to run from
/// when the code lives under `src/` (`src/app/main.py` → `app.main`, from `src`).
fn module_and_dir(relative: &str) -> (String, Option<&'static str>) {
    match relative.strip_prefix("src/") {
        Some(inner) => (module_of(inner), Some("src")),
        None => (module_of(relative), None),
    }
}

fn port_or(example: Option<&Sourced<u16>>, port: u16, default_source: Provenance) -> Sourced<u16> {
    example
        .cloned()
        .unwrap_or_else(|| Sourced::new(port, default_source))
}

/// A health endpoint the app module declares (`@app.get("/health")`), or the one the
/// framework always serves (streamlit's `/_stcore/health`).
fn healthcheck(view: &ProjectView, serving: &Serving) -> Option<Sourced<String>> {
    if serving.framework == "streamlit" {
        return Some(Sourced::assumed("/_stcore/health".to_string(), "streamlit"));
    }
    let text = view.text(declared_file(&serving.start_source)?)?;
    health_route(&text).map(|p| Sourced::new(p.to_string(), serving.start_source.clone()))
}

/// The file an app's value was read from: its module (`app.py`), unless it was assumed.
fn declared_file(source: &Provenance) -> Option<&str> {
    match source {
        Provenance::Declared { at } => Some(at),
        _ => None,
    }
}

/// Files whose env reads are the app's configuration.
fn env_files(view: &ProjectView, dir: &str, serving: Option<&Serving>) -> Vec<String> {
    let Some(s) = serving else {
        return Vec::new();
    };
    if s.framework == "django" {
        return django_settings_files(view, dir);
    }
    let mut files = Vec::new();
    if let Some(f) = declared_file(&s.start_source).filter(|f| view.is_file(f)) {
        files.push(f.to_string());
    }
    for f in [
        "config.py",
        "settings.py",
        "app/config.py",
        "app/core/config.py",
    ] {
        let path = join(dir, f);
        if view.is_file(&path) && !files.contains(&path) {
            files.push(path);
        }
    }
    files
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn health_routes_of_the_one_list() {
        assert_eq!(
            health_route("@app.get('/api/health')\ndef h(): ..."),
            Some("/api/health")
        );
        assert_eq!(
            health_route(r#"@app.get("/health-check/")"#),
            Some("/health-check")
        );
    }

    #[test]
    fn constraints() {
        assert_eq!(version_from_constraint(">=3.11").as_deref(), Some("3.11"));
        assert_eq!(
            version_from_constraint(">= 3.9, <3.13").as_deref(),
            Some("3.9")
        );
        assert_eq!(version_from_constraint("^3.11.2").as_deref(), Some("3.11"));
        assert_eq!(version_from_constraint("~=3.10").as_deref(), Some("3.10"));
        assert_eq!(version_from_constraint("~> 1.15").as_deref(), Some("1.15"));
        assert_eq!(
            version_from_constraint("==3.11.4").as_deref(),
            Some("3.11.4")
        );
        assert_eq!(version_from_constraint("3.12.*").as_deref(), Some("3.12"));
        assert_eq!(version_from_constraint("8.2.12").as_deref(), Some("8.2.12"));
        assert_eq!(
            version_from_constraint("^8.1 || ^8.2").as_deref(),
            Some("8.1")
        );
        assert_eq!(version_from_constraint("<4"), None);
        assert_eq!(version_from_constraint("*"), None);
        assert_eq!(version_from_constraint(""), None);
        assert_eq!(version_from_constraint(">=é"), None);
    }

    #[test]
    fn env_reads() {
        let code = r#"
SECRET_KEY = os.environ.get("SECRET_KEY")
DEBUG = os.getenv('DEBUG', "0") == "1"
DATABASES = {"default": env.db("DATABASE_URL")}
X = myenv("NOT_THIS")
Y = os.environ["REDIS_URL"]
Z = config("lower_case")
"#;
        let mut names = env_names_in(code, ENV_READS);
        names.sort();
        assert_eq!(
            names,
            vec!["DATABASE_URL", "DEBUG", "REDIS_URL", "SECRET_KEY"]
        );
    }

    #[test]
    fn app_objects() {
        let code = "from fastapi import FastAPI\n\napp = FastAPI(title=\"x\")\n";
        assert_eq!(app_variable(code, &["FastAPI("]).as_deref(), Some("app"));
        let code = "def create_app():\n    app = Flask(__name__)\n    return app\n";
        assert_eq!(app_variable(code, &["Flask("]), None);
        assert_eq!(app_factory(code, &["Flask("]), Some("create_app"));
        let code = "application: Flask = flask.Flask(__name__)\n";
        assert_eq!(
            app_variable(code, &["Flask(", "flask.Flask("]).as_deref(),
            Some("application")
        );
        assert_eq!(module_of("app/__init__.py"), "app");
        assert_eq!(
            module_and_dir("src/api/main.py"),
            ("api.main".into(), Some("src"))
        );
    }

    #[test]
    fn manage_py_settings() {
        let text =
            "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"config.settings.production\")";
        assert_eq!(
            settings_module(text).as_deref(),
            Some("config.settings.production")
        );
        assert_eq!(settings_module("DJANGO_SETTINGS_MODULE"), None);
        assert_eq!(
            settings_module("DJANGO_SETTINGS_MODULE\", 'bad module')"),
            None
        );
    }

    #[test]
    fn flask_run_port() {
        assert_eq!(
            run_call_port("app.run(host='0.0.0.0', port=5001)"),
            Some(5001)
        );
        assert_eq!(
            run_call_port("app.run(port=int(os.environ.get(\"PORT\", 8080)))"),
            Some(8080)
        );
        assert_eq!(run_call_port("app.run(debug=True)"), None);
    }

    #[test]
    fn setup_files() {
        let py = "setup(name='x', install_requires=['Flask>=2', \"redis\"],)";
        let names: Vec<String> = setup_requirements(py).into_iter().map(|r| r.name).collect();
        assert_eq!(names, vec!["flask", "redis"]);
        let cfg =
            "[options]\ninstall_requires =\n    django>=4\n    psycopg2\npython_requires = >=3.8\n";
        let names: Vec<String> = setup_requirements(cfg)
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, vec!["django", "psycopg2"]);
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            resolve_relative("a/b", "../c.txt").as_deref(),
            Some("a/c.txt")
        );
        assert_eq!(resolve_relative("", "../c.txt"), None);
        assert_eq!(resolve_relative("a", "/etc/x"), None);
        assert_eq!(
            resolve_relative("", "./req/base.txt").as_deref(),
            Some("req/base.txt")
        );
    }
}
