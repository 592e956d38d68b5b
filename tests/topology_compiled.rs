//! Fixture tests of the detectors for compiled and JVM stacks: Go, Rust, Java and
//! Kotlin (Maven, Gradle), Scala (sbt), Clojure (Leiningen, tools.deps) and .NET.
//! Each test snapshots the whole topology of one fixture folder and then asserts what a
//! user would check first: the service found, its commands, ports, runtime version and
//! where each came from.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::ports;

use kyozo::topology::{Provenance, Strategy};

fn command(c: &Option<kyozo::topology::Sourced<String>>) -> &str {
    c.as_ref().map(|c| c.value.as_str()).unwrap_or_default()
}

fn codes<'a>(t: &'a kyozo::topology::Topology, service: &str) -> Vec<&'a str> {
    t.recommendations
        .iter()
        .filter(|r| r.service.as_deref() == Some(service))
        .map(|r| r.code.as_str())
        .collect()
}

#[test]
fn go_basic() {
    let t = snapshot!("go-basic");
    assert_eq!(t.strategy, Strategy::Single);
    let s = common::service(&t, "bookstore");
    assert_eq!(s.language, "go");
    assert_eq!(s.framework, None);
    assert_eq!(s.package_manager.as_deref(), Some("go"));
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("1.22.4", "go.mod toolchain directive")
    );
    assert_eq!(command(&s.build_command), "go build -o /app/server .");
    assert_eq!(command(&s.start_command), "/app/server");
    assert_eq!(command(&s.install_command), "go mod download");
    assert_eq!(ports(s), vec![(8080, "main.go PORT fallback")]);
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert!(s.env.iter().any(|e| e.name == "DATABASE_URL"));
    assert!(s.confidence >= 0.9, "{}", s.confidence);
    assert!(!codes(&t, "bookstore").contains(&"no-lockfile"));
}

#[test]
fn go_cmd_layout() {
    let t = snapshot!("go-cmd-layout");
    assert_eq!(t.services.len(), 1);
    let s = common::service(&t, "shop");
    assert_eq!(
        command(&s.build_command),
        "go build -o /app/server ./cmd/api"
    );
    assert_eq!(ports(s), vec![(3000, "cmd/api/main.go listen address")]);
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("1.21.5", "go.mod go directive")
    );
    assert_eq!(s.backing_services, vec!["redis"]);
    let env: Vec<&str> = s.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(env, vec!["LOG_LEVEL", "REDIS_URL"]);
    let note = t
        .recommendations
        .iter()
        .find(|r| r.code == "several-mains")
        .unwrap();
    assert!(note.message.contains("./cmd/worker"), "{}", note.message);
}

#[test]
fn go_work() {
    let t = snapshot!("go-work");
    assert_eq!(t.strategy, Strategy::Monorepo);
    assert!(t.patterns.contains(&"go-work".to_string()));
    let api = common::service(&t, "api");
    assert_eq!(api.context, ".");
    assert_eq!(command(&api.build_command), "go build -o /app/server ./api");
    assert_eq!(ports(api), vec![(1323, "api/main.go listen address")]);
    let worker = common::service(&t, "worker");
    assert_eq!(
        command(&worker.build_command),
        "go build -o /app/server ./worker/cmd/worker"
    );
    assert!(worker.ports.is_empty(), "a worker serves no port");
    assert_eq!(worker.backing_services, vec!["nats"]);
    assert_eq!(t.services.len(), 2);
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "lib");
    assert_eq!(t.shared_packages[0].path, "lib");
}

#[test]
fn go_library() {
    let t = snapshot!("go-library");
    assert!(
        t.services.is_empty(),
        "a gen.go behind `//go:build ignore` is not a main"
    );
    assert_eq!(t.strategy, Strategy::None);
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "units");
    assert_eq!(t.shared_packages[0].language, "go");
}

#[test]
fn go_invalid_gomod() {
    let t = snapshot!("go-invalid-gomod");
    assert!(
        t.warnings
            .iter()
            .any(|w| w.starts_with("services/broken/go.mod: invalid")),
        "{:?}",
        t.warnings
    );
    let ok = common::service(&t, "ok");
    assert_eq!(ok.path, "services/ok");
    assert_eq!(
        ports(ok),
        vec![(8000, "services/ok/main.go listen address")]
    );
    assert_eq!(ok.backing_services, vec!["postgres"]);
    assert!(codes(&t, "ok").contains(&"no-lockfile"));
}

#[test]
fn rust_axum() {
    let t = snapshot!("rust-axum");
    assert_eq!(t.strategy, Strategy::Single);
    let s = common::service(&t, "todo-api");
    assert_eq!(s.language, "rust");
    assert_eq!(s.package_manager.as_deref(), Some("cargo"));
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("1.79.0", "rust-toolchain.toml channel")
    );
    assert_eq!(command(&s.build_command), "cargo build --release --locked");
    assert_eq!(command(&s.start_command), "./target/release/todo-api");
    assert_eq!(ports(s), vec![(3000, "src/main.rs listen address")]);
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert_eq!(s.healthcheck.as_ref().unwrap().value, "/healthz");
    assert!(s.confidence >= 0.9, "{}", s.confidence);
}

#[test]
fn rust_workspace() {
    let t = snapshot!("rust-workspace");
    assert_eq!(t.strategy, Strategy::Monorepo);
    assert!(t.patterns.contains(&"cargo-workspace".to_string()));
    let api = common::service(&t, "shop-api");
    assert_eq!(api.path, "crates/api");
    assert_eq!(api.context, ".");
    assert_eq!(
        command(&api.build_command),
        "cargo build --release --locked -p shop-api --bin shop-api"
    );
    assert_eq!(command(&api.start_command), "./target/release/shop-api");
    assert_eq!(ports(api), vec![(8080, "default for actix-web")]);
    // sqlx's features come from [workspace.dependencies].
    assert_eq!(api.backing_services, vec!["mysql"]);
    let v = api.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("1.78", "Cargo.toml workspace.package.rust-version")
    );
    assert!(codes(&t, "shop-api").contains(&"several-bins"));
    let worker = common::service(&t, "shop-worker");
    assert_eq!(worker.backing_services, vec!["rabbitmq"]);
    assert!(worker.ports.is_empty());
    let v = worker.runtime_version.as_ref().unwrap();
    assert_eq!(
        v.source,
        Provenance::declared("Cargo.toml workspace.package.rust-version")
    );
    assert_eq!(t.services.len(), 2, "xtask is a tool, not a service");
    let libs: Vec<&str> = t.shared_packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(libs, vec!["shop-core", "xtask"]);
}

#[test]
fn java_spring_maven() {
    let t = snapshot!("java-spring-maven");
    assert_eq!(t.strategy, Strategy::Single);
    let s = common::service(&t, "demo");
    assert_eq!(s.language, "java");
    assert_eq!(s.framework.as_deref(), Some("spring-boot"));
    assert_eq!(s.package_manager.as_deref(), Some("maven"));
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("17", "pom.xml java.version")
    );
    assert_eq!(command(&s.build_command), "./mvnw -B -DskipTests package");
    assert_eq!(
        command(&s.start_command),
        "java -jar target/demo-0.0.1-SNAPSHOT.jar"
    );
    // `server.port=${SERVER_PORT:8081}` beats Spring's default 8080.
    assert_eq!(
        ports(s),
        vec![(
            8081,
            "src/main/resources/application.properties server.port"
        )]
    );
    let env: Vec<&str> = s.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        env,
        vec!["DB_HOST", "DB_PASSWORD", "DB_USER", "SERVER_PORT"]
    );
    // A test-scoped Testcontainers MySQL module is not a backing service.
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert_eq!(s.healthcheck.as_ref().unwrap().value, "/actuator/health");
    assert!(s.confidence >= 0.9, "{}", s.confidence);
}

#[test]
fn java_spring_gradle() {
    let t = snapshot!("java-spring-gradle");
    let s = common::service(&t, "inventory");
    assert_eq!(
        s.language, "java",
        "a Kotlin DSL build of Java sources is Java"
    );
    assert_eq!(s.framework.as_deref(), Some("spring-boot"));
    assert_eq!(s.package_manager.as_deref(), Some("gradle"));
    // .java-version pins the JDK over the toolchain's 21.
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("21.0.3", ".java-version")
    );
    assert_eq!(command(&s.build_command), "./gradlew bootJar");
    assert_eq!(
        command(&s.start_command),
        "java -jar build/libs/inventory-1.3.0.jar"
    );
    assert_eq!(ports(s), vec![(8080, "default for spring-boot")]);
    assert_eq!(s.backing_services, vec!["redis"]);
    assert!(codes(&t, "inventory").contains(&"port-assumed"));
}

#[test]
fn kotlin_ktor_gradle() {
    let t = snapshot!("kotlin-ktor-gradle");
    let s = common::service(&t, "ktor-sample");
    assert_eq!(s.language, "kotlin");
    assert_eq!(s.framework, None, "ktor is not in Kyozo's framework list");
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("17", "build.gradle.kts java toolchain")
    );
    assert_eq!(command(&s.build_command), "./gradlew buildFatJar");
    assert_eq!(
        command(&s.start_command),
        "java -jar build/libs/ktor-sample-all.jar"
    );
    assert_eq!(
        ports(s),
        vec![(
            8080,
            "src/main/resources/application.conf ktor.deployment.port"
        )]
    );
    assert!(s.env.iter().any(|e| e.name == "PORT"));
    assert!(s.env.iter().any(|e| e.name == "DATABASE_URL"));
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert_eq!(s.healthcheck.as_ref().unwrap().value, "/health");
}

#[test]
fn java_maven_multimodule() {
    let t = snapshot!("java-maven-multimodule");
    assert_eq!(t.strategy, Strategy::Monorepo);
    assert!(t.patterns.contains(&"maven-multimodule".to_string()));
    let api = common::service(&t, "orders-api");
    assert_eq!(api.framework.as_deref(), Some("spring-boot"));
    assert_eq!(api.context, ".");
    assert_eq!(
        command(&api.build_command),
        "./mvnw -B -DskipTests -pl api -am package"
    );
    // ${revision} comes from the parent POM's properties.
    assert_eq!(
        command(&api.start_command),
        "java -jar api/target/orders-api-2.4.0.jar"
    );
    assert_eq!(
        ports(api),
        vec![(8088, "api/src/main/resources/application.yml server.port")]
    );
    assert_eq!(api.backing_services, vec!["mysql"]);
    let v = api.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("17.0.10+7", ".tool-versions java")
    );
    let batch = common::service(&t, "orders-batch");
    assert_eq!(batch.framework, None);
    assert_eq!(
        command(&batch.start_command),
        "java -jar batch/target/orders-batch-2.4.0.jar"
    );
    assert_eq!(batch.backing_services, vec!["kafka"]);
    assert!(batch.ports.is_empty());
    assert_eq!(t.services.len(), 2);
    let libs: Vec<&str> = t.shared_packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(libs, vec!["orders-common"]);
}

#[test]
fn java_gradle_multiproject() {
    let t = snapshot!("java-gradle-multiproject");
    assert!(t.patterns.contains(&"gradle-multiproject".to_string()));
    let app = common::service(&t, "app");
    assert_eq!(
        app.framework.as_deref(),
        Some("spring-boot"),
        "plugin applied through the version catalog"
    );
    assert_eq!(app.context, ".");
    assert_eq!(command(&app.build_command), "./gradlew :app:bootJar");
    assert!(command(&app.start_command).contains("app/build/libs/"));
    // The root's `subprojects { java { toolchain } }` applies to the app.
    let v = app.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("17", "build.gradle java toolchain")
    );
    // postgresql comes from a catalog bundle.
    assert_eq!(app.backing_services, vec!["postgres"]);
    assert_eq!(t.services.len(), 1);
    let libs: Vec<(&str, &str)> = t
        .shared_packages
        .iter()
        .map(|p| (p.name.as_str(), p.path.as_str()))
        .collect();
    assert_eq!(
        libs,
        vec![("core", "libs/core")],
        "the root build only configures"
    );
}

#[test]
fn scala_sbt() {
    let t = snapshot!("scala-sbt");
    let s = common::service(&t, "quotes");
    assert_eq!(s.language, "scala");
    assert_eq!(s.package_manager.as_deref(), Some("sbt"));
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("2.13.12", "build.sbt scalaVersion")
    );
    assert_eq!(command(&s.build_command), "sbt assembly");
    assert_eq!(
        command(&s.start_command),
        "java -jar target/scala-2.13/quotes-assembly-1.0.2.jar"
    );
    assert_eq!(
        ports(s),
        vec![(
            8090,
            "src/main/scala/com/acme/quotes/Main.scala listen address"
        )]
    );
    assert_eq!(s.backing_services, vec!["postgres"], "doobie-postgres");
    assert!(s.env.iter().any(|e| e.name == "DATABASE_URL"));
}

#[test]
fn scala_play() {
    let t = snapshot!("scala-play");
    let s = common::service(&t, "play-scala-seed");
    assert_eq!(s.framework, None, "play is not in Kyozo's framework list");
    assert_eq!(command(&s.build_command), "sbt stage");
    assert_eq!(
        command(&s.start_command),
        "target/universal/stage/bin/play-scala-seed"
    );
    assert_eq!(ports(s), vec![(9000, "default for play")]);
    let env: Vec<&str> = s.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(env, vec!["APPLICATION_SECRET", "DATABASE_URL"]);
    assert_eq!(s.backing_services, vec!["postgres"]);
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(v.value, "2.13.13");
}

#[test]
fn clojure_lein() {
    let t = snapshot!("clojure-lein");
    let s = common::service(&t, "shop");
    assert_eq!(s.language, "clojure");
    assert_eq!(s.package_manager.as_deref(), Some("leiningen"));
    assert_eq!(command(&s.build_command), "lein uberjar");
    assert_eq!(
        command(&s.start_command),
        "java -jar target/uberjar/shop-0.3.0-standalone.jar"
    );
    assert_eq!(ports(s), vec![(3000, "src/shop/core.clj PORT fallback")]);
    // The JDK pinned with sdkman.
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("21.0.2", ".sdkmanrc java")
    );
    assert_eq!(s.backing_services, vec!["postgres", "redis"]);
    let env: Vec<&str> = s.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        env,
        vec!["DATABASE_URL", "PORT"],
        "environ's (env :database-url) too"
    );
    assert_eq!(s.healthcheck.as_ref().unwrap().value, "/health");
}

#[test]
fn clojure_deps() {
    let t = snapshot!("clojure-deps");
    assert_eq!(t.services.len(), 1);
    let s = &t.services[0];
    assert_eq!(s.package_manager.as_deref(), Some("clojure-cli"));
    assert_eq!(command(&s.install_command), "clojure -P -M:run");
    assert_eq!(command(&s.build_command), "clojure -T:build uber");
    assert_eq!(
        command(&s.start_command),
        "java -jar target/app-standalone.jar"
    );
    assert_eq!(ports(s), vec![(8080, "src/app/main.clj :port")]);
    assert_eq!(s.backing_services, vec!["mongodb"]);
    assert!(s.runtime_version.is_none(), "no JDK pin in the fixture");
}

#[test]
fn dotnet_aspnet() {
    let t = snapshot!("dotnet-aspnet");
    let s = common::service(&t, "todoapi");
    assert_eq!(s.language, "dotnet");
    assert_eq!(s.framework.as_deref(), Some("aspnet"));
    assert_eq!(s.package_manager.as_deref(), Some("nuget"));
    // global.json beats TargetFramework.
    let v = s.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("8.0.204", "global.json sdk.version")
    );
    assert_eq!(command(&s.install_command), "dotnet restore --locked-mode");
    assert_eq!(
        command(&s.build_command),
        "dotnet publish -c Release -o out"
    );
    assert_eq!(command(&s.start_command), "dotnet out/TodoApi.dll");
    // launchSettings.json's localhost:5123 is a development port, not the container's.
    assert_eq!(ports(s), vec![(8080, "default for aspnet (.NET 8+)")]);
    assert_eq!(s.backing_services, vec!["postgres", "redis"]);
    assert_eq!(s.healthcheck.as_ref().unwrap().value, "/healthz");
    assert!(s.confidence >= 0.9, "{}", s.confidence);
}

#[test]
fn dotnet_solution() {
    let t = snapshot!("dotnet-solution");
    assert!(t.patterns.contains(&"dotnet-solution".to_string()));
    let web = common::service(&t, "shop-web");
    assert_eq!(web.context, ".");
    assert_eq!(
        command(&web.build_command),
        "dotnet publish src/Shop.Web/Shop.Web.csproj -c Release -o out"
    );
    assert_eq!(command(&web.start_command), "dotnet out/Shop.Web.dll");
    assert_eq!(
        ports(web),
        vec![(5000, "src/Shop.Web/appsettings.json Urls")]
    );
    let v = web.runtime_version.as_ref().unwrap();
    assert_eq!(
        (v.value.as_str(), v.source.to_string().as_str()),
        ("7.0", "Directory.Build.props TargetFramework net7.0")
    );
    assert_eq!(web.backing_services, vec!["mongodb"]);
    let worker = common::service(&t, "shop-worker");
    assert_eq!(worker.framework, None);
    assert!(worker.ports.is_empty());
    assert_eq!(command(&worker.start_command), "dotnet out/shop-worker.dll");
    assert_eq!(worker.backing_services, vec!["rabbitmq"]);
    let libs: Vec<&str> = t.shared_packages.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(libs, vec!["src/Shop.Core", "tests/Shop.Tests"]);
}

#[test]
fn rust_invalid_cargo_toml() {
    let t = snapshot!("rust-invalid-cargo-toml");
    assert!(
        t.warnings
            .iter()
            .any(|w| w.starts_with("apps/bad/Cargo.toml: invalid")),
        "{:?}",
        t.warnings
    );
    assert_eq!(t.services.len(), 1);
    let good = common::service(&t, "good");
    assert_eq!(command(&good.build_command), "cargo build --release");
    assert_eq!(good.backing_services, vec!["redis"]);
    assert!(codes(&t, "good").contains(&"no-lockfile"));
}

#[test]
fn go_no_gomod() {
    let t = snapshot!("go-no-gomod");
    let s = &t.services[0];
    assert_eq!(s.language, "go");
    // A program that builds (in a module made for the build): `up` deploys it.
    assert!(s.confidence >= 0.5, "{}", s.confidence);
    assert_eq!(command(&s.build_command), "go build -o /app/server main.go");
    assert_eq!(ports(s), vec![(8081, "main.go listen address")]);
    let codes: Vec<&str> = t.recommendations.iter().map(|r| r.code.as_str()).collect();
    assert!(codes.contains(&"no-go-mod"), "{codes:?}");
    assert!(!codes.contains(&"low-confidence"), "{codes:?}");
}
