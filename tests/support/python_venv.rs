//! A Python virtualenv for a test that runs a third-party Python package against linkwell, shared by the
//! test crates that need one (included with `#[path]`). The venv lives under the target directory, named
//! after its purpose; it is rebuilt when the requirements or the interpreter change, and a lock file makes
//! concurrent test processes wait for one build instead of racing.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HASH_FILE: &str = ".requirements-hash";

/// Makes sure the virtualenv `<target>/<name>` matches the requirements and the interpreter (`python3`, or
/// the one `python_variable` names); returns its Python. Fails, never skips, without Python or PyPI.
pub fn ensure_venv(name: &str, python_variable: &str, requirements: &Path) -> PathBuf {
    let base_python = std::env::var(python_variable).unwrap_or_else(|_| "python3".to_owned());
    let version = match Command::new(&base_python).arg("--version").output() {
        Ok(output) if output.status.success() => output,
        Ok(output) => panic!("`{base_python} --version` failed: {}", describe(&output)),
        Err(error) => panic!(
            "this test needs Python 3 (`{base_python}`, or set {python_variable}), which cannot run: {error}"
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
    let venv = target.join(name);
    let python = venv.join("bin/python");

    // Held until this function returns: another test process waits here instead of building the same venv.
    let lock = File::create(target.join(format!("{name}.lock")))
        .expect("cannot create the venv lock file");
    lock.lock().expect("cannot lock the venv lock file");

    let current = fs::read_to_string(venv.join(HASH_FILE)).unwrap_or_default();
    if current.trim() == hash && python.exists() {
        return python;
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).expect("cannot remove the stale venv");
    }
    eprintln!("creating the venv {} ...", venv.display());
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

/// FNV-1a, 64 bits: a hash that stays the same across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
