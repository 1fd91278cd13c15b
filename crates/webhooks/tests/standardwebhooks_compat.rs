//! Independent check of our signatures: the third-party `standardwebhooks` package from PyPI (pinned in
//! `tests/requirements.txt`) verifies webhooks that linkwell signed, and rejects tampered ones.
//!
//! The test builds a virtualenv under `<target>/webhooks-venv` (rebuilt when the requirements or the
//! Python version change; a lock file serialises concurrent test processes) and runs
//! `tests/standardwebhooks_check.py` once per case. Python 3 with `venv` and `pip`, and PyPI, are required:
//! without them the test fails, it never skips. `LINKWELL_WEBHOOKS_PYTHON` names another interpreter than
//! `python3`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use linkwell_webhooks::{sign, signature_header, SigningSecret};

#[path = "../../../tests/support/python_venv.rs"]
mod python_venv;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Exit codes of the script.
const VERIFIED: i32 = 0;
const REJECTED: i32 = 1;

#[test]
fn standardwebhooks_python_package_verifies_our_signatures() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let started = Instant::now();
    let python = python_venv::ensure_venv(
        "webhooks-venv",
        "LINKWELL_WEBHOOKS_PYTHON",
        &tests.join("requirements.txt"),
    );
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
