//! Parser of Composer's `composer.json`: the package's name and type, its requirements
//! (packages, `php`, `ext-*`), scripts, the platform PHP it resolves for, and the
//! Symfony `extra` settings a deployment needs. `composer.lock` is only checked for
//! existence by detectors.

use std::collections::BTreeMap;

use serde_json::Value;

use super::ManifestError;

/// A parsed `composer.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Composer {
    /// `name` (`vendor/package`).
    pub name: Option<String>,
    /// `type` (`project`, `library`...).
    pub kind: Option<String>,
    /// `require`: package (lower-cased) → constraint. Holds `php` and `ext-*` too.
    pub require: BTreeMap<String, String>,
    /// `require-dev`: package (lower-cased) → constraint.
    pub require_dev: BTreeMap<String, String>,
    /// `scripts`: name → its commands (a single command is a list of one).
    pub scripts: BTreeMap<String, Vec<String>>,
    /// `config.platform.php`: the PHP version dependencies are resolved for.
    pub platform_php: Option<String>,
    /// `extra.public-dir` (Symfony), the web root when it is not `public`.
    pub public_dir: Option<String>,
}

impl Composer {
    /// The `require.php` constraint (`^8.2`).
    pub fn php(&self) -> Option<&str> {
        self.require.get("php").map(String::as_str)
    }

    /// Whether `package` is required (for production).
    pub fn requires(&self, package: &str) -> bool {
        self.require.contains_key(package)
    }

    /// The PHP extensions required for production (`ext-intl` → `intl`), sorted.
    pub fn extensions(&self) -> Vec<&str> {
        self.require
            .keys()
            .filter_map(|k| k.strip_prefix("ext-"))
            .collect()
    }
}

/// Parses a `composer.json`.
pub fn parse(text: &str) -> Result<Composer, ManifestError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ManifestError::new(e.to_string()))?;
    let Value::Object(root) = value else {
        return Err(ManifestError::new("composer.json is not a JSON object"));
    };
    let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let packages = |key: &str| -> BTreeMap<String, String> {
        root.get(key)
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.to_ascii_lowercase(),
                            v.as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let scripts = root
        .get("scripts")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| {
                    let commands: Vec<String> = match v {
                        Value::String(s) => vec![s.clone()],
                        Value::Array(a) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                        _ => return None,
                    };
                    Some((k.clone(), commands))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Composer {
        name: string(root.get("name")),
        kind: string(root.get("type")),
        require: packages("require"),
        require_dev: packages("require-dev"),
        scripts,
        platform_php: string(
            root.get("config")
                .and_then(|c| c.get("platform"))
                .and_then(|p| p.get("php")),
        ),
        public_dir: string(root.get("extra").and_then(|e| e.get("public-dir"))),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn laravel_composer() {
        let text = r#"{
    "name": "laravel/laravel",
    "type": "project",
    "require": {
        "php": "^8.2",
        "ext-Intl": "*",
        "laravel/framework": "^11.0",
        "predis/predis": "^2.2"
    },
    "require-dev": { "phpunit/phpunit": "^11.0" },
    "scripts": {
        "post-autoload-dump": ["Illuminate\\Foundation\\ComposerScripts::postAutoloadDump", "@php artisan package:discover --ansi"],
        "test": "phpunit",
        "bad": 3
    },
    "config": { "platform": { "php": "8.2.12" } },
    "extra": { "public-dir": "web" }
}"#;
        let c = parse(text).unwrap();
        assert_eq!(c.name.as_deref(), Some("laravel/laravel"));
        assert_eq!(c.kind.as_deref(), Some("project"));
        assert_eq!(c.php(), Some("^8.2"));
        assert!(c.requires("laravel/framework"));
        assert!(c.require_dev.contains_key("phpunit/phpunit"));
        assert_eq!(c.extensions(), vec!["intl"]);
        assert_eq!(c.scripts["post-autoload-dump"].len(), 2);
        assert_eq!(c.scripts["test"], vec!["phpunit"]);
        assert!(!c.scripts.contains_key("bad"));
        assert_eq!(c.platform_php.as_deref(), Some("8.2.12"));
        assert_eq!(c.public_dir.as_deref(), Some("web"));
    }

    #[test]
    fn invalid() {
        assert!(parse("{").is_err());
        assert!(parse("[]").is_err());
        let c = parse(r#"{"require": [], "name": 3, "config": {"platform": 1}}"#).unwrap();
        assert!(c.require.is_empty() && c.name.is_none() && c.platform_php.is_none());
    }
}
