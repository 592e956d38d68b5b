//! The cost of a WASM detector plugin, side by side with the same work done natively.
//!
//! - `detect/plugin-hugo`: one warm `detect` call of the Hugo plugin
//!   (`detectors/hugo`) on a small Hugo site: a fresh instance from the pooling
//!   allocator, its `list-files` and `read-file` calls served from the engine's walk,
//!   the result checked and converted.
//! - `detect/native-hugo`: a built-in `Detector` doing the same work on the same view
//!   (the same globs, reads and parsing, in Rust, no sandbox).
//! - `load/cached`: loading the plugin when its compiled form is in the cache (read,
//!   hash, checksum, deserialize, link, `metadata` call).
//!
//! Run with `cargo bench --bench plugins`; the plugins are built first (release,
//! wasm32-wasip2) if needed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[path = "../tests/common/plugins.rs"]
mod plugins;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kyozo::topology::wasm::{PluginConfig, PluginHost};
use kyozo::topology::{Detection, Detector, DetectorError, ProjectView, Sourced, join, parent};

/// The Hugo plugin's algorithm, natively: what a built-in Hugo detector would do.
#[derive(Debug)]
struct NativeHugo;

const SITE_FOLDERS: [&str; 4] = ["content", "layouts", "archetypes", "themes"];

fn value_of(text: &str, keys: &[&str]) -> Option<String> {
    for line in text.lines() {
        let line = line.trim().trim_start_matches('"');
        for key in keys {
            let Some(rest) = line.strip_prefix(key) else {
                continue;
            };
            let rest = rest.trim_start_matches('"').trim_start();
            let Some(value) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) else {
                continue;
            };
            let value = value
                .trim()
                .trim_end_matches(',')
                .trim_matches(|c| c == '"' || c == '\'');
            if !value.is_empty() {
                return Some(value.to_string());
            }
        }
    }
    None
}

fn any_under(view: &ProjectView, dir: &str) -> bool {
    let prefix = format!("{dir}/");
    view.files_from(&prefix)
        .next()
        .is_some_and(|f| f.starts_with(&prefix))
}

impl Detector for NativeHugo {
    fn id(&self) -> &str {
        "native-hugo"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut sites: Vec<(String, String, f64)> = Vec::new();
        for ext in ["toml", "yaml", "yml", "json"] {
            for config in view.named(&format!("hugo.{ext}")) {
                sites.push((parent(config).to_string(), config.to_string(), 0.95));
            }
        }
        for ext in ["toml", "yaml", "yml", "json"] {
            for config in view.named(&format!("config.{ext}")) {
                let dir = parent(config);
                if sites.iter().any(|(d, ..)| d == dir) {
                    continue;
                }
                let Some(text) = view.text(config) else {
                    continue;
                };
                if value_of(&text, &["baseURL", "baseurl"]).is_some()
                    && SITE_FOLDERS.iter().any(|f| any_under(view, &join(dir, f)))
                {
                    sites.push((dir.to_string(), config.to_string(), 0.85));
                }
            }
        }
        let mut found = Vec::new();
        for (dir, config, confidence) in sites {
            let mut d = Detection::new("native-hugo", dir.clone(), "hugo", confidence)
                .with_evidence(config.clone(), "a Hugo configuration file");
            let h = &mut d.hints;
            h.framework = Some(Sourced::new("hugo".into(), config.clone()));
            h.build_command = Some(Sourced::assumed("hugo --minify".into(), "hugo"));
            h.start_command = Some(Sourced::assumed(
                "hugo server --bind 0.0.0.0 --port 1313 --disableLiveReload".into(),
                "hugo",
            ));
            h.ports.push(Sourced::assumed(1313, "hugo"));
            h.env
                .push(Sourced::assumed("HUGO_ENVIRONMENT".into(), "hugo"));
            let text = view.text(&config).unwrap_or_default();
            if let Some(theme) = value_of(&text, &["theme"]) {
                d = d.with_evidence(config.clone(), format!("theme {theme}"));
            }
            for folder in SITE_FOLDERS {
                let path = join(&dir, folder);
                if any_under(view, &path) {
                    d = d.with_evidence(path, format!("Hugo's {folder}/ folder"));
                }
            }
            let netlify = join(&dir, "netlify.toml");
            if let Some(v) = view
                .text(&netlify)
                .and_then(|t| value_of(&t, &["HUGO_VERSION"]))
            {
                d.hints.runtime_version = Some(Sourced::new(v, format!("{netlify} HUGO_VERSION")));
            }
            let _ = view.is_file(&join(&dir, "go.mod"));
            for ext in ["toml", "yaml", "yml", "json"] {
                let _ = view.is_file(&join(&dir, &format!("hugo_stats.{ext}")));
            }
            found.push(d);
        }
        Ok(found)
    }
}

fn bench(c: &mut Criterion) {
    let cache = tempfile::tempdir().unwrap();
    let mut config = PluginConfig::default();
    config.cache_dir = Some(cache.path().to_path_buf());
    let host = PluginHost::new(config).unwrap();
    let path = plugins::plugin("hugo");
    let hugo = host.load(path.as_path()).unwrap();
    let view = ProjectView::scan(plugins::detectors().join("hugo/fixtures/basic")).unwrap();
    let plugin_found = hugo.run(&view).unwrap().detections;
    let native_found = NativeHugo.detect(&view).unwrap();
    assert_eq!(plugin_found.len(), 1);
    assert_eq!(native_found.len(), 1);
    assert_eq!(
        plugin_found[0].evidence.len(),
        native_found[0].evidence.len()
    );

    let mut g = c.benchmark_group("detect");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("plugin-hugo", |b| {
        b.iter(|| black_box(hugo.run(&view).unwrap()))
    });
    g.bench_function("native-hugo", |b| {
        b.iter(|| black_box(NativeHugo.detect(&view).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("load");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("cached", |b| {
        b.iter(|| black_box(host.load(path.as_path()).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
