//! Analysing a generated monorepo of about 100,000 files and 200 services, side by side
//! with a bare parallel `ignore` walk that only lists the same tree; and one small app.
//!
//! Run with `cargo bench --bench topology`. The generated tree is cached under
//! `target/bench-trees/` and made once.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use criterion::{Criterion, criterion_group, criterion_main};
use kyozo::topology::TopologyEngine;

const SERVICES: usize = 200;
const FILES_PER_SERVICE: usize = 495;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// 200 services (node, python, go, in turn), each with its manifests and ~495 source
/// files in nested folders: about 100,000 files.
fn monorepo() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-trees/monorepo-100k-v1");
    let done = root.join(".complete");
    if done.exists() {
        return root;
    }
    let _ = std::fs::remove_dir_all(&root);
    write(
        &root.join("package.json"),
        r#"{"private":true,"workspaces":["apps/*"]}"#,
    );
    write(&root.join("package-lock.json"), r#"{"lockfileVersion":3}"#);
    for i in 0..SERVICES {
        let (dir, ext) = match i % 3 {
            0 => {
                let d = root.join(format!("apps/web-{i}"));
                write(
                    &d.join("package.json"),
                    &format!(
                        r#"{{"name":"web-{i}","scripts":{{"start":"node src/index.js"}},"dependencies":{{"express":"4","pg":"8"}}}}"#
                    ),
                );
                (d, "js")
            }
            1 => {
                let d = root.join(format!("services/api-{i}"));
                write(
                    &d.join("pyproject.toml"),
                    &format!(
                        "[project]\nname = \"api-{i}\"\ndependencies = [\"fastapi\", \"uvicorn\", \"redis\"]\n"
                    ),
                );
                write(
                    &d.join("main.py"),
                    "from fastapi import FastAPI\napp = FastAPI()\n",
                );
                (d, "py")
            }
            _ => {
                let d = root.join(format!("services/worker-{i}"));
                write(
                    &d.join("go.mod"),
                    &format!("module example.com/worker{i}\n\ngo 1.22\n"),
                );
                write(&d.join("main.go"), "package main\n\nfunc main() {}\n");
                (d, "go")
            }
        };
        write(&dir.join(".env.example"), "DATABASE_URL=x\nPORT=8080\n");
        for f in 0..FILES_PER_SERVICE {
            write(
                &dir.join(format!("src/m{}/n{}/file{f}.{ext}", f % 7, f % 11)),
                "// generated\n",
            );
        }
    }
    write(&done, "");
    root
}

fn small_app() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-trees/small-app-v1");
    write(
        &root.join("package.json"),
        r#"{"name":"shop","scripts":{"start":"next start","build":"next build"},"dependencies":{"next":"14","react":"18"}}"#,
    );
    write(&root.join("package-lock.json"), r#"{"lockfileVersion":3}"#);
    write(&root.join(".nvmrc"), "20\n");
    for f in 0..20 {
        write(
            &root.join(format!("app/page{f}.tsx")),
            "export default () => null;\n",
        );
    }
    root
}

/// The baseline: list every file of the tree with the same walk settings, nothing more.
fn bare_walk(root: &Path) -> usize {
    let files = Mutex::new(Vec::new());
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .parents(false)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .threads(std::thread::available_parallelism().map_or(2, |n| n.get().min(8)))
        .build_parallel()
        .run(|| {
            let files = &files;
            Box::new(move |e| {
                if let Ok(e) = e
                    && e.file_type().is_some_and(|t| t.is_file())
                {
                    files.lock().unwrap().push(e.into_path());
                }
                ignore::WalkState::Continue
            })
        });
    files.into_inner().unwrap().len()
}

fn bench(c: &mut Criterion) {
    let root = monorepo();
    let engine = TopologyEngine::new();
    let found = engine.analyze(&root).unwrap();
    eprintln!(
        "monorepo: {} files listed by the bare walk, {} services found",
        bare_walk(&root),
        found.services.len()
    );
    let mut g = c.benchmark_group("analyze_monorepo_100k_files_200_services");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(20));
    g.bench_function("kyozo_analyze", |b| {
        b.iter(|| engine.analyze(&root).unwrap())
    });
    g.bench_function("bare_ignore_walk", |b| b.iter(|| bare_walk(&root)));
    g.bench_function("kyozo_scan_only", |b| {
        b.iter(|| kyozo::topology::ProjectView::scan(&root).unwrap())
    });
    g.finish();

    let small = small_app();
    let mut g = c.benchmark_group("analyze_small_app");
    g.bench_function("kyozo_analyze", |b| {
        b.iter(|| engine.analyze(&small).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
