//! Client authentication for the token and revocation endpoints (RFC 6749 §2.3.1): HTTP Basic
//! or `client_id`/`client_secret` form fields, never both.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::SandboxError;
use crate::params::ClientId;
use crate::secrets::constant_time_eq;
use crate::Sandbox;

pub(crate) fn authenticate_client(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    form_client_id: Option<&str>,
    form_client_secret: Option<&str>,
) -> Result<ClientId, SandboxError> {
    let (client_id, secret) = match basic_credentials(headers)? {
        Some((id, secret)) => {
            if form_client_secret.is_some() {
                return Err(SandboxError::invalid_request(
                    "use HTTP Basic or client_secret in the body, not both",
                ));
            }
            // A client_id alongside Basic is tolerated, but it must name the same client.
            if form_client_id.is_some_and(|form_id| form_id != id) {
                return Err(SandboxError::invalid_client(
                    "client_id does not match the Basic credentials",
                ));
            }
            (id, secret)
        }
        None => match (form_client_id, form_client_secret) {
            (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            _ => {
                return Err(SandboxError::invalid_client(
                    "client authentication is required",
                ))
            }
        },
    };
    match sandbox.client(&client_id) {
        Some(client) if constant_time_eq(&client.client_secret, &secret) => {
            Ok(ClientId::known(&client.client_id))
        }
        _ => Err(SandboxError::invalid_client(
            "unknown client or wrong client secret",
        )),
    }
}

/// `Ok(None)` when there is no Basic header; malformed Basic credentials are `invalid_client`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, SandboxError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || SandboxError::invalid_client("malformed Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(SandboxError::invalid_client(
            "only HTTP Basic client authentication is supported",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    // RFC 6749 §2.3.1 form-encodes both halves before joining them with ':'.
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    Ok(Some((id, secret)))
}

/// `application/x-www-form-urlencoded` decoding of one value.
fn form_decode(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut input = encoded.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = char::from(input.next()?).to_digit(16)?;
                let low = char::from(input.next()?).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decode("plain").as_deref(), Some("plain"));
        assert_eq!(form_decode("bad%2"), None);
        assert_eq!(form_decode("bad%zz"), None);
        assert_eq!(form_decode("%ff"), None);
    }
}
