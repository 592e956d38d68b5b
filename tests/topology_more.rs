//! Fixture tests of the Haskell, C/C++, Crystal, Dart, Swift and Zig detectors: each
//! fixture folder is analysed with every detector, compared with its snapshot, and the
//! values a user relies on (commands, ports, versions and their sources) are checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::ports;

use kyozo::topology::{Topology, TopologyService};

fn start(s: &TopologyService) -> &str {
    s.start_command.as_ref().map_or("", |c| c.value.as_str())
}

fn build(s: &TopologyService) -> &str {
    s.build_command.as_ref().map_or("", |c| c.value.as_str())
}

/// The runtime version and its source as the CLI shows it (leaked, so the assertions
/// compare `&str` tuples; a test process is short-lived).
fn runtime(s: &TopologyService) -> (&str, &'static str) {
    s.runtime_version.as_ref().map_or(("", ""), |v| {
        let shown: &'static str = Box::leak(v.source.to_string().into_boxed_str());
        (v.value.as_str(), shown)
    })
}

fn has_recommendation(t: &Topology, service: &str, code: &str) -> bool {
    t.recommendations
        .iter()
        .any(|r| r.service.as_deref() == Some(service) && r.code == code)
}

#[test]
fn dart_shelf() {
    let t = snapshot!("dart-shelf");
    assert_eq!(t.services.len(), 1);
    let api = common::service(&t, "notes-api");
    assert_eq!(api.language, "dart");
    assert_eq!(api.framework.as_deref(), Some("shelf"));
    assert_eq!(api.package_manager.as_deref(), Some("pub"));
    assert_eq!(runtime(api), ("3.3.0", "pubspec.yaml environment.sdk"));
    assert_eq!(build(api), "dart compile exe bin/server.dart -o bin/server");
    assert_eq!(start(api), "./bin/server");
    // The PORT default read in bin/server.dart beats shelf's assumed default.
    assert_eq!(ports(api), vec![(8080, "bin/server.dart PORT default")]);
    assert!(api.backing_services.contains(&"postgres".to_string()));
    assert!(api.env.iter().any(|e| e.name == "DATABASE_URL"));
    assert!(api.confidence >= 0.85, "{}", api.confidence);
    assert!(!has_recommendation(&t, "notes-api", "no-lockfile"));
}

#[test]
fn dart_flutter_web() {
    let t = snapshot!("dart-flutter-web");
    assert_eq!(t.services.len(), 1);
    let web = common::service(&t, "counter-web");
    assert_eq!(web.language, "dart");
    assert_eq!(web.framework.as_deref(), Some("flutter"));
    assert_eq!(runtime(web), ("3.19.6", ".fvmrc flutter"));
    assert_eq!(build(web), "flutter build web --release");
    assert!(web.start_command.is_none());
    assert!(has_recommendation(&t, "counter-web", "static-output"));
    assert!(web.confidence >= 0.8, "{}", web.confidence);
}

#[test]
fn crystal_kemal() {
    let t = snapshot!("crystal-kemal");
    assert_eq!(t.services.len(), 1);
    let api = common::service(&t, "todo-api");
    assert_eq!(api.language, "crystal");
    assert_eq!(api.framework.as_deref(), Some("kemal"));
    assert_eq!(api.package_manager.as_deref(), Some("shards"));
    // .tool-versions beats the shard.yml constraint.
    assert_eq!(runtime(api), ("1.12.1", ".tool-versions crystal"));
    assert_eq!(
        api.install_command.as_ref().unwrap().value,
        "shards install --production"
    );
    assert_eq!(build(api), "shards build --production --release");
    assert_eq!(start(api), "./bin/todo-api");
    // The PORT default in the code beats Kemal's 3000.
    assert_eq!(ports(api), vec![(4000, "src/todo-api.cr")]);
    assert_eq!(api.backing_services, vec!["redis".to_string()]);
    assert!(api.confidence >= 0.85, "{}", api.confidence);
}

#[test]
fn crystal_invalid_manifest() {
    let t = snapshot!("crystal-invalid-manifest");
    // The broken shard.yml is a warning; the other shard is still analysed.
    assert!(
        t.warnings
            .iter()
            .any(|w| w.starts_with("services/broken/shard.yml: invalid")),
        "{:?}",
        t.warnings
    );
    assert_eq!(t.services.len(), 1);
    let links = common::service(&t, "links");
    assert_eq!(links.path, "services/links");
    assert_eq!(runtime(links), ("1.11", "services/links/shard.yml crystal"));
    assert_eq!(ports(links), vec![(3000, "default for kemal")]);
    assert!(has_recommendation(&t, "links", "port-assumed"));
}

#[test]
fn swift_vapor() {
    let t = snapshot!("swift-vapor");
    assert_eq!(t.services.len(), 1);
    let app = common::service(&t, "todos");
    assert_eq!(app.language, "swift");
    assert_eq!(app.framework.as_deref(), Some("vapor"));
    assert_eq!(app.package_manager.as_deref(), Some("swiftpm"));
    assert_eq!(runtime(app), ("5.9", "Package.swift swift-tools-version"));
    assert_eq!(build(app), "swift build -c release");
    assert_eq!(
        start(app),
        ".build/release/App serve --env production --hostname 0.0.0.0 --port 8080"
    );
    assert_eq!(ports(app), vec![(8080, "default for vapor")]);
    assert_eq!(app.backing_services, vec!["postgres".to_string()]);
    assert!(app.env.iter().any(|e| e.name == "DATABASE_HOST"));
    assert!(app.confidence >= 0.9, "{}", app.confidence);
    assert!(!has_recommendation(&t, "todos", "no-lockfile"));
}

#[test]
fn swift_cli() {
    let t = snapshot!("swift-cli");
    assert_eq!(t.services.len(), 1);
    let cli = common::service(&t, "image-resize");
    assert_eq!(cli.framework, None);
    // .swift-version beats the tools version.
    assert_eq!(runtime(cli), ("5.10", ".swift-version"));
    assert_eq!(start(cli), ".build/release/image-resize");
    assert!(cli.ports.is_empty());
    assert!(has_recommendation(&t, "image-resize", "no-lockfile"));
    assert!(has_recommendation(&t, "image-resize", "port-unknown"));
}

#[test]
fn zig_exe() {
    let t = snapshot!("zig-exe");
    assert_eq!(t.services.len(), 1);
    let app = common::service(&t, "shortener");
    assert_eq!(app.language, "zig");
    assert_eq!(app.package_manager.as_deref(), Some("zig"));
    assert_eq!(runtime(app), ("0.13.0", ".tool-versions zig"));
    assert_eq!(
        app.install_command.as_ref().unwrap().value,
        "zig build --fetch"
    );
    assert_eq!(build(app), "zig build -Doptimize=ReleaseSafe");
    assert_eq!(start(app), "./zig-out/bin/shortener");
    // `.port = 3000` read in src/main.zig, not assumed.
    assert_eq!(ports(app), vec![(3000, "src/main.zig .port")]);
    assert!(app.confidence >= 0.85, "{}", app.confidence);
}

#[test]
fn zig_library() {
    let t = snapshot!("zig-library");
    assert!(t.services.is_empty());
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "semver");
    assert_eq!(t.shared_packages[0].language, "zig");
}

#[test]
fn haskell_stack_scotty() {
    let t = snapshot!("haskell-stack-scotty");
    // package.yaml and the .cabal hpack generated from it are one package.
    assert_eq!(t.services.len(), 1);
    let app = common::service(&t, "bookmarks");
    assert_eq!(app.language, "haskell");
    assert_eq!(app.framework, None);
    assert_eq!(app.package_manager.as_deref(), Some("stack"));
    assert_eq!(runtime(app), ("9.6", "stack.yaml resolver lts-22.6"));
    assert_eq!(build(app), "stack build --copy-bins --local-bin-path ./bin");
    assert_eq!(start(app), "./bin/bookmarks");
    assert_eq!(ports(app), vec![(3000, "default for scotty")]);
    assert!(app.confidence >= 0.9, "{}", app.confidence);
    assert!(!has_recommendation(&t, "bookmarks", "no-lockfile"));
}

#[test]
fn haskell_cabal_exe() {
    let t = snapshot!("haskell-cabal-exe");
    assert_eq!(t.services.len(), 1);
    let api = common::service(&t, "weather-api");
    assert_eq!(api.package_manager.as_deref(), Some("cabal"));
    // cabal.project with-compiler beats tested-with.
    assert_eq!(runtime(api), ("9.6.4", "cabal.project with-compiler"));
    assert_eq!(
        build(api),
        "cabal install exe:weather-api --installdir=./bin --install-method=copy --overwrite-policy=always"
    );
    assert_eq!(start(api), "./bin/weather-api");
    // `run 8081 app` in the main module.
    assert_eq!(ports(api), vec![(8081, "app/Main.hs")]);
    assert_eq!(api.backing_services, vec!["postgres".to_string()]);
    assert!(api.confidence >= 0.9, "{}", api.confidence);
}

#[test]
fn haskell_cabal_library() {
    let t = snapshot!("haskell-cabal-library");
    assert!(t.services.is_empty());
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "interval-set");
    assert_eq!(t.shared_packages[0].language, "haskell");
}

#[test]
fn haskell_cabal_workspace() {
    let t = snapshot!("haskell-cabal-workspace");
    assert!(t.patterns.contains(&"cabal-project".to_string()));
    assert_eq!(t.services.len(), 1);
    let api = common::service(&t, "api");
    assert_eq!(api.path, "services/api");
    // A member builds from the project root, where cabal.project is.
    assert_eq!(api.context, ".");
    assert_eq!(runtime(api), ("9.8.2", ".tool-versions ghc"));
    assert_eq!(ports(api), vec![(3000, "services/api/app/Main.hs")]);
    // hedis, a Redis client.
    assert_eq!(api.backing_services, vec!["redis".to_string()]);
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].path, "libs/core");
    assert!(has_recommendation(&t, "api", "no-lockfile"));
}

#[test]
fn cpp_cmake_exe() {
    let t = snapshot!("cpp-cmake-exe");
    // src/ and tests/ CMakeLists.txt are part of the root project.
    assert_eq!(t.services.len(), 1);
    let app = common::service(&t, "inventory");
    assert_eq!(app.language, "cpp");
    assert_eq!(app.package_manager.as_deref(), Some("cmake"));
    assert_eq!(
        runtime(app),
        ("3.20", "CMakeLists.txt cmake_minimum_required")
    );
    assert_eq!(
        build(app),
        "cmake -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake && cmake --build build"
    );
    // The executable is defined in src/, so it lands in build/src; the test binary is
    // not the service.
    assert_eq!(start(app), "./build/src/inventory");
    // app.port(8080) read in the sources; the commented-out 18080 is ignored.
    assert_eq!(ports(app), vec![(8080, "src/main.cpp")]);
    assert_eq!(app.backing_services, vec!["postgres".to_string()]);
    assert!(app.confidence >= 0.9, "{}", app.confidence);
}

#[test]
fn cpp_cmake_library() {
    let t = snapshot!("cpp-cmake-library");
    // Only test and example executables: a library.
    assert!(t.services.is_empty(), "{:?}", t.services);
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "tinyjson");
    assert_eq!(t.shared_packages[0].language, "cpp");
}

#[test]
fn cpp_meson() {
    let t = snapshot!("cpp-meson");
    assert_eq!(t.services.len(), 1);
    let app = common::service(&t, "kvstore");
    assert_eq!(app.package_manager.as_deref(), Some("meson"));
    assert_eq!(runtime(app), ("1.1.0", "meson.build meson_version"));
    assert_eq!(
        build(app),
        "meson setup build --buildtype=release && meson compile -C build"
    );
    assert_eq!(start(app), "./build/src/kvstore");
    assert_eq!(ports(app), vec![(8080, "default for cpp-httplib")]);
    assert_eq!(app.backing_services, vec!["redis".to_string()]);
}

#[test]
fn dart_workspace() {
    let t = snapshot!("dart-workspace");
    assert!(t.patterns.contains(&"pub-workspace".to_string()));
    assert_eq!(t.services.len(), 1);
    let api = common::service(&t, "shop-api");
    assert_eq!(api.path, "packages/api");
    // A workspace member resolves from the root, where pubspec.lock is.
    assert_eq!(api.context, ".");
    assert_eq!(
        api.install_command.as_ref().unwrap().value,
        "dart pub get --enforce-lockfile"
    );
    // Its commands run from the context.
    assert_eq!(
        build(api),
        "dart compile exe packages/api/bin/shop_api.dart -o packages/api/bin/shop_api"
    );
    assert_eq!(start(api), "./packages/api/bin/shop_api");
    assert_eq!(
        ports(api),
        vec![(8080, "packages/api/bin/shop_api.dart PORT default")]
    );
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "shop_models");
}

#[test]
fn cpp_makefile() {
    let t = snapshot!("cpp-makefile");
    assert_eq!(t.services.len(), 1);
    let s = &t.services[0];
    assert_eq!(s.language, "cpp");
    assert_eq!(build(s), "make");
    assert_eq!(start(s), "./echod");
    // A Makefile and sources only: a weak signal.
    assert!(s.confidence < 0.5, "{}", s.confidence);
    assert!(has_recommendation(&t, &s.name, "low-confidence"));
}
