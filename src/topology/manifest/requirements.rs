//! Parser of pip requirements files (`requirements.txt`, `requirements/*.txt`,
//! `constraints.txt`) and of single PEP 508 requirement strings (the entries of
//! `pyproject.toml` `project.dependencies`).
//!
//! A requirements file cannot really be invalid: lines the parser does not understand
//! are kept in [`Requirements::unknown`] instead of failing the whole file. Included
//! files (`-r other.txt`) are listed, not read: the caller resolves them through the
//! project view.

use super::ManifestError;

/// A parsed requirements file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// The packages required, in file order.
    pub packages: Vec<Requirement>,
    /// Files included with `-r file` / `--requirement file`, as written (relative to the
    /// including file).
    pub includes: Vec<String>,
    /// Constraint files given with `-c file` / `--constraint file`, as written.
    pub constraints: Vec<String>,
    /// Editable installs (`-e .`, `-e ./lib`, `-e git+https://...`), as written.
    pub editables: Vec<String>,
    /// Lines that are neither a requirement nor a known option, with their 1-based line
    /// number.
    pub unknown: Vec<(usize, String)>,
}

/// One requirement (`Django[bcrypt]>=4.2,<5 ; python_version >= "3.10"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// The distribution name, normalized (PEP 503: lower-case, runs of `-`, `_`, `.`
    /// become one `-`): `Django` → `django`, `psycopg2_binary` → `psycopg2-binary`.
    pub name: String,
    /// Extras (`[standard]`), normalized like the name.
    pub extras: Vec<String>,
    /// The version specifier (`>=4.2,<5`), if any, without spaces.
    pub specifier: Option<String>,
    /// The URL of a direct reference (`name @ https://...`, `git+https://...#egg=name`).
    pub url: Option<String>,
    /// The environment marker, if any, in the normal form of the PEP 508
    /// parser (`sys_platform != 'win32'`: values in single quotes).
    pub marker: Option<String>,
}

impl Requirement {
    /// Whether the version is pinned exactly (`==1.2.3` or `===1.2.3`, or a direct URL).
    pub fn is_pinned(&self) -> bool {
        self.url.is_some()
            || self
                .specifier
                .as_deref()
                .is_some_and(|s| s.starts_with("==") && !s.contains(',') && !s.ends_with(".*"))
    }
}

/// Parses a requirements file. Never fails (see the module docs); the `Result` keeps
/// the signature of every manifest parser.
pub fn parse(text: &str) -> Result<Requirements, ManifestError> {
    let mut out = Requirements::default();
    for (number, line) in logical_lines(text) {
        let line = strip_comment(&line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('-') {
            parse_option(rest, number, line, &mut out);
            continue;
        }
        // A bare path or URL (`./pkg`, `https://.../x.whl`, `git+https://...#egg=x`).
        if looks_like_location(line) {
            match egg_name(line) {
                Some(name) => out.packages.push(Requirement {
                    name: normalize(&name),
                    url: Some(first_token(line).to_string()),
                    ..Requirement::default()
                }),
                None => out.unknown.push((number, line.to_string())),
            }
            continue;
        }
        // Per-requirement options (`--hash=...`) follow the requirement.
        let requirement = line
            .split(" --")
            .next()
            .unwrap_or(line)
            .split("\t--")
            .next()
            .unwrap_or(line);
        match parse_requirement(requirement) {
            Some(r) => out.packages.push(r),
            None => out.unknown.push((number, line.to_string())),
        }
    }
    Ok(out)
}

/// Whether the name and the extras at the start of `text` end with a letter or a
/// digit, as PEP 508 asks (`t.` is no name): pep508_rs panics on those that do not.
fn names_end_well(text: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let ends_well = |word: &str| {
        let run: String = word
            .trim_start()
            .chars()
            .take_while(|c| is_name(*c))
            .collect();
        !run.ends_with(['.', '-', '_'])
    };
    let name_end = text.find(|c: char| !is_name(c)).unwrap_or(text.len());
    if !ends_well(&text[..name_end]) {
        return false;
    }
    let rest = text[name_end..].trim_start();
    match rest.strip_prefix('[') {
        Some(extras) => extras
            .split(']')
            .next()
            .unwrap_or_default()
            .split(',')
            .all(ends_well),
        None => true,
    }
}

/// Parses one PEP 508 requirement string (`requests[socks]>=2.31 ; python_version>"3.8"`,
/// `pkg @ https://example.com/pkg.zip`) with `pep508_rs`. `None` if it is not one.
pub fn parse_requirement(text: &str) -> Option<Requirement> {
    use pep508_rs::VersionOrUrl;
    let text = text.trim();
    if !names_end_well(text) {
        return None;
    }
    // pep508_rs 0.9 panics on a few inputs instead of refusing them (a name that ends
    // in `.` followed by more text, found by this module's property test): the ones
    // known are refused above, and any other is a line that is not a requirement.
    let parsed: pep508_rs::Requirement =
        std::panic::catch_unwind(|| text.parse::<pep508_rs::Requirement>().ok())
            .ok()
            .flatten()?;
    let (specifier, url) = match &parsed.version_or_url {
        // `name (>=1, <2)` and `name>=1,<2` are one specifier: written without spaces.
        Some(VersionOrUrl::VersionSpecifier(spec)) => (
            Some(
                spec.to_string()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect(),
            )
            .filter(|s: &String| !s.is_empty()),
            None,
        ),
        Some(VersionOrUrl::Url(url)) => (
            None,
            Some(url.given().map_or_else(|| url.to_string(), str::to_string)),
        ),
        None => (None, None),
    };
    Some(Requirement {
        name: parsed.name.to_string(),
        extras: parsed.extras.iter().map(ToString::to_string).collect(),
        specifier,
        url,
        marker: parsed.marker.try_to_string(),
    })
}

/// Normalizes a distribution name (PEP 503).
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Joins `\`-continued lines; yields each logical line with its first line number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (number, mut buf) = current.take().unwrap_or((i + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                buf.push_str(head);
                buf.push(' ');
                current = Some((number, buf));
            }
            None => {
                buf.push_str(raw);
                out.push((number, buf));
            }
        }
    }
    if let Some(last) = current {
        out.push(last);
    }
    out
}

/// Drops a comment: `#` at the start of the line or after whitespace (a `#` inside a
/// URL fragment, `#egg=`, is not a comment).
fn strip_comment(line: &str) -> String {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return line.get(..i).unwrap_or("").to_string();
        }
        prev_space = c.is_whitespace();
    }
    line.to_string()
}

fn parse_option(rest: &str, number: usize, line: &str, out: &mut Requirements) {
    // `-r file`, `-rfile`, `--requirement file`, `--requirement=file`.
    let (flag, value) = split_option(rest);
    match flag {
        "r" | "-requirement" => push_value(value, &mut out.includes),
        "c" | "-constraint" => push_value(value, &mut out.constraints),
        "e" | "-editable" => {
            if let Some(v) = value {
                if let Some(name) = egg_name(v) {
                    out.packages.push(Requirement {
                        name: normalize(&name),
                        url: Some(v.to_string()),
                        ..Requirement::default()
                    });
                }
                out.editables.push(v.to_string());
            }
        }
        // Index, find-links, trusted hosts, binary policies, global pip options.
        "i" | "f" | "-index-url" | "-extra-index-url" | "-no-index" | "-find-links"
        | "-trusted-host" | "-pre" | "-prefer-binary" | "-only-binary" | "-no-binary"
        | "-require-hashes" | "-use-feature" | "-config-settings" | "-global-option" => {}
        _ => out.unknown.push((number, line.to_string())),
    }
}

/// Splits `r file` / `rfile` / `-requirement=file` / `-requirement file` into the flag
/// (without its first dash) and its value.
fn split_option(rest: &str) -> (&str, Option<&str>) {
    if let Some(long) = rest.strip_prefix('-') {
        let end = long
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(long.len());
        let value = long.get(end..).unwrap_or("").trim_start_matches('=').trim();
        let flag = rest.get(..end + 1).unwrap_or(rest);
        return (flag, Some(value).filter(|v| !v.is_empty()));
    }
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else {
        return ("", None);
    };
    let at = first.len_utf8();
    let flag = rest.get(..at).unwrap_or("");
    let value = rest.get(at..).unwrap_or("").trim_start_matches('=').trim();
    (flag, Some(value).filter(|v| !v.is_empty()))
}

fn push_value(value: Option<&str>, into: &mut Vec<String>) {
    if let Some(v) = value {
        into.push(first_token(v).to_string());
    }
}

fn first_token(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or(s)
}

fn looks_like_location(line: &str) -> bool {
    line.starts_with('.')
        || line.starts_with('/')
        || first_token(line).contains("://")
        || line.starts_with("git+")
        || line.starts_with("file:")
}

/// The name a URL or path install declares with `#egg=name`, if any.
fn egg_name(location: &str) -> Option<String> {
    let (_, fragment) = location.split_once("#egg=")?;
    let name: String = fragment
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_specifier_without_a_version_is_not_a_requirement() {
        let parsed =
            super::parse("flask==3.0\nrequests>=\nx>=1,\nthis is not one !!\ny ~= 2.1, != 2.1.3\n")
                .unwrap();
        let names: Vec<&str> = parsed.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["flask", "y"]);
        let unknown: Vec<usize> = parsed.unknown.iter().map(|(n, _)| *n).collect();
        assert_eq!(unknown, [2, 3, 4]);
    }

    fn names(r: &Requirements) -> Vec<&str> {
        r.packages.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn full_file() {
        let text = "\
# production deps
-r base.txt
--requirement=extra.txt
-c constraints.txt
--index-url https://pypi.example.com/simple
Django[bcrypt]>=4.2,<5.0  # the framework
psycopg2_binary==2.9.9 \\
    --hash=sha256:abc
gunicorn ; sys_platform != \"win32\"
uvicorn[standard] (>=0.27)
-e .
-e git+https://github.com/acme/lib.git#egg=acme_lib
https://example.com/pkgs/thing-1.0.tar.gz#egg=Thing
./local/pkg
requests @ https://example.com/requests.zip
Zope.Interface
!!! nonsense
";
        let r = parse(text).unwrap();
        assert_eq!(r.includes, vec!["base.txt", "extra.txt"]);
        assert_eq!(r.constraints, vec!["constraints.txt"]);
        assert_eq!(
            r.editables,
            vec![".", "git+https://github.com/acme/lib.git#egg=acme_lib"]
        );
        assert_eq!(
            names(&r),
            vec![
                "django",
                "psycopg2-binary",
                "gunicorn",
                "uvicorn",
                "acme-lib",
                "thing",
                "requests",
                "zope-interface"
            ]
        );
        let django = &r.packages[0];
        assert_eq!(django.extras, vec!["bcrypt"]);
        assert_eq!(django.specifier.as_deref(), Some(">=4.2,<5.0"));
        assert!(!django.is_pinned());
        assert!(r.packages[1].is_pinned());
        assert_eq!(r.packages[1].specifier.as_deref(), Some("==2.9.9"));
        assert_eq!(
            r.packages[2].marker.as_deref(),
            Some("sys_platform != 'win32'")
        );
        assert_eq!(r.packages[3].extras, vec!["standard"]);
        assert_eq!(r.packages[3].specifier.as_deref(), Some(">=0.27"));
        assert_eq!(
            r.packages[6].url.as_deref(),
            Some("https://example.com/requests.zip")
        );
        assert_eq!(r.unknown.len(), 2, "{:?}", r.unknown);
    }

    #[test]
    fn short_options_and_empty() {
        let r = parse("-rdev.txt\n-r\n\n   \n#only a comment\n").unwrap();
        assert_eq!(r.includes, vec!["dev.txt"]);
        assert!(r.packages.is_empty());
        assert_eq!(parse("").unwrap(), Requirements::default());
    }

    #[test]
    fn pep508_strings() {
        let r = parse_requirement("fastapi[standard]>=0.110").unwrap();
        assert_eq!(r.name, "fastapi");
        assert_eq!(r.extras, vec!["standard"]);
        assert!(parse_requirement("").is_none());
        assert!(parse_requirement("-bad").is_none());
        assert!(parse_requirement("x[unclosed").is_none());
        assert!(parse_requirement("name @").is_none());
        assert_eq!(normalize("Foo__Bar..baz"), "foo-bar-baz");
    }

    #[test]
    fn trailing_continuation_and_unicode() {
        let r = parse("flask==3.0 \\").unwrap();
        assert_eq!(names(&r), vec!["flask"]);
        let r = parse("-é\nnaïve==1\n-\n--\n").unwrap();
        assert!(r.packages.is_empty());
    }

    #[test]
    fn names_that_end_in_a_dot_are_refused_not_a_panic() {
        for text in [
            "t.",
            "t. ",
            "t.;x",
            "a_ >=1",
            "ok[x-]>=1",
            "ok[x, y.] ; python_version>'3'",
        ] {
            assert_eq!(parse_requirement(text), None, "{text}");
        }
        assert!(parse_requirement("ok[x, y] >= 1").is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
            let _ = parse_requirement(&text);
        }
    }
}
