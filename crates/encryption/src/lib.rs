#![forbid(unsafe_code)]
//! Encryption of credentials at rest.
//!
//! - Cipher: XChaCha20-Poly1305 (an AEAD). Its 192-bit nonces are drawn at random for every message, which is
//!   safe for any number of messages under one key.
//! - Every sealed value names the key that sealed it ([`KeyId`]), so keys can rotate: a [`KeyRing`] seals with
//!   its current key and opens with any key it holds, and rows are re-sealed to the new key in the background.
//! - Every sealed value is bound to where it belongs through associated data ([`Binding`]: the company and the
//!   connection ids, and what the value is). A ciphertext copied to another row does not open.
//! - Key material never appears in `Debug` output and is wiped from memory when dropped.
//!
//! The text form of a sealed value is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

const KEY_LENGTH: usize = 32;
const NONCE_LENGTH: usize = 24;
const FORMAT: &str = "v1";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EncryptionError {
    #[error("an encryption key must be {KEY_LENGTH} bytes, base64-encoded")]
    InvalidKey,
    #[error("the value is not a sealed value of a known format")]
    Malformed,
    #[error("the value was sealed with key {0}, which this key ring does not hold")]
    UnknownKey(String),
    #[error("the value does not open: it was altered, or belongs elsewhere")]
    Rejected,
}

/// A short public name for a key: the first 8 bytes of its SHA-256, in hex. Stored beside each sealed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One 256-bit key.
pub struct EncryptionKey {
    id: KeyId,
    material: Zeroizing<[u8; KEY_LENGTH]>,
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl EncryptionKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut material = Zeroizing::new([0u8; KEY_LENGTH]);
        rand::rngs::OsRng.fill_bytes(material.as_mut());
        Self::from_material(material)
    }

    /// Parses the base64 text form (standard or URL-safe alphabet, padding optional).
    pub fn parse(text: &str) -> Result<Self, EncryptionError> {
        let text = text.trim();
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| EncryptionError::InvalidKey)?,
        );
        let material: [u8; KEY_LENGTH] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| EncryptionError::InvalidKey)?;
        Ok(Self::from_material(Zeroizing::new(material)))
    }

    /// The base64 text form, for writing a generated key to its file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.material.as_ref()))
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    fn from_material(material: Zeroizing<[u8; KEY_LENGTH]>) -> Self {
        let digest = Sha256::digest(material.as_ref());
        let id = KeyId(
            digest[..8]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect(),
        );
        Self { id, material }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.material.as_ref().into())
    }
}

/// Where a sealed value belongs. Sealing and opening must name the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    bytes: Vec<u8>,
}

impl Binding {
    /// `purpose` says what the value is (e.g. "oauth-tokens"); the ids are the row's owners.
    pub fn new(purpose: &str, ids: &[&str]) -> Self {
        // Length-prefixed parts, so ("ab", "c") and ("a", "bc") bind differently.
        let mut bytes = b"linkwell/credentials".to_vec();
        for part in std::iter::once(purpose).chain(ids.iter().copied()) {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        Self { bytes }
    }
}

/// The keys linkwell can open values with, and the one it seals new values with.
#[derive(Debug)]
pub struct KeyRing {
    current: EncryptionKey,
    older: Vec<EncryptionKey>,
}

impl KeyRing {
    pub fn new(current: EncryptionKey, older: Vec<EncryptionKey>) -> Self {
        let older = older
            .into_iter()
            .filter(|key| key.id != current.id)
            .collect();
        Self { current, older }
    }

    pub fn current_key_id(&self) -> &KeyId {
        &self.current.id
    }

    /// Seals `plaintext` for `binding` with the current key, in the text form.
    pub fn seal(&self, plaintext: &[u8], binding: &Binding) -> String {
        let mut nonce = [0u8; NONCE_LENGTH];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &binding.bytes,
                },
            )
            // Encryption fails only for messages beyond the cipher's 256 GiB limit.
            .unwrap_or_default();
        let mut body = nonce.to_vec();
        body.extend_from_slice(&sealed);
        format!(
            "{FORMAT}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(body)
        )
    }

    /// Opens a value sealed by [`KeyRing::seal`] with any key of the ring.
    pub fn open(
        &self,
        sealed: &str,
        binding: &Binding,
    ) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        let (key_id, body) = parse_sealed(sealed)?;
        let key = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|key| key.id.as_str() == key_id)
            .ok_or_else(|| EncryptionError::UnknownKey(key_id.to_owned()))?;
        let (nonce, ciphertext) = body.split_at(NONCE_LENGTH);
        key.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &binding.bytes,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| EncryptionError::Rejected)
    }

    /// Whether a sealed value needs re-sealing to the current key (used by key rotation).
    pub fn is_current(&self, sealed: &str) -> bool {
        parse_sealed(sealed).is_ok_and(|(key_id, _)| key_id == self.current.id.as_str())
    }

    /// Opens with whichever key sealed it and seals again with the current key.
    pub fn reseal(&self, sealed: &str, binding: &Binding) -> Result<String, EncryptionError> {
        let plaintext = self.open(sealed, binding)?;
        Ok(self.seal(&plaintext, binding))
    }
}

fn parse_sealed(sealed: &str) -> Result<(&str, Vec<u8>), EncryptionError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(EncryptionError::Malformed);
    };
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| EncryptionError::Malformed)?;
    // A nonce and a 16-byte tag at the least.
    if body.len() < NONCE_LENGTH + 16 {
        return Err(EncryptionError::Malformed);
    }
    Ok((key_id, body))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn binding() -> Binding {
        Binding::new("oauth-tokens", &["company-1", "connection-1"])
    }

    #[test]
    fn sealed_values_open_and_hide_the_plaintext() {
        let ring = KeyRing::new(EncryptionKey::generate(), vec![]);
        let sealed = ring.seal(b"refresh-token-secret", &binding());
        assert!(!sealed.contains("refresh-token-secret"));
        assert!(sealed.starts_with(&format!("v1.{}.", ring.current_key_id())));
        assert_eq!(
            ring.open(&sealed, &binding()).unwrap().as_slice(),
            b"refresh-token-secret"
        );
        assert_ne!(
            sealed,
            ring.seal(b"refresh-token-secret", &binding()),
            "every seal has its own nonce"
        );
    }

    #[test]
    fn a_value_moved_to_another_row_does_not_open() {
        let ring = KeyRing::new(EncryptionKey::generate(), vec![]);
        let sealed = ring.seal(b"secret", &binding());
        for elsewhere in [
            Binding::new("oauth-tokens", &["company-2", "connection-1"]),
            Binding::new("oauth-tokens", &["company-1", "connection-2"]),
            Binding::new("client-secret", &["company-1", "connection-1"]),
            Binding::new("oauth-tokens", &["company-1conn", "ection-1"]),
        ] {
            assert_eq!(
                ring.open(&sealed, &elsewhere).unwrap_err(),
                EncryptionError::Rejected
            );
        }
    }

    #[test]
    fn tampering_is_detected() {
        let ring = KeyRing::new(EncryptionKey::generate(), vec![]);
        let sealed = ring.seal(b"secret", &binding());
        let (head, body) = sealed.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            ring.open(&tampered, &binding()).unwrap_err(),
            EncryptionError::Rejected
        );
        assert_eq!(
            ring.open("v1.abc", &binding()).unwrap_err(),
            EncryptionError::Malformed
        );
        assert_eq!(
            ring.open("v2.x.AAAA", &binding()).unwrap_err(),
            EncryptionError::Malformed
        );
    }

    #[test]
    fn rotation_opens_old_values_and_reseals_to_the_new_key() {
        let old = EncryptionKey::generate();
        let old_text = old.to_base64();
        let sealed = KeyRing::new(old, vec![]).seal(b"secret", &binding());
        let new = EncryptionKey::generate();
        let ring = KeyRing::new(new, vec![EncryptionKey::parse(&old_text).unwrap()]);
        assert!(!ring.is_current(&sealed));
        let resealed = ring.reseal(&sealed, &binding()).unwrap();
        assert!(ring.is_current(&resealed));
        assert_eq!(
            ring.open(&resealed, &binding()).unwrap().as_slice(),
            b"secret"
        );
        let without_old = KeyRing::new(
            EncryptionKey::parse(&ring.current.to_base64()).unwrap(),
            vec![],
        );
        assert!(matches!(
            without_old.open(&sealed, &binding()),
            Err(EncryptionError::UnknownKey(_))
        ));
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let key = EncryptionKey::generate();
        let text = key.to_base64();
        let parsed = EncryptionKey::parse(&text).unwrap();
        assert_eq!(parsed.id(), key.id());
        assert!(!format!("{key:?}").contains(text.as_str()));
        let url_safe = URL_SAFE_NO_PAD.encode(STANDARD.decode(text.as_str()).unwrap());
        assert_eq!(EncryptionKey::parse(&url_safe).unwrap().id(), key.id());
        assert_eq!(
            EncryptionKey::parse("c2hvcnQ=").unwrap_err(),
            EncryptionError::InvalidKey
        );
        assert_eq!(
            EncryptionKey::parse("not base64!").unwrap_err(),
            EncryptionError::InvalidKey
        );
    }

    proptest! {
        #[test]
        fn any_plaintext_round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..512), purpose in "[a-z-]{1,20}") {
            let ring = KeyRing::new(EncryptionKey::generate(), vec![]);
            let binding = Binding::new(&purpose, &["c", "x"]);
            let sealed = ring.seal(&plaintext, &binding);
            let opened = ring.open(&sealed, &binding).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }

        #[test]
        fn opening_garbage_never_panics(text in ".{0,200}") {
            let ring = KeyRing::new(EncryptionKey::generate(), vec![]);
            let _ = ring.open(&text, &binding());
        }
    }
}
