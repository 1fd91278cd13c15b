//! Helpers for the data API: reads, writes, walking a list by cursor, `advance`, and picking
//! fields out of records.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;

impl TestApp {
    pub async fn data_get(
        &self,
        platform: &str,
        path: &str,
        token: &str,
        query: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/{platform}/api/v1/{path}")))
            .bearer_auth(token)
            .query(query)
            .send()
            .await
            .expect("GET data")
    }

    pub async fn data_send(
        &self,
        method: reqwest::Method,
        platform: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let request = self
            .http
            .request(method, self.url(&format!("/{platform}/api/v1/{path}")))
            .bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.expect("data write")
    }

    /// One page, asserting 200.
    pub async fn page(
        &self,
        platform: &str,
        path: &str,
        token: &str,
        query: &[(&str, &str)],
    ) -> Value {
        let response = self.data_get(platform, path, token, query).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{platform}/{path} {query:?}"
        );
        json(response).await
    }

    /// Every record of a list, following cursors, with `limit` per page.
    pub async fn walk(
        &self,
        platform: &str,
        path: &str,
        token: &str,
        limit: usize,
        since: Option<&str>,
    ) -> Vec<Value> {
        let limit = limit.to_string();
        let mut records = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100_000 {
            let mut query = vec![("limit", limit.as_str())];
            if let Some(since) = since {
                query.push(("updated_since", since));
            }
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let page = self.page(platform, path, token, &query).await;
            let data = page["data"].as_array().expect("data is an array");
            assert!(data.len() <= limit.parse().unwrap_or(0));
            records.extend(data.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => {
                    assert!(!data.is_empty(), "a page with a next cursor has records");
                    cursor = Some(next.to_owned());
                }
                None => return records,
            }
        }
        panic!("{platform}/{path} never ended");
    }

    pub async fn connect_with_scope(
        &self,
        platform: &str,
        organisation: &str,
        scope: &str,
    ) -> Tokens {
        let pkce = Pkce::new();
        let mut form = authorize_params("some-state", &pkce.challenge);
        form.push(("scope".into(), scope.into()));
        form.push(("organisation".into(), organisation.into()));
        form.push(("decision".into(), "allow".into()));
        let response = self.post_consent(platform, &form).await;
        let params = redirect_params(&response, REDIRECT_URI);
        let code = params.get("code").expect("a code");
        let response = self.exchange_code(platform, code, &pkce.verifier).await;
        assert_eq!(response.status(), StatusCode::OK);
        tokens_from(response).await
    }

    pub async fn advance(&self, platform: &str, organisation: &str, changes: u64) -> Value {
        let response = self
            .control(
                &format!("/{platform}/control/orgs/{organisation}/advance"),
                Some(json!({ "changes": changes })),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await
    }
}

pub fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|record| record["id"].as_str().expect("an id").to_owned())
        .collect()
}

pub fn by_id(records: &[Value]) -> HashMap<String, Value> {
    records
        .iter()
        .map(|record| {
            (
                record["id"].as_str().unwrap_or_default().to_owned(),
                record.clone(),
            )
        })
        .collect()
}

pub fn str_of<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {record}"))
}

pub fn int_of(record: &Value, field: &str) -> i64 {
    record[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {record}"))
}

/// The sandbox clock's now, to the millisecond, as `updated_since` takes it.
pub fn now_rfc3339(app: &TestApp) -> String {
    use linkwell_sandbox::Clock as _;
    app.clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The `field` names of a 422.
pub async fn rejected_fields(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(response).await;
    assert_eq!(body["error"], "validation_failed");
    body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|field| {
            assert!(field["message"].is_string());
            str_of(field, "field").to_owned()
        })
        .collect()
}
