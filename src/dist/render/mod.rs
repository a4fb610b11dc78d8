//! PyPI's verdict on reStructuredText descriptions, from the reference renderer itself.
//!
//! PyPI refuses an upload whose rst description `readme_renderer` cannot render, and
//! `readme_renderer` fails on any docutils warning; no Rust renderer reproduces that, so
//! `check` asks Python. This module owns everything about that Python:
//! * which one ([`Settings::python`], `SDD_PUBLISH_PYTHON`, else `python3`/`python` on PATH);
//! * giving it the renderer when it lacks one ([`provision`]: pinned wheels, hashes
//!   required, a virtual environment cached across runs);
//! * rendering cheaply ([`pool`]): each distinct text once, in long-lived processes (one
//!   per core, capped), each answer awaited with a deadline.
//!
//! Failures to get a renderer are one [`RenderError`] for the whole run, never a silent pass.

pub mod pool;
pub mod provision;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use pool::{StartError, Verdict, Worker};

/// The Python to render with (default: `python3`, then `python`, on PATH).
pub const PYTHON_ENV: &str = "SDD_PUBLISH_PYTHON";
/// `skip` turns rendering off (every rst description is then `description-unchecked`).
pub const MODE_ENV: &str = "SDD_PUBLISH_RENDERER";
/// The index to install the pinned renderer from, before `PIP_INDEX_URL`/`UV_INDEX_URL`.
pub const INDEX_ENV: &str = "SDD_PUBLISH_RENDERER_INDEX_URL";
/// Seconds one render may take before its process is killed (default 120).
pub const TIMEOUT_ENV: &str = "SDD_PUBLISH_RENDER_TIMEOUT";

/// More processes than this cost more in start-up than they save (and memory).
const MAX_WORKERS: usize = 8;
/// Python start plus the docutils/Pygments import; generous for a loaded Windows runner.
const STARTUP: Duration = Duration::from_secs(120);

/// Where the renderer comes from and how long it may take.
#[derive(Debug, Clone)]
pub struct Settings {
    pub python: Option<PathBuf>,
    pub skip: bool,
    pub index_url: Option<String>,
    /// `RUNNER_TOOL_CACHE`, else the user's cache directory.
    pub cache_root: Option<PathBuf>,
    pub timeout: Duration,
    pub workers: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            python: None,
            skip: false,
            index_url: None,
            cache_root: None,
            timeout: Duration::from_secs(120),
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(MAX_WORKERS),
        }
    }
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Settings, RenderError> {
        let skip = match env(MODE_ENV).as_deref().map(str::trim) {
            None | Some("auto") => false,
            Some("skip") => true,
            Some(other) => {
                return Err(RenderError::BadSetting {
                    var: MODE_ENV,
                    value: other.to_string(),
                    expected: "`auto` (the default) or `skip`",
                })
            }
        };
        let timeout = match env(TIMEOUT_ENV) {
            None => Settings::default().timeout,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Duration::from_secs(n),
                _ => {
                    return Err(RenderError::BadSetting {
                        var: TIMEOUT_ENV,
                        value: v,
                        expected: "a whole number of seconds above 0",
                    })
                }
            },
        };
        Ok(Settings {
            python: env(PYTHON_ENV).map(PathBuf::from),
            skip,
            index_url: env(INDEX_ENV),
            cache_root: env("RUNNER_TOOL_CACHE")
                .map(PathBuf::from)
                .or_else(dirs::cache_dir),
            timeout,
            ..Settings::default()
        })
    }

    pub fn cache_root(&self) -> Option<PathBuf> {
        self.cache_root.clone()
    }
}

/// The reference renderer's verdict on one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    Ok,
    /// Why it does not render (docutils' messages, a timeout, a crash).
    Failed(String),
}

/// No renderer could be had: the run cannot give PyPI's verdict.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no Python to render the reStructuredText description(s) the way PyPI does: {tried}. Install Python 3.10+ or set {PYTHON_ENV} to one (in GitHub Actions, run `actions/setup-python` before this step); `check` then installs the pinned renderer itself")]
    NoPython { tried: String },
    #[error("`{python}` is Python {version}; the reference renderer ({pins}) needs Python 3.10+. Set {PYTHON_ENV} to a Python 3.10+ (or install readme_renderer into this one)", pins = provision::pinned().join(", "))]
    PythonTooOld { python: String, version: String },
    #[error("could not create a virtual environment for the reStructuredText renderer from `{python}` with {tool}: {detail}. Install the venv module (Debian/Ubuntu: `apt-get install python3-venv`) or uv, or set {PYTHON_ENV} to a Python that has readme_renderer")]
    Venv {
        python: String,
        tool: String,
        detail: String,
    },
    #[error("could not install the reference reStructuredText renderer ({pins}) with {tool} from {index}: {detail}. Make that index reachable, point {INDEX_ENV} (or PIP_INDEX_URL / UV_INDEX_URL) at a mirror that serves these files, or set {PYTHON_ENV} to a Python that has readme_renderer")]
    Install {
        tool: String,
        index: String,
        pins: String,
        detail: String,
    },
    #[error("no cache directory for the reStructuredText renderer: set RUNNER_TOOL_CACHE (or HOME) to a writable folder, or set {PYTHON_ENV} to a Python that has readme_renderer")]
    NoCacheDir,
    #[error("cannot write the reStructuredText renderer's cache at `{}`: {source}. Make it writable, point RUNNER_TOOL_CACHE elsewhere, or set {PYTHON_ENV} to a Python that has readme_renderer", path.display())]
    CacheIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the installed reStructuredText renderer at `{}` does not start: {detail}. Delete that folder and re-run, or set {PYTHON_ENV} to a Python that has readme_renderer", python.display())]
    Broken { python: PathBuf, detail: String },
    #[error("{var}=`{value}` is not valid: expected {expected}")]
    BadSetting {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The renderer of this process: which Python, and its idle workers.
struct Session {
    /// The `SDD_PUBLISH_PYTHON` it was resolved for.
    key: Option<PathBuf>,
    python: PathBuf,
    idle: Vec<Worker>,
}

static SESSION: std::sync::Mutex<Option<Session>> = std::sync::Mutex::new(None);

type Started = Result<(Worker, PathBuf), RenderError>;

/// A renderer being started ahead of need, for the `SDD_PUBLISH_PYTHON` it was started for.
static EARLY: std::sync::Mutex<Option<(Option<PathBuf>, std::thread::JoinHandle<Started>)>> =
    std::sync::Mutex::new(None);

/// Start the renderer (finding, and if need be installing, it) in the background while the
/// caller goes on reading archives: called once the first rst description is seen, so
/// Python's start overlaps the rest of the run instead of following it. [`render`] picks it
/// up; any error surfaces there.
pub fn start_early(s: &Settings) {
    if s.skip {
        return;
    }
    let ready = SESSION
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|x| x.key == s.python);
    let mut early = EARLY.lock().unwrap_or_else(|e| e.into_inner());
    if ready || early.is_some() {
        return;
    }
    let settings = s.clone();
    *early = Some((
        s.python.clone(),
        std::thread::spawn(move || reference_worker(&settings)),
    ));
}

/// Stop this process's renderers (they would end with the process anyway): `check` calls it
/// when done, so each worker is reaped and its CPU time is accounted to the run.
pub fn shutdown() {
    SESSION.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some((_, h)) = EARLY.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = h.join();
    }
}

/// Render every text; identical texts (by content hash) once. The verdicts come back in
/// the order of `texts`.
pub fn render(texts: &[String], s: &Settings) -> Result<Vec<Rendered>, RenderError> {
    let mut unique: Vec<&str> = Vec::new();
    let mut slot: HashMap<[u8; 32], usize> = HashMap::new();
    let index: Vec<usize> = texts
        .iter()
        .map(|t| {
            let h: [u8; 32] = Sha256::digest(t.as_bytes()).into();
            *slot.entry(h).or_insert_with(|| {
                unique.push(t);
                unique.len() - 1
            })
        })
        .collect();
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    // Workers outlive one call: `check` with several folders, or the pipeline, renders
    // through the same processes (and resolves the Python once).
    let mut session = SESSION.lock().unwrap_or_else(|e| e.into_inner());
    let mut sess = match session.take() {
        Some(x) if x.key == s.python => x,
        _ => {
            let early = EARLY
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .filter(|(key, _)| *key == s.python)
                .and_then(|(_, h)| h.join().ok());
            let (first, python) = match early {
                Some(started) => started?,
                None => reference_worker(s)?,
            };
            Session {
                key: s.python.clone(),
                python,
                idle: vec![first],
            }
        }
    };
    let python = sess.python.clone();
    let start = || Worker::start(&python, STARTUP).ok();
    let mut ready = std::mem::take(&mut sess.idle);
    if ready.is_empty() {
        ready.extend(start());
    }
    let (verdicts, alive) = pool::render_all(ready, &start, &unique, s.workers, s.timeout);
    sess.idle = alive;
    *session = Some(sess);
    let rendered: Vec<Rendered> = verdicts
        .into_iter()
        .map(|v| match v {
            Verdict::Ok => Rendered::Ok,
            Verdict::Failed(m) => Rendered::Failed(if m.is_empty() {
                "readme_renderer returned no output and no message".to_string()
            } else {
                m
            }),
            Verdict::TimedOut(d) => Rendered::Failed(format!(
                "readme_renderer did not finish within {} s (PyPI renders at upload time and would not wait either; {TIMEOUT_ENV} raises the limit)",
                d.as_secs()
            )),
            Verdict::Died(tail) => Rendered::Failed(format!(
                "the renderer process died while rendering it: {tail}"
            )),
        })
        .collect();
    Ok(index.into_iter().map(|i| rendered[i].clone()).collect())
}

/// A started worker whose Python has readme_renderer, and that Python: the user's if it has
/// the renderer, else the cached environment's (built first if needed).
fn reference_worker(s: &Settings) -> Result<(Worker, PathBuf), RenderError> {
    let candidates: Vec<PathBuf> = match &s.python {
        Some(p) => vec![p.clone()],
        None if cfg!(windows) => vec!["python".into(), "python3".into()],
        None => vec!["python3".into(), "python".into()],
    };
    let mut tried = Vec::new();
    let mut base = None;
    for c in &candidates {
        match Worker::start(c, STARTUP) {
            Ok(w) => {
                base = Some((w, c.clone()));
                break;
            }
            Err(StartError::Spawn(e)) => tried.push(format!("`{}`: {e}", c.display())),
            Err(StartError::NoHello(tail)) => tried.push(format!(
                "`{}` is not a working Python ({})",
                c.display(),
                tail.lines().last().unwrap_or("no output")
            )),
        }
    }
    let Some((base, base_python)) = base else {
        let how = if s.python.is_some() {
            format!("{PYTHON_ENV} names ")
        } else {
            "tried ".to_string()
        };
        return Err(RenderError::NoPython {
            tried: format!("{how}{}", tried.join("; ")),
        });
    };
    if base.ready() {
        return Ok((base, base_python));
    }
    let hello = base.hello.clone();
    drop(base);
    let mut last = String::new();
    for rebuild in [false, true] {
        let py = provision::ensure(&hello, s, rebuild)?;
        match Worker::start(&py, STARTUP) {
            Ok(w) if w.ready() => return Ok((w, py)),
            Ok(w) => last = w.hello.unavailable.clone().unwrap_or_default(),
            Err(StartError::Spawn(e)) => last = e.to_string(),
            Err(StartError::NoHello(tail)) => last = tail,
        }
    }
    let python = provision::venv_python(&provision::env_dir(
        &s.cache_root().unwrap_or_default(),
        &hello,
    ));
    Err(RenderError::Broken {
        python,
        detail: last,
    })
}
