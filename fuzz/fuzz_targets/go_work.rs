//! Fuzzes the go.work parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kyozo::topology::manifest::go_mod::parse_work(text);
    }
});
