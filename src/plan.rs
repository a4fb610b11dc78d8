//! Where to publish, and why: `(event, ref, mode, settings) -> Plan`.
//!
//! A pure function so that every combination is a table row in a test. `auto` publishes a
//! matching tag to PyPI and a push to a publish branch to TestPyPI; everything else —
//! pull requests, forks, other branches, other events — publishes nothing and says why.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Auto,
    Testpypi,
    Pypi,
}

impl Mode {
    /// Each mode by the name the `mode` input and `--mode` take.
    pub const NAMES: [(&'static str, Mode); 3] = [
        ("auto", Mode::Auto),
        ("testpypi", Mode::Testpypi),
        ("pypi", Mode::Pypi),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Pypi,
    Testpypi,
    None,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Pypi => "pypi",
            Target::Testpypi => "testpypi",
            Target::None => "none",
        }
    }
    /// The index's display name.
    pub fn label(self) -> &'static str {
        match self {
            Target::Pypi => "PyPI",
            Target::Testpypi => "TestPyPI",
            Target::None => "nowhere",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ref glob (`v*`, `release/*`). `*` also crosses `/`, as GitHub's own `on.push.tags`
/// filters do for `**`; a tag pattern rarely wants the distinction.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    matcher: globset::GlobMatcher,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, globset::Error> {
        Ok(Pattern {
            text: text.to_owned(),
            matcher: globset::Glob::new(text)?.compile_matcher(),
        })
    }
    pub fn is_match(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// What the plan looks at.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub event: &'a str,
    pub git_ref: &'a str,
    pub default_branch: Option<&'a str>,
    pub fork: bool,
    pub mode: Mode,
    pub tag_pattern: &'a Pattern,
    /// Publish branches; empty means the repository's default branch.
    pub branches: &'a [Pattern],
    /// A dry run: `workflow_dispatch` on any branch rehearses what a publish branch gets.
    pub rehearsal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub target: Target,
    /// One line, for logs and the `reason` output.
    pub reason: String,
    /// The tag name when the ref is a tag: its version must match the distributions'.
    pub tag: Option<String>,
}

impl Plan {
    pub fn should_publish(&self) -> bool {
        self.target != Target::None
    }
}

/// Events whose ref says what to publish. Anything else (schedule, workflow_run, issue
/// comments...) carries a ref that does not describe a release, so auto mode stays out.
const REF_EVENTS: &[&str] = &["push", "workflow_dispatch", "release"];
const PR_EVENTS: &[&str] = &["pull_request", "pull_request_target", "merge_group"];

pub fn plan(input: &PlanInput<'_>) -> Plan {
    let tag = input.git_ref.strip_prefix("refs/tags/").map(str::to_owned);
    let none = |reason: String| Plan {
        target: Target::None,
        reason,
        tag: tag.clone(),
    };
    match input.mode {
        Mode::Pypi => {
            return Plan {
                target: Target::Pypi,
                reason: "mode: pypi forces PyPI".into(),
                tag: tag.clone(),
            }
        }
        Mode::Testpypi => {
            return Plan {
                target: Target::Testpypi,
                reason: "mode: testpypi forces TestPyPI".into(),
                tag: tag.clone(),
            }
        }
        Mode::Auto => {}
    }
    let event = input.event;
    if PR_EVENTS.contains(&event) {
        return none(format!("{event} events never publish in auto mode"));
    }
    if !REF_EVENTS.contains(&event) {
        let shown = if event.is_empty() { "(none)" } else { event };
        return none(format!(
            "event {shown} does not publish in auto mode (only push, workflow_dispatch and release do); set mode: testpypi or pypi to force a target"
        ));
    }
    if input.fork {
        return none("the repository is a fork; forks never publish in auto mode".into());
    }
    if let Some(t) = &tag {
        let pat = input.tag_pattern;
        return if pat.is_match(t) {
            Plan {
                target: Target::Pypi,
                reason: format!("tag {t} matches {} → PyPI", pat.as_str()),
                tag: tag.clone(),
            }
        } else {
            none(format!(
                "tag {t} does not match tag-pattern {}; nothing to publish",
                pat.as_str()
            ))
        };
    }
    if let Some(branch) = input.git_ref.strip_prefix("refs/heads/") {
        let on = if event == "push" {
            "push to".to_owned()
        } else {
            format!("{event} on")
        };
        let testpypi = |reason: String| Plan {
            target: Target::Testpypi,
            reason,
            tag: None,
        };
        // A rehearsal on any branch gets what a publish branch would: the dev version, the
        // checks, the pre-flight, nothing uploaded.
        let rehearse = input.rehearsal && event == "workflow_dispatch";
        if !input.branches.is_empty() {
            let names = input
                .branches
                .iter()
                .map(Pattern::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            return match input.branches.iter().find(|p| p.is_match(branch)) {
                Some(p) => testpypi(format!(
                    "{on} branch {branch} matches branches ({}) → TestPyPI",
                    p.as_str()
                )),
                None if rehearse => testpypi(format!(
                    "{on} branch {branch} with dry-run rehearses what a push to a publish branch ({names}) would publish → TestPyPI"
                )),
                None => none(format!(
                    "branch {branch} is not a publish branch ({names}); nothing to publish"
                )),
            };
        }
        return match input.default_branch {
            Some(d) if d == branch => testpypi(format!("{on} default branch {branch} → TestPyPI")),
            Some(d) if rehearse => testpypi(format!(
                "{on} branch {branch} with dry-run rehearses what a push to the default branch {d} would publish → TestPyPI"
            )),
            Some(d) => none(format!(
                "branch {branch} is not the default branch {d}; nothing to publish"
            )),
            None => none(format!(
                "branch {branch}: the default branch is unknown (the event payload has no repository.default_branch); set the `branches` input"
            )),
        };
    }
    if input.git_ref.is_empty() {
        return none("no ref (GITHUB_REF is empty); nothing to publish".into());
    }
    none(format!(
        "ref {} is neither a tag nor a branch; nothing to publish",
        input.git_ref
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        event: &'static str,
        git_ref: &'static str,
        mode: Mode,
        branches: &'static [&'static str],
        fork: bool,
        default: Option<&'static str>,
        rehearsal: bool,
        want: Target,
        reason: &'static str,
    }

    const fn row(
        event: &'static str,
        git_ref: &'static str,
        mode: Mode,
        want: Target,
        reason: &'static str,
    ) -> Row {
        Row {
            event,
            git_ref,
            mode,
            branches: &[],
            fork: false,
            default: Some("master"),
            rehearsal: false,
            want,
            reason,
        }
    }

    #[test]
    fn decision_table() {
        use Mode::*;
        use Target::{None as No, Pypi as P, Testpypi as T};
        let rows = [
            row("push", "refs/tags/v1.2.0", Auto, P, "tag v1.2.0 matches v* → PyPI"),
            row("push", "refs/tags/v2.0.0rc1", Auto, P, "tag v2.0.0rc1 matches v* → PyPI"),
            row("push", "refs/tags/1.2.0", Auto, No, "tag 1.2.0 does not match tag-pattern v*; nothing to publish"),
            row("push", "refs/heads/master", Auto, T, "push to default branch master → TestPyPI"),
            row("push", "refs/heads/feature/x", Auto, No, "branch feature/x is not the default branch master; nothing to publish"),
            row("pull_request", "refs/pull/7/merge", Auto, No, "pull_request events never publish in auto mode"),
            row("pull_request_target", "refs/heads/master", Auto, No, "pull_request_target events never publish in auto mode"),
            row("workflow_dispatch", "refs/tags/v1.0.0", Auto, P, "tag v1.0.0 matches v* → PyPI"),
            row("workflow_dispatch", "refs/heads/master", Auto, T, "workflow_dispatch on default branch master → TestPyPI"),
            row("workflow_dispatch", "refs/heads/feature/x", Auto, No, "branch feature/x is not the default branch master; nothing to publish"),
            Row { rehearsal: true, ..row("workflow_dispatch", "refs/heads/feature/x", Auto, T, "workflow_dispatch on branch feature/x with dry-run rehearses what a push to the default branch master would publish → TestPyPI") },
            Row { rehearsal: true, branches: &["main", "release/*"], ..row("workflow_dispatch", "refs/heads/feature/x", Auto, T, "workflow_dispatch on branch feature/x with dry-run rehearses what a push to a publish branch (main, release/*) would publish → TestPyPI") },
            Row { rehearsal: true, ..row("push", "refs/heads/feature/x", Auto, No, "branch feature/x is not the default branch master; nothing to publish") },
            Row { rehearsal: true, default: None, ..row("workflow_dispatch", "refs/heads/feature/x", Auto, No, "branch feature/x: the default branch is unknown (the event payload has no repository.default_branch); set the `branches` input") },
            Row { rehearsal: true, ..row("workflow_dispatch", "refs/tags/v1.0.0", Auto, P, "tag v1.0.0 matches v* → PyPI") },
            row("release", "refs/tags/v3.1.4", Auto, P, "tag v3.1.4 matches v* → PyPI"),
            row("schedule", "refs/heads/master", Auto, No, "event schedule does not publish in auto mode (only push, workflow_dispatch and release do); set mode: testpypi or pypi to force a target"),
            row("pull_request", "refs/pull/7/merge", Pypi, P, "mode: pypi forces PyPI"),
            row("push", "refs/heads/feature/x", Testpypi, T, "mode: testpypi forces TestPyPI"),
            row("push", "", Auto, No, "no ref (GITHUB_REF is empty); nothing to publish"),
            row("push", "refs/notes/x", Auto, No, "ref refs/notes/x is neither a tag nor a branch; nothing to publish"),
            Row { branches: &["main", "release/*"], ..row("push", "refs/heads/release/1.x", Auto, T, "push to branch release/1.x matches branches (release/*) → TestPyPI") },
            Row { branches: &["main"], ..row("push", "refs/heads/master", Auto, No, "branch master is not a publish branch (main); nothing to publish") },
            Row { fork: true, ..row("push", "refs/tags/v1.0.0", Auto, No, "the repository is a fork; forks never publish in auto mode") },
            Row { default: None, ..row("push", "refs/heads/master", Auto, No, "branch master: the default branch is unknown (the event payload has no repository.default_branch); set the `branches` input") },
        ];
        let tag_pattern = Pattern::new("v*").unwrap();
        for r in rows {
            let branches: Vec<Pattern> = r
                .branches
                .iter()
                .map(|b| Pattern::new(b).unwrap())
                .collect();
            let p = plan(&PlanInput {
                event: r.event,
                git_ref: r.git_ref,
                default_branch: r.default,
                fork: r.fork,
                mode: r.mode,
                tag_pattern: &tag_pattern,
                branches: &branches,
                rehearsal: r.rehearsal,
            });
            assert_eq!(
                (p.target, p.reason.as_str()),
                (r.want, r.reason),
                "{} {} {:?}",
                r.event,
                r.git_ref,
                r.mode
            );
            assert_eq!(p.should_publish(), r.want != No);
        }
    }

    #[test]
    fn tag_is_reported_for_tag_refs() {
        let pat = Pattern::new("release-*").unwrap();
        let p = plan(&PlanInput {
            event: "push",
            git_ref: "refs/tags/release-1.0",
            default_branch: None,
            fork: false,
            mode: Mode::Auto,
            tag_pattern: &pat,
            branches: &[],
            rehearsal: false,
        });
        assert_eq!(p.target, Target::Pypi);
        assert_eq!(p.tag.as_deref(), Some("release-1.0"));
    }

    #[test]
    fn modes_parse_exactly() {
        let parse = |s: &str| Mode::NAMES.iter().find(|(n, _)| *n == s).map(|(_, m)| *m);
        assert_eq!(parse("auto"), Some(Mode::Auto));
        assert_eq!(parse("pypi"), Some(Mode::Pypi));
        assert!(parse("PyPI").is_none());
        assert!(parse("").is_none());
    }
}
