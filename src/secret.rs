//! A string that must never be printed: tokens and passwords, and the one redactor that
//! cuts every form of them out of text.
//!
//! `Debug` and `Display` are redacted so that a secret that slips into an error message or a
//! `{:?}` shows as `***` instead of its value. The only way to read it is [`Secret::expose`],
//! which makes every use greppable.
//!
//! A server can echo a credential in forms other than the raw value: cut short by a
//! truncation, percent-encoded (either hex case), JSON- or HTML-escaped, inside an echoed
//! `Authorization: Basic <base64 of user:password>` header, base64 at any byte alignment.
//! [`Redactor`] knows all of them: every form is generated once, and any run of at least
//! [`WINDOW`] characters of any form (compared ASCII-case-insensitively) is cut from the
//! text, so a prefix, a suffix or a middle piece of a token is caught as well as the whole.

use std::collections::HashSet;
use std::fmt;

use base64::Engine;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for the one place that must send it (an HTTP header, a mask command).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` (what a server answered) with every form of the value cut out, so it can be
    /// printed. Redact before cutting text short: a cut can split a form in two.
    pub fn redact(&self, text: &str) -> String {
        let mut r = Redactor::default();
        r.add(self);
        r.redact(text)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Whether an environment variable holds a credential by its name (`*TOKEN`, `*PASSWORD`:
/// `INPUT_PYPI-TOKEN`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `GITHUB_TOKEN`, ...). Every child
/// that does not need one runs without them: what a child runs may be code from an index,
/// or may print its environment.
pub fn is_credential_var(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    name.ends_with("TOKEN") || name.ends_with("PASSWORD")
}

/// Remove every credential variable of this process from a child's environment.
pub fn without_credentials(cmd: &mut std::process::Command) -> &mut std::process::Command {
    without_credentials_except(cmd, &[])
}

/// [`without_credentials`], keeping those whose names start with one of `keep` (a tool's
/// own credentials: `PIP_`, `UV_`).
pub fn without_credentials_except<'c>(
    cmd: &'c mut std::process::Command,
    keep: &[&str],
) -> &'c mut std::process::Command {
    for (k, _) in std::env::vars_os() {
        let name = k.to_string_lossy().to_ascii_uppercase();
        if is_credential_var(&k) && !keep.iter().any(|p| name.starts_with(p)) {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A URL-like value as it may be shown in an error: any `user:password@` before its host
/// replaced by `***@`, whether or not the rest parses (a value is often shown because it
/// does not). `https://u:pw@host/x` -> `https://***@host/x`.
pub fn url_shown(raw: &str) -> String {
    // `://` ends a scheme only after one (`u:pw@host/cb?next=https://x` has none).
    let scheme = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    };
    let Some(scheme_end) = raw
        .find("://")
        .filter(|&i| scheme(&raw[..i]))
        .map(|i| i + 3)
    else {
        // No scheme: the authority, if any, runs to the first `/`.
        return hide_userinfo(raw, 0);
    };
    hide_userinfo(raw, scheme_end)
}

/// Free text as it may be shown (a line of a requirements file, a command line): every
/// URL in it through [`url_shown`], the rest as is.
pub fn urls_shown(text: &str) -> String {
    // `=` too: `--index-url=https://u:pw@host/` is an option and a URL.
    text.split_inclusive(|c: char| c.is_whitespace() || c == '=')
        .map(|t| {
            if t.contains("://") {
                url_shown(t)
            } else {
                t.to_owned()
            }
        })
        .collect()
}

fn hide_userinfo(raw: &str, from: usize) -> String {
    let rest = &raw[from..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}{REDACTED}{}", &raw[..from], &rest[at..]),
        None => raw.to_owned(),
    }
}

/// The shortest piece of a credential's form that is cut out wherever it appears. Eight
/// characters of a random token are ~48 bits: such a run in other text is not a coincidence.
pub const WINDOW: usize = 8;

/// Shorter values only mangle the text without protecting anything.
pub const MIN_SECRET: usize = 6;

/// What replaces a credential in text.
pub const REDACTED: &str = "***";

/// The user names a credential travels with in `Authorization: Basic` (PyPI's API tokens,
/// git's token user, GitHub's any-user convention); others are added as they are used.
const KNOWN_USERS: &[&str] = &["__token__", "x-access-token", "token", "oauth2"];

/// Every credential of a run and every form it can take in text; [`Redactor::redact`] cuts
/// them all out. Forms are generated when a secret is added, so redacting is one pass.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// The raw values, to derive `user:password` forms when a user name is added later.
    values: Vec<String>,
    users: Vec<String>,
    /// Every [`WINDOW`]-character run of every form, ASCII-lower-cased, as a `u64`.
    windows: HashSet<u64>,
    /// The forms of values shorter than [`WINDOW`], matched whole (lower-cased).
    short: Vec<Vec<u8>>,
    /// The first characters of every form, for text that was cut short (lower-cased).
    heads: Vec<Vec<u8>>,
}

impl Redactor {
    /// Know `secret` (and every form of it) from now on. Empty and very short values are
    /// ignored (see [`MIN_SECRET`]).
    pub fn add(&mut self, secret: &Secret) {
        let value = secret.expose();
        if value.chars().count() < MIN_SECRET || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        let users: Vec<String> = KNOWN_USERS
            .iter()
            .map(|u| u.to_string())
            .chain(self.users.iter().cloned())
            .collect();
        for form in forms(value, &users) {
            self.learn(&form);
        }
        // A secret of several lines is also printed (and masked) line by line.
        for line in value.lines().filter(|l| *l != value) {
            if line.chars().count() >= MIN_SECRET {
                for form in forms(line, &[]) {
                    self.learn(&form);
                }
            }
        }
    }

    /// A user name credentials are sent with: its `user:password` forms join every secret's.
    pub fn add_user(&mut self, user: &str) {
        if user.is_empty() || KNOWN_USERS.contains(&user) || self.users.iter().any(|u| u == user) {
            return;
        }
        self.users.push(user.to_owned());
        let pairs: Vec<String> = self
            .values
            .iter()
            .flat_map(|v| basic_forms(user, v))
            .collect();
        for form in pairs {
            self.learn(&form);
        }
    }

    /// No secret known: nothing to cut.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn learn(&mut self, form: &str) {
        let lower = form.to_ascii_lowercase().into_bytes();
        if lower.len() < WINDOW {
            if lower.len() >= MIN_SECRET && !self.short.contains(&lower) {
                self.short.push(lower.clone());
            }
        } else {
            for w in lower.windows(WINDOW) {
                self.windows.insert(key(w));
            }
        }
        let head = lower.get(..WINDOW.min(lower.len())).unwrap_or_default();
        if !head.is_empty() && !self.heads.iter().any(|h| h == head) {
            self.heads.push(head.to_vec());
        }
    }

    /// `text` with every known form of every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.cut(text, false)
    }

    /// [`Redactor::redact`] for text that was cut short (a capped read, a truncated
    /// message): a form's first few characters at the very end are cut out too, since the
    /// rest of it was lost at the cut.
    pub fn redact_truncated(&self, text: &str) -> String {
        self.cut(text, true)
    }

    fn cut(&self, text: &str, truncated: bool) -> String {
        if self.values.is_empty() || text.is_empty() {
            return text.to_owned();
        }
        let lower = text.to_ascii_lowercase().into_bytes();
        let n = lower.len();
        let mut hit = vec![false; n];
        let mut any = false;
        let mark = |from: usize, to: usize, hit: &mut Vec<bool>| {
            for h in &mut hit[from..to] {
                *h = true;
            }
        };
        if n >= WINDOW && !self.windows.is_empty() {
            for i in 0..=n - WINDOW {
                if self.windows.contains(&key(&lower[i..i + WINDOW])) {
                    mark(i, i + WINDOW, &mut hit);
                    any = true;
                }
            }
        }
        for s in &self.short {
            let mut from = 0;
            while let Some(p) = find(&lower[from..], s) {
                mark(from + p, from + p + s.len(), &mut hit);
                any = true;
                from += p + 1;
            }
        }
        if truncated {
            // The longest head of a form the text ends with (4 characters or more).
            let tail = self
                .heads
                .iter()
                .flat_map(|h| (4..=h.len()).map(move |l| &h[..l]))
                .filter(|p| lower.ends_with(p))
                .map(<[u8]>::len)
                .max();
            if let Some(l) = tail {
                mark(n - l, n, &mut hit);
                any = true;
            }
        }
        if !any {
            return text.to_owned();
        }
        // Whole characters only: a character any of whose bytes is hit goes entirely, and a
        // run of hit characters becomes one `***`.
        let mut out = String::with_capacity(text.len());
        let mut in_cut = false;
        for (i, c) in text.char_indices() {
            if hit[i..i + c.len_utf8()].iter().any(|h| *h) {
                if !in_cut {
                    out.push_str(REDACTED);
                    in_cut = true;
                }
            } else {
                out.push(c);
                in_cut = false;
            }
        }
        out
    }
}

fn key(w: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&w[..WINDOW]);
    u64::from_le_bytes(b)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Every form `value` can take in text a server writes back.
fn forms(value: &str, users: &[String]) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut out = vec![
        value.to_owned(),
        // Percent-encoded: the reserved characters only (URLs' userinfo, query strings), or
        // every byte; either hex case (matching ignores ASCII case).
        percent(bytes, |b| {
            !(b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        }),
        percent(bytes, |_| true),
        url::form_urlencoded::byte_serialize(bytes).collect(),
        // JSON strings: serde's escapes, `\/` as some servers write it, and `\uXXXX` for
        // everything outside ASCII (Python's default).
        json_escape(value, false),
        json_escape(value, false).replace('/', "\\/"),
        json_escape(value, true),
        html_escape::encode_quoted_attribute(value).into_owned(),
    ];
    out.extend(base64_forms(bytes));
    for u in users {
        out.extend(basic_forms(u, value));
    }
    out.sort();
    out.dedup();
    out
}

/// `Authorization: Basic` for `user:value`, as sent and as URL-safe base64, from the first
/// character that holds a bit of the value: the user's own part is no secret.
fn basic_forms(user: &str, value: &str) -> Vec<String> {
    let pair = format!("{user}:{value}");
    let from = ((user.len() + 1) * 8) / 6;
    [
        base64::engine::general_purpose::STANDARD.encode(&pair),
        base64::engine::general_purpose::URL_SAFE.encode(&pair),
    ]
    .into_iter()
    .filter_map(|e| e.get(from..).map(str::to_owned))
    .collect()
}

/// The value base64-encoded at each of the three byte alignments it can have inside a longer
/// encoded text (a `user:` before it shifts it), standard and URL-safe: only the characters
/// that depend on the value alone.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let engines = [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let mut out = Vec::new();
    for engine in engines {
        for shift in 0..3usize {
            let mut shifted = vec![0u8; shift];
            shifted.extend_from_slice(bytes);
            let enc = engine.encode(&shifted);
            // Characters holding any bit of the zero prefix, and the last two (their bits
            // depend on what follows the value), are left out.
            let start = (shift * 8).div_ceil(6);
            let end = enc.len().saturating_sub(2);
            if let Some(s) = enc.get(start..end) {
                out.push(s.to_owned());
            }
        }
    }
    out
}

fn percent(bytes: &[u8], encode: impl Fn(u8) -> bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if encode(b) {
            s.push_str(&format!("%{b:02X}"));
        } else {
            s.push(char::from(b));
        }
    }
    s
}

fn json_escape(value: &str, ascii: bool) -> String {
    let mut s = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || (ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    s.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_user_and_password() {
        for (raw, shown) in [
            ("https://u:pw@host/x", "https://***@host/x"),
            ("http://u:p@ss@rekor.example", "http://***@rekor.example"),
            ("https://u:pw@bad host/x?y@z", "https://***@bad host/x?y@z"),
            ("ftp://user:hunter22@x", "ftp://***@x"),
            ("u:pw@host/path", "***@host/path"),
            ("u:pw@host/cb?next=https://x", "***@host/cb?next=https://x"),
            ("https://host/a@b", "https://host/a@b"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(url_shown(raw), shown, "{raw}");
        }
    }
    use proptest::prelude::*;

    const TOKEN: &str = "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw";

    fn redactor(secrets: &[&str]) -> Redactor {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(&Secret::new(*s));
        }
        r
    }

    #[test]
    fn never_formats_its_value() {
        let s = Secret::new("pypi-AgEIcHlwaS5vcmc");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "pypi-AgEIcHlwaS5vcmc");
    }

    #[test]
    fn redacts_its_value_from_text() {
        let s = Secret::new("pypi-AgEIcHlwaS5vcmc");
        assert_eq!(
            s.redact("bad token pypi-AgEIcHlwaS5vcmc (pypi-AgEIcHlwaS5vcmc)"),
            "bad token *** (***)"
        );
        assert_eq!(Secret::new("x").redact("x marks"), "x marks");
    }

    #[test]
    fn every_form_of_a_token_is_cut() {
        let r = redactor(&[TOKEN]);
        // base64("__token__:" + TOKEN), computed independently with Python.
        let basic = "X190b2tlbl9fOnB5cGktQWdFSWNIbHdhUzV2Y21jQ0pEQXdNREF3TURBdw==";
        for text in [
            TOKEN.to_string(),
            TOKEN.to_ascii_uppercase(),
            format!("Authorization: Basic {basic}"),
            format!("authorization: basic {}", basic.to_ascii_lowercase()),
            format!("Authorization: Bearer {TOKEN}"),
            format!("Authorization: token {TOKEN}"),
            format!("https://__token__:{TOKEN}@idx.example/simple/"),
            format!("https://idx.example/?token={TOKEN}&x=1"),
            format!("{{\"auth\": \"{TOKEN}\"}}"),
            // Cut by a truncation, or only its tail or middle echoed.
            TOKEN[..12].to_string(),
            TOKEN[TOKEN.len() - 10..].to_string(),
            TOKEN[5..20].to_string(),
        ] {
            let out = r.redact(&text);
            assert!(out.contains(REDACTED), "{text:?} -> {out:?}");
            for w in TOKEN.as_bytes().windows(WINDOW) {
                let w = std::str::from_utf8(w).unwrap();
                assert!(
                    !out.to_ascii_lowercase().contains(&w.to_ascii_lowercase()),
                    "{text:?} -> {out:?} still holds {w:?}"
                );
            }
        }
        // A cut that leaves fewer than WINDOW characters is caught when the text says so.
        assert_eq!(
            r.redact_truncated("the token was pypi-A"),
            "the token was ***"
        );
        assert_eq!(r.redact("the token was pypi-A"), "the token was pypi-A");
    }

    #[test]
    fn a_password_with_reserved_characters_in_every_encoding() {
        let pw = "p@ss:w/rd+&\"é<x>";
        let mut r = redactor(&[pw]);
        r.add_user("alice");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for text in [
            pw.to_string(),
            "p%40ss%3Aw%2Frd%2B%26%22%C3%A9%3Cx%3E".to_string(),
            "p%40ss%3aw%2frd%2b%26%22%c3%a9%3cx%3e".to_string(),
            "p\\u0040ss".to_string() + "", // not a form: '@' is not JSON-escaped
            "p@ss:w\\/rd+&\\\"\\u00e9<x>".to_string(),
            "p@ss:w/rd+&amp;&quot;é&lt;x&gt;".to_string(),
            format!("Basic {}", b64(&format!("alice:{pw}"))),
            format!("Basic {}", b64(&format!("__token__:{pw}"))),
            format!("Basic {}", b64(&format!("someone-else:{pw}"))),
        ] {
            let out = r.redact(&text);
            if text.starts_with("p\\u0040") {
                continue;
            }
            assert!(out.contains(REDACTED), "{text:?} -> {out:?}");
            assert!(!out.contains("w/rd") && !out.contains("w%2F"), "{out:?}");
        }
        // The base64 of `someone-else:` + password still shows the user's part, not the
        // password's.
        let out = r.redact(&b64(&format!("someone-else:{pw}")));
        assert!(out.len() < 24, "{out:?}");
    }

    #[test]
    fn a_user_added_later_joins_every_known_secret() {
        let mut r = redactor(&[TOKEN]);
        r.add_user("deploy-bot");
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("deploy-bot:{TOKEN}"));
        // The user's own part stays (it is no secret); every bit of the token goes.
        let out = r.redact(&b64);
        assert_eq!(out, "ZGVwbG95LWJvdD***", "{out:?}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let r = redactor(&[TOKEN, "ghp_0123456789abcdefABCDEF0123456789abcd"]);
        let text = "uploaded improved_sdd-1.0.0-py3-none-any.whl (12.3 KiB, sha256 4f5c0c0a7b8b0f0a8d6b8e6a2c3f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a43) to https://upload.pypi.org/legacy/ as __token__";
        assert_eq!(r.redact(text), text);
        assert_eq!(Redactor::default().redact(TOKEN), TOKEN);
    }

    #[test]
    fn short_secrets_are_cut_whole_and_multibyte_text_stays_valid() {
        let r = redactor(&["s3cr3t"]);
        assert_eq!(r.redact("pw=s3cr3t;"), "pw=***;");
        let r = redactor(&["äöü€token€üöä"]);
        let out = r.redact("x äöü€token€üöä y €tok");
        assert_eq!(out, "x *** y €tok");
    }

    proptest! {
        /// Wherever a server cuts an echo of the token, what remains holds no run of
        /// WINDOW characters of it, and a cut at the very end leaves at most 3.
        #[test]
        fn a_token_cut_anywhere_is_never_printed(
            before in "[ -~]{0,40}",
            cut in 0usize..TOKEN.len(),
            after in "[ -~]{0,40}",
            upper in any::<bool>(),
        ) {
            let r = redactor(&[TOKEN]);
            let tok = if upper { TOKEN.to_ascii_uppercase() } else { TOKEN.to_string() };
            let out = r.redact_truncated(&format!("{before}{}", &tok[..cut]));
            prop_assert!(
                cut < 4 || !out.to_ascii_lowercase().ends_with(&TOKEN[..cut].to_ascii_lowercase()),
                "{out:?}"
            );
            let whole = r.redact(&format!("{before}{tok}{after}"));
            for w in TOKEN.as_bytes().windows(WINDOW) {
                let w = std::str::from_utf8(w).unwrap().to_ascii_lowercase();
                prop_assert!(!whole.to_ascii_lowercase().contains(&w), "{whole:?}");
            }
        }

        #[test]
        fn redaction_never_panics_and_keeps_text_valid(text in "\\PC{0,200}", secret in "\\PC{6,40}") {
            let r = redactor(&[&secret]);
            let out = r.redact(&text);
            let _ = r.redact_truncated(&out);
            let wrapped = r.redact(&format!("a{secret}b"));
            prop_assert!(!wrapped.contains(&secret), "{}", wrapped);
        }
    }
}
