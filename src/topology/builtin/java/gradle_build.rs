//! Gradle builds: the settings' projects, version catalogs, and each project's plugins,
//! dependencies, toolchain and command.

use super::*;

/// A version catalog (`gradle/libs.versions.toml`), aliases normalised to dots.
#[derive(Debug, Default)]
pub(super) struct Catalog {
    pub(super) libraries: BTreeMap<String, (String, String)>,
    pub(super) plugins: BTreeMap<String, String>,
    pub(super) bundles: BTreeMap<String, Vec<String>>,
}

pub(super) fn alias_key(alias: &str) -> String {
    alias.replace(['-', '_'], ".").to_ascii_lowercase()
}

pub(super) fn load_catalog(view: &ProjectView, root: &str) -> Catalog {
    let path = join(root, "gradle/libs.versions.toml");
    let mut out = Catalog::default();
    let Some(text) = view.text(&path) else {
        return out;
    };
    let table: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            common::invalid(view, &path, e.message());
            return out;
        }
    };
    let section = |name: &str| table.get(name).and_then(toml::Value::as_table);
    if let Some(libs) = section("libraries") {
        for (alias, spec) in libs {
            let coords = match spec {
                toml::Value::String(s) => {
                    let mut parts = s.split(':');
                    parts
                        .next()
                        .zip(parts.next())
                        .map(|(g, a)| (g.to_string(), a.to_string()))
                }
                toml::Value::Table(t) => {
                    let get = |k: &str| t.get(k).and_then(toml::Value::as_str);
                    match (get("module"), get("group"), get("name")) {
                        (Some(m), _, _) => m
                            .split_once(':')
                            .map(|(g, a)| (g.to_string(), a.to_string())),
                        (None, Some(g), Some(n)) => Some((g.to_string(), n.to_string())),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(c) = coords {
                out.libraries.insert(alias_key(alias), c);
            }
        }
    }
    if let Some(plugins) = section("plugins") {
        for (alias, spec) in plugins {
            let id = match spec {
                toml::Value::String(s) => s.split(':').next().map(str::to_string),
                toml::Value::Table(t) => t
                    .get("id")
                    .and_then(toml::Value::as_str)
                    .map(str::to_string),
                _ => None,
            };
            if let Some(id) = id {
                out.plugins.insert(alias_key(alias), id);
            }
        }
    }
    if let Some(bundles) = section("bundles") {
        for (alias, list) in bundles {
            if let Some(items) = list.as_array() {
                out.bundles.insert(
                    alias_key(alias),
                    items
                        .iter()
                        .filter_map(toml::Value::as_str)
                        .map(alias_key)
                        .collect(),
                );
            }
        }
    }
    out
}

/// A Gradle build (the settings folder) and what its root build script shares.
#[derive(Debug)]
pub(super) struct GradleRoot {
    pub(super) dir: String,
    pub(super) settings: Option<(String, GradleSettings)>,
    /// Included project folder → its project path (`libs/core` → `libs:core`).
    pub(super) members: BTreeMap<String, String>,
    pub(super) catalog: Catalog,
}

pub(super) fn gradle_projects(view: &ProjectView) -> Vec<Detection> {
    let mut out = Vec::new();
    let mut roots: BTreeMap<String, GradleRoot> = BTreeMap::new();
    let settings_files: Vec<&std::sync::Arc<str>> = view
        .named("settings.gradle")
        .iter()
        .chain(view.named("settings.gradle.kts"))
        .collect();
    for path in settings_files {
        let dir = parent(path).to_string();
        if roots.contains_key(&dir) || skipped_gradle_dir(&dir) {
            continue;
        }
        let Some(text) = view.text(path) else {
            continue;
        };
        let settings = match gradle::parse_settings(&text) {
            Ok(s) => s,
            Err(e) => {
                common::invalid(view, path, e);
                continue;
            }
        };
        let mut members = BTreeMap::new();
        for inc in &settings.includes {
            if let Some(m) = resolve_path(&dir, &settings.project_dir(inc))
                && m != dir
            {
                members.insert(m, inc.clone());
            }
        }
        if !members.is_empty() {
            let mut d = Detection::new(ID, dir.as_str(), "java", 0.85)
                .with_kind(DetectionKind::WorkspaceRoot)
                .with_evidence(
                    &**path,
                    format!("gradle build of {} project(s)", members.len()),
                );
            d.hints.patterns.push("gradle-multiproject".into());
            d.hints.package_manager = Some(Sourced::new("gradle".into(), path.to_string()));
            if let Some(name) = &settings.root_project_name {
                d.hints.name = Some(Sourced::new(
                    name.clone(),
                    format!("{path} rootProject.name"),
                ));
            }
            out.push(d);
        }
        let catalog = load_catalog(view, &dir);
        roots.insert(
            dir.clone(),
            GradleRoot {
                dir,
                settings: Some((path.to_string(), settings)),
                members,
                catalog,
            },
        );
    }

    let mut builds: BTreeMap<String, (String, GradleBuild)> = BTreeMap::new();
    for name in ["build.gradle.kts", "build.gradle"] {
        for path in view.named(name) {
            let dir = parent(path).to_string();
            if builds.contains_key(&dir) || skipped_gradle_dir(&dir) {
                continue;
            }
            let Some(text) = view.text(path) else {
                continue;
            };
            match gradle::parse(&text) {
                Ok(b) => {
                    builds.insert(dir, (path.to_string(), b));
                }
                Err(e) => common::invalid(view, path, e),
            }
        }
    }
    for (dir, (path, build)) in &builds {
        // The build this project belongs to: its own settings, or the nearest one that
        // includes it.
        let root = roots.get(dir).or_else(|| {
            roots
                .values()
                .filter(|r| r.members.contains_key(dir))
                .max_by_key(|r| r.dir.len())
        });
        let root_build = root
            .filter(|r| r.dir != *dir)
            .and_then(|r| builds.get(&r.dir));
        let d = gradle_project(view, dir, path, build, root, root_build);
        // The root script of a multi-project build that only configures its
        // subprojects is the workspace root, not a library.
        let configures_only = d.kind == DetectionKind::Library
            && root.is_some_and(|r| r.dir == *dir && !r.members.is_empty())
            && !view.is_dir(&join(dir, "src/main"));
        if !configures_only {
            out.push(d);
        }
    }
    out
}

pub(super) fn skipped_gradle_dir(dir: &str) -> bool {
    dir.split('/').any(|s| s == "buildSrc") || is_test_resource(&join(dir, "x"))
}

pub(super) fn gradle_project(
    view: &ProjectView,
    dir: &str,
    path: &str,
    build: &GradleBuild,
    root: Option<&GradleRoot>,
    root_build: Option<&(String, GradleBuild)>,
) -> Detection {
    let empty = Catalog::default();
    let catalog = root.map_or(&empty, |r| &r.catalog);
    // Applied plugins: this script's, plus those the root applies to subprojects.
    let mut plugins: Vec<(String, String)> = Vec::new();
    let mut add_plugins = |file: &str, b: &GradleBuild, shared_only: bool| {
        for p in &b.plugins {
            if !p.apply || (shared_only != p.shared) {
                continue;
            }
            let id = p.id.clone().or_else(|| {
                p.alias
                    .as_deref()
                    .and_then(|a| catalog.plugins.get(&alias_key(a)).cloned())
            });
            if let Some(id) = id {
                plugins.push((id, file.to_string()));
            }
        }
    };
    add_plugins(path, build, false);
    if let Some((rp, rb)) = root_build {
        add_plugins(rp, rb, true);
    }
    let applied = |id: &str| {
        plugins
            .iter()
            .find(|(p, _)| p == id)
            .map(|(_, f)| f.as_str())
    };
    let applied_any =
        |ids: &[&'static str]| ids.iter().find_map(|id| applied(id).map(|f| (*id, f)));

    // Dependencies (module coordinates), catalog references resolved.
    let mut deps: Vec<(String, String, String)> = Vec::new();
    let mut add_deps = |file: &str, b: &GradleBuild, shared_only: bool| {
        for dep in &b.dependencies {
            if shared_only != dep.shared
                || dep.configuration == "classpath"
                || dep.configuration.starts_with("test")
            {
                continue;
            }
            match &dep.target {
                DependencyTarget::Module { group, name, .. } => {
                    deps.push((group.clone(), name.clone(), file.to_string()));
                }
                DependencyTarget::Catalog(alias) => {
                    let key = alias_key(alias);
                    let aliases = match key.strip_prefix("bundles.") {
                        Some(b) => catalog.bundles.get(b).cloned().unwrap_or_default(),
                        None => vec![key],
                    };
                    for a in aliases {
                        if let Some((g, n)) = catalog.libraries.get(&a) {
                            deps.push((g.clone(), n.clone(), file.to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
    };
    add_deps(path, build, false);
    if let Some((rp, rb)) = root_build {
        add_deps(rp, rb, true);
    }

    let tooling = applied_any(&[
        "java-gradle-plugin",
        "kotlin-dsl",
        "com.android.application",
        "com.android.library",
    ]);
    let spring = applied("org.springframework.boot");
    let quarkus = applied("io.quarkus");
    let micronaut = applied_any(&[
        "io.micronaut.application",
        "io.micronaut.minimal.application",
    ])
    .map(|(_, f)| f);
    let ktor_plugin = applied("io.ktor.plugin");
    let ktor_dep = deps
        .iter()
        .find(|(g, n, _)| g == "io.ktor" && n.starts_with("ktor-server"))
        .map(|(_, _, f)| f.as_str());
    let shadow = applied_any(&[
        "com.github.johnrengelman.shadow",
        "com.gradleup.shadow",
        "io.github.goooler.shadow",
    ]);
    let application = applied("application").or(micronaut);
    let kotlin = applied_any(&[
        "org.jetbrains.kotlin.jvm",
        "kotlin",
        "org.jetbrains.kotlin.plugin.spring",
        "org.jetbrains.kotlin.multiplatform",
    ]);
    let main = find_main(view, dir);
    let main_class = build
        .main_class
        .clone()
        .or_else(|| main.as_ref().map(|m| m.class.clone()));
    let member = root.and_then(|r| r.members.get(dir).map(|p| (r, p)));

    let framework = if spring.is_some() {
        Some(Framework::SpringBoot)
    } else if quarkus.is_some() {
        Some(Framework::Quarkus)
    } else if micronaut.is_some() {
        Some(Framework::Micronaut)
    } else if ktor_plugin.is_some() || ktor_dep.is_some() {
        Some(Framework::Ktor)
    } else {
        None
    };
    let is_service = tooling.is_none()
        && match framework {
            Some(Framework::SpringBoot) => main.is_some() || member.is_none(),
            Some(Framework::Quarkus) => true,
            Some(_) => main_class.is_some(),
            None => {
                main_class.is_some()
                    && (application.is_some() || shadow.is_some() || build.main_class.is_some())
            }
        };
    let language = source_language(view, dir, kotlin.is_some());
    let project_name = match member {
        Some((_, p)) => p.rsplit(':').next().unwrap_or(p).to_string(),
        None => root
            .and_then(|r| r.settings.as_ref())
            .and_then(|(_, s)| s.root_project_name.clone())
            .unwrap_or_default(),
    };
    let mut d = Detection::new(ID, dir, language, 0.75)
        .with_kind(if is_service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(path, "gradle build script");
    if !project_name.is_empty() {
        let source = match (member, root.and_then(|r| r.settings.as_ref())) {
            (Some(_), Some((sp, _))) => format!("{sp} include"),
            (None, Some((sp, _))) => format!("{sp} rootProject.name"),
            _ => path.to_string(),
        };
        d.hints.name = Some(Sourced::new(project_name.clone(), source));
    }
    d.hints.package_manager = Some(Sourced::new("gradle".into(), path.to_string()));
    if let Some((id, _)) = tooling {
        d.evidence.push(Evidence::new(
            path,
            format!("{id} project: build tooling, not a service"),
        ));
    }

    // JDK version: pins, then this script, then the root script.
    let from_build = |file: &str, b: &GradleBuild| -> Option<Sourced<String>> {
        [
            (&b.toolchain, "java toolchain"),
            (&b.source_compatibility, "sourceCompatibility"),
            (&b.target_compatibility, "targetCompatibility"),
            (&b.jvm_target, "kotlin jvmTarget"),
        ]
        .into_iter()
        .find_map(|(v, what)| {
            v.as_ref()
                .map(|v| Sourced::new(normalize_java(v), format!("{file} {what}")))
        })
    };
    d.hints.runtime_version = jdk_pin(view, dir)
        .or_else(|| from_build(path, build))
        .or_else(|| root_build.and_then(|(rp, rb)| from_build(rp, rb)));

    for (g, n, file) in &deps {
        if let Some(b) = jvm_backing(g, n) {
            push_unique(
                &mut d.hints.backing_services,
                Sourced::new(b.to_string(), format!("{file} {n}")),
            );
        }
    }
    if !is_service {
        return d;
    }
    if let Some(m) = &main {
        d.boost(0.05);
        d.evidence.push(Evidence::new(
            m.file.clone(),
            format!("main class {}", m.class),
        ));
    }

    let context = member.map_or(dir.to_string(), |(r, _)| r.dir.clone());
    if context != dir {
        d.hints.context = Some(context.clone());
    }
    let gradlew = if view.is_file(&join(&context, "gradlew")) {
        d.evidence
            .push(Evidence::new(join(&context, "gradlew"), "gradle wrapper"));
        d.boost(0.03);
        "./gradlew"
    } else {
        "gradle"
    };
    let task = |t: &str| match member {
        Some((_, p)) => format!("{gradlew} :{p}:{t}"),
        None => format!("{gradlew} {t}"),
    };
    let prefix = match member {
        Some(_) => format!("{}/", strip_dir(&context, dir)),
        None => String::new(),
    };
    // The jar a task writes to build/libs: its archiveFileName, the name it is known to
    // get (`<project>-<version><suffix>.jar`), else the newest match.
    let libs_jar = |suffix: &str, with_version: bool| -> String {
        if let Some(name) = build
            .archive_file_name
            .as_ref()
            .filter(|n| !n.contains('$'))
        {
            return format!("{prefix}build/libs/{name}");
        }
        let version = build.version.as_ref().filter(|v| !v.contains('$'));
        match version {
            _ if project_name.is_empty() => {}
            Some(v) if with_version => {
                return format!("{prefix}build/libs/{project_name}-{v}{suffix}.jar");
            }
            _ if !with_version => return format!("{prefix}build/libs/{project_name}{suffix}.jar"),
            _ => {}
        }
        format!("$(ls {prefix}build/libs/*{suffix}.jar | grep -v plain | head -n 1)")
    };
    let (build_cmd, start) = if spring.is_some() {
        (task("bootJar"), format!("java -jar {}", libs_jar("", true)))
    } else if quarkus.is_some() {
        (
            task("build -x test"),
            format!("java -jar {prefix}build/quarkus-app/quarkus-run.jar"),
        )
    } else if ktor_plugin.is_some() {
        (
            task("buildFatJar"),
            format!("java -jar {}", libs_jar("-all", false)),
        )
    } else if shadow.is_some() {
        (
            task("shadowJar"),
            format!("java -jar {}", libs_jar("-all", true)),
        )
    } else if application.is_some() && !project_name.is_empty() {
        (
            task("installDist"),
            format!("{prefix}build/install/{project_name}/bin/{project_name}"),
        )
    } else if application.is_some() {
        (
            task("installDist"),
            format!("$(ls {prefix}build/install/*/bin/* | grep -v '\\.bat$' | head -n 1)"),
        )
    } else {
        (task("jar"), format!("java -jar {}", libs_jar("", true)))
    };
    d.hints.build_command = Some(Sourced::new(build_cmd, path.to_string()));
    let start_source = match &main {
        Some(m) => format!("{path} + {}", m.file),
        None => path.to_string(),
    };
    d.hints.start_command = Some(Sourced::new(start, start_source));

    apply_config(view, dir, &mut d);
    let fw_source = match framework {
        Some(Framework::SpringBoot) => {
            format!("{} org.springframework.boot plugin", spring.unwrap_or(path))
        }
        Some(Framework::Quarkus) => format!("{} io.quarkus plugin", quarkus.unwrap_or(path)),
        Some(Framework::Micronaut) => format!("{} micronaut plugin", micronaut.unwrap_or(path)),
        Some(Framework::Ktor) => match ktor_plugin {
            Some(f) => format!("{f} io.ktor.plugin"),
            None => format!("{} ktor-server", ktor_dep.unwrap_or(path)),
        },
        None => String::new(),
    };
    if let Some(f) = framework {
        d.boost(0.1);
        d.evidence
            .push(Evidence::new(path, format!("{} app", f.name())));
    }
    let health = deps.iter().find_map(|(_, n, file)| {
        matches!(
            n.as_str(),
            "spring-boot-starter-actuator" | "quarkus-smallrye-health" | "micronaut-management"
        )
        .then(|| format!("{file} {n}"))
    });
    framework_hints(&mut d, framework, &fw_source, health.as_deref());
    if d.hints.healthcheck.is_none() {
        d.hints.healthcheck = source_health(view, dir, SOURCE_ROOTS);
    }
    d
}
