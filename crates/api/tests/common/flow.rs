//! Drives the Link flow over HTTP as a browser would: linkwell's start, the sandbox's consent form, and the
//! callback, carrying the browser cookie by hand.

use std::collections::HashMap;

use linkwell_encryption::Binding;

use super::TestApp;

/// An authorization attempt in progress.
pub struct Attempt {
    /// `linkwell_link=...`, as the browser would send it back.
    pub cookie: String,
    /// Where linkwell sent the person: the platform's authorize URL.
    pub authorize_url: String,
}

pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the consent page's form.
pub fn hidden_fields(html: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for input in html.split("<input").skip(1) {
        let tag = input.split('>').next().unwrap_or_default();
        if !tag.contains("type=\"hidden\"") {
            continue;
        }
        let attribute = |name: &str| {
            let marker = format!("{name}=\"");
            let start = tag.find(&marker)? + marker.len();
            let end = tag[start..].find('"')? + start;
            Some(unescape(&tag[start..end]))
        };
        if let (Some(name), Some(value)) = (attribute("name"), attribute("value")) {
            fields.insert(name, value);
        }
    }
    fields
}

/// The value of query parameter `name` in `url`, as it appears there.
pub fn query_value(url: &str, name: &str) -> String {
    url.split_once('?')
        .unwrap()
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {} answer", response.status()))
        .to_str()
        .expect("ASCII location")
        .to_owned()
}

/// Absolute form of a Location linkwell answered (it may be a path).
pub fn absolute(app: &TestApp, location: &str) -> String {
    if location.starts_with('/') {
        format!("{}{location}", app.base)
    } else {
        location.to_owned()
    }
}

impl TestApp {
    /// GET a page without the API key, as a person's browser would, with an optional cookie.
    pub async fn browse(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(absolute(self, url));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("page")
    }

    /// Opens the connection's linkUrl: linkwell answers 303 to the platform and sets its cookie.
    pub async fn start_link(&self, company: &str, connection: &str) -> Attempt {
        self.start_link_with_cookie(company, connection, None).await
    }

    pub async fn start_link_with_cookie(
        &self,
        company: &str,
        connection: &str,
        cookie: Option<&str>,
    ) -> Attempt {
        let response = self
            .browse(
                &format!("/link/companies/{company}/connections/{connection}/start"),
                cookie,
            )
            .await;
        assert_eq!(
            response.status(),
            303,
            "start should redirect to the platform"
        );
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .expect("start sets the browser cookie")
            .to_str()
            .unwrap()
            .to_owned();
        Attempt {
            cookie: set_cookie.split(';').next().unwrap().to_owned(),
            authorize_url: location(&response),
        }
    }

    /// At the platform: opens the consent page and submits `decision` for `organisation`. Answers the URL the
    /// platform sends the person back to (linkwell's callback).
    pub async fn decide(&self, attempt: &Attempt, decision: &str, organisation: &str) -> String {
        let page = self
            .http
            .get(&attempt.authorize_url)
            .send()
            .await
            .expect("consent page");
        assert_eq!(page.status(), 200, "the platform shows its consent page");
        let html = page.text().await.unwrap();
        let mut form = hidden_fields(&html);
        form.insert("organisation".into(), organisation.into());
        form.insert("decision".into(), decision.into());
        let action = attempt.authorize_url.split('?').next().unwrap().to_owned();
        let answer = self
            .http
            .post(action)
            .form(&form)
            .send()
            .await
            .expect("decision");
        assert_eq!(answer.status(), 303, "the platform redirects back");
        location(&answer)
    }

    /// Back at linkwell with the platform's answer.
    pub async fn callback(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        self.browse(url, cookie).await
    }

    /// The whole flow, allowing access: answers where linkwell sent the person at the end.
    pub async fn link(&self, company: &str, connection: &str, organisation: &str) -> String {
        let attempt = self.start_link(company, connection).await;
        let back = self.decide(&attempt, "allow", organisation).await;
        let done = self.callback(&back, Some(&attempt.cookie)).await;
        assert_eq!(done.status(), 303, "the callback redirects to the outcome");
        location(&done)
    }

    /// A company with a connection to `platform_key`: (company id, connection id).
    pub async fn company_with_connection(&self, platform_key: &str) -> (String, String) {
        let company = self.create_company("Linked Co").await;
        let company = company["id"].as_str().unwrap().to_owned();
        let connection = self.create_connection(&company, platform_key).await;
        (company, connection["id"].as_str().unwrap().to_owned())
    }

    pub async fn connection(&self, company: &str, connection: &str) -> serde_json::Value {
        let (status, body) = self
            .get(&format!("/companies/{company}/connections/{connection}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The store's address of a connection.
    pub fn connection_ref(
        &self,
        company: &str,
        connection: &str,
    ) -> linkwell_connectors::ConnectionRef {
        linkwell_connectors::ConnectionRef {
            client: self.client,
            company: company.parse().unwrap(),
            connection: connection.parse().unwrap(),
        }
    }

    /// Makes linkwell believe the connection's access token has expired, so its next use refreshes.
    pub async fn expire_stored_access_token(&self, connection: &str) {
        sqlx::query(
            "UPDATE connection_credentials SET access_expires_at = $1 WHERE connection_id = $2",
        )
        .bind("2000-01-01T00:00:00.000Z")
        .bind(connection.to_owned())
        .execute(&self.sql)
        .await
        .expect("expire token");
    }

    /// The tokens stored for a connection, opened as linkwell opens them.
    pub async fn stored_tokens(&self, company: &str, connection: &str) -> (String, String) {
        let (sealed,): (String,) =
            sqlx::query_as("SELECT sealed FROM connection_credentials WHERE connection_id = $1")
                .bind(connection.to_owned())
                .fetch_one(&self.sql)
                .await
                .unwrap();
        let plain = self
            .state
            .tokens()
            .keys()
            .open(
                &sealed,
                &Binding::new("connection-credentials", &[company, connection]),
            )
            .unwrap();
        let tokens: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        assert!(
            !sealed.contains(tokens["access_token"].as_str().unwrap()),
            "the stored form is not plain text"
        );
        (
            tokens["access_token"].as_str().unwrap().to_owned(),
            tokens["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}
