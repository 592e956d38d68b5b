//! The Zig detector: every folder with a `build.zig` (and its `build.zig.zon`).
//!
//! A `build.zig` that adds an executable (`b.addExecutable(.{ .name = "x", ... })`, or
//! the old `b.addExecutable("x", "src/main.zig")`) is a service: `zig build --fetch`,
//! `zig build -Doptimize=ReleaseSafe`, `./zig-out/bin/<name>`. One that only adds
//! libraries or modules is a library.
//!
//! Ports: `.port = N` in the executable's root source file (how zap and http.zig are
//! configured), else the web library's default (`zap` 3000, `httpz` 5882, `jetzig` and
//! `tokamak` 8080), marked `default for X`.
//!
//! Runtime version precedence: `.tool-versions` `zig` > `build.zig.zon`
//! `minimum_zig_version`.
//!
//! Both files are Zig source; they are read with a small tokenizer (comments, strings,
//! `@"quoted"` identifiers and multiline `\\` strings understood), not evaluated.

use crate::topology::common;
use crate::topology::manifest::ManifestError;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, ProjectView, Sourced, join, parent,
};

/// Detects Zig projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ZigDetector;

impl Detector for ZigDetector {
    fn id(&self) -> &str {
        "zig"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut out = Vec::new();
        for path in view.named("build.zig") {
            let Some(text) = view.text(path) else {
                continue;
            };
            let dir = parent(path);
            let zon_path = join(dir, "build.zig.zon");
            let zon = match view.text(&zon_path).map(|t| parse_build_zon(&t)) {
                Some(Ok(zon)) => Some(zon),
                Some(Err(e)) => {
                    common::invalid(view, &zon_path, e);
                    None
                }
                None => None,
            };
            let build = parse_build_zig(&text);
            out.push(detect_project(view, path, &build, zon.as_ref()));
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Str(String),
    Number(String),
    Punct(char),
}

/// Splits Zig source into tokens, dropping comments. Never fails.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut tokens = Vec::new();
    let mut i = 0;
    // A quoted string starting at `i` (on the quote): its value and the index after it.
    let quoted = |mut i: usize| -> (String, usize) {
        let mut value = String::new();
        i += 1;
        while let Some(c) = at(i) {
            if c == '\\' {
                if let Some(next) = at(i + 1) {
                    value.push(next);
                }
                i += 2;
                continue;
            }
            i += 1;
            if c == '"' || c == '\n' {
                break;
            }
            value.push(c);
        }
        (value, i)
    };
    while let Some(c) = at(i) {
        if c == '/' && at(i + 1) == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '\\' && at(i + 1) == Some('\\') {
            let mut value = String::new();
            i += 2;
            while let Some(c) = at(i).filter(|c| *c != '\n') {
                value.push(c);
                i += 1;
            }
            tokens.push(Token::Str(value));
        } else if c == '"' {
            let (value, next) = quoted(i);
            tokens.push(Token::Str(value));
            i = next;
        } else if c == '@' && at(i + 1) == Some('"') {
            let (value, next) = quoted(i + 1);
            tokens.push(Token::Ident(value));
            i = next;
        } else if c.is_ascii_digit() {
            let mut number = String::new();
            while let Some(c) = at(i).filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
                number.push(c);
                i += 1;
            }
            tokens.push(Token::Number(number));
        } else if c.is_alphanumeric() || c == '_' || c == '@' {
            let mut ident = String::new();
            while let Some(c) = at(i)
                .filter(|c| c.is_alphanumeric() || *c == '_' || (*c == '@' && ident.is_empty()))
            {
                ident.push(c);
                i += 1;
            }
            tokens.push(Token::Ident(ident));
        } else {
            if !c.is_whitespace() {
                tokens.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    tokens
}

/// A ZON value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Zon {
    Str(String),
    /// An enum literal (`.name`) or a bare identifier (`true`).
    Word(String),
    Number(String),
    /// `.{ .a = x, .b = y }`.
    Struct(Vec<(String, Zon)>),
    /// `.{ x, y }`.
    Tuple(Vec<Zon>),
}

impl Zon {
    fn field(&self, name: &str) -> Option<&Zon> {
        match self {
            Zon::Struct(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Zon::Str(s) | Zon::Word(s) | Zon::Number(s) => Some(s),
            _ => None,
        }
    }
}

/// Deepest nesting the ZON parser accepts.
const MAX_DEPTH: usize = 64;

struct ZonParser {
    tokens: Vec<Token>,
    pos: usize,
}

impl ZonParser {
    fn peek(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.pos + ahead)
    }

    fn punct(&self, ahead: usize, p: char) -> bool {
        matches!(self.peek(ahead), Some(Token::Punct(c)) if *c == p)
    }

    fn error(&self, what: &str) -> ManifestError {
        ManifestError::new(format!("build.zig.zon: {what} (token {})", self.pos))
    }

    fn value(&mut self, depth: usize) -> Result<Zon, ManifestError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek(0).cloned() {
            Some(Token::Str(s)) => {
                self.pos += 1;
                // Consecutive multiline string lines are one string.
                let mut s = s;
                while let Some(Token::Str(more)) = self.peek(0).cloned() {
                    s.push('\n');
                    s.push_str(&more);
                    self.pos += 1;
                }
                Ok(Zon::Str(s))
            }
            Some(Token::Number(n)) => {
                self.pos += 1;
                Ok(Zon::Number(n))
            }
            Some(Token::Ident(w)) => {
                self.pos += 1;
                Ok(Zon::Word(w))
            }
            Some(Token::Punct('-')) => {
                self.pos += 1;
                match self.value(depth + 1)? {
                    Zon::Number(n) => Ok(Zon::Number(format!("-{n}"))),
                    _ => Err(self.error("expected a number after '-'")),
                }
            }
            Some(Token::Punct('.')) if self.punct(1, '{') => {
                self.pos += 2;
                self.aggregate(depth)
            }
            Some(Token::Punct('.')) => match self.peek(1).cloned() {
                Some(Token::Ident(w)) => {
                    self.pos += 2;
                    Ok(Zon::Word(w))
                }
                _ => Err(self.error("expected a name after '.'")),
            },
            Some(Token::Punct(c)) => Err(self.error(&format!("unexpected '{c}'"))),
            None => Err(self.error("unexpected end")),
        }
    }

    /// After `.{`: a struct, a tuple or an empty value, up to its `}`.
    fn aggregate(&mut self, depth: usize) -> Result<Zon, ManifestError> {
        let is_struct = self.punct(0, '.')
            && matches!(self.peek(1), Some(Token::Ident(_)))
            && self.punct(2, '=');
        let mut fields = Vec::new();
        let mut items = Vec::new();
        loop {
            if self.punct(0, '}') {
                self.pos += 1;
                break;
            }
            if is_struct {
                let name = match (
                    self.punct(0, '.'),
                    self.peek(1).cloned(),
                    self.punct(2, '='),
                ) {
                    (true, Some(Token::Ident(name)), true) => name,
                    _ => return Err(self.error("expected `.field =`")),
                };
                self.pos += 3;
                fields.push((name, self.value(depth + 1)?));
            } else {
                items.push(self.value(depth + 1)?);
            }
            if self.punct(0, ',') {
                self.pos += 1;
            } else if !self.punct(0, '}') {
                return Err(self.error("expected ',' or '}'"));
            }
        }
        Ok(if is_struct {
            Zon::Struct(fields)
        } else {
            Zon::Tuple(items)
        })
    }
}

/// What Kyozo reads of a `build.zig.zon`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BuildZon {
    /// `.name` (a string, or an enum literal since Zig 0.14).
    pub(crate) name: Option<String>,
    /// `.version`.
    pub(crate) version: Option<String>,
    /// `.minimum_zig_version`.
    pub(crate) minimum_zig_version: Option<String>,
    /// Names of `.dependencies`.
    pub(crate) dependencies: Vec<String>,
}

/// Parses a `build.zig.zon`.
pub(crate) fn parse_build_zon(text: &str) -> Result<BuildZon, ManifestError> {
    let mut parser = ZonParser {
        tokens: tokenize(text),
        pos: 0,
    };
    let value = parser.value(0)?;
    if parser.pos < parser.tokens.len() {
        return Err(parser.error("unexpected text after the value"));
    }
    if !matches!(value, Zon::Struct(_) | Zon::Tuple(_)) {
        return Err(ManifestError::new("build.zig.zon: not a struct"));
    }
    let text = |name: &str| value.field(name).and_then(Zon::text).map(str::to_string);
    let dependencies = match value.field("dependencies") {
        Some(Zon::Struct(deps)) => deps.iter().map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    };
    Ok(BuildZon {
        name: text("name"),
        version: text("version"),
        minimum_zig_version: text("minimum_zig_version"),
        dependencies,
    })
}

/// What Kyozo reads of a `build.zig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BuildZig {
    /// Executables added: name (when a literal or a `const` string) and root source
    /// file (when a literal).
    pub(crate) executables: Vec<(Option<String>, Option<String>)>,
    /// Whether it adds a library or a module.
    pub(crate) libraries: bool,
}

/// Reads the executables a `build.zig` adds. Never fails.
pub(crate) fn parse_build_zig(text: &str) -> BuildZig {
    let tokens = tokenize(text);
    let ident = |i: usize, name: &str| matches!(tokens.get(i), Some(Token::Ident(s)) if s == name);
    let punct = |i: usize, p: char| matches!(tokens.get(i), Some(Token::Punct(c)) if *c == p);
    let string = |i: usize| match tokens.get(i) {
        Some(Token::Str(s)) => Some(s.clone()),
        _ => None,
    };
    // `const name = "value";` anywhere in the file.
    let constant = |name: &str| -> Option<String> {
        (0..tokens.len()).find_map(|i| {
            (ident(i, "const") && ident(i + 1, name) && punct(i + 2, '='))
                .then(|| string(i + 3))
                .flatten()
        })
    };
    let mut build = BuildZig::default();
    for i in 0..tokens.len() {
        if [
            "addStaticLibrary",
            "addSharedLibrary",
            "addLibrary",
            "addModule",
        ]
        .iter()
        .any(|n| ident(i, n))
            && punct(i + 1, '(')
        {
            build.libraries = true;
        }
        if !(ident(i, "addExecutable") && punct(i + 1, '(')) {
            continue;
        }
        if let Some(name) = string(i + 2) {
            // Zig 0.10 and older: addExecutable("name", "src/main.zig").
            let root = punct(i + 3, ',').then(|| string(i + 4)).flatten();
            build.executables.push((Some(name), root));
            continue;
        }
        // addExecutable(.{ ... }): `.name` at the first level, the root source file
        // anywhere inside (it may sit in a nested createModule call).
        let mut name = None;
        let mut root = None;
        let mut depth = 0usize;
        let mut j = i + 1;
        while j < tokens.len() {
            match tokens.get(j) {
                Some(Token::Punct('(' | '{')) => depth += 1,
                Some(Token::Punct(')' | '}')) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            if depth == 2
                && name.is_none()
                && punct(j, '.')
                && ident(j + 1, "name")
                && punct(j + 2, '=')
            {
                name = string(j + 3).or_else(|| match tokens.get(j + 3) {
                    Some(Token::Ident(var)) => constant(var),
                    _ => None,
                });
            }
            if root.is_none() && ident(j, "root_source_file") {
                root = tokens
                    .get(j + 1..)
                    .unwrap_or_default()
                    .iter()
                    .take(12)
                    .find_map(|t| match t {
                        Token::Str(s) => Some(s.clone()),
                        _ => None,
                    });
            }
            j += 1;
        }
        build.executables.push((name, root));
    }
    build
}

/// Web libraries: (dependency, default port).
const WEB_LIBRARIES: &[(&str, u16)] = &[
    ("httpz", 5882),
    ("jetzig", 8080),
    ("tokamak", 8080),
    ("zap", 3000),
];

/// `.port = N` in Zig source.
pub(crate) fn port_in_source(source: &str) -> Option<u16> {
    let tokens = tokenize(source);
    tokens.windows(4).find_map(|w| match w {
        [
            Token::Punct('.'),
            Token::Ident(field),
            Token::Punct('='),
            Token::Number(n),
        ] if field == "port" => n.parse::<u16>().ok().filter(|p| *p > 0),
        _ => None,
    })
}

fn detect_project(
    view: &ProjectView,
    path: &str,
    build: &BuildZig,
    zon: Option<&BuildZon>,
) -> Detection {
    let dir = parent(path);
    let zon_path = join(dir, "build.zig.zon");
    let mut d =
        Detection::new("zig", dir, "zig", 0.75).with_evidence(path, "build.zig: a Zig build");
    d.hints.package_manager = Some(Sourced::new("zig".to_string(), path.to_string()));
    if zon.is_some() {
        d = d.with_evidence(zon_path.clone(), "build.zig.zon: the package manifest");
        d.boost(0.05);
    }
    d.hints.name = zon
        .and_then(|z| z.name.clone())
        .map(|n| Sourced::new(n, format!("{zon_path} .name")));
    d.hints.runtime_version = common::tool_version(view, dir, &["zig"]).or_else(|| {
        zon.and_then(|z| z.minimum_zig_version.clone())
            .map(|v| Sourced::new(v, format!("{zon_path} .minimum_zig_version")))
    });
    let env = common::env_from_examples(view, dir);
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;

    // The executable: the one named like the package, else the first with a name.
    let zon_name = zon.and_then(|z| z.name.as_deref());
    let named: Vec<(&String, Option<&String>)> = build
        .executables
        .iter()
        .filter_map(|(n, r)| n.as_ref().map(|n| (n, r.as_ref())))
        .collect();
    let chosen = named
        .iter()
        .find(|(n, _)| Some(n.as_str()) == zon_name)
        .or_else(|| named.first())
        .copied();
    let (name, root) = match (chosen, build.executables.is_empty(), zon_name) {
        (Some((n, r)), _, _) => (n.clone(), r.cloned()),
        // An executable whose name is computed: assume the package's name.
        (None, false, Some(z)) => (z.to_string(), None),
        (None, false, None) => {
            d.confidence = 0.5;
            d.evidence.push(Evidence::new(
                path,
                "adds an executable whose name could not be read",
            ));
            return d;
        }
        (None, true, _) => {
            d.kind = DetectionKind::Library;
            if build.libraries {
                d.evidence
                    .push(Evidence::new(path, "adds only libraries or modules"));
            }
            return d;
        }
    };
    d.evidence
        .push(Evidence::new(path, format!("adds the executable {name}")));
    d.boost(0.1);
    let deps = zon.map(|z| z.dependencies.as_slice()).unwrap_or_default();
    d.hints.install_command = (!deps.is_empty()).then(|| {
        Sourced::new(
            "zig build --fetch".to_string(),
            format!("{zon_path} .dependencies"),
        )
    });
    d.hints.build_command = Some(Sourced::assumed(
        "zig build -Doptimize=ReleaseSafe".to_string(),
        "zig",
    ));
    d.hints.start_command = Some(Sourced::new(
        format!("./zig-out/bin/{name}"),
        format!("{path} addExecutable"),
    ));

    let web = WEB_LIBRARIES
        .iter()
        .find(|(lib, _)| deps.iter().any(|d| d == lib));
    if let Some((lib, port)) = web {
        d.evidence.push(Evidence::new(
            zon_path.clone(),
            format!("depends on {lib}: an HTTP server"),
        ));
        let root = root.unwrap_or_else(|| "src/main.zig".to_string());
        let root = join(dir, &root);
        let read = view
            .text(&root)
            .and_then(|t| port_in_source(&t))
            .map(|p| Sourced::new(p, format!("{root} .port")));
        d.hints
            .ports
            .push(read.unwrap_or_else(|| Sourced::assumed(*port, *lib)));
    }
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn zon_fields() {
        let zon = parse_build_zon(
            r#".{
    // This is the default name used by packages depending on this one.
    .name = "api",
    .version = "0.1.0",
    .minimum_zig_version = "0.13.0",
    .dependencies = .{
        .zap = .{
            .url = "git+https://github.com/zigzap/zap?ref=v0.8.0#d9d3ba9f",
            .hash = "12200223d76ab6cd32f75bc2e31463b0b429bb5b2b6fa4ce8f68dea494ca1ec3398b",
        },
        .@"zig-cli" = .{ .path = "../zig-cli", .lazy = true },
    },
    .paths = .{ "build.zig", "build.zig.zon", "src", },
}"#,
        )
        .unwrap();
        assert_eq!(zon.name.as_deref(), Some("api"));
        assert_eq!(zon.version.as_deref(), Some("0.1.0"));
        assert_eq!(zon.minimum_zig_version.as_deref(), Some("0.13.0"));
        assert_eq!(zon.dependencies, vec!["zap", "zig-cli"]);
    }

    #[test]
    fn zon_enum_name_and_fingerprint() {
        let zon = parse_build_zon(
            ".{ .name = .api, .fingerprint = 0x9a5e4c1f2b3d4e5f, .dependencies = .{} }",
        )
        .unwrap();
        assert_eq!(zon.name.as_deref(), Some("api"));
        assert!(zon.dependencies.is_empty());
    }

    #[test]
    fn bad_zon() {
        for text in [
            "",
            ".{",
            ".{ .name = }",
            ".{ .name \"x\" }",
            "\"just a string\"",
            ".{ .a = 1 } trailing",
            &".{ .a = ".repeat(200),
        ] {
            assert!(parse_build_zon(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn add_executable_forms() {
        let b = parse_build_zig(
            r#"const std = @import("std");
pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    // const old = b.addExecutable(.{ .name = "commented" });
    const exe = b.addExecutable(.{
        .name = "server",
        .root_source_file = b.path("src/main.zig"),
        .target = target,
        .optimize = optimize,
    });
    b.installArtifact(exe);
}"#,
        );
        assert_eq!(
            b.executables,
            vec![(Some("server".to_string()), Some("src/main.zig".to_string()))]
        );
        assert!(!b.libraries);

        // Zig 0.15: the root file sits in a nested createModule; the name in a const.
        let b = parse_build_zig(
            "const app_name = \"tool\";\nconst exe = b.addExecutable(.{ .name = app_name, .root_module = b.createModule(.{ .root_source_file = b.path(\"src/cli.zig\"), .target = target }) });",
        );
        assert_eq!(
            b.executables,
            vec![(Some("tool".to_string()), Some("src/cli.zig".to_string()))]
        );

        // Zig 0.10.
        let b = parse_build_zig("const exe = b.addExecutable(\"hello\", \"src/main.zig\");");
        assert_eq!(
            b.executables,
            vec![(Some("hello".to_string()), Some("src/main.zig".to_string()))]
        );

        // A module's `.name` is not the executable's.
        let b = parse_build_zig(
            "const lib = b.addStaticLibrary(.{ .name = \"core\", .root_source_file = b.path(\"src/root.zig\") });\n_ = b.addModule(\"core\", .{});",
        );
        assert!(b.executables.is_empty());
        assert!(b.libraries);
    }

    #[test]
    fn ports_and_odd_input() {
        assert_eq!(
            port_in_source(
                "var listener = zap.HttpListener.init(.{ .port = 3000, .on_request = on_request });"
            ),
            Some(3000)
        );
        assert_eq!(
            port_in_source("// .port = 9999\nconst x = .{ .port = port };"),
            None
        );
        for text in [
            "addExecutable(",
            "addExecutable(.{ .name = ",
            "@\"",
            "\\\\",
            "\"\\",
        ] {
            let _ = parse_build_zig(text);
            let _ = parse_build_zon(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_build_zon(&text);
            let _ = parse_build_zig(&text);
            let _ = port_in_source(&text);
        }

        #[test]
        fn never_panics_on_syntax(text in "[a-z_A-Z0-9(){}\\[\\]\"'#=.,:;/\\\\@*<>^~|$ \n\t-]*") {
            let _ = parse_build_zon(&text);
            let _ = parse_build_zig(&text);
            let _ = port_in_source(&text);
        }
    }
}
