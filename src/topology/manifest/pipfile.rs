//! Parser of pipenv's `Pipfile` (TOML): packages, dev packages, the Python it
//! requires and its scripts. `Pipfile.lock` is only checked for existence by detectors.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::ManifestError;
use super::requirements::normalize;

/// A parsed `Pipfile`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipfile {
    /// `[packages]`, normalized names, sorted.
    pub packages: Vec<String>,
    /// `[dev-packages]`, normalized names.
    pub dev_packages: Vec<String>,
    /// `[requires] python_version` (`3.11`).
    pub python_version: Option<String>,
    /// `[requires] python_full_version` (`3.11.4`).
    pub python_full_version: Option<String>,
    /// `[scripts]`: name → command.
    pub scripts: BTreeMap<String, String>,
}

/// Parses a `Pipfile`.
pub fn parse(text: &str) -> Result<Pipfile, ManifestError> {
    let table: Table = toml::from_str(text).map_err(|e| ManifestError::new(e.to_string()))?;
    let names = |key: &str| -> Vec<String> {
        table
            .get(key)
            .and_then(Value::as_table)
            .map(|t| t.keys().map(|k| normalize(k)).collect())
            .unwrap_or_default()
    };
    let requires = table.get("requires").and_then(Value::as_table);
    let require = |key: &str| {
        requires
            .and_then(|r| r.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(Pipfile {
        packages: names("packages"),
        dev_packages: names("dev-packages"),
        python_version: require("python_version"),
        python_full_version: require("python_full_version"),
        scripts: table
            .get("scripts")
            .and_then(Value::as_table)
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn typical_pipfile() {
        let text = r#"
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
Flask = "==3.0.2"
gunicorn = "*"
redis = {version = "*", extras = ["hiredis"]}

[dev-packages]
pytest = "*"

[requires]
python_version = "3.11"

[scripts]
start = "gunicorn app:app"
"#;
        let p = parse(text).unwrap();
        assert_eq!(p.packages, vec!["flask", "gunicorn", "redis"]);
        assert_eq!(p.dev_packages, vec!["pytest"]);
        assert_eq!(p.python_version.as_deref(), Some("3.11"));
        assert_eq!(p.python_full_version, None);
        assert_eq!(p.scripts["start"], "gunicorn app:app");
    }

    #[test]
    fn invalid_and_odd() {
        assert!(parse("[packages\n").is_err());
        let p = parse("packages = 1\nrequires = { python_version = 3 }\n").unwrap();
        assert!(p.packages.is_empty() && p.python_version.is_none());
    }
}
