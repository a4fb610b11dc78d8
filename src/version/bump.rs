//! PEP 440 version arithmetic: `bump` and the pipeline's `dev_version`.
//!
//! The one rule every bump keeps: the result sorts strictly after the current version under
//! PEP 440 ordering, so a bump can never publish something pip considers older. Bump tools
//! (bump-my-version, poetry, hatch) agree on the rest, and so does this module:
//!
//! - `major`/`minor`/`patch` increment that segment, zero the ones after it and keep the
//!   number of release segments, padded to at least three (`1.2` + patch = `1.2.1`). On a
//!   pre- or dev-release of a version that is already that bump's target, they *finalise*
//!   instead of skipping a release nobody published: `2.0.0rc1` + major = `2.0.0`,
//!   `1.4.0b1` + minor = `1.4.0`, `1.2.4.dev3` + patch = `1.2.4`.
//! - With `--pre KIND` they start a pre-release of the target: `1.3.0` + minor rc = `1.4.0rc1`.
//! - `pre` continues a pre-release (`rc1` -> `rc2`) or moves up a phase (`b2` + rc = `rc1`);
//!   it never moves down (`rc1` + alpha is an error) and is an error on a final release,
//!   naming the major/minor/patch `--pre` command to use instead.
//! - `post` and `dev` count up (`1.0.post1` -> `1.0.post2`, `1.0.dev1` -> `1.0.dev2`); `dev`
//!   on a version without a dev segment starts the next one (`1.0` -> `1.0.1.dev1`,
//!   `1.0rc1` -> `1.0rc2.dev1`), because `1.0.dev1` would sort *before* `1.0`.
//! - `release` drops the pre/dev segments: `1.4.0rc2` -> `1.4.0`.
//! - The epoch is always kept; a local label (`+abc`) is always dropped, since no public
//!   index accepts one.

use std::fmt;

use pep440_rs::{Prerelease, PrereleaseKind, Version};

/// Which part of the version to bump. Parsed by clap (`ValueEnum`), which lists the
/// accepted values in its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    Major,
    Minor,
    Patch,
    Pre,
    Post,
    Dev,
    Release,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Major => "major",
            Part::Minor => "minor",
            Part::Patch => "patch",
            Part::Pre => "pre",
            Part::Post => "post",
            Part::Dev => "dev",
            Part::Release => "release",
        }
    }

    /// The release segment a major/minor/patch bump increments.
    fn index(self) -> Option<usize> {
        match self {
            Part::Major => Some(0),
            Part::Minor => Some(1),
            Part::Patch => Some(2),
            _ => None,
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pre-release phase, spelled the way users type it on the command line: the names, or
/// PEP 440's other spellings (`a`, `b`, `c`, `pre`, `preview`), as pip accepts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum PreKind {
    #[value(alias = "a")]
    Alpha,
    #[value(alias = "b")]
    Beta,
    #[value(alias = "c", alias = "pre", alias = "preview")]
    Rc,
}

impl PreKind {
    fn to_pep440(self) -> PrereleaseKind {
        match self {
            PreKind::Alpha => PrereleaseKind::Alpha,
            PreKind::Beta => PrereleaseKind::Beta,
            PreKind::Rc => PrereleaseKind::Rc,
        }
    }

    fn from_pep440(k: PrereleaseKind) -> Self {
        match k {
            PrereleaseKind::Alpha => PreKind::Alpha,
            PrereleaseKind::Beta => PreKind::Beta,
            PrereleaseKind::Rc => PreKind::Rc,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "alpha",
            PreKind::Beta => "beta",
            PreKind::Rc => "rc",
        }
    }
}

impl fmt::Display for PreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BumpError {
    #[error("{current} is a final release, so there is no pre-release to continue; start one with `bump patch --pre {kind}` ({patch}), `bump minor --pre {kind}` ({minor}) or `bump major --pre {kind}` ({major})")]
    PreOnFinal {
        current: String,
        kind: PreKind,
        patch: String,
        minor: String,
        major: String,
    },
    #[error("{current} is a development release, not a pre-release yet; say which phase to start with `bump pre --pre alpha|beta|rc`")]
    PreKindNeeded { current: String },
    #[error("`--pre {asked}` would move {current} backwards (a {current_kind} comes after an {asked}); use `bump pre` to continue the {current_kind}s, or `--pre` with a later phase")]
    PreBackwards {
        current: String,
        current_kind: PreKind,
        asked: PreKind,
    },
    #[error("{current} is already a final release; use `bump major`, `bump minor` or `bump patch` to start the next one")]
    ReleaseOnFinal { current: String },
    #[error("{current} is a development release of an unpublished version, and a post-release only follows a published one; use `bump release` ({release}) first")]
    PostOnDev { current: String, release: String },
    #[error("`--pre` only goes with major, minor, patch or pre, not with `{part}`")]
    PreNotAllowed { part: Part },
    #[error("bumping {part} of {current} gives {next}, which does not come after it; {hint}")]
    NotForward {
        part: Part,
        current: String,
        next: String,
        hint: String,
    },
}

/// True if `v`'s release (e.g. `1.4.0` in `1.4.0rc1`) is not published yet: `v` is a pre- or
/// dev-release of it. A dev-release of a *post*-release (`1.0.post1.dev1`) comes after the
/// final `1.0`, so that one is released.
fn unreleased(v: &Version) -> bool {
    v.pre().is_some() || (v.dev().is_some() && v.post().is_none())
}

/// The same epoch, new release segments, and nothing else.
fn release_only(v: &Version, release: Vec<u64>) -> Version {
    Version::new(release).with_epoch(v.epoch())
}

/// `current`'s release segments padded with zeros to at least `len`.
fn padded(current: &Version, len: usize) -> Vec<u64> {
    let mut r = current.release().to_vec();
    while r.len() < len {
        r.push(0);
    }
    r
}

/// The release a major/minor/patch bump aims at, as described in the module docs.
fn target_release(current: &Version, index: usize) -> Version {
    let r = padded(current, 3);
    let finalises = unreleased(current) && r[index + 1..].iter().all(|&n| n == 0);
    if finalises {
        return release_only(current, r);
    }
    let mut next = r;
    next[index] = next[index].saturating_add(1);
    for n in &mut next[index + 1..] {
        *n = 0;
    }
    release_only(current, next)
}

/// Bump `part` of `current`, optionally starting/continuing pre-release `pre`.
pub fn bump(current: &Version, part: Part, pre: Option<PreKind>) -> Result<Version, BumpError> {
    let cur = current.clone().without_local();
    let s = || cur.to_string();
    let next = match part {
        Part::Major | Part::Minor | Part::Patch => {
            // `index()` is Some for exactly these three.
            let target = target_release(&cur, part.index().unwrap_or(2));
            match pre {
                None => target,
                Some(kind) => target.with_pre(Some(Prerelease {
                    kind: kind.to_pep440(),
                    number: 1,
                })),
            }
        }
        Part::Pre => bump_pre(&cur, pre)?,
        Part::Post => {
            reject_pre(part, pre)?;
            if cur.dev().is_some() && cur.post().is_none() {
                return Err(BumpError::PostOnDev {
                    current: s(),
                    release: cur.clone().with_dev(None).to_string(),
                });
            }
            match (cur.post(), cur.dev()) {
                // 1.0.post1.dev2 -> 1.0.post1: publish the post-release being developed.
                (Some(_), Some(_)) => cur.clone().with_dev(None),
                (post, _) => cur
                    .clone()
                    .with_post(Some(post.map_or(1, |n| n.saturating_add(1)))),
            }
        }
        Part::Dev => {
            reject_pre(part, pre)?;
            match (cur.dev(), cur.post(), cur.pre()) {
                (Some(n), _, _) => cur.clone().with_dev(Some(n.saturating_add(1))),
                // Without a dev segment, start the dev series of the next version of the same
                // kind; `X.dev1` would sort before `X` and move backwards.
                (None, Some(post), _) => cur
                    .clone()
                    .with_post(Some(post.saturating_add(1)))
                    .with_dev(Some(1)),
                (None, None, Some(p)) => cur
                    .clone()
                    .with_pre(Some(Prerelease {
                        kind: p.kind,
                        number: p.number.saturating_add(1),
                    }))
                    .with_dev(Some(1)),
                (None, None, None) => target_release(&cur, 2).with_dev(Some(1)),
            }
        }
        Part::Release => {
            reject_pre(part, pre)?;
            if unreleased(&cur) {
                release_only(&cur, cur.release().to_vec())
            } else if cur.dev().is_some() {
                cur.clone().with_dev(None)
            } else {
                return Err(BumpError::ReleaseOnFinal { current: s() });
            }
        }
    };
    if next <= cur {
        let hint = match part {
            Part::Major | Part::Minor | Part::Patch => format!(
                "{} is already a pre-release of {}: use `bump pre` to continue it, or `bump release` to publish it",
                cur,
                release_only(&cur, cur.release().to_vec())
            ),
            _ => "choose another part to bump, or `version set` an explicit version".into(),
        };
        return Err(BumpError::NotForward {
            part,
            current: s(),
            next: next.to_string(),
            hint,
        });
    }
    Ok(next)
}

fn reject_pre(part: Part, pre: Option<PreKind>) -> Result<(), BumpError> {
    match pre {
        Some(_) => Err(BumpError::PreNotAllowed { part }),
        None => Ok(()),
    }
}

fn bump_pre(cur: &Version, pre: Option<PreKind>) -> Result<Version, BumpError> {
    let pre_of = |kind: PreKind, number: u64| {
        release_only(cur, cur.release().to_vec()).with_pre(Some(Prerelease {
            kind: kind.to_pep440(),
            number,
        }))
    };
    let Some(p) = cur.pre() else {
        if cur.dev().is_some() && cur.post().is_none() {
            // 1.4.0.dev3: the release is unpublished, so a pre-release of it is forward.
            return match pre {
                Some(kind) => Ok(pre_of(kind, 1)),
                None => Err(BumpError::PreKindNeeded {
                    current: cur.to_string(),
                }),
            };
        }
        let kind = pre.unwrap_or(PreKind::Rc);
        let start = |part: Part| {
            bump(cur, part, Some(kind))
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        return Err(BumpError::PreOnFinal {
            current: cur.to_string(),
            kind,
            patch: start(Part::Patch),
            minor: start(Part::Minor),
            major: start(Part::Major),
        });
    };
    let current_kind = PreKind::from_pep440(p.kind);
    let kind = pre.unwrap_or(current_kind);
    if kind < current_kind {
        return Err(BumpError::PreBackwards {
            current: cur.to_string(),
            current_kind,
            asked: kind,
        });
    }
    if kind > current_kind {
        return Ok(pre_of(kind, 1));
    }
    if cur.dev().is_some() && cur.post().is_none() {
        // 1.4.0rc1.dev2 -> 1.4.0rc1: publish the pre-release being developed.
        return Ok(cur.clone().with_dev(None));
    }
    Ok(pre_of(kind, p.number.saturating_add(1)))
}

/// The version the pipeline stamps on a default-branch build for TestPyPI, so every push
/// publishes a distinct, installable pre-release that sorts after everything before it.
///
/// - A final or post release `X` (published, or about to be): the next patch, `.devN`
///   (`1.2.3` -> `1.2.4.devN`, `1.0.post1` -> `1.0.1.devN`).
/// - A dev-release of an unpublished version (`1.4.0.dev0`, `1.4.0rc1.dev0`): that same
///   version, with its dev number replaced by N.
/// - A pre-release `1.4.0rc1`: the next pre-release's dev, `1.4.0rc2.devN`. `1.4.0.devN`
///   would sort *before* `1.4.0rc1`, so `pip install --pre` would keep choosing the rc over
///   every newer build; setuptools-scm's guess-next-dev makes the same choice.
///
/// `N = run_number * 100 + run_attempt`: run numbers grow with every push and attempts with
/// every re-run of that push, so N never repeats and newer builds sort later. GitHub caps
/// re-runs well below 100 attempts; the arithmetic saturates rather than wraps.
/// The epoch is kept and any local label dropped (indexes reject local versions).
pub fn dev_version(current: &Version, run_number: u64, run_attempt: u64) -> Version {
    let n = run_number.saturating_mul(100).saturating_add(run_attempt);
    let cur = current.clone().without_local();
    if cur.dev().is_some() && cur.post().is_none() {
        return cur.with_dev(Some(n));
    }
    if let Some(p) = cur.pre() {
        return release_only(&cur, cur.release().to_vec())
            .with_pre(Some(Prerelease {
                kind: p.kind,
                number: p.number.saturating_add(1),
            }))
            .with_dev(Some(n));
    }
    target_release(&release_only(&cur, cur.release().to_vec()), 2).with_dev(Some(n))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use clap::ValueEnum;

    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    /// Parts and kinds as the command line spells them.
    fn part_of(s: &str) -> Part {
        Part::from_str(s, false).unwrap()
    }

    fn pre(s: &str) -> Option<PreKind> {
        if s.is_empty() {
            None
        } else {
            Some(PreKind::from_str(s, false).unwrap())
        }
    }

    #[test]
    fn bump_table() {
        #[rustfmt::skip]
        let ok = [
            // the examples
            ("1.2.3", "minor", "", "1.3.0"),
            ("1.3.0", "minor", "rc", "1.4.0rc1"),
            ("1.4.0rc1", "pre", "", "1.4.0rc2"),
            ("1.4.0b2", "pre", "rc", "1.4.0rc1"),
            ("1.4.0rc2", "release", "", "1.4.0"),
            // major / minor / patch
            ("1.2.3", "major", "", "2.0.0"),
            ("1.2.3", "patch", "", "1.2.4"),
            ("1.2", "patch", "", "1.2.1"),
            ("1", "minor", "", "1.1.0"),
            ("1.2.3.4", "patch", "", "1.2.4.0"),
            ("1.2.3.4", "major", "", "2.0.0.0"),
            ("0.9.9", "minor", "", "0.10.0"),
            ("1.0.post2", "patch", "", "1.0.1"),
            ("1.2.3+local.7", "patch", "", "1.2.4"),
            // finalising a pre/dev release of the bump's own target
            ("2.0.0rc1", "major", "", "2.0.0"),
            ("2.0rc1", "major", "", "2.0.0"),
            ("2.1.0rc1", "major", "", "3.0.0"),
            ("1.4.0b1", "minor", "", "1.4.0"),
            ("1.4.1b1", "minor", "", "1.5.0"),
            ("1.2.4.dev3", "patch", "", "1.2.4"),
            ("1.0.post1.dev1", "patch", "", "1.0.1"),
            // starting a pre-release
            ("1.2.3", "patch", "alpha", "1.2.4a1"),
            ("1.2.3", "major", "beta", "2.0.0b1"),
            ("1.4.0b2", "minor", "rc", "1.4.0rc1"),
            ("2.0.0.dev4", "major", "alpha", "2.0.0a1"),
            // pre
            ("1.0a1", "pre", "", "1.0a2"),
            ("1.0a9", "pre", "beta", "1.0b1"),
            ("1.0a3", "pre", "rc", "1.0rc1"),
            ("1.0rc1", "pre", "rc", "1.0rc2"),
            ("1.0rc1.dev2", "pre", "", "1.0rc1"),
            ("1.0rc1.post1", "pre", "", "1.0rc2"),
            ("1.4.0.dev3", "pre", "beta", "1.4.0b1"),
            // post
            ("1.0", "post", "", "1.0.post1"),
            ("1.0.post1", "post", "", "1.0.post2"),
            ("1.0rc1", "post", "", "1.0rc1.post1"),
            ("1.0.post1.dev3", "post", "", "1.0.post1"),
            // dev
            ("1.0.dev1", "dev", "", "1.0.dev2"),
            ("1.0", "dev", "", "1.0.1.dev1"),
            ("1.0rc1", "dev", "", "1.0rc2.dev1"),
            ("1.0.post1", "dev", "", "1.0.post2.dev1"),
            ("1.0rc1.dev1", "dev", "", "1.0rc1.dev2"),
            // release
            ("1.0.dev3", "release", "", "1.0"),
            ("1.0rc1.post2", "release", "", "1.0"),
            ("1.0.post1.dev1", "release", "", "1.0.post1"),
            // epochs survive everything
            ("2!1.2.3", "minor", "", "2!1.3.0"),
            ("1!1.0rc1", "pre", "", "1!1.0rc2"),
            ("1!1.0", "post", "", "1!1.0.post1"),
            ("1!1.0", "dev", "", "1!1.0.1.dev1"),
            ("3!2.0.0b1", "release", "", "3!2.0.0"),
            ("1!2.0.0rc1", "major", "", "1!2.0.0"),
        ];
        for (cur, part, kind, want) in ok {
            let got = bump(&v(cur), part_of(part), pre(kind))
                .unwrap_or_else(|e| panic!("{cur} {part} {kind}: {e}"));
            assert_eq!(got.to_string(), want, "{cur} {part} --pre {kind}");
            assert!(got > v(cur), "{cur} -> {got} must move forwards");
        }

        #[rustfmt::skip]
        let err = [
            ("1.2.3", "pre", "", "is a final release"),
            ("1.2.3", "pre", "rc", "`bump minor --pre rc` (1.3.0rc1)"),
            ("1.0.post1", "pre", "", "is a final release"),
            ("1.4.0rc1", "pre", "alpha", "backwards"),
            ("1.4.0b1", "pre", "alpha", "backwards"),
            ("1.4.0.dev3", "pre", "", "`bump pre --pre alpha|beta|rc`"),
            ("1.4.0", "release", "", "already a final release"),
            ("1.4.0.post1", "release", "", "already a final release"),
            ("1.4.0.dev1", "post", "", "`bump release` (1.4.0)"),
            ("1.4.0rc1", "minor", "rc", "use `bump pre` to continue it"),
            ("2.0.0rc1", "major", "beta", "does not come after it"),
            ("1.0", "dev", "rc", "`--pre` only goes with"),
            ("1.0", "post", "alpha", "`--pre` only goes with"),
            ("1.0rc1", "release", "rc", "`--pre` only goes with"),
        ];
        for (cur, part, kind, want) in err {
            let e = bump(&v(cur), part_of(part), pre(kind))
                .expect_err(&format!("{cur} {part} --pre {kind} must fail"));
            assert!(e.to_string().contains(want), "{cur} {part} {kind}: {e}");
        }
        assert!(ok.len() + err.len() >= 30);
    }

    #[test]
    fn dev_versions_are_unique_and_sort_after_the_current_version() {
        #[rustfmt::skip]
        let cases = [
            ("1.2.3", 42, 1, "1.2.4.dev4201"),
            ("1.2", 7, 2, "1.2.1.dev702"),
            ("1.0.post1", 1, 1, "1.0.1.dev101"),
            ("1.4.0.dev0", 5, 1, "1.4.0.dev501"),
            ("1.4.0rc1.dev0", 5, 1, "1.4.0rc1.dev501"),
            ("1.4.0rc1", 5, 1, "1.4.0rc2.dev501"),
            ("1.0.post1.dev0", 3, 1, "1.0.1.dev301"),
            ("2!1.0", 3, 1, "2!1.0.1.dev301"),
            ("1.0+local", 3, 1, "1.0.1.dev301"),
        ];
        for (cur, run, attempt, want) in cases {
            let got = dev_version(&v(cur), run, attempt);
            assert_eq!(got.to_string(), want, "{cur}");
            if !unreleased(&v(cur)) {
                assert!(got > v(cur), "{cur} -> {got}");
            }
        }
        let base = v("1.2.3");
        assert!(dev_version(&base, 10, 2) > dev_version(&base, 10, 1));
        assert!(dev_version(&base, 11, 1) > dev_version(&base, 10, 2));
        // Huge numbers saturate instead of panicking.
        assert_eq!(dev_version(&base, u64::MAX, 5).dev(), Some(u64::MAX));
    }
}
