//! `Kyozo::deploy` on the real Docker Engine: a fixture folder becomes a running,
//! answering service, with its audit trail; a redeploy retires the old containers; a
//! failing build is recorded and leaves nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/runtime.rs"]
mod runtime;

use std::sync::Arc;
use std::time::Duration;

use kyozo::Kyozo;
use kyozo::backend::{ContainerBackend, LABEL_SERVICE, LABEL_TEAM};
use kyozo::model::{EventKind, ServiceInstance, ServiceStatus};

use docker::{Cleanup, busybox, engine, http_answer};
use runtime::{get, http_on_8080, kyozo_on, service};

fn web(kyozo: &Kyozo, folder: &str) -> (kyozo::model::Member, ServiceInstance) {
    service(kyozo, folder, http_on_8080)
}

#[tokio::test]
async fn a_folder_becomes_an_answering_service_with_its_audit_trail() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, service) = web(&kyozo, "deploy-httpd");
    let _cleanup = Cleanup::for_label(LABEL_TEAM, service.team.to_string());

    let first = kyozo
        .deploy(owner.actor(), service.team, service.id)
        .await
        .unwrap();
    assert!(first.health_gated);
    assert_eq!(first.containers.len(), 1);
    let port = first.containers[0].1[&8080];
    let answer = get(port).unwrap();
    assert!(answer.contains("hello from a kyozo deployment"), "{answer}");

    let stored = kyozo
        .service(owner.actor(), service.team, service.id)
        .unwrap();
    assert_eq!(stored.status, ServiceStatus::Running);
    assert_eq!(stored.image.as_deref(), Some(first.image.as_str()));

    let mut events = kyozo
        .events(owner.actor(), service.team, service.id, 100)
        .unwrap();
    events.reverse();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ServiceCreated,
            EventKind::DeploymentStarted,
            EventKind::ImageBuilt,
            EventKind::Started,
            EventKind::DeploymentCompleted
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=5).collect::<Vec<u64>>(), "gap-free");
    assert!(events[4].duration.is_some());

    // A redeploy starts the new container, then retires the old one.
    let second = kyozo
        .deploy(owner.actor(), service.team, service.id)
        .await
        .unwrap();
    assert_eq!(second.retired, vec![first.containers[0].0.clone()]);
    let mut filter = std::collections::BTreeMap::new();
    filter.insert(LABEL_SERVICE.to_string(), service.id.to_string());
    let running = backend.list(&filter).await.unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].id, second.containers[0].0);
    assert!(
        get(second.containers[0].1[&8080])
            .unwrap()
            .contains("hello from a kyozo deployment")
    );
}

#[tokio::test]
async fn a_failing_build_is_recorded_and_leaves_nothing_behind() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, service) = web(&kyozo, "deploy-broken");
    let _cleanup = Cleanup::for_label(LABEL_TEAM, service.team.to_string());

    let err = kyozo
        .deploy(owner.actor(), service.team, service.id)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("deploying web failed at build:"), "{text}");
    assert!(text.contains("compiling..."), "the step's output: {text}");

    let events = kyozo
        .events(owner.actor(), service.team, service.id, 10)
        .unwrap();
    let last = &events[0];
    assert_eq!(last.kind, EventKind::DeploymentFailed);
    let error = last.error.as_ref().unwrap();
    assert_eq!(error.details.get("step").map(String::as_str), Some("build"));
    assert!(last.duration.is_some());
    let stored = kyozo
        .service(owner.actor(), service.team, service.id)
        .unwrap();
    assert_eq!(stored.status, ServiceStatus::Failed);
    let mut filter = std::collections::BTreeMap::new();
    filter.insert(LABEL_SERVICE.to_string(), service.id.to_string());
    assert!(backend.list(&filter).await.unwrap().is_empty());
}

#[tokio::test]
async fn deploying_without_a_backend_is_a_clear_error() {
    let kyozo = Kyozo::builder().build().unwrap();
    let (owner, service) = web(&kyozo, "deploy-httpd");
    let err = kyozo
        .deploy(owner.actor(), service.team, service.id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no container backend"), "{err}");
}

/// A viewer may not deploy; another team's service does not exist for them.
#[tokio::test]
async fn deploying_goes_through_the_policy() {
    let kyozo = Kyozo::builder().build().unwrap();
    let (_owner, service) = web(&kyozo, "deploy-httpd");
    let (_, stranger) = kyozo.create_team("other", "eve@other.test").unwrap();
    let err = kyozo
        .deploy(stranger.actor(), service.team, service.id)
        .await
        .unwrap_err();
    assert!(matches!(err, kyozo::Error::NotFound { .. }), "{err:?}");
}

/// Scale 1 → 3 → 1, stop, start, restart, a second version, a rollback to the first
/// image, and removal: each an event, in a gap-free sequence.
#[tokio::test]
async fn the_lifecycle_of_a_service() {
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (owner, mut service) = web(&kyozo, "deploy-versioned");
    let _cleanup = Cleanup::for_label(LABEL_TEAM, service.team.to_string());
    let (team, id, actor) = (service.team, service.id, owner.actor());
    let by_service =
        std::collections::BTreeMap::from([(LABEL_SERVICE.to_string(), id.to_string())]);

    service
        .config
        .build_args
        .insert("VERSION".into(), "one".into());
    kyozo.store().put_service(&service).unwrap();
    let one = kyozo.deploy(actor, team, id).await.unwrap();
    assert!(
        http_answer(one.containers[0].1[&8080], "/")
            .await
            .contains("version one")
    );

    kyozo.scale(actor, team, id, 3).await.unwrap();
    let three = backend.list(&by_service).await.unwrap();
    assert_eq!(three.len(), 3);
    for c in &three {
        assert!(c.running);
        assert!(
            http_answer(c.ports[&8080], "/")
                .await
                .contains("version one")
        );
    }
    kyozo.scale(actor, team, id, 1).await.unwrap();
    assert_eq!(backend.list(&by_service).await.unwrap().len(), 1);
    assert_eq!(kyozo.service(actor, team, id).unwrap().replicas, 1);

    kyozo
        .stop(actor, team, id, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        backend
            .list(&by_service)
            .await
            .unwrap()
            .iter()
            .all(|c| !c.running)
    );
    assert_eq!(
        kyozo.service(actor, team, id).unwrap().status,
        ServiceStatus::Stopped
    );
    kyozo.start(actor, team, id).await.unwrap();
    let running = backend.list(&by_service).await.unwrap();
    assert!(
        http_answer(running[0].ports[&8080], "/")
            .await
            .contains("version one")
    );
    kyozo.restart(actor, team, id).await.unwrap();

    let mut service = kyozo.service(actor, team, id).unwrap();
    service
        .config
        .build_args
        .insert("VERSION".into(), "two".into());
    kyozo.store().put_service(&service).unwrap();
    let two = kyozo.deploy(actor, team, id).await.unwrap();
    assert!(
        http_answer(two.containers[0].1[&8080], "/")
            .await
            .contains("version two")
    );

    let back = kyozo.rollback(actor, team, id, None).await.unwrap();
    assert_eq!(
        back.image, one.image,
        "the exact image of the first deployment"
    );
    assert!(
        http_answer(back.containers[0].1[&8080], "/")
            .await
            .contains("version one")
    );
    assert_eq!(backend.list(&by_service).await.unwrap().len(), 1);

    kyozo.remove_service(actor, team, id).await.unwrap();
    assert!(backend.list(&by_service).await.unwrap().is_empty());
    assert_eq!(
        kyozo.service(actor, team, id).unwrap().status,
        ServiceStatus::Removed
    );

    let mut events = kyozo.events(actor, team, id, 1000).unwrap();
    events.reverse();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(
        kinds,
        vec![
            ServiceCreated,
            DeploymentStarted,
            ImageBuilt,
            Started,
            DeploymentCompleted,
            Scaled,
            Scaled,
            Stopped,
            Started,
            Restarted,
            DeploymentStarted,
            ImageBuilt,
            Started,
            DeploymentCompleted,
            DeploymentStarted,
            Started,
            DeploymentCompleted,
            RolledBack,
            Removed,
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
}

/// `subscribe` streams the runtime's events as they are recorded, to those who may
/// read them: another team's subscriber sees none of them.
#[tokio::test]
async fn subscribers_see_their_teams_events_as_they_happen() {
    use futures_util::StreamExt;
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let (owner, service) = web(&kyozo, "deploy-httpd");
    let _cleanup = Cleanup::for_label(LABEL_TEAM, service.team.to_string());
    let (other_team, stranger) = kyozo.create_team("other", "eve@other.test").unwrap();
    let mut mine = kyozo.subscribe(owner.actor(), service.team).unwrap();
    let mut theirs = kyozo.subscribe(stranger.actor(), other_team.id).unwrap();
    assert!(
        kyozo.subscribe(stranger.actor(), service.team).is_err(),
        "not their team"
    );

    kyozo
        .deploy(owner.actor(), service.team, service.id)
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while kinds.last() != Some(&EventKind::DeploymentCompleted) {
        let e = tokio::time::timeout(Duration::from_secs(5), mine.next())
            .await
            .expect("an event")
            .unwrap()
            .unwrap();
        kinds.push(e.kind);
    }
    assert_eq!(
        kinds,
        vec![
            EventKind::DeploymentStarted,
            EventKind::ImageBuilt,
            EventKind::Started,
            EventKind::DeploymentCompleted
        ]
    );
    let nothing = tokio::time::timeout(Duration::from_millis(300), theirs.next()).await;
    assert!(nothing.is_err(), "the other team saw {nothing:?}");
}

/// A container that carries a service's labels without being one of its containers
/// (an image's `LABEL`s reach the containers built from it) is not the service's: its
/// operations leave it alone and its stats do not count it.
#[tokio::test]
async fn containers_with_forged_labels_are_not_the_services() {
    let Some(engine) = engine().await else { return };
    let image = busybox(&engine).await;
    let backend: Arc<dyn ContainerBackend> = Arc::new(engine);
    let kyozo = Kyozo::builder().backend(backend.clone()).build().unwrap();
    let (owner, service) = web(&kyozo, "deploy-httpd");
    let _cleanup = Cleanup::for_label(LABEL_TEAM, service.team.to_string());
    kyozo
        .deploy(owner.actor(), service.team, service.id)
        .await
        .unwrap();

    let mut forged = kyozo::backend::ContainerSpec::new(format!("intruder-{}", service.id), &image);
    forged.command = Some(vec!["sleep".into(), "1000".into()]);
    forged.labels = std::collections::BTreeMap::from([
        (LABEL_TEAM.to_string(), service.team.to_string()),
        (
            kyozo::backend::LABEL_WORKSPACE.to_string(),
            service.workspace.to_string(),
        ),
        (LABEL_SERVICE.to_string(), service.id.to_string()),
    ]);
    let intruder = backend.create(&forged).await.unwrap();
    backend.start(&intruder).await.unwrap();

    assert_eq!(
        kyozo
            .stats(owner.actor(), service.team, service.id)
            .await
            .unwrap()
            .len(),
        1
    );
    kyozo
        .stop(
            owner.actor(),
            service.team,
            service.id,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(
        backend.inspect(&intruder).await.unwrap().running,
        "left alone"
    );
    kyozo
        .remove_service(owner.actor(), service.team, service.id)
        .await
        .unwrap();
    assert!(
        backend.inspect(&intruder).await.unwrap().running,
        "still left alone"
    );
}

/// A service the topology engine found in a folder deploys through its plan (the one
/// road: analysis, plan, `apply`) as found: its Dockerfile, its port, a TCP check of
/// that port; the service holds exactly the plan's spec.
#[tokio::test]
async fn a_service_found_by_an_analysis_deploys_as_found() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = kyozo_on(engine).await;
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let _cleanup = Cleanup::for_label(LABEL_TEAM, team.id.to_string());
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "site")
        .unwrap();
    let root = runtime::fixture("deploy-httpd");
    ws.root = Some(root.clone());
    kyozo.store().put_workspace(&ws).unwrap();
    let (topology, _) = kyozo.analyze(owner.actor(), &ws, &root).unwrap();
    let mut plan = kyozo::plan::Planner::new().plan(&topology);
    let planned = &mut plan.services[0];
    assert_eq!(
        planned.spec.ports,
        vec![kyozo::model::PortMapping::new(8080, Some(8080))]
    );
    // Published on a host port the engine picks: this machine's 8080 may be taken.
    planned.spec.ports[0].host_port = None;
    let s = kyozo
        .apply(owner.actor(), team.id, ws.id, planned)
        .await
        .unwrap();
    assert_eq!(s.config.dockerfile.as_deref(), Some("Dockerfile".as_ref()));
    assert_eq!(s.ports, vec![kyozo::model::PortMapping::new(8080, None)]);
    assert_eq!(
        s.health_check.as_ref().map(|h| &h.probe),
        Some(&kyozo::model::HealthProbe::Tcp { port: 8080 })
    );
    assert_eq!(
        kyozo::plan::DeploySpec::from_service(&s),
        planned.spec.resolved()
    );
    let deployed = kyozo.deploy(owner.actor(), team.id, s.id).await.unwrap();
    assert!(deployed.health_gated);
    let answer = get(deployed.containers[0].1[&8080]).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A plan's labels go on the containers of its service and on the image the runtime
/// builds for it; Kyozo's own labels always win over a plan label of the same name, and
/// a plan cannot add one Kyozo did not set: the labels come from a folder's detection,
/// and Kyozo finds its containers by its labels.
#[tokio::test]
async fn a_plans_labels_are_on_its_containers_and_image_but_never_kyozos() {
    use kyozo::backend::{LABEL_ROOT, LABEL_WORKSPACE};
    use kyozo::plan::STACK_LABEL;
    use kyozo::runtime::LABEL_EDGE;
    let Some(engine) = engine().await else { return };
    let (kyozo, backend) = kyozo_on(engine).await;
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let _cleanup = Cleanup::for_label(LABEL_TEAM, team.id.to_string());
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "site")
        .unwrap();
    let root = runtime::fixture("deploy-httpd");
    ws.root = Some(root.clone());
    kyozo.store().put_workspace(&ws).unwrap();
    let (topology, _) = kyozo.analyze(owner.actor(), &ws, &root).unwrap();
    let mut plan = kyozo::plan::Planner::new().plan(&topology);
    let planned = &mut plan.services[0];
    planned.spec.ports[0].host_port = None;
    let stack = planned.spec.labels[STACK_LABEL].clone();
    let forged = |labels: &mut std::collections::BTreeMap<String, String>, own: (&str, &str)| {
        labels.insert(own.0.into(), own.1.into());
        for key in [
            LABEL_TEAM,
            LABEL_WORKSPACE,
            LABEL_SERVICE,
            LABEL_ROOT,
            LABEL_EDGE,
        ] {
            labels.insert(key.into(), "forged".into());
        }
    };
    forged(&mut planned.spec.labels, ("org.example.tier", "web"));
    forged(
        &mut planned.spec.build.as_mut().unwrap().labels,
        ("org.example.built-by", "plan"),
    );
    let s = kyozo
        .apply(owner.actor(), team.id, ws.id, planned)
        .await
        .unwrap();
    let deployed = kyozo.deploy(owner.actor(), team.id, s.id).await.unwrap();

    let kyozos = |labels: &std::collections::BTreeMap<String, String>| {
        assert_eq!(labels.get(LABEL_TEAM), Some(&team.id.to_string()));
        assert_eq!(labels.get(LABEL_WORKSPACE), Some(&ws.id.to_string()));
        assert_eq!(labels.get(LABEL_SERVICE), Some(&s.id.to_string()));
        assert_eq!(
            labels.get(LABEL_ROOT).map(String::as_str),
            root.to_str(),
            "{labels:?}"
        );
        assert_eq!(labels.get(LABEL_EDGE), None, "{labels:?}");
        assert_eq!(labels.get(STACK_LABEL), Some(&stack), "{labels:?}");
    };
    let container = backend.inspect(&deployed.containers[0].0).await.unwrap();
    kyozos(&container.labels);
    assert_eq!(
        container.labels.get("org.example.tier").map(String::as_str),
        Some("web")
    );
    let images = backend
        .list_images(&std::collections::BTreeMap::from([(
            LABEL_SERVICE.to_string(),
            s.id.to_string(),
        )]))
        .await
        .unwrap();
    let image = images
        .iter()
        .find(|i| i.tags.contains(&deployed.image))
        .unwrap_or_else(|| panic!("{} among {images:?}", deployed.image));
    kyozos(&image.labels);
    assert_eq!(
        image.labels.get("org.example.built-by").map(String::as_str),
        Some("plan")
    );
}
