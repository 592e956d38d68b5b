//! The php detector: every folder with a `composer.json`, and plain PHP sites (an
//! `index.php`, at the top or in `public/`, with no `composer.json`: lower confidence).
//!
//! - **Package manager**: composer. Install: `composer install --no-dev
//!   --optimize-autoloader --no-interaction` (Symfony's with `APP_ENV=prod`, so the
//!   auto-scripts do not look for the dev bundles it removed).
//! - **Frameworks**: laravel (`laravel/framework` and `artisan`: `php artisan serve`,
//!   or `php artisan octane:start` with `laravel/octane`), symfony
//!   (`symfony/framework-bundle` and `bin/console` or `public/index.php`), else plain
//!   PHP served from its web root (`extra.public-dir`, `public`, `web`, `webroot`,
//!   `public_html`, or the folder itself). Laravel, Symfony and plain apps without
//!   Octane start PHP's built-in server (`php -S 0.0.0.0:${PORT:-8000} -t public`),
//!   one process; a `php-dev-server` note says to front php-fpm with nginx, or use
//!   FrankenPHP/RoadRunner, for real traffic. Front-end assets: the `build` script of a
//!   `package.json` next to `composer.json` (Vite, Encore), Symfony's
//!   `asset-map:compile`.
//! - **Ports**: `PORT` in an example env file, else 8000 (artisan serve, octane and
//!   `php -S` as Kyozo runs them).
//! - **Runtime version** precedence: `.php-version` (the folder or an ancestor) >
//!   `.tool-versions` `php` > `composer.json` `config.platform.php` (what the lockfile
//!   was resolved for) > `require.php` (a constraint reduced to its lowest version:
//!   `^8.2` → `8.2`).
//! - **Backing services**: packages and extensions (`predis/predis`, `ext-redis`,
//!   `ext-pdo_pgsql`, `mongodb/mongodb`, `php-amqplib/php-amqplib`...), Laravel's
//!   `DB_CONNECTION` and redis drivers in `.env.example` (its `REDIS_HOST` alone means
//!   nothing: every Laravel app lists it), Symfony's `DATABASE_URL` scheme in `.env`.
//!   Env names come from the example env files, and from Symfony's committed `.env`.
//! - **Kinds**: a composer package without a web root (`type: library`, a CLI) is a
//!   library.
//! - **Notes**: the built-in server; PHP extensions the image must add (`ext-*` of
//!   `require` that official PHP images do not compile in); no lockfile; Laravel's
//!   `APP_KEY`; migrations (artisan, Doctrine).
//! - **Confidence**: composer.json 0.7, +0.05 with composer.lock, +0.15 for a
//!   framework, +0.05 when its entry (`artisan`, `bin/console`, the web root's
//!   `index.php`) is there; plain PHP without composer 0.5.

use crate::topology::common::lookup;
use crate::topology::is_inside;
use std::collections::BTreeSet;

use super::shared::{
    env_backing, env_names_in, example_port, example_value, push_unique, version_from_constraint,
};
use crate::topology::common;
use crate::topology::manifest::composer::{self, Composer};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Note, ProjectView, Sourced, backing, join,
    parent,
};

/// Web roots, in order of preference.
const WEB_ROOTS: &[&str] = &["public", "web", "webroot", "public_html", "htdocs", "www"];

/// Composer packages and PHP extensions that mean a backing service.
const PHP_BACKING: &[(&str, &str)] = &[
    ("doctrine/mongodb-odm", "mongodb"),
    ("doctrine/mongodb-odm-bundle", "mongodb"),
    ("elasticsearch/elasticsearch", "elasticsearch"),
    ("ext-amqp", "rabbitmq"),
    ("ext-memcached", "memcached"),
    ("ext-mongodb", "mongodb"),
    ("ext-mysqli", "mysql"),
    ("ext-pdo_mysql", "mysql"),
    ("ext-pdo_pgsql", "postgres"),
    ("ext-pgsql", "postgres"),
    ("ext-redis", "redis"),
    ("mongodb/laravel-mongodb", "mongodb"),
    ("mongodb/mongodb", "mongodb"),
    ("php-amqplib/php-amqplib", "rabbitmq"),
    ("predis/predis", "redis"),
    ("snc/redis-bundle", "redis"),
    ("symfony/amqp-messenger", "rabbitmq"),
    ("symfony/redis-messenger", "redis"),
];

/// Skeleton names many apps never rename: not a service name.
const SKELETON_NAMES: &[&str] = &[
    "laravel/laravel",
    "slim/slim-skeleton",
    "symfony/skeleton",
    "symfony/symfony-demo",
    "symfony/website-skeleton",
];

/// Extensions every official PHP image has compiled in: requiring them needs no
/// action.
const BUNDLED_EXTENSIONS: &[&str] = &[
    "ctype",
    "curl",
    "date",
    "dom",
    "fileinfo",
    "filter",
    "hash",
    "iconv",
    "json",
    "libxml",
    "mbstring",
    "mysqlnd",
    "openssl",
    "pcre",
    "pdo",
    "pdo_sqlite",
    "phar",
    "posix",
    "random",
    "readline",
    "reflection",
    "session",
    "simplexml",
    "sodium",
    "spl",
    "sqlite3",
    "standard",
    "tokenizer",
    "xml",
    "xmlreader",
    "xmlwriter",
    "zlib",
];

/// How PHP code reads env vars.
const ENV_READS: &[&str] = &["$_ENV[", "$_SERVER[", "getenv("];

/// Detects php projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PhpDetector;

impl Detector for PhpDetector {
    fn id(&self) -> &str {
        "php"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let composer_dirs: BTreeSet<String> = view
            .named("composer.json")
            .iter()
            .map(|p| parent(p).to_string())
            .collect();
        let mut out: Vec<Detection> = composer_dirs.iter().map(|dir| analyse(view, dir)).collect();

        // Plain PHP: an index.php (or public/index.php) outside any composer project.
        let mut plain: BTreeSet<String> = BTreeSet::new();
        for path in view.named("index.php") {
            let dir = parent(path);
            let site = if WEB_ROOTS.contains(&crate::topology::file_name(dir))
                && !view.is_file(&join(parent(dir), "index.php"))
            {
                parent(dir).to_string()
            } else {
                dir.to_string()
            };
            let inside_composer = composer_dirs
                .iter()
                .any(|c| c == &site || is_inside(&site, c));
            if !inside_composer {
                plain.insert(site);
            }
        }
        let sites: Vec<String> = plain.iter().cloned().collect();
        for site in plain
            .iter()
            .filter(|s| !sites.iter().any(|o| is_inside(s, o)))
        {
            out.push(plain_site(view, site));
        }
        Ok(out)
    }
}

fn web_root(view: &ProjectView, dir: &str, composer: Option<&Composer>) -> Option<String> {
    let configured = composer.and_then(|c| c.public_dir.clone());
    configured
        .into_iter()
        .chain(WEB_ROOTS.iter().map(|s| s.to_string()))
        .find(|r| view.is_file(&join(&join(dir, r), "index.php")))
        .or_else(|| view.is_file(&join(dir, "index.php")).then(String::new))
}

fn php_server(root: &str, port: u16) -> String {
    if root.is_empty() {
        format!("php -S 0.0.0.0:${{PORT:-{port}}}")
    } else {
        format!("php -S 0.0.0.0:${{PORT:-{port}}} -t {root}")
    }
}

fn dev_server_note(what: &str) -> Note {
    Note::new(
        "php-dev-server",
        format!(
            "{what} runs PHP's built-in server, one process: for real traffic serve it with php-fpm behind nginx, or with FrankenPHP or RoadRunner"
        ),
    )
}

fn plain_site(view: &ProjectView, dir: &str) -> Detection {
    let root = web_root(view, dir, None).unwrap_or_default();
    let index = join(&join(dir, &root), "index.php");
    let mut d = Detection::new("php", dir, "php", 0.5).with_evidence(
        index.clone(),
        "index.php without composer.json: a plain PHP site",
    );
    let port =
        example_port(view, dir).unwrap_or_else(|| Sourced::assumed(8000, "php (built-in server)"));
    d.hints.start_command = Some(Sourced::new(php_server(&root, port.value), index));
    d.hints.ports.push(port);
    d.hints.runtime_version = runtime_version(view, dir, None, "");
    d.hints.env = common::env_from_examples(view, dir);
    d.hints.backing_services = env_backing(view, dir, &d.hints.env, &[], false);
    d.hints.notes.push(dev_server_note("the site"));
    d
}

fn analyse(view: &ProjectView, dir: &str) -> Detection {
    let at = |name: &str| join(dir, name);
    let manifest = at("composer.json");
    let lock = at("composer.lock");
    let composer: Option<Composer> = view.text(&manifest).and_then(|t| {
        composer::parse(&t)
            .map_err(|e| common::invalid(view, &manifest, e))
            .ok()
    });
    let mut d = Detection::new("php", dir, "php", 0.7);
    let mut evidence: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    match &composer {
        Some(c) => evidence.push((
            manifest.clone(),
            format!("composer.json requires {} packages", c.require.len()),
        )),
        None => {
            d.boost(-0.2);
            evidence.push((
                manifest.clone(),
                "composer.json (unreadable, see warnings)".into(),
            ));
        }
    }
    let locked = view.is_file(&lock);
    if locked {
        d.boost(0.05);
        evidence.push((lock.clone(), "lockfile pins the packages".into()));
    } else {
        notes.push(Note::new(
            "no-lockfile",
            "no composer.lock: installs are not reproducible; run `composer update` and commit composer.lock",
        ));
    }
    let requires = |p: &str| composer.as_ref().is_some_and(|c| c.requires(p));
    let is_laravel = requires("laravel/framework") && view.is_file(&at("artisan"));
    let is_symfony = requires("symfony/framework-bundle")
        && (view.is_file(&at("bin/console")) || view.is_file(&at("public/index.php")));
    let root = web_root(view, dir, composer.as_ref());
    let example = example_port(view, dir);

    let hints = &mut d.hints;
    hints.name = composer
        .as_ref()
        .and_then(|c| c.name.clone())
        .filter(|n| !SKELETON_NAMES.contains(&n.as_str()))
        .map(|n| Sourced::new(n, format!("{manifest} name")));
    hints.package_manager = Some(Sourced::new("composer".to_string(), manifest.clone()));
    let install = "composer install --no-dev --optimize-autoloader --no-interaction";
    hints.install_command = Some(Sourced::new(
        if is_symfony {
            format!("APP_ENV=prod {install}")
        } else {
            install.to_string()
        },
        manifest.clone(),
    ));
    hints.runtime_version = runtime_version(view, dir, composer.as_ref(), &manifest);

    let mut env = common::env_from_examples(view, dir);
    let mut kind = DetectionKind::Service;
    let mut framework_confirmed = false;
    let mut bonus = 0.0;
    if is_laravel {
        framework_confirmed = true;
        evidence.push((at("artisan"), "artisan: a Laravel app".into()));
        hints.framework = Some(Sourced::new("laravel".to_string(), manifest.clone()));
        let port = example
            .clone()
            .unwrap_or_else(|| Sourced::assumed(8000, "laravel"));
        let p = port.value;
        let start = if requires("laravel/octane") {
            format!("php artisan octane:start --host=0.0.0.0 --port=${{PORT:-{p}}}")
        } else {
            notes.push(dev_server_note("php artisan serve"));
            format!("php artisan serve --host=0.0.0.0 --port=${{PORT:-{p}}}")
        };
        hints.start_command = Some(Sourced::new(start, at("artisan")));
        hints.ports.push(port);
        hints.build_command = js_build(view, dir);
        let bootstrap = at("bootstrap/app.php");
        if let Some(text) = view.text(&bootstrap)
            && let Some(path) = laravel_health(&text)
        {
            hints.healthcheck = Some(Sourced::new(path, bootstrap));
        }
        if env.iter().any(|e| e.value == "APP_KEY") {
            notes.push(Note::new(
                "laravel-app-key",
                "set APP_KEY (generate one with `php artisan key:generate --show`): Laravel refuses to encrypt sessions and cookies without it",
            ));
        }
        notes.push(Note::new(
            "migrations",
            "run `php artisan migrate --force` before each release (a release or pre-start step)",
        ));
    } else if is_symfony {
        framework_confirmed = view.is_file(&at("bin/console"));
        evidence.push((
            if framework_confirmed {
                at("bin/console")
            } else {
                at("public/index.php")
            },
            "a Symfony app".into(),
        ));
        hints.framework = Some(Sourced::new("symfony".to_string(), manifest.clone()));
        let port = example
            .clone()
            .unwrap_or_else(|| Sourced::assumed(8000, "symfony"));
        let docroot = root.clone().unwrap_or_else(|| "public".into());
        hints.start_command = Some(Sourced::new(
            php_server(&docroot, port.value),
            join(&join(dir, &docroot), "index.php"),
        ));
        hints.ports.push(port);
        notes.push(dev_server_note("php -S"));
        hints.build_command = if requires("symfony/asset-mapper") {
            Some(Sourced::new(
                "APP_ENV=prod php bin/console asset-map:compile".to_string(),
                format!("{manifest} symfony/asset-mapper"),
            ))
        } else {
            js_build(view, dir)
        };
        // Symfony commits `.env` with defaults (secrets go to `.env.local`).
        let dotenv = at(".env");
        if let Some(text) = view.text(&dotenv) {
            for name in common::parse_dotenv_names(&text) {
                push_unique(&mut env, name, &dotenv);
            }
        }
        if requires("doctrine/doctrine-migrations-bundle") {
            notes.push(Note::new(
                "migrations",
                "run `php bin/console doctrine:migrations:migrate --no-interaction` before each release (a release or pre-start step)",
            ));
        }
    } else if let Some(root) = &root {
        let index = join(&join(dir, root), "index.php");
        framework_confirmed = false;
        evidence.push((index.clone(), "web root with index.php".into()));
        let port = example
            .clone()
            .unwrap_or_else(|| Sourced::assumed(8000, "php (built-in server)"));
        hints.start_command = Some(Sourced::new(php_server(root, port.value), index.clone()));
        hints.ports.push(port);
        hints.build_command = js_build(view, dir);
        notes.push(dev_server_note("php -S"));
        if let Some(text) = view.text(&index) {
            for name in env_names_in(&text, ENV_READS) {
                push_unique(&mut env, name, &index);
            }
        }
        bonus += 0.05;
    } else {
        kind = DetectionKind::Library;
    }
    if hints.framework.is_some() {
        bonus += if framework_confirmed { 0.2 } else { 0.15 };
    }

    // Backing services.
    let mut services: Vec<Sourced<String>> = Vec::new();
    if let Some(c) = &composer {
        for package in c.require.keys() {
            if let Some(b) = lookup(PHP_BACKING, package).or_else(|| backing::from_package(package))
            {
                push_unique(&mut services, b, format!("{manifest} {package}"));
            }
        }
    }
    if is_laravel {
        for b in laravel_backing(view, dir) {
            if !services.iter().any(|s| s.value == b.value) {
                services.push(b);
            }
        }
    } else {
        for b in env_backing(view, dir, &env, &services, false) {
            if !services.iter().any(|s| s.value == b.value) {
                services.push(b);
            }
        }
    }
    hints.backing_services = services;
    hints.env = env;

    if let Some(c) = &composer {
        let extensions: Vec<&str> = c
            .extensions()
            .into_iter()
            .filter(|e| !BUNDLED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            .collect();
        if !extensions.is_empty() && kind == DetectionKind::Service {
            notes.push(Note::new(
                "php-extensions",
                format!(
                    "needs the PHP extensions {}: make sure the image has them (docker-php-ext-install)",
                    extensions.join(", ")
                ),
            ));
        }
    }
    hints.notes = notes;
    d.kind = kind;
    d.boost(bonus);
    evidence.sort();
    evidence.dedup();
    for (path, reason) in evidence {
        d = d.with_evidence(path, reason);
    }
    d
}

/// Backing services a Laravel `.env.example` configures: `DB_CONNECTION`, and redis or
/// memcached as a cache, queue or session driver.
fn laravel_backing(view: &ProjectView, dir: &str) -> Vec<Sourced<String>> {
    let mut out = Vec::new();
    if let Some((value, path)) = example_value(view, dir, &[], "DB_CONNECTION") {
        let service = match value.as_str() {
            "pgsql" => Some("postgres"),
            "mysql" => Some("mysql"),
            "mariadb" => Some("mariadb"),
            "mongodb" => Some("mongodb"),
            _ => None,
        };
        if let Some(s) = service {
            push_unique(&mut out, s, format!("{path} DB_CONNECTION"));
        }
    }
    for key in [
        "CACHE_STORE",
        "CACHE_DRIVER",
        "QUEUE_CONNECTION",
        "SESSION_DRIVER",
        "BROADCAST_DRIVER",
    ] {
        if let Some((value, path)) = example_value(view, dir, &[], key) {
            let service = match value.as_str() {
                "redis" => Some("redis"),
                "memcached" => Some("memcached"),
                _ => None,
            };
            if let Some(s) = service {
                push_unique(&mut out, s, format!("{path} {key}"));
            }
        }
    }
    out
}

/// Laravel 11's health route: `health: '/up'` in `bootstrap/app.php`.
fn laravel_health(text: &str) -> Option<String> {
    let at = text.find("health:")?;
    let rest = text.get(at + "health:".len()..)?.trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let inner = rest.get(1..)?;
    let end = inner.find(quote)?;
    let path = inner.get(..end)?;
    path.starts_with('/').then(|| path.to_string())
}

/// The front-end build of a `package.json` next to `composer.json` (Vite, Mix, Encore),
/// with the install its lockfile calls for.
fn js_build(view: &ProjectView, dir: &str) -> Option<Sourced<String>> {
    let package = join(dir, "package.json");
    let text = view.text(&package)?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let script = ["build", "production", "prod"]
        .into_iter()
        .find(|s| json.get("scripts").and_then(|x| x.get(s)).is_some())?;
    let install = if view.is_file(&join(dir, "pnpm-lock.yaml")) {
        "pnpm install --frozen-lockfile"
    } else if view.is_file(&join(dir, "yarn.lock")) {
        "yarn install --frozen-lockfile"
    } else if view.is_file(&join(dir, "bun.lockb")) || view.is_file(&join(dir, "bun.lock")) {
        "bun install --frozen-lockfile"
    } else if view.is_file(&join(dir, "package-lock.json")) {
        "npm ci"
    } else {
        "npm install"
    };
    let run = match install.split(' ').next() {
        Some("pnpm") => format!("pnpm run {script}"),
        Some("yarn") => format!("yarn {script}"),
        Some("bun") => format!("bun run {script}"),
        _ => format!("npm run {script}"),
    };
    Some(Sourced::new(
        format!("{install} && {run}"),
        format!("{package} scripts.{script}"),
    ))
}

fn runtime_version(
    view: &ProjectView,
    dir: &str,
    composer: Option<&Composer>,
    manifest: &str,
) -> Option<Sourced<String>> {
    if let Some(found) = common::find_up(view, dir, ".php-version")
        && let Some(v) = common::version_file(view, parent(&found), ".php-version")
    {
        return Some(v);
    }
    if let Some(v) = common::tool_version(view, dir, &["php"]) {
        return Some(v);
    }
    let c = composer?;
    if let Some(p) = &c.platform_php
        && let Some(v) = version_from_constraint(p)
    {
        return Some(Sourced::new(v, format!("{manifest} config.platform.php")));
    }
    let php = c.php()?;
    version_from_constraint(php).map(|v| Sourced::new(v, format!("{manifest} require.php ({php})")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn laravel_health_route() {
        let text = "->withRouting(\n    web: __DIR__.'/../routes/web.php',\n    health: '/up',\n)";
        assert_eq!(laravel_health(text).as_deref(), Some("/up"));
        assert_eq!(laravel_health("health: up"), None);
        assert_eq!(laravel_health("health:"), None);
    }

    #[test]
    fn backing_table_is_sorted() {
        assert!(PHP_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
