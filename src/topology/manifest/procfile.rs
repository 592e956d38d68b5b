//! Parser of `Procfile`s (Heroku, Foreman, Cloud Native Buildpacks): one
//! `name: command` line per process type. Blank lines and `#` comments are skipped,
//! CRLF line ends are accepted, a later line of the same name replaces an earlier one
//! (as Heroku does); other lines are ignored and counted.

use super::ManifestError;

/// A parsed Procfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Procfile {
    /// The process types, in the order they first appear.
    pub processes: Vec<Process>,
    /// The lines (1-based) that are neither a process, a comment nor blank.
    pub ignored_lines: Vec<usize>,
}

/// One process type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Process {
    /// Its name (`web`, `worker`, `release`...), as written.
    pub name: String,
    /// The command it runs.
    pub command: String,
    /// The line it was defined on (1-based).
    pub line: usize,
}

impl Procfile {
    /// The process named `name` (case-sensitive, as Heroku matches it).
    pub fn get(&self, name: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.name == name)
    }
}

/// Parses a Procfile. Fails only when the file has content but not one valid line.
pub fn parse(text: &str) -> Result<Procfile, ManifestError> {
    let mut out = Procfile::default();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, command)) = line.split_once(':') else {
            out.ignored_lines.push(number);
            continue;
        };
        let command = command.trim();
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name || command.is_empty() {
            out.ignored_lines.push(number);
            continue;
        }
        let process = Process {
            name: name.to_string(),
            command: command.to_string(),
            line: number,
        };
        match out.processes.iter_mut().find(|p| p.name == name) {
            Some(existing) => *existing = process,
            None => out.processes.push(process),
        }
    }
    if out.processes.is_empty()
        && let Some(first) = out.ignored_lines.first()
    {
        return Err(ManifestError::new(format!(
            "line {first}: expected `name: command`"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn processes_comments_and_crlf() {
        let text = "# processes\r\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\r\n\r\nworker: celery -A app worker --loglevel=info\r\nrelease: python manage.py migrate\r\n";
        let p = parse(text).unwrap();
        let names: Vec<&str> = p.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["web", "worker", "release"]);
        assert_eq!(
            p.get("web").unwrap().command,
            "gunicorn app:app --bind 0.0.0.0:$PORT"
        );
        assert_eq!(p.get("worker").unwrap().line, 4);
        assert!(p.ignored_lines.is_empty());
    }

    #[test]
    fn colons_in_commands_and_spacing() {
        let p = parse("web:bundle exec puma -b tcp://0.0.0.0:3000\n  clock :  ruby clock.rb  \n")
            .unwrap();
        assert_eq!(
            p.get("web").unwrap().command,
            "bundle exec puma -b tcp://0.0.0.0:3000"
        );
        // `clock ` has a space before the colon: not a valid name.
        assert_eq!(p.ignored_lines, vec![2]);
    }

    #[test]
    fn later_definition_wins() {
        let p = parse("web: a\nweb: b\n").unwrap();
        assert_eq!(p.processes.len(), 1);
        assert_eq!(p.get("web").unwrap().command, "b");
        assert_eq!(p.get("web").unwrap().line, 2);
    }

    #[test]
    fn invalid_lines() {
        let p = parse("web: ok\nthis is not a process\nworker:\nweb.x: y\n").unwrap();
        assert_eq!(p.processes.len(), 1);
        assert_eq!(p.ignored_lines, vec![2, 3, 4]);
        assert!(parse("garbage\n").is_err());
        assert_eq!(parse("").unwrap(), Procfile::default());
        assert_eq!(parse("# only\n\n").unwrap(), Procfile::default());
        assert!(parse("Web: x\n").unwrap().get("web").is_none());
    }

    #[test]
    fn weird_input_never_panics() {
        for s in [
            ":",
            "::",
            ":x",
            "é: ü",
            "\u{0}",
            "a:\u{feff}",
            "\r\n\r",
            "#:",
        ] {
            let _ = parse(s);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }
    }
}
