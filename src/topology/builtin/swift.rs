//! The Swift detector: every folder with a `Package.swift` (Swift Package Manager).
//!
//! A package with an executable (an `.executable(name:)` product, an
//! `.executableTarget(name:)`, or an old-style `.target(name:)` with a `main.swift`) is a
//! service: `swift package resolve`, `swift build -c release`, `.build/release/<name>`. A
//! package of libraries only is a library.
//!
//! Frameworks come from the package dependencies: `github.com/vapor/vapor` is Vapor
//! (started with `serve --env production --hostname 0.0.0.0 --port 8080`, port 8080),
//! `github.com/hummingbird-project/hummingbird` is Hummingbird (`--hostname 0.0.0.0
//! --port 8080`). Database drivers (Fluent drivers, PostgresNIO, RediStack...) give the
//! backing services.
//!
//! Runtime version precedence: `.swift-version` > `.tool-versions` `swift` > the
//! `swift-tools-version` line of `Package.swift`.
//!
//! `Package.swift` is Swift code; it is read with a small tokenizer (comments and string
//! literals understood), not evaluated.

use crate::topology::common;
use crate::topology::manifest::ManifestError;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, Evidence, Note, ProjectView, Sourced,
    backing, join, parent,
};

/// Detects Swift packages.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SwiftDetector;

impl Detector for SwiftDetector {
    fn id(&self) -> &str {
        "swift"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut out = Vec::new();
        for path in view.named("Package.swift") {
            let Some(text) = view.text(path) else {
                continue;
            };
            match parse_package_swift(&text) {
                Ok(manifest) => out.push(detect_package(view, path, &manifest)),
                Err(e) => common::invalid(view, path, e),
            }
        }
        Ok(out)
    }
}

/// What Kyozo reads of a `Package.swift`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackageSwift {
    /// The `// swift-tools-version:` of the first line.
    pub(crate) tools_version: Option<String>,
    /// `Package(name:)`.
    pub(crate) name: Option<String>,
    /// Names of `.executable(name:)` products.
    pub(crate) executable_products: Vec<String>,
    /// Names of `.library(name:)` products.
    pub(crate) library_products: Vec<String>,
    /// Names of `.executableTarget(name:)` targets.
    pub(crate) executable_targets: Vec<String>,
    /// Names of `.target(name:)` targets.
    pub(crate) targets: Vec<String>,
    /// URLs (or registry ids) of `.package(...)` dependencies.
    pub(crate) dependencies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Splits Swift source into identifiers, string literals and punctuation, dropping
/// comments (nested block comments included). Never fails: odd input gives odd tokens.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        if c == '/' && at(i + 1) == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            let mut depth = 0usize;
            while let Some(c) = at(i) {
                if c == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if c == '*' && at(i + 1) == Some('/') {
                    depth = depth.saturating_sub(1);
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            let multi = at(i + 1) == Some('"') && at(i + 2) == Some('"');
            i += if multi { 3 } else { 1 };
            let mut value = String::new();
            while let Some(c) = at(i) {
                if c == '\\' {
                    if let Some(next) = at(i + 1) {
                        value.push(next);
                    }
                    i += 2;
                    continue;
                }
                if multi && c == '"' && at(i + 1) == Some('"') && at(i + 2) == Some('"') {
                    i += 3;
                    break;
                }
                if !multi && (c == '"' || c == '\n') {
                    i += 1;
                    break;
                }
                value.push(c);
                i += 1;
            }
            tokens.push(Token::Str(value));
        } else if c.is_alphanumeric() || c == '_' {
            let mut ident = String::new();
            while let Some(c) = at(i).filter(|c| c.is_alphanumeric() || *c == '_') {
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

/// Parses a `Package.swift`. Fails only when the file does not look like a package
/// manifest at all (no `Package(` call).
pub(crate) fn parse_package_swift(text: &str) -> Result<PackageSwift, ManifestError> {
    let tools_version = text.lines().next().and_then(|line| {
        let rest = line.trim().strip_prefix("//")?.trim_start();
        let rest = rest.strip_prefix("swift-tools-version")?;
        let rest = rest.trim_start().strip_prefix(':')?.trim();
        let version: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let version = version.trim_end_matches('.');
        (!version.is_empty()).then(|| version.to_string())
    });
    let tokens = tokenize(text);
    let ident = |i: usize, name: &str| matches!(tokens.get(i), Some(Token::Ident(s)) if s == name);
    let punct = |i: usize, p: char| matches!(tokens.get(i), Some(Token::Punct(c)) if *c == p);
    let string = |i: usize| match tokens.get(i) {
        Some(Token::Str(s)) => Some(s.clone()),
        _ => None,
    };
    // `<first>(name: "X"` starting at token i.
    let named_call = |i: usize, callee: &str| -> Option<String> {
        (ident(i, callee) && punct(i + 1, '(') && ident(i + 2, "name") && punct(i + 3, ':'))
            .then(|| string(i + 4))
            .flatten()
    };

    let mut manifest = PackageSwift {
        tools_version,
        ..PackageSwift::default()
    };
    let mut has_package_call = false;
    for i in 0..tokens.len() {
        if !has_package_call && ident(i, "Package") && punct(i + 1, '(') {
            has_package_call = true;
            manifest.name = named_call(i, "Package");
        }
        if punct(i, '.') {
            let push = |list: &mut Vec<String>, value: Option<String>| {
                if let Some(v) = value
                    && !list.contains(&v)
                {
                    list.push(v);
                }
            };
            push(
                &mut manifest.executable_products,
                named_call(i + 1, "executable"),
            );
            push(&mut manifest.library_products, named_call(i + 1, "library"));
            push(
                &mut manifest.executable_targets,
                named_call(i + 1, "executableTarget"),
            );
            push(&mut manifest.targets, named_call(i + 1, "target"));
            if ident(i + 1, "package") && punct(i + 2, '(') {
                // `.package(url: "...")`, `.package(name: "x", url: "...")`,
                // `.package(id: "scope.name", ...)`: the first url/id argument.
                let mut j = i + 3;
                let mut depth = 1usize;
                while depth > 0 && j < tokens.len() {
                    if punct(j, '(') {
                        depth += 1;
                    } else if punct(j, ')') {
                        depth -= 1;
                    } else if depth == 1
                        && (ident(j, "url") || ident(j, "id"))
                        && punct(j + 1, ':')
                        && let Some(url) = string(j + 2)
                    {
                        push(&mut manifest.dependencies, Some(url));
                        break;
                    }
                    j += 1;
                }
            }
        }
    }
    if !has_package_call {
        return Err(ManifestError::new(
            "no `Package(` call: not a Swift package manifest",
        ));
    }
    Ok(manifest)
}

/// The repository name of a dependency URL, lower-case: `https://github.com/vapor/
/// fluent-postgres-driver.git` → `fluent-postgres-driver`; a registry id
/// `vapor.vapor` → `vapor`.
fn repo_name(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed);
    let last = last.strip_suffix(".git").unwrap_or(last);
    let last = if url.contains('/') {
        last
    } else {
        last.rsplit('.').next().unwrap_or(last)
    };
    last.to_ascii_lowercase()
}

/// Swift packages that mean a backing service, by repository name. Sorted.
const BACKING_PACKAGES: &[(&str, &str)] = &[
    ("fluent-mongo-driver", "mongodb"),
    ("fluent-mysql-driver", "mysql"),
    ("fluent-postgres-driver", "postgres"),
    ("mongokitten", "mongodb"),
    ("mysql-kit", "mysql"),
    ("mysql-nio", "mysql"),
    ("postgres-kit", "postgres"),
    ("postgres-nio", "postgres"),
    ("redis", "redis"),
    ("redistack", "redis"),
];

fn detect_package(view: &ProjectView, path: &str, manifest: &PackageSwift) -> Detection {
    let dir = parent(path);
    let mut d = Detection::new("swift", dir, "swift", 0.75)
        .with_evidence(path, "Package.swift: a Swift package");
    d.hints.name = manifest
        .name
        .clone()
        .map(|n| Sourced::new(n, format!("{path} name")));
    d.hints.package_manager = Some(Sourced::new("swiftpm".to_string(), path.to_string()));
    d.hints.runtime_version = common::version_file(view, dir, ".swift-version")
        .or_else(|| common::tool_version(view, dir, &["swift"]))
        .or_else(|| {
            manifest
                .tools_version
                .clone()
                .map(|v| Sourced::new(v, format!("{path} swift-tools-version")))
        });
    let env = common::env_from_examples(view, dir);
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;
    for url in &manifest.dependencies {
        let repo = repo_name(url);
        let service = BACKING_PACKAGES
            .binary_search_by(|(k, _)| (*k).cmp(repo.as_str()))
            .ok()
            .and_then(|i| BACKING_PACKAGES.get(i))
            .map(|(_, b)| *b)
            .or_else(|| backing::from_package(&repo));
        if let Some(b) = service
            && !d.hints.backing_services.iter().any(|s| s.value == b)
        {
            d.hints.backing_services.push(Sourced::new(
                b.to_string(),
                format!("{path} dependency {url}"),
            ));
        }
    }

    let legacy: Vec<String> = manifest
        .targets
        .iter()
        .filter(|t| view.is_file(&join(dir, &format!("Sources/{t}/main.swift"))))
        .cloned()
        .collect();
    let (executable, source) = if let Some(p) = manifest.executable_products.first() {
        (p.clone(), format!("{path} products .executable"))
    } else if let Some(t) = manifest.executable_targets.first() {
        (t.clone(), format!("{path} .executableTarget"))
    } else if let Some(t) = legacy.first() {
        (t.clone(), join(dir, &format!("Sources/{t}/main.swift")))
    } else {
        d.kind = DetectionKind::Library;
        return d;
    };
    d.evidence
        .push(Evidence::new(path, format!("executable {executable}")));
    d.confidence = 0.85;
    // Products name the executables when there are any; else the targets are them.
    let several = [
        manifest.executable_products.len(),
        manifest.executable_targets.len(),
        legacy.len(),
    ]
    .into_iter()
    .find(|n| *n > 0)
    .is_some_and(|n| n > 1);

    let framework = manifest.dependencies.iter().find_map(|url| {
        let lower = url.to_ascii_lowercase();
        if lower.contains("github.com/vapor/vapor") || lower == "vapor.vapor" {
            Some(("vapor", url))
        } else if lower.contains("github.com/hummingbird-project/hummingbird")
            && repo_name(url) == "hummingbird"
        {
            Some(("hummingbird", url))
        } else {
            None
        }
    });

    d.hints.install_command = Some(Sourced::assumed(
        "swift package resolve".to_string(),
        "swiftpm",
    ));
    d.hints.build_command = Some(Sourced::new(
        if several {
            format!("swift build -c release --product {executable}")
        } else {
            "swift build -c release".to_string()
        },
        source.clone(),
    ));
    let binary = format!(".build/release/{executable}");
    let start = match framework {
        Some((name, url)) => {
            d.evidence
                .push(Evidence::new(path, format!("depends on {name} ({url})")));
            d.hints.framework = Some(Sourced::new(
                name.to_string(),
                format!("{path} dependency {url}"),
            ));
            d.hints.ports.push(Sourced::assumed(8080, name));
            d.boost(0.05);
            if name == "vapor" {
                Sourced::assumed(
                    format!("{binary} serve --env production --hostname 0.0.0.0 --port 8080"),
                    "vapor",
                )
            } else {
                Sourced::assumed(
                    format!("{binary} --hostname 0.0.0.0 --port 8080"),
                    "hummingbird",
                )
            }
        }
        None => Sourced::new(binary, source),
    };
    d.hints.start_command = Some(start);

    let resolved = join(dir, "Package.resolved");
    if view.is_file(&resolved) {
        d = d.with_evidence(resolved, "Package.resolved pins the dependencies");
        d.boost(0.05);
    } else if !manifest.dependencies.is_empty() {
        d.hints.notes.push(Note::new(
            "no-lockfile",
            "no Package.resolved: builds are not reproducible; run `swift package resolve` and commit Package.resolved",
        ));
    }
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const VAPOR: &str = r#"// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "hello", // the package
    platforms: [
       .macOS(.v13)
    ],
    dependencies: [
        // 💧 A server-side Swift web framework.
        .package(url: "https://github.com/vapor/vapor.git", from: "4.89.0"),
        /* .package(url: "https://github.com/vapor/leaf.git", from: "4.0.0"), */
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.8.0"),
    ],
    targets: [
        .executableTarget(
            name: "App",
            dependencies: [
                .product(name: "Vapor", package: "vapor"),
            ]
        ),
        .testTarget(name: "AppTests", dependencies: [
            .target(name: "App"),
            .product(name: "XCTVapor", package: "vapor"),
        ])
    ]
)
"#;

    #[test]
    fn vapor_manifest() {
        let m = parse_package_swift(VAPOR).unwrap();
        assert_eq!(m.tools_version.as_deref(), Some("5.9"));
        assert_eq!(m.name.as_deref(), Some("hello"));
        assert_eq!(m.executable_targets, vec!["App"]);
        assert!(m.executable_products.is_empty());
        // `.target(name:)` inside dependencies is a reference, but it is still listed;
        // it only counts as an executable when Sources/<name>/main.swift exists.
        assert_eq!(m.targets, vec!["App"]);
        assert_eq!(
            m.dependencies,
            vec![
                "https://github.com/vapor/vapor.git",
                "https://github.com/vapor/fluent-postgres-driver.git"
            ]
        );
    }

    #[test]
    fn products_and_comments() {
        let m = parse_package_swift(
            "//swift-tools-version: 5.7.1\nlet p = Package(name: \"tool\", products: [\n  .executable(name: \"tool\", targets: [\"Tool\"]),\n  .library(name: \"ToolKit\", targets: [\"ToolKit\"]),\n  // .executable(name: \"old\", targets: [\"Old\"]),\n], dependencies: [.package(name: \"x\", url: \"https://example.com/x.git\", .upToNextMajor(from: \"1.0.0\")), .package(id: \"apple.swift-log\", from: \"1.0.0\"), .package(path: \"../local\")])\n",
        )
        .unwrap();
        assert_eq!(m.tools_version.as_deref(), Some("5.7.1"));
        assert_eq!(m.executable_products, vec!["tool"]);
        assert_eq!(m.library_products, vec!["ToolKit"]);
        assert_eq!(
            m.dependencies,
            vec!["https://example.com/x.git", "apple.swift-log"]
        );
    }

    #[test]
    fn strings_hide_comment_markers() {
        let m = parse_package_swift(
            "let p = Package(name: \"a//b\", dependencies: [.package(url: \"https://h/x\", from: \"1\")])",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("a//b"));
        assert_eq!(m.dependencies, vec!["https://h/x"]);
    }

    #[test]
    fn not_a_manifest() {
        assert!(parse_package_swift("print(\"hi\")").is_err());
        assert!(parse_package_swift("").is_err());
        // Unterminated things do not panic.
        for text in [
            "Package(name: \"x",
            "Package( /* ",
            ".package(",
            "\"\"\"",
            "\\",
        ] {
            let _ = parse_package_swift(text);
        }
    }

    #[test]
    fn repo_names() {
        assert_eq!(
            repo_name("https://github.com/vapor/fluent-postgres-driver.git"),
            "fluent-postgres-driver"
        );
        assert_eq!(
            repo_name("git@github.com:swift-server/RediStack.git"),
            "redistack"
        );
        assert_eq!(repo_name("vapor.vapor"), "vapor");
        assert!(BACKING_PACKAGES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_package_swift(&text);
            let _ = repo_name(&text);
        }

        #[test]
        fn never_panics_on_syntax(text in "[a-z_A-Z0-9(){}\\[\\]\"'#=.,:;/\\\\@*<>^~|$ \n\t-]*") {
            let _ = parse_package_swift(&text);
            let _ = repo_name(&text);
        }
    }
}
