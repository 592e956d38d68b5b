//! The frob stack end to end: the plugin built to a component and loaded, `site/`
//! detected as a frob service, planned with the frob template, applied and deployed on
//! the Docker Engine, answering HTTP. Without an engine the test is skipped, unless
//! `KYOZO_REQUIRE_DOCKER=1` (CI), when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/common/docker.rs"]
mod docker;
#[path = "../../../tests/common/plugins.rs"]
mod plugins;

use std::path::PathBuf;
use std::sync::Arc;

use kyozo::backend::LABEL_TEAM;
use kyozo::plan::ImageSource;
use kyozo_example_custom_stack::{STACK, planner, plugin_crate, site};

/// The plugin's component, built as the repository's plugin tests build theirs.
fn plugin() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("frob-plugin");
    plugins::build_components(&plugin_crate().join("Cargo.toml"), &target)
        .join("kyozo_detector_frob.wasm")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frob_service_is_detected_planned_with_its_template_and_answers() {
    let Some(engine) = docker::engine().await else {
        return;
    };
    let base = docker::busybox(&engine).await;
    let kyozo = kyozo::Kyozo::builder()
        .detector_plugin(plugin())
        .backend(Arc::new(engine))
        .build()
        .unwrap();
    let (team, owner) = kyozo.create_team("frob", "ada@frob.test").unwrap();
    let _cleanup = docker::Cleanup::for_label(LABEL_TEAM, team.id.to_string());
    let ws = kyozo
        .create_workspace(owner.actor(), team.id, "frob")
        .unwrap();
    let ws = kyozo
        .set_workspace_root(owner.actor(), team.id, ws.id, site())
        .unwrap();

    // Detected by the plugin...
    let (topology, _) = kyozo.analyze(owner.actor(), &ws, site()).unwrap();
    assert_eq!(topology.services.len(), 1, "{:?}", topology.services);
    assert_eq!(topology.services[0].language, STACK);
    assert_eq!(
        topology.services[0].detectors,
        vec!["plugin:frob".to_string()]
    );

    // ...planned with the frob template (no built-in knows frob)...
    let mut plan = planner(&base).unwrap().plan(&topology);
    assert_eq!(plan.services.len(), 1, "{:?}", plan.recommendations);
    let planned = &mut plan.services[0];
    let ImageSource::Generated { file } = &planned.source else {
        panic!("{:?}", planned.source)
    };
    assert!(
        file.contents.starts_with(
            "# site: a frob service, from the frob template.\nFROM kyozo-test/busybox:1\n"
        ),
        "{}",
        file.contents
    );
    assert!(
        file.contents
            .contains(r#"CMD ["sh", "-c", "httpd -f -p 8080 -h /srv/frob"]"#),
        "{}",
        file.contents
    );

    // ...and deployed on the one road, answering HTTP. On a host port the engine picks:
    // this machine's 8080 may be taken.
    planned.spec.ports[0].host_port = None;
    let service = kyozo
        .apply(owner.actor(), team.id, ws.id, planned)
        .await
        .unwrap();
    let report = kyozo
        .deploy(owner.actor(), team.id, service.id)
        .await
        .unwrap();
    assert!(report.health_gated, "the plan's TCP check gated the switch");
    let port = report.containers[0].1[&8080];
    let answer = docker::http_answer(port, "/").await;
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    assert!(answer.contains("frob says hello"), "{answer}");
}
