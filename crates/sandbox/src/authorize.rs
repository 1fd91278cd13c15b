//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636): the consent page and the user's
//! decision. Until the client and its exact redirect URI are known, errors are shown as a page
//! and never redirected (RFC 6749 §4.1.2.1), so the sandbox cannot be used as an open redirect.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use crate::authorize_page::{self, ConsentPage, OrganisationChoice};
use crate::grants::CodeRequest;
use crate::params::{ClientId, CodeChallenge, OrganisationName, Platform, Scopes};
use crate::{parse_platform, Sandbox};

/// The authorization request, as sent by the client in the query string and echoed back by the
/// consent form's hidden fields.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuthorizeRequest {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
}

/// The consent form: the request again plus what the user chose. Not a `#[serde(flatten)]` of
/// [`AuthorizeRequest`], because flattening and form decoding do not mix reliably.
#[derive(Debug, Deserialize)]
pub(crate) struct ConsentForm {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
    decision: Option<String>,
    organisation: Option<String>,
    organisation_other: Option<String>,
}

/// A request whose every parameter checked out.
pub(crate) struct ValidRequest {
    pub platform: Platform,
    pub client: ClientId,
    pub redirect_uri: String,
    pub state: String,
    pub challenge: CodeChallenge,
    pub scopes: Scopes,
}

enum Rejection {
    /// The client or redirect URI cannot be trusted: show a page, do not redirect.
    Untrusted(&'static str),
    /// The redirect URI is trusted, so the client hears about the problem there.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
    },
}

impl Rejection {
    fn into_response(self, platform: Platform) -> Response {
        match self {
            Rejection::Untrusted(reason) => authorize_page::untrusted_request(platform, reason),
            Rejection::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => {
                let mut parameters = vec![("error", error), ("error_description", description)];
                if let Some(state) = state.as_deref() {
                    parameters.push(("state", state));
                }
                redirect_with(&redirect_uri, &parameters)
            }
        }
    }
}

fn validate(
    sandbox: &Sandbox,
    platform: Platform,
    request: &AuthorizeRequest,
) -> Result<ValidRequest, Rejection> {
    let client_id = request
        .client_id
        .as_deref()
        .ok_or(Rejection::Untrusted("The request has no client_id."))?;
    let client = sandbox.client(client_id).ok_or(Rejection::Untrusted(
        "The client_id is not a registered client.",
    ))?;
    let redirect_uri = request
        .redirect_uri
        .as_deref()
        .filter(|uri| {
            client
                .redirect_uris
                .iter()
                .any(|registered| registered == uri)
        })
        .ok_or(Rejection::Untrusted(
            "The redirect_uri is missing or is not registered for this client.",
        ))?;
    let reject = |error, description| Rejection::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: request.state.clone(),
        error,
        description,
    };
    match request.response_type.as_deref() {
        Some("code") => {}
        None => return Err(reject("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(reject(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    let state = request
        .state
        .clone()
        .filter(|state| !state.is_empty())
        .ok_or_else(|| reject("invalid_request", "state is required"))?;
    if request.code_challenge_method.as_deref() != Some("S256") {
        return Err(reject(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    let challenge = request
        .code_challenge
        .as_deref()
        .and_then(CodeChallenge::parse)
        .ok_or_else(|| reject("invalid_request", "a valid S256 code_challenge is required"))?;
    let scopes = Scopes::parse(request.scope.as_deref())
        .ok_or_else(|| reject("invalid_scope", "scope contains forbidden characters"))?;
    Ok(ValidRequest {
        platform,
        client: ClientId::known(&client.client_id),
        redirect_uri: redirect_uri.to_owned(),
        state,
        challenge,
        scopes,
    })
}

pub(crate) async fn show_consent(
    Path(platform): Path<String>,
    State(sandbox): State<Sandbox>,
    query: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Response {
    let platform = match parse_platform(&platform) {
        Ok(platform) => platform,
        Err(error) => return error.into_response(),
    };
    let Ok(Query(request)) = query else {
        return authorize_page::untrusted_request(
            platform,
            "The request parameters are malformed.",
        );
    };
    match validate(&sandbox, platform, &request) {
        Ok(valid) => ConsentPage::new(&valid, OrganisationChoice::default()).render(),
        Err(rejection) => rejection.into_response(platform),
    }
}

pub(crate) async fn decide_consent(
    Path(platform): Path<String>,
    State(sandbox): State<Sandbox>,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    let platform = match parse_platform(&platform) {
        Ok(platform) => platform,
        Err(error) => return error.into_response(),
    };
    let Ok(Form(form)) = form else {
        return authorize_page::untrusted_request(platform, "The submitted form is malformed.");
    };
    let request = AuthorizeRequest {
        response_type: form.response_type,
        client_id: form.client_id,
        redirect_uri: form.redirect_uri,
        state: form.state,
        code_challenge: form.code_challenge,
        code_challenge_method: form.code_challenge_method,
        scope: form.scope,
    };
    let valid = match validate(&sandbox, platform, &request) {
        Ok(valid) => valid,
        Err(rejection) => return rejection.into_response(platform),
    };
    let choice = OrganisationChoice::from_form(form.organisation, form.organisation_other);
    match form.decision.as_deref() {
        Some("deny") => redirect_with(
            &valid.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied access"),
                ("state", &valid.state),
            ],
        ),
        Some("allow") => match OrganisationName::parse(choice.chosen_name()) {
            Ok(organisation) => allow(&sandbox, valid, organisation),
            Err(problem) => ConsentPage::new(&valid, choice)
                .with_error(problem)
                .render(),
        },
        _ => ConsentPage::new(&valid, choice)
            .with_error("Choose Allow or Deny.")
            .render(),
    }
}

fn allow(sandbox: &Sandbox, valid: ValidRequest, organisation: OrganisationName) -> Response {
    let now = sandbox.now();
    let state = valid.state;
    let redirect_uri = valid.redirect_uri;
    let code = sandbox.store().issue_code(
        now,
        CodeRequest {
            platform: valid.platform,
            client: valid.client,
            redirect_uri: redirect_uri.clone(),
            challenge: valid.challenge,
            organisation,
            scopes: valid.scopes,
        },
    );
    redirect_with(&redirect_uri, &[("code", &code), ("state", &state)])
}

/// Appends query parameters to a registered redirect URI, keeping any query it already has
/// (RFC 6749 §3.1.2). 303 so the browser follows the POST with a GET.
fn redirect_with(redirect_uri: &str, parameters: &[(&str, &str)]) -> Response {
    let mut target = redirect_uri.to_owned();
    let mut separator = if redirect_uri.contains('?') { '&' } else { '?' };
    for (name, value) in parameters {
        target.push(separator);
        target.push_str(name);
        target.push('=');
        target.push_str(&percent_encode(value));
        separator = '&';
    }
    // A registered URI with characters a header cannot carry is a configuration mistake;
    // it becomes an error page instead of the panic `Redirect::to` would raise.
    match HeaderValue::try_from(target) {
        Ok(location) => (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response(),
        Err(_) => authorize_page::misconfigured_redirect(),
    }
}

/// Percent-encodes everything outside RFC 3986's unreserved set.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b&c=<d>"), "a%20b%26c%3D%3Cd%3E");
        assert_eq!(percent_encode("safe-._~"), "safe-._~");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
