//! The hosted Link pages, where a company's person connects platforms. They are reached through the
//! company's `redirect` and each connection's `linkUrl`, without an API key: the company's id in the URL is
//! the capability, as in Codat's hosted Link.
//!
//! - `GET /link/companies/{companyId}`: the company page (platforms to connect, connections and their status).
//! - `POST /link/companies/{companyId}/connections`: connect a platform (reuses a pending connection to it).
//! - `GET /link/companies/{companyId}/connections/{connectionId}/start`: the `linkUrl`; on to the platform.
//! - `GET /link/callback`: where platforms send the person back.
//! - `GET /link/companies/{companyId}/connections/{connectionId}/result`: the outcome, when the client has
//!   no redirect URL.

use axum::extract::{Form, Path, Query, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use linkwell_connectors::link::BROWSER_COOKIE;
use linkwell_connectors::{Rejection, StartRefusal};
use linkwell_domain::connection::{ConnectionStatus, SourceType};
use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::integration::PlatformKey;
use linkwell_store::{CompanyRecord, ConnectionRecord, NewConnection};
use serde::Deserialize;

use crate::link_pages::{escape, html_response, message_page, page};
use crate::state::AppState;

const SERVICE: &str = "linkwell";

fn not_found() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        SERVICE,
        "Link not found",
        false,
        "This link is not valid. Ask the service that sent you here for a new one.",
        &[],
    )
}

fn unavailable() -> Response {
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        SERVICE,
        "Something went wrong",
        false,
        "We could not complete this step. Please try again in a moment.",
        &[],
    )
}

/// Logs an unexpected failure and shows a page without its details.
fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "link page failed");
    unavailable()
}

fn company_path(company: CompanyId) -> String {
    format!("/link/companies/{company}")
}

fn start_path(company: CompanyId, connection: ConnectionId) -> String {
    format!("/link/companies/{company}/connections/{connection}/start")
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// The company and its owner, from the id in the URL.
async fn load_company(
    state: &AppState,
    company: &str,
) -> Result<(ClientId, CompanyRecord), Response> {
    let company: CompanyId = company.parse().map_err(|_| not_found())?;
    let client = match state.store.company_owner(company).await {
        Ok(client) => client,
        Err(linkwell_store::StoreError::NotFound) => return Err(not_found()),
        Err(error) => return Err(internal(error)),
    };
    match state.store.get_company(client, company).await {
        Ok(record) => Ok((client, record)),
        Err(linkwell_store::StoreError::NotFound) => Err(not_found()),
        Err(error) => Err(internal(error)),
    }
}

async fn brand(state: &AppState, client: ClientId) -> String {
    state
        .store
        .get_profile(client)
        .await
        .map(|profile| profile.name)
        .unwrap_or_else(|_| SERVICE.to_owned())
}

fn logo(key: &str) -> String {
    format!(
        "<img src=\"/assets/integrations/{}/square.svg\" alt=\"\">",
        escape(key)
    )
}

fn status_badge(status: ConnectionStatus) -> String {
    let label = match status {
        ConnectionStatus::PendingAuth => "Waiting for authorization",
        ConnectionStatus::Linked => "Connected",
        ConnectionStatus::Unlinked => "Disconnected",
        ConnectionStatus::Deauthorized => "Access lost",
    };
    format!(
        "<span class=\"status status-{}\" data-status=\"{}\">{label}</span>",
        status.as_str(),
        status.as_str()
    )
}

fn connection_card(company: CompanyId, connection: &ConnectionRecord) -> String {
    let action = match connection.status {
        ConnectionStatus::Linked => String::new(),
        ConnectionStatus::PendingAuth => format!(
            "<a class=\"button secondary\" href=\"{}\" aria-label=\"Continue connecting {}\">Continue</a>",
            escape(&start_path(company, connection.id)),
            escape(&connection.platform_name)
        ),
        ConnectionStatus::Unlinked | ConnectionStatus::Deauthorized => format!(
            "<a class=\"button\" href=\"{}\" aria-label=\"Reconnect {}\">Reconnect</a>",
            escape(&start_path(company, connection.id)),
            escape(&connection.platform_name)
        ),
    };
    // What went wrong last, while it is unresolved and the connection not linked.
    let problem = connection
        .errors
        .last()
        .filter(|error| {
            error.resolved_on_utc.is_none() && connection.status != ConnectionStatus::Linked
        })
        .and_then(|error| error.error_message.as_deref())
        .map(|message| format!("<p class=\"error\">{}</p>", escape(message)))
        .unwrap_or_default();
    format!(
        "<li class=\"card\" data-connection-id=\"{id}\" data-platform=\"{key}\">{logo}\
         <div class=\"grow\"><div class=\"name\">{name}</div>{badge}{problem}</div>{action}</li>",
        id = connection.id,
        key = escape(&connection.platform_key),
        logo = logo(&connection.platform_key),
        name = escape(&connection.platform_name),
        badge = status_badge(connection.status),
    )
}

/// `GET /link/companies/{companyId}`.
pub async fn company_page(State(state): State<AppState>, Path(company): Path<String>) -> Response {
    let (client, record) = match load_company(&state, &company).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let brand = brand(&state, client).await;
    let accounting_linked = record.connections.iter().any(|connection| {
        connection.source_type == SourceType::Accounting
            && connection.status == ConnectionStatus::Linked
    });
    let mut body = format!(
        "<p>Choose the platforms {} may read data from. You can come back to this page at any time.</p>",
        escape(&brand)
    );
    if !record.connections.is_empty() {
        body.push_str("<section aria-labelledby=\"connections\"><h2 id=\"connections\">Your connections</h2><ul>");
        for connection in &record.connections {
            body.push_str(&connection_card(record.id, connection));
        }
        body.push_str("</ul></section>");
    }
    for (source_type, heading) in [
        (SourceType::Accounting, "Accounting"),
        (SourceType::Banking, "Banking"),
        (SourceType::Commerce, "Commerce"),
    ] {
        let integrations: Vec<_> = state
            .catalogue
            .all()
            .iter()
            .filter(|integration| integration.enabled && integration.source_type == source_type)
            .collect();
        if integrations.is_empty() {
            continue;
        }
        let id = heading.to_lowercase();
        body.push_str(&format!(
            "<section aria-labelledby=\"{id}\"><h2 id=\"{id}\">{heading}</h2>"
        ));
        if source_type == SourceType::Accounting && accounting_linked {
            body.push_str(
                "<p class=\"note\">An accounting platform is already connected. Only one can be connected at a time.</p>",
            );
        }
        body.push_str("<ul>");
        for integration in integrations {
            let available = state.tokens().platforms().get(&integration.key).is_some();
            let blocked = source_type == SourceType::Accounting && accounting_linked;
            let button = if available && !blocked {
                format!(
                    "<form method=\"post\" action=\"{}/connections\"><input type=\"hidden\" name=\"platformKey\" value=\"{}\">\
                     <button class=\"button\" type=\"submit\" aria-label=\"Connect {}\">Connect</button></form>",
                    escape(&company_path(record.id)),
                    escape(&integration.key),
                    escape(&integration.name)
                )
            } else {
                format!(
                    "<button class=\"button\" type=\"button\" disabled aria-label=\"Connect {}: {}\">{}</button>",
                    escape(&integration.name),
                    if available { "not possible now" } else { "unavailable" },
                    if available { "Connect" } else { "Unavailable" }
                )
            };
            body.push_str(&format!(
                "<li class=\"card\" data-platform=\"{key}\">{logo}<div class=\"grow\"><div class=\"name\">{name}</div>\
                 <p class=\"note\">{provider}</p></div>{button}</li>",
                key = escape(&integration.key),
                logo = logo(&integration.key),
                name = escape(&integration.name),
                provider = escape(&integration.data_provided_by),
            ));
        }
        body.push_str("</ul></section>");
    }
    html_response(
        StatusCode::OK,
        page(&format!("Connect {}", record.name), &brand, &body),
    )
}

#[derive(Deserialize)]
pub struct ConnectForm {
    #[serde(rename = "platformKey")]
    platform_key: String,
}

/// `POST /link/companies/{companyId}/connections`: a connection to the platform (a pending one is reused),
/// then on to its start.
pub async fn connect_platform(
    State(state): State<AppState>,
    Path(company): Path<String>,
    form: Result<Form<ConnectForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (client, record) = match load_company(&state, &company).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let brand = brand(&state, client).await;
    let integration = form
        .ok()
        .and_then(|Form(form)| PlatformKey::parse(&form.platform_key).ok())
        .and_then(|key| state.catalogue.get(&key).filter(|entry| entry.enabled));
    let Some(integration) = integration else {
        return message_page(
            StatusCode::BAD_REQUEST,
            &brand,
            "Unknown platform",
            false,
            "That platform cannot be connected. Go back and choose another one.",
            &[("Back to your connections", company_path(record.id))],
        );
    };
    // A connection to this platform that is not linked is the one to (re)connect: pending first, then one
    // that lost access or was unlinked. Only a platform whose connections are all Linked gets a new one.
    let pending = [
        ConnectionStatus::PendingAuth,
        ConnectionStatus::Deauthorized,
        ConnectionStatus::Unlinked,
    ]
    .iter()
    .find_map(|status| {
        record.connections.iter().find(|connection| {
            connection.platform_key == integration.key && connection.status == *status
        })
    });
    let connection = match pending {
        Some(connection) => connection.id,
        None => match state
            .store
            .create_connection(
                client,
                record.id,
                NewConnection::for_integration(integration),
            )
            .await
        {
            Ok(connection) => connection.id,
            Err(error) => return internal(error),
        },
    };
    see_other(&start_path(record.id, connection))
}

fn browser_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == BROWSER_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// `GET /link/companies/{companyId}/connections/{connectionId}/start`: the connection's `linkUrl`.
pub async fn start(
    State(state): State<AppState>,
    Path((company, connection)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (client, record) = match load_company(&state, &company).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Ok(connection_id) = connection.parse::<ConnectionId>() else {
        return not_found();
    };
    let Some(connection) = record
        .connections
        .iter()
        .find(|connection| connection.id == connection_id)
    else {
        return not_found();
    };
    let brand = brand(&state, client).await;
    let back = [("Back to your connections", company_path(record.id))];
    let started = state
        .link
        .start(client, connection, browser_cookie(&headers).as_deref())
        .await;
    let started = match started {
        Ok(started) => started,
        Err(StartRefusal::AlreadyLinked) => {
            return message_page(
                StatusCode::OK,
                &brand,
                "Already connected",
                true,
                &format!("{} is already connected.", connection.platform_name),
                &back,
            )
        }
        Err(StartRefusal::AccountingTaken(_)) => {
            return message_page(
                StatusCode::CONFLICT,
                &brand,
                "An accounting platform is already connected",
                false,
                &format!(
                    "{} cannot be connected while another accounting platform is connected. \
                     Only one accounting platform can be connected at a time.",
                    connection.platform_name
                ),
                &back,
            )
        }
        Err(StartRefusal::PlatformUnavailable) => {
            return message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &brand,
                "Platform unavailable",
                false,
                &format!(
                    "{} cannot be connected at the moment.",
                    connection.platform_name
                ),
                &back,
            )
        }
        Err(StartRefusal::Store(error)) => return internal(error),
    };
    let mut response = see_other(&started.authorize_url);
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}={}; Path=/link; HttpOnly; SameSite=Lax; Max-Age=86400{secure}",
        started.browser_cookie
    )) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /link/callback`: where the platform sends the person back.
pub async fn callback(
    State(state): State<AppState>,
    Query(params): Query<CallbackParams>,
    headers: HeaderMap,
) -> Response {
    let completed = state
        .link
        .complete(
            params.state.as_deref(),
            params.code.as_deref(),
            params.error.as_deref(),
            browser_cookie(&headers).as_deref(),
        )
        .await;
    let completed = match completed {
        Ok(completed) => completed,
        Err(rejection) => {
            let message = match rejection {
                Rejection::BadState => "This sign-in link is not valid. Start again from the page that sent you here.",
                Rejection::Replayed => "This sign-in link has already been used. Start again from the page that sent you here.",
                Rejection::OtherBrowser => "This sign-in was started in another browser. Start again in this one from the page that sent you here.",
                Rejection::Store(error) => return internal(error),
            };
            return message_page(
                StatusCode::BAD_REQUEST,
                SERVICE,
                "Sign-in not completed",
                false,
                message,
                &[],
            );
        }
    };
    let profile = match state.store.get_profile(completed.client).await {
        Ok(profile) => profile,
        Err(error) => return internal(error),
    };
    let platform_key = state
        .store
        .get_connection(completed.client, completed.company, completed.connection)
        .await
        .map(|connection| connection.platform_key)
        .unwrap_or_default();
    if !profile.redirect_url.trim().is_empty() {
        return see_other(&fill_redirect(
            &profile.redirect_url,
            &completed,
            &platform_key,
        ));
    }
    see_other(&format!(
        "/link/companies/{}/connections/{}/result?outcome={}",
        completed.company,
        completed.connection,
        completed.outcome.as_str()
    ))
}

/// The client's redirect URL with Codat's placeholders filled in, each value percent-encoded.
pub fn fill_redirect(
    template: &str,
    completed: &linkwell_connectors::Completed,
    platform_key: &str,
) -> String {
    let outcome = &completed.outcome;
    [
        ("{companyId}", completed.company.to_string()),
        ("{connectionId}", completed.connection.to_string()),
        ("{dataConnectionId}", completed.connection.to_string()),
        ("{statusCode}", outcome.status_code().to_string()),
        ("{statusText}", outcome.status_text().to_owned()),
        ("{errorMessage}", outcome.error_message()),
        ("{platformKey}", platform_key.to_owned()),
        ("{integrationKey}", platform_key.to_owned()),
    ]
    .iter()
    .fold(template.to_owned(), |url, (placeholder, value)| {
        url.replace(placeholder, &crate::paging::encode(value))
    })
}

#[derive(Deserialize)]
pub struct ResultParams {
    outcome: Option<String>,
}

/// `GET /link/companies/{companyId}/connections/{connectionId}/result`.
pub async fn result_page(
    State(state): State<AppState>,
    Path((company, connection)): Path<(String, String)>,
    Query(params): Query<ResultParams>,
) -> Response {
    let (client, record) = match load_company(&state, &company).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(connection) = connection
        .parse::<ConnectionId>()
        .ok()
        .and_then(|id| record.connections.iter().find(|c| c.id == id))
    else {
        return not_found();
    };
    let brand = brand(&state, client).await;
    let name = &connection.platform_name;
    let back = [("Back to your connections", company_path(record.id))];
    let retry = [
        ("Try again", start_path(record.id, connection.id)),
        ("Back to your connections", company_path(record.id)),
    ];
    let (title, good, message, actions): (&str, bool, String, &[(&str, String)]) =
        match (params.outcome.as_deref(), connection.status) {
            (_, ConnectionStatus::Linked) => (
                "Connected",
                true,
                format!("{name} is connected. You can close this page."),
                &back,
            ),
            (Some("denied"), _) => (
                "Not connected",
                false,
                format!("Access to {name} was not allowed, so nothing was connected."),
                &retry,
            ),
            (Some("expired"), _) => (
                "Not connected",
                false,
                format!("The connection to {name} took too long and expired. Please try again."),
                &retry,
            ),
            (Some("conflict"), _) => (
                "An accounting platform is already connected",
                false,
                format!(
                    "{name} was not connected: only one accounting platform can be connected at a time, \
                     and another one already is. Nothing was changed."
                ),
                &back,
            ),
            _ => (
                "Not connected",
                false,
                format!("{name} could not be connected. Please try again."),
                &retry,
            ),
        };
    message_page(StatusCode::OK, &brand, title, good, &message, actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkwell_connectors::{Completed, Outcome};

    #[test]
    fn redirect_placeholders_are_filled_and_encoded() {
        let completed = Completed {
            client: ClientId::new(),
            company: CompanyId::new(),
            connection: ConnectionId::new(),
            outcome: Outcome::Failed("bad & worse".into()),
        };
        let url = fill_redirect(
            "https://app.example/done?c={companyId}&x={connectionId}&s={statusCode}&t={statusText}&e={errorMessage}",
            &completed,
            "mqjo",
        );
        assert_eq!(
            url,
            format!(
                "https://app.example/done?c={}&x={}&s=502&t=AuthorizationFailed&e=bad%20%26%20worse",
                completed.company, completed.connection
            )
        );
    }
}
