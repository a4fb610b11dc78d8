//! The one retry policy, for every HTTP client in the crate (the package index and GitHub):
//! exponential backoff with jitter (backon), bounded in attempts and in total time, and a
//! server's `Retry-After` (delay-seconds or an HTTP date) honoured while it fits the budget.

use std::time::{Duration, Instant};

use backon::ExponentialBuilder;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How hard to try before giving up on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt.
    pub total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            total: Duration::from_secs(10 * 60),
        }
    }
}

impl RetryPolicy {
    /// The delays between attempts: doubling from `min_delay` up to `max_delay`, jittered so
    /// parallel clients do not retry in step.
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.attempts.saturating_sub(1))
            .with_jitter()
    }

    /// When the last retry may start, for a request first sent at `start`.
    pub(crate) fn deadline(&self, start: Instant) -> Instant {
        // A huge `total` (a test knob) must not overflow `Instant`.
        start
            .checked_add(self.total)
            .unwrap_or_else(|| start + Duration::from_secs(365 * 24 * 3600))
    }
}

/// A retry may start only if it (after `Retry-After`, when given) still fits the budget.
pub(crate) fn within(
    deadline: Instant,
    delay: Option<Duration>,
    asked: Option<Duration>,
) -> Option<Duration> {
    let delay = delay?;
    let wait = asked.unwrap_or(delay);
    // `Retry-After` comes from the server: a huge value must not overflow `Instant`.
    Instant::now()
        .checked_add(wait)
        .is_some_and(|t| t <= deadline)
        .then_some(wait)
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_is_honoured_within_the_budget() {
        let far = Instant::now() + Duration::from_secs(60);
        let s = Duration::from_secs;
        assert_eq!(within(far, Some(s(1)), None), Some(s(1)));
        assert_eq!(within(far, Some(s(1)), Some(s(7))), Some(s(7)));
        assert_eq!(within(far, None, Some(s(1))), None, "attempts exhausted");
        assert_eq!(within(far, Some(s(1)), Some(s(600))), None, "over budget");
        // `Retry-After: 18446744073709551615` from an index: over budget, not a panic.
        assert_eq!(within(far, Some(s(1)), Some(s(u64::MAX))), None);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            retry_after(&m)
        };
        assert_eq!(h("7"), Some(Duration::from_secs(7)));
        assert_eq!(h(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            h("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "past"
        );
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(90));
        let d = h(&later).unwrap();
        assert!(
            d > Duration::from_secs(80) && d <= Duration::from_secs(90),
            "{d:?}"
        );
        assert_eq!(h("soon"), None);
        assert_eq!(h("-3"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
