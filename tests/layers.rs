//! The layers of `/work/shared/DESIGN.md`, kept by a scan of the sources: the topology
//! engine and the model are below the planner and the runtime, so no file of theirs
//! names `crate::plan` or `crate::runtime` (an arrow upward is a design bug: move the
//! shared piece down). The model and the store never name `crate::auth` either: an
//! actor is plain data of the model, and only the facade asks the policy; the runtime
//! beneath it never does. And no two modules lean on each other through any chain of
//! imports.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every line of the `.rs` files of `layers` (under `src/`) that names one of `above`.
fn naming(layers: &[&str], above: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for layer in layers {
        sources(&src.join(layer), &mut files);
    }
    assert!(files.len() > 5, "the scan found the sources: {files:?}");
    let mut upward = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if above.iter().any(|a| line.contains(a)) {
                upward.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(&src).unwrap().display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    upward
}

#[test]
fn topology_and_model_never_name_the_layers_above_them() {
    let upward = naming(
        &["topology", "model"],
        &[
            "crate::plan",
            "crate::runtime",
            "crate::kyozo",
            "crate::Kyozo",
        ],
    );
    assert!(
        upward.is_empty(),
        "layers below the plan name it (or the runtime):\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_runtime_never_asks_the_policy() {
    let asking = naming(
        &["runtime"],
        &[
            "crate::auth",
            "crate::auth::policy",
            "authorize",
            "authorized_service",
        ],
    );
    assert!(
        asking.is_empty(),
        "the runtime asks the policy (only the Kyozo facade may, before it delegates):\n{}",
        asking.join("\n")
    );
}

#[test]
fn model_and_store_never_name_the_policy() {
    let upward = naming(&["model", "store"], &["crate::auth", "crate::runtime"]);
    assert!(
        upward.is_empty(),
        "the model or the store names the policy (or the runtime):\n{}",
        upward.join("\n")
    );
}

/// The top-level module a file under `src/` belongs to (`plan` for `src/plan/mod.rs`
/// and `src/plan/install.rs`, `safe_fs` for `src/safe_fs.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a source text names through `crate::`: paths
/// (`crate::plan::Plan`), grouped imports (`use crate::{model, store::Store}`), and
/// the crate root's re-exports of `error` and `kyozo` (`crate::Error`, `crate::Kyozo`).
fn named_modules(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The names at the group's top level (`model` and `store` in
            // `{model::{A, B}, store}`).
            let mut depth = 0usize;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        out.insert(ident(&group[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    let mut modules = std::collections::BTreeSet::new();
    for name in out {
        match name.as_str() {
            "" | "self" => {}
            "Error" | "Result" => {
                modules.insert("error".to_string());
            }
            "Kyozo" | "KyozoBuilder" => {
                modules.insert("kyozo".to_string());
            }
            n if n.chars().next().is_some_and(|c| c.is_ascii_lowercase()) => {
                modules.insert(name);
            }
            _ => {}
        }
    }
    modules
}

/// No two modules of `src/` lean on each other, directly or through others: the
/// import graph of the top-level modules (every `crate::` path and grouped import) has
/// no cycle, so each layer can be read, tested and replaced from below.
#[test]
fn the_modules_import_each_other_without_a_cycle() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap();
        let entry = graph.entry(module.clone()).or_default();
        for named in named_modules(&text) {
            if named != module {
                entry.insert(named);
            }
        }
    }
    assert!(graph.len() > 8, "the scan found the modules: {graph:?}");
    // The detector of a grouped import works: the planner names the topology so.
    assert!(graph["plan"].contains("topology"), "{graph:?}");

    // A depth-first walk from every module; a module met again on the current path
    // closes a cycle.
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        let here = path.last().unwrap().clone();
        for next in graph.get(&here).into_iter().flatten() {
            if let Some(start) = path.iter().position(|m| m == next) {
                let mut cycle = path[start..].to_vec();
                cycle.push(next.clone());
                cycles.push(cycle.join(" -> "));
            } else if path.len() < graph.len() {
                path.push(next.clone());
                walk(graph, path, cycles);
                path.pop();
            }
        }
    }
    let mut cycles = Vec::new();
    for module in graph.keys() {
        walk(&graph, &mut vec![module.clone()], &mut cycles);
    }
    cycles.sort();
    cycles.dedup();
    assert!(
        cycles.is_empty(),
        "modules that import each other:\n{}\nthe graph: {graph:#?}",
        cycles.join("\n")
    );
}

#[test]
fn grouped_imports_and_root_reexports_are_seen() {
    let named = named_modules(
        "use crate::{model::{Service, Team}, store};\nfn f() -> crate::Result<()> { crate::plan::x() }\n// crate::runtime in a comment\n",
    );
    let named: Vec<&str> = named.iter().map(String::as_str).collect();
    assert_eq!(named, ["error", "model", "plan", "store"]);
}
