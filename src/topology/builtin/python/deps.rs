//! What a Python project installs and runs on: its manager (pip, poetry, uv, pipenv,
//! pdm), uv workspaces, requirements files (and what they include), the install
//! command and the runtime version.

use super::*;

/// A uv workspace: its root and member globs.
#[derive(Debug)]
pub(super) struct Workspace {
    pub(super) root: String,
    pub(super) members: globset::GlobSet,
    pub(super) exclude: globset::GlobSet,
}

pub(super) fn uv_workspaces(pyprojects: &BTreeMap<String, Option<Pyproject>>) -> Vec<Workspace> {
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
pub(super) struct Deps {
    /// Normalized name → the file that lists it.
    pub(super) names: BTreeMap<String, String>,
    /// Normalized name → its extras.
    pub(super) extras: BTreeMap<String, Vec<String>>,
}

impl Deps {
    pub(super) fn add(&mut self, name: &str, extras: &[String], source: &str) {
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

    pub(super) fn has(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }
}

/// The requirements file in use and what it holds (includes resolved).
#[derive(Debug, Default)]
pub(super) struct RequirementsFile {
    /// Relative to the project folder (`requirements.txt`, `requirements/prod.txt`).
    pub(super) relative: String,
    pub(super) total: usize,
    pub(super) unpinned: Vec<String>,
    /// Files it includes (`-r`), as view paths.
    pub(super) included: Vec<String>,
}

pub(super) fn install_command(
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
                format!("pip install -r {}", shell_quote(&r.relative)),
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
                cmd.push_str(&format!(" --package {}", shell_quote(name)));
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
pub(super) fn read_requirements(
    view: &ProjectView,
    dir: &str,
    deps: &mut Deps,
) -> Option<RequirementsFile> {
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
        // A line pip would refuse is said, with its number (a local path is pip's too).
        if let Some((line, text)) = parsed
            .unknown
            .iter()
            .find(|(_, t)| !(t.starts_with(['.', '/']) || t.contains("://") || t.ends_with(".whl")))
        {
            crate::topology::common::invalid(
                view,
                &path,
                format!(
                    "line {line}: not a requirement pip reads: {}",
                    crate::text::terminal_safe(text)
                ),
            );
        }
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

pub(super) fn is_dev_requirements(path: &str) -> bool {
    let name = file_name(path);
    ["dev", "test", "lint", "doc", "local", "ci"]
        .iter()
        .any(|w| name.starts_with(w))
}

/// `install_requires` of a `setup.py` (`install_requires=[...]`) or `setup.cfg`.
pub(super) fn setup_requirements(text: &str) -> Vec<requirements::Requirement> {
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

pub(super) fn runtime_version(
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
