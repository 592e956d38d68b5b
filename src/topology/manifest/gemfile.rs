//! Parsers of Bundler's `Gemfile` (a Ruby file, read with a small line-based parser that
//! understands `gem`, `ruby`, `gemspec`, `source` and `group` blocks) and of its
//! `Gemfile.lock` (the `GEMS`, `DEPENDENCIES`, `RUBY VERSION` and `BUNDLED WITH`
//! sections).
//!
//! A Gemfile is code, so the parser is lenient: statements it does not understand are
//! skipped. It fails only on what cannot be a Gemfile at all (an unterminated string or
//! more `end`s than blocks).

use super::ManifestError;

/// A parsed `Gemfile`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gemfile {
    /// The `ruby "3.2.2"` directive's version, if any.
    pub ruby: Option<String>,
    /// The file a `ruby file: ".ruby-version"` directive points to, if any.
    pub ruby_file: Option<String>,
    /// The gems, in file order.
    pub gems: Vec<Gem>,
    /// Whether the Gemfile has a `gemspec` directive (the folder is a gem).
    pub gemspec: bool,
    /// `source` URLs.
    pub sources: Vec<String>,
}

/// One `gem` statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gem {
    /// The gem's name.
    pub name: String,
    /// Version requirements (`~> 7.1`, `>= 5.0`).
    pub requirements: Vec<String>,
    /// The groups it belongs to (from enclosing `group` blocks and `group:`/`groups:`
    /// options); empty means the default group.
    pub groups: Vec<String>,
    /// The 1-based line it is on.
    pub line: usize,
}

impl Gem {
    /// Whether the gem is installed in production (it is in no group, or in a group
    /// other than development and test).
    pub fn is_runtime(&self) -> bool {
        self.groups.is_empty()
            || self
                .groups
                .iter()
                .any(|g| !matches!(g.as_str(), "development" | "test"))
    }
}

impl Gemfile {
    /// Whether a gem named `name` is declared.
    pub fn has(&self, name: &str) -> bool {
        self.gems.iter().any(|g| g.name == name)
    }

    /// Whether a gem named `name` is declared for production.
    pub fn has_runtime(&self, name: &str) -> bool {
        self.gems.iter().any(|g| g.name == name && g.is_runtime())
    }
}

/// A parsed `Gemfile.lock`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GemfileLock {
    /// Every locked gem (`GEM`/`GIT`/`PATH` specs) with its version, in file order.
    pub specs: Vec<(String, String)>,
    /// The top-level dependencies (`DEPENDENCIES`).
    pub dependencies: Vec<String>,
    /// The platforms it was resolved for (`PLATFORMS`: `ruby`, `x86_64-linux`...).
    pub platforms: Vec<String>,
    /// The Ruby version of `RUBY VERSION` (`3.2.2`, the patch level dropped).
    pub ruby: Option<String>,
    /// The Bundler version of `BUNDLED WITH`.
    pub bundler: Option<String>,
}

impl GemfileLock {
    /// Whether `name` is locked (directly or as a dependency of another gem).
    pub fn has(&self, name: &str) -> bool {
        self.specs.iter().any(|(n, _)| n == name)
    }
}

#[derive(Debug)]
enum Frame {
    Group(Vec<String>),
    Other,
}

/// Parses a `Gemfile`.
pub fn parse(text: &str) -> Result<Gemfile, ManifestError> {
    let mut out = Gemfile::default();
    let mut stack: Vec<Frame> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line =
            strip_comment(raw).map_err(|m| ManifestError::new(format!("line {number}: {m}")))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (word, rest) = split_word(line);
        if word == "end" {
            if stack.pop().is_none() {
                return Err(ManifestError::new(format!(
                    "line {number}: `end` without a block"
                )));
            }
            continue;
        }
        let opens = opens_block(word, line);
        match word {
            "gem" => {
                if let Some(mut gem) = gem_statement(rest, number) {
                    for frame in &stack {
                        if let Frame::Group(g) = frame {
                            gem.groups.extend(g.iter().cloned());
                        }
                    }
                    gem.groups.sort();
                    gem.groups.dedup();
                    out.gems.push(gem);
                }
            }
            "ruby" => {
                let args = arguments(rest);
                for a in &args {
                    match a {
                        Arg::Str(s) if out.ruby.is_none() => {
                            out.ruby = Some(s.trim_start_matches("ruby-").to_string());
                        }
                        Arg::Opt(k, v) if k == "file" => {
                            out.ruby_file = v.first().cloned();
                        }
                        _ => {}
                    }
                }
            }
            "gemspec" => out.gemspec = true,
            "source" => {
                if let Some(Arg::Str(s)) = arguments(rest).first() {
                    out.sources.push(s.clone());
                }
            }
            _ => {}
        }
        if opens {
            if word == "group" {
                let groups = arguments(rest.split(" do").next().unwrap_or(rest))
                    .into_iter()
                    .filter_map(|a| match a {
                        Arg::Sym(s) | Arg::Str(s) => Some(s),
                        Arg::Opt(..) => None,
                    })
                    .collect();
                stack.push(Frame::Group(groups));
            } else {
                stack.push(Frame::Other);
            }
        }
    }
    Ok(out)
}

/// Parses a `Gemfile.lock`.
pub fn parse_lock(text: &str) -> Result<GemfileLock, ManifestError> {
    let mut out = GemfileLock::default();
    let mut section = "";
    let mut saw_section = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = line.trim();
            saw_section = true;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let content = line.trim();
        match section {
            "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE" if indent == 4 => {
                if let Some((name, version)) = content.split_once(' ') {
                    let version = version.trim_start_matches('(').trim_end_matches(')');
                    out.specs.push((name.to_string(), version.to_string()));
                }
            }
            "DEPENDENCIES" if indent == 2 => {
                let name = content.split([' ', '!']).next().unwrap_or(content);
                if !name.is_empty() {
                    out.dependencies.push(name.to_string());
                }
            }
            "RUBY VERSION" => {
                if let Some(v) = content.strip_prefix("ruby ") {
                    let v = v.split_whitespace().next().unwrap_or(v);
                    let v = v.split('p').next().unwrap_or(v);
                    if !v.is_empty() {
                        out.ruby = Some(v.to_string());
                    }
                }
            }
            "PLATFORMS" if indent == 2 => out.platforms.push(content.to_string()),
            "BUNDLED WITH" => out.bundler = Some(content.to_string()),
            _ => {}
        }
    }
    if !saw_section {
        return Err(ManifestError::new(
            "no section found (GEM, DEPENDENCIES...)",
        ));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Str(String),
    Sym(String),
    /// `key: value` or `:key => value`; the value's strings and symbols.
    Opt(String, Vec<String>),
}

fn gem_statement(rest: &str, line: usize) -> Option<Gem> {
    let rest = rest.trim();
    let rest = match rest.strip_prefix('(') {
        Some(inner) => inner.trim_end().strip_suffix(')').unwrap_or(inner),
        None => rest,
    };
    let rest = rest.split(" do").next().unwrap_or(rest);
    let args = arguments(rest);
    let mut iter = args.into_iter();
    let Some(Arg::Str(name)) = iter.next() else {
        return None;
    };
    if name.is_empty() {
        return None;
    }
    let mut gem = Gem {
        name,
        line,
        ..Gem::default()
    };
    for a in iter {
        match a {
            Arg::Str(s) => gem.requirements.push(s),
            Arg::Opt(k, v) if k == "group" || k == "groups" => gem.groups.extend(v),
            _ => {}
        }
    }
    Some(gem)
}

/// Splits an argument list at top-level commas and reads each argument.
fn arguments(text: &str) -> Vec<Arg> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => {
                    quote = Some(c);
                    current.push(c);
                }
                '[' | '(' | '{' => {
                    depth += 1;
                    current.push(c);
                }
                ']' | ')' | '}' => {
                    depth -= 1;
                    current.push(c);
                }
                ',' if depth <= 0 => parts.push(std::mem::take(&mut current)),
                _ => current.push(c),
            },
        }
    }
    parts.push(current);
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .filter_map(argument)
        .collect()
}

fn argument(part: &str) -> Option<Arg> {
    // `key: value`, `"key": value`, `:key => value`.
    if let Some((k, v)) = part.split_once("=>") {
        let key = k.trim().trim_start_matches(':');
        return Some(Arg::Opt(unquote(key).to_string(), values(v)));
    }
    if !part.starts_with(['"', '\'']) {
        if let Some((k, v)) = part.split_once(": ") {
            return Some(Arg::Opt(k.trim().to_string(), values(v)));
        }
        if let Some(k) = part.strip_suffix(':') {
            return Some(Arg::Opt(k.trim().to_string(), Vec::new()));
        }
    }
    if let Some(s) = quoted(part) {
        return Some(Arg::Str(s.to_string()));
    }
    if let Some(sym) = part.strip_prefix(':') {
        return Some(Arg::Sym(unquote(sym).to_string()));
    }
    None
}

/// The strings and symbols in an option value: `:test`, `[:development, :test]`,
/// `%i[development test]`, `"x"`.
fn values(v: &str) -> Vec<String> {
    let v = v.trim();
    if let Some(words) = v
        .strip_prefix("%i[")
        .or_else(|| v.strip_prefix("%w["))
        .or_else(|| v.strip_prefix("%i("))
        .or_else(|| v.strip_prefix("%w("))
    {
        return words
            .trim_end_matches([']', ')'])
            .split_whitespace()
            .map(str::to_string)
            .collect();
    }
    let inner = v.trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(str::trim)
        .filter_map(|x| {
            quoted(x)
                .or_else(|| x.strip_prefix(':'))
                .map(|s| unquote(s).to_string())
        })
        .collect()
}

fn quoted(s: &str) -> Option<&str> {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return Some(inner);
        }
    }
    None
}

fn unquote(s: &str) -> &str {
    quoted(s).unwrap_or(s)
}

/// The first word of a statement (`gem`, `group`...) and the rest. `gem("x")` counts.
fn split_word(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '?' || c == '!'))
        .unwrap_or(line.len());
    let word = line.get(..end).unwrap_or("");
    let rest = line.get(end..).unwrap_or("");
    (word, rest)
}

/// Whether a statement opens a block closed by `end`.
fn opens_block(word: &str, line: &str) -> bool {
    if matches!(
        word,
        "if" | "unless" | "case" | "begin" | "while" | "until" | "def" | "class" | "module"
    ) {
        return true;
    }
    let line = line.trim_end();
    // `group :test do`, `platforms :jruby do |x|`, `install_if -> { } do`. A one-line
    // `... do ... end` closes itself.
    let has_do =
        line.ends_with(" do") || line.contains(" do |") && line.ends_with('|') || line == "do";
    has_do && !line.ends_with(" end")
}

/// The line without its `#` comment (a `#` inside a string is kept, `#{}` interpolation
/// too). Fails on an unterminated string.
fn strip_comment(line: &str) -> Result<String, &'static str> {
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return Ok(line.get(..i).unwrap_or("").to_string()),
            None => {}
        }
        prev = if prev == '\\' && c == '\\' { '\0' } else { c };
    }
    if quote.is_some() {
        return Err("unterminated string");
    }
    Ok(line.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const RAILS: &str = r#"source "https://rubygems.org"
git_source(:github) { |repo| "https://github.com/#{repo}.git" }

ruby "3.2.2"

# Bundle edge Rails instead: gem "rails", github: "rails/rails", branch: "main"
gem "rails", "~> 7.1.2"
gem 'pg', '~> 1.1'
gem "puma", ">= 5.0"
gem "bootsnap", require: false
gem "tzinfo-data", platforms: %i[ windows jruby ]
gem "sidekiq", group: :production
gem "rubocop", groups: [:development, :lint]

group :development, :test do
  gem "debug", platforms: %i[ mri windows ]
end

group :development do
  gem "web-console"
  platforms :mri do
    gem "stackprof"
  end
end

if ENV["CI"]
  gem "simplecov"
end
"#;

    #[test]
    fn rails_gemfile() {
        let g = parse(RAILS).unwrap();
        assert_eq!(g.ruby.as_deref(), Some("3.2.2"));
        assert_eq!(g.sources, vec!["https://rubygems.org"]);
        let names: Vec<&str> = g.gems.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "rails",
                "pg",
                "puma",
                "bootsnap",
                "tzinfo-data",
                "sidekiq",
                "rubocop",
                "debug",
                "web-console",
                "stackprof",
                "simplecov"
            ]
        );
        assert_eq!(g.gems[0].requirements, vec!["~> 7.1.2"]);
        assert_eq!(g.gems[0].line, 7);
        assert!(g.gems[0].is_runtime());
        assert_eq!(g.gems[5].groups, vec!["production"]);
        assert!(g.gems[5].is_runtime());
        assert_eq!(g.gems[6].groups, vec!["development", "lint"]);
        assert_eq!(g.gems[7].groups, vec!["development", "test"]);
        assert!(!g.gems[7].is_runtime());
        assert_eq!(g.gems[9].groups, vec!["development"]);
        assert!(g.gems[10].groups.is_empty());
        assert!(g.has_runtime("pg") && !g.has_runtime("debug") && g.has("debug"));
        assert!(!g.gemspec);
    }

    #[test]
    fn ruby_directive_forms() {
        let g = parse("ruby file: \".ruby-version\"\ngemspec\n").unwrap();
        assert_eq!(g.ruby, None);
        assert_eq!(g.ruby_file.as_deref(), Some(".ruby-version"));
        assert!(g.gemspec);
        let g = parse("ruby '~> 3.1', engine: 'jruby'\n").unwrap();
        assert_eq!(g.ruby.as_deref(), Some("~> 3.1"));
        let g = parse("gem(\"sinatra\", \"~> 4.0\")\n:x => 1\n").unwrap();
        assert_eq!(g.gems[0].name, "sinatra");
        assert_eq!(g.gems[0].requirements, vec!["~> 4.0"]);
    }

    #[test]
    fn broken_gemfiles() {
        assert!(parse("gem \"rails\n").is_err());
        assert!(parse("end\n").is_err());
        assert!(parse("gem 'a' # it's fine\ngem \"b#c\"\n").is_ok());
        assert_eq!(parse("gem \"b#c\"").unwrap().gems[0].name, "b#c");
        assert!(parse("gem\ngem ,\ngem :sym\n").unwrap().gems.is_empty());
        // A one-line block closes itself: it must not swallow the next `end`.
        let g = parse("group :test do gem 'x' end\ngem 'y'\n").unwrap();
        assert_eq!(g.gems.len(), 1);
    }

    #[test]
    fn lockfile() {
        let text = "\
GEM
  remote: https://rubygems.org/
  specs:
    actioncable (7.1.2)
      actionpack (= 7.1.2)
    pg (1.5.4)
    rails (7.1.2)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  pg (~> 1.1)
  rails (~> 7.1.2)
  my_gem!

RUBY VERSION
   ruby 3.2.2p53

BUNDLED WITH
   2.4.22
";
        let l = parse_lock(text).unwrap();
        assert_eq!(l.specs.len(), 3);
        assert!(l.has("pg") && l.has("actioncable") && !l.has("actionpack"));
        assert_eq!(l.dependencies, vec!["pg", "rails", "my_gem"]);
        assert_eq!(l.ruby.as_deref(), Some("3.2.2"));
        assert_eq!(l.bundler.as_deref(), Some("2.4.22"));
        assert_eq!(l.platforms, vec!["x86_64-linux"]);
        assert!(parse_lock("   just indented\n").is_err());
        assert!(parse_lock("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
            let _ = parse_lock(&text);
        }

        #[test]
        fn never_panics_on_gemfile_like(lines in proptest::collection::vec(
            "(gem|group|ruby|end|if|source|gemspec)? ?[\"':,a-z =>%\\[\\]()|#]{0,20}( do)?", 0..12)) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
