//! PEP 440 versions. Python versions are not SemVer (`1.0rc1`, `1.0.post1`, `2!1.0`), so every
//! comparison here goes through `pep440_rs`, which normalises spellings the way pip does.

use std::str::FromStr;

pub use pep440_rs::Version;

pub mod bump;
pub mod command;
pub mod project;

pub use bump::{bump, dev_version, BumpError, Part, PreKind};
pub use project::{Project, ProjectError, Source};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VersionError {
    #[error("tag `{tag}` holds no PEP 440 version (tried `{tried}`); name release tags like `v1.2.0` or `v1.2.0rc1`, or set `tag-pattern` to match your scheme")]
    TagWithoutVersion { tag: String, tried: String },
    #[error("`{value}` is not a PEP 440 version: {reason}")]
    Invalid { value: String, reason: String },
}

pub fn parse(value: &str) -> Result<Version, VersionError> {
    Version::from_str(value.trim()).map_err(|e| VersionError::Invalid {
        value: value.into(),
        reason: e.to_string(),
    })
}

/// The version a release tag names. PEP 440 normalisation already accepts a leading `v` and
/// `-rc.1`-style separators (`v1.0.0-rc.1` is `1.0.0rc1`); for other prefixes the literal
/// part of `tag_pattern` before its first wildcard is stripped (`release-*` + `release-1.0`).
pub fn tag_version(tag: &str, tag_pattern: &str) -> Result<Version, VersionError> {
    if let Ok(v) = Version::from_str(tag) {
        return Ok(v);
    }
    let literal: String = tag_pattern
        .chars()
        .take_while(|c| !matches!(c, '*' | '?' | '[' | '{'))
        .collect();
    let stripped = tag.strip_prefix(literal.as_str()).unwrap_or(tag);
    Version::from_str(stripped).map_err(|_| VersionError::TagWithoutVersion {
        tag: tag.into(),
        tried: stripped.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_compare_under_pep440() {
        for (tag, pat, dist) in [
            ("v1.2.0", "v*", "1.2.0"),
            ("v1.0.0-rc.1", "v*", "1.0.0rc1"),
            ("1.0", "*", "1.0.0"),
            ("release-2.0b1", "release-*", "2.0.0b1"),
            ("V3.0.post1", "V*", "3.0.post1"),
        ] {
            assert_eq!(
                tag_version(tag, pat).unwrap(),
                parse(dist).unwrap(),
                "{tag}"
            );
        }
        assert_ne!(
            tag_version("v1.2.0", "v*").unwrap(),
            parse("1.2.1").unwrap()
        );
    }

    #[test]
    fn a_tag_without_a_version_is_a_clear_error() {
        let err = tag_version("nightly", "*").unwrap_err();
        assert!(err.to_string().contains("`nightly`"), "{err}");
        assert!(parse("1.0-banana").is_err());
    }
}
