//! Topology of scripting-language projects (python, ruby, php, elixir, gleam): one
//! fixture per stack and framework, each snapshotted and checked on the values a user
//! deploying it would notice.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::{env, ports, source, value};

use kyozo::topology::{Topology, TopologyService};

fn single(t: &Topology) -> &TopologyService {
    assert_eq!(t.services.len(), 1, "services: {:#?}", t.services);
    &t.services[0]
}

fn codes(t: &Topology) -> Vec<&str> {
    t.recommendations.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn python_django_poetry() {
    let t = snapshot!("python-django-poetry");
    let s = common::service(&t, "bookshelf");
    assert_eq!(s.language, "python");
    assert_eq!(s.framework.as_deref(), Some("django"));
    assert_eq!(s.package_manager.as_deref(), Some("poetry"));
    assert_eq!(
        value(&s.install_command),
        Some("poetry install --no-root --only main")
    );
    assert_eq!(
        value(&s.start_command),
        Some("poetry run gunicorn bookshelf.wsgi --bind 0.0.0.0:${PORT:-8000}")
    );
    assert_eq!(
        value(&s.build_command),
        Some("poetry run python manage.py collectstatic --noinput")
    );
    assert_eq!(ports(s), vec![(8000, "default for django (gunicorn)")]);
    assert_eq!(value(&s.runtime_version), Some("3.12.4"));
    assert_eq!(source(&s.runtime_version), Some(".python-version"));
    assert_eq!(s.backing_services, vec!["postgres"]);
    for name in ["DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"] {
        assert!(env(s).contains(&name), "{name} missing: {:?}", env(s));
    }
    assert!(s.confidence >= 0.9, "{}", s.confidence);
    assert!(codes(&t).contains(&"migrations"));
    assert!(!codes(&t).contains(&"no-lockfile"));
}

#[test]
fn python_flask_pip() {
    let t = snapshot!("python-flask-pip");
    let s = single(&t);
    assert_eq!(s.framework.as_deref(), Some("flask"));
    assert_eq!(s.package_manager.as_deref(), Some("pip"));
    assert_eq!(
        value(&s.install_command),
        Some("pip install -r requirements.txt")
    );
    assert_eq!(
        value(&s.start_command),
        Some("gunicorn app:app --bind 0.0.0.0:${PORT:-8000}")
    );
    assert_eq!(ports(s), vec![(8000, "default for flask (gunicorn)")]);
    assert_eq!(value(&s.runtime_version), Some("3.11.9"));
    assert_eq!(source(&s.runtime_version), Some("runtime.txt"));
    // redis comes from the included requirements/base.txt.
    assert_eq!(s.backing_services, vec!["redis"]);
    assert!(env(s).contains(&"REDIS_URL"));
    assert_eq!(value(&s.healthcheck), Some("/healthz"));
    assert!(
        s.confidence >= 0.85 && s.confidence <= 0.95,
        "{}",
        s.confidence
    );
    // python-dotenv is not pinned.
    assert!(codes(&t).contains(&"unpinned-dependencies"));
}

#[test]
fn python_fastapi_uv() {
    let t = snapshot!("python-fastapi-uv");
    let s = common::service(&t, "inventory-api");
    assert_eq!(s.framework.as_deref(), Some("fastapi"));
    assert_eq!(s.package_manager.as_deref(), Some("uv"));
    assert_eq!(value(&s.install_command), Some("uv sync --frozen --no-dev"));
    assert_eq!(
        value(&s.start_command),
        Some("uv run --no-sync uvicorn app.main:app --host 0.0.0.0 --port ${PORT:-8000}")
    );
    assert_eq!(source(&s.start_command), Some("app/main.py"));
    assert_eq!(ports(s), vec![(8000, "default for fastapi (uvicorn)")]);
    assert_eq!(value(&s.runtime_version), Some("3.12"));
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert!(env(s).contains(&"DATABASE_URL") && env(s).contains(&"LOG_LEVEL"));
    assert_eq!(value(&s.healthcheck), Some("/health"));
    assert!(s.confidence >= 0.9);
}

#[test]
fn python_streamlit() {
    let t = snapshot!("python-streamlit");
    let s = single(&t);
    assert_eq!(s.framework.as_deref(), Some("streamlit"));
    assert_eq!(
        value(&s.start_command),
        Some("streamlit run streamlit_app.py --server.port ${PORT:-8501} --server.address 0.0.0.0")
    );
    assert_eq!(ports(s), vec![(8501, "default for streamlit")]);
    assert_eq!(value(&s.runtime_version), Some("3.11.8"));
    assert_eq!(source(&s.runtime_version), Some(".tool-versions python"));
    assert!(s.backing_services.is_empty());
    // Streamlit always serves its own health endpoint; pages/ is not the entry.
    assert_eq!(value(&s.healthcheck), Some("/_stcore/health"));
}

#[test]
fn python_pdm() {
    let t = snapshot!("python-pdm");
    let s = common::service(&t, "notifier");
    assert_eq!(s.framework.as_deref(), Some("flask"));
    assert_eq!(s.package_manager.as_deref(), Some("pdm"));
    assert_eq!(value(&s.install_command), Some("pdm install --prod"));
    // The app factory in src/notifier/__init__.py, served by gunicorn from src.
    assert_eq!(
        value(&s.start_command),
        Some("pdm run gunicorn 'notifier:create_app()' --chdir src --bind 0.0.0.0:${PORT:-8000}")
    );
    assert_eq!(value(&s.runtime_version), Some("3.11"));
    assert!(
        source(&s.runtime_version)
            .unwrap()
            .contains("requires-python")
    );
    assert_eq!(s.backing_services, vec!["mongodb", "redis"]);
    assert!(env(s).contains(&"MONGO_URL") && env(s).contains(&"CELERY_BROKER_URL"));
}

#[test]
fn python_pipenv() {
    let t = snapshot!("python-pipenv");
    let s = single(&t);
    assert_eq!(s.framework.as_deref(), Some("fastapi"));
    assert_eq!(s.package_manager.as_deref(), Some("pipenv"));
    assert_eq!(value(&s.install_command), Some("pipenv install --deploy"));
    assert_eq!(
        value(&s.start_command),
        Some("pipenv run uvicorn main:app --host 0.0.0.0 --port ${PORT:-8000}")
    );
    assert_eq!(value(&s.runtime_version), Some("3.11"));
    assert_eq!(
        source(&s.runtime_version),
        Some("Pipfile requires.python_version")
    );
    assert_eq!(s.backing_services, vec!["redis"]);
    assert!(s.confidence >= 0.9);
}

#[test]
fn python_requirements_only_script() {
    let t = snapshot!("python-requirements-only-script");
    let s = single(&t);
    assert_eq!(s.framework, None);
    assert_eq!(s.package_manager.as_deref(), Some("pip"));
    assert_eq!(value(&s.start_command), Some("python main.py"));
    assert!(s.ports.is_empty());
    // A script it can run is a Python service for sure (a job when it serves nothing):
    // confident enough that `up` builds it without being asked.
    assert!(s.confidence >= 0.5, "{}", s.confidence);
    let codes = codes(&t);
    assert!(codes.contains(&"port-unknown"));
    assert!(!codes.contains(&"low-confidence"));
}

#[test]
fn python_invalid_pyproject() {
    let t = snapshot!("python-invalid-pyproject");
    assert!(
        t.warnings
            .iter()
            .any(|w| w.starts_with("pyproject.toml: invalid")),
        "{:?}",
        t.warnings
    );
    let s = single(&t);
    // The rest of the folder is still read: requirements.txt and the flask app.
    assert_eq!(s.framework.as_deref(), Some("flask"));
    assert_eq!(s.package_manager.as_deref(), Some("pip"));
    assert_eq!(
        value(&s.start_command),
        Some("gunicorn wsgi:app --bind 0.0.0.0:${PORT:-8000}")
    );
    assert!(
        s.confidence < 0.9 && s.confidence >= 0.7,
        "{}",
        s.confidence
    );
    assert!(codes(&t).contains(&"invalid-manifest"));
}

#[test]
fn ruby_rails() {
    let t = snapshot!("ruby-rails");
    let s = common::service(&t, "blog");
    assert_eq!(s.language, "ruby");
    assert_eq!(s.framework.as_deref(), Some("rails"));
    assert_eq!(s.package_manager.as_deref(), Some("bundler"));
    assert_eq!(
        value(&s.install_command),
        Some(
            "bundle config set --local deployment true && bundle config set --local without 'development test' && bundle install"
        )
    );
    assert_eq!(
        value(&s.start_command),
        Some("bundle exec rails server -b 0.0.0.0 -p ${PORT:-3000} -e ${RAILS_ENV:-production}")
    );
    assert_eq!(
        value(&s.build_command),
        Some("RAILS_ENV=production SECRET_KEY_BASE_DUMMY=1 bundle exec rails assets:precompile")
    );
    assert_eq!(ports(s), vec![(3000, "config/puma.rb port")]);
    assert_eq!(value(&s.runtime_version), Some("3.2.2"));
    assert_eq!(source(&s.runtime_version), Some(".ruby-version"));
    assert_eq!(s.backing_services, vec!["postgres", "redis"]);
    assert_eq!(value(&s.healthcheck), Some("/up"));
    for name in [
        "DATABASE_URL",
        "RAILS_MASTER_KEY",
        "REDIS_URL",
        "RAILS_MAX_THREADS",
    ] {
        assert!(env(s).contains(&name), "{name} missing: {:?}", env(s));
    }
    assert!(s.confidence >= 0.9, "{}", s.confidence);
    // public/ (robots.txt, 404.html) is part of the app, not a service of its own.
    assert_eq!(t.services.len(), 1, "{:#?}", t.services);
    let codes = codes(&t);
    assert!(codes.contains(&"rails-master-key") && codes.contains(&"migrations"));
}

#[test]
fn ruby_sinatra() {
    let t = snapshot!("ruby-sinatra");
    let s = single(&t);
    assert_eq!(s.framework.as_deref(), Some("sinatra"));
    assert_eq!(
        value(&s.start_command),
        Some("bundle exec ruby app.rb -o 0.0.0.0 -p ${PORT:-4567}")
    );
    assert_eq!(ports(s), vec![(4567, "default for sinatra")]);
    assert_eq!(value(&s.runtime_version), Some("3.3.0"));
    assert_eq!(source(&s.runtime_version), Some(".tool-versions ruby"));
    // mysql2 gem, and the mysql2:// scheme of DATABASE_URL (not postgres).
    assert_eq!(s.backing_services, vec!["mysql"]);
    assert_eq!(value(&s.healthcheck), Some("/health"));
    assert!(s.confidence >= 0.9);
}

#[test]
fn ruby_rack() {
    let t = snapshot!("ruby-rack");
    let s = single(&t);
    assert_eq!(s.framework.as_deref(), Some("rack"));
    assert_eq!(
        value(&s.start_command),
        Some("bundle exec puma -p ${PORT:-9292}")
    );
    assert_eq!(ports(s), vec![(9292, "default for rack (puma)")]);
    assert_eq!(value(&s.runtime_version), Some("3.3.1"));
    assert_eq!(
        source(&s.runtime_version),
        Some("Gemfile.lock RUBY VERSION")
    );
    assert_eq!(s.backing_services, vec!["mongodb"]);
    // Read in lib/app.rb, which config.ru requires.
    assert!(env(s).contains(&"MONGODB_URI"));
    // The lockfile was resolved on a Mac only.
    assert!(codes(&t).contains(&"bundler-platform"));
}

#[test]
fn php_laravel() {
    let t = snapshot!("php-laravel");
    // The skeleton's name (laravel/laravel) is not used: the folder names the service.
    let s = common::service(&t, "php-laravel");
    assert_eq!(s.language, "php");
    assert_eq!(s.framework.as_deref(), Some("laravel"));
    assert_eq!(s.package_manager.as_deref(), Some("composer"));
    assert_eq!(
        value(&s.install_command),
        Some("composer install --no-dev --optimize-autoloader --no-interaction")
    );
    assert_eq!(
        value(&s.start_command),
        Some("php artisan serve --host=0.0.0.0 --port=${PORT:-8000}")
    );
    assert_eq!(value(&s.build_command), Some("npm ci && npm run build"));
    assert_eq!(ports(s), vec![(8000, "default for laravel")]);
    assert_eq!(value(&s.runtime_version), Some("8.2"));
    assert_eq!(
        source(&s.runtime_version),
        Some("composer.json require.php (^8.2)")
    );
    // DB_CONNECTION=pgsql and redis as cache/queue; ext-pdo_pgsql and predis agree.
    assert_eq!(s.backing_services, vec!["postgres", "redis"]);
    assert_eq!(value(&s.healthcheck), Some("/up"));
    assert!(env(s).contains(&"APP_KEY") && env(s).contains(&"DB_HOST"));
    let codes = codes(&t);
    for code in [
        "php-dev-server",
        "laravel-app-key",
        "migrations",
        "php-extensions",
    ] {
        assert!(codes.contains(&code), "{code} missing: {codes:?}");
    }
}

#[test]
fn php_symfony() {
    let t = snapshot!("php-symfony");
    let s = single(&t);
    assert_eq!(s.framework.as_deref(), Some("symfony"));
    assert_eq!(
        value(&s.install_command),
        Some("APP_ENV=prod composer install --no-dev --optimize-autoloader --no-interaction")
    );
    assert_eq!(
        value(&s.start_command),
        Some("php -S 0.0.0.0:${PORT:-8000} -t public")
    );
    assert_eq!(
        value(&s.build_command),
        Some("APP_ENV=prod php bin/console asset-map:compile")
    );
    assert_eq!(value(&s.runtime_version), Some("8.2.20"));
    assert_eq!(
        source(&s.runtime_version),
        Some("composer.json config.platform.php")
    );
    // The active DATABASE_URL of .env is postgresql (the mysql and sqlite ones are
    // commented out).
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert!(env(s).contains(&"APP_SECRET") && env(s).contains(&"DATABASE_URL"));
    assert!(s.confidence >= 0.9);
}

#[test]
fn php_plain() {
    let t = snapshot!("php-plain");
    let s = single(&t);
    assert_eq!(s.language, "php");
    assert_eq!(s.framework, None);
    assert_eq!(s.package_manager, None);
    assert_eq!(
        value(&s.start_command),
        Some("php -S 0.0.0.0:${PORT:-8000}")
    );
    assert_eq!(ports(s), vec![(8000, "default for php (built-in server)")]);
    assert_eq!(value(&s.runtime_version), Some("8.3"));
    assert_eq!(source(&s.runtime_version), Some(".php-version"));
    assert!(env(s).contains(&"DB_DSN"));
    assert!(s.confidence <= 0.6, "{}", s.confidence);
}

#[test]
fn elixir_phoenix() {
    let t = snapshot!("elixir-phoenix");
    let s = common::service(&t, "hello");
    assert_eq!(s.language, "elixir");
    assert_eq!(s.framework.as_deref(), Some("phoenix"));
    assert_eq!(s.package_manager.as_deref(), Some("mix"));
    assert_eq!(
        value(&s.install_command),
        Some(
            "mix local.hex --force && mix local.rebar --force && MIX_ENV=prod mix deps.get --only prod"
        )
    );
    assert_eq!(
        value(&s.build_command),
        Some(
            "MIX_ENV=prod mix compile && MIX_ENV=prod mix assets.deploy && MIX_ENV=prod mix release"
        )
    );
    // `mix phx.gen.release` wrote rel/overlays/bin/server.
    assert_eq!(
        value(&s.start_command),
        Some("_build/prod/rel/hello/bin/server")
    );
    assert_eq!(ports(s), vec![(4000, "config/runtime.exs PORT")]);
    assert_eq!(value(&s.runtime_version), Some("1.16.2-otp-26"));
    assert_eq!(source(&s.runtime_version), Some(".tool-versions elixir"));
    assert_eq!(s.backing_services, vec!["postgres"]);
    for name in ["DATABASE_URL", "SECRET_KEY_BASE", "PHX_HOST", "POOL_SIZE"] {
        assert!(env(s).contains(&name), "{name} missing: {:?}", env(s));
    }
    assert!(s.confidence >= 0.9);
    assert!(codes(&t).contains(&"migrations"));
}

#[test]
fn elixir_umbrella() {
    let t = snapshot!("elixir-umbrella");
    assert!(
        t.patterns.contains(&"mix-umbrella".to_string()),
        "{:?}",
        t.patterns
    );
    // The phoenix app is the service; the domain app is a shared package.
    let web = single(&t);
    assert_eq!(web.name, "shop-web");
    assert_eq!(web.path, "apps/shop_web");
    assert_eq!(web.context, ".");
    assert_eq!(web.framework.as_deref(), Some("phoenix"));
    assert_eq!(
        value(&web.build_command),
        Some("MIX_ENV=prod mix compile && MIX_ENV=prod mix assets.deploy")
    );
    assert_eq!(
        value(&web.start_command),
        Some("MIX_ENV=prod mix phx.server")
    );
    assert_eq!(ports(web), vec![(4000, "config/runtime.exs PORT")]);
    assert_eq!(value(&web.runtime_version), Some("1.15"));
    // postgres and redis come from the sibling app it depends on.
    assert_eq!(web.backing_services, vec!["postgres", "redis"]);
    assert_eq!(value(&web.healthcheck), Some("/healthz"));
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].path, "apps/shop");
}

#[test]
fn gleam_basic() {
    let t = snapshot!("gleam-basic");
    let s = common::service(&t, "todo-api");
    assert_eq!(s.language, "gleam");
    assert_eq!(s.framework.as_deref(), Some("wisp"));
    assert_eq!(s.package_manager.as_deref(), Some("gleam"));
    assert_eq!(value(&s.install_command), Some("gleam deps download"));
    assert_eq!(
        value(&s.build_command),
        Some("gleam export erlang-shipment")
    );
    assert_eq!(
        value(&s.start_command),
        Some("build/erlang-shipment/entrypoint.sh run")
    );
    assert_eq!(ports(s), vec![(8000, "src/todo_api.gleam mist.port")]);
    assert_eq!(value(&s.runtime_version), Some("1.5.1"));
    assert_eq!(s.backing_services, vec!["postgres"]);
    assert_eq!(value(&s.healthcheck), Some("/health"));
    assert!(env(s).contains(&"SECRET_KEY_BASE"));
    assert!(codes(&t).contains(&"bind-localhost"));
    assert!(s.confidence >= 0.9);
}

#[test]
fn python_uv_workspace() {
    let t = snapshot!("python-uv-workspace");
    assert!(
        t.patterns.contains(&"uv-workspace".to_string()),
        "{:?}",
        t.patterns
    );
    let api = common::service(&t, "api");
    assert_eq!(api.path, "apps/api");
    assert_eq!(api.context, ".");
    assert_eq!(api.framework.as_deref(), Some("fastapi"));
    assert_eq!(
        value(&api.install_command),
        Some("uv sync --frozen --no-dev --package api")
    );
    assert_eq!(value(&api.runtime_version), Some("3.12"));
    assert_eq!(source(&api.runtime_version), Some(".python-version"));
    assert_eq!(api.backing_services, vec!["postgres"]);
    let worker = common::service(&t, "worker");
    assert_eq!(worker.framework, None);
    // A celery app: its worker is the service.
    assert_eq!(
        value(&worker.start_command),
        Some("uv run --no-sync celery -A main worker --loglevel=INFO")
    );
    assert_eq!(worker.backing_services, vec!["redis"]);
    assert!(worker.env.iter().any(|e| e.name == "CELERY_BROKER_URL"));
    assert!(worker.confidence >= 0.6, "{}", worker.confidence);
    // The shared package is a library, the root only a workspace.
    assert_eq!(t.services.len(), 2, "{:#?}", t.services);
    assert_eq!(t.shared_packages.len(), 1);
    assert_eq!(t.shared_packages[0].name, "core");
    assert_eq!(t.shared_packages[0].path, "packages/core");
}
