//! Parser of Elixir's `mix.exs`. It is code, so this is a small careful reader of the
//! conventional shape `mix new` and `mix phx.new` generate: the keyword list returned by
//! `def project` (`app`, `version`, `elixir`, `apps_path`, `releases`), the dependency
//! tuples of `defp deps`, the alias names of `defp aliases` and the application callback
//! module of `def application`.
//!
//! It fails only on what cannot be a mix project at all: an unterminated string,
//! unbalanced brackets, or no `Mix.Project`/`def project` anywhere.

use super::ManifestError;

/// A parsed `mix.exs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MixProject {
    /// The module it defines (`MyApp.MixProject`).
    pub module: Option<String>,
    /// `app:` (the OTP application name, `my_app`).
    pub app: Option<String>,
    /// `version:`.
    pub version: Option<String>,
    /// `elixir:` (the Elixir requirement, `~> 1.15`).
    pub elixir: Option<String>,
    /// `apps_path:` (`apps`): set on an umbrella project's root.
    pub apps_path: Option<String>,
    /// Whether `project` declares `releases:`.
    pub releases: bool,
    /// The dependencies, in file order.
    pub deps: Vec<MixDep>,
    /// Alias names (`setup`, `assets.deploy`...).
    pub aliases: Vec<String>,
    /// The application callback module (`mod: {MyApp.Application, []}`), if any.
    pub application_mod: Option<String>,
}

/// One dependency tuple (`{:phoenix, "~> 1.7.10"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MixDep {
    /// The package (`phoenix`).
    pub name: String,
    /// The version requirement, if given.
    pub requirement: Option<String>,
    /// `only:` environments (`dev`, `test`); empty means every environment.
    pub only: Vec<String>,
    /// `in_umbrella: true`: a sibling app of the umbrella.
    pub in_umbrella: bool,
    /// `runtime: false` or `runtime: Mix.env() == :dev`: not started in production.
    pub build_only: bool,
}

impl MixDep {
    /// Whether the dependency is part of a production build.
    pub fn is_prod(&self) -> bool {
        self.only.is_empty() || self.only.iter().any(|e| e == "prod")
    }
}

impl MixProject {
    /// Whether `name` is a dependency in production.
    pub fn has_prod_dep(&self, name: &str) -> bool {
        self.deps.iter().any(|d| d.name == name && d.is_prod())
    }

    /// Whether an alias named `name` exists.
    pub fn has_alias(&self, name: &str) -> bool {
        self.aliases.iter().any(|a| a == name)
    }
}

/// Parses a `mix.exs`.
pub fn parse(text: &str) -> Result<MixProject, ManifestError> {
    let code = strip_comments(text)?;
    check_brackets(&code)?;
    if !code.contains("Mix.Project") && !code.contains("def project") {
        return Err(ManifestError::new(
            "no `use Mix.Project` or `def project`: not a mix project",
        ));
    }
    let project = function_body(&code, "project").unwrap_or(&code);
    let deps_body = function_body(&code, "deps").unwrap_or(&code);
    let mut out = MixProject {
        module: code
            .split("defmodule")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|m| m.trim_end_matches(',').to_string())
            .filter(|m| !m.is_empty() && m != "do"),
        app: keyword(project, "app").and_then(atom),
        version: keyword(project, "version").and_then(string),
        elixir: keyword(project, "elixir").and_then(string),
        apps_path: keyword(project, "apps_path").and_then(string),
        releases: keyword(project, "releases").is_some(),
        deps: deps(deps_body),
        aliases: function_body(&code, "aliases")
            .map(alias_names)
            .unwrap_or_default(),
        application_mod: function_body(&code, "application")
            .and_then(|b| keyword(b, "mod"))
            .and_then(|v| v.strip_prefix('{'))
            .and_then(|v| v.split([',', '}']).next())
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty()),
    };
    out.deps.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

/// The code without comments; strings are kept. Fails on an unterminated string.
fn strip_comments(text: &str) -> Result<String, ManifestError> {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    let mut line = 1usize;
    let mut string_line = 0usize;
    let mut prev = '\0';
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            in_comment = false;
            out.push(c);
            prev = c;
            continue;
        }
        if in_comment {
            continue;
        }
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '#' && prev != '?' {
            in_comment = true;
        } else {
            if c == '"' && prev != '?' {
                in_string = true;
                string_line = line;
            }
            out.push(c);
        }
        prev = c;
    }
    if in_string {
        return Err(ManifestError::new(format!(
            "line {string_line}: unterminated string"
        )));
    }
    Ok(out)
}

/// Fails when `()`, `[]`, `{}` do not balance outside strings.
fn check_brackets(code: &str) -> Result<(), ManifestError> {
    let mut stack: Vec<char> = Vec::new();
    let mut line = 1usize;
    for (c, in_string) in chars_outside_strings(code) {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            continue;
        }
        match c {
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Err(ManifestError::new(format!("line {line}: unbalanced `{c}`")));
                }
            }
            _ => {}
        }
    }
    match stack.last() {
        Some(open) => Err(ManifestError::new(format!("unclosed `{open}`"))),
        None => Ok(()),
    }
}

/// Each char with whether it is inside a string (the quotes count as inside).
fn chars_outside_strings(code: &str) -> impl Iterator<Item = (char, bool)> + '_ {
    let mut in_string = false;
    let mut escaped = false;
    let mut prev = '\0';
    code.chars().map(move |c| {
        let inside = if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            true
        } else if c == '"' && prev != '?' {
            in_string = true;
            true
        } else {
            false
        };
        prev = c;
        (c, inside)
    })
}

/// The body of `def name` / `defp name` up to the next `def`/`defp` (or the end).
fn function_body<'a>(code: &'a str, name: &str) -> Option<&'a str> {
    let mut search = 0;
    while let Some(found) = code.get(search..).and_then(|s| s.find("def")) {
        let at = search + found;
        search = at + 3;
        let rest = code.get(at + 3..)?;
        let rest = rest.strip_prefix('p').unwrap_or(rest);
        if !rest.starts_with([' ', '\t']) {
            continue;
        }
        let rest = rest.trim_start();
        let Some(after) = rest.strip_prefix(name) else {
            continue;
        };
        if after.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '?' || c == '!') {
            continue;
        }
        let start = code.len() - after.len();
        let tail = code.get(start..)?;
        let end = next_def(tail).unwrap_or(tail.len());
        return tail.get(..end);
    }
    None
}

fn next_def(code: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(found) = code.get(search..).and_then(|s| s.find("def")) {
        let at = search + found;
        search = at + 3;
        let before_ok = code
            .get(..at)
            .and_then(|b| b.chars().next_back())
            .is_none_or(char::is_whitespace);
        let rest = code.get(at + 3..).unwrap_or("");
        let rest = rest.strip_prefix('p').unwrap_or(rest);
        if before_ok && rest.starts_with([' ', '\t']) {
            return Some(at);
        }
    }
    None
}

/// The text right after the first `key:` keyword (not part of a longer name) in `code`,
/// trimmed at the start.
fn keyword<'a>(code: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("{key}:");
    let mut search = 0;
    while let Some(found) = code.get(search..).and_then(|s| s.find(&pattern)) {
        let at = search + found;
        search = at + pattern.len();
        let before = code.get(..at).and_then(|b| b.chars().next_back());
        let boundary = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        let after = code.get(at + pattern.len()..).unwrap_or("");
        // `key::` is not a keyword; the value must follow whitespace.
        if boundary && after.starts_with(char::is_whitespace) {
            return Some(after.trim_start());
        }
    }
    None
}

/// A leading `:atom`.
fn atom(v: &str) -> Option<String> {
    let rest = v.strip_prefix(':')?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// A leading `"string"` (no escapes inside the kinds of values read here).
fn string(v: &str) -> Option<String> {
    let rest = v.strip_prefix('"')?;
    let end = rest.find('"')?;
    rest.get(..end).map(str::to_string)
}

/// The longest dependency tuple read, in characters.
const MAX_TUPLE: usize = 1024;

/// Every `{:name, ...}` tuple of a deps body.
fn deps(body: &str) -> Vec<MixDep> {
    let mut out = Vec::new();
    let mut search = 0;
    while let Some(found) = body.get(search..).and_then(|s| s.find("{:")) {
        let at = search + found;
        search = at + 2;
        let rest = body.get(at + 2..).unwrap_or("");
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let after = rest.get(name.len()..).unwrap_or("").trim_start();
        if name.is_empty() || !(after.starts_with(',') || after.starts_with('}')) {
            continue;
        }
        let tuple = tuple_text(after);
        let args = tuple.strip_prefix(',').unwrap_or(tuple).trim_start();
        let only = keyword(tuple, "only")
            .map(|v| {
                if let Some(a) = atom(v) {
                    vec![a]
                } else if let Some(list) = v.strip_prefix('[') {
                    list.split(']')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .filter_map(|x| atom(x.trim()))
                        .collect()
                } else {
                    Vec::new()
                }
            })
            .unwrap_or_default();
        out.push(MixDep {
            requirement: string(args),
            in_umbrella: keyword(tuple, "in_umbrella").is_some_and(|v| v.starts_with("true")),
            build_only: keyword(tuple, "runtime")
                .is_some_and(|v| v.starts_with("false") || v.starts_with("Mix.env")),
            only,
            name,
        });
    }
    out
}

/// The rest of a tuple up to its closing `}` (at most [`MAX_TUPLE`] characters: a
/// dependency tuple is short, and deeply nested input must stay linear).
fn tuple_text(after_name: &str) -> &str {
    let mut depth = 0i32;
    for (i, (c, in_string)) in chars_outside_strings(after_name)
        .take(MAX_TUPLE)
        .enumerate()
    {
        if in_string {
            continue;
        }
        match c {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => {
                if depth == 0 {
                    let byte = after_name
                        .char_indices()
                        .nth(i)
                        .map_or(after_name.len(), |(b, _)| b);
                    return after_name.get(..byte).unwrap_or(after_name);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    after_name
        .char_indices()
        .nth(MAX_TUPLE)
        .and_then(|(b, _)| after_name.get(..b))
        .unwrap_or(after_name)
}

/// The keys of the first keyword list in an `aliases` body.
fn alias_names(body: &str) -> Vec<String> {
    let Some(open) = body.find('[') else {
        return Vec::new();
    };
    let list = body.get(open + 1..).unwrap_or("");
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut element = String::new();
    let push = |element: &str, out: &mut Vec<String>| {
        let e = element.trim();
        let key = if let Some(rest) = e.strip_prefix('"') {
            rest.split_once("\":").map(|(k, _)| k.to_string())
        } else {
            e.split_once(':')
                .map(|(k, _)| k.to_string())
                .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'))
        };
        if let Some(k) = key.filter(|k| !k.is_empty()) {
            out.push(k);
        }
    };
    for (c, in_string) in chars_outside_strings(list) {
        if !in_string {
            match c {
                '[' | '{' | '(' => depth += 1,
                ']' | '}' | ')' if depth == 0 => break,
                ']' | '}' | ')' => depth -= 1,
                ',' if depth == 0 => {
                    push(&element, &mut out);
                    element.clear();
                    continue;
                }
                _ => {}
            }
        }
        element.push(c);
    }
    push(&element, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const PHOENIX: &str = r#"defmodule Hello.MixProject do
  use Mix.Project

  def project do
    [
      app: :hello,
      version: "0.1.0",
      elixir: "~> 1.14",
      elixirc_paths: elixirc_paths(Mix.env()),
      start_permanent: Mix.env() == :prod,
      aliases: aliases(),
      deps: deps(),
      releases: [hello: [include_executables_for: [:unix]]]
    ]
  end

  # Configuration for the OTP application. # app: :not_this
  def application do
    [
      mod: {Hello.Application, []},
      extra_applications: [:logger, :runtime_tools]
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]

  defp deps do
    [
      {:phoenix, "~> 1.7.10"},
      {:phoenix_ecto, "~> 4.4"},
      {:ecto_sql, "~> 3.10"},
      {:postgrex, ">= 0.0.0"},
      {:phoenix_live_reload, "~> 1.2", only: :dev},
      {:floki, ">= 0.30.0", only: [:dev, :test]},
      {:esbuild, "~> 0.8", runtime: Mix.env() == :dev},
      {:heroicons,
       github: "tailwindlabs/heroicons",
       tag: "v2.1.1",
       sparse: "optimized",
       app: false,
       compile: false,
       depth: 1},
      {:shared, in_umbrella: true}
    ]
  end

  defp aliases do
    [
      setup: ["deps.get", "ecto.setup", "assets.setup", "assets.build"],
      "ecto.setup": ["ecto.create", "ecto.migrate", "run priv/repo/seeds.exs"],
      test: ["ecto.create --quiet", "ecto.migrate --quiet", "test"],
      "assets.deploy": [
        "tailwind hello --minify",
        "esbuild hello --minify",
        "phx.digest"
      ]
    ]
  end
end
"#;

    #[test]
    fn phoenix_project() {
        let m = parse(PHOENIX).unwrap();
        assert_eq!(m.module.as_deref(), Some("Hello.MixProject"));
        assert_eq!(m.app.as_deref(), Some("hello"));
        assert_eq!(m.version.as_deref(), Some("0.1.0"));
        assert_eq!(m.elixir.as_deref(), Some("~> 1.14"));
        assert_eq!(m.apps_path, None);
        assert!(m.releases);
        let names: Vec<&str> = m.deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "phoenix",
                "phoenix_ecto",
                "ecto_sql",
                "postgrex",
                "phoenix_live_reload",
                "floki",
                "esbuild",
                "heroicons",
                "shared"
            ]
        );
        assert_eq!(m.deps[0].requirement.as_deref(), Some("~> 1.7.10"));
        assert_eq!(m.deps[4].only, vec!["dev"]);
        assert!(!m.deps[4].is_prod());
        assert_eq!(m.deps[5].only, vec!["dev", "test"]);
        assert!(m.deps[6].build_only && m.deps[6].is_prod());
        assert_eq!(m.deps[7].requirement, None);
        assert!(m.deps[8].in_umbrella);
        assert!(m.has_prod_dep("phoenix") && !m.has_prod_dep("floki"));
        assert_eq!(
            m.aliases,
            vec!["setup", "ecto.setup", "test", "assets.deploy"]
        );
        assert!(m.has_alias("assets.deploy"));
        assert_eq!(m.application_mod.as_deref(), Some("Hello.Application"));
    }

    #[test]
    fn deeply_nested_input_stays_fast() {
        let depth = 5_000;
        let text = format!(
            "use Mix.Project\ndefp deps do\n{}{}\nend\n",
            "{:a, ".repeat(depth),
            "}".repeat(depth)
        );
        let started = std::time::Instant::now();
        let m = parse(&text).unwrap();
        // Every tuple is read; the same dependency listed twice in a row counts once.
        assert_eq!(m.deps.len(), 1);
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn umbrella_root() {
        let text = r#"defmodule Shop.Umbrella.MixProject do
  use Mix.Project

  def project do
    [apps_path: "apps", version: "0.1.0", start_permanent: Mix.env() == :prod, deps: []]
  end
end
"#;
        let m = parse(text).unwrap();
        assert_eq!(m.apps_path.as_deref(), Some("apps"));
        assert_eq!(m.app, None);
        assert!(m.deps.is_empty());
        assert!(m.aliases.is_empty());
    }

    #[test]
    fn invalid_files() {
        assert!(
            parse("defmodule X do\n  use Mix.Project\n  def project, do: [app: :x\nend\n").is_err()
        );
        assert!(parse("defmodule X do\n  use Mix.Project\n  @v \"1.0\nend\n").is_err());
        assert!(parse("hello world").is_err());
        // A `#` in a string is not a comment, `?#` and `?"` are characters.
        let m = parse(
            "use Mix.Project\ndef project do\n [app: :x, version: \"1#2\", c: ?#, d: ?\"]\nend\n",
        )
        .unwrap();
        assert_eq!(m.version.as_deref(), Some("1#2"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_mix_like(parts in proptest::collection::vec(
            "(def project do|defp deps do|defp aliases do|end|use Mix.Project|\\{:[a-z]{1,4}|app: |\"|\\[|\\]|\\{|\\}|,|\"a.b\": |only: |#|\\?|é|\n)", 0..30)) {
            let _ = parse(&parts.concat());
        }
    }
}
