//! The staticfile detector: folders whose deployable thing is a set of static files.
//!
//! - A `Staticfile` (Cloud Foundry's staticfile buildpack) makes its folder a static site
//!   (confidence 0.85); its `root:` directive names the folder served, `pushstate:
//!   enabled` makes it a single-page app.
//! - An `index.html` at a folder's root, with no app manifest beside it (`package.json`,
//!   `go.mod`, `requirements.txt`...: see [`APP_MANIFESTS`]), is a static site (0.55, 0.6
//!   with stylesheets or scripts next to it).
//! - A `public/index.html` in a folder without an app manifest nor its own `index.html`
//!   makes that folder a static site serving `public/` (0.5).
//!
//! Not claimed: templates (`templates/`, `views/`, `layouts/`..., or an `index.html` with
//! front matter or `{%` tags), Jekyll and Hugo sources (plugins handle those), test
//! fixtures, and a folder inside another static site (its subpages). A static folder
//! inside another service is dropped by the merge (it is that service's assets).
//!
//! A static site is served by Caddy (the image Kyozo generates for it): start `caddy run
//! --config /etc/caddy/Caddyfile`, port 80, both assumed; the source names the folder
//! served.

use crate::topology::is_inside;
use crate::topology::{
    Detection, Detector, DetectorError, ProjectView, Sourced, file_name, join, parent,
};

/// Manifests of an app that serves its own pages: a folder holding one is not a static
/// site (and its scripts are not a shell app). Sorted.
pub(super) const APP_MANIFESTS: &[&str] = &[
    "CMakeLists.txt",
    "Cargo.toml",
    "Gemfile",
    "Package.swift",
    "Pipfile",
    "build.gradle",
    "build.gradle.kts",
    "build.sbt",
    "build.zig",
    "cabal.project",
    "composer.json",
    "deno.json",
    "deno.jsonc",
    "deps.edn",
    "gleam.toml",
    "go.mod",
    "main.go",
    "manage.py",
    "meson.build",
    "mix.exs",
    "package.json",
    "pom.xml",
    "project.clj",
    "pubspec.yaml",
    "pyproject.toml",
    "requirements.txt",
    "setup.py",
    "shard.yml",
    "stack.yaml",
];

/// Extensions of project files that also mean an app (`.csproj`...).
const APP_EXTENSIONS: &[&str] = &["cabal", "csproj", "fsproj", "sln"];

/// Whether folder `dir` holds an app manifest.
pub(super) fn has_app_manifest(view: &ProjectView, dir: &str) -> bool {
    APP_MANIFESTS.iter().any(|m| view.is_file(&join(dir, m)))
        || view.files_in(dir).any(|f| {
            file_name(f)
                .rsplit_once('.')
                .is_some_and(|(stem, ext)| !stem.is_empty() && APP_EXTENSIONS.contains(&ext))
        })
}

/// Folder names whose `index.html` is a template or a fixture, not a site.
const NOT_SITES: &[&str] = &[
    "__fixtures__",
    "__tests__",
    "_includes",
    "_layouts",
    "cypress",
    "e2e",
    "fixtures",
    "includes",
    "layouts",
    "partials",
    "templates",
    "test",
    "tests",
    "views",
];

/// Files that mark a Jekyll or Hugo source folder.
const GENERATOR_SOURCES: &[&str] = &["_config.yml", "hugo.json", "hugo.toml", "hugo.yaml"];

/// Detects static sites.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StaticfileDetector;

#[derive(Debug)]
struct Candidate {
    dir: String,
    /// The folder served, relative to `dir` (`""`: `dir` itself).
    root: String,
    detection: Detection,
}

impl Detector for StaticfileDetector {
    fn id(&self) -> &str {
        "staticfile"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut candidates: Vec<Candidate> = Vec::new();
        for path in view.named("Staticfile") {
            let dir = parent(path).to_string();
            let text = view.text(path).unwrap_or_default();
            let directives = parse_staticfile(&text);
            let root = directives
                .root
                .clone()
                .filter(|r| !r.contains("..") && !r.starts_with('/'))
                .unwrap_or_default();
            let mut d = Detection::new("staticfile", dir.clone(), "staticfile", 0.85)
                .with_evidence(
                    path.to_string(),
                    match &directives.root {
                        Some(r) => format!("Cloud Foundry Staticfile serving {r}/"),
                        None => "Cloud Foundry Staticfile".to_string(),
                    },
                );
            if directives.pushstate {
                d.evidence.push(crate::topology::Evidence::new(
                    path.to_string(),
                    "pushstate: enabled (single-page app)",
                ));
            }
            let served = join(&dir, &root);
            if view.is_file(&join(&served, "index.html")) {
                d.boost(0.05);
                d.evidence.push(crate::topology::Evidence::new(
                    join(&served, "index.html"),
                    "site entry page",
                ));
            }
            candidates.push(Candidate {
                dir,
                root,
                detection: d,
            });
        }

        for path in view.named("index.html") {
            let dir = parent(path);
            if candidates.iter().any(|c| c.dir == dir) || !is_site_folder(view, dir) {
                continue;
            }
            if !is_plain_html(view, path) {
                continue;
            }
            // `X/public/index.html`: X is the site when X holds nothing else runnable.
            let (site, root) = match dir.rsplit_once('/').unwrap_or(("", dir)) {
                (p, "public")
                    if !view.is_file(&join(p, "index.html")) && is_site_folder(view, p) =>
                {
                    (p.to_string(), "public".to_string())
                }
                _ => (dir.to_string(), String::new()),
            };
            if candidates.iter().any(|c| c.dir == site) {
                continue;
            }
            // Stylesheets or scripts beside it, or in an assets folder.
            let asset_dirs: Vec<&str> = std::iter::once(dir)
                .chain(view.dirs_in(dir).filter(|d| {
                    matches!(file_name(d), "css" | "js" | "assets" | "styles" | "scripts")
                }))
                .collect();
            let asset = asset_dirs.iter().find_map(|d| {
                view.files_in(d)
                    .find(|f| f.ends_with(".css") || f.ends_with(".js"))
                    .map(str::to_string)
            });
            let confidence = match (root.is_empty(), asset.is_some()) {
                (false, _) => 0.5,
                (true, true) => 0.6,
                (true, false) => 0.55,
            };
            let mut d = Detection::new("staticfile", site.clone(), "staticfile", confidence)
                .with_evidence(
                    path.to_string(),
                    "index.html with no app manifest beside it",
                );
            if let Some(a) = asset {
                d.evidence.push(crate::topology::Evidence::new(
                    a,
                    "stylesheet or script of the site",
                ));
            }
            candidates.push(Candidate {
                dir: site,
                root,
                detection: d,
            });
        }

        // A folder inside another static site is one of its pages.
        let dirs: Vec<String> = candidates.iter().map(|c| c.dir.clone()).collect();
        candidates.retain(|c| !dirs.iter().any(|other| is_inside(&c.dir, other)));

        Ok(candidates
            .into_iter()
            .map(|c| {
                let mut d = c.detection;
                let served = if c.root.is_empty() {
                    "the folder itself".to_string()
                } else {
                    format!("{}/", c.root)
                };
                d.hints.start_command = Some(Sourced::assumed(
                    "caddy run --config /etc/caddy/Caddyfile".to_string(),
                    format!("staticfile (caddy serving {served})"),
                ));
                d.hints.ports = vec![Sourced::assumed(80, "staticfile (caddy)")];
                d
            })
            .collect())
    }
}

/// Whether `dir` may be a static site: no app manifest, not a template or fixture folder,
/// not a Jekyll/Hugo source.
fn is_site_folder(view: &ProjectView, dir: &str) -> bool {
    if has_app_manifest(view, dir) {
        return false;
    }
    if dir
        .split('/')
        .any(|part| NOT_SITES.contains(&part) || (part.starts_with('.') && part.len() > 1))
    {
        return false;
    }
    let generator = GENERATOR_SOURCES
        .iter()
        .any(|g| view.is_file(&join(dir, g)))
        || (view.is_file(&join(dir, "config.toml")) && view.is_dir(&join(dir, "layouts")));
    !generator
}

/// An `index.html` that is a page, not a template (front matter, Jinja/Liquid tags).
fn is_plain_html(view: &ProjectView, path: &str) -> bool {
    match view.text(path) {
        Some(text) => !text.trim_start().starts_with("---") && !text.contains("{%"),
        None => false,
    }
}

/// The directives of a `Staticfile` that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
struct StaticfileDirectives {
    root: Option<String>,
    pushstate: bool,
}

/// Parses `key: value` lines (comments with `#`).
fn parse_staticfile(text: &str) -> StaticfileDirectives {
    let mut out = StaticfileDirectives::default();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        match key.trim() {
            "root" if !value.is_empty() => {
                let v = value.trim_start_matches("./").trim_end_matches('/');
                if !v.is_empty() && v != "." {
                    out.root = Some(v.to_string());
                }
            }
            "pushstate" => out.pushstate = value.eq_ignore_ascii_case("enabled"),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A temporary project holding `files`, and what the detector finds in it.
    fn scan(files: &[(&str, &str)]) -> Vec<Detection> {
        crate::topology::testing::scan(&StaticfileDetector, files)
    }

    #[test]
    fn what_is_not_a_site() {
        let found = scan(&[
            // Beside an app manifest: the app's page.
            ("web/index.html", "<html></html>"),
            ("web/package.json", "{}"),
            // A template folder.
            (
                "app/templates/index.html",
                "<html>{% block body %}{% endblock %}</html>",
            ),
            // A Jekyll source.
            ("blog/_config.yml", "title: Blog"),
            ("blog/index.html", "---\nlayout: home\n---\n"),
            // Test fixtures.
            ("tests/fixtures/site/index.html", "<html></html>"),
        ]);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn public_folder_without_a_manifest_is_served_from_its_parent() {
        let found = scan(&[
            ("landing/public/index.html", "<html></html>"),
            ("landing/public/404.html", "<html></html>"),
            ("landing/README.md", "# Landing"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "landing");
        assert!(
            found[0]
                .hints
                .start_command
                .as_ref()
                .unwrap()
                .source
                .to_string()
                .contains("public/"),
            "{:?}",
            found[0].hints.start_command
        );
    }

    #[test]
    fn subpages_belong_to_the_site() {
        let found = scan(&[
            ("docs/index.html", "<html></html>"),
            ("docs/guide/index.html", "<html></html>"),
            ("docs/api/index.html", "<html></html>"),
        ]);
        let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, vec!["docs"]);
    }

    #[test]
    fn staticfile_directives() {
        let d = parse_staticfile("# site\nroot: ./dist/\npushstate: enabled\ngzip: on\n");
        assert_eq!(d.root.as_deref(), Some("dist"));
        assert!(d.pushstate);
        assert_eq!(parse_staticfile(""), StaticfileDirectives::default());
        assert_eq!(parse_staticfile("root: .").root, None);
        assert_eq!(parse_staticfile("root:\n::\n").root, None);
    }

    #[test]
    fn manifests_sorted() {
        assert!(APP_MANIFESTS.windows(2).all(|w| w[0] < w[1]));
        assert!(NOT_SITES.windows(2).all(|w| w[0] < w[1]));
    }

    proptest::proptest! {
        #[test]
        fn directives_never_panic(text in "\\PC*") {
            let _ = parse_staticfile(&text);
        }
    }
}
