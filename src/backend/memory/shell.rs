//! The little `sh` that [`MemoryBackend`](super::MemoryBackend) reads a container's
//! command (and an exec's) with: enough of a POSIX shell for the scripts tests give
//! containers, run in virtual time with no process behind it.
//!
//! Understood: commands separated by `;`, newlines, `&&` and `||`; single and double
//! quotes (no expansions: `$NAME` stays as written); `echo [-n] ...`, `cat FILE...`,
//! `sleep SECONDS`, `exit [N]`, `true`, `false`, `:`, `mkdir`, `touch FILE...`, and
//! `exec COMMAND` (the script ends with it); output to stderr with `>&2` (or `1>&2`),
//! to a file with `> FILE` or `>> FILE` (`2>&1` and `2>/dev/null` are accepted and
//! change nothing). Any other command is a program the backend cannot run.

use std::time::Duration;

/// Where a command's output goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Sink {
    Stdout,
    Stderr,
    File { path: String, append: bool },
}

/// One command of a script.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    /// Prints one line (`newline: false` for `echo -n`).
    Echo { text: String, newline: bool },
    /// Prints files.
    Cat(Vec<String>),
    /// Lets virtual time pass.
    Sleep(Duration),
    /// Ends the script with a code.
    Exit(i64),
    /// Does nothing, with this status (`true`, `false`, `:`, `mkdir`).
    Status(i64),
    /// Creates empty files that do not exist.
    Touch(Vec<String>),
    /// A program this shell cannot run (its name).
    Unknown(String),
}

/// When a command runs, after the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    Always,
    IfOk,
    IfFailed,
}

/// A command with where its output goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Command {
    pub(super) when: When,
    pub(super) step: Step,
    pub(super) sink: Sink,
    /// `exec`: the script ends with this command.
    pub(super) last: bool,
}

/// Splits a script into commands (see the module docs for what is understood).
pub(super) fn parse(script: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut when = When::Always;
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let flush_word = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    word.push(q);
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            ';' | '\n' => {
                flush_word(&mut words, &mut word, &mut in_word);
                out.extend(command(std::mem::take(&mut words), when));
                when = When::Always;
            }
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                flush_word(&mut words, &mut word, &mut in_word);
                out.extend(command(std::mem::take(&mut words), when));
                when = When::IfOk;
            }
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                flush_word(&mut words, &mut word, &mut in_word);
                out.extend(command(std::mem::take(&mut words), when));
                when = When::IfFailed;
            }
            c if c.is_whitespace() => flush_word(&mut words, &mut word, &mut in_word),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    flush_word(&mut words, &mut word, &mut in_word);
    out.extend(command(words, when));
    out
}

/// One command from its words, or `None` for an empty one.
fn command(words: Vec<String>, when: When) -> Option<Command> {
    let mut sink = Sink::Stdout;
    let mut args = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            ">&2" | "1>&2" => sink = Sink::Stderr,
            "2>&1" | "2>/dev/null" => {}
            ">" | ">>" | "1>" | "1>>" => {
                if let Some(path) = words.next() {
                    sink = Sink::File {
                        path,
                        append: w.ends_with(">>"),
                    };
                }
            }
            _ if w.starts_with(">>") => {
                sink = Sink::File {
                    path: w[2..].to_string(),
                    append: true,
                };
            }
            _ if w.starts_with('>') => {
                sink = Sink::File {
                    path: w[1..].to_string(),
                    append: false,
                };
            }
            _ => args.push(w),
        }
    }
    let mut last = false;
    if args.first().map(String::as_str) == Some("exec") {
        args.remove(0);
        last = true;
    }
    let name = args.first()?.clone();
    let rest = &args[1..];
    let step = match name.as_str() {
        "echo" => {
            let (newline, words) = match rest.first().map(String::as_str) {
                Some("-n") => (false, &rest[1..]),
                _ => (true, rest),
            };
            Step::Echo {
                text: words.join(" "),
                newline,
            }
        }
        "cat" => Step::Cat(rest.to_vec()),
        "sleep" => {
            let seconds = rest
                .first()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(0.0);
            Step::Sleep(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
        }
        "exit" => Step::Exit(rest.first().and_then(|c| c.parse().ok()).unwrap_or(0)),
        "true" | ":" | "mkdir" => Step::Status(0),
        "false" => Step::Status(1),
        "touch" => Step::Touch(rest.to_vec()),
        _ => Step::Unknown(name),
    };
    Some(Command {
        when,
        step,
        sink,
        last,
    })
}

/// What a script can touch: its output and its files.
pub(super) trait Io {
    /// A line (or, without `newline`, a piece of one) printed to stdout or stderr.
    fn print(&mut self, stderr: bool, text: &str, newline: bool);
    /// A file's text, if it exists.
    fn read(&self, path: &str) -> Option<String>;
    /// Writes (or appends to) a file.
    fn write(&mut self, path: &str, text: &str, append: bool);
}

/// Where a script stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// It ended, with this status.
    Exited(i64),
    /// It sleeps for this long before the command at the program counter.
    Sleeping(Duration),
    /// It runs a program this shell cannot run, which never ends by itself.
    Forever,
}

/// A script being run: where it is and the status of its last command.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Run {
    pub(super) commands: Vec<Command>,
    pub(super) pc: usize,
    pub(super) status: i64,
}

impl Run {
    pub(super) fn new(commands: Vec<Command>) -> Self {
        Self {
            commands,
            pc: 0,
            status: 0,
        }
    }

    /// Runs commands until the script ends, sleeps or runs something it cannot.
    /// `unknown_status`: what an unknown program does (`None`: it runs forever, as a
    /// server would; `Some(code)`: it fails at once with "not found", as in an exec).
    pub(super) fn resume(&mut self, io: &mut dyn Io, unknown_status: Option<i64>) -> Stop {
        while let Some(c) = self.commands.get(self.pc).cloned() {
            self.pc += 1;
            let skip = match c.when {
                When::Always => false,
                When::IfOk => self.status != 0,
                When::IfFailed => self.status == 0,
            };
            if skip {
                continue;
            }
            let say = |io: &mut dyn Io, text: &str, newline: bool| match &c.sink {
                Sink::Stdout => io.print(false, text, newline),
                Sink::Stderr => io.print(true, text, newline),
                Sink::File { path, append } => {
                    let text = if newline {
                        format!("{text}\n")
                    } else {
                        text.to_string()
                    };
                    io.write(path, &text, *append);
                }
            };
            self.status = match &c.step {
                Step::Echo { text, newline } => {
                    say(io, text, *newline);
                    0
                }
                Step::Cat(paths) => {
                    let mut status = 0;
                    let mut text = String::new();
                    for p in paths {
                        match io.read(p) {
                            Some(t) => text.push_str(&t),
                            None => {
                                io.print(
                                    true,
                                    &format!("cat: can't open '{p}': No such file or directory"),
                                    true,
                                );
                                status = 1;
                            }
                        }
                    }
                    if matches!(c.sink, Sink::File { .. }) {
                        say(io, &text, false);
                    } else {
                        for line in text.lines() {
                            say(io, line, true);
                        }
                    }
                    status
                }
                Step::Sleep(d) => {
                    if c.last {
                        self.pc = self.commands.len();
                    }
                    self.status = 0;
                    return Stop::Sleeping(*d);
                }
                Step::Exit(code) => return Stop::Exited(*code),
                Step::Status(s) => *s,
                Step::Touch(paths) => {
                    for p in paths {
                        if io.read(p).is_none() {
                            io.write(p, "", false);
                        }
                    }
                    0
                }
                Step::Unknown(name) => match unknown_status {
                    None => {
                        self.pc -= 1;
                        return Stop::Forever;
                    }
                    Some(code) => {
                        io.print(true, &format!("sh: {name}: not found"), true);
                        code
                    }
                },
            };
            if c.last {
                return Stop::Exited(self.status);
            }
        }
        Stop::Exited(self.status)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Default)]
    struct Record {
        lines: Vec<(bool, String)>,
        files: std::collections::BTreeMap<String, String>,
    }

    impl Io for Record {
        fn print(&mut self, stderr: bool, text: &str, _newline: bool) {
            self.lines.push((stderr, text.to_string()));
        }
        fn read(&self, path: &str) -> Option<String> {
            self.files.get(path).cloned()
        }
        fn write(&mut self, path: &str, text: &str, append: bool) {
            let f = self.files.entry(path.to_string()).or_default();
            if !append {
                f.clear();
            }
            f.push_str(text);
        }
    }

    #[test]
    fn a_script_prints_sleeps_and_exits() {
        let mut run = Run::new(parse(
            "echo one; echo 'two words' >&2; sleep 0.5; echo three; exit 3",
        ));
        let mut io = Record::default();
        assert_eq!(
            run.resume(&mut io, None),
            Stop::Sleeping(Duration::from_millis(500))
        );
        assert_eq!(
            io.lines,
            [(false, "one".into()), (true, "two words".into())]
        );
        assert_eq!(run.resume(&mut io, None), Stop::Exited(3));
        assert_eq!(io.lines.last().unwrap(), &(false, "three".to_string()));
    }

    #[test]
    fn files_and_conditions() {
        let mut io = Record::default();
        let mut run = Run::new(parse(
            "mkdir -p /www && echo kept > /data/file; cat /data/file; cat /nope || echo missing",
        ));
        assert_eq!(run.resume(&mut io, Some(127)), Stop::Exited(0));
        assert_eq!(io.files["/data/file"], "kept\n");
        assert!(io.lines.contains(&(false, "kept".into())));
        assert!(io.lines.contains(&(false, "missing".into())));
    }

    #[test]
    fn an_unknown_program_runs_forever_or_is_not_found() {
        let mut io = Record::default();
        let mut run = Run::new(parse("echo starting && exec httpd -f -p 8080"));
        assert_eq!(run.resume(&mut io, None), Stop::Forever);
        let mut run = Run::new(parse("pg_isready"));
        assert_eq!(run.resume(&mut io, Some(127)), Stop::Exited(127));
        assert!(
            io.lines
                .contains(&(true, "sh: pg_isready: not found".into()))
        );
    }

    #[test]
    fn exec_sleep_ends_the_script_after_its_sleep() {
        let mut io = Record::default();
        let mut run = Run::new(parse("echo ready; exec sleep 600; echo never"));
        assert_eq!(
            run.resume(&mut io, None),
            Stop::Sleeping(Duration::from_secs(600))
        );
        assert_eq!(run.resume(&mut io, None), Stop::Exited(0));
        assert_eq!(io.lines, [(false, "ready".into())]);
    }
}
