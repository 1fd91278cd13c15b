//! The binary's side of linking: `linkwell serve` generates its key file and serves the sandbox platforms,
//! `LINKWELL_SANDBOX=false` switches them off, `linkwell sandbox` runs them alone for another linkwell, and
//! `linkwell keys rotate-encryption` re-encrypts stored credentials while the server keeps running.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{create_key, free_port, linkwell, Api, Server, TempDir};

fn current_key_id(path: &Path) -> String {
    linkwell_connectors::Keys::from_file(path)
        .unwrap()
        .ring()
        .current_key_id()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_credentials_under_a_generated_key_and_rotates_it_while_running() {
    let work = TempDir::new("linkwell-linking");
    let database = work.path.join("linkwell.db");
    let key = create_key(&database);
    let key_file = work.path.join("linkwell.db.key");
    assert!(
        !key_file.exists(),
        "only serve generates the encryption key"
    );
    let server = Server::start(&database, &work.path);
    let log = support::read_lossy(&server.log_path);
    assert!(
        log.contains("LINKWELL_ENCRYPTION_KEY is not set") && log.contains("linkwell.db.key"),
        "{log}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let api = Api::new(&server, key);
    let (company, connection) = api.connection("mqjo").await;
    let done = api.link(&company, &connection).await;
    assert!(done.ends_with("outcome=linked"), "{done}");

    let first_key = current_key_id(&key_file);
    let rotated = linkwell(&database)
        .args(["keys", "rotate-encryption"])
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{}", support::describe(&rotated));
    let second_key = current_key_id(&key_file);
    assert_ne!(first_key, second_key);
    assert_eq!(
        String::from_utf8(rotated.stdout).unwrap().trim(),
        format!("1 stored values are now encrypted with key {second_key}")
    );
    // The credentials now open only with the new key: a second rotation has to open them with it.
    let again = linkwell(&database)
        .args(["keys", "rotate-encryption"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", support::describe(&again));
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .starts_with("1 stored values"));
    // The server, never stopped, goes on linking.
    let (company, connection) = api.connection("bnks").await;
    let done = api.link(&company, &connection).await;
    assert!(done.ends_with("outcome=linked"), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_can_be_switched_off() {
    let work = TempDir::new("linkwell-no-sandbox");
    let database = work.path.join("linkwell.db");
    let key = create_key(&database);
    let server = Server::start_with(&database, &work.path, &[("LINKWELL_SANDBOX", "false")]);
    let api = Api::new(&server, key);
    let sandbox = api
        .http
        .get(format!("{}/sandbox/mqjo/oauth/authorize", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sandbox.status(), 404);
    let body: Value = sandbox.json().await.unwrap();
    assert_eq!(body["statusCode"], 404);
    let (company, connection) = api.connection("mqjo").await;
    let page = api
        .http
        .get(format!("{}/link/companies/{company}", api.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Unavailable"), "{page}");
    let start = api
        .http
        .get(format!(
            "{}/link/companies/{company}/connections/{connection}/start",
            api.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_runs_alone_for_another_linkwell() {
    let work = TempDir::new("linkwell-sandbox-alone");
    let database = work.path.join("linkwell.db");
    let refused = linkwell(&database).arg("sandbox").output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("LINKWELL_SANDBOX_CLIENT_SECRET"));

    let key = create_key(&database);
    let sandbox_address = free_port();
    let linkwell_address = free_port();
    let public_url = format!("http://{linkwell_address}");
    let secret = "a-shared-sandbox-secret";
    let mut sandbox = linkwell(&database)
        .arg("sandbox")
        .env("LINKWELL_SANDBOX_LISTEN", sandbox_address.to_string())
        .env("LINKWELL_SANDBOX_CLIENT_SECRET", secret)
        .env("LINKWELL_PUBLIC_URL", &public_url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sandbox_url = format!("http://{sandbox_address}/sandbox");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http
            .get(format!("{sandbox_url}/mqjo/oauth/authorize"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "linkwell sandbox did not start");
    let server = Server::start_with(
        &database,
        &work.path,
        &[
            ("LINKWELL_SANDBOX", "false"),
            ("LINKWELL_SANDBOX_URL", &sandbox_url),
            ("LINKWELL_SANDBOX_CLIENT_SECRET", secret),
            ("LINKWELL_LISTEN", &linkwell_address.to_string()),
            ("LINKWELL_PUBLIC_URL", &public_url),
        ],
    );
    let api = Api::new(&server, key);
    let (company, connection) = api.connection("aiwb").await;
    let done = api.link(&company, &connection).await;
    assert!(done.ends_with("outcome=linked"), "{done}");
    let _ = sandbox.kill();
    let _ = sandbox.wait();
}
