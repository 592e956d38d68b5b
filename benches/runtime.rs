//! Deploying on the real Docker Engine, side by side with `docker run -d` of the same
//! image in the same run.
//!
//! - `deploy/docker-run`: `docker run -d` of the busybox test image running httpd (the
//!   CLI, as a user would), then `docker rm -f` outside the timing.
//! - `deploy/kyozo`: `Kyozo::deploy` of a service running the same image and command
//!   (no build: the image is given; no health check, no port: ready when running),
//!   with its audit trail in a redb file; `remove_service` outside the timing.
//!
//! - `sweep-50/kyozo`: one `Kyozo::sweep` (an HTTP health check of each of 50 running
//!   services, one container each, and one metrics sample of all of them, recorded in
//!   a redb file) — the goal is under 2 s.
//! - then, printed (not a criterion figure): the CPU time the process uses while the
//!   manager, with its default intervals, watches the same 50 idle containers for 60 s.
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

/// A Kyozo on an engine with its audit trail in a redb file, a team, its owner and a
/// workspace; what it makes on the engine goes when the guard drops.
struct Setup {
    kyozo: Kyozo,
    team: kyozo::model::Team,
    owner: kyozo::model::Member,
    ws: kyozo::model::Workspace,
    _cleanup: docker::Cleanup,
    _state: tempfile::TempDir,
}

fn setup(engine: kyozo::backend::DockerBackend) -> Setup {
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
    let cleanup = docker::Cleanup::for_label(kyozo::backend::LABEL_TEAM, team.id.to_string());
    Setup {
        kyozo,
        team,
        owner,
        ws,
        _cleanup: cleanup,
        _state: state,
    }
}

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

    // The guards live to the end of the function: the state file and the cleanup.
    let Setup {
        kyozo,
        team,
        owner,
        ws,
        _cleanup: _engine_guard,
        _state: _state_guard,
    } = setup(engine);
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

/// The process's CPU time (user + system) so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second: u64 = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100);
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

fn fifty(c: &mut Criterion) {
    use kyozo::model::{HealthCheckConfig, HealthProbe, PortMapping};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(engine) = rt.block_on(docker::engine()) else {
        return;
    };
    let image = rt.block_on(docker::busybox(&engine));
    // The guards live to the end of the function: the state file and the cleanup.
    let Setup {
        kyozo,
        team,
        owner,
        ws,
        _cleanup: _engine_guard,
        _state: _state_guard,
    } = setup(engine);
    let services: Vec<ServiceInstance> = (0..50)
        .map(|i| {
            let mut s = ServiceInstance::new(team.id, ws.id, format!("idle-{i}"), ".");
            s.image = Some(image.clone());
            s.config.command = Some(vec![
                "sh".into(),
                "-c".into(),
                "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"
                    .into(),
            ]);
            s.ports.push(PortMapping::new(8080, None));
            s.health_check = Some(HealthCheckConfig::new(HealthProbe::Http {
                port: 8080,
                path: "/".into(),
                expect_status: None,
            }));
            kyozo.create_service(owner.actor(), s).unwrap()
        })
        .collect();
    rt.block_on(async {
        use futures_util::StreamExt;
        let deployed: Vec<_> = futures_util::stream::iter(&services)
            .map(|s| kyozo.deploy(owner.actor(), team.id, s.id))
            .buffer_unordered(8)
            .collect()
            .await;
        for d in deployed {
            d.unwrap();
        }
    });

    let mut g = c.benchmark_group("sweep-50");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.bench_function("kyozo", |b| {
        b.iter(|| {
            let sweep = rt.block_on(kyozo.sweep()).unwrap();
            assert_eq!(
                (sweep.checked, sweep.unhealthy, sweep.measured),
                (50, 0, 50)
            );
        });
    });
    g.finish();

    // The manager at rest: default intervals, 50 idle containers, 60 s.
    let manager = rt.block_on(kyozo.start_manager()).unwrap();
    let window = Duration::from_secs(60);
    let (cpu, wall) = (cpu_time(), Instant::now());
    std::thread::sleep(window);
    let (used, took) = (cpu_time() - cpu, wall.elapsed());
    rt.block_on(manager.shutdown());
    println!(
        "manager idle, 50 containers: {:.0} ms of CPU in {:.1} s = {:.2}% of one core",
        used.as_secs_f64() * 1e3,
        took.as_secs_f64(),
        used.as_secs_f64() / took.as_secs_f64() * 100.0
    );
}

criterion_group!(benches, bench, fifty);
criterion_main!(benches);
