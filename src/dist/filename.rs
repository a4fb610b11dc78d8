//! The filename grammar of wheels (PEP 427 / binary distribution format) and sdists
//! (PEP 625), parsed without touching the file so a bad name is reported even when the
//! archive itself is unreadable.

use std::str::FromStr;

use pep440_rs::Version;

/// `{name}-{ver}(-{build})?-{py}-{abi}-{plat}.whl`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    /// The escaped name as written in the filename (e.g. `my_pkg`).
    pub name: String,
    pub version: Version,
    /// The version as written in the filename.
    pub version_str: String,
    pub build: Option<String>,
    /// Python tag, possibly compressed (`py2.py3`); the upload API's `pyversion`.
    pub python_tag: String,
    pub abi_tag: String,
    pub platform_tag: String,
}

/// `{name}-{version}.tar.gz`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdistName {
    pub name: String,
    pub version: Version,
    /// The version as written in the filename.
    pub version_str: String,
}

/// Why a filename does not follow the grammar; the Display says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    #[error("`{filename}` does not end in `{expected}`")]
    Extension {
        filename: String,
        expected: &'static str,
    },
    #[error("`{filename}` has {found} dash-separated parts; a wheel filename has 5 or 6: `{{name}}-{{version}}(-{{build}})?-{{python tag}}-{{abi tag}}-{{platform tag}}.whl`")]
    WheelParts { filename: String, found: usize },
    #[error("`{filename}` is not `{{name}}-{{version}}.tar.gz`: there is no `-` between name and version")]
    SdistParts { filename: String },
    #[error("`{filename}`: the {part} is empty")]
    EmptyPart {
        filename: String,
        part: &'static str,
    },
    #[error("`{filename}`: the name `{name}` may only contain ASCII letters, digits, `_` and `.` (a `-` separates the parts) and must start and end with a letter or digit")]
    Name { filename: String, name: String },
    #[error("`{filename}`: `{version}` is not a valid PEP 440 version: {reason}")]
    Version {
        filename: String,
        version: String,
        reason: String,
    },
    #[error("`{filename}`: the build tag `{build}` must start with a digit")]
    Build { filename: String, build: String },
    #[error(
        "`{filename}`: the {part} `{value}` may only contain ASCII letters, digits, `_` and `.`"
    )]
    Tag {
        filename: String,
        part: &'static str,
        value: String,
    },
}

/// PEP 503 normalisation: lowercase, and every run of `-`, `_` and `.` becomes one `-`.
/// Used to compare a filename's name with the metadata's, as the index does.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn check_name(filename: &str, name: &str) -> Result<(), FilenameError> {
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !name.chars().all(is_tag_char)
        || !ends_ok(name.chars().next())
        || !ends_ok(name.chars().last())
    {
        return Err(FilenameError::Name {
            filename: filename.to_string(),
            name: name.to_string(),
        });
    }
    Ok(())
}

fn parse_version(filename: &str, version: &str) -> Result<Version, FilenameError> {
    Version::from_str(version).map_err(|e| FilenameError::Version {
        filename: filename.to_string(),
        version: version.to_string(),
        reason: e.to_string(),
    })
}

fn non_empty(filename: &str, part: &'static str, value: &str) -> Result<(), FilenameError> {
    if value.is_empty() {
        return Err(FilenameError::EmptyPart {
            filename: filename.to_string(),
            part,
        });
    }
    Ok(())
}

/// Parse a wheel filename (the final path component).
pub fn parse_wheel(filename: &str) -> Result<WheelName, FilenameError> {
    let stem = filename
        .strip_suffix(".whl")
        .ok_or_else(|| FilenameError::Extension {
            filename: filename.to_string(),
            expected: ".whl",
        })?;
    let parts: Vec<&str> = stem.split('-').collect();
    let (name, version, build, py, abi, plat) = match parts.as_slice() {
        [n, v, py, abi, plat] => (*n, *v, None, *py, *abi, *plat),
        [n, v, b, py, abi, plat] => (*n, *v, Some(*b), *py, *abi, *plat),
        _ => {
            return Err(FilenameError::WheelParts {
                filename: filename.to_string(),
                found: parts.len(),
            })
        }
    };
    non_empty(filename, "name", name)?;
    non_empty(filename, "version", version)?;
    check_name(filename, name)?;
    let parsed = parse_version(filename, version)?;
    if let Some(b) = build {
        if !b.chars().next().is_some_and(|c| c.is_ascii_digit()) || !b.chars().all(is_tag_char) {
            return Err(FilenameError::Build {
                filename: filename.to_string(),
                build: b.to_string(),
            });
        }
    }
    for (part, value) in [("python tag", py), ("abi tag", abi), ("platform tag", plat)] {
        non_empty(filename, part, value)?;
        if !value.chars().all(is_tag_char) {
            return Err(FilenameError::Tag {
                filename: filename.to_string(),
                part,
                value: value.to_string(),
            });
        }
    }
    Ok(WheelName {
        name: name.to_string(),
        version: parsed,
        version_str: version.to_string(),
        build: build.map(str::to_string),
        python_tag: py.to_string(),
        abi_tag: abi.to_string(),
        platform_tag: plat.to_string(),
    })
}

/// Parse an sdist filename. The version is everything after the last `-`, so legacy names
/// that still contain dashes (`my-pkg-1.0.tar.gz`) parse and are compared after
/// normalisation; a later rule may insist on PEP 625's underscores.
pub fn parse_sdist(filename: &str) -> Result<SdistName, FilenameError> {
    let stem = filename
        .strip_suffix(".tar.gz")
        .ok_or_else(|| FilenameError::Extension {
            filename: filename.to_string(),
            expected: ".tar.gz",
        })?;
    let (name, version) = stem
        .rsplit_once('-')
        .ok_or_else(|| FilenameError::SdistParts {
            filename: filename.to_string(),
        })?;
    non_empty(filename, "name", name)?;
    non_empty(filename, "version", version)?;
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        || !ends_ok(name.chars().next())
        || !ends_ok(name.chars().last())
    {
        return Err(FilenameError::Name {
            filename: filename.to_string(),
            name: name.to_string(),
        });
    }
    let parsed = parse_version(filename, version)?;
    Ok(SdistName {
        name: name.to_string(),
        version: parsed,
        version_str: version.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_name_follows_pep_503() {
        for (input, want) in [
            ("Friendly-Bard", "friendly-bard"),
            ("FRIENDLY-BARD", "friendly-bard"),
            ("friendly.bard", "friendly-bard"),
            ("friendly_bard", "friendly-bard"),
            ("friendly--bard", "friendly-bard"),
            ("FrIeNdLy-._.-bArD", "friendly-bard"),
            ("improved_sdd", "improved-sdd"),
            ("a", "a"),
        ] {
            assert_eq!(normalize_name(input), want, "{input}");
        }
    }

    #[test]
    fn valid_wheels() {
        let w = parse_wheel("improved_sdd-1.2.0-py3-none-any.whl").unwrap();
        assert_eq!(w.name, "improved_sdd");
        assert_eq!(w.version_str, "1.2.0");
        assert_eq!(w.build, None);
        assert_eq!(
            (
                w.python_tag.as_str(),
                w.abi_tag.as_str(),
                w.platform_tag.as_str()
            ),
            ("py3", "none", "any")
        );

        let w = parse_wheel(
            "numpy-2.0.0rc1-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(w.build.as_deref(), Some("1"));
        assert_eq!(w.python_tag, "cp311");
        assert_eq!(w.version, Version::from_str("2.0.0rc1").unwrap());

        let w = parse_wheel("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(w.python_tag, "py2.py3");

        let w = parse_wheel("pkg-1.0.dev3+local.1-2abc-py3-none-any.whl").unwrap();
        assert_eq!(w.build.as_deref(), Some("2abc"));
        assert_eq!(w.version, Version::from_str("1.0.dev3+local.1").unwrap());
    }

    type Check = fn(&FilenameError) -> bool;

    #[test]
    fn invalid_wheels() {
        let cases: &[(&str, Check)] = &[
            ("pkg-1.0-py3-none.whl", |e| {
                matches!(e, FilenameError::WheelParts { found: 4, .. })
            }),
            ("pkg-1.0-1-x-py3-none-any.whl", |e| {
                matches!(e, FilenameError::WheelParts { found: 7, .. })
            }),
            ("pkg-notaversion-py3-none-any.whl", |e| {
                matches!(e, FilenameError::Version { .. })
            }),
            ("pkg-1.0-b1-py3-none-any.whl", |e| {
                matches!(e, FilenameError::Build { .. })
            }),
            ("-1.0-py3-none-any.whl", |e| {
                matches!(e, FilenameError::EmptyPart { part: "name", .. })
            }),
            ("pkg-1.0-py3--any.whl", |e| {
                matches!(
                    e,
                    FilenameError::EmptyPart {
                        part: "abi tag",
                        ..
                    }
                )
            }),
            ("pk g-1.0-py3-none-any.whl", |e| {
                matches!(e, FilenameError::Name { .. })
            }),
            ("pkg-1.0-py3-none-any.zip", |e| {
                matches!(e, FilenameError::Extension { .. })
            }),
            ("pkg-1.0-py3-none-any.WHL", |e| {
                matches!(e, FilenameError::Extension { .. })
            }),
            ("pkg-1.0-py3-none-an!y.whl", |e| {
                matches!(
                    e,
                    FilenameError::Tag {
                        part: "platform tag",
                        ..
                    }
                )
            }),
        ];
        for (name, check) in cases {
            let err = parse_wheel(name).expect_err(name);
            assert!(check(&err), "{name}: unexpected {err:?}");
            assert!(err.to_string().contains(name), "{err} should name the file");
        }
    }

    #[test]
    fn sdists() {
        let s = parse_sdist("improved_sdd-1.2.0.tar.gz").unwrap();
        assert_eq!(
            (s.name.as_str(), s.version_str.as_str()),
            ("improved_sdd", "1.2.0")
        );
        let s = parse_sdist("my-legacy-pkg-0.1.post2.tar.gz").unwrap();
        assert_eq!(s.name, "my-legacy-pkg");
        assert_eq!(s.version, Version::from_str("0.1.post2").unwrap());

        assert!(matches!(
            parse_sdist("nodash.tar.gz"),
            Err(FilenameError::SdistParts { .. })
        ));
        assert!(matches!(
            parse_sdist("pkg-1.0.tgz"),
            Err(FilenameError::Extension { .. })
        ));
        assert!(matches!(
            parse_sdist("pkg-latest.tar.gz"),
            Err(FilenameError::Version { .. })
        ));
        assert!(matches!(
            parse_sdist("-1.0.tar.gz"),
            Err(FilenameError::EmptyPart { part: "name", .. })
        ));
        assert!(matches!(
            parse_sdist("pkg-.tar.gz"),
            Err(FilenameError::EmptyPart {
                part: "version",
                ..
            })
        ));
    }
}
