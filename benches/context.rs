//! The fingerprint of a build context (`kyozo::backend::fingerprint`), which `kyozo up`
//! computes for every service it may deploy: a large tree of about 20,000 source files
//! and a few large assets, about 100 MB in all.
//!
//! Run with `cargo bench --no-default-features --bench context`. The tree is cached
//! under `target/tmp/bench-trees/` and made once.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};

const FOLDERS: usize = 200;
const FILES_PER_FOLDER: usize = 100;
const ASSETS: usize = 5;
const ASSET_BYTES: usize = 10 << 20;

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// 20,000 files of 2.5 KB in 200 folders and five 10 MB assets, with a `.dockerignore`.
fn tree() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-trees/context-100mb-v1");
    let done = root.join(".complete");
    if done.exists() {
        return root;
    }
    let _ = std::fs::remove_dir_all(&root);
    write(&root.join(".dockerignore"), b"*.log\nnode_modules\n");
    write(&root.join("Dockerfile"), b"FROM scratch\nCOPY . /app\n");
    let line = b"export function handler(request, response) { return response.send(42); }\n";
    let source: Vec<u8> = line.iter().copied().cycle().take(2500).collect();
    for f in 0..FOLDERS {
        for i in 0..FILES_PER_FOLDER {
            let mut bytes = source.clone();
            bytes.extend_from_slice(format!("// {f}/{i}\n").as_bytes());
            write(&root.join(format!("src/m{f}/f{i}.js")), &bytes);
        }
    }
    for a in 0..ASSETS {
        let bytes: Vec<u8> = (0..ASSET_BYTES)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ a as u8)
            .collect();
        write(&root.join(format!("assets/a{a}.bin")), &bytes);
    }
    write(&done, b"");
    root
}

fn fingerprint(c: &mut Criterion) {
    let root = tree();
    let mut group = c.benchmark_group("context");
    group.sample_size(10);
    group.bench_function("fingerprint_20k_files_100mb", |b| {
        b.iter(|| kyozo::backend::fingerprint(&root, "Dockerfile", &["FROM scratch"]).unwrap());
    });
    group.finish();
}

criterion_group!(benches, fingerprint);
criterion_main!(benches);
