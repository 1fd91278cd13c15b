//! The `linkwell` command line: key creation on a fresh database, migrations, and start-up refusing bad
//! settings with one line that names them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linkwell_cli_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn linkwell(dir: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_linkwell"));
    command.current_dir(dir).args(args);
    for name in [
        "LINKWELL_DATABASE_URL",
        "LINKWELL_LISTEN",
        "LINKWELL_PUBLIC_URL",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run linkwell")
}

#[test]
fn keys_create_works_on_a_fresh_database_and_prints_only_the_key() {
    let dir = temp_dir("keys");
    let first = linkwell(
        &dir,
        &["keys", "create", "--client", "acme", "--name", "ci"],
        &[],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8(first.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must be the key alone: {stdout:?}");
    assert!(lines[0].len() >= 32 && lines[0].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        dir.join("linkwell.db").exists(),
        "the default database is linkwell.db in the working directory"
    );
    let second = linkwell(
        &dir,
        &["keys", "create", "--client", "acme", "--name", "ci2"],
        &[],
    );
    assert!(second.status.success());
    assert_ne!(
        String::from_utf8(second.stdout).unwrap(),
        stdout,
        "every key is new"
    );
    let migrate = linkwell(&dir, &["migrate"], &[]);
    assert!(migrate.status.success(), "migrate is repeatable");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_settings_stop_start_up_with_one_line_naming_them() {
    let dir = temp_dir("settings");
    for (name, value) in [
        ("LINKWELL_LISTEN", "not-an-address"),
        ("LINKWELL_DATABASE_URL", "mysql://localhost/x"),
        ("LINKWELL_PUBLIC_URL", "ftp://example"),
    ] {
        let output = linkwell(&dir, &["serve"], &[(name, value)]);
        assert!(
            !output.status.success(),
            "{name}={value} must stop start-up"
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.contains(name), "the message names {name}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    let unreachable = linkwell(
        &dir,
        &["migrate"],
        &[(
            "LINKWELL_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )],
    );
    assert!(!unreachable.status.success());
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("LINKWELL_DATABASE_URL"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn one_server_per_sqlite_file() {
    let dir = temp_dir("lock");
    let held = std::fs::File::create(dir.join("linkwell.db.lock")).unwrap();
    held.try_lock().unwrap();
    let output = linkwell(&dir, &["serve"], &[("LINKWELL_LISTEN", "127.0.0.1:0")]);
    assert!(
        !output.status.success(),
        "a second server on the same file must not start"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("LINKWELL_DATABASE_URL") && stderr.contains("another linkwell serve"),
        "{stderr}"
    );
    drop(held);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn openapi_command_prints_the_snapshot() {
    let dir = temp_dir("openapi");
    let output = linkwell(&dir, &["openapi"], &[]);
    assert!(output.status.success());
    let snapshot =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json"))
            .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), snapshot);
    let _ = std::fs::remove_dir_all(dir);
}
