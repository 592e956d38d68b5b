//! Parser of compose files (`compose.yaml`, `docker-compose.yml`...) per the compose
//! specification, lenient about the many shapes a field may take.
//!
//! - `services.<name>`: `build` (a context string or `{context, dockerfile, args (map or
//!   list), target}`), `image`, `command` / `entrypoint` (string or list), `ports` (short
//!   syntax `8080:80`, `127.0.0.1:8080:80/udp`, `80`, ranges, `[::1]:80:80`; long
//!   syntax `{target, published, host_ip, protocol}`), `expose`, `environment` (map or
//!   `KEY=VAL` / `KEY` list), `env_file` (string, list, `{path, required}`),
//!   `depends_on` (list, or map with a `condition`), `healthcheck` (`test` as a string,
//!   `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`; `disable`), `profiles`,
//!   `deploy.replicas` / `scale`, `extends` (a service of the same file).
//! - Top-level `name`, `services`, `include` (listed, not followed: the caller may read
//!   them); `x-` extensions, networks, volumes, configs and secrets are ignored. YAML
//!   anchors and `<<` merge keys work.
//! - Variable interpolation ([`interpolate`]): `$VAR`, `${VAR}`, `${VAR:-default}`,
//!   `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, `$$`,
//!   nested defaults. Variables come from [`Variables`] (the `.env` next to the compose
//!   file, read by [`Variables::from_dotenv`]); a variable with no value and no default
//!   becomes an empty string and a warning. To keep `.env` values out of everything
//!   Kyozo shows, the parsed result never holds `environment` or build `args` values
//!   (names only), and `command`, `entrypoint` and `healthcheck.test` keep their
//!   variable references as written (only `$$` is unescaped).
//! - [`merge_layers`] lays an override file (`compose.override.yaml`)
//!   over a base file with the compose merge rules.

use std::collections::BTreeMap;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ManifestError;

/// A parsed compose file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ComposeFile {
    /// The top-level `name` (the project name), if set.
    pub name: Option<String>,
    /// The services, in file order.
    pub services: Vec<Service>,
    /// Top-level `include` entries (other compose files), not followed by the parser.
    pub includes: Vec<Include>,
    /// What the parser could not honour (unset variables, unsupported fields...), each
    /// with the field concerned.
    pub warnings: Vec<Warning>,
}

/// Something the parser could not honour.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Warning {
    /// The field concerned (`services.web.ports[0]`).
    pub at: String,
    /// What happened.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// A top-level `include` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Include {
    /// The compose files it includes, relative to the including file's folder.
    pub paths: Vec<String>,
    /// The folder relative paths of the included files resolve from, if not theirs.
    pub project_directory: Option<String>,
    /// The env files its variables come from, if not the included project's `.env`.
    pub env_files: Vec<String>,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Service {
    /// Its name (the key under `services`).
    pub name: String,
    /// How its image is built, if it is.
    pub build: Option<Build>,
    /// The image it runs (or the name given to the image it builds).
    pub image: Option<String>,
    /// `command`.
    pub command: Option<Command>,
    /// `entrypoint`.
    pub entrypoint: Option<Command>,
    /// `ports`.
    pub ports: Vec<PortMapping>,
    /// `expose`: container ports not published on the host.
    pub expose: Vec<PortRange>,
    /// `environment` variable names (values are not kept).
    pub environment: Vec<String>,
    /// `env_file` entries.
    pub env_files: Vec<EnvFile>,
    /// `depends_on`.
    pub depends_on: Vec<Dependency>,
    /// `healthcheck`.
    pub healthcheck: Option<Healthcheck>,
    /// `profiles`: the service only starts when one of them is enabled.
    pub profiles: Vec<String>,
    /// `deploy.replicas` (or the legacy `scale`).
    pub replicas: Option<u32>,
}

/// `build`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Build {
    /// The build context, relative to the compose file's folder (`.` by default), or a
    /// URL.
    pub context: String,
    /// The Dockerfile, relative to the context, if not `Dockerfile`.
    pub dockerfile: Option<String>,
    /// Whether the Dockerfile is written inline (`dockerfile_inline`).
    pub dockerfile_inline: bool,
    /// The build argument names (values are not kept).
    pub args: Vec<String>,
    /// The stage to build (`target`).
    pub target: Option<String>,
}

/// A command: `command: npm start` or `command: ["npm", "start"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The list form.
    Exec(Vec<String>),
    /// The string form.
    Shell(String),
}

impl Command {
    /// The command as one line (list arguments joined, quoted when needed).
    pub fn to_shell(&self) -> String {
        match self {
            Command::Exec(args) => super::dockerfile::join_args(args),
            Command::Shell(s) => s.clone(),
        }
    }
}

/// A range of ports (`8000-8010`), or one port (`end` is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct PortRange {
    /// The first port.
    pub start: u16,
    /// The last port of a range.
    pub end: Option<u16>,
}

/// A `ports` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct PortMapping {
    /// The container port(s).
    pub target: PortRange,
    /// The host port(s), as written (`8080`, `9000-9010`), if published on a fixed port.
    pub published: Option<String>,
    /// The host address it binds, if any.
    pub host_ip: Option<String>,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// An `env_file` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct EnvFile {
    /// The file, relative to the compose file's folder.
    pub path: String,
    /// Whether compose fails when it is missing (`required: false` lets it be absent).
    pub required: bool,
}

/// A `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Dependency {
    /// The service depended on.
    pub service: String,
    /// When the dependency counts as ready.
    pub condition: Condition,
    /// Whether the dependency is required (`required: false` tolerates its absence).
    pub required: bool,
}

/// A `depends_on` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Condition {
    /// `service_started` (the default).
    #[default]
    Started,
    /// `service_healthy`: its health check passes.
    Healthy,
    /// `service_completed_successfully`: it ran to completion (a migration job...).
    CompletedSuccessfully,
}

/// `healthcheck`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Healthcheck {
    /// The test, `None` when not set here.
    pub test: Option<HealthTest>,
    /// Whether the check is disabled (`disable: true` or `test: ["NONE"]`).
    pub disable: bool,
    /// `interval`.
    pub interval: Option<String>,
    /// `timeout`.
    pub timeout: Option<String>,
    /// `start_period`.
    pub start_period: Option<String>,
    /// `retries`.
    pub retries: Option<u32>,
}

/// A health check test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthTest {
    /// `["CMD", "curl", "-f", "http://localhost"]`: run directly.
    Exec(Vec<String>),
    /// `"curl -f http://localhost"` or `["CMD-SHELL", "..."]`: run with a shell.
    Shell(String),
}

impl HealthTest {
    /// The test as one line.
    pub fn to_shell(&self) -> String {
        match self {
            HealthTest::Exec(args) => super::dockerfile::join_args(args),
            HealthTest::Shell(s) => s.clone(),
        }
    }
}

/// Variables for interpolation. Their values are never shown: `Debug` prints names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Variables {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The names set.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The variables of a dotenv file (`KEY=value`, `export KEY=value`, `"..."` with
    /// escapes and several lines, `'...'` literal, ` #` comments after unquoted values,
    /// `${VAR}` of earlier lines interpolated).
    pub fn from_dotenv(text: &str) -> Self {
        let mut vars = Variables::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let Some((name, rest)) = line.split_once('=') else {
                continue;
            };
            let name = name.trim();
            let valid = name.chars().next().is_some_and(|c| !c.is_ascii_digit())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
            if !valid {
                continue;
            }
            let rest = rest.trim_start();
            let value = if let Some(quoted) = rest.strip_prefix('"') {
                let mut raw = quoted.to_string();
                while closing_quote(&raw).is_none() {
                    match lines.next() {
                        Some(more) => {
                            raw.push('\n');
                            raw.push_str(more);
                        }
                        None => break,
                    }
                }
                let body = match closing_quote(&raw) {
                    Some(end) => raw.get(..end).unwrap_or_default().to_string(),
                    None => raw,
                };
                let unescaped = unescape_double(&body);
                interpolate(&unescaped, &vars, &mut Vec::new(), "")
            } else if let Some(quoted) = rest.strip_prefix('\'') {
                match quoted.find('\'') {
                    Some(end) => quoted.get(..end).unwrap_or_default().to_string(),
                    None => quoted.to_string(),
                }
            } else {
                let value = match rest.find(" #").or_else(|| rest.find("\t#")) {
                    Some(i) => rest.get(..i).unwrap_or_default(),
                    None => rest,
                };
                interpolate(value.trim(), &vars, &mut Vec::new(), "")
            };
            vars.set(name, value);
        }
        vars
    }
}

/// The index of the first unescaped `"` in `s`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn unescape_double(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// How deep `${A:-${B:-...}}` defaults are interpolated; deeper ones stay as written.
const MAX_NESTING: usize = 8;

/// Interpolates `text` with `vars` per the compose specification. Problems (a variable
/// with no value and no default, a `${VAR:?error}` unsatisfied, a malformed reference)
/// are added to `warnings` as `at: message`; the result then holds an empty string (or
/// the malformed text as written).
pub fn interpolate(text: &str, vars: &Variables, warnings: &mut Vec<Warning>, at: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    interpolate_chars(&chars, vars, warnings, at, 0)
}

fn interpolate_chars(
    chars: &[char],
    vars: &Variables,
    warnings: &mut Vec<Warning>,
    at: &str,
    depth: usize,
) -> String {
    let is_start = |c: &char| c.is_ascii_alphabetic() || *c == '_';
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some(n) if is_start(n) => {
                let mut j = i + 1;
                while chars.get(j).is_some_and(is_name) {
                    j += 1;
                }
                let name: String = chars.get(i + 1..j).unwrap_or_default().iter().collect();
                match vars.get(&name) {
                    Some(v) => out.push_str(v),
                    None => warn(warnings, at, unset(&name)),
                }
                i = j;
            }
            Some('{') => {
                let Some(end) = matching_brace(chars, i + 1) else {
                    let rest: String = chars.get(i..).unwrap_or_default().iter().collect();
                    warn(
                        warnings,
                        at,
                        format!("unclosed variable reference {rest:?}: kept as written"),
                    );
                    out.push_str(&rest);
                    break;
                };
                let raw: String = chars.get(i..=end).unwrap_or_default().iter().collect();
                let inner = chars.get(i + 2..end).unwrap_or_default();
                i = end + 1;
                let name_len = if inner.first().is_some_and(is_start) {
                    inner.iter().take_while(|c| is_name(c)).count()
                } else {
                    0
                };
                if name_len == 0 || depth >= MAX_NESTING {
                    warn(
                        warnings,
                        at,
                        format!("invalid variable reference {raw}: kept as written"),
                    );
                    out.push_str(&raw);
                    continue;
                }
                let name: String = inner.get(..name_len).unwrap_or_default().iter().collect();
                let rest = inner.get(name_len..).unwrap_or_default();
                let (op, word) = match rest {
                    [':', o @ ('-' | '+' | '?'), w @ ..] => (vec![':', *o], w),
                    [o @ ('-' | '+' | '?'), w @ ..] => (vec![*o], w),
                    [] => (Vec::new(), rest),
                    _ => {
                        warn(
                            warnings,
                            at,
                            format!("invalid variable reference {raw}: kept as written"),
                        );
                        out.push_str(&raw);
                        continue;
                    }
                };
                let value = vars.get(&name);
                let colon = op.first() == Some(&':');
                // With a colon, an empty value counts as unset.
                let present = value.filter(|v| !colon || !v.is_empty());
                match (op.last(), present) {
                    (None, Some(v)) => out.push_str(v),
                    (None, None) => warn(warnings, at, unset(&name)),
                    (Some('-'), Some(v)) => out.push_str(v),
                    (Some('-'), None) => {
                        out.push_str(&interpolate_chars(word, vars, warnings, at, depth + 1));
                    }
                    (Some('+'), Some(_)) => {
                        out.push_str(&interpolate_chars(word, vars, warnings, at, depth + 1));
                    }
                    (Some('+'), None) => {}
                    (Some(_), Some(v)) => out.push_str(v),
                    (Some(_), None) => {
                        let message = interpolate_chars(word, vars, &mut Vec::new(), at, depth + 1);
                        warn(
                            warnings,
                            at,
                            format!(
                                "required variable {name} has no value ({message}): an empty string is used"
                            ),
                        );
                    }
                }
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}

fn unset(name: &str) -> String {
    format!("variable {name} is not set: an empty string is used")
}

/// Whether a service's `volumes` mount a path of the host (`/etc:/x`, `./data:/x`,
/// `~/x:/x`, `type: bind`); named volumes are not host paths.
fn mounts_host_paths(volumes: Option<&Node>) -> bool {
    let Some(Node::Seq(entries)) = volumes else {
        return false;
    };
    entries.iter().any(|v| match v {
        Node::Scalar(text) => {
            let source = text.split(':').next().unwrap_or_default();
            text.contains(':') && (source.starts_with(['/', '.', '~', '$']) || source.contains('/'))
        }
        Node::Map(_) => matches!(v.get("type"), Some(Node::Scalar(t)) if t == "bind"),
        _ => false,
    })
}

/// Service keys Kyozo does not apply when it runs a service (privileges, host
/// namespaces, devices, mounts of the host's files: `volumes` only when one is a host
/// path), sorted.
pub const DROPPED_KEYS: &[&str] = &[
    "cap_add",
    "cgroup_parent",
    "cgroupns_mode",
    "device_cgroup_rules",
    "devices",
    "extra_hosts",
    "ipc",
    "network_mode",
    "pid",
    "privileged",
    "security_opt",
    "sysctls",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
];

fn warn(warnings: &mut Vec<Warning>, at: &str, message: String) {
    let w = Warning {
        at: at.to_string(),
        message,
    };
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

/// The index of the `}` closing the `{` at `open`, allowing nested braces.
fn matching_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut level = 0usize;
    let mut j = open;
    while let Some(&c) = chars.get(j) {
        match c {
            '{' => level += 1,
            '}' => {
                level = level.saturating_sub(1);
                if level == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// A YAML value with every scalar as text (the compose fields are read as text and
/// converted where a number is expected).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Scalar(_) => "a scalar",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_char<E>(self, v: char) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(v))
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            let key = match key {
                Node::Scalar(k) => k,
                Node::Null => "null".to_string(),
                // A list or mapping as a key: nothing compose defines.
                _ => continue,
            };
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// One compose file, parsed but not yet merged with the others of its project
/// (override files) nor resolved (`extends`). See [`parse_layer`] and [`merge_layers`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layer {
    name: Option<String>,
    services: Vec<RawService>,
    includes: Vec<Include>,
    warnings: Vec<Warning>,
}

impl Layer {
    /// The warnings of this file so far.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// A service as this file alone defines it (not merged with other files, `extends`
    /// not resolved): what an override file changes. Fields it does not set are empty.
    pub fn service(&self, name: &str) -> Option<Service> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.clone().finish())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct RawBuild {
    context: Option<String>,
    dockerfile: Option<String>,
    inline: Option<bool>,
    args: Vec<String>,
    target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct RawHealth {
    /// `Some(None)`: `["NONE"]`.
    test: Option<Option<HealthTest>>,
    disable: Option<bool>,
    interval: Option<String>,
    timeout: Option<String>,
    start_period: Option<String>,
    retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct RawService {
    name: String,
    build: Option<RawBuild>,
    image: Option<String>,
    command: Option<Command>,
    entrypoint: Option<Command>,
    ports: Vec<PortMapping>,
    expose: Vec<PortRange>,
    environment: Vec<String>,
    env_files: Vec<EnvFile>,
    depends_on: Vec<Dependency>,
    healthcheck: Option<RawHealth>,
    profiles: Option<Vec<String>>,
    replicas: Option<u32>,
    /// `extends`: the service, and the file when it is another one.
    extends: Option<(String, Option<String>)>,
}

fn push_unique<T: PartialEq>(into: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

impl RawService {
    /// Lays `over` on `self` with the compose merge rules: single values are replaced,
    /// lists appended, mappings merged by key.
    fn overlay(&mut self, over: &RawService) {
        match (&mut self.build, &over.build) {
            (Some(b), Some(o)) => {
                if o.context.is_some() {
                    b.context.clone_from(&o.context);
                }
                if o.dockerfile.is_some() {
                    b.dockerfile.clone_from(&o.dockerfile);
                }
                if o.inline.is_some() {
                    b.inline = o.inline;
                }
                if o.target.is_some() {
                    b.target.clone_from(&o.target);
                }
                push_unique(&mut b.args, o.args.iter().cloned());
            }
            (None, Some(o)) => self.build = Some(o.clone()),
            _ => {}
        }
        if over.image.is_some() {
            self.image.clone_from(&over.image);
        }
        if over.command.is_some() {
            self.command.clone_from(&over.command);
        }
        if over.entrypoint.is_some() {
            self.entrypoint.clone_from(&over.entrypoint);
        }
        push_unique(&mut self.ports, over.ports.iter().cloned());
        push_unique(&mut self.expose, over.expose.iter().copied());
        push_unique(&mut self.environment, over.environment.iter().cloned());
        for f in &over.env_files {
            if !self.env_files.iter().any(|x| x.path == f.path) {
                self.env_files.push(f.clone());
            }
        }
        for d in &over.depends_on {
            match self.depends_on.iter_mut().find(|x| x.service == d.service) {
                Some(x) => *x = d.clone(),
                None => self.depends_on.push(d.clone()),
            }
        }
        match (&mut self.healthcheck, &over.healthcheck) {
            (Some(h), Some(o)) => {
                if o.test.is_some() {
                    h.test.clone_from(&o.test);
                }
                if o.disable.is_some() {
                    h.disable = o.disable;
                }
                if o.interval.is_some() {
                    h.interval.clone_from(&o.interval);
                }
                if o.timeout.is_some() {
                    h.timeout.clone_from(&o.timeout);
                }
                if o.start_period.is_some() {
                    h.start_period.clone_from(&o.start_period);
                }
                if o.retries.is_some() {
                    h.retries = o.retries;
                }
            }
            (None, Some(o)) => self.healthcheck = Some(o.clone()),
            _ => {}
        }
        if over.profiles.is_some() {
            self.profiles.clone_from(&over.profiles);
        }
        if over.replicas.is_some() {
            self.replicas = over.replicas;
        }
        if over.extends.is_some() {
            self.extends.clone_from(&over.extends);
        }
    }

    fn finish(self) -> Service {
        let healthcheck = self.healthcheck.map(|h| {
            let none = matches!(h.test, Some(None));
            Healthcheck {
                test: h.test.flatten(),
                disable: h.disable.unwrap_or(false) || none,
                interval: h.interval,
                timeout: h.timeout,
                start_period: h.start_period,
                retries: h.retries,
            }
        });
        Service {
            name: self.name,
            build: self.build.map(|b| Build {
                context: b
                    .context
                    .filter(|c| !c.trim().is_empty())
                    .unwrap_or_else(|| ".".to_string()),
                dockerfile: b.dockerfile.filter(|d| !d.trim().is_empty()),
                dockerfile_inline: b.inline.unwrap_or(false),
                args: b.args,
                target: b.target,
            }),
            image: self.image.filter(|i| !i.trim().is_empty()),
            command: self.command,
            entrypoint: self.entrypoint,
            ports: self.ports,
            expose: self.expose,
            environment: self.environment,
            env_files: self.env_files,
            depends_on: self.depends_on,
            healthcheck,
            profiles: self.profiles.unwrap_or_default(),
            replicas: self.replicas,
        }
    }
}

/// Parses a compose file with no variables (every reference falls back to its default
/// or an empty string, with a warning).
pub fn parse(text: &str) -> Result<ComposeFile, ManifestError> {
    parse_with(text, &Variables::new())
}

/// Parses a compose file, interpolating `vars`.
pub fn parse_with(text: &str, vars: &Variables) -> Result<ComposeFile, ManifestError> {
    Ok(merge_layers(vec![parse_layer(text, vars)?]))
}

/// Parses one compose file of a project, interpolating `vars`, to be merged with its
/// override files by [`merge_layers`].
pub fn parse_layer(text: &str, vars: &Variables) -> Result<Layer, ManifestError> {
    // YAML 1.2 booleans, as compose (`off:` is a service name, not `false`).
    let options = serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
    };
    let root: Node = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let message = e.to_string();
        ManifestError::new(message.lines().next().unwrap_or("invalid YAML").to_string())
    })?;
    let top = match root {
        Node::Map(_) => root,
        Node::Null => return Err(ManifestError::new("empty compose file")),
        other => {
            return Err(ManifestError::new(format!(
                "a compose file is a mapping, not {}",
                other.kind()
            )));
        }
    };
    let mut ctx = Ctx {
        vars,
        warnings: Vec::new(),
    };
    let mut layer = Layer {
        name: top.get("name").and_then(|n| ctx.text(n, "name")),
        ..Layer::default()
    };
    match top.get("services") {
        None | Some(Node::Null) => {}
        Some(Node::Map(entries)) => {
            for (name, node) in entries {
                if let Some(s) = ctx.service(name, node) {
                    layer.services.push(s);
                }
            }
        }
        Some(other) => {
            return Err(ManifestError::new(format!(
                "services is {}, not a mapping",
                other.kind()
            )));
        }
    }
    if let Some(include) = top.get("include") {
        layer.includes = ctx.includes(include);
    }
    layer.warnings = ctx.warnings;
    Ok(layer)
}

/// Merges the files of a project in order (a base file, then its overrides) and
/// resolves `extends` between its services.
pub fn merge_layers(layers: Vec<Layer>) -> ComposeFile {
    let mut name = None;
    let mut services: Vec<RawService> = Vec::new();
    let mut includes = Vec::new();
    let mut warnings = Vec::new();
    for layer in layers {
        if layer.name.is_some() {
            name = layer.name;
        }
        for s in layer.services {
            match services.iter_mut().find(|x| x.name == s.name) {
                Some(existing) => existing.overlay(&s),
                None => services.push(s),
            }
        }
        includes.extend(layer.includes);
        warnings.extend(layer.warnings);
    }
    let resolved: Vec<RawService> = services
        .iter()
        .map(|s| resolve_extends(s, &services, &mut warnings, 0))
        .collect();
    ComposeFile {
        name,
        services: resolved.into_iter().map(RawService::finish).collect(),
        includes,
        warnings,
    }
}

/// How many `extends` hops are followed (a cycle stops there).
const MAX_EXTENDS: usize = 10;

fn resolve_extends(
    service: &RawService,
    all: &[RawService],
    warnings: &mut Vec<Warning>,
    depth: usize,
) -> RawService {
    let Some((base_name, file)) = &service.extends else {
        return service.clone();
    };
    let at = format!("services.{}.extends", service.name);
    if file.is_some() {
        warn(
            warnings,
            &at,
            "extends from another file is not followed".to_string(),
        );
        return service.clone();
    }
    let Some(base) = all.iter().find(|s| &s.name == base_name) else {
        warn(warnings, &at, format!("no service {base_name} to extend"));
        return service.clone();
    };
    if depth >= MAX_EXTENDS {
        warn(warnings, &at, "extends cycle: stopped".to_string());
        return service.clone();
    }
    let mut merged = resolve_extends(base, all, warnings, depth + 1);
    merged.name.clone_from(&service.name);
    // depends_on is not inherited (compose spec).
    merged.depends_on.clear();
    merged.extends = None;
    let mut own = service.clone();
    own.extends = None;
    merged.overlay(&own);
    merged
}

/// What a warning quotes of a scalar (the `i`th of a list, or the scalar itself): its
/// text as written, variable references kept. The interpolated text is never quoted:
/// its variables come from `.env`, which holds secrets.
fn as_written(node: &Node, i: usize) -> String {
    let node = match node {
        Node::Seq(items) => items.get(i).unwrap_or(node),
        other => other,
    };
    match node {
        Node::Scalar(s) => s.clone(),
        other => other.kind().to_string(),
    }
}

/// Conversion state: the variables and the warnings so far.
struct Ctx<'a> {
    vars: &'a Variables,
    warnings: Vec<Warning>,
}

impl Ctx<'_> {
    fn warn(&mut self, at: &str, message: String) {
        warn(&mut self.warnings, at, message);
    }

    /// A scalar, interpolated.
    fn text(&mut self, node: &Node, at: &str) -> Option<String> {
        match node {
            Node::Scalar(s) => Some(interpolate(s, self.vars, &mut self.warnings, at)),
            Node::Null => None,
            other => {
                self.warn(at, format!("expected a value, found {}", other.kind()));
                None
            }
        }
    }

    /// A scalar with its variable references kept as written (only `$$` unescaped):
    /// for commands, which Kyozo shows.
    fn raw(&mut self, node: &Node, at: &str) -> Option<String> {
        match node {
            Node::Scalar(s) => Some(s.replace("$$", "$")),
            Node::Null => None,
            other => {
                self.warn(at, format!("expected a value, found {}", other.kind()));
                None
            }
        }
    }

    /// A list of scalars, interpolated; a single scalar counts as a one-item list.
    fn texts(&mut self, node: &Node, at: &str) -> Vec<String> {
        match node {
            Node::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.text(n, &format!("{at}[{i}]")))
                .collect(),
            Node::Null => Vec::new(),
            other => self.text(other, at).into_iter().collect(),
        }
    }

    fn number(&mut self, node: &Node, at: &str) -> Option<u32> {
        let text = self.text(node, at)?;
        let n = text.trim().parse().ok();
        if n.is_none() {
            self.warn(at, format!("{:?} is not a number", as_written(node, 0)));
        }
        n
    }

    fn flag(&mut self, node: &Node, at: &str) -> Option<bool> {
        let text = self.text(node, at)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => {
                self.warn(
                    at,
                    format!("{:?} is not true or false", as_written(node, 0)),
                );
                None
            }
        }
    }

    fn command(&mut self, node: &Node, at: &str) -> Option<Command> {
        match node {
            Node::Seq(items) => Some(Command::Exec(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| self.raw(n, &format!("{at}[{i}]")))
                    .collect(),
            )),
            other => self.raw(other, at).map(Command::Shell),
        }
    }

    fn service(&mut self, name: &str, node: &Node) -> Option<RawService> {
        let at = format!("services.{name}");
        let mut s = RawService {
            name: name.to_string(),
            ..RawService::default()
        };
        match node {
            Node::Map(_) => {}
            Node::Null => {
                self.warn(&at, "the service is empty".to_string());
                return Some(s);
            }
            other => {
                self.warn(
                    &at,
                    format!("a service is a mapping, not {}: skipped", other.kind()),
                );
                return None;
            }
        }
        let field = |key: &str| node.get(key).filter(|n| **n != Node::Null);
        // What Kyozo never runs a service with is said, never dropped silently. The key
        // is named, never its value (interpolation may have put a `.env` value there).
        for key in DROPPED_KEYS {
            if field(key).is_some() && (*key != "volumes" || mounts_host_paths(field(key))) {
                self.warn(
                    &format!("{at}.{key}"),
                    format!("Kyozo does not apply {key}: the service runs without it"),
                );
            }
        }
        if let Some(b) = field("build") {
            s.build = self.build(b, &format!("{at}.build"));
        }
        if let Some(i) = field("image") {
            s.image = self.text(i, &format!("{at}.image"));
        }
        if let Some(c) = field("command") {
            s.command = self.command(c, &format!("{at}.command"));
        }
        if let Some(c) = field("entrypoint") {
            s.entrypoint = self.command(c, &format!("{at}.entrypoint"));
        }
        if let Some(p) = field("ports") {
            s.ports = self.ports(p, &format!("{at}.ports"));
        }
        if let Some(e) = field("expose") {
            let at = format!("{at}.expose");
            for (i, text) in self.texts(e, &at).into_iter().enumerate() {
                let spec = text.split('/').next().unwrap_or_default();
                match parse_range(spec) {
                    Some(r) => push_unique(&mut s.expose, [r]),
                    None => self.warn(
                        &format!("{at}[{i}]"),
                        format!("{:?} is not a port", as_written(e, i)),
                    ),
                }
            }
        }
        if let Some(e) = field("environment") {
            s.environment = self.environment(e, &format!("{at}.environment"));
        }
        if let Some(e) = field("env_file") {
            s.env_files = self.env_files(e, &format!("{at}.env_file"));
        }
        if let Some(d) = field("depends_on") {
            s.depends_on = self.depends_on(d, &format!("{at}.depends_on"));
        }
        if let Some(h) = field("healthcheck") {
            s.healthcheck = self.healthcheck(h, &format!("{at}.healthcheck"));
        }
        if let Some(p) = field("profiles") {
            s.profiles = Some(self.texts(p, &format!("{at}.profiles")));
        }
        if let Some(r) = node.get("deploy").and_then(|d| d.get("replicas")) {
            s.replicas = self.number(r, &format!("{at}.deploy.replicas"));
        } else if let Some(r) = field("scale") {
            s.replicas = self.number(r, &format!("{at}.scale"));
        }
        if let Some(e) = field("extends") {
            let at = format!("{at}.extends");
            s.extends = match e {
                Node::Map(_) => e
                    .get("service")
                    .and_then(|n| self.text(n, &at))
                    .map(|svc| (svc, e.get("file").and_then(|f| self.text(f, &at)))),
                other => self.text(other, &at).map(|svc| (svc, None)),
            };
        }
        Some(s)
    }

    fn build(&mut self, node: &Node, at: &str) -> Option<RawBuild> {
        match node {
            Node::Map(_) => {
                let mut b = RawBuild::default();
                if let Some(c) = node.get("context") {
                    b.context = self.text(c, &format!("{at}.context"));
                }
                if let Some(d) = node.get("dockerfile") {
                    b.dockerfile = self.text(d, &format!("{at}.dockerfile"));
                }
                if node.get("dockerfile_inline").is_some() {
                    b.inline = Some(true);
                }
                if let Some(t) = node.get("target") {
                    b.target = self.text(t, &format!("{at}.target"));
                }
                if let Some(a) = node.get("args") {
                    b.args = self.names(a, &format!("{at}.args"));
                }
                Some(b)
            }
            other => self.text(other, at).map(|context| RawBuild {
                context: Some(context),
                ..RawBuild::default()
            }),
        }
    }

    /// Names of a `KEY: value` mapping or a `KEY=value` / `KEY` list (environment,
    /// build args). Values are interpolated for the warnings, then dropped.
    fn names(&mut self, node: &Node, at: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        match node {
            Node::Map(entries) => {
                for (k, v) in entries {
                    let _ = self.text(v, &format!("{at}.{k}"));
                    let k = k.trim();
                    if !k.is_empty() {
                        push_unique(&mut out, [k.to_string()]);
                    }
                }
            }
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(text) = self.text(item, &format!("{at}[{i}]")) else {
                        continue;
                    };
                    let k = text
                        .split_once('=')
                        .map_or(text.as_str(), |(k, _)| k)
                        .trim();
                    if !k.is_empty() {
                        push_unique(&mut out, [k.to_string()]);
                    }
                }
            }
            Node::Null => {}
            other => self.warn(
                at,
                format!("expected a mapping or a list, found {}", other.kind()),
            ),
        }
        out
    }

    fn environment(&mut self, node: &Node, at: &str) -> Vec<String> {
        self.names(node, at)
    }

    fn env_files(&mut self, node: &Node, at: &str) -> Vec<EnvFile> {
        let items: Vec<&Node> = match node {
            Node::Seq(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let at = format!("{at}[{i}]");
            let file = match item {
                Node::Map(_) => item
                    .get("path")
                    .and_then(|p| self.text(p, &at))
                    .map(|path| {
                        let required = item
                            .get("required")
                            .and_then(|r| self.flag(r, &at))
                            .unwrap_or(true);
                        EnvFile { path, required }
                    }),
                other => self.text(other, &at).map(|path| EnvFile {
                    path,
                    required: true,
                }),
            };
            if let Some(f) = file.filter(|f| !f.path.trim().is_empty()) {
                push_unique(&mut out, [f]);
            }
        }
        out
    }

    fn depends_on(&mut self, node: &Node, at: &str) -> Vec<Dependency> {
        let mut out: Vec<Dependency> = Vec::new();
        let mut add = |d: Dependency| {
            if !out.iter().any(|x| x.service == d.service) {
                out.push(d);
            }
        };
        match node {
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(service) = self.text(item, &format!("{at}[{i}]")) {
                        add(Dependency {
                            service,
                            condition: Condition::Started,
                            required: true,
                        });
                    }
                }
            }
            Node::Map(entries) => {
                for (service, spec) in entries {
                    let at = format!("{at}.{service}");
                    let condition = match spec.get("condition").and_then(|c| self.text(c, &at)) {
                        None => Condition::Started,
                        Some(c) => match c.as_str() {
                            "service_started" => Condition::Started,
                            "service_healthy" => Condition::Healthy,
                            "service_completed_successfully" => Condition::CompletedSuccessfully,
                            other => {
                                self.warn(&at, format!("unknown condition {other:?}"));
                                Condition::Started
                            }
                        },
                    };
                    let required = spec
                        .get("required")
                        .and_then(|r| self.flag(r, &at))
                        .unwrap_or(true);
                    add(Dependency {
                        service: service.clone(),
                        condition,
                        required,
                    });
                }
            }
            other => {
                if let Some(service) = self.text(other, at) {
                    add(Dependency {
                        service,
                        condition: Condition::Started,
                        required: true,
                    });
                }
            }
        }
        out
    }

    fn healthcheck(&mut self, node: &Node, at: &str) -> Option<RawHealth> {
        if !matches!(node, Node::Map(_)) {
            self.warn(at, format!("expected a mapping, found {}", node.kind()));
            return None;
        }
        let mut h = RawHealth::default();
        if let Some(t) = node.get("test").filter(|t| **t != Node::Null) {
            let at = format!("{at}.test");
            h.test = match t {
                Node::Seq(items) => {
                    let parts: Vec<String> = items
                        .iter()
                        .enumerate()
                        .filter_map(|(i, n)| self.raw(n, &format!("{at}[{i}]")))
                        .collect();
                    match parts.split_first() {
                        None => None,
                        Some((first, _)) if first == "NONE" => Some(None),
                        Some((first, rest)) if first == "CMD" => {
                            Some(Some(HealthTest::Exec(rest.to_vec())))
                        }
                        Some((first, rest)) if first == "CMD-SHELL" => {
                            Some(Some(HealthTest::Shell(rest.join(" "))))
                        }
                        Some(_) => Some(Some(HealthTest::Exec(parts.clone()))),
                    }
                }
                other => self.raw(other, &at).map(|s| Some(HealthTest::Shell(s))),
            };
        }
        if let Some(d) = node.get("disable") {
            h.disable = self.flag(d, &format!("{at}.disable"));
        }
        if let Some(v) = node.get("interval") {
            h.interval = self.text(v, &format!("{at}.interval"));
        }
        if let Some(v) = node.get("timeout") {
            h.timeout = self.text(v, &format!("{at}.timeout"));
        }
        if let Some(v) = node.get("start_period") {
            h.start_period = self.text(v, &format!("{at}.start_period"));
        }
        if let Some(v) = node.get("retries") {
            h.retries = self.number(v, &format!("{at}.retries"));
        }
        Some(h)
    }

    fn ports(&mut self, node: &Node, at: &str) -> Vec<PortMapping> {
        let Node::Seq(items) = node else {
            self.warn(at, format!("expected a list, found {}", node.kind()));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}[{i}]");
            let mapping = match item {
                Node::Map(_) => self.long_port(item, &at),
                other => match self.text(other, &at) {
                    Some(text) => {
                        let p = parse_port(&text);
                        if p.is_none() {
                            self.warn(
                                &at,
                                format!("{:?} is not a port mapping", as_written(other, 0)),
                            );
                        }
                        p
                    }
                    None => None,
                },
            };
            if let Some(m) = mapping {
                push_unique(&mut out, [m]);
            }
        }
        out
    }

    fn long_port(&mut self, node: &Node, at: &str) -> Option<PortMapping> {
        let target_text = node.get("target").and_then(|t| self.text(t, at));
        let Some(target) = target_text.as_deref().and_then(parse_range) else {
            self.warn(at, "a port mapping without a valid target".to_string());
            return None;
        };
        let published = node
            .get("published")
            .and_then(|p| self.text(p, at))
            .filter(|p| !p.trim().is_empty());
        let host_ip = node
            .get("host_ip")
            .and_then(|p| self.text(p, at))
            .filter(|p| !p.trim().is_empty());
        let protocol = node
            .get("protocol")
            .and_then(|p| self.text(p, at))
            .map_or_else(|| "tcp".to_string(), |p| p.to_ascii_lowercase());
        Some(PortMapping {
            target,
            published,
            host_ip,
            protocol,
        })
    }

    fn includes(&mut self, node: &Node) -> Vec<Include> {
        let items: Vec<&Node> = match node {
            Node::Seq(items) => items.iter().collect(),
            Node::Null => Vec::new(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let at = format!("include[{i}]");
            let include = match item {
                Node::Map(_) => Include {
                    paths: item
                        .get("path")
                        .map(|p| self.texts(p, &at))
                        .unwrap_or_default(),
                    project_directory: item
                        .get("project_directory")
                        .and_then(|p| self.text(p, &at)),
                    env_files: item
                        .get("env_file")
                        .map(|p| self.texts(p, &at))
                        .unwrap_or_default(),
                },
                other => Include {
                    paths: self.text(other, &at).into_iter().collect(),
                    ..Include::default()
                },
            };
            if !include.paths.is_empty() {
                out.push(include);
            }
        }
        out
    }
}

/// A port or a range of ports (`80`, `8000-8010`).
fn parse_range(text: &str) -> Option<PortRange> {
    let text = text.trim();
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (text, None),
    };
    let start: u16 = start.parse().ok().filter(|p| *p != 0)?;
    let end = match end {
        Some(e) => Some(e.parse::<u16>().ok().filter(|e| *e >= start)?),
        None => None,
    };
    Some(PortRange {
        start,
        end: end.filter(|e| *e != start),
    })
}

/// The short port syntax: `[[host_ip:]published:]target[/protocol]`, where the host
/// address may be IPv6 (`[::1]:80:80` or `::1:80:80`) and ports may be ranges.
pub fn parse_port(text: &str) -> Option<PortMapping> {
    let text = text.trim();
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.trim().to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return None;
    }
    let (rest, target) = match spec.rsplit_once(':') {
        Some((r, t)) => (Some(r), t),
        None => (None, spec),
    };
    let target = parse_range(target)?;
    let (host_ip, published) = match rest {
        None => (None, None),
        Some(r) => match r.rsplit_once(':') {
            Some((ip, p)) => (Some(ip), Some(p)),
            None => (None, Some(r)),
        },
    };
    let published = published.map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = published {
        parse_range(p)?;
    }
    let host_ip = host_ip
        .map(|ip| ip.trim().trim_start_matches('[').trim_end_matches(']'))
        .filter(|ip| !ip.is_empty());
    Some(PortMapping {
        target,
        published: published.map(str::to_string),
        host_ip: host_ip.map(str::to_string),
        protocol,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        let mut v = Variables::new();
        for (k, val) in pairs {
            v.set(*k, *val);
        }
        v
    }

    fn service<'a>(file: &'a ComposeFile, name: &str) -> &'a Service {
        file.services.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn interpolation_table() {
        let v = vars(&[("SET", "v"), ("EMPTY", ""), ("PORT", "8080")]);
        let cases = [
            ("$SET", "v", 0),
            ("${SET}", "v", 0),
            ("x${SET}y", "xvy", 0),
            ("$SET.txt", "v.txt", 0),
            ("${UNSET}", "", 1),
            ("$UNSET", "", 1),
            ("${UNSET:-d}", "d", 0),
            ("${EMPTY:-d}", "d", 0),
            ("${UNSET-d}", "d", 0),
            ("${EMPTY-d}", "", 0),
            ("${SET:-d}", "v", 0),
            ("${SET:+alt}", "alt", 0),
            ("${EMPTY:+alt}", "", 0),
            ("${EMPTY+alt}", "alt", 0),
            ("${UNSET+alt}", "", 0),
            ("${SET:?need it}", "v", 0),
            ("${UNSET:?need it}", "", 1),
            ("${EMPTY:?need it}", "", 1),
            ("${EMPTY?need it}", "", 0),
            ("${UNSET?need it}", "", 1),
            ("$$SET", "$SET", 0),
            ("$${SET}", "${SET}", 0),
            ("a $ b", "a $ b", 0),
            ("${UNSET:-${PORT}}", "8080", 0),
            ("${UNSET:-${ALSO:-x}y}", "xy", 0),
            ("${UNSET:-a:b}", "a:b", 0),
            ("${PORT:-3000}:3000", "8080:3000", 0),
            ("${unclosed", "${unclosed", 1),
            ("${}", "${}", 1),
            ("${1X}", "${1X}", 1),
            ("${SET*x}", "${SET*x}", 1),
            ("$1", "$1", 0),
            ("€${SET}€", "€v€", 0),
        ];
        for (input, want, warnings) in cases {
            let mut w = Vec::new();
            assert_eq!(interpolate(input, &v, &mut w, "at"), want, "{input}");
            assert_eq!(w.len(), warnings, "{input}: {w:?}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = format!("{}x{}", "${A:-".repeat(10_000), "}".repeat(10_000));
        let mut w = Vec::new();
        let _ = interpolate(&text, &Variables::new(), &mut w, "at");
        assert!(!w.is_empty());
    }

    #[test]
    fn dotenv_values() {
        let v = Variables::from_dotenv(
            "# c\nA=1\nexport B = two words # comment\nC=\"quoted # not a comment\\n\"\nD='${A} literal'\nE=${A}-$B\nF=\"multi\nline\"\nBAD NAME=1\n=x\nG=\nH=a#b\n",
        );
        assert_eq!(v.get("A"), Some("1"));
        assert_eq!(v.get("B"), Some("two words"));
        assert_eq!(v.get("C"), Some("quoted # not a comment\n"));
        assert_eq!(v.get("D"), Some("${A} literal"));
        assert_eq!(v.get("E"), Some("1-two words"));
        assert_eq!(v.get("F"), Some("multi\nline"));
        assert_eq!(v.get("G"), Some(""));
        assert_eq!(v.get("H"), Some("a#b"));
        assert_eq!(v.names().count(), 8);
        // Debug shows names, never values.
        assert!(!format!("{v:?}").contains("two words"));
    }

    #[test]
    fn short_port_syntax() {
        let p = |s: &str| parse_port(s);
        let m = p("8080:80").unwrap();
        assert_eq!(m.target.start, 80);
        assert_eq!(m.published.as_deref(), Some("8080"));
        assert_eq!(m.protocol, "tcp");
        let m = p("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (m.target.start, m.host_ip.as_deref(), m.protocol.as_str()),
            (80, Some("127.0.0.1"), "udp")
        );
        let m = p("80").unwrap();
        assert_eq!((m.target.start, m.published.clone()), (80, None));
        let m = p("3000-3005").unwrap();
        assert_eq!(m.target.end, Some(3005));
        let m = p("9090-9091:8080-8081").unwrap();
        assert_eq!((m.target.start, m.target.end), (8080, Some(8081)));
        assert_eq!(m.published.as_deref(), Some("9090-9091"));
        let m = p("[::1]:6001:6001").unwrap();
        assert_eq!(m.host_ip.as_deref(), Some("::1"));
        let m = p("::1:6001:6002").unwrap();
        assert_eq!((m.host_ip.as_deref(), m.target.start), (Some("::1"), 6002));
        let m = p("127.0.0.1::5000").unwrap();
        assert_eq!((m.published.clone(), m.target.start), (None, 5000));
        for bad in ["", "x", "80/xyz", "0", "70000", "a:80", "80:", "5-2", ":"] {
            assert!(p(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn services_in_every_shape() {
        let text = r#"
name: shop
x-common: &common
  restart: unless-stopped
  environment:
    SHARED: "1"
  healthcheck:
    test: ["CMD", "true"]
services:
  web:
    <<: *common
    build: ./web
    ports:
      - "${WEB_PORT:-3000}:3000"
      - 9229
      - target: 8443
        published: "443"
        protocol: TCP
    expose: ["4000", 4001, "5000-5002/udp"]
    command: npm run start -- --port $$PORT
    environment:
      - API_URL=http://api:8000
      - DEBUG
    env_file: .env.web
    depends_on:
      - api
    profiles: [frontend]
  api:
    build:
      context: ./api
      dockerfile: docker/Dockerfile.prod
      target: runtime
      args:
        - VERSION=1
        - COMMIT
    command: ["uvicorn", "main:app", "--host", "0.0.0.0"]
    entrypoint: /entry.sh
    environment:
      DATABASE_URL: postgres://u:${DB_PASSWORD}@db/app
      EMPTY:
    env_file:
      - path: ./default.env
        required: true
      - path: ./override.env
        required: false
      - common.env
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
        required: false
      cache:
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8000/health"]
      interval: 10s
      retries: 5
    deploy:
      replicas: 3
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U $${POSTGRES_USER}"]
  cache:
    image: "redis:${REDIS_TAG:-7}-alpine"
    healthcheck:
      test: redis-cli ping
  off:
    image: busybox
    healthcheck:
      disable: true
  none:
    image: busybox
    scale: 2
    healthcheck:
      test: ["NONE"]
"#;
        let f = parse_with(text, &vars(&[("DB_PASSWORD", "s3cret")])).unwrap();
        assert_eq!(f.name.as_deref(), Some("shop"));
        let names: Vec<&str> = f.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["web", "api", "db", "cache", "off", "none"]);

        let web = service(&f, "web");
        assert_eq!(web.build.as_ref().unwrap().context, "./web");
        let targets: Vec<u16> = web.ports.iter().map(|p| p.target.start).collect();
        assert_eq!(targets, vec![3000, 9229, 8443]);
        assert_eq!(web.ports[0].published.as_deref(), Some("3000"));
        assert_eq!(web.ports[2].protocol, "tcp");
        let expose: Vec<u16> = web.expose.iter().map(|p| p.start).collect();
        assert_eq!(expose, vec![4000, 4001, 5000]);
        assert_eq!(
            web.command,
            Some(Command::Shell("npm run start -- --port $PORT".into()))
        );
        // A merge key is shallow: the service's own environment replaces the anchor's.
        assert_eq!(web.environment, vec!["API_URL", "DEBUG"]);
        assert_eq!(
            web.healthcheck.as_ref().unwrap().test,
            Some(HealthTest::Exec(vec!["true".into()]))
        );
        assert_eq!(web.env_files[0].path, ".env.web");
        assert_eq!(web.depends_on[0].service, "api");
        assert_eq!(web.profiles, vec!["frontend"]);

        let api = service(&f, "api");
        let b = api.build.as_ref().unwrap();
        assert_eq!(b.context, "./api");
        assert_eq!(b.dockerfile.as_deref(), Some("docker/Dockerfile.prod"));
        assert_eq!(b.target.as_deref(), Some("runtime"));
        assert_eq!(b.args, vec!["VERSION", "COMMIT"]);
        assert_eq!(
            api.command.as_ref().unwrap().to_shell(),
            "uvicorn main:app --host 0.0.0.0"
        );
        assert_eq!(api.entrypoint, Some(Command::Shell("/entry.sh".into())));
        assert_eq!(api.environment, vec!["DATABASE_URL", "EMPTY"]);
        assert_eq!(
            api.env_files
                .iter()
                .map(|e| (e.path.as_str(), e.required))
                .collect::<Vec<_>>(),
            vec![
                ("./default.env", true),
                ("./override.env", false),
                ("common.env", true)
            ]
        );
        let deps: Vec<(&str, Condition, bool)> = api
            .depends_on
            .iter()
            .map(|d| (d.service.as_str(), d.condition, d.required))
            .collect();
        assert_eq!(
            deps,
            vec![
                ("db", Condition::Healthy, true),
                ("migrate", Condition::CompletedSuccessfully, false),
                ("cache", Condition::Started, true),
            ]
        );
        let h = api.healthcheck.as_ref().unwrap();
        assert_eq!(
            h.test.as_ref().unwrap().to_shell(),
            "curl -f http://localhost:8000/health"
        );
        assert_eq!((h.interval.as_deref(), h.retries), (Some("10s"), Some(5)));
        assert_eq!(api.replicas, Some(3));

        let db = service(&f, "db");
        assert_eq!(db.image.as_deref(), Some("postgres:16"));
        assert_eq!(
            db.healthcheck.as_ref().unwrap().test,
            Some(HealthTest::Shell("pg_isready -U ${POSTGRES_USER}".into()))
        );
        let cache = service(&f, "cache");
        assert_eq!(cache.image.as_deref(), Some("redis:7-alpine"));
        assert_eq!(
            cache.healthcheck.as_ref().unwrap().test,
            Some(HealthTest::Shell("redis-cli ping".into()))
        );
        assert!(service(&f, "off").healthcheck.as_ref().unwrap().disable);
        let none = service(&f, "none");
        assert!(none.healthcheck.as_ref().unwrap().disable);
        assert_eq!(none.healthcheck.as_ref().unwrap().test, None);
        assert_eq!(none.replicas, Some(2));
        // The .env value was used but is nowhere in the result.
        assert!(!format!("{f:?}").contains("s3cret"));
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    }

    #[test]
    fn unset_variables_warn() {
        let f = parse(
            "services:\n  web:\n    image: \"app:${TAG}\"\n    ports: [\"${PORT:?set PORT}:80\"]\n",
        )
        .unwrap();
        assert_eq!(service(&f, "web").image.as_deref(), Some("app:"));
        assert_eq!(service(&f, "web").ports[0].published, None);
        let at: Vec<&str> = f.warnings.iter().map(|w| w.at.as_str()).collect();
        assert_eq!(at, vec!["services.web.image", "services.web.ports[0]"]);
    }

    #[test]
    fn commands_keep_variable_references() {
        let f = parse_with(
            "services:\n  w:\n    image: x\n    command: [\"sh\", \"-c\", \"echo ${SECRET} $$HOME\"]\n",
            &vars(&[("SECRET", "hunter2")]),
        )
        .unwrap();
        assert_eq!(
            service(&f, "w").command.as_ref().unwrap().to_shell(),
            "sh -c 'echo ${SECRET} $HOME'"
        );
    }

    #[test]
    fn override_layers_merge() {
        let base = parse_layer(
            "services:\n  web:\n    build: ./web\n    ports: [\"3000:3000\"]\n    environment:\n      A: 1\n    command: npm start\n    depends_on: [db]\n  db:\n    image: postgres:15\n",
            &Variables::new(),
        )
        .unwrap();
        let over = parse_layer(
            "services:\n  web:\n    build:\n      dockerfile: Dockerfile.dev\n    ports: [\"9229:9229\"]\n    environment:\n      - B=2\n    command: npm run dev\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: postgres:16\n  adminer:\n    image: adminer\n",
            &Variables::new(),
        )
        .unwrap();
        let f = merge_layers(vec![base, over]);
        let web = service(&f, "web");
        let b = web.build.as_ref().unwrap();
        assert_eq!(b.context, "./web");
        assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile.dev"));
        assert_eq!(
            web.ports.iter().map(|p| p.target.start).collect::<Vec<_>>(),
            vec![3000, 9229]
        );
        assert_eq!(web.environment, vec!["A", "B"]);
        assert_eq!(web.command, Some(Command::Shell("npm run dev".into())));
        assert_eq!(web.depends_on.len(), 1);
        assert_eq!(web.depends_on[0].condition, Condition::Healthy);
        assert_eq!(service(&f, "db").image.as_deref(), Some("postgres:16"));
        assert_eq!(f.services.len(), 3);
    }

    #[test]
    fn extends_in_the_same_file() {
        let f = parse(
            "services:\n  base:\n    build: .\n    environment: [A=1]\n    depends_on: [db]\n  worker:\n    extends: base\n    command: run worker\n  other:\n    extends:\n      service: base\n      file: common.yml\n  loop1:\n    extends: loop2\n  loop2:\n    extends: loop1\n",
        )
        .unwrap();
        let w = service(&f, "worker");
        assert_eq!(w.build.as_ref().unwrap().context, ".");
        assert_eq!(w.environment, vec!["A"]);
        assert!(w.depends_on.is_empty());
        assert_eq!(w.command, Some(Command::Shell("run worker".into())));
        assert!(f.warnings.iter().any(|w| w.at == "services.other.extends"));
        assert!(f.warnings.iter().any(|w| w.message.contains("cycle")));
    }

    #[test]
    fn includes_are_listed() {
        let f = parse(
            "include:\n  - infra/db.yaml\n  - path: [a.yaml, b.yaml]\n    project_directory: ..\n    env_file: a.env\nservices: {}\n",
        )
        .unwrap();
        assert_eq!(f.includes.len(), 2);
        assert_eq!(f.includes[0].paths, vec!["infra/db.yaml"]);
        assert_eq!(f.includes[1].paths, vec!["a.yaml", "b.yaml"]);
        assert_eq!(f.includes[1].project_directory.as_deref(), Some(".."));
    }

    #[test]
    fn unquoted_short_ports_are_not_sexagesimal() {
        let f =
            parse("services:\n  a:\n    image: x\n    ports:\n      - 8080:80\n      - 22:22\n")
                .unwrap();
        let a = service(&f, "a");
        assert_eq!(
            a.ports.iter().map(|p| p.target.start).collect::<Vec<_>>(),
            vec![80, 22]
        );
    }

    #[test]
    fn lenient_about_odd_shapes() {
        let f = parse(
            "version: '3.8'\nservices:\n  empty:\n  scalar: 42\n  odd:\n    image: [not, a, string]\n    ports: \"80:80\"\n    environment: 7\n    depends_on: db\n    healthcheck: yes\n    build: {}\n",
        )
        .unwrap();
        let names: Vec<&str> = f.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["empty", "odd"]);
        let odd = service(&f, "odd");
        assert_eq!(odd.image, None);
        assert_eq!(odd.build.as_ref().unwrap().context, ".");
        assert_eq!(odd.depends_on[0].service, "db");
        assert!(f.warnings.len() >= 4, "{:?}", f.warnings);
    }

    #[test]
    fn invalid_files() {
        assert!(parse("").is_err());
        assert!(parse("- a\n- b\n").is_err());
        assert!(parse("services: [a, b]\n").is_err());
        assert!(parse("services:\n  web:\n    image: x\n   bad indent: [\n").is_err());
        assert!(parse("services:\n  a: {image: x}\n  a: {image: y}\n").is_err());
        assert!(parse("services: {}\n").unwrap().services.is_empty());
        assert!(parse("name: x\n").unwrap().services.is_empty());
    }

    #[test]
    fn weird_input_never_panics() {
        let samples = [
            "{",
            "services:\n  a:\n    ports: [{}, {target: x}, {target: 0}, [], null, '']\n",
            "services:\n  a:\n    healthcheck: {test: []}\n",
            "services:\n  a:\n    healthcheck: {test: [NONE, x], retries: -1}\n",
            "services:\n  a:\n    extends: {}\n",
            "services:\n  a:\n    env_file: [{}, {path: ''}, [x]]\n",
            "services:\n  ? [a, b]\n  : {image: x}\n",
            "services:\n  a: &a\n    image: x\n  b: *a\n",
            "include: {}\n",
            "services:\n  a:\n    deploy: 3\n    expose: [x, '70000', '-']\n",
            "a: &x [*x]\n",
            "!!binary aGVsbG8=\n",
            "services:\n  a:\n    ports: !reset []\n",
        ];
        for s in samples {
            let _ = parse(s);
        }
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        let _ = parse(bomb);
        let deep = format!(
            "services:\n  a:\n    image: {}1{}\n",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let _ = parse(&deep);
    }

    const FRAGMENTS: &[&str] = &[
        "services:",
        "\n  ",
        "\n    ",
        "\n      ",
        "web:",
        "build:",
        "context:",
        "image:",
        "ports:",
        "expose:",
        "environment:",
        "env_file:",
        "depends_on:",
        "healthcheck:",
        "test:",
        "condition:",
        "extends:",
        "include:",
        "profiles:",
        "deploy:",
        "replicas:",
        " - ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        ": ",
        "\"",
        "'",
        "&a ",
        "*a",
        "<<: ",
        "${",
        "}",
        "$",
        "$$",
        ":-",
        ":?",
        "x",
        "8080:80",
        "127.0.0.1:",
        "/udp",
        "3000-3005",
        "CMD",
        "NONE",
        "null",
        "~",
        "true",
        "1",
        "-1",
        "99999",
        "#",
        "\t",
        "é",
    ];

    proptest::proptest! {
        #[test]
        fn never_panics_on_fragments(parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..80)) {
            let text: String = parts.concat();
            let mut v = Variables::new();
            v.set("x", "1");
            let _ = parse_with(&text, &v);
            let _ = interpolate(&text, &v, &mut Vec::new(), "");
            let _ = Variables::from_dotenv(&text);
            for line in text.lines() {
                let _ = parse_port(line);
            }
        }
    }
}
