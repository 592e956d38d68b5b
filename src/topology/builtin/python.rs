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
//!   a framework, a celery worker loses 0.1, a script 0.25 (0.45: it may not be a
//!   service at all), a root with nothing to run 0.35; weak signals start at 0.4; an
//!   invalid pyproject costs 0.1.
//!
//! The helpers at the end (example env values, env names read by code, version
//! constraints, health routes) are shared with the other scripting-language detectors.

use crate::topology::common::lookup;
use crate::topology::is_inside;
use std::collections::{BTreeMap, BTreeSet};

use crate::topology::common;
use crate::topology::manifest::pipfile::{self, Pipfile};
use crate::topology::manifest::pyproject::{self, Pyproject};
use crate::topology::manifest::requirements;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Note, ProjectView, Sourced, backing,
    file_name, join, parent,
};

/// Files that make a folder a Python project.
const MANIFESTS: &[&str] = &[
    "Pipfile",
    "Pipfile.lock",
    "pdm.lock",
    "poetry.lock",
    "pyproject.toml",
    "requirements.txt",
    "setup.cfg",
    "setup.py",
    "uv.lock",
];

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

/// Folders never searched for an entry point.
const NOT_APP_DIRS: &[&str] = &[
    "docs",
    "migrations",
    "pages",
    "scripts",
    "static",
    "templates",
    "test",
    "tests",
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

/// A uv workspace: its root and member globs.
#[derive(Debug)]
struct Workspace {
    root: String,
    members: globset::GlobSet,
    exclude: globset::GlobSet,
}

fn uv_workspaces(pyprojects: &BTreeMap<String, Option<Pyproject>>) -> Vec<Workspace> {
    let mut out = Vec::new();
    for (dir, p) in pyprojects {
        let Some(uv) = p.as_ref().and_then(|p| p.uv.as_ref()) else {
            continue;
        };
        let Some(members) = &uv.workspace_members else {
            continue;
        };
        let set = |globs: &[String]| {
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                let pattern = join(dir, g.trim_end_matches('/'));
                if let Ok(glob) = globset::GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                {
                    b.add(glob);
                }
            }
            b.build().unwrap_or_else(|_| globset::GlobSet::empty())
        };
        out.push(Workspace {
            root: dir.clone(),
            members: set(members),
            exclude: set(&uv.workspace_exclude),
        });
    }
    out
}

/// Everything read about one folder's dependencies.
#[derive(Debug, Default)]
struct Deps {
    /// Normalized name → the file that lists it.
    names: BTreeMap<String, String>,
    /// Normalized name → its extras.
    extras: BTreeMap<String, Vec<String>>,
}

impl Deps {
    fn add(&mut self, name: &str, extras: &[String], source: &str) {
        self.names
            .entry(name.to_string())
            .or_insert_with(|| source.to_string());
        if !extras.is_empty() {
            self.extras
                .entry(name.to_string())
                .or_default()
                .extend(extras.iter().cloned());
        }
    }

    fn has(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }
}

/// The requirements file in use and what it holds (includes resolved).
#[derive(Debug, Default)]
struct RequirementsFile {
    /// Relative to the project folder (`requirements.txt`, `requirements/prod.txt`).
    relative: String,
    total: usize,
    unpinned: Vec<String>,
    /// Files it includes (`-r`), as view paths.
    included: Vec<String>,
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
    start_source: String,
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
    // plugin, an extension).
    .filter(|s| s.confirmed || !is_package || s.framework == "django");
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
    let worker_command =
        |target: &str| format!("{runner}celery -A {target} worker --loglevel=INFO");
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
        None if kind == DetectionKind::Service && !is_weak => {
            confidence = if worker {
                // A worker clearly runs, it only serves no traffic.
                confidence - 0.1
            } else if script.is_some() {
                confidence - 0.25
            } else {
                confidence - 0.35
            };
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
            .cloned()
            .unwrap_or_else(|| s.start_source.clone());
        evidence.push((
            source.clone(),
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
                &format!("{source} {name}"),
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

fn install_command(
    manager: Manager,
    dir: &str,
    requirements: Option<&RequirementsFile>,
    locked: bool,
    workspace: Option<&Workspace>,
    pyproject: Option<&Pyproject>,
    pyproject_path: &str,
) -> Option<Sourced<String>> {
    let (cmd, source) = match manager {
        Manager::Pip => match requirements {
            Some(r) => (
                format!("pip install -r {}", r.relative),
                join(dir, &r.relative),
            ),
            None => ("pip install .".to_string(), pyproject_path.to_string()),
        },
        Manager::Poetry => (
            "poetry install --no-root --only main".to_string(),
            pyproject_path.to_string(),
        ),
        Manager::Pdm => ("pdm install --prod".to_string(), pyproject_path.to_string()),
        Manager::Uv => {
            let mut cmd = if locked {
                "uv sync --frozen --no-dev".to_string()
            } else {
                "uv sync --no-dev".to_string()
            };
            if workspace.is_some()
                && let Some(name) = pyproject.and_then(Pyproject::name)
            {
                cmd.push_str(&format!(" --package {name}"));
            }
            (cmd, pyproject_path.to_string())
        }
        Manager::Pipenv => (
            if locked {
                "pipenv install --deploy".to_string()
            } else {
                "pipenv install --skip-lock".to_string()
            },
            join(dir, "Pipfile"),
        ),
    };
    Some(Sourced::new(cmd, source))
}

/// Reads the folder's requirements file (and what it includes) into `deps`.
fn read_requirements(view: &ProjectView, dir: &str, deps: &mut Deps) -> Option<RequirementsFile> {
    let relative = if view.is_file(&join(dir, "requirements.txt")) {
        "requirements.txt".to_string()
    } else {
        let req_dir = join(dir, "requirements");
        let found = REQUIREMENTS_DIR_FILES
            .iter()
            .map(|f| format!("requirements/{f}"))
            .find(|f| view.is_file(&join(dir, f)));
        match found {
            Some(f) => f,
            None => {
                let first = view
                    .files_in(&req_dir)
                    .find(|f| f.ends_with(".txt") && !is_dev_requirements(f))?;
                first
                    .strip_prefix(&format!("{dir}/"))
                    .unwrap_or(first)
                    .to_string()
            }
        }
    };
    let mut out = RequirementsFile {
        relative: relative.clone(),
        ..RequirementsFile::default()
    };
    let mut queue = vec![(join(dir, &relative), 0usize)];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some((path, depth)) = queue.pop() {
        if depth > 5 || !seen.insert(path.clone()) {
            continue;
        }
        let Some(text) = view.text(&path) else {
            continue;
        };
        let Ok(parsed) = requirements::parse(&text) else {
            continue;
        };
        if depth > 0 {
            out.included.push(path.clone());
        }
        for p in &parsed.packages {
            out.total += 1;
            if !p.is_pinned() {
                out.unpinned.push(p.name.clone());
            }
            deps.add(&p.name, &p.extras, &path);
        }
        for include in parsed.includes.iter().rev() {
            if let Some(resolved) = resolve_relative(parent(&path), include) {
                queue.push((resolved, depth + 1));
            }
        }
    }
    Some(out)
}

fn is_dev_requirements(path: &str) -> bool {
    let name = file_name(path);
    ["dev", "test", "lint", "doc", "local", "ci"]
        .iter()
        .any(|w| name.starts_with(w))
}

/// `base` joined with a relative path (`../x.txt`), normalized; `None` if it leaves the
/// root or is absolute.
fn resolve_relative(base: &str, relative: &str) -> Option<String> {
    if relative.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// `install_requires` of a `setup.py` (`install_requires=[...]`) or `setup.cfg`.
fn setup_requirements(text: &str) -> Vec<requirements::Requirement> {
    let mut out = Vec::new();
    if let Some(at) = text.find("install_requires") {
        let rest = text.get(at + "install_requires".len()..).unwrap_or("");
        let rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('=') {
            if let Some(list) = after.trim_start().strip_prefix('[') {
                // setup.py: a list of string literals.
                let body = list.split(']').next().unwrap_or("");
                for item in body.split(',') {
                    let item = item.trim().trim_matches(['"', '\'']);
                    if let Some(r) = requirements::parse_requirement(item) {
                        out.push(r);
                    }
                }
            } else {
                // setup.cfg: the rest of the line, then indented lines.
                let mut lines = after.lines();
                if let Some(r) = lines.next().and_then(requirements::parse_requirement) {
                    out.push(r);
                }
                for line in lines {
                    if !line.starts_with([' ', '\t']) || line.trim().is_empty() {
                        break;
                    }
                    if let Some(r) = requirements::parse_requirement(line.trim()) {
                        out.push(r);
                    }
                }
            }
        }
    }
    out
}

fn runtime_version(
    view: &ProjectView,
    dir: &str,
    pyproject: Option<&Pyproject>,
    pyproject_path: &str,
    pipfile: Option<&Pipfile>,
    pipfile_path: &str,
) -> Option<Sourced<String>> {
    if let Some(found) = common::find_up(view, dir, ".python-version")
        && let Some(v) = common::version_file(view, parent(&found), ".python-version")
    {
        return Some(v);
    }
    if let Some(v) = common::tool_version(view, dir, &["python"]) {
        return Some(v);
    }
    let runtime_txt = join(dir, "runtime.txt");
    if let Some(text) = view.text(&runtime_txt) {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        if let Some(v) = line.strip_prefix("python-")
            && !v.is_empty()
        {
            return Some(Sourced::new(v.to_string(), runtime_txt));
        }
    }
    if let Some(c) = pyproject
        .and_then(|p| p.project.as_ref())
        .and_then(|p| p.requires_python.as_deref())
        && let Some(v) = version_from_constraint(c)
    {
        return Some(Sourced::new(
            v,
            format!("{pyproject_path} project.requires-python ({c})"),
        ));
    }
    if let Some(c) = pyproject
        .and_then(|p| p.poetry.as_ref())
        .and_then(|p| p.python.as_deref())
        && let Some(v) = version_from_constraint(c)
    {
        return Some(Sourced::new(
            v,
            format!("{pyproject_path} tool.poetry.dependencies.python ({c})"),
        ));
    }
    let pipfile = pipfile?;
    if let Some(v) = &pipfile.python_full_version {
        return Some(Sourced::new(
            v.clone(),
            format!("{pipfile_path} requires.python_full_version"),
        ));
    }
    pipfile
        .python_version
        .as_ref()
        .map(|v| Sourced::new(v.clone(), format!("{pipfile_path} requires.python_version")))
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

/// `.py`-like files under `dir` up to `depth` folders deep, skipping folders that are
/// not app code and folders that are projects of their own.
pub(super) fn files_under(
    view: &ProjectView,
    dir: &str,
    depth: usize,
    ext: &str,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut level: Vec<String> = vec![dir.to_string()];
    for d in 0..=depth {
        let mut next = Vec::new();
        for folder in &level {
            for f in view.files_in(folder) {
                if f.rsplit_once('.').is_some_and(|(_, e)| e == ext) {
                    out.push(f.to_string());
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
            if d < depth {
                for sub in view.dirs_in(folder) {
                    let name = file_name(sub);
                    let own_project = MANIFESTS.iter().any(|m| view.is_file(&join(sub, m)))
                        || view.is_file(&join(sub, "Gemfile"))
                        || view.is_file(&join(sub, "package.json"));
                    if !NOT_APP_DIRS.contains(&name) && !name.starts_with('.') && !own_project {
                        next.push(sub.to_string());
                    }
                }
            }
        }
        level = next;
    }
    out
}

/// `var` for a top-level `var = Ctor(...)` line (`app = FastAPI()`,
/// `app: Flask = flask.Flask(__name__)`).
fn app_variable(text: &str, ctors: &[&str]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((left, right)) = line.split_once('=') else {
            continue;
        };
        let right = right.trim_start();
        if !ctors.iter().any(|c| right.starts_with(c)) {
            continue;
        }
        let var = left.split(':').next().unwrap_or(left).trim();
        if !var.is_empty()
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !var.starts_with(|c: char| c.is_ascii_digit())
        {
            return Some(var.to_string());
        }
    }
    None
}

/// Whether the text defines an app factory `create_app`/`make_app` that builds with
/// one of `ctors`; returns the factory name.
fn app_factory(text: &str, ctors: &[&str]) -> Option<&'static str> {
    if !ctors.iter().any(|c| text.contains(c)) {
        return None;
    }
    ["create_app", "make_app"]
        .into_iter()
        .find(|f| text.contains(&format!("def {f}(")))
}

/// Where `file` (relative to the project) sits: its module, and the folder to run from
/// when the code lives under `src/` (`src/app/main.py` → `app.main`, from `src`).
fn module_and_dir(relative: &str) -> (String, Option<&'static str>) {
    match relative.strip_prefix("src/") {
        Some(inner) => (module_of(inner), Some("src")),
        None => (module_of(relative), None),
    }
}

fn port_or(example: Option<&Sourced<u16>>, port: u16, default_source: &str) -> Sourced<u16> {
    example
        .cloned()
        .unwrap_or_else(|| Sourced::new(port, default_source.to_string()))
}

fn django(
    view: &ProjectView,
    dir: &str,
    deps: &Deps,
    runner: &str,
    example_port: Option<&Sourced<u16>>,
    notes: &mut Vec<Note>,
    evidence: &mut Vec<(String, String)>,
) -> Option<Serving> {
    let manage = find_manage_py(view, dir)?;
    let text = view.text(&manage)?;
    if !deps.has("django") && !text.contains("django") {
        return None;
    }
    let settings = settings_module(&text);
    let app_dir = parent(&manage).to_string();
    let sub = relative_to(dir, &app_dir);
    let sub = if app_dir == dir { "" } else { sub };
    let project = settings
        .as_deref()
        .and_then(|s| s.split('.').next())
        .map(str::to_string)
        .or_else(|| {
            view.dirs_in(&app_dir)
                .find(|d| view.is_file(&join(d, "wsgi.py")))
                .map(|d| file_name(d).to_string())
        });
    evidence.push((
        manage.clone(),
        match &settings {
            Some(s) => format!("manage.py: Django project (settings {s})"),
            None => "manage.py: Django project".to_string(),
        },
    ));
    let port = port_or(example_port, 8000, "default for django (gunicorn)");
    let p = port.value;
    let chdir = if sub.is_empty() {
        String::new()
    } else {
        format!(" --chdir {sub}")
    };
    let manage_rel = relative_to(dir, &manage).to_string();
    let (start, confirmed) = match &project {
        Some(project) => {
            let wsgi = join(&app_dir, &format!("{project}/wsgi.py"));
            let asgi = join(&app_dir, &format!("{project}/asgi.py"));
            let confirmed = view.is_file(&wsgi) || view.is_file(&asgi);
            let start = if deps.has("gunicorn") {
                format!("{runner}gunicorn {project}.wsgi{chdir} --bind 0.0.0.0:${{PORT:-{p}}}")
            } else if deps.has("uvicorn") && view.is_file(&asgi) {
                let app_dir_flag = if sub.is_empty() {
                    String::new()
                } else {
                    format!(" --app-dir {sub}")
                };
                format!(
                    "{runner}uvicorn {project}.asgi:application{app_dir_flag} --host 0.0.0.0 --port ${{PORT:-{p}}}"
                )
            } else if deps.has("daphne") && view.is_file(&asgi) && sub.is_empty() {
                format!("{runner}daphne -b 0.0.0.0 -p ${{PORT:-{p}}} {project}.asgi:application")
            } else {
                notes.push(Note::new(
                    "no-production-server",
                    "django runs with its development server: add gunicorn to the dependencies to serve it in production",
                ));
                format!("{runner}python {manage_rel} runserver 0.0.0.0:${{PORT:-{p}}}")
            };
            (start, confirmed)
        }
        None => (
            format!("{runner}python {manage_rel} runserver 0.0.0.0:${{PORT:-{p}}}"),
            false,
        ),
    };
    notes.push(Note::new(
        "migrations",
        format!("run `{runner}python {manage_rel} migrate` before each release (a release or pre-start step)"),
    ));
    Some(Serving {
        framework: "django",
        start,
        start_source: manage,
        port,
        confirmed,
    })
}

/// The project's `manage.py`: in the folder, or one folder down (`src/manage.py`)
/// when that folder is not a Python project of its own.
fn find_manage_py(view: &ProjectView, dir: &str) -> Option<String> {
    let own = join(dir, "manage.py");
    if view.is_file(&own) {
        return Some(own);
    }
    view.dirs_in(dir)
        .filter(|d| !MANIFESTS.iter().any(|m| view.is_file(&join(d, m))))
        .map(|d| join(d, "manage.py"))
        .find(|p| view.is_file(p))
}

/// `DJANGO_SETTINGS_MODULE`'s default in `manage.py` (`mysite.settings`).
fn settings_module(manage: &str) -> Option<String> {
    let at = manage.find("DJANGO_SETTINGS_MODULE")?;
    let rest = manage.get(at + "DJANGO_SETTINGS_MODULE".len()..)?;
    let rest = rest.get(1..)?; // the closing quote of the key
    let start = rest.find(['"', '\''])?;
    let quote = rest.get(start..start + 1)?;
    let tail = rest.get(start + 1..)?;
    let end = tail.find(quote)?;
    let module = tail.get(..end)?;
    (!module.is_empty()
        && module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    .then(|| module.to_string())
}

/// The settings files of a Django project (for env names and `STATIC_ROOT`).
fn django_settings_files(view: &ProjectView, dir: &str) -> Vec<String> {
    let manage = find_manage_py(view, dir);
    let Some(manage) = manage else {
        return Vec::new();
    };
    let app_dir = parent(&manage).to_string();
    let Some(module) = view.text(&manage).and_then(|t| settings_module(&t)) else {
        return Vec::new();
    };
    let as_path = join(&app_dir, &module.replace('.', "/"));
    let file = format!("{as_path}.py");
    // A settings package (`config.settings.local` of cookiecutter-django): every file
    // of it, production's included.
    let in_package = file_name(parent(&as_path)) == "settings";
    if view.is_file(&file) && !in_package {
        return vec![file];
    }
    let package = if view.is_dir(&as_path) {
        as_path
    } else {
        parent(&as_path).to_string()
    };
    view.files_in(&package)
        .filter(|f| f.ends_with(".py"))
        .map(str::to_string)
        .collect()
}

fn django_build(view: &ProjectView, dir: &str, runner: &str) -> Option<Sourced<String>> {
    let settings = django_settings_files(view, dir);
    let file = settings
        .iter()
        .find(|f| view.text(f).is_some_and(|t| t.contains("STATIC_ROOT")))?;
    let manage = find_manage_py(view, dir)?;
    let manage_rel = relative_to(dir, &manage).to_string();
    Some(Sourced::new(
        format!("{runner}python {manage_rel} collectstatic --noinput"),
        format!("{file} STATIC_ROOT"),
    ))
}

fn fastapi(
    view: &ProjectView,
    dir: &str,
    deps: &Deps,
    runner: &str,
    example_port: Option<&Sourced<u16>>,
    notes: &mut Vec<Note>,
    evidence: &mut Vec<(String, String)>,
) -> Option<Serving> {
    if !deps.has("fastapi") {
        return None;
    }
    let ctors = ["FastAPI(", "fastapi.FastAPI("];
    let port = port_or(example_port, 8000, "default for fastapi (uvicorn)");
    let p = port.value;
    let mut target: Option<(String, String, bool, Option<&str>)> = None;
    for file in candidate_modules(view, dir, APP_MODULES) {
        let Some(text) = view.text(&file) else {
            continue;
        };
        let rel = relative_to(dir, &file);
        let (module, app_dir) = module_and_dir(rel);
        if let Some(var) = app_variable(&text, &ctors) {
            target = Some((format!("{module}:{var}"), file.clone(), false, app_dir));
            break;
        }
        if let Some(factory) = app_factory(&text, &ctors) {
            target = Some((format!("{module}:{factory}"), file.clone(), true, app_dir));
            break;
        }
    }
    let has_server = deps.has("uvicorn")
        || deps.has("hypercorn")
        || deps
            .extras
            .get("fastapi")
            .is_some_and(|e| e.iter().any(|x| x == "standard" || x == "all"));
    if !has_server {
        notes.push(Note::new(
            "no-production-server",
            "fastapi needs an ASGI server: add uvicorn (or fastapi[standard]) to the dependencies",
        ));
    }
    let (app, source, factory, app_dir, confirmed) = match target {
        Some((app, file, factory, app_dir)) => {
            evidence.push((file.clone(), format!("creates the FastAPI app ({app})")));
            (app, file, factory, app_dir, true)
        }
        None => (
            "main:app".to_string(),
            "default for fastapi".to_string(),
            false,
            None,
            false,
        ),
    };
    let factory_flag = if factory { " --factory" } else { "" };
    let dir_flag = app_dir
        .map(|d| format!(" --app-dir {d}"))
        .unwrap_or_default();
    let start = if deps.has("hypercorn") && !deps.has("uvicorn") && app_dir.is_none() {
        let app = if factory { format!("{app}()") } else { app };
        format!("{runner}hypercorn {app} --bind 0.0.0.0:${{PORT:-{p}}}")
    } else {
        format!(
            "{runner}uvicorn {app}{factory_flag}{dir_flag} --host 0.0.0.0 --port ${{PORT:-{p}}}"
        )
    };
    Some(Serving {
        framework: "fastapi",
        start,
        start_source: source,
        port,
        confirmed,
    })
}

fn flask(
    view: &ProjectView,
    dir: &str,
    deps: &Deps,
    runner: &str,
    example_port: Option<&Sourced<u16>>,
    notes: &mut Vec<Note>,
    evidence: &mut Vec<(String, String)>,
) -> Option<Serving> {
    if !deps.has("flask") {
        return None;
    }
    let ctors = ["Flask(", "flask.Flask("];
    let mut found: Option<(String, String, String, bool, Option<&str>)> = None;
    for file in candidate_modules(view, dir, APP_MODULES) {
        let Some(text) = view.text(&file) else {
            continue;
        };
        let rel = relative_to(dir, &file);
        let (module, app_dir) = module_and_dir(rel);
        if let Some(var) = app_variable(&text, &ctors) {
            found = Some((module, var, file.clone(), false, app_dir));
            break;
        }
        if let Some(factory) = app_factory(&text, &ctors) {
            found = Some((module, factory.to_string(), file.clone(), true, app_dir));
            break;
        }
    }
    let confirmed = found.is_some();
    let (module, var, file, factory, app_dir) = found.unwrap_or_else(|| {
        (
            "app".into(),
            "app".into(),
            "default for flask".into(),
            false,
            None,
        )
    });
    if confirmed {
        evidence.push((
            file.clone(),
            format!("creates the Flask app ({module}:{var})"),
        ));
    }
    let target = if factory {
        format!("\"{module}:{var}()\"")
    } else {
        format!("{module}:{var}")
    };
    if deps.has("gunicorn") {
        let port = port_or(example_port, 8000, "default for flask (gunicorn)");
        let p = port.value;
        let chdir = app_dir.map(|d| format!(" --chdir {d}")).unwrap_or_default();
        return Some(Serving {
            framework: "flask",
            start: format!("{runner}gunicorn {target}{chdir} --bind 0.0.0.0:${{PORT:-{p}}}"),
            start_source: file,
            port,
            confirmed,
        });
    }
    if deps.has("waitress") {
        let port = port_or(example_port, 8080, "default for flask (waitress)");
        let p = port.value;
        let call = if factory { " --call" } else { "" };
        let target = if factory {
            format!("{module}:{var}")
        } else {
            target
        };
        return Some(Serving {
            framework: "flask",
            start: format!("{runner}waitress-serve --listen=0.0.0.0:${{PORT:-{p}}}{call} {target}"),
            start_source: file,
            port,
            confirmed,
        });
    }
    // The development server: `flask run` on the port `app.run(port=...)` asks for.
    let code_port = view
        .text(&file)
        .and_then(|t| run_call_port(&t))
        .map(|port| Sourced::new(port, format!("{file} app.run(port)")));
    let port = example_port
        .cloned()
        .or(code_port)
        .unwrap_or_else(|| Sourced::new(5000, "default for flask"));
    let p = port.value;
    notes.push(Note::new(
        "no-production-server",
        "flask runs with its development server: add gunicorn to the dependencies to serve it in production",
    ));
    let app_arg = if app_dir.is_some() {
        format!("src.{module}")
    } else {
        module.clone()
    };
    Some(Serving {
        framework: "flask",
        start: format!("{runner}flask --app {app_arg} run --host 0.0.0.0 --port ${{PORT:-{p}}}"),
        start_source: file,
        port,
        confirmed,
    })
}

/// The port of an `app.run(...)` call: `port=5001` or `PORT", 5001`.
fn run_call_port(text: &str) -> Option<u16> {
    let at = text.find(".run(")?;
    let args = text.get(at + 5..)?;
    let args = args.split('\n').take(6).collect::<Vec<_>>().join(" ");
    let port_at = args.find("port")?;
    let tail = args.get(port_at..)?;
    let digits: String = tail
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse::<u16>().ok().filter(|p| *p >= 80)
}

fn streamlit(
    view: &ProjectView,
    dir: &str,
    deps: &Deps,
    runner: &str,
    example_port: Option<&Sourced<u16>>,
    evidence: &mut Vec<(String, String)>,
) -> Option<Serving> {
    if !deps.has("streamlit") {
        return None;
    }
    let entry = candidate_modules(view, dir, STREAMLIT_ENTRIES)
        .into_iter()
        .find(|f| {
            view.text(f).is_some_and(|t| {
                t.lines().any(|l| {
                    let l = l.trim_start();
                    l.starts_with("import streamlit") || l.starts_with("from streamlit")
                })
            })
        });
    let config = join(dir, ".streamlit/config.toml");
    let config_port = view.text(&config).and_then(|t| {
        let table: toml::Table = toml::from_str(&t).ok()?;
        let port = table.get("server")?.get("port")?.as_integer()?;
        u16::try_from(port)
            .ok()
            .map(|p| Sourced::new(p, format!("{config} server.port")))
    });
    let port = example_port
        .cloned()
        .or(config_port)
        .unwrap_or_else(|| Sourced::new(8501, "default for streamlit"));
    let p = port.value;
    let confirmed = entry.is_some();
    let (file, source) = match &entry {
        Some(f) => {
            evidence.push((f.clone(), "imports streamlit".into()));
            (relative_to(dir, f).to_string(), f.clone())
        }
        None => ("app.py".to_string(), "default for streamlit".to_string()),
    };
    Some(Serving {
        framework: "streamlit",
        start: format!(
            "{runner}streamlit run {file} --server.port ${{PORT:-{p}}} --server.address 0.0.0.0"
        ),
        start_source: source,
        port,
        confirmed,
    })
}

/// How a project without a framework runs: a `start` script of the manager, a main
/// file, a single console script, or `python -m <package>`.
fn script_entry(
    view: &ProjectView,
    dir: &str,
    pyproject: Option<&Pyproject>,
    pipfile: Option<&Pipfile>,
    runner: &str,
) -> Option<(String, String)> {
    if pyproject
        .and_then(|p| p.pdm.as_ref())
        .is_some_and(|p| p.scripts.contains_key("start"))
    {
        return Some((
            "pdm run start".to_string(),
            format!("{} tool.pdm.scripts.start", join(dir, "pyproject.toml")),
        ));
    }
    if pipfile.is_some_and(|p| p.scripts.contains_key("start")) {
        return Some((
            "pipenv run start".to_string(),
            format!("{} scripts.start", join(dir, "Pipfile")),
        ));
    }
    for entry in SCRIPT_ENTRIES {
        let path = join(dir, entry);
        if view.is_file(&path) {
            return Some((format!("{runner}python {entry}"), path));
        }
    }
    // Another top-level file that runs as a script (`if __name__ == "__main__":`).
    let main_guarded = view.files_in(dir).find(|f| {
        f.ends_with(".py")
            && !["setup.py", "manage.py", "conftest.py", "noxfile.py"].contains(&file_name(f))
            && view.text(f).is_some_and(|t| {
                t.contains("__name__ == \"__main__\"") || t.contains("__name__ == '__main__'")
            })
    });
    if let Some(file) = main_guarded {
        return Some((
            format!("{runner}python {}", file_name(file)),
            file.to_string(),
        ));
    }
    let src = join(dir, "src");
    let main_package = view
        .dirs_in(dir)
        .chain(view.dirs_in(&src))
        .find(|d| view.is_file(&join(d, "__main__.py")));
    if let Some(package) = main_package {
        return Some((
            format!("{runner}python -m {}", file_name(package)),
            join(package, "__main__.py"),
        ));
    }
    let scripts = pyproject.map(Pyproject::scripts).unwrap_or_default();
    if scripts.len() == 1
        && let Some((name, _)) = scripts.iter().next()
    {
        return Some((
            format!("{runner}{name}"),
            format!("{} scripts.{name}", join(dir, "pyproject.toml")),
        ));
    }
    None
}

/// Paths of health endpoints, most specific first.
const HEALTH_PATHS: &[&str] = &[
    "/healthz",
    "/health",
    "/healthcheck",
    "/health-check",
    "/_health",
    "/livez",
    "/readyz",
    "/ping",
];

/// A health endpoint the app module declares (`@app.get("/health")`), or the one the
/// framework always serves (streamlit's `/_stcore/health`).
fn healthcheck(view: &ProjectView, serving: &Serving) -> Option<Sourced<String>> {
    if serving.framework == "streamlit" {
        return Some(Sourced::new(
            "/_stcore/health".to_string(),
            "default for streamlit",
        ));
    }
    let text = view.text(&serving.start_source)?;
    health_route(&text).map(|p| Sourced::new(p.to_string(), serving.start_source.clone()))
}

/// The first of [`HEALTH_PATHS`] written as a string literal in `code`.
pub(super) fn health_route(code: &str) -> Option<&'static str> {
    HEALTH_PATHS.iter().copied().find(|p| {
        code.contains(&format!("\"{p}\""))
            || code.contains(&format!("'{p}'"))
            || code.contains(&format!("\"{p}/\""))
    })
}

/// The celery app of a project: the module that creates `Celery(`, as `celery -A`
/// takes it (`tasks`, `proj.celery`, `worker:celery_app`).
fn celery_app(view: &ProjectView, dir: &str) -> Option<(String, String)> {
    let preferred = [
        "celery_app.py",
        "celery.py",
        "tasks.py",
        "worker.py",
        "main.py",
        "app.py",
    ];
    candidate_modules(view, dir, &preferred)
        .into_iter()
        .find_map(|file| {
            let text = view.text(&file)?;
            let var = app_variable(&text, &["Celery(", "celery.Celery("])?;
            let (module, app_dir) = module_and_dir(relative_to(dir, &file));
            let module = match app_dir {
                Some(d) => format!("{d}.{module}"),
                None => module,
            };
            // `celery -A proj` finds `proj.app` and `proj.celery` by itself.
            let target = if var == "app" || var == "celery" {
                module
            } else {
                format!("{module}:{var}")
            };
            Some((target, file))
        })
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
    if view.is_file(&s.start_source) {
        files.push(s.start_source.clone());
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

/// The frameworks a file imports (`from flask import Flask` → `flask`).
fn imported_frameworks(text: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let module = line
            .strip_prefix("from ")
            .or_else(|| line.strip_prefix("import "))
            .and_then(|rest| rest.split([' ', '.', ',']).next());
        if let Some(module) = module
            && let Some((_, framework)) = FRAMEWORK_IMPORTS.iter().find(|(m, _)| *m == module)
            && !out.contains(framework)
        {
            out.push(*framework);
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Helpers shared with the ruby, php, elixir and gleam detectors.
// ---------------------------------------------------------------------------------

/// Adds `value` to a list once, with `source`.
pub(super) fn push_unique(list: &mut Vec<Sourced<String>>, value: impl Into<String>, source: &str) {
    let value = value.into();
    if !list.iter().any(|s| s.value == value) {
        list.push(Sourced::new(value, source.to_string()));
    }
}

/// The value of `key` in the folder's example env files (`KEY=value`, quotes removed),
/// with the file. Used to read configuration (a port, a database scheme), never to
/// expose a value.
pub(super) fn example_value(
    view: &ProjectView,
    dir: &str,
    files: &[&str],
    key: &str,
) -> Option<(String, String)> {
    for file in common::ENV_EXAMPLE_FILES.iter().chain(files) {
        let path = join(dir, file);
        let Some(text) = view.text(&path) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if k.trim() == key {
                let v = v.trim();
                let v = v.split(" #").next().unwrap_or(v).trim();
                let v = v.trim_matches(['"', '\'']);
                return Some((v.to_string(), path));
            }
        }
    }
    None
}

/// `PORT` in the folder's example env files.
pub(super) fn example_port(view: &ProjectView, dir: &str) -> Option<Sourced<u16>> {
    let (value, path) = example_value(view, dir, &[], "PORT")?;
    let port = value.parse::<u16>().ok().filter(|p| *p > 0)?;
    Some(Sourced::new(port, format!("{path} PORT")))
}

/// Env var names read by code: each `prefix` followed by a quoted upper-case name
/// (`os.getenv("DATABASE_URL"`, `ENV.fetch("PORT"`, `System.get_env("SECRET_KEY_BASE"`).
/// A prefix must not be the tail of a longer identifier.
pub(super) fn env_names_in(text: &str, prefixes: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for prefix in prefixes {
        let mut search = 0;
        while let Some(found) = text.get(search..).and_then(|s| s.find(prefix)) {
            let at = search + found;
            search = at + prefix.len();
            let before = text.get(..at).and_then(|b| b.chars().next_back());
            let starts_word = prefix.starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if starts_word && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = text.get(at + prefix.len()..).unwrap_or("");
            let rest = rest.trim_start();
            let rest = rest.strip_prefix('(').unwrap_or(rest).trim_start();
            let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
                continue;
            };
            let inner = rest.get(1..).unwrap_or("");
            let Some(end) = inner.find(quote) else {
                continue;
            };
            let name = inner.get(..end).unwrap_or("");
            let valid = name.len() >= 2
                && name.len() <= 100
                && name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if valid && !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Backing services implied by env names, with `DATABASE_URL` checked: its example
/// value's scheme decides (`postgres://`, `mysql://`, `sqlite:` means none); without a
/// value it counts as postgres only when no dependency names a SQL database.
pub(super) fn env_backing(
    view: &ProjectView,
    dir: &str,
    env: &[Sourced<String>],
    from_deps: &[Sourced<String>],
    sqlite: bool,
) -> Vec<Sourced<String>> {
    let sql = ["postgres", "mysql", "mariadb"];
    let mut out = Vec::new();
    for b in common::backing_from_env(env) {
        if !b.source.ends_with(" env DATABASE_URL") {
            out.push(b);
            continue;
        }
        match example_value(view, dir, &[".env"], "DATABASE_URL") {
            Some((value, path)) if !value.is_empty() => {
                if let Some(service) = database_scheme(&value) {
                    out.push(Sourced::new(
                        service.to_string(),
                        format!("{path} env DATABASE_URL scheme"),
                    ));
                }
            }
            _ => {
                if !sqlite && !from_deps.iter().any(|d| sql.contains(&d.value.as_str())) {
                    out.push(b);
                }
            }
        }
    }
    out
}

/// The backing service a database URL's scheme names.
pub(super) fn database_scheme(url: &str) -> Option<&'static str> {
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    let scheme = scheme.split('+').next().unwrap_or("");
    match scheme {
        "postgres" | "postgresql" | "pgsql" | "postgis" => Some("postgres"),
        "mysql" | "mysql2" | "trilogy" => Some("mysql"),
        "mariadb" => Some("mariadb"),
        "mongodb" => Some("mongodb"),
        "redis" | "rediss" => Some("redis"),
        _ => None,
    }
}

/// A version that satisfies a constraint, for picking a runtime: an exact version is
/// kept (`==3.11.4`, `3.11.4`), a range is reduced to the major.minor of its lower
/// bound (`>=3.11`, `^3.11.2`, `~> 3.2`, `~=3.10`, `3.12.*` → `3.11`, `3.11`, `3.2`,
/// `3.10`, `3.12`). `None` when there is no lower bound (`<4`, `*`).
pub(super) fn version_from_constraint(constraint: &str) -> Option<String> {
    let first = constraint
        .split("||")
        .next()
        .unwrap_or(constraint)
        .split(['|', ','])
        .next()
        .unwrap_or("")
        .trim();
    let first = first.split_whitespace().collect::<String>();
    let (exact, rest) = if let Some(r) = first.strip_prefix("===") {
        (true, r)
    } else if let Some(r) = first.strip_prefix("==") {
        (true, r)
    } else if let Some(r) = first.strip_prefix(">=") {
        (false, r)
    } else if let Some(r) = first.strip_prefix("~=") {
        (false, r)
    } else if let Some(r) = first.strip_prefix("~>") {
        (false, r)
    } else if let Some(r) = first.strip_prefix('^') {
        (false, r)
    } else if let Some(r) = first.strip_prefix('~') {
        (false, r)
    } else if let Some(r) = first.strip_prefix('=') {
        (true, r)
    } else if first.starts_with(|c: char| c.is_ascii_digit() || c == 'v') {
        (true, first.as_str())
    } else {
        return None;
    };
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let wildcard = rest.contains('*') || rest.contains(".x");
    if exact && !wildcard {
        return Some(version.to_string());
    }
    Some(version.split('.').take(2).collect::<Vec<_>>().join("."))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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

    #[test]
    fn database_schemes() {
        assert_eq!(
            database_scheme("postgresql+psycopg://u@h/db"),
            Some("postgres")
        );
        assert_eq!(database_scheme("mysql://x"), Some("mysql"));
        assert_eq!(database_scheme("sqlite:///db.sqlite3"), None);
    }
}
