//! A service's Dockerfile from its stack's template, and what the templates are given,
//! read from the topology and the folder: the stack whose template a service uses, the
//! program a command runs, a node service's own script, go's package, rust's binary, a
//! static site's folder, a stack's `.dockerignore`, and where each value came from (for
//! an error that names it).

use super::install;
use super::*;

impl Planner {
    /// Renders the Dockerfile of a service from its stack's template.
    pub(super) fn dockerfile(
        &self,
        files: &Files,
        found: &TopologyService,
        stack: &str,
        port: Option<u16>,
        health_path: &str,
    ) -> Result<String, PlanError> {
        let version = found.runtime_version.as_ref().map(|v| v.value.as_str());
        let image = |key: &str| -> Result<String, PlanError> {
            self.images
                .lookup(key, version)
                .map(str::to_string)
                .ok_or_else(|| PlanError::Template {
                    stack: stack.to_string(),
                    message: format!("no base image for {key} in the base-image map"),
                })
        };
        let value = |c: &Option<crate::topology::Sourced<String>>| {
            c.as_ref().map(|c| c.value.clone()).unwrap_or_default()
        };
        let mut install = value(&found.install_command);
        let mut build = value(&found.build_command);
        let start = value(&found.start_command);
        let folder = found.path.as_str();
        // The service's folder from its build context: where it runs in a monorepo.
        let member = relative_to(&found.path, &found.context);
        let member = if member.is_empty() || member == "." || found.path == found.context {
            ".".to_string()
        } else {
            member
        };
        let start = if stack == "node" {
            own_script(files, folder, &start).unwrap_or(start)
        } else {
            start
        };
        // Node runs workspace commands (`pnpm --filter ...`) from the root; a service's
        // own script, and every other stack, from its folder.
        let runs_from_root =
            stack == "node" && (start.contains("--filter") || start.contains("--workspace"));
        let workdir = if member == "." || runs_from_root {
            "/app".to_string()
        } else {
            format!("/app/{member}")
        };
        if stack == "node" && !has_node_dependencies(files, folder) {
            // Nothing to install (and no npm needed to install nothing).
            install.clear();
        }
        let wrapper = |name: &str| {
            files.is_file(&join(folder, name)) || files.is_file(&join(&found.context, name))
        };
        let mut java_builder = "java";
        if stack == "java" && build.is_empty() {
            build = if wrapper("mvnw") {
                "./mvnw -q -DskipTests package".into()
            } else if wrapper("gradlew") {
                "./gradlew --no-daemon build -x test".into()
            } else if wrapper("pom.xml") {
                java_builder = "maven";
                "mvn -q -DskipTests package".into()
            } else {
                java_builder = "gradle";
                "gradle --no-daemon build -x test".into()
            };
        }
        // Tools the stack's image has, or that the template brings.
        let python_tool = first_word(&install)
            .filter(|t| ["poetry", "uv", "pipenv", "pdm"].contains(t))
            .map(str::to_string)
            .unwrap_or_default();
        let uses_composer = first_word(&install) == Some("composer");
        let missing: &[&str] = match stack {
            "node" => &["bun", "deno"],
            "java" => &["sbt", "lein", "clojure"],
            "python" => &["conda", "mamba"],
            _ => &[],
        };
        for command in [&install, &build, &start] {
            if let Some(tool) = first_word(command).filter(|t| missing.contains(t)) {
                return Err(PlanError::MissingTool {
                    tool: tool.to_string(),
                    stack: stack.to_string(),
                    command: command.clone(),
                });
            }
        }
        let (base, build_image) = match stack {
            "go" => (image("go-runtime")?, image("go")?),
            "rust" => (image("rust-runtime")?, image("rust")?),
            "java" => (image("java-runtime")?, image(java_builder)?),
            "static" => {
                let builder = if build.is_empty() {
                    String::new()
                } else {
                    image("node")?
                };
                (image("static")?, builder)
            }
            // A stack Kyozo has no template for runs on what the map gives it, if
            // anything: its template may name its own image.
            other if template_stack(found) != Some(other) => (
                self.images
                    .lookup(other, version)
                    .unwrap_or_default()
                    .to_string(),
                String::new(),
            ),
            other => (image(other)?, String::new()),
        };
        let composer_image = if uses_composer {
            image("composer")?
        } else {
            String::new()
        };
        // The dependencies before the code, where the stack's install allows it.
        let context_dir = found.context.as_str();
        let steps = match stack {
            "python" => install::python(files, folder, context_dir, &install),
            "node" => install::node(files, folder, context_dir, &install),
            "ruby" => install::ruby(files, folder, context_dir, &install),
            "php" => install::php(files, folder, context_dir, &install),
            "go" => install::go(files, folder, context_dir),
            "rust" => install::rust(files, context_dir),
            "java" => install::java(files, context_dir, &build),
            "deno" => install::deno(files, folder, context_dir, &install),
            _ => install::InstallPlan::default(),
        };
        let tools_origin = "the planner's build tools (BuildTools)";
        let mut system_packages = steps.native_packages.clone();
        for p in self.tools.system_packages() {
            if !install::is_debian_package(p) {
                return Err(PlanError::Unsafe {
                    service: found.name.clone(),
                    variable: "system_packages".into(),
                    origin: tools_origin.into(),
                    value: p.clone(),
                    reason:
                        "is not a Debian package name (lower-case letters, digits, `+`, `-`, `.`)"
                            .into(),
                });
            }
            if !system_packages.contains(p) {
                system_packages.push(p.clone());
            }
        }
        let tool_spec = if python_tool.is_empty() {
            String::new()
        } else {
            match self.tools.version(&python_tool) {
                Some(v) if install::is_version(v) => format!("{python_tool}=={v}"),
                Some(v) => {
                    return Err(PlanError::Unsafe {
                        service: found.name.clone(),
                        variable: "tool_spec".into(),
                        origin: tools_origin.into(),
                        value: v.to_string(),
                        reason: "is not a version (letters, digits, `.`, `+`, `-`, `_`, `!`)"
                            .into(),
                    });
                }
                None => python_tool.clone(),
            }
        };
        // Python's headers, for a native build on an image whose python has none (a
        // Debian python; the official images have them).
        let native_headers =
            if stack == "python" && steps.native_packages.iter().any(|p| p == "gcc") {
                "1"
            } else {
                ""
            };
        // Go without go.mod builds in a module made for the build (`go mod init`).
        let go_init = if stack == "go"
            && !files.is_file(&join(folder, "go.mod"))
            && !files.is_file(&join(&found.context, "go.mod"))
            && !files.is_file(&join(&found.context, "go.work"))
        {
            "1"
        } else {
            ""
        };
        let tool_constraints = if python_tool.is_empty() {
            Vec::new()
        } else {
            self.tools.constraints(&python_tool)
        };
        let lists = BTreeMap::from([
            ("manifests", steps.manifests),
            ("system_packages", system_packages),
            ("tool_constraints", tool_constraints),
        ]);
        let context = BTreeMap::from([
            ("deps_install", steps.deps_install),
            ("deps_key", steps.deps_key),
            ("project_install", steps.project_install),
            ("tool_spec", tool_spec),
            ("native_headers", native_headers.to_string()),
            ("go_init", go_init.to_string()),
            ("name", found.name.clone()),
            ("stack", found.language.clone()),
            ("framework", found.framework.clone().unwrap_or_default()),
            (
                "package_manager",
                found.package_manager.clone().unwrap_or_default(),
            ),
            ("base", base),
            ("build_image", build_image),
            ("composer_image", composer_image),
            ("port", port.map(|p| p.to_string()).unwrap_or_default()),
            ("health_path", health_path.to_string()),
            ("install", std::mem::take(&mut install)),
            ("tool", python_tool),
            ("build", build),
            ("start", start.clone()),
            ("workdir", workdir),
            ("module", member),
            ("package", go_package(&found.build_command, &start)),
            ("binary", rust_binary(&start, &found.name)),
            ("site_dir", static_dir(files, folder, &found.build_command)),
            (
                "caddyfile",
                if stack == "static" {
                    super::static_site::static_site(files, folder)
                        .map(|site| {
                            super::static_site::caddyfile(&site, port.unwrap_or(STATIC_PORT))
                                .join("\n")
                        })
                        .unwrap_or_default()
                } else {
                    String::new()
                },
            ),
        ]);
        self.templates
            .render_with(stack, &context, &lists)
            .map_err(|e| match e {
                PlanError::Unsafe {
                    service,
                    variable,
                    value,
                    reason,
                    ..
                } => PlanError::Unsafe {
                    // Shown escaped: a file name may hold a newline.
                    origin: provenance(found, &variable).escape_debug().to_string(),
                    service,
                    variable,
                    value,
                    reason,
                },
                e => e,
            })
    }
}

/// Where the value of template variable `variable` of `found` came from, for an error
/// that names it.
pub(super) fn provenance(found: &TopologyService, variable: &str) -> String {
    let sourced =
        |c: &Option<crate::topology::Sourced<String>>| c.as_ref().map(|c| c.source.to_string());
    let folder = || format!("the folder {}", found.path);
    match variable {
        "install" | "deps_install" | "project_install" => {
            sourced(&found.install_command).unwrap_or_else(folder)
        }
        "manifests" => format!("the manifests of {}", found.path),
        "tool_spec" | "tool_constraints" | "system_packages" => {
            "the planner's build tools (BuildTools)".to_string()
        }
        "build" | "package" => sourced(&found.build_command)
            .or_else(|| sourced(&found.start_command))
            .unwrap_or_else(folder),
        "start" | "binary" => sourced(&found.start_command).unwrap_or_else(folder),
        "health_path" => found
            .healthcheck
            .as_ref()
            .map(|h| h.source.to_string())
            .unwrap_or_else(folder),
        "workdir" | "module" => format!("the folder {} (from {})", found.path, found.context),
        "site_dir" => format!("{} or the build command", join(&found.path, "Staticfile")),
        "base" | "build_image" | "composer_image" => "the base-image map".to_string(),
        _ => folder(),
    }
}

/// The program a command runs (after any `NAME=value` assignments).
pub(super) fn first_word(command: &str) -> Option<&str> {
    command.split_whitespace().find(|w| !w.contains('='))
}

/// The template a service's stack uses, if Kyozo has one.
pub(super) fn template_stack(found: &TopologyService) -> Option<&'static str> {
    Some(match found.language.as_str() {
        "node" => "node",
        "python" => "python",
        "go" => "go",
        "rust" => "rust",
        "java" | "kotlin" | "scala" => "java",
        "ruby" => "ruby",
        "php" => "php",
        "deno" => "deno",
        "static" | "staticfile" => "static",
        _ => return None,
    })
}

/// `npm start` or `npm run NAME` of the package in `folder`: the script itself, so the
/// container runs the app as its main process (signals reach it; no npm needed).
pub(super) fn own_script(files: &Files, folder: &str, start: &str) -> Option<String> {
    let words: Vec<&str> = start.split_whitespace().collect();
    let name = match words.as_slice() {
        ["npm", "start"] | ["npm", "run", "start"] => "start",
        ["npm", "run", name] => name,
        _ => return None,
    };
    let text = files.text(&join(folder, "package.json"))?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    let script = manifest.get("scripts")?.get(name)?.as_str()?.trim();
    // A script that runs other scripts, or is empty, stays with npm.
    if script.is_empty() || script.contains("npm ") || script.contains("&&") {
        return None;
    }
    Some(script.to_string())
}

/// Whether the package.json in `folder` lists dependencies to install.
pub(super) fn has_node_dependencies(files: &Files, folder: &str) -> bool {
    let Some(text) = files.text(&join(folder, "package.json")) else {
        return true;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return true;
    };
    ["dependencies", "devDependencies"].iter().any(|k| {
        manifest
            .get(k)
            .and_then(|d| d.as_object())
            .is_some_and(|d| !d.is_empty())
    })
}

/// The package `go build` builds: from the build or start command, else `.`.
pub(super) fn go_package(build: &Option<crate::topology::Sourced<String>>, start: &str) -> String {
    let from = |cmd: &str| {
        cmd.split_whitespace()
            .skip_while(|w| *w != "build" && *w != "run")
            .skip(1)
            .find(|w| w.starts_with("./") || *w == ".")
            .map(str::to_string)
    };
    build
        .as_ref()
        .and_then(|b| from(&b.value))
        .or_else(|| from(start))
        .unwrap_or_else(|| ".".into())
}

/// The binary a rust service runs: from `target/release/NAME` in its start command,
/// else the service's name.
pub(super) fn rust_binary(start: &str, name: &str) -> String {
    start
        .split_whitespace()
        .find_map(|w| w.rsplit_once("target/release/").map(|(_, b)| b.to_string()))
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| name.to_string())
}

/// The folder a static site serves: the `root:` of its Staticfile, or the build's
/// output (`dist`) when it builds, else the service's folder.
pub(super) fn static_dir(
    files: &Files,
    folder: &str,
    build: &Option<crate::topology::Sourced<String>>,
) -> String {
    let root = files
        .text(&join(folder, "Staticfile"))
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("root:").map(|r| r.trim().to_string()))
        })
        .filter(|r| {
            !r.is_empty()
                && !r.starts_with('/')
                && r.split('/').all(|p| p != "..")
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        });
    match (root, build) {
        (Some(root), _) => root,
        (None, Some(_)) => "dist".into(),
        (None, None) => ".".into(),
    }
}

/// Whether `v` is an HTTP route safe to put in a Dockerfile (`/healthz`).
pub(super) fn is_route(v: &str) -> bool {
    v.starts_with('/')
        && v.len() <= 200
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-~?=&".contains(c))
}

/// A `.dockerignore` for a stack: version control, local state, dependencies and
/// build output that the image makes itself.
pub(super) fn dockerignore(stack: &str) -> String {
    let mut lines = vec![
        format!("# {GENERATED_MARK}: what the build context leaves out."),
        ".git".into(),
        ".kyozo".into(),
        "**/.env".into(),
        "**/*.log".into(),
        "Dockerfile".into(),
        ".dockerignore".into(),
    ];
    let extra: &[&str] = match stack {
        "node" | "deno" | "static" => &["**/node_modules", ".next/cache"],
        "python" => &[
            "**/__pycache__",
            "**/*.pyc",
            ".venv",
            "venv",
            ".pytest_cache",
            // pdm's interpreter of this machine, not the image's.
            ".pdm-python",
        ],
        "rust" => &["target"],
        "java" | "kotlin" | "scala" => &["target", "build", ".gradle"],
        "ruby" => &["vendor/bundle", "tmp", "log"],
        "php" => &["vendor"],
        _ => &[],
    };
    lines.extend(extra.iter().map(|s| s.to_string()));
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
