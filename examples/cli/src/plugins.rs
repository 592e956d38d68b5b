//! `kyozo analyze --plugin`: each plugin loaded on its own (one that cannot be loaded
//! is skipped and said so, the others still run), the errors plugins give, at load or
//! while they run, kept as typed records for `--json`, and the lines said about them on
//! stderr.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kyozo::topology::wasm::{PluginError, PluginHost, WasmDetector};
use kyozo::topology::{Detection, Detector, DetectorError, ProjectView};
use serde_json::{Value, json};

/// A plugin that was loaded.
#[derive(Debug)]
struct Loaded {
    id: String,
    version: String,
    source: String,
    trusted: bool,
}

/// A plugin error: when it happened (`load` or `detect`), its kind, the plugin and
/// the message.
#[derive(Debug)]
struct Failure {
    stage: &'static str,
    kind: &'static str,
    plugin: Option<String>,
    message: String,
}

impl Failure {
    fn new(stage: &'static str, e: &PluginError) -> Self {
        Self {
            stage,
            kind: e.kind(),
            plugin: e.plugin().map(str::to_string),
            message: e.to_string(),
        }
    }
}

type Failures = Arc<Mutex<Vec<Failure>>>;

/// The plugins of one `analyze`: the detectors to add, and what happened to each.
#[derive(Debug, Default)]
pub(crate) struct Plugins {
    loaded: Vec<Loaded>,
    failures: Failures,
    detectors: Vec<Arc<dyn Detector>>,
    trusted: Vec<String>,
    given: bool,
}

/// A loaded plugin that records its failures while it runs, typed, for the report.
#[derive(Debug)]
struct Recorded {
    plugin: WasmDetector,
    failures: Failures,
}

impl Detector for Recorded {
    fn id(&self) -> &str {
        Detector::id(&self.plugin)
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        match self.plugin.run(view) {
            Ok(run) => Ok(run.detections),
            Err(e) => {
                if let Ok(mut f) = self.failures.lock() {
                    f.push(Failure::new("detect", &e));
                }
                Err(DetectorError::new(e.to_string()))
            }
        }
    }
}

/// Writes a line about plugins on stderr, through the terminal sanitizer: it carries
/// what plugins said (ids, panic messages).
fn say(line: &str) {
    eprintln!("{}", crate::show::safe(line));
}

impl Plugins {
    /// Loads each of `paths`; one that cannot be loaded (unreadable, not a regular
    /// file, not a detector, an id already taken...) is skipped, with a line on stderr
    /// saying why. `trust` names the ids whose values may override the built-ins'.
    pub(crate) fn load(paths: &[PathBuf], trust: &[String]) -> Self {
        let mut me = Plugins {
            given: !paths.is_empty(),
            ..Plugins::default()
        };
        let trusted: Vec<String> = trust
            .iter()
            .map(|t| t.strip_prefix("plugin:").unwrap_or(t).to_string())
            .collect();
        let host = if paths.is_empty() {
            None
        } else {
            Some(PluginHost::shared())
        };
        let mut failures = Vec::new();
        for path in paths {
            let source = path.display().to_string();
            let loaded = match &host {
                Some(Ok(host)) => host.load(path.as_path()),
                Some(Err(e)) => Err(e.clone()),
                None => continue,
            };
            let plugin = loaded.and_then(|p| {
                let id = &p.metadata().id;
                match me.loaded.iter().find(|l| &l.id == id) {
                    Some(first) => Err(PluginError::DuplicateId {
                        id: id.clone(),
                        first: first.source.clone(),
                        second: source.clone(),
                    }),
                    None => Ok(p),
                }
            });
            match plugin {
                Ok(p) => {
                    let m = p.metadata();
                    let loaded = Loaded {
                        id: m.id.clone(),
                        version: m.version.clone(),
                        source: source.clone(),
                        trusted: trusted.contains(&m.id),
                    };
                    say(&format!(
                        "plugin {} {} loaded from {}{}",
                        loaded.id,
                        loaded.version,
                        loaded.source,
                        if loaded.trusted { " (trusted)" } else { "" }
                    ));
                    me.loaded.push(loaded);
                    me.detectors.push(Arc::new(Recorded {
                        plugin: p,
                        failures: me.failures.clone(),
                    }));
                }
                Err(e) => {
                    say(&format!("plugin {source} skipped: {e}"));
                    failures.push(Failure::new("load", &e));
                }
            }
        }
        for t in &trusted {
            if !me.loaded.iter().any(|l| &l.id == t) {
                say(&format!("--trust-plugin {t}: no plugin loaded has this id"));
            }
        }
        if let Ok(mut f) = me.failures.lock() {
            f.extend(failures);
        }
        me.trusted = trusted;
        me
    }

    /// Adds the loaded plugins, and the trust given, to `builder`.
    pub(crate) fn add_to(&self, builder: kyozo::KyozoBuilder) -> kyozo::KyozoBuilder {
        let builder = self
            .detectors
            .iter()
            .fold(builder, |b, d| b.detector(d.clone()));
        self.trusted
            .iter()
            .fold(builder, |b, t| b.trust_plugin(t.clone()))
    }

    /// Says on stderr which plugins failed while they ran.
    pub(crate) fn say_run_failures(&self) {
        if let Ok(f) = self.failures.lock() {
            for f in f.iter().filter(|f| f.stage == "detect") {
                say(&format!(
                    "plugin {} failed: {}",
                    f.plugin.as_deref().unwrap_or("?"),
                    f.message
                ));
            }
        }
    }

    /// `{"loaded": [...], "errors": [{"kind", "plugin", "message", "stage"}]}`, or
    /// `None` when no plugin was given.
    pub(crate) fn json(&self) -> Option<Value> {
        if !self.given {
            return None;
        }
        let loaded: Vec<Value> = self
            .loaded
            .iter()
            .map(|l| {
                json!({
                    "id": l.id,
                    "version": l.version,
                    "source": l.source,
                    "trusted": l.trusted,
                })
            })
            .collect();
        let errors: Vec<Value> = self
            .failures
            .lock()
            .map(|f| {
                f.iter()
                    .map(|f| {
                        json!({
                            "kind": f.kind,
                            "plugin": f.plugin,
                            "message": f.message,
                            "stage": f.stage,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(json!({ "loaded": loaded, "errors": errors }))
    }
}
