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

use crate::topology::common::push_unique;
use std::collections::{BTreeMap, BTreeSet};

use crate::topology::backing;
use crate::topology::common;
use crate::topology::common::{health_route, resolve_path, strip_dir};
use crate::topology::is_inside;
use crate::topology::manifest::gradle::{self, DependencyTarget, GradleBuild, GradleSettings};
use crate::topology::manifest::pom::{self, Pom};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    file_name, join, parent,
};

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

/// JVM artifacts (artifact ids, lower-case) that mean a backing service and are not in
/// [`crate::topology::backing::PACKAGE_TO_BACKING`]. Sorted.
const JVM_BACKING: &[(&str, &str)] = &[
    ("akka-stream-kafka", "kafka"),
    ("amqp-client", "rabbitmq"),
    ("carmine", "redis"),
    ("doobie-postgres", "postgres"),
    ("elasticsearch-java", "elasticsearch"),
    ("elasticsearch-rest-high-level-client", "elasticsearch"),
    ("fs2-kafka", "kafka"),
    ("jedis", "redis"),
    ("jnats", "nats"),
    ("kafka-clients", "kafka"),
    ("langohr", "rabbitmq"),
    ("lettuce-core", "redis"),
    ("mariadb-java-client", "mariadb"),
    ("micronaut-redis-lettuce", "redis"),
    ("monger", "mongodb"),
    ("mongo-java-driver", "mongodb"),
    ("mongodb-driver-reactivestreams", "mongodb"),
    ("mongodb-driver-sync", "mongodb"),
    ("mysql-connector-j", "mysql"),
    ("pekko-connectors-kafka", "kafka"),
    ("quarkus-jdbc-mariadb", "mariadb"),
    ("quarkus-jdbc-mysql", "mysql"),
    ("quarkus-jdbc-postgresql", "postgres"),
    ("quarkus-mongodb-client", "mongodb"),
    ("quarkus-redis-client", "redis"),
    ("r2dbc-mysql", "mysql"),
    ("r2dbc-postgresql", "postgres"),
    ("reactivemongo", "mongodb"),
    ("redis4cats-effects", "redis"),
    ("rediscala", "redis"),
    ("redisson", "redis"),
    ("skunk-core", "postgres"),
    ("spring-boot-starter-data-elasticsearch", "elasticsearch"),
    ("spring-boot-starter-data-mongodb-reactive", "mongodb"),
    ("spring-boot-starter-data-redis-reactive", "redis"),
    ("spring-kafka", "kafka"),
    ("spring-rabbit", "rabbitmq"),
    ("spymemcached", "memcached"),
];

/// The backing service a JVM artifact (`group`, `artifact`) stands for.
pub(super) fn jvm_backing(group: &str, artifact: &str) -> Option<&'static str> {
    let artifact = artifact.to_ascii_lowercase();
    if artifact == "postgresql" && !group.is_empty() && !group.contains("postgres") {
        return None;
    }
    backing::from_package(&artifact).or_else(|| {
        JVM_BACKING
            .binary_search_by(|(k, _)| (*k).cmp(artifact.as_str()))
            .ok()
            .and_then(|i| JVM_BACKING.get(i))
            .map(|(_, b)| *b)
    })
}

/// The JDK version the user pinned for `dir`: `.java-version` > `.sdkmanrc` >
/// `.tool-versions`, each looked up from `dir` towards the root.
pub(super) fn jdk_pin(view: &ProjectView, dir: &str) -> Option<Sourced<String>> {
    if let Some(path) = common::find_up(view, dir, ".java-version")
        && let Some(v) = common::version_file(view, parent(&path), ".java-version")
    {
        return Some(Sourced::new(normalize_java(&v.value), v.source));
    }
    if let Some(path) = common::find_up(view, dir, ".sdkmanrc")
        && let Some(text) = view.text(&path)
    {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=')
                && k.trim() == "java"
                && !v.trim().is_empty()
            {
                return Some(Sourced::new(
                    normalize_java(v.trim()),
                    format!("{path} java"),
                ));
            }
        }
    }
    common::tool_version(view, dir, &["java"])
        .map(|v| Sourced::new(normalize_java(&v.value), v.source))
}

/// `temurin-17.0.9+9` → `17.0.9+9`, `17.0.9-tem` → `17.0.9`, `1.8` → `8`,
/// `openjdk-21` → `21`.
pub(super) fn normalize_java(raw: &str) -> String {
    let mut v = raw.trim();
    while let Some((head, tail)) = v.split_once('-') {
        if head.starts_with(|c: char| c.is_ascii_digit()) {
            v = head;
            break;
        }
        v = tail;
    }
    let v = match v.strip_prefix("1.") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) && !rest.contains('.') => rest,
        _ => v,
    };
    v.to_string()
}

/// What a JVM app's `application.*` config files say.
#[derive(Debug, Default)]
pub(super) struct AppConfig {
    /// Ports read (`server.port`...).
    pub(super) ports: Vec<Sourced<u16>>,
    /// Env var names of `${NAME}` placeholders.
    pub(super) env: Vec<Sourced<String>>,
    /// Backing services of URLs and keys.
    pub(super) backing: Vec<Sourced<String>>,
}

/// Keys that set the HTTP port, per framework.
const PORT_KEYS: &[&str] = &[
    "http.port",
    "ktor.deployment.port",
    "micronaut.server.port",
    "quarkus.http.port",
    "server.port",
];

/// Reads `application.{properties,yml,yaml,conf}` of `resources` (a folder).
pub(super) fn app_config(view: &ProjectView, resources: &str) -> AppConfig {
    let mut out = AppConfig::default();
    for name in [
        "application.properties",
        "application.yml",
        "application.yaml",
        "application.conf",
        "bootstrap.yml",
    ] {
        let path = join(resources, name);
        let Some(text) = view.text(&path) else {
            continue;
        };
        let pairs = if name.ends_with(".properties") {
            flatten_properties(&text)
        } else if name.ends_with(".conf") {
            flatten_hocon(&text)
        } else {
            flatten_yaml(&text)
        };
        read_pairs(&path, &pairs, &mut out);
    }
    out
}

fn read_pairs(path: &str, pairs: &[(String, String)], out: &mut AppConfig) {
    for (key, value) in pairs {
        let placeholders = placeholders(value);
        for (name, _) in &placeholders {
            if is_env_name(name) && !out.env.iter().any(|e| &e.value == name) {
                out.env
                    .push(Sourced::new(name.clone(), format!("{path} {key}")));
            }
        }
        if PORT_KEYS.contains(&key.as_str()) {
            let literal = value.trim().parse::<u16>().ok();
            let fallback = placeholders
                .iter()
                .find_map(|(_, d)| d.as_deref().and_then(|d| d.trim().parse::<u16>().ok()));
            if let Some(p) = literal.or(fallback)
                && p > 0
                && !out.ports.iter().any(|x| x.value == p)
            {
                out.ports.push(Sourced::new(p, format!("{path} {key}")));
            }
        }
        let lower = value.to_ascii_lowercase();
        let by_value = [
            ("jdbc:postgresql:", "postgres"),
            ("postgresql://", "postgres"),
            ("r2dbc:postgresql:", "postgres"),
            ("jdbc:mysql:", "mysql"),
            ("r2dbc:mysql:", "mysql"),
            ("jdbc:mariadb:", "mariadb"),
            ("mongodb://", "mongodb"),
            ("mongodb+srv://", "mongodb"),
            ("redis://", "redis"),
            ("rediss://", "redis"),
            ("amqp://", "rabbitmq"),
        ]
        .iter()
        .find(|(prefix, _)| lower.contains(prefix))
        .map(|(_, b)| *b);
        let by_key = [
            ("spring.data.redis.", "redis"),
            ("spring.redis.", "redis"),
            ("spring.data.mongodb.", "mongodb"),
            ("spring.rabbitmq.", "rabbitmq"),
            ("spring.kafka.bootstrap-servers", "kafka"),
            ("kafka.bootstrap.servers", "kafka"),
        ]
        .iter()
        .find(|(prefix, _)| key.starts_with(prefix))
        .map(|(_, b)| *b);
        if let Some(b) = by_value.or(by_key)
            && !out.backing.iter().any(|x| x.value == b)
        {
            out.backing
                .push(Sourced::new(b.to_string(), format!("{path} {key}")));
        }
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `${NAME}`, `${NAME:default}`, `${?NAME}` (HOCON): the names and defaults.
fn placeholders(value: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let inner = after[..end].trim_start_matches('?');
        let (name, default) = match inner.split_once(':') {
            Some((n, d)) => (n, Some(d.trim_start_matches('-').to_string())),
            None => (inner, None),
        };
        out.push((name.trim().to_string(), default));
        rest = &after[end + 1..];
    }
    out
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    let stripped = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')));
    stripped.unwrap_or(v).to_string()
}

/// `key=value` pairs of a `.properties` file.
fn flatten_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let i = l.find(['=', ':'])?;
            Some((l[..i].trim().to_string(), l[i + 1..].trim().to_string()))
        })
        .collect()
}

/// Dotted `key: value` pairs of a YAML file (every document), by indentation. Lists
/// and multi-line values are skipped.
fn flatten_yaml(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in text.lines() {
        if line.trim() == "---" {
            stack.clear();
            continue;
        }
        let content = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        };
        let trimmed = content.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        let (key, value) = if let Some(k) = trimmed.strip_suffix(':') {
            (k, "")
        } else if let Some(i) = trimmed.find(": ") {
            (&trimmed[..i], trimmed[i + 2..].trim())
        } else {
            continue;
        };
        while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
            stack.pop();
        }
        let key = unquote(key);
        if value.is_empty() || value == "|" || value == ">" {
            if stack.len() < 64 {
                stack.push((indent, key));
            }
            continue;
        }
        let mut full: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        full.push(&key);
        out.push((full.join("."), unquote(value)));
    }
    out
}

/// Dotted `key = value` pairs of a HOCON file (`ktor { deployment { port = 8080 } }`).
fn flatten_hocon(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut l = line.trim();
        if let Some(i) = l.find("//").or_else(|| l.find('#')) {
            l = l[..i].trim();
        }
        while let Some(rest) = l.strip_prefix('}') {
            stack.pop();
            l = rest.trim();
        }
        if l.is_empty() {
            continue;
        }
        if let Some(head) = l.strip_suffix('{') {
            let key = head.trim().trim_end_matches(['=', ':']).trim();
            if stack.len() < 64 {
                stack.push(unquote(key));
            }
            continue;
        }
        let Some(i) = l.find(['=', ':']) else {
            continue;
        };
        let key = unquote(&l[..i]);
        let value = l[i + 1..].trim().trim_end_matches(',').trim();
        let mut full = stack.clone();
        full.push(key);
        out.push((full.join("."), unquote(value)));
    }
    out
}

/// A main class found in the sources.
#[derive(Debug, Clone)]
pub(super) struct MainClass {
    /// The source file.
    pub(super) file: String,
    /// The fully qualified class to run (`com.acme.App`, `com.acme.AppKt`).
    pub(super) class: String,
    /// Annotated `@SpringBootApplication`.
    pub(super) spring: bool,
}

/// Source roots looked at for a main class.
const SOURCE_ROOTS: &[&str] = &["src/main/java", "src/main/kotlin", "src/main/scala"];

/// The main class of the module in `dir`: files named like an entry point
/// (`*Application`, `Main`, `App`, `Server`...) are read first.
pub(super) fn find_main(view: &ProjectView, dir: &str) -> Option<MainClass> {
    let roots: Vec<String> = SOURCE_ROOTS.iter().map(|r| join(dir, r)).collect();
    let mut files: Vec<&str> = view
        .files()
        .filter(|f| roots.iter().any(|r| is_inside(f, r)))
        .filter(|f| {
            let n = file_name(f);
            n.ends_with(".java") || n.ends_with(".kt") || n.ends_with(".scala")
        })
        .collect();
    let rank = |f: &str| -> u8 {
        let stem = file_name(f).split('.').next().unwrap_or_default();
        if stem.ends_with("Application") {
            0
        } else if matches!(
            stem,
            "Main" | "App" | "Server" | "Launcher" | "Bootstrap" | "Boot"
        ) || stem.ends_with("Main")
            || stem.ends_with("App")
        {
            1
        } else {
            2
        }
    };
    files.sort_by_key(|f| (rank(f), f.len(), f.to_string()));
    for f in files.into_iter().take(40) {
        let Some(text) = view.text(f) else {
            continue;
        };
        let spring = text.contains("@SpringBootApplication");
        let java_main = text.contains("static void main(") || text.contains("static void main (");
        let kotlin_main = f.ends_with(".kt")
            && text
                .lines()
                .any(|l| l.starts_with("fun main(") || l.starts_with("suspend fun main("));
        let scala_main = f.ends_with(".scala")
            && (text.contains("def main(")
                || text.contains("extends App")
                || text.contains("@main"));
        if !(spring || java_main || kotlin_main || scala_main) {
            continue;
        }
        let stem = file_name(f)
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string();
        let class = if kotlin_main && !text.contains(&format!("object {stem}")) {
            format!("{stem}Kt")
        } else {
            stem
        };
        let package = text
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("package "))
            .map(|p| p.trim().trim_end_matches(';').trim().to_string())
            .filter(|p| !p.is_empty() && !p.contains(char::is_whitespace));
        let class = match package {
            Some(p) => format!("{p}.{class}"),
            None => class,
        };
        return Some(MainClass {
            file: f.to_string(),
            class,
            spring,
        });
    }
    None
}

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
            .push(Sourced::new(8080, format!("default for {}", f.name())));
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

#[derive(Debug)]
struct MavenTree {
    poms: BTreeMap<String, (String, Pom)>,
    /// Module folder → the topmost aggregator folder that builds it.
    reactor: BTreeMap<String, String>,
}

impl MavenTree {
    /// The POM itself, then its parents found in the tree.
    fn chain(&self, dir: &str) -> Vec<(&str, &str, &Pom)> {
        let mut out = Vec::new();
        let mut current = dir.to_string();
        for _ in 0..16 {
            let Some((path, pom)) = self.poms.get(&current) else {
                break;
            };
            out.push((current_str(&self.poms, &current), path.as_str(), pom));
            let Some(parent_ref) = &pom.parent else {
                break;
            };
            let rel = match parent_ref.relative_path.as_deref() {
                None => "../pom.xml",
                Some("") => break,
                Some(r) => r,
            };
            let Some(target) = resolve_path(&current, rel) else {
                break;
            };
            let target_dir = if target.ends_with(".xml") {
                parent(&target).to_string()
            } else {
                target
            };
            match self.poms.get(&target_dir) {
                Some((_, p))
                    if p.artifact_id == parent_ref.artifact_id && target_dir != current =>
                {
                    current = target_dir;
                }
                _ => break,
            }
        }
        out
    }
}

fn current_str<'a>(poms: &'a BTreeMap<String, (String, Pom)>, key: &str) -> &'a str {
    poms.get_key_value(key).map_or("", |(k, _)| k.as_str())
}

fn maven(view: &ProjectView) -> Vec<Detection> {
    let mut poms: BTreeMap<String, (String, Pom)> = BTreeMap::new();
    for path in view.named("pom.xml") {
        if is_test_resource(path) {
            continue;
        }
        let Some(text) = view.text(path) else {
            continue;
        };
        match pom::parse(&text) {
            Ok(p) => {
                poms.insert(parent(path).to_string(), (path.to_string(), p));
            }
            Err(e) => common::invalid(view, path, e),
        }
    }
    // Aggregators and their modules.
    let mut module_of: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (dir, (path, p)) in &poms {
        if p.modules.is_empty() {
            continue;
        }
        let mut found = 0;
        for m in &p.modules {
            let Some(target) = resolve_path(dir, m) else {
                continue;
            };
            let target = if target.ends_with(".xml") {
                parent(&target).to_string()
            } else {
                target
            };
            if poms.contains_key(&target) {
                found += 1;
                module_of.entry(target).or_insert_with(|| dir.clone());
            }
        }
        let mut d = Detection::new(ID, dir.as_str(), "java", 0.85)
            .with_kind(DetectionKind::WorkspaceRoot)
            .with_evidence(
                path.as_str(),
                format!("maven aggregator of {} module(s)", p.modules.len()),
            );
        d.hints.patterns.push("maven-multimodule".into());
        d.hints.package_manager = Some(Sourced::new("maven".into(), path.clone()));
        if found < p.modules.len() {
            d.hints.notes.push(Note::new(
                "maven-missing-module",
                format!(
                    "{path} lists {} module(s) but only {found} have a pom.xml in the project",
                    p.modules.len()
                ),
            ));
        }
        if p.packaging() == "pom" {
            out.push(d);
        }
    }
    let mut reactor = BTreeMap::new();
    for dir in poms.keys() {
        let mut top = None;
        let mut current = dir.clone();
        for _ in 0..32 {
            match module_of.get(&current) {
                Some(agg) => {
                    top = Some(agg.clone());
                    current = agg.clone();
                }
                None => break,
            }
        }
        if let Some(t) = top {
            reactor.insert(dir.clone(), t);
        }
    }
    let tree = MavenTree { poms, reactor };
    for (dir, (path, p)) in &tree.poms {
        if p.packaging() == "pom" {
            continue;
        }
        out.push(maven_module(view, &tree, dir, path, p));
    }
    out
}

fn maven_module(view: &ProjectView, tree: &MavenTree, dir: &str, path: &str, p: &Pom) -> Detection {
    let chain = tree.chain(dir);
    // Properties: the topmost parent first, so children override.
    let mut inherited: BTreeMap<String, String> = BTreeMap::new();
    for (_, _, pom) in chain.iter().skip(1).rev() {
        for (k, v) in &pom.properties {
            inherited.insert(k.clone(), v.clone());
        }
    }
    let resolve = |v: &str| p.resolve_with(v, &inherited);
    let deps: Vec<(&str, &pom::PomDependency)> = chain
        .iter()
        .flat_map(|(_, file, pom)| pom.dependencies.iter().map(move |d| (*file, d)))
        .filter(|(_, d)| d.scope.as_deref() != Some("test"))
        .collect();
    let plugins: Vec<(&str, &pom::PomPlugin)> = chain
        .iter()
        .flat_map(|(_, file, pom)| pom.plugins.iter().map(move |pl| (*file, pl)))
        .collect();
    let parents: Vec<(&str, &pom::PomParent)> = chain
        .iter()
        .filter_map(|(_, file, pom)| pom.parent.as_ref().map(|pp| (*file, pp)))
        .collect();

    let spring_parent = parents
        .iter()
        .find(|(_, pp)| pp.group_id.as_deref() == Some("org.springframework.boot"));
    let spring_plugin = plugins
        .iter()
        .find(|(_, pl)| pl.artifact_id == "spring-boot-maven-plugin");
    let spring_dep = deps.iter().find(|(_, d)| {
        d.group_id == "org.springframework.boot" && d.artifact_id.starts_with("spring-boot-starter")
    });
    let quarkus = deps
        .iter()
        .find(|(_, d)| d.group_id == "io.quarkus" || d.group_id == "io.quarkus.platform")
        .map(|(f, _)| *f)
        .or_else(|| {
            plugins
                .iter()
                .find(|(_, pl)| pl.artifact_id == "quarkus-maven-plugin")
                .map(|(f, _)| *f)
        });
    let micronaut = deps
        .iter()
        .find(|(_, d)| d.group_id.starts_with("io.micronaut"))
        .map(|(f, _)| *f);
    let ktor = deps
        .iter()
        .find(|(_, d)| d.group_id == "io.ktor" && d.artifact_id.starts_with("ktor-server"))
        .map(|(f, _)| *f);
    let member = tree.reactor.get(dir);
    let main = find_main(view, dir);

    let spring_source = spring_plugin
        .map(|(f, _)| format!("{f} spring-boot-maven-plugin"))
        .or_else(|| spring_dep.map(|(f, d)| format!("{f} {}", d.artifact_id)))
        .or_else(|| {
            spring_parent.map(|(f, pp)| {
                format!(
                    "{f} parent {}",
                    pp.artifact_id.as_deref().unwrap_or_default()
                )
            })
        });
    let framework = if spring_source.is_some()
        && (spring_dep.is_some()
            || spring_plugin.is_some()
            || main.as_ref().is_some_and(|m| m.spring))
    {
        Some(Framework::SpringBoot)
    } else if quarkus.is_some() {
        Some(Framework::Quarkus)
    } else if micronaut.is_some() {
        Some(Framework::Micronaut)
    } else if ktor.is_some() {
        Some(Framework::Ktor)
    } else {
        None
    };
    let fat_jar_plugin = plugins.iter().find(|(_, pl)| {
        matches!(
            pl.artifact_id.as_str(),
            "maven-shade-plugin" | "maven-assembly-plugin"
        )
    });
    let configured_main = plugins
        .iter()
        .find_map(|(_, pl)| pl.configuration.get("mainClass").map(|m| resolve(m)));

    let is_service = match framework {
        Some(Framework::SpringBoot) => {
            main.is_some() || (member.is_none() && spring_plugin.is_some())
        }
        Some(Framework::Quarkus) => true,
        Some(_) => main.is_some() || configured_main.is_some(),
        None => main.is_some(),
    };
    let kotlin_plugin = plugins
        .iter()
        .any(|(_, pl)| pl.artifact_id == "kotlin-maven-plugin");
    let language = source_language(view, dir, kotlin_plugin);
    let artifact = p
        .artifact_id
        .clone()
        .unwrap_or_else(|| file_name(dir).to_string());
    let mut d = Detection::new(ID, dir, language, 0.75)
        .with_kind(if is_service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(path, format!("maven project {artifact}"));
    d.hints.name = Some(Sourced::new(artifact.clone(), format!("{path} artifactId")));
    d.hints.package_manager = Some(Sourced::new("maven".into(), path.to_string()));

    // JDK version.
    let own_version = [
        "maven.compiler.release",
        "java.version",
        "maven.compiler.source",
        "maven.compiler.target",
    ]
    .iter()
    .find_map(|key| {
        let (file, value) = chain
            .iter()
            .find_map(|(_, file, pom)| pom.properties.get(*key).map(|v| (*file, v)))?;
        let v = resolve(value);
        (!v.contains("${")).then(|| Sourced::new(normalize_java(&v), format!("{file} {key}")))
    })
    .or_else(|| {
        plugins.iter().find_map(|(file, pl)| {
            if pl.artifact_id != "maven-compiler-plugin" {
                return None;
            }
            ["release", "source"].iter().find_map(|k| {
                let v = resolve(pl.configuration.get(*k)?);
                (!v.contains("${")).then(|| {
                    Sourced::new(
                        normalize_java(&v),
                        format!("{file} maven-compiler-plugin {k}"),
                    )
                })
            })
        })
    });
    d.hints.runtime_version = jdk_pin(view, dir).or(own_version);

    for (file, dep) in &deps {
        if let Some(b) = jvm_backing(&dep.group_id, &dep.artifact_id) {
            push_unique(
                &mut d.hints.backing_services,
                Sourced::new(b.to_string(), format!("{file} {}", dep.artifact_id)),
            );
        }
    }

    if !is_service {
        return d;
    }
    if let Some(m) = &main {
        d.boost(0.05);
        d.evidence.push(Evidence::new(
            m.file.clone(),
            format!("main class {}", m.class),
        ));
    }
    let context = member.cloned().unwrap_or_else(|| dir.to_string());
    if context != dir {
        d.hints.context = Some(context.clone());
    }
    let mvn = if view.is_file(&join(&context, "mvnw")) {
        d.evidence
            .push(Evidence::new(join(&context, "mvnw"), "maven wrapper"));
        d.boost(0.03);
        "./mvnw"
    } else {
        "mvn"
    };
    let rel = strip_dir(&context, dir);
    let select = if rel.is_empty() || context == dir {
        String::new()
    } else {
        format!(" -pl {rel} -am")
    };
    let prefix = if context == dir || rel.is_empty() {
        String::new()
    } else {
        format!("{rel}/")
    };
    let jar_name = {
        let base = p.final_name.as_deref().map(resolve).unwrap_or_else(|| {
            let version = p.effective_version().map(resolve).unwrap_or_default();
            if version.is_empty() {
                String::new()
            } else {
                format!("{artifact}-{version}")
            }
        });
        let ext = if p.packaging() == "war" { "war" } else { "jar" };
        if base.is_empty() || base.contains("${") {
            format!("*.{ext}")
        } else {
            format!("{base}.{ext}")
        }
    };
    let mut build = format!("{mvn} -B -DskipTests{select} package");
    let start = match framework {
        Some(Framework::Quarkus) => format!("java -jar {prefix}target/quarkus-app/quarkus-run.jar"),
        Some(Framework::SpringBoot) => format!("java -jar {prefix}target/{jar_name}"),
        _ if fat_jar_plugin.is_some() || configured_main.is_some() => {
            let assembly =
                fat_jar_plugin.is_some_and(|(_, pl)| pl.artifact_id == "maven-assembly-plugin");
            let name = if assembly {
                jar_name.replace(".jar", "-jar-with-dependencies.jar")
            } else {
                jar_name.clone()
            };
            format!("java -jar {prefix}target/{name}")
        }
        _ => {
            build = format!("{mvn} -B -DskipTests{select} package dependency:copy-dependencies");
            let class = main.as_ref().map(|m| m.class.clone()).unwrap_or_default();
            format!("java -cp \"{prefix}target/classes:{prefix}target/dependency/*\" {class}")
        }
    };
    let source = match &main {
        Some(m) => format!("{path} + {}", m.file),
        None => path.to_string(),
    };
    d.hints.build_command = Some(Sourced::new(build, path.to_string()));
    d.hints.start_command = Some(Sourced::new(start, source));
    if p.packaging() == "war" && framework != Some(Framework::SpringBoot) {
        d.hints.start_command = None;
        d.hints.notes.push(Note::new(
            "war-packaging",
            format!("{path} builds a .war: it needs a servlet container (Tomcat, Jetty); add a Dockerfile that deploys it"),
        ));
    }

    apply_config(view, dir, &mut d);
    let fw_source = match framework {
        Some(Framework::SpringBoot) => spring_source.unwrap_or_default(),
        Some(Framework::Quarkus) => format!("{} quarkus", quarkus.unwrap_or(path)),
        Some(Framework::Micronaut) => format!("{} micronaut", micronaut.unwrap_or(path)),
        Some(Framework::Ktor) => format!("{} ktor-server", ktor.unwrap_or(path)),
        None => String::new(),
    };
    if let Some(f) = framework {
        d.boost(0.1);
        d.evidence
            .push(Evidence::new(path, format!("{} app", f.name())));
    }
    let health = deps.iter().find_map(|(file, dep)| {
        matches!(
            dep.artifact_id.as_str(),
            "spring-boot-starter-actuator" | "quarkus-smallrye-health" | "micronaut-management"
        )
        .then(|| format!("{file} {}", dep.artifact_id))
    });
    framework_hints(&mut d, framework, &fw_source, health.as_deref());
    if d.hints.healthcheck.is_none() {
        d.hints.healthcheck = source_health(view, dir, SOURCE_ROOTS);
    }
    d
}

// ---------------------------------------------------------------------------------
// Gradle
// ---------------------------------------------------------------------------------

/// A version catalog (`gradle/libs.versions.toml`), aliases normalised to dots.
#[derive(Debug, Default)]
struct Catalog {
    libraries: BTreeMap<String, (String, String)>,
    plugins: BTreeMap<String, String>,
    bundles: BTreeMap<String, Vec<String>>,
}

fn alias_key(alias: &str) -> String {
    alias.replace(['-', '_'], ".").to_ascii_lowercase()
}

fn load_catalog(view: &ProjectView, root: &str) -> Catalog {
    let path = join(root, "gradle/libs.versions.toml");
    let mut out = Catalog::default();
    let Some(text) = view.text(&path) else {
        return out;
    };
    let table: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            common::invalid(view, &path, e.message());
            return out;
        }
    };
    let section = |name: &str| table.get(name).and_then(toml::Value::as_table);
    if let Some(libs) = section("libraries") {
        for (alias, spec) in libs {
            let coords = match spec {
                toml::Value::String(s) => {
                    let mut parts = s.split(':');
                    parts
                        .next()
                        .zip(parts.next())
                        .map(|(g, a)| (g.to_string(), a.to_string()))
                }
                toml::Value::Table(t) => {
                    let get = |k: &str| t.get(k).and_then(toml::Value::as_str);
                    match (get("module"), get("group"), get("name")) {
                        (Some(m), _, _) => m
                            .split_once(':')
                            .map(|(g, a)| (g.to_string(), a.to_string())),
                        (None, Some(g), Some(n)) => Some((g.to_string(), n.to_string())),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(c) = coords {
                out.libraries.insert(alias_key(alias), c);
            }
        }
    }
    if let Some(plugins) = section("plugins") {
        for (alias, spec) in plugins {
            let id = match spec {
                toml::Value::String(s) => s.split(':').next().map(str::to_string),
                toml::Value::Table(t) => t
                    .get("id")
                    .and_then(toml::Value::as_str)
                    .map(str::to_string),
                _ => None,
            };
            if let Some(id) = id {
                out.plugins.insert(alias_key(alias), id);
            }
        }
    }
    if let Some(bundles) = section("bundles") {
        for (alias, list) in bundles {
            if let Some(items) = list.as_array() {
                out.bundles.insert(
                    alias_key(alias),
                    items
                        .iter()
                        .filter_map(toml::Value::as_str)
                        .map(alias_key)
                        .collect(),
                );
            }
        }
    }
    out
}

/// A Gradle build (the settings folder) and what its root build script shares.
#[derive(Debug)]
struct GradleRoot {
    dir: String,
    settings: Option<(String, GradleSettings)>,
    /// Included project folder → its project path (`libs/core` → `libs:core`).
    members: BTreeMap<String, String>,
    catalog: Catalog,
}

fn gradle_projects(view: &ProjectView) -> Vec<Detection> {
    let mut out = Vec::new();
    let mut roots: BTreeMap<String, GradleRoot> = BTreeMap::new();
    let settings_files: Vec<&std::sync::Arc<str>> = view
        .named("settings.gradle")
        .iter()
        .chain(view.named("settings.gradle.kts"))
        .collect();
    for path in settings_files {
        let dir = parent(path).to_string();
        if roots.contains_key(&dir) || skipped_gradle_dir(&dir) {
            continue;
        }
        let Some(text) = view.text(path) else {
            continue;
        };
        let settings = match gradle::parse_settings(&text) {
            Ok(s) => s,
            Err(e) => {
                common::invalid(view, path, e);
                continue;
            }
        };
        let mut members = BTreeMap::new();
        for inc in &settings.includes {
            if let Some(m) = resolve_path(&dir, &settings.project_dir(inc))
                && m != dir
            {
                members.insert(m, inc.clone());
            }
        }
        if !members.is_empty() {
            let mut d = Detection::new(ID, dir.as_str(), "java", 0.85)
                .with_kind(DetectionKind::WorkspaceRoot)
                .with_evidence(
                    &**path,
                    format!("gradle build of {} project(s)", members.len()),
                );
            d.hints.patterns.push("gradle-multiproject".into());
            d.hints.package_manager = Some(Sourced::new("gradle".into(), path.to_string()));
            if let Some(name) = &settings.root_project_name {
                d.hints.name = Some(Sourced::new(
                    name.clone(),
                    format!("{path} rootProject.name"),
                ));
            }
            out.push(d);
        }
        let catalog = load_catalog(view, &dir);
        roots.insert(
            dir.clone(),
            GradleRoot {
                dir,
                settings: Some((path.to_string(), settings)),
                members,
                catalog,
            },
        );
    }

    let mut builds: BTreeMap<String, (String, GradleBuild)> = BTreeMap::new();
    for name in ["build.gradle.kts", "build.gradle"] {
        for path in view.named(name) {
            let dir = parent(path).to_string();
            if builds.contains_key(&dir) || skipped_gradle_dir(&dir) {
                continue;
            }
            let Some(text) = view.text(path) else {
                continue;
            };
            match gradle::parse(&text) {
                Ok(b) => {
                    builds.insert(dir, (path.to_string(), b));
                }
                Err(e) => common::invalid(view, path, e),
            }
        }
    }
    for (dir, (path, build)) in &builds {
        // The build this project belongs to: its own settings, or the nearest one that
        // includes it.
        let root = roots.get(dir).or_else(|| {
            roots
                .values()
                .filter(|r| r.members.contains_key(dir))
                .max_by_key(|r| r.dir.len())
        });
        let root_build = root
            .filter(|r| r.dir != *dir)
            .and_then(|r| builds.get(&r.dir));
        let d = gradle_project(view, dir, path, build, root, root_build);
        // The root script of a multi-project build that only configures its
        // subprojects is the workspace root, not a library.
        let configures_only = d.kind == DetectionKind::Library
            && root.is_some_and(|r| r.dir == *dir && !r.members.is_empty())
            && !view.is_dir(&join(dir, "src/main"));
        if !configures_only {
            out.push(d);
        }
    }
    out
}

fn skipped_gradle_dir(dir: &str) -> bool {
    dir.split('/').any(|s| s == "buildSrc") || is_test_resource(&join(dir, "x"))
}

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

fn gradle_project(
    view: &ProjectView,
    dir: &str,
    path: &str,
    build: &GradleBuild,
    root: Option<&GradleRoot>,
    root_build: Option<&(String, GradleBuild)>,
) -> Detection {
    let empty = Catalog::default();
    let catalog = root.map_or(&empty, |r| &r.catalog);
    // Applied plugins: this script's, plus those the root applies to subprojects.
    let mut plugins: Vec<(String, String)> = Vec::new();
    let mut add_plugins = |file: &str, b: &GradleBuild, shared_only: bool| {
        for p in &b.plugins {
            if !p.apply || (shared_only != p.shared) {
                continue;
            }
            let id = p.id.clone().or_else(|| {
                p.alias
                    .as_deref()
                    .and_then(|a| catalog.plugins.get(&alias_key(a)).cloned())
            });
            if let Some(id) = id {
                plugins.push((id, file.to_string()));
            }
        }
    };
    add_plugins(path, build, false);
    if let Some((rp, rb)) = root_build {
        add_plugins(rp, rb, true);
    }
    let applied = |id: &str| {
        plugins
            .iter()
            .find(|(p, _)| p == id)
            .map(|(_, f)| f.as_str())
    };
    let applied_any =
        |ids: &[&'static str]| ids.iter().find_map(|id| applied(id).map(|f| (*id, f)));

    // Dependencies (module coordinates), catalog references resolved.
    let mut deps: Vec<(String, String, String)> = Vec::new();
    let mut add_deps = |file: &str, b: &GradleBuild, shared_only: bool| {
        for dep in &b.dependencies {
            if shared_only != dep.shared
                || dep.configuration == "classpath"
                || dep.configuration.starts_with("test")
            {
                continue;
            }
            match &dep.target {
                DependencyTarget::Module { group, name, .. } => {
                    deps.push((group.clone(), name.clone(), file.to_string()));
                }
                DependencyTarget::Catalog(alias) => {
                    let key = alias_key(alias);
                    let aliases = match key.strip_prefix("bundles.") {
                        Some(b) => catalog.bundles.get(b).cloned().unwrap_or_default(),
                        None => vec![key],
                    };
                    for a in aliases {
                        if let Some((g, n)) = catalog.libraries.get(&a) {
                            deps.push((g.clone(), n.clone(), file.to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
    };
    add_deps(path, build, false);
    if let Some((rp, rb)) = root_build {
        add_deps(rp, rb, true);
    }

    let tooling = applied_any(&[
        "java-gradle-plugin",
        "kotlin-dsl",
        "com.android.application",
        "com.android.library",
    ]);
    let spring = applied("org.springframework.boot");
    let quarkus = applied("io.quarkus");
    let micronaut = applied_any(&[
        "io.micronaut.application",
        "io.micronaut.minimal.application",
    ])
    .map(|(_, f)| f);
    let ktor_plugin = applied("io.ktor.plugin");
    let ktor_dep = deps
        .iter()
        .find(|(g, n, _)| g == "io.ktor" && n.starts_with("ktor-server"))
        .map(|(_, _, f)| f.as_str());
    let shadow = applied_any(&[
        "com.github.johnrengelman.shadow",
        "com.gradleup.shadow",
        "io.github.goooler.shadow",
    ]);
    let application = applied("application").or(micronaut);
    let kotlin = applied_any(&[
        "org.jetbrains.kotlin.jvm",
        "kotlin",
        "org.jetbrains.kotlin.plugin.spring",
        "org.jetbrains.kotlin.multiplatform",
    ]);
    let main = find_main(view, dir);
    let main_class = build
        .main_class
        .clone()
        .or_else(|| main.as_ref().map(|m| m.class.clone()));
    let member = root.and_then(|r| r.members.get(dir).map(|p| (r, p)));

    let framework = if spring.is_some() {
        Some(Framework::SpringBoot)
    } else if quarkus.is_some() {
        Some(Framework::Quarkus)
    } else if micronaut.is_some() {
        Some(Framework::Micronaut)
    } else if ktor_plugin.is_some() || ktor_dep.is_some() {
        Some(Framework::Ktor)
    } else {
        None
    };
    let is_service = tooling.is_none()
        && match framework {
            Some(Framework::SpringBoot) => main.is_some() || member.is_none(),
            Some(Framework::Quarkus) => true,
            Some(_) => main_class.is_some(),
            None => {
                main_class.is_some()
                    && (application.is_some() || shadow.is_some() || build.main_class.is_some())
            }
        };
    let language = source_language(view, dir, kotlin.is_some());
    let project_name = match member {
        Some((_, p)) => p.rsplit(':').next().unwrap_or(p).to_string(),
        None => root
            .and_then(|r| r.settings.as_ref())
            .and_then(|(_, s)| s.root_project_name.clone())
            .unwrap_or_default(),
    };
    let mut d = Detection::new(ID, dir, language, 0.75)
        .with_kind(if is_service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(path, "gradle build script");
    if !project_name.is_empty() {
        let source = match (member, root.and_then(|r| r.settings.as_ref())) {
            (Some(_), Some((sp, _))) => format!("{sp} include"),
            (None, Some((sp, _))) => format!("{sp} rootProject.name"),
            _ => path.to_string(),
        };
        d.hints.name = Some(Sourced::new(project_name.clone(), source));
    }
    d.hints.package_manager = Some(Sourced::new("gradle".into(), path.to_string()));
    if let Some((id, _)) = tooling {
        d.evidence.push(Evidence::new(
            path,
            format!("{id} project: build tooling, not a service"),
        ));
    }

    // JDK version: pins, then this script, then the root script.
    let from_build = |file: &str, b: &GradleBuild| -> Option<Sourced<String>> {
        [
            (&b.toolchain, "java toolchain"),
            (&b.source_compatibility, "sourceCompatibility"),
            (&b.target_compatibility, "targetCompatibility"),
            (&b.jvm_target, "kotlin jvmTarget"),
        ]
        .into_iter()
        .find_map(|(v, what)| {
            v.as_ref()
                .map(|v| Sourced::new(normalize_java(v), format!("{file} {what}")))
        })
    };
    d.hints.runtime_version = jdk_pin(view, dir)
        .or_else(|| from_build(path, build))
        .or_else(|| root_build.and_then(|(rp, rb)| from_build(rp, rb)));

    for (g, n, file) in &deps {
        if let Some(b) = jvm_backing(g, n) {
            push_unique(
                &mut d.hints.backing_services,
                Sourced::new(b.to_string(), format!("{file} {n}")),
            );
        }
    }
    if !is_service {
        return d;
    }
    if let Some(m) = &main {
        d.boost(0.05);
        d.evidence.push(Evidence::new(
            m.file.clone(),
            format!("main class {}", m.class),
        ));
    }

    let context = member.map_or(dir.to_string(), |(r, _)| r.dir.clone());
    if context != dir {
        d.hints.context = Some(context.clone());
    }
    let gradlew = if view.is_file(&join(&context, "gradlew")) {
        d.evidence
            .push(Evidence::new(join(&context, "gradlew"), "gradle wrapper"));
        d.boost(0.03);
        "./gradlew"
    } else {
        "gradle"
    };
    let task = |t: &str| match member {
        Some((_, p)) => format!("{gradlew} :{p}:{t}"),
        None => format!("{gradlew} {t}"),
    };
    let prefix = match member {
        Some(_) => format!("{}/", strip_dir(&context, dir)),
        None => String::new(),
    };
    // The jar a task writes to build/libs: its archiveFileName, the name it is known to
    // get (`<project>-<version><suffix>.jar`), else the newest match.
    let libs_jar = |suffix: &str, with_version: bool| -> String {
        if let Some(name) = build
            .archive_file_name
            .as_ref()
            .filter(|n| !n.contains('$'))
        {
            return format!("{prefix}build/libs/{name}");
        }
        let version = build.version.as_ref().filter(|v| !v.contains('$'));
        match version {
            _ if project_name.is_empty() => {}
            Some(v) if with_version => {
                return format!("{prefix}build/libs/{project_name}-{v}{suffix}.jar");
            }
            _ if !with_version => return format!("{prefix}build/libs/{project_name}{suffix}.jar"),
            _ => {}
        }
        format!("$(ls {prefix}build/libs/*{suffix}.jar | grep -v plain | head -n 1)")
    };
    let (build_cmd, start) = if spring.is_some() {
        (task("bootJar"), format!("java -jar {}", libs_jar("", true)))
    } else if quarkus.is_some() {
        (
            task("build -x test"),
            format!("java -jar {prefix}build/quarkus-app/quarkus-run.jar"),
        )
    } else if ktor_plugin.is_some() {
        (
            task("buildFatJar"),
            format!("java -jar {}", libs_jar("-all", false)),
        )
    } else if shadow.is_some() {
        (
            task("shadowJar"),
            format!("java -jar {}", libs_jar("-all", true)),
        )
    } else if application.is_some() && !project_name.is_empty() {
        (
            task("installDist"),
            format!("{prefix}build/install/{project_name}/bin/{project_name}"),
        )
    } else if application.is_some() {
        (
            task("installDist"),
            format!("$(ls {prefix}build/install/*/bin/* | grep -v '\\.bat$' | head -n 1)"),
        )
    } else {
        (task("jar"), format!("java -jar {}", libs_jar("", true)))
    };
    d.hints.build_command = Some(Sourced::new(build_cmd, path.to_string()));
    let start_source = match &main {
        Some(m) => format!("{path} + {}", m.file),
        None => path.to_string(),
    };
    d.hints.start_command = Some(Sourced::new(start, start_source));

    apply_config(view, dir, &mut d);
    let fw_source = match framework {
        Some(Framework::SpringBoot) => {
            format!("{} org.springframework.boot plugin", spring.unwrap_or(path))
        }
        Some(Framework::Quarkus) => format!("{} io.quarkus plugin", quarkus.unwrap_or(path)),
        Some(Framework::Micronaut) => format!("{} micronaut plugin", micronaut.unwrap_or(path)),
        Some(Framework::Ktor) => match ktor_plugin {
            Some(f) => format!("{f} io.ktor.plugin"),
            None => format!("{} ktor-server", ktor_dep.unwrap_or(path)),
        },
        None => String::new(),
    };
    if let Some(f) = framework {
        d.boost(0.1);
        d.evidence
            .push(Evidence::new(path, format!("{} app", f.name())));
    }
    let health = deps.iter().find_map(|(_, n, file)| {
        matches!(
            n.as_str(),
            "spring-boot-starter-actuator" | "quarkus-smallrye-health" | "micronaut-management"
        )
        .then(|| format!("{file} {n}"))
    });
    framework_hints(&mut d, framework, &fw_source, health.as_deref());
    if d.hints.healthcheck.is_none() {
        d.hints.healthcheck = source_health(view, dir, SOURCE_ROOTS);
    }
    d
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(JVM_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn test_resources_are_not_projects() {
        assert!(is_test_resource("app/src/test/resources/demo/pom.xml"));
        assert!(is_test_resource("src/it/simple/pom.xml"));
        assert!(!is_test_resource("services/api/pom.xml"));
        assert!(!is_test_resource("src/api/pom.xml"));
    }

    #[test]
    fn java_versions() {
        assert_eq!(normalize_java("temurin-17.0.9+9"), "17.0.9+9");
        assert_eq!(normalize_java("17.0.9-tem"), "17.0.9");
        assert_eq!(normalize_java("openjdk-21"), "21");
        assert_eq!(normalize_java("1.8"), "8");
        assert_eq!(normalize_java("21"), "21");
        assert_eq!(normalize_java("1.8.0_392"), "1.8.0_392");
    }

    #[test]
    fn config_files() {
        let props = "# c\nserver.port=${PORT:8081}\nspring.datasource.url=jdbc:postgresql://${DB_HOST:localhost}:5432/app\nspring.data.redis.host=${REDIS_HOST}\n";
        let mut c = AppConfig::default();
        read_pairs("application.properties", &flatten_properties(props), &mut c);
        assert_eq!(c.ports[0].value, 8081);
        let env: Vec<&str> = c.env.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(env, vec!["PORT", "DB_HOST", "REDIS_HOST"]);
        let backing: Vec<&str> = c.backing.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(backing, vec!["postgres", "redis"]);

        let yaml = "spring:\n  application:\n    name: demo\n  datasource:\n    url: \"jdbc:mysql://db/app\" # db\n    username: ${DB_USER}\nserver:\n  port: 9090\n---\nspring:\n  config:\n    activate:\n      on-profile: prod\nserver:\n  port: 80\n";
        let pairs = flatten_yaml(yaml);
        assert!(pairs.contains(&("server.port".into(), "9090".into())));
        assert!(pairs.contains(&("spring.datasource.url".into(), "jdbc:mysql://db/app".into())));
        let mut c = AppConfig::default();
        read_pairs("application.yml", &pairs, &mut c);
        let ports: Vec<u16> = c.ports.iter().map(|p| p.value).collect();
        assert_eq!(ports, vec![9090, 80]);

        let hocon = "ktor {\n    deployment {\n        port = 8080\n        port = ${?PORT}\n    }\n    application {\n        modules = [ com.example.ApplicationKt.module ]\n    }\n}\n";
        let pairs = flatten_hocon(hocon);
        assert!(pairs.contains(&("ktor.deployment.port".into(), "8080".into())));
        let mut c = AppConfig::default();
        read_pairs("application.conf", &pairs, &mut c);
        assert_eq!(c.ports[0].value, 8080);
        assert_eq!(c.env[0].value, "PORT");
    }

    #[test]
    fn odd_config_never_panics() {
        for text in [
            "", ":", "a:\n  b", "}}}", "{{{", "${", "x=${", "- a: b", "  :  ", "a: b #",
        ] {
            let _ = flatten_yaml(text);
            let _ = flatten_hocon(text);
            let _ = flatten_properties(text);
            let _ = placeholders(text);
        }
    }

    #[test]
    fn backing_artifacts() {
        assert_eq!(
            jvm_backing("org.postgresql", "postgresql"),
            Some("postgres")
        );
        assert_eq!(jvm_backing("com.mysql", "mysql-connector-j"), Some("mysql"));
        assert_eq!(
            jvm_backing("org.springframework.boot", "spring-boot-starter-data-redis"),
            Some("redis")
        );
        assert_eq!(jvm_backing("org.testcontainers", "postgresql"), None);
        assert_eq!(
            jvm_backing("org.springframework.boot", "spring-boot-starter-web"),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-zA-Z0-9 {}$?:=#.\n-]{0,160}") {
            let _ = flatten_yaml(&text);
            let _ = flatten_hocon(&text);
            let _ = flatten_properties(&text);
            let _ = placeholders(&text);
        }
    }
}
