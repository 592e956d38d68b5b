//! The Dockerfile detector: every folder holding a `Dockerfile` (also `dockerfile` or
//! `Containerfile`) is a service built from it. It says *how the folder runs* rather
//! than what language it is in (its detections have the language `docker`; the merge
//! lets a language detector of the same folder name the language), and its values
//! outrank a language detector's: `EXPOSE` ports, the `ENTRYPOINT` + `CMD` start
//! command, the `HEALTHCHECK`, the `ENV` names.
//!
//! Everything comes from the image the Dockerfile produces: its final stage, with what
//! that stage inherits from the stages it is built `FROM` (see
//! [`crate::topology::manifest::dockerfile`]).
//!
//! Runtime version (only from official runtime images, [`RUNTIME_IMAGES`]): the tag of
//! the image the final stage is built from (`FROM node:20-alpine` → `20`); when that is
//! not a runtime image (a `distroless` or `debian` final stage of a compiled app), the
//! tag of the last build stage that is one (`FROM golang:1.22 AS build` → `1.22`). A tag
//! without a version (`node:lts`, `python:slim`) gives none.
//!
//! Alternative Dockerfiles (`Dockerfile.dev`, `prod.Dockerfile`) are not services of
//! their own; they are listed in the evidence of the folder's main Dockerfile. Folders
//! under `.devcontainer` and `.github` hold development containers and CI actions, not
//! services: skipped. A Dockerfile kept in a `docker/`, `.docker/` or `deploy/` folder
//! that holds no app, next to an app folder without a Dockerfile of its own
//! (`docker/Dockerfile` beside `package.json`), builds that app: the detection is the
//! app folder's.

use crate::topology::common;
use crate::topology::manifest::dockerfile::{self as parser, Command, Dockerfile, ImageRef};
use crate::topology::{
    Detection, Detector, DetectorError, Note, ProjectView, Sourced, file_name, join, parent,
};

/// The file names of a folder's main Dockerfile, by preference.
const DOCKERFILE_NAMES: &[&str] = &["Dockerfile", "dockerfile", "Containerfile", "containerfile"];

/// Folders whose Dockerfiles are not services (dev containers, CI actions).
const SKIPPED: &[&str] = &[".devcontainer", ".github"];

/// Folders that hold the Dockerfile of the app in their parent folder.
const DOCKER_DIRS: &[&str] = &[".docker", "deploy", "docker"];

/// Manifests that make a folder an app folder (any stack). Sorted.
pub(super) const APP_MANIFESTS: &[&str] = &[
    "Cargo.toml",
    "Gemfile",
    "Package.swift",
    "Pipfile",
    "build.gradle",
    "build.gradle.kts",
    "build.sbt",
    "build.zig",
    "composer.json",
    "deno.json",
    "deps.edn",
    "gleam.toml",
    "go.mod",
    "mix.exs",
    "package.json",
    "pom.xml",
    "project.clj",
    "pubspec.yaml",
    "pyproject.toml",
    "requirements.txt",
    "setup.py",
    "shard.yml",
];

/// Whether `dir` holds an app manifest (see [`APP_MANIFESTS`], and .NET / Haskell
/// project files).
pub(super) fn is_app_folder(view: &ProjectView, dir: &str) -> bool {
    APP_MANIFESTS.iter().any(|m| view.is_file(&join(dir, m)))
        || view.files_in(dir).any(|f| {
            [".csproj", ".fsproj", ".cabal"]
                .iter()
                .any(|ext| f.ends_with(ext))
        })
}

/// The folder's main Dockerfile, if it has one.
fn main_dockerfile(view: &ProjectView, dir: &str) -> Option<String> {
    DOCKERFILE_NAMES
        .iter()
        .map(|n| join(dir, n))
        .find(|p| view.is_file(p))
}

/// Official images of language runtimes whose tag starts with the runtime's version.
/// Sorted by repository (registry included when not Docker Hub).
const RUNTIME_IMAGES: &[(&str, &str)] = &[
    ("amazoncorretto", "java"),
    ("dart", "dart"),
    ("denoland/deno", "deno"),
    ("eclipse-temurin", "java"),
    ("elixir", "elixir"),
    ("golang", "go"),
    ("haskell", "haskell"),
    ("mcr.microsoft.com/dotnet/aspnet", "dotnet"),
    ("mcr.microsoft.com/dotnet/runtime", "dotnet"),
    ("mcr.microsoft.com/dotnet/sdk", "dotnet"),
    ("node", "node"),
    ("openjdk", "java"),
    ("php", "php"),
    ("python", "python"),
    ("ruby", "ruby"),
    ("rust", "rust"),
    ("swift", "swift"),
];

/// Detects folders built by a Dockerfile.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DockerfileDetector;

impl Detector for DockerfileDetector {
    fn id(&self) -> &str {
        "dockerfile"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let dirs = common::folders_holding(view, DOCKERFILE_NAMES, SKIPPED);
        let mut found: Vec<Detection> = Vec::new();
        for dir in dirs {
            let Some(path) = main_dockerfile(view, dir) else {
                continue;
            };
            let service_dir = match dir.rsplit_once('/').map_or(("", dir), |(p, n)| (p, n)) {
                (up, name)
                    if DOCKER_DIRS.contains(&name)
                        && !is_app_folder(view, dir)
                        && is_app_folder(view, up)
                        && main_dockerfile(view, up).is_none() =>
                {
                    up
                }
                _ => dir,
            };
            if found.iter().any(|d| d.path == service_dir) {
                continue;
            }
            if let Some(d) = detect_file(view, service_dir, &path) {
                found.push(d);
            }
        }
        Ok(found)
    }
}

/// The detection of folder `dir` built by the Dockerfile `path`.
fn detect_file(view: &ProjectView, dir: &str, path: &str) -> Option<Detection> {
    let path = path.to_string();
    let text = view.text(&path)?;
    // A Dockerfile Kyozo generated (and nobody changed since) says nothing about the
    // project that the project did not say first: the plan makes it again from what
    // the project says.
    if crate::generated::is_pristine(&text) {
        return None;
    }
    let parsed = match parser::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            common::invalid(view, &path, e);
            return None;
        }
    };
    let image = parsed.image()?;
    let name = file_name(&path);

    let mut det = Detection::new("dockerfile", dir, "docker", 0.9);
    det.hints.dockerfile = Some(path.clone());
    let stages = parsed.stages.len();
    det = det.with_evidence(
        path.clone(),
        if stages > 1 {
            format!(
                "{name} builds the image in {stages} stages; the final one runs on {}",
                image.base_image
            )
        } else {
            format!("{name} builds the image from {}", image.base_image)
        },
    );

    for p in &image.expose {
        if !det.hints.ports.iter().any(|s| s.value == p.port) {
            det.hints
                .ports
                .push(Sourced::new(p.port, format!("{name} EXPOSE")));
        }
    }
    if !image.expose.is_empty() {
        let list: Vec<String> = image
            .expose
            .iter()
            .map(|p| match p.end {
                Some(end) => format!("{}-{end}/{}", p.port, p.protocol),
                None => format!("{}/{}", p.port, p.protocol),
            })
            .collect();
        det = det.with_evidence(path.clone(), format!("EXPOSE {}", list.join(" ")));
    }
    for raw in &image.unresolved_expose {
        det = det.with_evidence(
            path.clone(),
            format!("EXPOSE {raw}: not a port once its variables are substituted (no default)"),
        );
    }

    let command = image.command();
    if let Some(cmd) = &command {
        let source = match (
            image.entrypoint.as_ref().filter(|c| !c.is_empty()),
            image.cmd.as_ref().filter(|c| !c.is_empty()),
        ) {
            (Some(Command::Exec(_)), Some(_)) => format!("{name} ENTRYPOINT + CMD"),
            (Some(_), _) => format!("{name} ENTRYPOINT"),
            _ => format!("{name} CMD"),
        };
        let line = cmd.to_shell();
        det = det.with_evidence(path.clone(), format!("{source}: {line}"));
        det.hints.start_command = Some(Sourced::new(line, source));
    } else {
        det = det.with_evidence(
            path.clone(),
            format!(
                "no CMD or ENTRYPOINT: the container runs the default command of {}",
                image.base_image
            ),
        );
        // A language image's default command is a REPL, not an app (a server image's,
        // nginx or caddy, is the server).
        if runtime_of(&image.base_image).is_some() {
            det.confidence = 0.75;
            det.hints.notes.push(Note::new(
                "dockerfile-no-cmd",
                format!(
                    "{path} sets no CMD or ENTRYPOINT, so the container runs the default command of {}, not your app: add a CMD",
                    image.base_image
                ),
            ));
        }
    }

    if let Some(h) = &image.healthcheck {
        match &h.test {
            Some(test) => {
                let line = test.to_shell();
                det = det.with_evidence(path.clone(), format!("HEALTHCHECK {line}"));
                det.hints.healthcheck = Some(Sourced::new(line, format!("{name} HEALTHCHECK")));
            }
            None => {
                det = det.with_evidence(
                    path.clone(),
                    "HEALTHCHECK NONE: the base image's health check is disabled",
                );
            }
        }
    }

    if let Some(user) = &image.user {
        det = det.with_evidence(path.clone(), format!("runs as USER {user}"));
    }
    for e in &image.env {
        det.hints
            .env
            .push(Sourced::new(e.name.clone(), format!("{name} ENV")));
    }
    if !image.env.is_empty() {
        let names: Vec<&str> = image.env.iter().map(|e| e.name.as_str()).collect();
        det = det.with_evidence(path.clone(), format!("ENV {}", names.join(", ")));
    }
    det.hints.backing_services = common::backing_from_env(&det.hints.env);

    if let Some((version, from)) = runtime_version(&parsed) {
        det.hints.runtime_version = Some(Sourced::new(version, format!("{name} FROM {from}")));
    }

    if parent(&path) != dir {
        det = det.with_evidence(
            path.clone(),
            format!(
                "kept in {}/, it builds the app of {}",
                parent(&path),
                if dir.is_empty() {
                    "the root folder"
                } else {
                    dir
                }
            ),
        );
    }
    for alt in alternatives(view, parent(&path)) {
        det = det.with_evidence(
            alt,
            format!("an alternative Dockerfile, not used by default (the build uses {name})"),
        );
    }
    Some(det)
}

/// The language of an official runtime image, if `image` is one.
fn runtime_of(image: &str) -> Option<&'static str> {
    let name = ImageRef::parse(image).full_name();
    RUNTIME_IMAGES
        .binary_search_by(|(k, _)| (*k).cmp(name.as_str()))
        .ok()
        .and_then(|i| RUNTIME_IMAGES.get(i))
        .map(|(_, lang)| *lang)
}

/// The runtime version the image is built with, and the image it comes from (see the
/// module docs for the precedence).
fn runtime_version(df: &Dockerfile) -> Option<(String, String)> {
    let from_image = |image: &str| -> Option<(String, String)> {
        runtime_of(image)?;
        let tag = ImageRef::parse(image).tag?;
        version_of_tag(&tag).map(|v| (v, image.to_string()))
    };
    let chain = df.final_chain();
    let root = chain.last()?;
    if runtime_of(&root.base).is_some() {
        return from_image(&root.base);
    }
    df.stages
        .iter()
        .rev()
        .filter(|s| s.parent.is_none())
        .find(|s| runtime_of(&s.base).is_some())
        .and_then(|s| from_image(&s.base))
}

/// The version a tag starts with: `20-alpine` → `20`, `3.12.4-slim` → `3.12.4`.
fn version_of_tag(tag: &str) -> Option<String> {
    let end = tag
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tag.len());
    let version = tag.get(..end)?.trim_end_matches('.');
    (version.starts_with(|c: char| c.is_ascii_digit())).then(|| version.to_string())
}

/// Other Dockerfiles of the folder (`Dockerfile.dev`, `api.Dockerfile`).
fn alternatives<'a>(view: &'a ProjectView, dir: &'a str) -> impl Iterator<Item = String> + 'a {
    view.files_in(dir)
        .filter(|f| {
            let n = file_name(f).to_ascii_lowercase();
            !DOCKERFILE_NAMES.iter().any(|d| d.eq_ignore_ascii_case(&n))
                && (n.starts_with("dockerfile.")
                    || n.starts_with("containerfile.")
                    || n.ends_with(".dockerfile")
                    || n.ends_with(".containerfile"))
        })
        .map(str::to_string)
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

    #[test]
    fn every_folder_and_file_name() {
        let (_dir, view) = project(&[
            ("Containerfile", "FROM alpine\nCMD [\"sh\"]\n"),
            ("svc/a/Dockerfile", "FROM node:22\nCMD node a.js\n"),
            ("svc/a/Containerfile", "FROM ignored\n"),
            ("svc/b/dockerfile", "from python:3.13\ncmd python b.py\n"),
            ("svc/bad/Dockerfile", "RUN echo no from\n"),
            (
                ".devcontainer/Dockerfile",
                "FROM mcr.microsoft.com/devcontainers/base\n",
            ),
            (".github/actions/x/Dockerfile", "FROM alpine\n"),
        ]);
        let found = DockerfileDetector.detect(&view).unwrap();
        let seen: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.path.as_str(), d.hints.dockerfile.as_deref().unwrap()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("", "Containerfile"),
                ("svc/a", "svc/a/Dockerfile"),
                ("svc/b", "svc/b/dockerfile"),
            ]
        );
        assert_eq!(
            found[0].hints.start_command.as_ref().unwrap().source,
            Provenance::declared("Containerfile CMD")
        );
        assert_eq!(
            found[2].hints.runtime_version.as_ref().unwrap().value,
            "3.13"
        );
        assert!(
            view.errors().iter().any(|e| e.path == "svc/bad/Dockerfile"),
            "{:?}",
            view.errors()
        );
        assert!(
            found
                .iter()
                .all(|d| d.language == "docker" && d.detector == "dockerfile")
        );
    }

    #[test]
    fn docker_folder_builds_its_parent_only_when_it_holds_no_app() {
        let (_dir, view) = project(&[
            // Builds the root app.
            ("package.json", "{}"),
            (
                "docker/Dockerfile",
                "FROM node:20\nCMD [\"node\", \"index.js\"]\n",
            ),
            // An app of its own in deploy/: its own service.
            ("tools/go.mod", "module x\n"),
            ("tools/Dockerfile", "FROM golang:1.22\n"),
            ("tools/deploy/Dockerfile", "FROM alpine\n"),
            ("tools/deploy/package.json", "{}"),
        ]);
        let found = DockerfileDetector.detect(&view).unwrap();
        let seen: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.path.as_str(), d.hints.dockerfile.as_deref().unwrap()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("", "docker/Dockerfile"),
                ("tools", "tools/Dockerfile"),
                ("tools/deploy", "tools/deploy/Dockerfile"),
            ]
        );
    }

    #[test]
    fn no_cmd_on_a_runtime_image_is_a_note() {
        let (_dir, view) = project(&[
            ("api/Dockerfile", "FROM python:3.12\nCOPY . .\n"),
            (
                "proxy/Dockerfile",
                "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/\n",
            ),
        ]);
        let found = DockerfileDetector.detect(&view).unwrap();
        assert_eq!(found[0].hints.notes[0].code, "dockerfile-no-cmd");
        assert!(found[0].confidence < found[1].confidence);
        assert!(found[1].hints.notes.is_empty());
        assert_eq!(found[1].hints.start_command, None);
    }

    #[test]
    fn tables_are_sorted() {
        assert!(RUNTIME_IMAGES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(APP_MANIFESTS.windows(2).all(|w| w[0] < w[1]));
        assert!(DOCKER_DIRS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn runtime_images() {
        assert_eq!(runtime_of("node:20-alpine"), Some("node"));
        assert_eq!(runtime_of("docker.io/library/python:3.12"), Some("python"));
        assert_eq!(
            runtime_of("mcr.microsoft.com/dotnet/aspnet:8.0"),
            Some("dotnet")
        );
        assert_eq!(runtime_of("nginx:1.27"), None);
        assert_eq!(runtime_of("acme/node:1"), None);
    }

    #[test]
    fn tag_versions() {
        let cases = [
            ("20-alpine", Some("20")),
            ("3.12-slim", Some("3.12")),
            ("3.12.4-slim-bookworm", Some("3.12.4")),
            ("1.22", Some("1.22")),
            ("21-jre-jammy", Some("21")),
            ("8.0", Some("8.0")),
            ("1.79.0-slim", Some("1.79.0")),
            ("lts-alpine", None),
            ("latest", None),
            ("slim", None),
            ("", None),
            ("3.", Some("3")),
        ];
        for (tag, want) in cases {
            assert_eq!(version_of_tag(tag).as_deref(), want, "{tag}");
        }
    }

    fn version(text: &str) -> Option<(String, String)> {
        runtime_version(&parser::parse(text).unwrap())
    }

    #[test]
    fn runtime_version_precedence() {
        assert_eq!(
            version("FROM node:20-alpine\n"),
            Some(("20".into(), "node:20-alpine".into()))
        );
        // A compiled app: the build stage's toolchain.
        assert_eq!(
            version("FROM golang:1.22 AS build\nFROM gcr.io/distroless/static\n"),
            Some(("1.22".into(), "golang:1.22".into()))
        );
        // The final image's runtime wins over a build stage's.
        assert_eq!(
            version("FROM node:22 AS assets\nFROM python:3.12-slim\n"),
            Some(("3.12".into(), "python:3.12-slim".into()))
        );
        // Through stages built from stages.
        assert_eq!(
            version(
                "ARG V=8.0\nFROM mcr.microsoft.com/dotnet/aspnet:${V} AS base\nFROM base AS final\n"
            ),
            Some(("8.0".into(), "mcr.microsoft.com/dotnet/aspnet:8.0".into()))
        );
        assert_eq!(version("FROM node:lts\n"), None);
        assert_eq!(version("FROM nginx:1.27\n"), None);
    }
}
