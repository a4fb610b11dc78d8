//! Trove classifiers, shipped as data generated from the PyPI package `trove-classifiers`
//! (the list warehouse validates against) by `scripts/refresh-classifiers`.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const ALL: &str = include_str!("../../../data/trove-classifiers.txt");
const DEPRECATED: &str = include_str!("../../../data/trove-classifiers-deprecated.txt");

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn all() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| lines(ALL).collect())
}

fn deprecated() -> &'static HashMap<&'static str, Vec<&'static str>> {
    static MAP: OnceLock<HashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    MAP.get_or_init(|| {
        lines(DEPRECATED)
            .map(|l| {
                let (c, r) = l.split_once('\t').unwrap_or((l, ""));
                (c, r.split(" | ").filter(|s| !s.is_empty()).collect())
            })
            .collect()
    })
}

/// What the list says about one classifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Known,
    /// Deprecated, with the classifiers that replace it (possibly none).
    Deprecated(Vec<&'static str>),
    Unknown,
}

pub fn lookup(classifier: &str) -> Verdict {
    if let Some(r) = deprecated().get(classifier) {
        return Verdict::Deprecated(r.clone());
    }
    if all().contains(classifier) {
        Verdict::Known
    } else {
        Verdict::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_loaded() {
        assert!(all().len() > 500);
        assert_eq!(
            lookup("Programming Language :: Python :: 3"),
            Verdict::Known
        );
        assert_eq!(
            lookup("Programming Language :: Cobol :: 3"),
            Verdict::Unknown
        );
        assert_eq!(lookup("Private :: Do Not Upload"), Verdict::Unknown);
        assert!(!deprecated().is_empty());
        let (d, _) = deprecated().iter().next().unwrap();
        assert!(matches!(lookup(d), Verdict::Deprecated(_)));
    }
}
