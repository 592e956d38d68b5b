//! The ruby detector: every folder with a `Gemfile` (or `gems.rb`), a `config.ru`
//! without one (weak), or a gem (`*.gemspec`).
//!
//! - **Package manager**: bundler. Install: `bundle config set --local without
//!   'development test'` (persisted, so `bundle exec` at run time agrees), plus
//!   `deployment true` when `Gemfile.lock` exists, then `bundle install`.
//! - **Frameworks**: rails (the `rails`/`railties` gem and `config/application.rb`:
//!   `bundle exec rails server -b 0.0.0.0 -p ${PORT:-3000} -e ${RAILS_ENV:-production}`;
//!   build `bundle exec rails assets:precompile` when the app has assets — app/assets,
//!   app/javascript, importmap, propshaft or sprockets — and is not API-only), sinatra
//!   (with a `config.ru`, served like rack; else the file that requires sinatra:
//!   `bundle exec ruby app.rb -o 0.0.0.0 -p ${PORT:-4567}`), rack (a `config.ru`:
//!   `bundle exec puma -p ${PORT:-9292}` when puma is a gem, else `bundle exec rackup`).
//!   Hanami, roda or grape apps are served as rack apps.
//! - **Ports**: `PORT` in an example env file, `port` in `config/puma.rb`, sinatra's
//!   `set :port`; else 3000 (rails), 4567 (sinatra's own server), 9292 (rackup, puma).
//! - **Runtime version** precedence: `.ruby-version` (the folder or an ancestor; a
//!   leading `ruby-` dropped) > `.tool-versions` `ruby` > the Gemfile's `ruby "x"` >
//!   `Gemfile.lock` `RUBY VERSION`.
//! - **Backing services**: runtime gems (pg, mysql2, trilogy, redis, sidekiq, mongoid,
//!   ...), the adapter of rails' `config/database.yml`, and env names (`DATABASE_URL`
//!   is checked against the example value's scheme and against sqlite-only apps).
//! - **Kinds**: a gem (a `*.gemspec`, or a Gemfile with `gemspec`) with no app to run is
//!   a library; a rails engine too. A Gemfile without a framework runs `main.rb`,
//!   `app.rb`... as a script.
//! - **Notes**: no lockfile; a lockfile resolved for no Linux platform
//!   (`bundler-platform`: the deployment install would fail); `RAILS_MASTER_KEY` when
//!   `config/credentials.yml.enc` exists; migrations; a rack app without a server gem.
//! - **Confidence**: a Gemfile 0.7, +0.05 with its lockfile, +0.15 for a framework,
//!   +0.05 when its entry (`config/application.rb`, `config.ru`, the sinatra file) is
//!   there; a Gemfile that only runs a script 0.45; `config.ru` alone 0.5.

use crate::topology::Provenance;
use crate::topology::common::lookup;
use crate::topology::is_inside;
use std::collections::BTreeSet;

use super::shared::{
    env_backing, env_names_in, example_port, health_route, push_unique, version_from_constraint,
};
use crate::topology::common;
use crate::topology::manifest::gemfile::{self, Gemfile, GemfileLock};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Note, ProjectView, Sourced, backing,
    file_name, join, parent,
};

/// How Ruby code and ERB templates read env vars.
const ENV_READS: &[&str] = &["ENV[", "ENV.fetch"];

/// Gems that mean a backing service and are not (yet) in the shared table.
const RUBY_BACKING: &[(&str, &str)] = &[
    ("activerecord-postgis-adapter", "postgres"),
    ("good_job", "postgres"),
    ("hiredis-client", "redis"),
    ("mongo", "mongodb"),
    ("redis-client", "redis"),
    ("resque", "redis"),
    ("searchkick", "elasticsearch"),
    ("sneakers", "rabbitmq"),
    ("trilogy", "mysql"),
];

/// Files that run a plain Ruby project, in order of preference.
const SCRIPT_ENTRIES: &[&str] = &[
    "main.rb",
    "app.rb",
    "server.rb",
    "bot.rb",
    "worker.rb",
    "run.rb",
];

/// Files that usually hold a classic sinatra app, in order of preference.
const SINATRA_ENTRIES: &[&str] = &[
    "app.rb",
    "main.rb",
    "server.rb",
    "application.rb",
    "web.rb",
    "api.rb",
];

/// Rails configuration files whose env reads are the app's configuration.
const RAILS_CONFIG: &[&str] = &[
    "config/application.rb",
    "config/database.yml",
    "config/environments/production.rb",
    "config/puma.rb",
];

/// Detects ruby projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RubyDetector;

impl Detector for RubyDetector {
    fn id(&self) -> &str {
        "ruby"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        for name in ["Gemfile", "gems.rb"] {
            for path in view.named(name) {
                dirs.insert(parent(path).to_string());
            }
        }
        let gem_dirs: BTreeSet<String> = view
            .with_extension("gemspec")
            .map(|p| parent(p).to_string())
            .collect();
        let rack_dirs: BTreeSet<String> = view
            .named("config.ru")
            .iter()
            .map(|p| parent(p).to_string())
            .collect();
        let mut out = Vec::new();
        for dir in &dirs {
            if let Some(d) = analyse(view, dir) {
                out.push(d);
            }
        }
        // A gem or a rack app without a Gemfile, not inside a Ruby project.
        let inside = |d: &str| dirs.iter().any(|g| g == d || is_inside(d, g));
        for dir in gem_dirs.iter().filter(|d| !inside(d)) {
            let spec = view
                .files_in(dir)
                .find(|f| f.ends_with(".gemspec"))
                .unwrap_or_default()
                .to_string();
            let mut d = Detection::new("ruby", dir.as_str(), "ruby", 0.6)
                .with_kind(DetectionKind::Library)
                .with_evidence(spec.clone(), "gemspec without a Gemfile: a gem");
            d.hints.name = gemspec_name(view, &spec).map(|n| Sourced::new(n, spec.clone()));
            out.push(d);
        }
        for dir in rack_dirs
            .iter()
            .filter(|d| !inside(d) && !gem_dirs.contains(*d))
        {
            let path = join(dir, "config.ru");
            let mut d = Detection::new("ruby", dir.as_str(), "ruby", 0.5)
                .with_evidence(path.clone(), "config.ru without a Gemfile: a rack app");
            let port =
                example_port(view, dir).unwrap_or_else(|| Sourced::assumed(9292, "rack (rackup)"));
            d.hints.framework = Some(Sourced::new("rack".to_string(), path.clone()));
            d.hints.start_command = Some(Sourced::new(
                format!("rackup -o 0.0.0.0 -p ${{PORT:-{}}}", port.value),
                path,
            ));
            d.hints.ports.push(port);
            d.hints.runtime_version = runtime_version(view, dir, None, None);
            d.hints.notes.push(Note::new(
                "no-manifest",
                "config.ru without a Gemfile: the gems cannot be installed; add a Gemfile and commit its Gemfile.lock",
            ));
            out.push(d);
        }
        Ok(out)
    }
}

fn analyse(view: &ProjectView, dir: &str) -> Option<Detection> {
    let at = |name: &str| join(dir, name);
    let (gemfile_path, lock_path) = if view.is_file(&at("Gemfile")) {
        (at("Gemfile"), at("Gemfile.lock"))
    } else {
        (at("gems.rb"), at("gems.locked"))
    };
    let mut evidence: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();

    let gemfile: Option<Gemfile> = view.text(&gemfile_path).and_then(|t| {
        gemfile::parse(&t)
            .map_err(|e| common::invalid(view, &gemfile_path, e))
            .ok()
    });
    let lock: Option<GemfileLock> = view.text(&lock_path).and_then(|t| {
        gemfile::parse_lock(&t)
            .map_err(|e| common::invalid(view, &lock_path, e))
            .ok()
    });
    match &gemfile {
        Some(g) => evidence.push((
            gemfile_path.clone(),
            format!(
                "{} declares {} gems",
                file_name(&gemfile_path),
                g.gems.len()
            ),
        )),
        None => evidence.push((
            gemfile_path.clone(),
            format!("{} (unreadable, see warnings)", file_name(&gemfile_path)),
        )),
    }
    if let Some(l) = &lock {
        evidence.push((lock_path.clone(), "lockfile pins the gems".into()));
        // A lockfile resolved only on macOS or Windows makes deployment installs fail
        // on Linux.
        let linux = l
            .platforms
            .iter()
            .any(|p| p == "ruby" || p.contains("linux"));
        if !l.platforms.is_empty() && !linux {
            notes.push(Note::new(
                "bundler-platform",
                format!(
                    "{} is resolved only for {}: run `bundle lock --add-platform x86_64-linux` and commit it, or the install fails on Linux",
                    file_name(&lock_path),
                    l.platforms.join(", ")
                ),
            ));
        }
    } else {
        notes.push(Note::new(
            "no-lockfile",
            format!(
                "no {}: installs are not reproducible; run `bundle lock` and commit it",
                file_name(&lock_path)
            ),
        ));
    }

    // Production gems: the Gemfile's (groups other than development/test), else the
    // lockfile's top-level dependencies.
    let gems: Vec<String> = match &gemfile {
        Some(g) => g
            .gems
            .iter()
            .filter(|g| g.is_runtime())
            .map(|g| g.name.clone())
            .collect(),
        None => lock
            .as_ref()
            .map(|l| l.dependencies.clone())
            .unwrap_or_default(),
    };
    let has = |name: &str| gems.iter().any(|g| g == name);
    let gem_source = if gemfile.is_some() {
        gemfile_path.clone()
    } else {
        lock_path.clone()
    };

    let is_gem = gemfile.as_ref().is_some_and(|g| g.gemspec)
        || view.files_in(dir).any(|f| f.ends_with(".gemspec"));
    let config_ru = at("config.ru");
    let has_config_ru = view.is_file(&config_ru);
    let application_rb = at("config/application.rb");
    let is_rails = view.is_file(&application_rb)
        && (has("rails") || has("railties") || lock.as_ref().is_some_and(|l| l.has("railties")));
    let example = example_port(view, dir);

    let mut detection = Detection::new("ruby", dir, "ruby", 0.7);
    if lock.is_some() {
        detection.boost(0.05);
    }
    if gemfile.is_none() {
        detection.boost(-0.2);
    }
    let hints = &mut detection.hints;
    hints.package_manager = Some(Sourced::new("bundler".to_string(), gemfile_path.clone()));
    let without = "bundle config set --local without 'development test'";
    hints.install_command = Some(Sourced::new(
        if lock.is_some() {
            format!("bundle config set --local deployment true && {without} && bundle install")
        } else {
            format!("{without} && bundle install")
        },
        gemfile_path.clone(),
    ));
    hints.runtime_version =
        runtime_version(view, dir, gemfile.as_ref(), lock.as_ref()).map(|mut v| {
            if v.source == Provenance::declared("Gemfile ruby") {
                v.source = Provenance::declared(format!("{gemfile_path} ruby"));
            }
            v
        });

    let mut config_files: Vec<String> = Vec::new();
    // Whether a framework's entry point (config/application.rb, config.ru, the sinatra
    // file) was found, not only its gem.
    let mut confirmed = true;
    if is_rails {
        evidence.push((
            application_rb.clone(),
            "config/application.rb: a Rails app".into(),
        ));
        hints.framework = Some(Sourced::new("rails".to_string(), gem_source.clone()));
        hints.name = rails_module(view, &application_rb)
            .map(|m| Sourced::new(m, format!("{application_rb} module")));
        let puma = at("config/puma.rb");
        let port = example
            .clone()
            .or_else(|| puma_port(view, &puma))
            .unwrap_or_else(|| Sourced::assumed(3000, "rails"));
        hints.start_command = Some(Sourced::new(
            format!(
                "bundle exec rails server -b 0.0.0.0 -p ${{PORT:-{}}} -e ${{RAILS_ENV:-production}}",
                port.value
            ),
            application_rb.clone(),
        ));
        hints.ports.push(port);
        let api_only = view
            .text(&application_rb)
            .is_some_and(|t| t.contains("api_only = true"));
        let asset_signal = ["app/assets", "app/javascript"]
            .iter()
            .map(|d| at(d))
            .find(|d| view.is_dir(d))
            .or_else(|| Some(at("config/importmap.rb")).filter(|f| view.is_file(f)))
            .or_else(|| {
                [
                    "propshaft",
                    "sprockets-rails",
                    "jsbundling-rails",
                    "cssbundling-rails",
                ]
                .iter()
                .find(|g| has(g))
                .map(|g| format!("{gemfile_path} {g}"))
            });
        if !api_only && let Some(signal) = asset_signal {
            hints.build_command = Some(Sourced::new(
                "RAILS_ENV=production SECRET_KEY_BASE_DUMMY=1 bundle exec rails assets:precompile"
                    .to_string(),
                signal,
            ));
        }
        let credentials = at("config/credentials.yml.enc");
        if view.is_file(&credentials) {
            push_unique(&mut hints.env, "RAILS_MASTER_KEY", &credentials);
            notes.push(Note::new(
                "rails-master-key",
                "set RAILS_MASTER_KEY to the content of config/master.key (not committed): production reads its credentials with it",
            ));
        }
        notes.push(Note::new(
            "migrations",
            "run `bundle exec rails db:migrate` before each release (a release or pre-start step)",
        ));
        let routes = at("config/routes.rb");
        if let Some(text) = view.text(&routes) {
            let up = text.contains("rails/health#show");
            let path = if up {
                up_route(&text).or(Some("/up".to_string()))
            } else {
                health_route(&text).map(str::to_string)
            };
            hints.healthcheck = path.map(|p| Sourced::new(p, routes.clone()));
        }
        config_files.extend(RAILS_CONFIG.iter().map(|f| at(f)));
    } else if has_config_ru {
        let framework = if has("sinatra") { "sinatra" } else { "rack" };
        evidence.push((config_ru.clone(), "config.ru: a rack app".into()));
        hints.framework = Some(Sourced::new(
            framework.to_string(),
            if framework == "sinatra" {
                gem_source.clone()
            } else {
                config_ru.clone()
            },
        ));
        let default_source = if has("puma") {
            Provenance::default_for(format!("{framework} (puma)"))
        } else {
            Provenance::default_for(format!("{framework} (rackup)"))
        };
        let port = example
            .clone()
            .or_else(|| puma_port(view, &at("config/puma.rb")))
            .unwrap_or_else(|| Sourced::new(9292, default_source));
        let p = port.value;
        let start = if has("puma") {
            format!("bundle exec puma -p ${{PORT:-{p}}}")
        } else {
            if !has("rackup") && !has("thin") && !has("falcon") {
                notes.push(Note::new(
                    "no-production-server",
                    "no app server gem (puma, thin, falcon): add puma to the Gemfile to serve config.ru in production",
                ));
            }
            format!("bundle exec rackup -o 0.0.0.0 -p ${{PORT:-{p}}}")
        };
        hints.start_command = Some(Sourced::new(start, config_ru.clone()));
        hints.ports.push(port);
        config_files.push(config_ru.clone());
        config_files.extend(required_files(view, &config_ru));
        if let Some(file) = sinatra_file(view, dir) {
            config_files.push(file);
        }
    } else if has("sinatra") {
        let file = sinatra_file(view, dir);
        let (rel, source) = match &file {
            Some(f) => {
                evidence.push((f.clone(), "requires sinatra".into()));
                (relative_to(dir, f).to_string(), Provenance::declared(f))
            }
            None => ("app.rb".to_string(), Provenance::default_for("sinatra")),
        };
        confirmed = file.is_some();
        let code_port = file.as_ref().and_then(|f| {
            view.text(f)
                .and_then(|t| sinatra_port(&t))
                .map(|p| Sourced::new(p, format!("{f} set :port")))
        });
        let port = example
            .clone()
            .or(code_port)
            .unwrap_or_else(|| Sourced::assumed(4567, "sinatra"));
        hints.framework = Some(Sourced::new("sinatra".to_string(), gem_source.clone()));
        hints.start_command = Some(Sourced::new(
            format!(
                "bundle exec ruby {rel} -o 0.0.0.0 -p ${{PORT:-{}}}",
                port.value
            ),
            source,
        ));
        hints.ports.push(port);
        if let Some(f) = file {
            config_files.push(f);
        }
    } else {
        confirmed = false;
    }

    if hints.framework.is_some() {
        let s = hints
            .start_command
            .as_ref()
            .and_then(|s| match &s.source {
                Provenance::Declared { at } => Some(at.clone()),
                _ => None,
            })
            .unwrap_or_default();
        if hints.healthcheck.is_none()
            && let Some(text) = view.text(&s)
        {
            hints.healthcheck = health_route(&text).map(|p| Sourced::new(p.to_string(), s.clone()));
        }
    }

    // No framework: a script, or a gem.
    let mut kind = DetectionKind::Service;
    let mut script = false;
    if hints.framework.is_none() {
        let entry = SCRIPT_ENTRIES
            .iter()
            .map(|f| at(f))
            .find(|f| view.is_file(f))
            .or_else(|| {
                let exe = at(&format!("bin/{}", file_name(dir)));
                Some(exe).filter(|f| view.is_file(f))
            });
        match entry {
            Some(file) if !is_gem => {
                let rel = relative_to(dir, &file).to_string();
                evidence.push((
                    file.clone(),
                    format!("runs as a script: bundle exec ruby {rel}"),
                ));
                hints.start_command = Some(Sourced::new(format!("bundle exec ruby {rel}"), file));
                script = true;
            }
            _ if is_gem || has("rails") => {
                kind = DetectionKind::Library;
                let spec = view.files_in(dir).find(|f| f.ends_with(".gemspec"));
                if let Some(spec) = spec {
                    evidence.push((spec.to_string(), "gemspec: a gem".into()));
                    hints.name =
                        gemspec_name(view, spec).map(|n| Sourced::new(n, spec.to_string()));
                }
            }
            _ => {}
        }
    }

    // Env names: example files and the configuration the app reads.
    let mut env = common::env_from_examples(view, dir);
    env.extend(std::mem::take(&mut hints.env));
    for file in &config_files {
        if let Some(text) = view.text(file) {
            for name in env_names_in(&text, ENV_READS) {
                push_unique(&mut env, name, file);
            }
        }
    }

    // Backing services: gems, rails' database adapter, env names.
    let mut services: Vec<Sourced<String>> = Vec::new();
    for gem in &gems {
        if let Some(b) = backing::from_package(gem).or_else(|| lookup(RUBY_BACKING, gem)) {
            push_unique(&mut services, b, format!("{gem_source} {gem}"));
        }
    }
    let database_yml = at("config/database.yml");
    if is_rails && let Some(text) = view.text(&database_yml) {
        for adapter in database_adapters(&text) {
            if let Some(b) = adapter_backing(&adapter) {
                push_unique(
                    &mut services,
                    b,
                    format!("{database_yml} adapter {adapter}"),
                );
            }
        }
    }
    let sqlite = has("sqlite3")
        && !services
            .iter()
            .any(|s| s.value == "postgres" || s.value == "mysql");
    for b in env_backing(view, dir, &env, &services, sqlite) {
        if !services.iter().any(|s| s.value == b.value) {
            services.push(b);
        }
    }
    hints.env = env;
    hints.backing_services = services;
    hints.notes = notes;

    let has_framework = hints.framework.is_some();
    detection.kind = kind;
    if kind == DetectionKind::Service {
        if has_framework {
            detection.boost(if confirmed { 0.2 } else { 0.15 });
        } else if script {
            detection.boost(-0.25);
        } else {
            detection.boost(-0.35);
        }
    }
    evidence.sort();
    evidence.dedup();
    for (path, reason) in evidence {
        detection = detection.with_evidence(path, reason);
    }
    Some(detection)
}

fn runtime_version(
    view: &ProjectView,
    dir: &str,
    gemfile: Option<&Gemfile>,
    lock: Option<&GemfileLock>,
) -> Option<Sourced<String>> {
    if let Some(found) = common::find_up(view, dir, ".ruby-version")
        && let Some(mut v) = common::version_file(view, parent(&found), ".ruby-version")
    {
        if let Some(stripped) = v.value.strip_prefix("ruby-") {
            v.value = stripped.to_string();
        }
        return Some(v);
    }
    if let Some(v) = common::tool_version(view, dir, &["ruby"]) {
        return Some(v);
    }
    if let Some(r) = gemfile.and_then(|g| g.ruby.as_deref())
        && let Some(v) = version_from_constraint(r)
    {
        return Some(Sourced::new(v, "Gemfile ruby"));
    }
    lock.and_then(|l| l.ruby.clone())
        .map(|v| Sourced::new(v, format!("{} RUBY VERSION", join(dir, "Gemfile.lock"))))
}

/// The app's module in `config/application.rb` (`module Blog` → `blog`,
/// `module MyShop` → `my-shop`).
fn rails_module(view: &ProjectView, path: &str) -> Option<String> {
    let text = view.text(path)?;
    let line = text.lines().find(|l| l.starts_with("module "))?;
    let module = line.strip_prefix("module ")?.split_whitespace().next()?;
    let mut out = String::new();
    for (i, c) in module.chars().enumerate() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    (!out.is_empty()).then_some(out)
}

/// The `port` of a `config/puma.rb` (`port ENV.fetch("PORT") { 3000 }`).
fn puma_port(view: &ProjectView, path: &str) -> Option<Sourced<u16>> {
    let text = view.text(path)?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("port ") || l.starts_with("port("))?;
    let port = last_number(line)?;
    Some(Sourced::new(port, format!("{path} port")))
}

/// The last number of 2 to 5 digits in a line, as a port.
fn last_number(line: &str) -> Option<u16> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|n| n.len() >= 2 && n.len() <= 5)
        .filter_map(|n| n.parse::<u16>().ok())
        .next_back()
        .filter(|p| *p >= 80)
}

/// `set :port, 8080` in a sinatra file.
fn sinatra_port(text: &str) -> Option<u16> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("set :port"))
        .and_then(last_number)
}

/// The file of a classic sinatra app: the usual names first, then any `.rb` at the top
/// of the folder that requires sinatra.
fn sinatra_file(view: &ProjectView, dir: &str) -> Option<String> {
    let requires =
        |text: &str| text.contains("require 'sinatra") || text.contains("require \"sinatra");
    SINATRA_ENTRIES
        .iter()
        .map(|f| join(dir, f))
        .chain(
            view.files_in(dir)
                .filter(|f| f.ends_with(".rb"))
                .map(str::to_string),
        )
        .find(|f| view.text(f).is_some_and(|t| requires(&t)))
}

/// The files a `config.ru` loads with `require_relative "x"` (for the env names they
/// read).
fn required_files(view: &ProjectView, config_ru: &str) -> Vec<String> {
    let Some(text) = view.text(config_ru) else {
        return Vec::new();
    };
    let dir = parent(config_ru);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("require_relative"))
        .filter_map(|rest| {
            let rest = rest.trim().trim_start_matches('(');
            let name = rest.trim_matches(|c| matches!(c, '"' | '\'' | ')' | ' '));
            let name = name.strip_prefix("./").unwrap_or(name);
            let file = if name.ends_with(".rb") {
                join(dir, name)
            } else {
                join(dir, &format!("{name}.rb"))
            };
            view.is_file(&file).then_some(file)
        })
        .collect()
}

/// The rails health route (`get "up" => "rails/health#show"` → `/up`).
fn up_route(routes: &str) -> Option<String> {
    let line = routes.lines().find(|l| l.contains("rails/health#show"))?;
    let rest = line.trim().strip_prefix("get")?.trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let inner = rest.get(1..)?;
    let end = inner.find(quote)?;
    let path = inner.get(..end)?.trim_start_matches('/');
    Some(format!("/{path}"))
}

/// The `adapter:` values of a `config/database.yml`.
fn database_adapters(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("adapter:") {
            let v = v.trim().trim_matches(['"', '\'']).to_string();
            if !v.is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

fn adapter_backing(adapter: &str) -> Option<&'static str> {
    match adapter {
        "postgresql" | "postgis" | "pg" => Some("postgres"),
        "mysql2" | "trilogy" | "mysql" => Some("mysql"),
        _ => None,
    }
}

/// The `spec.name = "x"` of a gemspec.
fn gemspec_name(view: &ProjectView, path: &str) -> Option<String> {
    let text = view.text(path)?;
    let line = text.lines().find(|l| l.trim_start().contains(".name"))?;
    let (_, value) = line.split_once('=')?;
    let value = value.trim().trim_matches(['"', '\'']);
    let value = value
        .strip_suffix(".freeze")
        .unwrap_or(value)
        .trim_matches(['"', '\'']);
    (!value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then(|| value.to_string())
}

fn relative_to<'a>(dir: &str, path: &'a str) -> &'a str {
    if dir.is_empty() {
        path
    } else {
        path.strip_prefix(dir)
            .and_then(|p| p.strip_prefix('/'))
            .unwrap_or(path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ports_in_config() {
        assert_eq!(last_number("port ENV.fetch(\"PORT\") { 3000 }"), Some(3000));
        assert_eq!(last_number("port ENV.fetch(\"PORT\", 3000)"), Some(3000));
        assert_eq!(last_number("port 1"), None);
        assert_eq!(
            sinatra_port("require 'sinatra'\nset :port, 8080\n"),
            Some(8080)
        );
    }

    #[test]
    fn routes_and_adapters() {
        assert_eq!(
            up_route("  get \"up\" => \"rails/health#show\", as: :rails_health_check").as_deref(),
            Some("/up")
        );
        assert_eq!(
            database_adapters(
                "default: &default\n  adapter: postgresql\nproduction:\n  adapter: \"postgresql\"\n"
            ),
            vec!["postgresql"]
        );
        assert_eq!(adapter_backing("trilogy"), Some("mysql"));
        assert_eq!(adapter_backing("sqlite3"), None);
    }
}
