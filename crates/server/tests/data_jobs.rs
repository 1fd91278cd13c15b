//! The data job queue with real `linkwell serve` processes: a server killed (SIGKILL) in the middle of a large
//! pull loses nothing and duplicates nothing, and two servers on one PostgreSQL database share queued pulls,
//! each done exactly once.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{json, Value};
use support::{create_key, Api, Server, TempDir};

const KEY: (&str, &str) = (
    "LINKWELL_ENCRYPTION_KEY",
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
);

/// Only invoices are pulled when a connection is linked: the client's settings override the defaults.
async fn invoices_only(api: &Api) {
    let answer = api
        .http
        .post(format!("{}/profile/syncSettings", api.base))
        .header("authorization", api.authorization())
        .json(&json!({"settings": [
            {"dataType": "invoices", "fetchOnFirstLink": true, "syncSchedule": 24, "syncOrder": 0}
        ], "overridesDefaults": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    let settings = api.get("/profile/syncSettings").await;
    for setting in settings["settings"].as_array().unwrap() {
        assert_eq!(
            setting["fetchOnFirstLink"],
            setting["dataType"] == "invoices",
            "{setting}"
        );
    }
}

async fn pulls(api: &Api, company: &str) -> Vec<Value> {
    api.get(&format!("/companies/{company}/data/history?pageSize=500"))
        .await["results"]
        .as_array()
        .unwrap()
        .clone()
}

/// Every invoice of a company, by id, without the time linkwell stored it.
async fn invoices(api: &Api, company: &str) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut page = 1;
    loop {
        let listed = api
            .get(&format!(
                "/companies/{company}/data/invoices?page={page}&pageSize=5000"
            ))
            .await;
        let results = listed["results"].as_array().unwrap();
        for invoice in results {
            let mut invoice = invoice.clone();
            invoice.as_object_mut().unwrap().remove("modifiedDate");
            let id = invoice["id"].as_str().unwrap().to_owned();
            assert!(
                all.insert(id.clone(), invoice).is_none(),
                "{id} listed twice"
            );
        }
        if listed["_links"]["next"].is_null() {
            return all;
        }
        page += 1;
    }
}

async fn wait_complete(api: &Api, company: &str, count: usize, seconds: u64) -> Vec<Value> {
    for _ in 0..seconds * 10 {
        let history = pulls(api, company).await;
        if history.len() == count && history.iter().all(|pull| pull["status"] == "Complete") {
            return history;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pulls did not complete: {:?}", pulls(api, company).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_killed_midway_resumes_without_losing_or_duplicating_records() {
    const INVOICES: usize = 30_000;
    let organisation = format!("bench-{INVOICES}");
    let work = TempDir::new("linkwell-pull-crash");
    let database = work.path.join("linkwell.db");
    let key = create_key(&database);
    // The platform outlives the server: `linkwell sandbox` in a process of its own.
    let listen = support::free_port().to_string();
    let public_url = format!("http://{listen}");
    let sandbox = SandboxProcess::start(&work.path, &public_url);
    let env = [
        KEY,
        ("LINKWELL_LISTEN", listen.as_str()),
        ("LINKWELL_SANDBOX", "false"),
        ("LINKWELL_SANDBOX_URL", sandbox.url.as_str()),
        ("LINKWELL_SANDBOX_CLIENT_SECRET", SANDBOX_SECRET),
    ];
    let server = Server::start_with(&database, &work.path, &env);
    let api = Api::new(&server, key.clone());
    invoices_only(&api).await;
    let (company, connection) = api.connection("mqjo").await;
    let done = api.link_to(&company, &connection, &organisation).await;
    assert!(done.ends_with("outcome=linked"), "{done}");
    // Kill the server once some pages are written and the pull is still running.
    let mut written = 0;
    for _ in 0..600 {
        let page = api
            .get(&format!("/companies/{company}/data/invoices?pageSize=1"))
            .await;
        written = page["totalResults"].as_u64().unwrap() as usize;
        if written >= 2_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = pulls(&api, &company).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], "Fetching", "killed mid-pull");
    let killed = history[0]["id"].clone();
    assert!((2_000..INVOICES).contains(&written), "{written} written");
    drop(server); // SIGKILL

    let restarted = Server::start_with(&database, &work.path, &env);
    let api = Api::new(&restarted, key);
    let history = wait_complete(&api, &company, 1, 300).await;
    // The same operation finished; no second one was started.
    assert_eq!(history[0]["id"], killed);
    let resumed = invoices(&api, &company).await;
    assert_eq!(resumed.len(), INVOICES);

    // A clean pull of the same organisation holds exactly the same records.
    let (clean_company, clean_connection) = api.connection("mqjo").await;
    api.link_to(&clean_company, &clean_connection, &organisation)
        .await;
    wait_complete(&api, &clean_company, 1, 300).await;
    let clean = invoices(&api, &clean_company).await;
    assert_eq!(clean.len(), INVOICES);
    assert!(
        resumed == clean,
        "the resumed pull differs from a clean one"
    );
}

const SANDBOX_SECRET: &str = "crash-test-secret";

/// `linkwell sandbox` on a free port, killed when dropped.
struct SandboxProcess {
    child: std::process::Child,
    url: String,
}

impl SandboxProcess {
    fn start(work: &std::path::Path, public_url: &str) -> Self {
        let listen = support::free_port();
        let child = support::linkwell(&work.join("unused.db"))
            .arg("sandbox")
            .env("LINKWELL_SANDBOX_LISTEN", listen.to_string())
            .env("LINKWELL_SANDBOX_CLIENT_SECRET", SANDBOX_SECRET)
            .env("LINKWELL_PUBLIC_URL", public_url)
            .stdout(std::process::Stdio::null())
            .stderr(support::create_file(&work.join("sandbox.log")))
            .spawn()
            .expect("cannot start linkwell sandbox");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(listen).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "linkwell sandbox did not listen: {}",
                support::read_lossy(&work.join("sandbox.log"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SandboxProcess {
            child,
            url: format!("http://{listen}/sandbox"),
        }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn postgres_url() -> String {
    std::env::var("LINKWELL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own on the test PostgreSQL server, dropped when the guard goes.
struct Schema {
    name: String,
    url: String,
}

impl Schema {
    async fn create() -> Self {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let admin_url = postgres_url();
        let name = format!(
            "lw_jobs_{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let mut admin = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("PostgreSQL at {admin_url} is required: {error}"));
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}");
        Schema { name, url }
    }

    async fn drop_now(self) {
        use sqlx::Connection;
        if let Ok(mut admin) = sqlx::AnyConnection::connect(&postgres_url()).await {
            let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
                .execute(&mut admin)
                .await;
        }
    }
}

/// The pull ids a server's log says it completed.
fn completed_in(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.contains("pull complete"))
        .filter_map(|line| {
            line.split("pull=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_postgresql_share_fifty_pulls_each_done_once() {
    const PULLS: usize = 50;
    let schema = Schema::create().await;
    let work_a = TempDir::new("linkwell-jobs-a");
    let work_b = TempDir::new("linkwell-jobs-b");
    let url = std::path::PathBuf::from(&schema.url);
    let key = create_key(&url);
    // One sandbox, shared: server A serves it, server B reaches it there.
    let a = Server::start_with(
        &url,
        &work_a.path,
        &[KEY, ("LINKWELL_SANDBOX_CLIENT_SECRET", "shared-secret")],
    );
    let sandbox = format!("{}/sandbox", a.base_url);
    let b = Server::start_with(
        &url,
        &work_b.path,
        &[
            KEY,
            ("LINKWELL_SANDBOX_CLIENT_SECRET", "shared-secret"),
            ("LINKWELL_SANDBOX", "false"),
            ("LINKWELL_SANDBOX_URL", sandbox.as_str()),
        ],
    );
    let api_a = Api::new(&a, key.clone());
    let api_b = Api::new(&b, key.clone());
    // Nothing is pulled on link; the pulls are queued afterwards, half through each server, all at once.
    let answer = api_a
        .http
        .post(format!("{}/profile/syncSettings", api_a.base))
        .header("authorization", api_a.authorization())
        .json(&json!({"settings": [], "overridesDefaults": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    let mut companies = Vec::new();
    for _ in 0..PULLS {
        let (company, connection) = api_a.connection("mqjo").await;
        let done = api_a.link(&company, &connection).await;
        assert!(done.ends_with("outcome=linked"), "{done}");
        companies.push(company);
    }
    assert!(pulls(&api_a, &companies[0]).await.is_empty());
    let queued = futures::future::join_all(companies.iter().enumerate().map(|(index, company)| {
        let api = if index % 2 == 0 { &api_a } else { &api_b };
        async move {
            api.post(
                &format!("/companies/{company}/data/queue/invoices"),
                json!({}),
            )
            .await
        }
    }))
    .await;
    assert!(queued.iter().all(|pull| pull["status"] == "Queued"));
    let mut ids = HashSet::new();
    for company in &companies {
        let history = wait_complete(&api_a, company, 1, 120).await;
        ids.insert(history[0]["id"].as_str().unwrap().to_owned());
        assert_eq!(invoices(&api_a, company).await.len(), 80);
    }
    assert_eq!(ids.len(), PULLS);
    // Give the logs a moment to reach the files, then compare who did what.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let by_a = completed_in(&support::read_lossy(&a.log_path));
    let by_b = completed_in(&support::read_lossy(&b.log_path));
    let set_a: HashSet<String> = by_a.iter().cloned().collect();
    let set_b: HashSet<String> = by_b.iter().cloned().collect();
    assert_eq!(by_a.len() + by_b.len(), PULLS, "each pull completed once");
    assert!(set_a.is_disjoint(&set_b), "no pull ran in both servers");
    assert_eq!(&set_a | &set_b, ids);
    assert!(
        !by_a.is_empty() && !by_b.is_empty(),
        "both servers worked: {} and {}",
        by_a.len(),
        by_b.len()
    );
    drop(a);
    drop(b);
    schema.drop_now().await;
}
