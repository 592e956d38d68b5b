//! Parser of Gradle build scripts (`build.gradle` in Groovy, `build.gradle.kts` in
//! Kotlin) and settings scripts (`settings.gradle[.kts]`).
//!
//! A build script is a program, so this is not a full parser: the text is tokenised
//! (strings with `${...}` interpolation, comments, backquoted Kotlin names), blocks are
//! tracked by name (`plugins { }`, `dependencies { }`...), and the statements Kyozo cares
//! about are recognised in both dialects:
//!
//! - plugins: `id 'x' version 'y'`, `id("x") version "y" apply false`, `kotlin("jvm")`,
//!   `` `java-library` ``, `alias(libs.plugins.spring.boot)`, `apply plugin: 'x'`,
//!   `apply(plugin = "x")`;
//! - dependencies: `implementation 'g:a:v'`, `implementation("g:a:v")`,
//!   `group: 'g', name: 'a'`, `platform(...)`, `project(":lib")`, `kotlin("stdlib")`,
//!   version-catalog references (`libs.postgresql`);
//! - the Java version: `JavaLanguageVersion.of(17)`, `jvmToolchain(17)`,
//!   `sourceCompatibility = JavaVersion.VERSION_17` / `'17'`, `jvmTarget`;
//! - the main class (`mainClass.set(...)`, `mainClass = ...`, `mainClassName = ...`),
//!   `archiveFileName`, and the top-level `group` and `version`.
//!
//! An unterminated string or comment, or unbalanced braces, is an error.

use std::rc::Rc;

use super::ManifestError;

/// A parsed build script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GradleBuild {
    /// Plugins, in file order.
    pub plugins: Vec<GradlePlugin>,
    /// Dependencies, in file order (`buildscript` classpath entries included, with the
    /// configuration `classpath`).
    pub dependencies: Vec<GradleDependency>,
    /// The Java toolchain version (`JavaLanguageVersion.of(17)`, `jvmToolchain(17)`).
    pub toolchain: Option<String>,
    /// `sourceCompatibility` (normalised: `JavaVersion.VERSION_1_8` → `1.8`).
    pub source_compatibility: Option<String>,
    /// `targetCompatibility` (normalised).
    pub target_compatibility: Option<String>,
    /// Kotlin's `jvmTarget` (normalised: `JvmTarget.JVM_17` → `17`).
    pub jvm_target: Option<String>,
    /// The main class (`application { mainClass }`, `springBoot { mainClass }`,
    /// `mainClassName`).
    pub main_class: Option<String>,
    /// The first `archiveFileName` set (of `bootJar`, `jar`, `shadowJar`...).
    pub archive_file_name: Option<String>,
    /// The top-level `group`.
    pub group: Option<String>,
    /// The top-level `version`.
    pub version: Option<String>,
}

/// A plugin request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GradlePlugin {
    /// The plugin id (`org.springframework.boot`, `java`; `kotlin("jvm")` →
    /// `org.jetbrains.kotlin.jvm`), absent for a catalog alias.
    pub id: Option<String>,
    /// A version-catalog alias (`alias(libs.plugins.spring.boot)` → `spring.boot`).
    pub alias: Option<String>,
    /// The requested version.
    pub version: Option<String>,
    /// False for `apply false` (requested for the subprojects, not applied here).
    pub apply: bool,
    /// Declared in a `subprojects`, `allprojects` or `configure` block: it applies to
    /// other projects.
    pub shared: bool,
}

/// A dependency declaration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GradleDependency {
    /// The configuration (`implementation`, `runtimeOnly`, `testImplementation`,
    /// `classpath`...).
    pub configuration: String,
    /// What it points at.
    pub target: DependencyTarget,
    /// Wrapped in `platform(...)` or `enforcedPlatform(...)` (a BOM).
    pub platform: bool,
    /// Declared in a `subprojects`, `allprojects` or `configure` block.
    pub shared: bool,
}

/// What a dependency points at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DependencyTarget {
    /// A module: `group:name[:version]`.
    Module {
        /// The group.
        group: String,
        /// The name.
        name: String,
        /// The version, if given.
        version: Option<String>,
    },
    /// Another project of the build (`project(":lib")` → `:lib`).
    Project(String),
    /// A version-catalog reference (`libs.spring.boot.starter.web` →
    /// `spring.boot.starter.web`).
    Catalog(String),
    /// Something else (`files(...)`, a variable).
    #[default]
    Other,
}

/// A parsed settings script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GradleSettings {
    /// `rootProject.name`.
    pub root_project_name: Option<String>,
    /// The included project paths, as written without the leading colon (`:libs:core`
    /// → `libs:core`).
    pub includes: Vec<String>,
    /// Projects moved elsewhere: `project(':api').projectDir = file('services/api')`
    /// gives (`api`, `services/api`).
    pub project_dirs: Vec<(String, String)>,
}

impl GradleSettings {
    /// The folder of an included project, relative to the settings folder:
    /// `libs:core` → `libs/core`, unless moved with `projectDir`.
    pub fn project_dir(&self, include: &str) -> String {
        let key = include.trim_start_matches(':');
        self.project_dirs
            .iter()
            .find(|(p, _)| p.trim_start_matches(':') == key)
            .map(|(_, d)| d.trim_start_matches("./").trim_end_matches('/').to_string())
            .unwrap_or_else(|| key.replace(':', "/"))
    }
}

impl GradleBuild {
    /// Whether a plugin with this id is applied to this project.
    pub fn applies(&self, id: &str) -> bool {
        self.plugins
            .iter()
            .any(|p| p.apply && !p.shared && p.id.as_deref() == Some(id))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line_start: bool,
}

/// Nesting of `${ ... }` inside strings deeper than this is an error.
const MAX_NESTING: usize = 32;

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if let Some(c) = c {
            self.pos += 1;
            if c == '\n' {
                self.line += 1;
            }
        }
        c
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.peek(k) == Some(c))
    }

    fn err(&self, msg: &str) -> ManifestError {
        ManifestError::new(format!("line {}: {msg}", self.line))
    }

    fn tokens(&mut self) -> Result<Vec<Token>, ManifestError> {
        let mut out = Vec::new();
        let mut line_start = true;
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                line_start = true;
                self.bump();
                continue;
            }
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            if self.starts_with("//") {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
                continue;
            }
            if self.starts_with("/*") {
                self.skip_block_comment()?;
                continue;
            }
            let tok = if c == '"' || c == '\'' {
                Tok::Str(self.string(0)?)
            } else if c == '`' {
                self.bump();
                let mut s = String::new();
                loop {
                    match self.bump() {
                        Some('`') => break,
                        Some('\n') | None => return Err(self.err("unterminated backquoted name")),
                        Some(c) => s.push(c),
                    }
                }
                Tok::Ident(s)
            } else if c.is_alphabetic() || c == '_' || c == '$' {
                let mut s = String::new();
                while let Some(c) = self
                    .peek(0)
                    .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                {
                    s.push(c);
                    self.bump();
                }
                Tok::Ident(s)
            } else if c.is_ascii_digit() {
                let mut s = String::new();
                while let Some(c) = self.peek(0).filter(|c| {
                    c.is_ascii_alphanumeric()
                        || *c == '_'
                        || (*c == '.' && self.peek(1).is_some_and(|n| n.is_ascii_digit()))
                }) {
                    s.push(c);
                    self.bump();
                }
                Tok::Num(s)
            } else {
                self.bump();
                Tok::Punct(c)
            };
            out.push(Token { tok, line_start });
            line_start = false;
        }
        Ok(out)
    }

    fn skip_block_comment(&mut self) -> Result<(), ManifestError> {
        let start = self.line;
        self.bump();
        self.bump();
        loop {
            if self.starts_with("*/") {
                self.bump();
                self.bump();
                return Ok(());
            }
            if self.bump().is_none() {
                return Err(ManifestError::new(format!(
                    "line {start}: unterminated comment"
                )));
            }
        }
    }

    /// A string literal starting at the current quote; returns its raw content.
    fn string(&mut self, depth: usize) -> Result<String, ManifestError> {
        if depth > MAX_NESTING {
            return Err(self.err("strings nested too deeply"));
        }
        let start = self.line;
        let Some(quote) = self.bump() else {
            return Err(self.err("expected a string"));
        };
        let triple = self.peek(0) == Some(quote) && self.peek(1) == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        let unterminated = || ManifestError::new(format!("line {start}: unterminated string"));
        let mut s = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(unterminated());
            };
            if c == quote {
                if !triple {
                    self.bump();
                    return Ok(s);
                }
                if self.peek(1) == Some(quote) && self.peek(2) == Some(quote) {
                    self.bump();
                    self.bump();
                    self.bump();
                    return Ok(s);
                }
            }
            if c == '\n' && !triple {
                return Err(unterminated());
            }
            if c == '\\' {
                self.bump();
                if let Some(e) = self.bump() {
                    s.push(e);
                }
                continue;
            }
            if c == '$' && self.peek(1) == Some('{') && quote == '"' {
                // `${ ... }`: code, possibly with strings of its own, up to the matching
                // brace.
                self.bump();
                self.bump();
                s.push_str("${");
                let mut braces = 1usize;
                while braces > 0 {
                    match self.peek(0) {
                        None => return Err(unterminated()),
                        Some('"' | '\'') => {
                            let inner = self.string(depth + 1)?;
                            s.push('"');
                            s.push_str(&inner);
                            s.push('"');
                        }
                        Some(c) => {
                            if c == '{' {
                                braces += 1;
                            } else if c == '}' {
                                braces -= 1;
                            }
                            s.push(c);
                            self.bump();
                        }
                    }
                }
                continue;
            }
            s.push(c);
            self.bump();
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, ManifestError> {
    Lexer {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    }
    .tokens()
}

/// The token stream with the name of the block each token is in.
struct Walk {
    tokens: Vec<Token>,
    /// For each token, the names of the blocks around it, outermost first (shared
    /// between the tokens of one block).
    blocks: Vec<Rc<Vec<String>>>,
}

fn walk(text: &str) -> Result<Walk, ManifestError> {
    let tokens = tokenize(text)?;
    let mut blocks = Vec::with_capacity(tokens.len());
    let mut stack: Rc<Vec<String>> = Rc::new(Vec::new());
    for (i, t) in tokens.iter().enumerate() {
        blocks.push(Rc::clone(&stack));
        match t.tok {
            Tok::Punct('{') => {
                let mut inner = stack.as_ref().clone();
                inner.push(block_name(&tokens, i));
                if inner.len() > 256 {
                    return Err(ManifestError::new("blocks nested too deeply"));
                }
                stack = Rc::new(inner);
            }
            Tok::Punct('}') => {
                let mut outer = stack.as_ref().clone();
                if outer.pop().is_none() {
                    return Err(ManifestError::new("a `}` closes no block"));
                }
                stack = Rc::new(outer);
            }
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(ManifestError::new(format!(
            "{} block(s) never closed (innermost: {:?})",
            stack.len(),
            stack.last().cloned().unwrap_or_default()
        )));
    }
    Ok(Walk { tokens, blocks })
}

/// The name of the block opened at `brace`: the identifier before it, or the one before
/// the call whose arguments precede it (`tasks.named("bootJar") {` → `named`,
/// `project(':api') {` → `project`).
fn block_name(tokens: &[Token], brace: usize) -> String {
    let Some(prev) = brace.checked_sub(1).and_then(|p| tokens.get(p)) else {
        return String::new();
    };
    match &prev.tok {
        Tok::Ident(s) => s.clone(),
        Tok::Punct(')') => {
            let mut depth = 0usize;
            let mut k = brace - 1;
            loop {
                match tokens.get(k).map(|t| &t.tok) {
                    Some(Tok::Punct(')')) => depth += 1,
                    Some(Tok::Punct('(')) => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    None => return String::new(),
                    _ => {}
                }
                // A call's arguments are short; a longer walk back means unbalanced
                // parentheses, and must not make parsing quadratic.
                if k == 0 || brace - k > 512 {
                    return String::new();
                }
                k -= 1;
            }
            match k.checked_sub(1).and_then(|p| tokens.get(p)).map(|t| &t.tok) {
                Some(Tok::Ident(s)) => s.clone(),
                _ => String::new(),
            }
        }
        _ => String::new(),
    }
}

impl Walk {
    fn tok(&self, i: usize) -> Option<&Tok> {
        self.tokens.get(i).map(|t| &t.tok)
    }

    fn ident(&self, i: usize) -> Option<&str> {
        match self.tok(i)? {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }

    fn is_ident(&self, i: usize, name: &str) -> bool {
        self.ident(i) == Some(name)
    }

    fn is_punct(&self, i: usize, c: char) -> bool {
        self.tok(i) == Some(&Tok::Punct(c))
    }

    fn str_at(&self, i: usize) -> Option<&str> {
        match self.tok(i)? {
            Tok::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string or a number.
    fn literal(&self, i: usize) -> Option<&str> {
        match self.tok(i)? {
            Tok::Str(s) | Tok::Num(s) => Some(s),
            _ => None,
        }
    }

    fn innermost(&self, i: usize) -> Option<&str> {
        self.blocks.get(i)?.last().map(String::as_str)
    }

    fn depth(&self, i: usize) -> usize {
        self.blocks.get(i).map_or(0, |b| b.len())
    }

    fn shared(&self, i: usize) -> bool {
        self.blocks.get(i).is_some_and(|b| {
            b.iter()
                .any(|n| matches!(n.as_str(), "subprojects" | "allprojects" | "configure"))
        })
    }

    /// Whether token `i` starts a statement.
    fn statement_start(&self, i: usize) -> bool {
        i == 0
            || self.tokens.get(i).is_some_and(|t| t.line_start)
            || self.is_punct(i - 1, '{')
            || self.is_punct(i - 1, ';')
    }

    /// `x` (`(` `)`)? — the index after an optional empty call or argument-less token.
    fn skip_open(&self, i: usize) -> (usize, bool) {
        if self.is_punct(i, '(') {
            (i + 1, true)
        } else {
            (i, false)
        }
    }

    /// A dotted reference starting at `i` (`libs.spring.boot`): its parts and the index
    /// after it.
    fn dotted(&self, i: usize) -> (Vec<String>, usize) {
        let mut parts = Vec::new();
        let mut k = i;
        while let Some(name) = self.ident(k) {
            parts.push(name.to_string());
            if self.is_punct(k + 1, '.') && self.ident(k + 2).is_some() {
                k += 2;
            } else {
                k += 1;
                break;
            }
        }
        (parts, k)
    }

    /// Like [`Walk::assigned`], a literal only.
    fn assigned_literal(&self, i: usize) -> Option<String> {
        let mut k = i;
        if self.is_punct(k, '.') && self.is_ident(k + 1, "set") {
            k += 2;
        }
        if self.is_punct(k, '=') || self.is_punct(k, ':') {
            k += 1;
        }
        if self.is_punct(k, '(') {
            k += 1;
        }
        self.str_at(k).map(str::to_string)
    }

    /// A value after `=`, `.set(`, `(` or a space: a literal, or `X.Y` where the last
    /// part is kept (`JavaVersion.VERSION_17`).
    fn assigned(&self, i: usize) -> Option<String> {
        let mut k = i;
        if self.is_punct(k, '.') && self.is_ident(k + 1, "set") {
            k += 2;
        }
        if self.is_punct(k, '=') || self.is_punct(k, ':') {
            k += 1;
        }
        if self.is_punct(k, '(') {
            k += 1;
        }
        if let Some(v) = self.literal(k) {
            return Some(v.to_string());
        }
        let (parts, _) = self.dotted(k);
        if parts.len() >= 2 {
            return parts.last().cloned();
        }
        None
    }
}

/// `VERSION_1_8` → `1.8`, `VERSION_17` → `17`, `JVM_21` → `21`, `'17'` → `17`.
fn java_version(raw: &str) -> Option<String> {
    let v = raw
        .trim()
        .trim_start_matches("VERSION_")
        .trim_start_matches("JVM_")
        .replace('_', ".");
    let ok = !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.');
    ok.then_some(v)
}

/// Parses a build script (Groovy or Kotlin DSL).
pub fn parse(text: &str) -> Result<GradleBuild, ManifestError> {
    let w = walk(text)?;
    let mut out = GradleBuild::default();
    let mut i = 0;
    while i < w.tokens.len() {
        let next = step(&w, i, &mut out);
        i = next.max(i + 1);
    }
    Ok(out)
}

/// Recognises a statement at `i`; returns where to continue.
fn step(w: &Walk, i: usize, out: &mut GradleBuild) -> usize {
    if w.str_at(i) == Some("Main-Class")
        && out.main_class.is_none()
        && let Some(v) = w.assigned_literal(i + 1 + usize::from(w.is_punct(i + 1, ']')))
    {
        // jar { manifest { attributes 'Main-Class': 'x.Main' } } / attributes["Main-Class"] = "x.Main"
        out.main_class = Some(v);
        return i + 1;
    }
    let Some(name) = w.ident(i) else {
        return i + 1;
    };
    let block = w.innermost(i).unwrap_or_default();
    if block == "plugins" && w.statement_start(i) {
        return plugin_request(w, i, out);
    }
    if name == "apply" {
        // `apply plugin: 'x'` / `apply(plugin = "x")`
        let (k, _) = w.skip_open(i + 1);
        if w.is_ident(k, "plugin")
            && (w.is_punct(k + 1, ':') || w.is_punct(k + 1, '='))
            && let Some(id) = w.str_at(k + 2)
        {
            out.plugins.push(GradlePlugin {
                id: Some(id.to_string()),
                apply: true,
                shared: w.shared(i),
                ..GradlePlugin::default()
            });
            return k + 3;
        }
        return i + 1;
    }
    if block == "dependencies" && w.statement_start(i) {
        return dependency(w, i, out);
    }
    let set = |slot: &mut Option<String>, v: Option<String>| {
        if slot.is_none() {
            *slot = v;
        }
    };
    match name {
        "JavaLanguageVersion" if w.is_punct(i + 1, '.') && w.is_ident(i + 2, "of") => {
            let (k, _) = w.skip_open(i + 3);
            set(&mut out.toolchain, w.literal(k).and_then(java_version));
        }
        "jvmToolchain" if w.is_punct(i + 1, '(') => {
            set(&mut out.toolchain, w.literal(i + 2).and_then(java_version));
        }
        "sourceCompatibility" => {
            let v = w.assigned(i + 1).and_then(|v| java_version(&v));
            set(&mut out.source_compatibility, v);
        }
        "targetCompatibility" => {
            let v = w.assigned(i + 1).and_then(|v| java_version(&v));
            set(&mut out.target_compatibility, v);
        }
        "jvmTarget" => {
            let v = w.assigned(i + 1).and_then(|v| java_version(&v));
            set(&mut out.jvm_target, v);
        }
        "mainClass" | "mainClassName" => set(&mut out.main_class, w.assigned_literal(i + 1)),
        "archiveFileName" => set(&mut out.archive_file_name, w.assigned_literal(i + 1)),
        "group" | "version" if w.depth(i) == 0 && w.statement_start(i) => {
            let v = w.assigned(i + 1);
            if name == "group" {
                set(&mut out.group, v);
            } else {
                set(&mut out.version, v);
            }
        }
        _ => {}
    }
    i + 1
}

fn plugin_request(w: &Walk, i: usize, out: &mut GradleBuild) -> usize {
    let mut plugin = GradlePlugin {
        apply: true,
        shared: w.shared(i),
        ..GradlePlugin::default()
    };
    let name = w.ident(i).unwrap_or_default();
    let mut k;
    match name {
        "id" => {
            let (a, paren) = w.skip_open(i + 1);
            let Some(id) = w.str_at(a) else {
                return i + 1;
            };
            plugin.id = Some(id.to_string());
            k = a + 1 + usize::from(paren && w.is_punct(a + 1, ')'));
        }
        "kotlin" if w.is_punct(i + 1, '(') => {
            let Some(id) = w.str_at(i + 2) else {
                return i + 1;
            };
            plugin.id = Some(format!("org.jetbrains.kotlin.{id}"));
            k = i + 3 + usize::from(w.is_punct(i + 3, ')'));
        }
        "alias" if w.is_punct(i + 1, '(') => {
            let (parts, after) = w.dotted(i + 2);
            let alias = match parts.as_slice() {
                [_, plugins, rest @ ..] if plugins == "plugins" && !rest.is_empty() => {
                    rest.join(".")
                }
                _ => return i + 1,
            };
            plugin.alias = Some(alias);
            k = after + usize::from(w.is_punct(after, ')'));
        }
        "version" | "apply" => return i + 1,
        _ => {
            // A bare core plugin: `java`, `application`, `` `java-library` ``.
            if w.is_punct(i + 1, '(') || w.is_punct(i + 1, '.') || w.is_punct(i + 1, '=') {
                return i + 1;
            }
            plugin.id = Some(name.to_string());
            k = i + 1;
        }
    }
    if w.is_ident(k, "version") {
        let (a, paren) = w.skip_open(k + 1);
        if let Some(v) = w.str_at(a) {
            plugin.version = Some(v.to_string());
            k = a + 1 + usize::from(paren && w.is_punct(a + 1, ')'));
        } else {
            k += 1;
        }
    }
    if w.is_ident(k, "apply") {
        let (a, paren) = w.skip_open(k + 1);
        if w.is_ident(a, "false") {
            plugin.apply = false;
        }
        k = a + 1 + usize::from(paren && w.is_punct(a + 1, ')'));
    }
    out.plugins.push(plugin);
    k
}

fn dependency(w: &Walk, i: usize, out: &mut GradleBuild) -> usize {
    let configuration = w.ident(i).unwrap_or_default().to_string();
    if matches!(
        configuration.as_str(),
        "constraints" | "components" | "modules" | "add" | "if" | "else" | "val" | "def"
    ) {
        return i + 1;
    }
    let (mut k, _) = w.skip_open(i + 1);
    let mut platform = false;
    if matches!(w.ident(k), Some("platform" | "enforcedPlatform")) && w.is_punct(k + 1, '(') {
        platform = true;
        k += 2;
    }
    let target = if let Some(s) = w.str_at(k) {
        k += 1;
        module(s)
    } else if w.is_ident(k, "project") {
        // project(':lib') / project(path: ':lib') / project(path = ":lib")
        let (mut a, _) = w.skip_open(k + 1);
        if w.is_ident(a, "path") && (w.is_punct(a + 1, ':') || w.is_punct(a + 1, '=')) {
            a += 2;
        }
        match w.str_at(a) {
            Some(p) => {
                k = a + 1;
                DependencyTarget::Project(p.to_string())
            }
            None => return i + 1,
        }
    } else if w.is_ident(k, "kotlin") && w.is_punct(k + 1, '(') {
        match w.str_at(k + 2) {
            Some(m) => {
                k += 3;
                DependencyTarget::Module {
                    group: "org.jetbrains.kotlin".into(),
                    name: format!("kotlin-{m}"),
                    version: None,
                }
            }
            None => return i + 1,
        }
    } else if w.is_ident(k, "group") && (w.is_punct(k + 1, ':') || w.is_punct(k + 1, '=')) {
        // group: 'g', name: 'a', version: 'v'
        let mut group = String::new();
        let mut name = String::new();
        let mut version = None;
        let mut a = k;
        while let Some(key) = w.ident(a) {
            if !(w.is_punct(a + 1, ':') || w.is_punct(a + 1, '=')) {
                break;
            }
            let Some(v) = w.str_at(a + 2) else {
                break;
            };
            match key {
                "group" => group = v.to_string(),
                "name" => name = v.to_string(),
                "version" => version = Some(v.to_string()),
                _ => {}
            }
            a += 3;
            if w.is_punct(a, ',') {
                a += 1;
            } else {
                break;
            }
        }
        k = a;
        if name.is_empty() {
            return i + 1;
        }
        DependencyTarget::Module {
            group,
            name,
            version,
        }
    } else if w.is_ident(k, "libs") && w.is_punct(k + 1, '.') {
        let (parts, after) = w.dotted(k);
        k = after;
        let parts: Vec<String> = parts.into_iter().skip(1).filter(|p| p != "get").collect();
        if parts.is_empty() {
            return i + 1;
        }
        DependencyTarget::Catalog(parts.join("."))
    } else if w.ident(k).is_some() && !w.is_punct(k, '{') {
        DependencyTarget::Other
    } else {
        // `configuration {` is a block, `x = y` an assignment: not a dependency.
        return i + 1;
    };
    if matches!(target, DependencyTarget::Other) && w.is_punct(i + 1, '=') {
        return i + 1;
    }
    out.dependencies.push(GradleDependency {
        configuration,
        target,
        platform,
        shared: w.shared(i),
    });
    k
}

/// `g:a[:v[:classifier]][@ext]` → a module; anything else → [`DependencyTarget::Other`].
fn module(coordinates: &str) -> DependencyTarget {
    let base = coordinates.split('@').next().unwrap_or(coordinates);
    let mut parts = base.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(g), Some(a), v) if !a.is_empty() && !g.contains(char::is_whitespace) => {
            DependencyTarget::Module {
                group: g.to_string(),
                name: a.to_string(),
                version: v.filter(|v| !v.is_empty()).map(str::to_string),
            }
        }
        _ => DependencyTarget::Other,
    }
}

/// Parses a settings script (Groovy or Kotlin DSL).
pub fn parse_settings(text: &str) -> Result<GradleSettings, ManifestError> {
    let w = walk(text)?;
    let mut out = GradleSettings::default();
    let mut i = 0;
    while i < w.tokens.len() {
        let mut next = i + 1;
        match w.ident(i) {
            Some("rootProject")
                if w.is_punct(i + 1, '.')
                    && w.is_ident(i + 2, "name")
                    && out.root_project_name.is_none() =>
            {
                out.root_project_name = w.assigned(i + 3);
            }
            Some("include") if w.statement_start(i) => {
                let (mut k, _) = w.skip_open(i + 1);
                while let Some(s) = w.str_at(k) {
                    let s = s.trim_start_matches(':').to_string();
                    if !s.is_empty() && !out.includes.contains(&s) {
                        out.includes.push(s);
                    }
                    k += 1;
                    if w.is_punct(k, ',') {
                        k += 1;
                    } else {
                        break;
                    }
                }
                next = k.max(i + 1);
            }
            Some("project") if w.is_punct(i + 1, '(') => {
                // project(':api').projectDir = file('services/api')
                if let Some(p) = w.str_at(i + 2)
                    && w.is_punct(i + 3, ')')
                    && w.is_punct(i + 4, '.')
                    && w.is_ident(i + 5, "projectDir")
                    && w.is_punct(i + 6, '=')
                    && w.is_ident(i + 7, "file")
                {
                    let (k, _) = w.skip_open(i + 8);
                    if let Some(dir) = w.str_at(k) {
                        out.project_dirs
                            .push((p.trim_start_matches(':').to_string(), dir.to_string()));
                    }
                }
            }
            _ => {}
        }
        i = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn module_names(b: &GradleBuild) -> Vec<String> {
        b.dependencies
            .iter()
            .filter_map(|d| match &d.target {
                DependencyTarget::Module { group, name, .. } => Some(format!("{group}:{name}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn groovy_spring_boot() {
        let text = r#"
buildscript {
    repositories { mavenCentral() }
    dependencies {
        classpath "org.springframework.boot:spring-boot-gradle-plugin:2.7.18"
    }
}
plugins {
    id 'java'
    id 'org.springframework.boot' version '3.2.4'
    id "io.spring.dependency-management" version "1.1.4"
}
apply plugin: 'jacoco'

group = 'com.example'
version = '0.0.1-SNAPSHOT'

java {
    sourceCompatibility = JavaVersion.VERSION_17 // the minimum
}

/* a block
   comment with "quotes" and { braces */
dependencies {
    implementation 'org.springframework.boot:spring-boot-starter-web'
    implementation group: 'org.flywaydb', name: 'flyway-core', version: '9.22.3'
    runtimeOnly 'org.postgresql:postgresql'
    implementation platform('org.testcontainers:testcontainers-bom:1.19.7')
    implementation project(':common')
    testImplementation('org.springframework.boot:spring-boot-starter-test') {
        exclude group: 'org.junit.vintage'
    }
    implementation "com.acme:lib:${libVersion}"
}

bootJar {
    archiveFileName = "app.jar"
    mainClass = 'com.example.DemoApplication'
}
"#;
        let b = parse(text).unwrap();
        let ids: Vec<&str> = b.plugins.iter().filter_map(|p| p.id.as_deref()).collect();
        assert_eq!(
            ids,
            vec![
                "java",
                "org.springframework.boot",
                "io.spring.dependency-management",
                "jacoco"
            ]
        );
        assert_eq!(b.plugins[1].version.as_deref(), Some("3.2.4"));
        assert!(b.applies("org.springframework.boot"));
        assert_eq!(b.group.as_deref(), Some("com.example"));
        assert_eq!(b.version.as_deref(), Some("0.0.1-SNAPSHOT"));
        assert_eq!(b.source_compatibility.as_deref(), Some("17"));
        assert_eq!(
            module_names(&b),
            vec![
                "org.springframework.boot:spring-boot-gradle-plugin",
                "org.springframework.boot:spring-boot-starter-web",
                "org.flywaydb:flyway-core",
                "org.postgresql:postgresql",
                "org.testcontainers:testcontainers-bom",
                "org.springframework.boot:spring-boot-starter-test",
                "com.acme:lib",
            ]
        );
        assert_eq!(b.dependencies[0].configuration, "classpath");
        assert!(b.dependencies[4].platform);
        assert!(
            b.dependencies
                .iter()
                .any(|d| d.target == DependencyTarget::Project(":common".into()))
        );
        assert_eq!(b.archive_file_name.as_deref(), Some("app.jar"));
        assert_eq!(b.main_class.as_deref(), Some("com.example.DemoApplication"));
    }

    #[test]
    fn kotlin_dsl() {
        let text = r#"
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    `java-library`
    application
    kotlin("jvm") version "1.9.23"
    kotlin("plugin.spring") version "1.9.23"
    id("org.springframework.boot") version "3.2.4" apply false
    alias(libs.plugins.ktor)
}

java {
    toolchain {
        languageVersion.set(JavaLanguageVersion.of(21))
    }
}

kotlin { compilerOptions { jvmTarget.set(JvmTarget.JVM_21) } }

application {
    mainClass.set("com.example.ApplicationKt")
}

dependencies {
    implementation("io.ktor:ktor-server-netty:2.3.9")
    implementation(libs.postgresql)
    implementation(libs.bundles.exposed)
    implementation(kotlin("stdlib"))
    implementation(project(":shared"))
    implementation(enforcedPlatform("io.micronaut.platform:micronaut-platform:4.3.0"))
    testImplementation(kotlin("test"))
    val x = "y"
}
tasks.named<Jar>("jar") { manifest { attributes["Main-Class"] = "x.Y" } }
"#;
        let b = parse(text).unwrap();
        let ids: Vec<Option<&str>> = b.plugins.iter().map(|p| p.id.as_deref()).collect();
        assert_eq!(
            ids,
            vec![
                Some("java-library"),
                Some("application"),
                Some("org.jetbrains.kotlin.jvm"),
                Some("org.jetbrains.kotlin.plugin.spring"),
                Some("org.springframework.boot"),
                None
            ]
        );
        assert_eq!(b.plugins[2].version.as_deref(), Some("1.9.23"));
        assert!(!b.plugins[4].apply);
        assert!(!b.applies("org.springframework.boot"));
        assert_eq!(b.plugins[5].alias.as_deref(), Some("ktor"));
        assert_eq!(b.toolchain.as_deref(), Some("21"));
        assert_eq!(b.jvm_target.as_deref(), Some("21"));
        assert_eq!(b.main_class.as_deref(), Some("com.example.ApplicationKt"));
        let catalog: Vec<&str> = b
            .dependencies
            .iter()
            .filter_map(|d| match &d.target {
                DependencyTarget::Catalog(c) => Some(c.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(catalog, vec!["postgresql", "bundles.exposed"]);
        assert_eq!(
            module_names(&b),
            vec![
                "io.ktor:ktor-server-netty",
                "org.jetbrains.kotlin:kotlin-stdlib",
                "io.micronaut.platform:micronaut-platform",
                "org.jetbrains.kotlin:kotlin-test",
            ]
        );
        assert!(b.dependencies.iter().all(|d| d.configuration != "val"));
    }

    #[test]
    fn shared_blocks_and_toolchain_shortcuts() {
        let text = "subprojects {\n  apply plugin: 'org.springframework.boot'\n  dependencies { implementation 'org.postgresql:postgresql' }\n}\nkotlin { jvmToolchain(17) }\nsourceCompatibility = '11'\n";
        let b = parse(text).unwrap();
        assert!(b.plugins[0].shared);
        assert!(!b.applies("org.springframework.boot"));
        assert!(b.dependencies[0].shared);
        assert_eq!(b.toolchain.as_deref(), Some("17"));
        assert_eq!(b.source_compatibility.as_deref(), Some("11"));
        let b = parse("sourceCompatibility = 1.8\ntargetCompatibility = JavaVersion.VERSION_1_8\n")
            .unwrap();
        assert_eq!(b.source_compatibility.as_deref(), Some("1.8"));
        assert_eq!(b.target_compatibility.as_deref(), Some("1.8"));
    }

    #[test]
    fn groovy_catalog_references() {
        let text = "plugins {\n    alias(libs.plugins.spring.boot)\n}\n\ndependencies {\n    implementation project(':libs:core')\n    implementation libs.spring.boot.starter.web\n    implementation libs.bundles.storage\n}\n";
        let b = parse(text).unwrap();
        let targets: Vec<&DependencyTarget> = b.dependencies.iter().map(|d| &d.target).collect();
        assert_eq!(
            targets,
            vec![
                &DependencyTarget::Project(":libs:core".into()),
                &DependencyTarget::Catalog("spring.boot.starter.web".into()),
                &DependencyTarget::Catalog("bundles.storage".into()),
            ]
        );
    }

    #[test]
    fn settings() {
        let groovy = "rootProject.name = 'shop'\ninclude 'api', 'libs:core'\ninclude ':worker'\nproject(':worker').projectDir = file('services/worker')\n";
        let s = parse_settings(groovy).unwrap();
        assert_eq!(s.root_project_name.as_deref(), Some("shop"));
        assert_eq!(s.includes, vec!["api", "libs:core", "worker"]);
        assert_eq!(s.project_dir("libs:core"), "libs/core");
        assert_eq!(s.project_dir(":worker"), "services/worker");
        let kts = "pluginManagement { repositories { gradlePluginPortal() } }\nrootProject.name = \"shop\"\ninclude(\":app\", \":lib\")\ninclude(\"web\")\n";
        let s = parse_settings(kts).unwrap();
        assert_eq!(s.includes, vec!["app", "lib", "web"]);
    }

    #[test]
    fn errors_and_strings() {
        assert!(parse("dependencies {").is_err());
        assert!(parse("}").is_err());
        assert!(parse("x = 'abc\n'").is_err());
        assert!(parse("/* never closed").is_err());
        assert!(parse("x = \"\"\"multi\nline { \"\"\"\n").is_ok());
        assert!(parse("x = \"${a.b(\"}\")}\"\n").is_ok());
        assert!(parse("url = 'https://example.com//x' // comment\n").is_ok());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "{",
            "\"",
            "'''",
            "`",
            "${",
            "\"${",
            "\"${\"${\"${",
            "plugins { id }",
            "plugins { id( }",
            "dependencies { implementation( }",
            "plugins { alias( }",
            "plugins { kotlin( }",
            "project(",
            "apply(",
            "rootProject.",
            "include(",
            "dependencies { implementation group: }",
            "1.",
            "JavaLanguageVersion.of(",
            "a)b{c}",
            "plugins{id 'x' version}",
        ] {
            let _ = parse(text);
            let _ = parse_settings(text);
        }
        let deep = "\"${".repeat(100);
        assert!(parse(&deep).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-zA-Z0-9 (){}\\[\\]\"'`:=.,/*$\n#;-]{0,160}") {
            let _ = parse(&text);
            let _ = parse_settings(&text);
        }
    }
}
