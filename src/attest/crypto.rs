//! The few ECDSA operations attestations need, over `ring` (already in the tree through
//! rustls): an ephemeral P-256 signing key, and verification with a key given as DER
//! SubjectPublicKeyInfo (how certificates and trusted roots carry keys).

use der::asn1::{BitString, ObjectIdentifier};
use der::{Decode, Encode};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};

pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    /// The hash of an `ecdsa-with-SHA*` signature algorithm.
    pub fn of_signature_algorithm(oid: &ObjectIdentifier) -> Option<Hash> {
        if *oid == ECDSA_SHA256 {
            Some(Hash::Sha256)
        } else if *oid == ECDSA_SHA384 {
            Some(Hash::Sha384)
        } else {
            None
        }
    }
}

/// Verify a DER ECDSA signature. `hash` None means the curve's own (P-256 → SHA-256,
/// P-384 → SHA-384), which is how logs sign. False for anything we cannot check.
pub fn verify(spki_der: &[u8], hash: Option<Hash>, message: &[u8], sig: &[u8]) -> bool {
    let Ok(spki) = SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return false;
    };
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return false;
    }
    let Some(curve) = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
    else {
        return false;
    };
    let alg: &dyn signature::VerificationAlgorithm = match (curve, hash) {
        (c, None | Some(Hash::Sha256)) if c == SECP256R1 => &signature::ECDSA_P256_SHA256_ASN1,
        (c, Some(Hash::Sha384)) if c == SECP256R1 => &signature::ECDSA_P256_SHA384_ASN1,
        (c, None | Some(Hash::Sha384)) if c == SECP384R1 => &signature::ECDSA_P384_SHA384_ASN1,
        (c, Some(Hash::Sha256)) if c == SECP384R1 => &signature::ECDSA_P384_SHA256_ASN1,
        _ => return false,
    };
    let Some(point) = spki.subject_public_key.as_bytes() else {
        return false;
    };
    UnparsedPublicKey::new(alg, point)
        .verify(message, sig)
        .is_ok()
}

/// A P-256 key that lives as long as one Fulcio certificate, never written anywhere.
pub struct EphemeralKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EphemeralKey(***)")
    }
}

impl EphemeralKey {
    pub fn generate() -> Result<EphemeralKey, String> {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|_| "key generation failed")?;
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
            .map_err(|_| "the generated key does not load")?;
        Ok(EphemeralKey { pair, rng })
    }

    /// A DER ECDSA-with-SHA256 signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "signing failed".to_string())
    }

    pub fn spki(&self) -> SubjectPublicKeyInfoOwned {
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: ID_EC_PUBLIC_KEY,
                parameters: Some(der::Any::from(&SECP256R1)),
            },
            subject_public_key: BitString::from_bytes(self.pair.public_key().as_ref())
                .expect("a point fits a bit string"),
        }
    }

    pub fn spki_der(&self) -> Vec<u8> {
        self.spki().to_der().expect("an SPKI encodes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_with_its_spki() {
        let k = EphemeralKey::generate().unwrap();
        let sig = k.sign(b"msg").unwrap();
        let spki = k.spki_der();
        assert!(verify(&spki, None, b"msg", &sig));
        assert!(verify(&spki, Some(Hash::Sha256), b"msg", &sig));
        assert!(!verify(&spki, None, b"other", &sig));
        assert!(!verify(&spki, Some(Hash::Sha384), b"msg", &sig));
        assert!(!verify(b"junk", None, b"msg", &sig));
        assert!(!format!("{k:?}").contains("pair"));
    }
}
