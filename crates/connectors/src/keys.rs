//! The encryption keys linkwell seals credentials with, where they come from, and key rotation.
//!
//! Keys come from `LINKWELL_ENCRYPTION_KEY` (one or more base64 keys separated by commas, the first being the
//! one new values are sealed with) or from a key file (one key per line, the first current; `#` starts a
//! comment). A file is re-read when it changes and whenever a value names a key the ring does not hold, so
//! `linkwell keys rotate-encryption` can add a key to the file while servers keep running.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use linkwell_encryption::{Binding, EncryptionError, EncryptionKey, KeyRing};
use linkwell_store::{SealedRow, SealedTable, Store, StoreError};
use thiserror::Error;
use zeroize::Zeroizing;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{0}: {1}")]
    File(String, std::io::Error),
    #[error("{0} holds no encryption key")]
    Empty(String),
    #[error("{source_name}, key {position}: {error}")]
    Invalid {
        source_name: String,
        position: usize,
        error: EncryptionError,
    },
}

/// Where the keys were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Given at start-up (the environment, or a test); never re-read.
    Fixed,
    File(PathBuf),
}

/// The current key ring, shared by every task, and where to re-read it from.
pub struct Keys {
    ring: RwLock<Arc<KeyRing>>,
    source: KeySource,
    file_stamp: RwLock<Option<SystemTime>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Keys")
            .field("current", &self.ring().current_key_id().as_str().to_owned())
            .field("source", &self.source)
            .finish()
    }
}

/// Parses a comma- or newline-separated list of base64 keys, the first being current.
pub fn parse_key_list(text: &str, source_name: &str) -> Result<KeyRing, KeyError> {
    let mut keys = Vec::new();
    for (position, entry) in text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .enumerate()
    {
        keys.push(
            EncryptionKey::parse(entry).map_err(|error| KeyError::Invalid {
                source_name: source_name.to_owned(),
                position: position + 1,
                error,
            })?,
        );
    }
    let mut keys = keys.into_iter();
    let current = keys
        .next()
        .ok_or_else(|| KeyError::Empty(source_name.to_owned()))?;
    Ok(KeyRing::new(current, keys.collect()))
}

impl Keys {
    pub fn fixed(ring: KeyRing) -> Self {
        Self {
            ring: RwLock::new(Arc::new(ring)),
            source: KeySource::Fixed,
            file_stamp: RwLock::new(None),
        }
    }

    /// A ring with one new random key, kept in memory only (tests, throwaway databases).
    pub fn ephemeral() -> Self {
        Self::fixed(KeyRing::new(EncryptionKey::generate(), Vec::new()))
    }

    /// Reads the key file.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let (ring, stamp) = read_key_file(path)?;
        Ok(Self {
            ring: RwLock::new(Arc::new(ring)),
            source: KeySource::File(path.to_owned()),
            file_stamp: RwLock::new(stamp),
        })
    }

    /// Reads the key file, creating it with a new key (mode 0600) if it does not exist. True when created.
    pub fn load_or_create_file(path: &Path) -> Result<(Self, bool), KeyError> {
        if path.exists() {
            return Ok((Self::from_file(path)?, false));
        }
        let key = EncryptionKey::generate();
        let mut contents = Zeroizing::new(String::from(
            "# linkwell encryption keys: one per line, the first seals new values. Keep this file secret.\n",
        ));
        contents.push_str(&key.to_base64());
        contents.push('\n');
        write_private_file(path, &contents)?;
        Ok((Self::from_file(path)?, true))
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Seals with the current key; answers the sealed text and that key's id.
    pub fn seal(&self, plaintext: &[u8], binding: &Binding) -> (String, String) {
        let ring = self.ring();
        (
            ring.seal(plaintext, binding),
            ring.current_key_id().as_str().to_owned(),
        )
    }

    /// Opens a sealed value; a value under a key this ring does not know makes a file-backed ring re-read
    /// its file once (another process may have rotated).
    pub fn open(
        &self,
        sealed: &str,
        binding: &Binding,
    ) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        match self.ring().open(sealed, binding) {
            Err(EncryptionError::UnknownKey(id)) => {
                if matches!(self.source, KeySource::File(_)) && self.reload().is_ok() {
                    self.ring().open(sealed, binding)
                } else {
                    Err(EncryptionError::UnknownKey(id))
                }
            }
            other => other,
        }
    }

    /// Re-reads the key file (nothing to do for fixed keys).
    pub fn reload(&self) -> Result<(), KeyError> {
        let KeySource::File(path) = &self.source else {
            return Ok(());
        };
        let (ring, stamp) = read_key_file(path)?;
        *self
            .ring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(ring);
        *self
            .file_stamp
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = stamp;
        Ok(())
    }

    /// Re-reads the key file if it changed since it was last read. True when it was re-read.
    pub fn reload_if_changed(&self) -> Result<bool, KeyError> {
        let KeySource::File(path) = &self.source else {
            return Ok(false);
        };
        let stamp = modified(path);
        let known = *self
            .file_stamp
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if stamp == known {
            return Ok(false);
        }
        self.reload()?;
        Ok(true)
    }

    /// Puts a new key first in the key file, keeping the others so values under them still open. Answers
    /// the new key's id. Only for file-backed keys.
    pub fn add_new_current_key(&self) -> Result<String, KeyError> {
        let KeySource::File(path) = &self.source else {
            return Err(KeyError::File(
                "the keys come from LINKWELL_ENCRYPTION_KEY".to_owned(),
                std::io::Error::other("put the new key first in LINKWELL_ENCRYPTION_KEY instead"),
            ));
        };
        let existing = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|error| KeyError::File(path.display().to_string(), error))?,
        );
        let key = EncryptionKey::generate();
        let mut contents = Zeroizing::new(String::new());
        let mut header_done = false;
        for line in existing.lines() {
            if !header_done && !line.trim_start().starts_with('#') {
                contents.push_str(&key.to_base64());
                contents.push('\n');
                header_done = true;
            }
            contents.push_str(line);
            contents.push('\n');
        }
        if !header_done {
            contents.push_str(&key.to_base64());
            contents.push('\n');
        }
        write_private_file(path, &contents)?;
        self.reload()?;
        Ok(key.id().as_str().to_owned())
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

fn read_key_file(path: &Path) -> Result<(KeyRing, Option<SystemTime>), KeyError> {
    let stamp = modified(path);
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|error| KeyError::File(path.display().to_string(), error))?,
    );
    Ok((parse_key_list(&text, &path.display().to_string())?, stamp))
}

/// Writes `contents` to `path` through a temporary file in the same directory, readable by the owner only,
/// then renames it into place, so a reader never sees half a file.
fn write_private_file(path: &Path, contents: &str) -> Result<(), KeyError> {
    use std::io::Write;
    let display = path.display().to_string();
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("keys"),
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(KeyError::File(display, error));
    }
    Ok(())
}

/// Where each sealed value belongs: what it is and which rows own it. Sealing and opening use the same.
pub fn binding_for(table: SealedTable, row: &SealedRow) -> Binding {
    let owners: Vec<&str> = row.owners.iter().map(String::as_str).collect();
    let purpose = match table {
        SealedTable::Credentials => CREDENTIALS_PURPOSE,
        SealedTable::LinkAttempts => VERIFIER_PURPOSE,
        SealedTable::WebhookSecrets => WEBHOOK_SECRET_PURPOSE,
    };
    Binding::new(purpose, &owners)
}

const CREDENTIALS_PURPOSE: &str = "connection-credentials";
const VERIFIER_PURPOSE: &str = "pkce-verifier";
const WEBHOOK_SECRET_PURPOSE: &str = "webhook-secret";

/// A webhook consumer's signing secret is bound to the consumer and the secret's row.
pub fn webhook_secret_binding(consumer: &str, secret: &str) -> Binding {
    Binding::new(WEBHOOK_SECRET_PURPOSE, &[consumer, secret])
}

pub(crate) fn credentials_binding(company: &str, connection: &str) -> Binding {
    Binding::new(CREDENTIALS_PURPOSE, &[company, connection])
}

pub(crate) fn verifier_binding(company: &str, connection: &str, attempt: &str) -> Binding {
    Binding::new(VERIFIER_PURPOSE, &[company, connection, attempt])
}

/// What a rotation pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    pub resealed: u64,
    /// Values that changed while being re-sealed (a refresh wrote new ones, already under the current key).
    pub skipped: u64,
    /// Values under a key other than the current one after the pass.
    pub remaining: i64,
}

/// Re-seals every stored value that is not under the ring's current key, in batches, without stopping
/// anything: each value is replaced only if it still holds what was read.
pub async fn reseal_all(store: &Store, keys: &Keys) -> Result<RotationReport, RotationError> {
    const BATCH: i64 = 200;
    let ring = keys.ring();
    let current = ring.current_key_id().as_str().to_owned();
    let mut report = RotationReport::default();
    for table in SealedTable::ALL {
        let mut after = String::new();
        loop {
            let rows = store
                .sealed_rows_to_rotate(table, &current, &after, BATCH)
                .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.id.clone();
            for row in &rows {
                let binding = binding_for(table, row);
                let resealed = match ring.reseal(&row.sealed, &binding) {
                    Ok(resealed) => resealed,
                    Err(EncryptionError::UnknownKey(id)) => {
                        return Err(RotationError::MissingKey(id));
                    }
                    Err(error) => return Err(RotationError::Unreadable(row.id.clone(), error)),
                };
                if store
                    .replace_sealed(table, row, &resealed, &current)
                    .await?
                {
                    report.resealed += 1;
                } else {
                    report.skipped += 1;
                }
            }
        }
        report.remaining += store.count_sealed_under_other_keys(table, &current).await?;
    }
    Ok(report)
}

#[derive(Debug, Error)]
pub enum RotationError {
    #[error("a stored value is sealed with key {0}, which is not among the configured keys")]
    MissingKey(String),
    #[error("the stored value of row {0} does not open: {1}")]
    Unreadable(String, EncryptionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_file_is_private_and_reloads() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("linkwell.db.key");
        let (keys, created) = Keys::load_or_create_file(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let binding = Binding::new("test", &["a"]);
        let (sealed, first_id) = keys.seal(b"secret", &binding);
        let (again, created_again) = Keys::load_or_create_file(&path).unwrap();
        assert!(!created_again);
        assert_eq!(again.ring().current_key_id().as_str(), first_id);

        // Another process rotates: this one learns the new key when it meets a value sealed with it.
        let new_id = again.add_new_current_key().unwrap();
        assert_ne!(new_id, first_id);
        let (newer, _) = again.seal(b"newer", &binding);
        assert_eq!(&*keys.open(&newer, &binding).unwrap(), b"newer");
        assert_eq!(keys.ring().current_key_id().as_str(), new_id);
        // And still opens what the old key sealed.
        assert_eq!(&*keys.open(&sealed, &binding).unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn key_lists_name_the_bad_entry() {
        let good = EncryptionKey::generate();
        let text = format!("{}, not-a-key", &*good.to_base64());
        let error = parse_key_list(&text, "LINKWELL_ENCRYPTION_KEY").unwrap_err();
        assert_eq!(
            error.to_string(),
            "LINKWELL_ENCRYPTION_KEY, key 2: an encryption key must be 32 bytes, base64-encoded"
        );
        assert!(matches!(
            parse_key_list(" , ", "LINKWELL_ENCRYPTION_KEY"),
            Err(KeyError::Empty(_))
        ));
        let ring = parse_key_list(&good.to_base64(), "x").unwrap();
        assert_eq!(ring.current_key_id(), good.id());
    }
}
