//! Node workspaces: npm/yarn/pnpm workspace members, turbo, and the workspace root's
//! own detection.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Workspace {
    pub(super) root: String,
    /// Where the globs came from (`package.json workspaces`, `pnpm-workspace.yaml`...).
    pub(super) source: String,
    pub(super) globs: Vec<String>,
    pub(super) members: BTreeSet<String>,
    /// `turbo.json`, and whether it defines a `build` task.
    pub(super) turbo: Option<(String, bool)>,
    pub(super) nx: Option<String>,
    pub(super) lerna: Option<String>,
}

pub(super) fn find_workspaces(
    view: &ProjectView,
    packages: &BTreeMap<String, Option<PackageJson>>,
) -> Vec<Workspace> {
    let mut roots: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (dir, pkg) in packages {
        if let Some(globs) = pkg.as_ref().and_then(|p| p.workspaces.clone()) {
            roots.insert(
                dir.clone(),
                (join(dir, "package.json") + " workspaces", globs),
            );
        }
    }
    for path in view.named("pnpm-workspace.yaml") {
        let dir = parent(path).to_string();
        let globs = view
            .text(path)
            .map(|t| match pnpm_workspace_packages(&t) {
                Ok(g) => g,
                Err(e) => {
                    common::invalid(view, path, e);
                    Vec::new()
                }
            })
            .unwrap_or_default();
        // pnpm ignores package.json workspaces; its file wins.
        roots.insert(dir, (path.to_string(), globs));
    }
    for path in view.named("lerna.json") {
        let dir = parent(path).to_string();
        if roots.contains_key(&dir) || !packages.contains_key(&dir) {
            continue;
        }
        let globs = view
            .text(path)
            .and_then(|t| jsonc::parse(&t).ok())
            .and_then(|v| {
                v.get("packages").and_then(|p| p.as_array()).map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect::<Vec<_>>()
                })
            })
            .unwrap_or_else(|| vec!["packages/*".to_string()]);
        roots.insert(dir, (path.to_string(), globs));
    }

    let mut out = Vec::new();
    for (root, (source, globs)) in roots {
        let members = resolve_members(&root, &globs, packages);
        let turbo_path = join(&root, "turbo.json");
        let turbo = view.is_file(&turbo_path).then(|| {
            let has_build = view
                .text(&turbo_path)
                .is_some_and(|t| match jsonc::parse(&t) {
                    Ok(v) => turbo_has_build(&v),
                    Err(e) => {
                        common::invalid(view, &turbo_path, e);
                        false
                    }
                });
            (turbo_path.clone(), has_build)
        });
        let nx = Some(join(&root, "nx.json")).filter(|p| view.is_file(p));
        let lerna = Some(join(&root, "lerna.json")).filter(|p| view.is_file(p));
        out.push(Workspace {
            root,
            source,
            globs,
            members,
            turbo,
            nx,
            lerna,
        });
    }
    out
}

/// The `packages` globs of a `pnpm-workspace.yaml` (empty when it has none: pnpm 9 allows
/// a file with only catalogs or settings).
pub(super) fn pnpm_workspace_packages(text: &str) -> Result<Vec<String>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    Ok(value
        .get("packages")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

pub(super) fn turbo_has_build(v: &serde_json::Value) -> bool {
    ["tasks", "pipeline"].iter().any(|k| {
        v.get(*k)
            .and_then(|t| t.as_object())
            .is_some_and(|t| t.keys().any(|k| k == "build" || k.ends_with("#build")))
    })
}

/// Member folders: package folders inside `root` whose path relative to it matches a
/// glob and no negated (`!`) glob.
pub(super) fn resolve_members(
    root: &str,
    globs: &[String],
    packages: &BTreeMap<String, Option<PackageJson>>,
) -> BTreeSet<String> {
    let build = |patterns: &mut dyn Iterator<Item = &str>| {
        let mut b = globset::GlobSetBuilder::new();
        for p in patterns {
            let p = p.trim();
            let p = p.strip_prefix("./").unwrap_or(p).trim_end_matches('/');
            if p.is_empty() || p == "." {
                continue;
            }
            if let Ok(g) = globset::GlobBuilder::new(p).literal_separator(true).build() {
                b.add(g);
            }
        }
        b.build().ok()
    };
    let Some(include) = build(
        &mut globs
            .iter()
            .map(String::as_str)
            .filter(|g| !g.starts_with('!')),
    ) else {
        return BTreeSet::new();
    };
    let exclude = build(&mut globs.iter().filter_map(|g| g.strip_prefix('!')));
    packages
        .keys()
        .filter_map(|dir| {
            let rel = relative_to(root, dir)?;
            (!rel.is_empty()
                && include.is_match(rel)
                && !exclude.as_ref().is_some_and(|e| e.is_match(rel)))
            .then(|| dir.clone())
        })
        .collect()
}

pub(super) fn workspace_patterns(w: &Workspace, pm: &str) -> Vec<String> {
    let mut p = vec![format!("{pm}-workspaces")];
    if w.turbo.is_some() {
        p.push("turbo".into());
    }
    if w.nx.is_some() {
        p.push("nx".into());
    }
    if w.lerna.is_some() {
        p.push("lerna".into());
    }
    p
}

pub(super) fn workspace_evidence(w: &Workspace) -> Vec<Evidence> {
    let mut ev = vec![Evidence::new(
        w.source.split(' ').next().unwrap_or(&w.source),
        format!(
            "workspace of {} package(s): {}",
            w.members.len(),
            w.globs.join(", ")
        ),
    )];
    if let Some((p, _)) = &w.turbo {
        ev.push(Evidence::new(p, "Turborepo pipeline"));
    }
    if let Some(p) = &w.nx {
        ev.push(Evidence::new(p, "Nx workspace"));
    }
    if let Some(p) = &w.lerna {
        ev.push(Evidence::new(p, "Lerna monorepo"));
    }
    ev
}

pub(super) fn workspace_root_detection(
    view: &ProjectView,
    w: &Workspace,
    pkg: Option<&PackageJson>,
) -> Detection {
    let pm = PackageManager::resolve(view, &w.root, pkg);
    let mut d =
        Detection::new("node", w.root.clone(), "node", 0.9).with_kind(DetectionKind::WorkspaceRoot);
    d.evidence = workspace_evidence(w);
    d.hints.patterns = workspace_patterns(w, pm.name);
    d.hints.name = pkg
        .and_then(|p| p.name.clone())
        .map(|n| Sourced::new(n, join(&w.root, "package.json") + " name"));
    d.hints.package_manager = Some(Sourced::new(pm.name.to_string(), pm.source.clone()));
    d.hints.install_command = Some(pm.install());
    d
}
