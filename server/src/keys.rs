//! Where the encryption key lives and how it changes: HOOKLINE_ENCRYPTION_KEY or `encryption.key`
//! next to the database, the check against the key the database was encrypted with, `hookline
//! keys rotate`, the private modes of key files, and the lock that keeps a rotation and a running
//! server apart.
//!
//! Rotation survives being killed at any point. With key files it writes the new key to
//! `encryption.key.new`, re-encrypts everything in one transaction, and only then renames the new
//! file over `encryption.key`. A start that finds both files asks the database which one it was
//! encrypted with: the new one finishes the rename, the old one removes the unused new file.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::SqliteConnection;

use crate::crypto::{EncryptionKey, KeyId};
use crate::db::secrets::{self, StoredKey};
use crate::db::{Access, Db};
use crate::Config;

/// The key file's name, in the database's folder (like `secret.key`).
pub const KEY_FILE: &str = "encryption.key";
/// The new key during `hookline keys rotate`, until the re-encryption has committed.
pub const PENDING_KEY_FILE: &str = "encryption.key.new";

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
    let key = choose_key(source, stored.as_ref())?;
    let sealed = secrets::seal_plain_values(conn, &key).await;
    finish_unlock(source, &key, sealed)?;
    Ok(key)
}

/// The key to use: the setting's, a key file's (generated on a new database) or, with neither, a
/// throw-away one; refused when the database records another key.
pub(crate) fn choose_key(source: &KeySource, stored: Option<&StoredKey>) -> anyhow::Result<EncryptionKey> {
    Ok(match source {
        KeySource::Setting(text) => {
            let key = EncryptionKey::parse(text).map_err(|e| anyhow::anyhow!("HOOKLINE_ENCRYPTION_KEY: {e}"))?;
            if let Some(stored) = stored {
                ensure_matches(stored, &key, "HOOKLINE_ENCRYPTION_KEY")?;
            }
            key
        }
        KeySource::Ephemeral => {
            let (key, _) = EncryptionKey::generate();
            if let Some(stored) = stored {
                ensure_matches(stored, &key, &source.setting_name())?;
            }
            key
        }
        KeySource::Files(dir) => unlock_files(dir, stored)?,
    })
}

/// Reports what sealing the plain values (`secrets::seal_plain_values`) did at start-up.
pub(crate) fn finish_unlock(
    source: &KeySource,
    key: &EncryptionKey,
    sealed: Result<Result<u64, StoredKey>, sqlx::Error>,
) -> anyhow::Result<()> {
    let sealed = match sealed {
        Ok(Ok(sealed)) => sealed,
        // Another process recorded its key between our read and our write.
        Ok(Err(recorded)) => return Err(mismatch(&recorded, key, &source.setting_name())),
        Err(error) => return Err(error).context("cannot encrypt the secrets stored in plain text"),
    };
    if sealed > 0 {
        tracing::info!(values = sealed, key_id = %key.id(), "encrypted the secrets an earlier version stored in plain text");
    }
    Ok(())
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

/// The key-file side of `unlock`, including finishing or undoing an interrupted rotation.
fn unlock_files(dir: &Path, stored: Option<&StoredKey>) -> anyhow::Result<EncryptionKey> {
    let current_path = dir.join(KEY_FILE);
    let pending_path = dir.join(PENDING_KEY_FILE);
    let current = read_key_file(&current_path)?;
    let pending = read_key_file(&pending_path)?;
    let Some(stored) = stored else {
        // Nothing was ever encrypted here (a new database, or one from before encryption at rest),
        // so no rotation can have committed: a pending key file is left over from a failed one.
        if pending.is_some() {
            remove_file(&pending_path)?;
        }
        return match current {
            Some(key) => Ok(key),
            None => create_key_file(&current_path),
        };
    };
    if let Some(pending) = pending {
        if stored.check(&pending).map_err(|problem| anyhow::anyhow!(problem))? {
            std::fs::rename(&pending_path, &current_path).with_context(|| {
                format!("cannot finish the interrupted key rotation: renaming {} failed", pending_path.display())
            })?;
            sync_dir(dir);
            tracing::warn!(key_id = %pending.id(), path = %current_path.display(), "finished an interrupted key rotation: the database was already re-encrypted, the new key file is now in place");
            return Ok(pending);
        }
    }
    let setting = KeySource::Files(dir.to_path_buf()).setting_name();
    match current {
        Some(current) => {
            ensure_matches(stored, &current, &setting)?;
            if pending_path.exists() {
                remove_file(&pending_path)?;
                tracing::warn!(key_id = %current.id(), "an interrupted key rotation had not changed the database: removed the unused new key file");
            }
            Ok(current)
        }
        None => anyhow::bail!(
            "the database's secrets were encrypted with key {}, but {} does not exist; put the {KEY_FILE} that \
             belongs to this database back (from the backup made with it), or set HOOKLINE_ENCRYPTION_KEY to \
             that key. Nothing was started, nothing was sent.",
            stored.id,
            current_path.display()
        ),
    }
}

/// A key file's key, or `None` when there is no such file. A file others can read is made
/// private first (with a warning).
fn read_key_file(path: &Path) -> anyhow::Result<Option<EncryptionKey>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read the encryption key {}", path.display())),
    };
    ensure_private(path)?;
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

fn remove_file(path: &Path) -> anyhow::Result<()> {
    std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))
}

/// Writes a private (0600) file whole or not at all: a temporary file, synced, then renamed.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = with_suffix(path, ".tmp");
    match std::fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    write_private(&temporary, bytes)?;
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
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

/// Creates `path` empty and private (0600) if it does not exist yet: SQLite then keeps the mode
/// for the database and its `-wal` and `-shm` files.
pub(crate) fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// Makes a key file that group or others may read private (0600), with a warning: the key is
/// only as safe as its file, and refusing to start would fix nothing that chmod cannot.
pub(crate) fn ensure_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).with_context(|| {
                format!("{} can be read by other users, and its mode cannot be changed", path.display())
            })?;
            tracing::warn!(path = %path.display(), was = format!("{:o}", mode & 0o777), "a key file could be read by other users: its mode is now 0600");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Makes a rename or a new file in `dir` durable (best effort: not every platform can sync a folder).
fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(%error, dir = %dir.display(), "cannot sync the folder");
    }
}

/// Takes `<database>.lock`: shared for a server or a command, exclusive for a key rotation, so a
/// rotation never runs beside a server that would go on using the old key. The lock goes with
/// the returned file (when it is closed, or the process ends, even by a crash).
pub(crate) fn lock_database(database: &Path, access: Access) -> anyhow::Result<File> {
    let path = with_suffix(database, ".lock");
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).with_context(|| format!("cannot open the lock file {}", path.display()))?;
    let locked = match access {
        Access::Shared => file.try_lock_shared(),
        Access::Exclusive => file.try_lock(),
    };
    match (locked, access) {
        (Ok(()), _) => Ok(file),
        (Err(std::fs::TryLockError::WouldBlock), Access::Shared) => anyhow::bail!(
            "`hookline keys rotate` is re-encrypting this database ({} is locked); start again once it has finished",
            path.display()
        ),
        (Err(std::fs::TryLockError::WouldBlock), Access::Exclusive) => anyhow::bail!(
            "Hookline is running on this database ({} is locked): stop it first, since a running server would go on \
             using the old key",
            path.display()
        ),
        (Err(std::fs::TryLockError::Error(error)), _) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// What `hookline keys rotate` did.
#[derive(Debug)]
pub struct Rotation {
    pub old: KeyId,
    pub new: KeyId,
    /// Values re-encrypted.
    pub values: u64,
    /// Values that did not open with the old key and were left as they were (see `Reencrypted`).
    pub unreadable: Vec<String>,
    /// The key file now holding the new key; `None` when the key comes from HOOKLINE_ENCRYPTION_KEY.
    pub key_file: Option<PathBuf>,
}

/// Re-encrypts every secret under a new key in one transaction (`hookline keys rotate`).
///
/// With key files, the new key is generated (or taken from `new_key`) and lands in
/// `encryption.key` once the transaction has committed. With HOOKLINE_ENCRYPTION_KEY, `new_key`
/// (HOOKLINE_NEW_ENCRYPTION_KEY) is required: the operator stores the new key where the setting
/// comes from before any data depends on it, and nothing here prints a key that a closed
/// terminal could lose. Refused while a server runs on the database (see `lock_database`).
pub async fn rotate(config: &Config, new_key: Option<&str>) -> anyhow::Result<Rotation> {
    let source = KeySource::from_config(config);
    let (new, new_text) = match (new_key, &source) {
        (_, KeySource::Ephemeral) => anyhow::bail!("a database in memory has no key to rotate"),
        (Some(text), _) => {
            let key = EncryptionKey::parse(text)
                .map_err(|problem| anyhow::anyhow!("HOOKLINE_NEW_ENCRYPTION_KEY: {problem}"))?;
            (key, text.trim().to_string())
        }
        (None, KeySource::Files(_)) => EncryptionKey::generate(),
        (None, KeySource::Setting(_)) => anyhow::bail!(
            "HOOKLINE_ENCRYPTION_KEY is set, so the new key cannot be written to {KEY_FILE} for you. Make one with \
             `hookline keys generate`, store it where HOOKLINE_ENCRYPTION_KEY comes from (keep the old one until \
             this command has succeeded), then run `hookline keys rotate` with HOOKLINE_NEW_ENCRYPTION_KEY set to \
             it, and start Hookline with HOOKLINE_ENCRYPTION_KEY set to the new key."
        ),
    };
    let db = Db::open_with(&config.database_url, &config.db_options(), &source, Access::Exclusive).await?;
    let result = rotate_open(&db, &source, new, &new_text).await;
    db.close().await;
    result
}

async fn rotate_open(db: &Db, source: &KeySource, new: EncryptionKey, new_text: &str) -> anyhow::Result<Rotation> {
    let old = db.encryption_key().clone();
    anyhow::ensure!(old.id() != new.id(), "the new key is the current key ({}): nothing to rotate", old.id());
    let files = match source {
        KeySource::Files(dir) => Some((dir.join(PENDING_KEY_FILE), dir.join(KEY_FILE), dir.clone())),
        _ => None,
    };
    if let Some((pending, _, _)) = &files {
        write_atomically(pending, format!("{new_text}\n").as_bytes())
            .with_context(|| format!("cannot write the new encryption key to {}", pending.display()))?;
    }
    let audit = crate::db::audit::NewAudit::new(
        &app::model::Actor::cli(),
        app::model::AuditAction::KeyRotated,
        app::model::ObjectKind::EncryptionKey,
        None,
    )
    .named(new.id().to_string())
    .with("previousKey", old.id().to_string());
    let done = match db.reencrypt(&old, &new, &audit).await {
        Ok(done) => done,
        Err(error) => {
            // Rolled back: the database is still under the old key, so the new file must go (a
            // start would remove it too).
            if let Some((pending, _, _)) = &files {
                let _ = std::fs::remove_file(pending);
            }
            return Err(error).context("re-encrypting failed; nothing changed, the old key stays");
        }
    };
    let key_file = match files {
        Some((pending, current, dir)) => {
            // From here the database needs the new key; a start finishes this rename if we stop.
            std::fs::rename(&pending, &current).with_context(|| {
                format!(
                    "the database is re-encrypted with key {}, but renaming {} to {} failed: rename it by hand",
                    new.id(),
                    pending.display(),
                    current.display()
                )
            })?;
            sync_dir(&dir);
            Some(current)
        }
        None => None,
    };
    for place in &done.unreadable {
        tracing::warn!(place = %place, "a secret did not decrypt with the old key and was left as it was");
    }
    tracing::info!(old = %old.id(), new = %new.id(), values = done.values, "encryption key rotated");
    Ok(Rotation { old: old.id(), new: new.id(), values: done.values, unreadable: done.unreadable, key_file })
}
