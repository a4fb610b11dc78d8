//! Check an attestation the way a verifier will, before it is uploaded: the first upload
//! of a file is the only chance to attach one, so a bad attestation must be caught here.
//!
//! 1. The statement names this file (name and sha256) with the publish predicate.
//! 2. The envelope's signature verifies over the DSSE PAE with the certificate's key.
//! 3. The certificate chains to a Fulcio authority of the trusted root, was valid when
//!    Rekor logged the entry, and carries an SCT from a CT log of the trusted root over its
//!    precertificate (RFC 6962 §3.2), as Fulcio embeds it.
//! 4. The Rekor entry is about this envelope (payload hash, signature, certificate), its
//!    signed entry timestamp verifies with the log's key, and its inclusion proof leads to
//!    the root hash of a checkpoint signed by that key.

use base64::Engine;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::crypto::{self, Hash};
use super::model::{
    Attestation, TransparencyEntry, PAYLOAD_TYPE, PUBLISH_PREDICATE, STATEMENT_TYPE,
};
use super::trust::TrustRoot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub log_index: u64,
    pub integrated_time: u64,
    /// The certificate's SAN URI.
    pub identity: String,
}

fn b64d(s: &str, what: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| format!("{what} is not base64"))
}

/// Why an attestation does not verify. `lapsed`: only because the certificate's time ran out
/// before Rekor logged the entry, which a new certificate fixes (the caller retries on it).
#[derive(Debug)]
pub struct Rejected {
    pub reason: String,
    pub lapsed: bool,
}

impl From<String> for Rejected {
    fn from(reason: String) -> Rejected {
        Rejected {
            reason,
            lapsed: false,
        }
    }
}

impl From<&str> for Rejected {
    fn from(reason: &str) -> Rejected {
        reason.to_owned().into()
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

pub fn verify(
    att: &Attestation,
    filename: &str,
    sha256_hex: &str,
    trust: &TrustRoot,
) -> Result<Verified, Rejected> {
    if att.version != 1 {
        return Err(format!("version {} (expected 1)", att.version).into());
    }
    let cert_der = b64d(&att.verification_material.certificate, "the certificate")?;
    let statement = b64d(&att.envelope.statement, "the statement")?;
    let signature = b64d(&att.envelope.signature, "the signature")?;
    let leaf = Certificate::from_der(&cert_der)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;

    check_statement(&statement, filename, sha256_hex)?;

    let leaf_spki = leaf
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let pae = super::model::pae(PAYLOAD_TYPE, &statement);
    if !crypto::verify(&leaf_spki, Some(Hash::Sha256), &pae, &signature) {
        return Err(
            "the signature does not verify over the statement with the certificate's key".into(),
        );
    }

    let [entry] = att.verification_material.transparency_entries.as_slice() else {
        return Err(format!(
            "{} transparency entries (expected 1)",
            att.verification_material.transparency_entries.len()
        )
        .into());
    };
    check_entry(entry, &statement, &signature, &cert_der, trust)?;
    let (from, until) = validity(&leaf);
    if !(from..=until).contains(&entry.integrated_time) {
        return Err(Rejected {
            reason: format!(
                "the certificate was not valid when the entry was logged (valid {from}..{until}, logged {})",
                entry.integrated_time
            ),
            lapsed: true,
        });
    }
    let issuer = check_chain(&leaf, entry.integrated_time, trust)?;
    check_sct(&leaf, &issuer, trust)?;

    Ok(Verified {
        log_index: entry.log_index,
        integrated_time: entry.integrated_time,
        identity: super::fulcio::san_uri(&leaf).unwrap_or_default(),
    })
}

fn check_statement(statement: &[u8], filename: &str, sha256_hex: &str) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Statement {
        #[serde(rename = "_type")]
        kind: String,
        subject: Vec<Subject>,
        #[serde(rename = "predicateType")]
        predicate_type: String,
    }
    #[derive(serde::Deserialize)]
    struct Subject {
        name: Option<String>,
        digest: std::collections::BTreeMap<String, String>,
    }
    let s: Statement =
        serde_json::from_slice(statement).map_err(|e| format!("the statement: {e}"))?;
    if s.kind != STATEMENT_TYPE {
        return Err(format!("the statement's _type is `{}`", s.kind));
    }
    if s.predicate_type != PUBLISH_PREDICATE {
        return Err(format!("the predicate type is `{}`", s.predicate_type));
    }
    let [subject] = s.subject.as_slice() else {
        return Err(format!("{} subjects (expected 1)", s.subject.len()));
    };
    if subject.name.as_deref() != Some(filename) {
        return Err(format!(
            "the subject is `{}`, not `{filename}`",
            subject.name.as_deref().unwrap_or("")
        ));
    }
    if subject.digest.get("sha256").map(String::as_str) != Some(sha256_hex) {
        return Err("the subject's sha256 is not the file's".into());
    }
    Ok(())
}

fn check_entry(
    entry: &TransparencyEntry,
    statement: &[u8],
    signature: &[u8],
    cert_der: &[u8],
    trust: &TrustRoot,
) -> Result<(), String> {
    if (
        entry.kind_version.kind.as_str(),
        entry.kind_version.version.as_str(),
    ) != ("dsse", "0.0.1")
    {
        return Err(format!(
            "a {}/{} log entry (expected dsse/0.0.1)",
            entry.kind_version.kind, entry.kind_version.version
        ));
    }
    let body = b64d(&entry.canonicalized_body, "the log entry body")?;
    #[derive(serde::Deserialize, PartialEq)]
    struct Sig {
        signature: String,
        verifier: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec {
        payload_hash: HashValue,
        signatures: Vec<Sig>,
    }
    #[derive(serde::Deserialize)]
    struct HashValue {
        algorithm: String,
        value: String,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        spec: Spec,
    }
    let body_json: Body =
        serde_json::from_slice(&body).map_err(|e| format!("the log entry body: {e}"))?;
    let spec = body_json.spec;
    if spec.payload_hash.algorithm != "sha256"
        || spec.payload_hash.value != hex::encode(Sha256::digest(statement))
    {
        return Err("the log entry is about another statement".into());
    }
    let expected = [Sig {
        signature: base64::engine::general_purpose::STANDARD.encode(signature),
        verifier: super::rekor::verifier(cert_der),
    }];
    if spec.signatures.as_slice() != expected {
        return Err("the log entry records another signature or certificate".into());
    }

    let key_id = b64d(&entry.log_id.key_id, "the log id")?;
    let key = trust.rekor_key(&key_id).ok_or_else(|| {
        format!(
            "the entry's log ({}) is not in the trusted root",
            hex::encode(&key_id)
        )
    })?;

    // The SET signs RFC 8785 JSON of these four members; with sorted keys and only
    // integers and base64/hex strings, serde_json's compact output is that canonical form.
    let set_payload = serde_json::to_vec(&serde_json::json!({
        "body": entry.canonicalized_body,
        "integratedTime": entry.integrated_time,
        "logID": hex::encode(&key_id),
        "logIndex": entry.log_index,
    }))
    .expect("JSON");
    let set = b64d(&entry.inclusion_promise.signed_entry_timestamp, "the SET")?;
    if !crypto::verify(&key.spki_der, None, &set_payload, &set) {
        return Err("the signed entry timestamp does not verify with the log's key".into());
    }

    let proof = &entry.inclusion_proof;
    let root = b64d(&proof.root_hash, "the root hash")?;
    let hashes = proof
        .hashes
        .iter()
        .map(|h| b64d(h, "a proof hash"))
        .collect::<Result<Vec<_>, _>>()?;
    if !inclusion(&body, proof.log_index, proof.tree_size, &hashes, &root) {
        return Err("the inclusion proof does not lead to its root hash".into());
    }
    check_checkpoint(&proof.checkpoint.envelope, &root, &key_id, &key.spki_der)
}

fn hash_children(l: &[u8], r: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().to_vec()
}

/// RFC 9162 §2.1.3.2: the audit path from a leaf to the root of a tree of `size` leaves.
pub fn inclusion(leaf: &[u8], index: u64, size: u64, hashes: &[Vec<u8>], root: &[u8]) -> bool {
    if index >= size {
        return false;
    }
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    if hashes.len() != inner + border {
        return false;
    }
    let mut h = {
        let mut d = Sha256::new();
        d.update([0u8]);
        d.update(leaf);
        d.finalize().to_vec()
    };
    for (i, p) in hashes[..inner].iter().enumerate() {
        h = if (index >> i) & 1 == 0 {
            hash_children(&h, p)
        } else {
            hash_children(p, &h)
        };
    }
    for p in &hashes[inner..] {
        h = hash_children(p, &h);
    }
    h == root
}

/// A signed note: `origin\nsize\nbase64(root)\n[extra lines]\n\n— name base64(keyhint‖sig)\n`,
/// signed by the log over everything before the blank line (newline included).
fn check_checkpoint(text: &str, root: &[u8], key_id: &[u8], spki: &[u8]) -> Result<(), String> {
    let (note, sigs) = text
        .split_once("\n\n")
        .ok_or("the checkpoint has no signature block")?;
    let note = format!("{note}\n");
    let mut lines = note.lines();
    let _origin = lines.next();
    let _size = lines.next();
    let note_root = lines
        .next()
        .map(|r| b64d(r, "the checkpoint's root"))
        .transpose()?;
    if note_root.as_deref() != Some(root) {
        return Err("the checkpoint's root hash is not the inclusion proof's".into());
    }
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_name, sig)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(raw) = b64d(sig, "a checkpoint signature") else {
            continue;
        };
        if raw.len() > 4 && raw[..4] == key_id[..4] {
            return if crypto::verify(spki, None, note.as_bytes(), &raw[4..]) {
                Ok(())
            } else {
                Err("the checkpoint's signature does not verify with the log's key".into())
            };
        }
    }
    Err("the checkpoint is not signed by the entry's log".into())
}

fn validity(cert: &Certificate) -> (u64, u64) {
    let v = &cert.tbs_certificate.validity;
    (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    )
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let (Ok(tbs), Ok(spki)) = (
        cert.tbs_certificate.to_der(),
        issuer.tbs_certificate.subject_public_key_info.to_der(),
    ) else {
        return false;
    };
    let Some(hash) = Hash::of_signature_algorithm(&cert.signature_algorithm.oid) else {
        return false;
    };
    cert.tbs_certificate.issuer == issuer.tbs_certificate.subject
        && cert
            .signature
            .as_bytes()
            .is_some_and(|sig| crypto::verify(&spki, Some(hash), &tbs, sig))
}

/// The leaf's issuer from the trusted root, once the whole chain checks out (the leaf's own
/// validity at logging time is checked by the caller).
fn check_chain(leaf: &Certificate, at: u64, trust: &TrustRoot) -> Result<Certificate, String> {
    'chains: for chain in &trust.fulcio_chains {
        let certs: Vec<Certificate> = match chain.iter().map(|d| Certificate::from_der(d)).collect()
        {
            Ok(c) => c,
            Err(_) => continue,
        };
        let mut child = leaf;
        for ca in &certs {
            let (from, until) = validity(ca);
            if !signed_by(child, ca) || !(from..=until).contains(&at) {
                continue 'chains;
            }
            child = ca;
        }
        if let Some(issuer) = certs.into_iter().next() {
            return Ok(issuer);
        }
    }
    Err("the certificate does not chain to a Fulcio authority of the trusted root".into())
}

const SCT_LIST: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// RFC 6962 §3.2–3.3: one embedded SCT whose log is in the trusted root signed the
/// precertificate (this certificate without its SCT list) and the issuer's key hash.
fn check_sct(leaf: &Certificate, issuer: &Certificate, trust: &TrustRoot) -> Result<(), String> {
    let exts = leaf
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default();
    let ext = exts
        .iter()
        .find(|e| e.extn_id == SCT_LIST)
        .ok_or("the certificate carries no SCT")?;
    let list = der::asn1::OctetString::from_der(ext.extn_value.as_bytes())
        .map_err(|e| format!("the SCT list: {e}"))?;
    let scts = parse_sct_list(list.as_bytes()).ok_or("the SCT list does not parse")?;
    let mut precert = leaf.tbs_certificate.clone();
    precert.extensions = Some(
        exts.iter()
            .filter(|e| e.extn_id != SCT_LIST)
            .cloned()
            .collect(),
    );
    let tbs = precert.to_der().map_err(|e| e.to_string())?;
    let issuer_key_hash = Sha256::digest(
        issuer
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?,
    );
    for sct in &scts {
        let Some(key) = trust.ct_keys.iter().find(|k| k.key_id == sct.log_id) else {
            continue;
        };
        let mut signed = vec![sct.version, 0];
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(&sct.extensions);
        if crypto::verify(&key.spki_der, Some(Hash::Sha256), &signed, &sct.signature) {
            return Ok(());
        }
        return Err("the certificate's SCT does not verify with its CT log's key".into());
    }
    Err("the certificate's SCT is from no CT log of the trusted root".into())
}

struct Sct {
    version: u8,
    log_id: Vec<u8>,
    timestamp: u64,
    extensions: Vec<u8>,
    signature: Vec<u8>,
}

/// The TLS encoding of a `SignedCertificateTimestampList` (RFC 6962 §3.3).
fn parse_sct_list(b: &[u8]) -> Option<Vec<Sct>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        *b = rest;
        Some(head)
    }
    fn u16_at(b: &mut &[u8]) -> Option<usize> {
        take(b, 2).map(|x| u16::from_be_bytes([x[0], x[1]]) as usize)
    }
    let mut b = b;
    let total = u16_at(&mut b)?;
    let mut list = take(&mut b, total)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let len = u16_at(&mut list)?;
        let mut s = take(&mut list, len)?;
        let version = take(&mut s, 1)?[0];
        let log_id = take(&mut s, 32)?.to_vec();
        let timestamp = u64::from_be_bytes(take(&mut s, 8)?.try_into().ok()?);
        let ext_len = u16_at(&mut s)?;
        let extensions = take(&mut s, ext_len)?.to_vec();
        let _algorithms = take(&mut s, 2)?;
        let sig_len = u16_at(&mut s)?;
        let signature = take(&mut s, sig_len)?.to_vec();
        out.push(Sct {
            version,
            log_id,
            timestamp,
            extensions,
            signature,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_hash(d: &[u8]) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(d);
        h.finalize().to_vec()
    }

    #[test]
    fn inclusion_proofs_of_a_five_leaf_tree() {
        let leaves: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i]).collect();
        let l: Vec<Vec<u8>> = leaves.iter().map(|d| leaf_hash(d)).collect();
        let n01 = hash_children(&l[0], &l[1]);
        let n23 = hash_children(&l[2], &l[3]);
        let n0123 = hash_children(&n01, &n23);
        let root = hash_children(&n0123, &l[4]);
        assert!(inclusion(
            &leaves[2],
            2,
            5,
            &[l[3].clone(), n01.clone(), l[4].clone()],
            &root
        ));
        assert!(inclusion(
            &leaves[4],
            4,
            5,
            std::slice::from_ref(&n0123),
            &root
        ));
        assert!(inclusion(
            &leaves[0],
            0,
            5,
            &[l[1].clone(), n23.clone(), l[4].clone()],
            &root
        ));
        // Wrong leaf, wrong index, short path, index past the end.
        assert!(!inclusion(
            &leaves[1],
            2,
            5,
            &[l[3].clone(), n01.clone(), l[4].clone()],
            &root
        ));
        assert!(!inclusion(
            &leaves[2],
            3,
            5,
            &[l[3].clone(), n01.clone(), l[4].clone()],
            &root
        ));
        assert!(!inclusion(&leaves[4], 4, 5, &[], &root));
        assert!(!inclusion(&leaves[4], 5, 5, &[n0123], &root));
        assert!(inclusion(&leaves[0], 0, 1, &[], &l[0]));
    }

    #[test]
    fn sct_lists_parse_and_truncation_is_refused() {
        let mut sct = vec![0u8];
        sct.extend_from_slice(&[7u8; 32]);
        sct.extend_from_slice(&42u64.to_be_bytes());
        sct.extend_from_slice(&[0, 0, 4, 3, 0, 2, 0xaa, 0xbb]);
        let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
        let parsed = parse_sct_list(&list).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].log_id, [7u8; 32]);
        assert_eq!(parsed[0].timestamp, 42);
        assert_eq!(parsed[0].signature, [0xaa, 0xbb]);
        assert!(parse_sct_list(&list[..list.len() - 1]).is_none());
        assert!(parse_sct_list(&[]).is_none());
    }

    #[test]
    fn statements_naming_another_file_or_digest_are_refused() {
        let s = super::super::model::statement("p-1.0.tar.gz", "aa");
        assert!(check_statement(&s, "p-1.0.tar.gz", "aa").is_ok());
        assert!(check_statement(&s, "p-1.0.zip", "aa")
            .unwrap_err()
            .contains("subject"));
        assert!(check_statement(&s, "p-1.0.tar.gz", "bb")
            .unwrap_err()
            .contains("sha256"));
        assert!(check_statement(b"{}", "p-1.0.tar.gz", "aa").is_err());
    }
}
