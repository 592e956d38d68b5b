//! Maven projects: the reactor's modules (`<modules>`, parents, profiles) and each
//! module's packaging, dependencies, plugins, Java version and command.

use super::*;

#[derive(Debug)]
pub(super) struct MavenTree {
    pub(super) poms: BTreeMap<String, (String, Pom)>,
    /// Module folder → the topmost aggregator folder that builds it.
    pub(super) reactor: BTreeMap<String, String>,
}

impl MavenTree {
    /// The POM itself, then its parents found in the tree.
    pub(super) fn chain(&self, dir: &str) -> Vec<(&str, &str, &Pom)> {
        let mut out = Vec::new();
        let mut current = dir.to_string();
        for _ in 0..16 {
            let Some((path, pom)) = self.poms.get(&current) else {
                break;
            };
            out.push((current_str(&self.poms, &current), path.as_str(), pom));
            let Some(parent_ref) = &pom.parent else {
                break;
            };
            let rel = match parent_ref.relative_path.as_deref() {
                None => "../pom.xml",
                Some("") => break,
                Some(r) => r,
            };
            let Some(target) = resolve_path(&current, rel) else {
                break;
            };
            let target_dir = if target.ends_with(".xml") {
                parent(&target).to_string()
            } else {
                target
            };
            match self.poms.get(&target_dir) {
                Some((_, p))
                    if p.artifact_id == parent_ref.artifact_id && target_dir != current =>
                {
                    current = target_dir;
                }
                _ => break,
            }
        }
        out
    }
}

pub(super) fn current_str<'a>(poms: &'a BTreeMap<String, (String, Pom)>, key: &str) -> &'a str {
    poms.get_key_value(key).map_or("", |(k, _)| k.as_str())
}

pub(super) fn maven(view: &ProjectView) -> Vec<Detection> {
    let mut poms: BTreeMap<String, (String, Pom)> = BTreeMap::new();
    for path in view.named("pom.xml") {
        if is_test_resource(path) {
            continue;
        }
        let Some(text) = view.text(path) else {
            continue;
        };
        match pom::parse(&text) {
            Ok(p) => {
                poms.insert(parent(path).to_string(), (path.to_string(), p));
            }
            Err(e) => common::invalid(view, path, e),
        }
    }
    // Aggregators and their modules.
    let mut module_of: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (dir, (path, p)) in &poms {
        if p.modules.is_empty() {
            continue;
        }
        let mut found = 0;
        for m in &p.modules {
            let Some(target) = resolve_path(dir, m) else {
                continue;
            };
            let target = if target.ends_with(".xml") {
                parent(&target).to_string()
            } else {
                target
            };
            if poms.contains_key(&target) {
                found += 1;
                module_of.entry(target).or_insert_with(|| dir.clone());
            }
        }
        let mut d = Detection::new(ID, dir.as_str(), "java", 0.85)
            .with_kind(DetectionKind::WorkspaceRoot)
            .with_evidence(
                path.as_str(),
                format!("maven aggregator of {} module(s)", p.modules.len()),
            );
        d.hints.patterns.push("maven-multimodule".into());
        d.hints.package_manager = Some(Sourced::new("maven".into(), path.clone()));
        if found < p.modules.len() {
            d.hints.notes.push(Note::new(
                "maven-missing-module",
                format!(
                    "{path} lists {} module(s) but only {found} have a pom.xml in the project",
                    p.modules.len()
                ),
            ));
        }
        if p.packaging() == "pom" {
            out.push(d);
        }
    }
    let mut reactor = BTreeMap::new();
    for dir in poms.keys() {
        let mut top = None;
        let mut current = dir.clone();
        for _ in 0..32 {
            match module_of.get(&current) {
                Some(agg) => {
                    top = Some(agg.clone());
                    current = agg.clone();
                }
                None => break,
            }
        }
        if let Some(t) = top {
            reactor.insert(dir.clone(), t);
        }
    }
    let tree = MavenTree { poms, reactor };
    for (dir, (path, p)) in &tree.poms {
        if p.packaging() == "pom" {
            continue;
        }
        out.push(maven_module(view, &tree, dir, path, p));
    }
    out
}

pub(super) fn maven_module(
    view: &ProjectView,
    tree: &MavenTree,
    dir: &str,
    path: &str,
    p: &Pom,
) -> Detection {
    let chain = tree.chain(dir);
    // Properties: the topmost parent first, so children override.
    let mut inherited: BTreeMap<String, String> = BTreeMap::new();
    for (_, _, pom) in chain.iter().skip(1).rev() {
        for (k, v) in &pom.properties {
            inherited.insert(k.clone(), v.clone());
        }
    }
    let resolve = |v: &str| p.resolve_with(v, &inherited);
    let deps: Vec<(&str, &pom::PomDependency)> = chain
        .iter()
        .flat_map(|(_, file, pom)| pom.dependencies.iter().map(move |d| (*file, d)))
        .filter(|(_, d)| d.scope.as_deref() != Some("test"))
        .collect();
    let plugins: Vec<(&str, &pom::PomPlugin)> = chain
        .iter()
        .flat_map(|(_, file, pom)| pom.plugins.iter().map(move |pl| (*file, pl)))
        .collect();
    let parents: Vec<(&str, &pom::PomParent)> = chain
        .iter()
        .filter_map(|(_, file, pom)| pom.parent.as_ref().map(|pp| (*file, pp)))
        .collect();

    let spring_parent = parents
        .iter()
        .find(|(_, pp)| pp.group_id.as_deref() == Some("org.springframework.boot"));
    let spring_plugin = plugins
        .iter()
        .find(|(_, pl)| pl.artifact_id == "spring-boot-maven-plugin");
    let spring_dep = deps.iter().find(|(_, d)| {
        d.group_id == "org.springframework.boot" && d.artifact_id.starts_with("spring-boot-starter")
    });
    let quarkus = deps
        .iter()
        .find(|(_, d)| d.group_id == "io.quarkus" || d.group_id == "io.quarkus.platform")
        .map(|(f, _)| *f)
        .or_else(|| {
            plugins
                .iter()
                .find(|(_, pl)| pl.artifact_id == "quarkus-maven-plugin")
                .map(|(f, _)| *f)
        });
    let micronaut = deps
        .iter()
        .find(|(_, d)| d.group_id.starts_with("io.micronaut"))
        .map(|(f, _)| *f);
    let ktor = deps
        .iter()
        .find(|(_, d)| d.group_id == "io.ktor" && d.artifact_id.starts_with("ktor-server"))
        .map(|(f, _)| *f);
    let member = tree.reactor.get(dir);
    let main = find_main(view, dir);

    let spring_source = spring_plugin
        .map(|(f, _)| format!("{f} spring-boot-maven-plugin"))
        .or_else(|| spring_dep.map(|(f, d)| format!("{f} {}", d.artifact_id)))
        .or_else(|| {
            spring_parent.map(|(f, pp)| {
                format!(
                    "{f} parent {}",
                    pp.artifact_id.as_deref().unwrap_or_default()
                )
            })
        });
    let framework = if spring_source.is_some()
        && (spring_dep.is_some()
            || spring_plugin.is_some()
            || main.as_ref().is_some_and(|m| m.spring))
    {
        Some(Framework::SpringBoot)
    } else if quarkus.is_some() {
        Some(Framework::Quarkus)
    } else if micronaut.is_some() {
        Some(Framework::Micronaut)
    } else if ktor.is_some() {
        Some(Framework::Ktor)
    } else {
        None
    };
    let fat_jar_plugin = plugins.iter().find(|(_, pl)| {
        matches!(
            pl.artifact_id.as_str(),
            "maven-shade-plugin" | "maven-assembly-plugin"
        )
    });
    let configured_main = plugins
        .iter()
        .find_map(|(_, pl)| pl.configuration.get("mainClass").map(|m| resolve(m)));

    let is_service = match framework {
        Some(Framework::SpringBoot) => {
            main.is_some() || (member.is_none() && spring_plugin.is_some())
        }
        Some(Framework::Quarkus) => true,
        Some(_) => main.is_some() || configured_main.is_some(),
        None => main.is_some(),
    };
    let kotlin_plugin = plugins
        .iter()
        .any(|(_, pl)| pl.artifact_id == "kotlin-maven-plugin");
    let language = source_language(view, dir, kotlin_plugin);
    let artifact = p
        .artifact_id
        .clone()
        .unwrap_or_else(|| file_name(dir).to_string());
    let mut d = Detection::new(ID, dir, language, 0.75)
        .with_kind(if is_service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(path, format!("maven project {artifact}"));
    d.hints.name = Some(Sourced::new(artifact.clone(), format!("{path} artifactId")));
    d.hints.package_manager = Some(Sourced::new("maven".into(), path.to_string()));

    // JDK version.
    let own_version = [
        "maven.compiler.release",
        "java.version",
        "maven.compiler.source",
        "maven.compiler.target",
    ]
    .iter()
    .find_map(|key| {
        let (file, value) = chain
            .iter()
            .find_map(|(_, file, pom)| pom.properties.get(*key).map(|v| (*file, v)))?;
        let v = resolve(value);
        (!v.contains("${")).then(|| Sourced::new(normalize_java(&v), format!("{file} {key}")))
    })
    .or_else(|| {
        plugins.iter().find_map(|(file, pl)| {
            if pl.artifact_id != "maven-compiler-plugin" {
                return None;
            }
            ["release", "source"].iter().find_map(|k| {
                let v = resolve(pl.configuration.get(*k)?);
                (!v.contains("${")).then(|| {
                    Sourced::new(
                        normalize_java(&v),
                        format!("{file} maven-compiler-plugin {k}"),
                    )
                })
            })
        })
    });
    d.hints.runtime_version = jdk_pin(view, dir).or(own_version);

    for (file, dep) in &deps {
        if let Some(b) = jvm_backing(&dep.group_id, &dep.artifact_id) {
            push_unique(
                &mut d.hints.backing_services,
                Sourced::new(b.to_string(), format!("{file} {}", dep.artifact_id)),
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
    let context = member.cloned().unwrap_or_else(|| dir.to_string());
    if context != dir {
        d.hints.context = Some(context.clone());
    }
    let mvn = if view.is_file(&join(&context, "mvnw")) {
        d.evidence
            .push(Evidence::new(join(&context, "mvnw"), "maven wrapper"));
        d.boost(0.03);
        "./mvnw"
    } else {
        "mvn"
    };
    let rel = strip_dir(&context, dir);
    let select = if rel.is_empty() || context == dir {
        String::new()
    } else {
        format!(" -pl {rel} -am")
    };
    let prefix = if context == dir || rel.is_empty() {
        String::new()
    } else {
        format!("{rel}/")
    };
    let jar_name = {
        let base = p.final_name.as_deref().map(resolve).unwrap_or_else(|| {
            let version = p.effective_version().map(resolve).unwrap_or_default();
            if version.is_empty() {
                String::new()
            } else {
                format!("{artifact}-{version}")
            }
        });
        let ext = if p.packaging() == "war" { "war" } else { "jar" };
        if base.is_empty() || base.contains("${") {
            format!("*.{ext}")
        } else {
            format!("{base}.{ext}")
        }
    };
    let mut build = format!("{mvn} -B -DskipTests{select} package");
    let start = match framework {
        Some(Framework::Quarkus) => format!("java -jar {prefix}target/quarkus-app/quarkus-run.jar"),
        Some(Framework::SpringBoot) => format!("java -jar {prefix}target/{jar_name}"),
        _ if fat_jar_plugin.is_some() || configured_main.is_some() => {
            let assembly =
                fat_jar_plugin.is_some_and(|(_, pl)| pl.artifact_id == "maven-assembly-plugin");
            let name = if assembly {
                jar_name.replace(".jar", "-jar-with-dependencies.jar")
            } else {
                jar_name.clone()
            };
            format!("java -jar {prefix}target/{name}")
        }
        _ => {
            build = format!("{mvn} -B -DskipTests{select} package dependency:copy-dependencies");
            let class = main.as_ref().map(|m| m.class.clone()).unwrap_or_default();
            format!("java -cp \"{prefix}target/classes:{prefix}target/dependency/*\" {class}")
        }
    };
    let source = match &main {
        Some(m) => format!("{path} + {}", m.file),
        None => path.to_string(),
    };
    d.hints.build_command = Some(Sourced::new(build, path.to_string()));
    d.hints.start_command = Some(Sourced::new(start, source));
    if p.packaging() == "war" && framework != Some(Framework::SpringBoot) {
        d.hints.start_command = None;
        d.hints.notes.push(Note::new(
            "war-packaging",
            format!("{path} builds a .war: it needs a servlet container (Tomcat, Jetty); add a Dockerfile that deploys it"),
        ));
    }

    apply_config(view, dir, &mut d);
    let fw_source = match framework {
        Some(Framework::SpringBoot) => spring_source.unwrap_or_default(),
        Some(Framework::Quarkus) => format!("{} quarkus", quarkus.unwrap_or(path)),
        Some(Framework::Micronaut) => format!("{} micronaut", micronaut.unwrap_or(path)),
        Some(Framework::Ktor) => format!("{} ktor-server", ktor.unwrap_or(path)),
        None => String::new(),
    };
    if let Some(f) = framework {
        d.boost(0.1);
        d.evidence
            .push(Evidence::new(path, format!("{} app", f.name())));
    }
    let health = deps.iter().find_map(|(file, dep)| {
        matches!(
            dep.artifact_id.as_str(),
            "spring-boot-starter-actuator" | "quarkus-smallrye-health" | "micronaut-management"
        )
        .then(|| format!("{file} {}", dep.artifact_id))
    });
    framework_hints(&mut d, framework, &fw_source, health.as_deref());
    if d.hints.healthcheck.is_none() {
        d.hints.healthcheck = source_health(view, dir, SOURCE_ROOTS);
    }
    d
}
