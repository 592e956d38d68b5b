//! Parser of `pyproject.toml`: the PEP 621 `[project]` table, Poetry's `[tool.poetry]`,
//! and what PDM and uv add (`[tool.pdm]`, `[tool.uv]`, a uv workspace).
//!
//! Only what a deployment needs is kept: names, dependencies (normalized names), the
//! Python constraint, scripts and which tools the file configures. A file that is not
//! valid TOML is an error; odd types inside valid TOML are ignored field by field.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::ManifestError;
use super::requirements::{self, Requirement};

/// A parsed `pyproject.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pyproject {
    /// The PEP 621 `[project]` table, if present.
    pub project: Option<Project>,
    /// Poetry's `[tool.poetry]` table, if present.
    pub poetry: Option<Poetry>,
    /// PDM's `[tool.pdm]` table, if present.
    pub pdm: Option<Pdm>,
    /// uv's `[tool.uv]` table, if present.
    pub uv: Option<Uv>,
    /// `build-system.build-backend` (`hatchling.build`, `poetry.core.masonry.api`...).
    pub build_backend: Option<String>,
    /// Names of every `[tool.X]` table (`black`, `ruff`, `poetry`...), sorted.
    pub tools: Vec<String>,
}

/// The PEP 621 `[project]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Project {
    /// `name`.
    pub name: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `requires-python` (`>=3.11`).
    pub requires_python: Option<String>,
    /// `dependencies`, parsed (entries that are not valid PEP 508 are skipped).
    pub dependencies: Vec<Requirement>,
    /// `optional-dependencies`: extra name → its requirements.
    pub optional_dependencies: BTreeMap<String, Vec<Requirement>>,
    /// `scripts`: command name → `module:function`.
    pub scripts: BTreeMap<String, String>,
}

/// Poetry's `[tool.poetry]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Poetry {
    /// `name`.
    pub name: Option<String>,
    /// The `python` entry of `dependencies` (`^3.11`).
    pub python: Option<String>,
    /// The main dependencies (normalized names, `python` excluded).
    pub dependencies: Vec<String>,
    /// The dev dependencies: `dev-dependencies` and every `group.X.dependencies`
    /// (normalized names).
    pub dev_dependencies: Vec<String>,
    /// `scripts`: command name → `module:function`.
    pub scripts: BTreeMap<String, String>,
    /// `package-mode = false`: the project is not a package (an application only).
    pub package_mode: Option<bool>,
}

/// PDM's `[tool.pdm]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pdm {
    /// `scripts`: name → command (string scripts, or the `cmd`/`shell` of a table).
    pub scripts: BTreeMap<String, String>,
    /// `distribution = false`: the project is not a package.
    pub distribution: Option<bool>,
}

/// uv's `[tool.uv]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uv {
    /// `package = false`: the project is not a package.
    pub package: Option<bool>,
    /// `workspace.members` globs, if this is a uv workspace root.
    pub workspace_members: Option<Vec<String>>,
    /// `workspace.exclude` globs.
    pub workspace_exclude: Vec<String>,
}

impl Pyproject {
    /// The project's name: `project.name`, else `tool.poetry.name`.
    pub fn name(&self) -> Option<&str> {
        self.project
            .as_ref()
            .and_then(|p| p.name.as_deref())
            .or_else(|| self.poetry.as_ref().and_then(|p| p.name.as_deref()))
    }

    /// Whether the file describes a project (and is not only tool configuration):
    /// it has `[project]`, `[tool.poetry]` or a `[build-system]` backend.
    pub fn is_project(&self) -> bool {
        self.project.is_some() || self.poetry.is_some() || self.build_backend.is_some()
    }

    /// The main dependencies of `[project]` and `[tool.poetry]`, normalized, each once.
    pub fn dependency_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let project = self.project.iter().flat_map(|p| &p.dependencies);
        for name in project
            .map(|r| r.name.clone())
            .chain(self.poetry.iter().flat_map(|p| p.dependencies.clone()))
        {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// Every script (`[project.scripts]`, then `[tool.poetry.scripts]`).
    pub fn scripts(&self) -> BTreeMap<String, String> {
        let mut out = self
            .poetry
            .as_ref()
            .map(|p| p.scripts.clone())
            .unwrap_or_default();
        if let Some(p) = &self.project {
            out.extend(p.scripts.clone());
        }
        out
    }
}

/// Parses a `pyproject.toml`.
pub fn parse(text: &str) -> Result<Pyproject, ManifestError> {
    let table: Table = toml::from_str(text).map_err(|e| ManifestError::new(e.to_string()))?;
    let tool = table.get("tool").and_then(Value::as_table);
    let mut tools: Vec<String> = tool
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    tools.sort();
    Ok(Pyproject {
        project: table.get("project").and_then(Value::as_table).map(project),
        poetry: tool
            .and_then(|t| t.get("poetry"))
            .and_then(Value::as_table)
            .map(poetry),
        pdm: tool
            .and_then(|t| t.get("pdm"))
            .and_then(Value::as_table)
            .map(pdm),
        uv: tool
            .and_then(|t| t.get("uv"))
            .and_then(Value::as_table)
            .map(uv),
        build_backend: table
            .get("build-system")
            .and_then(|b| b.get("build-backend"))
            .and_then(Value::as_str)
            .map(str::to_string),
        tools,
    })
}

fn string(t: &Table, key: &str) -> Option<String> {
    t.get(key).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_table)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn requirement_list(v: Option<&Value>) -> Vec<Requirement> {
    strings(v)
        .iter()
        .filter_map(|s| requirements::parse_requirement(s))
        .collect()
}

fn project(t: &Table) -> Project {
    Project {
        name: string(t, "name"),
        version: string(t, "version"),
        requires_python: string(t, "requires-python"),
        dependencies: requirement_list(t.get("dependencies")),
        optional_dependencies: t
            .get("optional-dependencies")
            .and_then(Value::as_table)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), requirement_list(Some(v))))
                    .collect()
            })
            .unwrap_or_default(),
        scripts: string_map(t.get("scripts")),
    }
}

fn poetry(t: &Table) -> Poetry {
    let deps = t.get("dependencies").and_then(Value::as_table);
    let python = deps.and_then(|d| d.get("python")).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Table(t) => string(t, "version"),
        _ => None,
    });
    let names = |d: Option<&Table>| -> Vec<String> {
        d.map(|d| {
            d.keys()
                .filter(|k| k.as_str() != "python")
                .map(|k| requirements::normalize(k))
                .collect()
        })
        .unwrap_or_default()
    };
    let mut dev = names(t.get("dev-dependencies").and_then(Value::as_table));
    if let Some(groups) = t.get("group").and_then(Value::as_table) {
        for g in groups.values() {
            dev.extend(names(g.get("dependencies").and_then(Value::as_table)));
        }
    }
    Poetry {
        name: string(t, "name"),
        python,
        dependencies: names(deps),
        dev_dependencies: dev,
        scripts: string_map(t.get("scripts")),
        package_mode: t.get("package-mode").and_then(Value::as_bool),
    }
}

fn pdm(t: &Table) -> Pdm {
    let scripts = t
        .get("scripts")
        .and_then(Value::as_table)
        .map(|s| {
            s.iter()
                .filter(|(k, _)| k.as_str() != "_")
                .filter_map(|(k, v)| {
                    let cmd = match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Table(t) => string(t, "cmd")
                            .or_else(|| string(t, "shell"))
                            .or_else(|| t.get("cmd").and_then(array_command)),
                        _ => None,
                    };
                    cmd.map(|c| (k.clone(), c))
                })
                .collect()
        })
        .unwrap_or_default();
    Pdm {
        scripts,
        distribution: t.get("distribution").and_then(Value::as_bool),
    }
}

fn array_command(v: &Value) -> Option<String> {
    let parts = strings(Some(v));
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn uv(t: &Table) -> Uv {
    let workspace = t.get("workspace").and_then(Value::as_table);
    Uv {
        package: t.get("package").and_then(Value::as_bool),
        workspace_members: workspace.map(|w| strings(w.get("members"))),
        workspace_exclude: workspace
            .map(|w| strings(w.get("exclude")))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pep621_with_uv_workspace() {
        let text = r#"
[project]
name = "api"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = ["fastapi[standard]>=0.110", "SQLAlchemy>=2", "not valid!!"]

[project.optional-dependencies]
test = ["pytest"]

[project.scripts]
serve = "api.main:run"

[tool.uv]
package = false

[tool.uv.workspace]
members = ["packages/*"]
exclude = ["packages/legacy"]

[tool.ruff]
line-length = 100

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"#;
        let p = parse(text).unwrap();
        let project = p.project.as_ref().unwrap();
        assert_eq!(p.name(), Some("api"));
        assert_eq!(project.requires_python.as_deref(), Some(">=3.12"));
        assert_eq!(p.dependency_names(), vec!["fastapi", "sqlalchemy"]);
        assert_eq!(project.optional_dependencies["test"][0].name, "pytest");
        assert_eq!(p.scripts()["serve"], "api.main:run");
        let uv = p.uv.as_ref().unwrap();
        assert_eq!(uv.package, Some(false));
        assert_eq!(uv.workspace_members, Some(vec!["packages/*".to_string()]));
        assert_eq!(uv.workspace_exclude, vec!["packages/legacy"]);
        assert_eq!(p.build_backend.as_deref(), Some("hatchling.build"));
        assert_eq!(p.tools, vec!["ruff", "uv"]);
        assert!(p.is_project());
    }

    #[test]
    fn poetry_with_groups() {
        let text = r#"
[tool.poetry]
name = "shop"
package-mode = false

[tool.poetry.dependencies]
python = "^3.11"
Django = "^5.0"
psycopg = { version = "^3.1", extras = ["binary"] }

[tool.poetry.dev-dependencies]
black = "*"

[tool.poetry.group.test.dependencies]
pytest = "^8"

[tool.poetry.scripts]
shop = "shop.cli:main"
"#;
        let p = parse(text).unwrap();
        let poetry = p.poetry.as_ref().unwrap();
        assert_eq!(p.name(), Some("shop"));
        assert_eq!(poetry.python.as_deref(), Some("^3.11"));
        assert_eq!(poetry.dependencies, vec!["django", "psycopg"]);
        assert_eq!(poetry.dev_dependencies, vec!["black", "pytest"]);
        assert_eq!(poetry.package_mode, Some(false));
        assert_eq!(p.dependency_names(), vec!["django", "psycopg"]);
        assert_eq!(p.scripts()["shop"], "shop.cli:main");
    }

    #[test]
    fn pdm_scripts_and_tool_only_files() {
        let text = r#"
[tool.pdm]
distribution = false
[tool.pdm.scripts]
_ = { env_file = ".env" }
start = "flask run"
serve = { cmd = ["gunicorn", "app:app"] }
lint = { shell = "ruff check ." }
weird = 3
"#;
        let p = parse(text).unwrap();
        let pdm = p.pdm.as_ref().unwrap();
        assert_eq!(pdm.distribution, Some(false));
        assert_eq!(pdm.scripts["start"], "flask run");
        assert_eq!(pdm.scripts["serve"], "gunicorn app:app");
        assert_eq!(pdm.scripts["lint"], "ruff check .");
        assert_eq!(pdm.scripts.len(), 3);
        assert!(!p.is_project());

        let tools_only = parse("[tool.black]\nline-length = 88\n").unwrap();
        assert!(!tools_only.is_project());
        assert_eq!(tools_only.tools, vec!["black"]);
    }

    #[test]
    fn odd_types_are_ignored_and_bad_toml_fails() {
        let p = parse("project = 3\n[tool]\npoetry = \"x\"\n").unwrap();
        assert!(p.project.is_none() && p.poetry.is_none());
        let p = parse("[project]\nname = 1\ndependencies = \"flask\"\nscripts = []\n").unwrap();
        assert_eq!(p.project.unwrap().dependencies, vec![]);
        assert!(parse("[project\nname = ").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_toml_like(lines in proptest::collection::vec(
            "(\\[project\\]|\\[tool\\.poetry\\]|\\[tool\\.uv\\.workspace\\]|dependencies = \\[\"[a-z=<>]{0,8}\"\\]|members = \\[\"[a-z/*]{0,6}\"\\]|python = \"[0-9^.]{0,5}\"|name = [0-9]{1,3})", 0..8)) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
