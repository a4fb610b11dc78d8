//! One way to build an HTTP client that carries a credential: our user agent, bounded
//! connect and total times, and no redirects — a token must not travel to a host it was not
//! meant for (a redirect is answered as the error it is).

use std::time::Duration;

/// A client builder for requests that carry a credential; callers add what is theirs.
pub(crate) fn credential_client(connect: Duration, total: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("sdd-publish/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect)
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
}
