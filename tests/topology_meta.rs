//! The detectors that say how a folder is run rather than what language it is in:
//! Dockerfile, compose and Procfile, on fixture projects. Language detectors contribute
//! to the same services; the assertions here are about what the meta detectors add
//! (their values outrank a language detector's).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::{env, ports};

use kyozo::topology::{Provenance, Strategy, Topology};

fn recommendation<'a>(t: &'a Topology, service: &str, code: &str) -> Vec<&'a str> {
    t.recommendations
        .iter()
        .filter(|r| r.service.as_deref() == Some(service) && r.code == code)
        .map(|r| r.message.as_str())
        .collect()
}

/// Every serialized byte of the topology, to check no secret leaked into it.
fn everything(t: &Topology) -> String {
    serde_json::to_string(t).unwrap()
}

#[test]
fn docker_basic() {
    let t = snapshot!("docker-basic");
    assert_eq!(t.strategy, Strategy::Single);
    assert_eq!(t.services.len(), 1, "Dockerfile.dev is not a service");
    let s = &t.services[0];
    assert_eq!(s.path, ".");
    assert_eq!(s.language, "docker");
    assert_eq!(s.dockerfile.as_deref(), Some("Dockerfile"));
    assert!(s.detectors.contains(&"dockerfile".to_string()));
    // EXPOSE $PORT, with PORT from ENV.
    assert_eq!(ports(s), vec![(8001, "Dockerfile EXPOSE")]);
    let start = s.start_command.as_ref().unwrap();
    assert_eq!(
        start.value,
        "datasette serve --host 0.0.0.0 --port 8001 --metadata metadata.yml /data"
    );
    assert_eq!(start.source, Provenance::declared("Dockerfile CMD"));
    let health = s.healthcheck.as_ref().unwrap();
    assert!(
        health
            .value
            .starts_with("python -c \"import urllib.request;")
    );
    assert_eq!(
        health.source,
        Provenance::declared("Dockerfile HEALTHCHECK")
    );
    // FROM python:${PYTHON_VERSION}-slim with the global ARG default.
    let runtime = s.runtime_version.as_ref().unwrap();
    assert_eq!(runtime.value, "3.12");
    assert_eq!(
        runtime.source,
        Provenance::declared("Dockerfile FROM python:3.12-slim")
    );
    assert_eq!(env(s), vec!["DATASETTE_SECRET_FILE", "PORT"]);
    assert!(
        s.evidence
            .iter()
            .any(|e| e.path == "Dockerfile.dev" && e.reason.contains("alternative Dockerfile"))
    );
    // The heredoc body was skipped, not read as instructions.
    assert!(!s.evidence.iter().any(|e| e.reason.contains("mkdir")));
    assert!(s.confidence >= 0.4, "{}", s.confidence);
}

#[test]
fn docker_multistage_node() {
    let t = snapshot!("docker-multistage-node");
    assert_eq!(t.services.len(), 1);
    let s = &t.services[0];
    assert!(s.detectors.contains(&"dockerfile".to_string()));
    assert_eq!(s.dockerfile.as_deref(), Some("Dockerfile"));
    // EXPOSE ${PORT} of the final stage beats any framework default.
    assert_eq!(ports(s), vec![(8080, "Dockerfile EXPOSE")]);
    // The final stage's CMD beats package.json's start script.
    let start = s.start_command.as_ref().unwrap();
    assert_eq!(
        (start.value.as_str(), start.source.to_string().as_str()),
        ("node server.js", "Dockerfile CMD")
    );
    // Resolved through `runner` → `base` → node:${NODE_VERSION}-alpine.
    let runtime = s.runtime_version.as_ref().unwrap();
    assert_eq!(runtime.value, "20.11.1");
    assert_eq!(
        runtime.source,
        Provenance::declared("Dockerfile FROM node:20.11.1-alpine")
    );
    for name in ["HOSTNAME", "NODE_ENV", "NEXT_TELEMETRY_DISABLED", "PORT"] {
        assert!(env(s).contains(&name), "{name}");
    }
    assert!(
        s.evidence
            .iter()
            .any(|e| e.reason.contains("4 stages") && e.reason.contains("node:20.11.1-alpine"))
    );
    assert!(s.evidence.iter().any(|e| e.reason == "runs as USER nextjs"));
}

#[test]
fn docker_subfolder_go() {
    let t = snapshot!("docker-subfolder-go");
    // docker/Dockerfile builds the app of the root folder: one service, at the root.
    assert_eq!(t.services.len(), 1, "{:?}", t.services);
    let s = &t.services[0];
    assert_eq!(s.path, ".");
    assert_eq!(s.dockerfile.as_deref(), Some("docker/Dockerfile"));
    assert!(s.detectors.contains(&"dockerfile".to_string()));
    assert_eq!(ports(s), vec![(9000, "Dockerfile EXPOSE")]);
    let start = s.start_command.as_ref().unwrap();
    assert_eq!(
        (start.value.as_str(), start.source.to_string().as_str()),
        ("/shortener", "Dockerfile ENTRYPOINT")
    );
    // The final image is distroless: the toolchain version is the build stage's.
    let runtime = s.runtime_version.as_ref().unwrap();
    assert_eq!(runtime.value, "1.22");
    assert_eq!(
        runtime.source,
        Provenance::declared("Dockerfile FROM golang:1.22-alpine")
    );
    assert!(s.backing_services.contains(&"redis".to_string()));
}

#[test]
fn compose_stack() {
    let t = snapshot!("compose-stack");
    assert_eq!(t.strategy, Strategy::Compose);
    assert!(t.patterns.contains(&"compose".to_string()));
    let mut names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    // postgres and redis are backing services, not services.
    assert_eq!(names, vec!["api", "proxy", "web", "worker"]);

    let web = common::service(&t, "web");
    assert_eq!(web.path, "web");
    assert_eq!(web.dockerfile.as_deref(), Some("web/Dockerfile"));
    assert!(web.detectors.contains(&"compose".to_string()));
    // The container port, not the host port ${WEB_PORT:-3000} (3001 in .env).
    assert!(ports(web).contains(&(3000, "compose.yaml services.web.ports")));
    let health = web.healthcheck.as_ref().unwrap();
    assert_eq!(health.value, "wget -qO- http://localhost:3000/healthz");
    assert_eq!(
        health.source,
        Provenance::declared("compose.yaml services.web.healthcheck")
    );
    assert!(env(web).contains(&"API_URL"));
    assert!(env(web).contains(&"SESSION_SECRET"));
    assert_eq!(web.depends_on, vec!["api"]);

    let worker = common::service(&t, "worker");
    assert_eq!(worker.path, "web");
    let start = worker.start_command.as_ref().unwrap();
    assert_eq!(
        (start.value.as_str(), start.source.to_string().as_str()),
        ("node worker.js", "compose.yaml services.worker.command")
    );
    assert_eq!(worker.backing_services, vec!["redis"]);
    assert!(env(worker).contains(&"QUEUE_NAME"));
    assert!(
        worker
            .evidence
            .iter()
            .any(|e| e.reason.contains("2 replicas"))
    );

    let api = common::service(&t, "api");
    assert_eq!(api.path, "api");
    assert_eq!(api.dockerfile.as_deref(), Some("api/Dockerfile"));
    assert!(ports(api).contains(&(8000, "compose.yaml services.api.ports")));
    assert_eq!(api.backing_services, vec!["postgres", "redis"]);
    assert!(
        api.depends_on.is_empty(),
        "db and cache are backing services"
    );
    // env_file names (never values) and environment keys.
    for name in ["DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "WORKERS"] {
        assert!(env(api).contains(&name), "{name}");
    }
    let health = api.healthcheck.as_ref().unwrap();
    assert_eq!(
        health.value,
        "curl -fsS http://localhost:8000/health || exit 1"
    );
    assert!(api.evidence.iter().any(|e| {
        e.reason
            .contains("waits for db (postgres:16-alpine, a postgres) to be healthy")
    }));

    let proxy = common::service(&t, "proxy");
    assert_eq!(proxy.language, "docker");
    assert_eq!(proxy.path, ".");
    // ${NGINX_VERSION:-1.27} from .env.
    assert_eq!(proxy.image.as_deref(), Some("nginx:1.27.2-alpine"));
    assert_eq!(
        ports(proxy),
        vec![(80, "compose.yaml services.proxy.ports")]
    );
    let mut deps = proxy.depends_on.clone();
    deps.sort();
    assert_eq!(deps, vec!["api", "web"]);

    // Dependencies start first.
    let position = |n: &str| t.services.iter().position(|s| s.name == n).unwrap();
    assert!(position("api") < position("web"));
    assert!(position("web") < position("proxy"));

    // SESSION_SECRET is not in .env: compose would warn, so does Kyozo.
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("compose.yaml") && w.contains("SESSION_SECRET is not set")),
        "{:?}",
        t.warnings
    );
    // .env values serve interpolation only.
    assert!(!everything(&t).contains("local-only-password-do-not-leak"));
}

#[test]
fn compose_override() {
    let t = snapshot!("compose-override");
    assert_eq!(t.strategy, Strategy::Compose);
    let mut names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["app", "mailpit"]);

    let app = common::service(&t, "app");
    assert_eq!(app.path, ".");
    // The override's command and Dockerfile replace the base's.
    let start = app.start_command.as_ref().unwrap();
    assert_eq!(start.value, "python manage.py runserver 0.0.0.0:8000");
    assert_eq!(app.dockerfile.as_deref(), Some("Dockerfile.dev"));
    // Ports and environment are merged.
    let app_ports: Vec<u16> = app.ports.iter().map(|p| p.port).collect();
    assert!(
        app_ports.contains(&8000) && app_ports.contains(&5678),
        "{app_ports:?}"
    );
    for name in [
        "DJANGO_SETTINGS_MODULE",
        "DATABASE_URL",
        "DEBUG",
        "EMAIL_HOST",
    ] {
        assert!(env(app).contains(&name), "{name}");
    }
    assert!(app.backing_services.contains(&"postgres".to_string()));

    // What the override changed is credited to it.
    let port_sources: Vec<(u16, &str)> = ports(app);
    assert_eq!(
        port_sources,
        vec![
            (5678, "compose.override.yaml services.app.ports"),
            (8000, "compose.yaml services.app.ports"),
        ]
    );
    assert_eq!(
        start.source,
        Provenance::declared("compose.override.yaml services.app.command")
    );
    assert!(
        app.evidence
            .iter()
            .any(|e| e.path == "compose.override.yaml"
                && e.reason == "services.app builds from . with Dockerfile.dev")
    );

    let mailpit = common::service(&t, "mailpit");
    assert_eq!(mailpit.image.as_deref(), Some("axllent/mailpit:v1.19"));
    assert!(
        mailpit
            .ports
            .iter()
            .all(|p| p.source
                == Provenance::declared("compose.override.yaml services.mailpit.ports"))
    );
    let mail_ports: Vec<u16> = mailpit.ports.iter().map(|p| p.port).collect();
    assert_eq!(mail_ports, vec![1025, 8025]);
}

#[test]
fn compose_invalid() {
    let t = snapshot!("compose-invalid");
    assert!(
        t.warnings
            .iter()
            .any(|w| w.starts_with("docker-compose.yml: invalid:")),
        "{:?}",
        t.warnings
    );
    // The compose file is unusable, yet the folders are still analysed.
    assert_ne!(t.strategy, Strategy::Compose);
    assert!(
        !t.services
            .iter()
            .any(|s| s.detectors.contains(&"compose".to_string()))
    );
    let web = t
        .services
        .iter()
        .find(|s| s.path == "services/web")
        .expect("the web folder, from its Dockerfile");
    assert_eq!(web.dockerfile.as_deref(), Some("services/web/Dockerfile"));
    assert_eq!(ports(web), vec![(80, "Dockerfile EXPOSE")]);
    assert_eq!(
        web.healthcheck.as_ref().map(|h| h.value.as_str()),
        Some("wget -qO- http://localhost/ || exit 1")
    );
}

#[test]
fn procfile_basic() {
    let t = snapshot!("procfile-basic");
    assert_eq!(t.services.len(), 1);
    let s = &t.services[0];
    assert!(s.detectors.contains(&"procfile".to_string()));
    let start = s.start_command.as_ref().unwrap();
    assert_eq!(
        start.value,
        "gunicorn app:app --bind 0.0.0.0:$PORT --workers 2 --access-logfile -"
    );
    assert_eq!(start.source, Provenance::declared("Procfile web"));
    let name = s.name.clone();
    let release = recommendation(&t, &name, "release-command");
    assert_eq!(release.len(), 1);
    assert!(release[0].contains("flask --app app db upgrade"));
    let others = recommendation(&t, &name, "procfile-process");
    assert_eq!(
        others,
        vec![
            "process worker (celery -A tasks worker --loglevel=info) is not deployed as its own service; declare it in compose to run it"
        ]
    );
    // `$PORT` says nothing about the port: no port comes from the Procfile.
    assert!(
        !s.ports
            .iter()
            .any(|p| p.source.to_string().starts_with("Procfile"))
    );
}
