//! Server-rendered HTML for the authorization endpoint: the consent page and the error page
//! shown when a request cannot be trusted enough to redirect. No scripts and no external
//! assets; every echoed value goes through [`escape`].

use std::fmt::Write as _;

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::authorize::ValidRequest;
use crate::params::Platform;

/// The organisations offered as ready-made choices.
const PRESET_ORGANISATIONS: [(&str, &str); 2] = [
    (
        "demo-small",
        "Demo Small Ltd (tens of customers, about a hundred documents)",
    ),
    ("demo-medium", "Demo Medium Ltd (a few thousand records)"),
];

/// The radio value meaning "use the free-text field". It contains ':' so it can never collide
/// with a valid organisation name.
const OTHER_ORGANISATION: &str = ":other";

/// What the user picked in the organisation fieldset, kept as typed so a re-rendered page
/// shows it again.
#[derive(Debug, Clone)]
pub(crate) struct OrganisationChoice {
    selected: String,
    other: String,
}

impl Default for OrganisationChoice {
    fn default() -> Self {
        Self {
            selected: PRESET_ORGANISATIONS[0].0.to_owned(),
            other: String::new(),
        }
    }
}

impl OrganisationChoice {
    pub(crate) fn from_form(organisation: Option<String>, other: Option<String>) -> Self {
        Self {
            selected: organisation.unwrap_or_default(),
            other: other.unwrap_or_default(),
        }
    }

    /// The name to validate: the free text when "another organisation" was picked, else the
    /// radio value (API clients may post `organisation=<name>` directly).
    pub(crate) fn chosen_name(&self) -> &str {
        if self.selected == OTHER_ORGANISATION {
            &self.other
        } else {
            &self.selected
        }
    }

    fn is_preset(&self, name: &str) -> bool {
        self.selected == name
    }

    /// Anything that is not a preset shows as "another organisation".
    fn other_text(&self) -> Option<&str> {
        let is_preset = PRESET_ORGANISATIONS
            .iter()
            .any(|(name, _)| *name == self.selected);
        (!is_preset).then(|| self.chosen_name())
    }
}

pub(crate) struct ConsentPage<'a> {
    request: &'a ValidRequest,
    choice: OrganisationChoice,
    error: Option<&'a str>,
}

impl<'a> ConsentPage<'a> {
    pub(crate) fn new(request: &'a ValidRequest, choice: OrganisationChoice) -> Self {
        Self {
            request,
            choice,
            error: None,
        }
    }

    pub(crate) fn with_error(self, error: &'a str) -> Self {
        Self {
            error: Some(error),
            ..self
        }
    }

    pub(crate) fn render(&self) -> Response {
        let request = self.request;
        let platform = request.platform;
        let client = escape(request.client.as_str());
        let mut body = String::new();
        let _ = write!(
            body,
            "<h1>{name} <span class=\"key\">({key})</span></h1>\
             <p><strong>{client}</strong> wants access to a {name} organisation.</p>",
            name = platform.display_name(),
            key = platform.key(),
        );
        if let Some(scope) = request.scopes.joined() {
            let _ = write!(
                body,
                "<p>Requested scope: <code>{}</code></p>",
                escape(&scope)
            );
        }
        let _ = write!(
            body,
            "<p class=\"small\">You will be sent back to <code>{}</code>.</p>",
            escape(&request.redirect_uri)
        );
        if let Some(error) = self.error {
            let _ = write!(
                body,
                "<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>",
                escape(error)
            );
        }
        // A relative action posts back to this same path wherever the router is nested.
        body.push_str("<form method=\"post\" action=\"authorize\">");
        self.push_hidden_fields(&mut body);
        self.push_organisation_fieldset(&mut body);
        body.push_str(
            "<div class=\"buttons\">\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\
             </div></form>",
        );
        let title = format!("Connect to {}", platform.display_name());
        let status = if self.error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        html_response(status, &title, &body)
    }

    fn push_hidden_fields(&self, body: &mut String) {
        let request = self.request;
        let scope = request.scopes.joined();
        let fields = [
            ("response_type", Some("code")),
            ("client_id", Some(request.client.as_str())),
            ("redirect_uri", Some(request.redirect_uri.as_str())),
            ("state", Some(request.state.as_str())),
            ("code_challenge", Some(request.challenge.as_str())),
            ("code_challenge_method", Some("S256")),
            ("scope", scope.as_deref()),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                let _ = write!(
                    body,
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape(value)
                );
            }
        }
    }

    fn push_organisation_fieldset(&self, body: &mut String) {
        let described_by = if self.error.is_some() {
            " aria-describedby=\"form-error\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<fieldset{described_by}><legend>Sandbox organisation</legend>"
        );
        for (index, (name, label)) in PRESET_ORGANISATIONS.iter().enumerate() {
            let checked = if self.choice.is_preset(name) {
                " checked"
            } else {
                ""
            };
            let _ = write!(
                body,
                "<div class=\"choice\"><input type=\"radio\" id=\"organisation-{index}\" \
                 name=\"organisation\" value=\"{name}\"{checked}>\
                 <label for=\"organisation-{index}\">{label} <code>{name}</code></label></div>"
            );
        }
        let other = self.choice.other_text();
        let _ = write!(
            body,
            "<div class=\"choice\"><input type=\"radio\" id=\"organisation-other\" \
             name=\"organisation\" value=\"{OTHER_ORGANISATION}\"{checked}>\
             <label for=\"organisation-other\">Another organisation</label></div>\
             <label for=\"organisation-other-name\" class=\"small\">Name of the other \
             organisation (letters, digits, - and _; up to 64)</label>\
             <input type=\"text\" id=\"organisation-other-name\" name=\"organisation_other\" \
             maxlength=\"64\" autocomplete=\"off\" value=\"{value}\"></fieldset>",
            checked = if other.is_some() { " checked" } else { "" },
            value = escape(other.unwrap_or("")),
        );
    }
}

/// Shown instead of redirecting when the client or redirect URI is wrong (400).
pub(crate) fn untrusted_request(platform: Platform, reason: &str) -> Response {
    let body = format!(
        "<h1>{name}: this request cannot be completed</h1>\
         <p class=\"error\" role=\"alert\">{reason}</p>\
         <p>The application that sent you here is misconfigured. You can close this page.</p>",
        name = platform.display_name(),
        reason = escape(reason),
    );
    html_response(
        StatusCode::BAD_REQUEST,
        "Invalid authorization request",
        &body,
    )
}

/// A registered redirect URI that cannot be put in a `Location` header.
pub(crate) fn misconfigured_redirect() -> Response {
    let body = "<h1>This sandbox client is misconfigured</h1>\
                <p class=\"error\" role=\"alert\">Its registered redirect URI is not a valid URL.</p>";
    html_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Misconfigured client",
        body,
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:0 auto;\
padding:1rem;line-height:1.5;color:#1a1a1a;background:#fff}\
h1{font-size:1.4rem}.key{color:#555;font-weight:normal}code{word-break:break-all}\
.small{font-size:.9rem;color:#444}.error{color:#a00000;font-weight:bold}\
fieldset{border:1px solid #888;border-radius:.4rem;padding:.75rem;margin:1rem 0}\
.choice{margin:.4rem 0}input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;\
font-size:1rem;margin-top:.25rem}.buttons{display:flex;gap:.75rem;flex-wrap:wrap}\
button{font:inherit;font-size:1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:2px solid #1d4ed8;\
background:#1d4ed8;color:#fff;cursor:pointer}button.secondary{background:#fff;color:#1d4ed8}\
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}";

fn html_response(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        title = escape(title),
    );
    let headers = [
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        // Consent must not be clickjacked; inline style is the page's only resource.
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ),
    ];
    (status, headers, Html(page)).into_response()
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn organisation_choice_uses_free_text_for_other() {
        let choice =
            OrganisationChoice::from_form(Some(OTHER_ORGANISATION.into()), Some("acme".into()));
        assert_eq!(choice.chosen_name(), "acme");
        assert_eq!(choice.other_text(), Some("acme"));
        let direct = OrganisationChoice::from_form(Some("acme".into()), None);
        assert_eq!(direct.chosen_name(), "acme");
        let preset = OrganisationChoice::from_form(Some("demo-medium".into()), None);
        assert_eq!(preset.other_text(), None);
    }
}
