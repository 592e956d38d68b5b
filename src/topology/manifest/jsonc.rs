//! JSON with comments (JSONC): `deno.json(c)`, `tsconfig.json`, `turbo.json`, .NET's
//! `appsettings.json` and `global.json`. Every reader of such a file goes through
//! [`parse`]; the parsing itself is the `jsonc-parser` crate's.

use serde_json::Value;

use super::ManifestError;

/// Parses JSON that may hold `//` and `/* */` comments and trailing commas (what Deno,
/// TypeScript and .NET accept), and a leading byte order mark. Nothing looser: single
/// quotes, unquoted keys and the other JSON5 forms are errors, as they are for those
/// tools. An empty file (or one holding only comments) is an error too.
pub fn parse(text: &str) -> Result<Value, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let collect = jsonc_parser::CollectOptions::default();
    match jsonc_parser::parse_to_ast(text, &collect, &options) {
        Ok(parsed) => parsed
            .value
            .map(Value::from)
            .ok_or_else(|| ManifestError::new("no JSON value in the file")),
        Err(e) => Err(ManifestError::new(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn comments_trailing_commas_and_strings_holding_comment_marks() {
        let text = "\u{feff}{\n  // a comment\n  \"a\": \"http://x//y\", /* block\n */ \"b\": [1, 2,],\n  \"c\": \"/* kept */\", \"d\": \",]\",\n}\n";
        let v = parse(text).unwrap();
        assert_eq!(v["a"], "http://x//y");
        assert_eq!(v["b"], serde_json::json!([1, 2]));
        assert_eq!(v["c"], "/* kept */");
        assert_eq!(v["d"], ",]");
    }

    #[test]
    fn malformed_files_are_errors() {
        for text in [
            "",
            "  // only a comment\n",
            "{\"a\": ",
            "{\"a /* ",
            "/* never closed",
            "\"\\",
            "{'a': 1}",
            "{a: 1}",
            "{\"a\": 1} {\"b\": 2}",
            "{\"a\": 1 \"b\": 2}",
            &"[".repeat(10_000),
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_json_like(text in "[{}\\[\\]\",:/*\\\\ a-z0-9\n]{0,80}") {
            let _ = parse(&text);
        }
    }
}
