//! Parser of Go's `go.mod` and `go.work` files: the module path, the `go` and
//! `toolchain` directives, `require` (with `// indirect`), `replace`, `exclude`, `tool`
//! and, in `go.work`, `use`.
//!
//! Both files share one line-oriented syntax: a directive and its arguments on a line,
//! or a directive followed by a parenthesised block of argument lines; `//` comments;
//! arguments may be quoted with `"` or backquotes. Unknown directives are skipped (a
//! newer Go may add some); structural errors (an unclosed block or quote, a `require`
//! without a version, a `module` without a path) are errors.

use super::ManifestError;

/// A parsed `go.mod`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoMod {
    /// The module path (`github.com/acme/shop`).
    pub module: Option<String>,
    /// The `go` directive: the language version (`1.22`, `1.22.3`).
    pub go: Option<String>,
    /// The `toolchain` directive without its `go` prefix (`go1.22.3` → `1.22.3`).
    pub toolchain: Option<String>,
    /// The `require`d modules, in file order.
    pub requires: Vec<GoRequire>,
    /// The `replace` directives, in file order.
    pub replaces: Vec<GoReplace>,
    /// The `tool` directives (Go 1.24+): package paths of tools.
    pub tools: Vec<String>,
}

/// One required module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoRequire {
    /// The module path.
    pub path: String,
    /// The version (`v1.2.3`, a pseudo-version...).
    pub version: String,
    /// Whether it carries the `// indirect` comment.
    pub indirect: bool,
}

/// One `replace` directive: `old [version] => new [version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoReplace {
    /// The replaced module path.
    pub old: String,
    /// The replaced version, when only one version is replaced.
    pub old_version: Option<String>,
    /// The replacement: a module path, or a local folder (`./lib`, `../shared`).
    pub new: String,
    /// The replacement's version (absent for a local folder).
    pub new_version: Option<String>,
}

impl GoReplace {
    /// Whether the replacement is a folder on disk rather than a module.
    pub fn is_local(&self) -> bool {
        self.new.starts_with("./") || self.new.starts_with("../") || self.new.starts_with('/')
    }
}

/// A parsed `go.work`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoWork {
    /// The `go` directive.
    pub go: Option<String>,
    /// The `toolchain` directive without its `go` prefix.
    pub toolchain: Option<String>,
    /// The `use`d module folders, relative to the `go.work` folder, as written
    /// (`./api`, `../lib`, `.`).
    pub uses: Vec<String>,
    /// The `replace` directives.
    pub replaces: Vec<GoReplace>,
}

/// One logical line: a directive and its arguments, plus the trailing comment.
#[derive(Debug)]
struct Line {
    number: usize,
    directive: String,
    args: Vec<String>,
    comment: String,
}

/// Parses a `go.mod`.
pub fn parse(text: &str) -> Result<GoMod, ManifestError> {
    let mut out = GoMod::default();
    for line in lines(text)? {
        let at = |msg: &str| ManifestError::new(format!("line {}: {msg}", line.number));
        match line.directive.as_str() {
            "module" => {
                let path = line
                    .args
                    .first()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| at("module directive without a path"))?;
                if out.module.is_some() {
                    return Err(at("repeated module directive"));
                }
                out.module = Some(path.clone());
            }
            "go" => out.go = Some(one_arg(&line, "go")?),
            "toolchain" => out.toolchain = Some(toolchain(&one_arg(&line, "toolchain")?)),
            "require" => {
                let [path, version] = line.args.as_slice() else {
                    return Err(at("require needs a module path and a version"));
                };
                out.requires.push(GoRequire {
                    path: path.clone(),
                    version: version.clone(),
                    indirect: is_indirect(&line.comment),
                });
            }
            "replace" => out.replaces.push(replace(&line)?),
            "tool" => out.tools.push(one_arg(&line, "tool")?),
            // exclude, retract, godebug, ignore and whatever a newer Go adds.
            _ => {}
        }
    }
    Ok(out)
}

/// Parses a `go.work`.
pub fn parse_work(text: &str) -> Result<GoWork, ManifestError> {
    let mut out = GoWork::default();
    for line in lines(text)? {
        match line.directive.as_str() {
            "go" => out.go = Some(one_arg(&line, "go")?),
            "toolchain" => out.toolchain = Some(toolchain(&one_arg(&line, "toolchain")?)),
            "use" => out.uses.push(one_arg(&line, "use")?),
            "replace" => out.replaces.push(replace(&line)?),
            _ => {}
        }
    }
    Ok(out)
}

fn toolchain(raw: &str) -> String {
    raw.strip_prefix("go").unwrap_or(raw).to_string()
}

fn is_indirect(comment: &str) -> bool {
    comment
        .split(';')
        .any(|part| part.trim() == "indirect" || part.trim().starts_with("indirect "))
}

fn one_arg(line: &Line, what: &str) -> Result<String, ManifestError> {
    match line.args.as_slice() {
        [one] if !one.is_empty() => Ok(one.clone()),
        _ => Err(ManifestError::new(format!(
            "line {}: {what} needs exactly one argument",
            line.number
        ))),
    }
}

fn replace(line: &Line) -> Result<GoReplace, ManifestError> {
    let err = || {
        ManifestError::new(format!(
            "line {}: replace needs `old [version] => new [version]`",
            line.number
        ))
    };
    let arrow = line.args.iter().position(|a| a == "=>").ok_or_else(err)?;
    let (left, right) = line.args.split_at(arrow);
    let right = right.get(1..).unwrap_or_default();
    let (old, old_version) = match left {
        [old] => (old.clone(), None),
        [old, v] => (old.clone(), Some(v.clone())),
        _ => return Err(err()),
    };
    let (new, new_version) = match right {
        [new] => (new.clone(), None),
        [new, v] => (new.clone(), Some(v.clone())),
        _ => return Err(err()),
    };
    Ok(GoReplace {
        old,
        old_version,
        new,
        new_version,
    })
}

/// Splits the file into logical lines, expanding `directive ( ... )` blocks into one
/// line per entry.
fn lines(text: &str) -> Result<Vec<Line>, ManifestError> {
    let mut out = Vec::new();
    let mut block: Option<(String, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let (tokens, comment) =
            tokenize(raw).map_err(|msg| ManifestError::new(format!("line {number}: {msg}")))?;
        let Some(first) = tokens.first() else {
            continue;
        };
        if let Some((directive, _)) = &block {
            if first.text == ")" && !first.quoted {
                if tokens.len() > 1 {
                    return Err(ManifestError::new(format!(
                        "line {number}: unexpected text after `)`"
                    )));
                }
                block = None;
                continue;
            }
            if tokens
                .iter()
                .any(|t| !t.quoted && (t.text == "(" || t.text == ")"))
            {
                return Err(ManifestError::new(format!(
                    "line {number}: unexpected parenthesis in a {directive} block"
                )));
            }
            out.push(Line {
                number,
                directive: directive.clone(),
                args: tokens.into_iter().map(|t| t.text).collect(),
                comment,
            });
            continue;
        }
        if first.quoted || first.text == "(" || first.text == ")" {
            return Err(ManifestError::new(format!(
                "line {number}: expected a directive, found {:?}",
                first.text
            )));
        }
        let directive = first.text.clone();
        let rest = tokens.get(1..).unwrap_or_default();
        if let [open] = rest
            && open.text == "("
            && !open.quoted
        {
            block = Some((directive, number));
            continue;
        }
        if rest
            .iter()
            .any(|t| !t.quoted && (t.text == "(" || t.text == ")"))
        {
            return Err(ManifestError::new(format!(
                "line {number}: unexpected parenthesis after {directive}"
            )));
        }
        out.push(Line {
            number,
            directive,
            args: rest.iter().map(|t| t.text.clone()).collect(),
            comment,
        });
    }
    if let Some((directive, number)) = block {
        return Err(ManifestError::new(format!(
            "line {number}: {directive} block is never closed"
        )));
    }
    Ok(out)
}

#[derive(Debug)]
struct Token {
    text: String,
    quoted: bool,
}

/// The tokens of one line and its `//` comment (trimmed).
fn tokenize(line: &str) -> Result<(Vec<Token>, String), String> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if line[i..].starts_with("//") => {
                return Ok((tokens, line[i + 2..].trim().to_string()));
            }
            '(' | ')' => tokens.push(Token {
                text: c.to_string(),
                quoted: false,
            }),
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, e)) => s.push(e),
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err("unterminated quoted string".into());
                }
                tokens.push(Token {
                    text: s,
                    quoted: true,
                });
            }
            '`' => {
                let mut s = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '`' {
                        closed = true;
                        break;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err("unterminated raw string".into());
                }
                tokens.push(Token {
                    text: s,
                    quoted: true,
                });
            }
            _ => {
                let mut s = String::from(c);
                while let Some(&(j, n)) = chars.peek() {
                    if n.is_whitespace()
                        || n == '('
                        || n == ')'
                        || n == '"'
                        || n == '`'
                        || (n == '/' && line[j..].starts_with("//"))
                    {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                tokens.push(Token {
                    text: s,
                    quoted: false,
                });
            }
        }
    }
    Ok((tokens, String::new()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn full_go_mod() {
        let text = r#"// Shop API.
module github.com/acme/shop // the module

go 1.22.1

toolchain go1.22.3

require github.com/jackc/pgx/v5 v5.5.5

require (
	github.com/gin-gonic/gin v1.9.1
	golang.org/x/sys v0.18.0 // indirect
	"github.com/quoted/mod" v1.0.0 // indirect; some note
)

exclude golang.org/x/net v0.1.0

replace (
	github.com/acme/lib => ../lib
	golang.org/x/text v0.3.0 => golang.org/x/text v0.3.8
)

retract [v1.0.0, v1.0.5]
godebug default=go1.21
tool golang.org/x/tools/cmd/stringer
"#;
        let m = parse(text).unwrap();
        assert_eq!(m.module.as_deref(), Some("github.com/acme/shop"));
        assert_eq!(m.go.as_deref(), Some("1.22.1"));
        assert_eq!(m.toolchain.as_deref(), Some("1.22.3"));
        let paths: Vec<(&str, bool)> = m
            .requires
            .iter()
            .map(|r| (r.path.as_str(), r.indirect))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("github.com/jackc/pgx/v5", false),
                ("github.com/gin-gonic/gin", false),
                ("golang.org/x/sys", true),
                ("github.com/quoted/mod", true),
            ]
        );
        assert_eq!(m.requires[1].version, "v1.9.1");
        assert_eq!(m.replaces.len(), 2);
        assert!(m.replaces[0].is_local());
        assert_eq!(m.replaces[0].new, "../lib");
        assert_eq!(m.replaces[1].old_version.as_deref(), Some("v0.3.0"));
        assert_eq!(m.replaces[1].new_version.as_deref(), Some("v0.3.8"));
        assert!(!m.replaces[1].is_local());
        assert_eq!(m.tools, vec!["golang.org/x/tools/cmd/stringer"]);
    }

    #[test]
    fn go_work() {
        let text = "go 1.23\n\nuse (\n\t./api\n\t./worker // the worker\n\t./lib\n)\nuse ./tools\n";
        let w = parse_work(text).unwrap();
        assert_eq!(w.go.as_deref(), Some("1.23"));
        assert_eq!(w.uses, vec!["./api", "./worker", "./lib", "./tools"]);
    }

    #[test]
    fn errors() {
        assert!(parse("module\n").is_err());
        assert!(parse("module a\nrequire (\n github.com/x/y v1\n").is_err());
        assert!(parse("module a\nrequire github.com/x/y\n").is_err());
        assert!(parse("module \"a\n").is_err());
        assert!(parse("module a\nreplace a b\n").is_err());
        assert!(parse(")\n").is_err());
        assert!(parse("module a\nmodule b\n").is_err());
        // Unknown directives are a newer Go's business.
        assert!(parse("module a\nfrobnicate x y\n").is_ok());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "(",
            "\"",
            "`",
            "//",
            "replace =>",
            "replace a => ",
            "require (\n)\n",
            "module é\u{0}",
            "go\n",
            "use (\n(\n)\n",
            "\u{feff}module x",
        ] {
            let _ = parse(text);
            let _ = parse_work(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-z0-9 ()\"`/=>.\n-]{0,160}") {
            let _ = parse(&text);
            let _ = parse_work(&text);
        }
    }
}
