//! A folder with its own compose file: `up` runs the backing services the file runs
//! from an image (its `db`, its `cache`) under their names, as the file runs them, and
//! its app services get the env and dependencies the file gives them; an image of a kind
//! Kyozo does not know stays a service of the project; a hostile value stays a value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kyozo::plan::{BaseImages, Planner};

fn plan_of(compose: &str, images: BaseImages) -> kyozo::plan::Plan {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "flask==3.1.0\n").unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "from flask import Flask\napp = Flask(__name__)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    let topology = kyozo::Kyozo::builder()
        .build()
        .unwrap()
        .engine()
        .analyze(dir.path())
        .unwrap();
    Planner::new().with_images(images).plan(&topology)
}

const APP: &str = r#"
services:
  web:
    build: .
    ports: ["8000:8000"]
    environment:
      DATABASE_URL: postgres://app:app@db:5432/app
      REDIS_URL: redis://cache:6379/0
      SECRET_KEY:
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
  db:
    image: postgres:16-alpine
    environment:
      - POSTGRES_USER=app
      - POSTGRES_PASSWORD=app
      - POSTGRES_DB=app
    volumes:
      - pgdata:/var/lib/postgresql/data
      - ./init.sql:/docker-entrypoint-initdb.d/init.sql
  cache:
    image: redis:7
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
  mail:
    image: mailhog/mailhog
volumes:
  pgdata:
"#;

#[test]
fn the_files_backing_services_run_under_their_names_with_its_env() {
    let plan = plan_of(APP, BaseImages::default());
    let names: Vec<&str> = plan.backing.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["cache", "db"], "{:#?}", plan.backing);
    let db = plan.backing.iter().find(|b| b.name == "db").unwrap();
    assert_eq!(
        db.image, "postgres:16-alpine",
        "the file's image by default"
    );
    assert_eq!(db.port, 5432);
    assert_eq!(db.env["POSTGRES_USER"], "app");
    assert_eq!(
        db.volume,
        Some(("pgdata".into(), "/var/lib/postgresql/data".into())),
        "its named volume; the bind mount is not one"
    );
    assert_eq!(db.health.last().unwrap(), "pg_isready -U app -d app");
    let cache = plan.backing.iter().find(|b| b.name == "cache").unwrap();
    assert_eq!(cache.health.last().unwrap(), "redis-cli ping");
    assert_eq!(cache.volume, Some(("cache-data".into(), "/data".into())));

    let web = plan.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(
        web.spec.env["DATABASE_URL"],
        "postgres://app:app@db:5432/app"
    );
    assert_eq!(web.spec.env["REDIS_URL"], "redis://cache:6379/0");
    assert_eq!(
        web.spec.env["SECRET_KEY"], "${SECRET_KEY}",
        "a name without a value comes from the caller's environment, as in compose"
    );
    assert_eq!(web.spec.depends_on, ["cache", "db"]);
    assert!(
        web.spec.env_required.is_empty(),
        "{:?}",
        web.spec.env_required
    );
    // An image of a kind Kyozo does not know is one of the project's services.
    assert!(plan.services.iter().any(|s| s.name == "mail"));
}

#[test]
fn an_image_given_for_the_kind_replaces_the_files() {
    let plan = plan_of(
        APP,
        BaseImages::default().set("postgres", "local/postgres:15"),
    );
    let db = plan.backing.iter().find(|b| b.name == "db").unwrap();
    assert_eq!(db.image, "local/postgres:15");
    let cache = plan.backing.iter().find(|b| b.name == "cache").unwrap();
    assert_eq!(cache.image, "redis:7");
}

#[test]
fn hostile_values_stay_values() {
    let plan = plan_of(
        r#"
services:
  web:
    build: .
    environment:
      "BAD NAME": x
      GOOD: "a\nb; rm -rf /"
  db:
    image: postgres
    environment:
      POSTGRES_USER: "x'; touch /tmp/owned; '"
"#,
        BaseImages::default(),
    );
    let web = plan.services.iter().find(|s| s.name == "web").unwrap();
    assert!(!web.spec.env.contains_key("BAD NAME"));
    assert_eq!(web.spec.env["GOOD"], "a\nb; rm -rf /");
    let db = plan.backing.iter().find(|b| b.name == "db").unwrap();
    // One quoted word: the shell runs pg_isready with it as the user name.
    let user = kyozo::model::shell_quote("x'; touch /tmp/owned; '");
    assert_eq!(
        db.health.last().unwrap(),
        &format!("pg_isready -U {user} -d {user}")
    );
}
