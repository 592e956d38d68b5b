//! What the plan takes for a job (runs once to its end) and for a service (runs until
//! stopped): the rule of `docs/plans.md`, "Services and jobs", and the restart policy
//! that goes with each, the same in the spec and in the compose file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kyozo::model::{RestartPolicy, ServiceKind};

/// The kind, restart policy and compose `restart:` of the one service planned in a
/// folder holding `files`.
fn planned(files: &[(&str, &str)]) -> (ServiceKind, RestartPolicy, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    std::fs::create_dir_all(&dir).unwrap();
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let topology = kyozo::Kyozo::builder()
        .build()
        .unwrap()
        .engine()
        .analyze(&dir)
        .unwrap();
    let plan = kyozo::plan::Planner::new().plan(&topology);
    assert_eq!(plan.services.len(), 1, "{:?}", plan.recommendations);
    let s = &plan.services[0];
    let compose: serde_json::Value = serde_saphyr::from_str(&plan.compose().unwrap()).unwrap();
    let restart = compose["services"][&s.name]["restart"]
        .as_str()
        .unwrap()
        .to_string();
    (s.spec.kind, s.spec.restart, restart)
}

#[test]
fn a_script_without_port_or_framework_is_a_job() {
    let (kind, restart, compose) =
        planned(&[("main.py", "print('hello')\n"), ("requirements.txt", "")]);
    assert_eq!(kind, ServiceKind::Job);
    assert_eq!(restart, RestartPolicy::Never);
    assert_eq!(compose, "no");
}

#[test]
fn workers_servers_and_bots_are_services() {
    for (file, start) in [
        ("worker.py", "print('working')\n"),
        ("bot.py", "print('listening')\n"),
    ] {
        let (kind, restart, compose) = planned(&[(file, start), ("requirements.txt", "")]);
        assert_eq!(kind, ServiceKind::Service, "{file}");
        assert_eq!(restart, RestartPolicy::Always, "{file}");
        assert_eq!(compose, "unless-stopped", "{file}");
    }
    let (kind, _, _) = planned(&[
        ("Procfile", "worker: celery -A app worker\n"),
        ("requirements.txt", "celery\n"),
        ("app.py", "import celery\n"),
    ]);
    assert_eq!(kind, ServiceKind::Service);
}

#[test]
fn a_dockerfile_is_a_service_unless_its_label_says_job() {
    let (kind, restart, _) = planned(&[("Dockerfile", "FROM busybox\nCMD [\"echo\", \"hi\"]\n")]);
    assert_eq!(
        (kind, restart),
        (ServiceKind::Service, RestartPolicy::Always)
    );
    let (kind, restart, compose) = planned(&[(
        "Dockerfile",
        "FROM busybox\nLABEL dev.kyozo.kind=job\nCMD [\"echo\", \"hi\"]\n",
    )]);
    assert_eq!((kind, restart), (ServiceKind::Job, RestartPolicy::Never));
    assert_eq!(compose, "no");
    // And a script the rule takes for a job, stated a service.
    let (kind, _, _) = planned(&[(
        "Dockerfile",
        "FROM busybox\nLABEL dev.kyozo.kind=service\nEXPOSE 8080\n",
    )]);
    assert_eq!(kind, ServiceKind::Service);
}
