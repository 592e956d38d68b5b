//! Quoting for POSIX shell command lines: how a value from a folder (a file name, a
//! package name) becomes one word of a command Kyozo composes, whatever it holds.

/// `word` as one POSIX shell word: as it is when it holds only characters no shell
/// treats specially (`apps/web`, `requirements/prod.txt`), else in single quotes (with
/// `'` written `'\''`). The shell then passes it on unchanged: no expansion of `$`,
/// backquotes or globs, no splitting. A newline stays a newline inside the quotes;
/// where the command lands in a file that cannot hold one (a Dockerfile line), that
/// file's own escaping refuses it.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::shell_quote;

    #[test]
    fn plain_words_stay_and_others_are_single_quoted() {
        assert_eq!(shell_quote("apps/web"), "apps/web");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("my app"), "'my app'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("a\\"), "'a\\'");
        assert_eq!(shell_quote("$(id)`x`"), "'$(id)`x`'");
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Two quoted words on a command line reach the program as exactly those two
        /// arguments, byte for byte, whatever they hold (quotes, `$`, backquotes,
        /// backslashes, globs, newlines, spaces; not NUL, which no argument can hold),
        /// as the POSIX shell parses them.
        #[test]
        fn a_quoted_word_reaches_the_program_unchanged(
            a in "[^\\x00]{0,24}",
            b in prop_oneof!["[ -~\n\t]{0,24}", "[$`'\"\\*?~ ]{0,12}"],
        ) {
            let line = format!("printf '[%s]' {} {}", shell_quote(&a), shell_quote(&b));
            let out = std::process::Command::new("sh").arg("-c").arg(&line).output().unwrap();
            prop_assert!(out.status.success(), "{line}");
            prop_assert_eq!(String::from_utf8_lossy(&out.stdout).into_owned(), format!("[{a}][{b}]"));
        }
    }
}
