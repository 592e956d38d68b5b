//! Dockerfile templates, one per stack, in [minijinja](https://docs.rs/minijinja)
//! syntax. The built-in ones live in `src/plan/templates/`; a caller replaces one (or
//! adds one for a stack Kyozo has none for) with [`Templates::set`].
//!
//! What a template sees: `name`, `stack`, `framework`, `package_manager`, `base` (the
//! image to run on), `build_image` (the image to build with, for stacks that compile),
//! `composer_image` (php, when composer installs), `port`, `health_path` (the health
//! route, empty when none is known), `install`, `tool` (python: poetry, uv, pipenv or
//! pdm to install first), `build`, `start` (commands; empty when unknown), `workdir`
//! (where the service runs: its folder in a monorepo), `module` (its folder from the
//! build context), `package` (go), `binary` (rust), `site_dir` (static), `deps_install`
//! and `project_install` (the install before the code, from the manifests alone, and
//! what the manager installs once the code is there), `tool_spec` (python's installer
//! at its pinned version), `native_headers` and `go_init` (flags); and two lists:
//! `manifests` (the files copied before the code, `./`-prefixed; empty: the code goes
//! first), `system_packages` (Debian packages) and `tool_constraints` (requirements
//! installed with python's installer to keep it working). Filter `json` quotes a string for a
//! Dockerfile's exec form. Every variable is set (empty when unknown).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::PlanError;

/// The built-in templates, by stack.
const BUILT_IN: &[(&str, &str)] = &[
    ("deno", include_str!("templates/deno.Dockerfile.j2")),
    ("go", include_str!("templates/go.Dockerfile.j2")),
    ("java", include_str!("templates/java.Dockerfile.j2")),
    ("node", include_str!("templates/node.Dockerfile.j2")),
    ("php", include_str!("templates/php.Dockerfile.j2")),
    ("python", include_str!("templates/python.Dockerfile.j2")),
    ("ruby", include_str!("templates/ruby.Dockerfile.j2")),
    ("rust", include_str!("templates/rust.Dockerfile.j2")),
    ("static", include_str!("templates/static.Dockerfile.j2")),
];

/// The Dockerfile templates by stack.
#[derive(Debug, Clone)]
pub struct Templates {
    sources: BTreeMap<String, String>,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            sources: BUILT_IN
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl Templates {
    /// Replaces (or adds) the template of `stack`; refuses one that does not parse.
    pub fn set(&mut self, stack: &str, source: impl Into<String>) -> Result<(), PlanError> {
        let source = source.into();
        environment()
            .template_from_str(&source)
            .map_err(|e| PlanError::Template {
                stack: stack.to_string(),
                message: e.to_string(),
            })?;
        self.sources.insert(stack.to_string(), source);
        Ok(())
    }

    /// Whether there is a template for `stack`.
    pub fn has(&self, stack: &str) -> bool {
        self.sources.contains_key(stack)
    }

    /// The stacks with a template.
    pub fn stacks(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// Renders the template of `stack` with `context`. A value the template prints
    /// that cannot be put where it lands is refused: [`PlanError::Unsafe`] names the
    /// variable it came from.
    #[cfg(test)]
    pub(crate) fn render(
        &self,
        stack: &str,
        context: &BTreeMap<&str, String>,
    ) -> Result<String, PlanError> {
        let lists = BTreeMap::from([
            ("manifests", Vec::new()),
            ("system_packages", Vec::new()),
            ("tool_constraints", Vec::new()),
        ]);
        self.render_with(stack, context, &lists)
    }

    /// [`render`](Self::render) with list variables too (`manifests`,
    /// `system_packages`): a refused element names its list.
    pub(crate) fn render_with(
        &self,
        stack: &str,
        context: &BTreeMap<&str, String>,
        lists: &BTreeMap<&str, Vec<String>>,
    ) -> Result<String, PlanError> {
        let source = self
            .sources
            .get(stack)
            .ok_or_else(|| PlanError::NoTemplate(stack.to_string()))?;
        let refused = Arc::new(Mutex::new(None));
        let env = environment_with(refused.clone());
        let mut values: BTreeMap<&str, minijinja::Value> = context
            .iter()
            .map(|(k, v)| (*k, minijinja::Value::from(v.as_str())))
            .collect();
        for (k, v) in lists {
            values.insert(k, minijinja::Value::from_serialize(v));
        }
        let rendered = env
            .template_from_str(source)
            .and_then(|t| t.render(&values))
            .map_err(|e| {
                let refusal = refused.lock().ok().and_then(|mut r| r.take());
                match refusal {
                    Some(Refusal { value, reason }) => {
                        let exact = context
                            .iter()
                            .find(|(_, v)| **v == value)
                            .map(|(k, _)| k.to_string());
                        let in_list = || {
                            lists
                                .iter()
                                .find(|(_, l)| l.contains(&value))
                                .map(|(k, _)| k.to_string())
                        };
                        let within = || {
                            context
                                .iter()
                                .find(|(_, v)| value.contains(v.as_str()) && !v.is_empty())
                                .map(|(k, _)| k.to_string())
                        };
                        let variable = exact.or_else(in_list).or_else(within).unwrap_or_default();
                        PlanError::Unsafe {
                            service: context.get("name").cloned().unwrap_or_default(),
                            variable,
                            origin: String::new(),
                            value,
                            reason: reason.to_string(),
                        }
                    }
                    None => PlanError::Template {
                        stack: stack.to_string(),
                        message: e.to_string(),
                    },
                }
            })?;
        // One blank line at most, one newline at the end.
        let mut out = String::with_capacity(rendered.len());
        let mut blank = false;
        for line in rendered.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                if !blank && !out.is_empty() {
                    out.push('\n');
                }
                blank = true;
                continue;
            }
            blank = false;
            out.push_str(line);
            out.push('\n');
        }
        Ok(out)
    }
}

/// A value a template printed that cannot be put where it lands, and why.
#[derive(Debug)]
struct Refusal {
    value: String,
    reason: &'static str,
}

type Refused = Arc<Mutex<Option<Refusal>>>;

fn environment() -> minijinja::Environment<'static> {
    environment_with(Arc::new(Mutex::new(None)))
}

/// The template engine, escaping every value for where it lands. `{{ x }}` alone is a
/// fragment of a Dockerfile line (a comment, a `FROM`, a shell command in `RUN`): it is
/// refused when it would break or continue the line. The filters escape for their
/// context: `json` (a string of an exec form), `sh` (one shell word), `path` (a path
/// word of `WORKDIR`/`COPY`, which Docker expands), `url` (a URL path inside a quoted
/// health command). What a refusal was is left in `refused`.
fn environment_with(refused: Refused) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Custom("dockerfile"));
    let refuse = move |refused: &Refused, value: &str, reason: &'static str| {
        if let Ok(mut r) = refused.lock() {
            r.get_or_insert(Refusal {
                value: value.to_string(),
                reason,
            });
        }
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("{value:?} {reason}"),
        )
    };
    {
        let refused = refused.clone();
        env.set_formatter(move |out, _state, value| {
            if value.is_undefined() || value.is_none() {
                return Ok(());
            }
            let text = value.to_string();
            if !value.is_safe()
                && let Some(reason) = line_fragment_problem(&text)
            {
                return Err(refuse(&refused, &text, reason));
            }
            out.write_str(&text).map_err(minijinja::Error::from)
        });
    }
    env.add_filter("json", |s: String| {
        // serde_json escapes C0 controls; DEL, C1 and the Unicode line separators are
        // escaped too, so no control character reaches the file raw.
        let quoted = serde_json::to_string(&s).unwrap_or_else(|_| "\"\"".into());
        let mut out = String::with_capacity(quoted.len());
        for c in quoted.chars() {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            } else {
                out.push(c);
            }
        }
        minijinja::Value::from_safe_string(out)
    });
    {
        let refused = refused.clone();
        env.add_filter("sh", move |s: String| {
            if s.chars().any(char::is_control) {
                return Err(refuse(&refused, &s, CONTROL));
            }
            // Quoting does not hide `<<` from a Dockerfile parser that looks for
            // heredocs in the line.
            if s.contains("<<") {
                return Err(refuse(
                    &refused,
                    &s,
                    "holds `<<`, which opens a heredoc in a Dockerfile",
                ));
            }
            Ok(minijinja::Value::from_safe_string(
                crate::model::shell_quote(&s),
            ))
        });
    }
    {
        let refused = refused.clone();
        env.add_filter("path", move |s: String| match dockerfile_path(&s) {
            Ok(p) => Ok(minijinja::Value::from_safe_string(p)),
            Err(reason) => Err(refuse(&refused, &s, reason)),
        });
    }
    env.add_filter("url", |s: String| {
        minijinja::Value::from_safe_string(url_path(&s))
    });
    env
}

const CONTROL: &str = "holds a control character (a newline, a tab, NUL...)";

/// Why `text` cannot be part of a Dockerfile line as it is, if it cannot: a control
/// character would end the line (or hide in it), a trailing `\` would join the next
/// line to it, and `<<` would open a heredoc that swallows the lines after it.
pub(super) fn line_fragment_problem(text: &str) -> Option<&'static str> {
    if text.chars().any(char::is_control) {
        Some(CONTROL)
    } else if text.trim_end().ends_with('\\') {
        Some("ends with a backslash, which would join the next line of the Dockerfile to it")
    } else if text.contains("<<") {
        Some("holds `<<`, which opens a heredoc in a Dockerfile")
    } else {
        None
    }
}

/// `path` as one word of `WORKDIR` or `COPY`, where Docker expands `$VAR` and removes
/// quotes and backslashes: `$`, `'` and `"` are escaped with a backslash; what cannot be
/// escaped there (blanks, which split the words of `COPY`, a backslash, glob
/// characters, control characters) is refused.
fn dockerfile_path(path: &str) -> Result<String, &'static str> {
    if path.chars().any(char::is_control) {
        return Err(CONTROL);
    }
    if path.chars().any(char::is_whitespace) {
        return Err("holds a blank, which splits a path in a Dockerfile");
    }
    if path.contains("<<") {
        return Err("holds `<<`, which starts a heredoc in a Dockerfile");
    }
    if path.contains(['\\', '*', '?', '[', ']']) {
        return Err(
            "holds a backslash or a glob character (`*`, `?`, `[`), which a Dockerfile path cannot hold literally",
        );
    }
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '$' | '\'' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// Whether `path` can be one word of `WORKDIR` or `COPY` (see [`dockerfile_path`]).
pub(super) fn is_dockerfile_path(path: &str) -> bool {
    dockerfile_path(path).is_ok()
}

/// `path` as a URL path safe inside a quoted shell word and a quoted Python or
/// JavaScript string: every byte outside `A-Z a-z 0-9 - . _ ~ / ? = &` percent-encoded.
fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/?=&".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "../../tests/common/dockerfile_split.rs"]
mod dockerfile_split;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::{PlanError, Templates, dockerfile_split};

    /// Every variable set, to a value that takes every branch a real service can.
    fn context(stack: &str) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("name", "api".to_string()),
            ("stack", stack.to_string()),
            ("framework", "flask".to_string()),
            ("package_manager", "npm".to_string()),
            ("base", "base:1".to_string()),
            ("build_image", "build:1".to_string()),
            ("composer_image", "composer:2".to_string()),
            ("port", "8080".to_string()),
            ("health_path", "/healthz".to_string()),
            ("install", "pip install -r requirements.txt".to_string()),
            ("tool", "uv".to_string()),
            ("build", "make build".to_string()),
            ("start", "python main.py".to_string()),
            ("workdir", "/app/apps/api".to_string()),
            ("module", "apps/api".to_string()),
            ("package", "./cmd/api".to_string()),
            ("binary", "api".to_string()),
            ("site_dir", "dist".to_string()),
            ("caddyfile", ":80 {\n  file_server\n}".to_string()),
            (
                "deps_install",
                "uv sync --frozen --no-install-project".to_string(),
            ),
            ("project_install", "uv sync --frozen".to_string()),
            ("tool_spec", "uv==0.13.9".to_string()),
            ("deps_key", "0123456789abcdef".to_string()),
            ("native_headers", "1".to_string()),
            ("go_init", "1".to_string()),
        ])
    }

    /// The list variables: set (the dependencies before the code, Debian packages), or
    /// empty (the code first).
    fn lists(full: bool) -> BTreeMap<&'static str, Vec<String>> {
        let (manifests, packages, constraints) = if full {
            (
                vec!["./pyproject.toml".to_string(), "./req/base.txt".to_string()],
                vec!["libpq-dev".to_string(), "g++".to_string()],
                vec!["hishel==1.4.0".to_string(), "rich<15".to_string()],
            )
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        BTreeMap::from([
            ("manifests", manifests),
            ("system_packages", packages),
            ("tool_constraints", constraints),
        ])
    }

    const LISTS: &[&str] = &["manifests", "system_packages", "tool_constraints"];

    const VARIABLES: &[&str] = &[
        "name",
        "framework",
        "base",
        "build_image",
        "composer_image",
        "port",
        "health_path",
        "install",
        "tool",
        "build",
        "start",
        "workdir",
        "module",
        "package",
        "binary",
        "site_dir",
        "deps_install",
        "project_install",
        "tool_spec",
        "deps_key",
    ];

    /// Strings made of what breaks Dockerfiles and shells, and anything else.
    fn hostile() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            Just('\n'),
            Just('\r'),
            Just('\\'),
            Just('\''),
            Just('"'),
            Just('$'),
            Just('`'),
            Just('\0'),
            Just(' '),
            Just('\t'),
            Just('<'),
            Just('#'),
            Just('['),
            Just('&'),
            Just('\u{2028}'),
            proptest::char::range('a', 'z'),
            any::<char>(),
        ];
        proptest::collection::vec(c, 1..16).prop_map(|v| v.into_iter().collect())
    }

    fn instructions(text: &str) -> (Vec<String>, Vec<String>) {
        let split = dockerfile_split::split(text)
            .unwrap_or_else(|why| panic!("{why}; the Dockerfile:\n{text}"));
        (
            dockerfile_split::keywords(&split),
            dockerfile_split::users(&split),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever a variable holds, the Dockerfile holds exactly the template's
        /// instructions with the same USER, or the value is refused naming the variable.
        #[test]
        fn a_value_never_changes_the_instructions(
            value in hostile(),
            which in 0..VARIABLES.len(),
            full in any::<bool>(),
        ) {
            let templates = Templates::default();
            let variable = VARIABLES[which];
            for stack in templates.stacks().collect::<Vec<_>>() {
                let benign = templates.render_with(stack, &context(stack), &lists(full)).unwrap();
                let expected = instructions(&benign);
                let mut ctx = context(stack);
                ctx.insert(variable, value.clone());
                match templates.render_with(stack, &ctx, &lists(full)) {
                    Ok(text) => {
                        let got = instructions(&text);
                        prop_assert_eq!(&got.0, &expected.0, "{}={:?}:\n{}", variable, value, text);
                        prop_assert_eq!(&got.1, &expected.1, "{}={:?}:\n{}", variable, value, text);
                    }
                    Err(PlanError::Unsafe { variable: v, .. }) => {
                        prop_assert_eq!(v, variable, "{:?}", value);
                    }
                    Err(e) => prop_assert!(false, "{stack}: {variable}={value:?}: {e}"),
                }
            }
        }

        /// The same for an element of a list variable (a manifest path, a Debian
        /// package): the same instructions, or refused naming the list.
        #[test]
        fn a_list_element_never_changes_the_instructions(
            value in hostile(),
            which in 0..LISTS.len(),
        ) {
            let templates = Templates::default();
            let list = LISTS[which];
            for stack in templates.stacks().collect::<Vec<_>>() {
                let benign = templates.render_with(stack, &context(stack), &lists(true)).unwrap();
                let expected = instructions(&benign);
                let mut hostile_lists = lists(true);
                hostile_lists.get_mut(list).unwrap()[1] = value.clone();
                match templates.render_with(stack, &context(stack), &hostile_lists) {
                    Ok(text) => {
                        let got = instructions(&text);
                        prop_assert_eq!(&got.0, &expected.0, "{}={:?}:\n{}", list, value, text);
                        prop_assert_eq!(&got.1, &expected.1, "{}={:?}:\n{}", list, value, text);
                    }
                    Err(PlanError::Unsafe { variable: v, .. }) => {
                        prop_assert_eq!(v, list, "{:?}", value);
                    }
                    Err(e) => prop_assert!(false, "{stack}: {list}={value:?}: {e}"),
                }
            }
        }
    }

    /// What a CI run of the property test found: a quoted word holding `<<`.
    #[test]
    fn a_heredoc_marker_in_a_quoted_word_is_refused() {
        let templates = Templates::default();
        for (stack, var) in [("go", "package"), ("rust", "binary")] {
            for value in ["\\ << ", "'\"\\ << ", "x << EOF"] {
                let mut ctx = context(stack);
                ctx.insert(var, value.into());
                match templates.render(stack, &ctx) {
                    Err(PlanError::Unsafe { variable, .. }) => assert_eq!(variable, var),
                    other => panic!("{stack} {var}={value:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_trailing_backslash_in_a_folder_is_refused_naming_the_variable() {
        let templates = Templates::default();
        let mut ctx = context("python");
        ctx.insert("workdir", "/app/api\\".into());
        match templates.render("python", &ctx) {
            Err(PlanError::Unsafe {
                variable, value, ..
            }) => {
                assert_eq!(variable, "workdir");
                assert_eq!(value, "/app/api\\");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths_and_urls_are_escaped_for_docker() {
        let templates = Templates::default();
        let mut ctx = context("python");
        ctx.insert("workdir", "/app/a$HOME'\"".into());
        ctx.insert("health_path", "/h?a=1&b='x' $(id)".into());
        let text = templates.render("python", &ctx).unwrap();
        assert!(text.contains("WORKDIR /app/a\\$HOME\\'\\\"\n"), "{text}");
        assert!(
            text.contains("'http://127.0.0.1:8080/h?a=1&b=%27x%27%20%24%28id%29'"),
            "{text}"
        );
    }
}
