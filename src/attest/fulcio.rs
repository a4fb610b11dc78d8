//! Fulcio, keyless: trade a GitHub ID token (audience `sigstore`) and a proof that we hold
//! a fresh key for a short-lived certificate binding that key to the workflow identity.
//!
//! `POST {fulcio}/api/v2/signingCert` (Fulcio's v2 REST API, `fulcio.proto`'s
//! `CreateSigningCertificate`) with the token as a bearer credential and, as the proof of
//! possession, a PKCS#10 request self-signed by the key — as sigstore-python sends it. The
//! answer's `signedCertificateEmbeddedSct.chain.certificates` is PEM, leaf first.

use base64::Engine;
use der::{Decode, DecodePem, Encode, EncodePem};
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::Certificate;

use super::crypto::{EphemeralKey, ECDSA_SHA256};
use super::{AttestError, Service};
use crate::secret::Secret;

pub const PATH: &str = "api/v2/signingCert";

/// A key and the certificate Fulcio issued for it.
#[derive(Debug)]
pub struct Signer {
    pub key: EphemeralKey,
    pub cert_der: Vec<u8>,
    /// Unix seconds.
    pub not_after: u64,
    /// The certificate's SAN URI: the workflow that signs.
    pub identity: String,
}

/// A PEM PKCS#10 request with an empty subject (Fulcio takes the identity from the token,
/// not the request).
pub fn csr_pem(key: &EphemeralKey) -> Result<String, String> {
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Default::default(),
        public_key: key.spki(),
        attributes: Default::default(),
    };
    let tbs = info.to_der().map_err(|e| e.to_string())?;
    let sig = key.sign(&tbs)?;
    let req = CertReq {
        info,
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: ECDSA_SHA256,
            parameters: None,
        },
        signature: der::asn1::BitString::from_bytes(&sig).map_err(|e| e.to_string())?,
    };
    req.to_pem(der::pem::LineEnding::LF)
        .map_err(|e| e.to_string())
}

pub async fn request(
    client: &reqwest::Client,
    base: &url::Url,
    id_token: &Secret,
) -> Result<Signer, AttestError> {
    let url = super::join(base, PATH);
    let key = EphemeralKey::generate().map_err(|detail| AttestError::Local { detail })?;
    let csr = csr_pem(&key).map_err(|detail| AttestError::Local { detail })?;
    let body = serde_json::json!({
        "certificateSigningRequest": base64::engine::general_purpose::STANDARD.encode(csr),
    });
    let request = client
        .post(url.clone())
        .bearer_auth(id_token.expose())
        .json(&body);
    let text = super::post(Service::Fulcio, &url, request, Some(id_token)).await?;
    let malformed = |detail: String| AttestError::Malformed {
        service: Service::Fulcio,
        detail,
    };
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        signed_certificate_embedded_sct: Option<Chained>,
        signed_certificate_detached_sct: Option<serde_json::Value>,
    }
    #[derive(serde::Deserialize)]
    struct Chained {
        chain: Chain,
    }
    #[derive(serde::Deserialize)]
    struct Chain {
        certificates: Vec<String>,
    }
    let answer: Answer = serde_json::from_str(&text)
        .map_err(|e| malformed(format!("not the expected JSON ({e})")))?;
    let Some(embedded) = answer.signed_certificate_embedded_sct else {
        return Err(malformed(
            if answer.signed_certificate_detached_sct.is_some() {
                "the certificate came with a detached SCT; verifiers (and PyPI) need it embedded"
                    .into()
            } else {
                "no `signedCertificateEmbeddedSct`".into()
            },
        ));
    };
    let leaf_pem = embedded
        .chain
        .certificates
        .first()
        .ok_or_else(|| malformed("an empty certificate chain".into()))?;
    let leaf = Certificate::from_pem(leaf_pem.as_bytes())
        .map_err(|e| malformed(format!("the leaf certificate does not parse: {e}")))?;
    if leaf.tbs_certificate.subject_public_key_info.to_der().ok() != Some(key.spki_der()) {
        return Err(malformed(
            "the certificate does not certify the key we sent".into(),
        ));
    }
    let cert_der = leaf
        .to_der()
        .map_err(|e| malformed(format!("the leaf does not encode: {e}")))?;
    let not_after = leaf
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs();
    let identity = san_uri(&leaf).unwrap_or_default();
    Ok(Signer {
        key,
        cert_der,
        not_after,
        identity,
    })
}

/// The first URI in the subject alternative name: for a GitHub workflow,
/// `https://github.com/OWNER/REPO/.github/workflows/FILE@REF`.
pub fn san_uri(cert: &Certificate) -> Option<String> {
    use x509_cert::ext::pkix::{name::GeneralName, SubjectAltName};
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)?;
    let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).ok()?;
    san.0.into_iter().find_map(|n| match n {
        GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_is_self_signed_by_the_key_with_an_empty_subject() {
        let key = EphemeralKey::generate().unwrap();
        let pem = csr_pem(&key).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        let req = CertReq::from_pem(pem.as_bytes()).unwrap();
        assert!(req.info.subject.0.is_empty());
        assert_eq!(req.info.public_key.to_der().unwrap(), key.spki_der());
        let tbs = req.info.to_der().unwrap();
        assert!(super::super::crypto::verify(
            &key.spki_der(),
            Some(super::super::crypto::Hash::Sha256),
            &tbs,
            req.signature.as_bytes().unwrap()
        ));
    }
}
