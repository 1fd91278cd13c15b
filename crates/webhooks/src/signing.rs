//! Standard Webhooks signatures (symmetric scheme, `v1`): HMAC-SHA256 over `{msg_id}.{timestamp}.{body}`,
//! sent as `v1,<base64>` in the `webhook-signature` header, several of them space-separated while a
//! secret is being rotated.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::SigningSecret;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the message id (the same for every attempt of one message).
pub const HEADER_ID: &str = "webhook-id";
/// The header carrying the signing time, in whole seconds since the Unix epoch.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the space-separated signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// The version tag of symmetric (HMAC-SHA256) signatures.
pub const SIGNATURE_VERSION: &str = "v1";
/// The usual tolerance between a message's timestamp and the receiver's clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

fn mac(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.expose_bytes())
        .expect("HMAC-SHA256 takes keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// One signature, `v1,<base64(HMAC-SHA256(secret, "{msg_id}.{timestamp}.{body}"))>`.
///
/// `msg_id` must not contain a `.` (ours never do: they are generated, never user input).
pub fn sign(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    debug_assert!(
        !msg_id.contains('.'),
        "a webhook message id must not contain '.'"
    );
    let tag = mac(secret, msg_id, timestamp, body).finalize().into_bytes();
    format!("{SIGNATURE_VERSION},{}", STANDARD.encode(tag))
}

/// The `webhook-signature` value: one signature per secret, space-separated (during a rotation the old and
/// the new secret both sign, and a receiver accepts any one that matches).
pub fn signature_header(
    secrets: &[&SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three headers of a delivery: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
pub fn headers(
    secrets: &[&SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    vec![
        (HEADER_ID, msg_id.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (
            HEADER_SIGNATURE,
            signature_header(secrets, msg_id, timestamp, body),
        ),
    ]
}

/// Why a webhook did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the {0} header is missing or empty")]
    MissingHeader(&'static str),
    #[error("the webhook-timestamp header is not a whole number of seconds")]
    InvalidTimestamp,
    #[error("the message timestamp is too old")]
    TimestampTooOld,
    #[error("the message timestamp is too far in the future")]
    TimestampTooNew,
    #[error("no signature matches")]
    NoMatchingSignature,
}

/// Checks a received webhook as a receiver would: the timestamp lies within `tolerance` of `now` (Unix
/// seconds), and one of the `v1` signatures in `signature_header` is the secret's signature of
/// `{msg_id}.{timestamp}.{body}` (compared in constant time). Signatures of other versions are skipped.
pub fn verify(
    secret: &SigningSecret,
    msg_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    if msg_id.is_empty() {
        return Err(VerifyError::MissingHeader(HEADER_ID));
    }
    let timestamp = timestamp.trim();
    if timestamp.is_empty() {
        return Err(VerifyError::MissingHeader(HEADER_TIMESTAMP));
    }
    if signature_header.trim().is_empty() {
        return Err(VerifyError::MissingHeader(HEADER_SIGNATURE));
    }
    let timestamp: i64 = timestamp
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp)?;
    let tolerance = i128::from(tolerance.as_secs());
    let age = i128::from(now) - i128::from(timestamp);
    if age > tolerance {
        return Err(VerifyError::TimestampTooOld);
    }
    if -age > tolerance {
        return Err(VerifyError::TimestampTooNew);
    }

    let expected = mac(secret, msg_id, timestamp, body);
    let matched = signature_header
        .split_ascii_whitespace()
        .filter_map(|versioned| versioned.split_once(','))
        .filter(|(version, _)| *version == SIGNATURE_VERSION)
        .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
        .any(|candidate| expected.clone().verify_slice(&candidate).is_ok());
    if matched {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

/// [`verify`] with the headers given as name/value pairs (names compared without regard to case), e.g.
/// those of [`headers`] or of a received request.
pub fn verify_headers<'a>(
    secret: &SigningSecret,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let (mut id, mut timestamp, mut signature) = ("", "", "");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case(HEADER_ID) {
            id = value;
        } else if name.eq_ignore_ascii_case(HEADER_TIMESTAMP) {
            timestamp = value;
        } else if name.eq_ignore_ascii_case(HEADER_SIGNATURE) {
            signature = value;
        }
    }
    verify(secret, id, timestamp, signature, body, now, tolerance)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn secret() -> SigningSecret {
        SigningSecret::parse(SECRET).unwrap()
    }

    #[test]
    fn sign_matches_known_vector() {
        assert_eq!(
            sign(&secret(), MSG_ID, TIMESTAMP, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn sign_covers_id_timestamp_and_body() {
        let base = sign(&secret(), MSG_ID, TIMESTAMP, BODY);
        assert_ne!(base, sign(&secret(), "msg_other", TIMESTAMP, BODY));
        assert_ne!(base, sign(&secret(), MSG_ID, TIMESTAMP + 1, BODY));
        assert_ne!(
            base,
            sign(&secret(), MSG_ID, TIMESTAMP, br#"{"test": 2432232315}"#)
        );
        assert_ne!(
            base,
            sign(&SigningSecret::generate(), MSG_ID, TIMESTAMP, BODY)
        );
    }

    #[test]
    fn signature_header_joins_one_signature_per_secret() {
        let old = secret();
        let new = SigningSecret::generate();
        let header = signature_header(&[&old, &new], MSG_ID, TIMESTAMP, BODY);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                sign(&old, MSG_ID, TIMESTAMP, BODY),
                sign(&new, MSG_ID, TIMESTAMP, BODY)
            ]
        );
        assert_eq!(
            signature_header(&[&old], MSG_ID, TIMESTAMP, BODY),
            sign(&old, MSG_ID, TIMESTAMP, BODY)
        );
        // Either secret alone verifies the rotated header.
        for secret in [&old, &new] {
            verify(
                secret,
                MSG_ID,
                "1614265330",
                &header,
                BODY,
                TIMESTAMP,
                DEFAULT_TOLERANCE,
            )
            .unwrap();
        }
    }

    #[test]
    fn headers_are_the_three_standard_ones() {
        let secret = secret();
        let headers = headers(&[&secret], MSG_ID, TIMESTAMP, BODY);
        assert_eq!(
            headers,
            [
                ("webhook-id", MSG_ID.to_owned()),
                ("webhook-timestamp", "1614265330".to_owned()),
                (
                    "webhook-signature",
                    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned()
                ),
            ]
        );
        let pairs = headers.iter().map(|(name, value)| (*name, value.as_str()));
        verify_headers(&secret, pairs, BODY, TIMESTAMP + 10, DEFAULT_TOLERANCE).unwrap();
    }

    #[test]
    fn verify_accepts_a_good_signature() {
        let header = sign(&secret(), MSG_ID, TIMESTAMP, BODY);
        verify(
            &secret(),
            MSG_ID,
            "1614265330",
            &header,
            BODY,
            TIMESTAMP,
            DEFAULT_TOLERANCE,
        )
        .unwrap();
        // Within the tolerance on either side.
        for now in [TIMESTAMP - 300, TIMESTAMP + 300] {
            verify(
                &secret(),
                MSG_ID,
                "1614265330",
                &header,
                BODY,
                now,
                DEFAULT_TOLERANCE,
            )
            .unwrap();
        }
        // Unknown versions and garbage next to the good one are skipped.
        let mixed = format!("v1a,AAAA v2,xyz v1,!!! nocomma {header}");
        verify(
            &secret(),
            MSG_ID,
            "1614265330",
            &mixed,
            BODY,
            TIMESTAMP,
            DEFAULT_TOLERANCE,
        )
        .unwrap();
        // Header names in any case.
        let pairs = [
            ("Webhook-Id", MSG_ID),
            ("WEBHOOK-TIMESTAMP", "1614265330"),
            ("webhook-Signature", header.as_str()),
            ("content-type", "application/json"),
        ];
        verify_headers(&secret(), pairs, BODY, TIMESTAMP, DEFAULT_TOLERANCE).unwrap();
    }

    #[test]
    fn verify_rejects_tampering_wrong_secret_and_stale_timestamps() {
        let secret = secret();
        let header = sign(&secret, MSG_ID, TIMESTAMP, BODY);
        let check = |id: &str, ts: &str, sig: &str, body: &[u8], now: i64| {
            verify(&secret, id, ts, sig, body, now, DEFAULT_TOLERANCE)
        };
        let ts = "1614265330";
        assert_eq!(
            check(MSG_ID, ts, &header, br#"{"test": 2432232315}"#, TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check("msg_other", ts, &header, BODY, TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
        // Re-signed timestamp without a new signature.
        assert_eq!(
            check(MSG_ID, "1614265331", &header, BODY, TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
        let wrong = SigningSecret::generate();
        assert_eq!(
            verify(
                &wrong,
                MSG_ID,
                ts,
                &header,
                BODY,
                TIMESTAMP,
                DEFAULT_TOLERANCE
            ),
            Err(VerifyError::NoMatchingSignature)
        );
        // A truncated signature, and the right signature under another version tag.
        let truncated = &header[..header.len() - 4];
        assert_eq!(
            check(MSG_ID, ts, truncated, BODY, TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
        let retagged = header.replacen("v1,", "v1a,", 1);
        assert_eq!(
            check(MSG_ID, ts, &retagged, BODY, TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check(MSG_ID, ts, &header, BODY, TIMESTAMP + 301),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            check(MSG_ID, ts, &header, BODY, TIMESTAMP - 301),
            Err(VerifyError::TimestampTooNew)
        );
        assert_eq!(
            check(MSG_ID, "16142653.3", &header, BODY, TIMESTAMP),
            Err(VerifyError::InvalidTimestamp)
        );
        assert_eq!(
            check("", ts, &header, BODY, TIMESTAMP),
            Err(VerifyError::MissingHeader(HEADER_ID))
        );
        assert_eq!(
            check(MSG_ID, "", &header, BODY, TIMESTAMP),
            Err(VerifyError::MissingHeader(HEADER_TIMESTAMP))
        );
        assert_eq!(
            check(MSG_ID, ts, " ", BODY, TIMESTAMP),
            Err(VerifyError::MissingHeader(HEADER_SIGNATURE))
        );
        assert_eq!(
            verify_headers(
                &secret,
                [(HEADER_ID, MSG_ID)],
                BODY,
                TIMESTAMP,
                DEFAULT_TOLERANCE
            ),
            Err(VerifyError::MissingHeader(HEADER_TIMESTAMP))
        );
    }

    #[test]
    fn verify_handles_extreme_timestamps() {
        // No overflow at the ends of the range, whatever the tolerance.
        let secret = secret();
        for (timestamp, now, expected) in [
            (i64::MIN, i64::MAX, Err(VerifyError::TimestampTooOld)),
            (i64::MAX, i64::MIN, Err(VerifyError::TimestampTooNew)),
        ] {
            let header = sign(&secret, MSG_ID, timestamp, BODY);
            let ts = timestamp.to_string();
            let check = |tolerance| verify(&secret, MSG_ID, &ts, &header, BODY, now, tolerance);
            assert_eq!(check(DEFAULT_TOLERANCE), expected);
            assert_eq!(check(Duration::MAX), Ok(()));
        }
    }
}
