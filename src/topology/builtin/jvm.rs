//! What the JVM detectors share (java, scala, clojure): the JDK a project pins, the
//! backing services of JVM dependencies, Spring-style application config, and the
//! class with a `main` method.

use crate::topology::backing;
use crate::topology::common;
use crate::topology::{ProjectView, Sourced, file_name, is_inside, join, parent};

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

/// JVM artifacts (artifact ids, lower-case) that mean a backing service and are not in
/// [`crate::topology::backing::PACKAGE_TO_BACKING`]. Sorted.
pub(super) const JVM_BACKING: &[(&str, &str)] = &[
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

/// Source roots looked at for a main class.
pub(super) const SOURCE_ROOTS: &[&str] = &["src/main/java", "src/main/kotlin", "src/main/scala"];

/// Keys that set the HTTP port, per framework.
const PORT_KEYS: &[&str] = &[
    "http.port",
    "ktor.deployment.port",
    "micronaut.server.port",
    "quarkus.http.port",
    "server.port",
];

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `${NAME}`, `${NAME:default}`, `${?NAME}` (HOCON): the names and defaults.
pub(super) fn placeholders(value: &str) -> Vec<(String, Option<String>)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn java_versions() {
        assert_eq!(normalize_java("temurin-17.0.9+9"), "17.0.9+9");
        assert_eq!(normalize_java("17.0.9-tem"), "17.0.9");
        assert_eq!(normalize_java("openjdk-21"), "21");
        assert_eq!(normalize_java("1.8"), "8");
        assert_eq!(normalize_java("21"), "21");
        assert_eq!(normalize_java("1.8.0_392"), "1.8.0_392");
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
    fn tables_are_sorted() {
        assert!(JVM_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
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
