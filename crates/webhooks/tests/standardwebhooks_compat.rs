//! Independent check of our signatures: the third-party `standardwebhooks` package from PyPI (pinned in
//! `tests/requirements.txt`) verifies webhooks that linkwell signed, and rejects tampered ones.
//!
//! The test builds a virtualenv under `<target>/webhooks-venv` (rebuilt when the requirements or the
//! Python version change; a lock file serialises concurrent test processes) and runs
//! `tests/standardwebhooks_check.py` once per case. Python 3 with `venv` and `pip`, and PyPI, are required:
//! without them the test fails, it never skips. `LINKWELL_WEBHOOKS_PYTHON` names another interpreter than
//! `python3`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use linkwell_webhooks::{sign, signature_header, SigningSecret};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
const HASH_FILE: &str = ".requirements-hash";

/// Exit codes of the script.
const VERIFIED: i32 = 0;
const REJECTED: i32 = 1;

#[test]
fn standardwebhooks_python_package_verifies_our_signatures() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let started = Instant::now();
    let python = ensure_venv(&tests.join("requirements.txt"));
    eprintln!("venv ready in {:?}", started.elapsed());
    let script = tests.join("standardwebhooks_check.py");

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let secret = SigningSecret::generate();
    let other = SigningSecret::generate();
    let msg_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let body = r#"{"type":"connection.linked","data":{"companyId":"8a210b68","name":"Müller & Söhne – 株式会社"}}"#;
    let signed = |secrets: &[&SigningSecret], timestamp: i64, body: &str| {
        signature_header(secrets, msg_id, timestamp, body.as_bytes())
    };
    let run = |secret: &SigningSecret, timestamp: i64, signature: &str, body: &str| {
        run_script(
            &python, &script, "verify", secret, msg_id, timestamp, signature, body,
        )
    };

    // Accepted: one secret; and both secrets of a rotation, each on its own.
    let single = signed(&[&secret], now, body);
    expect(
        run(&secret, now, &single, body),
        VERIFIED,
        "a webhook signed with its secret",
    );
    let rotated = signed(&[&other, &secret], now, body);
    assert_eq!(rotated.split(' ').count(), 2);
    expect(
        run(&secret, now, &rotated, body),
        VERIFIED,
        "a rotated header, the new secret",
    );
    expect(
        run(&other, now, &rotated, body),
        VERIFIED,
        "a rotated header, the old secret",
    );

    // Rejected, so that the acceptances above mean something.
    let tampered = body.replace("8a210b68", "8a210b69");
    expect(
        run(&secret, now, &single, &tampered),
        REJECTED,
        "a tampered body",
    );
    expect(
        run(&other, now, &single, body),
        REJECTED,
        "a signature by another secret",
    );
    let stale = now - 600;
    expect(
        run(&secret, stale, &signed(&[&secret], stale, body), body),
        REJECTED,
        "a webhook ten minutes old",
    );

    // And the other way round: the package's own signature equals ours.
    let output = run_script(&python, &script, "sign", &secret, msg_id, now, "", body);
    expect(output.clone(), VERIFIED, "signing with the package");
    let theirs = String::from_utf8_lossy(&output.stdout);
    let theirs = theirs.lines().last().unwrap_or_default().trim();
    assert_eq!(theirs, sign(&secret, msg_id, now, body.as_bytes()));
}

#[allow(clippy::too_many_arguments)]
fn run_script(
    python: &Path,
    script: &Path,
    mode: &str,
    secret: &SigningSecret,
    msg_id: &str,
    timestamp: i64,
    signature: &str,
    body: &str,
) -> Output {
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(mode)
        .env("WEBHOOK_SECRET", secret.to_whsec().as_str())
        .env("WEBHOOK_ID", msg_id)
        .env("WEBHOOK_TIMESTAMP", timestamp.to_string())
        .env("WEBHOOK_SIGNATURE", signature)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", python.display()));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(body.as_bytes())
        .expect("cannot write the body to the script");
    // The outputs are small; read them after the exit, within a bound.
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("cannot wait for the script") {
            Some(status) => break status,
            None if Instant::now() < deadline => sleep(Duration::from_millis(20)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the script did not finish within {SCRIPT_TIMEOUT:?}");
            }
        }
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_end(&mut stdout).expect("script stdout");
    }
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_end(&mut stderr).expect("script stderr");
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

fn expect(output: Output, code: i32, case: &str) {
    assert!(
        output.status.code() == Some(code),
        "{case}: the standardwebhooks script exited with {:?}, expected {code}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// Makes sure the virtualenv matches the requirements and the interpreter; returns its Python.
fn ensure_venv(requirements: &Path) -> PathBuf {
    let base_python =
        std::env::var("LINKWELL_WEBHOOKS_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let version = match Command::new(&base_python).arg("--version").output() {
        Ok(output) if output.status.success() => output,
        Ok(output) => panic!("`{base_python} --version` failed: {}", describe(&output)),
        Err(error) => panic!(
            "the standardwebhooks check needs Python 3 (`{base_python}`), which cannot run: {error}"
        ),
    };
    let mut fingerprint = fs::read(requirements)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", requirements.display()));
    fingerprint.extend_from_slice(&version.stdout);
    fingerprint.extend_from_slice(&version.stderr);
    let hash = format!("{:016x}", fnv1a(&fingerprint));

    // CARGO_TARGET_TMPDIR is `<target>/tmp`, wherever CARGO_TARGET_DIR puts the target directory.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target = tmp.parent().unwrap_or(tmp);
    let venv = target.join("webhooks-venv");
    let python = venv.join("bin/python");

    // Held until this function returns: another test process waits here instead of building the same venv.
    let lock =
        File::create(target.join("webhooks-venv.lock")).expect("cannot create the venv lock file");
    lock.lock().expect("cannot lock the venv lock file");

    let current = fs::read_to_string(venv.join(HASH_FILE)).unwrap_or_default();
    if current.trim() == hash && python.exists() {
        return python;
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).expect("cannot remove the stale webhooks venv");
    }
    eprintln!("creating the webhooks venv {} ...", venv.display());
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
        "pip could not install {} (is PyPI reachable?): {}",
        requirements.display(),
        describe(&installed)
    );
    // Written last, so an interrupted build is never taken for a finished one.
    fs::write(venv.join(HASH_FILE), &hash).expect("cannot record the venv's requirements hash");
    python
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
