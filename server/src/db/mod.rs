//! Storage: every SQL statement Hookline runs lives under this module, behind the `Db` handle.
//!
//! Two backends, chosen by `HOOKLINE_DATABASE_URL`'s scheme: SQLite (`sqlite://`, the embedded
//! default, one process) and PostgreSQL (`postgres://`, several instances sharing one database).
//! Each has its own migrations (`migrations/sqlite`, `migrations/postgres`) and its own statements:
//! the entity modules here (`admins`, `events`, ...) hold the entity's types and its SQLite
//! statements, `postgres/` the PostgreSQL ones, method for method. `Db` hands each call to the
//! backend in use; validation, matching and retry decisions stay above it, written once.
//!
//! Not `sqlx::Any`: each backend keeps compile-time types and its own dialect (placeholders,
//! JSON, locking), and the hot paths differ on purpose (SQLite's in-process write queue,
//! PostgreSQL's `SKIP LOCKED` claims shared by every instance).

pub mod admins;
pub mod audit;
pub mod catch_up;
pub mod copy;
pub mod deliveries;
mod error;
pub mod events;
pub mod handoff;
pub mod log;
pub mod postgres;
pub mod secrets;
pub mod sessions;
mod sqlite;
pub mod tokens;
pub mod webhooks;
mod writer;

#[cfg(test)]
mod testing;

use std::collections::HashMap;

use app::model::WebhookSpec;
use hookline_core::delivery::DeliveryState;

use crate::crypto::EncryptionKey;
use crate::keys::KeySource;
use crate::time::SharedClock;

pub use error::StoreError;
pub use postgres::PgDb;
pub use sqlite::SqliteDb;

use admins::AdminRow;
use audit::{AuditQuery, AuditRow, NewAudit};
use catch_up::{CatchUpRow, TokenChange, UnleashSettings};
use deliveries::{AttemptRecord, BatchOutcome, Breaker, DueDelivery, NextTimes};
use events::{EventRow, NewEvent, StoredEvent};
use log::{AttemptRow, DeliveryRow, LogFilter, WebhookCounts};
use sessions::SessionRow;
use tokens::TokenRow;
use webhooks::Webhook;

/// The clock every timestamp column is written with (it lives in `crate::time`).
pub use crate::time::now_ms;

/// `ids` as the JSON array SQLite's `json_each` reads (how a list of ids is bound to one `?`).
fn json_ids(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// The database handle: cheap to clone, shared by the web server and the dispatcher.
#[derive(Clone, Debug)]
pub struct Db {
    store: Store,
}

#[derive(Clone, Debug)]
enum Store {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

impl From<SqliteDb> for Db {
    fn from(db: SqliteDb) -> Self {
        Db { store: Store::Sqlite(db) }
    }
}

impl From<PgDb> for Db {
    fn from(db: PgDb) -> Self {
        Db { store: Store::Postgres(db) }
    }
}

/// Which database a `Db` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend `url` names by its scheme.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// As `/healthz` and `/metrics` name it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How a `Db` holds the database's lock (SQLite's lock file, PostgreSQL's advisory lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A server or a command: any number at once.
    Shared,
    /// A key rotation: alone, so no server goes on using the old key.
    Exclusive,
}

/// Connection settings that only some backends read.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// SQLite's `synchronous` pragma: `normal` or `full`.
    pub sqlite_synchronous: String,
    /// PostgreSQL: connections per instance.
    pub pg_pool_size: u32,
    /// PostgreSQL: the statement timeout of every connection (zero: none).
    pub pg_statement_timeout: std::time::Duration,
    /// PostgreSQL: LISTEN/NOTIFY wake-ups (off behind PgBouncer in transaction mode).
    pub pg_notify: bool,
    /// PostgreSQL: HOOKLINE_WEBHOOK_CONCURRENCY, which the claims enforce across instances.
    pub webhook_concurrency: usize,
    /// PostgreSQL: extra CA certificates for `sslmode=verify-ca`/`verify-full` (HOOKLINE_EXTRA_CA_CERTS).
    pub extra_ca_certs: Option<std::path::PathBuf>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            sqlite_synchronous: "normal".into(),
            pg_pool_size: 10,
            pg_statement_timeout: std::time::Duration::from_secs(30),
            pg_notify: true,
            webhook_concurrency: 32,
            extra_ca_certs: None,
        }
    }
}

impl Db {
    /// Opens the database at `url` with the key `KeySource::for_database` finds (tests, tools).
    pub async fn open(url: &str, synchronous: &str) -> anyhow::Result<Db> {
        let options = OpenOptions { sqlite_synchronous: synchronous.into(), ..OpenOptions::default() };
        Db::open_with(url, &options, &KeySource::for_database(url, None), Access::Shared).await
    }

    /// Opens the database with the encryption key from `keys`, migrating it first.
    pub async fn open_with(url: &str, options: &OpenOptions, keys: &KeySource, access: Access) -> anyhow::Result<Db> {
        Db::open_with_clock(url, options, keys, access, crate::time::system_clock()).await
    }

    /// `open_with`, deciding the delivery queue's times by `clock`.
    pub async fn open_with_clock(
        url: &str,
        options: &OpenOptions,
        keys: &KeySource,
        access: Access,
        clock: SharedClock,
    ) -> anyhow::Result<Db> {
        Ok(match Backend::of_url(url) {
            Backend::Sqlite => {
                SqliteDb::open_with_clock(url, &options.sqlite_synchronous, keys, access, clock).await?.into()
            }
            Backend::Postgres => PgDb::open(url, options, keys, access, clock).await?.into(),
        })
    }

    pub fn backend(&self) -> Backend {
        match &self.store {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL handle, when that is the backend (its multi-instance machinery).
    pub fn postgres(&self) -> Option<&PgDb> {
        match &self.store {
            Store::Postgres(db) => Some(db),
            Store::Sqlite(_) => None,
        }
    }

    /// The clock of the intake, the delivery queue, retention and auto-disable.
    pub fn clock(&self) -> &SharedClock {
        match &self.store {
            Store::Sqlite(db) => db.clock(),
            Store::Postgres(db) => db.clock(),
        }
    }

    /// The current time by that clock.
    pub fn now_ms(&self) -> i64 {
        self.clock().now_ms()
    }

    /// The key secrets are sealed with.
    pub fn encryption_key(&self) -> &EncryptionKey {
        match &self.store {
            Store::Sqlite(db) => db.encryption_key(),
            Store::Postgres(db) => db.encryption_key(),
        }
    }

    /// The folder holding the database file (where the key files are kept), if the URL names a
    /// SQLite file. PostgreSQL has none: its keys come from the settings.
    pub fn data_dir(url: &str) -> Option<std::path::PathBuf> {
        match Backend::of_url(url) {
            Backend::Sqlite => SqliteDb::data_dir(url),
            Backend::Postgres => None,
        }
    }

    /// Whether this process runs the periodic job `name` now. On PostgreSQL, exactly one
    /// instance per `interval` does; SQLite has one process, which always does.
    pub async fn take_periodic_turn(&self, name: &str, interval: std::time::Duration) -> Result<bool, sqlx::Error> {
        match &self.store {
            Store::Sqlite(_) => Ok(true),
            Store::Postgres(db) => db.take_periodic_turn(name, interval.as_millis() as i64).await,
        }
    }

    /// The SQLite handle, when that is the backend.
    pub fn sqlite(&self) -> Option<&SqliteDb> {
        match &self.store {
            Store::Sqlite(db) => Some(db),
            Store::Postgres(_) => None,
        }
    }

    /// Lets the intake lease fresh deliveries straight to this process's dispatcher while it runs
    /// (`Some`), or no longer (`None`, at its shutdown). See `handoff`.
    pub fn set_handoff(&self, handoff: Option<std::sync::Arc<dyn handoff::Handoff>>) {
        match &self.store {
            Store::Sqlite(db) => db.handoff.set(handoff),
            Store::Postgres(db) => db.handoff.set(handoff),
        }
    }

    /// This process among those sharing the database (PostgreSQL), for `/healthz` and metrics.
    pub fn instance(&self) -> Option<&str> {
        self.postgres().map(PgDb::instance)
    }

    /// Closes the pools, waiting for running statements (graceful shutdown).
    pub async fn close(&self) {
        match &self.store {
            Store::Sqlite(db) => db.close().await,
            Store::Postgres(db) => db.close().await,
        }
    }
}

/// Hands each listed method to the backend in use. Both backends must have every one, with the
/// same signature: a method missing on one side does not compile.
macro_rules! delegate {
    ($( $(#[$meta:meta])* $vis:vis async fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty; )*) => {
        impl Db {
            $(
                $(#[$meta])*
                $vis async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.store {
                        Store::Sqlite(db) => db.$name($($arg),*).await,
                        Store::Postgres(db) => db.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

delegate! {
    /// Whether the database answers a trivial query (for `/healthz`).
    pub async fn is_healthy(&self) -> bool;
    /// Re-seals every secret from `old` to `new` in one transaction, with its audit entry.
    pub(crate) async fn reencrypt(&self, old: &EncryptionKey, new: &EncryptionKey, audit: &NewAudit) -> Result<secrets::Reencrypted, sqlx::Error>;

    // Admins (db::admins).
    pub async fn count_admins(&self) -> Result<i64, sqlx::Error>;
    pub async fn list_admins(&self) -> Result<Vec<AdminRow>, sqlx::Error>;
    pub async fn admin_by_id(&self, id: i64) -> Result<Option<AdminRow>, sqlx::Error>;
    pub async fn admin_by_email(&self, email: &str) -> Result<Option<AdminRow>, sqlx::Error>;
    pub async fn insert_admin(&self, email: &str, password_hash: &str, only_if_none: bool, audit: &NewAudit) -> Result<Option<AdminRow>, sqlx::Error>;
    pub async fn update_admin_password(&self, id: i64, password_hash: &str, keep_session: Option<&str>, audit: &NewAudit) -> Result<bool, sqlx::Error>;
    pub async fn delete_admin_unless_last(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error>;

    // The audit log (db::audit).
    pub async fn record_audit(&self, entry: &NewAudit) -> Result<i64, sqlx::Error>;
    pub async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, sqlx::Error>;
    pub async fn prune_audit(&self, older_than: i64, batch: i64) -> Result<u64, sqlx::Error>;

    // API tokens (db::tokens).
    pub async fn insert_token(&self, name: &str, token_hash: &str, prefix: &str, scopes: &str, audit: &NewAudit) -> Result<TokenRow, sqlx::Error>;
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, sqlx::Error>;
    pub async fn revoke_token(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error>;
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, sqlx::Error>;
    pub async fn touch_token(&self, id: i64) -> Result<(), sqlx::Error>;

    // Sessions (db::sessions).
    pub async fn insert_session(&self, row: &SessionRow, now: i64) -> Result<bool, sqlx::Error>;
    pub async fn update_session(&self, row: &SessionRow) -> Result<(), sqlx::Error>;
    pub async fn live_session_data(&self, id: &str, now: i64, started_after: i64) -> Result<Option<String>, sqlx::Error>;
    pub async fn delete_session(&self, id: &str) -> Result<(), sqlx::Error>;
    pub async fn delete_sessions_ended_by(&self, now: i64, started_by: i64) -> Result<u64, sqlx::Error>;
    pub async fn delete_all_sessions(&self) -> Result<u64, sqlx::Error>;

    // Webhooks (db::webhooks).
    pub async fn enabled_webhook_events(&self) -> Result<Vec<Vec<String>>, sqlx::Error>;
    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, sqlx::Error>;
    pub async fn webhook(&self, id: i64) -> Result<Option<Webhook>, sqlx::Error>;
    pub async fn insert_webhook(&self, spec: &WebhookSpec, secret: &str, audit: &NewAudit) -> Result<Webhook, sqlx::Error>;
    pub async fn update_webhook(&self, id: i64, expected_version: i64, spec: &WebhookSpec, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error>;
    pub async fn set_webhook_enabled(&self, id: i64, enabled: bool, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error>;
    pub async fn delete_webhook(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error>;
    pub async fn resume_webhook(&self, id: i64, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error>;
    pub async fn rotate_webhook_secret(&self, id: i64, new_secret: &str, previous_expires_at: i64, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error>;

    // The intake (db::events).
    pub async fn insert_events(&self, events: Vec<NewEvent>) -> Result<Vec<StoredEvent>, StoreError>;
    pub async fn insert_test_delivery(&self, webhook_id: i64, new: &mut NewEvent, audit: &NewAudit) -> Result<(i64, i64), sqlx::Error>;
    pub async fn event_payload(&self, id: i64) -> Result<Option<String>, sqlx::Error>;

    // The Unleash catch-up poller's cursor and status (db::catch_up).
    pub async fn catch_up_state(&self) -> Result<Option<CatchUpRow>, sqlx::Error>;
    pub async fn save_catch_up_success(&self, cursor: i64, created: i64, now: i64, url: &str, start: Option<i64>) -> Result<(), sqlx::Error>;
    pub async fn save_catch_up_error(&self, message: &str, now: i64) -> Result<(), sqlx::Error>;
    // The Connect page's Unleash URL and (sealed) API token.
    pub async fn unleash_settings(&self) -> Result<Option<UnleashSettings>, sqlx::Error>;
    pub async fn save_unleash_settings(&self, url: Option<&str>, token: &TokenChange, audit: &NewAudit) -> Result<(), sqlx::Error>;
    pub async fn clear_unleash_settings(&self, audit: &NewAudit) -> Result<bool, sqlx::Error>;

    // The delivery queue (db::deliveries).
    pub async fn due_deliveries(&self, now: i64, limit: i64, full: &[i64], per_webhook: i64) -> Result<Vec<DueDelivery>, sqlx::Error>;
    pub async fn claim_deliveries(&self, ids: &[i64], now: i64, lease_until: i64) -> Result<Vec<i64>, StoreError>;
    pub async fn release_deliveries(&self, ids: &[i64]) -> Result<u64, sqlx::Error>;
    pub async fn next_times(&self, now: i64) -> Result<NextTimes, sqlx::Error>;
    pub async fn record_attempts(&self, batch: &[AttemptRecord], disable_after_ms: i64, breaker: Breaker) -> Result<BatchOutcome, StoreError>;
    pub async fn queue_gauges(&self, now: i64) -> Result<crate::metrics::QueueGauges, sqlx::Error>;
    pub async fn last_delivery_per_webhook(&self) -> Result<HashMap<i64, (DeliveryState, i64)>, sqlx::Error>;
    pub async fn last_delivery_of(&self, webhook_id: i64) -> Result<Option<(DeliveryState, i64)>, sqlx::Error>;
    pub async fn head_of_line(&self, webhook_id: i64) -> Result<Option<crate::db::deliveries::HeadOfLineRow>, sqlx::Error>;

    // The delivery log and the dashboard (db::log).
    pub async fn list_deliveries(&self, filter: &LogFilter) -> Result<Vec<DeliveryRow>, sqlx::Error>;
    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, sqlx::Error>;
    pub async fn attempts_of(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, sqlx::Error>;
    pub async fn queue_redelivery(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error>;
    pub async fn recover_failed(&self, webhook_id: i64, since: i64, cap: i64, audit: &NewAudit) -> Result<i64, sqlx::Error>;
    pub async fn last_received_event(&self) -> Result<Option<EventRow>, sqlx::Error>;
    pub async fn list_events(&self, before: Option<i64>, limit: i64) -> Result<Vec<EventRow>, sqlx::Error>;
    pub async fn deliveries_of_events(&self, event_ids: &[i64]) -> Result<Vec<(i64, i64, i64, DeliveryState)>, sqlx::Error>;
    pub async fn counts_per_webhook(&self, since: i64) -> Result<Vec<WebhookCounts>, sqlx::Error>;
    pub async fn hourly_counts(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error>;
    pub async fn count_unfinished(&self) -> Result<i64, sqlx::Error>;
    pub async fn prune_deliveries(&self, older_than: i64, keep_per_webhook: i64, batch: i64) -> Result<u64, sqlx::Error>;
    pub async fn prune_events(&self, older_than: i64, batch: i64) -> Result<u64, sqlx::Error>;
}
