//! Workflow commands and environment files, with `@actions/core`'s escaping rules, and the
//! one place every line this program writes passes through.
//!
//! Commands go to stdout as `::name key=value,...::message`. Messages escape `%`, CR and LF;
//! property values additionally escape `:` and `,` — otherwise a file name containing a comma
//! would silently cut an annotation short. Outputs and the summary are appended to the files
//! named by `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`.
//!
//! Much of what is printed comes from elsewhere: check names and messages from GitHub's API,
//! an index's error pages, file names inside archives. The runner reads every line of a
//! step's output for commands: a line that starts with `::` (after any white space), or one
//! that holds the legacy `##[` anywhere, is obeyed — `::add-mask::`, `::stop-commands::`
//! (which would silence our own masks and annotations), `::error::`. So [`Runtime`] writes
//! nothing it has not (1) redacted of every form of every credential it was told of
//! ([`Runtime::mask`]), and (2) split into lines the way any reader might split them and
//! made inert: a leading `::` becomes `%3A:`, every `##[` becomes `##%5B`, and control or
//! invisible characters (which the runner's culture-aware matching may skip over, or a
//! terminal may obey) are shown as `\u{…}`. Our own commands are built by [`command`] alone.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::Env;
use crate::secret::{Redactor, Secret};

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

/// Format one workflow command line (without the trailing newline). Every line break any
/// reader knows (`\u{2028}` and friends too) becomes `%0A`, and invisible or control
/// characters are shown, so the command stays one line that reads as written.
pub fn command(name: &str, props: &[(&str, &str)], message: &str) -> String {
    let mut out = format!("::{name}");
    let props: Vec<String> = props
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(&visible(&one_line(v)))))
        .collect();
    if !props.is_empty() {
        out.push(' ');
        out.push_str(&props.join(","));
    }
    out.push_str("::");
    out.push_str(&escape_data(&visible(&one_line(message))));
    out
}

/// The characters any reader of a log may end a line at: the runner (.NET `ReadLine`) splits
/// on CR and LF, editors and browsers on the Unicode separators too.
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Every line break as `\n` (CRLF as one), for [`escape_data`] to encode.
fn one_line(s: &str) -> String {
    s.replace("\r\n", "\n").replace(is_line_break, "\n")
}

/// Characters that print nothing or act on the reader: control characters (a terminal obeys
/// escape sequences), and default-ignorable ones (zero-width, bidi overrides, the BOM), which
/// hide text and which the runner's culture-aware `StartsWith("::")`/`IndexOf("##[")` may
/// skip over. Shown as `\u{…}` instead.
fn is_hidden(c: char) -> bool {
    let u = c as u32;
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(
            u,
            0xAD | 0x34F
                | 0x61C
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x202A..=0x202E
                | 0x2060..=0x206F
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF0..=0xFFF8
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0000..=0xE0FFF
        )
}

/// `s` with every hidden character shown as `\u{…}` (see [`is_hidden`]).
pub fn visible(s: &str) -> String {
    if !s.chars().any(is_hidden) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as the plain lines to print: split at every line break, hidden characters shown,
/// and nothing the runner would take for a command — a leading `::` (after white space, as
/// the runner trims it) and the legacy `##[` anywhere are escaped.
pub fn inert_lines(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n");
    text.split(is_line_break)
        .map(|line| {
            let mut line = visible(line).replace("##[", "##%5B");
            let lead = line.len() - line.trim_start().len();
            if line[lead..].starts_with("::") {
                line.replace_range(lead..lead + 1, "%3A");
            }
            line
        })
        .collect()
}

/// JSON for stdout, its meaning unchanged but inert: `##[` and invisible or line-breaking
/// characters (which only occur inside strings) written as `\u` escapes.
pub fn inert_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_hidden(c) || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    // The replacement holds no `[`, so no new `##[` can form.
    out.replace("##[", "##\\u005b")
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
/// output and summary files. All writing goes through it, so every credential it was told of
/// is cut out first, and no line can act as a command. Cheap to clone (shared inside), so a
/// logger that must outlive a borrow can hold one.
#[derive(Clone)]
pub struct Runtime {
    actions: bool,
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    err: Arc<Mutex<Box<dyn Write + Send>>>,
    redactor: Arc<RwLock<Redactor>>,
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
            out: Arc::new(Mutex::new(Box::new(io::stdout()))),
            err: Arc::new(Mutex::new(Box::new(io::stderr()))),
            redactor: Arc::default(),
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
            out: Arc::new(Mutex::new(out)),
            err: Arc::new(Mutex::new(err)),
            redactor: Arc::default(),
        }
    }

    /// `text` with every form of every known credential cut out.
    pub fn redact(&self, text: &str) -> String {
        match self.redactor.read() {
            Ok(r) => r.redact(text),
            Err(e) => e.into_inner().redact(text),
        }
    }

    /// Write a line we built ourselves (a command, a blank line): only redacted.
    fn raw_out(&self, line: &str) {
        if let Ok(mut w) = self.out.lock() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }

    /// Write text of any origin: redacted, then each line made inert.
    fn print_to(&self, sink: &Mutex<Box<dyn Write + Send>>, text: &str) {
        let lines = inert_lines(&self.redact(text));
        if let Ok(mut w) = sink.lock() {
            for line in lines {
                let _ = writeln!(w, "{line}");
            }
            let _ = w.flush();
        }
    }

    /// Register a secret: the runner's log masker gets it (in Actions), and from now on
    /// every form of it is cut out of everything this runtime writes. Must run before
    /// anything that could print it.
    pub fn mask(&self, secret: &Secret) {
        if secret.expose().is_empty() {
            return;
        }
        // Never fail open: a poisoned lock still takes the secret.
        self.redactor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(secret);
        if self.actions {
            // Mask each line too: the runner matches masks per log line.
            self.raw_out(&command_raw("add-mask", secret.expose()));
            for line in secret.expose().lines().filter(|l| l.len() > 3) {
                if line != secret.expose() {
                    self.raw_out(&command_raw("add-mask", line));
                }
            }
        }
    }

    /// A user name credentials are sent with: its `user:password` (Basic) forms of every
    /// secret are cut out too.
    pub fn mask_user(&self, user: &str) {
        self.redactor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add_user(user);
    }

    pub fn info(&self, message: &str) {
        self.print_to(&self.out, message);
    }

    /// Data for stdout (`--json`, a report): redacted, each line inert.
    pub fn print(&self, text: &str) {
        self.print_to(&self.out, text);
    }

    /// JSON for stdout: redacted, and inert by JSON's own escapes, so it parses the same.
    pub fn print_json(&self, json: &str) {
        let json = inert_json(&self.redact(json));
        if let Ok(mut w) = self.out.lock() {
            let _ = writeln!(w, "{json}");
            let _ = w.flush();
        }
    }

    /// A line for stderr (progress and diagnostics of the command-line tools).
    pub fn eprint(&self, text: &str) {
        self.print_to(&self.err, text);
    }

    /// A writer whose every complete line goes through [`Runtime::print`] (stdout) or
    /// [`Runtime::eprint`] (stderr), for code that writes to a `Write`.
    pub fn writer(&self, stderr: bool) -> LineWriter {
        LineWriter {
            rt: self.clone(),
            stderr,
            pending: Vec::new(),
        }
    }

    pub fn annotate(&self, level: Level, message: &str, at: &Annotation) {
        let message = self.redact(message);
        let title = at.title.as_deref().map(|t| self.redact(t));
        let file = at.file.as_deref().map(|f| self.redact(f));
        if self.actions {
            let line = at.line.map(|l| l.to_string()).unwrap_or_default();
            let props = [
                ("title", title.as_deref().unwrap_or("")),
                ("file", file.as_deref().unwrap_or("")),
                ("line", line.as_str()),
            ];
            self.raw_out(&command(level.command(), &props, &message));
        } else {
            let mut text = format!("{}: ", level.command());
            if let Some(f) = &file {
                text.push_str(f);
                if let Some(l) = at.line {
                    text.push_str(&format!(":{l}"));
                }
                text.push_str(": ");
            }
            text.push_str(&message);
            self.print_to(&self.err, &text);
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
            self.raw_out(&command("group", &[], &self.redact(name)));
        } else {
            self.print_to(&self.out, &format!("== {name}"));
        }
    }

    pub fn group_end(&self) {
        if self.actions {
            self.raw_out("::endgroup::");
        }
    }

    /// Set a step output (redacted). In Actions without `GITHUB_OUTPUT` (very old runners)
    /// there is no safe way left (`::set-output` is disabled), so it is an error; outside
    /// Actions the value is printed so a local run still shows it.
    pub fn set_output(&self, name: &str, value: &str) -> io::Result<()> {
        let value = self.redact(value);
        match &self.output_file {
            Some(path) => append(path, &output_entry(name, &value, &random_delimiter())?),
            None if self.actions => Err(io::Error::other(
                "GITHUB_OUTPUT is not set; this runner is too old to receive step outputs",
            )),
            None => {
                self.print_to(&self.out, &format!("{name}={value}"));
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

    /// Append Markdown to the job summary (redacted). Outside Actions it is dropped: the
    /// terminal report already says the same in plain text.
    pub fn summary(&self, markdown: &str) -> io::Result<()> {
        match &self.summary_file {
            Some(path) => append(path, &self.redact(markdown)),
            None => Ok(()),
        }
    }
}

/// `add-mask` takes the secret as it is: only what would end the line is escaped, or the
/// runner would mask a different string.
fn command_raw(name: &str, message: &str) -> String {
    format!("::{name}::{}", escape_data(message))
}

/// A `Write` that hands each complete line to the runtime (see [`Runtime::writer`]); what
/// is left without a line break is written when it is dropped.
pub struct LineWriter {
    rt: Runtime,
    stderr: bool,
    pending: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self, upto: usize) {
        let line: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if self.stderr {
            self.rt.eprint(text);
        } else {
            self.rt.print(text);
        }
    }
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            self.emit(i + 1);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let n = self.pending.len();
            self.emit(n);
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

    /// What the runner would obey on one line of our output (after its `TrimStart`): a
    /// `::` command at the start, a legacy `##[` command anywhere.
    fn runner_command(line: &str) -> bool {
        line.trim_start().starts_with("::") || line.contains("##[")
    }

    #[test]
    fn untrusted_text_never_becomes_a_command() {
        let (rt, out, _) = runtime(true, None);
        for hostile in [
            "check\n::add-mask::x",
            "check\r::error::x",
            "check\r\n::warning title=t::x",
            "a\u{2028}::stop-commands::tok",
            "a\u{2029}::group::g",
            "a\u{85}::endgroup::",
            "a\u{0B}::error::vt",
            "a\u{0C}::error::ff",
            "  \t::error::indented",
            "\u{a0}\u{3000}::error::unicode spaces",
            "\u{200b}::error::zero width",
            "\u{feff}::error::bom",
            ":\u{200b}:error::split",
            "name ##[add-mask]x",
            "#\u{200b}#[error]x",
            "\u{1b}]8;;https://evil/\u{7}link\u{1b}]8;;\u{7} \u{1b}[2J",
            "\u{202e}txt.exe",
        ] {
            rt.info(hostile);
            rt.warning(hostile);
            rt.group_start(hostile);
            rt.annotate(
                Level::Error,
                hostile,
                &Annotation {
                    title: Some(hostile.into()),
                    file: Some(hostile.into()),
                    line: Some(1),
                },
            );
        }
        let text = out.text();
        for line in text.lines() {
            let ours = ["::warning::", "::error ", "::group::", "::add-mask::"]
                .iter()
                .any(|p| line.starts_with(p));
            if !ours {
                assert!(!runner_command(line), "{line:?}");
            }
            // Nothing hidden anywhere; in our own commands a `##[` is data (the runner parses
            // the `::` form first and takes the rest of the line as the message).
            assert!(!line.chars().any(is_hidden), "{line:?}");
        }
        assert!(text.contains("%3A:add-mask::x"), "{text}");
        assert!(text.contains("##%5Badd-mask]x"), "{text}");
        assert!(text.contains("\\u{1b}[2J"), "{text}");
        // In a command the Unicode separators are line breaks, encoded as the runner reads them.
        assert!(
            text.contains("::warning::a%0A::stop-commands::tok"),
            "{text}"
        );
    }

    #[test]
    fn already_encoded_text_stays_literal() {
        // `%0A` from a server must reach the annotation as the three characters it is.
        let line = command("error", &[("file", "a%0A::b")], "x%0A::error::y");
        assert_eq!(line, "::error file=a%250A%3A%3Ab::x%250A::error::y");
    }

    #[test]
    fn credentials_are_cut_from_every_sink() {
        let dir = tempfile::tempdir().unwrap();
        let (output, summary) = (dir.path().join("out"), dir.path().join("sum"));
        let (o, e) = (Buf::default(), Buf::default());
        let rt = Runtime::with_writers(
            true,
            Some(output.clone()),
            Some(summary.clone()),
            Box::new(o.clone()),
            Box::new(e.clone()),
        );
        let token = "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw";
        rt.mask(&Secret::new(token));
        rt.mask_user("deploy");
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("deploy:{token}"),
        );
        let echo = format!(
            "server said: Basic {basic} / Bearer {token} / {}",
            &token[..12]
        );
        rt.info(&echo);
        rt.warning(&echo);
        rt.annotate(
            Level::Error,
            &echo,
            &Annotation {
                title: Some(echo.clone()),
                file: Some(token.into()),
                line: None,
            },
        );
        rt.set_output("reason", &echo).unwrap();
        rt.summary(&echo).unwrap();
        rt.print_json(&serde_json::json!({ "e": echo }).to_string());
        let all = format!(
            "{}{}{}{}",
            o.text(),
            e.text(),
            std::fs::read_to_string(&output).unwrap(),
            std::fs::read_to_string(&summary).unwrap()
        );
        // The user's own part of the Basic value is no secret; the token's part goes.
        for line in all.lines().filter(|l| !l.starts_with("::add-mask::")) {
            assert!(!line.contains(&token[..8]), "{line}");
            assert!(!line.contains(&basic[8..20]), "{line}");
        }
        assert!(
            all.contains("server said: Basic ZGVwbG95O*** / Bearer *** / ***"),
            "{all}"
        );
    }

    #[test]
    fn json_stays_json_and_inert() {
        let (rt, out, _) = runtime(true, None);
        let value = serde_json::json!({ "name": "##[add-mask]x \u{2028}::error::y \u{202e}" });
        rt.print_json(&serde_json::to_string_pretty(&value).unwrap());
        let text = out.text();
        assert!(!text.contains("##[") && !text.contains('\u{2028}') && !text.contains('\u{202e}'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn a_writer_passes_whole_lines_through() {
        let (rt, out, _) = runtime(true, None);
        {
            let mut w = rt.writer(false);
            write!(w, "1.2.0\n::error::x").unwrap();
        }
        assert_eq!(out.text(), "1.2.0\n%3A:error::x\n");
    }

    proptest::proptest! {
        #[test]
        fn no_text_prints_a_runner_command(text in "(\\PC|[\n\r\u{85}\u{2028}\u{2029}\u{200b}\u{1b}:#\\[ ]){0,60}") {
            for line in inert_lines(&text) {
                proptest::prop_assert!(!runner_command(&line), "{:?} -> {:?}", text, line);
                proptest::prop_assert!(!line.chars().any(is_line_break), "{:?}", line);
            }
            let cmd = command("warning", &[("title", &text)], &text);
            proptest::prop_assert!(!cmd.chars().any(is_line_break) && !cmd.contains("##["), "{:?}", cmd);
        }
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
