//! [`ValidationError`]: what a validation of the model says when a value is refused.

/// A value of the model was refused. Every variant names the field and the bad value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A number outside the range the field accepts.
    #[error("{field}: {value} is out of range ({expected})")]
    OutOfRange {
        /// The field, as a path (`ports[1].host_port`).
        field: String,
        /// The value given, as text.
        value: String,
        /// The accepted range, in words.
        expected: String,
    },
    /// A value that is not one of the accepted ones.
    #[error("{field}: {value:?} is not valid ({expected})")]
    Invalid {
        /// The field, as a path.
        field: String,
        /// The value given.
        value: String,
        /// What is accepted, in words.
        expected: String,
    },
    /// Two entries claim what only one may have.
    #[error("{field}: {value} is used twice (by {first} and {second})")]
    Conflict {
        /// The field, as a path.
        field: String,
        /// The value both claim.
        value: String,
        /// The first entry's path.
        first: String,
        /// The second entry's path.
        second: String,
    },
    /// A value larger than its cap.
    #[error("{field}: {size} bytes is larger than the cap of {max} bytes")]
    TooLarge {
        /// The field, as a path.
        field: String,
        /// The size given.
        size: usize,
        /// The cap.
        max: usize,
    },
}

impl ValidationError {
    pub(crate) fn out_of_range(
        field: impl Into<String>,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        Self::OutOfRange {
            field: field.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    pub(crate) fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            field: field.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &str {
        match self {
            Self::OutOfRange { field, .. }
            | Self::Invalid { field, .. }
            | Self::Conflict { field, .. }
            | Self::TooLarge { field, .. } => field,
        }
    }
}

/// Checks a name (team, workspace, service): 1 to 63 characters of lowercase ASCII
/// letters, digits and `-`, starting with a letter or digit. Names end up in container
/// names and DNS labels, so they follow DNS label rules.
/// Whether `name` is a Debian package name (`libpq-dev`, `g++`, `libpango1.0-dev`): 2 to
/// 100 characters, lower-case letters, digits, `+`, `-` and `.`, starting with a letter
/// or a digit. Names reach a build's `apt-get install` only when they pass.
pub fn is_debian_package(name: &str) -> bool {
    name.len() >= 2
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

pub(crate) fn validate_name(field: &str, name: &str) -> Result<(), ValidationError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::invalid(
            field,
            name.chars().take(80).collect::<String>(),
            "1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}

/// Checks a display name: 1 to 200 characters, no control characters.
pub(crate) fn validate_display_name(field: &str, name: &str) -> Result<(), ValidationError> {
    let ok = !name.trim().is_empty()
        && name.chars().count() <= 200
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::invalid(
            field,
            name.chars().take(80).collect::<String>(),
            "1-200 characters without control characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dns_label_rules() {
        for good in ["a", "web", "api-2", "0day"] {
            assert_eq!(validate_name("name", good), Ok(()));
        }
        for bad in ["", "Web", "-a", "a-", "a_b", "a.b", &"x".repeat(64)] {
            let err = validate_name("name", bad).err();
            assert!(
                matches!(&err, Some(ValidationError::Invalid { field, .. }) if field == "name"),
                "{bad:?}"
            );
        }
    }
}
