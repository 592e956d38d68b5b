//! Fuzzes the plugin result decoder: arbitrary bytes read as the detections a plugin
//! returns, checked as the host checks a real call's, then merged with the built-in
//! detectors' findings of a small project. An error or a topology, never a panic; and
//! the topology holds no more of the plugin's rival claims than the cap, and none of
//! their strings past the text cap. (The same property runs in `cargo test` with
//! generated detections: `topology::wasm::fuzzing::tests`.)
#![no_main]

use std::sync::OnceLock;

use kyozo::topology::wasm::fuzzing::check_plugin_result;
use kyozo::topology::{MAX_PLUGIN_RIVALS, MAX_PLUGIN_TEXT, ProjectView, TopologyEngine, merge};
use libfuzzer_sys::fuzz_target;

/// A small Node project, scanned once.
fn project() -> &'static (tempfile::TempDir, ProjectView) {
    static PROJECT: OnceLock<(tempfile::TempDir, ProjectView)> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(dir.path().join("web")).expect("a folder");
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name":"app","main":"a.js"}"#,
        )
        .expect("a file");
        std::fs::write(dir.path().join("web/index.html"), "<h1>hi</h1>").expect("a file");
        let view = ProjectView::scan(dir.path()).expect("a scan");
        (dir, view)
    })
}

fuzz_target!(|data: &[u8]| {
    let (_, view) = project();
    let Ok(found) = check_plugin_result(data, &["package.json", "web/index.html"]) else {
        return;
    };
    let mut all = TopologyEngine::new().detect(view);
    all.extend(found);
    let topology = merge(view, all);
    for s in &topology.services {
        let theirs = s
            .rivals
            .iter()
            .filter(|r| r.detector == "plugin:fuzz")
            .count();
        assert!(theirs <= MAX_PLUGIN_RIVALS, "{theirs} rival claims kept");
        let within = |text: &str| text.len() <= MAX_PLUGIN_TEXT + '…'.len_utf8();
        for r in s.rivals.iter().filter(|r| r.detector == "plugin:fuzz") {
            assert!(within(&r.language), "a rival's stack of {} bytes", r.language.len());
            for e in &r.evidence {
                assert!(within(&e.reason), "a rival's evidence of {} bytes", e.reason.len());
            }
        }
    }
});
