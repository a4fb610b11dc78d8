//! The run's result, and every way it is shown: step outputs, the Markdown step summary,
//! terminal text and JSON. Stages fill a [`Report`]; only this module decides how it reads.

use serde::Serialize;

use crate::dist::Problem;
use crate::plan::{Plan, Target};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum FileResult {
    Uploaded,
    /// Already on the index with the same sha256: nothing to do (a re-run).
    IdenticalSkipped,
    /// Dry run: this file would have been uploaded.
    WouldUpload,
    /// The upload of this file failed; the message is the server's or the transport's.
    Failed(String),
    /// Not attempted: an earlier file failed, or a check stopped the run first.
    NotAttempted,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub filename: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub result: FileResult,
    /// Where the index serves the file, when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why a skip was not a byte-for-byte match (a rebuilt file with the published contents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub plan: Option<Plan>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub index_url: Option<String>,
    pub dry_run: bool,
    /// Only the decision was asked for (`plan-only`).
    pub plan_only: bool,
    /// The release's page on the index.
    pub project_url: Option<String>,
    /// `Some(true)` when the index served every file and the install check passed.
    pub verified: Option<bool>,
    /// What verification found wrong (also a warning or the run's error).
    pub verify_error: Option<String>,
    /// The dev version stamped before the build (TestPyPI with `dev-version`).
    pub stamped_version: Option<String>,
    pub files: Vec<FileEntry>,
    pub ignored: Vec<String>,
    pub problems: Vec<Problem>,
    /// The error that ended the run, if any (already free of secrets).
    pub error: Option<String>,
    /// The wait-for-checks gate, when it ran.
    pub checks: Option<ChecksReport>,
    /// The GitHub Release's page, when the release stage made or found one.
    pub release_url: Option<String>,
}

/// What the checks gate saw and decided.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChecksReport {
    pub passed: bool,
    pub elapsed_secs: f64,
    pub checks: Vec<crate::checks::CheckResult>,
}

impl Report {
    pub fn target(&self) -> Target {
        self.plan.as_ref().map_or(Target::None, |p| p.target)
    }

    pub fn uploaded(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| f.result == FileResult::Uploaded)
            .map(|f| f.filename.as_str())
            .collect()
    }

    pub fn skipped(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| f.result == FileResult::IdenticalSkipped)
            .map(|f| f.filename.as_str())
            .collect()
    }

    /// The step outputs, in a fixed order. Every output is always written (empty when
    /// unknown) so downstream `needs.<job>.outputs.*` expressions never see a stale value.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let plan = self.plan.as_ref();
        vec![
            (
                "should-publish",
                // A failed gate means "do not publish", whatever the plan said.
                (plan.is_some_and(Plan::should_publish)
                    && self.checks.as_ref().is_none_or(|c| c.passed))
                .to_string(),
            ),
            ("target", self.target().as_str().to_owned()),
            ("reason", plan.map(|p| p.reason.clone()).unwrap_or_default()),
            ("name", self.name.clone().unwrap_or_default()),
            ("version", self.version.clone().unwrap_or_default()),
            ("uploaded", self.uploaded().join("\n")),
            ("skipped", self.skipped().join("\n")),
            (
                "checks",
                self.checks
                    .as_ref()
                    .map(|c| serde_json::to_string(&c.checks).unwrap_or_else(|_| "[]".into()))
                    .unwrap_or_else(|| "[]".into()),
            ),
            ("project-url", self.project_url.clone().unwrap_or_default()),
            (
                "verified",
                self.verified.map(|v| v.to_string()).unwrap_or_default(),
            ),
            ("release-url", self.release_url.clone().unwrap_or_default()),
        ]
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    fn headline(&self) -> String {
        let what = match (&self.name, &self.version) {
            (Some(n), Some(v)) => format!("{n} {v}"),
            _ => "the distributions".into(),
        };
        let target = self.target();
        match (&self.error, target) {
            (Some(_), _) => format!("failed to publish {what} to {}", target.label()),
            (None, Target::None) => "nothing to publish".into(),
            (None, _) if self.plan_only => {
                format!("plan: this run publishes to {}", target.label())
            }
            (None, _) if self.dry_run => {
                format!("dry run: would publish {what} to {}", target.label())
            }
            (None, _) if self.uploaded().is_empty() && !self.skipped().is_empty() => format!(
                "{what} is already on {}: every file identical, nothing uploaded",
                target.label()
            ),
            (None, _) => format!("published {what} to {}", target.label()),
        }
    }

    /// The step summary: decision, files with size and sha256, result, problems.
    pub fn summary_markdown(&self) -> String {
        let mut md = format!("## sdd-publish: {}\n\n", self.headline());
        if let Some(p) = &self.plan {
            md.push_str(&format!(
                "**Decision:** {} (target: `{}`)\n\n",
                md_escape(&p.reason),
                p.target
            ));
        }
        match (self.verified, &self.verify_error) {
            (Some(true), _) => md.push_str(&format!(
                "**Verified:** the index serves every file with the uploaded sha256, and it installs ({})\n\n",
                self.project_url.as_deref().unwrap_or("")
            )),
            (Some(false), Some(e)) => {
                md.push_str(&format!("**Verification failed:** {}\n\n", md_escape(e)))
            }
            _ => {}
        }
        if let Some(v) = &self.stamped_version {
            md.push_str(&format!("**Dev version:** built as `{v}`\n\n"));
        }
        if let Some(e) = &self.error {
            md.push_str(&format!("**Error:** {}\n\n", md_escape(e)));
        }
        if let Some(c) = &self.checks {
            md.push_str(&format!(
                "### Checks: {} after {:.0}s\n\n",
                if c.passed { "passed" } else { "not passed" },
                c.elapsed_secs
            ));
            if !c.checks.is_empty() {
                md.push_str("| Check | Conclusion |\n|---|---|\n");
                for k in &c.checks {
                    let name = md_escape(&k.name);
                    let cell = if k.url.is_empty() {
                        name
                    } else {
                        format!("[{name}]({})", k.url.replace(')', "%29"))
                    };
                    md.push_str(&format!("| {cell} | `{}` |\n", md_escape(&k.conclusion)));
                }
                md.push('\n');
            }
        }
        if !self.files.is_empty() {
            md.push_str("| File | Size | sha256 | Result | URL |\n|---|---:|---|---|---|\n");
            for f in &self.files {
                let result = match &f.result {
                    FileResult::Uploaded => "uploaded".to_string(),
                    FileResult::IdenticalSkipped => "identical, skipped".to_string(),
                    FileResult::WouldUpload => "would upload (dry run)".to_string(),
                    FileResult::Failed(m) => format!("failed: {}", md_escape(m)),
                    FileResult::NotAttempted => "not attempted".to_string(),
                };
                let url = f
                    .url
                    .as_deref()
                    .map_or_else(|| "-".to_string(), |u| format!("<{}>", md_escape(u)));
                md.push_str(&format!(
                    "| `{}` | {} | `{}` | {} | {} |\n",
                    f.filename,
                    human_size(f.size),
                    f.sha256.as_deref().unwrap_or("-"),
                    result,
                    url
                ));
            }
            md.push('\n');
        }
        if let Some(u) = &self.release_url {
            md.push_str(&format!("**GitHub Release:** <{}>\n\n", md_escape(u)));
        }
        if !self.problems.is_empty() {
            md.push_str("### Problems\n\n| File | Rule | Found | Fix |\n|---|---|---|---|\n");
            for p in &self.problems {
                md.push_str(&format!(
                    "| `{}` | `{}`{} | {} | {} |\n",
                    p.path.display(),
                    p.rule,
                    if p.is_error() { "" } else { " (warning)" },
                    md_escape(&p.message),
                    md_escape(&p.fix)
                ));
            }
            md.push('\n');
        }
        if !self.ignored.is_empty() {
            md.push_str(&format!(
                "Ignored (not distributions): {}\n\n",
                self.ignored
                    .iter()
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        md
    }

    /// The closing lines on a terminal or in the log.
    pub fn terminal_text(&self) -> String {
        let mut out = format!("sdd-publish: {}\n", self.headline());
        if let Some(p) = &self.plan {
            out.push_str(&format!("  decision: {}\n", p.reason));
        }
        for f in &self.files {
            let result = match &f.result {
                FileResult::Uploaded => "uploaded".to_string(),
                FileResult::IdenticalSkipped => "identical, skipped".to_string(),
                FileResult::WouldUpload => "would upload".to_string(),
                FileResult::Failed(m) => format!("FAILED: {m}"),
                FileResult::NotAttempted => "not attempted".to_string(),
            };
            out.push_str(&format!(
                "  {:<50} {:>10}  {}\n",
                f.filename,
                human_size(f.size),
                result
            ));
        }
        out
    }
}

/// Table cells must not break the table: escape pipes, fold newlines.
fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            plan: Some(Plan {
                target: Target::Pypi,
                reason: "tag v1.0.0 matches v* → PyPI".into(),
                tag: Some("v1.0.0".into()),
            }),
            name: Some("improved-sdd".into()),
            version: Some("1.0.0".into()),
            files: vec![
                FileEntry {
                    filename: "improved_sdd-1.0.0-py3-none-any.whl".into(),
                    size: 2048,
                    sha256: Some("ab".repeat(32)),
                    result: FileResult::Uploaded,
                    url: Some("https://files.example/improved_sdd-1.0.0-py3-none-any.whl".into()),
                    note: None,
                },
                FileEntry {
                    filename: "improved_sdd-1.0.0.tar.gz".into(),
                    size: 100,
                    sha256: None,
                    result: FileResult::Failed("400 bad | thing".into()),
                    url: None,
                    note: None,
                },
                FileEntry {
                    filename: "improved_sdd-1.0.0-cp312-none-any.whl".into(),
                    size: 100,
                    sha256: Some("cd".repeat(32)),
                    result: FileResult::IdenticalSkipped,
                    url: None,
                    note: None,
                },
            ],
            error: Some("upload failed".into()),
            ..Report::default()
        }
    }

    #[test]
    fn outputs_are_complete_and_ordered() {
        let outs = report().outputs();
        let names: Vec<_> = outs.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "should-publish",
                "target",
                "reason",
                "name",
                "version",
                "uploaded",
                "skipped",
                "checks",
                "project-url",
                "verified",
                "release-url"
            ]
        );
        assert_eq!(outs[0].1, "true");
        assert_eq!(outs[5].1, "improved_sdd-1.0.0-py3-none-any.whl");
        assert_eq!(outs[6].1, "improved_sdd-1.0.0-cp312-none-any.whl");
        assert_eq!(outs[7].1, "[]");
        let empty = Report::default().outputs();
        assert_eq!(empty[0].1, "false");
        assert_eq!(empty[1].1, "none");
    }

    #[test]
    fn summary_keeps_the_table_intact() {
        let md = report().summary_markdown();
        assert!(md.starts_with("## sdd-publish: failed to publish improved-sdd 1.0.0 to PyPI"));
        assert!(md.contains("| `improved_sdd-1.0.0-py3-none-any.whl` | 2.0 KiB |"));
        assert!(md.contains("failed: 400 bad \\| thing"), "{md}");
        assert!(
            md.contains(
                "| uploaded | <https://files.example/improved_sdd-1.0.0-py3-none-any.whl> |"
            ),
            "{md}"
        );
        assert!(md.contains("| identical, skipped | - |"), "{md}");
        let json = report().to_json();
        assert!(json.contains("\"result\": \"identical-skipped\""), "{json}");
        assert!(json.contains("\"url\": \"https://files.example/"), "{json}");
    }

    #[test]
    fn a_failed_gate_says_do_not_publish() {
        let mut r = report();
        r.checks = Some(ChecksReport {
            passed: false,
            elapsed_secs: 3.0,
            checks: vec![crate::checks::CheckResult {
                name: "Test | Suite".into(),
                conclusion: "failure".into(),
                url: "https://github.com/o/r/runs/5".into(),
                done: true,
            }],
        });
        let outs = r.outputs();
        assert_eq!(outs[0].1, "false");
        assert_eq!(
            outs[7].1,
            r#"[{"name":"Test | Suite","conclusion":"failure","url":"https://github.com/o/r/runs/5"}]"#
        );
        let md = r.summary_markdown();
        assert!(
            md.contains("| [Test \\| Suite](https://github.com/o/r/runs/5) | `failure` |"),
            "{md}"
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(9_961_472), "9.5 MiB");
    }
}
