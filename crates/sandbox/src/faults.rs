//! Injected failures: the next N token or data calls on a platform answer 429/500/503, which is
//! how linkwell's retry and rate-limit handling is exercised against the sandbox. A fault set
//! `afterWrite` hits the next N record creations instead, after the record was created: the
//! platform took the request and its answer was lost on the way back.

use axum::http::StatusCode;
use serde::Deserialize;

/// The statuses a fault may answer with; anything else is refused when the fault is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultStatus {
    TooManyRequests,
    InternalServerError,
    ServiceUnavailable,
}

impl FaultStatus {
    fn parse(status: u16) -> Option<Self> {
        match status {
            429 => Some(Self::TooManyRequests),
            500 => Some(Self::InternalServerError),
            503 => Some(Self::ServiceUnavailable),
            _ => None,
        }
    }

    pub(crate) fn status_code(self) -> StatusCode {
        match self {
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    pub status: FaultStatus,
    remaining: u32,
    pub retry_after_seconds: Option<u32>,
    /// Answered by a record creation once it is done, instead of by the next call before it starts.
    pub after_write: bool,
}

impl Fault {
    pub(crate) fn take_one(&mut self) -> Option<Fault> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(*self)
    }

    pub(crate) fn is_spent(&self) -> bool {
        self.remaining == 0
    }
}

/// The body of `POST /{platform}/control/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FaultRequest {
    status: u16,
    count: u32,
    retry_after: Option<u32>,
    #[serde(default)]
    after_write: bool,
}

/// Parses a faults request. `Ok(None)` (count 0) clears any pending fault.
pub(crate) fn parse_fault_request(body: &[u8]) -> Result<Option<Fault>, String> {
    let request: FaultRequest = serde_json::from_slice(body).map_err(|error| {
        format!("expected {{\"status\", \"count\", \"retryAfter\"?, \"afterWrite\"?}}: {error}")
    })?;
    let status = FaultStatus::parse(request.status)
        .ok_or_else(|| format!("status must be 429, 500 or 503, not {}", request.status))?;
    Ok((request.count > 0).then_some(Fault {
        status,
        remaining: request.count,
        retry_after_seconds: request.retry_after,
        after_write: request.after_write,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_requests() {
        let fault = parse_fault_request(br#"{"status":503,"count":2,"retryAfter":7}"#);
        let Ok(Some(mut fault)) = fault else {
            panic!("expected a fault, got {fault:?}");
        };
        assert_eq!(fault.status, FaultStatus::ServiceUnavailable);
        assert_eq!(fault.retry_after_seconds, Some(7));
        assert!(fault.take_one().is_some());
        assert!(fault.take_one().is_some());
        assert!(fault.is_spent());
        assert!(fault.take_one().is_none());
        assert!(!fault.after_write);
        assert_eq!(
            parse_fault_request(br#"{"status":429,"count":0}"#),
            Ok(None)
        );
        let lost = parse_fault_request(br#"{"status":500,"count":1,"afterWrite":true}"#);
        assert!(
            matches!(
                lost,
                Ok(Some(Fault {
                    after_write: true,
                    ..
                }))
            ),
            "{lost:?}"
        );
    }

    #[test]
    fn rejects_bad_requests() {
        for body in [
            &br#"{"status":404,"count":1}"#[..],
            br#"{"status":503,"count":-1}"#,
            br#"{"status":503}"#,
            br#"{"status":503,"count":1,"extra":true}"#,
            b"not json",
        ] {
            assert!(parse_fault_request(body).is_err(), "{body:?}");
        }
    }
}
