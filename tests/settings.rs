//! A service's settings (`Kyozo::set_env`, `unset_env`, `env`): env vars its people set
//! themselves, kept apart from its plan and applied over it. Who may set and read them,
//! that a new plan keeps them, that the audit trail names them and never shows a value,
//! and (on the real engine) that the containers get them after a rolling update.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;
#[path = "common/runtime.rs"]
mod runtime;

use std::collections::BTreeMap;
use std::sync::Arc;

use kyozo::Kyozo;
use kyozo::auth::AuthError;
use kyozo::backend::{LABEL_TEAM, MemoryBackend};
use kyozo::model::{EnvSource, EventPayload, Role, SecretValue, ServiceInstance, SettingOrigin};
use kyozo::runtime::UpdateStrategy;

use docker::{Cleanup, engine};

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), SecretValue::from(*v)))
        .collect()
}

fn forbidden(e: &kyozo::Error) -> bool {
    matches!(e, kyozo::Error::Auth(AuthError::Forbidden { .. }))
}

/// A folder with one service built from a Dockerfile, planned and applied as `kyozo up`
/// does; the Kyozo, its owner, the service, the folder.
async fn applied(
    backend: &MemoryBackend,
) -> (
    Kyozo,
    kyozo::model::Member,
    ServiceInstance,
    tempfile::TempDir,
) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("web");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nENV PORT=8080\nEXPOSE 8080\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\"]\n",
    )
    .unwrap();
    let kyozo = Kyozo::builder()
        .backend_unguarded(Arc::new(backend.clone()))
        .build()
        .unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let mut ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    ws.root = Some(dir.clone());
    kyozo.store().put_workspace(&ws).unwrap();
    let plan = kyozo::plan::Planner::new().plan(&kyozo.engine().analyze(&dir).unwrap());
    let s = kyozo
        .apply(owner.actor(), team.id, ws.id, &plan.services[0])
        .await
        .unwrap();
    (kyozo, owner, s, root)
}

#[tokio::test]
async fn settings_are_set_listed_masked_and_kept_by_a_new_plan() {
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, root) = applied(&backend).await;
    let a = owner.actor();
    kyozo
        .set_env(
            a,
            s.team,
            s.id,
            values(&[("SECRET_KEY", "s3cr3t-value"), ("PORT", "9090")]),
            SettingOrigin::Command,
        )
        .await
        .unwrap();

    // Listed with where each comes from; values masked unless revealed.
    let listed = kyozo.env(a, s.team, s.id, false).unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert!(names.contains(&"SECRET_KEY"), "{names:?}");
    assert!(listed.iter().all(|e| e.value.is_none()));
    let secret = listed.iter().find(|e| e.name == "SECRET_KEY").unwrap();
    assert!(matches!(
        &secret.source,
        EnvSource::Setting { origin: SettingOrigin::Command, set_by: Some(m), .. } if *m == owner.id
    ));
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(!shown.contains("s3cr3t-value"), "{shown}");
    let revealed = kyozo.env(a, s.team, s.id, true).unwrap();
    let secret = revealed.iter().find(|e| e.name == "SECRET_KEY").unwrap();
    assert_eq!(secret.value.as_ref().unwrap().expose(), "s3cr3t-value");

    // A new plan of the folder (what `kyozo up` applies each time) keeps them.
    let dir = root.path().join("web");
    let plan = kyozo::plan::Planner::new().plan(&kyozo.engine().analyze(&dir).unwrap());
    let again = kyozo
        .apply(a, s.team, s.workspace, &plan.services[0])
        .await
        .unwrap();
    assert_eq!(again.id, s.id);
    let env = again.effective_env();
    assert_eq!(env["SECRET_KEY"].expose(), "s3cr3t-value");
    assert_eq!(env["PORT"].expose(), "9090", "a setting wins over the plan");

    // The same value again changes nothing (no config change, nothing to redeploy).
    let before = kyozo.events(a, s.team, s.id, 1000).unwrap().len();
    kyozo
        .set_env(
            a,
            s.team,
            s.id,
            values(&[("SECRET_KEY", "s3cr3t-value")]),
            SettingOrigin::Command,
        )
        .await
        .unwrap();
    assert_eq!(kyozo.events(a, s.team, s.id, 1000).unwrap().len(), before);

    // The audit trail names them; no event holds a value.
    let events = kyozo.events(a, s.team, s.id, 1000).unwrap();
    assert!(events.iter().any(|e| matches!(
        &e.payload,
        EventPayload::Config { changed } if changed.contains(&"env.SECRET_KEY".to_string())
    )));
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains("s3cr3t-value"), "a value reached an event");

    // Unset: the plan's value applies again; a name that is not a setting is refused.
    let after = kyozo
        .unset_env(a, s.team, s.id, &["PORT".to_string()])
        .await
        .unwrap();
    assert_eq!(after.effective_env()["PORT"].expose(), "8080");
    let e = kyozo
        .unset_env(a, s.team, s.id, &["PORT".to_string()])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("PORT"), "{e}");
    let e = kyozo
        .set_env(
            a,
            s.team,
            s.id,
            values(&[("1BAD", "x")]),
            SettingOrigin::Command,
        )
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("=x"), "{e}");
}

#[tokio::test]
async fn only_an_owner_reveals_and_only_who_may_deploy_sets() {
    let backend = MemoryBackend::new();
    let (kyozo, owner, s, _root) = applied(&backend).await;
    let admin = kyozo
        .add_member(owner.actor(), s.team, "bo@acme.test", Role::Admin)
        .unwrap();
    let member = kyozo
        .add_member(owner.actor(), s.team, "cy@acme.test", Role::Member)
        .unwrap();
    let viewer = kyozo
        .add_member(owner.actor(), s.team, "di@acme.test", Role::Viewer)
        .unwrap();
    let set = |who: kyozo::model::Actor| {
        kyozo.set_env(
            who,
            s.team,
            s.id,
            values(&[("TOKEN", "t")]),
            SettingOrigin::Command,
        )
    };
    set(admin.actor()).await.unwrap();
    assert!(forbidden(&set(member.actor()).await.unwrap_err()));
    assert!(forbidden(&set(viewer.actor()).await.unwrap_err()));
    assert!(forbidden(
        &kyozo
            .unset_env(member.actor(), s.team, s.id, &["TOKEN".into()])
            .await
            .unwrap_err()
    ));
    // Everyone in the team sees the names; only the owner the values.
    for who in [&admin, &member, &viewer] {
        assert!(kyozo.env(who.actor(), s.team, s.id, false).is_ok());
        assert!(forbidden(
            &kyozo.env(who.actor(), s.team, s.id, true).unwrap_err()
        ));
    }
    assert!(kyozo.env(owner.actor(), s.team, s.id, true).is_ok());
    // Another team learns nothing.
    let (_, stranger) = kyozo.create_team("other", "eve@other.test").unwrap();
    let e = kyozo
        .env(stranger.actor(), s.team, s.id, false)
        .unwrap_err();
    assert!(
        !forbidden(&e),
        "another team's service is hidden, not forbidden: {e}"
    );
}

#[tokio::test]
async fn a_setting_reaches_the_containers_by_a_rolling_update() {
    let Some(engine) = engine().await else { return };
    let (kyozo, _) = runtime::kyozo_on(engine).await;
    let (owner, s) = runtime::service(&kyozo, "deploy-versioned", |s| {
        runtime::http_on_8080(s);
        s.env.insert("GREETING".into(), "from the plan".into());
    });
    let _cleanup = Cleanup::for_label(LABEL_TEAM, s.team.to_string());
    let a = owner.actor();
    let first = kyozo.deploy(a, s.team, s.id).await.unwrap();
    assert_eq!(env_of(&first.containers[0].0)["GREETING"], "from the plan");
    kyozo
        .set_env(
            a,
            s.team,
            s.id,
            values(&[("GREETING", "from a setting"), ("EXTRA", "1")]),
            SettingOrigin::EnvFile {
                path: ".env.prod".into(),
            },
        )
        .await
        .unwrap();
    assert!(!kyozo.is_current(a, s.team, s.id).await.unwrap());
    let second = kyozo.deploy(a, s.team, s.id).await.unwrap();
    assert_eq!(second.strategy, UpdateStrategy::Rolling);
    let env = env_of(&second.containers[0].0);
    assert_eq!(env["GREETING"], "from a setting");
    assert_eq!(env["EXTRA"], "1");
}

/// A container's env, as the engine holds it.
fn env_of(container: &str) -> BTreeMap<String, String> {
    let out = std::process::Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{range .Config.Env}}{{println .}}{{end}}",
            container,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
