//! Teaching Kyozo a stack it does not know: frob, made up for this example (a folder
//! with a `frob.toml` serves its `www/` folder over HTTP).
//!
//! Two pieces, both the embedding program's:
//!
//! - a **WASM detector plugin** (`plugin/`, built with `cargo build --release --target
//!   wasm32-wasip2`), which finds frob services: a service whose language is `frob`,
//!   its port and start command from its manifest;
//! - a **Dockerfile template** for the stack `frob` ([`FROB_TEMPLATE`]), given to the
//!   planner with `Templates::set`: every service whose language is `frob` is planned
//!   with it, on the base image the base-image map gives `frob`.
//!
//! Then the one road every service takes: analyse, plan, `Kyozo::apply`,
//! `Kyozo::deploy`. `cargo test -p kyozo-example-custom-stack` builds the plugin, plans
//! `site/` and deploys it on the Docker Engine.

use std::path::PathBuf;

use kyozo::plan::{BaseImages, PlanError, Planner, Templates};

/// The stack the plugin reports and the template is for.
pub const STACK: &str = "frob";

/// The Dockerfile template of the stack `frob`. Its first line says where it came from.
pub const FROB_TEMPLATE: &str = r#"# {{ name }}: a frob service, from the frob template.
FROM {{ base }}
WORKDIR /srv/frob
COPY --chown=10001:10001 www/ /srv/frob/
USER 10001
EXPOSE {{ port }}
CMD ["sh", "-c", {{ start | json }}]
"#;

/// The templates: Kyozo's own, and frob's.
pub fn templates() -> Result<Templates, PlanError> {
    let mut templates = Templates::default();
    templates.set(STACK, FROB_TEMPLATE)?;
    Ok(templates)
}

/// A planner that knows frob, running frob services on `base` (an image with `sh` and
/// busybox `httpd`).
pub fn planner(base: &str) -> Result<Planner, PlanError> {
    Ok(Planner::new()
        .with_images(BaseImages::default().set(STACK, base))
        .with_templates(templates()?))
}

/// The frob plugin's source crate.
pub fn plugin_crate() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugin")
}

/// The example's frob service.
pub fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("site")
}
