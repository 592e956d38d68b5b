//! Updates and recovery on the real Docker Engine: a rolling redeploy behind a service's
//! endpoint while a client polls it (no failed request), a service on a fixed host port
//! recreated (and restored when the new deployment fails), the restart policy bringing
//! back a killed container, command health probes, failure events of operations that
//! fail part-way, and the cleanup of dead containers and unneeded images.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/runtime.rs"]
mod runtime;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kyozo::Kyozo;
use kyozo::backend::{ContainerSpec, LABEL_TEAM};
use kyozo::model::{
    EventKind, EventPayload, HealthCheckConfig, HealthProbe, HealthStatus, PortMapping,
    RestartPolicy, ServiceStatus,
};
use kyozo::runtime::UpdateStrategy;

use docker::{Cleanup, engine};
use runtime::{body, change, event_within, free_port, get, http_on_8080, kyozo_on, service};

// Two worker threads: the endpoint forwards while the test blocks on its requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_redeploy_behind_the_endpoint_fails_no_request() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-versioned", |s| {
        http_on_8080(s);
        s.config.build_args.insert("VERSION".into(), "1".into());
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let first = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(first.strategy, UpdateStrategy::Fresh);
    let endpoint = kyozo
        .expose(
            owner.actor(),
            s.team,
            s.id,
            8080,
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
    let port = endpoint.local_addr().port();
    assert_eq!(body(&get(port).unwrap()), "version 1");

    // A client polls the endpoint throughout, a new connection each time.
    let polling = Arc::new(AtomicBool::new(true));
    let client = {
        let polling = polling.clone();
        tokio::task::spawn_blocking(move || {
            let mut answers: Vec<Result<String, String>> = Vec::new();
            while polling.load(Ordering::SeqCst) {
                answers.push(match get(port) {
                    Ok(a) if a.starts_with("HTTP/1.0 200") || a.starts_with("HTTP/1.1 200") => {
                        Ok(body(&a).to_string())
                    }
                    Ok(a) => Err(format!("answer: {a:?}")),
                    Err(e) => Err(e.to_string()),
                });
                std::thread::sleep(Duration::from_millis(10));
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Version 2, deployed while the client polls.
    change(&kyozo, &owner, &s, |s| {
        s.config.build_args.insert("VERSION".into(), "2".into());
    })
    .await;
    let second = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(second.strategy, UpdateStrategy::Rolling);
    assert!(second.health_gated);
    assert_eq!(second.retired, vec![first.containers[0].0.clone()]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    polling.store(false, Ordering::SeqCst);
    let answers = client.await.unwrap();

    let failed: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "failed requests during the swap: {failed:?}"
    );
    let bodies: Vec<&str> = answers.iter().map(|a| a.as_deref().unwrap()).collect();
    assert!(bodies.len() >= 30, "only {} requests", bodies.len());
    assert_eq!(bodies.first(), Some(&"version 1"));
    assert_eq!(bodies.last(), Some(&"version 2"));
    // Once version 2 answered, version 1 never did again.
    let switched = bodies.iter().position(|b| *b == "version 2").unwrap();
    assert!(bodies[switched..].iter().all(|b| *b == "version 2"));
    eprintln!(
        "{} requests during the redeploy, none failed; version 2 from request {switched}",
        bodies.len()
    );

    // Scaling and restarting keep the endpoint answering too.
    kyozo.scale(owner.actor(), s.team, s.id, 2).await.unwrap();
    kyozo.restart(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(body(&get(port).unwrap()), "version 2");
    drop(endpoint);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(get(port).is_err(), "a dropped endpoint stops listening");
}

#[tokio::test]
async fn a_fixed_host_port_is_recreated_and_restored_when_the_new_deployment_fails() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let host = free_port();
    let (owner, s) = service(&kyozo, "deploy-versioned", |s| {
        http_on_8080(s);
        s.ports = vec![PortMapping::new(8080, Some(host))];
        s.config.build_args.insert("VERSION".into(), "1".into());
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(body(&get(host).unwrap()), "version 1");

    change(&kyozo, &owner, &s, |s| {
        s.config.build_args.insert("VERSION".into(), "2".into());
    })
    .await;
    let second = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert_eq!(second.strategy, UpdateStrategy::Recreate);
    assert_eq!(body(&get(host).unwrap()), "version 2");

    // A deployment whose containers exit at once: the running one comes back.
    change(&kyozo, &owner, &s, |s| {
        s.config.command = Some(vec!["sh".into(), "-c".into(), "exit 3".into()]);
    })
    .await;
    let err = kyozo
        .deploy(owner.actor(), s.team, s.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("exited with code 3"), "{err}");
    assert_eq!(body(&get(host).unwrap()), "version 2");
    assert_eq!(
        kyozo.service(owner.actor(), s.team, s.id).unwrap().status,
        ServiceStatus::Running
    );
}

/// Kills a container's processes from the host, as a crash would (a kill through the
/// engine's API counts as a stop on request, which no restart policy undoes).
fn crash(container: &str) {
    let out = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{.State.Pid}}", container])
        .output()
        .unwrap();
    let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(pid > 0, "the container runs");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

#[tokio::test]
async fn the_restart_policy_brings_a_crashed_container_back() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-httpd", |s| {
        http_on_8080(s);
        s.config.restart = RestartPolicy::OnFailure { max_retries: 3 };
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let deployed = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    let container = deployed.containers[0].0.clone();
    let manager = kyozo.start_manager().await.unwrap();

    crash(&container);
    let (crashed, took) = event_within(
        &kyozo,
        &owner,
        &s,
        EventKind::Crashed,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(
        crashed.payload,
        EventPayload::Exited {
            container: container.clone(),
            exit_code: Some(137)
        }
    );
    eprintln!("crash recorded {took:?} after the kill");
    let (restarted, took) = event_within(
        &kyozo,
        &owner,
        &s,
        EventKind::Restarted,
        Duration::from_secs(20),
    )
    .await;
    eprintln!("restart by the engine recorded {took:?} after the crash");
    assert_eq!(restarted.actor, kyozo::auth::Actor::System);
    assert!(restarted.seq > crashed.seq);
    let state = backend.inspect(&container).await.unwrap();
    assert!(state.running);
    assert_eq!(state.restart_count, 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while kyozo.service(owner.actor(), s.team, s.id).unwrap().status != ServiceStatus::Running {
        assert!(Instant::now() < deadline, "running again within 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let host = state.ports[&8080];
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(host).is_err() {
        assert!(Instant::now() < deadline, "answers again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    manager.shutdown().await;
}

#[tokio::test]
async fn command_probes_gate_deployments_and_health() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-httpd", |s| {
        s.ports.push(PortMapping::new(8080, None));
        // Ready once the file exists, a second after the start.
        s.config.command = Some(vec![
            "sh".into(),
            "-c".into(),
            "(sleep 1; touch /www/ready) & exec httpd -f -p 8080 -h /www".into(),
        ]);
        let mut check = HealthCheckConfig::new(HealthProbe::Command {
            argv: vec!["test".into(), "-e".into(), "/www/ready".into()],
        });
        // `docker exec` on a loaded machine can take a second: not a failure here (the
        // timeout is at most the interval).
        check.interval = Duration::from_secs(3);
        check.timeout = Duration::from_secs(3);
        s.health_check = Some(check);
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let started = Instant::now();
    let deployed = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the deployment waited for the probe"
    );
    assert!(deployed.health_gated);
    let sweep = kyozo.sweep().await.unwrap();
    assert_eq!((sweep.checked, sweep.unhealthy), (1, 0));

    // The file goes: the probe fails, with the command's exit in the record.
    let container = &deployed.containers[0].0;
    let removed = std::process::Command::new("docker")
        .args(["exec", container, "rm", "/www/ready"])
        .status()
        .unwrap();
    assert!(removed.success());
    let sweep = kyozo.sweep().await.unwrap();
    assert_eq!((sweep.checked, sweep.unhealthy), (1, 1));
    let last = kyozo.health(owner.actor(), s.team, s.id, 1).unwrap();
    assert_eq!(last[0].status, HealthStatus::Unhealthy);
    let error = last[0].error.clone().unwrap_or_default();
    assert!(error.ends_with("`test -e /www/ready` exited 1"), "{error}");
}

#[tokio::test]
async fn operations_that_fail_part_way_are_recorded() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-httpd", http_on_8080);
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let deployed = kyozo.deploy(owner.actor(), s.team, s.id).await.unwrap();

    // New replicas that exit at once: the scale fails, the first replica still runs.
    change(&kyozo, &owner, &s, |s| {
        s.config.command = Some(vec!["sh".into(), "-c".into(), "exit 4".into()]);
    })
    .await;
    let err = kyozo
        .scale(owner.actor(), s.team, s.id, 3)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("exited with code 4"), "{err}");
    let events = kyozo.events(owner.actor(), s.team, s.id, 1).unwrap();
    assert_eq!(events[0].kind, EventKind::OperationFailed);
    assert_eq!(events[0].payload, EventPayload::Scaled { from: 1, to: 1 });
    let error = events[0].error.as_ref().unwrap();
    assert_eq!(error.details["operation"], "scale");
    assert!(error.message.contains("exited with code 4"));
    let now = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    assert_eq!(now.status, ServiceStatus::Running);
    assert_eq!(now.container_ids, vec![deployed.containers[0].0.clone()]);

    // Its container removed behind Kyozo's back: a start fails and says why.
    backend.remove(&deployed.containers[0].0).await.unwrap();
    let err = kyozo
        .start(owner.actor(), s.team, s.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("deploy it first"), "{err}");
    let events = kyozo.events(owner.actor(), s.team, s.id, 1).unwrap();
    assert_eq!(events[0].kind, EventKind::OperationFailed);
    assert_eq!(
        events[0].error.as_ref().unwrap().details["operation"],
        "start"
    );
    assert_eq!(
        kyozo.service(owner.actor(), s.team, s.id).unwrap().status,
        ServiceStatus::Failed
    );
}

#[tokio::test]
async fn cleanup_removes_dead_containers_and_images_no_deployment_needs() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, s) = service(&kyozo, "deploy-versioned", |s| {
        http_on_8080(s);
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let mut images = Vec::new();
    for version in 1..=3 {
        change(&kyozo, &owner, &s, |s| {
            s.config
                .build_args
                .insert("VERSION".into(), version.to_string());
        })
        .await;
        images.push(
            kyozo
                .deploy(owner.actor(), s.team, s.id)
                .await
                .unwrap()
                .image,
        );
    }
    // A dead container of the service that it does not count as its own (what an
    // interrupted deployment leaves).
    let mut dead = ContainerSpec::new("kyozo-web-leftover-0", &images[2]);
    dead.command = Some(vec!["true".into()]);
    dead.labels = [
        (LABEL_TEAM.to_string(), s.team.to_string()),
        (
            kyozo::backend::LABEL_WORKSPACE.to_string(),
            s.workspace.to_string(),
        ),
        (kyozo::backend::LABEL_SERVICE.to_string(), s.id.to_string()),
    ]
    .into();
    let dead = backend.create(&dead).await.unwrap();
    backend.start(&dead).await.unwrap();
    backend.wait(&dead).await.unwrap();

    // Keep the newest two deployments' images: the first goes.
    let done = kyozo.cleanup(2).await.unwrap();
    assert_eq!(done.containers, vec![dead.clone()]);
    assert_eq!(done.images, vec![images[0].clone()]);
    assert!(backend.inspect(&dead).await.is_err());
    let tags: Vec<String> = backend
        .list_images(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .flat_map(|i| i.tags)
        .collect();
    assert!(!tags.contains(&images[0]));
    assert!(tags.contains(&images[1]) && tags.contains(&images[2]));
    let cleaned: Vec<EventPayload> = kyozo
        .events(owner.actor(), s.team, s.id, 10)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::CleanedUp)
        .map(|e| e.payload)
        .collect();
    assert_eq!(
        cleaned,
        vec![EventPayload::CleanedUp {
            containers: vec![dead.clone()],
            images: vec![images[0].clone()],
        }]
    );

    // Nothing more to do; the running service is untouched.
    assert_eq!(kyozo.cleanup(2).await.unwrap(), Default::default());
    let current = kyozo.service(owner.actor(), s.team, s.id).unwrap();
    assert_eq!(current.status, ServiceStatus::Running);
    assert!(
        get(backend
            .inspect(&current.container_ids[0])
            .await
            .unwrap()
            .ports[&8080])
        .is_ok()
    );
}

/// The services of a workspace share its network, where each reaches the others by
/// name; a named volume keeps its data when its service is deployed again, and goes
/// only when asked.
#[tokio::test]
async fn services_of_a_workspace_reach_each_other_by_name_and_volumes_keep_their_data() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let _cleanup = Cleanup::for_label(LABEL_TEAM, team.id.to_string());
    let ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    let check = |argv: &str| {
        let mut c = HealthCheckConfig::new(HealthProbe::Command {
            argv: vec!["sh".into(), "-c".into(), argv.into()],
        });
        c.interval = Duration::from_secs(1);
        c.timeout = Duration::from_secs(1);
        c
    };
    // A backing service: serves what its volume remembers of its first start.
    let mut cache = kyozo::model::ServiceInstance::new(team.id, ws.id, "cache", ".");
    cache.image = Some(docker::BUSYBOX.into());
    cache.config.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "[ -f /data/first ] || echo \"born-$$-$RANDOM\" > /data/first; mkdir -p /www; cp /data/first /www/index.html; exec httpd -f -p 8080 -h /www".into(),
    ]);
    cache.config.volumes = vec![kyozo::model::VolumeSpec::new("cache-data", "/data")];
    cache.health_check = Some(check("wget -q -O /dev/null http://127.0.0.1:8080/"));
    let cache = kyozo.create_service(owner.actor(), cache).unwrap();
    // An app whose health depends on reaching `cache` by name.
    let mut web = kyozo::model::ServiceInstance::new(team.id, ws.id, "web", ".");
    web.image = Some(docker::BUSYBOX.into());
    web.config.command = Some(vec!["sleep".into(), "600".into()]);
    web.health_check = Some(check("wget -q -O /dev/null http://cache:8080/"));
    let web = kyozo.create_service(owner.actor(), web).unwrap();

    kyozo
        .deploy(owner.actor(), team.id, cache.id)
        .await
        .unwrap();
    let deployed = kyozo.deploy(owner.actor(), team.id, web.id).await.unwrap();
    let container = deployed.containers[0].0.clone();
    let ask = || {
        let (backend, container) = (backend.clone(), container.clone());
        async move {
            let argv: Vec<String> = ["wget", "-q", "-O", "-", "http://cache:8080/"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let out = backend
                .exec(&container, &argv, Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(out.exit_code, 0, "{out:?}");
            out.output.trim().to_string()
        }
    };
    let first = ask().await;
    assert!(first.starts_with("born-"), "{first}");

    // The cache deployed again: a new container, the same data.
    let again = kyozo
        .deploy(owner.actor(), team.id, cache.id)
        .await
        .unwrap();
    assert_eq!(again.strategy, UpdateStrategy::Rolling);
    assert_eq!(ask().await, first);
    let containers = kyozo
        .containers(owner.actor(), team.id, cache.id)
        .await
        .unwrap();
    assert_eq!(containers.len(), 1, "the old one retired: {containers:?}");
    assert!(containers[0].running);
    assert_eq!(containers[0].id, again.containers[0].0);

    // Removing the services removes the network; the volume stays until asked.
    // What of `kind` (network, volume) the engine has for the workspace.
    let labelled = |kind: &str, ws: &str| {
        let out = std::process::Command::new("docker")
            .args([kind, "ls", "-q", "--filter"])
            .arg(format!("label=dev.kyozo.workspace={ws}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let network = |ws: &str| labelled("network", ws);
    let volumes = |ws: &str| labelled("volume", ws);
    let ws_id = ws.id.to_string();
    assert!(!network(&ws_id).is_empty());
    let err = kyozo
        .remove_volumes(owner.actor(), team.id, cache.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("remove the service first"), "{err}");
    kyozo
        .remove_service(owner.actor(), team.id, web.id)
        .await
        .unwrap();
    kyozo
        .remove_service(owner.actor(), team.id, cache.id)
        .await
        .unwrap();
    assert!(
        network(&ws_id).is_empty(),
        "the network went with the last service"
    );
    assert!(!volumes(&ws_id).is_empty(), "the data stays");
    kyozo
        .remove_volumes(owner.actor(), team.id, cache.id)
        .await
        .unwrap();
    assert!(volumes(&ws_id).is_empty(), "and goes when asked");
}

/// An unchanged folder deploys again from the image it built (no build); a changed
/// file, or a changed config, makes the service no longer current.
#[tokio::test]
async fn an_unchanged_folder_reuses_its_image_and_a_change_is_noticed() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    // A copy of the fixture, to change a file in it.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir_all(&root).unwrap();
    for f in ["Dockerfile", "index.html"] {
        std::fs::copy(runtime::fixture("deploy-httpd").join(f), root.join(f)).unwrap();
    }
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let _cleanup = Cleanup::for_label(LABEL_TEAM, team.id.to_string());
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "site")
        .unwrap();
    ws.root = Some(root.clone());
    kyozo.store().put_workspace(&ws).unwrap();
    let mut s = kyozo::model::ServiceInstance::new(team.id, ws.id, "web", ".");
    s.config.dockerfile = Some("Dockerfile".into());
    http_on_8080(&mut s);
    let s = kyozo.create_service(owner.actor(), s).unwrap();
    let current = || kyozo.is_current(owner.actor(), team.id, s.id);
    assert!(!current().await.unwrap(), "not deployed yet");

    let first = kyozo.deploy(owner.actor(), team.id, s.id).await.unwrap();
    assert!(current().await.unwrap());
    let built = |kyozo: &Kyozo| {
        kyozo
            .events(owner.actor(), team.id, s.id, 100)
            .unwrap()
            .iter()
            .filter(|e| e.kind == EventKind::ImageBuilt)
            .count()
    };
    assert_eq!(built(&kyozo), 1);

    // Again, unchanged: the same image, no build.
    let again = kyozo.deploy(owner.actor(), team.id, s.id).await.unwrap();
    assert_eq!(again.image, first.image);
    assert_eq!(built(&kyozo), 1, "no second build");
    assert!(current().await.unwrap());

    // A file changes: no longer current; the next deployment builds.
    std::fs::write(root.join("index.html"), "changed\n").unwrap();
    assert!(!current().await.unwrap());
    let changed = kyozo.deploy(owner.actor(), team.id, s.id).await.unwrap();
    assert_ne!(changed.image, first.image);
    assert_eq!(built(&kyozo), 2);
    assert!(current().await.unwrap());

    // The config changes: no longer current.
    change(&kyozo, &owner, &s, |s| {
        s.env.insert("MODE".into(), "x".to_string().into());
    })
    .await;
    assert!(!current().await.unwrap());
}
