//! The Procfile detector: a folder with a `Procfile` (Heroku, Foreman, Cloud Native
//! Buildpacks) says how its app starts. It says *how the folder runs* rather than what
//! language it is in: its detections have the meta language `shell`, which the merge
//! uses only when no language detector claims the folder, and its start command
//! outranks a language detector's (but not a Dockerfile's or compose's).
//!
//! - `web` is the start command (source `Procfile web`); without `web`, the first other
//!   process that is not `release` is (a worker-only app).
//! - `release` is a release-phase command (migrations...): a `release-command` note.
//! - Every other process becomes a `procfile-process` note: Kyozo deploys one service
//!   per folder, so it is not run unless declared in compose.
//!
//! Only a file named exactly `Procfile` counts (`Procfile.dev` is a Foreman development
//! file). `$PORT` in a command says nothing about the port: nothing is inferred from it.

use crate::topology::common;
use crate::topology::manifest::procfile;
use crate::topology::{Detection, Detector, DetectorError, Note, ProjectView, Sourced, parent};

/// Detects folders with a Procfile.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcfileDetector;

impl Detector for ProcfileDetector {
    fn id(&self) -> &str {
        "procfile"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        Ok(view
            .named("Procfile")
            .iter()
            .filter_map(|path| detect_file(view, path))
            .collect())
    }
}

fn detect_file(view: &ProjectView, path: &str) -> Option<Detection> {
    let text = view.text(path)?;
    let parsed = match procfile::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            common::invalid(view, path, e);
            return None;
        }
    };
    if let Some(line) = parsed.ignored_lines.first() {
        common::invalid(
            view,
            path,
            format!(
                "{} line(s) ignored, the first at line {line}: expected `name: command`",
                parsed.ignored_lines.len()
            ),
        );
    }
    if parsed.processes.is_empty() {
        return None;
    }
    let names: Vec<&str> = parsed.processes.iter().map(|p| p.name.as_str()).collect();
    let start = parsed
        .get("web")
        .or_else(|| parsed.processes.iter().find(|p| p.name != "release"));
    let mut det = Detection::new(
        "procfile",
        parent(path),
        "shell",
        if start.is_some_and(|s| s.name == "web") {
            0.7
        } else {
            0.6
        },
    )
    .with_evidence(
        path,
        format!("Procfile declares the processes {}", names.join(", ")),
    );
    if let Some(s) = start {
        det.hints.start_command = Some(Sourced::new(
            s.command.clone(),
            format!("Procfile {}", s.name),
        ));
        det = det.with_evidence(
            path,
            format!("{}: {} (the start command)", s.name, s.command),
        );
    }
    for p in &parsed.processes {
        if start.is_some_and(|s| s.name == p.name) {
            continue;
        }
        if p.name == "release" {
            det = det.with_evidence(path, format!("release: {} (release phase)", p.command));
            det.hints.notes.push(Note::new(
                "release-command",
                format!(
                    "release-phase command `{}` (Procfile release): run it once before each new version starts, e.g. as a step of your deploy",
                    p.command
                ),
            ));
        } else {
            det = det.with_evidence(path, format!("{}: {} (another process)", p.name, p.command));
            det.hints.notes.push(Note::new(
                "procfile-process",
                format!(
                    "process {} ({}) is not deployed as its own service; declare it in compose to run it",
                    p.name, p.command
                ),
            ));
        }
    }
    Some(det)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::topology::Provenance;

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, ProjectView) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let view = ProjectView::scan(dir.path()).unwrap();
        (dir, view)
    }

    #[test]
    fn every_procfile_web_first_then_workers() {
        let (_dir, view) = project(&[
            (
                "Procfile",
                "web: bundle exec puma -C config/puma.rb\nworker: bundle exec sidekiq\n",
            ),
            (
                "jobs/Procfile",
                "release: ./migrate\nworker: python jobs.py\nclock: python clock.py\n",
            ),
            ("only-release/Procfile", "release: ./migrate\n"),
            ("dev/Procfile.dev", "web: bin/rails server\n"),
            ("broken/Procfile", "not a procfile\n"),
        ]);
        let found = ProcfileDetector.detect(&view).unwrap();
        let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, vec!["", "jobs", "only-release"]);
        assert!(found.iter().all(|d| d.language == "shell"));

        let root = &found[0];
        let start = root.hints.start_command.as_ref().unwrap();
        assert_eq!(
            (start.value.as_str(), &start.source),
            (
                "bundle exec puma -C config/puma.rb",
                &Provenance::declared("Procfile web")
            )
        );
        assert_eq!(root.hints.notes.len(), 1);
        assert_eq!(root.hints.notes[0].code, "procfile-process");
        assert!(root.hints.ports.is_empty());

        // No web: the first process that is not the release phase starts it.
        let jobs = &found[1];
        assert_eq!(
            jobs.hints.start_command.as_ref().unwrap().source,
            Provenance::declared("Procfile worker")
        );
        let codes: Vec<&str> = jobs.hints.notes.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(codes, vec!["release-command", "procfile-process"]);
        assert!(jobs.confidence < root.confidence);

        assert_eq!(found[2].hints.start_command, None);
        assert!(view.errors().iter().any(|e| e.path == "broken/Procfile"));
    }
}
