//! HTTP clients for requests that carry a credential: our user agent, bounded connect and
//! total times, and redirects only where the credential may go — a token must not travel to
//! a host it was not meant for.
//!
//! A credential belongs to an [`Origin`]: scheme, host and port, as the URL parser
//! normalises them (lower-case, IDNA, IPv4 spelled out). `https://api.github.com@evil/` has
//! the host `evil`; `HTTP://API.GITHUB.COM:443` is not `https://api.github.com` (another
//! scheme); `api.github.com.` is another name than `api.github.com`. Anything that is not
//! equal is foreign — the safe side of every doubt.

use std::time::Duration;

use url::Url;

/// Redirects followed at most, on any client (a server that loops is stopped here).
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Where a credential may be sent: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an http(s) URL with a host; `None` for anything else.
    pub(crate) fn of(url: &Url) -> Option<Origin> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        Some(Origin {
            scheme: url.scheme().to_owned(),
            host: url.host_str()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }

    /// Whether `url` is on this origin.
    pub(crate) fn holds(&self, url: &Url) -> bool {
        Origin::of(url).as_ref() == Some(self)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let default = match self.scheme.as_str() {
            "https" => 443,
            _ => 80,
        };
        if self.port == default {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// Whether a credential may be sent to `url` at all: https to any host, plain http only to
/// loopback (127.0.0.0/8, ::1, localhost: tests and local doubles).
pub(crate) fn may_carry_credentials(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// Two URLs on one origin.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    Origin::of(a).is_some_and(|o| o.holds(b))
}

fn agent() -> reqwest::ClientBuilder {
    reqwest::Client::builder().user_agent(concat!("sdd-publish/", env!("CARGO_PKG_VERSION")))
}

/// A client builder for requests that carry a credential and follow no redirect (a
/// redirect is answered as the error it is); callers add what is theirs.
pub(crate) fn credential_client(connect: Duration, total: Duration) -> reqwest::ClientBuilder {
    agent()
        .connect_timeout(connect)
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
}

/// Redirects followed only while they stay on the origin of the request's first URL (and
/// at most [`MAX_REDIRECTS`]); a redirect elsewhere is handed back to the caller as the
/// 3xx answer it is, so the credential never goes with it. reqwest alone would keep the
/// `Authorization` header on a same-host, same-port switch from https to http.
pub(crate) fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().cloned();
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if first.is_some_and(|f| same_origin(&f, attempt.url())) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Redirects for requests without a credential: anywhere over http(s), at most
/// [`MAX_REDIRECTS`].
pub(crate) fn anonymous_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if matches!(attempt.url().scheme(), "http" | "https") {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// A client whose requests may carry a credential for their own origin: redirects stay on
/// it ([`same_origin_redirects`]).
pub(crate) fn origin_client(connect: Duration, total: Duration) -> reqwest::ClientBuilder {
    agent()
        .connect_timeout(connect)
        .timeout(total)
        .redirect(same_origin_redirects())
}

/// A client for requests that carry no credential.
pub(crate) fn anonymous_client(connect: Duration, total: Duration) -> reqwest::ClientBuilder {
    agent()
        .connect_timeout(connect)
        .timeout(total)
        .redirect(anonymous_redirects())
}

/// At most `max` bytes of an answer's body, for its message: a hostile server cannot fill
/// memory, and a body cut short (or broken off) still says what arrived.
pub(crate) async fn read_capped(response: &mut reqwest::Response, max: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < max {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(max);
    body
}

/// The error and its causes on one line, without the URL (the caller names it once).
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    let mut detail = if e.is_timeout() {
        "timed out".to_string()
    } else {
        String::new()
    };
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = cur {
        let text = s.to_string();
        // reqwest's own line repeats the URL; the caller already says which.
        let text = match e.url() {
            Some(u) => text.replace(&format!(" for url ({u})"), ""),
            None => text,
        };
        if !detail.is_empty() {
            detail.push_str(": ");
        }
        detail.push_str(&text);
        cur = s.source();
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn an_origin_is_scheme_host_and_port_as_parsed() {
        let api = u("https://api.github.com/repos/o/r");
        for same in [
            "https://api.github.com/x?page=2",
            "https://API.GitHub.com:443/x",
        ] {
            assert!(same_origin(&api, &u(same)), "{same}");
        }
        for foreign in [
            "http://api.github.com/x",
            "http://api.github.com:443/x",
            "https://api.github.com:8443/x",
            "https://api.github.com.evil.example/x",
            "https://api.github.com@evil.example/x",
            "https://evil.example/api.github.com",
            "https://api.github.com./x",
            "https://\u{430}pi.github.com/x",
            "ftp://api.github.com/x",
            "data:text/plain,api.github.com",
        ] {
            assert!(!same_origin(&api, &u(foreign)), "{foreign}");
        }
        let local = u("http://127.0.0.1:8080/simple/");
        assert!(same_origin(
            &local,
            &u("http://127.0.0.1:8080/packages/x.whl")
        ));
        assert!(
            same_origin(&local, &u("http://2130706433:8080/")),
            "IPv4 spelled out"
        );
        assert!(!same_origin(&local, &u("http://127.0.0.1:8081/")));
        assert!(!same_origin(&local, &u("http://localhost:8080/")));
        assert_eq!(
            Origin::of(&u("https://idx.example:8443/a"))
                .unwrap()
                .to_string(),
            "https://idx.example:8443"
        );
        assert_eq!(
            Origin::of(&u("https://idx.example/a")).unwrap().to_string(),
            "https://idx.example"
        );
    }
}
