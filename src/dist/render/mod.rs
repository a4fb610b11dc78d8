//! PyPI's verdict on reStructuredText descriptions, from the reference renderer itself.
//!
//! PyPI refuses an upload whose rst description `readme_renderer` cannot render, and
//! `readme_renderer` fails on any docutils warning; no Rust renderer reproduces that, so
//! `check` asks Python. This module owns everything about that Python:
//! * which one ([`Settings::python`], `SDD_PUBLISH_PYTHON`, else `python3`/`python` on PATH);
//! * giving it the renderer when it lacks one ([`provision`]: pinned wheels, hashes
//!   required, a virtual environment cached across runs);
//! * rendering cheaply ([`Batch`], [`pool`]): each distinct text once, in long-lived
//!   processes (one per core, capped) that start on the first text and render while the
//!   remaining archives are read, each answer awaited with a deadline.
//!
//! Failures to get a renderer are one [`RenderError`] for the whole run, never a silent pass.

pub mod pool;
pub mod provision;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use pool::{Queue, StartError, Verdict, Worker};

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

/// Workers outlive one batch: `check` with several folders, or the pipeline, renders
/// through the same processes (and resolves the Python once).
static SESSION: std::sync::Mutex<Option<Session>> = std::sync::Mutex::new(None);

fn session() -> std::sync::MutexGuard<'static, Option<Session>> {
    SESSION.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stop this process's renderers (they would end with the process anyway): `check` calls it
/// when done, so each worker is reaped and its CPU time is accounted to the run.
pub fn shutdown() {
    session().take();
}

/// Descriptions being rendered while the caller goes on: started at the first text, so
/// finding (or installing) the renderer and Python's start overlap reading the remaining
/// archives, and each text renders as soon as a worker is free. Identical texts (by
/// content hash) render once.
pub struct Batch {
    queue: Arc<Queue>,
    /// Finds the renderer, then serves the queue until it is closed.
    serving: Option<std::thread::JoinHandle<Result<(), RenderError>>>,
    slot: HashMap<[u8; 32], usize>,
    /// For each submitted text, its distinct text's index in the queue.
    index: Vec<usize>,
}

impl Batch {
    pub fn start(s: &Settings) -> Batch {
        let queue = Arc::new(Queue::default());
        let settings = s.clone();
        let q = Arc::clone(&queue);
        let serving = std::thread::spawn(move || serve(&q, &settings));
        Batch {
            queue,
            serving: Some(serving),
            slot: HashMap::new(),
            index: Vec::new(),
        }
    }

    /// Queue one text; its verdict is the `n`th of [`Batch::finish`] for the `n`th call.
    pub fn submit(&mut self, text: &str) {
        let h: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let i = match self.slot.get(&h) {
            Some(&i) => i,
            None => {
                let i = self.queue.push(Arc::from(text));
                self.slot.insert(h, i);
                i
            }
        };
        self.index.push(i);
    }

    /// Wait for every verdict, in the order the texts were submitted. `Err` when no
    /// renderer could be had.
    pub fn finish(mut self) -> Result<Vec<Rendered>, RenderError> {
        self.queue.close();
        let serving = self.serving.take().expect("finished once");
        match serving.join() {
            Ok(r) => r?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
        let rendered: Vec<Rendered> = self.queue.verdicts().into_iter().map(rendered).collect();
        Ok(self.index.iter().map(|&i| rendered[i].clone()).collect())
    }
}

impl Drop for Batch {
    /// Dropped unfinished (the caller stopped on an error): render nothing more.
    fn drop(&mut self) {
        if let Some(serving) = self.serving.take() {
            self.queue.abandon();
            let _ = serving.join();
        }
    }
}

/// The serving thread: this process's renderer (resolved once), then [`pool::serve`].
fn serve(queue: &Queue, s: &Settings) -> Result<(), RenderError> {
    let mut sess = match session().take() {
        Some(x) if x.key == s.python => x,
        _ => {
            let (first, python) = reference_worker(s)?;
            Session {
                key: s.python.clone(),
                python,
                idle: vec![first],
            }
        }
    };
    let python = sess.python.clone();
    let start = || Worker::start(&python, STARTUP).ok();
    let ready = std::mem::take(&mut sess.idle);
    sess.idle = pool::serve(queue, ready, &start, s.workers, s.timeout);
    *session() = Some(sess);
    Ok(())
}

fn rendered(v: Verdict) -> Rendered {
    match v {
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
    }
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
