//! Workflow commands and environment files, with `@actions/core`'s escaping rules.
//!
//! Commands go to stdout as `::name key=value,...::message`. Messages escape `%`, CR and LF;
//! property values additionally escape `:` and `,` — otherwise a file name containing a comma
//! would silently cut an annotation short. Outputs and the summary are appended to the files
//! named by `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::Env;
use crate::secret::Secret;

/// Escape a command's message (`@actions/core` `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a command property value (`@actions/core` `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Format one workflow command line (without the trailing newline).
pub fn command(name: &str, props: &[(&str, &str)], message: &str) -> String {
    let mut out = format!("::{name}");
    let props: Vec<String> = props
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    if !props.is_empty() {
        out.push(' ');
        out.push_str(&props.join(","));
    }
    out.push_str("::");
    out.push_str(&escape_data(message));
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// Where an annotation points: GitHub shows it on that file (and line) in the run's UI.
#[derive(Debug, Clone, Default)]
pub struct Annotation {
    pub title: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// Format an output for `$GITHUB_OUTPUT` in the heredoc form `@actions/core` uses for every
/// value, with a random delimiter so a value can never close the block early and inject
/// further outputs.
pub fn output_entry(name: &str, value: &str, delimiter: &str) -> io::Result<String> {
    if name.contains(delimiter) || value.contains(delimiter) {
        return Err(io::Error::other(format!(
            "output `{name}`: its value contains the delimiter; refusing to write it"
        )));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// A fresh `ghadelimiter_<32 hex>` from the OS random source.
pub fn random_delimiter() -> String {
    let mut bytes = [0u8; 16];
    // getrandom only fails on platforms without an entropy source; fall back to time+pid so
    // output writing never aborts (the value check in `output_entry` still guards injection).
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes[..16].copy_from_slice(&(t ^ u128::from(std::process::id())).to_le_bytes());
    }
    format!("ghadelimiter_{}", hex::encode(bytes))
}

/// The runner's environment files, unusable.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("GITHUB_OUTPUT is not set, so this step's outputs (should-publish, version, ...) cannot be passed on; the runner sets it (this runner may be too old: update it), or run outside Actions without GITHUB_ACTIONS=true")]
    OutputUnset,
    #[error("{var} `{}` cannot be written: {source}. The runner sets it to a file it creates; do not override it in the workflow's `env:` (outside Actions, point it at a writable file or unset it)", path.display())]
    Unwritable {
        var: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// The runtime: prints commands (in Actions) or plain text (elsewhere), and appends to the
/// output and summary files. All printing goes through it, so masking happens first.
pub struct Runtime {
    actions: bool,
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    out: Mutex<Box<dyn Write + Send>>,
    err: Mutex<Box<dyn Write + Send>>,
}

impl Runtime {
    /// True inside a GitHub Actions job (workflow commands are understood).
    pub fn is_actions(&self) -> bool {
        self.actions
    }

    pub fn from_env(env: &dyn Env) -> Self {
        let actions = env.get("GITHUB_ACTIONS").as_deref() == Some("true");
        let file = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        Runtime {
            actions,
            output_file: file("GITHUB_OUTPUT"),
            summary_file: file("GITHUB_STEP_SUMMARY"),
            out: Mutex::new(Box::new(io::stdout())),
            err: Mutex::new(Box::new(io::stderr())),
        }
    }

    #[cfg(test)]
    /// A runtime writing into the given sinks, for tests.
    pub fn with_writers(
        actions: bool,
        output_file: Option<PathBuf>,
        summary_file: Option<PathBuf>,
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
    ) -> Self {
        Runtime {
            actions,
            output_file,
            summary_file,
            out: Mutex::new(out),
            err: Mutex::new(err),
        }
    }

    fn print_out(&self, line: &str) {
        if let Ok(mut w) = self.out.lock() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }

    fn print_err(&self, line: &str) {
        if let Ok(mut w) = self.err.lock() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }

    /// Register a secret with the runner's log masker. Must run before anything that could
    /// print it; outside Actions there is no masker and nothing to print.
    pub fn mask(&self, secret: &Secret) {
        if self.actions && !secret.expose().is_empty() {
            // Mask each line too: the runner matches masks per log line.
            self.print_out(&command("add-mask", &[], secret.expose()));
            for line in secret.expose().lines().filter(|l| l.len() > 3) {
                if line != secret.expose() {
                    self.print_out(&command("add-mask", &[], line));
                }
            }
        }
    }

    pub fn info(&self, message: &str) {
        self.print_out(message);
    }

    pub fn annotate(&self, level: Level, message: &str, at: &Annotation) {
        if self.actions {
            let line = at.line.map(|l| l.to_string()).unwrap_or_default();
            let props = [
                ("title", at.title.as_deref().unwrap_or("")),
                ("file", at.file.as_deref().unwrap_or("")),
                ("line", line.as_str()),
            ];
            self.print_out(&command(level.command(), &props, message));
        } else {
            let mut text = format!("{}: ", level.command());
            if let Some(f) = &at.file {
                text.push_str(f);
                if let Some(l) = at.line {
                    text.push_str(&format!(":{l}"));
                }
                text.push_str(": ");
            }
            text.push_str(message);
            self.print_err(&text);
        }
    }

    pub fn error(&self, message: &str) {
        self.annotate(Level::Error, message, &Annotation::default());
    }

    pub fn warning(&self, message: &str) {
        self.annotate(Level::Warning, message, &Annotation::default());
    }

    pub fn notice(&self, message: &str) {
        self.annotate(Level::Notice, message, &Annotation::default());
    }

    pub fn group_start(&self, name: &str) {
        if self.actions {
            self.print_out(&command("group", &[], name));
        } else {
            self.print_out(&format!("== {name}"));
        }
    }

    pub fn group_end(&self) {
        if self.actions {
            self.print_out("::endgroup::");
        }
    }

    /// Set a step output. In Actions without `GITHUB_OUTPUT` (very old runners) there is no
    /// safe way left (`::set-output` is disabled), so it is an error; outside Actions the
    /// value is printed so a local run still shows it.
    pub fn set_output(&self, name: &str, value: &str) -> io::Result<()> {
        match &self.output_file {
            Some(path) => append(path, &output_entry(name, value, &random_delimiter())?),
            None if self.actions => Err(io::Error::other(
                "GITHUB_OUTPUT is not set; this runner is too old to receive step outputs",
            )),
            None => {
                self.print_out(&format!("{name}={value}"));
                Ok(())
            }
        }
    }

    /// Check, before any stage runs, that the output and summary files can be appended to
    /// (the runner creates them; a directory or a path in a missing folder cannot be), and
    /// that a job in Actions has an output file at all. Opening for append creates nothing
    /// the runner would not and writes no byte. Without this a run would publish and only
    /// then find it cannot report what it published.
    pub fn preflight(&self) -> Result<(), FileError> {
        if self.actions && self.output_file.is_none() {
            return Err(FileError::OutputUnset);
        }
        for (var, file) in [
            ("GITHUB_OUTPUT", &self.output_file),
            ("GITHUB_STEP_SUMMARY", &self.summary_file),
        ] {
            if let Some(path) = file {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| FileError::Unwritable {
                        var,
                        path: path.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Append Markdown to the job summary. Outside Actions it is dropped: the terminal
    /// report already says the same in plain text.
    pub fn summary(&self, markdown: &str) -> io::Result<()> {
        match &self.summary_file {
            Some(path) => append(path, markdown),
            None => Ok(()),
        }
    }
}

fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn runtime(actions: bool, output: Option<PathBuf>) -> (Runtime, Buf, Buf) {
        let (o, e) = (Buf::default(), Buf::default());
        let rt = Runtime::with_writers(
            actions,
            output,
            None,
            Box::new(o.clone()),
            Box::new(e.clone()),
        );
        (rt, o, e)
    }

    #[test]
    fn escapes_like_actions_core() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            command(
                "error",
                &[("file", "dist/a,b.whl"), ("line", "")],
                "bad: 100%"
            ),
            "::error file=dist/a%2Cb.whl::bad: 100%25"
        );
        assert_eq!(command("endgroup", &[], ""), "::endgroup::");
    }

    #[test]
    fn annotations_in_actions_and_on_a_terminal() {
        let (rt, out, _) = runtime(true, None);
        let at = Annotation {
            title: Some("check".into()),
            file: Some("dist/x.whl".into()),
            line: Some(3),
        };
        rt.annotate(Level::Warning, "two\nlines", &at);
        assert_eq!(
            out.text(),
            "::warning title=check,file=dist/x.whl,line=3::two%0Alines\n"
        );

        let (rt, out, err) = runtime(false, None);
        rt.annotate(Level::Error, "broken", &at);
        assert_eq!(out.text(), "");
        assert_eq!(err.text(), "error: dist/x.whl:3: broken\n");
    }

    #[test]
    fn masks_only_in_actions_and_every_line() {
        let (rt, out, _) = runtime(true, None);
        rt.mask(&Secret::new("abcd\nefgh"));
        assert_eq!(
            out.text(),
            "::add-mask::abcd%0Aefgh\n::add-mask::abcd\n::add-mask::efgh\n"
        );
        let (rt, out, err) = runtime(false, None);
        rt.mask(&Secret::new("abcd"));
        assert_eq!(out.text() + &err.text(), "");
    }

    #[test]
    fn outputs_use_a_random_heredoc_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let (rt, _, _) = runtime(true, Some(path.clone()));
        rt.set_output("uploaded", "a.whl\nb.tar.gz").unwrap();
        rt.set_output("target", "pypi").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7);
        let d1 = lines[0].strip_prefix("uploaded<<").unwrap();
        assert!(d1.starts_with("ghadelimiter_") && d1.len() == "ghadelimiter_".len() + 32);
        assert_eq!(&lines[1..4], &["a.whl", "b.tar.gz", d1]);
        let d2 = lines[4].strip_prefix("target<<").unwrap();
        assert_ne!(d1, d2, "each output gets a fresh delimiter");
        assert_eq!(&lines[5..], &["pypi", d2]);
    }

    #[test]
    fn a_value_containing_the_delimiter_is_refused() {
        let err = output_entry("x", "a\nEOF\nb", "EOF").unwrap_err();
        assert!(err.to_string().contains("delimiter"));
    }

    #[test]
    fn output_without_file_in_actions_is_an_error_and_printed_locally() {
        let (rt, _, _) = runtime(true, None);
        assert!(rt.set_output("a", "b").is_err());
        let (rt, out, _) = runtime(false, None);
        rt.set_output("a", "b").unwrap();
        assert_eq!(out.text(), "a=b\n");
    }

    #[test]
    fn groups_only_fold_in_actions() {
        let (rt, out, _) = runtime(true, None);
        rt.group_start("Publish");
        rt.group_end();
        assert_eq!(out.text(), "::group::Publish\n::endgroup::\n");
        let (rt, out, _) = runtime(false, None);
        rt.group_start("Publish");
        rt.group_end();
        assert_eq!(out.text(), "== Publish\n");
    }
}
