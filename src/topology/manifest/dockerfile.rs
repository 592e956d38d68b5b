//! Parser of Dockerfiles (and Containerfiles): the stages a Dockerfile builds and how the
//! final image runs.
//!
//! Handled: parser directives (`# syntax=`, `# escape=` with `\` or `` ` ``), comments
//! (also inside continued lines), line continuations, heredocs (`RUN <<EOF ... EOF`,
//! `<<-EOF`, quoted delimiters; bodies are skipped), case-insensitive instructions, exec
//! (JSON) and shell forms, multi-stage builds (`FROM x AS name`, stages built from
//! earlier stages), `ARG` defaults substituted into `FROM` and variables substituted into
//! `EXPOSE`, `ENV`, `WORKDIR` and `USER` (`$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR:+alt}`...), `EXPOSE` (several ports, `/tcp`, `/udp`, ranges), `ENV` (`A=1 B=2`
//! and the legacy `ENV A 1`), `CMD`, `ENTRYPOINT` and `HEALTHCHECK` (`NONE`, options).
//! Build steps (`RUN`, `COPY`, `ADD`...) and unknown instructions are skipped.
//!
//! [`Dockerfile::image`] gives the configuration of the image the Dockerfile produces:
//! its final stage, inheriting from the stages it is built `FROM`, with Docker's rules
//! (an `ENTRYPOINT` set in a stage resets the `CMD` it inherited).

use std::collections::{HashMap, HashSet};

use super::ManifestError;

/// Variables in scope for substitution.
type Vars = HashMap<String, String>;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Dockerfile {
    /// The `# syntax=` parser directive (the BuildKit frontend), if any.
    pub syntax: Option<String>,
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub escape: char,
    /// `ARG`s declared before the first `FROM` (usable in `FROM` lines).
    pub global_args: Vec<Arg>,
    /// The build stages, in order; the last one is the image produced.
    pub stages: Vec<Stage>,
}

/// An `ARG` and its default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Arg {
    /// Its name.
    pub name: String,
    /// Its default value, substituted.
    pub default: Option<String>,
}

/// An `ENV` variable. Its value is kept for substitution only; detectors report names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value, substituted.
    pub value: String,
}

/// A `CMD`, `ENTRYPOINT` or health check command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The exec (JSON array) form: `["node", "server.js"]`.
    Exec(Vec<String>),
    /// The shell form: `node server.js`, run with `/bin/sh -c`.
    Shell(String),
}

impl Command {
    /// The command as one shell-ish line: exec arguments joined with spaces, quoted when
    /// they contain spaces or shell characters.
    pub fn to_shell(&self) -> String {
        match self {
            Command::Exec(args) => join_args(args),
            Command::Shell(s) => s.clone(),
        }
    }

    /// Whether the command is empty (`CMD []`).
    pub fn is_empty(&self) -> bool {
        match self {
            Command::Exec(args) => args.is_empty(),
            Command::Shell(s) => s.trim().is_empty(),
        }
    }
}

/// Joins arguments into a shell-ish line, quoting the ones that need it.
pub fn join_args(args: &[String]) -> String {
    args.iter()
        .map(|a| quote_arg(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote_arg(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '_' | '.' | '/' | ':' | '=' | ',' | '@' | '%' | '+' | '$' | '{' | '}'
                )
        });
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// A `HEALTHCHECK` instruction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Healthcheck {
    /// The command, or `None` for `HEALTHCHECK NONE` (which disables the base image's).
    pub test: Option<Command>,
    /// `--interval`.
    pub interval: Option<String>,
    /// `--timeout`.
    pub timeout: Option<String>,
    /// `--start-period`.
    pub start_period: Option<String>,
    /// `--start-interval`.
    pub start_interval: Option<String>,
    /// `--retries`.
    pub retries: Option<u32>,
}

/// A port from `EXPOSE`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct ExposedPort {
    /// The port (the first of a range).
    pub port: u16,
    /// The last port of a range (`8000-8010`), if one.
    pub end: Option<u16>,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// One build stage: a `FROM` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stage {
    /// Its name (`FROM x AS name`), lower-cased as Docker matches it.
    pub name: Option<String>,
    /// The image it starts from, variables substituted (`node:20-alpine`, or the name of
    /// an earlier stage).
    pub base: String,
    /// The index of the earlier stage it is built from, when `base` names one.
    pub parent: Option<usize>,
    /// `--platform`, as written.
    pub platform: Option<String>,
    /// The line of its `FROM` (1-based).
    pub line: usize,
    /// `ARG`s declared in the stage.
    pub args: Vec<Arg>,
    /// `ENV` variables set in the stage.
    pub env: Vec<EnvVar>,
    /// Ports `EXPOSE`d in the stage.
    pub expose: Vec<ExposedPort>,
    /// `EXPOSE` entries that were not ports once substituted (`$PORT` with no default).
    pub unresolved_expose: Vec<String>,
    /// The last `WORKDIR` (relative ones resolved against the previous one).
    pub workdir: Option<String>,
    /// The last `USER`.
    pub user: Option<String>,
    /// The last `CMD`.
    pub cmd: Option<Command>,
    /// The last `ENTRYPOINT`.
    pub entrypoint: Option<Command>,
    /// The last `HEALTHCHECK`.
    pub healthcheck: Option<Healthcheck>,
}

/// The configuration of the image a Dockerfile produces (its final stage, with what it
/// inherits from the earlier stages it is built from).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ImageConfig {
    /// The external image the final stage is (transitively) built from.
    pub base_image: String,
    /// The exposed ports.
    pub expose: Vec<ExposedPort>,
    /// `EXPOSE` entries that could not be resolved to ports.
    pub unresolved_expose: Vec<String>,
    /// The environment.
    pub env: Vec<EnvVar>,
    /// The working folder.
    pub workdir: Option<String>,
    /// The user.
    pub user: Option<String>,
    /// The `CMD`.
    pub cmd: Option<Command>,
    /// The `ENTRYPOINT`.
    pub entrypoint: Option<Command>,
    /// The health check (`test: None` when disabled with `HEALTHCHECK NONE`).
    pub healthcheck: Option<Healthcheck>,
}

impl ImageConfig {
    /// The command the container runs: `ENTRYPOINT` then `CMD` (a shell-form
    /// `ENTRYPOINT` ignores `CMD`, as Docker does).
    pub fn command(&self) -> Option<Command> {
        let entry = self.entrypoint.as_ref().filter(|c| !c.is_empty());
        let cmd = self.cmd.as_ref().filter(|c| !c.is_empty());
        match (entry, cmd) {
            (None, None) => None,
            (None, Some(c)) => Some(c.clone()),
            (Some(Command::Shell(e)), _) => Some(Command::Shell(e.clone())),
            (Some(Command::Exec(e)), None) => Some(Command::Exec(e.clone())),
            (Some(Command::Exec(e)), Some(Command::Exec(c))) => {
                Some(Command::Exec(e.iter().chain(c).cloned().collect()))
            }
            (Some(Command::Exec(e)), Some(Command::Shell(c))) => Some(Command::Exec(
                e.iter()
                    .cloned()
                    .chain(["/bin/sh".to_string(), "-c".to_string(), c.clone()])
                    .collect(),
            )),
        }
    }
}

/// How many stages deep inheritance is followed (real files have a handful).
const MAX_CHAIN: usize = 64;

impl Dockerfile {
    /// The stage that produces the image (the last one).
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The stages the final stage is built from, itself first, then its parent...
    pub fn final_chain(&self) -> Vec<&Stage> {
        let mut chain = Vec::new();
        let mut next = self.stages.len().checked_sub(1);
        while let Some(i) = next
            && chain.len() < MAX_CHAIN
        {
            let Some(stage) = self.stages.get(i) else {
                break;
            };
            chain.push(stage);
            // A parent is always an earlier stage, so this ends.
            next = stage.parent.filter(|p| *p < i);
        }
        chain
    }

    /// The configuration of the image produced (see [`ImageConfig`]).
    pub fn image(&self) -> Option<ImageConfig> {
        let chain = self.final_chain();
        let root = chain.last()?;
        let mut config = ImageConfig {
            base_image: root.base.clone(),
            ..ImageConfig::default()
        };
        for stage in chain.iter().rev() {
            config.expose.extend(stage.expose.iter().cloned());
            config
                .unresolved_expose
                .extend(stage.unresolved_expose.iter().cloned());
            config.env.extend(stage.env.iter().cloned());
            if stage.workdir.is_some() {
                config.workdir.clone_from(&stage.workdir);
            }
            if stage.user.is_some() {
                config.user.clone_from(&stage.user);
            }
            if stage.entrypoint.is_some() {
                config.entrypoint.clone_from(&stage.entrypoint);
                // Docker: setting ENTRYPOINT resets the CMD inherited from the base.
                config.cmd = None;
            }
            if stage.cmd.is_some() {
                config.cmd.clone_from(&stage.cmd);
            }
            if stage.healthcheck.is_some() {
                config.healthcheck.clone_from(&stage.healthcheck);
            }
        }
        dedup_first(&mut config.expose, |p| p.clone());
        dedup_first(&mut config.unresolved_expose, Clone::clone);
        dedup_last(&mut config.env, |e| e.name.clone());
        Some(config)
    }
}

/// Keeps the first of the items with the same key, in order.
fn dedup_first<T, K: std::hash::Hash + Eq>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = HashSet::new();
    items.retain(|i| seen.insert(key(i)));
}

/// Keeps the last of the items with the same key (a later `ENV A` replaces an earlier
/// one), in the order of their last definition.
fn dedup_last<T, K: std::hash::Hash + Eq>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = HashSet::new();
    items.reverse();
    items.retain(|i| seen.insert(key(i)));
    items.reverse();
}

/// An image reference split into its parts (`ghcr.io/acme/api:1.2@sha256:...`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageRef {
    /// The registry host, if the reference names one (`ghcr.io`, `localhost:5000`);
    /// `docker.io` is dropped.
    pub registry: Option<String>,
    /// The repository, without `library/` for official images (`node`, `acme/api`).
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest, if any.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Splits an image reference. Never fails; odd input gives odd parts.
    pub fn parse(image: &str) -> Self {
        let image = image.trim();
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (image, None),
        };
        let (path, tag) = match rest.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_string())),
            _ => (rest, None),
        };
        let (registry, repo) = match path.split_once('/') {
            Some((first, more))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), more)
            }
            _ => (None, path),
        };
        let registry = registry.filter(|r| r != "docker.io" && r != "index.docker.io");
        let repository = if registry.is_none() {
            repo.strip_prefix("library/").unwrap_or(repo)
        } else {
            repo
        };
        Self {
            registry,
            repository: repository.to_ascii_lowercase(),
            tag: tag.filter(|t| !t.is_empty()),
            digest,
        }
    }

    /// The repository with its registry (`mcr.microsoft.com/dotnet/aspnet`, `node`).
    pub fn full_name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{}/{}", r.to_ascii_lowercase(), self.repository),
            None => self.repository.clone(),
        }
    }
}

/// Parses a Dockerfile. Fails only when it has no `FROM` instruction.
pub fn parse(text: &str) -> Result<Dockerfile, ManifestError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut df = Dockerfile {
        escape: '\\',
        ..Dockerfile::default()
    };
    let body_start = directives(&lines, &mut df);
    let instructions = logical_lines(&lines, body_start, df.escape);

    let mut stage: Option<StageBuilder> = None;
    let mut global = Vars::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for ins in instructions {
        let keyword = ins.keyword.as_str();
        if keyword == "FROM" {
            if let Some(done) = stage.take() {
                done.finish(&mut df, &mut names);
            }
            stage = Some(from(&df, &global, &names, &ins));
            continue;
        }
        let Some(current) = stage.as_mut() else {
            if keyword == "ARG" {
                for arg in parse_args(&ins.args, df.escape, &global) {
                    match &arg.default {
                        Some(d) => global.insert(arg.name.clone(), d.clone()),
                        None => global.remove(&arg.name),
                    };
                    df.global_args.push(arg);
                }
            }
            // Anything else before the first FROM is an error for Docker: ignored here.
            continue;
        };
        current.apply(&global, df.escape, keyword, &ins.args);
    }
    if let Some(done) = stage.take() {
        done.finish(&mut df, &mut names);
    }
    dedup_last(&mut df.global_args, |a| a.name.clone());
    if df.stages.is_empty() {
        return Err(ManifestError::new("no FROM instruction"));
    }
    Ok(df)
}

/// Reads the parser directives at the top; returns the index of the first other line.
fn directives(lines: &[&str], df: &mut Dockerfile) -> usize {
    let mut seen: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((key, value)) = directive(line) else {
            return i;
        };
        if seen.contains(&key) {
            return i;
        }
        match key.as_str() {
            "syntax" => df.syntax = Some(value),
            "escape" => match value.as_str() {
                "\\" => df.escape = '\\',
                "`" => df.escape = '`',
                _ => {}
            },
            "check" => {}
            // An unknown directive is a comment, and a comment ends the directives.
            _ => return i,
        }
        seen.push(key);
    }
    lines.len()
}

fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix('#')?;
    let (key, value) = rest.split_once('=')?;
    let key = key.trim();
    let value = value.trim();
    let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric())
        && !value.is_empty();
    valid.then(|| (key.to_ascii_lowercase(), value.to_string()))
}

#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
    /// The line it starts on (1-based).
    line: usize,
}

/// Joins continued lines, drops comments and blank lines, skips heredoc bodies.
fn logical_lines(lines: &[&str], start: usize, escape: char) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut continued = false;
    let mut first_line = 0;
    let mut heredoc_index: Option<Terminators<'_>> = None;
    let mut i = start;
    while let Some(raw) = lines.get(i) {
        i += 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if !continued {
            first_line = i;
        }
        let right = raw.trim_end_matches([' ', '\t']);
        if let Some(head) = right.strip_suffix(escape) {
            current.push_str(head);
            continued = true;
            continue;
        }
        current.push_str(raw);
        continued = false;
        if let Some(ins) = instruction(&current, first_line) {
            if matches!(ins.keyword.as_str(), "RUN" | "COPY" | "ADD") {
                for (word, strip_tabs) in heredoc_markers(&ins.args) {
                    let index = heredoc_index.get_or_insert_with(|| terminators(lines));
                    if let Some(end) = find_terminator(index, i, &word, strip_tabs) {
                        i = end + 1;
                    }
                }
            }
            out.push(ins);
        }
        current.clear();
    }
    if continued && let Some(ins) = instruction(&current, first_line) {
        out.push(ins);
    }
    out
}

fn instruction(line: &str, number: usize) -> Option<Instruction> {
    let line = line.trim();
    let (keyword, args) = match line.split_once(char::is_whitespace) {
        Some((k, a)) => (k, a.trim()),
        None => (line, ""),
    };
    if keyword.is_empty() {
        return None;
    }
    Some(Instruction {
        keyword: keyword.to_ascii_uppercase(),
        args: args.to_string(),
        line: number,
    })
}

/// The heredoc delimiters (`<<EOF`, `<<-EOF`, `<<"EOF"`) of a line, in order, with
/// whether leading tabs are stripped from the body (`<<-`). `<<` inside quotes and
/// `<<<` are not heredocs.
fn heredoc_markers(args: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = args.chars().collect();
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                i += 1;
                continue;
            }
            None => {}
        }
        if c == '<' && chars.get(i + 1) == Some(&'<') && chars.get(i + 2) != Some(&'<') {
            let mut j = i + 2;
            let strip = chars.get(j) == Some(&'-');
            if strip {
                j += 1;
            }
            let q = chars.get(j).copied().filter(|c| *c == '"' || *c == '\'');
            if q.is_some() {
                j += 1;
            }
            let begin = j;
            while chars.get(j).is_some_and(|c| {
                !c.is_whitespace()
                    && !matches!(c, '"' | '\'' | '<' | '>' | '|' | '&' | ';' | '(' | ')')
            }) {
                j += 1;
            }
            let word: String = chars.get(begin..j).unwrap_or_default().iter().collect();
            if q.is_some() && chars.get(j).copied() == q {
                j += 1;
            }
            if !word.is_empty() {
                out.push((word, strip));
            }
            i = j.max(i + 2);
            continue;
        }
        i += 1;
    }
    out
}

/// Where each line could end a heredoc: its text without leading tabs and trailing
/// whitespace → (line index, whether it had leading tabs). Built once, so a file full of
/// unterminated heredocs stays linear.
type Terminators<'a> = std::collections::HashMap<&'a str, Vec<(usize, bool)>>;

fn terminators<'a>(lines: &[&'a str]) -> Terminators<'a> {
    let mut index: Terminators<'a> = std::collections::HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        let key = l.trim_start_matches('\t').trim_end();
        index.entry(key).or_default().push((i, l.starts_with('\t')));
    }
    index
}

fn find_terminator(
    index: &Terminators<'_>,
    from: usize,
    word: &str,
    strip_tabs: bool,
) -> Option<usize> {
    let candidates = index.get(word)?;
    let start = candidates.partition_point(|(i, _)| *i < from);
    candidates
        .get(start..)?
        .iter()
        .find(|(_, tabbed)| strip_tabs || !tabbed)
        .map(|(i, _)| *i)
}

struct StageBuilder {
    stage: Stage,
    /// The variables in scope: the stage's `ARG`s and `ENV`s (and inherited `ENV`s).
    vars: Vars,
    /// The names set by `ENV` in the stage or its parents.
    env_names: HashSet<String>,
}

impl StageBuilder {
    fn finish(mut self, df: &mut Dockerfile, names: &mut HashMap<String, usize>) {
        dedup_last(&mut self.stage.args, |a| a.name.clone());
        dedup_last(&mut self.stage.env, |e| e.name.clone());
        dedup_first(&mut self.stage.expose, |p| p.clone());
        if let Some(n) = &self.stage.name {
            names.insert(n.clone(), df.stages.len());
        }
        df.stages.push(self.stage);
    }

    fn apply(&mut self, global: &Vars, escape: char, keyword: &str, args: &str) {
        match keyword {
            "ARG" => {
                for mut arg in parse_args(args, escape, &self.vars) {
                    if arg.default.is_none() {
                        // A global ARG re-declared in a stage brings its default in.
                        arg.default = global.get(&arg.name).cloned();
                    }
                    // An ENV of the same name wins over an ARG.
                    if let Some(d) = &arg.default
                        && !self.env_names.contains(&arg.name)
                    {
                        self.vars.insert(arg.name.clone(), d.clone());
                    }
                    self.stage.args.push(arg);
                }
            }
            "ENV" => {
                for (name, value) in parse_env(args, escape, &self.vars) {
                    self.vars.insert(name.clone(), value.clone());
                    self.env_names.insert(name.clone());
                    self.stage.env.push(EnvVar { name, value });
                }
            }
            "EXPOSE" => {
                let (_, rest) = take_flags(args);
                for word in words(rest, escape, Some(&self.vars)) {
                    if word.text.is_empty() {
                        if word.missing {
                            self.stage.unresolved_expose.push(word.raw);
                        }
                        continue;
                    }
                    match parse_port(&word.text) {
                        Some(p) => self.stage.expose.push(p),
                        None => self.stage.unresolved_expose.push(word.raw),
                    }
                }
            }
            "WORKDIR" => {
                let dir = single(args, escape, &self.vars);
                if !dir.is_empty() {
                    self.stage.workdir = Some(match (&self.stage.workdir, dir.starts_with('/')) {
                        (Some(prev), false) => {
                            format!("{}/{}", prev.trim_end_matches('/'), dir)
                        }
                        _ => dir,
                    });
                }
            }
            "USER" => {
                let user = single(args, escape, &self.vars);
                if !user.is_empty() {
                    self.stage.user = Some(user);
                }
            }
            "CMD" => self.stage.cmd = Some(command(args)),
            "ENTRYPOINT" => self.stage.entrypoint = Some(command(args)),
            "HEALTHCHECK" => self.stage.healthcheck = Some(healthcheck(args)),
            _ => {}
        }
    }
}

fn from(
    df: &Dockerfile,
    global: &Vars,
    names: &HashMap<String, usize>,
    ins: &Instruction,
) -> StageBuilder {
    let (flags, rest) = take_flags(&ins.args);
    let parts = words(rest, df.escape, Some(global));
    // `FROM ${BASE}` with no default for BASE: keep the reference as written.
    let base = parts
        .first()
        .map(|w| {
            if w.missing {
                w.raw.clone()
            } else {
                w.text.clone()
            }
        })
        .unwrap_or_default();
    let name = match (parts.get(1), parts.get(2)) {
        (Some(kw), Some(n)) if kw.text.eq_ignore_ascii_case("as") => {
            Some(n.text.to_ascii_lowercase())
        }
        _ => None,
    };
    let parent = names.get(&base.to_ascii_lowercase()).copied();
    let platform = flags
        .iter()
        .find(|(k, _)| k == "platform")
        .map(|(_, v)| v.clone());
    let mut builder = StageBuilder {
        stage: Stage {
            name,
            base,
            parent,
            platform,
            line: ins.line,
            ..Stage::default()
        },
        vars: Vars::new(),
        env_names: HashSet::new(),
    };
    // ENV is inherited from the parent stages; ARG is not.
    let mut ancestors = Vec::new();
    let mut next = parent;
    while let Some(i) = next
        && ancestors.len() < MAX_CHAIN
    {
        let Some(p) = df.stages.get(i) else { break };
        ancestors.push(p);
        next = p.parent.filter(|q| *q < i);
    }
    for p in ancestors.iter().rev() {
        for e in &p.env {
            builder.vars.insert(e.name.clone(), e.value.clone());
            builder.env_names.insert(e.name.clone());
        }
    }
    builder
}

/// `--flag=value` options at the start of an instruction's arguments.
fn take_flags(args: &str) -> (Vec<(String, String)>, &str) {
    let mut flags = Vec::new();
    let mut rest = args.trim_start();
    while let Some(after) = rest.strip_prefix("--") {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let (flag, tail) = after.split_at(end);
        let (k, v) = flag.split_once('=').unwrap_or((flag, ""));
        flags.push((k.to_ascii_lowercase(), v.to_string()));
        rest = tail.trim_start();
    }
    (flags, rest)
}

fn command(args: &str) -> Command {
    let trimmed = args.trim();
    if trimmed.starts_with('[')
        && let Ok(list) = serde_json::from_str::<Vec<String>>(trimmed)
    {
        return Command::Exec(list);
    }
    Command::Shell(trimmed.to_string())
}

fn healthcheck(args: &str) -> Healthcheck {
    let (flags, rest) = take_flags(args);
    let mut h = Healthcheck::default();
    for (k, v) in flags {
        let v = (!v.is_empty()).then_some(v);
        match k.as_str() {
            "interval" => h.interval = v,
            "timeout" => h.timeout = v,
            "start-period" => h.start_period = v,
            "start-interval" => h.start_interval = v,
            "retries" => h.retries = v.and_then(|r| r.parse().ok()),
            _ => {}
        }
    }
    let (kw, cmd) = match rest.split_once(char::is_whitespace) {
        Some((k, c)) => (k, c),
        None => (rest, ""),
    };
    if kw.eq_ignore_ascii_case("CMD") && !cmd.trim().is_empty() {
        h.test = Some(command(cmd));
    }
    h
}

fn parse_port(text: &str) -> Option<ExposedPort> {
    let (ports, protocol) = match text.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return None;
    }
    let (first, end) = match ports.split_once('-') {
        Some((a, b)) => (a, Some(b.trim().parse::<u16>().ok()?)),
        None => (ports, None),
    };
    let port: u16 = first.trim().parse().ok()?;
    (port != 0).then_some(ExposedPort {
        port,
        end: end.filter(|e| *e > port),
        protocol,
    })
}

fn parse_args(args: &str, escape: char, vars: &Vars) -> Vec<Arg> {
    words(args, escape, Some(vars))
        .into_iter()
        .filter_map(|w| {
            let (name, default) = match w.text.split_once('=') {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (w.text.clone(), None),
            };
            valid_name(&name).then_some(Arg { name, default })
        })
        .collect()
}

fn parse_env(args: &str, escape: char, vars: &Vars) -> Vec<(String, String)> {
    let first = args.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        // The legacy form: `ENV NAME the rest of the line`.
        let (name, value) = match args.trim().split_once(char::is_whitespace) {
            Some((n, v)) => (n, v.trim()),
            None => (args.trim(), ""),
        };
        if !valid_name(name) {
            return Vec::new();
        }
        return vec![(name.to_string(), single(value, escape, vars))];
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for w in words(args, escape, None) {
        let Some((name, _)) = w.raw.split_once('=') else {
            continue;
        };
        if !valid_name(name) {
            continue;
        }
        // Variables in `ENV A=1 B=$A` see the values before the instruction, as Docker.
        let value_raw = w.raw.get(name.len() + 1..).unwrap_or("");
        let value = single(value_raw, escape, vars);
        out.push((name.to_string(), value));
    }
    out
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// The whole argument as one word (quotes removed, variables substituted).
fn single(args: &str, escape: char, vars: &Vars) -> String {
    words(args, escape, Some(vars))
        .into_iter()
        .map(|w| w.text)
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug)]
struct Word {
    /// As written (quotes kept).
    raw: String,
    /// Quotes removed, escapes applied and variables substituted.
    text: String,
    /// Whether a variable in it had no value.
    missing: bool,
}

/// Splits shell-like words: whitespace-separated, `"..."` and `'...'` quoting, the
/// escape character, and variable substitution outside single quotes (when `vars` is
/// given).
fn words(s: &str, escape: char, vars: Option<&Vars>) -> Vec<Word> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        let mut text = String::new();
        let mut missing = false;
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.get(i) {
            if quote.is_none() && c.is_whitespace() {
                break;
            }
            if c == escape && quote != Some('\'') {
                if let Some(&n) = chars.get(i + 1) {
                    // In double quotes only a few characters are escaped.
                    if quote.is_none() || matches!(n, '"' | '$' | '\\' | '`') || n == escape {
                        text.push(n);
                    } else {
                        text.push(c);
                        text.push(n);
                    }
                    i += 2;
                } else {
                    text.push(c);
                    i += 1;
                }
                continue;
            }
            match (quote, c) {
                (None, '"' | '\'') => {
                    quote = Some(c);
                    i += 1;
                }
                (Some(q), _) if c == q => {
                    quote = None;
                    i += 1;
                }
                (q, '$') if q != Some('\'') && vars.is_some() => {
                    let empty = Vars::new();
                    let (value, next, miss) = substitute(&chars, i, vars.unwrap_or(&empty), 0);
                    text.push_str(&value);
                    missing |= miss;
                    i = next;
                }
                _ => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        let raw: String = chars.get(start..i).unwrap_or_default().iter().collect();
        out.push(Word { raw, text, missing });
    }
    out
}

/// How deep `${A:-${B:-...}}` defaults are substituted; deeper ones are kept as written.
const MAX_NESTING: usize = 8;

/// Substitutes the variable reference starting at `chars[at]` (a `$`). Returns the
/// value, the index after the reference, and whether the variable had no value.
fn substitute(chars: &[char], at: usize, vars: &Vars, depth: usize) -> (String, usize, bool) {
    let lookup = |name: &str| vars.get(name).cloned();
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    match chars.get(at + 1) {
        Some('{') => {
            // Find the matching brace, allowing nested `${...}` in a default.
            let mut level = 0usize;
            let mut j = at + 1;
            let mut end = None;
            while let Some(&c) = chars.get(j) {
                match c {
                    '{' => level += 1,
                    '}' => {
                        level = level.saturating_sub(1);
                        if level == 0 {
                            end = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            let Some(end) = end else {
                let rest: String = chars.get(at..).unwrap_or_default().iter().collect();
                return (rest, chars.len(), false);
            };
            if depth > MAX_NESTING {
                let raw: String = chars.get(at..=end).unwrap_or_default().iter().collect();
                return (raw, end + 1, true);
            }
            let inner: Vec<char> = chars.get(at + 2..end).unwrap_or_default().to_vec();
            let name_len = inner.iter().take_while(|c| is_name(c)).count();
            let name: String = inner.get(..name_len).unwrap_or_default().iter().collect();
            let op: String = inner.get(name_len..).unwrap_or_default().iter().collect();
            let value = lookup(&name);
            let expand_word = |w: &str| -> (String, bool) {
                let cs: Vec<char> = w.chars().collect();
                let mut out = String::new();
                let mut miss = false;
                let mut k = 0;
                while let Some(&c) = cs.get(k) {
                    if c == '$' {
                        let (v, next, m) = substitute(&cs, k, vars, depth + 1);
                        out.push_str(&v);
                        miss |= m;
                        k = next.max(k + 1);
                    } else {
                        out.push(c);
                        k += 1;
                    }
                }
                (out, miss)
            };
            let (result, miss) = if let Some(word) = op.strip_prefix(":-") {
                match value.filter(|v| !v.is_empty()) {
                    Some(v) => (v, false),
                    None => expand_word(word),
                }
            } else if let Some(word) = op.strip_prefix(":+") {
                match value.filter(|v| !v.is_empty()) {
                    Some(_) => expand_word(word),
                    None => (String::new(), false),
                }
            } else if let Some(word) = op.strip_prefix('-') {
                match value {
                    Some(v) => (v, false),
                    None => expand_word(word),
                }
            } else if let Some(word) = op.strip_prefix('+') {
                match value {
                    Some(_) => expand_word(word),
                    None => (String::new(), false),
                }
            } else {
                // `${VAR}`, `${VAR:?err}` and the pattern forms (`#`, `%`): the value.
                match value {
                    Some(v) => (v, false),
                    None => (String::new(), true),
                }
            };
            (result, end + 1, miss)
        }
        Some(c) if is_name(c) => {
            let mut j = at + 1;
            while chars.get(j).is_some_and(is_name) {
                j += 1;
            }
            let name: String = chars.get(at + 1..j).unwrap_or_default().iter().collect();
            match lookup(&name) {
                Some(v) => (v, j, false),
                None => (String::new(), j, true),
            }
        }
        _ => ("$".to_string(), at + 1, false),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn image(text: &str) -> ImageConfig {
        parse(text).unwrap().image().unwrap()
    }

    fn ports(text: &str) -> Vec<u16> {
        image(text).expose.iter().map(|p| p.port).collect()
    }

    #[test]
    fn basic_shell_and_exec_forms() {
        let c = image(
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 8000\nCMD [\"gunicorn\", \"app:app\", \"-b\", \"0.0.0.0:8000\"]\n",
        );
        assert_eq!(c.base_image, "python:3.12-slim");
        assert_eq!(c.workdir.as_deref(), Some("/app"));
        assert_eq!(
            c.command().unwrap().to_shell(),
            "gunicorn app:app -b 0.0.0.0:8000"
        );
        let c = image("FROM node:20\nCMD npm start -- --port 3000\n");
        assert_eq!(
            c.cmd,
            Some(Command::Shell("npm start -- --port 3000".into()))
        );
    }

    #[test]
    fn invalid_json_is_shell_form() {
        let c = image("FROM alpine\nCMD [\"echo\", 'hi']\n");
        assert_eq!(c.cmd, Some(Command::Shell("[\"echo\", 'hi']".into())));
    }

    #[test]
    fn instructions_are_case_insensitive_and_indented() {
        let c = image("from node:20 as Base\n  expose 3000\n\tcmd [\"node\", \"a.js\"]\n");
        assert_eq!(c.expose.first().map(|p| p.port), Some(3000));
        assert_eq!(
            c.cmd,
            Some(Command::Exec(vec!["node".into(), "a.js".into()]))
        );
        let df = parse("FROM node:20 AS Base\n").unwrap();
        assert_eq!(df.stages[0].name.as_deref(), Some("base"));
    }

    #[test]
    fn comments_and_continuations() {
        let text = "# a comment\nFROM alpine\nRUN apk add \\\n  # inside\n  curl \\\n\n  jq\nEXPOSE 80 \\\n    443\nCMD [\"sh\", \\\n \"-c\", \"run\"]\n";
        let c = image(text);
        assert_eq!(
            c.expose.iter().map(|p| p.port).collect::<Vec<_>>(),
            vec![80, 443]
        );
        assert_eq!(
            c.cmd,
            Some(Command::Exec(vec!["sh".into(), "-c".into(), "run".into()]))
        );
    }

    #[test]
    fn continuation_with_trailing_whitespace() {
        assert_eq!(ports("FROM a\nEXPOSE 1 \\   \n 2\n"), vec![1, 2]);
    }

    #[test]
    fn directives() {
        let df = parse("# syntax=docker/dockerfile:1.7\n# escape=`\nFROM mcr.microsoft.com/windows/servercore\nWORKDIR C:\\app\nEXPOSE 80 `\n  81\n").unwrap();
        assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1.7"));
        assert_eq!(df.escape, '`');
        let c = df.image().unwrap();
        assert_eq!(c.workdir.as_deref(), Some("C:\\app"));
        assert_eq!(
            c.expose.iter().map(|p| p.port).collect::<Vec<_>>(),
            vec![80, 81]
        );
    }

    #[test]
    fn directive_after_comment_is_a_comment() {
        let df = parse("# hello\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(df.escape, '\\');
        let df = parse("# unknown=1\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(df.escape, '\\');
        let df = parse("#escape = `\n#  syntax=x\nFROM a\n").unwrap();
        assert_eq!(df.escape, '`');
        assert_eq!(df.syntax.as_deref(), Some("x"));
    }

    #[test]
    fn heredocs_are_skipped() {
        let text = "FROM alpine\nRUN <<EOF\napk add curl\nEXPOSE 9999\nCMD [\"nope\"]\nEOF\nRUN <<-EOT bash\n\techo hi\n\tEOT\nCOPY <<\"A\" /a <<'B' /b\nFROM x\nA\nEXPOSE 1\nB\nEXPOSE 8080\nCMD [\"./server\"]\n";
        let df = parse(text).unwrap();
        assert_eq!(df.stages.len(), 1);
        let c = df.image().unwrap();
        assert_eq!(
            c.expose.iter().map(|p| p.port).collect::<Vec<_>>(),
            vec![8080]
        );
        assert_eq!(c.cmd, Some(Command::Exec(vec!["./server".into()])));
    }

    #[test]
    fn heredoc_lookalikes() {
        // A quoted `<<` and a here-string are not heredocs; an unterminated marker
        // swallows nothing.
        let text = "FROM a\nRUN echo \"<<EOF\"\nRUN cat <<<word\nRUN cat <<NEVER\nEXPOSE 5000\n";
        assert_eq!(ports(text), vec![5000]);
    }

    #[test]
    fn multistage_final_stage_and_inheritance() {
        let text = "ARG NODE=20\nFROM node:${NODE}-alpine AS deps\nRUN npm ci\nFROM deps AS build\nENV NODE_ENV=production\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\nFROM build AS runner\nUSER node\n";
        let df = parse(text).unwrap();
        assert_eq!(df.stages.len(), 3);
        assert_eq!(df.stages[0].base, "node:20-alpine");
        assert_eq!(df.stages[2].parent, Some(1));
        let c = df.image().unwrap();
        assert_eq!(c.base_image, "node:20-alpine");
        assert_eq!(c.user.as_deref(), Some("node"));
        assert_eq!(c.expose[0].port, 3000);
        assert_eq!(c.env[0].name, "NODE_ENV");
        assert_eq!(c.command().unwrap().to_shell(), "node server.js");
    }

    #[test]
    fn final_stage_from_external_image_inherits_nothing() {
        let text = "FROM golang:1.22 AS build\nEXPOSE 1\nCMD [\"x\"]\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n";
        let c = image(text);
        assert_eq!(c.base_image, "gcr.io/distroless/static");
        assert!(c.expose.is_empty());
        assert_eq!(c.command().unwrap().to_shell(), "/app");
    }

    #[test]
    fn entrypoint_resets_inherited_cmd() {
        let text = "FROM a AS base\nCMD [\"serve\"]\nFROM base\nENTRYPOINT [\"tini\", \"--\"]\n";
        assert_eq!(image(text).command().unwrap().to_shell(), "tini --");
        let text = "FROM a\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"node\", \"index.js\"]\n";
        assert_eq!(
            image(text).command().unwrap().to_shell(),
            "tini -- node index.js"
        );
        let text = "FROM a\nENTRYPOINT exec java -jar app.jar\nCMD [\"ignored\"]\n";
        assert_eq!(
            image(text).command().unwrap().to_shell(),
            "exec java -jar app.jar"
        );
        let text = "FROM a\nENTRYPOINT [\"/entry.sh\"]\nCMD run server\n";
        assert_eq!(
            image(text).command().unwrap().to_shell(),
            "/entry.sh /bin/sh -c 'run server'"
        );
    }

    #[test]
    fn global_args_need_redeclaring_in_a_stage() {
        let text =
            "ARG PORT=8080\nARG VERSION\nFROM alpine:${VERSION:-3.20}\nARG PORT\nEXPOSE $PORT\n";
        let df = parse(text).unwrap();
        assert_eq!(df.stages[0].base, "alpine:3.20");
        assert_eq!(ports(text), vec![8080]);
        // Not re-declared: not visible.
        let text = "ARG PORT=8080\nFROM alpine\nEXPOSE $PORT\n";
        let c = image(text);
        assert!(c.expose.is_empty());
        assert_eq!(c.unresolved_expose, vec!["$PORT"]);
    }

    #[test]
    fn expose_forms() {
        assert_eq!(
            image("FROM a\nEXPOSE 80/tcp 53/udp 8000-8010 9000/TCP\n").expose,
            vec![
                ExposedPort {
                    port: 80,
                    end: None,
                    protocol: "tcp".into()
                },
                ExposedPort {
                    port: 53,
                    end: None,
                    protocol: "udp".into()
                },
                ExposedPort {
                    port: 8000,
                    end: Some(8010),
                    protocol: "tcp".into()
                },
                ExposedPort {
                    port: 9000,
                    end: None,
                    protocol: "tcp".into()
                },
            ]
        );
        assert_eq!(
            ports("FROM a\nENV PORT=3000\nEXPOSE ${PORT}/tcp $PORT\n"),
            vec![3000]
        );
        assert_eq!(ports("FROM a\nARG P=5000\nEXPOSE $P\n"), vec![5000]);
        assert_eq!(ports("FROM a\nEXPOSE ${P:-7000}\n"), vec![7000]);
        let c = image("FROM a\nEXPOSE 99999 0 abc $NOPE\n");
        assert!(c.expose.is_empty());
        assert_eq!(c.unresolved_expose, vec!["99999", "0", "abc", "$NOPE"]);
    }

    #[test]
    fn env_forms() {
        let c = image(
            "FROM a\nENV A=1 B=\"two words\" C=x\\ y\nENV LEGACY some value here\nENV D=$A-${B}\n",
        );
        let env: Vec<(&str, &str)> = c
            .env
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            env,
            vec![
                ("A", "1"),
                ("B", "two words"),
                ("C", "x y"),
                ("LEGACY", "some value here"),
                ("D", "1-two words"),
            ]
        );
        // Single quotes stop substitution.
        let c = image("FROM a\nENV A=1\nENV B='$A'\n");
        assert_eq!(c.env[1].value, "$A");
    }

    #[test]
    fn env_wins_over_arg_and_is_inherited() {
        let text = "FROM a AS one\nENV PORT=4000\nARG PORT=1\nFROM one\nEXPOSE $PORT\n";
        assert_eq!(ports(text), vec![4000]);
    }

    #[test]
    fn substitution_table() {
        let vars: Vars = [
            ("SET".to_string(), "v".to_string()),
            ("EMPTY".to_string(), String::new()),
        ]
        .into();
        let cases = [
            ("$SET", "v"),
            ("${SET}", "v"),
            ("${UNSET}", ""),
            ("${UNSET:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${UNSET-d}", "d"),
            ("${SET:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET:-${SET}x}", "vx"),
            ("a$SET.b", "av.b"),
            ("\\$SET", "$SET"),
            ("$", "$"),
            ("${unclosed", "${unclosed"),
            ("'$SET'", "$SET"),
            ("\"$SET\"", "v"),
        ];
        for (input, want) in cases {
            assert_eq!(single(input, '\\', &vars), want, "{input}");
        }
    }

    #[test]
    fn workdir_and_user() {
        let c = image("FROM a\nWORKDIR /app\nWORKDIR src\nARG U=app\nUSER $U:$U\n");
        assert_eq!(c.workdir.as_deref(), Some("/app/src"));
        assert_eq!(c.user.as_deref(), Some("app:app"));
    }

    #[test]
    fn healthchecks() {
        let c = image(
            "FROM a\nHEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD curl -f http://localhost/ || exit 1\n",
        );
        let h = c.healthcheck.unwrap();
        assert_eq!(h.interval.as_deref(), Some("30s"));
        assert_eq!(h.timeout.as_deref(), Some("3s"));
        assert_eq!(h.retries, Some(3));
        assert_eq!(
            h.test,
            Some(Command::Shell("curl -f http://localhost/ || exit 1".into()))
        );
        let c = image(
            "FROM a\nhealthcheck cmd [\"wget\", \"-qO-\", \"http://localhost:8080/health\"]\n",
        );
        assert_eq!(
            c.healthcheck.unwrap().test.unwrap().to_shell(),
            "wget -qO- http://localhost:8080/health"
        );
        let c = image("FROM a AS b\nHEALTHCHECK CMD true\nFROM b\nHEALTHCHECK NONE\n");
        assert_eq!(c.healthcheck.unwrap().test, None);
    }

    #[test]
    fn from_without_a_default_keeps_the_reference() {
        let df = parse("ARG BASE\nFROM ${BASE}\nFROM node:${V}\n").unwrap();
        assert_eq!(df.stages[0].base, "${BASE}");
        assert_eq!(df.stages[1].base, "node:${V}");
    }

    #[test]
    fn from_flags_and_platform() {
        let df = parse("FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build\n").unwrap();
        let s = &df.stages[0];
        assert_eq!(s.platform.as_deref(), Some("$BUILDPLATFORM"));
        assert_eq!(s.base, "golang:1.22-alpine");
        assert_eq!(s.name.as_deref(), Some("build"));
    }

    #[test]
    fn crlf_and_bom_free_input() {
        let c = image("FROM node:20\r\nEXPOSE 3000\r\nCMD [\"npm\", \"start\"]\r\n");
        assert_eq!(c.expose[0].port, 3000);
        assert_eq!(c.command().unwrap().to_shell(), "npm start");
    }

    #[test]
    fn no_from_is_an_error() {
        assert!(parse("").is_err());
        assert!(parse("# just a comment\nRUN echo\n").is_err());
    }

    #[test]
    fn quoting_exec_args() {
        assert_eq!(
            join_args(&[
                "sh".into(),
                "-c".into(),
                "echo hi && run".into(),
                "it's".into()
            ]),
            "sh -c 'echo hi && run' 'it'\\''s'"
        );
    }

    #[test]
    fn image_refs() {
        let r = ImageRef::parse("node:20-alpine");
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref()),
            ("node", Some("20-alpine"))
        );
        let r = ImageRef::parse("docker.io/library/python:3.12@sha256:abc");
        assert_eq!(r.full_name(), "python");
        assert_eq!(r.tag.as_deref(), Some("3.12"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r = ImageRef::parse("localhost:5000/acme/api");
        assert_eq!(r.full_name(), "localhost:5000/acme/api");
        assert_eq!(r.tag, None);
        let r = ImageRef::parse("mcr.microsoft.com/dotnet/aspnet:8.0");
        assert_eq!(r.full_name(), "mcr.microsoft.com/dotnet/aspnet");
        assert_eq!(r.tag.as_deref(), Some("8.0"));
    }

    #[test]
    fn weird_input_never_panics() {
        let samples = [
            "FROM",
            "FROM \\",
            "\\",
            "FROM a\nEXPOSE ${",
            "FROM a\nEXPOSE ${${${",
            "FROM a\nENV =",
            "FROM a\nENV",
            "FROM a\nARG ${X:-${Y:-}}=1",
            "FROM a\nRUN <<",
            "FROM a\nRUN <<-'",
            "FROM a\nHEALTHCHECK",
            "FROM a\nHEALTHCHECK --interval",
            "FROM a\nCMD [",
            "# escape=`\nFROM a `",
            "FROM a AS",
            "FROM é\nEXPOSE é/é-é\nWORKDIR é\nUSER \"",
            "FROM a\nEXPOSE 1-\nEXPOSE -1\nEXPOSE 5-2\n",
            "\u{0}\u{1}FROM\u{feff}",
        ];
        for s in samples {
            let _ = parse(s).map(|d| d.image());
        }
        // Pathological sizes stay fast and shallow.
        let deep = format!(
            "FROM a\nEXPOSE {}{}\n",
            "${A:-".repeat(50_000),
            "}".repeat(50_000)
        );
        let _ = parse(&deep).map(|d| d.image());
        let heredocs = "FROM a AS b\nRUN <<X <<Y\nENV A$0=1\n".repeat(20_000);
        let _ = parse(&heredocs).map(|d| d.image());
        let chain = format!(
            "FROM a AS s\n{}",
            "FROM s AS s\nEXPOSE 1 2\n".repeat(20_000)
        );
        let _ = parse(&chain).map(|d| d.image());
        // Every prefix of a realistic file.
        let text = "# syntax=docker/dockerfile:1\nARG V=20\nFROM node:${V} AS a\nRUN <<EOF\nx\nEOF\nENV A=\"b c\" D='e'\nEXPOSE $A 80/udp\nHEALTHCHECK --interval=1s CMD [\"x\"]\nFROM a\nCMD [\"node\"]\n";
        for end in 0..=text.len() {
            if let Some(prefix) = text.get(..end) {
                let _ = parse(prefix).map(|d| d.image());
            }
        }
    }

    const FRAGMENTS: &[&str] = &[
        "FROM ",
        "from ",
        "node:20",
        " AS ",
        "b",
        "ARG ",
        "ENV ",
        "EXPOSE ",
        "CMD ",
        "ENTRYPOINT ",
        "HEALTHCHECK ",
        "NONE",
        "--interval=",
        "WORKDIR ",
        "USER ",
        "RUN ",
        "COPY ",
        "<<",
        "<<-",
        "EOF",
        "'",
        "\"",
        "[",
        "]",
        ",",
        "\\",
        "`",
        "$",
        "${",
        "}",
        ":-",
        ":+",
        "=",
        "/",
        "-",
        "8080",
        "/udp",
        " ",
        "\t",
        "\n",
        "\r\n",
        "#",
        "# escape=`\n",
        "# syntax=x\n",
        "é",
        "\u{0}",
    ];

    proptest::proptest! {
        #[test]
        fn never_panics_on_fragments(parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..60)) {
            let text: String = parts.concat();
            let _ = parse(&text).map(|d| (d.image(), d.image().and_then(|c| c.command())));
        }

        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,200}") {
            let _ = parse(&text).map(|d| d.image());
        }
    }
}
