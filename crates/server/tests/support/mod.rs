//! Running the real `linkwell` binary in tests: a server on a free loopback port, killed when dropped, and
//! temporary directories.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::collections::HashMap;

use base64::Engine;
use serde_json::{json, Value};

pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

pub fn linkwell(database: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_linkwell"));
    command
        .env("LINKWELL_DATABASE_URL", database)
        .env("LINKWELL_LOG", "warn")
        .stdin(Stdio::null());
    command
}

pub fn create_key(database: &Path) -> String {
    let output = linkwell(database)
        .args([
            "keys",
            "create",
            "--client",
            "sdk-compat",
            "--name",
            "sdk-compat",
        ])
        .output()
        .expect("cannot run linkwell keys create");
    assert!(
        output.status.success(),
        "linkwell keys create failed: {}",
        describe(&output)
    );
    let key = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(!key.is_empty(), "linkwell keys create printed no key");
    key
}

/// A running `linkwell serve`, killed when dropped (also when the test panics).
pub struct Server {
    pub child: Child,
    pub base_url: String,
    pub log_path: PathBuf,
}

impl Server {
    pub fn start(database: &Path, work: &Path) -> Self {
        Self::start_with(database, work, &[])
    }

    /// Starts `linkwell serve` with extra environment settings.
    pub fn start_with(database: &Path, work: &Path, env: &[(&str, &str)]) -> Self {
        let log_path = work.join("server.log");
        let mut last_log = String::new();
        // A port found free can be taken before the server binds it; try a few.
        for _ in 0..3 {
            let address = env
                .iter()
                .find(|(name, _)| *name == "LINKWELL_LISTEN")
                .map(|(_, value)| value.parse().expect("LINKWELL_LISTEN in a test"))
                .unwrap_or_else(free_port);
            let base_url = format!("http://{address}");
            let child = linkwell(database)
                .arg("serve")
                .env("LINKWELL_LISTEN", address.to_string())
                .env("LINKWELL_PUBLIC_URL", &base_url)
                .env("LINKWELL_LOG", "info")
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(create_file(&log_path))
                .spawn()
                .expect("cannot start linkwell serve");
            let mut server = Server {
                child,
                base_url,
                log_path: log_path.clone(),
            };
            if server.wait_healthy(address) {
                return server;
            }
            drop(server);
            last_log = read_lossy(&log_path);
            if !last_log.contains("LINKWELL_LISTEN") {
                break;
            }
        }
        panic!("linkwell serve did not answer GET /health within {HEALTH_TIMEOUT:?}:\n{last_log}");
    }

    /// True once `GET /health` answers 200; false if the server exits or the time runs out.
    fn wait_healthy(&mut self, address: SocketAddr) -> bool {
        let deadline = Instant::now() + HEALTH_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if health_ok(address) {
                return true;
            }
            sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("cannot find a free port on 127.0.0.1")
}

pub fn health_ok(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", path.display()));
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

pub fn create_file(path: &Path) -> File {
    File::create(path).unwrap_or_else(|error| panic!("cannot create {}: {error}", path.display()))
}

pub fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

pub fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The API of a running server, and a person's way through Link to the sandbox.
pub struct Api {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(server: &Server, key: String) -> Self {
        Self {
            base: server.base_url.clone(),
            key,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// The `Authorization` header for this API key.
    pub fn authorization(&self) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&self.key)
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .header("authorization", self.authorization())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    pub async fn connection(&self, platform: &str) -> (String, String) {
        let company = self.post("/companies", json!({"name": "Binary Co"})).await;
        let company = company["id"].as_str().unwrap().to_owned();
        let connection = self
            .post(
                &format!("/companies/{company}/connections"),
                json!({"platformKey": platform}),
            )
            .await;
        (company, connection["id"].as_str().unwrap().to_owned())
    }

    pub async fn get(&self, path: &str) -> Value {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .header("authorization", self.authorization())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    /// Start, allow at the platform, come back: where linkwell sends the person at the end.
    pub async fn link(&self, company: &str, connection: &str) -> String {
        self.link_to(company, connection, "demo-small").await
    }

    /// [`Api::link`] to the sandbox organisation `organisation`.
    pub async fn link_to(&self, company: &str, connection: &str, organisation: &str) -> String {
        let start = self
            .http
            .get(format!(
                "{}/link/companies/{company}/connections/{connection}/start",
                self.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), 303, "{}", start.text().await.unwrap());
        let cookie = start.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let authorize = start.headers()["location"].to_str().unwrap().to_owned();
        let consent = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(consent.status(), 200);
        let html = consent.text().await.unwrap();
        let mut form: HashMap<String, String> = HashMap::new();
        for input in html.split("<input type=\"hidden\" name=\"").skip(1) {
            let (name, rest) = input.split_once('"').unwrap();
            let value = rest
                .split_once("value=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            form.insert(name.to_owned(), value.replace("&amp;", "&"));
        }
        form.insert("organisation".into(), organisation.into());
        form.insert("decision".into(), "allow".into());
        let decided = self
            .http
            .post(authorize.split('?').next().unwrap())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(decided.status(), 303);
        let callback = decided.headers()["location"].to_str().unwrap().to_owned();
        let done = self
            .http
            .get(callback)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 303);
        done.headers()["location"].to_str().unwrap().to_owned()
    }
}
