//! Rekor v1: log the signed envelope as a `dsse` v0.0.1 entry and keep what proves it was
//! logged (the inclusion promise, the inclusion proof and its signed checkpoint).
//!
//! `POST {rekor}/api/v1/log/entries` with a `ProposedEntry` (Rekor's OpenAPI description:
//! `kind: dsse`, `apiVersion: 0.0.1`, `spec.proposedContent {envelope, verifiers}`); the
//! 201 answer maps one entry UUID to a `LogEntry` (`body`, `integratedTime`, `logID` hex,
//! `logIndex`, `verification {inclusionProof {logIndex, rootHash, treeSize, hashes, checkpoint},
//! signedEntryTimestamp}`), which becomes the attestation's transparency entry.

use base64::Engine;
use std::collections::BTreeMap;

use super::model::{
    Checkpoint, InclusionPromise, InclusionProof, KindVersion, LogId, TransparencyEntry,
    PAYLOAD_TYPE,
};
use super::{AttestError, Service};

pub const PATH: &str = "api/v1/log/entries";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// base64 of the PEM certificate: how Rekor's dsse type names a verifier.
pub fn verifier(cert_der: &[u8]) -> String {
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, cert_der)
        .expect("a certificate PEM-encodes");
    b64(pem.as_bytes())
}

/// The DSSE envelope as JSON (sigstore's `Envelope` message in protobuf-JSON).
pub fn envelope_json(statement: &[u8], signature: &[u8]) -> String {
    serde_json::json!({
        "payload": b64(statement),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"sig": b64(signature)}],
    })
    .to_string()
}

pub async fn log(
    client: &reqwest::Client,
    base: &url::Url,
    statement: &[u8],
    signature: &[u8],
    cert_der: &[u8],
) -> Result<TransparencyEntry, AttestError> {
    let url = super::join(base, PATH);
    let proposed = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": envelope_json(statement, signature),
                "verifiers": [verifier(cert_der)],
            }
        }
    });
    let request = client.post(url.clone()).json(&proposed);
    let answer = super::send(Service::Rekor, &url, request).await?;
    let text = if answer.status == reqwest::StatusCode::CONFLICT {
        // The log holds this very entry already: an earlier send was logged but its answer
        // never arrived, and the retry resent it. Rekor names the entry in `Location`; it is
        // fetched by its UUID alone, from this Rekor (never a host the answer names), and is
        // verified like any other before it is used.
        let Some(uuid) = answer.location.as_deref().and_then(entry_uuid) else {
            return Err(super::refused(Service::Rekor, &url, &answer, None));
        };
        let at = super::join(base, &format!("{PATH}/{uuid}"));
        let existing = super::send(Service::Rekor, &at, client.get(at.clone())).await?;
        if !existing.status.is_success() {
            return Err(super::refused(Service::Rekor, &at, &existing, None));
        }
        existing.text
    } else if answer.status.is_success() {
        answer.text
    } else {
        return Err(super::refused(Service::Rekor, &url, &answer, None));
    };
    parse_entry(&text).map_err(|detail| AttestError::Malformed {
        service: Service::Rekor,
        detail,
    })
}

/// The entry UUID at the end of a `Location` (`/api/v1/log/entries/<uuid>`, relative or
/// not): hex only (64 digits, or 80 with the tree ID in front), else `None`.
fn entry_uuid(location: &str) -> Option<&str> {
    let last = location
        .split(['?', '#'])
        .next()?
        .trim_end_matches('/')
        .rsplit('/')
        .next()?;
    (matches!(last.len(), 64 | 80) && last.bytes().all(|b| b.is_ascii_hexdigit())).then_some(last)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEntry {
    body: String,
    integrated_time: u64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: u64,
    verification: Verification,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verification {
    inclusion_proof: Option<Proof>,
    signed_entry_timestamp: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Proof {
    checkpoint: String,
    hashes: Vec<String>,
    log_index: u64,
    root_hash: String,
    tree_size: u64,
}

/// Rekor's answer -> the attestation's transparency entry (hex fields become base64).
pub fn parse_entry(text: &str) -> Result<TransparencyEntry, String> {
    let map: BTreeMap<String, LogEntry> =
        serde_json::from_str(text).map_err(|e| format!("not the expected JSON ({e})"))?;
    if map.len() != 1 {
        return Err(format!("{} entries where one was expected", map.len()));
    }
    let entry = map.into_values().next().expect("one entry");
    let hex = |s: &str, what: &str| {
        hex::decode(s)
            .map(|b| b64(&b))
            .map_err(|_| format!("{what} is not hex"))
    };
    let proof = entry
        .verification
        .inclusion_proof
        .ok_or("no inclusion proof (an old Rekor?)")?;
    let set = entry
        .verification
        .signed_entry_timestamp
        .ok_or("no signed entry timestamp")?;
    let body = base64::engine::general_purpose::STANDARD
        .decode(&entry.body)
        .map_err(|_| "the body is not base64")?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kind {
        kind: String,
        api_version: String,
    }
    let kind: Kind = serde_json::from_slice(&body).map_err(|e| format!("the body: {e}"))?;
    Ok(TransparencyEntry {
        log_index: entry.log_index,
        log_id: LogId {
            key_id: hex(&entry.log_id, "logID")?,
        },
        kind_version: KindVersion {
            kind: kind.kind,
            version: kind.api_version,
        },
        integrated_time: entry.integrated_time,
        inclusion_promise: InclusionPromise {
            signed_entry_timestamp: set,
        },
        inclusion_proof: InclusionProof {
            log_index: proof.log_index,
            root_hash: hex(&proof.root_hash, "rootHash")?,
            tree_size: proof.tree_size,
            hashes: proof
                .hashes
                .iter()
                .map(|h| hex(h, "a proof hash"))
                .collect::<Result<_, _>>()?,
            checkpoint: Checkpoint {
                envelope: proof.checkpoint,
            },
        },
        canonicalized_body: entry.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_entry_is_named_by_its_uuid_alone() {
        let uuid = "a".repeat(64);
        let with_tree = format!("24296fb24b8ad77a{uuid}");
        assert_eq!(
            entry_uuid(&format!("/api/v1/log/entries/{uuid}")),
            Some(uuid.as_str())
        );
        assert_eq!(
            entry_uuid(&format!(
                "https://rekor.example/api/v1/log/entries/{with_tree}/"
            )),
            Some(with_tree.as_str())
        );
        for bad in [
            "",
            "/api/v1/log/entries/",
            "/api/v1/log/entries/../../evil",
            "/api/v1/log/entries/not-hex-at-all",
            &format!("/api/v1/log/entries/{}", "g".repeat(64)),
            &format!("/api/v1/log/entries/{}", "a".repeat(63)),
        ] {
            assert_eq!(entry_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_rekors_answer_into_a_protobuf_json_entry() {
        let body = b64(br#"{"apiVersion":"0.0.1","kind":"dsse","spec":{}}"#);
        let text = serde_json::json!({
            "24296fb24b8ad77a": {
                "body": body,
                "integratedTime": 1_700_000_000u64,
                "logID": "c0d23d6ad406973f",
                "logIndex": 42,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": "rekor - 1\n2\nAA==\n\n— rekor sig\n",
                        "hashes": ["00ff"],
                        "logIndex": 1,
                        "rootHash": "0102",
                        "treeSize": 2
                    },
                    "signedEntryTimestamp": "c2V0"
                }
            }
        })
        .to_string();
        let e = parse_entry(&text).unwrap();
        assert_eq!(e.log_index, 42);
        assert_eq!(
            e.log_id.key_id,
            b64(&hex::decode("c0d23d6ad406973f").unwrap())
        );
        assert_eq!(e.kind_version.kind, "dsse");
        assert_eq!(e.kind_version.version, "0.0.1");
        assert_eq!(e.inclusion_proof.root_hash, "AQI=");
        assert_eq!(e.inclusion_proof.hashes, ["AP8="]);
        assert_eq!(e.canonicalized_body, body);

        assert!(parse_entry("{}").unwrap_err().contains("0 entries"));
        assert!(parse_entry("[]").is_err());
    }
}
