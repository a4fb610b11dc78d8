//! Per-file upload progress bars on a terminal (indicatif). In Actions the log gets one line
//! per file instead (a bar redrawn in a log is noise), and when stderr is not a terminal
//! nothing is drawn.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::index::Progress;

const TEMPLATE: &str =
    "{msg:<60!} {bar:30.cyan/blue} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4}";
const REDRAW: Duration = Duration::from_millis(100);

pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    active: bool,
}

impl Bars {
    /// Bars only when asked for and stderr is a terminal.
    pub fn new(wanted: bool) -> Bars {
        let active = wanted && std::io::stderr().is_terminal();
        Bars::with_target(
            active,
            if active {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        )
    }

    fn with_target(active: bool, target: ProgressDrawTarget) -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            active,
        }
    }

    /// A bar for `filename`, following `progress` until [`Bars::finish`]. Needs a tokio
    /// runtime (the bar is refreshed by a small task).
    pub fn start(&self, filename: &str, size: u64, progress: Arc<Progress>) {
        if !self.active {
            return;
        }
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = self
            .multi
            .add(ProgressBar::new(size).with_style(style))
            .with_message(filename.to_string());
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(filename.to_string(), bar.clone());
        }
        tokio::spawn(async move {
            while !bar.is_finished() {
                // A retry starts again from zero; the bar follows.
                bar.set_position(progress.sent());
                tokio::time::sleep(REDRAW).await;
            }
        });
    }

    /// End `filename`'s bar with a short result.
    pub fn finish(&self, filename: &str, result: &str) {
        let bar = self.bars.lock().ok().and_then(|mut b| b.remove(filename));
        if let Some(bar) = bar {
            bar.finish_with_message(format!("{filename}: {result}"));
        }
    }

    /// Print without tearing the bars.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bars_follow_and_finish_without_a_terminal() {
        let bars = Bars::with_target(true, ProgressDrawTarget::hidden());
        let p = Arc::new(Progress::default());
        bars.start("a.whl", 10, p.clone());
        assert_eq!(bars.bars.lock().unwrap().len(), 1);
        bars.finish("a.whl", "uploaded");
        assert!(bars.bars.lock().unwrap().is_empty());
        bars.finish("unknown.whl", "uploaded");
        assert_eq!(bars.suspend(|| 7), 7);
        // Inactive: nothing tracked.
        let off = Bars::new(false);
        off.start("b.whl", 10, p);
        assert!(off.bars.lock().unwrap().is_empty());
    }
}
