//! The command line. `run` is the action's entry point and reads its settings from the
//! `INPUT_*` variables, as a GitHub Action must; the other commands take flags so the same
//! stages run on a laptop.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::gha::{self, Context, Env, ProcessEnv, Runtime};
use crate::pipeline::{self, RunContext};
use crate::plan::{Mode, Pattern, PlanInput};

/// Exit codes: 0 done (including "nothing to publish"), 1 a stage failed, 2 bad input.
pub(crate) const EXIT_FAILED: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "sdd-publish",
    version,
    about = "From green CI to a verified release on PyPI"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the whole pipeline, configured by INPUT_* and GITHUB_* (the GitHub Action entry point).
    Run {
        /// Also print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print where a ref/event would publish, and why.
    Plan(PlanArgs),
    /// Wait for checks and commit statuses on a commit (GITHUB_TOKEN, GITHUB_API_URL from the environment).
    Wait {
        /// The repository, `owner/name` [default: $GITHUB_REPOSITORY].
        #[arg(long)]
        repo: Option<String>,
        /// The commit [default: $GITHUB_SHA].
        #[arg(long)]
        sha: Option<String>,
        /// A check name or `*` glob (repeatable); none = every check on the commit.
        #[arg(long = "check")]
        checks: Vec<String>,
        #[arg(long, default_value = "30m", value_parser = crate::units::parse_duration)]
        timeout: std::time::Duration,
        #[arg(long, default_value = "10s", value_parser = crate::units::parse_duration)]
        interval: std::time::Duration,
        #[arg(long, default_value = "5m", value_parser = crate::units::parse_duration)]
        appear_timeout: std::time::Duration,
        /// Conclusions that pass (comma-separated).
        #[arg(long, default_value = "success,neutral,skipped")]
        allowed: String,
        /// Print the checks as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Report every problem PyPI (or twine --strict) would find in the distributions in
    /// PATHS; exits 1 when any is an error.
    Check {
        /// Folders to search recursively (each one release), or distribution files (each
        /// its own release) [default: dist].
        paths: Vec<PathBuf>,
        /// Print the verdict as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// twine --strict: a missing long description or content type is an error.
        #[arg(long)]
        strict: bool,
        /// The release tag whose version the distributions must carry (e.g. v1.2.0).
        #[arg(long)]
        tag: Option<String>,
        #[arg(long, default_value = "v*")]
        tag_pattern: String,
    },
    /// Make a PEP 740 publish attestation for each distribution (Sigstore keyless signing
    /// with the job's GitHub ID token: needs `permissions: id-token: write`), verify it, and
    /// save it beside the file as `<file>.publish.attestation`. SDD_PUBLISH_FULCIO_URL,
    /// SDD_PUBLISH_REKOR_URL and SDD_PUBLISH_TRUSTED_ROOT select a non-public Sigstore.
    Attest {
        /// Distribution files (.whl, .tar.gz).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the attestations' summary as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show, bump, set or check the project's PEP 440 version (format-preserving edits).
    Version {
        #[command(subcommand)]
        command: crate::version::command::VersionCommand,
    },
}

#[derive(clap::Args, Debug)]
pub(crate) struct PlanArgs {
    /// The ref, e.g. refs/tags/v1.2.0 or refs/heads/main [default: $GITHUB_REF].
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// The triggering event [default: $GITHUB_EVENT_NAME, else push].
    #[arg(long)]
    event: Option<String>,
    #[arg(long, default_value = "auto", value_parser = parse_mode)]
    mode: Mode,
    #[arg(long, default_value = "v*")]
    tag_pattern: String,
    /// A publish branch (repeatable); default: the repository's default branch.
    #[arg(long = "branch")]
    branches: Vec<String>,
    /// The repository's default branch [default: from $GITHUB_EVENT_PATH, else main].
    #[arg(long)]
    default_branch: Option<String>,
    /// A rehearsal: nothing is published, and `workflow_dispatch` on any branch plans what
    /// a publish branch would get.
    #[arg(long)]
    dry_run: bool,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::NAMES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, m)| *m)
        .ok_or_else(|| format!("`{s}` is not a mode; expected one of auto, testpypi, pypi"))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = ProcessEnv;
    match cli.command {
        Command::Run { json } => run(&env, json),
        Command::Plan(args) => plan_cmd(&env, args),
        Command::Version { command } => version_cmd(&command),
        Command::Attest { files, json } => attest_cmd(&env, &files, json),
        Command::Wait {
            repo,
            sha,
            checks,
            timeout,
            interval,
            appear_timeout,
            allowed,
            json,
        } => wait_cmd(
            &env,
            crate::gate::WaitConfig {
                repo: repo
                    .or_else(|| env.get("GITHUB_REPOSITORY"))
                    .unwrap_or_default(),
                sha: sha.or_else(|| env.get("GITHUB_SHA")).unwrap_or_default(),
                checks,
                timeout,
                interval,
                appear_timeout,
                allowed: gha::raw_inputs::parse_list(&allowed.to_ascii_lowercase()),
                own_run: None,
            },
            json,
        ),
        Command::Check {
            paths,
            json,
            strict,
            tag,
            tag_pattern,
        } => check_cmd(
            crate::validate::CheckOptions {
                paths,
                strict,
                tag,
                tag_pattern,
            },
            json,
        ),
    }
}

fn runtime_async() -> Result<tokio::runtime::Runtime, std::io::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // File reads for the upload bodies hop to blocking threads, and tokio starts one per
        // read in flight (up to 512): 36 threads were measured at eight parallel uploads on a
        // busy machine. Eight streams and the hasher need no more than this.
        .max_blocking_threads(8)
        .enable_all()
        .build()
}

/// The action: context and inputs first (a bad input stops everything before any stage),
/// secrets masked before anything prints, then the pipeline; outputs and the summary are
/// written whatever happened.
pub(crate) fn run(env: &dyn Env, json: bool) -> ExitCode {
    let rt = Runtime::from_env(env);
    // Outputs and the summary must be writable before anything happens: a run that
    // published and then could not say so would leave the workflow blind.
    if let Err(e) = rt.preflight() {
        mask_raw_secrets(env, &rt);
        rt.error(&e.to_string());
        return ExitCode::from(EXIT_USAGE);
    }
    let settings = match Settings::from_env(env) {
        Ok(i) => i,
        Err(e) => {
            // Mask whatever token inputs exist even though parsing failed.
            mask_raw_secrets(env, &rt);
            rt.error(&e.to_string());
            write_outputs(&rt, &crate::report::Report::default());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    for s in settings.secrets() {
        rt.mask(s);
    }
    let ctx = match Context::from_env(env) {
        Ok(c) => c,
        Err(e) => {
            rt.error(&e.to_string());
            write_outputs(&rt, &crate::report::Report::default());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // The runner masks it already; our own redaction must know it too.
    if let Some(request) = &ctx.id_token {
        rt.mask(request.request_token());
    }
    let cwd = ctx
        .workspace
        .clone()
        .filter(|w| w.is_dir())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let tokio_rt = match runtime_async() {
        Ok(r) => r,
        Err(e) => {
            rt.error(&format!("could not start the async runtime: {e}"));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let (report, result) = tokio_rt.block_on(pipeline::run(&RunContext {
        ctx: &ctx,
        settings: &settings,
        rt: &rt,
        cwd: &cwd,
    }));
    let outputs_written = write_outputs(&rt, &report);
    if let Err(e) = rt.summary(&report.summary_markdown()) {
        rt.warning(&format!("could not write the step summary: {e}"));
    }
    rt.info(report.terminal_text().trim_end());
    if json {
        rt.print_json(&report.to_json());
    }
    match result {
        Ok(()) if outputs_written => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(EXIT_FAILED),
        Err(e) => {
            rt.error(&e.to_string());
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn mask_raw_secrets(env: &dyn Env, rt: &Runtime) {
    for s in gha::raw_inputs::raw_secrets(env) {
        rt.mask(&s);
    }
}

/// Write every output; on the first failure say so once (the rest would fail the same way)
/// and return false.
fn write_outputs(rt: &Runtime, report: &crate::report::Report) -> bool {
    for (name, value) in report.outputs() {
        if let Err(e) = rt.set_output(name, &value) {
            rt.error(&format!(
                "could not write output `{name}` to GITHUB_OUTPUT: {e}"
            ));
            return false;
        }
    }
    true
}

fn plan_cmd(env: &dyn Env, args: PlanArgs) -> ExitCode {
    let PlanArgs {
        git_ref,
        event,
        mode,
        tag_pattern,
        branches,
        default_branch,
        dry_run,
    } = args;
    let rt = Runtime::from_env(env);
    // A variable the runner would never set is an error here too: a plan from a guessed
    // context would say the wrong thing.
    let ctx = match Context::from_env(env) {
        Ok(c) => c,
        Err(e) => {
            rt.error(&e.to_string());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let pattern = |flag: &str, p: &str| {
        Pattern::new(p).map_err(|e| format!("--{flag} `{p}` is not a valid glob: {e}"))
    };
    let (tag_pattern, branches) = match (
        pattern("tag-pattern", &tag_pattern),
        branches
            .iter()
            .map(|b| pattern("branch", b))
            .collect::<Result<Vec<_>, _>>(),
    ) {
        (Ok(t), Ok(b)) => (t, b),
        (Err(e), _) | (_, Err(e)) => {
            rt.error(&e);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let git_ref = git_ref.unwrap_or(ctx.git_ref);
    let event = event
        .or(Some(ctx.event_name).filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "push".into());
    let default_branch = default_branch
        .or(ctx.default_branch)
        .unwrap_or_else(|| "main".into());
    let p = crate::plan::plan(&PlanInput {
        event: &event,
        git_ref: &git_ref,
        default_branch: Some(&default_branch),
        fork: ctx.fork,
        mode,
        tag_pattern: &tag_pattern,
        branches: &branches,
        rehearsal: dry_run,
    });
    rt.print(&format!(
        "target: {}\nshould-publish: {}\ndry-run: {}\nreason: {}",
        p.target,
        p.should_publish() && !dry_run,
        dry_run && p.should_publish(),
        p.reason
    ));
    ExitCode::SUCCESS
}

fn wait_cmd(env: &dyn Env, cfg: crate::gate::WaitConfig, json: bool) -> ExitCode {
    let rt = Runtime::from_env(env);
    if cfg.repo.is_empty() || cfg.sha.is_empty() {
        rt.error("give the repository and commit: --repo owner/name --sha COMMIT (or set GITHUB_REPOSITORY and GITHUB_SHA)");
        return ExitCode::from(EXIT_USAGE);
    }
    let token = env
        .get("GITHUB_TOKEN")
        .filter(|t| !t.trim().is_empty())
        .map(|t| crate::secret::Secret::new(t.trim()));
    if let Some(t) = &token {
        rt.mask(t);
    }
    let api = env
        .get("GITHUB_API_URL")
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| crate::github::DEFAULT_API_URL.into());
    let gh = match crate::github::GitHub::new(&api, token) {
        Ok(g) => g,
        Err(e) => {
            rt.error(&format!(
                "{e}. Set GITHUB_API_URL to e.g. https://api.github.com or https://HOST/api/v3"
            ));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let tokio_rt = match runtime_async() {
        Ok(r) => r,
        Err(e) => {
            rt.error(&format!("could not start the async runtime: {e}"));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let logger = rt.clone();
    let gh = gh.with_logger(move |line| logger.eprint(line));
    let verdict = tokio_rt.block_on(crate::gate::wait(&gh, &cfg, &|line| rt.eprint(line)));
    if json {
        rt.print_json(
            &serde_json::to_string_pretty(&verdict.checks).unwrap_or_else(|_| "[]".into()),
        );
    } else {
        for c in &verdict.checks {
            rt.print(&format!("{:<40} {:<16} {}", c.name, c.conclusion, c.url));
        }
    }
    let s = gh.stats();
    rt.eprint(&format!(
        "{} requests ({} full, {} not modified) in {}",
        s.requests,
        s.full,
        s.not_modified,
        crate::units::fmt_duration(verdict.elapsed)
    ));
    match verdict.result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match wait_fix(&e) {
                Some(fix) => rt.error(&format!("{e}. {fix}")),
                None => rt.error(&e.to_string()),
            }
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// How to fix a failed `wait`, in the command's words (flags and variables, not inputs).
fn wait_fix(e: &crate::gate::WaitError) -> Option<&'static str> {
    use crate::gate::WaitError as W;
    use crate::github::GitHubError as G;
    match e {
        W::TimedOut { .. } => Some("Raise --timeout if the checks are just slow"),
        W::NeverAppeared { .. } => Some(
            "Check the --check names against the check names on the commit (--appear-timeout is how long a named check may take to appear)",
        ),
        W::BadPattern(..) => Some("Fix the --check pattern"),
        W::Api(G::Status { status: 401, .. }) => Some("GITHUB_TOKEN was refused: set a valid token"),
        W::Api(G::Status {
            status: 403 | 404, ..
        }) => Some("GITHUB_TOKEN may lack a permission: it needs read access to checks, commit statuses and actions"),
        W::Api(G::RateLimited { .. }) => {
            Some("Run it again after the limit resets, or set GITHUB_TOKEN to a token with a limit of its own")
        }
        _ => None,
    }
}

/// `check`: text grouped by file (or JSON), annotations inside Actions, exit 1 on errors.
fn check_cmd(mut opts: crate::validate::CheckOptions, json: bool) -> ExitCode {
    let rt = Runtime::from_env(&ProcessEnv);
    if opts.paths.is_empty() {
        opts.paths.push(PathBuf::from("dist"));
    }
    let outcome = crate::validate::run(&opts);
    if rt.is_actions() {
        for f in &outcome.files {
            for p in &f.problems {
                crate::stages::validate::annotate(&rt, p);
            }
        }
        for e in &outcome.fatal {
            rt.error(e);
        }
    }
    if json {
        rt.print_json(&crate::validate::json(&outcome));
    } else {
        rt.print(crate::validate::text(&outcome).trim_end_matches('\n'));
    }
    if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// `attest FILE…`: one attestation per file, each verified before it is saved; stops at the
/// first failure (exit 1), a bad setting exits 2.
fn attest_cmd(env: &dyn Env, files: &[PathBuf], json: bool) -> ExitCode {
    let rt = Runtime::from_env(env);
    let config = match crate::attest::Config::from_lookup(&|k| env.get(k)) {
        Ok(c) => c,
        Err(e) => {
            rt.error(&e.to_string());
            return ExitCode::from(2);
        }
    };
    let request = gha::oidc::IdTokenRequest::from_env(env);
    if let Some(r) = &request {
        rt.mask(r.request_token());
    }
    // Each ID token is masked as soon as it is minted, as in `run`.
    let tokens: Box<dyn crate::attest::TokenSource + '_> = match &request {
        Some(id_token) => Box::new(crate::stages::attest::MaskedTokens { id_token, rt: &rt }),
        None => Box::new(crate::attest::NoTokens),
    };
    let result = runtime_async()
        .map_err(|e| e.to_string())
        .and_then(|rt_async| {
            rt_async.block_on(async {
                let mut attester = crate::attest::Attester::new(config, tokens.as_ref())
                    .map_err(|e| e.to_string())?;
                let mut done = Vec::new();
                for f in files {
                    let a = attester.attest_file(f).await.map_err(|e| e.to_string())?;
                    if !json {
                        rt.print(&format!(
                            "attested {} (Rekor log index {}) -> {}",
                            a.filename,
                            a.log_index,
                            a.saved.display()
                        ));
                    }
                    done.push(a);
                }
                Ok((done, attester.certificates()))
            })
        });
    match result {
        Ok((done, certificates)) => {
            if json {
                let files: Vec<_> = done
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "file": a.filename,
                            "sha256": a.sha256,
                            "attestation": a.saved,
                            "rekor_log_index": a.log_index,
                            "identity": a.identity,
                        })
                    })
                    .collect();
                rt.print_json(
                    &serde_json::json!({"files": files, "certificates": certificates}).to_string(),
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            rt.error(&e);
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// `version …`: the work lives in `version::command`; here only the error's annotation and
/// exit code (2 bad input, 1 mismatch or failed write).
fn version_cmd(command: &crate::version::command::VersionCommand) -> ExitCode {
    let rt = Runtime::from_env(&ProcessEnv);
    let (mut out, mut info) = (rt.writer(false), rt.writer(true));
    match crate::version::command::run(command, &mut out, &mut info) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            drop((out, info));
            rt.error(&e.to_string());
            ExitCode::from(if e.is_bad_input() {
                EXIT_USAGE
            } else {
                EXIT_FAILED
            })
        }
    }
}
