//! Browser tests of the hosted Link pages: headless Chromium, driven over WebDriver (ChromeDriver and the
//! `fantoccini` client), goes through the company page, the sandbox's consent page and the result page as a
//! person would, against the real router with the sandbox platforms mounted at `{base}/sandbox`.
//!
//! They need ChromeDriver and Chromium (Debian: `apt-get install -y chromium chromium-driver`, which
//! `.ci/run` does); without them they fail, they never skip. `LINKWELL_CHROMEDRIVER` and `LINKWELL_CHROMIUM`
//! may name other binaries. Each test starts its own ChromeDriver on a free loopback port, with a fresh
//! profile and every background-networking feature off, so no request leaves the machine; the driver and
//! its browser are ended when the test ends, even when it fails.
//!
//! Every page a test passes through is saved as a full-page PNG under
//! `target/browser-screenshots/<test>/<NN>-<page>.png`.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use base64::Engine;
use common::{Db, TestApp};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The longest any page, element or URL is waited for.
const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

const INSTALL_HINT: &str =
    "the browser tests need ChromeDriver and Chromium: on Debian or Ubuntu run \
     `apt-get install -y chromium chromium-driver` (as `.ci/run` does), or name the binaries with \
     LINKWELL_CHROMEDRIVER and LINKWELL_CHROMIUM";

/// Chromium's flags: headless, and nothing that reaches for the network on its own (no component updates,
/// sync, field trials or safe-browsing lists), no proxy, and no host name resolved but loopback.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
];

#[derive(Debug, Clone, Copy)]
enum Screen {
    /// A laptop's window, 1280×900 (the page gets 1280×757 of it).
    Desktop,
    /// A phone's screen, 390×844 CSS pixels at twice the density, with touch.
    Phone,
}

/// The workspace's `target` directory (`CARGO_TARGET_DIR` when set).
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// The first of `candidates` that exists, searching `PATH` for bare names; `variable` overrides.
fn find_binary(variable: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    candidates.iter().find_map(|candidate| {
        if candidate.contains('/') {
            let path = PathBuf::from(candidate);
            path.is_file().then_some(path)
        } else {
            path_dirs
                .iter()
                .map(|dir| dir.join(candidate))
                .find(|path| path.is_file())
        }
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Sends `signal` to every process of a process group, with the system's `kill`.
fn signal_group(signal: &str, group: u32) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".to_owned(), format!("-{group}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// ChromeDriver, started by the test in a process group of its own. Dropping it kills that group
/// (ChromeDriver and the Chromium it started, with all its helpers) and removes the browser profile, also
/// when the test panics.
struct Driver {
    child: Child,
    /// False once the child is known to have exited and been reaped: its id may then belong to someone else.
    running: bool,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    async fn start(log_dir: &Path) -> Self {
        let chromedriver = find_binary("LINKWELL_CHROMEDRIVER", &["chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver was not found; {INSTALL_HINT}"));
        let probe = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        let mut last_failure = String::new();
        // A port found free may be taken before ChromeDriver binds it: then it exits, and another is tried.
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(log_dir.join("chromedriver.log")).expect("driver log");
            let child = Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("driver log"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|error| {
                    panic!(
                        "could not start {}: {error}; {INSTALL_HINT}",
                        chromedriver.display()
                    )
                });
            let profile = std::env::temp_dir().join(format!(
                "linkwell-chromium-{}",
                uuid::Uuid::new_v4().simple()
            ));
            let mut driver = Driver {
                child,
                running: true,
                port,
                profile,
            };
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = driver.child.try_wait() {
                    driver.running = false;
                    last_failure = format!("chromedriver exited with {status}");
                    break;
                }
                let status = probe
                    .get(format!("http://127.0.0.1:{port}/status"))
                    .send()
                    .await;
                if let Ok(response) = status {
                    let body: Value = response.json().await.unwrap_or_default();
                    if body["value"]["ready"] == true {
                        return driver;
                    }
                    last_failure = format!("chromedriver is not ready: {body}");
                }
                tokio::time::sleep(POLL).await;
            }
            if driver.running {
                last_failure =
                    format!("chromedriver did not answer on port {port} within {WAIT:?}");
            }
        }
        panic!(
            "{last_failure} (its log: {})",
            log_dir.join("chromedriver.log").display()
        );
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.running {
            // The child is not reaped yet, so its id still names its group.
            signal_group("KILL", self.child.id());
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A Chrome DevTools Protocol command, through ChromeDriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    command: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (Method::POST, Some(body.to_string()))
    }
}

/// One Chromium session of one test, with its screenshots.
struct Browser {
    client: Client,
    shots: PathBuf,
    count: usize,
    // Dropped last: ends ChromeDriver and Chromium.
    _driver: Driver,
}

impl Browser {
    async fn start(test: &str, screen: Screen) -> Self {
        let shots = target_dir().join("browser-screenshots").join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot directory");
        let chromium = find_binary(
            "LINKWELL_CHROMIUM",
            &[
                "/usr/lib/chromium/chromium",
                "chromium",
                "chromium-browser",
                "google-chrome",
            ],
        )
        .unwrap_or_else(|| panic!("Chromium was not found; {INSTALL_HINT}"));
        let driver = Driver::start(&shots).await;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|flag| flag.to_string()).collect();
        args.push(format!("--user-data-dir={}", driver.profile.display()));
        let mut chrome_options = json!({
            "binary": chromium.display().to_string(),
            "args": args,
        });
        match screen {
            Screen::Desktop => chrome_options["args"]
                .as_array_mut()
                .expect("args")
                .push(json!("--window-size=1280,900")),
            Screen::Phone => {
                chrome_options["mobileEmulation"] = json!({
                    "deviceMetrics": {
                        "width": 390, "height": 844, "pixelRatio": 2.0, "mobile": true, "touch": true
                    }
                })
            }
        }
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": chrome_options,
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "no Chromium session through ChromeDriver: {error} (log: {}); {INSTALL_HINT}",
                    shots.join("chromedriver.log").display()
                )
            });
        Browser {
            client,
            shots,
            count: 0,
            _driver: driver,
        }
    }

    /// Ends the session, letting Chromium close; the driver's guard kills whatever is left.
    async fn finish(self) {
        let _ = self.client.close().await;
    }

    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("open {url}: {error}"));
    }

    async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    /// Waits until the current URL satisfies `accept`; answers it.
    async fn wait_for_url(&self, what: &str, accept: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(url) = self.client.current_url().await {
                if accept(url.as_str()) {
                    return url.to_string();
                }
                if Instant::now() > deadline {
                    panic!("waited {WAIT:?} for {what}; the browser is at {url}");
                }
            } else if Instant::now() > deadline {
                panic!("waited {WAIT:?} for {what}; the browser has no URL");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for an element matching `css` on the current page.
    async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => panic!(
                "no element `{css}` at {} after {WAIT:?}: {error}",
                self.url().await
            ),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("click `{css}`: {error}"));
    }

    /// Presses and releases one key, as a keyboard would, wherever the focus is.
    async fn press(&self, key: Key) {
        let key = char::from(key);
        let actions = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(actions)
            .await
            .expect("key press");
    }

    /// Presses Tab until `target` has the focus; answers how many presses it took.
    async fn tab_to(&self, target: &Element, limit: usize) -> usize {
        for presses in 1..=limit {
            self.press(Key::Tab).await;
            let focused = self.client.active_element().await.expect("active element");
            if focused.element_id() == target.element_id() {
                return presses;
            }
        }
        panic!("{limit} Tab presses never reached the element");
    }

    async fn cdp(&self, command: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { command, params })
            .await
            .unwrap_or_else(|error| panic!("DevTools {command}: {error}"))
    }

    /// Saves a full-page screenshot of the current page as `<NN>-<page>.png`.
    async fn screenshot(&mut self, page: &str) {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let content = &metrics["cssContentSize"];
        let viewport = &metrics["cssLayoutViewport"];
        let size = |key: &str, viewport_key: &str| {
            content[key]
                .as_f64()
                .unwrap_or(0.0)
                .max(viewport[viewport_key].as_f64().unwrap_or(0.0))
                .ceil()
        };
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {
                        "x": 0, "y": 0,
                        "width": size("width", "clientWidth"),
                        "height": size("height", "clientHeight"),
                        "scale": 1
                    }
                }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot is base64");
        self.count += 1;
        let path = self.shots.join(format!("{:02}-{page}.png", self.count));
        std::fs::write(&path, png).expect("write screenshot");
    }
}

/// `/link/companies/{c}/connections/{x}/result?...` → (c, x).
fn result_ids(url: &str) -> (String, String) {
    let path = url
        .split("/link/companies/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("not a result page: {url}"));
    let parts: Vec<&str> = path.split('/').collect();
    assert!(
        parts.len() == 4 && parts[1] == "connections" && parts[3] == "result",
        "not a result page: {url}"
    );
    (parts[0].to_owned(), parts[2].to_owned())
}

fn is_result_page(url: &str) -> bool {
    url.contains("/link/companies/") && url.contains("/result?")
}

/// A company made through the API: (id, its Link page).
async fn company(app: &TestApp, name: &str) -> (String, String) {
    let company = app.create_company(name).await;
    let id = company["id"].as_str().expect("company id").to_owned();
    let redirect = company["redirect"].as_str().expect("redirect").to_owned();
    assert!(
        redirect.starts_with(&app.base),
        "redirect {redirect} is not served by {}",
        app.base
    );
    (id, redirect)
}

async fn api_connection(app: &TestApp, company: &str, connection: &str) -> Value {
    let (status, body) = app
        .get(&format!("/companies/{company}/connections/{connection}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// On the company page: the platform's card and Connect button, pressed; waits for its consent page.
async fn press_connect(browser: &mut Browser, app: &TestApp, key: &str, name: &str) {
    let button = format!("li.card[data-platform={key}] button[type=submit]");
    let element = browser.find(&button).await;
    assert_eq!(element.text().await.expect("label"), "Connect");
    assert_eq!(
        element.attr("aria-label").await.expect("aria-label"),
        Some(format!("Connect {name}"))
    );
    element.click().await.expect("press Connect");
    wait_for_consent(browser, app, key).await;
}

async fn wait_for_consent(browser: &mut Browser, app: &TestApp, key: &str) {
    let consent = format!("{}/sandbox/{key}/oauth/authorize?", app.base);
    browser
        .wait_for_url("the sandbox's consent page", |url| {
            url.starts_with(&consent)
        })
        .await;
    browser.find("button[name=decision][value=allow]").await;
    browser.screenshot(&format!("consent-{key}")).await;
}

/// On the consent page: chooses `demo-small` and presses `decision`; waits for linkwell's result page.
async fn decide(browser: &mut Browser, decision: &str) -> String {
    let small = browser
        .find("input[type=radio][name=organisation][value=demo-small]")
        .await;
    small.click().await.expect("choose demo-small");
    assert!(small.is_selected().await.expect("radio state"));
    browser
        .click(&format!("button[name=decision][value={decision}]"))
        .await;
    let url = browser
        .wait_for_url("linkwell's result page", is_result_page)
        .await;
    browser.find("main h1").await;
    browser.screenshot(&format!("result-{decision}")).await;
    url
}

/// From the result page, the "Back to your connections" link; waits for the company page.
async fn back_to_company(browser: &mut Browser, redirect: &str, page: &str) {
    let back = browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::LinkText("Back to your connections"))
        .await
        .expect("a link back to the company page");
    back.click().await.expect("follow the link back");
    browser
        .wait_for_url("the company page", |url| url == redirect)
        .await;
    browser.find("main h1").await;
    browser.screenshot(page).await;
}

async fn badge(browser: &Browser, connection: &str) -> String {
    browser
        .find(&format!(
            "li.card[data-connection-id=\"{connection}\"] .status[data-status]"
        ))
        .await
        .attr("data-status")
        .await
        .expect("data-status")
        .expect("a status badge")
}

/// The whole flow for one platform: company page, Connect, consent (demo-small, Allow), result page, back
/// to the company page. Answers (company, connection, the company page's URL).
async fn link_in_browser(
    app: &TestApp,
    browser: &mut Browser,
    key: &str,
    name: &str,
) -> (String, String, String) {
    let (company, redirect) = company(app, &format!("Browser Co {key}")).await;
    browser.goto(&redirect).await;
    assert_eq!(
        browser.text("main h1").await,
        format!("Connect Browser Co {key}")
    );
    let headings = browser
        .client
        .find_all(Locator::Css("main h2"))
        .await
        .expect("section headings");
    let mut titles = Vec::new();
    for heading in headings {
        titles.push(heading.text().await.expect("heading"));
    }
    assert_eq!(titles, ["Accounting", "Banking", "Commerce"]);
    browser.screenshot("company").await;

    press_connect(browser, app, key, name).await;
    let result = decide(browser, "allow").await;
    assert_eq!(browser.text("main h1").await, "Connected");
    assert!(browser.text(".panel.ok").await.contains(name));
    let (on_company, connection) = result_ids(&result);
    assert_eq!(on_company, company);

    back_to_company(browser, &redirect, "company-linked").await;
    assert_eq!(badge(browser, &connection).await, "Linked");

    let body = api_connection(app, &company, &connection).await;
    assert_eq!(body["status"], "Linked", "{body}");
    assert_eq!(body["integrationKey"], key, "{body}");
    (company, connection, redirect)
}

async fn links_platform(test: &str, screen: Screen, key: &str, name: &str) {
    let app = TestApp::start(Db::Sqlite).await;
    let mut browser = Browser::start(test, screen).await;
    link_in_browser(&app, &mut browser, key, name).await;
    browser.finish().await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_sandbox_accounting() {
    links_platform(
        "links_sandbox_accounting",
        Screen::Desktop,
        "mqjo",
        "Sandbox Accounting",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_sandbox_bank_on_a_phone() {
    links_platform(
        "links_sandbox_bank_on_a_phone",
        Screen::Phone,
        "bnks",
        "Sandbox Bank",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_sandbox_commerce() {
    links_platform(
        "links_sandbox_commerce",
        Screen::Desktop,
        "aiwb",
        "Sandbox Commerce",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_access_leaves_the_connection_pending_with_an_error() {
    let app = TestApp::start(Db::Sqlite).await;
    let mut browser = Browser::start(
        "denying_access_leaves_the_connection_pending_with_an_error",
        Screen::Phone,
    )
    .await;
    let (company, redirect) = company(&app, "Browser Co deny").await;
    browser.goto(&redirect).await;
    browser.find("main h1").await;
    browser.screenshot("company").await;

    press_connect(&mut browser, &app, "mqjo", "Sandbox Accounting").await;
    let result = decide(&mut browser, "deny").await;
    assert_eq!(browser.text("main h1").await, "Not connected");
    assert!(browser.text(".panel.bad").await.contains("not allowed"));
    let (_, connection) = result_ids(&result);

    let body = api_connection(&app, &company, &connection).await;
    assert_eq!(body["status"], "PendingAuth", "{body}");
    let errors = body["dataConnectionErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("dataConnectionErrors in {body}"));
    assert_eq!(errors.len(), 1, "{body}");
    assert!(
        errors[0]["errorMessage"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "errorMessage in {body}"
    );

    back_to_company(&mut browser, &redirect, "company-pending").await;
    assert_eq!(badge(&browser, &connection).await, "PendingAuth");
    browser.finish().await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_a_deauthorized_connection_links_the_same_connection() {
    let app = TestApp::start(Db::Sqlite).await;
    let mut browser = Browser::start(
        "reconnecting_a_deauthorized_connection_links_the_same_connection",
        Screen::Desktop,
    )
    .await;
    let (company, connection, redirect) =
        link_in_browser(&app, &mut browser, "mqjo", "Sandbox Accounting").await;

    let revoked = app
        .http
        .post(format!(
            "{}/sandbox/mqjo/control/orgs/demo-small/revoke",
            app.base
        ))
        .send()
        .await
        .expect("revoke at the sandbox");
    assert_eq!(revoked.status(), 200);
    let checked = app
        .state
        .tokens()
        .check_access(app.connection_ref(&company, &connection))
        .await;
    assert!(checked.is_err(), "a revoked grant still works: {checked:?}");
    let body = api_connection(&app, &company, &connection).await;
    assert_eq!(body["status"], "Deauthorized", "{body}");

    browser.goto(&redirect).await;
    assert_eq!(badge(&browser, &connection).await, "Deauthorized");
    let reconnect = browser
        .find(&format!("li.card[data-connection-id=\"{connection}\"] a"))
        .await;
    assert_eq!(reconnect.text().await.expect("link text"), "Reconnect");
    browser.screenshot("company-deauthorized").await;
    reconnect.click().await.expect("press Reconnect");

    wait_for_consent(&mut browser, &app, "mqjo").await;
    let result = decide(&mut browser, "allow").await;
    assert_eq!(browser.text("main h1").await, "Connected");
    assert_eq!(result_ids(&result), (company.clone(), connection.clone()));

    let body = api_connection(&app, &company, &connection).await;
    assert_eq!(body["status"], "Linked", "{body}");
    let (status, list) = app.get(&format!("/companies/{company}/connections")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalResults"], 1, "no second connection: {list}");

    back_to_company(&mut browser, &redirect, "company-relinked").await;
    assert_eq!(badge(&browser, &connection).await, "Linked");
    browser.finish().await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_work_with_a_keyboard_alone() {
    let app = TestApp::start(Db::Sqlite).await;
    let mut browser = Browser::start("the_pages_work_with_a_keyboard_alone", Screen::Desktop).await;
    let (company, redirect) = company(&app, "Browser Co keyboard").await;
    browser.goto(&redirect).await;

    // The first Connect button in the page's order is the first accounting platform's.
    let first = browser.find("button[type=submit]").await;
    assert_eq!(
        first.attr("aria-label").await.expect("aria-label"),
        Some("Connect Sandbox Accounting".to_owned())
    );
    browser.tab_to(&first, 20).await;
    let visible = browser
        .client
        .execute(
            "return document.activeElement.matches(':focus-visible')",
            vec![],
        )
        .await
        .expect("focus style");
    assert_eq!(visible, json!(true), "the focused button shows its focus");
    browser.screenshot("company-focused").await;
    browser.press(Key::Enter).await;
    wait_for_consent(&mut browser, &app, "mqjo").await;

    // On the consent page too: Tab to Allow (demo-small is preselected) and press Enter.
    let allow = browser.find("button[name=decision][value=allow]").await;
    browser.tab_to(&allow, 20).await;
    browser.screenshot("consent-focused").await;
    browser.press(Key::Enter).await;
    let result = browser
        .wait_for_url("linkwell's result page", is_result_page)
        .await;
    assert_eq!(browser.text("main h1").await, "Connected");
    browser.screenshot("result-allow").await;
    let (_, connection) = result_ids(&result);
    let body = api_connection(&app, &company, &connection).await;
    assert_eq!(body["status"], "Linked", "{body}");
    browser.finish().await;
    app.finish().await;
}
