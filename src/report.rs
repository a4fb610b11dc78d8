//! The run's result, and every way it is shown: step outputs, the Markdown step summary,
//! terminal text and JSON. `pipeline` folds the stages' outcomes into a [`Report`] (the
//! `record_*` methods); only this module decides how it reads.

use serde::Serialize;

use crate::dist::Problem;
use crate::plan::{Plan, Target};
pub use crate::stages::gate::ChecksReport;
pub use crate::stages::validate::Validation;
use crate::units::human_size;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum FileResult {
    Uploaded,
    /// Already on the index with the same sha256: nothing to do (a re-run).
    IdenticalSkipped,
    /// Dry run: this file would have been uploaded.
    WouldUpload,
    /// The index holds other contents under this name (TestPyPI): skipped with a warning.
    ConflictSkipped(String),
    /// The upload of this file failed; the message is the server's or the transport's.
    Failed(String),
    /// Not attempted: an earlier file failed, or a check stopped the run first.
    NotAttempted,
}

impl FileResult {
    /// The result in a few words, as the terminal and the progress bars show it.
    pub fn word(&self) -> &'static str {
        match self {
            FileResult::Uploaded => "uploaded",
            FileResult::IdenticalSkipped => "identical, skipped",
            FileResult::WouldUpload => "would upload",
            FileResult::ConflictSkipped(_) => "other contents there, skipped",
            FileResult::Failed(_) => "FAILED",
            FileResult::NotAttempted => "not attempted",
        }
    }
}

impl From<&crate::index::Status> for FileResult {
    fn from(s: &crate::index::Status) -> FileResult {
        use crate::index::Status;
        match s {
            Status::Uploaded => FileResult::Uploaded,
            Status::IdenticalSkipped => FileResult::IdenticalSkipped,
            Status::WouldUpload => FileResult::WouldUpload,
            Status::ConflictSkipped(m) => FileResult::ConflictSkipped(m.clone()),
            Status::Failed(m) => FileResult::Failed(m.clone()),
            Status::NotAttempted => FileResult::NotAttempted,
        }
    }
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
    /// Its PEP 740 attestation, when one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<FileAttestation>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileAttestation {
    /// Where it was saved (`<file>.publish.attestation`).
    pub path: String,
    /// Rekor's log index of its entry.
    pub rekor_log_index: u64,
}

/// The steps of a run, in order: where it is, and where it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    #[default]
    Plan,
    /// The index's credentials and the release notes, read before any file work.
    Setup,
    Wait,
    Build,
    Check,
    Preflight,
    /// Authentication to the index (trusted publishing's token exchange).
    Connect,
    /// PEP 740 attestations (made and logged, nothing uploaded yet).
    Attest,
    Upload,
    Verify,
    Release,
}

impl Phase {
    /// The stage's key in the Time row and the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Phase::Plan => "plan",
            Phase::Setup => "setup",
            Phase::Wait => "wait",
            Phase::Build => "build",
            Phase::Check => "check",
            Phase::Preflight => "preflight",
            Phase::Connect => "connect",
            Phase::Attest => "attest",
            Phase::Upload => "upload",
            Phase::Verify => "verify",
            Phase::Release => "release",
        }
    }

    /// The stage as `reason` names it.
    fn words(self) -> &'static str {
        match self {
            Phase::Plan => "the plan",
            Phase::Setup => "the setup (credentials, release notes)",
            Phase::Wait => "the checks gate",
            Phase::Build => "the build",
            Phase::Check => "the distribution check",
            Phase::Preflight => "the pre-flight",
            Phase::Connect => "the connection to the index",
            Phase::Attest => "the attestations",
            Phase::Upload => "the upload",
            Phase::Verify => "verification",
            Phase::Release => "the GitHub Release",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub plan: Option<Plan>,
    /// PEP 740 attestations were asked for (each file's is in `files`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attesting: bool,
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
    /// Where this run happened (repository, commit, ref, event, run), for the audit record.
    pub run: Option<RunFacts>,
    /// How the upload authenticated (never the credential itself).
    pub auth: Option<String>,
    /// The build command, when the action built the distributions.
    pub build_command: Option<String>,
    /// The check stage's verdict over every file.
    pub validation: Option<Validation>,
    /// What verification established, one line per fact.
    pub verify_steps: Vec<String>,
    /// What the release stage did (created/updated, assets).
    pub release_detail: Option<String>,
    /// The pre-flight (the local files installed and run before any upload), when it ran.
    pub preflight: Option<crate::verify::preflight::PreflightReport>,
    /// What stopped the pre-flight, as a row of the Problems table.
    pub preflight_problem: Option<Problem>,
    /// The stage the run is in; [`Report::stopped_at`] keeps it when a stage fails.
    #[serde(skip)]
    pub phase: Phase,
    /// The stage whose failure ended the run.
    pub stopped_at: Option<Phase>,
    /// How many files uploaded at once, and why (the upload engine measures it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<String>,
    /// Wall time of each stage that ran, in order.
    pub stages: Vec<(String, f64)>,
    pub total_secs: f64,
}

/// Where a run happened.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFacts {
    pub repository: String,
    pub commit: String,
    pub git_ref: String,
    pub event: String,
    /// The workflow run's page (attempt included), when the runner said which run this is.
    pub run_url: Option<String>,
    pub tool: String,
}

impl RunFacts {
    pub fn from_context(ctx: &crate::gha::Context) -> RunFacts {
        let run_url = ctx.run_id.filter(|_| !ctx.repository.is_empty()).map(|id| {
            format!(
                "{}/{}/actions/runs/{id}/attempts/{}",
                ctx.server_url.trim_end_matches('/'),
                ctx.repository,
                ctx.run_attempt.unwrap_or(1)
            )
        });
        RunFacts {
            repository: ctx.repository.clone(),
            commit: ctx.sha.clone(),
            git_ref: ctx.git_ref.clone(),
            event: ctx.event_name.clone(),
            run_url,
            tool: concat!("sdd-publish ", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// One line for the release stage's outcome.
pub(crate) fn release_detail(o: &crate::github_release::ReleaseOutcome) -> String {
    use crate::github_release::AssetAction as A;
    let verb = match (o.url.is_some(), o.created) {
        (false, _) => "would be created (dry run)",
        (true, true) => "created",
        (true, false) => "updated in place (it existed: never duplicated)",
    };
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (_, action) in &o.assets {
        let word = match action {
            A::Uploaded => "uploaded",
            A::Kept => "kept (identical)",
            A::Replaced => "replaced (other bytes)",
            A::WouldUpload => "would be uploaded",
            A::WouldReplace => "would be replaced",
        };
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    if counts.is_empty() {
        return format!("{verb}; no assets attached");
    }
    let assets = counts
        .iter()
        .map(|(w, n)| format!("{n} {w}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{verb}; assets: {assets}")
}

impl Report {
    /// The validate stage's findings: every file (not attempted yet), what was ignored, every
    /// problem, the verdict, and the release the files make.
    pub(crate) fn record_validation(&mut self, v: &crate::stages::validate::Validated) {
        self.files = v
            .dists
            .iter()
            .map(|d| FileEntry {
                filename: d.filename.clone(),
                size: d.size,
                sha256: None,
                result: FileResult::NotAttempted,
                url: None,
                note: None,
                attestation: None,
            })
            .collect();
        self.ignored.clone_from(&v.ignored);
        self.problems.clone_from(&v.problems);
        self.validation.clone_from(&v.validation);
        if let Some((name, version)) = &v.release {
            self.name = Some(name.clone());
            self.version = Some(version.clone());
        }
    }

    /// The publish stage's outcome for each file, in the files' order.
    pub(crate) fn record_uploads(
        &mut self,
        outcomes: Vec<crate::index::FileOutcome>,
        parallelism: Option<String>,
    ) {
        self.parallelism = parallelism;
        for (entry, o) in self.files.iter_mut().zip(outcomes) {
            entry.result = FileResult::from(&o.status);
            entry.sha256 = o.sha256;
            entry.url = o.url;
            entry.size = o.size;
            entry.note = o.note;
        }
    }

    /// The pre-flight stage's outcome.
    pub(crate) fn record_preflight(&mut self, p: crate::stages::preflight::Preflighted) {
        self.preflight = Some(p.report);
        self.preflight_problem = p.problem;
    }

    /// The attest stage's outcome: attestations were asked for, and each file's that was made.
    pub(crate) fn record_attestations(&mut self, a: &crate::stages::attest::Attestations) {
        self.attesting = true;
        for made in &a.made {
            if let Some(f) = self.files.iter_mut().find(|f| f.filename == made.filename) {
                f.attestation = Some(FileAttestation {
                    path: made.saved.display().to_string(),
                    rekor_log_index: made.log_index,
                });
            }
        }
    }

    /// The verify stage's outcome.
    pub(crate) fn record_verification(&mut self, v: crate::stages::verify::Verified) {
        // Where the index serves each file, from the listing that proved it.
        for f in self.files.iter_mut() {
            if let Some(url) = v.urls.get(&f.filename) {
                f.url = Some(url.clone());
            }
        }
        self.verified = Some(v.verified);
        self.verify_steps = v.steps;
        self.verify_error = v.error;
    }

    /// The GitHub Release stage's outcome.
    pub(crate) fn record_release(&mut self, o: crate::github_release::ReleaseOutcome) {
        self.release_detail = Some(release_detail(&o));
        self.release_url = o.url;
    }

    /// (filename, sha256) of each file the index now holds as ours: uploaded, or found there
    /// identical. What verification checks the index serves.
    pub(crate) fn published_digests(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .filter(|f| {
                matches!(
                    f.result,
                    FileResult::Uploaded | FileResult::IdenticalSkipped
                )
            })
            .filter_map(|f| Some((f.filename.clone(), f.sha256.clone()?)))
            .collect()
    }

    /// (filename, size, sha256) of each file, as the upload left them.
    pub(crate) fn file_digests(&self) -> Vec<(String, u64, Option<String>)> {
        self.files
            .iter()
            .map(|f| (f.filename.clone(), f.size, f.sha256.clone()))
            .collect()
    }

    /// Record a stage's wall time.
    pub fn stage(&mut self, name: &str, started: std::time::Instant) {
        self.stages
            .push((name.to_owned(), started.elapsed().as_secs_f64()));
    }

    pub fn target(&self) -> Target {
        self.plan.as_ref().map_or(Target::None, |p| p.target)
    }

    pub fn uploaded(&self) -> Vec<&str> {
        self.files_that(FileResult::Uploaded)
    }

    pub fn skipped(&self) -> Vec<&str> {
        self.files_that(FileResult::IdenticalSkipped)
    }

    fn files_that(&self, result: FileResult) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| f.result == result)
            .map(|f| f.filename.as_str())
            .collect()
    }

    /// This run publishes: it has a target, is no rehearsal, and nothing before the upload
    /// stopped it (the gate, the build, the check, the pre-flight). A run that reached the
    /// upload counts even when a later step failed: files may be on the index.
    pub fn should_publish(&self) -> bool {
        self.plan.as_ref().is_some_and(Plan::should_publish)
            && !self.dry_run
            && self.checks.as_ref().is_none_or(|c| c.passed)
            && self.stopped_at.is_none_or(|p| p >= Phase::Upload)
    }

    /// A rehearsal of a publish: `dry-run` with a target.
    pub fn rehearsed(&self) -> bool {
        self.dry_run && self.target() != Target::None
    }

    /// The `reason` output: the plan's, or which stage stopped the run before the upload,
    /// or that this is a rehearsal.
    pub fn reason(&self) -> String {
        let Some(plan) = &self.plan else {
            return String::new();
        };
        match self.stopped_at {
            Some(p) if p < Phase::Upload && plan.should_publish() => format!(
                "{} failed, so nothing was published (the plan: {})",
                p.words(),
                plan.reason
            ),
            _ if self.rehearsed() => format!("dry run, nothing was published: {}", plan.reason),
            _ => plan.reason.clone(),
        }
    }

    /// The step outputs, in a fixed order. Every output is always written (empty when
    /// unknown) so downstream `needs.<job>.outputs.*` expressions never see a stale value.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("should-publish", self.should_publish().to_string()),
            ("dry-run", self.rehearsed().to_string()),
            ("target", self.target().as_str().to_owned()),
            ("reason", self.reason()),
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
        // Built with serde too, so a quote in the message cannot make the fallback invalid JSON.
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
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
            (None, _)
                if self.uploaded().is_empty()
                    && self
                        .files
                        .iter()
                        .any(|f| matches!(f.result, FileResult::ConflictSkipped(_))) =>
            {
                format!(
                    "{what} is already on {} with other contents: nothing uploaded",
                    target.label()
                )
            }
            (None, _) if self.uploaded().is_empty() && !self.skipped().is_empty() => format!(
                "{what} is already on {}: every file identical, nothing uploaded",
                target.label()
            ),
            (None, _) => format!("published {what} to {}", target.label()),
        }
    }

    /// The step summary: a complete audit record of the run. A key-value table first
    /// (decision, where, how, each stage's verdict, timings), then the files with sizes,
    /// sha256 and results, the checks waited for, and every problem with its fix.
    pub fn summary_markdown(&self) -> String {
        let mut md = format!("## sdd-publish: {}\n\n", md_escape(&self.headline()));
        let rows = self.summary_rows();
        if !rows.is_empty() {
            md.push_str("| | |\n|---|---|\n");
            for (k, v) in rows {
                // The labels are this module's own; tests and readers look for `**Label:**`.
                md.push_str(&format!("| **{k}:** | {v} |\n"));
            }
            md.push('\n');
        }
        if !self.files.is_empty() {
            md.push_str("### Files\n\n| File | Size | sha256 | Check | Result | URL |\n|---|---:|---|---|---|---|\n");
            for f in &self.files {
                // The audit record adds what the terminal line leaves to its context.
                let result = match (&f.result, &f.note) {
                    (FileResult::IdenticalSkipped, Some(n)) => {
                        format!("identical, skipped ({})", md_escape(n))
                    }
                    (FileResult::WouldUpload, _) => "would upload (dry run)".to_string(),
                    (FileResult::ConflictSkipped(m), _) => {
                        format!("**skipped: other contents on the index:** {}", md_escape(m))
                    }
                    (FileResult::Failed(m), _) => format!("failed: {}", md_escape(m)),
                    (other, _) => other.word().to_string(),
                };
                let url = f.url.as_deref().map_or_else(|| "-".to_string(), autolink);
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    code(&f.filename),
                    human_size(f.size),
                    f.sha256.as_deref().map_or_else(|| "-".into(), code),
                    self.file_verdict(&f.filename),
                    result,
                    url
                ));
            }
            md.push('\n');
        }
        if self.attesting || self.files.iter().any(|f| f.attestation.is_some()) {
            md.push_str("### Attestations (PEP 740)\n\n| File | Rekor log index | Saved as | With the upload |\n|---|---:|---|---|\n");
            for f in &self.files {
                let (index, path) = match &f.attestation {
                    Some(a) => (
                        format!(
                            "[{n}](https://search.sigstore.dev/?logIndex={n})",
                            n = a.rekor_log_index
                        ),
                        code(&a.path),
                    ),
                    None => ("-".to_string(), "-".to_string()),
                };
                let sent = match f.result {
                    FileResult::Uploaded => "sent",
                    FileResult::IdenticalSkipped => {
                        "not added: the file was already on the index (attestations go only with its first upload)"
                    }
                    FileResult::WouldUpload => "would be sent (dry run)",
                    _ => "not sent",
                };
                md.push_str(&format!(
                    "| {} | {index} | {path} | {sent} |\n",
                    code(&f.filename)
                ));
            }
            md.push('\n');
        }
        if let Some(c) = &self.checks {
            if !c.checks.is_empty() {
                md.push_str("### Checks waited for\n\n| Check | Conclusion |\n|---|---|\n");
                for k in &c.checks {
                    let cell = link(&k.name, &k.url);
                    md.push_str(&format!("| {cell} | {} |\n", code(&k.conclusion)));
                }
                md.push('\n');
            }
        }
        if !self.problems.is_empty() || self.preflight_problem.is_some() {
            md.push_str("### Problems\n\n| File | Rule | Found | Fix |\n|---|---|---|---|\n");
            for p in self.problems.iter().chain(&self.preflight_problem) {
                md.push_str(&format!(
                    "| {} | {}{} | {} | {} |\n",
                    code(&p.path.display().to_string()),
                    code(p.rule),
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
                    .map(|i| code(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        md
    }

    /// The summary's key-value rows: decision, where, how, each stage's verdict, timings.
    fn summary_rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = Vec::new();
        if let Some(p) = &self.plan {
            rows.push((
                "Decision",
                format!("{} (target `{}`)", md_escape(&p.reason), p.target),
            ));
        }
        if let Some(r) = &self.run {
            let mut cell = String::new();
            if !r.repository.is_empty() {
                cell.push_str(&code(&r.repository));
            }
            if !r.commit.is_empty() {
                cell.push_str(&format!(" @ {}", code(&r.commit[..r.commit.len().min(12)])));
            }
            if !r.git_ref.is_empty() {
                cell.push_str(&format!(" · {}", code(&r.git_ref)));
            }
            if !r.event.is_empty() {
                cell.push_str(&format!(" · {}", md_escape(&r.event)));
            }
            if let Some(u) = &r.run_url {
                cell.push_str(&format!(" · {}", link("workflow run", u)));
            }
            if !cell.is_empty() {
                rows.push(("Commit", cell.trim_start_matches(" · ").to_owned()));
            }
        }
        if let Some(u) = &self.index_url {
            let how = self
                .auth
                .as_deref()
                .map(|a| format!(" · {a}"))
                .unwrap_or_default();
            rows.push(("Index", format!("{}{}", autolink(u), md_escape(&how))));
        }
        if let Some(c) = &self.checks {
            let verdict = if c.passed { "passed" } else { "**not passed**" };
            let seen = if c.checks.is_empty() {
                "none found".to_string()
            } else {
                c.checks
                    .iter()
                    .map(|k| format!("{} {}", md_escape(&k.name), code(&k.conclusion)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut cell = format!("{verdict} after {:.0}s: {seen}", c.elapsed_secs);
            let pending = c.checks.iter().filter(|k| !k.done).count();
            if pending > 0 {
                cell.push_str(&format!(" ({pending} still pending)"));
            }
            rows.push(("Checks", cell));
        }
        if let Some(b) = &self.build_command {
            let stamped = self
                .stamped_version
                .as_ref()
                .map(|v| format!("; dev version: built as {}", code(v)))
                .unwrap_or_default();
            rows.push(("Build", format!("{}{stamped}", code(b))));
        }
        if let Some(v) = &self.validation {
            rows.push((
                "Validation",
                format!(
                    "{} file(s) against {} rules (PyPI's upload checks{}): {}, {}",
                    v.files,
                    v.rules,
                    if v.strict {
                        " + twine check --strict"
                    } else {
                        " + twine check"
                    },
                    plural(v.errors, "error"),
                    plural(v.warnings, "warning")
                ),
            ));
        }
        if let Some(p) = &self.preflight {
            rows.push(("Pre-flight", self.preflight_cell(p)));
        }
        let stopped_first = self.stopped_at.filter(|p| *p < Phase::Upload);
        if let (Some(p), true) = (stopped_first, self.validation.is_some()) {
            rows.push((
                "Upload",
                format!("nothing uploaded: {} stopped the run first", p.words()),
            ));
        } else if !self.files.is_empty() && self.validation.as_ref().is_some_and(|v| v.errors == 0)
        {
            let count = |r: &dyn Fn(&FileResult) -> bool| {
                self.files.iter().filter(|f| r(&f.result)).count()
            };
            let mut parts = vec![
                format!("{} uploaded", count(&|r| *r == FileResult::Uploaded)),
                format!(
                    "{} already there (identical, skipped)",
                    count(&|r| *r == FileResult::IdenticalSkipped)
                ),
            ];
            let conflicts = count(&|r| matches!(r, FileResult::ConflictSkipped(_)));
            if conflicts > 0 {
                parts.push(format!(
                    "**{conflicts} skipped: other contents already there under the name**"
                ));
            }
            let would = count(&|r| *r == FileResult::WouldUpload);
            if would > 0 {
                parts.push(format!("{would} would upload (dry run)"));
            }
            let failed = count(&|r| matches!(r, FileResult::Failed(_)));
            if failed > 0 {
                parts.push(format!("**{failed} failed**"));
            }
            let not = count(&|r| *r == FileResult::NotAttempted);
            if not > 0 {
                parts.push(format!("{not} not attempted"));
            }
            let mut cell = parts.join(", ");
            if let Some(p) = &self.parallelism {
                cell.push_str(&format!("; {}", md_escape(p)));
            }
            rows.push(("Upload", cell));
        }
        match (self.verified, &self.verify_error) {
            (Some(true), _) => rows.push(("Verified", md_escape(&self.verify_steps.join("; ")))),
            (Some(false), Some(e)) => {
                let mut cell = md_escape(&self.verify_steps.join("; "));
                if !cell.is_empty() {
                    cell.push_str("; ");
                }
                cell.push_str(&format!("**failed:** {}", md_escape(e)));
                rows.push(("Verification failed", cell));
            }
            _ if self.dry_run && self.index_url.is_some() => {
                rows.push(("Verified", "not run (dry run: nothing was uploaded)".into()))
            }
            _ => {}
        }
        if let Some(u) = &self.project_url {
            rows.push(("Project", autolink(u)));
        }
        match (&self.release_url, &self.release_detail) {
            (Some(u), Some(d)) => rows.push((
                "GitHub Release",
                format!("{} {}", autolink(u), md_escape(d)),
            )),
            (Some(u), None) => rows.push(("GitHub Release", autolink(u))),
            (None, Some(d)) => rows.push(("GitHub Release", md_escape(d))),
            (None, None) => {}
        }
        if let Some(e) = &self.error {
            rows.push(("Error", md_escape(e)));
        }
        if !self.stages.is_empty() {
            let mut cell = self
                .stages
                .iter()
                .map(|(n, s)| format!("{n} {}", seconds(*s)))
                .collect::<Vec<_>>()
                .join(" · ");
            cell.push_str(&format!(" · **total {}**", seconds(self.total_secs)));
            rows.push(("Time", cell));
        }
        if let Some(r) = &self.run {
            rows.push(("Tool", r.tool.clone()));
        }
        rows
    }

    /// What the pre-flight established, and where it failed.
    fn preflight_cell(&self, p: &crate::verify::preflight::PreflightReport) -> String {
        let mut parts = Vec::new();
        if let Some(f) = &p.installed {
            let how = match &p.sdist_because {
                Some(_) => "built and installed (no wheel fits this Python)",
                None => "installed",
            };
            parts.push(format!(
                "{} {how} from the local files into a fresh environment ({})",
                code(f),
                p.installer
            ));
        }
        for c in &p.passed {
            parts.push(format!("{} passed", code(c)));
        }
        if !p.imported.is_empty() {
            parts.push(format!(
                "the tests imported {} from the environment",
                p.imported
                    .iter()
                    .map(|(m, _)| code(m))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(problem) = &self.preflight_problem {
            parts.push(format!("**failed:** {}", md_escape(&problem.message)));
        } else if self.stopped_at != Some(Phase::Preflight) {
            parts.push("nothing uploaded before this passed".into());
        }
        parts.join("; ")
    }

    /// A file's check verdict: passed, or its error/warning count.
    fn file_verdict(&self, filename: &str) -> String {
        if self.validation.is_none() {
            return "-".into();
        }
        let mine: Vec<_> = self
            .problems
            .iter()
            .filter(|p| p.path.file_name().is_some_and(|n| n == filename))
            .collect();
        let errors = mine.iter().filter(|p| p.is_error()).count();
        match (errors, mine.len() - errors) {
            (0, 0) => "passed".into(),
            (0, w) => format!("passed, {}", plural(w, "warning")),
            (e, w) => format!(
                "**{}**{}",
                plural(e, "error"),
                if w > 0 {
                    format!(", {}", plural(w, "warning"))
                } else {
                    String::new()
                }
            ),
        }
    }

    /// The closing lines on a terminal or in the log.
    pub fn terminal_text(&self) -> String {
        let mut out = format!("sdd-publish: {}\n", self.headline());
        if let Some(p) = &self.plan {
            out.push_str(&format!("  decision: {}\n", p.reason));
        }
        for f in &self.files {
            let result = match &f.result {
                FileResult::Failed(m) => format!("FAILED: {m}"),
                other => other.word().to_string(),
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

/// Stage times: hundredths under ten seconds (most stages take less than one).
fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2}s")
    } else {
        format!("{s:.1}s")
    }
}

fn plural(n: usize, word: &str) -> String {
    match n {
        0 => format!("no {word}s"),
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    }
}

/// Untrusted text (check names, an index's messages, file names) as literal Markdown in a
/// table cell: line breaks folded, hidden characters shown, and every character that could
/// start markup escaped — raw HTML (`<img>`, `<a href>`), links and images (`[x](y)`),
/// emphasis, entities and the cell's own `|` — so it reads exactly as written and links
/// nowhere. A code span (`` `x` ``, as our messages quote names) is kept: its content is
/// literal already, so only its `|` is escaped there.
fn md_escape(s: &str) -> String {
    let s = cell_text(s);
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|&&c| c == '`').count();
            if let Some(end) = closing_run(&chars, i + run, run) {
                for &c in &chars[i..end + run] {
                    if c == '|' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                i = end + run;
                continue;
            }
            for _ in 0..run {
                out.push_str("\\`");
            }
            i += run;
            continue;
        }
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '|' | '~' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Where a run of exactly `run` backticks starts at or after `from` (a code span's end).
fn closing_run(chars: &[char], from: usize, run: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '`' {
            let n = chars[i..].iter().take_while(|&&c| c == '`').count();
            if n == run {
                return Some(i);
            }
            i += n;
        } else {
            i += 1;
        }
    }
    None
}

/// One line, nothing hidden.
fn cell_text(s: &str) -> String {
    crate::gha::commands::visible(&s.replace(crate::gha::commands::is_line_break, " "))
}

/// `s` as inline code in a table cell. The fence is longer than any backtick run inside, so
/// a backtick in a file name or command cannot end the span and spill Markdown into the cell.
fn code(s: &str) -> String {
    let s = cell_text(s).replace('|', "\\|");
    let run = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(run + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// An http(s) URL as it parses (so it holds no space, `<` or `>`), with `|` encoded for the
/// table; `None` for anything else, which is then shown as text, never as a link.
fn safe_url(u: &str) -> Option<String> {
    let url = url::Url::parse(u.trim()).ok()?;
    matches!(url.scheme(), "https" | "http").then(|| url.as_str().replace('|', "%7C"))
}

/// A URL as an autolink (it shows itself, so it cannot pose as another), or as code.
fn autolink(u: &str) -> String {
    safe_url(u).map_or_else(|| code(u), |u| format!("<{u}>"))
}

/// `[text](url)` with the text escaped, or just the text when the URL is not http(s).
fn link(text: &str, u: &str) -> String {
    match safe_url(u) {
        Some(u) => format!("[{}](<{u}>)", md_escape(text)),
        None => md_escape(text),
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
                    attestation: Some(FileAttestation {
                        path: "dist/improved_sdd-1.0.0-py3-none-any.whl.publish.attestation".into(),
                        rekor_log_index: 70_000_123,
                    }),
                },
                FileEntry {
                    filename: "improved_sdd-1.0.0.tar.gz".into(),
                    size: 100,
                    sha256: None,
                    result: FileResult::Failed("400 bad | thing".into()),
                    url: None,
                    note: None,
                    attestation: None,
                },
                FileEntry {
                    filename: "improved_sdd-1.0.0-cp312-none-any.whl".into(),
                    size: 100,
                    sha256: Some("cd".repeat(32)),
                    result: FileResult::IdenticalSkipped,
                    url: None,
                    note: None,
                    attestation: Some(FileAttestation {
                        path: "dist/improved_sdd-1.0.0-cp312-none-any.whl.publish.attestation"
                            .into(),
                        rekor_log_index: 70_000_124,
                    }),
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
                "dry-run",
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
        assert_eq!(outs[1].1, "false");
        assert_eq!(outs[6].1, "improved_sdd-1.0.0-py3-none-any.whl");
        assert_eq!(outs[7].1, "improved_sdd-1.0.0-cp312-none-any.whl");
        assert_eq!(outs[8].1, "[]");
        let empty = Report::default().outputs();
        assert_eq!(empty[0].1, "false");
        assert_eq!(empty[2].1, "none");
    }

    /// `should-publish` means "this run publishes": not on a rehearsal, not after a stage
    /// before the upload stopped it; a run that reached the upload counts. `reason` says
    /// which stage stopped it, and `dry-run` tells a rehearsal from nothing to do.
    #[test]
    fn should_publish_dry_run_and_reason_by_where_the_run_ended() {
        let plan_reason = "tag v1.0.0 matches v* → PyPI";
        for (stopped_at, dry_run, publishes, rehearsed, reason) in [
            (None, false, true, false, plan_reason.to_string()),
            (
                None,
                true,
                false,
                true,
                format!("dry run, nothing was published: {plan_reason}"),
            ),
            (
                Some(Phase::Preflight),
                false,
                false,
                false,
                format!("the pre-flight failed, so nothing was published (the plan: {plan_reason})"),
            ),
            (
                Some(Phase::Build),
                true,
                false,
                true,
                format!("the build failed, so nothing was published (the plan: {plan_reason})"),
            ),
            (
                Some(Phase::Setup),
                false,
                false,
                false,
                format!("the setup (credentials, release notes) failed, so nothing was published (the plan: {plan_reason})"),
            ),
            (Some(Phase::Upload), false, true, false, plan_reason.to_string()),
            (Some(Phase::Verify), false, true, false, plan_reason.to_string()),
        ] {
            let mut r = report();
            r.stopped_at = stopped_at;
            r.dry_run = dry_run;
            let get = |name: &str| {
                r.outputs()
                    .into_iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v)
                    .unwrap()
            };
            let case = format!("{stopped_at:?} dry_run={dry_run}");
            assert_eq!(get("should-publish"), publishes.to_string(), "{case}");
            assert_eq!(get("dry-run"), rehearsed.to_string(), "{case}");
            assert_eq!(get("reason"), reason, "{case}");
        }
        // Nothing to publish stays the plan's own words, rehearsal or not.
        let mut none = report();
        none.plan = Some(Plan {
            target: Target::None,
            reason: "pull_request events never publish in auto mode".into(),
            tag: None,
        });
        none.dry_run = true;
        none.stopped_at = Some(Phase::Plan);
        assert_eq!(
            none.reason(),
            "pull_request events never publish in auto mode"
        );
        assert!(!none.should_publish() && !none.rehearsed());
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
        assert!(json.contains("\"rekor_log_index\": 70000123"), "{json}");
    }

    #[test]
    fn summary_lists_each_attestation_and_whether_it_went_out() {
        let md = report().summary_markdown();
        assert!(md.contains("### Attestations (PEP 740)"), "{md}");
        assert!(md.contains("| `improved_sdd-1.0.0-py3-none-any.whl` | [70000123](https://search.sigstore.dev/?logIndex=70000123) | `dist/improved_sdd-1.0.0-py3-none-any.whl.publish.attestation` | sent |"), "{md}");
        assert!(md.contains("| `improved_sdd-1.0.0-cp312-none-any.whl` | [70000124](https://search.sigstore.dev/?logIndex=70000124) | `dist/improved_sdd-1.0.0-cp312-none-any.whl.publish.attestation` | not added: the file was already on the index"), "{md}");
        // No attestations, no section.
        let mut r = report();
        r.files.iter_mut().for_each(|f| f.attestation = None);
        assert!(!r.summary_markdown().contains("Attestations"));
    }

    #[test]
    fn the_upload_row_says_how_many_went_at_once_and_why() {
        let mut r = report();
        r.validation = Some(Validation {
            files: 2,
            ..Validation::default()
        });
        r.parallelism =
            Some("4 at a time (tried 8), max-parallel 8: 8 streams carried | more".into());
        let md = r.summary_markdown();
        assert!(
            md.contains(
                "**1 failed**; 4 at a time (tried 8), max-parallel 8: 8 streams carried \\| more |"
            ),
            "{md}"
        );
        assert!(r.to_json().contains("\"parallelism\": \"4 at a time"));
    }

    #[test]
    fn a_failed_gate_says_do_not_publish() {
        let mut r = report();
        r.checks = Some(ChecksReport {
            passed: false,
            elapsed_secs: 3.0,
            checks: vec![crate::gate::CheckResult {
                name: "Test | Suite".into(),
                conclusion: "failure".into(),
                url: "https://github.com/o/r/runs/5".into(),
                done: true,
            }],
        });
        let outs = r.outputs();
        assert_eq!(outs[0].1, "false");
        assert_eq!(
            outs[8].1,
            r#"[{"name":"Test | Suite","conclusion":"failure","url":"https://github.com/o/r/runs/5"}]"#
        );
        let md = r.summary_markdown();
        assert!(
            md.contains("| [Test \\| Suite](<https://github.com/o/r/runs/5>) | `failure` |"),
            "{md}"
        );
        r.checks
            .as_mut()
            .unwrap()
            .checks
            .push(crate::gate::CheckResult {
                name: "Lint".into(),
                conclusion: "in_progress".into(),
                url: String::new(),
                done: false,
            });
        let md = r.summary_markdown();
        assert!(
            md.contains(
                "| **Checks:** | **not passed** after 3s: Test \\| Suite `failure`, Lint `in_progress` (1 still pending) |"
            ),
            "{md}"
        );
    }

    /// Every link, image and raw HTML a Markdown renderer finds in `md`.
    fn rendered_markup(md: &str) -> Vec<String> {
        use pulldown_cmark::{Event, Options, Parser, Tag};
        Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
            .filter_map(|e| match e {
                Event::Start(Tag::Link { dest_url, .. }) => Some(format!("link {dest_url}")),
                Event::Start(Tag::Image { dest_url, .. }) => Some(format!("image {dest_url}")),
                Event::Html(h) | Event::InlineHtml(h) => Some(format!("html {h}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn untrusted_text_adds_no_html_or_link_to_the_summary() {
        let hostile = [
            "<img src=https://evil.example/p.png>",
            "<a href=\"https://evil.example\">release notes</a>",
            "[click here](https://evil.example/login)",
            "![pixel](https://evil.example/t.gif)",
            "<https://evil.example/auto>",
            "&lt;script&gt; [x][1]\n\n[1]: https://evil.example",
            "**bold** _em_ ~~gone~~ \\| `code` \u{202e}gnp.exe",
        ]
        .join(" ");
        let mut r = report();
        r.files[0].result = FileResult::Failed(hostile.clone());
        r.files[1].url = Some("javascript:alert(1)".into());
        r.error = Some(hostile.clone());
        r.plan.as_mut().unwrap().reason = hostile.clone();
        r.validation = Some(Validation::default());
        r.problems = vec![Problem::error(
            "dist/x.whl",
            "filename-invalid",
            &hostile,
            &hostile,
        )];
        r.checks = Some(ChecksReport {
            passed: false,
            elapsed_secs: 1.0,
            checks: vec![
                crate::gate::CheckResult {
                    name: hostile.clone(),
                    conclusion: "failure".into(),
                    url: "javascript:alert(1)".into(),
                    done: true,
                },
                crate::gate::CheckResult {
                    name: hostile.clone(),
                    conclusion: "failure".into(),
                    url: "https://github.com/o/r/runs/1".into(),
                    done: true,
                },
            ],
        });
        let md = r.summary_markdown();
        let markup = rendered_markup(&md);
        assert!(
            markup.iter().all(|m| !m.contains("evil")
                && !m.contains("javascript")
                && !m.starts_with("html")
                && !m.starts_with("image")),
            "{markup:#?}\n{md}"
        );
        // Our own links are still links.
        assert!(
            markup.contains(&"link https://github.com/o/r/runs/1".to_string()),
            "{markup:?}"
        );
        assert!(!md.contains('\u{202e}'), "{md}");
    }

    #[test]
    fn user_strings_cannot_break_the_summary_tables() {
        let hostile = "a|b`c\nd";
        let mut r = report();
        r.files[0].filename = hostile.into();
        r.files[0].note = Some(hostile.into());
        r.files[2].result = FileResult::IdenticalSkipped;
        r.files[2].note = Some(hostile.into());
        r.run = Some(RunFacts {
            repository: "o/r".into(),
            git_ref: format!("refs/heads/{hostile}"),
            event: hostile.into(),
            ..RunFacts::default()
        });
        r.build_command = Some(format!("python -m build | tee {hostile}"));
        r.verified = Some(false);
        r.verify_steps = vec![format!("`{hostile}` runs (exit 0)")];
        r.verify_error = Some(hostile.into());
        r.validation = Some(Validation::default());
        r.problems = vec![Problem::error(
            format!("dist/{hostile}.whl"),
            "filename-invalid",
            hostile,
            hostile,
        )];
        r.ignored = vec![hostile.into()];
        r.checks = Some(ChecksReport {
            passed: false,
            elapsed_secs: 1.0,
            checks: vec![crate::gate::CheckResult {
                name: hostile.into(),
                conclusion: hostile.into(),
                url: format!("https://x/{hostile})"),
                done: true,
            }],
        });
        let md = r.summary_markdown();
        // Every row of a table has as many unescaped pipes as the table's header.
        let pipes = |l: &str| {
            l.match_indices('|')
                .filter(|(i, _)| !l[..*i].ends_with('\\'))
                .count()
        };
        let mut header = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                header = None;
                continue;
            }
            let want = *header.get_or_insert(pipes(line));
            assert_eq!(pipes(line), want, "{line}\n\n{md}");
        }
        // A backtick inside a code span gets a longer fence, so the span stays whole.
        assert!(md.contains("| ``a\\|b`c d`` |"), "{md}");
        assert!(
            md.contains("Ignored (not distributions): ``a\\|b`c d``"),
            "{md}"
        );
        assert!(!md.contains('\r') && !md.contains("c\nd"), "{md}");
    }
}
