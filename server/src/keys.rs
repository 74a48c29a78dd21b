//! Where the encryption key lives: HOOKLINE_ENCRYPTION_KEY or `encryption.key` next to the
//! database, and the check against the key the database was encrypted with.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::SqliteConnection;

use crate::crypto::EncryptionKey;
use crate::db::secrets::{self, StoredKey};
use crate::db::Db;
use crate::Config;

/// The key file's name, in the database's folder (like `secret.key`).
pub const KEY_FILE: &str = "encryption.key";

/// Where the encryption key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// HOOKLINE_ENCRYPTION_KEY, as given.
    Setting(String),
    /// `encryption.key` in this folder, generated when the database has no secrets encrypted yet.
    Files(PathBuf),
    /// A database in memory: a fresh key for the process, which the data does not outlive.
    Ephemeral,
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Setting(_) => f.write_str("Setting(HOOKLINE_ENCRYPTION_KEY)"),
            KeySource::Files(dir) => write!(f, "Files({})", dir.display()),
            KeySource::Ephemeral => f.write_str("Ephemeral"),
        }
    }
}

impl KeySource {
    /// The setting an operator would change, for messages.
    fn setting_name(&self) -> String {
        match self {
            KeySource::Setting(_) => "HOOKLINE_ENCRYPTION_KEY".to_string(),
            KeySource::Files(dir) => format!("{KEY_FILE} ({})", dir.join(KEY_FILE).display()),
            KeySource::Ephemeral => "the in-memory database's key".to_string(),
        }
    }

    /// The key the settings choose for their database.
    pub fn from_config(config: &Config) -> KeySource {
        KeySource::for_database(&config.database_url, config.encryption_key.as_deref())
    }

    /// `setting` (HOOKLINE_ENCRYPTION_KEY) when given, else the key file next to the database.
    pub fn for_database(url: &str, setting: Option<&str>) -> KeySource {
        match (setting, Db::data_dir(url)) {
            (Some(text), _) => KeySource::Setting(text.to_string()),
            (None, Some(dir)) => KeySource::Files(dir),
            (None, None) => KeySource::Ephemeral,
        }
    }
}

/// Finds the key the database's secrets are encrypted with, checks it, and seals whatever is
/// still stored in plain text (a database from before encryption at rest). The first start
/// records the key (and generates `encryption.key` if the settings name no key). Called right
/// after the migrations, before anything else reads the database.
pub(crate) async fn unlock(conn: &mut SqliteConnection, source: &KeySource) -> anyhow::Result<EncryptionKey> {
    let stored = secrets::stored_key(conn).await.context("cannot read the encryption key check")?;
    let key = match source {
        KeySource::Setting(text) => {
            let key = EncryptionKey::parse(text).map_err(|e| anyhow::anyhow!("HOOKLINE_ENCRYPTION_KEY: {e}"))?;
            if let Some(stored) = &stored {
                ensure_matches(stored, &key, "HOOKLINE_ENCRYPTION_KEY")?;
            }
            key
        }
        KeySource::Ephemeral => {
            let (key, _) = EncryptionKey::generate();
            if let Some(stored) = &stored {
                ensure_matches(stored, &key, &source.setting_name())?;
            }
            key
        }
        KeySource::Files(dir) => unlock_files(dir, stored.as_ref())?,
    };
    let sealed = match secrets::seal_plain_values(conn, &key).await {
        Ok(Ok(sealed)) => sealed,
        // Another process recorded its key between our read and our write.
        Ok(Err(recorded)) => return Err(mismatch(&recorded, &key, &source.setting_name())),
        Err(error) => return Err(error).context("cannot encrypt the secrets stored in plain text"),
    };
    if sealed > 0 {
        tracing::info!(values = sealed, key_id = %key.id(), "encrypted the secrets an earlier version stored in plain text");
    }
    Ok(key)
}

/// Refuses a key that is not the one the database records, naming both ids and the setting.
fn ensure_matches(stored: &StoredKey, key: &EncryptionKey, setting: &str) -> anyhow::Result<()> {
    match stored.check(key) {
        Ok(true) => Ok(()),
        Ok(false) => Err(mismatch(stored, key, setting)),
        Err(problem) => Err(anyhow::anyhow!(problem)),
    }
}

fn mismatch(stored: &StoredKey, key: &EncryptionKey, setting: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the database's secrets were encrypted with key {}, which {setting} is not (it is key {}); set \
         HOOKLINE_ENCRYPTION_KEY to the key this database was encrypted with, or put the {KEY_FILE} that \
         belongs to it back next to the database (from the backup made with it). Nothing was started, \
         nothing was sent.",
        stored.id,
        key.id()
    )
}

/// The key-file side of `unlock`.
fn unlock_files(dir: &Path, stored: Option<&StoredKey>) -> anyhow::Result<EncryptionKey> {
    let path = dir.join(KEY_FILE);
    let current = read_key_file(&path)?;
    let Some(stored) = stored else {
        // Nothing was ever encrypted here (a new database, or one from before encryption at rest).
        return match current {
            Some(key) => Ok(key),
            None => create_key_file(&path),
        };
    };
    match current {
        Some(current) => {
            ensure_matches(stored, &current, &KeySource::Files(dir.to_path_buf()).setting_name())?;
            Ok(current)
        }
        None => anyhow::bail!(
            "the database's secrets were encrypted with key {}, but {} does not exist; put the {KEY_FILE} that \
             belongs to this database back (from the backup made with it), or set HOOKLINE_ENCRYPTION_KEY to \
             that key. Nothing was started, nothing was sent.",
            stored.id,
            path.display()
        ),
    }
}

/// A key file's key, or `None` when there is no such file.
fn read_key_file(path: &Path) -> anyhow::Result<Option<EncryptionKey>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read the encryption key {}", path.display())),
    };
    EncryptionKey::parse(&text)
        .map(Some)
        .map_err(|problem| anyhow::anyhow!("{} is not an encryption key: {problem}", path.display()))
}

/// Generates `encryption.key`, unless another process starting on the same database made it
/// first: then that key is used, so both record and use the same one.
fn create_key_file(path: &Path) -> anyhow::Result<EncryptionKey> {
    let (key, text) = EncryptionKey::generate();
    let temporary = with_suffix(path, ".tmp-new");
    let created = write_private(&temporary, format!("{text}\n").as_bytes())
        // A hard link, unlike a rename, never replaces an existing file.
        .and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match created {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir);
            }
            tracing::info!(key_id = %key.id(), path = %path.display(), "generated a new encryption key: back it up, apart from the database");
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path)?
            .ok_or_else(|| anyhow::anyhow!("{} appeared and vanished while starting", path.display())),
        Err(error) => Err(error).with_context(|| format!("cannot write the encryption key to {}", path.display())),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates or replaces a file only its owner can read (0600 on Unix), synced to disk.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // The mode above only applies to a new file; an existing one keeps its own otherwise.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a rename or a new file in `dir` durable (best effort: not every platform can sync a folder).
fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(%error, dir = %dir.display(), "cannot sync the folder");
    }
}
