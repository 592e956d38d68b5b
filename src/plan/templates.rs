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
//! build context), `package` (go), `binary` (rust), `site_dir` (static). Filter `json`
//! quotes a string for a Dockerfile's exec form. Every variable is set (empty when
//! unknown).

use std::collections::BTreeMap;

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

    /// Renders the template of `stack` with `context`.
    pub(crate) fn render(
        &self,
        stack: &str,
        context: &BTreeMap<&str, String>,
    ) -> Result<String, PlanError> {
        let source = self
            .sources
            .get(stack)
            .ok_or_else(|| PlanError::NoTemplate(stack.to_string()))?;
        let env = environment();
        let rendered = env
            .template_from_str(source)
            .and_then(|t| t.render(context))
            .map_err(|e| PlanError::Template {
                stack: stack.to_string(),
                message: e.to_string(),
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

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("json", |s: String| {
        serde_json::to_string(&s).unwrap_or_else(|_| "\"\"".into())
    });
    env
}
