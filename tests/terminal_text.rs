//! The terminal sanitizer (`kyozo::text`), for arbitrary strings: what it writes holds
//! no control character (C0, DEL, C1) but the ones it keeps on purpose, and two
//! different values never print the same.

#![allow(clippy::unwrap_used)]

use kyozo::text::{terminal_safe, terminal_safe_text};
use proptest::prelude::*;

/// Reverses `terminal_safe`: if it is injective, this gives the input back.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().unwrap() {
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                assert_eq!(chars.next(), Some('{'));
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            other => panic!("unknown escape \\{other} in {s:?}"),
        }
    }
    out
}

fn c0_del_c1(c: char) -> bool {
    (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32))
}

/// Strings rich in what matters here: controls, escapes, backslashes, bidi.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\x1b[31m".to_string()),
        Just("\x1b]52;c;aGVsbG8=\x07".to_string()),
        Just("\r".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just("\\".to_string()),
        Just("\\u{1b}".to_string()),
        Just("\u{9b}".to_string()),
        Just("\u{202e}".to_string()),
        any::<char>().prop_map(String::from),
        "[a-z ]{0,4}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_value_prints_no_control_character_and_stays_distinct(s in hostile(), t in any::<String>()) {
        for input in [&s, &t] {
            let out = terminal_safe(input);
            prop_assert!(!out.chars().any(c0_del_c1), "{out:?}");
            prop_assert!(!out.contains('\u{202e}') && !out.contains('\u{2028}'), "{out:?}");
            // Injective: the input comes back, so different inputs print differently.
            prop_assert_eq!(&unescape(&out), input);
        }
        if s != t {
            prop_assert_ne!(terminal_safe(&s), terminal_safe(&t));
        }
    }

    #[test]
    fn text_keeps_only_its_line_breaks_and_tabs(s in hostile(), t in any::<String>()) {
        for input in [&s, &t] {
            let out = terminal_safe_text(input);
            prop_assert!(
                !out.chars().any(|c| c0_del_c1(c) && c != '\n' && c != '\t'),
                "{out:?}"
            );
            prop_assert_eq!(out.matches('\n').count(), input.matches('\n').count());
            prop_assert!(!out.contains('\x1b') && !out.contains('\r'));
        }
    }
}

#[test]
fn plain_text_is_borrowed_as_it_is() {
    for s in ["web", "npm run start -- --port 3000", "café ☕ 日本", ""] {
        assert!(matches!(terminal_safe(s), std::borrow::Cow::Borrowed(_)));
        assert_eq!(terminal_safe(s), s);
        assert_eq!(terminal_safe_text(s), s);
    }
}
