//! The Java detector: Maven and Gradle projects, in Java or Kotlin (and Scala sources
//! built by them), with Spring Boot, Quarkus, Micronaut and Ktor recognised. It also
//! holds the JVM helpers the Scala and Clojure detectors share (Java version pins,
//! backing services of JVM artifacts, `application.*` config files, main classes).
//!
//! - **Maven**: every `pom.xml`. A `pom`-packaged POM with `<modules>` is a workspace
//!   root (`maven-multimodule`); its modules build from the topmost aggregator
//!   (`./mvnw -pl <module> -am package`). Parents in the tree are followed
//!   (`relativePath`, default `../pom.xml`) for properties, dependencies and plugins.
//! - **Gradle**: every `build.gradle[.kts]`, with the nearest `settings.gradle[.kts]`.
//!   A settings file that `include`s projects is a workspace root
//!   (`gradle-multiproject`); included projects build from it (`./gradlew :api:bootJar`).
//!   Plugins applied in the root's `subprojects`/`allprojects` blocks count for the
//!   members; `libs.*` references are resolved with `gradle/libs.versions.toml`.
//!   `buildSrc`, Gradle plugin builds and Android projects are libraries.
//! - A module is a service when it is a Spring Boot app (plugin, starter parent or
//!   starters, plus an application class, or a standalone project with the plugin), a
//!   Quarkus app, a Ktor app, an `application`/Micronaut app with a main class, or has
//!   a main class it can be run with. Otherwise it is a library.
//! - Language: `kotlin` when the build applies a Kotlin JVM plugin (or
//!   `kotlin-maven-plugin`) and the sources live in `src/main/kotlin`; `scala` when only
//!   `src/main/scala` exists; else `java`.
//! - Runtime version (the JDK): `.java-version` > `.sdkmanrc` `java=` >
//!   `.tool-versions` `java` (the user's pins, nearest first) > the build: Gradle
//!   toolchain > `sourceCompatibility` > `targetCompatibility` > Kotlin `jvmTarget`
//!   (the module's, then the root build's); Maven `maven.compiler.release` >
//!   `java.version` > `maven.compiler.source` > `maven.compiler.target` >
//!   `maven-compiler-plugin` `release`/`source`.
//! - Ports: `server.port` (Spring), `quarkus.http.port`, `micronaut.server.port`,
//!   `ktor.deployment.port` in `src/main/resources/application.{properties,yml,yaml,conf}`
//!   (a `${PORT:8080}` placeholder gives 8080 and the env var `PORT`), else 8080 assumed
//!   for those frameworks.
//! - Env vars: `${NAME}` placeholders of those files and example env files. Backing
//!   services: dependencies, JDBC/Redis/Mongo/AMQP URLs and `spring.*` keys of the
//!   config files, env names. Health: Spring Actuator (`/actuator/health`), SmallRye
//!   Health (`/q/health`), Micronaut management (`/health`).

use super::jvm::{SOURCE_ROOTS, app_config, find_main, jdk_pin, jvm_backing, normalize_java};
use crate::topology::Provenance;
use crate::topology::common::push_unique;
use std::collections::{BTreeMap, BTreeSet};

use crate::topology::common;
use crate::topology::common::{health_route, resolve_path, strip_dir};
use crate::topology::is_inside;
use crate::topology::manifest::gradle::{self, DependencyTarget, GradleBuild, GradleSettings};
use crate::topology::manifest::pom::{self, Pom};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    file_name, join, parent,
};

mod gradle_build;
use gradle_build::*;
mod maven_build;
use maven_build::*;

/// Detects java projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JavaDetector;

impl Detector for JavaDetector {
    fn id(&self) -> &str {
        "java"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut maven = maven(view);
        let mut gradle = gradle_projects(view);
        // A folder built by both Maven and Gradle (Spring PetClinic...) is described by
        // one of them: Gradle when only it has a wrapper, else Maven.
        let maven_dirs: BTreeSet<String> = maven.iter().map(|d| d.path.clone()).collect();
        let gradle_dirs: BTreeSet<String> = gradle.iter().map(|d| d.path.clone()).collect();
        for dir in maven_dirs.intersection(&gradle_dirs) {
            let gradle_only_wrapper =
                view.is_file(&join(dir, "gradlew")) && !view.is_file(&join(dir, "mvnw"));
            let (keep, drop, dropped) = if gradle_only_wrapper {
                (&mut gradle, &mut maven, "pom.xml")
            } else {
                (&mut maven, &mut gradle, "the Gradle build")
            };
            drop.retain(|d| d.path != *dir);
            for d in keep.iter_mut().filter(|d| d.path == *dir) {
                d.hints.notes.push(Note::new(
                    "two-build-tools",
                    format!(
                        "{} has both a Maven and a Gradle build: using {}, ignoring {dropped}; remove the one you do not use",
                        if dir.is_empty() { "." } else { dir },
                        d.hints.package_manager.as_ref().map_or("one", |p| p.value.as_str())
                    ),
                ));
            }
        }
        maven.extend(gradle);
        Ok(maven)
    }
}

const ID: &str = "java";

// ---------------------------------------------------------------------------------
// JVM helpers shared with the Scala and Clojure detectors.
// ---------------------------------------------------------------------------------

/// A health route written in the sources of `dir` (`@GetMapping("/health")`,
/// `get("/healthz")`), looked for in routing-like files.
pub(super) fn source_health(
    view: &ProjectView,
    dir: &str,
    roots: &[&str],
) -> Option<Sourced<String>> {
    let roots: Vec<String> = roots.iter().map(|r| join(dir, r)).collect();
    view.files()
        .filter(|f| roots.iter().any(|r| is_inside(f, r)))
        .filter(|f| {
            let n = file_name(f);
            [
                "Rout",
                "rout",
                "Controller",
                "Health",
                "health",
                "Resource",
                "Application",
                "App",
                "Server",
                "handler",
                "Handler",
                "core.clj",
            ]
            .iter()
            .any(|k| n.contains(k))
        })
        .take(30)
        .find_map(|f| {
            let text = view.text(f)?;
            health_route(&text).map(|r| Sourced::new(r.to_string(), format!("{f} route")))
        })
}

/// Applies an app config and example env files to a detection.
pub(super) fn apply_config(view: &ProjectView, dir: &str, d: &mut Detection) {
    let config = app_config(view, &join(dir, "src/main/resources"));
    for p in config.ports {
        if !d.hints.ports.iter().any(|x| x.value == p.value) {
            d.hints.ports.push(p);
        }
    }
    for e in config
        .env
        .into_iter()
        .chain(common::env_from_examples(view, dir))
    {
        push_unique(&mut d.hints.env, e);
    }
    for b in config
        .backing
        .into_iter()
        .chain(common::backing_from_env(&d.hints.env))
    {
        push_unique(&mut d.hints.backing_services, b);
    }
}

/// Whether the sources of `dir` are Kotlin (or Scala) rather than Java.
fn source_language(view: &ProjectView, dir: &str, kotlin_plugin: bool) -> &'static str {
    let has = |sub: &str| view.is_dir(&join(dir, sub));
    if kotlin_plugin && (has("src/main/kotlin") || !has("src/main/java")) {
        "kotlin"
    } else if has("src/main/scala") && !has("src/main/java") {
        "scala"
    } else {
        "java"
    }
}

/// The JVM frameworks Kyozo knows how to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    SpringBoot,
    Quarkus,
    Micronaut,
    Ktor,
}

impl Framework {
    fn name(self) -> &'static str {
        match self {
            Framework::SpringBoot => "spring-boot",
            Framework::Quarkus => "quarkus",
            Framework::Micronaut => "micronaut",
            Framework::Ktor => "ktor",
        }
    }

    /// Only Spring Boot is in Kyozo's framework list; the others are reported in the
    /// evidence and port sources.
    fn listed(self) -> bool {
        self == Framework::SpringBoot
    }
}

fn framework_hints(
    d: &mut Detection,
    framework: Option<Framework>,
    source: &str,
    has_actuator: Option<&str>,
) {
    let Some(f) = framework else {
        return;
    };
    if f.listed() {
        d.hints.framework = Some(Sourced::new(f.name().to_string(), source.to_string()));
    }
    if d.hints.ports.is_empty() {
        d.hints
            .ports
            .push(Sourced::new(8080, Provenance::default_for(f.name())));
    }
    if d.hints.healthcheck.is_none()
        && let Some(h) = has_actuator
    {
        let route = match f {
            Framework::SpringBoot => "/actuator/health",
            Framework::Quarkus => "/q/health",
            Framework::Micronaut => "/health",
            Framework::Ktor => return,
        };
        d.hints.healthcheck = Some(Sourced::new(route.to_string(), h.to_string()));
    }
}

// ---------------------------------------------------------------------------------
// Maven
// ---------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------
// Gradle
// ---------------------------------------------------------------------------------

/// A build file kept as test data of another project (`src/test/resources/...`,
/// Maven invoker tests in `src/it/`), not a project of the tree.
fn is_test_resource(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    segments.windows(2).any(|w| {
        matches!(
            w,
            ["src", "test" | "it" | "testFixtures" | "integrationTest"]
        ) || matches!(w, ["main", "resources"])
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn test_resources_are_not_projects() {
        assert!(is_test_resource("app/src/test/resources/demo/pom.xml"));
        assert!(is_test_resource("src/it/simple/pom.xml"));
        assert!(!is_test_resource("services/api/pom.xml"));
        assert!(!is_test_resource("src/api/pom.xml"));
    }
}
