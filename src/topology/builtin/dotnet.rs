//! The .NET detector: project files (`*.csproj`, `*.fsproj`, `*.vbproj`) and solutions
//! (`*.sln`, `*.slnx`).
//!
//! - A project on the Web SDK (`Microsoft.NET.Sdk.Web`) is an ASP.NET Core service
//!   (framework `aspnet`); the Worker SDK or `OutputType` `Exe` makes a service without a
//!   port; test projects, desktop apps (`WinExe`, WPF, WinForms), Azure Functions, Aspire
//!   hosts and class libraries are libraries. One project per folder: the web one, else
//!   the executable, else the first.
//! - A solution is a workspace root (`dotnet-solution`); its projects build from the
//!   solution folder (the topmost solution that lists them). A project outside any
//!   solution whose `ProjectReference`s leave its folder builds from their common
//!   ancestor.
//! - Commands: `dotnet restore` (`--locked-mode` with `packages.lock.json`),
//!   `dotnet publish <project> -c Release -o out`, `dotnet out/<AssemblyName>.dll`.
//! - Runtime version: `global.json` `sdk.version` (nearest, up to the root) >
//!   `TargetFramework` (`net8.0` → `8.0`; the highest of `TargetFrameworks`), also read
//!   from `Directory.Build.props`.
//! - Ports: `Urls` or `Kestrel:Endpoints:*:Url` in `appsettings.json`, else 8080 assumed
//!   for .NET 8+ (the container images' `ASPNETCORE_HTTP_PORTS`) and 80 before.
//! - Env vars: `Environment.GetEnvironmentVariable("X")` in `Program.cs`/`Program.fs`,
//!   example env files. Backing services: NuGet packages (Npgsql, StackExchange.Redis,
//!   MongoDB.Driver, RabbitMQ.Client, Confluent.Kafka...) and env names. Health:
//!   `MapHealthChecks("/health")` and other routes in `Program.cs`.

use std::collections::{BTreeMap, BTreeSet};

use roxmltree::Node;

use crate::topology::common;
use crate::topology::common::{
    common_ancestor, health_route, is_inside_or_same, quoted_after, resolve_path, strip_dir,
};
use crate::topology::manifest::jsonc;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    file_name, join, parent,
};

/// Detects dotnet projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DotnetDetector;

impl Detector for DotnetDetector {
    fn id(&self) -> &str {
        "dotnet"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(detect(view))
    }
}

const ID: &str = "dotnet";

/// NuGet packages (lower-case prefixes) that mean a backing service. Sorted.
const NUGET_BACKING: &[(&str, &str)] = &[
    ("confluent.kafka", "kafka"),
    ("elastic.clients.elasticsearch", "elasticsearch"),
    ("enyimmemcachedcore", "memcached"),
    ("masstransit.rabbitmq", "rabbitmq"),
    ("microsoft.extensions.caching.stackexchangeredis", "redis"),
    ("mongodb.driver", "mongodb"),
    ("mysql.data", "mysql"),
    ("mysqlconnector", "mysql"),
    ("nats.client", "nats"),
    ("nats.net", "nats"),
    ("nest", "elasticsearch"),
    ("npgsql", "postgres"),
    ("npgsql.entityframeworkcore.postgresql", "postgres"),
    ("pomelo.entityframeworkcore.mysql", "mysql"),
    ("rabbitmq.client", "rabbitmq"),
    ("stackexchange.redis", "redis"),
];

/// A parsed project file.
#[derive(Debug, Clone, Default)]
struct Project {
    sdk: Option<String>,
    /// Properties of every `PropertyGroup`, first value wins.
    properties: BTreeMap<String, String>,
    packages: Vec<String>,
    references: Vec<String>,
}

impl Project {
    fn prop(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn flag(&self, name: &str) -> bool {
        self.prop(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

fn parse_project(text: &str) -> Result<Project, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "Project" {
        return Err(format!(
            "the root element is <{}>, not <Project>",
            root.tag_name().name()
        ));
    }
    let mut p = Project {
        sdk: root.attribute("Sdk").map(str::to_string),
        ..Project::default()
    };
    for node in root.descendants().filter(Node::is_element) {
        match node.tag_name().name() {
            "Sdk" if p.sdk.is_none() => p.sdk = node.attribute("Name").map(str::to_string),
            "Import" if p.sdk.is_none() => p.sdk = node.attribute("Sdk").map(str::to_string),
            "PackageReference" => {
                if let Some(i) = node
                    .attribute("Include")
                    .or_else(|| node.attribute("Update"))
                {
                    p.packages.push(i.to_string());
                }
            }
            "ProjectReference" => {
                if let Some(i) = node.attribute("Include") {
                    p.references.push(i.replace('\\', "/"));
                }
            }
            _ => {}
        }
        if node
            .parent_element()
            .is_some_and(|g| g.tag_name().name() == "PropertyGroup")
        {
            let value: String = node
                .children()
                .filter(Node::is_text)
                .filter_map(|t| t.text())
                .collect::<String>()
                .trim()
                .to_string();
            p.properties
                .entry(node.tag_name().name().to_string())
                .or_insert(value);
        }
    }
    Ok(p)
}

/// The project paths a solution lists (relative to its folder, `/`-separated).
fn solution_projects(path: &str, text: &str) -> Result<Vec<String>, String> {
    if path.ends_with(".slnx") {
        let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
        return Ok(doc
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "Project")
            .filter_map(|n| n.attribute("Path"))
            .map(|p| p.replace('\\', "/"))
            .collect());
    }
    if !text.contains("Microsoft Visual Studio Solution File") && !text.contains("Project(") {
        return Err("not a Visual Studio solution".into());
    }
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if !l.starts_with("Project(") {
            continue;
        }
        // Project("{type}") = "Name", "path\to\Name.csproj", "{guid}"
        let Some((_, rhs)) = l.split_once('=') else {
            continue;
        };
        let parts: Vec<&str> = rhs.split(',').map(|s| s.trim().trim_matches('"')).collect();
        if let Some(p) = parts.get(1)
            && (p.ends_with("proj"))
        {
            out.push(p.replace('\\', "/"));
        }
    }
    Ok(out)
}

/// `net8.0` → `8.0`, `netcoreapp3.1` → `3.1`, `net8.0-windows` → `8.0`, `net48` → `4.8`.
fn framework_version(tfm: &str) -> Option<String> {
    let t = tfm.trim().to_ascii_lowercase();
    let t = t.split('-').next().unwrap_or_default();
    if let Some(v) = t.strip_prefix("netcoreapp") {
        return Some(v.to_string()).filter(|v| !v.is_empty());
    }
    if t.starts_with("netstandard") {
        return None;
    }
    let v = t.strip_prefix("net")?;
    if v.contains('.') {
        Some(v.to_string())
    } else if v.len() >= 2 && v.chars().all(|c| c.is_ascii_digit()) {
        // .NET Framework monikers: net48 → 4.8, net472 → 4.7.2
        Some(v.chars().map(String::from).collect::<Vec<_>>().join("."))
    } else {
        None
    }
}

/// The major version of a runtime version (`8.0` → 8).
fn major(v: &str) -> u32 {
    v.split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn nuget_backing(package: &str) -> Option<&'static str> {
    let lower = package.to_ascii_lowercase();
    NUGET_BACKING
        .binary_search_by(|(k, _)| (*k).cmp(lower.as_str()))
        .ok()
        .and_then(|i| NUGET_BACKING.get(i))
        .map(|(_, b)| *b)
}

/// `global.json` `sdk.version`, nearest to `dir`.
fn global_json(view: &ProjectView, dir: &str) -> Option<Sourced<String>> {
    let path = common::find_up(view, dir, "global.json")?;
    let text = view.text(&path)?;
    let Ok(json) = jsonc::parse(&text) else {
        common::invalid(view, &path, "not valid JSON");
        return None;
    };
    let v = json.get("sdk")?.get("version")?.as_str()?;
    Some(Sourced::new(v.to_string(), format!("{path} sdk.version")))
}

/// Ports of `Urls` / `Kestrel:Endpoints:*:Url` in `appsettings.json`.
fn appsettings_ports(view: &ProjectView, dir: &str) -> Vec<Sourced<u16>> {
    let path = join(dir, "appsettings.json");
    let Some(text) = view.text(&path) else {
        return Vec::new();
    };
    let Ok(json) = jsonc::parse(&text) else {
        return Vec::new();
    };
    let mut urls: Vec<(String, String)> = Vec::new();
    if let Some(u) = json.get("Urls").and_then(|u| u.as_str()) {
        urls.push((u.to_string(), format!("{path} Urls")));
    }
    if let Some(eps) = json
        .get("Kestrel")
        .and_then(|k| k.get("Endpoints"))
        .and_then(|e| e.as_object())
    {
        for (name, ep) in eps {
            if let Some(u) = ep.get("Url").and_then(|u| u.as_str()) {
                urls.push((
                    u.to_string(),
                    format!("{path} Kestrel:Endpoints:{name}:Url"),
                ));
            }
        }
    }
    let mut out: Vec<Sourced<u16>> = Vec::new();
    for (list, source) in urls {
        for url in list.split(';') {
            let Some((_, port)) = url.trim().trim_end_matches('/').rsplit_once(':') else {
                continue;
            };
            if let Ok(p) = port.parse::<u16>()
                && !out.iter().any(|x| x.value == p)
            {
                out.push(Sourced::new(p, source.clone()));
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Web,
    Worker,
    Console,
    Library,
}

/// What a project is, and why when it is not a service.
fn role(p: &Project) -> (Role, Option<&'static str>) {
    let sdk = p.sdk.as_deref().unwrap_or_default().to_ascii_lowercase();
    let output = p
        .prop("OutputType")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let test = p.flag("IsTestProject")
        || p.packages
            .iter()
            .any(|x| x.eq_ignore_ascii_case("Microsoft.NET.Test.Sdk"));
    if test {
        return (Role::Library, Some("a test project"));
    }
    if p.flag("IsAspireHost") {
        return (
            Role::Library,
            Some("an Aspire app host (a development orchestrator)"),
        );
    }
    if p.prop("AzureFunctionsVersion").is_some() || sdk.contains("functions") {
        return (
            Role::Library,
            Some("an Azure Functions project (runs in the Functions host)"),
        );
    }
    if output == "winexe" || p.flag("UseWPF") || p.flag("UseWindowsForms") || p.flag("UseMaui") {
        return (Role::Library, Some("a desktop app"));
    }
    if sdk == "microsoft.net.sdk.web" {
        return (Role::Web, None);
    }
    if sdk == "microsoft.net.sdk.worker" {
        return (Role::Worker, None);
    }
    if output == "exe" {
        return (Role::Console, None);
    }
    (Role::Library, None)
}

struct Found {
    path: String,
    dir: String,
    project: Project,
    role: Role,
    why_not: Option<&'static str>,
}

fn detect(view: &ProjectView) -> Vec<Detection> {
    let mut out = Vec::new();
    // Solutions, shallowest first so a project belongs to the topmost one.
    let mut solutions: Vec<&str> = view
        .with_extension("sln")
        .chain(view.with_extension("slnx"))
        .collect();
    solutions.sort_by_key(|s| (s.matches('/').count(), s.to_string()));
    let mut solution_of: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_dirs: BTreeSet<String> = BTreeSet::new();
    for sln in &solutions {
        let dir = parent(sln);
        let Some(text) = view.text(sln) else {
            continue;
        };
        let projects = match solution_projects(sln, &text) {
            Ok(p) => p,
            Err(e) => {
                common::invalid(view, sln, e);
                continue;
            }
        };
        for p in &projects {
            if let Some(full) = resolve_path(dir, p)
                && view.is_file(&full)
            {
                solution_of.entry(full).or_insert_with(|| dir.to_string());
            }
        }
        if !seen_dirs.insert(dir.to_string()) {
            continue;
        }
        let mut d = Detection::new(ID, dir, "dotnet", 0.85)
            .with_kind(DetectionKind::WorkspaceRoot)
            .with_evidence(*sln, format!("solution of {} project(s)", projects.len()));
        d.hints.patterns.push("dotnet-solution".into());
        d.hints.package_manager = Some(Sourced::new("nuget".into(), sln.to_string()));
        d.hints.runtime_version = global_json(view, dir);
        out.push(d);
    }

    // Project files, grouped by folder.
    let mut by_dir: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for ext in ["csproj", "fsproj", "vbproj"] {
        for path in view.with_extension(ext) {
            let Some(text) = view.text(path) else {
                continue;
            };
            let project = match parse_project(&text) {
                Ok(p) => p,
                Err(e) => {
                    common::invalid(view, path, e);
                    continue;
                }
            };
            let (role, why_not) = role(&project);
            let dir = parent(path).to_string();
            by_dir.entry(dir.clone()).or_default().push(Found {
                path: path.to_string(),
                dir,
                project,
                role,
                why_not,
            });
        }
    }
    for (_, mut found) in by_dir {
        found.sort_by(|a, b| (a.role, &a.path).cmp(&(b.role, &b.path)));
        let others: Vec<String> = found.iter().skip(1).map(|f| f.path.clone()).collect();
        let Some(first) = found.into_iter().next() else {
            continue;
        };
        let mut d = project_detection(
            view,
            &first,
            solution_of.get(&first.path).map(String::as_str),
        );
        if !others.is_empty() {
            d.hints.notes.push(Note::new(
                "several-projects",
                format!(
                    "{} holds several projects: using {}; {} need their own folder to be deployed on their own",
                    if first.dir.is_empty() { "." } else { &first.dir },
                    first.path,
                    others.join(", ")
                ),
            ));
        }
        out.push(d);
    }
    out
}

fn project_detection(view: &ProjectView, f: &Found, solution: Option<&str>) -> Detection {
    let dir = f.dir.as_str();
    let p = &f.project;
    let stem = file_name(&f.path)
        .rsplit_once('.')
        .map_or(file_name(&f.path), |(s, _)| s)
        .to_string();
    let props = common::find_up(view, dir, "Directory.Build.props").and_then(|path| {
        let text = view.text(&path)?;
        parse_project(&text).ok().map(|pp| (path, pp))
    });
    let prop = |name: &str| -> Option<(String, String)> {
        p.prop(name)
            .map(|v| (v.to_string(), f.path.clone()))
            .or_else(|| {
                props
                    .as_ref()
                    .and_then(|(pp, proj)| proj.prop(name).map(|v| (v.to_string(), pp.clone())))
            })
    };
    let assembly = prop("AssemblyName")
        .map(|(v, _)| v)
        .filter(|v| !v.contains('$'))
        .unwrap_or_else(|| stem.clone());
    let service = f.role != Role::Library;
    let lang = match f.path.rsplit_once('.').map(|(_, e)| e) {
        Some("fsproj") => "F#",
        Some("vbproj") => "Visual Basic",
        _ => "C#",
    };
    let mut d = Detection::new(ID, dir, "dotnet", 0.75)
        .with_kind(if service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(
            f.path.as_str(),
            format!(
                "{lang} project ({})",
                p.sdk.as_deref().unwrap_or("no SDK attribute")
            ),
        );
    if let Some(why) = f.why_not {
        d.evidence.push(Evidence::new(
            f.path.as_str(),
            format!("{why}: not deployed as a service"),
        ));
    }
    d.hints.name = Some(Sourced::new(assembly.clone(), f.path.clone()));
    d.hints.package_manager = Some(Sourced::new("nuget".into(), f.path.clone()));

    // Runtime version.
    let tfm = prop("TargetFramework").or_else(|| {
        prop("TargetFrameworks").and_then(|(list, src)| {
            list.split(';')
                .filter_map(|t| framework_version(t).map(|v| (t.to_string(), v)))
                .max_by_key(|(_, v)| (major(v), v.clone()))
                .map(|(t, _)| (t, src))
        })
    });
    let tfm_version = tfm.as_ref().and_then(|(t, src)| {
        framework_version(t).map(|v| Sourced::new(v, format!("{src} TargetFramework {t}")))
    });
    d.hints.runtime_version = global_json(view, dir).or(tfm_version.clone());
    if let Some(v) = &tfm_version
        && major(&v.value) == 4
        && service
    {
        d.hints.notes.push(Note::new(
            "dotnet-framework",
            format!(
                "{} targets .NET Framework {}: it needs Windows containers; move it to .NET 8 to run on Linux",
                f.path, v.value
            ),
        ));
    }

    for pkg in &p.packages {
        if let Some(b) = nuget_backing(pkg)
            && !d.hints.backing_services.iter().any(|x| x.value == b)
        {
            d.hints
                .backing_services
                .push(Sourced::new(b.to_string(), format!("{} {pkg}", f.path)));
        }
    }
    if !service {
        return d;
    }

    // Where it builds from.
    let mut context = solution.map(str::to_string);
    if context.is_none() {
        for r in &p.references {
            if let Some(target) = resolve_path(dir, r)
                && !is_inside_or_same(parent(&target), dir)
            {
                context = Some(common_ancestor(
                    context.as_deref().unwrap_or(dir),
                    parent(&target),
                ));
            }
        }
    }
    let ctx = context.clone().unwrap_or_else(|| dir.to_string());
    if ctx != dir {
        d.hints.context = Some(ctx.clone());
    }
    let project_arg = {
        let rel = strip_dir(&ctx, &f.path);
        let alone = view
            .files_in(dir)
            .filter(|x| {
                [".sln", ".slnx", ".csproj", ".fsproj", ".vbproj"]
                    .iter()
                    .any(|e| x.ends_with(e))
            })
            .count()
            == 1;
        if ctx == dir && alone {
            String::new()
        } else {
            format!(" {rel}")
        }
    };
    let lock = join(dir, "packages.lock.json");
    let locked = view.is_file(&lock);
    if locked {
        d.evidence
            .push(Evidence::new(lock.clone(), "NuGet lockfile"));
        d.boost(0.05);
    }
    d.hints.install_command = Some(Sourced::new(
        format!(
            "dotnet restore{project_arg}{}",
            if locked { " --locked-mode" } else { "" }
        ),
        if locked { lock } else { f.path.clone() },
    ));
    d.hints.build_command = Some(Sourced::new(
        format!("dotnet publish{project_arg} -c Release -o out"),
        f.path.clone(),
    ));
    d.hints.start_command = Some(Sourced::new(
        format!("dotnet out/{assembly}.dll"),
        format!("{} AssemblyName", f.path),
    ));

    let program = ["Program.cs", "Program.fs", "Program.vb"]
        .iter()
        .map(|n| join(dir, n))
        .find(|x| view.is_file(x));
    if let Some(prog) = &program {
        d.boost(0.1);
        d.evidence.push(Evidence::new(prog.as_str(), "entry point"));
        if let Some(text) = view.text(prog) {
            for name in quoted_after(&text, "GetEnvironmentVariable(\"") {
                if !d.hints.env.iter().any(|e| e.value == name) {
                    d.hints
                        .env
                        .push(Sourced::new(name, format!("{prog} GetEnvironmentVariable")));
                }
            }
            d.hints.healthcheck =
                health_route(&text).map(|r| Sourced::new(r.to_string(), format!("{prog} route")));
        }
    } else {
        d.boost(0.05);
    }
    if f.role == Role::Web {
        d.hints.framework = Some(Sourced::new("aspnet".into(), format!("{} Sdk", f.path)));
        d.hints.ports = appsettings_ports(view, dir);
        if d.hints.ports.is_empty() {
            let runtime = tfm_version.as_ref().map_or(8, |v| major(&v.value));
            d.hints.ports.push(if runtime >= 8 {
                Sourced::assumed(8080, "aspnet (.NET 8+)")
            } else {
                Sourced::assumed(80, "aspnet (before .NET 8)")
            });
        }
    }
    for e in common::env_from_examples(view, dir) {
        if !d.hints.env.iter().any(|x| x.value == e.value) {
            d.hints.env.push(e);
        }
    }
    for b in common::backing_from_env(&d.hints.env) {
        if !d.hints.backing_services.iter().any(|x| x.value == b.value) {
            d.hints.backing_services.push(b);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(NUGET_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn project_files() {
        let web = r#"<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net8.0</TargetFramework>
    <Nullable>enable</Nullable>
    <AssemblyName>Acme.Api</AssemblyName>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Npgsql.EntityFrameworkCore.PostgreSQL" Version="8.0.2" />
    <ProjectReference Include="..\Acme.Core\Acme.Core.csproj" />
  </ItemGroup>
</Project>"#;
        let p = parse_project(web).unwrap();
        assert_eq!(p.sdk.as_deref(), Some("Microsoft.NET.Sdk.Web"));
        assert_eq!(p.prop("AssemblyName"), Some("Acme.Api"));
        assert_eq!(p.references, vec!["../Acme.Core/Acme.Core.csproj"]);
        assert_eq!(role(&p).0, Role::Web);
        let test = parse_project(r#"<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Exe</OutputType></PropertyGroup><ItemGroup><PackageReference Include="Microsoft.NET.Test.Sdk" /></ItemGroup></Project>"#).unwrap();
        assert_eq!(role(&test).0, Role::Library);
        let sdk_element =
            parse_project(r#"<Project><Sdk Name="Microsoft.NET.Sdk.Worker" /></Project>"#).unwrap();
        assert_eq!(role(&sdk_element).0, Role::Worker);
        assert!(parse_project("<Foo/>").is_err());
        assert!(parse_project("<Project>").is_err());
    }

    #[test]
    fn solutions() {
        let sln = "\u{feff}\nMicrosoft Visual Studio Solution File, Format Version 12.00\nProject(\"{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}\") = \"Acme.Api\", \"src\\Acme.Api\\Acme.Api.csproj\", \"{1}\"\nEndProject\nProject(\"{2150E333-8FDC-42A3-9474-1A3956D46DE8}\") = \"src\", \"src\", \"{2}\"\nEndProject\n";
        assert_eq!(
            solution_projects("a.sln", sln).unwrap(),
            vec!["src/Acme.Api/Acme.Api.csproj"]
        );
        let slnx = r#"<Solution><Folder Name="/src/"><Project Path="src/Web/Web.csproj" /></Folder></Solution>"#;
        assert_eq!(
            solution_projects("a.slnx", slnx).unwrap(),
            vec!["src/Web/Web.csproj"]
        );
        assert!(solution_projects("a.sln", "garbage").is_err());
    }

    #[test]
    fn versions_and_json() {
        assert_eq!(framework_version("net8.0").as_deref(), Some("8.0"));
        assert_eq!(framework_version("net9.0-windows").as_deref(), Some("9.0"));
        assert_eq!(framework_version("netcoreapp3.1").as_deref(), Some("3.1"));
        assert_eq!(framework_version("net48").as_deref(), Some("4.8"));
        assert_eq!(framework_version("netstandard2.0"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-z0-9 {}\\[\\]\",:/*\n]{0,160}") {
            let _ = solution_projects("a.sln", &text);
            let _ = parse_project(&text);
        }
    }
}
