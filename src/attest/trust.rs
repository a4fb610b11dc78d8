//! What a verifier trusts: Fulcio's CA chains, the Rekor log keys and the CT log keys,
//! read from a Sigstore `TrustedRoot` document (`application/vnd.dev.sigstore.trustedroot+json`,
//! the file sigstore's TUF repository distributes and `sigstore-python` reads with
//! `TrustedRoot.from_file`). One format for the public-good instance (embedded) and for a
//! private or test instance (a file), so the same document configures us and a reference
//! verifier.

use base64::Engine;
use der::Decode;
use serde::Deserialize;
use x509_cert::Certificate;

/// Sigstore's public-good trusted root, as its TUF repository served it (tuf-repo-cdn.sigstore.dev,
/// `trusted_root.json`). It changes rarely; a stale copy fails verification loudly, never silently.
const PUBLIC_GOOD: &str = include_str!("public-good-trusted-root.json");

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("the trusted root `{origin}` is not a Sigstore trusted root: {detail}")]
    Malformed { origin: String, detail: String },
    #[error("could not read the trusted root `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A public key of a log, by the id logs put in their entries and SCTs.
#[derive(Debug, Clone)]
pub struct LogKey {
    /// sha256 of the DER SubjectPublicKeyInfo.
    pub key_id: Vec<u8>,
    pub spki_der: Vec<u8>,
}

#[derive(Clone)]
pub struct TrustRoot {
    /// Each authority's chain, issuing certificate first, root last (DER).
    pub fulcio_chains: Vec<Vec<Vec<u8>>>,
    pub rekor_keys: Vec<LogKey>,
    pub ct_keys: Vec<LogKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<Log>,
    #[serde(default)]
    ctlogs: Vec<Log>,
    #[serde(default)]
    certificate_authorities: Vec<Authority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Log {
    public_key: PublicKey,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKey {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Authority {
    cert_chain: Chain,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<PublicKey>,
}

/// Counts, not key bytes: the root rides along in the settings, which may be debug-printed.
impl std::fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoot")
            .field("fulcio_chains", &self.fulcio_chains.len())
            .field("rekor_keys", &self.rekor_keys.len())
            .field("ct_keys", &self.ct_keys.len())
            .finish()
    }
}

impl TrustRoot {
    pub fn public_good() -> TrustRoot {
        TrustRoot::parse(PUBLIC_GOOD, "embedded public-good")
            .expect("the embedded trusted root parses (a unit test holds this)")
    }

    pub fn from_file(path: &std::path::Path) -> Result<TrustRoot, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrustError::Read {
            path: path.display().to_string(),
            source,
        })?;
        TrustRoot::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<TrustRoot, TrustError> {
        let bad = |detail: String| TrustError::Malformed {
            origin: origin.to_owned(),
            detail,
        };
        let doc: Doc = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if !doc
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot+json")
        {
            return Err(bad(format!("mediaType is `{}`", doc.media_type)));
        }
        let b64 = |s: &str, what: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| bad(format!("{what} is not base64: {e}")))
        };
        let keys = |logs: &[Log], what: &str| -> Result<Vec<LogKey>, TrustError> {
            logs.iter()
                .map(|l| {
                    let spki_der = b64(&l.public_key.raw_bytes, what)?;
                    Ok(LogKey {
                        key_id: crate::attest::sha256(&spki_der).to_vec(),
                        spki_der,
                    })
                })
                .collect()
        };
        let mut fulcio_chains = Vec::new();
        for ca in &doc.certificate_authorities {
            let mut chain = Vec::new();
            for c in &ca.cert_chain.certificates {
                let der = b64(&c.raw_bytes, "a CA certificate")?;
                Certificate::from_der(&der)
                    .map_err(|e| bad(format!("a CA certificate does not parse: {e}")))?;
                chain.push(der);
            }
            if !chain.is_empty() {
                fulcio_chains.push(chain);
            }
        }
        let root = TrustRoot {
            fulcio_chains,
            rekor_keys: keys(&doc.tlogs, "a tlog key")?,
            ct_keys: keys(&doc.ctlogs, "a ctlog key")?,
        };
        if root.fulcio_chains.is_empty() || root.rekor_keys.is_empty() {
            return Err(bad(
                "it names no certificate authority or no transparency log".into(),
            ));
        }
        Ok(root)
    }

    pub fn rekor_key(&self, key_id: &[u8]) -> Option<&LogKey> {
        self.rekor_keys.iter().find(|k| k.key_id == key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_good_root_parses_with_fulcio_and_rekor() {
        let t = TrustRoot::public_good();
        assert!(t.fulcio_chains.len() >= 2);
        // rekor.sigstore.dev's key id, as its entries name it.
        let id = base64::engine::general_purpose::STANDARD
            .decode("wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=")
            .unwrap();
        assert!(t.rekor_key(&id).is_some());
        assert!(!t.ct_keys.is_empty());
    }

    #[test]
    fn other_documents_are_refused_with_their_origin() {
        let e = TrustRoot::parse(r#"{"mediaType":"x"}"#, "/tmp/root.json").unwrap_err();
        assert!(e.to_string().contains("/tmp/root.json"), "{e}");
        let e = TrustRoot::parse(
            r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
            "r",
        )
        .unwrap_err();
        assert!(e.to_string().contains("no certificate authority"), "{e}");
        assert!(TrustRoot::parse("[]", "r").is_err());
    }
}
