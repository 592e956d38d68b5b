//! The plugin result decoder, callable on arbitrary bytes for `fuzz/` (target
//! `plugin_result`): the bytes are read as the detections a plugin returns, then
//! checked exactly as a real call's are. Not part of the public API.

use std::collections::BTreeSet;

use super::v0_1_0::kyozo::detector::types;
use super::{PluginError, PluginLimits, call};
use crate::topology::Detection;

/// Reads values out of fuzzer bytes; past the end every read gives zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn string(&mut self) -> String {
        let len = usize::from(self.byte());
        // 255: a long string (the next byte, 300 to 1000 times), past the host's caps.
        if len == 255 {
            let c = char::from(self.byte() % 94 + 33);
            let n = 300 + usize::from(self.byte()) * 3;
            return std::iter::repeat_n(c, n).collect();
        }
        let take = len.min(self.0.len());
        let (s, rest) = self.0.split_at(take);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }

    fn f64(&mut self) -> f64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        f64::from_le_bytes(b)
    }

    fn sourced(&mut self) -> Option<types::Sourced> {
        (self.byte() % 2 == 1).then(|| types::Sourced {
            value: self.string(),
            source: self.string(),
        })
    }

    fn list<T>(&mut self, mut f: impl FnMut(&mut Self) -> T) -> Vec<T> {
        // Up to 47 entries: past the caps on rival claims (16) and evidence (32).
        let n = self.byte() % 48;
        (0..n).map(|_| f(self)).collect()
    }
}

/// Decodes `data` as a plugin's result and checks it as the host checks a real
/// call's, the plugin having been handed `handed`: the detections the engine would
/// merge, or the typed error. Never panics.
pub fn check_plugin_result(data: &[u8], handed: &[&str]) -> Result<Vec<Detection>, PluginError> {
    let mut b = Bytes(data);
    let raw: Vec<types::Detection> = b.list(|b| types::Detection {
        path: b.string(),
        kind: match b.byte() % 3 {
            0 => types::DetectionKind::Service,
            1 => types::DetectionKind::Library,
            _ => types::DetectionKind::WorkspaceRoot,
        },
        language: b.string(),
        confidence: b.f64(),
        framework: b.sourced(),
        package_manager: b.sourced(),
        runtime_version: b.sourced(),
        install_command: b.sourced(),
        build_command: b.sourced(),
        start_command: b.sourced(),
        ports: b.list(|b| types::Port {
            port: u16::from_le_bytes([b.byte(), b.byte()]),
            source: b.string(),
        }),
        env: b.list(|b| types::Sourced {
            value: b.string(),
            source: b.string(),
        }),
        backing_services: b.list(|b| types::Sourced {
            value: b.string(),
            source: b.string(),
        }),
        evidence: b.list(|b| types::Evidence {
            path: b.string(),
            reason: b.string(),
        }),
    });
    let handed: BTreeSet<String> = handed.iter().map(|h| (*h).to_string()).collect();
    call::check_detections(
        "fuzz",
        "plugin:fuzz",
        raw,
        &PluginLimits::default(),
        &handed,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn short_and_empty_inputs_decode_without_panicking() {
        assert_eq!(check_plugin_result(&[], &[]), Ok(Vec::new()));
        // One detection at the root, language "x", confidence 0.0, evidence of a file
        // it was not handed: refused.
        let mut data = vec![1, 0, 0, 1, b'x'];
        data.extend_from_slice(&0.5f64.to_le_bytes());
        data.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, b'f', 0]);
        let err = check_plugin_result(&data, &[]).unwrap_err();
        assert_eq!(err.kind(), "invalid-result", "{err}");
        let ok = check_plugin_result(&data, &["f"]).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].evidence[0].path, "f");
        for n in 0..data.len() {
            let _ = check_plugin_result(&data[..n], &["f"]);
        }
    }

    /// A small Node project with a static site in `web/`, scanned once.
    fn project() -> &'static crate::topology::ProjectView {
        static PROJECT: std::sync::OnceLock<(tempfile::TempDir, crate::topology::ProjectView)> =
            std::sync::OnceLock::new();
        &PROJECT
            .get_or_init(|| {
                let dir = tempfile::tempdir().unwrap();
                std::fs::create_dir_all(dir.path().join("web")).unwrap();
                std::fs::write(
                    dir.path().join("package.json"),
                    r#"{"name":"app","main":"a.js","scripts":{"start":"node a.js"}}"#,
                )
                .unwrap();
                std::fs::write(dir.path().join("web/index.html"), "<h1>hi</h1>").unwrap();
                let view = crate::topology::ProjectView::scan(dir.path()).unwrap();
                (dir, view)
            })
            .1
    }

    /// A detection as a plugin may return it: at the root or in `web`, any stack (a
    /// built-in's among them), text of any length, evidence from the files handed.
    fn detection() -> impl Strategy<Value = types::Detection> {
        let text = prop_oneof![".{0,40}", "[a-z]{300,900}"];
        let evidence = prop::collection::vec(
            (
                prop::sample::select(vec!["package.json", "web/index.html"]),
                text.clone(),
            ),
            0..40,
        );
        (
            prop::sample::select(vec!["", "web"]),
            prop_oneof![
                Just("node".to_string()),
                Just("static".to_string()),
                text.clone()
            ],
            0.0f64..=1.0,
            prop::option::of(text.clone()),
            evidence,
        )
            .prop_map(
                |(path, language, confidence, start, evidence)| types::Detection {
                    path: path.to_string(),
                    kind: types::DetectionKind::Service,
                    language,
                    confidence,
                    framework: None,
                    package_manager: None,
                    runtime_version: None,
                    install_command: None,
                    build_command: None,
                    start_command: start.map(|value| types::Sourced {
                        value,
                        source: "package.json".into(),
                    }),
                    ports: Vec::new(),
                    env: Vec::new(),
                    backing_services: Vec::new(),
                    evidence: evidence
                        .into_iter()
                        .map(|(path, reason)| types::Evidence {
                            path: path.to_string(),
                            reason,
                        })
                        .collect(),
                },
            )
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever a plugin returns, checked and merged with the built-ins' findings:
        /// no more of its rival claims, evidence or warnings than the caps, and none of
        /// its strings longer than the text cap.
        #[test]
        fn the_caps_hold_whatever_a_plugin_returns(
            raw in prop::collection::vec(detection(), 0..48)
        ) {
            use crate::topology::{
                MAX_PLUGIN_EVIDENCE, MAX_PLUGIN_RIVAL_EVIDENCE, MAX_PLUGIN_RIVALS,
                MAX_PLUGIN_TEXT, TopologyEngine, merge,
            };
            let handed: BTreeSet<String> =
                ["package.json", "web/index.html"].map(String::from).into();
            let Ok(found) =
                call::check_detections("fuzz", "plugin:fuzz", raw, &PluginLimits::default(), &handed)
            else {
                return Ok(());
            };
            let view = project();
            let mut all = TopologyEngine::new().detect(view);
            all.extend(found);
            let topology = merge(view, all);
            let within = |text: &str| text.len() <= MAX_PLUGIN_TEXT + '…'.len_utf8();
            for s in &topology.services {
                let rivals: Vec<_> =
                    s.rivals.iter().filter(|r| r.detector == "plugin:fuzz").collect();
                prop_assert!(rivals.len() <= MAX_PLUGIN_RIVALS, "{} rival claims", rivals.len());
                for r in rivals {
                    prop_assert!(within(&r.language), "{}", r.language.len());
                    prop_assert!(r.evidence.len() <= MAX_PLUGIN_RIVAL_EVIDENCE);
                    for e in &r.evidence {
                        prop_assert!(within(&e.reason), "{}", e.reason.len());
                    }
                }
                let evidence: Vec<_> =
                    s.evidence.iter().filter(|e| e.detector == "plugin:fuzz").collect();
                prop_assert!(evidence.len() <= MAX_PLUGIN_EVIDENCE, "{} evidence", evidence.len());
                for e in evidence {
                    prop_assert!(within(&e.reason), "{}", e.reason.len());
                }
            }
            let warnings: Vec<_> =
                topology.warnings.iter().filter(|w| w.contains("plugin:fuzz")).collect();
            prop_assert!(
                warnings.len() <= crate::topology::MAX_PLUGIN_WARNINGS + 1,
                "{} warnings", warnings.len()
            );
        }
    }
}
