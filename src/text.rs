//! Text from outside (a folder, a plugin, a container, the engine) made safe to print on
//! a terminal.
//!
//! A service name, a start command, a plugin's evidence or a container's log line is
//! written by someone else. Printed raw, its control characters drive the terminal:
//! ANSI escapes recolour or erase what Kyozo printed, OSC 52 writes the clipboard, a
//! `\r` or a `\n` forges a line that looks like Kyozo's own. Every such string goes
//! through one of the two functions here before it reaches a terminal:
//!
//! - [`terminal_safe`], for one value on one line (a name, a command, a path, a
//!   warning): every control character is shown escaped, `\n`, `\r` and `\t` included,
//!   and a backslash is doubled, so two different values never print the same;
//! - [`terminal_safe_text`], for text that has lines of its own (a container's output,
//!   the tail of a build, a multi-line error): `\n` and `\t` are kept (they only move
//!   the cursor forward), every other control character is shown escaped, and
//!   backslashes are left as written (program output is full of them).
//!
//! An escaped character is written as in Rust: `\n`, `\r`, `\t`, or `\u{1b}` (its code
//! point in hex). Escaped are the C0 controls (U+0000..U+001F), DEL (U+007F), the C1
//! controls (U+0080..U+009F), the line and paragraph separators (U+2028, U+2029) and the
//! bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069),
//! which reorder what a line appears to say. Everything else, any script and emoji
//! included, is printed as it is.
//!
//! JSON output does not need this: a JSON encoder escapes control characters itself,
//! and keeps the value as it was.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

fn escape(s: &str, keep: impl Fn(char) -> bool, backslash: bool) -> Cow<'_, str> {
    let needs = |c: char| (is_unsafe(c) && !keep(c)) || (backslash && c == '\\');
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs(c) {
            out.push(c);
            continue;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// One value, safe to print on one line of a terminal: every control character shown
/// escaped (`\n`, `\r`, `\t`, `\u{1b}`...) and every backslash doubled, so the result
/// holds no control character and two different values never print the same.
///
/// ```
/// use kyozo::text::terminal_safe;
///
/// assert_eq!(terminal_safe("web"), "web");
/// assert_eq!(terminal_safe("web\x1b[2J"), "web\\u{1b}[2J");
/// assert_eq!(terminal_safe("a\nb\\c"), "a\\nb\\\\c");
/// ```
#[must_use]
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    escape(s, |_| false, true)
}

/// Text with lines of its own (a container's output, a build's last lines, a
/// multi-line message), safe to print on a terminal: `\n` and `\t` kept, every other
/// control character shown escaped (`\r`, `\u{1b}`...), backslashes left as written.
///
/// ```
/// use kyozo::text::terminal_safe_text;
///
/// assert_eq!(terminal_safe_text("ok\tdone\n"), "ok\tdone\n");
/// assert_eq!(
///     terminal_safe_text("\x1b]52;c;aGk=\x07 C:\\x"),
///     "\\u{1b}]52;c;aGk=\\u{7} C:\\x"
/// );
/// ```
#[must_use]
pub fn terminal_safe_text(s: &str) -> Cow<'_, str> {
    escape(s, |c| c == '\n' || c == '\t', false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_and_bidi_controls_are_escaped() {
        assert_eq!(terminal_safe("a\u{9b}2Jb"), "a\\u{9b}2Jb");
        assert_eq!(terminal_safe("\u{202e}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(terminal_safe("\u{7f}"), "\\u{7f}");
        assert_eq!(terminal_safe_text("a\r\n"), "a\\r\n");
    }
}
