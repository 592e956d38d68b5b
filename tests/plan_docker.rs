//! Generated Dockerfiles built and run on the real Docker Engine: a static site, a Flask
//! app (flask installed from PyPI during the build) and a Node app each build from the
//! Dockerfile Kyozo wrote and answer HTTP.
//!
//! No registry is reachable, so the base images are made here: a Debian root filesystem
//! with python3 and nodejs from `debootstrap`, the host's CA bundle copied in, loaded
//! with `docker import` (`tests/support/debian-image.sh`), and Debian's caddy
//! (`tests/support/caddy-image.sh`) for a static site; the base-image map points at
//! them. They are kept by tag,
//! so only the first run pays for them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/files.rs"]
mod files;
use files::copy_dir;

#[path = "common/docker.rs"]
mod docker;
#[path = "common/images.rs"]
mod images;

use std::path::Path;

use kyozo::backend::{BuildSpec, ContainerBackend, ContainerSpec, PortSpec};
use kyozo::plan::{BaseImages, BuildOptions, ImageSource, Planner};
use kyozo::topology::TopologyEngine;

use docker::{Cleanup, engine, http_answer};

/// The Debian image with the runtimes, made once and kept by its tag.
async fn runtimes() -> String {
    tokio::task::spawn_blocking(images::runtimes).await.unwrap()
}

/// Plans a copy of `fixture`, writes the plan, builds the image from the generated
/// Dockerfile, runs it and returns what `GET path` answers.
async fn build_and_run(fixture: &str, images: BaseImages, path: &str) -> String {
    let engine = engine().await.expect("the Docker Engine");
    let cleanup = Cleanup::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(fixture);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture),
        &root,
    );
    let topology = TopologyEngine::new().analyze(&root).unwrap();
    let mut options = BuildOptions::default();
    // These machines' bridge network has no way out: a build that downloads packages
    // runs on the host's network.
    options.network = Some("host".into());
    let plan = Planner::new()
        .with_images(images)
        .with_build_options(options)
        .plan(&topology);
    assert_eq!(plan.services.len(), 1, "{:?}", plan.recommendations);
    let service = &plan.services[0];
    assert!(
        matches!(service.source, ImageSource::Generated { .. }),
        "{:?}",
        service.source
    );
    plan.write(&root, false).unwrap();
    let build = service.spec.build.as_ref().unwrap();
    let tag = format!("kyozo-test/plan-{fixture}:{}", cleanup.run);
    let mut spec = BuildSpec::default();
    spec.context = root.join(&build.context);
    spec.dockerfile = build.dockerfile.clone();
    spec.tag = tag.clone();
    spec.labels = cleanup.labels();
    spec.network = build.network.clone();
    let mut output = Vec::new();
    let built = engine
        .build_image(&spec, &mut |p| output.push(format!("{p:?}")))
        .await;
    assert!(built.is_ok(), "{fixture}: {built:?}\n{}", output.join("\n"));

    let port = service.spec.ports[0].container_port;
    let mut run = ContainerSpec::new(format!("kyozo-test-plan-{fixture}-{}", cleanup.run), &tag);
    run.ports.push(PortSpec {
        container: port,
        host: None,
        host_ip: None,
    });
    run.env = service.spec.env.clone();
    run.labels = cleanup.labels();
    let id = engine.create(&run).await.unwrap();
    engine.start(&id).await.unwrap();
    let host = engine.inspect(&id).await.unwrap().ports[&port];
    let text = http_answer(host, path).await;
    // It runs as the unprivileged user the Dockerfile names.
    let user = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{.Config.User}}", &id])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "10001");
    drop(cleanup);
    text
}

#[tokio::test]
async fn a_static_site_builds_from_its_generated_dockerfile_and_answers() {
    let Some(_) = engine().await else { return };
    // Served by Caddy (the edge proxy's test image: Debian's caddy and a busybox shell).
    let image = tokio::task::spawn_blocking(images::caddy).await.unwrap();
    let text = build_and_run(
        "static-index",
        BaseImages::empty().set("static", image),
        "/",
    )
    .await;
    assert!(text.contains(" 200 OK"), "{text}");
    assert!(text.contains("<html"), "{text}");
}

#[tokio::test]
async fn a_flask_app_builds_with_flask_from_pypi_and_answers() {
    let Some(_) = engine().await else { return };
    let image = runtimes().await;
    let text = build_and_run("plan-flask", BaseImages::empty().set("python", image), "/").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("hello from flask on 5000"), "{text}");
}

#[tokio::test]
async fn a_node_app_builds_and_answers() {
    let Some(_) = engine().await else { return };
    let image = runtimes().await;
    let text = build_and_run("plan-node", BaseImages::empty().set("node", image), "/").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("hello from node v18"), "{text}");
}

/// A planned service handed to the runtime: created from its plan, deployed (built
/// from the generated Dockerfile, which travels with the service, on the host network),
/// gated on its health check, answering; nothing written into the project's folder.
#[tokio::test]
async fn a_planned_service_deploys_through_the_runtime() {
    let Some(engine) = engine().await else { return };
    let image = runtimes().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("plan-node");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan-node"),
        &root,
    );
    let topology = TopologyEngine::new().analyze(&root).unwrap();
    let mut options = BuildOptions::default();
    options.network = Some("host".into());
    let plan = Planner::new()
        .with_images(BaseImages::empty().set("node", image))
        .with_build_options(options)
        .plan(&topology);
    // Nothing written into the project: the generated Dockerfile travels with the
    // service.

    let backend: std::sync::Arc<dyn ContainerBackend> = std::sync::Arc::new(engine);
    let kyozo = kyozo::Kyozo::builder().backend(backend).build().unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let _cleanup = Cleanup::for_label(kyozo::backend::LABEL_TEAM, team.id.to_string());
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "app")
        .unwrap();
    ws.root = Some(root.clone());
    kyozo.store().put_workspace(&ws).unwrap();
    let planned = &plan.services[0];
    let mut service = planned.service(team.id, ws.id);
    assert!(service.config.dockerfile_text.is_some());
    // The engine picks the host port (the plan's fixed one may be taken here).
    for p in &mut service.ports {
        p.host_port = None;
    }
    let service = kyozo.create_service(owner.actor(), service).unwrap();
    let deployed = kyozo
        .deploy(owner.actor(), team.id, service.id)
        .await
        .unwrap();
    assert!(deployed.health_gated);
    let text = http_answer(deployed.containers[0].1[&3000], "/").await;
    assert!(text.contains("hello from node v18"), "{text}");
    assert!(
        !root.join("Dockerfile").exists(),
        "the project's folder is untouched"
    );
}
