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
        let n = self.byte() % 8;
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
}
