//! A Kyozo detector plugin for [Jekyll](https://jekyllrb.com) sites.
//!
//! A folder is a Jekyll site when it holds `_config.yml` (or `_config.yaml`, `_config.toml`)
//! and either a Gemfile naming `jekyll` or `github-pages`, or Jekyll's folders
//! (`_posts/`, `_layouts/`, `_includes/`). The port comes from `_config.yml`'s `port`, the
//! Ruby version from `.ruby-version`.

use kyozo_detector_sdk::{
    Detection, Metadata, Plugin, Project, Sourced, export_detector, join, parent,
};

struct Jekyll;

const CONFIGS: &str = "**/_config.{yml,yaml,toml}";
const FOLDERS: [&str; 4] = ["_posts", "_layouts", "_includes", "_data"];
const DEFAULT_PORT: u16 = 4000;

impl Plugin for Jekyll {
    fn metadata() -> Metadata {
        Metadata::new("jekyll", "Jekyll static sites", env!("CARGO_PKG_VERSION"))
            .interested_in([CONFIGS])
    }

    fn detect(project: &Project) -> Result<Vec<Detection>, String> {
        let mut found: Vec<Detection> = Vec::new();
        for config in project.files(CONFIGS) {
            let dir = parent(&config);
            if found.iter().any(|d| d.path == dir) {
                continue;
            }
            let gemfile = join(dir, "Gemfile");
            let gems = project.read(&gemfile).unwrap_or_default();
            let gem = ["jekyll", "github-pages"]
                .into_iter()
                .find(|g| names_gem(&gems, g));
            let folders: Vec<String> = FOLDERS
                .iter()
                .map(|f| join(dir, f))
                .filter(|f| project.any(&format!("{f}/**")))
                .collect();
            let confidence = match (gem, folders.len()) {
                (Some(_), _) => 0.95,
                (None, 0) => continue,
                (None, 1) => 0.6,
                (None, _) => 0.8,
            };
            let config_text = project.read(&config).unwrap_or_default();
            let mut d = Detection::service(dir, "ruby", confidence)
                .evidence(&config, "a Jekyll site configuration")
                .build(Sourced::default_for("jekyll", "bundle exec jekyll build"));
            d = match gem {
                Some(g) => d
                    .framework(Sourced::new("jekyll", format!("{gemfile} gem {g}")))
                    .evidence(&gemfile, format!("the {g} gem"))
                    .package_manager(Sourced::new("bundler", gemfile.clone()))
                    .install(Sourced::default_for("bundler", "bundle install")),
                None => d.framework(Sourced::new("jekyll", config.clone())),
            };
            for f in &folders {
                d = d.evidence(f, "a Jekyll folder");
            }
            let port = config_value(&config_text, "port").and_then(|p| p.parse::<u16>().ok());
            let (port, source) = match port {
                Some(p) => (p, format!("{config} port")),
                None => (DEFAULT_PORT, "default for jekyll".to_string()),
            };
            let serve = format!("bundle exec jekyll serve --host 0.0.0.0 --port {port}");
            d = d
                .port(port, source.clone())
                .start(Sourced::new(serve, source));
            let ruby = join(dir, ".ruby-version");
            if let Ok(v) = project.read(&ruby) {
                let v = v.trim().trim_start_matches("ruby-");
                if !v.is_empty() {
                    d = d.runtime_version(Sourced::new(v, ruby));
                }
            }
            found.push(d.env(Sourced::default_for("jekyll", "JEKYLL_ENV")));
        }
        Ok(found)
    }
}

/// Whether a Gemfile names `gem` (`gem "jekyll", "~> 4.3"`), comments skipped.
fn names_gem(gemfile: &str, gem: &str) -> bool {
    gemfile.lines().any(|line| {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("gem ") else {
            return false;
        };
        let name = rest.trim().split([',', ' ']).next().unwrap_or("");
        name.trim_matches(|c| c == '"' || c == '\'') == gem
    })
}

/// A top-level `key: value` of a YAML (or `key = value` of a TOML) configuration.
fn config_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?;
        let value = rest.trim_start().strip_prefix([':', '='])?;
        let value = value.split('#').next().unwrap_or("").trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

export_detector!(Jekyll);
