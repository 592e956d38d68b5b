//! Deploying on the real Docker Engine, side by side with `docker run -d` of the same
//! image in the same run.
//!
//! - `deploy/docker-run`: `docker run -d` of the busybox test image running httpd (the
//!   CLI, as a user would), then `docker rm -f` outside the timing.
//! - `deploy/kyozo`: `Kyozo::deploy` of a service running the same image and command
//!   (no build: the image is given; no health check, no port: ready when running),
//!   with its audit trail in a redb file; `remove_service` outside the timing.
//!
//! Run with `cargo bench --bench runtime` (needs the engine and `/bin/busybox`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[path = "../tests/common/docker.rs"]
mod docker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kyozo::Kyozo;
use kyozo::backend::ContainerBackend;
use kyozo::model::ServiceInstance;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(engine) = rt.block_on(docker::engine()) else {
        return;
    };
    let image = rt.block_on(docker::busybox(&engine));
    let cleanup = docker::Cleanup::new();
    let label = format!("{}={}", docker::LABEL_TEST_RUN, cleanup.run);

    let mut g = c.benchmark_group("deploy");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("docker-run", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let out = std::process::Command::new("docker")
                    .args([
                        "run", "-d", "--init", "--label", &label, &image, "httpd", "-f", "-p",
                        "8080",
                    ])
                    .output()
                    .unwrap();
                total += started.elapsed();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
                std::process::Command::new("docker")
                    .args(["rm", "-f", &id])
                    .output()
                    .unwrap();
            }
            total
        });
    });

    let state = tempfile::tempdir().unwrap();
    let backend: Arc<dyn ContainerBackend> = Arc::new(engine);
    let kyozo = Kyozo::builder()
        .state_file(state.path().join("bench.redb"))
        .backend(backend)
        .build()
        .unwrap();
    let (team, owner) = kyozo.create_team("bench", "bench@kyozo.test").unwrap();
    let ws = kyozo
        .create_workspace(owner.actor(), team.id, "bench")
        .unwrap();
    let _team_cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team.id.to_string());
    g.bench_function("kyozo", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let mut s = ServiceInstance::new(team.id, ws.id, format!("web-{i}"), ".");
                s.image = Some(image.clone());
                s.config.command = Some(vec![
                    "httpd".into(),
                    "-f".into(),
                    "-p".into(),
                    "8080".into(),
                ]);
                let s = kyozo.create_service(owner.actor(), s).unwrap();
                let started = Instant::now();
                rt.block_on(kyozo.deploy(owner.actor(), team.id, s.id))
                    .unwrap();
                total += started.elapsed();
                rt.block_on(kyozo.remove_service(owner.actor(), team.id, s.id))
                    .unwrap();
            }
            total
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
