//! The node-family detectors (node, deno, staticfile, shell) on fixture projects: each
//! fixture's topology is snapshotted, and the values a user deploys with are asserted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{env, ports, source, value};

use kyozo::topology::{Topology, TopologyService};

fn codes<'a>(t: &'a Topology, service: &str) -> Vec<&'a str> {
    t.recommendations
        .iter()
        .filter(|r| r.service.as_deref() == Some(service))
        .map(|r| r.code.as_str())
        .collect()
}

fn only(t: &Topology) -> &TopologyService {
    assert_eq!(
        t.services.len(),
        1,
        "expected one service, got {:?}",
        t.services.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    &t.services[0]
}

#[test]
fn node_nextjs_pnpm() {
    let t = snapshot!("node-nextjs-pnpm");
    let s = common::service(&t, "storefront");
    assert_eq!(t.strategy.as_str(), "single");
    assert_eq!(s.language, "node");
    assert_eq!(s.framework.as_deref(), Some("nextjs"));
    assert_eq!(s.package_manager.as_deref(), Some("pnpm"));
    assert_eq!(
        value(&s.install_command),
        Some("pnpm install --frozen-lockfile")
    );
    assert_eq!(value(&s.build_command), Some("pnpm run build"));
    assert_eq!(value(&s.start_command), Some("pnpm start"));
    assert_eq!(source(&s.start_command), Some("package.json scripts.start"));
    assert_eq!(ports(s), vec![(3000, "default for nextjs")]);
    // A leading `v` in .nvmrc is dropped.
    assert_eq!(value(&s.runtime_version), Some("20.15.1"));
    assert_eq!(source(&s.runtime_version), Some(".nvmrc"));
    assert_eq!(s.backing_services, vec!["redis"]);
    assert!(env(s).contains(&"REDIS_URL"));
    assert!(s.confidence >= 0.9, "{}", s.confidence);
    assert!(codes(&t, "storefront").contains(&"port-assumed"));
}

#[test]
fn node_express_npm() {
    let t = snapshot!("node-express-npm");
    let s = common::service(&t, "orders-api");
    assert_eq!(s.framework.as_deref(), Some("express"));
    assert_eq!(s.package_manager.as_deref(), Some("npm"));
    assert_eq!(value(&s.install_command), Some("npm ci"));
    assert_eq!(value(&s.start_command), Some("npm start"));
    assert_eq!(s.build_command, None);
    // PORT in .env.example beats the literal fallback in the code.
    assert_eq!(ports(s), vec![(8080, ".env.example PORT")]);
    assert_eq!(value(&s.runtime_version), Some("20.11.1"));
    assert_eq!(source(&s.runtime_version), Some(".node-version"));
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert_eq!(env(s), vec!["DATABASE_URL", "LOG_LEVEL", "PORT"]);
    assert!(t.recommendations.iter().all(|r| r.code != "no-lockfile"));
    assert!(s.confidence >= 0.9);
}

#[test]
fn node_nestjs_yarn() {
    let t = snapshot!("node-nestjs-yarn");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("nestjs"));
    assert_eq!(s.package_manager.as_deref(), Some("yarn"));
    assert_eq!(
        value(&s.install_command),
        Some("yarn install --frozen-lockfile"),
        "a `# yarn lockfile v1` lockfile is yarn classic"
    );
    // `start:prod` (node dist/main) beats `start` (nest start, which compiles at boot).
    assert_eq!(value(&s.start_command), Some("yarn run start:prod"));
    assert_eq!(value(&s.build_command), Some("yarn run build"));
    // Read from src/main.ts (`process.env.PORT ?? 3000`), not assumed.
    assert_eq!(ports(s), vec![(3000, "src/main.ts")]);
    assert_eq!(value(&s.runtime_version), Some(">=18.17"));
    assert_eq!(
        source(&s.runtime_version),
        Some("package.json engines.node")
    );
    assert_eq!(s.backing_services, vec!["mysql"]);
    assert!(env(s).contains(&"PORT"));
}

#[test]
fn node_remix() {
    let t = snapshot!("node-remix");
    let s = only(&t);
    // Remix builds with Vite: still remix, not a Vite SPA.
    assert_eq!(s.framework.as_deref(), Some("remix"));
    assert_eq!(value(&s.start_command), Some("npm start"));
    assert_eq!(value(&s.build_command), Some("npm run build"));
    assert_eq!(ports(s), vec![(3000, "default for remix")]);
    assert_eq!(value(&s.runtime_version), Some(">=20.0.0"));
}

#[test]
fn node_nuxt() {
    let t = snapshot!("node-nuxt");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("nuxt"));
    assert_eq!(s.package_manager.as_deref(), Some("yarn"));
    // packageManager yarn@4 and .yarnrc.yml: berry.
    assert_eq!(value(&s.install_command), Some("yarn install --immutable"));
    // Nuxt 3 templates have no start script: the Nitro server output runs.
    assert_eq!(
        value(&s.start_command),
        Some("node .output/server/index.mjs")
    );
    assert_eq!(source(&s.start_command), Some("default for nuxt"));
    assert_eq!(ports(s), vec![(3000, "default for nuxt")]);
    assert_eq!(value(&s.runtime_version), Some("22"));
    assert_eq!(source(&s.runtime_version), Some("default for node"));
}

#[test]
fn node_astro_static() {
    let t = snapshot!("node-astro-static");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("astro"));
    // `start: astro dev` is a dev server: the static build is served instead.
    assert_eq!(value(&s.start_command), Some("npx --yes serve dist"));
    assert!(
        source(&s.start_command)
            .unwrap()
            .starts_with("default for astro")
    );
    assert_eq!(value(&s.build_command), Some("npm run build"));
    assert_eq!(ports(s)[0].0, 3000);
    assert!(s.ports[0].source.is_default());
}

#[test]
fn node_astro_node() {
    let t = snapshot!("node-astro-node");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("astro"));
    assert_eq!(
        value(&s.start_command),
        Some("node ./dist/server/entry.mjs")
    );
    assert_eq!(ports(s), vec![(4321, "default for astro")]);
    assert_eq!(s.package_manager.as_deref(), Some("pnpm"));
    assert_eq!(value(&s.runtime_version), Some("22.4.1"));
    assert_eq!(source(&s.runtime_version), Some(".tool-versions nodejs"));
    assert_eq!(s.backing_services, vec!["mongodb"]);
}

#[test]
fn node_sveltekit() {
    let t = snapshot!("node-sveltekit");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("sveltekit"));
    assert_eq!(value(&s.start_command), Some("node build"));
    assert_eq!(value(&s.build_command), Some("npm run build"));
    assert_eq!(ports(s), vec![(3000, "default for sveltekit")]);
    // The `postgres` driver and POSTGRES_URL.
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert!(
        t.recommendations
            .iter()
            .all(|r| r.code != "sveltekit-adapter")
    );
}

#[test]
fn node_angular() {
    let t = snapshot!("node-angular");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("angular"));
    // The application builder writes the browser bundle under `<outputPath>/browser`.
    assert_eq!(
        value(&s.start_command),
        Some("npx --yes serve -s dist/dashboard/browser")
    );
    assert_eq!(value(&s.build_command), Some("npm run build"));
    assert!(s.evidence.iter().any(|e| e.path == "angular.json"));
}

#[test]
fn node_cra() {
    let t = snapshot!("node-cra");
    // public/index.html is the app's template, not a static site of its own.
    let s = only(&t);
    assert_eq!(s.language, "node");
    assert_eq!(s.framework.as_deref(), Some("create-react-app"));
    assert_eq!(value(&s.start_command), Some("npx --yes serve -s build"));
    assert_eq!(value(&s.build_command), Some("yarn run build"));
    assert_eq!(
        value(&s.install_command),
        Some("yarn install --frozen-lockfile")
    );
}

#[test]
fn node_vite_spa() {
    let t = snapshot!("node-vite-spa");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("vite"));
    // build.outDir from vite.config.ts.
    assert_eq!(value(&s.start_command), Some("npx --yes serve -s build"));
    assert_eq!(value(&s.build_command), Some("pnpm run build"));
    assert_eq!(s.ports.len(), 1);
    assert!(s.ports[0].source.is_default());
}

#[test]
fn node_fastify_bun() {
    let t = snapshot!("node-fastify-bun");
    let s = only(&t);
    assert_eq!(s.framework.as_deref(), Some("fastify"));
    assert_eq!(s.package_manager.as_deref(), Some("bun"));
    assert_eq!(
        value(&s.install_command),
        Some("bun install --frozen-lockfile")
    );
    assert_eq!(value(&s.start_command), Some("bun run start"));
    assert_eq!(ports(s), vec![(3000, "src/index.ts")]);
    assert_eq!(s.backing_services, vec!["redis"]);
    assert_eq!(env(s), vec!["PORT", "REDIS_URL"]);
}

#[test]
fn node_monorepo_turbo_pnpm() {
    let t = snapshot!("node-monorepo-turbo-pnpm");
    assert_eq!(t.strategy.as_str(), "monorepo");
    for p in ["pnpm-workspaces", "turbo", "monorepo"] {
        assert!(t.patterns.iter().any(|x| x == p), "{p}: {:?}", t.patterns);
    }
    // The root is the workspace, not a service.
    assert!(t.services.iter().all(|s| s.path != "."));
    let names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["api", "web"], "api first: web depends on it");
    let shared: Vec<(&str, &str)> = t
        .shared_packages
        .iter()
        .map(|p| (p.name.as_str(), p.path.as_str()))
        .collect();
    assert_eq!(
        shared,
        vec![
            ("@acme/config", "packages/config"),
            ("@acme/ui", "packages/ui")
        ]
    );

    let web = common::service(&t, "web");
    assert_eq!(web.framework.as_deref(), Some("nextjs"));
    assert_eq!(web.context, ".");
    assert_eq!(
        value(&web.install_command),
        Some("pnpm install --frozen-lockfile")
    );
    assert_eq!(
        value(&web.build_command),
        Some("pnpm exec turbo run build --filter=@acme/web")
    );
    assert_eq!(
        value(&web.start_command),
        Some("pnpm --filter @acme/web run start")
    );
    assert_eq!(
        ports(web),
        vec![(3001, "apps/web/package.json scripts.start")]
    );
    // lts/iron in the root .nvmrc applies to every member.
    assert_eq!(value(&web.runtime_version), Some("20"));
    assert_eq!(web.depends_on, vec!["api"]);

    let api = common::service(&t, "api");
    assert_eq!(api.framework.as_deref(), Some("express"));
    assert_eq!(api.context, ".");
    assert_eq!(
        value(&api.start_command),
        Some("pnpm --filter @acme/api run start")
    );
    assert_eq!(ports(api), vec![(4000, "apps/api/.env.example PORT")]);
    assert_eq!(api.backing_services, vec!["postgres"]);
}

#[test]
fn node_npm_workspaces() {
    let t = snapshot!("node-npm-workspaces");
    assert!(t.patterns.iter().any(|p| p == "npm-workspaces"));
    let names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["client", "server"]);
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "shared");

    let server = common::service(&t, "server");
    assert_eq!(server.context, ".");
    assert_eq!(value(&server.install_command), Some("npm ci"));
    assert_eq!(
        value(&server.start_command),
        Some("npm run start --workspace=server")
    );
    assert_eq!(ports(server), vec![(5000, "packages/server/index.js")]);
    assert_eq!(server.backing_services, vec!["mongodb"]);
    // engines.node of the workspace root.
    assert_eq!(value(&server.runtime_version), Some("^20.10.0"));
    assert_eq!(
        source(&server.runtime_version),
        Some("package.json engines.node")
    );

    let client = common::service(&t, "client");
    assert_eq!(client.framework.as_deref(), Some("vite"));
    assert_eq!(
        value(&client.build_command),
        Some("npm run build --workspace=client")
    );
    assert_eq!(
        value(&client.start_command),
        Some("cd packages/client && npx --yes serve -s dist")
    );
}

#[test]
fn node_no_lockfile() {
    let t = snapshot!("node-no-lockfile");
    let s = only(&t);
    assert_eq!(s.package_manager.as_deref(), Some("npm"));
    assert_eq!(value(&s.install_command), Some("npm install"));
    assert!(s.install_command.as_ref().unwrap().is_default());
    let note = t
        .recommendations
        .iter()
        .find(|r| r.code == "no-lockfile")
        .expect("a no-lockfile note");
    assert!(note.message.contains("package-lock.json"));
    assert_eq!(s.backing_services, vec!["rabbitmq"]);
    // Without a lockfile the detection is less sure.
    assert!(
        s.confidence < 0.9 && s.confidence >= 0.7,
        "{}",
        s.confidence
    );
}

#[test]
fn node_invalid_package_json() {
    let t = snapshot!("node-invalid-package-json");
    assert!(
        t.warnings
            .iter()
            .any(|w| w.starts_with("web/package.json: invalid")),
        "{:?}",
        t.warnings
    );
    // The valid sibling is analysed in full.
    let api = common::service(&t, "api");
    assert_eq!(value(&api.start_command), Some("npm start"));
    assert_eq!(ports(api), vec![(8081, "api/app.js")]);
    assert_eq!(api.backing_services, vec!["redis"]);
    assert!(api.confidence >= 0.9);
    // The broken one is still found from its other files, with low confidence.
    let web = common::service(&t, "web");
    assert_eq!(value(&web.start_command), Some("node server.js"));
    assert_eq!(value(&web.install_command), Some("npm ci"));
    assert!(web.confidence < 0.5, "{}", web.confidence);
    assert!(codes(&t, "web").contains(&"invalid-manifest"));
}

#[test]
fn node_corepack_mismatch() {
    let t = snapshot!("node-corepack-mismatch");
    let s = only(&t);
    // packageManager (corepack) beats the stale npm lockfile.
    assert_eq!(s.package_manager.as_deref(), Some("pnpm"));
    assert_eq!(value(&s.install_command), Some("pnpm install"));
    assert_eq!(value(&s.start_command), Some("pnpm start"));
    assert!(codes(&t, "legacy-api").contains(&"package-manager-mismatch"));
    assert_eq!(value(&s.runtime_version), Some("18.20.4"));
    assert_eq!(source(&s.runtime_version), Some("package.json volta.node"));
}

#[test]
fn deno_fresh() {
    let t = snapshot!("deno-fresh");
    let s = only(&t);
    assert_eq!(s.language, "deno");
    assert_eq!(s.framework.as_deref(), Some("fresh"));
    assert_eq!(s.package_manager.as_deref(), Some("deno"));
    // tasks.start is Fresh 1's dev server (--watch dev.ts): preview runs main.ts.
    assert_eq!(value(&s.start_command), Some("deno task preview"));
    assert_eq!(value(&s.build_command), Some("deno task build"));
    assert_eq!(ports(s), vec![(8000, "default for fresh")]);
    assert_eq!(s.backing_services, vec!["redis"]);
}

#[test]
fn deno_basic() {
    let t = snapshot!("deno-basic");
    let s = only(&t);
    assert_eq!(s.language, "deno");
    assert_eq!(s.framework, None);
    assert_eq!(value(&s.start_command), Some("deno task start"));
    assert_eq!(source(&s.start_command), Some("deno.jsonc tasks.start"));
    assert_eq!(ports(s), vec![(8080, "main.ts")]);
    assert_eq!(value(&s.runtime_version), Some("2.0.6"));
    assert_eq!(source(&s.runtime_version), Some(".dvmrc"));
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert_eq!(env(s), vec!["DATABASE_URL"]);
    assert!(s.confidence >= 0.9);
}

#[test]
fn static_index() {
    let t = snapshot!("static-index");
    // about/index.html is a page of the site, not a second site.
    let s = only(&t);
    assert_eq!(s.language, "staticfile");
    assert_eq!(s.path, ".");
    assert_eq!(ports(s), vec![(80, "default for staticfile (caddy)")]);
    assert!(s.start_command.is_some());
    assert!((0.5..=0.7).contains(&s.confidence), "{}", s.confidence);
}

#[test]
fn static_staticfile() {
    let t = snapshot!("static-staticfile");
    let s = only(&t);
    assert_eq!(s.language, "staticfile");
    assert!(source(&s.start_command).unwrap().contains("public/"));
    assert!(s.confidence >= 0.85, "{}", s.confidence);
    assert!(s.evidence.iter().any(|e| e.path == "Staticfile"));
}

#[test]
fn shell_start_sh() {
    let t = snapshot!("shell-start-sh");
    let s = only(&t);
    assert_eq!(s.language, "shell");
    assert_eq!(value(&s.start_command), Some("./start.sh"));
    assert_eq!(ports(s), vec![(9090, "start.sh")]);
    // BIN_DIR is the script's own variable, not configuration.
    assert_eq!(
        env(s),
        vec!["DATABASE_URL", "LOG_LEVEL", "PORT", "REDIS_URL"]
    );
    assert_eq!(s.backing_services, vec!["postgres", "redis"]);
    assert!((0.4..=0.6).contains(&s.confidence), "{}", s.confidence);
}
