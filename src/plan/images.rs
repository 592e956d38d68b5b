//! The base-image map: which image a generated Dockerfile starts from, per stack and
//! runtime version, and which image a backing service runs. Every entry can be
//! replaced: air-gapped and corporate users point it at their own mirrors.

use std::collections::BTreeMap;

/// Images by key. A key is a stack (`python`), a stack and a runtime version
/// (`python:3.12`, `python:3`), a role (`node-build`, `go-runtime`) or a backing
/// service (`postgres`). A lookup with a version tries `stack:version`, then
/// `stack:major`, then `stack`; what the caller [`set`](BaseImages::set) comes before
/// Kyozo's defaults, so `node=IMAGE` takes the place of every default node image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImages {
    images: BTreeMap<String, String>,
    /// The keys the caller set.
    given: std::collections::BTreeSet<String>,
}

/// The images Kyozo uses when the caller sets none: official images of Docker Hub.
const DEFAULTS: &[(&str, &str)] = &[
    // Application stacks (their runtime versions are looked up first).
    ("deno", "denoland/deno:2.1.4"),
    ("go", "golang:1.23-bookworm"),
    ("go-runtime", "debian:bookworm-slim"),
    ("java", "eclipse-temurin:21-jdk"),
    ("java-runtime", "eclipse-temurin:21-jre"),
    ("maven", "maven:3.9-eclipse-temurin-21"),
    ("gradle", "gradle:8-jdk21"),
    ("composer", "composer:2"),
    ("node", "node:22-bookworm-slim"),
    ("node:18", "node:18-bookworm-slim"),
    ("node:20", "node:20-bookworm-slim"),
    ("node:22", "node:22-bookworm-slim"),
    ("php", "php:8.3-cli-bookworm"),
    ("python", "python:3.12-slim-bookworm"),
    ("python:3.10", "python:3.10-slim-bookworm"),
    ("python:3.11", "python:3.11-slim-bookworm"),
    ("python:3.12", "python:3.12-slim-bookworm"),
    ("python:3.13", "python:3.13-slim-bookworm"),
    ("ruby", "ruby:3.3-slim-bookworm"),
    ("ruby:3.1", "ruby:3.1-slim-bookworm"),
    ("ruby:3.2", "ruby:3.2-slim-bookworm"),
    ("ruby:3.3", "ruby:3.3-slim-bookworm"),
    ("rust", "rust:1-bookworm"),
    ("rust-runtime", "debian:bookworm-slim"),
    ("static", "caddy:2"),
    // The edge proxy that holds the services' published ports.
    ("caddy", "caddy:2"),
    // Backing services.
    ("mariadb", "mariadb:11"),
    ("memcached", "memcached:1.6"),
    ("mongodb", "mongo:7"),
    ("mysql", "mysql:8.4"),
    ("postgres", "postgres:16"),
    ("rabbitmq", "rabbitmq:3-management"),
    ("redis", "redis:7"),
];

impl Default for BaseImages {
    fn default() -> Self {
        Self {
            images: DEFAULTS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            given: std::collections::BTreeSet::new(),
        }
    }
}

impl BaseImages {
    /// An empty map: every image must be set (for a mirror that has only what it was
    /// given).
    pub fn empty() -> Self {
        Self {
            images: BTreeMap::new(),
            given: std::collections::BTreeSet::new(),
        }
    }

    /// Sets the image for `key` (`python`, `python:3.12`, `go-runtime`, `postgres`...).
    pub fn set(mut self, key: impl Into<String>, image: impl Into<String>) -> Self {
        let key = key.into();
        self.given.insert(key.clone());
        self.images.insert(key, image.into());
        self
    }

    /// Whether `key` was given ([`set`](Self::set)), not one of the defaults.
    pub fn is_given(&self, key: &str) -> bool {
        self.given.contains(key)
    }

    /// Every entry, by key.
    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.images
    }

    /// The image for `key` at runtime `version` (`3.11.9` tries `key:3.11.9`,
    /// `key:3.11`, `key:3`, then `key`).
    pub fn lookup(&self, key: &str, version: Option<&str>) -> Option<&str> {
        let mut candidates = Vec::new();
        if let Some(v) = version {
            let parts: Vec<&str> = v
                .trim_start_matches(['v', '^', '~', '=', '>'])
                .split('.')
                .collect();
            for n in (1..=parts.len()).rev() {
                candidates.push(format!("{key}:{}", parts[..n].join(".")));
            }
        }
        candidates.push(key.to_string());
        // The caller's entries first, then the defaults.
        let given = candidates.iter().find(|c| self.given.contains(*c));
        given
            .or_else(|| candidates.iter().find(|c| self.images.contains_key(*c)))
            .and_then(|c| self.images.get(c))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_fall_back_from_the_most_precise_key() {
        let images = BaseImages::empty()
            .set("python", "py")
            .set("python:3.11", "py311")
            .set("python:3", "py3");
        assert_eq!(images.lookup("python", Some("3.11.9")), Some("py311"));
        assert_eq!(images.lookup("python", Some("3.9")), Some("py3"));
        assert_eq!(images.lookup("python", Some("2.7")), Some("py"));
        assert_eq!(images.lookup("python", None), Some("py"));
        // What the caller sets beats the defaults, however precise.
        let mine = BaseImages::default().set("node", "mirror/node");
        assert_eq!(mine.lookup("node", Some("22")), Some("mirror/node"));
        assert_eq!(
            BaseImages::default().lookup("node", Some("20.1")),
            Some("node:20-bookworm-slim")
        );
        assert_eq!(images.lookup("ruby", None), None);
        assert_eq!(
            BaseImages::default().lookup("node", Some("^20.1")),
            Some("node:20-bookworm-slim")
        );
    }
}
