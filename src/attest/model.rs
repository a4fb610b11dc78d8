//! The PEP 740 attestation object, field for field as `pypi-attestations` serializes it
//! (`Attestation.model_dump_json()`): the index and every verifier parse this shape.
//!
//! A transparency entry is sigstore's `TransparencyLogEntry` in protobuf-JSON form
//! (camelCase keys, 64-bit integers as strings, bytes as base64), which is what
//! `pypi-attestations` stores and reads back with `TransparencyLogEntry.from_dict`.

use serde::{Deserialize, Serialize};

/// `https://docs.pypi.org/attestations/publish/v1`: "this file was published by the
/// Trusted Publisher that signed it".
pub const PUBLISH_PREDICATE: &str = "https://docs.pypi.org/attestations/publish/v1";
/// The in-toto Statement layer's type and the DSSE payload type that carries it.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// What `<file>` gets appended when the attestation is saved beside it (pypa's action
/// writes the same name, and `pypi-attestations verify` looks for it).
pub const FILE_SUFFIX: &str = ".publish.attestation";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub version: u8,
    pub verification_material: VerificationMaterial,
    pub envelope: Envelope,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationMaterial {
    /// base64(DER(leaf certificate)).
    pub certificate: String,
    pub transparency_entries: Vec<TransparencyEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// base64 of the exact Statement bytes that were signed.
    pub statement: String,
    /// base64 of the DER ECDSA signature over the DSSE PAE of the statement.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyEntry {
    #[serde(with = "u64_string")]
    pub log_index: u64,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    #[serde(with = "u64_string")]
    pub integrated_time: u64,
    pub inclusion_promise: InclusionPromise,
    pub inclusion_proof: InclusionProof,
    /// base64 of the entry body Rekor logged.
    pub canonicalized_body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// base64 of sha256(DER SubjectPublicKeyInfo of the log's key).
    pub key_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    /// base64 of the log's signature over the entry (the "SET").
    pub signed_entry_timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    #[serde(with = "u64_string")]
    pub log_index: u64,
    /// base64.
    pub root_hash: String,
    #[serde(with = "u64_string")]
    pub tree_size: u64,
    /// base64 each, leaf to root.
    pub hashes: Vec<String>,
    pub checkpoint: Checkpoint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The signed note, as text.
    pub envelope: String,
}

/// The in-toto Statement for one file: exactly what `pypi-attestations`' `Attestation.sign`
/// builds (pydantic's compact dump, `predicate` null), so the bytes we sign are the bytes a
/// reader expects.
pub fn statement(filename: &str, sha256_hex: &str) -> Vec<u8> {
    // serde_json keeps the insertion order of a struct, which is the order pydantic dumps.
    #[derive(Serialize)]
    struct Subject<'a> {
        name: &'a str,
        digest: Digest<'a>,
    }
    #[derive(Serialize)]
    struct Digest<'a> {
        sha256: &'a str,
    }
    #[derive(Serialize)]
    struct Statement<'a> {
        #[serde(rename = "_type")]
        kind: &'a str,
        subject: [Subject<'a>; 1],
        #[serde(rename = "predicateType")]
        predicate_type: &'a str,
        predicate: Option<()>,
    }
    serde_json::to_vec(&Statement {
        kind: STATEMENT_TYPE,
        subject: [Subject {
            name: filename,
            digest: Digest { sha256: sha256_hex },
        }],
        predicate_type: PUBLISH_PREDICATE,
        predicate: None,
    })
    .expect("a statement of strings serializes")
}

/// DSSE's pre-authentication encoding: what the signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Protobuf-JSON writes 64-bit integers as strings; Rekor's own API writes numbers. Read
/// both, write strings.
mod u64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            N(u64),
            S(String),
        }
        match Either::deserialize(d)? {
            Either::N(n) => Ok(n),
            Either::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_is_pydantics_compact_dump() {
        let s = statement("p-1.0-py3-none-any.whl", "ab12");
        assert_eq!(
            String::from_utf8(s).unwrap(),
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"p-1.0-py3-none-any.whl","digest":{"sha256":"ab12"}}],"predicateType":"https://docs.pypi.org/attestations/publish/v1","predicate":null}"#
        );
    }

    #[test]
    fn pae_counts_bytes() {
        assert_eq!(
            pae("t/x", "héllo".as_bytes()),
            b"DSSEv1 3 t/x 6 h\xc3\xa9llo".to_vec()
        );
    }

    #[test]
    fn entries_read_numbers_or_strings_and_write_strings() {
        let json = r#"{"logIndex":7,"logId":{"keyId":"AA=="},"kindVersion":{"kind":"dsse","version":"0.0.1"},
            "integratedTime":"1700000000","inclusionPromise":{"signedEntryTimestamp":"c2ln"},
            "inclusionProof":{"logIndex":"3","rootHash":"cm9vdA==","treeSize":4,"hashes":[],"checkpoint":{"envelope":"x"}},
            "canonicalizedBody":"Ym9keQ=="}"#;
        let e: TransparencyEntry = serde_json::from_str(json).unwrap();
        assert_eq!((e.log_index, e.integrated_time), (7, 1_700_000_000));
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["logIndex"], "7");
        assert_eq!(back["inclusionProof"]["treeSize"], "4");
        assert_eq!(back["kindVersion"]["kind"], "dsse");
    }
}
