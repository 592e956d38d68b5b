//! Parser of `package.json` (npm, yarn, pnpm and bun all read it). The JSON with
//! comments that the node world writes next to it (`deno.jsonc`, `turbo.json`,
//! `tsconfig.json`) is read by [`super::jsonc`].
//!
//! The parse is lenient the way npm is: the text must be a JSON object, but a field of
//! the wrong type (`"scripts": 5`, a dependency whose version is not a string) is
//! skipped and listed in [`PackageJson::ignored`] instead of failing the whole file.
//! Only what deployment needs is kept.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::ManifestError;

/// A parsed `package.json`: the fields that say how a package is built and run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageJson {
    /// `name` (`@acme/web`).
    pub name: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `private: true`.
    pub private: bool,
    /// `main`: the entry file.
    pub main: Option<String>,
    /// `type` (`module` or `commonjs`).
    pub module_type: Option<String>,
    /// `scripts`: script name → command.
    pub scripts: BTreeMap<String, String>,
    /// `dependencies`: package → version range.
    pub dependencies: BTreeMap<String, String>,
    /// `devDependencies`.
    pub dev_dependencies: BTreeMap<String, String>,
    /// `optionalDependencies`.
    pub optional_dependencies: BTreeMap<String, String>,
    /// `peerDependencies`.
    pub peer_dependencies: BTreeMap<String, String>,
    /// `engines` (`node` → `>=20`).
    pub engines: BTreeMap<String, String>,
    /// `packageManager` (corepack): `pnpm@9.1.0+sha512...`.
    pub package_manager: Option<PackageManagerField>,
    /// `workspaces` (an array, or `{ "packages": [...] }`); `None` when absent, so a
    /// package with `"workspaces": []` is still a workspace root.
    pub workspaces: Option<Vec<String>>,
    /// `volta` pins (`node` → `20.11.0`).
    pub volta: BTreeMap<String, String>,
    /// `prisma.schema`: where the Prisma schema is, when not `prisma/schema.prisma`.
    pub prisma_schema: Option<String>,
    /// Fields present with an unexpected type, skipped (`scripts`, `dependencies.foo`).
    pub ignored: Vec<String>,
}

/// The `packageManager` field: a package manager and the version corepack must use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageManagerField {
    /// The package manager (`npm`, `yarn`, `pnpm`, `bun`), lower-case.
    pub name: String,
    /// Its version (`9.1.0`), without the `+sha...` integrity suffix.
    pub version: Option<String>,
}

impl PackageManagerField {
    /// Parses `name@version[+hash]`; `None` when there is no name.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        // A scoped name would start with '@'; package managers are never scoped.
        let (name, version) = match raw.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (raw, None),
        };
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return None;
        }
        let version = version
            .map(|v| v.split('+').next().unwrap_or(v).trim().to_string())
            .filter(|v| !v.is_empty());
        Some(Self { name, version })
    }

    /// The major version number, if the version starts with one.
    pub fn major(&self) -> Option<u64> {
        let v = self.version.as_deref()?;
        let v = v.strip_prefix('v').unwrap_or(v);
        v.split('.').next()?.parse().ok()
    }
}

impl PackageJson {
    /// The version range of `name` among `dependencies`, `devDependencies` and
    /// `optionalDependencies` (in that order).
    pub fn dependency(&self, name: &str) -> Option<&str> {
        self.dependencies
            .get(name)
            .or_else(|| self.dev_dependencies.get(name))
            .or_else(|| self.optional_dependencies.get(name))
            .map(String::as_str)
    }

    /// Whether the package depends on `name` (runtime, dev or optional).
    pub fn depends_on(&self, name: &str) -> bool {
        self.dependency(name).is_some()
    }

    /// Whether it depends on a package whose name starts with `prefix` (`@remix-run/`).
    pub fn depends_on_prefix(&self, prefix: &str) -> bool {
        self.all_dependencies().any(|(n, _)| n.starts_with(prefix))
    }

    /// Every dependency (runtime, then dev, then optional), name and range.
    pub fn all_dependencies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.dependencies
            .iter()
            .chain(&self.dev_dependencies)
            .chain(&self.optional_dependencies)
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The command of script `name`, if it is a non-empty string.
    pub fn script(&self, name: &str) -> Option<&str> {
        self.scripts
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.trim().is_empty())
    }
}

/// Parses a `package.json`. Fails only when the text is not JSON or not an object;
/// fields of the wrong type are skipped (see the [module docs](self)).
pub fn parse(text: &str) -> Result<PackageJson, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| ManifestError::new(e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(ManifestError::new("package.json is not a JSON object"));
    };
    let mut pkg = PackageJson::default();
    let mut ignored: Vec<String> = Vec::new();

    pkg.name = string_field(&obj, "name", &mut ignored);
    pkg.version = string_field(&obj, "version", &mut ignored);
    pkg.main = string_field(&obj, "main", &mut ignored);
    pkg.module_type = string_field(&obj, "type", &mut ignored);
    pkg.private = match obj.get("private") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // npm treats the string "true" as true.
        Some(Value::String(s)) => s == "true",
        Some(_) => {
            ignored.push("private".into());
            false
        }
    };
    pkg.scripts = string_map(&obj, "scripts", &mut ignored);
    pkg.dependencies = string_map(&obj, "dependencies", &mut ignored);
    pkg.dev_dependencies = string_map(&obj, "devDependencies", &mut ignored);
    pkg.optional_dependencies = string_map(&obj, "optionalDependencies", &mut ignored);
    pkg.peer_dependencies = string_map(&obj, "peerDependencies", &mut ignored);
    pkg.engines = string_map(&obj, "engines", &mut ignored);
    pkg.volta = string_map(&obj, "volta", &mut ignored);
    pkg.package_manager = string_field(&obj, "packageManager", &mut ignored)
        .and_then(|s| PackageManagerField::parse(&s));
    pkg.workspaces = match obj.get("workspaces") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(string_items(items, "workspaces", &mut ignored)),
        Some(Value::Object(o)) => match o.get("packages") {
            Some(Value::Array(items)) => {
                Some(string_items(items, "workspaces.packages", &mut ignored))
            }
            None | Some(Value::Null) => Some(Vec::new()),
            Some(_) => {
                ignored.push("workspaces.packages".into());
                Some(Vec::new())
            }
        },
        Some(_) => {
            ignored.push("workspaces".into());
            None
        }
    };
    pkg.prisma_schema = match obj.get("prisma") {
        Some(Value::Object(o)) => match o.get("schema") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        },
        _ => None,
    };
    pkg.ignored = ignored;
    Ok(pkg)
}

fn string_field(obj: &Map<String, Value>, key: &str, ignored: &mut Vec<String>) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Some(_) => {
            ignored.push(key.to_string());
            None
        }
    }
}

fn string_map(
    obj: &Map<String, Value>,
    key: &str,
    ignored: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match obj.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    _ => ignored.push(format!("{key}.{k}")),
                }
            }
        }
        Some(_) => ignored.push(key.to_string()),
    }
    out
}

fn string_items(items: &[Value], key: &str, ignored: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
            _ => {
                if !ignored.iter().any(|i| i == key) {
                    ignored.push(key.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn full_manifest() {
        let pkg = parse(
            r#"{
              "name": "@acme/web", "version": "1.0.0", "private": true, "main": "dist/index.js",
              "type": "module",
              "scripts": { "build": "next build", "start": "next start -p 4000" },
              "dependencies": { "next": "14.2.3", "pg": "^8" },
              "devDependencies": { "typescript": "5.4.5" },
              "engines": { "node": ">=20" },
              "packageManager": "pnpm@9.1.0+sha512.abcdef",
              "volta": { "node": "20.11.0" },
              "prisma": { "schema": "db/schema.prisma" }
            }"#,
        )
        .unwrap();
        assert_eq!(pkg.name.as_deref(), Some("@acme/web"));
        assert!(pkg.private);
        assert_eq!(pkg.module_type.as_deref(), Some("module"));
        assert_eq!(pkg.script("start"), Some("next start -p 4000"));
        assert_eq!(pkg.dependency("typescript"), Some("5.4.5"));
        assert!(pkg.depends_on("pg"));
        assert!(!pkg.depends_on("express"));
        assert_eq!(pkg.engines.get("node").map(String::as_str), Some(">=20"));
        let pm = pkg.package_manager.unwrap();
        assert_eq!(
            (pm.name.as_str(), pm.version.as_deref()),
            ("pnpm", Some("9.1.0"))
        );
        assert_eq!(pm.major(), Some(9));
        assert_eq!(pkg.volta.get("node").map(String::as_str), Some("20.11.0"));
        assert_eq!(pkg.prisma_schema.as_deref(), Some("db/schema.prisma"));
        assert_eq!(pkg.workspaces, None);
        assert!(pkg.ignored.is_empty());
    }

    #[test]
    fn workspaces_as_array_or_object() {
        let a = parse(r#"{"workspaces": ["apps/*", "packages/*", 3]}"#).unwrap();
        assert_eq!(a.workspaces.unwrap(), vec!["apps/*", "packages/*"]);
        assert_eq!(a.ignored, vec!["workspaces"]);
        let o = parse(r#"{"workspaces": {"packages": ["apps/*"], "nohoist": ["**/x"]}}"#).unwrap();
        assert_eq!(o.workspaces.unwrap(), vec!["apps/*"]);
        let empty = parse(r#"{"workspaces": {"nohoist": []}}"#).unwrap();
        assert_eq!(empty.workspaces, Some(Vec::new()));
        let wrong = parse(r#"{"workspaces": "apps/*"}"#).unwrap();
        assert_eq!(wrong.workspaces, None);
        assert_eq!(wrong.ignored, vec!["workspaces"]);
    }

    #[test]
    fn missing_fields_are_empty() {
        let pkg = parse("{}").unwrap();
        assert_eq!(pkg, PackageJson::default());
        assert_eq!(pkg.script("start"), None);
    }

    #[test]
    fn wrong_types_are_skipped_not_fatal() {
        let pkg = parse(
            r#"{"name": 3, "scripts": 5, "dependencies": {"express": "^4", "bad": {"x": 1}},
                "private": 1, "engines": [], "packageManager": 7, "main": null}"#,
        )
        .unwrap();
        assert_eq!(pkg.name, None);
        assert!(pkg.scripts.is_empty());
        assert!(pkg.depends_on("express"));
        assert!(!pkg.depends_on("bad"));
        assert!(!pkg.private);
        for field in [
            "name",
            "scripts",
            "dependencies.bad",
            "private",
            "engines",
            "packageManager",
        ] {
            assert!(pkg.ignored.iter().any(|i| i == field), "{field}");
        }
    }

    #[test]
    fn empty_script_is_no_script() {
        let pkg = parse(r#"{"scripts": {"start": "  ", "build": "tsc"}}"#).unwrap();
        assert_eq!(pkg.script("start"), None);
        assert_eq!(pkg.script("build"), Some("tsc"));
    }

    #[test]
    fn bom_is_accepted() {
        let pkg = parse("\u{feff}{\"name\": \"x\"}").unwrap();
        assert_eq!(pkg.name.as_deref(), Some("x"));
    }

    #[test]
    fn not_an_object_or_not_json_fails() {
        assert!(parse("[]").is_err());
        assert!(parse("\"x\"").is_err());
        assert!(parse("{\"name\": \"x\",}").is_err());
        assert!(parse("").is_err());
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn package_manager_field() {
        let p = PackageManagerField::parse("yarn@4.1.1").unwrap();
        assert_eq!((p.name.as_str(), p.major()), ("yarn", Some(4)));
        let p = PackageManagerField::parse("bun").unwrap();
        assert_eq!((p.name.as_str(), p.version), ("bun", None));
        assert!(PackageManagerField::parse("@scope/x@1").is_none());
        assert!(PackageManagerField::parse("").is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
            let _ = PackageManagerField::parse(&text);
        }

        #[test]
        fn never_panics_on_json_like(text in "[{}\\[\\]\",:/*\\\\ a-z0-9\n]{0,80}") {
            let _ = parse(&text);
        }
    }
}
