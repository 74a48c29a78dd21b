//! The PostgreSQL backend: several Hookline instances share one database and its delivery work.
//!
//! What differs from SQLite, and why:
//! - No in-process write queue: every instance writes in its own transactions, and PostgreSQL's
//!   row locks do the ordering (intake commits events and deliveries together, as on SQLite).
//! - Claims take due deliveries with `FOR UPDATE SKIP LOCKED` and lease them to this instance
//!   (`claimed_by`, `lease_until`); an attempt is recorded only while the lease it was claimed with
//!   still holds (compare-and-set), so an instance that lost its lease cannot overwrite newer work.
//! - Per-webhook concurrency is counted across instances (leased rows, under a per-webhook
//!   transaction advisory lock), so N instances never send N times the limit to one receiver.
//! - Wake-ups: `LISTEN/NOTIFY` on new deliveries, with polling as the backstop (see `notify`).
//! - Periodic jobs run once per interval across all instances (a row per job, see `jobs`).

mod admins;
mod audit;
mod catch_up;
mod deliveries;
mod events;
mod log;
pub(crate) mod secrets;
mod sessions;
mod throttle;
mod tokens;
mod webhooks;

pub(crate) use events::without_nul;

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use super::webhooks::Webhook;
use super::{Access, OpenOptions};
use crate::crypto::EncryptionKey;
use crate::keys::KeySource;
use crate::time::SharedClock;

/// The advisory lock every server holds shared, and a key rotation exclusively.
const KEY_LOCK: i64 = 0x686f6f6b_6b657973; // "hookkeys"

/// The PostgreSQL handle: cheap to clone.
#[derive(Clone, Debug)]
pub struct PgDb {
    pub(super) pool: PgPool,
    pub(super) key: Arc<EncryptionKey>,
    pub(super) clock: SharedClock,
    /// This process among the instances sharing the database (`claimed_by`, `/healthz`, metrics).
    pub(super) instance: Arc<str>,
    /// Woken when another instance (or this one) commits new deliveries (LISTEN/NOTIFY).
    pub(super) wake: Arc<tokio::sync::Notify>,
    /// Whether NOTIFY is used (off behind PgBouncer in transaction mode).
    pub(super) notify: bool,
    /// The connection holding the key lock (see `KEY_LOCK`), until `close`.
    lock: Arc<tokio::sync::Mutex<Option<PgConnection>>>,
    /// The intake's group commit (see `events::intake_loop`); `None` in the loop's own handle.
    intake: Option<tokio::sync::mpsc::Sender<crate::db::events::IntakeJob>>,
    /// HOOKLINE_WEBHOOK_CONCURRENCY, enforced over all instances by the claims.
    pub(super) webhook_concurrency: i64,
    /// The enabled webhooks the intake matches against, with the `webhooks` change counter they
    /// were read under (see the `change_counters` table).
    intake_cache: Arc<std::sync::Mutex<Option<IntakeWebhooks>>>,
    /// This process's dispatcher, which the intake leases fresh deliveries to (`db::handoff`).
    pub(in crate::db) handoff: crate::db::handoff::HandoffSlot,
}

/// The enabled webhooks, and the `webhooks` change counter they were read under.
pub(super) type IntakeWebhooks = (i64, Arc<Vec<Webhook>>);

/// The channel new deliveries are announced on.
pub(super) const DELIVERIES_CHANNEL: &str = "hookline_deliveries";

/// The channel the live feed's notices are relayed on (see `crate::live`).
const LIVE_CHANNEL: &str = "hookline_live";

impl PgDb {
    /// Connects, migrates (sqlx takes an advisory lock, so instances starting together migrate
    /// once), takes the key lock, and checks the encryption key against the database.
    pub async fn open(
        url: &str,
        options: &OpenOptions,
        keys: &KeySource,
        access: Access,
        clock: SharedClock,
    ) -> anyhow::Result<PgDb> {
        let mut connect = PgConnectOptions::from_str(url)
            .with_context(|| "HOOKLINE_DATABASE_URL is not a valid PostgreSQL URL".to_string())?
            .application_name("hookline");
        if let Some(ca) = &options.extra_ca_certs {
            connect = connect.ssl_root_cert(ca);
        }
        if !options.pg_statement_timeout.is_zero() {
            let millis = options.pg_statement_timeout.as_millis().to_string();
            connect = connect.options([("statement_timeout", millis.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.pg_pool_size.max(2))
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_with(connect.clone())
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {}", redacted(url)))?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await.context("cannot apply database migrations")?;
        let lock = take_key_lock(&connect, access).await?;
        let key = Arc::new(unlock(&pool, keys).await?);
        let mut db = PgDb {
            intake: None,
            pool,
            key,
            clock,
            instance: instance_id().into(),
            wake: Arc::new(tokio::sync::Notify::new()),
            notify: options.pg_notify,
            lock: Arc::new(tokio::sync::Mutex::new(Some(lock))),
            webhook_concurrency: options.webhook_concurrency.max(1) as i64,
            intake_cache: Arc::default(),
            handoff: Default::default(),
        };
        let (queue, inbox) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(events::intake_loop(db.clone(), inbox));
        db.intake = Some(queue);
        tracing::info!(instance = %db.instance, notify = db.notify, "connected to PostgreSQL");
        Ok(db)
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub fn encryption_key(&self) -> &EncryptionKey {
        &self.key
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Notified when deliveries may have become due (another instance's intake, a redelivery).
    pub fn wake_signal(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Wakes every instance's dispatcher when `tx` commits (NOTIFY is delivered at commit, and
    /// not at all on rollback). Without NOTIFY, the others find the work by polling.
    pub(super) async fn announce_deliveries(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.notify {
            sqlx::query("select pg_notify($1, '')").bind(DELIVERIES_CHANNEL).execute(&mut *tx).await?;
        }
        // This instance's own dispatcher needs no round trip.
        self.wake.notify_one();
        Ok(())
    }

    /// Whether instances tell each other about changes with NOTIFY (`HOOKLINE_PG_NOTIFY`).
    pub fn notifies(&self) -> bool {
        self.notify
    }

    /// Whether the pool was closed (the server is stopping).
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// Relays live notices (see `crate::live`) to every instance's LISTEN connection: one
    /// notification per payload, in order, in one statement.
    pub async fn notify_live(&self, payloads: &[String]) -> Result<(), sqlx::Error> {
        sqlx::query("select count(pg_notify($1, p)) from unnest($2::text[]) as p")
            .bind(LIVE_CHANNEL)
            .bind(payloads)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Listens for other instances' announcements until `stop`, waking `wake` on each, and hands
    /// relayed live notices to `on_live`; reconnects after a lost connection (a missed
    /// announcement only delays: the dispatcher also polls, and the pages refetch on reconnect).
    /// One connection for both: a LISTEN connection is held for as long as the server runs.
    pub fn spawn_listener(
        &self,
        stop: tokio_util::sync::CancellationToken,
        on_live: impl Fn(&str) + Send + Sync + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if !self.notify {
            return None;
        }
        let (pool, wake) = (self.pool.clone(), self.wake.clone());
        Some(tokio::spawn(async move {
            while !stop.is_cancelled() {
                let listened = async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                    listener.listen_all([DELIVERIES_CHANNEL, LIVE_CHANNEL]).await?;
                    loop {
                        let notification = listener.recv().await?;
                        if notification.channel() == LIVE_CHANNEL {
                            on_live(notification.payload());
                        } else {
                            wake.notify_one();
                        }
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), sqlx::Error>(())
                };
                tokio::select! {
                    () = stop.cancelled() => return,
                    result = listened => if let Err(error) = result {
                        if pool.is_closed() {
                            return;
                        }
                        tracing::warn!(%error, "lost the LISTEN connection to PostgreSQL; polling until it is back");
                    },
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
            }
        }))
    }

    /// The enabled webhooks as the intake last read them, with the `webhooks` change counter they
    /// were read under.
    pub(super) fn cached_intake_webhooks(&self) -> Option<IntakeWebhooks> {
        relock(&self.intake_cache).clone()
    }

    /// The enabled webhooks as of `counter`, the `webhooks` change counter read in `tx`: the
    /// cached list if it was read under that counter, else read again inside `tx`.
    pub(super) async fn intake_webhooks(
        &self,
        tx: &mut PgConnection,
        counter: i64,
    ) -> Result<Arc<Vec<Webhook>>, sqlx::Error> {
        if let Some((seen, list)) = relock(&self.intake_cache).as_ref() {
            if *seen == counter {
                return Ok(list.clone());
            }
        }
        let list = Arc::new(webhooks::enabled_webhooks(&mut *tx, &self.key).await?);
        *relock(&self.intake_cache) = Some((counter, list.clone()));
        Ok(list)
    }

    /// Whether this instance runs the periodic job `name` now: true for exactly one instance per
    /// `interval` (the one whose update moves the job's row forward). Instances' timers drift, so
    /// a turn is due a tenth of the interval early: a slightly early tick still runs the job.
    pub async fn take_periodic_turn(&self, name: &str, interval_ms: i64) -> Result<bool, sqlx::Error> {
        let now = self.clock.now_ms();
        let taken = sqlx::query(
            "insert into periodic_jobs (name, last_run_at, ran_by) values ($1, $2, $3)
             on conflict (name) do update set last_run_at = excluded.last_run_at, ran_by = excluded.ran_by
             where periodic_jobs.last_run_at <= $2 - $4",
        )
        .bind(name)
        .bind(now)
        .bind(&*self.instance)
        .bind(interval_ms - interval_ms / 10)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    pub async fn is_healthy(&self) -> bool {
        sqlx::query_scalar::<_, i32>("select 1").fetch_one(&self.pool).await.is_ok()
    }

    pub(crate) async fn reencrypt(
        &self,
        old: &EncryptionKey,
        new: &EncryptionKey,
        audit: &super::audit::NewAudit,
    ) -> Result<super::secrets::Reencrypted, sqlx::Error> {
        secrets::reencrypt(&self.pool, old, new, audit).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(conn) = self.lock.lock().await.take() {
            let _ = conn.close().await;
        }
    }
}

fn relock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `url` without its password, for messages.
pub(crate) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

/// `host-pid-random`: unique among the instances, readable in logs.
fn instance_id() -> String {
    use rand::Rng;
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let tag: u16 = rand::thread_rng().gen();
    format!("{host}-{}-{tag:04x}", std::process::id())
}

/// Every server holds `KEY_LOCK` shared on a connection of its own, for as long as it runs; a key
/// rotation takes it exclusively, so it never runs beside a server still using the old key.
async fn take_key_lock(connect: &PgConnectOptions, access: Access) -> anyhow::Result<PgConnection> {
    let mut conn = PgConnection::connect_with(connect).await.context("cannot connect to PostgreSQL")?;
    let sql = match access {
        Access::Shared => "select pg_try_advisory_lock_shared($1)",
        Access::Exclusive => "select pg_try_advisory_lock($1)",
    };
    let taken: bool = sqlx::query_scalar(sql).bind(KEY_LOCK).fetch_one(&mut conn).await?;
    match (taken, access) {
        (true, _) => Ok(conn),
        (false, Access::Shared) => {
            anyhow::bail!("`hookline keys rotate` is re-encrypting this database; start again once it has finished")
        }
        (false, Access::Exclusive) => anyhow::bail!(
            "Hookline is running on this database (an instance holds its key lock): stop every instance first, \
             since a running server would go on using the old key"
        ),
    }
}

/// The key check of `crate::keys`, on PostgreSQL. There is no folder for a key file: every
/// instance must be given the same HOOKLINE_ENCRYPTION_KEY.
async fn unlock(pool: &PgPool, source: &KeySource) -> anyhow::Result<EncryptionKey> {
    if !matches!(source, KeySource::Setting(_)) {
        anyhow::bail!(
            "PostgreSQL needs HOOKLINE_ENCRYPTION_KEY: every instance sharing the database must use the same key, \
             and there is no data folder to keep a key file in. Make one with `hookline keys generate` and give it \
             to every instance."
        );
    }
    let stored = secrets::stored_key(pool).await.context("cannot read the encryption key check")?;
    let key = crate::keys::choose_key(source, stored.as_ref())?;
    let sealed = secrets::seal_plain_values(pool, &key).await;
    crate::keys::finish_unlock(source, &key, sealed)?;
    Ok(key)
}
