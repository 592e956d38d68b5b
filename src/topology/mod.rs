//! The topology engine: what services live in a folder, how to build and run each, what
//! they need, how they depend on each other, how sure Kyozo is, and why.
//!
//! [`ProjectView`] walks the folder once; every [`Detector`] (built-in or WASM plugin)
//! runs on it and returns [`Detection`]s; [`merge`] combines them into a [`Topology`]
//! with the rules written in `docs/topology.md`.

pub mod backing;
pub mod builtin;
pub mod common;
mod detect;
pub mod manifest;
mod merge;
mod view;
#[cfg(feature = "wasm")]
pub mod wasm;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use detect::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, Provenance, ServiceHints,
    Sourced,
};
pub use merge::{
    MAX_PLUGIN_EVIDENCE, MAX_PLUGIN_RIVAL_EVIDENCE, MAX_PLUGIN_RIVALS, MAX_PLUGIN_TEXT,
    MAX_PLUGIN_WARNINGS, merge, merge_trusting,
};
pub(crate) use view::resolve_relative;
pub use view::{
    PartialError, PartialErrorKind, ProjectView, ReadError, SKIPPED_DIRS, ScanOptions, file_name,
    is_inside, join, parent,
};

/// The analysis could not run at all (per-file problems are partial errors instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// The folder to analyse cannot be read.
    #[error("cannot analyse {path}: {reason}")]
    Root {
        /// The folder given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// How the services of a folder are best deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Nothing deployable was found.
    None,
    /// One service.
    Single,
    /// A compose file describes the stack.
    Compose,
    /// Several services in one tree.
    Monorepo,
}

impl Strategy {
    /// The strategy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Single => "single",
            Strategy::Compose => "compose",
            Strategy::Monorepo => "monorepo",
        }
    }
}

/// One service found, with everything inferred about it and where each value came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopologyService {
    /// Its name (unique in the topology, DNS label rules).
    pub name: String,
    /// Its folder relative to the root (`.` for the root).
    pub path: String,
    /// The folder it builds from (`.` for the root).
    pub context: String,
    /// The language or stack.
    pub language: String,
    /// The framework, if recognised.
    pub framework: Option<String>,
    /// The package manager.
    pub package_manager: Option<String>,
    /// The runtime version and where it came from.
    pub runtime_version: Option<Sourced<String>>,
    /// How to install dependencies.
    pub install_command: Option<Sourced<String>>,
    /// How to build.
    pub build_command: Option<Sourced<String>>,
    /// How to start.
    pub start_command: Option<Sourced<String>>,
    /// Ports it listens on.
    pub ports: Vec<PortHint>,
    /// Env vars it reads.
    pub env: Vec<EnvHint>,
    /// Backing services it needs.
    pub backing_services: Vec<String>,
    /// Services (by name) it depends on.
    pub depends_on: Vec<String>,
    /// The Dockerfile that builds it, if one exists.
    pub dockerfile: Option<String>,
    /// The image it runs, when known by image only.
    pub image: Option<String>,
    /// Its health check, if declared.
    pub healthcheck: Option<Sourced<String>>,
    /// How sure Kyozo is, in [0, 1].
    pub confidence: f64,
    /// Why, file by file.
    pub evidence: Vec<Evidence>,
    /// Which detectors contributed.
    pub detectors: Vec<String>,
    /// Other stacks detectors claimed this folder as, which lost to `language` (each
    /// lowers `confidence`; see `docs/topology.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rivals: Vec<RivalClaim>,
}

/// A detector's claim that a folder is another stack than the one chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RivalClaim {
    /// The detector that made it.
    pub detector: String,
    /// The stack it claimed.
    pub language: String,
    /// How sure it was.
    pub confidence: f64,
    /// Why it thought so.
    pub evidence: Vec<Evidence>,
    /// Values it gave for this service that were not used (a plugin's value where a
    /// built-in set one, or a built-in's value a trusted plugin replaced); see
    /// `docs/plugins.md`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<RivalValue>,
}

/// A value of one field a detector gave for a service, which another detector's value
/// outranked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RivalValue {
    /// The field (`install_command`, `ports`, `backing_services`...), as named in the
    /// service.
    pub field: String,
    /// The value it gave.
    pub value: String,
    /// Where it said the value came from.
    pub source: Provenance,
}

/// A port and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortHint {
    /// The port.
    pub port: u16,
    /// Where it came from ([`Provenance::Default`] for an assumption).
    pub source: Provenance,
}

/// An env var name and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvHint {
    /// The variable.
    pub name: String,
    /// Where it came from.
    pub source: Provenance,
}

/// A library of a monorepo: built by the services that use it, not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SharedPackage {
    /// Its name.
    pub name: String,
    /// Its folder.
    pub path: String,
    /// Its language.
    pub language: String,
}

/// An actionable note.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recommendation {
    /// The service concerned, if one.
    pub service: Option<String>,
    /// A stable code (`no-lockfile`, `no-healthcheck`, `port-unknown`...).
    pub code: String,
    /// What to do, in words.
    pub message: String,
}

impl Recommendation {
    /// A note about `service` (or the whole folder), with a stable code.
    pub fn new(
        service: Option<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            service,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Everything found in a folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Topology {
    /// The folder analysed.
    pub root: PathBuf,
    /// How to deploy it.
    pub strategy: Strategy,
    /// The services, in start order.
    pub services: Vec<TopologyService>,
    /// Libraries of a monorepo.
    pub shared_packages: Vec<SharedPackage>,
    /// Patterns recognised (`npm-workspaces`, `cargo-workspace`, `compose`...).
    pub patterns: Vec<String>,
    /// Actionable notes.
    pub recommendations: Vec<Recommendation>,
    /// Partial errors and other warnings (a dependency cycle...).
    pub warnings: Vec<String>,
    /// How long the analysis took.
    pub duration_ms: u64,
    /// The folder as the detectors saw it, for the planner (not serialized).
    #[serde(skip)]
    seen: SeenFolder,
}

/// The [`ProjectView`] a topology was found in: what the detectors read (its reads are
/// cached), so the planner reads the same files and the same contents, never the disk
/// again. Two topologies are equal by what they found: this compares equal always.
#[derive(Debug, Clone, Default)]
struct SeenFolder(Option<ProjectView>);

impl PartialEq for SeenFolder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Topology {
    /// The folder as the detectors saw it: the files they were shown, and the contents
    /// they read. `None` for a topology read back from JSON (a planner then scans
    /// [`root`](Self::root) itself).
    pub fn view(&self) -> Option<&ProjectView> {
        self.seen.0.as_ref()
    }

    /// The summary of this topology that the store keeps.
    pub fn to_detection(&self, team: crate::model::TeamId) -> crate::model::TopologyDetection {
        let mut record = crate::model::TopologyDetection::new(team, self.root.clone());
        record.services = self
            .services
            .iter()
            .map(|s| crate::model::DetectedService {
                name: s.name.clone(),
                path: PathBuf::from(&s.path),
                stack: s.language.clone(),
                framework: s.framework.clone(),
                confidence: s.confidence,
            })
            .collect();
        record.patterns = self.patterns.clone();
        record.strategy = self.strategy.as_str().to_string();
        let mut stack: Vec<String> = self
            .services
            .iter()
            .flat_map(|s| {
                [
                    Some(s.language.clone()),
                    s.framework.clone(),
                    s.package_manager.clone(),
                ]
            })
            .flatten()
            .chain(
                self.services
                    .iter()
                    .flat_map(|s| s.backing_services.clone()),
            )
            .collect();
        stack.sort();
        stack.dedup();
        record.technology_stack = stack;
        let mut files: Vec<String> = self
            .services
            .iter()
            .flat_map(|s| s.evidence.iter().map(|e| e.path.clone()))
            .collect();
        files.sort();
        files.dedup();
        record.file_indicators = files;
        record.duration = std::time::Duration::from_millis(self.duration_ms);
        record
    }
}

/// Runs every detector on a folder and merges what they find.
#[derive(Debug, Clone)]
pub struct TopologyEngine {
    detectors: Vec<Arc<dyn Detector>>,
    options: ScanOptions,
    /// Plugin ids (`hugo`) whose values may override the built-ins'.
    trusted_plugins: Vec<String>,
}

impl Default for TopologyEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl TopologyEngine {
    /// An engine with every built-in detector and default scan limits.
    pub fn new() -> Self {
        Self {
            detectors: builtin::all(),
            options: ScanOptions::default(),
            trusted_plugins: Vec::new(),
        }
    }

    /// An engine with no detector at all.
    pub fn empty() -> Self {
        Self {
            detectors: Vec::new(),
            options: ScanOptions::default(),
            trusted_plugins: Vec::new(),
        }
    }

    /// Adds a detector (a plugin, or one of the embedding program's own).
    pub fn with_detector(mut self, detector: Arc<dyn Detector>) -> Self {
        self.detectors.push(detector);
        self
    }

    /// Trusts the plugin `id` (its metadata id, `hugo`, or its detector id,
    /// `plugin:hugo`): its values may override the built-in detectors', by the same
    /// rules as between built-ins. An untrusted plugin only fills fields no built-in
    /// filled and adds services no built-in found (`docs/plugins.md`).
    pub fn with_trusted_plugin(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        let id = id.strip_prefix("plugin:").map(str::to_string).unwrap_or(id);
        if !self.trusted_plugins.contains(&id) {
            self.trusted_plugins.push(id);
        }
        self
    }

    /// The plugin ids trusted with [`with_trusted_plugin`](Self::with_trusted_plugin).
    pub fn trusted_plugins(&self) -> &[String] {
        &self.trusted_plugins
    }

    /// Uses other scan limits.
    pub fn with_options(mut self, options: ScanOptions) -> Self {
        self.options = options;
        self
    }

    /// The detectors, in the order they were added.
    pub fn detectors(&self) -> &[Arc<dyn Detector>] {
        &self.detectors
    }

    /// Scans `root`, runs every detector, and merges the detections.
    pub fn analyze(&self, root: impl AsRef<Path>) -> Result<Topology, TopologyError> {
        let started = Instant::now();
        let view = ProjectView::scan_with(root, &self.options)?;
        let detections = self.detect(&view);
        let mut topology = merge_trusting(&view, detections, &self.trusted_plugins);
        topology.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(topology)
    }

    /// Runs every detector on `view`. A detector that fails or panics becomes a partial
    /// error of the view; the others still run.
    pub fn detect(&self, view: &ProjectView) -> Vec<Detection> {
        let run = |d: &Arc<dyn Detector>| -> Vec<Detection> {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.detect(view)));
            let message = match outcome {
                Ok(Ok(found)) => return found,
                Ok(Err(e)) => e.message,
                Err(_) => "the detector panicked".to_string(),
            };
            view.report(
                "",
                PartialErrorKind::DetectorFailed {
                    detector: d.id().to_string(),
                    message,
                },
            );
            Vec::new()
        };
        // Each thread takes the next detector not yet taken, so one slow detector does
        // not hold back a fixed share of the others.
        let threads = self.options.threads.clamp(1, self.detectors.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut all: Vec<Detection> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut found = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(d) = self.detectors.get(i) else {
                                break;
                            };
                            found.extend(run(d));
                        }
                        found
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for d in &mut all {
            for e in &mut d.evidence {
                if e.detector.is_empty() {
                    e.detector.clone_from(&d.detector);
                }
            }
            d.confidence = if d.confidence.is_finite() {
                d.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
        all
    }
}

/// Helpers for the detectors' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used)]

    use super::{Detection, Detector, ProjectView};

    /// A temporary project holding `files` (path, text), and what `detector` finds in
    /// it, sorted by folder.
    pub(crate) fn scan(detector: &dyn Detector, files: &[(&str, &str)]) -> Vec<Detection> {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let view = ProjectView::scan(dir.path()).unwrap();
        let mut found = detector.detect(&view).unwrap();
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found
    }
}
