//! Codat's official Python SDK (`codat-platform`, pinned in `tests/sdk/requirements.txt`), unmodified,
//! against the real `linkwell` binary: the promise that an application written for Codat works by changing
//! only the base URL and the API key.
//!
//! The test builds a virtualenv under `<target>/sdk-venv` (rebuilt when the requirements or the Python
//! version change; a lock file serialises concurrent test processes), creates a key and serves a fresh
//! SQLite database on a free loopback port, then runs `tests/sdk/codat_sdk_test.py` against it. Python 3
//! with `venv` and `pip` is required: without it the test fails, it never skips. `LINKWELL_SDK_PYTHON`
//! names another interpreter than `python3`.

#[path = "../../../tests/support/python_venv.rs"]
mod python_venv;
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use support::{create_file, create_key, read_lossy, Server, TempDir};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

#[test]
fn codat_python_sdk_works_against_linkwell() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sdk_dir = repo.join("tests/sdk");
    let python = python_venv::ensure_venv(
        "sdk-venv",
        "LINKWELL_SDK_PYTHON",
        &sdk_dir.join("requirements.txt"),
    );

    let work = TempDir::new("linkwell-sdk-compat");
    let database = work.path.join("linkwell.db");
    let key = create_key(&database);
    let server = Server::start(&database, &work.path);

    let stdout_path = work.path.join("sdk-test.stdout");
    let stderr_path = work.path.join("sdk-test.stderr");
    let mut script = Command::new(&python);
    script
        .arg(sdk_dir.join("codat_sdk_test.py"))
        .env("LINKWELL_BASE_URL", &server.base_url)
        .env("LINKWELL_API_KEY", &key)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(create_file(&stdout_path))
        .stderr(create_file(&stderr_path));
    let status = run_bounded(&mut script, SCRIPT_TIMEOUT);
    let stdout = read_lossy(&stdout_path);
    let stderr = read_lossy(&stderr_path);
    println!("{stdout}");
    assert!(
        status == Some(0),
        "the SDK test script {} against {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- server log ---\n{}",
        match status {
            Some(code) => format!("exited with {code}"),
            None => format!("did not finish within {SCRIPT_TIMEOUT:?}"),
        },
        server.base_url,
        read_lossy(&server.log_path),
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with(" passed, 0 failed"),
        "the script's last line is not its summary: {summary:?}"
    );
}

/// Runs the command to completion, or kills it after `timeout`; the exit code, None if killed or signalled.
fn run_bounded(command: &mut Command, timeout: Duration) -> Option<i32> {
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}
