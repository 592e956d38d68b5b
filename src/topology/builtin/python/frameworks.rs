//! The web frameworks and entry points the Python detector knows: Django (manage.py,
//! settings), FastAPI, Flask, Streamlit, script entries and celery apps.

use super::*;

pub(super) fn django(
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
    let port = port_or(
        example_port,
        8000,
        Provenance::default_for("django (gunicorn)"),
    );
    let p = port.value;
    let chdir = if sub.is_empty() {
        String::new()
    } else {
        format!(" --chdir {}", shell_quote(sub))
    };
    let manage_rel = shell_quote(relative_to(dir, &manage));
    let (start, confirmed) = match &project {
        Some(project) => {
            let wsgi = join(&app_dir, &format!("{project}/wsgi.py"));
            let asgi = join(&app_dir, &format!("{project}/asgi.py"));
            let confirmed = view.is_file(&wsgi) || view.is_file(&asgi);
            let start = if deps.has("gunicorn") {
                format!(
                    "{runner}gunicorn {}{chdir} --bind 0.0.0.0:${{PORT:-{p}}}",
                    shell_quote(&format!("{project}.wsgi"))
                )
            } else if deps.has("uvicorn") && view.is_file(&asgi) {
                let app_dir_flag = if sub.is_empty() {
                    String::new()
                } else {
                    format!(" --app-dir {}", shell_quote(sub))
                };
                format!(
                    "{runner}uvicorn {}{app_dir_flag} --host 0.0.0.0 --port ${{PORT:-{p}}}",
                    shell_quote(&format!("{project}.asgi:application"))
                )
            } else if deps.has("daphne") && view.is_file(&asgi) && sub.is_empty() {
                format!(
                    "{runner}daphne -b 0.0.0.0 -p ${{PORT:-{p}}} {}",
                    shell_quote(&format!("{project}.asgi:application"))
                )
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
        start_source: manage.into(),
        port,
        confirmed,
    })
}

/// The project's `manage.py`: in the folder, or one folder down (`src/manage.py`)
/// when that folder is not a Python project of its own.
pub(super) fn find_manage_py(view: &ProjectView, dir: &str) -> Option<String> {
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
pub(super) fn settings_module(manage: &str) -> Option<String> {
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
pub(super) fn django_settings_files(view: &ProjectView, dir: &str) -> Vec<String> {
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

pub(super) fn django_build(view: &ProjectView, dir: &str, runner: &str) -> Option<Sourced<String>> {
    let settings = django_settings_files(view, dir);
    let file = settings
        .iter()
        .find(|f| view.text(f).is_some_and(|t| t.contains("STATIC_ROOT")))?;
    let manage = find_manage_py(view, dir)?;
    let manage_rel = shell_quote(relative_to(dir, &manage));
    Some(Sourced::new(
        format!("{runner}python {manage_rel} collectstatic --noinput"),
        format!("{file} STATIC_ROOT"),
    ))
}

pub(super) fn fastapi(
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
    let port = port_or(
        example_port,
        8000,
        Provenance::default_for("fastapi (uvicorn)"),
    );
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
            (app, Provenance::declared(file), factory, app_dir, true)
        }
        None => (
            "main:app".to_string(),
            Provenance::default_for("fastapi"),
            false,
            None,
            false,
        ),
    };
    let factory_flag = if factory { " --factory" } else { "" };
    let dir_flag = app_dir
        .map(|d| format!(" --app-dir {}", shell_quote(d)))
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

pub(super) fn flask(
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
    let mut found: Option<(String, String, Provenance, bool, Option<&str>)> = None;
    for file in candidate_modules(view, dir, APP_MODULES) {
        let Some(text) = view.text(&file) else {
            continue;
        };
        let rel = relative_to(dir, &file);
        let (module, app_dir) = module_and_dir(rel);
        if let Some(var) = app_variable(&text, &ctors) {
            found = Some((module, var, file.into(), false, app_dir));
            break;
        }
        if let Some(factory) = app_factory(&text, &ctors) {
            found = Some((module, factory.to_string(), file.into(), true, app_dir));
            break;
        }
    }
    let confirmed = found.is_some();
    let (module, var, file, factory, app_dir) = found.unwrap_or_else(|| {
        (
            "app".into(),
            "app".into(),
            Provenance::default_for("flask"),
            false,
            None,
        )
    });
    if confirmed {
        evidence.push((
            file.to_string(),
            format!("creates the Flask app ({module}:{var})"),
        ));
    }
    let target = if factory {
        shell_quote(&format!("{module}:{var}()"))
    } else {
        shell_quote(&format!("{module}:{var}"))
    };
    if deps.has("gunicorn") {
        let port = port_or(
            example_port,
            8000,
            Provenance::default_for("flask (gunicorn)"),
        );
        let p = port.value;
        let chdir = app_dir
            .map(|d| format!(" --chdir {}", shell_quote(d)))
            .unwrap_or_default();
        return Some(Serving {
            framework: "flask",
            start: format!("{runner}gunicorn {target}{chdir} --bind 0.0.0.0:${{PORT:-{p}}}"),
            start_source: file,
            port,
            confirmed,
        });
    }
    if deps.has("waitress") {
        let port = port_or(
            example_port,
            8080,
            Provenance::default_for("flask (waitress)"),
        );
        let p = port.value;
        let call = if factory { " --call" } else { "" };
        let target = if factory {
            shell_quote(&format!("{module}:{var}"))
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
    let code_port = declared_file(&file)
        .and_then(|f| view.text(f))
        .and_then(|t| run_call_port(&t))
        .map(|port| Sourced::new(port, format!("{file} app.run(port)")));
    let port = example_port
        .cloned()
        .or(code_port)
        .unwrap_or_else(|| Sourced::assumed(5000, "flask"));
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
pub(super) fn run_call_port(text: &str) -> Option<u16> {
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

pub(super) fn streamlit(
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
        .unwrap_or_else(|| Sourced::assumed(8501, "streamlit"));
    let p = port.value;
    let confirmed = entry.is_some();
    let (file, source) = match &entry {
        Some(f) => {
            evidence.push((f.clone(), "imports streamlit".into()));
            (relative_to(dir, f).to_string(), Provenance::declared(f))
        }
        None => ("app.py".to_string(), Provenance::default_for("streamlit")),
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
pub(super) fn script_entry(
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
            format!("{runner}python {}", shell_quote(file_name(file))),
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
            format!("{runner}python -m {}", shell_quote(file_name(package))),
            join(package, "__main__.py"),
        ));
    }
    let scripts = pyproject.map(Pyproject::scripts).unwrap_or_default();
    if scripts.len() == 1
        && let Some((name, _)) = scripts.iter().next()
    {
        return Some((
            format!("{runner}{}", shell_quote(name)),
            format!("{} scripts.{name}", join(dir, "pyproject.toml")),
        ));
    }
    None
}

/// `var` for a top-level `var = Ctor(...)` line (`app = FastAPI()`,
/// `app: Flask = flask.Flask(__name__)`).
pub(super) fn app_variable(text: &str, ctors: &[&str]) -> Option<String> {
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
pub(super) fn app_factory(text: &str, ctors: &[&str]) -> Option<&'static str> {
    if !ctors.iter().any(|c| text.contains(c)) {
        return None;
    }
    ["create_app", "make_app"]
        .into_iter()
        .find(|f| text.contains(&format!("def {f}(")))
}

/// The celery app of a project: the module that creates `Celery(`, as `celery -A`
/// takes it (`tasks`, `proj.celery`, `worker:celery_app`).
pub(super) fn celery_app(view: &ProjectView, dir: &str) -> Option<(String, String)> {
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

/// The frameworks a file imports (`from flask import Flask` → `flask`).
pub(super) fn imported_frameworks(text: &str) -> Vec<&'static str> {
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
