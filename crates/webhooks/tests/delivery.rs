//! `Sender::deliver` against a local receiver: a raw HTTP/1.1 listener on 127.0.0.1 (and on [::1] when the
//! machine has IPv6 loopback) that records every connection and request. Real connections go to loopback
//! only; the internal addresses below are refused before any connection, which the tests check first
//! without the network.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use linkwell_webhooks::sender::errors;
use linkwell_webhooks::signing::DEFAULT_TOLERANCE;
use linkwell_webhooks::{
    check_url, verify_headers, Sender, SigningSecret, UrlPolicy, UrlRefusal, USER_AGENT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SHORT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
struct Log {
    connections: AtomicUsize,
    requests: Mutex<Vec<Received>>,
}

/// Routes: `/ok` 200 with a JSON body, `/empty` 204, `/fail` 500, `/slow` answers after 5 s, `/redirect`
/// 302 to `/ok`, `/big` 200 with a 4 KiB UTF-8 body. Anything that is not HTTP gets a bare 400.
struct Receiver {
    port: u16,
    ipv6: bool,
    log: Arc<Log>,
}

impl Receiver {
    async fn start() -> Self {
        let v4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = v4.local_addr().unwrap().port();
        let log = Arc::new(Log::default());
        tokio::spawn(serve(v4, log.clone()));
        // The same port on IPv6 loopback, so that a connection to [::1] would be seen too.
        let ipv6 = match TcpListener::bind(("::1", port)).await {
            Ok(v6) => {
                tokio::spawn(serve(v6, log.clone()));
                true
            }
            Err(_) => false,
        };
        Self { port, ipv6, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<Received> {
        self.log.requests.lock().unwrap().clone()
    }
}

async fn serve(listener: TcpListener, log: Arc<Log>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        log.connections.fetch_add(1, Ordering::SeqCst);
        let log = log.clone();
        tokio::spawn(async move {
            let _ = handle(stream, log).await;
        });
    }
}

async fn handle(mut stream: TcpStream, log: Arc<Log>) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if !buffer[0].is_ascii_uppercase() {
            stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .await?;
            return Ok(());
        }
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    log.requests.lock().unwrap().push(Received {
        method,
        path: path.clone(),
        headers,
        body,
    });

    let big = format!("a{}", "é".repeat(2000));
    let (status, extra, body) = match path.as_str() {
        "/ok" => ("200 OK", String::new(), r#"{"received":true}"#.to_owned()),
        "/empty" => ("204 No Content", String::new(), String::new()),
        "/fail" => (
            "500 Internal Server Error",
            String::new(),
            "boom".to_owned(),
        ),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            ("200 OK", String::new(), "late".to_owned())
        }
        "/redirect" => (
            "302 Found",
            format!(
                "Location: http://127.0.0.1:{}/ok\r\n",
                stream.local_addr()?.port()
            ),
            String::new(),
        ),
        "/big" => ("200 OK", String::new(), big),
        _ => ("404 Not Found", String::new(), String::new()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn permissive() -> Sender {
    Sender::with_timeout(
        UrlPolicy {
            allow_private: true,
        },
        SHORT,
    )
}

fn strict() -> Sender {
    Sender::with_timeout(
        UrlPolicy {
            allow_private: false,
        },
        SHORT,
    )
}

const BODY: &str = r#"{"type":"connection.linked","data":{"id":"8a210b68"}}"#;

#[tokio::test]
async fn delivery_arrives_signed_with_the_three_headers_and_the_body() {
    let receiver = Receiver::start().await;
    let old = SigningSecret::generate();
    let new = SigningSecret::generate();
    let timestamp = now();
    let outcome = permissive()
        .deliver(
            &receiver.url("/ok"),
            "msg_delivery1",
            timestamp,
            BODY.as_bytes().to_vec(),
            &[&new, &old],
        )
        .await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.status, Some(200));
    assert_eq!(outcome.error, None);
    assert_eq!(
        outcome.response_excerpt.as_deref(),
        Some(r#"{"received":true}"#)
    );
    assert!(outcome.duration < SHORT, "{outcome:?}");

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/ok");
    assert_eq!(request.body, BODY.as_bytes());
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    assert_eq!(request.header("webhook-id"), Some("msg_delivery1"));
    assert_eq!(
        request.header("webhook-timestamp"),
        Some(timestamp.to_string().as_str())
    );
    let signatures = request.header("webhook-signature").unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert!(signatures.split(' ').all(|part| part.starts_with("v1,")));
    // Either secret verifies the request as received; a changed body does not.
    let pairs: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    for secret in [&old, &new] {
        verify_headers(
            secret,
            pairs.iter().copied(),
            &request.body,
            now(),
            DEFAULT_TOLERANCE,
        )
        .unwrap();
    }
    assert!(verify_headers(&new, pairs.iter().copied(), b"{}", now(), DEFAULT_TOLERANCE).is_err());
}

#[tokio::test]
async fn non_2xx_is_a_failure_and_keeps_the_response_excerpt() {
    let receiver = Receiver::start().await;
    let secret = SigningSecret::generate();
    let outcome = permissive()
        .deliver(&receiver.url("/fail"), "msg_fail", now(), BODY, &[&secret])
        .await;
    assert!(!outcome.success);
    assert_eq!(outcome.status, Some(500));
    assert_eq!(outcome.error.as_deref(), Some("HTTP 500"));
    assert_eq!(outcome.response_excerpt.as_deref(), Some("boom"));

    let outcome = permissive()
        .deliver(
            &receiver.url("/missing"),
            "msg_404",
            now(),
            BODY,
            &[&secret],
        )
        .await;
    assert_eq!(
        (outcome.success, outcome.status, outcome.error.as_deref()),
        (false, Some(404), Some("HTTP 404"))
    );

    let outcome = permissive()
        .deliver(&receiver.url("/empty"), "msg_204", now(), BODY, &[&secret])
        .await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.status, Some(204));
    assert_eq!(outcome.response_excerpt, None);
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_a_timeout() {
    let receiver = Receiver::start().await;
    let sender = Sender::with_timeout(UrlPolicy::ALLOW_PRIVATE, Duration::from_millis(500));
    assert_eq!(sender.timeout(), Duration::from_millis(500));
    let secret = SigningSecret::generate();
    let outcome = sender
        .deliver(&receiver.url("/slow"), "msg_slow", now(), BODY, &[&secret])
        .await;
    assert!(!outcome.success);
    assert_eq!(outcome.status, None);
    assert_eq!(outcome.error.as_deref(), Some(errors::TIMEOUT));
    assert!(
        outcome.duration >= Duration::from_millis(450) && outcome.duration < Duration::from_secs(4),
        "{outcome:?}"
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_a_failure() {
    let receiver = Receiver::start().await;
    let secret = SigningSecret::generate();
    let outcome = permissive()
        .deliver(
            &receiver.url("/redirect"),
            "msg_redirect",
            now(),
            BODY,
            &[&secret],
        )
        .await;
    assert!(!outcome.success);
    assert_eq!(outcome.status, Some(302));
    assert_eq!(
        outcome.error.as_deref(),
        Some("redirect not followed (HTTP 302)")
    );
    let paths: Vec<String> = receiver.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/redirect"]);
}

#[tokio::test]
async fn the_response_excerpt_stops_at_one_kibibyte() {
    let receiver = Receiver::start().await;
    let secret = SigningSecret::generate();
    let outcome = permissive()
        .deliver(&receiver.url("/big"), "msg_big", now(), BODY, &[&secret])
        .await;
    assert!(outcome.success, "{outcome:?}");
    let excerpt = outcome.response_excerpt.unwrap();
    // 1 + 511 × 2 bytes: the 512th "é" would straddle the 1024-byte limit and is dropped.
    assert_eq!(excerpt, format!("a{}", "é".repeat(511)));
    assert_eq!(excerpt.len(), 1023);
}

#[tokio::test]
async fn loopback_is_refused_under_the_strict_policy_without_a_connection() {
    let receiver = Receiver::start().await;
    let secret = SigningSecret::generate();
    let port = receiver.port;
    let mut urls = vec![
        format!("http://127.0.0.1:{port}/ok"),
        // A name: refused only because it resolves to loopback.
        format!("http://localhost:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        format!("http://2130706433:{port}/ok"),
    ];
    if receiver.ipv6 {
        urls.push(format!("http://[::1]:{port}/ok"));
    }
    for url in &urls {
        let outcome = strict()
            .deliver(url, "msg_ssrf", now(), BODY, &[&secret])
            .await;
        assert_eq!(
            (outcome.success, outcome.status, outcome.error.as_deref()),
            (false, None, Some(errors::PRIVATE_ADDRESS)),
            "{url}: {outcome:?}"
        );
    }
    // Checked after every refusal: the receiver saw nothing at all.
    assert_eq!(receiver.connections(), 0, "{:?}", receiver.requests());
    // The names literal-IP check passes, so the refusal of localhost came from its resolved address.
    assert!(UrlPolicy::STRICT.check(&urls[1]).is_ok());

    // The same URLs do reach the receiver when private addresses are allowed, so the above is no accident
    // of an unreachable receiver.
    let mut reached = 0;
    for url in &urls {
        if url.contains("::ffff:") {
            continue; // a mapped address is not connectable on every system
        }
        let outcome = permissive()
            .deliver(url, "msg_ok", now(), BODY, &[&secret])
            .await;
        assert!(outcome.success, "{url}: {outcome:?}");
        reached += 1;
        assert_eq!(receiver.requests().len(), reached, "{url}");
    }
    // An [::1] test needs the IPv6 listener; without IPv6 loopback only its literal check can be shown.
    if !receiver.ipv6 {
        assert_eq!(
            UrlPolicy::STRICT.check(&format!("http://[::1]:{port}/ok")),
            Err(UrlRefusal::PrivateAddress)
        );
    }
}

#[tokio::test]
async fn internal_addresses_are_refused_before_any_connection() {
    let secret = SigningSecret::generate();
    let sender = Sender::with_timeout(UrlPolicy::STRICT, Duration::from_millis(500));
    for url in [
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1:8080/hook",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
    ] {
        // Without the network first: the policy refuses the literal address, so deliver never connects.
        assert_eq!(
            UrlPolicy::STRICT.check(url),
            Err(UrlRefusal::PrivateAddress),
            "{url}"
        );
        let outcome = sender
            .deliver(url, "msg_ssrf", now(), BODY, &[&secret])
            .await;
        assert_eq!(
            (outcome.success, outcome.status, outcome.error.as_deref()),
            (false, None, Some(errors::PRIVATE_ADDRESS)),
            "{url}"
        );
        assert!(
            outcome.duration < Duration::from_millis(400),
            "{url}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn bad_schemes_and_credentials_are_refused_by_check_url() {
    assert_eq!(check_url("ftp://x"), Err(UrlRefusal::UnsupportedScheme));
    assert_eq!(
        check_url("http://user:pw@host/"),
        Err(UrlRefusal::Credentials)
    );
    let secret = SigningSecret::generate();
    for (url, error) in [
        ("ftp://x", "refused: scheme must be http or https"),
        ("http://user:pw@host/", "refused: credentials in URL"),
        ("not a url", "refused: invalid URL"),
    ] {
        for sender in [permissive(), strict()] {
            let outcome = sender
                .deliver(url, "msg_bad", now(), BODY, &[&secret])
                .await;
            assert_eq!(outcome.error.as_deref(), Some(error), "{url}");
            assert!(!outcome.success);
        }
    }
}

#[tokio::test]
async fn connection_refused_and_tls_failures_are_reported() {
    let secret = SigningSecret::generate();
    // A port that was just free: nothing listens there.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let outcome = permissive()
        .deliver(
            &format!("http://{closed}/"),
            "msg_closed",
            now(),
            BODY,
            &[&secret],
        )
        .await;
    assert_eq!(
        (outcome.status, outcome.error.as_deref()),
        (None, Some(errors::CONNECTION_REFUSED)),
        "{outcome:?}"
    );

    // HTTPS is built in; a plain-HTTP listener answers the TLS handshake with garbage.
    let receiver = Receiver::start().await;
    let address = SocketAddr::from(([127, 0, 0, 1], receiver.port));
    let outcome = permissive()
        .deliver(
            &format!("https://{address}/ok"),
            "msg_tls",
            now(),
            BODY,
            &[&secret],
        )
        .await;
    assert_eq!(
        (outcome.status, outcome.error.as_deref()),
        (None, Some(errors::TLS_FAILED)),
        "{outcome:?}"
    );
    assert_eq!(receiver.connections(), 1);
    assert!(receiver.requests().is_empty());
}
