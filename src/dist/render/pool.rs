//! Long-lived renderer processes and the pool that spreads texts over them.
//!
//! Each [`Worker`] is one Python running `server.py`: started once, then fed one text per
//! JSON line. Python's start and docutils' import (~0.2 s) are paid once per worker, not
//! once per file as with one `python -c` per text. A reader thread turns the worker's stdout
//! into a channel so every answer can be awaited with a deadline: a renderer that hangs is
//! killed, its text is reported as not rendered in time, and a fresh worker takes the rest.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
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
}

impl Worker {
    /// Run `python -c SERVER` and wait up to `startup` for its hello.
    pub fn start(python: &std::path::Path, startup: Duration) -> Result<Worker, StartError> {
        let mut cmd = Command::new(python);
        cmd.args(["-c", SERVER]);
        Worker::spawn(cmd, startup)
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

/// Render `texts` (already distinct) over up to `workers` processes: those in `ready`
/// (already started, at least one) first, more started with `start` as needed. Longest
/// texts go first so the workers finish together. Returns one verdict per text, in order,
/// and the workers still alive for the next call.
pub fn render_all(
    ready: Vec<Worker>,
    start: &(dyn Fn() -> Option<Worker> + Sync),
    texts: &[&str],
    workers: usize,
    deadline: Duration,
) -> (Vec<Verdict>, Vec<Worker>) {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Verdict>>> = Mutex::new(vec![None; texts.len()]);
    let workers = workers.clamp(1, texts.len().max(1));
    let ready = Mutex::new(ready);
    let alive: Mutex<Vec<Worker>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut worker = ready.lock().unwrap_or_else(|e| e.into_inner()).pop();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = order.get(n) else { break };
                    if worker.is_none() {
                        worker = start();
                    }
                    let verdict = match worker.as_mut() {
                        Some(w) => w.render(i as u64, texts[i], deadline),
                        None => Verdict::Died("could not start a renderer".to_string()),
                    };
                    if matches!(verdict, Verdict::TimedOut(_) | Verdict::Died(_)) {
                        worker = None;
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(verdict);
                }
                if let Some(w) = worker {
                    alive.lock().unwrap_or_else(|e| e.into_inner()).push(w);
                }
            });
        }
    });
    let mut alive = alive.into_inner().unwrap_or_else(|e| e.into_inner());
    alive.extend(ready.into_inner().unwrap_or_else(|e| e.into_inner()));
    let verdicts = results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|v| v.unwrap_or_else(|| Verdict::Died("not rendered".to_string())))
        .collect();
    (verdicts, alive)
}

#[cfg(test)]
mod tests {
    use super::*;

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
