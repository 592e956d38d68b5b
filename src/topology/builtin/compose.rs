//! The compose detector: the services a compose file runs. It says *how the folders
//! run* rather than what language they are in; the merge lays each compose service over
//! the folder it builds from (compose values outrank every other detector's).
//!
//! - Files: the first of `compose.yaml`, `compose.yml`, `docker-compose.yaml`,
//!   `docker-compose.yml` in a folder (any depth; `.devcontainer` and `.github` folders
//!   skipped), merged with its override file (`compose.override.yaml`...) when present,
//!   and with the files it `include`s (their services resolve paths from their own
//!   folder). A file that is included by another is not read again on its own.
//! - Variables are interpolated from the `.env` next to the compose file (its values
//!   serve interpolation only and appear nowhere in the output); unset ones become
//!   warnings.
//! - A service with `build`: a detection at its build context folder (or, when the
//!   Dockerfile it names sits in an app folder below the context, as in
//!   `context: .` + `dockerfile: apps/api/Dockerfile`, at that folder with
//!   `hints.context` set to the context). A context that is a URL, escapes the project or
//!   is not a folder of it is reported and the compose file's folder is used instead.
//! - A service with only `image`: nothing when the image is a backing service
//!   (postgres, redis...): it becomes a `backing_services` entry of the services that
//!   `depends_on` it, or of every built service of the file when none does. Any other
//!   image: a detection at the compose file's folder with `hints.image` set, which the
//!   merge makes a service of its own.
//! - Hints, each with the file and field as source: the compose name; container ports
//!   (targets of `ports`, and `expose`); env var names (`environment` keys and the names
//!   in `env_file` files, never values); the start command (`entrypoint` + `command`);
//!   the health check (`healthcheck.test`); the Dockerfile (`build.dockerfile` joined to
//!   the context, else the context's `Dockerfile`); `depends_on` (services that are not
//!   backing images) and backing services (backing images depended on, and env names).

use std::collections::{BTreeMap, BTreeSet};

use crate::topology::backing;
use crate::topology::common;
use crate::topology::manifest::compose::{self, ComposeFile, Condition, Service, Variables};
use crate::topology::{
    Detection, Detector, DetectorError, Note, ProjectView, Sourced, join, parent,
};

/// The default compose file names, by preference.
const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Override files merged over the default file, by preference.
const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// Folders whose compose files are not the project's (dev containers, CI).
const SKIPPED: &[&str] = &[".devcontainer", ".github"];

/// How deep `include` is followed.
const MAX_INCLUDE_DEPTH: usize = 4;

/// Detects the services of compose files.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ComposeDetector;

impl Detector for ComposeDetector {
    fn id(&self) -> &str {
        "compose"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let dirs = common::folders_holding(view, COMPOSE_FILES, SKIPPED);
        let mut projects: Vec<(String, Vec<Loaded>)> = Vec::new();
        let mut included: BTreeSet<String> = BTreeSet::new();
        for dir in dirs {
            let Some(file) = COMPOSE_FILES
                .iter()
                .map(|n| join(dir, n))
                .find(|p| view.is_file(p))
            else {
                continue;
            };
            let mut loader = Loader {
                view,
                services: Vec::new(),
                seen: BTreeSet::new(),
            };
            loader.load(&file, dir, None, 0);
            included.extend(loader.seen.iter().filter(|f| **f != file).cloned());
            projects.push((file, loader.services));
        }
        Ok(projects
            .into_iter()
            .filter(|(file, _)| !included.contains(file))
            .flat_map(|(_, services)| detections(view, &services))
            .collect())
    }
}

/// A service with the file it was read from and the folder its paths resolve from.
#[derive(Debug)]
struct Loaded {
    /// The file that defines it.
    file: String,
    /// The folder its relative paths resolve from.
    dir: String,
    /// The service, override merged.
    service: Service,
    /// The override file and what it changes in the service, if it does.
    over: Option<(String, Service)>,
}

impl Loaded {
    /// The file a field comes from: the override when `changed` says it set it.
    fn file_for(&self, changed: impl Fn(&Service) -> bool) -> &str {
        match &self.over {
            Some((path, o)) if changed(o) => path,
            _ => &self.file,
        }
    }

    /// The source of a field: `compose.yaml services.web.ports`.
    fn source(&self, field: &str, changed: impl Fn(&Service) -> bool) -> String {
        format!(
            "{} services.{}{field}",
            self.file_for(changed),
            self.service.name
        )
    }
}

struct Loader<'a> {
    view: &'a ProjectView,
    services: Vec<Loaded>,
    seen: BTreeSet<String>,
}

impl Loader<'_> {
    /// Reads `file` (with its override when it is the top file) and what it includes.
    /// `dir` is the folder its relative paths resolve from; `env_files` the files its
    /// variables come from (default: `dir/.env`).
    fn load(&mut self, file: &str, dir: &str, env_files: Option<Vec<String>>, depth: usize) {
        if !self.seen.insert(file.to_string()) {
            return;
        }
        let view = self.view;
        let Some(text) = view.text(file) else {
            return;
        };
        let env_files = env_files.unwrap_or_else(|| vec![join(dir, ".env")]);
        let mut vars = Variables::new();
        for f in &env_files {
            if let Some(t) = view.text(f) {
                let more = Variables::from_dotenv(&t);
                for name in more.names() {
                    if let Some(v) = more.get(name) {
                        vars.set(name, v);
                    }
                }
            }
        }
        let base = match compose::parse_layer(&text, &vars) {
            Ok(l) => l,
            Err(e) => {
                common::invalid(view, file, e);
                return;
            }
        };
        report(view, file, base.warnings());
        let mut layer_warnings = base.warnings().len();
        let base_copy = base.clone();
        let mut over_copy = None;
        let mut layers = vec![base];
        if depth == 0
            && let Some(over) = OVERRIDE_FILES
                .iter()
                .map(|n| join(parent(file), n))
                .find(|p| view.is_file(p))
            && let Some(over_text) = view.text(&over)
        {
            match compose::parse_layer(&over_text, &vars) {
                Ok(l) => {
                    report(view, &over, l.warnings());
                    layer_warnings += l.warnings().len();
                    over_copy = Some((over.clone(), l.clone()));
                    layers.push(l);
                }
                Err(e) => common::invalid(view, &over, e),
            }
        }
        let merged: ComposeFile = compose::merge_layers(layers);
        // The layers' own warnings were reported above; the merge's (extends) follow.
        report(
            view,
            file,
            merged.warnings.get(layer_warnings..).unwrap_or_default(),
        );
        for s in merged.services {
            if let Some(other) = self.services.iter().find(|l| l.service.name == s.name) {
                common::invalid(
                    view,
                    file,
                    format!(
                        "service {} is also defined in {}: that definition is used",
                        s.name, other.file
                    ),
                );
                continue;
            }
            let in_base = base_copy.service(&s.name).is_some();
            let (defined_in, over) = match &over_copy {
                Some((path, layer)) => match layer.service(&s.name) {
                    Some(o) if in_base => (file.to_string(), Some((path.clone(), o))),
                    Some(_) => (path.clone(), None),
                    None => (file.to_string(), None),
                },
                None => (file.to_string(), None),
            };
            self.services.push(Loaded {
                file: defined_in,
                dir: dir.to_string(),
                service: s,
                over,
            });
        }
        for inc in merged.includes {
            for path in &inc.paths {
                let Some(target) = resolve(dir, path).filter(|p| view.is_file(p)) else {
                    common::invalid(
                        view,
                        file,
                        format!("include {path}: not a file of the project, not read"),
                    );
                    continue;
                };
                if depth + 1 > MAX_INCLUDE_DEPTH {
                    common::invalid(
                        view,
                        file,
                        format!("include {path}: includes nested too deep, not read"),
                    );
                    continue;
                }
                let project_dir = inc
                    .project_directory
                    .as_deref()
                    .and_then(|d| resolve(dir, d))
                    .unwrap_or_else(|| parent(&target).to_string());
                let env = (!inc.env_files.is_empty()).then(|| {
                    inc.env_files
                        .iter()
                        .filter_map(|e| resolve(dir, e))
                        .collect::<Vec<_>>()
                });
                self.load(&target, &project_dir, env, depth + 1);
            }
        }
    }
}

/// Reports a compose file's warnings on the view, one per message (an unset variable
/// used in five places is one warning naming the first place).
fn report(view: &ProjectView, file: &str, warnings: &[compose::Warning]) {
    let mut by_message: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for w in warnings {
        by_message.entry(&w.message).or_default().push(&w.at);
    }
    for (message, places) in by_message {
        let first = places.first().copied().unwrap_or_default();
        let more = match places.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} more places)", n - 1),
        };
        common::invalid(view, file, format!("{first}: {message}{more}"));
    }
}

/// Joins `rel` to folder `dir` as a view path, or `None` when it is absolute or leaves
/// the project.
fn resolve(dir: &str, rel: &str) -> Option<String> {
    let rel = rel.trim();
    if rel.starts_with('/') || rel.starts_with('\\') || rel.get(1..2) == Some(":") {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rel.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn is_remote(context: &str) -> bool {
    context.contains("://")
        || context.starts_with("git@")
        || context.starts_with("github.com/")
        || context.ends_with(".git")
        || context.contains(".git#")
}

fn detections(view: &ProjectView, services: &[Loaded]) -> Vec<Detection> {
    // Image-only services that are backing services (postgres, redis...).
    let backing_of: BTreeMap<&str, (&'static str, &str)> = services
        .iter()
        .filter(|l| l.service.build.is_none())
        .filter_map(|l| {
            let image = l.service.image.as_deref()?;
            backing::from_image(image).map(|b| (l.service.name.as_str(), (b, image)))
        })
        .collect();
    let depended_on: BTreeSet<&str> = services
        .iter()
        .flat_map(|l| l.service.depends_on.iter().map(|d| d.service.as_str()))
        .collect();
    let unclaimed: Vec<(&str, &str, &str)> = backing_of
        .iter()
        .filter(|(name, _)| !depended_on.contains(*name))
        .map(|(name, (b, image))| (*name, *b, *image))
        .collect();

    let mut out = Vec::new();
    for l in services {
        let s = &l.service;
        let at = format!("{} services.{}", l.file, s.name);
        if s.build.is_some() {
            let mut det = built(view, l);
            for (name, b, image) in &unclaimed {
                det.hints.backing_services.push(Sourced::new(
                    (*b).to_string(),
                    format!("{} services.{name}", l.file),
                ));
                det = det.with_evidence(
                    l.file.clone(),
                    format!("services.{name} runs {image}: a {b} the stack uses"),
                );
            }
            out.push(finish(view, det, l, &at, &backing_of));
        } else if let Some(image) = &s.image {
            if backing_of.contains_key(s.name.as_str()) {
                continue;
            }
            let file = l.file_for(|o| o.image.is_some()).to_string();
            let mut det = Detection::new("compose", l.dir.clone(), "docker", 0.85)
                .with_evidence(file, format!("services.{} runs the image {image}", s.name));
            if !view.is_dir(&l.dir) && !l.dir.is_empty() {
                det.path = parent(&l.file).to_string();
            }
            det.hints.image = Some(Sourced::new(
                image.clone(),
                l.source(".image", |o| o.image.is_some()),
            ));
            out.push(finish(view, det, l, &at, &backing_of));
        } else {
            common::invalid(
                view,
                &l.file,
                format!("services.{}: neither build nor image, skipped", s.name),
            );
        }
    }
    out
}

/// The detection of a service that builds an image: where, and with which Dockerfile.
fn built(view: &ProjectView, l: &Loaded) -> Detection {
    let s = &l.service;
    let Some(build) = &s.build else {
        return Detection::new("compose", l.dir.clone(), "docker", 0.9);
    };
    let compose_dir = parent(&l.file).to_string();
    let context = if is_remote(&build.context) {
        common::invalid(
            view,
            &l.file,
            format!(
                "services.{}.build: the context {} is remote; the service is placed at the compose file's folder",
                s.name, build.context
            ),
        );
        None
    } else {
        match resolve(&l.dir, &build.context) {
            Some(c) if c.is_empty() || view.is_dir(&c) => Some(c),
            _ => {
                common::invalid(
                    view,
                    &l.file,
                    format!(
                        "services.{}.build: the context {} is not a folder of the project; the service is placed at the compose file's folder",
                        s.name, build.context
                    ),
                );
                None
            }
        }
    };
    let folder = context.clone().unwrap_or_else(|| compose_dir.clone());
    let dockerfile = match &build.dockerfile {
        Some(d) => resolve(&folder, d),
        None => ["Dockerfile", "Containerfile", "dockerfile"]
            .iter()
            .map(|n| join(&folder, n))
            .find(|p| view.is_file(p)),
    };
    // `context: .` + `dockerfile: apps/api/Dockerfile`: the service is the app folder.
    let app_dir = dockerfile
        .as_deref()
        .map(parent)
        .filter(|d| *d != folder && context.is_some())
        .filter(|d| super::dockerfile::is_app_folder(view, d))
        .map(str::to_string);
    let path = app_dir.clone().unwrap_or_else(|| folder.clone());
    let mut det = Detection::new("compose", path.clone(), "docker", 0.9);
    if app_dir.is_some() {
        det.hints.context = Some(folder.clone());
    }
    let shown = |p: &str| {
        if p.is_empty() {
            ".".to_string()
        } else {
            p.to_string()
        }
    };
    let how = match &dockerfile {
        Some(d) if view.is_file(d) => format!(" with {d}"),
        Some(d) => format!(" with {d} (not in the project)"),
        None if build.dockerfile_inline => " with an inline Dockerfile".to_string(),
        None => String::new(),
    };
    let file = l.file_for(|o| o.build.is_some()).to_string();
    det = det.with_evidence(
        file.clone(),
        format!("services.{} builds from {}{how}", s.name, shown(&folder)),
    );
    if let Some(target) = &build.target {
        det = det.with_evidence(
            file,
            format!("services.{} builds the stage {target}", s.name),
        );
    }
    match dockerfile {
        Some(d) if view.is_file(&d) => det.hints.dockerfile = Some(d),
        Some(d) => det.hints.notes.push(Note::new(
            "compose-dockerfile-missing",
            format!(
                "services.{} of {} builds with {d}, which is not in the project: the build will fail",
                s.name, l.file
            ),
        )),
        None => {}
    }
    det
}

/// The hints every compose detection carries.
fn finish(
    view: &ProjectView,
    mut det: Detection,
    l: &Loaded,
    at: &str,
    backing_of: &BTreeMap<&str, (&'static str, &str)>,
) -> Detection {
    let s = &l.service;
    let name = &s.name;
    det.hints.name = Some(Sourced::new(name.clone(), at.to_string()));
    det.hints.patterns = vec!["compose".to_string()];

    let mut shown_ports: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &s.ports {
        let file = l.file_for(|o| o.ports.iter().any(|x| x.target == p.target));
        if !det.hints.ports.iter().any(|x| x.value == p.target.start) {
            det.hints.ports.push(Sourced::new(
                p.target.start,
                format!("{file} services.{name}.ports"),
            ));
        }
        shown_ports
            .entry(file.to_string())
            .or_default()
            .push(match &p.published {
                Some(host) => format!("{host}->{}", p.target.start),
                None => p.target.start.to_string(),
            });
    }
    for (file, list) in shown_ports {
        det = det.with_evidence(file, format!("services.{name} ports {}", list.join(", ")));
    }
    for p in &s.expose {
        if !det.hints.ports.iter().any(|x| x.value == p.start) {
            let source = l.source(".expose", |o| o.expose.contains(p));
            det.hints.ports.push(Sourced::new(p.start, source));
        }
    }

    for env in &s.environment {
        let source = l.source(".environment", |o| o.environment.contains(env));
        det.hints.env.push(Sourced::new(env.clone(), source));
    }
    for f in &s.env_files {
        let file = l
            .file_for(|o| o.env_files.iter().any(|x| x.path == f.path))
            .to_string();
        let Some(path) = resolve(&l.dir, &f.path) else {
            continue;
        };
        // Names only: the values of an env file are never read into the output.
        let reason = match view.text(&path) {
            Some(text) => {
                let names = common::parse_dotenv_names(&text);
                let count = names.len();
                for n in names {
                    if !det.hints.env.iter().any(|x| x.value == n) {
                        det.hints.env.push(Sourced::new(n, path.clone()));
                    }
                }
                format!("services.{name} reads env_file {path} ({count} variables)")
            }
            None => format!(
                "services.{name} reads env_file {path}, which is not in the project (ignored or missing)"
            ),
        };
        det = det.with_evidence(file, reason);
    }

    let entry = s.entrypoint.as_ref().map(compose::Command::to_shell);
    let cmd = s.command.as_ref().map(compose::Command::to_shell);
    let file = l
        .file_for(|o| o.command.is_some() || o.entrypoint.is_some())
        .to_string();
    let start = match (entry, cmd) {
        (Some(e), Some(c)) => Some((format!("{e} {c}"), ".entrypoint + command")),
        (Some(e), None) => Some((e, ".entrypoint")),
        (None, Some(c)) => Some((c, ".command")),
        (None, None) => None,
    };
    if let Some((line, field)) = start.filter(|(line, _)| !line.trim().is_empty()) {
        det = det.with_evidence(file.clone(), format!("services.{name} runs {line}"));
        det.hints.start_command =
            Some(Sourced::new(line, format!("{file} services.{name}{field}")));
    }

    if let Some(h) = &s.healthcheck {
        let file = l
            .file_for(|o| {
                o.healthcheck
                    .as_ref()
                    .is_some_and(|h| h.test.is_some() || h.disable)
            })
            .to_string();
        if h.disable {
            det = det.with_evidence(file, format!("services.{name}: health check disabled"));
        } else if let Some(test) = &h.test {
            let line = test.to_shell();
            det = det.with_evidence(
                file.clone(),
                format!("services.{name} health check: {line}"),
            );
            det.hints.healthcheck = Some(Sourced::new(
                line,
                format!("{file} services.{name}.healthcheck"),
            ));
        }
    }

    for d in &s.depends_on {
        let file = l
            .file_for(|o| o.depends_on.iter().any(|x| x.service == d.service))
            .to_string();
        let wait = match d.condition {
            Condition::Started => "to start",
            Condition::Healthy => "to be healthy",
            Condition::CompletedSuccessfully => "to complete successfully",
        };
        match backing_of.get(d.service.as_str()) {
            Some((b, image)) => {
                if !det.hints.backing_services.iter().any(|x| x.value == *b) {
                    det.hints.backing_services.push(Sourced::new(
                        (*b).to_string(),
                        format!("{file} services.{name}.depends_on {}", d.service),
                    ));
                }
                det = det.with_evidence(
                    file,
                    format!(
                        "services.{name} waits for {} ({image}, a {b}) {wait}",
                        d.service
                    ),
                );
            }
            None => {
                det.hints.depends_on.push(Sourced::new(
                    d.service.clone(),
                    format!("{file} services.{name}.depends_on"),
                ));
                det = det.with_evidence(
                    file,
                    format!("services.{name} waits for {} {wait}", d.service),
                );
            }
        }
    }
    for b in common::backing_from_env(&det.hints.env) {
        if !det
            .hints
            .backing_services
            .iter()
            .any(|x| x.value == b.value)
        {
            det.hints.backing_services.push(b);
        }
    }

    if !s.profiles.is_empty() {
        det.confidence -= 0.1;
        let file = l.file_for(|o| !o.profiles.is_empty()).to_string();
        det = det.with_evidence(
            file,
            format!(
                "services.{name} only starts with the profile {}",
                s.profiles.join(" or ")
            ),
        );
    }
    if let Some(n) = s.replicas {
        let file = l.file_for(|o| o.replicas.is_some()).to_string();
        det = det.with_evidence(file, format!("services.{name} runs {n} replicas"));
    }
    det
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::topology::Provenance;

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, ProjectView) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let view = ProjectView::scan(dir.path()).unwrap();
        (dir, view)
    }

    fn by_name<'a>(found: &'a [Detection], name: &str) -> &'a Detection {
        found
            .iter()
            .find(|d| d.hints.name.as_ref().is_some_and(|n| n.value == name))
            .unwrap_or_else(|| panic!("no {name} in {found:#?}"))
    }

    #[test]
    fn monorepo_contexts_includes_and_backing() {
        let (_dir, view) = project(&[
            (
                "compose.yaml",
                "include:\n  - infra/compose.yaml\nservices:\n  api:\n    build:\n      context: .\n      dockerfile: apps/api/Dockerfile\n    depends_on: [db]\n  web:\n    build:\n      context: .\n      dockerfile: docker/web.Dockerfile\n  remote:\n    build: https://github.com/acme/tool.git#main\n  outside:\n    build: ../elsewhere\n  missing:\n    build: ./nope\n  nothing:\n    environment: [A=1]\n  gone:\n    build:\n      context: gone\n      dockerfile: Dockerfile.prod\n",
            ),
            ("apps/api/package.json", "{}"),
            ("apps/api/Dockerfile", "FROM node:20\n"),
            ("docker/web.Dockerfile", "FROM nginx\n"),
            ("gone/app.py", ""),
            (
                "infra/compose.yaml",
                "services:\n  db:\n    image: postgres:16\n  queue:\n    image: rabbitmq:3-management\n  search:\n    image: getmeili/meilisearch:v1.8\n    env_file: search.env\n",
            ),
            ("infra/search.env", "MEILI_MASTER_KEY=secret-value\n"),
        ]);
        let found = ComposeDetector.detect(&view).unwrap();
        let api = by_name(&found, "api");
        assert_eq!(api.path, "apps/api");
        assert_eq!(api.hints.context.as_deref(), Some(""));
        assert_eq!(api.hints.dockerfile.as_deref(), Some("apps/api/Dockerfile"));
        let mut backing: Vec<&str> = api
            .hints
            .backing_services
            .iter()
            .map(|b| b.value.as_str())
            .collect();
        backing.sort_unstable();
        // db explicitly; rabbitmq (queue) because nobody depends on it.
        assert_eq!(backing, vec!["postgres", "rabbitmq"]);
        assert!(api.hints.depends_on.is_empty());

        let web = by_name(&found, "web");
        assert_eq!(web.path, "", "a folder of Dockerfiles is not the app");
        assert_eq!(
            web.hints.dockerfile.as_deref(),
            Some("docker/web.Dockerfile")
        );
        assert_eq!(web.hints.context, None);

        for name in ["remote", "outside", "missing"] {
            assert_eq!(by_name(&found, name).path, "", "{name}");
        }
        assert!(
            !found
                .iter()
                .any(|d| d.hints.name.as_ref().is_some_and(|n| n.value == "nothing"))
        );
        assert!(
            !found
                .iter()
                .any(|d| d.hints.name.as_ref().is_some_and(|n| n.value == "db"))
        );

        let search = by_name(&found, "search");
        assert_eq!(search.path, "infra");
        assert_eq!(
            search.hints.image.as_ref().map(|i| &i.source),
            Some(&Provenance::declared(
                "infra/compose.yaml services.search.image"
            ))
        );
        assert_eq!(search.hints.env[0].value, "MEILI_MASTER_KEY");
        assert_eq!(
            search.hints.env[0].source,
            Provenance::declared("infra/search.env")
        );
        let gone = by_name(&found, "gone");
        assert_eq!(gone.path, "gone");
        assert_eq!(gone.hints.dockerfile, None);
        assert_eq!(gone.hints.notes[0].code, "compose-dockerfile-missing");
        assert_eq!(found.len(), 7, "{found:#?}");

        let errors: Vec<String> = view.errors().iter().map(ToString::to_string).collect();
        for needle in [
            "remote",
            "../elsewhere",
            "./nope",
            "neither build nor image",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(needle)),
                "{needle}: {errors:?}"
            );
        }
        assert!(!format!("{found:?}").contains("secret-value"));
    }

    #[test]
    fn included_default_file_is_read_once() {
        let (_dir, view) = project(&[
            (
                "compose.yaml",
                "include: [db/compose.yaml]\nservices:\n  app:\n    build: .\n",
            ),
            ("Dockerfile", "FROM alpine\n"),
            (
                "db/compose.yaml",
                "services:\n  adminer:\n    image: adminer\n",
            ),
        ]);
        let found = ComposeDetector.detect(&view).unwrap();
        let names: Vec<&str> = found
            .iter()
            .filter_map(|d| d.hints.name.as_ref().map(|n| n.value.as_str()))
            .collect();
        assert_eq!(names, vec!["app", "adminer"]);
    }

    #[test]
    fn devcontainer_compose_is_skipped_and_warnings_grouped() {
        let (_dir, view) = project(&[
            (
                ".devcontainer/docker-compose.yml",
                "services:\n  dev:\n    image: mcr.microsoft.com/devcontainers/base\n",
            ),
            (
                "docker-compose.yml",
                "services:\n  app:\n    image: \"acme/app:${TAG}\"\n    environment:\n      A: ${TAG}\n      B: ${TAG}\n",
            ),
        ]);
        let found = ComposeDetector.detect(&view).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].hints.image.as_ref().unwrap().value, "acme/app:");
        let errors: Vec<String> = view.errors().iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("variable TAG is not set"));
        assert!(errors[0].contains("and 2 more places"));
    }

    #[test]
    fn resolving_paths() {
        assert_eq!(resolve("", "./web").as_deref(), Some("web"));
        assert_eq!(resolve("", ".").as_deref(), Some(""));
        assert_eq!(resolve("deploy", "../api/").as_deref(), Some("api"));
        assert_eq!(resolve("a/b", "./c/../d").as_deref(), Some("a/b/d"));
        assert_eq!(resolve("", "../outside"), None);
        assert_eq!(resolve("", "/abs"), None);
        assert_eq!(resolve("", "C:\\x"), None);
        assert_eq!(resolve("", ".\\win\\path").as_deref(), Some("win/path"));
    }

    #[test]
    fn remote_contexts() {
        assert!(is_remote("https://github.com/acme/app.git#main"));
        assert!(is_remote("git@github.com:acme/app.git"));
        assert!(!is_remote("./app"));
    }
}
