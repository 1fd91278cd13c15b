//! Linking end to end over HTTP: the Link pages, the sandbox platforms' OAuth2, the callback's checks, the
//! one-accounting-connection rule, the client's redirect URL, and importing tokens. Runs on SQLite and
//! PostgreSQL.

mod common;

use common::flow::{absolute, hidden_fields, location, query_value};
use common::TestApp;
use serde_json::{json, Value};

backend_tests!(
    each_sandbox_platform_links,
    denying_access_leaves_the_connection_pending_with_an_error,
    a_tampered_state_is_refused,
    a_replayed_state_is_refused,
    a_callback_from_another_browser_is_refused,
    an_expired_attempt_is_recorded_and_refused,
    a_second_accounting_platform_cannot_be_linked,
    completing_a_second_accounting_authorization_changes_nothing,
    unlinked_and_deauthorized_connections_relink_with_the_same_id,
    the_client_redirect_url_receives_the_outcome,
    profile_round_trips_and_validates,
    the_company_page_lists_platforms_and_connections,
    unknown_link_pages_are_not_found,
    imported_tokens_are_checked_and_link,
    unlinking_or_deleting_revokes_the_grant_at_the_platform,
    connect_reuses_a_connection_that_is_not_linked,
);

async fn history(app: &TestApp, company: &str, connection: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!(
            "/companies/{company}/connections/{connection}/history"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().unwrap().clone()
}

async fn page_text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn each_sandbox_platform_links(app: TestApp) -> TestApp {
    for key in ["mqjo", "bnks", "aiwb"] {
        let (company, connection) = app.company_with_connection(key).await;
        let done = app.link(&company, &connection, "demo-small").await;
        assert_eq!(
            done,
            format!("/link/companies/{company}/connections/{connection}/result?outcome=linked")
        );
        let record = app.connection(&company, &connection).await;
        assert_eq!(record["status"], "Linked", "{key}: {record}");
        let entries = history(&app, &company, &connection).await;
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[1]["previousStatus"], "PendingAuth");
        assert_eq!(entries[1]["status"], "Linked");
        // The token works against the platform, which says whose it is.
        let who = app
            .state
            .tokens()
            .check_access(app.connection_ref(&company, &connection))
            .await
            .expect("the stored token works");
        assert_eq!(who["organisation"], "demo-small");
        assert_eq!(who["platform"], key);
        let (status, html) = page_text(app.browse(&done, None).await).await;
        assert_eq!(status, 200);
        assert!(html.contains("is connected"), "{html}");
    }
    app
}

async fn denying_access_leaves_the_connection_pending_with_an_error(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("bnks").await;
    let attempt = app.start_link(&company, &connection).await;
    let back = app.decide(&attempt, "deny", "demo-small").await;
    assert!(back.contains("error=access_denied"), "{back}");
    let done = app.callback(&back, Some(&attempt.cookie)).await;
    assert_eq!(done.status(), 303);
    let done = location(&done);
    assert!(done.ends_with("outcome=denied"), "{done}");
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "PendingAuth");
    let errors = record["dataConnectionErrors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{record}");
    assert_eq!(errors[0]["statusText"], "access_denied");
    assert_eq!(errors[0]["status"], "Active");
    assert!(errors[0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("denied"));
    let (status, html) = page_text(app.browse(&done, None).await).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Not connected") && html.contains("Try again"),
        "{html}"
    );

    // Trying again and allowing links it, and the old error is marked resolved.
    app.link(&company, &connection, "demo-small").await;
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "Linked");
    assert_eq!(record["dataConnectionErrors"][0]["status"], "Resolved");
    assert!(record["dataConnectionErrors"][0]["resolvedOnUtc"].is_string());
    app
}

fn replace_query_value(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            if pair.starts_with(&format!("{name}=")) {
                format!("{name}={value}")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

async fn assert_refused(app: &TestApp, response: reqwest::Response, says: &str) {
    let (status, html) = page_text(response).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains(says), "{html}");
    let _ = app;
}

async fn a_tampered_state_is_refused(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("mqjo").await;
    let attempt = app.start_link(&company, &connection).await;
    let back = app.decide(&attempt, "allow", "demo-small").await;
    let state = query_value(&back, "state");
    // Flip one character of the sealed state.
    let mut tampered: Vec<char> = state.chars().collect();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let forged = replace_query_value(&back, "state", &tampered);
    assert_refused(
        &app,
        app.callback(&forged, Some(&attempt.cookie)).await,
        "not valid",
    )
    .await;
    let missing = replace_query_value(&back, "state", "");
    assert_refused(
        &app,
        app.callback(&missing, Some(&attempt.cookie)).await,
        "not valid",
    )
    .await;
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "PendingAuth");
    assert_eq!(record["dataConnectionErrors"], json!([]));
    // The genuine callback still works.
    let done = app.callback(&back, Some(&attempt.cookie)).await;
    assert!(location(&done).ends_with("outcome=linked"));
    app
}

async fn a_replayed_state_is_refused(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("aiwb").await;
    let attempt = app.start_link(&company, &connection).await;
    let back = app.decide(&attempt, "allow", "demo-small").await;
    let done = app.callback(&back, Some(&attempt.cookie)).await;
    assert!(location(&done).ends_with("outcome=linked"));
    assert_refused(
        &app,
        app.callback(&back, Some(&attempt.cookie)).await,
        "already been used",
    )
    .await;
    let entries = history(&app, &company, &connection).await;
    assert_eq!(entries.len(), 2, "linked exactly once: {entries:?}");
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "Linked"
    );
    app
}

async fn a_callback_from_another_browser_is_refused(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("mqjo").await;
    let attempt = app.start_link(&company, &connection).await;
    let back = app.decide(&attempt, "allow", "demo-small").await;
    assert_refused(&app, app.callback(&back, None).await, "another browser").await;
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "PendingAuth");
    // A browser's cookie is reused for its next attempt, so two tabs of one browser both work.
    let first = app.start_link(&company, &connection).await;
    let second = app
        .start_link_with_cookie(&company, &connection, Some(&first.cookie))
        .await;
    assert_eq!(first.cookie, second.cookie);
    app
}

async fn an_expired_attempt_is_recorded_and_refused(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("mqjo").await;
    let attempt = app.start_link(&company, &connection).await;
    let back = app.decide(&attempt, "allow", "demo-small").await;
    sqlx::query("UPDATE link_attempts SET expires_at = $1")
        .bind("2000-01-01T00:00:00.000Z")
        .execute(&app.sql)
        .await
        .unwrap();
    let done = app.callback(&back, Some(&attempt.cookie)).await;
    assert_eq!(done.status(), 303);
    assert!(location(&done).ends_with("outcome=expired"));
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "PendingAuth");
    assert_eq!(record["dataConnectionErrors"][0]["statusText"], "expired");
    let (_, html) = page_text(app.browse(&location(&done), None).await).await;
    assert!(html.contains("expired"), "{html}");
    app
}

async fn a_second_accounting_platform_cannot_be_linked(app: TestApp) -> TestApp {
    let (company, first) = app.company_with_connection("mqjo").await;
    let second = app.create_connection(&company, "mqjo").await;
    let second = second["id"].as_str().unwrap().to_owned();
    app.link(&company, &first, "demo-small").await;
    // Starting the second shows a clear page and goes nowhere near the platform.
    let response = app
        .browse(
            &format!("/link/companies/{company}/connections/{second}/start"),
            None,
        )
        .await;
    let (status, html) = page_text(response).await;
    assert_eq!(status, 409);
    assert!(
        html.contains("Only one accounting platform can be connected"),
        "{html}"
    );
    assert_eq!(
        app.connection(&company, &second).await["status"],
        "PendingAuth"
    );
    // Banking and commerce connections are not limited.
    for key in ["bnks", "bnks", "aiwb"] {
        let other = app.create_connection(&company, key).await;
        app.link(&company, other["id"].as_str().unwrap(), "demo-small")
            .await;
    }
    app
}

async fn completing_a_second_accounting_authorization_changes_nothing(app: TestApp) -> TestApp {
    let (company, first) = app.company_with_connection("mqjo").await;
    let second = app.create_connection(&company, "mqjo").await;
    let second = second["id"].as_str().unwrap().to_owned();
    // Both attempts start while neither is linked.
    let first_attempt = app.start_link(&company, &first).await;
    let second_attempt = app.start_link(&company, &second).await;
    let first_back = app.decide(&first_attempt, "allow", "demo-small").await;
    let second_back = app.decide(&second_attempt, "allow", "demo-medium").await;
    let done = app.callback(&first_back, Some(&first_attempt.cookie)).await;
    assert!(location(&done).ends_with("outcome=linked"));
    let done = app
        .callback(&second_back, Some(&second_attempt.cookie))
        .await;
    let done = location(&done);
    assert!(done.ends_with("outcome=conflict"), "{done}");
    let (_, html) = page_text(app.browse(&done, None).await).await;
    assert!(html.contains("Nothing was changed"), "{html}");
    let record = app.connection(&company, &second).await;
    assert_eq!(record["status"], "PendingAuth");
    assert_eq!(record["dataConnectionErrors"], json!([]));
    assert_eq!(history(&app, &company, &second).await.len(), 1);
    assert_eq!(app.connection(&company, &first).await["status"], "Linked");
    app
}

async fn unlinked_and_deauthorized_connections_relink_with_the_same_id(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("mqjo").await;
    app.link(&company, &connection, "demo-small").await;
    let (status, body) = app
        .patch(
            &format!("/companies/{company}/connections/{connection}"),
            json!({"status": "Unlinked"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Unlinked");
    // Unlinking drops the credentials.
    let at = app.connection_ref(&company, &connection);
    assert!(app.state.tokens().access_token(at).await.is_err());
    let done = app.link(&company, &connection, "demo-small").await;
    assert!(done.ends_with("outcome=linked"));
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "Linked"
    );

    // Access is revoked at the platform: the next use of the token finds out.
    let revoked = app
        .http
        .post(format!(
            "{}/sandbox/mqjo/control/orgs/demo-small/revoke",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let error = app.state.tokens().check_access(at).await.unwrap_err();
    assert!(
        matches!(error, linkwell_connectors::TokenError::Deauthorized(_)),
        "{error:?}"
    );
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "Deauthorized"
    );
    let done = app.link(&company, &connection, "demo-small").await;
    assert!(done.ends_with("outcome=linked"));
    let record = app.connection(&company, &connection).await;
    assert_eq!(record["status"], "Linked");
    assert_eq!(record["id"], connection);
    let statuses: Vec<Value> = history(&app, &company, &connection)
        .await
        .iter()
        .map(|entry| entry["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        json!([
            "PendingAuth",
            "Linked",
            "Unlinked",
            "Linked",
            "Deauthorized",
            "Linked"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    app.state
        .tokens()
        .check_access(at)
        .await
        .expect("the new grant works");
    app
}

async fn the_client_redirect_url_receives_the_outcome(app: TestApp) -> TestApp {
    let (status, body) = app
        .put(
            "/profile",
            json!({
                "name": "Bob's Burgers",
                "redirectUrl": "https://app.example/linked/{companyId}?connection={connectionId}&code={statusCode}&text={statusText}&error={errorMessage}",
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (company, connection) = app.company_with_connection("aiwb").await;
    let done = app.link(&company, &connection, "demo-small").await;
    assert_eq!(
        done,
        format!("https://app.example/linked/{company}?connection={connection}&code=200&text=Linked&error=")
    );
    let (company, connection) = app.company_with_connection("bnks").await;
    let attempt = app.start_link(&company, &connection).await;
    let back = app.decide(&attempt, "deny", "demo-small").await;
    let done = location(&app.callback(&back, Some(&attempt.cookie)).await);
    assert_eq!(
        done,
        format!("https://app.example/linked/{company}?connection={connection}&code=403&text=AccessDenied&error=Access%20was%20denied%20at%20the%20platform")
    );
    app
}

async fn profile_round_trips_and_validates(app: TestApp) -> TestApp {
    let (status, body) = app.get("/profile").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "test-client");
    assert_eq!(body["redirectUrl"], "");
    assert!(body.get("apiKey").is_none());
    let profile = json!({
        "name": "Acme Lending",
        "logoUrl": "https://acme.example/logo.png",
        "iconUrl": "https://acme.example/icon.ico",
        "redirectUrl": "https://acme.{countrySuffix}/{companyId}",
        "whiteListUrls": ["https://acme.example"],
        "apiKey": "ignored",
        "confirmCompanyName": true,
    });
    let (status, body) = app.put("/profile", profile).await;
    assert_eq!(status, 200, "{body}");
    let (_, read) = app.get("/profile").await;
    assert_eq!(read["name"], "Acme Lending");
    assert_eq!(
        read["redirectUrl"],
        "https://acme.{countrySuffix}/{companyId}"
    );
    assert_eq!(read["whiteListUrls"], json!(["https://acme.example"]));
    assert!(read.get("apiKey").is_none());
    for (bad, says) in [
        (json!({"redirectUrl": ""}), "name is required"),
        (json!({"name": "x"}), "redirectUrl is required"),
        (
            json!({"name": "x", "redirectUrl": "javascript:alert(1)"}),
            "redirectUrl must be an absolute http or https URL",
        ),
        (
            json!({"name": "x", "redirectUrl": "", "whiteListUrls": ["ftp://x"]}),
            "whiteListUrls must be",
        ),
    ] {
        let (status, body) = app.put("/profile", bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
    }
    // Another client has its own profile.
    let (_, other_key) = app.other_client("other-client").await;
    let response = app
        .request_as(&other_key, reqwest::Method::GET, "/profile")
        .send()
        .await
        .unwrap();
    let (_, other) = common::read(response).await;
    assert_eq!(other["name"], "other-client");
    app
}

async fn the_company_page_lists_platforms_and_connections(app: TestApp) -> TestApp {
    let company = app.create_company("Fish & Chips").await;
    let company_id = company["id"].as_str().unwrap().to_owned();
    let redirect = company["redirect"].as_str().unwrap();
    assert_eq!(
        redirect,
        format!("{}/link/companies/{company_id}", app.base)
    );
    let (status, html) = page_text(app.browse(redirect, None).await).await;
    assert_eq!(status, 200);
    assert!(html.contains("Connect Fish &amp; Chips"), "{html}");
    for heading in ["Accounting", "Banking", "Commerce"] {
        assert!(html.contains(&format!(">{heading}</h2>")), "{heading}");
    }
    for key in ["mqjo", "bnks", "aiwb"] {
        assert!(html.contains(&format!("data-platform=\"{key}\"")), "{key}");
    }
    assert!(!html.contains("<script"));

    // Connecting through the page's form creates a connection and starts its authorization.
    let response = app
        .http
        .post(format!("{redirect}/connections"))
        .form(&[("platformKey", "bnks")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let start = location(&response);
    let (_, listed) = app
        .get(&format!("/companies/{company_id}/connections"))
        .await;
    let connection = listed["results"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        start,
        format!("/link/companies/{company_id}/connections/{connection}/start")
    );
    // Pressing it again reuses the pending connection.
    let again = app
        .http
        .post(format!("{redirect}/connections"))
        .form(&[("platformKey", "bnks")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), start);
    let bad = app
        .http
        .post(format!("{redirect}/connections"))
        .form(&[("platformKey", "zzzz")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let done = app.link(&company_id, &connection, "demo-small").await;
    assert!(done.ends_with("outcome=linked"));
    let (_, html) = page_text(app.browse(redirect, None).await).await;
    assert!(
        html.contains(&format!("data-connection-id=\"{connection}\"")),
        "{html}"
    );
    assert!(html.contains("data-status=\"Linked\""), "{html}");
    let response = app.browse(redirect, None).await;
    assert_eq!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap(),
        "default-src 'none'"
    );
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    app
}

async fn unknown_link_pages_are_not_found(app: TestApp) -> TestApp {
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/link/companies/{unknown}"),
        "/link/companies/not-a-uuid".to_owned(),
        format!("/link/companies/{unknown}/connections/{unknown}/start"),
    ] {
        let (status, html) = page_text(app.browse(&path, None).await).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("This link is not valid"), "{html}");
    }
    let (company, _) = app.company_with_connection("mqjo").await;
    let (status, _) = page_text(
        app.browse(
            &format!("/link/companies/{company}/connections/{unknown}/start"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    app
}

/// Tokens obtained from the sandbox directly, as another system would have them.
async fn tokens_from_elsewhere(app: &TestApp, platform: &str) -> Value {
    use base64::Engine;
    use sha2::Digest;
    let verifier = "a-verifier-that-is-long-enough-for-pkce-rules-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect_uri = format!("{}/link/callback", app.base);
    let authorize = format!(
        "{}/sandbox/{platform}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256&scope=read",
        app.base,
        common::SANDBOX_CLIENT_ID,
        redirect_uri
    );
    let html = app
        .http
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = hidden_fields(&html);
    form.insert("organisation".into(), "demo-small".into());
    form.insert("decision".into(), "allow".into());
    let answer = app
        .http
        .post(authorize.split('?').next().unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    let code = query_value(&location(&answer), "code");
    let tokens = app
        .http
        .post(format!("{}/sandbox/{platform}/oauth/token", app.base))
        .basic_auth(
            common::SANDBOX_CLIENT_ID,
            Some(common::SANDBOX_CLIENT_SECRET),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), 200);
    tokens.json().await.unwrap()
}

async fn imported_tokens_are_checked_and_link(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("bnks").await;
    let path = format!("/companies/{company}/connections/{connection}/authorization");
    let (status, body) = app.put(&path, json!({"refreshToken": "x"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("accessToken"));
    let (status, body) = app
        .put(&path, json!({"accessToken": "not-a-real-token"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        app.connection(&company, &connection).await["status"],
        "PendingAuth"
    );

    let tokens = tokens_from_elsewhere(&app, "bnks").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = app
        .put(
            &path,
            json!({"accessToken": access, "refreshToken": refresh, "expiresIn": "1800"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Linked");
    assert!(!body.to_string().contains(access) && !body.to_string().contains(refresh));
    let at = app.connection_ref(&company, &connection);
    let who = app.state.tokens().check_access(at).await.unwrap();
    assert_eq!(who["platform"], "bnks");

    // A dead access token with a good refresh token is refreshed during the check.
    let (other_company, other) = app.company_with_connection("aiwb").await;
    let tokens = tokens_from_elsewhere(&app, "aiwb").await;
    let (status, body) = app
        .put(
            &format!("/companies/{other_company}/connections/{other}/authorization"),
            json!({"access_token": "expired-long-ago", "refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Linked");
    // The refresh token used during the check has been rotated: the old one no longer works, the stored
    // one does.
    app.expire_stored_access_token(&other).await;
    app.state
        .tokens()
        .access_token(app.connection_ref(&other_company, &other))
        .await
        .expect("refresh with the rotated token");

    let unknown = uuid::Uuid::new_v4();
    let (status, _) = app
        .put(
            &format!("/companies/{company}/connections/{unknown}/authorization"),
            json!({"accessToken": access}),
        )
        .await;
    assert_eq!(status, 404);
    let _ = absolute(&app, "/");
    app
}

/// Whether the platform still accepts an access token (asking does not use anything up).
async fn token_works(app: &TestApp, platform: &str, access_token: &str) -> bool {
    app.http
        .get(format!("{}/sandbox/{platform}/api/whoami", app.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .is_success()
}

async fn wait_until_revoked(app: &TestApp, platform: &str, access_token: &str) {
    // Revocation runs after the answer; give it a moment.
    for _ in 0..100 {
        if !token_works(app, platform, access_token).await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the grant was not revoked at the platform");
}

async fn unlinking_or_deleting_revokes_the_grant_at_the_platform(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("mqjo").await;
    app.link(&company, &connection, "demo-small").await;
    let (access, _) = app.stored_tokens(&company, &connection).await;
    assert!(token_works(&app, "mqjo", &access).await);
    let (status, _) = app
        .patch(
            &format!("/companies/{company}/connections/{connection}"),
            json!({"status": "Unlinked"}),
        )
        .await;
    assert_eq!(status, 200);
    wait_until_revoked(&app, "mqjo", &access).await;

    let (company, connection) = app.company_with_connection("aiwb").await;
    app.link(&company, &connection, "demo-small").await;
    let (access, _) = app.stored_tokens(&company, &connection).await;
    assert!(token_works(&app, "aiwb", &access).await);
    let (status, _) = app
        .delete(&format!("/companies/{company}/connections/{connection}"))
        .await;
    assert_eq!(status, 200);
    wait_until_revoked(&app, "aiwb", &access).await;
    app
}

async fn press_connect(app: &TestApp, company: &str, platform: &str) -> String {
    let response = app
        .http
        .post(format!("{}/link/companies/{company}/connections", app.base))
        .form(&[("platformKey", platform)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    location(&response)
}

async fn connect_reuses_a_connection_that_is_not_linked(app: TestApp) -> TestApp {
    let (company, connection) = app.company_with_connection("bnks").await;
    // Denied: the page says what happened, and Connect goes back to the same connection.
    let attempt = app.start_link(&company, &connection).await;
    let back = app.decide(&attempt, "deny", "demo-small").await;
    app.callback(&back, Some(&attempt.cookie)).await;
    let (_, html) = page_text(
        app.browse(&format!("/link/companies/{company}"), None)
            .await,
    )
    .await;
    assert!(
        html.contains("<p class=\"error\">Access was denied at the platform</p>"),
        "{html}"
    );
    let start = format!("/link/companies/{company}/connections/{connection}/start");
    assert_eq!(press_connect(&app, &company, "bnks").await, start);
    // Unlinked: Connect reconnects it rather than adding another.
    app.link(&company, &connection, "demo-small").await;
    let (_, html) = page_text(
        app.browse(&format!("/link/companies/{company}"), None)
            .await,
    )
    .await;
    assert!(
        !html.contains("class=\"error\""),
        "a resolved error is not shown: {html}"
    );
    app.patch(
        &format!("/companies/{company}/connections/{connection}"),
        json!({"status": "Unlinked"}),
    )
    .await;
    assert_eq!(press_connect(&app, &company, "bnks").await, start);
    // While it is Linked, a second bank account gets a connection of its own.
    app.link(&company, &connection, "demo-small").await;
    assert_ne!(press_connect(&app, &company, "bnks").await, start);
    let (_, listed) = app.get(&format!("/companies/{company}/connections")).await;
    assert_eq!(listed["totalResults"], 2);
    app
}
