//! Glob matching for an in-memory [`Project`](crate::Project), with the host's rules:
//! `*` and `?` never cross `/`, `**` as a whole path component crosses any number of
//! folders, `[a-z]`/`[!a]` classes, `{a,b}` alternation and `\` escapes.

/// The most patterns one glob's `{a,b}` alternations may expand to.
const MAX_ALTERNATIVES: usize = 256;

/// A compiled glob.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    alternatives: Vec<Vec<char>>,
}

impl Glob {
    /// `glob` compiled, or why it is invalid (an unclosed `[` or `{`, a trailing `\`,
    /// too many alternatives).
    pub(crate) fn new(glob: &str) -> Result<Self, String> {
        let mut alternatives = Vec::new();
        expand(glob, &mut alternatives)?;
        for alt in &alternatives {
            check(alt).map_err(|e| format!("invalid glob {glob:?}: {e}"))?;
        }
        Ok(Self {
            alternatives: alternatives
                .into_iter()
                .map(|a| a.chars().collect())
                .collect(),
        })
    }

    /// Whether `path` (`/`-separated, relative) matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let path: Vec<char> = path.chars().collect();
        self.alternatives
            .iter()
            .any(|p| matches_from(p, &path, true))
    }
}

/// The patterns `glob`'s first top-level `{...}` stands for, expanded recursively.
fn expand(glob: &str, out: &mut Vec<String>) -> Result<(), String> {
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    let mut open = None;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                open = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let Some(open) = open else {
        if out.len() >= MAX_ALTERNATIVES {
            return Err(format!(
                "glob {glob:?} expands to more than {MAX_ALTERNATIVES} patterns"
            ));
        }
        out.push(glob.to_string());
        return Ok(());
    };
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut start = open + 1;
    let mut close = None;
    let mut j = open;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(start..j);
                    close = Some(j);
                    break;
                }
            }
            ',' if depth == 1 => {
                parts.push(start..j);
                start = j + 1;
            }
            _ => {}
        }
        j += 1;
    }
    let Some(close) = close else {
        return Err(format!("invalid glob {glob:?}: unclosed '{{'"));
    };
    let head: String = chars[..open].iter().collect();
    let tail: String = chars[close + 1..].iter().collect();
    for part in parts {
        let middle: String = chars[part].iter().collect();
        expand(&format!("{head}{middle}{tail}"), out)?;
    }
    Ok(())
}

/// Checks that every class is closed and no `\` ends the pattern.
fn check(pattern: &str) -> Result<(), String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 == chars.len() => return Err("a trailing '\\'".into()),
            '\\' => i += 1,
            '[' => match class(&chars[i..], 'x') {
                Some((_, len)) => i += len - 1,
                None => return Err("unclosed '['".into()),
            },
            '}' => return Err("unopened '}'".into()),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Whether `c` is in the class at the start of `p` (`[...]`), and the class's length;
/// `None` for an unclosed class.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(p.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let x = *p.get(i)?;
        if x == ']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|e| *e != ']') {
            let end = *p.get(i + 2)?;
            found |= x <= c && c <= end;
            i += 3;
        } else {
            found |= x == c;
            i += 1;
        }
    }
}

/// Whether `s` matches `p`; `start` says `p` begins a path component.
fn matches_from(p: &[char], s: &[char], start: bool) -> bool {
    let Some(&first) = p.first() else {
        return s.is_empty();
    };
    match first {
        '*' if start && p.get(1) == Some(&'*') && matches!(p.get(2), None | Some('/')) => {
            let Some(rest) = p.get(3..) else {
                // A final `**`: everything below.
                return true;
            };
            // `**/`: zero or more whole folders.
            (0..=s.len())
                .filter(|&i| i == 0 || s[i - 1] == '/')
                .any(|i| matches_from(rest, &s[i..], true))
        }
        '*' => {
            let rest = &p[1..];
            (0..=s.len())
                .take_while(|&i| i == 0 || s[i - 1] != '/')
                .any(|i| matches_from(rest, &s[i..], false))
        }
        '?' => s
            .first()
            .is_some_and(|c| *c != '/' && matches_from(&p[1..], &s[1..], false)),
        '[' => match (s.first(), class(p, s.first().copied().unwrap_or('/'))) {
            (Some(c), Some((true, len))) if *c != '/' => matches_from(&p[len..], &s[1..], false),
            _ => false,
        },
        '\\' => match (p.get(1), s.first()) {
            (Some(a), Some(b)) if a == b => matches_from(&p[2..], &s[1..], false),
            _ => false,
        },
        c => s
            .first()
            .is_some_and(|x| *x == c && matches_from(&p[1..], &s[1..], c == '/')),
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(glob: &str, path: &str) -> bool {
        Glob::new(glob).map(|g| g.matches(path)).unwrap_or(false)
    }

    #[test]
    fn globs_match_as_the_host_matches_them() {
        for (glob, path, want) in [
            ("**/hugo.toml", "hugo.toml", true),
            ("**/hugo.toml", "site/deep/hugo.toml", true),
            ("**/hugo.toml", "xhugo.toml", false),
            ("**/hugo.{toml,yaml}", "a/hugo.yaml", true),
            ("**/hugo.{toml,yaml}", "a/hugo.json", false),
            ("*.toml", "a.toml", true),
            ("*.toml", "d/a.toml", false),
            ("site/**", "site/a/b.md", true),
            ("site/**", "sites/a.md", false),
            ("a/**/b.md", "a/b.md", true),
            ("a/**/b.md", "a/x/y/b.md", true),
            (
                "config/_default/*.{toml,yml}",
                "config/_default/hugo.yml",
                true,
            ),
            ("?.md", "a.md", true),
            ("?.md", "ab.md", false),
            ("[a-c].md", "b.md", true),
            ("[!a-c].md", "b.md", false),
            ("\\*.md", "*.md", true),
            ("\\*.md", "a.md", false),
            ("{a,b/{c,d}}.md", "b/d.md", true),
        ] {
            assert_eq!(m(glob, path), want, "{glob} against {path}");
        }
    }

    #[test]
    fn malformed_globs_are_errors_not_panics() {
        for glob in ["[", "a{b", "a}", "x\\", "[!"] {
            assert!(Glob::new(glob).is_err(), "{glob}");
        }
        let many = "{a,b}".repeat(9);
        assert!(Glob::new(&many).is_err());
    }
}
