//! Serving `list-files` from the engine's walk: a glob over the view's sorted paths,
//! with fast paths for the shapes plugins use most (`**/name`, `**/name.{a,b}`,
//! `dir/**`), so a call costs microseconds, not a scan of the whole project.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use globset::{GlobBuilder, GlobMatcher};

use crate::topology::ProjectView;

/// Compiled globs of one plugin, kept across its calls: a plugin asks for the same
/// few globs every time, and compiling one costs more than the walk it filters.
#[derive(Debug, Default)]
pub(super) struct GlobCache {
    compiled: Mutex<HashMap<String, Arc<GlobMatcher>>>,
}

/// Globs kept per plugin; past this the cache starts over.
const CACHED_GLOBS: usize = 64;

impl GlobCache {
    fn get(&self, glob: &str) -> Result<Arc<GlobMatcher>, String> {
        if let Some(m) = self.compiled.lock().ok().and_then(|c| c.get(glob).cloned()) {
            return Ok(m);
        }
        let m = Arc::new(
            GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("invalid glob {glob:?}: {}", e.kind()))?
                .compile_matcher(),
        );
        if let Ok(mut c) = self.compiled.lock() {
            if c.len() >= CACHED_GLOBS {
                c.clear();
            }
            c.insert(glob.to_string(), m.clone());
        }
        Ok(m)
    }
}

/// The files a plugin says it reads, checked before it is run: file names looked up
/// in the view's name index, other globs matched in one pass over the paths.
#[derive(Debug, Default)]
pub(super) struct Interest {
    names: Vec<String>,
    globs: Option<globset::GlobSet>,
    any: bool,
}

impl Interest {
    /// The interest of `globs` (already checked to compile).
    pub(super) fn new(globs: &[String]) -> Self {
        let mut names = Vec::new();
        let mut set = globset::GlobSetBuilder::new();
        let mut others = 0;
        for g in globs {
            let g = g.trim_start_matches("./");
            match g.strip_prefix("**/").and_then(literal_names) {
                Some(n) => names.extend(n),
                None => {
                    if let Ok(glob) = GlobBuilder::new(g).literal_separator(true).build() {
                        set.add(glob);
                        others += 1;
                    }
                }
            }
        }
        Self {
            names,
            globs: (others > 0).then(|| set.build().ok()).flatten(),
            any: globs.is_empty(),
        }
    }

    /// Whether `view` holds a file the plugin reads (always, for a plugin that names
    /// none).
    pub(super) fn matches(&self, view: &ProjectView) -> bool {
        self.any
            || self.names.iter().any(|n| !view.named(n).is_empty())
            || self
                .globs
                .as_ref()
                .is_some_and(|set| view.files().any(|f| set.is_match(f)))
    }
}

/// Characters that make a path component a pattern rather than a literal.
const META: &[char] = &['*', '?', '[', ']', '{', '}', '\\', '!'];

/// The view's files matching `glob`, sorted, at most `limit`. `examined` is the
/// call's budget of paths looked at; it is charged for every path tested. A glob
/// reaching out of the root (`..`, an absolute path) matches nothing.
pub(super) fn select(
    view: &ProjectView,
    glob: &str,
    limit: usize,
    examined: &mut u64,
    cache: &GlobCache,
) -> Result<Vec<String>, String> {
    let glob = glob.trim_start_matches("./");
    if glob.starts_with('/') || glob.split('/').any(|c| c == "..") || limit == 0 {
        return Ok(Vec::new());
    }
    if let Some(names) = glob.strip_prefix("**/").and_then(literal_names) {
        let mut found: Vec<&str> = Vec::new();
        for name in &names {
            let hits = view.named(name);
            charge(examined, hits.len())?;
            found.extend(hits.iter().map(|p| &**p));
        }
        found.sort_unstable();
        found.dedup();
        found.truncate(limit);
        return Ok(found.into_iter().map(str::to_string).collect());
    }
    // `dir/**`: every file under a literal folder, no matching needed.
    if let Some(dir) = glob.strip_suffix("/**")
        && !dir.contains(META)
        && !dir.is_empty()
    {
        let prefix = format!("{dir}/");
        let mut found = Vec::new();
        for path in view.files_from(&prefix) {
            if !path.starts_with(&prefix) || found.len() >= limit {
                break;
            }
            charge(examined, 1)?;
            found.push(path.to_string());
        }
        return Ok(found);
    }
    let matcher = cache.get(glob)?;
    // Every match starts with the glob's literal folders: scan only that run of the
    // sorted paths.
    let literal: Vec<&str> = glob.split('/').take_while(|c| !c.contains(META)).collect();
    let whole = literal.len() == glob.split('/').count();
    let prefix = if whole {
        // No pattern at all: one exact path.
        return Ok(if view.is_file(glob) {
            vec![glob.to_string()]
        } else {
            Vec::new()
        });
    } else if literal.is_empty() {
        String::new()
    } else {
        format!("{}/", literal.join("/"))
    };
    let mut found = Vec::new();
    for path in view.files_from(&prefix) {
        if !path.starts_with(&prefix) {
            break;
        }
        charge(examined, 1)?;
        if matcher.is_match(path) {
            found.push(path.to_string());
            if found.len() >= limit {
                break;
            }
        }
    }
    Ok(found)
}

fn charge(examined: &mut u64, n: usize) -> Result<(), String> {
    let n = n as u64;
    if *examined < n {
        *examined = 0;
        return Err("the budget of paths examined by file listings is spent".into());
    }
    *examined -= n;
    Ok(())
}

/// `name` or `stem.{a,b,c}` (one alternation, no other pattern): the file names it
/// stands for. Anything else is `None`.
fn literal_names(pattern: &str) -> Option<Vec<String>> {
    if pattern.contains('/') {
        return None;
    }
    if !pattern.contains(META) {
        return Some(vec![pattern.to_string()]);
    }
    let open = pattern.find('{')?;
    let close = pattern.rfind('}')?;
    if close < open {
        return None;
    }
    let head = pattern.get(..open)?;
    let inner = pattern.get(open + 1..close)?;
    let tail = pattern.get(close + 1..)?;
    if head.contains(META) || tail.contains(META) || inner.contains(META) {
        return None;
    }
    Some(
        inner
            .split(',')
            .map(|alt| format!("{head}{alt}{tail}"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn literal_names_expand_one_alternation_only() {
        assert_eq!(
            literal_names("hugo.toml"),
            Some(vec!["hugo.toml".to_string()])
        );
        assert_eq!(
            literal_names("hugo.{toml,yaml}"),
            Some(vec!["hugo.toml".to_string(), "hugo.yaml".to_string()])
        );
        assert_eq!(literal_names("*.toml"), None);
        assert_eq!(literal_names("a/b.toml"), None);
        assert_eq!(literal_names("{a,b}.{c,d}"), None);
        assert_eq!(literal_names("}{"), None);
        assert_eq!(literal_names("a}b{c"), None);
    }

    fn view(files: &[&str]) -> (tempfile::TempDir, ProjectView) {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let v = ProjectView::scan(dir.path()).unwrap();
        (dir, v)
    }

    #[test]
    fn every_path_shape_gives_what_a_full_glob_scan_gives() {
        let (_d, v) = view(&[
            "hugo.toml",
            "site/hugo.yaml",
            "site/content/a.md",
            "site/content/deep/b.md",
            "site/layouts/x.html",
            "sites/content/c.md",
            "docs/config.toml",
        ]);
        for glob in [
            "**/hugo.toml",
            "**/hugo.{toml,yaml}",
            "site/content/**",
            "site/**",
            "site/content/deep/**",
            "site/*",
            "*.toml",
            "**/*.md",
            "**",
            "site/hugo.yaml",
            "nope/**",
            "s*/content/*.md",
        ] {
            let mut budget = u64::MAX;
            let fast = select(&v, glob, 100, &mut budget, &GlobCache::default()).unwrap();
            let m = GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .unwrap()
                .compile_matcher();
            let slow: Vec<String> = v
                .files()
                .filter(|f| m.is_match(f))
                .map(String::from)
                .collect();
            assert_eq!(fast, slow, "{glob}");
        }
    }

    #[test]
    fn globs_out_of_the_root_match_nothing_and_budgets_are_charged() {
        let (_d, v) = view(&["a.txt", "b/c.txt"]);
        let cache = GlobCache::default();
        let mut budget = u64::MAX;
        assert!(
            select(&v, "../*", 10, &mut budget, &cache)
                .unwrap()
                .is_empty()
        );
        assert!(
            select(&v, "/etc/*", 10, &mut budget, &cache)
                .unwrap()
                .is_empty()
        );
        assert!(
            select(&v, "b/../../*", 10, &mut budget, &cache)
                .unwrap()
                .is_empty()
        );
        let mut budget = 1;
        assert!(select(&v, "**", 10, &mut budget, &cache).is_err());
        let mut budget = u64::MAX;
        assert_eq!(select(&v, "**", 1, &mut budget, &cache).unwrap().len(), 1);
        assert!(select(&v, "[", 10, &mut budget, &cache).is_err());
    }
}
