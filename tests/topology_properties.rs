//! Property tests of the topology engine: random trees of real and garbled manifests
//! never panic, confidences stay in [0, 1], and the output is identical across runs and
//! walk orders (1 thread or 4).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kyozo::topology::{ScanOptions, Topology, TopologyEngine};
use proptest::prelude::*;

const DIRS: &[&str] = &[
    "",
    "apps/web",
    "apps/api",
    "services/worker",
    "packages/ui",
    "src",
    "a/b/c",
];
const NAMES: &[&str] = &[
    "package.json",
    "pnpm-lock.yaml",
    "requirements.txt",
    "pyproject.toml",
    "manage.py",
    "go.mod",
    "main.go",
    "Cargo.toml",
    "Gemfile",
    "composer.json",
    "mix.exs",
    "pom.xml",
    "build.gradle",
    "Dockerfile",
    "compose.yaml",
    "docker-compose.yml",
    "Procfile",
    "index.html",
    ".nvmrc",
    ".env.example",
    "deno.json",
    "shard.yml",
    "pubspec.yaml",
    "Package.swift",
    "build.zig",
    "CMakeLists.txt",
    "stack.yaml",
    "app.csproj",
    "start.sh",
    "random.bin",
];
const CONTENTS: &[&str] = &[
    r#"{"name":"web","scripts":{"start":"next start","build":"next build"},"dependencies":{"next":"14","pg":"8"}}"#,
    r#"{"workspaces":["apps/*","packages/*"],"private":true}"#,
    "flask==3.0\ngunicorn\npsycopg2-binary\n",
    "[project]\nname = \"api\"\ndependencies = [\"fastapi\", \"uvicorn\"]\nrequires-python = \">=3.11\"\n",
    "module example.com/x\n\ngo 1.22\n\nrequire github.com/lib/pq v1.10.9\n",
    "package main\n\nfunc main() {}\n",
    "[package]\nname = \"svc\"\nversion = \"0.1.0\"\n\n[workspace]\nmembers = [\"crates/*\"]\n",
    "source 'https://rubygems.org'\ngem 'rails', '~> 7.1'\ngem 'pg'\n",
    "FROM node:20-alpine\nEXPOSE 3000\nCMD [\"npm\", \"start\"]\n",
    "services:\n  web:\n    build: .\n    ports: [\"8080:80\"]\n    depends_on: [db]\n  db:\n    image: postgres:16\n",
    "web: gunicorn app:app\nworker: celery -A app worker\n",
    "<html><body>hi</body></html>",
    "20.11.0\n",
    "DATABASE_URL=postgres://x\nREDIS_URL=redis://y\n",
    "{ not json",
    "[[[ not toml",
    "services: [: not yaml",
    "\u{0}\u{1}\u{2}binary\u{0}",
    "",
    "#!/bin/sh\nexec ./server\n",
    "<project><modules><module>a</module></modules></project>",
    "cmake_minimum_required(VERSION 3.20)\nproject(x)\nadd_executable(x main.cpp)\n",
];

fn tree() -> impl Strategy<Value = Vec<(usize, usize, usize)>> {
    proptest::collection::vec((0..DIRS.len(), 0..NAMES.len(), 0..CONTENTS.len()), 0..24)
}

fn analyze(root: &std::path::Path, threads: usize) -> Topology {
    let mut options = ScanOptions::default();
    options.threads = threads;
    let mut t = TopologyEngine::new()
        .with_options(options)
        .analyze(root)
        .unwrap();
    t.duration_ms = 0;
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_are_analysed_deterministically(files in tree()) {
        let dir = tempfile::tempdir().unwrap();
        for (d, n, c) in &files {
            let path = dir.path().join(DIRS[*d]).join(NAMES[*n]);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, CONTENTS[*c]).unwrap();
        }
        let first = analyze(dir.path(), 1);
        let second = analyze(dir.path(), 4);
        let third = analyze(dir.path(), 2);
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(&first, &third);
        for s in &first.services {
            prop_assert!((0.0..=1.0).contains(&s.confidence), "{} has confidence {}", s.name, s.confidence);
            prop_assert!(!s.evidence.is_empty() || s.image.is_some(), "{} has no evidence", s.name);
        }
        let mut names: Vec<&str> = first.services.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        prop_assert_eq!(before, names.len(), "service names are unique");
        // The JSON form is stable too.
        prop_assert_eq!(serde_json::to_string(&first).unwrap(), serde_json::to_string(&second).unwrap());
    }
}
