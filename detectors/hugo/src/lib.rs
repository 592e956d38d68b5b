//! A Kyozo detector plugin for [Hugo](https://gohugo.io) sites.
//!
//! A folder is a Hugo site when it holds `hugo.toml`/`hugo.yaml`/`hugo.json` (Hugo
//! ≥ 0.110), or a `config.toml`/`config.yaml`/`config.json` with a `baseURL` next to
//! one of Hugo's folders (`content/`, `layouts/`, `archetypes/`, `themes/`), or a
//! `config/_default/` folder of those files. The Hugo version comes from
//! `netlify.toml` (`HUGO_VERSION`) or `.tool-versions`.

use kyozo_detector_sdk::{
    Detection, ManifestError, Metadata, Plugin, Project, Sourced, export_detector, join, parent,
    toml,
};

struct Hugo;

const EXTENSIONS: [&str; 4] = ["toml", "yaml", "yml", "json"];
const SITE_FOLDERS: [&str; 4] = ["content", "layouts", "archetypes", "themes"];
const DEFAULT_PORT: u16 = 1313;

impl Plugin for Hugo {
    fn metadata() -> Metadata {
        Metadata::new("hugo", "Hugo static sites", env!("CARGO_PKG_VERSION")).interested_in([
            "**/hugo.{toml,yaml,yml,json}",
            "**/config.{toml,yaml,yml,json}",
            "**/config/_default/*.{toml,yaml,yml,json}",
        ])
    }

    fn detect(project: &Project) -> Result<Vec<Detection>, String> {
        let mut sites: Vec<(String, String, f64, &'static str)> = Vec::new();
        let mut claim = |dir: &str, config: String, confidence: f64, why: &'static str| {
            if !sites.iter().any(|(d, ..)| d == dir) {
                sites.push((dir.to_string(), config, confidence, why));
            }
        };
        for config in project.files("**/hugo.{toml,yaml,yml,json}") {
            let dir = site_dir(&config);
            claim(dir, config.clone(), 0.95, "a Hugo configuration file");
        }
        for config in project.files("**/config.{toml,yaml,yml,json}") {
            let dir = site_dir(&config);
            let Ok(text) = project.read(&config) else {
                continue;
            };
            if value_of(&text, &["baseURL", "baseurl"]).is_some() && has_site_folder(project, dir) {
                claim(
                    dir,
                    config.clone(),
                    0.85,
                    "a site configuration with baseURL next to Hugo's content folders",
                );
            }
        }
        let mut found = Vec::new();
        for (dir, config, confidence, why) in sites {
            found.push(describe(project, &dir, &config, confidence, why));
        }
        Ok(found)
    }
}

/// The site folder of a configuration file (`config/_default/hugo.toml` belongs to the
/// folder holding `config/`).
fn site_dir(config: &str) -> &str {
    let dir = parent(config);
    dir.strip_suffix("config/_default")
        .map(|d| d.trim_end_matches('/'))
        .unwrap_or(dir)
}

fn has_site_folder(project: &Project, dir: &str) -> bool {
    SITE_FOLDERS
        .iter()
        .any(|f| project.any(&format!("{}/**", join(dir, f))))
}

fn describe(project: &Project, dir: &str, config: &str, confidence: f64, why: &str) -> Detection {
    let mut d = Detection::service(dir, "hugo", confidence)
        .evidence(config, why)
        .framework(Sourced::new("hugo", config))
        .build(Sourced::default_for("hugo", "hugo --minify"))
        .start(Sourced::default_for(
            "hugo",
            format!("hugo server --bind 0.0.0.0 --port {DEFAULT_PORT} --disableLiveReload"),
        ))
        .port(DEFAULT_PORT, "default for hugo")
        .env(Sourced::default_for("hugo", "HUGO_ENVIRONMENT"));
    let text = project.read(config).unwrap_or_default();
    if let Some(theme) = value_of(&text, &["theme"]) {
        d = d.evidence(config, format!("theme {theme}"));
    }
    for folder in SITE_FOLDERS {
        let path = join(dir, folder);
        if project.any(&format!("{path}/**")) {
            d = d.evidence(&path, format!("Hugo's {folder}/ folder"));
        }
    }
    if let Some(version) = hugo_version(project, dir) {
        d = d.runtime_version(version);
    }
    if project.exists(&join(dir, "go.mod")) {
        d = d
            .package_manager(Sourced::new("hugo-modules", join(dir, "go.mod")))
            .install(Sourced::default_for("hugo modules", "hugo mod get"));
    }
    for ext in EXTENSIONS {
        let path = join(dir, &format!("hugo_stats.{ext}"));
        if project.exists(&path) {
            d = d.evidence(&path, "Hugo's build statistics");
        }
    }
    d
}

/// `HUGO_VERSION` of `netlify.toml`, or the `hugo` line of `.tool-versions`.
fn hugo_version(project: &Project, dir: &str) -> Option<Sourced> {
    let netlify = join(dir, "netlify.toml");
    match project.read_toml::<toml::Table>(&netlify) {
        Ok(config) => {
            let version = config
                .get("build")
                .and_then(|b| b.get("environment"))
                .and_then(|e| e.get("HUGO_VERSION"))
                .and_then(|v| v.as_str());
            if let Some(v) = version {
                return Some(Sourced::new(
                    v,
                    format!("{netlify} build.environment.HUGO_VERSION"),
                ));
            }
        }
        Err(ManifestError::Read(_)) => {}
        Err(e) => project.log(&format!("{netlify}: {e}")),
    }
    let tools = join(dir, ".tool-versions");
    if let Ok(text) = project.read(&tools) {
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if words.next() == Some("hugo")
                && let Some(v) = words.next()
            {
                let v = v.trim_start_matches("extended_");
                return Some(Sourced::new(v, format!("{tools} hugo")));
            }
        }
    }
    None
}

/// The value of the first top-level key of `keys` in a TOML, YAML or JSON text
/// (`baseURL = "x"`, `baseURL: x`, `"baseURL": "x"`), unquoted.
fn value_of(text: &str, keys: &[&str]) -> Option<String> {
    for line in text.lines() {
        let line = line.trim().trim_start_matches('"');
        for key in keys {
            let Some(rest) = line.strip_prefix(key) else {
                continue;
            };
            let rest = rest.trim_start_matches('"').trim_start();
            let Some(value) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) else {
                continue;
            };
            let value = value
                .trim()
                .trim_end_matches(',')
                .trim_matches(|c| c == '"' || c == '\'');
            if !value.is_empty() {
                return Some(value.to_string());
            }
        }
    }
    None
}

export_detector!(Hugo);

/// Native tests (`cargo test`, no WebAssembly): [`Plugin::detect`] on in-memory
/// projects and on the fixtures.
#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Project {
        Project::from_folder(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/").to_owned() + name)
            .expect("the fixture folder")
    }

    #[test]
    fn a_site_in_a_subfolder_with_its_version_from_tool_versions() {
        let project = Project::in_memory([
            (
                "docs/hugo.yaml",
                "baseURL: https://docs.test/\ntheme: book\n",
            ),
            ("docs/content/_index.md", "# Docs"),
            ("docs/.tool-versions", "hugo extended_0.125.4\n"),
            ("api/package.json", "{}"),
        ]);
        let found = Hugo::detect(&project).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let site = &found[0];
        assert_eq!(
            (site.path.as_str(), site.language.as_str()),
            ("docs", "hugo")
        );
        assert_eq!(
            site.runtime_version,
            Some(Sourced::new("0.125.4", "docs/.tool-versions hugo"))
        );
        let evidence: Vec<&str> = site.evidence.iter().map(|e| e.reason.as_str()).collect();
        assert!(evidence.contains(&"theme book"), "{evidence:?}");
        assert!(evidence.contains(&"Hugo's content/ folder"), "{evidence:?}");
        assert!(project.logged().is_empty(), "{:?}", project.logged());
    }

    #[test]
    fn the_fixtures_as_the_host_sees_them() {
        let basic = Hugo::detect(&fixture("basic")).unwrap();
        assert_eq!(basic.len(), 1);
        assert_eq!(
            basic[0].runtime_version.as_ref().map(|v| v.value.as_str()),
            Some("0.121.1")
        );
        let legacy = Hugo::detect(&fixture("legacy")).unwrap();
        assert_eq!(legacy.len(), 1);
        assert!((legacy[0].confidence - 0.85).abs() < 1e-9);
        assert_eq!(Hugo::detect(&fixture("not-hugo")).unwrap(), []);
        let broken = fixture("broken-netlify");
        assert_eq!(Hugo::detect(&broken).unwrap().len(), 1);
        assert!(
            broken
                .logged()
                .iter()
                .any(|l| l.starts_with("netlify.toml: cannot parse")),
            "{:?}",
            broken.logged()
        );
    }
}
