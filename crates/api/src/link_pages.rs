//! The hosted Link pages' HTML: server-rendered, no script, no external assets, readable on a phone and usable
//! with a keyboard alone (real links and buttons, visible focus, labelled regions). Every value that comes
//! from a client, a person or a platform goes through [`escape`].

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Text made safe for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430;background:#f4f6f9}\
main{max-width:40rem;margin:0 auto;padding:1.25rem}\
header{margin-bottom:1.5rem}\
h1{font-size:1.5rem;margin:.25rem 0}\
h2{font-size:1.125rem;margin:1.5rem 0 .5rem}\
.brand{font-size:.875rem;color:#5b6575;margin:0}\
ul{list-style:none;margin:0;padding:0}\
li.card{display:flex;align-items:center;gap:.75rem;flex-wrap:wrap;background:#fff;border:1px solid #d8dee8;border-radius:.5rem;padding:.75rem;margin:.5rem 0}\
li.card img{width:2.5rem;height:2.5rem;border-radius:.375rem;flex:none}\
.grow{flex:1 1 8rem;min-width:0}\
.name{font-weight:600;overflow-wrap:anywhere}\
.note{color:#5b6575;font-size:.875rem;margin:0}\
.status{display:inline-block;font-size:.8125rem;font-weight:600;border-radius:1rem;padding:.125rem .625rem;background:#e8ecf2}\
.status-Linked{background:#dff5e6;color:#11622e}\
.status-Deauthorized,.status-Unlinked{background:#fde8e8;color:#8a1c1c}\
.status-PendingAuth{background:#fff4d6;color:#6b4a00}\
.button{display:inline-block;font:inherit;font-weight:600;text-decoration:none;text-align:center;cursor:pointer;\
border:2px solid #1f5fbf;border-radius:.375rem;padding:.5rem 1rem;background:#1f5fbf;color:#fff;min-height:2.75rem}\
.button.secondary{background:#fff;color:#1f5fbf}\
.button[disabled]{background:#c9d0db;border-color:#c9d0db;color:#4a5261;cursor:not-allowed}\
a:focus-visible,button:focus-visible{outline:3px solid #f0a202;outline-offset:2px}\
form{margin:0}\
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}\
.error{color:#8a1c1c;font-size:.875rem;margin:.25rem 0 0}\
.panel{background:#fff;border:1px solid #d8dee8;border-radius:.5rem;padding:1rem 1.25rem}\
.panel.ok{border-left:6px solid #1f9d55}\
.panel.bad{border-left:6px solid #c53030}\
@media (prefers-color-scheme:dark){body{background:#151a22;color:#e6e9ee}li.card,.panel{background:#1e2530;border-color:#333c4a}\
.note,.brand{color:#a8b1bf}.button.secondary{background:transparent;color:#8fb8ff;border-color:#8fb8ff}}";

/// A whole page: `title` (already plain text) and `body` (already escaped HTML).
pub fn page(title: &str, brand: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main><header><p class=\"brand\">{brand}</p><h1>{title}</h1></header>{body}</main></body></html>",
        title = escape(title),
        brand = escape(brand),
    )
}

/// Headers every Link page carries: nothing cached, no referrer leaking a URL, no framing, no script.
pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

/// A page that only says something: a heading, a message and optional action links.
pub fn message_page(
    status: StatusCode,
    brand: &str,
    title: &str,
    good: bool,
    message: &str,
    actions: &[(&str, String)],
) -> Response {
    let mut body = format!(
        "<section class=\"panel {}\" role=\"{}\"><p>{}</p></section>",
        if good { "ok" } else { "bad" },
        if good { "status" } else { "alert" },
        escape(message)
    );
    if !actions.is_empty() {
        body.push_str("<p class=\"actions\">");
        for (label, href) in actions {
            body.push_str(&format!(
                "<a class=\"button secondary\" href=\"{}\">{}</a> ",
                escape(href),
                escape(label)
            ));
        }
        body.push_str("</p>");
    }
    html_response(status, page(title, brand, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn pages_are_self_contained() {
        let html = page("Connect <b>", "Acme", "<p>x</p>");
        assert!(html.contains("<title>Connect &lt;b&gt;</title>"));
        assert!(html.contains("name=\"viewport\""));
        assert!(
            !html.contains("http://") && !html.contains("https://") && !html.contains("<script")
        );
    }
}
