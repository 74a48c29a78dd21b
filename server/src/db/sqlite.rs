//! The SQLite backend's handle: its pools, its write queue and its lock file. The statements are
//! in the entity modules (`db::admins`, `db::events`, ...), next to the types they read and write.
//!
//! Writes go through a single-connection pool, so they queue in the process instead of fighting
//! over SQLite's file lock (no SQLITE_BUSY storms under load), while reads use a separate pool and
//! run concurrently (WAL mode).

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::crypto::EncryptionKey;
use crate::keys::KeySource;
use crate::time::SharedClock;

use super::{audit, secrets, writer, Access, StoreError};

/// The SQLite handle: cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    /// Read-only work: listings, lookups, dashboards.
    pub(super) read: SqlitePool,
    /// All writes, one at a time.
    pub(super) write: SqlitePool,
    /// Background WAL checkpoints (see `writer::Checkpointer`).
    pub(super) checkpoint: SqlitePool,
    /// The write queue of the intake and the dispatcher (see `writer`).
    pub(super) writer: tokio::sync::mpsc::Sender<writer::WriteJob>,
    /// Counters of the writes the write queue's caches depend on.
    pub(super) changes: Arc<Changes>,
    /// The key secrets are sealed with (see `crate::crypto`); checked against the database at open.
    pub(super) key: Arc<EncryptionKey>,
    /// `<database>.lock`, held until `close` (see `keys::lock_database`).
    pub(super) lock: Arc<std::sync::Mutex<Option<std::fs::File>>>,
    /// The time the intake's rows, the delivery queue and its attempts are stamped and decided
    /// with (see `crate::time::Clock`); other columns (sessions, tokens, admins) use `now_ms`.
    pub(super) clock: SharedClock,
    /// This process's dispatcher, which the intake leases fresh deliveries to (`db::handoff`).
    pub(super) handoff: super::handoff::HandoffSlot,
}

/// Counters bumped after every committed write that the write queue caches around (see
/// `writer::Caches`).
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Every change to a webhook (the intake matches events against the enabled ones).
    pub(super) webhooks: AtomicU64,
    /// Every event inserted outside the write queue (the queue assigns event ids itself).
    pub(super) events: AtomicU64,
}

impl Changes {
    pub(super) fn webhook_changed(&self) {
        self.webhooks.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn event_inserted(&self) {
        self.events.fetch_add(1, Ordering::AcqRel);
    }
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `url`, applies pending migrations, and returns
    /// the handle. Secrets use the `encryption.key` next to the database (see `open_with`).
    pub async fn open(url: &str, synchronous: &str) -> anyhow::Result<SqliteDb> {
        SqliteDb::open_with(url, synchronous, &KeySource::for_database(url, None), Access::Shared).await
    }

    /// Opens the database with the encryption key from `keys`: creates the file (private) when
    /// missing, takes the lock, migrates, checks the key against the database and encrypts any
    /// secret still stored in plain text, then starts the write queue.
    pub async fn open_with(url: &str, synchronous: &str, keys: &KeySource, access: Access) -> anyhow::Result<SqliteDb> {
        SqliteDb::open_with_clock(url, synchronous, keys, access, crate::time::system_clock()).await
    }

    /// `open_with`, deciding the delivery queue's times by `clock`.
    pub async fn open_with_clock(
        url: &str,
        synchronous: &str,
        keys: &KeySource,
        access: Access,
        clock: SharedClock,
    ) -> anyhow::Result<SqliteDb> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("HOOKLINE_DATABASE_URL `{url}` is not a SQLite URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match synchronous {
                "full" => SqliteSynchronous::Full,
                _ => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16000");
        if let Some(folder) = options.get_filename().parent() {
            if !folder.as_os_str().is_empty() && !folder.exists() {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("cannot create the database folder {}", folder.display()))?;
            }
        }
        let file = options.get_filename();
        let lock = if file == Path::new(":memory:") {
            None
        } else {
            // SQLite would create the file with the default mode (often readable by everyone),
            // and gives its -wal and -shm files the database's mode: create it private first.
            crate::keys::create_private(file)
                .with_context(|| format!("cannot create the database file {}", file.display()))?;
            Some(crate::keys::lock_database(file, access)?)
        };
        // No ping before handing out a connection (`test_before_acquire`): a SQLite connection is a
        // local file, not a socket that can go stale, and the ping is a round trip to the
        // connection's worker thread on every query.
        //
        // WAL checkpoints: a checkpoint copies pages into the database file and syncs both files.
        // Done by the writer at commit time every 1000 pages (SQLite's default), it stalled all
        // writes for ~12 ms about three times a second at 200 events/s. A separate connection
        // now copies in the background (see `writer::Checkpointer`), and the writer's own
        // checkpoint, which restarts the WAL file, runs every 4000 pages and finds little left.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // The write queue keeps statements prepared on this connection through SQLite's own
            // API (`writer::Statements`): serialized mode, and never closed behind its back.
            .idle_timeout(None)
            .max_lifetime(None)
            // SQLite's default page cache (2 MB) rather than the readers' 16 MB: the writer appends
            // and touches the newest pages, and a full 16 MB cache was most of the memory the
            // process gained at full speed (see README, Performance).
            .connect_with(
                options.clone().pragma("wal_autocheckpoint", "4000").pragma("cache_size", "-2000").serialized(true),
            )
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        sqlx::migrate!("../migrations/sqlite").run(&write).await.context("cannot apply database migrations")?;
        let key = {
            let mut conn = write.acquire().await.with_context(|| format!("cannot open the database {url}"))?;
            Arc::new(crate::keys::unlock(&mut conn, keys).await?)
        };
        let checkpoint = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open the database {url} for checkpoints"))?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("cannot open the database {url} for reading"))?;
        let (writer, inbox) = tokio::sync::mpsc::channel(1024);
        let changes = Arc::new(Changes::default());
        let handoff = super::handoff::HandoffSlot::default();
        tokio::spawn(writer::writer_loop(
            write.clone(),
            inbox,
            writer::Caches::new(changes.clone(), key.clone()),
            writer::Checkpointer::new(checkpoint.clone()),
            clock.clone(),
            handoff.clone(),
        ));
        Ok(SqliteDb {
            read,
            write,
            checkpoint,
            writer,
            changes,
            key,
            lock: Arc::new(std::sync::Mutex::new(lock)),
            clock,
            handoff,
        })
    }

    /// The clock of the intake, the delivery queue, retention and auto-disable.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The current time by that clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The key secrets are sealed with.
    pub fn encryption_key(&self) -> &EncryptionKey {
        &self.key
    }

    /// Re-seals every secret from `old` to `new` in one transaction, with its audit entry (see
    /// `keys::rotate`).
    pub(crate) async fn reencrypt(
        &self,
        old: &EncryptionKey,
        new: &EncryptionKey,
        audit: &audit::NewAudit,
    ) -> Result<secrets::Reencrypted, sqlx::Error> {
        let mut conn = self.write.acquire().await?;
        secrets::reencrypt(&mut conn, old, new, audit).await
    }

    /// The folder holding the database file (where `secret.key` is kept), if the URL names a file.
    pub fn data_dir(url: &str) -> Option<std::path::PathBuf> {
        let options = SqliteConnectOptions::from_str(url).ok()?;
        let file = options.get_filename();
        if file == Path::new(":memory:") {
            return None;
        }
        Some(file.parent().map(Path::to_path_buf).unwrap_or_default())
    }

    /// Whether the database answers a trivial query (for `/healthz`).
    pub async fn is_healthy(&self) -> bool {
        sqlx::query_scalar::<_, i64>("select 1").fetch_one(&self.read).await.is_ok()
    }

    /// Queues the job `make` builds around its reply channel for the write queue's next round,
    /// and waits for the answer (which comes after the round's commit).
    pub(super) async fn submit<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, StoreError>>) -> writer::WriteJob,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer.send(make(reply)).await.map_err(|_| StoreError::WriterClosed)?;
        answer.await.map_err(|_| StoreError::WriterCrashed)?
    }

    /// Closes the pools, waiting for running statements (graceful shutdown).
    pub async fn close(&self) {
        // The write queue's statements go first: sqlx cannot close a connection that has some.
        let (reply, released) = tokio::sync::oneshot::channel();
        if self.writer.send(writer::WriteJob::Release(reply)).await.is_ok() {
            let _ = released.await;
        }
        self.read.close().await;
        self.write.close().await;
        self.checkpoint.close().await;
        // Only now may a key rotation start on this database.
        if let Ok(mut lock) = self.lock.lock() {
            lock.take();
        }
    }
}
