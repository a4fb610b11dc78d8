//! A string that must never be printed: tokens and passwords.
//!
//! `Debug` and `Display` are redacted so that a secret that slips into an error message or a
//! `{:?}` shows as `***` instead of its value. The only way to read it is [`Secret::expose`],
//! which makes every use greppable.

use std::fmt;

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

    /// `text` (what a server answered) with the value cut out, so it can be printed.
    pub fn redact(&self, text: &str) -> String {
        // Very short values would only mangle the text without protecting anything.
        if self.0.len() >= 6 {
            text.replace(&self.0, "***")
        } else {
            text.to_owned()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
