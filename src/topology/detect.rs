//! The [`Detector`] trait and what a detector returns: [`Detection`]s carrying a stack,
//! a confidence, [`Evidence`] and [`ServiceHints`], every inferred value with the file
//! it came from ([`Sourced`]).

use serde::{Deserialize, Serialize};

use super::ProjectView;

/// Where a value came from. `--json` writes it as an object tagged by `kind`
/// (`{"kind": "declared", "at": "package.json engines.node"}`); [`Display`] writes
/// the short text the CLI shows (`package.json engines.node`, `default for nextjs`).
///
/// [`Display`]: std::fmt::Display
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Provenance {
    /// Written in a file of the project.
    Declared {
        /// The file, relative to the root, and after a space what in it says so
        /// (`package.json engines.node`, `Dockerfile EXPOSE`); the file alone when the
        /// file itself is the evidence (`.nvmrc`, `package-lock.json`).
        at: String,
    },
    /// Worked out from something in the project that does not state it (a route
    /// written in the source code taken for the health check).
    Inferred {
        /// What it was worked out from (`app.py route`).
        from: String,
    },
    /// Assumed: nothing in the project says it, it is the usual value for a stack.
    Default {
        /// The stack or tool whose default it is (`nextjs`, `flask (gunicorn)`).
        assumed_for: String,
    },
    /// Said by a WASM detector plugin.
    Plugin {
        /// The plugin's id.
        id: String,
        /// Where the plugin says the value came from, as it said it.
        source: String,
        /// Whether the plugin marked it as assumed (`default for ...`, the convention
        /// of the detector interface).
        assumed: bool,
    },
}

impl Provenance {
    /// A value written in the project at `at` (a file, then what in it).
    pub fn declared(at: impl Into<String>) -> Self {
        Provenance::Declared { at: at.into() }
    }

    /// A value worked out from `from`.
    pub fn inferred(from: impl Into<String>) -> Self {
        Provenance::Inferred { from: from.into() }
    }

    /// The default value for `stack`.
    pub fn default_for(stack: impl Into<String>) -> Self {
        Provenance::Default {
            assumed_for: stack.into(),
        }
    }

    /// A value plugin `id` gave, with the source it named. The detector interface
    /// (`detectors/wit/`) marks an assumed value with a source starting `default`;
    /// this is the one place that convention is read.
    pub fn plugin(id: impl Into<String>, source: impl Into<String>) -> Self {
        let source = source.into();
        Provenance::Plugin {
            id: id.into(),
            assumed: source.starts_with("default"),
            source,
        }
    }

    /// Whether the value is an assumption (a framework default), not something read.
    pub fn is_default(&self) -> bool {
        match self {
            Provenance::Default { .. } => true,
            Provenance::Plugin { assumed, .. } => *assumed,
            Provenance::Declared { .. } | Provenance::Inferred { .. } => false,
        }
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provenance::Declared { at } => f.write_str(at),
            Provenance::Inferred { from } => f.write_str(from),
            Provenance::Default { assumed_for } => write!(f, "default for {assumed_for}"),
            Provenance::Plugin { source, .. } => f.write_str(source),
        }
    }
}

/// A place in the project: the file (and what in it) a value is declared at.
impl From<String> for Provenance {
    fn from(at: String) -> Self {
        Provenance::declared(at)
    }
}

/// A place in the project: the file (and what in it) a value is declared at.
impl From<&str> for Provenance {
    fn from(at: &str) -> Self {
        Provenance::declared(at)
    }
}

/// A place in the project: the file (and what in it) a value is declared at.
impl From<&String> for Provenance {
    fn from(at: &String) -> Self {
        Provenance::declared(at.as_str())
    }
}

/// A value and where it came from (`package.json engines.node`, `default for nextjs`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Provenance,
}

impl<T> Sourced<T> {
    /// A value from `source`: a file and what in it (a string) or any [`Provenance`].
    pub fn new(value: T, source: impl Into<Provenance>) -> Self {
        Self {
            value,
            source: source.into(),
        }
    }

    /// The default value for `stack` (`Sourced::assumed(3000, "nextjs")`).
    pub fn assumed(value: T, stack: impl Into<String>) -> Self {
        Self::new(value, Provenance::default_for(stack))
    }

    /// Whether the value is an assumption (a framework default), not something read.
    pub fn is_default(&self) -> bool {
        self.source.is_default()
    }
}

/// Why a detector believes what it says: a file, a reason, and who said it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Evidence {
    /// The file (or folder), relative to the analysed root.
    pub path: String,
    /// What it shows.
    pub reason: String,
    /// The detector that gave it (`node`, `plugin:hugo`...). Detectors leave it empty;
    /// the engine fills it in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detector: String,
}

impl Evidence {
    /// Evidence from `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
            detector: String::new(),
        }
    }
}

/// What a detection says the folder is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum DetectionKind {
    /// A deployable service (something that runs).
    #[default]
    Service,
    /// A library or shared package of a monorepo: built, not run.
    Library,
    /// The root of a monorepo or workspace (npm workspaces, a cargo workspace...): its
    /// members are the services.
    WorkspaceRoot,
}

/// Everything a detector can say about how to run a service. Every field is optional;
/// the engine merges hints from several detectors with the rules in `docs/topology.md`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceHints {
    /// The service's name, if the manifest gives one (`package.json` name...).
    pub name: Option<Sourced<String>>,
    /// The build context relative to the root, when it is not the service folder (a
    /// workspace app builds from the workspace root to see the lockfile).
    pub context: Option<String>,
    /// The framework (`nextjs`, `django`...).
    pub framework: Option<Sourced<String>>,
    /// The package manager (`pnpm`, `poetry`...).
    pub package_manager: Option<Sourced<String>>,
    /// The runtime version (`20`, `3.12`...).
    pub runtime_version: Option<Sourced<String>>,
    /// How to install dependencies.
    pub install_command: Option<Sourced<String>>,
    /// How to build.
    pub build_command: Option<Sourced<String>>,
    /// How to start.
    pub start_command: Option<Sourced<String>>,
    /// Ports it listens on.
    pub ports: Vec<Sourced<u16>>,
    /// Environment variables it reads (names only).
    pub env: Vec<Sourced<String>>,
    /// Backing services it needs (`postgres`, `redis`...).
    pub backing_services: Vec<Sourced<String>>,
    /// Names of other services it depends on (compose `depends_on`...).
    pub depends_on: Vec<Sourced<String>>,
    /// The image to run, when the service is known by its image only.
    pub image: Option<Sourced<String>>,
    /// A health check path or command, if declared.
    pub healthcheck: Option<Sourced<String>>,
    /// The Dockerfile that builds it, relative to the root.
    pub dockerfile: Option<String>,
    /// Patterns recognised (`npm-workspaces`, `cargo-workspace`, `turbo`...).
    pub patterns: Vec<String>,
    /// Actionable notes about this folder (a missing lockfile...).
    pub notes: Vec<Note>,
}

/// An actionable note a detector attaches to a folder; it becomes a
/// [`Recommendation`](super::Recommendation) of the service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Note {
    /// A stable code (`no-lockfile`...).
    pub code: String,
    /// What to do.
    pub message: String,
}

impl Note {
    /// A note.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// One detector's finding about one folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Detection {
    /// The detector that made it (`node`, `dockerfile`, `plugin:hugo`...).
    pub detector: String,
    /// The folder, relative to the root (`""` for the root).
    pub path: String,
    /// What the folder is.
    pub kind: DetectionKind,
    /// The language or stack, lower-case (`node`, `python`, `docker`...).
    pub language: String,
    /// How sure the detector is, in [0, 1].
    pub confidence: f64,
    /// Why.
    pub evidence: Vec<Evidence>,
    /// How to run it.
    pub hints: ServiceHints,
}

impl Detection {
    /// A service detection of `language` in `path`.
    pub fn new(
        detector: impl Into<String>,
        path: impl Into<String>,
        language: impl Into<String>,
        confidence: f64,
    ) -> Self {
        Self {
            detector: detector.into(),
            path: path.into(),
            kind: DetectionKind::Service,
            language: language.into(),
            confidence: confidence.clamp(0.0, 1.0),
            evidence: Vec::new(),
            hints: ServiceHints::default(),
        }
    }

    /// The same detection with one more piece of evidence.
    pub fn with_evidence(mut self, path: impl Into<String>, reason: impl Into<String>) -> Self {
        self.evidence.push(Evidence::new(path, reason));
        self
    }

    /// The same detection as another kind.
    pub fn with_kind(mut self, kind: DetectionKind) -> Self {
        self.kind = kind;
        self
    }

    /// Raises the confidence by `delta`, staying within [0, 1].
    pub fn boost(&mut self, delta: f64) {
        self.confidence = (self.confidence + delta).clamp(0.0, 1.0);
    }
}

/// A detector failed on the whole view (a per-file problem is a partial error of the
/// view instead, reported with [`ProjectView::report`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DetectorError {
    /// What went wrong.
    pub message: String,
}

impl DetectorError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Finds what it knows in a project. Built-in detectors and WASM plugins implement it
/// alike.
///
/// # Contract
///
/// - `detect` is pure: it reads the project only through `view`, has no other effect,
///   and returns the same detections for the same view.
/// - It returns every folder it recognises, not the first; the engine runs every
///   detector and never stops at one.
/// - Confidences are in [0, 1] (the engine clamps them anyway); every detection carries
///   evidence.
/// - A manifest it cannot parse is reported with [`ProjectView::report`] and skipped,
///   not returned as an error: one bad file must not hide the rest of the project.
pub trait Detector: Send + Sync + std::fmt::Debug {
    /// A short stable id (`node`, `python`, `plugin:hugo`).
    fn id(&self) -> &str;
    /// Finds every folder of `view` this detector recognises.
    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn provenance_serializes_as_a_tagged_object_and_displays_as_before() {
        let cases = [
            (
                Provenance::declared("package.json engines.node"),
                serde_json::json!({"kind": "declared", "at": "package.json engines.node"}),
                "package.json engines.node",
            ),
            (
                Provenance::inferred("app.py route"),
                serde_json::json!({"kind": "inferred", "from": "app.py route"}),
                "app.py route",
            ),
            (
                Provenance::default_for("nextjs"),
                serde_json::json!({"kind": "default", "assumed_for": "nextjs"}),
                "default for nextjs",
            ),
            (
                Provenance::plugin("hugo", "default for hugo"),
                serde_json::json!({"kind": "plugin", "id": "hugo", "source": "default for hugo", "assumed": true}),
                "default for hugo",
            ),
        ];
        for (p, json, shown) in cases {
            assert_eq!(serde_json::to_value(&p).unwrap(), json);
            assert_eq!(serde_json::from_value::<Provenance>(json).unwrap(), p);
            assert_eq!(p.to_string(), shown);
        }
    }

    #[test]
    fn only_defaults_and_plugin_assumptions_are_assumed() {
        assert!(Sourced::assumed(3000, "nextjs").is_default());
        assert!(Sourced::new(3000, Provenance::plugin("p", "default for x")).is_default());
        assert!(!Sourced::new(3000, Provenance::plugin("p", "hugo.toml port")).is_default());
        assert!(!Sourced::new(3000, Provenance::inferred("app.py listen")).is_default());
        // A file whose name starts with "default" is still a file.
        assert!(!Sourced::new(3000, "default.conf listen").is_default());
    }
}
