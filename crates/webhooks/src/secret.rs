//! An endpoint's signing secret: random bytes, shown to users as `whsec_<base64>`.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;
use zeroize::Zeroizing;

/// The prefix that marks a serialized symmetric signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How many random bytes [`SigningSecret::generate`] draws (256 bits).
pub const GENERATED_SECRET_LEN: usize = 32;
/// The shortest secret accepted (192 bits), as the Standard Webhooks spec asks.
pub const MIN_SECRET_LEN: usize = 24;
/// The longest secret accepted (512 bits), as the Standard Webhooks spec asks.
pub const MAX_SECRET_LEN: usize = 64;

/// Standard base64 that decodes with or without the trailing `=` padding (other implementations drop it).
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The HMAC-SHA256 key of one webhook endpoint.
///
/// The bytes are wiped from memory when the value is dropped, and `Debug` never shows them.
#[derive(Clone)]
pub struct SigningSecret {
    bytes: Zeroizing<Vec<u8>>,
}

/// Why a secret was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretParseError {
    #[error("a signing secret starts with `whsec_`")]
    MissingPrefix,
    #[error("the signing secret after `whsec_` is not standard base64")]
    InvalidBase64,
    #[error("a signing secret has {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes, not {0}")]
    InvalidLength(usize),
}

impl SigningSecret {
    /// A new secret of [`GENERATED_SECRET_LEN`] bytes from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; GENERATED_SECRET_LEN]);
        OsRng.fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// Reads `whsec_<base64>` (standard alphabet, padding optional; surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, SecretParseError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretParseError::MissingPrefix)?;
        let bytes = Zeroizing::new(
            LENIENT_STANDARD
                .decode(encoded)
                .map_err(|_| SecretParseError::InvalidBase64)?,
        );
        Self::checked(bytes)
    }

    /// A secret from raw bytes ([`MIN_SECRET_LEN`] to [`MAX_SECRET_LEN`] of them).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretParseError> {
        Self::checked(Zeroizing::new(bytes.into()))
    }

    fn checked(bytes: Zeroizing<Vec<u8>>) -> Result<Self, SecretParseError> {
        if (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            Ok(Self { bytes })
        } else {
            Err(SecretParseError::InvalidLength(bytes.len()))
        }
    }

    /// The form shown to users and accepted by [`SigningSecret::parse`]: `whsec_<base64 standard>`.
    pub fn to_whsec(&self) -> Zeroizing<String> {
        let encoded_len = base64::encoded_len(self.bytes.len(), true).unwrap_or_default();
        // Sized up front so that no reallocation leaves a copy of the secret behind.
        let mut text = Zeroizing::new(String::with_capacity(SECRET_PREFIX.len() + encoded_len));
        text.push_str(SECRET_PREFIX);
        STANDARD.encode_string(self.bytes.as_slice(), &mut text);
        text
    }

    /// The raw key bytes, for signing and for sealing the secret at rest.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_round_trips_through_whsec() {
        let secret = SigningSecret::generate();
        assert_eq!(secret.expose_bytes().len(), GENERATED_SECRET_LEN);
        let text = secret.to_whsec();
        assert!(text.starts_with("whsec_"), "{}", text.as_str());
        let parsed = SigningSecret::parse(&text).unwrap();
        assert_eq!(parsed.expose_bytes(), secret.expose_bytes());
        assert_eq!(parsed.to_whsec(), text);
    }

    #[test]
    fn generated_secrets_differ() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        assert_ne!(a.expose_bytes(), b.expose_bytes());
    }

    #[test]
    fn parse_accepts_padded_and_unpadded_base64() {
        // 24 bytes: no padding needed.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(secret.expose_bytes().len(), 24);
        assert_eq!(
            secret.to_whsec().as_str(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        );
        // 25 bytes: written with and without its padding.
        let bytes = [7u8; 25];
        let padded = format!("whsec_{}", STANDARD.encode(bytes));
        assert!(padded.ends_with("=="));
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(
            SigningSecret::parse(&padded).unwrap().expose_bytes(),
            &bytes
        );
        assert_eq!(
            SigningSecret::parse(unpadded).unwrap().expose_bytes(),
            &bytes
        );
        assert_eq!(
            SigningSecret::parse(&format!("  {padded}\n"))
                .unwrap()
                .expose_bytes(),
            &bytes
        );
    }

    #[test]
    fn parse_refuses_other_forms() {
        let raw = STANDARD.encode([1u8; 32]);
        assert_eq!(
            SigningSecret::parse(&raw).unwrap_err(),
            SecretParseError::MissingPrefix
        );
        assert_eq!(
            SigningSecret::parse(&format!("whsk_{raw}")).unwrap_err(),
            SecretParseError::MissingPrefix
        );
        assert_eq!(
            SigningSecret::parse("whsec_not*base64!").unwrap_err(),
            SecretParseError::InvalidBase64
        );
        assert_eq!(
            SigningSecret::parse("whsec_").unwrap_err(),
            SecretParseError::InvalidLength(0)
        );
        assert_eq!(
            SigningSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 16]))).unwrap_err(),
            SecretParseError::InvalidLength(16)
        );
        assert_eq!(
            SigningSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 65]))).unwrap_err(),
            SecretParseError::InvalidLength(65)
        );
        assert!(SigningSecret::from_bytes(vec![0u8; 23]).is_err());
        assert!(SigningSecret::from_bytes(vec![0u8; 64]).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("MfKQ"), "{shown}");
        assert_eq!(format!("{secret:?}"), "SigningSecret(<redacted>)");
    }
}
