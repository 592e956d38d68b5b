//! [`Setting`]: an env var a service's people set themselves (`kyozo env set`, an env
//! file), kept apart from what the service's plan says and applied over it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MemberId, SecretValue, Timestamp};

/// One setting of a service: its value (a secret), where it was set, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Setting {
    /// The value.
    pub value: SecretValue,
    /// Where it was set.
    pub origin: SettingOrigin,
    /// The member who set it (`None`: the system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<MemberId>,
    /// When it was set.
    pub set_at: Timestamp,
}

impl Setting {
    /// `value`, set now from `origin` by `set_by`.
    pub fn new(value: SecretValue, origin: SettingOrigin, set_by: Option<MemberId>) -> Self {
        Self {
            value,
            origin,
            set_by,
            set_at: Timestamp::now(),
        }
    }
}

/// Where a [`Setting`] was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SettingOrigin {
    /// Set one by one (`kyozo env set`, the API).
    Command,
    /// Read from an env file (`kyozo up --env-file FILE`): its path as given.
    EnvFile {
        /// The file.
        path: String,
    },
}

impl std::fmt::Display for SettingOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingOrigin::Command => f.write_str("set"),
            SettingOrigin::EnvFile { path } => write!(f, "env file {path}"),
        }
    }
}

/// One env var of a service as the facade's `env` lists it: its name,
/// where its value comes from, and the value only when it was asked to be revealed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EnvEntry {
    /// The env var's name.
    pub name: String,
    /// Its value, when revealed (else `None`: shown as `***`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretValue>,
    /// Where the value the service runs with comes from.
    pub source: EnvSource,
    /// Whether a setting hides a value the plan gives the same name.
    pub overrides_plan: bool,
}

/// Where the value of an [`EnvEntry`] comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EnvSource {
    /// The service's plan (wiring to a backing service, the port...).
    Plan,
    /// A setting.
    Setting {
        /// Where it was set.
        origin: SettingOrigin,
        /// Who set it.
        #[serde(skip_serializing_if = "Option::is_none")]
        set_by: Option<MemberId>,
        /// When.
        set_at: Timestamp,
    },
}

/// The env of a service as listed: every name of `planned` and `settings`, sorted,
/// values kept only when `reveal`.
pub fn env_entries(
    planned: &BTreeMap<String, SecretValue>,
    settings: &BTreeMap<String, Setting>,
    reveal: bool,
) -> Vec<EnvEntry> {
    let mut out: Vec<EnvEntry> = Vec::new();
    for (name, value) in effective_env(planned, settings) {
        let source = match settings.get(&name) {
            Some(s) => EnvSource::Setting {
                origin: s.origin.clone(),
                set_by: s.set_by,
                set_at: s.set_at,
            },
            None => EnvSource::Plan,
        };
        out.push(EnvEntry {
            overrides_plan: settings.contains_key(&name) && planned.contains_key(&name),
            value: reveal.then_some(value),
            name,
            source,
        });
    }
    out
}

/// The env a service runs with: `planned` (what its plan says), with `settings` over
/// it (a setting wins over the plan's value of the same name).
pub fn effective_env(
    planned: &BTreeMap<String, SecretValue>,
    settings: &BTreeMap<String, Setting>,
) -> BTreeMap<String, SecretValue> {
    let mut env = planned.clone();
    for (k, s) in settings {
        env.insert(k.clone(), s.value.clone());
    }
    env
}

/// Reads an env file (`KEY=VALUE` lines, as compose and Docker read them): blank lines
/// and `#` comments are skipped, `export ` before a name is allowed, a value in single
/// or double quotes is unquoted (no other interpolation). A line without `=` or with a
/// name that is not an env var name is an error naming its line number.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, SecretValue>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches('\u{feff}').trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let trimmed = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((name, value)) = trimmed.split_once('=') else {
            return Err(format!("line {}: not NAME=VALUE", i + 1));
        };
        let name = name.trim();
        if super::validate_env_name(name).is_err() {
            return Err(format!(
                "line {}: {:?} is not an env var name",
                i + 1,
                crate::text::terminal_safe(name)
            ));
        }
        let value = value.trim();
        let value = match (value.chars().next(), value.chars().last()) {
            (Some(q @ ('"' | '\'')), Some(end)) if value.len() >= 2 && end == q => {
                &value[1..value.len() - 1]
            }
            _ => value,
        };
        out.insert(name.to_string(), SecretValue::from(value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_env_file_reads_as_compose_reads_it() {
        let env = parse_env_file(
            "# settings\n\nexport A=1\nB = \"two words\"\nC='x=y'\nD=\nURL=postgres://u:p@db/x?a=b\n",
        )
        .unwrap();
        let got: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(
            got,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "x=y"),
                ("D", ""),
                ("URL", "postgres://u:p@db/x?a=b")
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named_by_its_number_and_never_shows_a_value() {
        let e = parse_env_file("A=1\nnot a setting\n").unwrap_err();
        assert_eq!(e, "line 2: not NAME=VALUE");
        let e = parse_env_file("A=1\n\n1BAD=secret\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn a_setting_wins_over_the_plan() {
        let planned = BTreeMap::from([
            ("A".to_string(), SecretValue::from("plan")),
            ("B".to_string(), SecretValue::from("plan")),
        ]);
        let settings = BTreeMap::from([(
            "B".to_string(),
            Setting::new("mine".into(), SettingOrigin::Command, None),
        )]);
        let env = effective_env(&planned, &settings);
        assert_eq!(env["A"].expose(), "plan");
        assert_eq!(env["B"].expose(), "mine");
    }
}
