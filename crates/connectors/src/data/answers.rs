//! How a platform's HTTP answers become JSON or [`ConnectorError`]s: 429, 5xx and timeouts are transient
//! (with the platform's `Retry-After`, which is reported, never slept on), a 422 names the pushed record's
//! fields by their standard-model paths, and a grant the platform no longer honours is refused.

use std::time::Duration;

use serde_json::Value;

use crate::data::push::{standard_path, PushSpec};
use crate::data::{ConnectorError, FieldError};
use crate::tokens::TokenError;

/// What a failure to get or use the connection's token means for the caller.
pub(crate) fn token_failure(error: TokenError) -> ConnectorError {
    match error {
        TokenError::Deauthorized(reason) => ConnectorError::Refused(reason),
        TokenError::Transient {
            reason,
            retry_after,
        } => ConnectorError::Transient {
            reason,
            retry_after,
            rate_limited: false,
        },
        other => ConnectorError::Failed(other.to_string()),
    }
}

/// The JSON of a successful answer (`Null` for an empty one), or the error the answer means. A 422 names the
/// pushed record's fields by their standard paths when `pushed` says which spec and record.
pub(crate) async fn read_json(
    answer: reqwest::Response,
    pushed: Option<(&PushSpec, &Value)>,
) -> Result<Value, ConnectorError> {
    let body = read_body(answer, pushed).await?;
    if body.trim_ascii().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&body)
        .map_err(|_| ConnectorError::Failed("the platform's answer is not JSON".to_owned()))
}

/// The body of a successful answer, as sent; any other answer sorted into its [`ConnectorError`] as
/// [`read_json`] does.
pub(crate) async fn read_body(
    answer: reqwest::Response,
    pushed: Option<(&PushSpec, &Value)>,
) -> Result<bytes::Bytes, ConnectorError> {
    let status = answer.status();
    if status.is_success() {
        return answer.bytes().await.map_err(|_| ConnectorError::Transient {
            reason: "the platform's answer was cut short".to_owned(),
            retry_after: None,
            rate_limited: false,
        });
    }
    let retry_after = retry_after(answer.headers());
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    let description = describe(status.as_u16(), &body);
    Err(match status.as_u16() {
        401 | 403 => ConnectorError::Refused(description),
        404 => ConnectorError::NotFound(description),
        405 => ConnectorError::NotSupported(description),
        409 => ConnectorError::Conflict(description),
        422 => ConnectorError::Invalid(field_errors(&body, pushed, &description)),
        429 => ConnectorError::Transient {
            reason: description,
            retry_after,
            rate_limited: true,
        },
        408 | 500..=599 => ConnectorError::Transient {
            reason: description,
            retry_after,
            rate_limited: false,
        },
        _ => ConnectorError::Failed(description),
    })
}

/// `code: description` of a platform error answer, kept short: it may end up in operation logs.
fn describe(status: u16, body: &Value) -> String {
    let code = body["error"].as_str().unwrap_or("error");
    match body["error_description"].as_str() {
        Some(text) => format!("{code}: {}", text.chars().take(300).collect::<String>()),
        None => format!("the platform answered {status} ({code})"),
    }
}

fn field_errors(
    body: &Value,
    pushed: Option<(&PushSpec, &Value)>,
    description: &str,
) -> Vec<FieldError> {
    let errors: Vec<FieldError> = body["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|field| {
                    let platform = field["field"].as_str().unwrap_or_default();
                    FieldError {
                        field: match pushed {
                            Some((spec, record)) => standard_path(spec, record, platform),
                            None => platform.to_owned(),
                        },
                        message: field["message"]
                            .as_str()
                            .unwrap_or("is not valid")
                            .to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() {
        vec![FieldError {
            field: String::new(),
            message: description.to_owned(),
        }]
    } else {
        errors
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::data::accounting::push as accounting_push;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn platform_field_errors_name_standard_fields() {
        let body = json!({
            "error": "validation_failed",
            "error_description": "2 fields are not valid",
            "fields": [
                {"field": "customer_id", "message": "no customer with id \"cus_9\""},
                {"field": "lines[1].account_id", "message": "account acc_1 is a asset account"},
            ],
        });
        let errors = field_errors(&body, Some((&accounting_push::INVOICES, &json!({}))), "x");
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["customerRef.id", "lineItems[1].accountRef.id"]);
        assert_eq!(errors[0].message, "no customer with id \"cus_9\"");
        let bare = field_errors(&json!({}), None, "validation_failed: bad");
        assert_eq!(bare[0].message, "validation_failed: bad");
    }
}
