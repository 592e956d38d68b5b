//! How the CLI shows things: the readable report and the stable JSON shape.

use std::fmt::Write as _;
use std::io::Write as _;

use kyozo::topology::{Sourced, Topology, TopologyService};
use serde_json::{Value, json};

use crate::show::{safe, safe_path};

/// Writes to stdout, ignoring a closed pipe (`kyozo analyze | head`).
pub(crate) fn print(s: &str) {
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

/// The analysis's warnings (a manifest that does not parse, a compose key Kyozo does
/// not apply...) on stderr, one `warning:` line each: what `plan` and `up` build from
/// is never silently less than the folder asked for.
pub(crate) fn print_warnings(t: &Topology) {
    let style = crate::show::Style::stderr();
    for w in &t.warnings {
        eprintln!("{} {}", style.yellow("warning:"), safe(w));
    }
    if !t.warnings.is_empty() {
        eprintln!();
    }
}

fn sourced(s: &Option<Sourced<String>>) -> Value {
    match s {
        Some(s) => json!({ "value": s.value, "source": s.source }),
        None => Value::Null,
    }
}

/// The documented JSON shape of `kyozo analyze --json`.
pub(crate) fn json(t: &Topology) -> Value {
    let services: Vec<Value> = t
        .services
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "path": s.path,
                "context": s.context,
                "language": s.language,
                "framework": s.framework,
                "package_manager": s.package_manager,
                "runtime_version": sourced(&s.runtime_version),
                "install_command": sourced(&s.install_command),
                "build_command": sourced(&s.build_command),
                "start_command": sourced(&s.start_command),
                "ports": s.ports.iter().map(|p| json!({"port": p.port, "source": p.source})).collect::<Vec<_>>(),
                "env": s.env.iter().map(|e| json!({"name": e.name, "source": e.source})).collect::<Vec<_>>(),
                "backing_services": s.backing_services,
                "depends_on": s.depends_on,
                "dockerfile": s.dockerfile,
                "image": s.image,
                "healthcheck": sourced(&s.healthcheck),
                "confidence": s.confidence,
                "evidence": s.evidence.iter().map(|e| json!({"path": e.path, "reason": e.reason, "detector": e.detector})).collect::<Vec<_>>(),
                "detectors": s.detectors,
                "rivals": s.rivals.iter().map(|r| json!({
                    "detector": r.detector,
                    "language": r.language,
                    "confidence": r.confidence,
                    "evidence": r.evidence.iter().map(|e| json!({"path": e.path, "reason": e.reason})).collect::<Vec<_>>(),
                    "values": r.values.iter().map(|v| json!({"field": v.field, "value": v.value, "source": v.source})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "root": t.root.display().to_string(),
        "strategy": t.strategy.as_str(),
        "services": services,
        "shared_packages": t.shared_packages.iter().map(|p| json!({"name": p.name, "path": p.path, "language": p.language})).collect::<Vec<_>>(),
        "patterns": t.patterns,
        "recommendations": t.recommendations.iter().map(|r| json!({"service": r.service, "code": r.code, "message": r.message})).collect::<Vec<_>>(),
        "warnings": t.warnings,
        "duration_ms": t.duration_ms,
    })
}

/// The readable report. Every value in it comes from the folder or a plugin: each is
/// printed through [`safe`].
pub(crate) fn report(t: &Topology) -> String {
    let mut o = String::new();
    let n = t.services.len();
    let _ = writeln!(
        o,
        "{}: {} service{}, strategy {} ({} ms)",
        safe_path(&t.root),
        n,
        if n == 1 { "" } else { "s" },
        t.strategy.as_str(),
        t.duration_ms
    );
    if !t.patterns.is_empty() {
        let _ = writeln!(o, "patterns: {}", safe(&t.patterns.join(", ")));
    }
    if n > 0 {
        let _ = writeln!(o);
        table(&mut o, &t.services);
    }
    for s in &t.services {
        let _ = writeln!(o);
        service(&mut o, s);
    }
    if !t.shared_packages.is_empty() {
        let _ = writeln!(
            o,
            "\nshared packages (built by the services that use them):"
        );
        for p in &t.shared_packages {
            let _ = writeln!(
                o,
                "  {} ({}, {})",
                safe(&p.name),
                safe(&p.path),
                safe(&p.language)
            );
        }
    }
    if !t.recommendations.is_empty() {
        let _ = writeln!(o, "\nrecommendations:");
        for r in &t.recommendations {
            let who = r
                .service
                .as_deref()
                .map(|s| format!("[{}] ", safe(s)))
                .unwrap_or_default();
            let _ = writeln!(o, "  - {who}{}", safe(&r.message));
        }
    }
    if !t.warnings.is_empty() {
        let _ = writeln!(o, "\nwarnings:");
        for w in &t.warnings {
            let _ = writeln!(o, "  - {}", safe(w));
        }
    }
    o
}

fn table(o: &mut String, services: &[TopologyService]) {
    let rows: Vec<Vec<String>> = services
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.path.clone(),
                s.language.clone(),
                s.framework.clone().unwrap_or_else(|| "-".into()),
                s.package_manager.clone().unwrap_or_else(|| "-".into()),
                if s.ports.is_empty() {
                    "-".into()
                } else {
                    s.ports
                        .iter()
                        .map(|p| {
                            if p.source.is_default() {
                                format!("{}*", p.port)
                            } else {
                                p.port.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                },
                format!("{:.2}", s.confidence),
            ]
        })
        .collect();
    let header = [
        "SERVICE",
        "PATH",
        "LANGUAGE",
        "FRAMEWORK",
        "PM",
        "PORTS",
        "CONFIDENCE",
    ];
    o.push_str(&crate::show::table(
        &header,
        &rows,
        &[],
        crate::show::Style::stdout(),
    ));
    if services
        .iter()
        .any(|s| s.ports.iter().any(|p| p.source.is_default()))
    {
        let _ = writeln!(o, "(* assumed: the framework's default port)");
    }
}

fn service(o: &mut String, s: &TopologyService) {
    let mut what = s.language.clone();
    if let Some(f) = &s.framework {
        let _ = write!(what, "/{f}");
    }
    let _ = writeln!(
        o,
        "{} ({}): {}, confidence {:.2}",
        safe(&s.name),
        safe(&s.path),
        safe(&what),
        s.confidence
    );
    let field = |o: &mut String, label: &str, v: &Option<Sourced<String>>| {
        if let Some(v) = v {
            let _ = writeln!(
                o,
                "  {label:<9} {}  ({})",
                safe(&v.value),
                safe(&v.source.to_string())
            );
        }
    };
    if s.context != s.path {
        let _ = writeln!(o, "  {:<9} {}", "context", safe(&s.context));
    }
    field(o, "runtime", &s.runtime_version);
    field(o, "install", &s.install_command);
    field(o, "build", &s.build_command);
    field(o, "start", &s.start_command);
    if let Some(d) = &s.dockerfile {
        let _ = writeln!(o, "  {:<9} {}", "dockerfile", safe(d));
    }
    if let Some(i) = &s.image {
        let _ = writeln!(o, "  {:<9} {}", "image", safe(i));
    }
    for p in &s.ports {
        let _ = writeln!(
            o,
            "  {:<9} {}  ({})",
            "port",
            p.port,
            safe(&p.source.to_string())
        );
    }
    field(o, "health", &s.healthcheck);
    if !s.env.is_empty() {
        let names: Vec<&str> = s.env.iter().map(|e| e.name.as_str()).collect();
        let _ = writeln!(o, "  {:<9} {}", "env", safe(&names.join(", ")));
    }
    if !s.backing_services.is_empty() {
        let _ = writeln!(
            o,
            "  {:<9} {}",
            "needs",
            safe(&s.backing_services.join(", "))
        );
    }
    if !s.depends_on.is_empty() {
        let _ = writeln!(o, "  {:<9} {}", "after", safe(&s.depends_on.join(", ")));
    }
    if !s.evidence.is_empty() {
        let _ = writeln!(o, "  why:");
        for e in &s.evidence {
            let _ = writeln!(
                o,
                "    - {}: {}  [{}]",
                safe(&e.path),
                safe(&e.reason),
                safe(&e.detector)
            );
        }
    }
    for r in &s.rivals {
        let _ = writeln!(
            o,
            "  also claimed as {} ({:.2}) by {}:",
            safe(&r.language),
            r.confidence,
            safe(&r.detector)
        );
        for e in &r.evidence {
            let _ = writeln!(o, "    - {}: {}", safe(&e.path), safe(&e.reason));
        }
        for v in &r.values {
            let _ = writeln!(
                o,
                "    {} {}  ({}, not used)",
                v.field.replace('_', " "),
                safe(&v.value),
                safe(&v.source.to_string())
            );
        }
    }
}

/// The options a folder is planned with (what it was last deployed with, under what
/// this call says), as the flags that give them; empty when there are none.
pub(crate) fn flags(d: &kyozo::model::DeployDefaults) -> String {
    let mut flags: Vec<String> = d
        .images
        .iter()
        .map(|(k, v)| format!("--image {}", kyozo::model::shell_quote(&format!("{k}={v}"))))
        .collect();
    if let Some(n) = &d.build_network {
        flags.push(format!("--build-network {}", kyozo::model::shell_quote(n)));
    }
    flags.extend(
        d.ports
            .iter()
            .map(|(s, p)| format!("--port {}", kyozo::model::shell_quote(&format!("{s}={p}")))),
    );
    flags.extend(
        d.system_packages
            .iter()
            .map(|p| format!("--system-package {}", kyozo::model::shell_quote(p))),
    );
    safe(&flags.join(" ")).into_owned()
}

/// The line that says which options a plan is made with (none: nothing).
pub(crate) fn options(d: &kyozo::model::DeployDefaults) -> String {
    let flags = flags(d);
    if flags.is_empty() {
        return String::new();
    }
    format!("Options (remembered from the last `up`, or given): {flags}\n")
}

/// What a plan builds and runs: each service, where its image comes from, its ports,
/// what it starts after; the backing services.
pub(crate) fn plan_services(
    plan: &kyozo::plan::Plan,
    planner: &kyozo::plan::Planner,
) -> anyhow::Result<String> {
    use kyozo::plan::ImageSource;
    let mut out = String::new();
    if plan.services.is_empty() {
        writeln!(out, "Nothing to plan in {}.", safe_path(&plan.root))?;
    } else {
        writeln!(out, "Plan for {}:", safe_path(&plan.root))?;
    }
    for s in &plan.services {
        let source = match &s.source {
            ImageSource::Existing { path } => format!("its Dockerfile {path} (yours, kept)"),
            ImageSource::Generated { file } => format!("Dockerfile {} (generated)", file.path),
            ImageSource::Image { image } => format!("image {image}"),
            _ => "?".into(),
        };
        let ports: Vec<String> = s
            .spec
            .ports
            .iter()
            .map(|p| match p.host_port {
                Some(h) => format!("{h}->{}", p.container_port),
                None => p.container_port.to_string(),
            })
            .collect();
        writeln!(out, "  {:<20} {}", safe(&s.name), safe(&source))?;
        if s.spec.kind == kyozo::model::ServiceKind::Job {
            writeln!(
                out,
                "  {:<20} job: runs once, to its end (`up` waits for it; not restarted)",
                ""
            )?;
        }
        if !ports.is_empty() {
            writeln!(out, "  {:<20} ports {}", "", ports.join(", "))?;
        }
        if !s.spec.depends_on.is_empty() {
            writeln!(
                out,
                "  {:<20} after {}",
                "",
                safe(&s.spec.depends_on.join(", "))
            )?;
        }
        let built = !matches!(s.source, ImageSource::Image { .. });
        let bases: Vec<String> = planner
            .base_images(&plan.root, s)
            .iter()
            .filter(|_| built)
            .map(|b| match b.keys.first() {
                Some(key) => format!("{key}={}", b.image),
                None => b.image.clone(),
            })
            .collect();
        if !bases.is_empty() {
            writeln!(out, "  {:<20} from {}", "", safe(&bases.join(", ")))?;
        }
    }
    for b in &plan.backing {
        writeln!(
            out,
            "  {:<20} {} (backing service)",
            safe(&b.name),
            safe(&b.image)
        )?;
    }
    Ok(out)
}

/// The summary of `kyozo plan`.
pub(crate) fn plan(
    plan: &kyozo::plan::Plan,
    planner: &kyozo::plan::Planner,
    dest: &std::path::Path,
    written: &[kyozo::plan::Written],
    dry_run: bool,
) -> anyhow::Result<String> {
    use kyozo::plan::WriteOutcome;
    let mut out = plan_services(plan, planner)?;
    if dry_run {
        writeln!(out, "\nWould write (--dry-run: nothing written):")?;
        for f in plan.files_for(dest)? {
            writeln!(out, "  {}", safe_path(&dest.join(&f.path)))?;
        }
    } else if !written.is_empty() {
        writeln!(out, "\nFiles:")?;
        for w in written {
            let what = match w.outcome {
                WriteOutcome::Created => "created",
                WriteOutcome::Replaced => "replaced",
                WriteOutcome::Unchanged => "unchanged",
                WriteOutcome::KeptUsers => "kept (yours; --force replaces it)",
                _ => "?",
            };
            writeln!(out, "  {:<10} {}", what, safe_path(&w.path))?;
        }
    }
    if !plan.recommendations.is_empty() {
        writeln!(out, "\nRecommendations:")?;
        for r in &plan.recommendations {
            match &r.service {
                Some(s) => writeln!(out, "  - {}: {}", safe(s), safe(&r.message))?,
                None => writeln!(out, "  - {}", safe(&r.message))?,
            }
        }
    }
    Ok(out)
}
