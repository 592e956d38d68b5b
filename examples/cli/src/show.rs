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

/// Rows under a header, each column as wide as its widest cell; the cells of the
/// columns `states` (their indexes) are state or health words, coloured by `style`
/// (colour codes are not counted: cells are padded before they are painted).
pub(crate) fn table(
    header: &[&str],
    rows: &[Vec<String>],
    states: &[usize],
    style: Style,
) -> String {
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

/// The published ports of a service's containers, `127.0.0.1:HOST->CONTAINER`.
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
