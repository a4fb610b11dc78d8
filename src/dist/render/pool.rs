//! Long-lived renderer processes and the pool that spreads texts over them.
//!
//! Each [`Worker`] is one Python running `server.py`: started once, then fed one text per
//! JSON line. Python's start and docutils' import (~0.2 s) are paid once per worker, not
//! once per file as with one `python -c` per text. A reader thread turns the worker's stdout
//! into a channel so every answer can be awaited with a deadline: a renderer that hangs is
//! killed, its text is reported as not rendered in time, and a fresh worker takes the rest.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The embedded renderer script (see its header for the protocol).
pub const SERVER: &str = include_str!("server.py");

/// How much of a worker's stderr is kept for error messages.
const STDERR_TAIL: usize = 4000;

/// What a worker says about itself when it starts.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Hello {
    pub python: String,
    pub executable: String,
    #[serde(default)]
    pub prefix: String,
    pub readme_renderer: Option<String>,
    pub docutils: Option<String>,
    /// Why readme_renderer cannot be imported, when it cannot.
    pub unavailable: Option<String>,
}

#[derive(serde::Deserialize)]
struct HelloLine {
    hello: Hello,
}

#[derive(Debug, serde::Deserialize)]
struct Reply {
    id: u64,
    ok: bool,
    #[serde(default)]
    messages: String,
    raised: Option<String>,
}

/// A worker that did not come up.
#[derive(Debug)]
pub enum StartError {
    Spawn(std::io::Error),
    /// It ran but never said hello (not a Python, or a Python that crashed at start).
    NoHello(String),
}

/// The verdict on one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// readme_renderer returned None (or raised); the docutils messages.
    Failed(String),
    /// No answer within the deadline; the worker was killed.
    TimedOut(Duration),
    /// The worker died while rendering this text; the tail of its stderr.
    Died(String),
}

/// One renderer process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    pub hello: Hello,
    /// Its working directory, removed with it.
    home: Option<tempfile::TempDir>,
}

impl Worker {
    /// Run `python -c SERVER` and wait up to `startup` for its hello.
    ///
    /// It renders as PyPI's servers do, whatever the workspace holds: docutils reads no
    /// config file (`DOCUTILSCONFIG` empty: a `docutils.conf` in the current directory or
    /// `~/.docutils` would change settings such as `language_code` or `tab_width`), and it
    /// runs in an empty directory of its own, with no credential of this job.
    pub fn start(python: &std::path::Path, startup: Duration) -> Result<Worker, StartError> {
        let home = tempfile::tempdir().map_err(StartError::Spawn)?;
        // A relative path (`.venv/bin/python`) means from here, not from its new directory;
        // a bare name is looked up on PATH.
        let python = if python.components().count() > 1 && python.is_relative() {
            std::path::absolute(python).map_err(StartError::Spawn)?
        } else {
            python.to_path_buf()
        };
        let mut cmd = Command::new(&python);
        cmd.args(["-c", SERVER])
            .env("DOCUTILSCONFIG", "")
            .current_dir(home.path());
        crate::secret::without_credentials(&mut cmd);
        let mut w = Worker::spawn(cmd, startup)?;
        w.home = Some(home);
        Ok(w)
    }

    /// Start any command speaking the protocol (tests use stand-ins that hang or die).
    pub fn spawn(mut cmd: Command, startup: Duration) -> Result<Worker, StartError> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(StartError::Spawn)?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = Arc::clone(&stderr);
            // Drained continuously so a chatty renderer never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if t.len() > 2 * STDERR_TAIL {
                        let cut = t.len() - STDERR_TAIL;
                        let cut = (cut..t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(0);
                        t.drain(..cut);
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        let mut w = Worker {
            child,
            stdin,
            lines,
            stderr,
            hello: Hello::default(),
            home: None,
        };
        let first = w.lines.recv_timeout(startup);
        match first
            .ok()
            .and_then(|l| serde_json::from_str::<HelloLine>(&l).ok())
        {
            Some(h) => {
                w.hello = h.hello;
                Ok(w)
            }
            None => {
                w.stop();
                // Give the stderr reader a moment to collect what the process said.
                std::thread::sleep(Duration::from_millis(50));
                Err(StartError::NoHello(w.stderr_tail()))
            }
        }
    }

    /// Whether readme_renderer imported.
    pub fn ready(&self) -> bool {
        self.hello.unavailable.is_none()
    }

    pub fn stderr_tail(&self) -> String {
        let t = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let t = t.trim();
        let start = t.len().saturating_sub(STDERR_TAIL);
        let start = (start..t.len())
            .find(|i| t.is_char_boundary(*i))
            .unwrap_or(0);
        t[start..].to_string()
    }

    /// Render one text, waiting at most `deadline` for the answer. On `TimedOut` or `Died`
    /// the worker is finished and must be replaced.
    pub fn render(&mut self, id: u64, text: &str, deadline: Duration) -> Verdict {
        let line = serde_json::json!({ "id": id, "text": text }).to_string() + "\n";
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if written.is_err() {
            return self.died();
        }
        let until = std::time::Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => match serde_json::from_str::<Reply>(&l) {
                    Ok(r) if r.id == id => {
                        return match (r.ok, r.raised) {
                            (true, _) => Verdict::Ok,
                            (false, Some(raised)) => Verdict::Failed(
                                format!("readme_renderer raised {raised} {}", r.messages)
                                    .trim()
                                    .to_string(),
                            ),
                            (false, None) => Verdict::Failed(r.messages.trim().to_string()),
                        };
                    }
                    // A stray line (an old answer, or output that is not ours): skip it.
                    _ => continue,
                },
                Err(RecvTimeoutError::Timeout) => {
                    self.stop();
                    return Verdict::TimedOut(deadline);
                }
                Err(RecvTimeoutError::Disconnected) => return self.died(),
            }
        }
    }

    fn died(&mut self) -> Verdict {
        self.stop();
        std::thread::sleep(Duration::from_millis(50));
        let tail = self.stderr_tail();
        Verdict::Died(if tail.is_empty() {
            "the renderer exited without an answer".to_string()
        } else {
            tail
        })
    }

    fn stop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Texts to render, fed while earlier ones are already rendering: `check` submits each
/// description as it reads it from its archive, so the renderers work while the rest of the
/// archives are still being read instead of after.
pub struct Queue {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    texts: Vec<Arc<str>>,
    /// Waiting texts, longest first (ties by arrival): the long renders start early so the
    /// workers finish together.
    pending: BinaryHeap<(usize, Reverse<usize>)>,
    verdicts: Vec<Option<Verdict>>,
    /// No more texts will come: a worker with nothing to do may stop.
    closed: bool,
    /// Workers being started, and workers waiting for a text: what the waiting texts
    /// already have coming.
    starting: usize,
    idle: usize,
}

impl Default for Queue {
    fn default() -> Queue {
        Queue {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a text (already known to be distinct); returns its index among the verdicts.
    pub fn push(&self, text: Arc<str>) -> usize {
        let mut s = self.lock();
        let i = s.texts.len();
        s.pending.push((text.len(), Reverse(i)));
        s.texts.push(text);
        s.verdicts.push(None);
        drop(s);
        self.changed.notify_all();
        i
    }

    /// No more texts: [`serve`] returns once the waiting ones are rendered.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Close and forget what is still waiting (the caller no longer wants the verdicts).
    pub fn abandon(&self) {
        let mut s = self.lock();
        s.closed = true;
        s.pending.clear();
        drop(s);
        self.changed.notify_all();
    }

    /// One verdict per pushed text, in order; a text no worker could take is `Died`.
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.lock()
            .verdicts
            .iter()
            .map(|v| {
                v.clone()
                    .unwrap_or_else(|| Verdict::Died("could not start a renderer".to_string()))
            })
            .collect()
    }

    fn wait<'a>(&self, s: std::sync::MutexGuard<'a, State>) -> std::sync::MutexGuard<'a, State> {
        self.changed.wait(s).unwrap_or_else(|e| e.into_inner())
    }
}

/// Render what `queue` is given, until it is closed and empty, over up to `workers`
/// processes: those in `ready` (already started) first, more started with `start` only
/// for texts no idle or starting worker will take (so one text never costs a second
/// Python). A worker that hangs or dies is replaced. Returns the workers still alive, for
/// the next batch.
pub fn serve(
    queue: &Queue,
    ready: Vec<Worker>,
    start: &(dyn Fn() -> Option<Worker> + Sync),
    workers: usize,
    deadline: Duration,
) -> Vec<Worker> {
    let ready = Mutex::new(ready);
    let alive: Mutex<Vec<Worker>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                let mut worker = ready.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let mut s = queue.lock();
                loop {
                    if let Some(w) = worker.as_mut() {
                        if let Some((_, Reverse(i))) = s.pending.pop() {
                            let text = Arc::clone(&s.texts[i]);
                            drop(s);
                            let verdict = w.render(i as u64, &text, deadline);
                            if matches!(verdict, Verdict::TimedOut(_) | Verdict::Died(_)) {
                                worker = None;
                            }
                            s = queue.lock();
                            s.verdicts[i] = Some(verdict);
                            continue;
                        }
                    } else if s.pending.len() > s.starting + s.idle {
                        // Started without holding a text: another worker may take it meanwhile.
                        s.starting += 1;
                        drop(s);
                        // A panic while starting must not leave `starting` counted, or the
                        // others would wait for this worker forever: it counts as no start.
                        worker = std::panic::catch_unwind(std::panic::AssertUnwindSafe(start))
                            .ok()
                            .flatten();
                        s = queue.lock();
                        s.starting -= 1;
                        if worker.is_none() {
                            // The others (if any) carry on; what no one takes is `Died`.
                            queue.changed.notify_all();
                            break;
                        }
                        continue;
                    }
                    if s.closed && s.pending.is_empty() {
                        // Those waiting without a worker learn there is nothing left.
                        queue.changed.notify_all();
                        break;
                    }
                    let idle = worker.is_some();
                    s.idle += usize::from(idle);
                    s = queue.wait(s);
                    s.idle -= usize::from(idle);
                }
                drop(s);
                if let Some(w) = worker {
                    alive.lock().unwrap_or_else(|e| e.into_inner()).push(w);
                }
            });
        }
    });
    let mut alive = alive.into_inner().unwrap_or_else(|e| e.into_inner());
    alive.extend(ready.into_inner().unwrap_or_else(|e| e.into_inner()));
    alive
}

/// Render `texts` (already distinct), all known up front: [`serve`] over a closed queue.
pub fn render_all(
    ready: Vec<Worker>,
    start: &(dyn Fn() -> Option<Worker> + Sync),
    texts: &[&str],
    workers: usize,
    deadline: Duration,
) -> (Vec<Verdict>, Vec<Worker>) {
    let queue = Queue::default();
    for t in texts {
        queue.push(Arc::from(*t));
    }
    queue.close();
    let alive = serve(&queue, ready, start, workers.min(texts.len()), deadline);
    (queue.verdicts(), alive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A stand-in server: the real hello, then `behaviour` for each request.
    fn stand_in(behaviour: &str) -> Command {
        let script = format!(
            r#"
import json, sys, time
print(json.dumps({{"hello": {{"python": "3", "executable": sys.executable}}}}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    text = req["text"]
{behaviour}
    print(json.dumps({{"id": req["id"], "ok": True, "messages": ""}}), flush=True)
"#
        );
        let mut cmd = Command::new("python3");
        cmd.args(["-c", &script]);
        cmd
    }

    const STARTUP: Duration = Duration::from_secs(60);

    #[test]
    fn a_hung_render_is_cut_at_its_deadline_and_a_new_worker_takes_the_rest() {
        let behaviour = "    if text == 'hang':\n        time.sleep(600)";
        let first = Worker::spawn(stand_in(behaviour), STARTUP).unwrap();
        let start = || Worker::spawn(stand_in(behaviour), STARTUP).ok();
        let t0 = std::time::Instant::now();
        let (v, _) = render_all(
            vec![first],
            &start,
            &["hang", "fine", "also fine"],
            1,
            Duration::from_secs(2),
        );
        assert_eq!(
            v,
            [
                Verdict::TimedOut(Duration::from_secs(2)),
                Verdict::Ok,
                Verdict::Ok
            ]
        );
        // Far below the 600 s the stand-in sleeps: the deadline, not the renderer, decided.
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "{:?}",
            t0.elapsed()
        );
    }

    #[test]
    fn a_renderer_that_dies_is_reported_with_its_stderr_and_replaced() {
        let behaviour =
            "    if text == 'die':\n        sys.stderr.write('boom: out of memory\\n'); sys.stderr.flush(); sys.exit(3)";
        let first = Worker::spawn(stand_in(behaviour), STARTUP).unwrap();
        let start = || Worker::spawn(stand_in(behaviour), STARTUP).ok();
        let (v, _) = render_all(vec![first], &start, &["die!", "ok"], 1, STARTUP);
        assert_eq!(v[1], Verdict::Ok);
        // "die!" is not "die": renders. Now the real death:
        assert_eq!(v[0], Verdict::Ok);
        let first = Worker::spawn(stand_in(behaviour), STARTUP).unwrap();
        let (v, alive) = render_all(vec![first], &start, &["die", "ok"], 1, STARTUP);
        match &v[0] {
            Verdict::Died(tail) => assert!(tail.contains("boom: out of memory"), "{tail}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(v[1], Verdict::Ok);
        assert_eq!(alive.len(), 1, "the replacement stays for the next call");
    }

    #[test]
    fn something_that_is_not_a_renderer_never_says_hello() {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", "import sys; sys.stderr.write('not me'); sys.exit(9)"]);
        match Worker::spawn(cmd, STARTUP) {
            Err(StartError::NoHello(tail)) => assert!(tail.contains("not me"), "{tail}"),
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("said hello"),
        }
        let missing = Worker::start(std::path::Path::new("/nonexistent/python"), STARTUP);
        assert!(matches!(missing, Err(StartError::Spawn(_))));
    }

    /// `check` feeds texts as it reads archives: the first is rendered while the queue is
    /// still open, and a lone text starts only one worker of the two allowed.
    #[test]
    fn texts_render_while_more_are_still_coming() {
        let queue = Queue::default();
        let started = AtomicUsize::new(0);
        let start = || {
            started.fetch_add(1, Ordering::SeqCst);
            Worker::spawn(stand_in(""), STARTUP).ok()
        };
        std::thread::scope(|scope| {
            let serving = scope.spawn(|| serve(&queue, Vec::new(), &start, 2, STARTUP));
            queue.push(Arc::from("first"));
            let until = std::time::Instant::now() + STARTUP;
            while queue.lock().verdicts[0].is_none() {
                assert!(std::time::Instant::now() < until, "not rendered while open");
                std::thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(started.load(Ordering::SeqCst), 1);
            queue.push(Arc::from("second"));
            queue.close();
            let alive = serving.join().unwrap();
            assert!(!alive.is_empty());
        });
        assert_eq!(queue.verdicts(), [Verdict::Ok, Verdict::Ok]);
    }

    /// A start that panics counts as a failed start: the texts are reported, nothing hangs.
    #[test]
    fn a_start_that_panics_leaves_no_one_waiting() {
        let queue = Queue::default();
        queue.push(Arc::from("a"));
        queue.push(Arc::from("b"));
        queue.close();
        let start = || -> Option<Worker> { panic!("no threads left") };
        let alive = serve(&queue, Vec::new(), &start, 2, STARTUP);
        assert!(alive.is_empty());
        assert!(queue
            .verdicts()
            .iter()
            .all(|v| matches!(v, Verdict::Died(_))));
    }

    /// A batch given up on (the caller stopped on an error) renders nothing more.
    #[test]
    fn an_abandoned_queue_stops_without_rendering_the_rest() {
        let queue = Queue::default();
        for _ in 0..50 {
            queue.push(Arc::from("x"));
        }
        queue.abandon();
        let start = || Worker::spawn(stand_in(""), STARTUP).ok();
        let alive = serve(&queue, Vec::new(), &start, 2, STARTUP);
        assert!(alive.is_empty(), "no worker was needed");
        assert!(queue
            .verdicts()
            .iter()
            .all(|v| matches!(v, Verdict::Died(_))));
    }

    #[test]
    fn many_texts_spread_over_several_workers_come_back_in_order() {
        let behaviour = "    time.sleep(0.01)";
        let texts: Vec<String> = (0..40).map(|i| "x".repeat(i)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let first = Worker::spawn(stand_in(behaviour), STARTUP).unwrap();
        let started = AtomicUsize::new(1);
        let start = || {
            started.fetch_add(1, Ordering::SeqCst);
            Worker::spawn(stand_in(behaviour), STARTUP).ok()
        };
        let (v, alive) = render_all(vec![first], &start, &refs, 3, STARTUP);
        assert_eq!(v.len(), 40);
        assert!(v.iter().all(|x| *x == Verdict::Ok));
        assert_eq!(started.load(Ordering::SeqCst), 3);
        assert_eq!(alive.len(), 3);
    }
}
