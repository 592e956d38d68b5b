//! WASM detector plugins doing their job: the Hugo and Jekyll plugins on their
//! fixtures, a plugin and a built-in scored together, loading through `KyozoBuilder`,
//! the compile cache, and the interest filter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/plugins.rs"]
mod plugins;

use std::sync::Arc;

use kyozo::topology::wasm::{PluginConfig, PluginHost, PluginSource};
use kyozo::topology::{ProjectView, Provenance, TopologyEngine};
use plugins::{detectors, host, plugin};

fn fixture(plugin: &str, name: &str) -> std::path::PathBuf {
    detectors().join(plugin).join("fixtures").join(name)
}

#[test]
fn hugo_finds_a_hugo_site_with_its_version_theme_and_folders() {
    let hugo = host().load(plugin("hugo")).unwrap();
    assert_eq!(hugo.metadata().id, "hugo");
    assert_eq!(hugo.metadata().interface_version, "0.1.0");
    let run = hugo
        .run(&ProjectView::scan(fixture("hugo", "basic")).unwrap())
        .unwrap();
    assert!(!run.skipped);
    assert_eq!(run.detections.len(), 1, "{run:#?}");
    let d = &run.detections[0];
    assert_eq!(d.detector, "plugin:hugo");
    assert_eq!((d.path.as_str(), d.language.as_str()), ("", "hugo"));
    assert!((d.confidence - 0.95).abs() < 1e-9);
    let h = &d.hints;
    assert_eq!(h.runtime_version.as_ref().unwrap().value, "0.121.1");
    assert_eq!(
        h.runtime_version.as_ref().unwrap().source,
        Provenance::plugin("hugo", "netlify.toml build.environment.HUGO_VERSION")
    );
    assert_eq!(h.framework.as_ref().unwrap().value, "hugo");
    assert_eq!(h.ports[0].value, 1313);
    assert!(
        h.start_command
            .as_ref()
            .unwrap()
            .value
            .starts_with("hugo server")
    );
    let reasons: Vec<String> = d
        .evidence
        .iter()
        .map(|e| format!("{}: {}", e.path, e.reason))
        .collect();
    assert!(
        reasons.contains(&"hugo.toml: theme ananke".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"content: Hugo's content/ folder".to_string()),
        "{reasons:?}"
    );
}

#[test]
fn hugo_recognises_a_legacy_config_and_ignores_a_config_toml_that_is_not_hugo() {
    let hugo = host().load(plugin("hugo")).unwrap();
    let legacy = hugo
        .run(&ProjectView::scan(fixture("hugo", "legacy")).unwrap())
        .unwrap();
    assert_eq!(legacy.detections.len(), 1);
    let d = &legacy.detections[0];
    assert!((d.confidence - 0.85).abs() < 1e-9);
    assert_eq!(d.hints.runtime_version.as_ref().unwrap().value, "0.110.0");
    let other = hugo
        .run(&ProjectView::scan(fixture("hugo", "not-hugo")).unwrap())
        .unwrap();
    assert!(other.detections.is_empty(), "{other:#?}");
}

#[test]
fn jekyll_finds_a_blog_and_a_github_pages_site() {
    let jekyll = host().load(plugin("jekyll")).unwrap();
    let blog = jekyll
        .run(&ProjectView::scan(fixture("jekyll", "blog")).unwrap())
        .unwrap();
    assert_eq!(blog.detections.len(), 1);
    let d = &blog.detections[0];
    assert_eq!(d.language, "ruby");
    assert_eq!(d.hints.framework.as_ref().unwrap().value, "jekyll");
    assert_eq!(d.hints.ports[0].value, 4001);
    assert_eq!(
        d.hints.ports[0].source,
        Provenance::plugin("jekyll", "_config.yml port")
    );
    assert_eq!(d.hints.runtime_version.as_ref().unwrap().value, "3.2.2");
    assert_eq!(
        d.hints.start_command.as_ref().unwrap().value,
        "bundle exec jekyll serve --host 0.0.0.0 --port 4001"
    );
    let pages = jekyll
        .run(&ProjectView::scan(fixture("jekyll", "pages")).unwrap())
        .unwrap();
    assert_eq!(pages.detections.len(), 1);
    let d = &pages.detections[0];
    assert_eq!(
        d.hints.framework.as_ref().unwrap().source,
        Provenance::plugin("jekyll", "Gemfile gem github-pages")
    );
    assert_eq!(
        d.hints.ports[0].source,
        Provenance::plugin("jekyll", "default for jekyll")
    );
    assert!(d.hints.ports[0].is_default());
}

#[test]
fn a_plugin_is_skipped_on_a_project_without_the_files_it_reads() {
    let jekyll = host().load(plugin("jekyll")).unwrap();
    let run = jekyll
        .run(&ProjectView::scan(fixture("hugo", "basic")).unwrap())
        .unwrap();
    assert!(run.skipped);
    assert!(run.detections.is_empty());
}

/// A Hugo site with a package.json for its CSS tooling: the Node built-in says Node,
/// the plugin says Hugo (more sure of itself). A plugin never overrides a built-in
/// unless trusted: the service stays Node and Hugo is a rival, shown; trusted, the
/// more confident claim wins and Node is the rival, lowering the confidence.
#[test]
fn a_plugin_and_a_builtin_that_disagree_are_scored_together() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plugin-disagree");
    let builtin_only = TopologyEngine::new().analyze(&root).unwrap();
    assert_eq!(builtin_only.services.len(), 1);
    assert_eq!(builtin_only.services[0].language, "node");

    // Not trusted: the built-in's service, the plugin's claim beside it.
    let hugo = Arc::new(host().load(plugin("hugo")).unwrap());
    let t = TopologyEngine::new()
        .with_detector(hugo.clone())
        .analyze(&root)
        .unwrap();
    let s = &t.services[0];
    assert_eq!(s.language, "node", "{s:#?}");
    // Nothing of the built-in's service changed but the rival beside it.
    let mut without_rival = s.clone();
    without_rival.rivals.clear();
    assert_eq!(without_rival, builtin_only.services[0]);
    assert_eq!(s.rivals.len(), 1, "{:#?}", s.rivals);
    let rival = &s.rivals[0];
    assert_eq!(
        (rival.detector.as_str(), rival.language.as_str()),
        ("plugin:hugo", "hugo")
    );
    assert!(
        rival
            .evidence
            .iter()
            .any(|e| e.path == "hugo.toml" && e.detector == "plugin:hugo")
    );
    let rec = t
        .recommendations
        .iter()
        .find(|r| r.code == "two-stacks")
        .expect("a two-stacks recommendation");
    assert!(rec.message.contains("by plugin:hugo"), "{}", rec.message);

    // Trusted: the more confident claim wins.
    let engine = TopologyEngine::new()
        .with_detector(hugo)
        .with_trusted_plugin("hugo");
    let t = engine.analyze(&root).unwrap();
    assert_eq!(t.services.len(), 1, "{t:#?}");
    let s = &t.services[0];
    assert_eq!(s.language, "hugo", "the more confident claim wins: {s:#?}");
    assert_eq!(s.detectors, vec!["plugin:hugo".to_string()]);
    // Its evidence is the plugin's, marked as such.
    assert!(
        s.evidence.iter().all(|e| e.detector == "plugin:hugo"),
        "{:#?}",
        s.evidence
    );
    assert!(s.evidence.iter().any(|e| e.path == "hugo.toml"));
    // The built-in's claim is kept beside it, with its own evidence, and lowers the score.
    assert_eq!(s.rivals.len(), 1, "{:#?}", s.rivals);
    let rival = &s.rivals[0];
    assert_eq!(
        (rival.detector.as_str(), rival.language.as_str()),
        ("node", "node")
    );
    assert!(
        rival
            .evidence
            .iter()
            .any(|e| e.path == "package.json" && e.detector == "node")
    );
    assert!(
        s.confidence < 0.95,
        "a rival lowers the confidence: {}",
        s.confidence
    );
    let rec = t
        .recommendations
        .iter()
        .find(|r| r.code == "two-stacks")
        .expect("a two-stacks recommendation");
    assert!(rec.message.contains("by node"), "{}", rec.message);
}

#[test]
fn the_builder_loads_plugins_from_a_path_and_from_bytes() {
    let bytes = std::fs::read(plugin("jekyll")).unwrap();
    let kyozo = kyozo::Kyozo::builder()
        .plugin_host(host())
        .detector_plugin(plugin("hugo"))
        .detector_plugin(PluginSource::bytes("jekyll.wasm", bytes))
        .build()
        .unwrap();
    let ids: Vec<&str> = kyozo.engine().detectors().iter().map(|d| d.id()).collect();
    assert!(
        ids.contains(&"plugin:hugo") && ids.contains(&"plugin:jekyll"),
        "{ids:?}"
    );
    let t = kyozo.engine().analyze(fixture("jekyll", "blog")).unwrap();
    let s = &t.services[0];
    assert_eq!(s.framework.as_deref(), Some("jekyll"));
    assert!(
        s.detectors.contains(&"plugin:jekyll".to_string()),
        "{:?}",
        s.detectors
    );

    let missing = kyozo::Kyozo::builder()
        .plugin_host(host())
        .detector_plugin("/nonexistent/plugin.wasm")
        .build()
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("cannot read plugin /nonexistent/plugin.wasm"),
        "{missing}"
    );
}

#[test]
fn a_compiled_plugin_is_cached_and_a_damaged_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let mut config = PluginConfig::default();
    config.cache_dir = Some(cache.path().to_path_buf());
    let host = PluginHost::new(config).unwrap();
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .collect()
    };
    host.load(plugin("hugo")).unwrap();
    let first = entries();
    assert_eq!(first.len(), 1, "one entry after the first load");
    let written = std::fs::metadata(&first[0]).unwrap().modified().unwrap();
    host.load(plugin("hugo")).unwrap();
    assert_eq!(entries(), first, "the second load uses the same entry");
    assert_eq!(
        std::fs::metadata(&first[0]).unwrap().modified().unwrap(),
        written
    );

    // A damaged entry (a flipped byte) fails its checksum: it is dropped and rebuilt,
    // and the plugin still works.
    let mut data = std::fs::read(&first[0]).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&first[0], &data).unwrap();
    let hugo = host.load(plugin("hugo")).unwrap();
    let run = hugo
        .run(&ProjectView::scan(fixture("hugo", "basic")).unwrap())
        .unwrap();
    assert_eq!(run.detections.len(), 1);
    assert_ne!(
        std::fs::read(&first[0]).unwrap(),
        data,
        "the damaged entry was replaced"
    );
    // A different component gets its own entry.
    host.load(plugin("jekyll")).unwrap();
    assert_eq!(entries().len(), 2);
}

/// A manifest the plugin cannot parse is logged and skipped: the site is still found.
#[test]
fn hugo_logs_a_malformed_netlify_toml_and_still_finds_the_site() {
    let hugo = host().load(plugin("hugo")).unwrap();
    let run = hugo
        .run(&ProjectView::scan(fixture("hugo", "broken-netlify")).unwrap())
        .unwrap();
    assert_eq!(run.detections.len(), 1);
    assert_eq!(run.detections[0].hints.runtime_version, None);
    assert_eq!(run.log.len(), 1, "{:?}", run.log);
    assert!(
        run.log[0].starts_with("netlify.toml: cannot parse:"),
        "{:?}",
        run.log
    );
}

/// Compiled code is only loaded from a folder only this user can write: a cache folder
/// open to others is made private, and one that is a link is not used.
#[test]
fn the_cache_folder_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let outer = tempfile::tempdir().unwrap();
    let open = outer.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut config = PluginConfig::default();
    config.cache_dir = Some(open.clone());
    PluginHost::new(config)
        .unwrap()
        .load(plugin("hugo"))
        .unwrap();
    let mode = std::fs::metadata(&open).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        std::fs::read_dir(&open).unwrap().count(),
        1,
        "the entry was written"
    );

    let link = outer.path().join("link");
    std::os::unix::fs::symlink(&open, &link).unwrap();
    let mut config = PluginConfig::default();
    config.cache_dir = Some(link);
    let hugo = PluginHost::new(config)
        .unwrap()
        .load(plugin("jekyll"))
        .unwrap();
    assert_eq!(
        hugo.metadata().id,
        "jekyll",
        "a plugin still loads, compiled afresh"
    );
    assert_eq!(
        std::fs::read_dir(&open).unwrap().count(),
        1,
        "nothing written through the link"
    );
}
