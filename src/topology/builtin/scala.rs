//! The Scala detector: sbt builds (`build.sbt`), with `project/build.properties` and
//! `project/plugins.sbt`.
//!
//! - A build that enables Play (`PlayScala`/`PlayJava`), sbt-native-packager
//!   (`JavaAppPackaging`...), or has a main (`mainClass`, or `def main`/`extends App`/
//!   `@main` in `src/main/scala`) is a service; otherwise a library. A build that
//!   defines several projects (`lazy val api = (project in file("api"))`) is a
//!   workspace root (`sbt-multiproject`) and each project folder is a service or a
//!   library the same way, built from the root (`sbt api/stage`).
//! - Commands: Play and native-packager apps `sbt stage` then
//!   `target/universal/stage/bin/<name>`; sbt-assembly apps `sbt assembly` then
//!   `java -jar target/scala-<v>/<name>-assembly-<version>.jar`; anything else
//!   `sbt run`.
//! - Runtime version (Scala): `scalaVersion` (`ThisBuild / scalaVersion`, or a `val` it
//!   names) > `.tool-versions` `scala`. The sbt version (`project/build.properties`) is
//!   evidence.
//! - Ports: Play's `http.port` in `conf/application.conf`, else 9000 assumed for Play;
//!   listen addresses in the main source (`bindHttp(8080, "0.0.0.0")`,
//!   `newServerAt("0.0.0.0", 8080)`, `port"8080"`).
//! - Env vars: `${?NAME}` in `conf/application.conf` and
//!   `src/main/resources/application.conf`, `sys.env("NAME")`, example env files.
//!   Backing services: `libraryDependencies` and env names.

use super::jvm::{app_config, find_main, jvm_backing};
use super::rust::tuple_ports;
use crate::topology::common;
use crate::topology::common::push_unique;
use crate::topology::common::{health_route, listen_ports, quoted_after, resolve_path};
use crate::topology::is_inside;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, ProjectView, Sourced, join, parent,
};

/// Detects scala projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScalaDetector;

impl Detector for ScalaDetector {
    fn id(&self) -> &str {
        "scala"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(detect(view))
    }
}

const ID: &str = "scala";

/// What a `build.sbt` (or a part of it) says.
#[derive(Debug, Default, Clone)]
struct SbtSettings {
    name: Option<String>,
    version: Option<String>,
    scala_version: Option<String>,
    main_class: Option<String>,
    plugins: Vec<String>,
    dependencies: Vec<(String, String)>,
}

/// One project of a multi-project build.
#[derive(Debug, Clone)]
struct SbtProject {
    id: String,
    dir: String,
    settings: SbtSettings,
}

fn detect(view: &ProjectView) -> Vec<Detection> {
    let mut out = Vec::new();
    let builds: Vec<String> = view
        .named("build.sbt")
        .iter()
        .map(|p| p.to_string())
        .collect();
    for path in &builds {
        let dir = parent(path);
        // sbt plugins keep test builds in src/sbt-test/.
        if path.split('/').any(|s| s == "sbt-test") {
            continue;
        }
        // A nested build.sbt inside another build's project folder belongs to it.
        if builds.iter().any(|other| {
            parent(other) != dir && is_inside(dir, parent(other)) && is_project_of(view, other, dir)
        }) {
            continue;
        }
        let Some(text) = view.text(path) else {
            continue;
        };
        let code = strip_comments(&text);
        let plugins_path = join(dir, "project/plugins.sbt");
        let plugin_ids: Vec<(String, String)> = view
            .text(&plugins_path)
            .map(|t| coordinates(&strip_comments(&t)))
            .unwrap_or_default();
        let has_plugin = |artifact: &str| plugin_ids.iter().any(|(_, a)| a == artifact);
        let play_plugin = has_plugin("sbt-plugin")
            && plugin_ids
                .iter()
                .any(|(g, _)| g == "com.typesafe.play" || g == "org.playframework");
        let assembly = has_plugin("sbt-assembly");
        let packager = has_plugin("sbt-native-packager");
        let sbt_version = view
            .text(&join(dir, "project/build.properties"))
            .and_then(|t| {
                t.lines()
                    .filter_map(|l| l.split_once('='))
                    .find(|(k, _)| k.trim() == "sbt.version")
                    .map(|(_, v)| v.trim().to_string())
            });

        let global = settings_of(&code, &code);
        let projects = projects(&code);
        let multi = projects.len() > 1 || projects.iter().any(|p| !p.dir.is_empty());
        let ctx = Ctx {
            view,
            root: dir,
            path,
            global: &global,
            play_plugin,
            assembly,
            packager,
            sbt_version: sbt_version.as_deref(),
            plugins_path: &plugins_path,
        };
        if multi {
            let mut d = Detection::new(ID, dir, "scala", 0.8)
                .with_kind(DetectionKind::WorkspaceRoot)
                .with_evidence(
                    path.as_str(),
                    format!("sbt build of {} projects", projects.len()),
                );
            d.hints.patterns.push("sbt-multiproject".into());
            d.hints.package_manager = Some(Sourced::new("sbt".into(), path.clone()));
            out.push(d);
            for p in &projects {
                let Some(pdir) = resolve_path(dir, &p.dir) else {
                    continue;
                };
                if pdir != dir && !view.is_dir(&pdir) {
                    continue;
                }
                let sub = if pdir == dir {
                    None
                } else {
                    Some(p.id.as_str())
                };
                if pdir == dir
                    && !view.is_dir(&join(dir, "src/main"))
                    && !p.settings.plugins.iter().any(|x| is_app_plugin(x))
                {
                    // An aggregating root without sources of its own.
                    continue;
                }
                out.push(project_detection(&ctx, &pdir, sub, &p.settings));
            }
        } else {
            let own = projects
                .first()
                .map(|p| p.settings.clone())
                .unwrap_or_default();
            out.push(project_detection(&ctx, dir, None, &own));
        }
    }
    out
}

fn is_project_of(view: &ProjectView, build: &str, dir: &str) -> bool {
    let Some(text) = view.text(build) else {
        return false;
    };
    let root = parent(build);
    projects(&strip_comments(&text))
        .iter()
        .any(|p| resolve_path(root, &p.dir).as_deref() == Some(dir))
}

struct Ctx<'a> {
    view: &'a ProjectView,
    root: &'a str,
    path: &'a str,
    global: &'a SbtSettings,
    play_plugin: bool,
    assembly: bool,
    packager: bool,
    sbt_version: Option<&'a str>,
    plugins_path: &'a str,
}

fn is_app_plugin(p: &str) -> bool {
    matches!(
        p,
        "PlayScala"
            | "PlayJava"
            | "PlayMinimalJava"
            | "JavaAppPackaging"
            | "JavaServerAppPackaging"
            | "DockerPlugin"
    )
}

fn project_detection(ctx: &Ctx<'_>, dir: &str, sub: Option<&str>, own: &SbtSettings) -> Detection {
    let view = ctx.view;
    let pick = |f: fn(&SbtSettings) -> Option<String>| f(own).or_else(|| f(ctx.global));
    let play = ctx.play_plugin
        && own
            .plugins
            .iter()
            .chain(if sub.is_none() {
                ctx.global.plugins.iter()
            } else {
                [].iter()
            })
            .any(|p| p.starts_with("Play"));
    let packaged = own
        .plugins
        .iter()
        .chain(if sub.is_none() {
            ctx.global.plugins.iter()
        } else {
            [].iter()
        })
        .any(|p| is_app_plugin(p));
    let main = find_main(view, dir);
    let main_class = pick(|s| s.main_class.clone());
    let is_service = play || packaged || main.is_some() || main_class.is_some();
    let name = pick(|s| s.name.clone())
        .or_else(|| sub.map(str::to_string))
        .unwrap_or_default();

    let mut d = Detection::new(ID, dir, "scala", 0.75)
        .with_kind(if is_service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(ctx.path, "sbt build");
    if !name.is_empty() {
        d.hints.name = Some(Sourced::new(name.clone(), format!("{} name", ctx.path)));
    }
    d.hints.package_manager = Some(Sourced::new("sbt".into(), ctx.path.to_string()));
    d.hints.runtime_version = pick(|s| s.scala_version.clone())
        .map(|v| Sourced::new(v, format!("{} scalaVersion", ctx.path)))
        .or_else(|| common::tool_version(view, dir, &["scala"]));
    if let Some(v) = ctx.sbt_version {
        d.evidence.push(Evidence::new(
            join(ctx.root, "project/build.properties"),
            format!("sbt {v}"),
        ));
        d.boost(0.05);
    }
    let deps: Vec<&(String, String)> = own
        .dependencies
        .iter()
        .chain(ctx.global.dependencies.iter())
        .collect();
    for (g, a) in deps {
        if let Some(b) = jvm_backing(g, a)
            && !d.hints.backing_services.iter().any(|x| x.value == b)
        {
            d.hints
                .backing_services
                .push(Sourced::new(b.to_string(), format!("{} {a}", ctx.path)));
        }
    }
    if !is_service {
        return d;
    }
    if let Some(m) = &main {
        d.boost(0.05);
        d.evidence
            .push(Evidence::new(m.file.clone(), format!("main {}", m.class)));
    }
    if play {
        d.boost(0.1);
        d.evidence
            .push(Evidence::new(ctx.plugins_path, "play framework app"));
    }
    if sub.is_some() && dir != ctx.root {
        d.hints.context = Some(ctx.root.to_string());
    }
    let prefix = match sub {
        Some(_) if dir != ctx.root => {
            format!("{}/", crate::topology::common::strip_dir(ctx.root, dir))
        }
        _ => String::new(),
    };
    let task = |t: &str| match sub {
        Some(id) => format!("sbt {id}/{t}"),
        None => format!("sbt {t}"),
    };
    let normalized = normalized_name(&name);
    let (build, start) = if play || (ctx.packager && packaged) {
        let bin = if normalized.is_empty() {
            format!("$(ls {prefix}target/universal/stage/bin/* | grep -v '\\.bat$' | head -n 1)")
        } else {
            format!("{prefix}target/universal/stage/bin/{normalized}")
        };
        (task("stage"), bin)
    } else if ctx.assembly {
        let scala_version = pick(|s| s.scala_version.clone());
        let version = pick(|s| s.version.clone());
        let jar = match (
            scala_version.as_deref().and_then(binary_version),
            version,
            name.is_empty(),
        ) {
            (Some(bv), Some(v), false) => {
                format!("{prefix}target/scala-{bv}/{name}-assembly-{v}.jar")
            }
            _ => format!("$(ls {prefix}target/scala-*/*-assembly-*.jar | head -n 1)"),
        };
        (task("assembly"), format!("java -jar {jar}"))
    } else {
        (task("compile"), task("run"))
    };
    d.hints.install_command = Some(Sourced::new(task("update"), ctx.path.to_string()));
    d.hints.build_command = Some(Sourced::new(build, ctx.path.to_string()));
    d.hints.start_command = Some(Sourced::new(start, ctx.path.to_string()));

    // Config, sources, env files.
    for conf in [join(dir, "conf"), join(dir, "src/main/resources")] {
        let c = app_config(view, &conf);
        for p in c.ports {
            if !d.hints.ports.iter().any(|x| x.value == p.value) {
                d.hints.ports.push(p);
            }
        }
        for e in c.env {
            push_unique(&mut d.hints.env, e);
        }
        for b in c.backing {
            push_unique(&mut d.hints.backing_services, b);
        }
    }
    if let Some(m) = &main
        && let Some(text) = view.text(&m.file)
    {
        let mut ports = listen_ports(&text);
        ports.extend(tuple_ports(&text));
        ports.extend(scala_ports(&text));
        for p in ports {
            if !d.hints.ports.iter().any(|x| x.value == p) {
                d.hints
                    .ports
                    .push(Sourced::new(p, format!("{} listen address", m.file)));
            }
        }
        for name in quoted_after(&text, "sys.env(\"")
            .into_iter()
            .chain(quoted_after(&text, "sys.env.get(\""))
            .chain(quoted_after(&text, "getenv(\""))
        {
            push_unique(&mut d.hints.env, Sourced::new(name, m.file.clone()));
        }
        if d.hints.healthcheck.is_none() {
            d.hints.healthcheck = health_route(&text)
                .map(|r| Sourced::new(r.to_string(), format!("{} route", m.file)));
        }
    }
    if play && d.hints.ports.is_empty() {
        d.hints.ports.push(Sourced::assumed(9000, "play"));
    }
    for e in common::env_from_examples(view, dir) {
        push_unique(&mut d.hints.env, e);
    }
    for b in common::backing_from_env(&d.hints.env) {
        push_unique(&mut d.hints.backing_services, b);
    }
    d
}

/// sbt-native-packager's `normalizedName`: lower-case, runs of other characters as `-`.
fn normalized_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `3.3.1` → `3`, `2.13.12` → `2.13`.
fn binary_version(v: &str) -> Option<String> {
    let mut parts = v.split('.');
    match (parts.next()?, parts.next()) {
        ("3", _) => Some("3".into()),
        (major, Some(minor)) => Some(format!("{major}.{minor}")),
        _ => None,
    }
}

/// `bindHttp(8080, ...)`, `port"8080"`, `.withPort(8080)`, `.withPort(port"8080")`.
fn scala_ports(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for needle in ["bindHttp(", "port\"", "withPort("] {
        for (i, _) in text.match_indices(needle) {
            let rest = text[i + needle.len()..].trim_start_matches("port\"");
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(p) = digits.parse::<u16>()
                && p > 0
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
    }
    out
}

/// The text without `//` and `/* */` comments (strings kept).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' || c == '\n' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    if n == '\n' {
                        out.push('\n');
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The string literals of `code` with their byte ranges.
fn literals(code: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'"') {
            if code[i..].starts_with("\"\"\"") {
                let Some(end) = code[i + 3..].find("\"\"\"") else {
                    break;
                };
                out.push((i, i + 3 + end + 3, code[i + 3..i + 3 + end].to_string()));
                i += 3 + end + 3;
                continue;
            }
            let mut j = i + 1;
            let mut s = String::new();
            let mut closed = false;
            while j < bytes.len() {
                match bytes.get(j) {
                    Some(b'\\') => j += 2,
                    Some(b'"') => {
                        closed = true;
                        break;
                    }
                    Some(b'\n') | None => break,
                    Some(_) => j += 1,
                }
            }
            if !closed {
                i = j.max(i + 1);
                continue;
            }
            if let Some(inner) = code.get(i + 1..j) {
                s.push_str(inner);
            }
            out.push((i, j + 1, s));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// `"group" % "artifact"` / `"group" %% "artifact"` pairs (dependencies and plugins).
fn coordinates(code: &str) -> Vec<(String, String)> {
    let lits = literals(code);
    // linked[i]: literal i and i + 1 are joined by `%` (`"g" % "a" % "v"`).
    let linked: Vec<bool> = lits
        .windows(2)
        .map(|w| match w {
            [(_, end, _), (start, _, _)] => matches!(
                code.get(*end..*start).unwrap_or_default().trim(),
                "%" | "%%" | "%%%"
            ),
            _ => false,
        })
        .collect();
    let mut out = Vec::new();
    for (i, is_linked) in linked.iter().enumerate() {
        let starts_chain = *is_linked && (i == 0 || !linked.get(i - 1).copied().unwrap_or(false));
        if let (true, Some((_, _, g)), Some((_, _, a))) =
            (starts_chain, lits.get(i), lits.get(i + 1))
            && !out.contains(&(g.clone(), a.clone()))
        {
            out.push((g.clone(), a.clone()));
        }
    }
    out
}

/// The value assigned with `key :=` (a literal, or a `val` holding one).
fn assigned(code: &str, key: &str) -> Option<String> {
    for (i, _) in code.match_indices(key) {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let mut rest = code[i + key.len()..].trim_start();
        // sbt 0.13 style: `mainClass in Compile := ...`
        if let Some(r) = rest.strip_prefix("in ") {
            rest = r
                .trim_start()
                .trim_start_matches(|c: char| c.is_alphanumeric())
                .trim_start();
        }
        let Some(rhs) = rest.strip_prefix(":=") else {
            continue;
        };
        let rhs = rhs.trim_start();
        let rhs = rhs.strip_prefix("Some(").unwrap_or(rhs);
        if let Some(lit) = string_at(rhs) {
            return Some(lit);
        }
        let ident: String = rhs
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !ident.is_empty() {
            return val_value(code, &ident);
        }
    }
    None
}

/// The string literal `text` starts with (`"x"` or `"""x"""`).
fn string_at(text: &str) -> Option<String> {
    if let Some(rest) = text.strip_prefix("\"\"\"") {
        return rest.split("\"\"\"").next().map(str::to_string);
    }
    text.strip_prefix('"')
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
}

/// `val x = "..."` → the literal.
fn val_value(code: &str, ident: &str) -> Option<String> {
    let needle = format!("val {ident}");
    for (i, _) in code.match_indices(&needle) {
        let rest = code[i + needle.len()..].trim_start();
        let rest = rest
            .strip_prefix(':')
            .map(|r| r.trim_start().trim_start_matches("String").trim_start())
            .unwrap_or(rest);
        if let Some(rhs) = rest.strip_prefix('=')
            && let Some(lit) = string_at(rhs.trim_start())
        {
            return Some(lit);
        }
    }
    None
}

/// Settings found in `part` (names of `val`s are resolved against the whole `code`).
fn settings_of(part: &str, code: &str) -> SbtSettings {
    let resolve = |key: &str| {
        assigned(part, key).or_else(|| {
            // `key := ident` where ident is defined elsewhere in the file.
            let i = part.find(key)?;
            let rest = part[i + key.len()..]
                .trim_start()
                .strip_prefix(":=")?
                .trim_start();
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            val_value(code, &ident)
        })
    };
    let mut plugins = Vec::new();
    for (i, _) in part.match_indices("enablePlugins(") {
        let inner = part[i + "enablePlugins(".len()..]
            .split(')')
            .next()
            .unwrap_or_default();
        plugins.extend(
            inner
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
        );
    }
    SbtSettings {
        name: resolve("name"),
        version: resolve("version"),
        scala_version: resolve("scalaVersion"),
        main_class: resolve("mainClass"),
        plugins,
        dependencies: coordinates(part),
    }
}

/// The projects a build defines: `lazy val x = (project in file("dir"))`,
/// `project.in(file("dir"))`, `lazy val x = project` (folder `x`). A build without any
/// is one project at its root.
fn projects(code: &str) -> Vec<SbtProject> {
    let starts: Vec<usize> = code.match_indices("lazy val ").map(|(i, _)| i).collect();
    let mut out = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(code.len());
        let Some(segment) = code.get(start + "lazy val ".len()..end) else {
            continue;
        };
        let id: String = segment
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(rhs) = segment[id.len()..].trim_start().strip_prefix('=') else {
            continue;
        };
        let rhs = rhs.trim_start();
        let head = rhs.trim_start_matches('(').trim_start();
        let is_project = head.starts_with("project") || head.starts_with("Project(");
        if id.is_empty() || !is_project {
            continue;
        }
        let dir = match rhs.find("file(\"") {
            Some(i) if i < 200 => rhs[i + 6..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_string(),
            _ => id.clone(),
        };
        let dir = if dir == "." { String::new() } else { dir };
        out.push(SbtProject {
            id,
            dir,
            settings: settings_of(segment, code),
        });
    }
    if out.is_empty() {
        out.push(SbtProject {
            id: String::new(),
            dir: String::new(),
            settings: settings_of(code, code),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const MULTI: &str = r#"
// The shop.
ThisBuild / scalaVersion := scala3 // pinned
ThisBuild / version := "0.2.0"
val scala3 = "3.3.1"

lazy val root = (project in file("."))
  .aggregate(api, core)
  .settings(name := "shop")

lazy val api = (project in file("modules/api"))
  .enablePlugins(JavaAppPackaging, DockerPlugin)
  .dependsOn(core)
  .settings(
    name := "shop-api",
    libraryDependencies ++= Seq(
      "org.http4s" %% "http4s-ember-server" % "0.23.26",
      "org.tpolecat" %% "doobie-postgres" % "1.0.0-RC5"
    ),
    Compile / mainClass := Some("shop.api.Main")
  )

lazy val core = project
  .settings(libraryDependencies += "com.lihaoyi" %% "upickle" % "3.2.0")
"#;

    #[test]
    fn multi_project_build() {
        let code = strip_comments(MULTI);
        let ps = projects(&code);
        let ids: Vec<(&str, &str)> = ps.iter().map(|p| (p.id.as_str(), p.dir.as_str())).collect();
        assert_eq!(
            ids,
            vec![("root", ""), ("api", "modules/api"), ("core", "core")]
        );
        let api = &ps[1].settings;
        assert_eq!(api.name.as_deref(), Some("shop-api"));
        assert_eq!(api.main_class.as_deref(), Some("shop.api.Main"));
        assert_eq!(api.plugins, vec!["JavaAppPackaging", "DockerPlugin"]);
        assert_eq!(
            api.dependencies[1],
            ("org.tpolecat".into(), "doobie-postgres".into())
        );
        let global = settings_of(&code, &code);
        assert_eq!(global.scala_version.as_deref(), Some("3.3.1"));
        assert_eq!(global.version.as_deref(), Some("0.2.0"));
    }

    #[test]
    fn helpers() {
        assert_eq!(normalized_name("My Play App"), "my-play-app");
        assert_eq!(
            assigned("name := \"\"\"seed\"\"\"", "name").as_deref(),
            Some("seed")
        );
        assert_eq!(
            assigned("mainClass in Compile := Some(\"a.B\")", "mainClass").as_deref(),
            Some("a.B")
        );
        assert_eq!(binary_version("2.13.12").as_deref(), Some("2.13"));
        assert_eq!(binary_version("3.4.0").as_deref(), Some("3"));
        assert_eq!(
            scala_ports("BlazeServerBuilder.bindHttp(8081, \"0.0.0.0\") .withPort(port\"9001\")"),
            vec![8081, 9001]
        );
        assert_eq!(
            strip_comments("a // x \"y\"\nb /* c */ \"// kept\""),
            "a \nb  \"// kept\""
        );
        assert_eq!(
            coordinates("addSbtPlugin(\"com.github.sbt\" % \"sbt-native-packager\" % \"1.9.16\")"),
            vec![(
                "com.github.sbt".to_string(),
                "sbt-native-packager".to_string()
            )]
        );
    }

    #[test]
    fn odd_input_never_panics() {
        for text in [
            "",
            "\"",
            "\"\"\"",
            "lazy val ",
            "lazy val x =",
            "name :=",
            "name := \"",
            "val x",
            "/*",
            "enablePlugins(",
            "lazy val x = project in file(\"",
        ] {
            let code = strip_comments(text);
            let _ = projects(&code);
            let _ = settings_of(&code, &code);
            let _ = coordinates(&code);
            let _ = scala_ports(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-z0-9 (){}\"%:=./*\n]{0,160}") {
            let code = strip_comments(&text);
            let _ = projects(&code);
            let _ = settings_of(&code, &code);
            let _ = scala_ports(&text);
        }
    }
}
