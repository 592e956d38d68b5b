//! The Clojure detector: Leiningen projects (`project.clj`) and Clojure CLI projects
//! (`deps.edn`), read with a small, forgiving EDN reader (never panics, depth-capped).
//!
//! - Leiningen: a project with a `:main` namespace (top-level or in the `:uberjar`
//!   profile) or a lein-ring `:ring {:handler ...}` is a service, built with
//!   `lein uberjar` (`lein ring uberjar`) and run with
//!   `java -jar target/uberjar/<name>-<version>-standalone.jar` (or `:uberjar-name`);
//!   otherwise a library.
//! - Clojure CLI: an alias with `:main-opts ["-m" ns]` (preferring `:run`, `:main`,
//!   `:server`, `:start`, `:serve`, `:app`) or `:exec-fn` makes a service, started with
//!   `clojure -M:<alias>` (`-X:<alias>`); with a tools.build `:build` alias whose
//!   `build.clj` makes an uberjar, it is built with `clojure -T:build uber` and run with
//!   `java -jar` on the jar `build.clj` names. Otherwise a library.
//! - Runtime version: the JDK pins (`.java-version` > `.sdkmanrc` > `.tool-versions`
//!   `java`); the Clojure version is evidence.
//! - Ports: `:port N` in the lein-ring map or the main namespace, a `PORT` fallback
//!   there, else lein-ring's 3000 / http-kit's 8090 assumed.
//! - Env vars: `(System/getenv "X")` and environ's `(env :x-y)` in the main namespace,
//!   example env files. Backing services: dependencies and env names.

use super::jvm::{jdk_pin, jvm_backing};
use crate::topology::common;
use crate::topology::common::push_unique;
use crate::topology::common::{health_route, quoted_after, quoted_strings};
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, ProjectView, Sourced, join, parent,
};

/// Detects clojure projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClojureDetector;

impl Detector for ClojureDetector {
    fn id(&self) -> &str {
        "clojure"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut out = Vec::new();
        for path in view.named("project.clj") {
            if let Some(d) = leiningen(view, path) {
                out.push(d);
            }
        }
        for path in view.named("deps.edn") {
            let dir = parent(path);
            // A Leiningen project that also has a deps.edn is described by project.clj.
            if view.is_file(&join(dir, "project.clj")) {
                continue;
            }
            if let Some(d) = clojure_cli(view, path) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

const ID: &str = "clojure";

// ---------------------------------------------------------------------------------
// A forgiving EDN reader.
// ---------------------------------------------------------------------------------

/// An EDN (or Clojure) form.
#[derive(Debug, Clone, PartialEq)]
enum Edn {
    Nil,
    Bool(bool),
    Str(String),
    Num(String),
    Keyword(String),
    Symbol(String),
    Char(char),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
    Set(Vec<Edn>),
}

impl Edn {
    fn as_str(&self) -> Option<&str> {
        match self {
            Edn::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_symbol(&self) -> Option<&str> {
        match self {
            Edn::Symbol(s) => Some(s),
            _ => None,
        }
    }

    fn items(&self) -> &[Edn] {
        match self {
            Edn::List(v) | Edn::Vector(v) | Edn::Set(v) => v,
            _ => &[],
        }
    }

    /// The value under keyword `key` of a map.
    fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, Edn::Keyword(x) if x == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn pairs(&self) -> &[(Edn, Edn)] {
        match self {
            Edn::Map(p) => p,
            _ => &[],
        }
    }
}

const MAX_DEPTH: usize = 128;

struct Reader {
    chars: Vec<char>,
    pos: usize,
}

impl Reader {
    fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ',' {
                self.pos += 1;
            } else if c == ';' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Every top-level form.
    fn all(&mut self) -> Result<Vec<Edn>, String> {
        let mut out = Vec::new();
        loop {
            self.skip_blank();
            if self.peek().is_none() {
                return Ok(out);
            }
            if let Some(f) = self.form(0)? {
                out.push(f);
            }
        }
    }

    /// One form; `None` for a discarded one (`#_x`).
    fn form(&mut self, depth: usize) -> Result<Option<Edn>, String> {
        if depth > MAX_DEPTH {
            return Err("forms nested too deeply".into());
        }
        self.skip_blank();
        let Some(c) = self.peek() else {
            return Err("unexpected end of file".into());
        };
        match c {
            '(' => self.collection(')', depth).map(|v| Some(Edn::List(v))),
            '[' => self.collection(']', depth).map(|v| Some(Edn::Vector(v))),
            '{' => {
                let items = self.collection('}', depth)?;
                let mut pairs = Vec::new();
                let mut it = items.into_iter();
                while let Some(k) = it.next() {
                    pairs.push((k, it.next().unwrap_or(Edn::Nil)));
                }
                Ok(Some(Edn::Map(pairs)))
            }
            ')' | ']' | '}' => Err(format!("unexpected `{c}`")),
            '"' => self.string().map(|s| Some(Edn::Str(s))),
            '\\' => {
                self.pos += 1;
                let token = self.token();
                let ch = match token.as_str() {
                    "newline" => '\n',
                    "space" => ' ',
                    "tab" => '\t',
                    _ => token
                        .chars()
                        .next()
                        .or_else(|| {
                            let c = self.peek();
                            self.pos += 1;
                            c
                        })
                        .unwrap_or(' '),
                };
                Ok(Some(Edn::Char(ch)))
            }
            '\'' | '`' | '@' => {
                self.pos += 1;
                self.required(depth)
            }
            '~' => {
                self.pos += 1;
                if self.peek() == Some('@') {
                    self.pos += 1;
                }
                self.required(depth)
            }
            '^' => {
                // Metadata: read and drop it, then the form it decorates.
                self.pos += 1;
                self.required(depth)?;
                self.required(depth)
            }
            '#' => self.dispatch(depth),
            _ => {
                let token = self.token();
                if token.is_empty() {
                    self.pos += 1;
                    return Err(format!("unexpected `{c}`"));
                }
                Ok(Some(atom(token)))
            }
        }
    }

    /// A form that must be there (discards skipped).
    fn required(&mut self, depth: usize) -> Result<Option<Edn>, String> {
        loop {
            self.skip_blank();
            if self.peek().is_none() {
                return Err("unexpected end of file".into());
            }
            if let Some(f) = self.form(depth + 1)? {
                return Ok(Some(f));
            }
        }
    }

    fn dispatch(&mut self, depth: usize) -> Result<Option<Edn>, String> {
        self.pos += 1;
        match self.peek() {
            Some('{') => self.collection('}', depth).map(|v| Some(Edn::Set(v))),
            Some('(') => self.collection(')', depth).map(|v| Some(Edn::List(v))),
            Some('_') => {
                self.pos += 1;
                self.required(depth)?;
                Ok(None)
            }
            Some('"') => self.string().map(|s| Some(Edn::Str(s))),
            Some('\'') => {
                self.pos += 1;
                self.required(depth)
            }
            Some('?') => {
                // Reader conditional: #?(:clj x :cljs y) / #?@(...)
                self.pos += 1;
                if self.peek() == Some('@') {
                    self.pos += 1;
                }
                self.required(depth)
            }
            Some(':') => {
                // Namespaced map: #:ns{...}
                let _ = self.token();
                self.required(depth)
            }
            Some('#') => {
                // ##Inf, ##NaN
                self.pos += 1;
                Ok(Some(atom(self.token())))
            }
            _ => {
                // A tagged literal: #inst "...", #uuid "...", #my/tag x.
                let tag = self.token();
                if tag.is_empty() {
                    return Err("bad dispatch `#`".into());
                }
                self.required(depth)
            }
        }
    }

    fn collection(&mut self, close: char, depth: usize) -> Result<Vec<Edn>, String> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.peek() {
                None => return Err(format!("`{close}` missing at end of file")),
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(')' | ']' | '}') => {
                    return Err(format!("mismatched bracket, expected `{close}`"));
                }
                Some(_) => {
                    if let Some(f) = self.form(depth + 1)? {
                        items.push(f);
                    }
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some(c) => s.push(c),
                        None => return Err("unterminated string".into()),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn token(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ',' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';')
            {
                break;
            }
            s.push(c);
            self.pos += 1;
        }
        s
    }
}

fn atom(token: String) -> Edn {
    match token.as_str() {
        "nil" => Edn::Nil,
        "true" => Edn::Bool(true),
        "false" => Edn::Bool(false),
        _ => {
            if let Some(k) = token.strip_prefix(':') {
                Edn::Keyword(k.trim_start_matches(':').to_string())
            } else if token.starts_with(|c: char| c.is_ascii_digit())
                || (token.len() > 1
                    && token.starts_with(['-', '+'])
                    && token[1..].starts_with(|c: char| c.is_ascii_digit()))
            {
                Edn::Num(token)
            } else {
                Edn::Symbol(token)
            }
        }
    }
}

fn read(text: &str) -> Result<Vec<Edn>, String> {
    Reader::new(text).all()
}

// ---------------------------------------------------------------------------------
// Leiningen
// ---------------------------------------------------------------------------------

/// The `(defproject name "version" :k v ...)` form: name, version and options.
fn defproject(forms: &[Edn]) -> Option<(String, Option<String>, Edn)> {
    forms.iter().find_map(|f| {
        let items = match f {
            Edn::List(v) => v,
            _ => return None,
        };
        if items.first()?.as_symbol()? != "defproject" {
            return None;
        }
        let name = items.get(1)?.as_symbol()?.to_string();
        let version = items.get(2).and_then(Edn::as_str).map(str::to_string);
        let rest = items.get(3..).unwrap_or_default();
        let mut pairs = Vec::new();
        let mut it = rest.iter();
        while let Some(k) = it.next() {
            pairs.push((k.clone(), it.next().cloned().unwrap_or(Edn::Nil)));
        }
        Some((name, version, Edn::Map(pairs)))
    })
}

/// `[[group/artifact "version"] ...]` (lein) → (group, artifact, version).
fn lein_dependencies(deps: Option<&Edn>) -> Vec<(String, String, Option<String>)> {
    deps.map(Edn::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            let items = d.items();
            let sym = items.first()?.as_symbol()?;
            let (g, a) = split_coordinate(sym);
            Some((g, a, items.get(1).and_then(Edn::as_str).map(str::to_string)))
        })
        .collect()
}

/// `org.postgresql/postgresql` → (`org.postgresql`, `postgresql`); `ring` → (`ring`,
/// `ring`).
fn split_coordinate(sym: &str) -> (String, String) {
    match sym.split_once('/') {
        Some((g, a)) => (g.to_string(), a.to_string()),
        None => (sym.to_string(), sym.to_string()),
    }
}

/// `app.core-web` → `src/app/core_web.clj` (or `.cljc`) under the first source path
/// that has it.
fn ns_file(view: &ProjectView, dir: &str, paths: &[String], ns: &str) -> Option<String> {
    let rel = ns.replace('-', "_").replace('.', "/");
    paths.iter().find_map(|p| {
        ["clj", "cljc"]
            .iter()
            .map(|ext| join(dir, &format!("{p}/{rel}.{ext}")))
            .find(|f| view.is_file(f))
    })
}

fn leiningen(view: &ProjectView, path: &str) -> Option<Detection> {
    let dir = parent(path);
    let text = view.text(path)?;
    let forms = match read(&text) {
        Ok(f) => f,
        Err(e) => {
            common::invalid(view, path, e);
            return None;
        }
    };
    let Some((name, version, opts)) = defproject(&forms) else {
        common::invalid(view, path, "no defproject form");
        return None;
    };
    let (_, artifact) = split_coordinate(&name);
    let uberjar_profile = opts.get("profiles").and_then(|p| p.get("uberjar"));
    let main = opts
        .get("main")
        .or_else(|| uberjar_profile.and_then(|u| u.get("main")))
        .and_then(Edn::as_symbol)
        .map(str::to_string);
    let ring = opts.get("ring");
    let ring_handler = ring.and_then(|r| r.get("handler")).and_then(Edn::as_symbol);
    let is_service = main.is_some() || ring_handler.is_some();
    let deps = lein_dependencies(opts.get("dependencies"));

    let mut d = Detection::new(ID, dir, "clojure", 0.75)
        .with_kind(if is_service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(path, format!("leiningen project {name}"));
    d.hints.name = Some(Sourced::new(artifact.clone(), format!("{path} defproject")));
    d.hints.package_manager = Some(Sourced::new("leiningen".into(), path.to_string()));
    d.hints.runtime_version = jdk_pin(view, dir);
    add_dependencies(&mut d, path, &deps);
    if !is_service {
        return Some(d);
    }
    d.boost(0.1);
    let source_paths: Vec<String> = opts
        .get("source-paths")
        .map(Edn::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Edn::as_str)
        .map(str::to_string)
        .collect();
    let source_paths = if source_paths.is_empty() {
        vec!["src".to_string()]
    } else {
        source_paths
    };
    let jar = match opts.get("uberjar-name").and_then(Edn::as_str) {
        Some(n) => format!("target/uberjar/{n}"),
        None => match &version {
            Some(v) => format!("target/uberjar/{artifact}-{v}-standalone.jar"),
            None => "$(ls target/uberjar/*-standalone.jar | head -n 1)".to_string(),
        },
    };
    let (build, evidence_ns) = match (&main, ring_handler) {
        (Some(m), _) => ("lein uberjar", m.clone()),
        (None, Some(h)) => (
            "lein ring uberjar",
            h.split('/').next().unwrap_or(h).to_string(),
        ),
        (None, None) => ("lein uberjar", String::new()),
    };
    d.evidence.push(Evidence::new(
        path,
        match &main {
            Some(m) => format!("main namespace {m}"),
            None => format!("lein-ring handler {evidence_ns}"),
        },
    ));
    d.hints.install_command = Some(Sourced::new("lein deps".into(), path.to_string()));
    d.hints.build_command = Some(Sourced::new(build.into(), path.to_string()));
    d.hints.start_command = Some(Sourced::new(format!("java -jar {jar}"), path.to_string()));
    if let Some(p) = ring.and_then(|r| r.get("port")).and_then(|p| match p {
        Edn::Num(n) => n.parse::<u16>().ok(),
        _ => None,
    }) {
        d.hints
            .ports
            .push(Sourced::new(p, format!("{path} :ring :port")));
    }
    let ns_path = ns_file(view, dir, &source_paths, &evidence_ns);
    scan_namespace(view, ns_path.as_deref(), &mut d);
    if d.hints.ports.is_empty() {
        if ring_handler.is_some() {
            d.hints.ports.push(Sourced::assumed(3000, "lein-ring"));
        } else if deps.iter().any(|(g, _, _)| g == "http-kit") {
            d.hints.ports.push(Sourced::assumed(8090, "http-kit"));
        }
    }
    finish(view, dir, &mut d);
    Some(d)
}

fn add_dependencies(d: &mut Detection, path: &str, deps: &[(String, String, Option<String>)]) {
    for (g, a, v) in deps {
        if g == "org.clojure"
            && a == "clojure"
            && let Some(v) = v
        {
            d.evidence.push(Evidence::new(path, format!("clojure {v}")));
        }
        if let Some(b) = jvm_backing(g, a)
            && !d.hints.backing_services.iter().any(|x| x.value == b)
        {
            d.hints
                .backing_services
                .push(Sourced::new(b.to_string(), format!("{path} {g}/{a}")));
        }
    }
}

/// Ports, env vars and a health route written in the main namespace.
fn scan_namespace(view: &ProjectView, file: Option<&str>, d: &mut Detection) {
    let Some(file) = file else {
        return;
    };
    let Some(text) = view.text(file) else {
        return;
    };
    d.evidence
        .push(Evidence::new(file, "main namespace source"));
    for (i, _) in text.match_indices(":port") {
        let rest = text[i + 5..].trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(p) = digits.parse::<u16>()
            && p > 0
            && !d.hints.ports.iter().any(|x| x.value == p)
        {
            d.hints.ports.push(Sourced::new(p, format!("{file} :port")));
        }
    }
    let names: Vec<String> = quoted_after(&text, "getenv \"");
    if names.iter().any(|n| n == "PORT")
        && d.hints.ports.is_empty()
        && let Some(p) = quoted_strings(&text)
            .filter_map(|s| s.parse::<u16>().ok())
            .find(|p| *p >= 80)
    {
        d.hints
            .ports
            .push(Sourced::new(p, format!("{file} PORT fallback")));
    }
    for n in names {
        push_unique(
            &mut d.hints.env,
            Sourced::new(n, format!("{file} System/getenv")),
        );
    }
    // environ: (env :database-url) → DATABASE_URL
    for (i, _) in text.match_indices("(env :") {
        let key: String = text[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let name = key.replace('-', "_").to_ascii_uppercase();
        if crate::model::validate_env_name(&name).is_ok() {
            push_unique(
                &mut d.hints.env,
                Sourced::new(name, format!("{file} environ")),
            );
        }
    }
    if d.hints.healthcheck.is_none() {
        d.hints.healthcheck =
            health_route(&text).map(|r| Sourced::new(r.to_string(), format!("{file} route")));
    }
}

fn finish(view: &ProjectView, dir: &str, d: &mut Detection) {
    for e in common::env_from_examples(view, dir) {
        push_unique(&mut d.hints.env, e);
    }
    for b in common::backing_from_env(&d.hints.env) {
        push_unique(&mut d.hints.backing_services, b);
    }
}

// ---------------------------------------------------------------------------------
// Clojure CLI (deps.edn)
// ---------------------------------------------------------------------------------

/// Aliases that usually start the app, best first.
const RUN_ALIASES: &[&str] = &["run", "main", "server", "start", "serve", "app", "prod"];

fn clojure_cli(view: &ProjectView, path: &str) -> Option<Detection> {
    let dir = parent(path);
    let text = view.text(path)?;
    let forms = match read(&text) {
        Ok(f) => f,
        Err(e) => {
            common::invalid(view, path, e);
            return None;
        }
    };
    let Some(root) = forms.into_iter().find(|f| matches!(f, Edn::Map(_))) else {
        common::invalid(view, path, "not a map");
        return None;
    };
    let deps: Vec<(String, String, Option<String>)> = root
        .get("deps")
        .map(Edn::pairs)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| {
            let (g, a) = split_coordinate(k.as_symbol()?);
            let version = v
                .get("mvn/version")
                .and_then(Edn::as_str)
                .map(str::to_string);
            Some((g, a, version))
        })
        .collect();
    let paths: Vec<String> = root
        .get("paths")
        .map(Edn::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Edn::as_str)
        .map(str::to_string)
        .collect();
    let paths = if paths.is_empty() {
        vec!["src".to_string()]
    } else {
        paths
    };

    // Aliases that run something: (name, main namespace, -M or -X).
    let aliases = root.get("aliases").map(Edn::pairs).unwrap_or_default();
    let mut runners: Vec<(String, String, &str)> = Vec::new();
    for (k, v) in aliases {
        let Edn::Keyword(name) = k else {
            continue;
        };
        let opts: Vec<&str> = v
            .get("main-opts")
            .map(Edn::items)
            .unwrap_or_default()
            .iter()
            .filter_map(Edn::as_str)
            .collect();
        if let Some(i) = opts.iter().position(|o| *o == "-m" || *o == "--main")
            && let Some(ns) = opts.get(i + 1)
        {
            runners.push((name.clone(), (*ns).to_string(), "-M"));
        } else if let Some(f) = v.get("exec-fn").and_then(Edn::as_symbol)
            && name != "build"
        {
            let ns = f.split('/').next().unwrap_or(f).to_string();
            runners.push((name.clone(), ns, "-X"));
        }
    }
    let chosen = RUN_ALIASES
        .iter()
        .find_map(|a| runners.iter().find(|(n, _, _)| n == a))
        .or_else(|| {
            runners.iter().find(|(n, _, _)| {
                !matches!(
                    n.as_str(),
                    "test" | "dev" | "repl" | "lint" | "outdated" | "nrepl" | "cider"
                )
            })
        })
        .cloned();
    let build_alias = aliases
        .iter()
        .any(|(k, _)| matches!(k, Edn::Keyword(n) if n == "build"));
    let build_clj = join(dir, "build.clj");
    let uber_jar = build_alias
        .then(|| view.text(&build_clj))
        .flatten()
        .filter(|t| t.contains("uber"))
        .map(|t| {
            quoted_strings(&t)
                .find(|s| s.starts_with("target/") && s.ends_with(".jar") && !s.contains('%'))
                .map(str::to_string)
                .unwrap_or_else(|| "$(ls target/*.jar | head -n 1)".to_string())
        });

    let is_service = chosen.is_some();
    let mut d = Detection::new(ID, dir, "clojure", 0.7)
        .with_kind(if is_service {
            DetectionKind::Service
        } else {
            DetectionKind::Library
        })
        .with_evidence(path, "clojure cli project");
    d.hints.package_manager = Some(Sourced::new("clojure-cli".into(), path.to_string()));
    d.hints.runtime_version = jdk_pin(view, dir);
    add_dependencies(&mut d, path, &deps);
    let Some((alias, ns, flag)) = chosen else {
        return Some(d);
    };
    d.boost(0.15);
    d.evidence
        .push(Evidence::new(path, format!("alias :{alias} runs {ns}")));
    d.hints.install_command = Some(Sourced::new(
        format!("clojure -P {flag}:{alias}"),
        path.to_string(),
    ));
    match &uber_jar {
        Some(jar) => {
            d.evidence
                .push(Evidence::new(build_clj.clone(), "tools.build uberjar"));
            d.hints.build_command = Some(Sourced::new(
                "clojure -T:build uber".into(),
                build_clj.clone(),
            ));
            d.hints.start_command =
                Some(Sourced::new(format!("java -jar {jar}"), build_clj.clone()));
        }
        None => {
            d.hints.start_command = Some(Sourced::new(
                format!("clojure {flag}:{alias}"),
                format!("{path} :aliases :{alias}"),
            ));
        }
    }
    let ns_path = ns_file(view, dir, &paths, &ns);
    scan_namespace(view, ns_path.as_deref(), &mut d);
    if d.hints.ports.is_empty() && deps.iter().any(|(g, _, _)| g == "http-kit") {
        d.hints.ports.push(Sourced::assumed(8090, "http-kit"));
    }
    finish(view, dir, &mut d);
    Some(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_a_project_clj() {
        let text = r#"
;; The shop.
(defproject acme/shop "0.3.0-SNAPSHOT"
  :description "A shop; with \"quotes\""
  :dependencies [[org.clojure/clojure "1.11.2"]
                 [ring/ring-jetty-adapter "1.12.1"]
                 #_[unused/dep "1"]
                 [org.postgresql/postgresql "42.7.3"]]
  :main ^:skip-aot shop.core
  :target-path "target/%s"
  :profiles {:uberjar {:aot :all
                       :jvm-opts ["-Dclojure.compiler.direct-linking=true"]}}
  :aliases {"migrate" ["run" "-m" 'shop.migrate]})
"#;
        let forms = read(text).unwrap();
        let (name, version, opts) = defproject(&forms).unwrap();
        assert_eq!(name, "acme/shop");
        assert_eq!(version.as_deref(), Some("0.3.0-SNAPSHOT"));
        assert_eq!(opts.get("main").and_then(Edn::as_symbol), Some("shop.core"));
        let deps = lein_dependencies(opts.get("dependencies"));
        let names: Vec<&str> = deps.iter().map(|(_, a, _)| a.as_str()).collect();
        assert_eq!(names, vec!["clojure", "ring-jetty-adapter", "postgresql"]);
    }

    #[test]
    fn reads_a_deps_edn() {
        let text = r#"{:paths ["src" "resources"]
 :deps {org.clojure/clojure {:mvn/version "1.11.3"}
        http-kit/http-kit {:mvn/version "2.8.0"}
        com.github.seancorfield/next.jdbc {:mvn/version "1.3.925"}}
 :aliases {:run {:main-opts ["-m" "app.main"]}
           :test {:extra-paths ["test"] :main-opts ["-m" "kaocha.runner"]}
           :build {:deps {io.github.clojure/tools.build {:git/tag "v0.10.0" :git/sha "3a2c484"}}
                   :ns-default build}}}"#;
        let forms = read(text).unwrap();
        let root = &forms[0];
        assert_eq!(root.get("paths").map(|p| p.items().len()), Some(2));
        let run = root.get("aliases").and_then(|a| a.get("run")).unwrap();
        assert_eq!(run.get("main-opts").map(|m| m.items().len()), Some(2));
    }

    #[test]
    fn reader_odds_and_ends() {
        let forms = read(r#"#{1 2} #"re\d" \a \newline #inst "2024-01-01" #?(:clj 1 :cljs 2) ##Inf @x ~y ~@z #:a{:b 1} #'v -1 +2 nil true"#).unwrap();
        assert_eq!(forms.len(), 16, "{forms:?}");
        assert!(read("(a").is_err());
        assert!(read("(a]").is_err());
        assert!(read("\"abc").is_err());
        assert!(read(")").is_err());
        let deep = "(".repeat(1000);
        assert!(read(&deep).is_err());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "#",
            "#_",
            "^",
            "\\",
            "'",
            "~@",
            "#?",
            "#:",
            "##",
            "{:a}",
            "(defproject)",
            "(defproject x)",
            "#_#_",
            "\"\\",
        ] {
            if let Ok(forms) = read(text) {
                let _ = defproject(&forms);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-z0-9 (){}\\[\\]\"\\\\#_^'`~@:;,/.\n-]{0,160}") {
            if let Ok(forms) = read(&text) {
                let _ = defproject(&forms);
            }
        }
    }
}
