//! Small pieces of output shared by the commands: colours (only on a terminal, never
//! with `NO_COLOR`), tables, JSON text, sizes.

use std::io::IsTerminal as _;

/// Whether to colour: a terminal, and no `NO_COLOR` (<https://no-color.org>).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    colour: bool,
}

impl Style {
    fn new(terminal: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: terminal && !no_color,
        }
    }

    /// For what goes to stdout.
    pub(crate) fn stdout() -> Self {
        Self::new(std::io::stdout().is_terminal())
    }

    /// For what goes to stderr.
    pub(crate) fn stderr() -> Self {
        Self::new(std::io::stderr().is_terminal())
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub(crate) fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    pub(crate) fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    pub(crate) fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    pub(crate) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// A state or health word, coloured by what it means.
    pub(crate) fn state(self, word: &str) -> String {
        match word {
            "running" | "healthy" => self.green(word),
            "failed" | "unhealthy" | "crashed" => self.red(word),
            "deploying" | "stopped" | "pending" | "starting" => self.yellow(word),
            _ => word.to_string(),
        }
    }
}

/// One value from outside (the folder, a plugin, a container, the engine, the state
/// file), safe on one line of a terminal: control characters shown escaped
/// (`kyozo::text::terminal_safe`). Every such value goes through this or [`safe_text`]
/// before it is printed; JSON output does not (its encoder escapes them, losslessly).
pub(crate) fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    kyozo::text::terminal_safe(s)
}

/// Text from outside with lines of its own (a container's output, an error, a build's
/// last lines): line breaks and tabs kept, every other control character escaped.
pub(crate) fn safe_text(s: &str) -> std::borrow::Cow<'_, str> {
    kyozo::text::terminal_safe_text(s)
}

/// A path from outside, safe on one line of a terminal.
pub(crate) fn safe_path(p: &std::path::Path) -> String {
    safe(&p.to_string_lossy()).into_owned()
}

/// Rows under a header, each column as wide as its widest cell; the cells of the
/// columns `states` (their indexes) are state or health words, coloured by `style`
/// (colour codes are not counted: cells are padded before they are painted). Every
/// cell is printed through [`safe`]: cells hold names and values from outside.
pub(crate) fn table(
    header: &[&str],
    rows: &[Vec<String>],
    states: &[usize],
    style: Style,
) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| safe(c).into_owned()).collect())
        .collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String], painted: bool| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            if painted && states.contains(&i) {
                l.push_str(&style.state(c));
            } else {
                l.push_str(c);
            }
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    line(&head, false);
    for r in rows {
        line(r, true);
    }
    out
}

/// Pretty JSON with a final line break.
pub(crate) fn json_text(value: &impl serde::Serialize) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}

/// Bytes for people: `512B`, `1.5KiB`, `23.4MiB`, `1.2GiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n}B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1}{unit}")
}

/// The published ports of a service's containers: (container port, host port).
pub(crate) fn ports(containers: &[kyozo::backend::ContainerState]) -> Vec<(u16, u16)> {
    let mut all: Vec<(u16, u16)> = containers
        .iter()
        .filter(|c| c.running)
        .flat_map(|c| c.ports.iter().map(|(container, host)| (*container, *host)))
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The host address container port `port` of a service is published on, as the
/// engine reports it (`0.0.0.0` for every address).
pub(crate) fn host_ip(containers: &[kyozo::backend::ContainerState], port: u16) -> String {
    containers
        .iter()
        .filter(|c| c.running)
        .find_map(|c| c.host_ips.get(&port))
        .map_or_else(
            || "0.0.0.0".to_string(),
            |ip| match ip {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            },
        )
}

/// Text of several lines as the continuation of a message: every line after the first
/// indented, so no line of it can pass for one of Kyozo's own (`kyozo: ...`).
pub(crate) fn indented(text: &str) -> String {
    text.trim_end_matches('\n').replace('\n', "\n    ")
}

/// An error for people: each cause once (a cause whose text the one before already
/// quotes is left out), every value in it made safe, and a hint when one helps.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut shown: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || shown.iter().any(|s| s.contains(&text)) {
            continue;
        }
        shown.push(text);
    }
    let mut out = indented(&safe_text(&shown.join(": ")));
    if let Some(hint) = hint(e) {
        out.push_str("\nhint: ");
        out.push_str(&safe_text(&hint));
    }
    out
}

/// What to do about an engine that cannot be reached, from why.
fn hint(e: &anyhow::Error) -> Option<String> {
    let (endpoint, reason) = e.chain().find_map(|c| {
        let unavailable = |b: &kyozo::backend::BackendError| match b {
            kyozo::backend::BackendError::Unavailable {
                endpoint, reason, ..
            } => Some((endpoint.clone(), reason.clone())),
            _ => None,
        };
        if let Some(b) = c.downcast_ref::<kyozo::backend::BackendError>() {
            return unavailable(b);
        }
        match c.downcast_ref::<kyozo::Error>() {
            Some(kyozo::Error::Backend(b)) => unavailable(b),
            _ => None,
        }
    })?;
    let socket = endpoint.strip_prefix("unix://").unwrap_or(&endpoint);
    let has = |words: &[&str]| words.iter().any(|w| reason.contains(w));
    if has(&["Permission denied", "os error 13"]) {
        Some(format!(
            "you may not use the engine's socket {socket}: add your user to its group (usually docker: `sudo usermod -aG docker $USER`, then log in again), or set DOCKER_HOST to an engine you may use"
        ))
    } else if has(&[
        "Socket not found",
        "No such file",
        "os error 2",
        "Connection refused",
        "os error 111",
    ]) {
        Some(format!(
            "no Docker Engine answers at {socket}: it is not running or not reachable there (start it, e.g. `sudo systemctl start docker`, or set DOCKER_HOST to where it listens)"
        ))
    } else {
        None
    }
}

/// How a job's run stands, from its containers: `None` while one runs (or none is
/// left), else the exit code it ended with (the first non-zero, else 0).
pub(crate) fn job_state(containers: &[kyozo::backend::ContainerState]) -> Option<i64> {
    if containers.is_empty() || containers.iter().any(|c| c.running) {
        return None;
    }
    let codes: Vec<i64> = containers.iter().filter_map(|c| c.exit_code).collect();
    codes
        .iter()
        .copied()
        .find(|c| *c != 0)
        .or_else(|| codes.first().copied())
}

/// A job's status word for `ps`: `completed` (ended with 0), `failed` (another code),
/// `running`, or the service's status when nothing of it is left.
pub(crate) fn job_status(
    service: &kyozo::model::ServiceInstance,
    containers: &[kyozo::backend::ContainerState],
) -> String {
    match job_state(containers) {
        Some(0) => "completed".into(),
        Some(_) => "failed".into(),
        None if containers.iter().any(|c| c.running) => "running".into(),
        None => service.status.to_string(),
    }
}
