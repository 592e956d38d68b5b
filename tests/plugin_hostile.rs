//! Hostile plugins: each misbehaviour ends in its own typed error within its limit, and
//! the host keeps serving other plugins (and the same plugin) afterwards.
//!
//! The hostile plugin (`detectors/testing/hostile`) reads what to do from the project's
//! `hostile.txt`, so one component serves every test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/files.rs"]
mod files;
use files::copy_dir;

#[path = "common/plugins.rs"]
mod plugins;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kyozo::topology::wasm::{PluginError, PluginRun, PluginSource, WasmDetector};
use kyozo::topology::{ProjectView, TopologyEngine};
use plugins::{detectors, host, plugin, test_limits};

fn hostile() -> WasmDetector {
    host().load(plugin("hostile")).unwrap()
}

/// A project whose `hostile.txt` says `mode`.
fn project(mode: &str) -> (tempfile::TempDir, ProjectView) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.txt"), mode).unwrap();
    let view = ProjectView::scan(dir.path()).unwrap();
    (dir, view)
}

fn run(mode: &str) -> Result<PluginRun, PluginError> {
    let (_dir, view) = project(mode);
    hostile().run(&view)
}

/// After a misbehaviour: the Hugo plugin and the hostile plugin asked to behave both
/// work on the same host.
fn host_still_serves() {
    let hugo = host().load(plugin("hugo")).unwrap();
    let site = ProjectView::scan(detectors().join("hugo/fixtures/basic")).unwrap();
    assert_eq!(hugo.run(&site).unwrap().detections.len(), 1);
    let ok = run("ok").unwrap();
    assert_eq!(ok.detections.len(), 1);
    assert_eq!(ok.detections[0].detector, "plugin:hostile");
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline() {
    let started = Instant::now();
    let err = run("loop").unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        err,
        PluginError::Deadline {
            plugin: "hostile".into(),
            limit_ms: 1500
        }
    );
    // Stopped at its deadline, not long after (a generous margin for a loaded machine).
    assert!(
        took >= test_limits().deadline && took < Duration::from_secs(10),
        "{took:?}"
    );
    host_still_serves();
}

#[test]
fn unbounded_memory_growth_is_stopped_by_the_cap() {
    let err = run("memory").unwrap_err();
    assert_eq!(
        err,
        PluginError::Memory {
            plugin: "hostile".into(),
            limit: 64 << 20
        }
    );
    host_still_serves();
}

/// `sleep` would wait in host code, where the deadline cannot reach: plugins get no
/// clock to wait on, and the call is stopped at once.
#[test]
fn sleeping_is_refused_at_once() {
    // The plugin loaded and the project scanned first: the clock times the call alone.
    let (_dir, view) = project("sleep");
    let plugin = hostile();
    let started = Instant::now();
    let err = plugin.run(&view).unwrap_err();
    assert!(
        started.elapsed() < test_limits().deadline,
        "stopped before the deadline"
    );
    let PluginError::Trap { message, .. } = &err else {
        panic!("expected a trap, got {err:?}");
    };
    assert!(
        message.contains("waiting on a clock is not granted"),
        "{message}"
    );
    host_still_serves();
}

#[test]
fn a_panic_is_a_trap_with_the_panic_message() {
    let err = run("panic").unwrap_err();
    let PluginError::Trap { plugin, message } = &err else {
        panic!("expected a trap, got {err:?}");
    };
    assert_eq!(plugin, "hostile");
    assert!(message.contains("panics on purpose"), "{message}");
    host_still_serves();
}

#[test]
fn an_error_returned_by_the_plugin_is_a_failure() {
    let err = run("error").unwrap_err();
    assert_eq!(
        err,
        PluginError::Failed {
            plugin: "hostile".into(),
            message: "the hostile plugin fails on purpose".into()
        }
    );
    host_still_serves();
}

/// `..`, absolute paths, links out of the root, and WASI's own file system, environment
/// and network: nothing outside the project is reachable.
#[test]
fn path_escapes_and_wasi_find_nothing_outside_the_project() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("project");
    let secret_dir = outer.path().join("secret");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(outer.path().join("outside.txt"), "TOP SECRET outside").unwrap();
    std::fs::write(
        secret_dir.join("secret.txt"),
        "TOP SECRET in a linked folder",
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret_dir, root.join("link")).unwrap();
    std::os::unix::fs::symlink(outer.path().join("outside.txt"), root.join("outlink")).unwrap();
    std::fs::write(root.join("hostile.txt"), "escape").unwrap();
    let view = ProjectView::scan(&root).unwrap();

    let run = hostile().run(&view).unwrap();
    let d = &run.detections[0];
    // Each attempt is a piece of evidence of hostile.txt: "path → answer".
    let answer = |path: &str| {
        let prefix = format!("{path} → ");
        d.evidence
            .iter()
            .find_map(|e| e.reason.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no answer for {path}: {:#?}", d.evidence))
            .to_string()
    };
    for path in [
        "../outside.txt",
        "/etc/passwd",
        "link/secret.txt",
        "./../outside.txt",
        "sub/../../outside.txt",
        "outlink",
    ] {
        assert_eq!(answer(path), "refused: ReadError::NotFound", "{path}");
    }
    for glob in ["../*", "/etc/*", "link/**", "**/secret.txt"] {
        assert_eq!(answer(glob), "listed []", "{glob}");
    }
    assert!(
        answer("wasi:filesystem").starts_with("Err("),
        "{}",
        answer("wasi:filesystem")
    );
    assert_eq!(answer("wasi:environment"), "[]");
    assert!(
        answer("wasi:sockets").starts_with("Err("),
        "{}",
        answer("wasi:sockets")
    );
    for e in &d.evidence {
        assert!(!e.reason.contains("TOP SECRET"), "leaked: {e:?}");
    }
    host_still_serves();
}

#[test]
fn a_flood_of_reads_is_refused_then_stopped() {
    let err = run("read-flood").unwrap_err();
    assert_eq!(
        err,
        PluginError::Budget {
            plugin: "hostile".into(),
            budget: "1024 file reads".into()
        }
    );
    host_still_serves();
}

#[test]
fn a_flood_of_listings_is_refused_then_stopped() {
    let err = run("list-flood").unwrap_err();
    assert_eq!(
        err,
        PluginError::Budget {
            plugin: "hostile".into(),
            budget: "256 file listings".into()
        }
    );
    host_still_serves();
}

#[test]
fn a_flood_of_log_lines_is_capped() {
    let run = run("log-flood").unwrap();
    assert_eq!(run.detections.len(), 1);
    assert_eq!(
        run.log.len(),
        101,
        "100 lines and a count of the dropped ones"
    );
    assert!(run.log[0].len() <= 1024 + '…'.len_utf8());
    assert_eq!(run.log[100], "(4900 more lines dropped)");
    host_still_serves();
}

#[test]
fn stdout_and_stderr_are_captured_into_the_log() {
    let run = run("stdout").unwrap();
    assert_eq!(
        run.log,
        vec![
            "stdout: hello from the plugin's stdout".to_string(),
            "stderr: hello from the plugin's stderr".to_string()
        ]
    );
}

#[test]
fn a_nan_confidence_is_an_invalid_result() {
    let err = run("nan").unwrap_err();
    assert!(
        matches!(&err, PluginError::InvalidResult { reason, .. } if reason.contains("confidence NaN")),
        "{err:?}"
    );
    host_still_serves();
}

#[test]
fn a_confidence_above_one_is_an_invalid_result() {
    let err = run("over").unwrap_err();
    assert!(
        matches!(&err, PluginError::InvalidResult { reason, .. } if reason.contains("confidence 1.5")),
        "{err:?}"
    );
    host_still_serves();
}

#[test]
fn a_path_out_of_the_project_is_an_invalid_result() {
    let err = run("outside").unwrap_err();
    assert!(
        matches!(&err, PluginError::InvalidResult { reason, .. } if reason.contains("../elsewhere")),
        "{err:?}"
    );
    host_still_serves();
}

#[test]
fn a_ten_megabyte_string_is_an_oversized_result() {
    let err = run("huge-string").unwrap_err();
    assert!(
        matches!(&err, PluginError::OversizedResult { reason, .. } if reason.contains("language is 10485760 bytes")),
        "{err:?}"
    );
    assert!(
        err.to_string().len() < 300,
        "the error does not carry the string"
    );
    host_still_serves();
}

#[test]
fn a_hundred_thousand_detections_are_an_oversized_result() {
    let err = run("many").unwrap_err();
    assert!(
        matches!(&err, PluginError::OversizedResult { reason, .. } if reason.contains("100000 detections")),
        "{err:?}"
    );
    host_still_serves();
}

#[test]
fn a_hundred_thousand_empty_evidence_entries_are_an_oversized_result() {
    let err = run("many-evidence").unwrap_err();
    assert!(
        matches!(&err, PluginError::OversizedResult { reason, .. } if reason.contains("100000 evidence entries")),
        "{err:?}"
    );
    host_still_serves();
}

#[test]
fn a_corrupted_component_is_refused_at_load() {
    let good = std::fs::read(plugin("hugo")).unwrap();
    let truncated = good[..good.len() / 2].to_vec();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut flipped = good.clone();
    // The first core module's code: past the component header and type sections.
    for b in &mut flipped[good.len() / 3..good.len() / 3 + 64] {
        *b ^= 0x5a;
    }
    for (name, bytes) in [
        ("truncated", truncated),
        ("garbage", garbage),
        ("flipped", flipped),
        ("empty", Vec::new()),
    ] {
        let err = host().load(PluginSource::bytes(name, bytes)).unwrap_err();
        assert!(
            matches!(err, PluginError::Invalid { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains(name), "{err}");
    }
    // A core module is not a component.
    let module = b"\0asm\x01\0\0\0".to_vec();
    let err = host()
        .load(PluginSource::bytes("module", module))
        .unwrap_err();
    assert!(matches!(err, PluginError::NotADetector { .. }), "{err:?}");
    host_still_serves();
}

/// The same component with every `0.1.0` rewritten `9.9.0` (its custom section and its
/// `kyozo:detector/...@0.1.0` import names alike): a plugin of an interface version
/// this host does not know. It is refused before anything is compiled.
#[test]
fn a_component_of_an_unsupported_interface_version_is_refused() {
    let bytes = std::fs::read(plugin("hostile")).unwrap();
    let needle = b"0.1.0";
    let mut patched = bytes.clone();
    let mut i = 0;
    let mut count = 0;
    while i + needle.len() <= patched.len() {
        if &patched[i..i + needle.len()] == needle {
            patched[i..i + needle.len()].copy_from_slice(b"9.9.0");
            count += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    assert!(
        count >= 2,
        "the version appears in the section and the imports"
    );
    let err = host()
        .load(PluginSource::bytes("future.wasm", patched))
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::UnsupportedInterface {
            plugin: "future.wasm".into(),
            found: "9.9.0".into(),
            supported: "0.1.0".into()
        }
    );
    assert!(err.to_string().contains("rebuild the plugin"), "{err}");
    host_still_serves();
}

/// While one call spins until its deadline, other calls of other plugins go on.
#[test]
fn a_runaway_call_does_not_hold_up_other_calls() {
    let (_dir, view) = project("loop");
    let spinner = std::thread::spawn(move || hostile().run(&view));
    let hugo = host().load(plugin("hugo")).unwrap();
    let site = ProjectView::scan(detectors().join("hugo/fixtures/basic")).unwrap();
    for _ in 0..20 {
        assert_eq!(hugo.run(&site).unwrap().detections.len(), 1);
    }
    assert!(matches!(
        spinner.join().unwrap(),
        Err(PluginError::Deadline { .. })
    ));
}

/// In an analysis, a failing plugin is a partial error of the view; the built-ins'
/// findings are all there.
#[test]
fn in_an_analysis_a_failing_plugin_becomes_a_warning() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/polyglot");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root, dir.path());
    std::fs::write(dir.path().join("hostile.txt"), "panic").unwrap();
    let plain = TopologyEngine::new().analyze(dir.path()).unwrap();
    let with_plugin = TopologyEngine::new()
        .with_detector(Arc::new(hostile()))
        .analyze(dir.path())
        .unwrap();
    assert_eq!(plain.services, with_plugin.services);
    assert!(
        with_plugin
            .warnings
            .iter()
            .any(|w| w.contains("plugin:hostile") && w.contains("panics on purpose")),
        "{:#?}",
        with_plugin.warnings
    );
}
