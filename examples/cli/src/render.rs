//! How the CLI shows things: the readable report and the stable JSON shape.

use std::fmt::Write as _;
use std::io::Write as _;

use kyozo::topology::{Sourced, Topology, TopologyService};
use serde_json::{Value, json};

/// Writes to stdout, ignoring a closed pipe (`kyozo analyze | head`).
pub(crate) fn print(s: &str) {
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
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

/// The readable report.
pub(crate) fn report(t: &Topology) -> String {
    let mut o = String::new();
    let n = t.services.len();
    let _ = writeln!(
        o,
        "{}: {} service{}, strategy {} ({} ms)",
        t.root.display(),
        n,
        if n == 1 { "" } else { "s" },
        t.strategy.as_str(),
        t.duration_ms
    );
    if !t.patterns.is_empty() {
        let _ = writeln!(o, "patterns: {}", t.patterns.join(", "));
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
            let _ = writeln!(o, "  {} ({}, {})", p.name, p.path, p.language);
        }
    }
    if !t.recommendations.is_empty() {
        let _ = writeln!(o, "\nrecommendations:");
        for r in &t.recommendations {
            let who = r
                .service
                .as_deref()
                .map(|s| format!("[{s}] "))
                .unwrap_or_default();
            let _ = writeln!(o, "  - {who}{}", r.message);
        }
    }
    if !t.warnings.is_empty() {
        let _ = writeln!(o, "\nwarnings:");
        for w in &t.warnings {
            let _ = writeln!(o, "  - {w}");
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
                            if p.source.starts_with("default") {
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
        .any(|s| s.ports.iter().any(|p| p.source.starts_with("default")))
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
        s.name, s.path, what, s.confidence
    );
    let field = |o: &mut String, label: &str, v: &Option<Sourced<String>>| {
        if let Some(v) = v {
            let _ = writeln!(o, "  {label:<9} {}  ({})", v.value, v.source);
        }
    };
    if s.context != s.path {
        let _ = writeln!(o, "  {:<9} {}", "context", s.context);
    }
    field(o, "runtime", &s.runtime_version);
    field(o, "install", &s.install_command);
    field(o, "build", &s.build_command);
    field(o, "start", &s.start_command);
    if let Some(d) = &s.dockerfile {
        let _ = writeln!(o, "  {:<9} {d}", "dockerfile");
    }
    if let Some(i) = &s.image {
        let _ = writeln!(o, "  {:<9} {i}", "image");
    }
    for p in &s.ports {
        let _ = writeln!(o, "  {:<9} {}  ({})", "port", p.port, p.source);
    }
    field(o, "health", &s.healthcheck);
    if !s.env.is_empty() {
        let names: Vec<&str> = s.env.iter().map(|e| e.name.as_str()).collect();
        let _ = writeln!(o, "  {:<9} {}", "env", names.join(", "));
    }
    if !s.backing_services.is_empty() {
        let _ = writeln!(o, "  {:<9} {}", "needs", s.backing_services.join(", "));
    }
    if !s.depends_on.is_empty() {
        let _ = writeln!(o, "  {:<9} {}", "after", s.depends_on.join(", "));
    }
    if !s.evidence.is_empty() {
        let _ = writeln!(o, "  why:");
        for e in &s.evidence {
            let _ = writeln!(o, "    - {}: {}  [{}]", e.path, e.reason, e.detector);
        }
    }
    for r in &s.rivals {
        let _ = writeln!(
            o,
            "  also claimed as {} ({:.2}) by {}:",
            r.language, r.confidence, r.detector
        );
        for e in &r.evidence {
            let _ = writeln!(o, "    - {}: {}", e.path, e.reason);
        }
    }
}

/// What a plan builds and runs: each service, where its image comes from, its ports,
/// what it starts after; the backing services.
pub(crate) fn plan_services(plan: &kyozo::plan::Plan) -> anyhow::Result<String> {
    use kyozo::plan::ImageSource;
    let mut out = String::new();
    if plan.services.is_empty() {
        writeln!(out, "Nothing to plan in {}.", plan.root.display())?;
    } else {
        writeln!(out, "Plan for {}:", plan.root.display())?;
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
        writeln!(out, "  {:<20} {source}", s.name)?;
        if !ports.is_empty() {
            writeln!(out, "  {:<20} ports {}", "", ports.join(", "))?;
        }
        if !s.spec.depends_on.is_empty() {
            writeln!(out, "  {:<20} after {}", "", s.spec.depends_on.join(", "))?;
        }
    }
    for b in &plan.backing {
        writeln!(out, "  {:<20} {} (backing service)", b.name, b.image)?;
    }
    Ok(out)
}

/// The summary of `kyozo plan`.
pub(crate) fn plan(
    plan: &kyozo::plan::Plan,
    dest: &std::path::Path,
    written: &[kyozo::plan::Written],
    dry_run: bool,
) -> anyhow::Result<String> {
    use kyozo::plan::WriteOutcome;
    let mut out = plan_services(plan)?;
    if dry_run {
        writeln!(out, "\nWould write (--dry-run: nothing written):")?;
        for f in plan.files_for(dest)? {
            writeln!(out, "  {}", dest.join(&f.path).display())?;
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
            writeln!(out, "  {:<10} {}", what, w.path.display())?;
        }
    }
    if !plan.recommendations.is_empty() {
        writeln!(out, "\nRecommendations:")?;
        for r in &plan.recommendations {
            match &r.service {
                Some(s) => writeln!(out, "  - {s}: {}", r.message)?,
                None => writeln!(out, "  - {}", r.message)?,
            }
        }
    }
    Ok(out)
}
