//! How many uploads run at once: found by measuring while uploading, not configured.
//!
//! Where the index is the bottleneck (a server that stores one file at a time), extra streams
//! only compete for it and make the run slower; where each connection is bound by latency and
//! its own bandwidth (a runner far from PyPI), every extra stream adds throughput. Nobody can
//! tell which from a workflow file, so [`Controller`] finds out the way TCP's congestion control
//! does (AIMD), with `max-parallel` as its ceiling:
//!
//! 1. Start with one stream (the first file goes alone anyway) and measure its throughput.
//! 2. Slow start: double the streams while each step raises the aggregate throughput by at
//!    least half of what the added streams would carry if each did as well as the ones before
//!    (`keep`); quadruple after a step that scaled almost linearly (`leap`), since every step
//!    costs a whole upload cycle at the lower level.
//! 3. A step that raises it less than that but still clearly (`partial_share` of the ideal
//!    rise, at least `partial`) is kept and ends the doubling; a step that does not is undone,
//!    down to as many streams as the measured throughput needs at the old per-stream rate
//!    (a jump from 2 to 8 over a link that carries three streams' worth lands on 3). Then
//!    hold, and now and then probe one stream more; a probe that does not pay doubles the
//!    wait before the next.
//! 4. A failure that will be retried (transport error, stall, 5xx) or a 429 halves the streams
//!    at once (once per `cut_gap`: a burst of errors from parallel streams is one signal).
//!
//! Measurement: completed files. A level's aggregate throughput is its number of streams times
//! the bytes-weighted per-file rate (size / upload time, all of it: request, body, the index
//! storing the file, its answer) of the files that ran entirely at that level, judged once as
//! many files as streams completed there (one full cycle of every stream). Bytes handed to the
//! connection would answer sooner but wrongly: they run ahead of the wire by whatever the
//! socket buffers hold (measured through the benchmark's link proxy: ~10 MB per connection, so
//! a 20 MB file was "sent" in 0.6 s of its 2.2 s), and a server-bound index takes a body in a
//! burst and then stores it while the stream idles; over spans shorter than a cycle the count
//! swings between bursts and nothing. A file's own time has neither problem, and every change
//! starts its new streams together, so the first cycle at a level measures it whole. Files
//! that needed a retry, or that straddled a change, are not counted.
//!
//! One known flattery: on an index that serves uploads strictly one after another, first come
//! first served, the first of two streams started together finishes at full speed, so the
//! first cycle rates two streams a third above one and they are kept. They cost nothing there
//! (such an index is busy either way). An index that shares its time among uploads (threads,
//! a link) is measured as it is.
//!
//! The controller is pure: events in, a target out. It never reads the clock, so its tests
//! are exact.

use std::fmt;
use std::time::Duration;

/// The controller's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// A step up is kept and doubling goes on when the throughput rose by at least this
    /// fraction of the rise the added streams would bring at the old per-stream rate.
    pub keep: f64,
    /// At least this fraction: quadruple instead of doubling.
    pub leap: f64,
    /// A smaller rise than `keep` is still kept (and doubling ends) when it is at least
    /// `partial_share` of that ideal rise and at least `partial` (a fraction of the old rate).
    pub partial_share: f64,
    pub partial: f64,
    /// Wait after the doubling ends before probing one stream more; doubles after a probe
    /// that did not pay, up to `max_probe_wait`.
    pub probe_wait: Duration,
    pub max_probe_wait: Duration,
    /// Push-back within this long of a cut is the same signal.
    pub cut_gap: Duration,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            keep: 0.5,
            leap: 0.9,
            partial_share: 0.25,
            partial: 0.1,
            probe_wait: Duration::from_secs(4),
            max_probe_wait: Duration::from_secs(60),
            cut_gap: Duration::from_secs(1),
        }
    }
}

/// What the engine sees after an event (a completion, once the freed slots are refilled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When the event happened, since the uploads began (new uploads start after it).
    pub at: Duration,
    /// Uploads in flight and not waiting out a retry delay.
    pub active: usize,
    /// Uploads that could still run: in flight plus queued. More streams than this is moot.
    pub available: usize,
}

/// One upload that finished.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finished {
    /// When it started, since the uploads began.
    pub started: Duration,
    pub secs: f64,
    pub bytes: u64,
    /// Succeeded at the first attempt: its time says something about the level.
    pub clean: bool,
}

/// Why the index pushed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushback {
    /// HTTP 429.
    RateLimited,
    /// A transport error, a stall or a 5xx that will be retried.
    Failed,
}

/// One decision, with the measurements behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub from: usize,
    pub to: usize,
    pub why: Why,
}

/// A step up, measured: `streams` carried `rate`, the `before` streams it was judged
/// against carried `before_rate` (bytes per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub streams: usize,
    pub rate: f64,
    pub before: usize,
    pub before_rate: f64,
}

impl Measured {
    /// The rise, as a fraction of the old rate.
    pub fn gain(&self) -> f64 {
        if self.before_rate > 0.0 {
            self.rate / self.before_rate - 1.0
        } else {
            f64::INFINITY
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// The first measurement, on one stream.
    Start { rate: f64 },
    /// More streams carried clearly more: keep them (and double again in slow start).
    Rising(Measured),
    /// As `Rising`, and the ceiling is reached.
    Ceiling(Measured),
    /// More, but less than the added streams should carry: keep them, stop doubling.
    Partial(Measured),
    /// Not worth it: back to `before`.
    Flat(Measured),
    /// Some of the added streams paid, not all: back to as many as the throughput needs.
    Overshot(Measured),
    /// Steady for a while: try one stream more.
    Probe { steady: Duration },
    /// The index pushed back: halve.
    Pushback(Pushback),
}

/// Where the controller ended, for the run's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub ceiling: usize,
    /// The level it settled on: what the last judgement kept (a probe still running at the
    /// end is not a level).
    pub settled: usize,
    /// Most streams ever asked for.
    pub peak: usize,
    /// That last judgement (or push-back), if any was made.
    pub why: Option<Decision>,
}

/// What one level carried: bytes of finished files and the stream-time they took there.
#[derive(Debug, Clone, Copy)]
struct Level {
    streams: usize,
    files: usize,
    bytes: f64,
    secs: f64,
}

impl Level {
    fn new(streams: usize) -> Self {
        Level {
            streams,
            files: 0,
            bytes: 0.0,
            secs: 0.0,
        }
    }

    /// Aggregate throughput: the per-stream rate times the streams.
    fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.bytes / self.secs * self.streams as f64
        } else {
            0.0
        }
    }

    fn add(&mut self, f: &Finished) {
        // Plenty measured: let old files fade, so a holding level follows the index.
        if self.files >= 4 * self.streams.max(2) {
            self.files /= 2;
            self.bytes /= 2.0;
            self.secs /= 2.0;
        }
        self.files += 1;
        self.bytes += f.bytes as f64;
        self.secs += f.secs.max(1e-6);
    }

    /// A typical file's time here.
    fn per_file(&self) -> Option<Duration> {
        (self.files > 0).then(|| Duration::from_secs_f64(self.secs / self.files as f64))
    }
}

/// Uploads that start this close before a change still belong to the new level: completions
/// that arrive together are handled one after the other, and the slots freed by the first
/// are refilled before the last is seen.
const BATCH: Duration = Duration::from_millis(50);

/// Adaptive concurrency: see the module documentation.
#[derive(Debug, Clone)]
pub struct Controller {
    p: Params,
    ceiling: usize,
    target: usize,
    peak: usize,
    slow_start: bool,
    /// The level a step up is judged against (and refreshed while holding at it).
    base: Option<Level>,
    /// The present level, measured from `since` (when it began).
    current: Level,
    since: Duration,
    /// The present level began with a step up: uploads started in the same burst of
    /// completions, just before it, run at it too.
    stepped_up: bool,
    steady_since: Duration,
    next_probe: Option<Duration>,
    probe_wait: Duration,
    last_cut: Option<Duration>,
    why: Option<Decision>,
}

impl Controller {
    pub fn new(ceiling: usize) -> Self {
        Self::with_params(ceiling, Params::default())
    }

    pub fn with_params(ceiling: usize, p: Params) -> Self {
        Controller {
            p,
            ceiling: ceiling.max(1),
            target: 1,
            peak: 1,
            slow_start: true,
            base: None,
            current: Level::new(1),
            since: Duration::ZERO,
            stepped_up: false,
            steady_since: Duration::ZERO,
            next_probe: None,
            probe_wait: p.probe_wait,
            last_cut: None,
            why: None,
        }
    }

    /// How many uploads should be in flight now.
    pub fn target(&self) -> usize {
        self.target
    }

    pub fn summary(&self) -> Summary {
        Summary {
            ceiling: self.ceiling,
            settled: self.why.as_ref().map_or(self.target, |d| d.to),
            peak: self.peak,
            why: self.why.clone(),
        }
    }

    /// After an event: the file that finished (if one did) and the state once the engine
    /// refilled the freed slots. Returns a decision when one was taken; the target may have
    /// changed, and the engine starts (or stops starting) uploads accordingly.
    pub fn observe(&mut self, s: Sample, finished: Option<Finished>) -> Option<Decision> {
        // Files that began before this level ran (partly) at another one: they say nothing
        // about this one, nor do files that needed a retry. After a step down that includes
        // those started in the burst just before: they ran at the higher level.
        let tolerance = match self.base.and_then(|b| b.per_file()) {
            Some(t) if self.stepped_up => (t / 4).min(BATCH),
            _ => Duration::ZERO,
        };
        if let Some(f) = finished.filter(|f| f.clean && f.started + tolerance >= self.since) {
            self.current.add(&f);
        }
        let decision =
            if self.current.streams == self.target && self.current.files >= self.current.streams {
                self.judge(&s)
            } else {
                None
            };
        if let Some(d) = decision
            .as_ref()
            .filter(|d| !matches!(d.why, Why::Probe { .. }))
        {
            self.why = Some(d.clone());
        }
        match &decision {
            Some(d) if d.to != d.from => {
                // The engine starts a new level's streams right after this event; a lower
                // level begins once the surplus uploads have finished.
                self.measure_from(s.at, self.target.min(s.available.max(1)));
                self.stepped_up = d.to > d.from;
            }
            _ if s.active != self.current.streams => {
                // Streams came or went (the tail, a retry delay, a step down draining): what
                // runs now is another level.
                self.measure_from(s.at, s.active);
                self.stepped_up = false;
            }
            _ => {}
        }
        decision
    }

    /// The index pushed back (a retried failure or a 429): halve, once per `cut_gap`.
    pub fn pushback(&mut self, at: Duration, kind: Pushback) -> Option<Decision> {
        if self
            .last_cut
            .is_some_and(|t| at.saturating_sub(t) < self.p.cut_gap)
        {
            return None;
        }
        self.last_cut = Some(at);
        self.slow_start = false;
        self.base = None;
        self.next_probe = Some(at + self.probe_wait);
        if self.target == 1 {
            return None;
        }
        let d = self.set(self.target / 2, at, Why::Pushback(kind));
        self.measure_from(at, self.target);
        self.stepped_up = false;
        self.why = Some(d.clone());
        Some(d)
    }

    fn measure_from(&mut self, at: Duration, streams: usize) {
        self.current = Level::new(streams);
        self.since = at;
    }

    fn set(&mut self, to: usize, at: Duration, why: Why) -> Decision {
        let from = self.target;
        self.target = to.clamp(1, self.ceiling);
        self.peak = self.peak.max(self.target);
        self.steady_since = at;
        Decision {
            from,
            to: self.target,
            why,
        }
    }

    /// The present level (= the target) has a full cycle measured.
    fn judge(&mut self, s: &Sample) -> Option<Decision> {
        let now = s.at;
        let streams = self.current.streams;
        let rate = self.current.rate();
        let room = self.ceiling.min(s.available);
        let measured = self.current;
        let Some(base) = self.base else {
            self.base = Some(measured);
            if self.slow_start && streams < room {
                return Some(self.set((streams * 2).min(room), now, Why::Start { rate }));
            }
            return None;
        };
        if streams <= base.streams {
            // Holding (or back after a step down): this is the level to judge against now.
            self.base = Some(measured);
            let probe = !self.slow_start && self.next_probe.is_some_and(|t| now >= t);
            if probe && streams < room {
                let steady = now.saturating_sub(self.steady_since);
                return Some(self.set(streams + 1, now, Why::Probe { steady }));
            }
            if self.slow_start && streams < room {
                return Some(self.set((streams * 2).min(room), now, Why::Start { rate }));
            }
            return None;
        }
        // A step up from `base`, measured.
        let m = Measured {
            streams,
            rate,
            before: base.streams,
            before_rate: base.rate(),
        };
        let ideal = streams as f64 / m.before as f64 - 1.0;
        let gain = m.gain();
        if gain >= self.p.keep * ideal {
            self.base = Some(measured);
            if self.slow_start && streams < room {
                let factor = if gain >= self.p.leap * ideal { 4 } else { 2 };
                return Some(self.set((streams * factor).min(room), now, Why::Rising(m)));
            }
            self.end_slow_start(now, true);
            let why = if streams >= self.ceiling {
                Why::Ceiling(m)
            } else {
                Why::Rising(m)
            };
            return Some(self.set(streams, now, why));
        }
        if gain >= self.p.partial.max(ideal * self.p.partial_share) {
            self.base = Some(measured);
            self.end_slow_start(now, true);
            return Some(self.set(streams, now, Why::Partial(m)));
        }
        // Not worth it: undo the step (as far as the throughput allows), and wait longer
        // before the next probe.
        self.end_slow_start(now, false);
        let needed = (m.rate / (m.before_rate / m.before as f64)).round();
        let back = if needed.is_finite() {
            (needed as usize).clamp(m.before, streams - 1)
        } else {
            m.before
        };
        if back > m.before {
            // Judged against `before` again once measured, like a probe.
            return Some(self.set(back, now, Why::Overshot(m)));
        }
        Some(self.set(m.before, now, Why::Flat(m)))
    }

    fn end_slow_start(&mut self, now: Duration, paid: bool) {
        let probing = !self.slow_start;
        self.slow_start = false;
        if paid {
            self.probe_wait = self.p.probe_wait;
        } else if probing {
            self.probe_wait = (self.probe_wait * 2).min(self.p.max_probe_wait);
        }
        self.next_probe = Some(now + self.probe_wait);
    }
}

/// A rate as people read it.
pub fn rate(bytes_per_sec: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes_per_sec >= MIB {
        format!("{:.1} MiB/s", bytes_per_sec / MIB)
    } else {
        format!("{:.0} KiB/s", bytes_per_sec / 1024.0)
    }
}

fn streams(n: usize) -> String {
    if n == 1 {
        "1 stream".into()
    } else {
        format!("{n} streams")
    }
}

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gain = self.gain();
        write!(
            f,
            "{} carried {}, {} {} ({}{:.0}%)",
            streams(self.streams),
            rate(self.rate),
            streams(self.before),
            rate(self.before_rate),
            if gain >= 0.0 { "+" } else { "" },
            (gain * 100.0).clamp(-100.0, 9999.0)
        )
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Start { rate: r } => write!(f, "1 stream carried {}; trying more", rate(*r)),
            Why::Rising(m) => write!(f, "{m}: throughput rises with more streams"),
            Why::Ceiling(m) => write!(
                f,
                "{m}: throughput rises with more streams, up to the ceiling (max-parallel)"
            ),
            Why::Partial(m) => write!(f, "{m}: a little faster, not worth more streams"),
            Why::Flat(m) => write!(
                f,
                "{m}: not worth it; the limit is the index (or a link the streams share), not each connection"
            ),
            Why::Overshot(m) => write!(
                f,
                "{m}: not every added stream paid; as many as that throughput needs"
            ),
            Why::Probe { steady } => write!(
                f,
                "steady for {:.1}s, probing one stream more",
                steady.as_secs_f64()
            ),
            Why::Pushback(Pushback::RateLimited) => {
                f.write_str("the index answered 429 (too many requests); easing off")
            }
            Why::Pushback(Pushback::Failed) => {
                f.write_str("an upload failed and will be retried; easing off")
            }
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "staying at {}: {}", streams(self.to), self.why)
        } else {
            write!(f, "{} -> {}: {}", self.from, streams(self.to), self.why)
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at a time", self.settled)?;
        if self.peak > self.settled {
            write!(f, " (tried {})", self.peak)?;
        }
        write!(f, ", max-parallel {}", self.ceiling)?;
        match &self.why {
            Some(d) => write!(f, ": {}", d.why),
            None if self.ceiling > 1 => f.write_str(": too few files to measure more"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: f64 = 1024.0 * 1024.0;

    struct Run {
        decisions: Vec<Decision>,
        /// The most uploads ever in flight at once.
        most: usize,
        ctl: Controller,
        secs: f64,
    }

    /// The engine's loop in miniature, in 1 ms steps: the first file alone, then refill to
    /// the target after every completion. `rate(n)` is the aggregate bytes/s the index takes
    /// from `n` streams at once, shared evenly; `overhead` is each request's fixed cost.
    fn simulate(
        rate: fn(usize) -> f64,
        files: usize,
        size: u64,
        ceiling: usize,
        pushbacks: &[(u64, Pushback)],
    ) -> Run {
        let step = 0.001;
        let mut ctl = Controller::new(ceiling);
        // (bytes left, started at)
        let mut running: Vec<(f64, f64)> = Vec::new();
        let mut queued = files;
        let mut decisions = Vec::new();
        let mut pending = pushbacks.to_vec();
        let (mut now, mut most, mut lead_done) = (0.0f64, 0, false);
        let mut finished: Option<Finished> = None;
        loop {
            let at = Duration::from_secs_f64(now);
            if let Some(i) = pending
                .iter()
                .position(|(ms, _)| Duration::from_millis(*ms) <= at)
            {
                let (_, kind) = pending.remove(i);
                decisions.extend(ctl.pushback(at, kind));
            }
            let limit = if lead_done { ctl.target() } else { 1 };
            let refill = |running: &mut Vec<(f64, f64)>, queued: &mut usize, limit: usize| {
                while running.len() < limit && *queued > 0 {
                    *queued -= 1;
                    running.push((size as f64, now));
                }
            };
            refill(&mut running, &mut queued, limit);
            if finished.is_some() || now == 0.0 {
                let s = Sample {
                    at,
                    active: running.len(),
                    // The engine's rule: nothing beside the first file.
                    available: if lead_done { running.len() + queued } else { 1 },
                };
                if let Some(d) = ctl.observe(s, finished.take()) {
                    decisions.push(d);
                    if lead_done {
                        refill(&mut running, &mut queued, ctl.target());
                    }
                }
            }
            most = most.max(running.len());
            if running.is_empty() {
                return Run {
                    decisions,
                    most,
                    ctl,
                    secs: now,
                };
            }
            now += step;
            let n = running.len();
            let share = rate(n) / n as f64 * step;
            for (left, _) in running.iter_mut() {
                *left -= share;
            }
            // One completion per event, as the engine sees them.
            if let Some(i) = running.iter().position(|(left, _)| *left <= 0.0) {
                let (_, started) = running.remove(i);
                lead_done = true;
                finished = Some(Finished {
                    started: Duration::from_secs_f64(started),
                    secs: now - started,
                    bytes: size,
                    clean: true,
                });
            }
        }
    }

    fn steps(run: &Run) -> Vec<(usize, usize)> {
        run.decisions.iter().map(|d| (d.from, d.to)).collect()
    }

    /// 100 Mbit/s per connection, nothing shared: a runner far from PyPI.
    fn link_bound(n: usize) -> f64 {
        n as f64 * 12.5 * MB
    }

    /// 80 MB/s in all, a little worse with every extra stream, as a busy server gets.
    fn server_bound(n: usize) -> f64 {
        80.0 * MB * (1.0 - 0.05 * (n as f64 - 1.0))
    }

    #[test]
    fn a_link_bound_index_gets_every_stream_the_ceiling_allows() {
        let run = simulate(link_bound, 20, 20 << 20, 8, &[]);
        assert_eq!(run.ctl.target(), 8, "{:#?}", run.decisions);
        assert_eq!(run.most, 8);
        // Two streams carried twice what one did: straight on to eight, the ceiling.
        assert_eq!(
            steps(&run),
            [(1, 2), (2, 8), (8, 8)],
            "{:#?}",
            run.decisions
        );
        assert!(matches!(run.decisions[2].why, Why::Ceiling(_)));
        // One stream: 400 MiB at 12.5 MiB/s is 32 s; here a cycle at one, one at two, then
        // three rounds at eight (the last with one file).
        assert!(run.secs < 8.1, "{}", run.secs);
        // A doubling that only just pays is followed by another doubling, not a leap.
        let run = simulate(
            |n| n as f64 * 12.5 * MB * if n > 1 { 0.85 } else { 1.0 },
            40,
            20 << 20,
            8,
            &[],
        );
        assert_eq!(steps(&run)[..2], [(1, 2), (2, 4)], "{:#?}", run.decisions);
    }

    #[test]
    fn a_server_bound_index_is_left_to_one_stream() {
        let run = simulate(server_bound, 20, 20 << 20, 8, &[]);
        assert_eq!(run.ctl.target(), 1, "{:#?}", run.decisions);
        assert_eq!(steps(&run)[..2], [(1, 2), (2, 1)], "{:#?}", run.decisions);
        assert!(matches!(run.decisions[1].why, Why::Flat(_)));
        // One stream: 400 MiB at 80 MiB/s is 5 s; the probes cost little.
        assert!(run.secs < 5.1, "{}", run.secs);
        // A probe that does not pay doubles the wait before the next.
        let probes: Vec<Duration> = run
            .decisions
            .iter()
            .filter_map(|d| match d.why {
                Why::Probe { steady } => Some(steady),
                _ => None,
            })
            .collect();
        assert!(probes.len() <= 1, "{:#?}", run.decisions);
    }

    #[test]
    fn a_shared_bottleneck_stops_the_doubling_where_it_stops_paying() {
        let run = simulate(|n| (n as f64).min(3.2) * 12.5 * MB, 60, 20 << 20, 8, &[]);
        // 1 -> 2 doubles, so on to 8, which carries 3.2 streams' worth: back to 3, which
        // carries half again as much as 2 (kept).
        assert_eq!(
            steps(&run)[..4],
            [(1, 2), (2, 8), (8, 3), (3, 3)],
            "{:#?}",
            run.decisions
        );
        assert!(matches!(run.decisions[2].why, Why::Overshot(_)));
        assert!(matches!(run.decisions[3].why, Why::Rising(_)));
        assert_eq!(run.ctl.summary().peak, 8);
        // Probes of one more follow, and each is undone (or the files ran out).
        let later = &run.decisions[4..];
        assert!(!later.is_empty(), "{:#?}", run.decisions);
        for pair in later.chunks(2) {
            assert!(matches!(pair[0].why, Why::Probe { .. }), "{pair:#?}");
            assert_eq!((pair[0].from, pair[0].to), (3, 4));
            if let Some(undo) = pair.get(1) {
                assert!(matches!(undo.why, Why::Flat(_)), "{undo:#?}");
                assert_eq!(undo.to, 3);
            }
        }
    }

    #[test]
    fn small_files_by_the_hundred_are_measured_as_well() {
        // 200 files of 100 KiB to an index that answers each in 50 ms whatever the load:
        // latency-bound, so streams pay.
        let run = simulate(|n| n as f64 * 2.0 * MB, 200, 100 << 10, 8, &[]);
        assert_eq!(run.ctl.target(), 8, "{:#?}", run.decisions);
    }

    #[test]
    fn too_few_files_decide_nothing() {
        for files in [1, 2] {
            let run = simulate(link_bound, files, 20 << 20, 8, &[]);
            assert!(run.decisions.is_empty(), "{files}: {:#?}", run.decisions);
            assert_eq!(run.most, 1);
            assert_eq!(
                run.ctl.summary().to_string(),
                "1 at a time, max-parallel 8: too few files to measure more"
            );
        }
        // Three: the first alone, then both others at once; nothing left to judge them by.
        let run = simulate(link_bound, 3, 20 << 20, 8, &[]);
        assert_eq!(run.most, 2, "{:#?}", run.decisions);
        assert_eq!(steps(&run), [(1, 2)]);
    }

    #[test]
    fn a_ceiling_of_one_is_never_exceeded() {
        let run = simulate(link_bound, 10, 10 << 20, 1, &[]);
        assert!(run.decisions.is_empty(), "{:#?}", run.decisions);
        assert_eq!(run.most, 1);
    }

    #[test]
    fn pushback_halves_once_per_gap_and_the_doubling_does_not_resume() {
        // Two 429s in one burst at eight streams, then a failure much later.
        let run = simulate(
            link_bound,
            60,
            20 << 20,
            8,
            &[
                (9000, Pushback::RateLimited),
                (9100, Pushback::RateLimited),
                (14000, Pushback::Failed),
            ],
        );
        let cuts: Vec<(usize, usize)> = run
            .decisions
            .iter()
            .filter(|d| matches!(d.why, Why::Pushback(_)))
            .map(|d| (d.from, d.to))
            .collect();
        assert_eq!(cuts.len(), 2, "{:#?}", run.decisions);
        assert_eq!(cuts[0], (8, 4), "{:#?}", run.decisions);
        // After a cut only probes of one stream more follow, never a doubling.
        let after = run
            .decisions
            .iter()
            .skip_while(|d| !matches!(d.why, Why::Pushback(_)))
            .filter(|d| d.to > d.from)
            .all(|d| d.to == d.from + 1);
        assert!(after, "{:#?}", run.decisions);
    }

    #[test]
    fn pushback_at_one_stream_changes_nothing() {
        let mut ctl = Controller::new(8);
        assert_eq!(ctl.pushback(Duration::ZERO, Pushback::Failed), None);
        assert_eq!(ctl.target(), 1);
    }

    #[test]
    fn only_files_that_ran_at_the_level_count() {
        let mut ctl = Controller::new(8);
        let at = Duration::from_millis;
        let sample = |ms, active, available| Sample {
            at: at(ms),
            active,
            available,
        };
        let file = |started, secs: f64, clean| Finished {
            started: at(started),
            secs,
            bytes: 9 << 20,
            clean,
        };
        assert_eq!(ctl.observe(sample(0, 1, 1), None), None);
        // The first file: 9 MiB in 1 s. Room for two now.
        let d = ctl.observe(sample(1000, 1, 5), Some(file(0, 1.0, true)));
        assert_eq!(d.map(|d| (d.from, d.to)), Some((1, 2)));
        // A file that needed a retry says nothing, nor one that began before the change.
        assert_eq!(
            ctl.observe(sample(1500, 2, 4), Some(file(1000, 0.5, false))),
            None
        );
        assert_eq!(
            ctl.observe(sample(1100, 2, 3), Some(file(200, 0.9, true))),
            None
        );
        // Two clean files at two streams, each 9 MiB in 1 s: 18 MiB/s, double the one.
        assert_eq!(
            ctl.observe(sample(2000, 2, 2), Some(file(1000, 1.0, true))),
            None
        );
        let d = ctl
            .observe(sample(2100, 2, 2), Some(file(1100, 1.0, true)))
            .unwrap();
        assert!(matches!(d.why, Why::Rising(_)), "{d:?}");
        assert_eq!(d.to_string(), "staying at 2 streams: 2 streams carried 18.0 MiB/s, 1 stream 9.0 MiB/s (+100%): throughput rises with more streams");
    }

    #[test]
    fn a_queueing_index_is_at_worst_flattered_where_it_costs_nothing() {
        // An index that takes one upload at a time, 150 ms each, first come first served.
        // Two streams started together: B is served at once (done at 300 ms), C waits for it
        // (450 ms). The first cycle rates two streams a third above one, so they are kept,
        // though they carry no more: on such an index they carry no less either.
        let mut ctl = Controller::new(8);
        let ms = Duration::from_millis;
        let sample = |at, active| Sample {
            at: ms(at),
            active,
            available: 6,
        };
        let file = |started, at: u64| Finished {
            started: ms(started),
            secs: (at - started) as f64 / 1000.0,
            bytes: 1 << 20,
            clean: true,
        };
        ctl.observe(sample(0, 1), None);
        let d = ctl.observe(sample(150, 1), Some(file(0, 150))).unwrap();
        assert_eq!((d.from, d.to), (1, 2));
        assert_eq!(ctl.observe(sample(300, 2), Some(file(150, 300))), None);
        let d = ctl.observe(sample(450, 2), Some(file(150, 450))).unwrap();
        assert!(
            matches!(d.why, Why::Partial(m) if (m.gain() - 1.0 / 3.0).abs() < 0.01),
            "{d}"
        );
        assert_eq!(ctl.target(), 2);
    }

    #[test]
    fn decisions_read_well() {
        let m = Measured {
            streams: 2,
            rate: 20.0 * MB,
            before: 1,
            before_rate: 19.0 * MB,
        };
        let d = Decision {
            from: 2,
            to: 1,
            why: Why::Flat(m),
        };
        assert_eq!(
            d.to_string(),
            "2 -> 1 stream: 2 streams carried 20.0 MiB/s, 1 stream 19.0 MiB/s (+5%): not worth it; the limit is the index (or a link the streams share), not each connection"
        );
        let s = Summary {
            ceiling: 8,
            settled: 1,
            peak: 2,
            why: Some(d),
        };
        assert!(s
            .to_string()
            .starts_with("1 at a time (tried 2), max-parallel 8: 2 streams carried"));
        assert_eq!(rate(512.0 * 1024.0), "512 KiB/s");
    }
}
