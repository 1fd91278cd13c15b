//! Codat's official Python SDK (`codat-platform`, pinned in `tests/sdk/requirements.txt`), unmodified,
//! against the real `linkwell` binary: the promise that an application written for Codat works by changing
//! only the base URL and the API key.
//!
//! The test builds a virtualenv under `<target>/sdk-venv` (rebuilt when the requirements or the Python
//! version change; a lock file serialises concurrent test processes), creates a key and serves a fresh
//! SQLite database on a free loopback port, then runs `tests/sdk/codat_sdk_test.py` against it. Python 3
//! with `venv` and `pip` is required: without it the test fails, it never skips. `LINKWELL_SDK_PYTHON`
//! names another interpreter than `python3`.

mod support;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use support::{create_file, create_key, describe, read_lossy, Server, TempDir};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);
const HASH_FILE: &str = ".requirements-hash";

#[test]
fn codat_python_sdk_works_against_linkwell() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sdk_dir = repo.join("tests/sdk");
    let python = ensure_venv(&sdk_dir.join("requirements.txt"));

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

/// Makes sure the virtualenv matches the requirements and the interpreter; returns its Python.
fn ensure_venv(requirements: &Path) -> PathBuf {
    let base_python = std::env::var("LINKWELL_SDK_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let version = Command::new(&base_python).arg("--version").output();
    let version = match version {
        Ok(output) if output.status.success() => output,
        Ok(output) => panic!("`{base_python} --version` failed: {}", describe(&output)),
        Err(error) => {
            panic!("the SDK test needs Python 3 (`{base_python}`), which cannot run: {error}")
        }
    };
    let requirements_text = fs::read(requirements)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", requirements.display()));
    let mut fingerprint = requirements_text;
    fingerprint.extend_from_slice(&version.stdout);
    fingerprint.extend_from_slice(&version.stderr);
    let hash = format!("{:016x}", fnv1a(&fingerprint));

    // CARGO_TARGET_TMPDIR is `<target>/tmp`, wherever CARGO_TARGET_DIR puts the target directory.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target = tmp.parent().unwrap_or(tmp);
    let venv = target.join("sdk-venv");
    let python = venv.join("bin/python");

    // Held until this function returns: another test process waits here instead of building the same venv.
    let lock =
        File::create(target.join("sdk-venv.lock")).expect("cannot create the venv lock file");
    lock.lock().expect("cannot lock the venv lock file");

    let current = fs::read_to_string(venv.join(HASH_FILE)).unwrap_or_default();
    if current.trim() == hash && python.exists() {
        return python;
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).expect("cannot remove the stale SDK venv");
    }
    eprintln!("creating the SDK venv {} ...", venv.display());
    let created = Command::new(&base_python)
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .unwrap_or_else(|error| panic!("cannot run `{base_python} -m venv`: {error}"));
    assert!(
        created.status.success(),
        "`{base_python} -m venv {}` failed (is the venv module installed?): {}",
        venv.display(),
        describe(&created)
    );
    let pip = venv.join("bin/pip");
    let installed = Command::new(&pip)
        .args(["install", "-q", "--disable-pip-version-check", "-r"])
        .arg(requirements)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", pip.display()));
    assert!(
        installed.status.success(),
        "pip could not install {}: {}",
        requirements.display(),
        describe(&installed)
    );
    // Written last, so an interrupted build is never taken for a finished one.
    fs::write(venv.join(HASH_FILE), &hash).expect("cannot record the venv's requirements hash");
    python
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
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
