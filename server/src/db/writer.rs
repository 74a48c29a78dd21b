//! The write queue: one task writes the hot-path work of the intake and the dispatcher, sharing
//! transactions.
//!
//! The intake's events, the dispatcher's claims and its finished attempts all queue here. Each
//! round, the task takes everything waiting (up to [`ROUND_EVENTS`] events), runs it in one
//! transaction, commits, and only then answers each caller. Nobody waits behind somebody else's
//! separate transaction, so intake and dispatcher interleave fairly, and one commit serves many
//! requests (group commit): the transaction count follows the load, one per job when idle, few
//! when busy.
//!
//! A failing round is rolled back as a whole, then each job is written alone in its own
//! transaction, so one bad job cannot fail the others. Other writes (webhook configuration,
//! tokens, sessions, retention) still use the write pool directly and interleave with rounds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::deliveries::{self, BatchOutcome, ClaimJob, DueDelivery, RecordJob};
use super::events::{self, IntakeCache, IntakeJob, IntakeLease, StoredEvent};
use super::handoff::{self, HandoffSlot, Reservation};
use super::sqlite::Changes;
use super::webhooks::Webhook;
use super::StoreError;
use crate::crypto::EncryptionKey;
use crate::time::SharedClock;

/// The most intake events one round takes. A single request (at most 500 events) always fits.
const ROUND_EVENTS: usize = 2_000;

/// Work waiting for the write queue.
pub(super) enum WriteJob {
    Intake(IntakeJob),
    Claim(ClaimJob),
    Record(RecordJob),
    /// Finalize the kept statements before the pool closes the connection (`SqliteDb::close`);
    /// answered once they are.
    Release(oneshot::Sender<()>),
}

impl std::fmt::Debug for WriteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteJob::Intake(job) => write!(f, "Intake({} events)", job.events.len()),
            WriteJob::Claim(_) => f.write_str("Claim"),
            WriteJob::Record(_) => f.write_str("Record"),
            WriteJob::Release(_) => f.write_str("Release"),
        }
    }
}

/// The results of one round, per kind of job, in queue order.
#[derive(Default)]
struct Round {
    intake: Vec<Vec<StoredEvent>>,
    /// Deliveries the intake leased to the dispatcher, handed over after the commit.
    leased: Vec<DueDelivery>,
    /// Whether the intake left deliveries for a claim (the dispatcher is woken for them).
    unleased: bool,
    claims: Vec<Vec<i64>>,
    records: Vec<BatchOutcome>,
}

/// The write queue's task: runs until every sender (every `Db` clone) is gone.
pub(super) async fn writer_loop(
    write: SqlitePool,
    mut inbox: mpsc::Receiver<WriteJob>,
    mut caches: Caches,
    mut checkpointer: Checkpointer,
    clock: SharedClock,
    handoff: HandoffSlot,
) {
    // Declared after the parameters, so dropped before `write`: the statements are finalized
    // before the pool (when this is its last handle) closes the connection (see `Statements`).
    let mut statements = Statements::default();
    let mut jobs: Vec<WriteJob> = Vec::new();
    let mut releases = Vec::new();
    while let Some(first) = inbox.recv().await {
        let mut events = 0;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                WriteJob::Release(reply) => releases.push(reply),
                job => {
                    events += intake_events(&job);
                    jobs.push(job);
                }
            }
            if events < ROUND_EVENTS {
                next = inbox.try_recv().ok();
            }
        }
        if !jobs.is_empty() {
            match run_round(&write, &jobs, &mut caches, &mut statements, &clock, &handoff).await {
                Ok(round) => answer(jobs.drain(..), round),
                Err(error) if jobs.len() == 1 => {
                    if let Some(job) = jobs.pop() {
                        fail(job, error);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, jobs = jobs.len(), "write round failed; writing its jobs one by one");
                    for job in jobs.drain(..) {
                        let one = std::slice::from_ref(&job);
                        match run_round(&write, one, &mut caches, &mut statements, &clock, &handoff).await {
                            Ok(round) => answer(std::iter::once(job), round),
                            Err(error) => fail(job, error),
                        }
                    }
                }
            }
        }
        if !releases.is_empty() {
            statements.release();
            for reply in releases.drain(..) {
                let _ = reply.send(());
            }
        }
        // Right after a commit: when the load leaves gaps, the checkpoint completes before the
        // next round and that round starts the WAL over.
        checkpointer.maybe_start();
    }
}

/// Checkpoints the WAL from its own connection, so that the writer rarely has pages to copy.
///
/// After a round, the writer starts one (unless one is running) at most every
/// [`Checkpointer::EVERY`]. A passive checkpoint copies what it can without blocking the writer
/// or the readers. When it completes before the next round, that round starts the WAL over;
/// under steady load it rarely does, and the writer's own autocheckpoint (4000 pages, see
/// `Db::open`) restarts the WAL with only the last pages left to copy.
pub(super) struct Checkpointer {
    pool: SqlitePool,
    running: Arc<AtomicBool>,
    last: Instant,
}

impl Checkpointer {
    const EVERY: Duration = Duration::from_millis(100);

    pub(super) fn new(pool: SqlitePool) -> Self {
        Checkpointer { pool, running: Arc::default(), last: Instant::now() }
    }

    fn maybe_start(&mut self) {
        if self.last.elapsed() < Self::EVERY || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.last = Instant::now();
        let (pool, running) = (self.pool.clone(), self.running.clone());
        tokio::spawn(async move {
            let done = sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(passive)").fetch_one(&pool).await;
            if let Err(error) = done {
                if !pool.is_closed() {
                    tracing::warn!(%error, "WAL checkpoint failed; the next one retries");
                }
            }
            running.store(false, Ordering::Release);
        });
    }
}

fn intake_events(job: &WriteJob) -> usize {
    match job {
        WriteJob::Intake(job) => job.events.len(),
        _ => 0,
    }
}

/// Runs `jobs` in one transaction: finished attempts first (they free capacity), then claims,
/// then the intake. A failed round forgets the caches, so the retries start from the database.
async fn run_round(
    write: &SqlitePool,
    jobs: &[WriteJob],
    caches: &mut Caches,
    statements: &mut Statements,
    clock: &SharedClock,
    handoff: &HandoffSlot,
) -> Result<Round, StoreError> {
    let result = try_round(write, jobs, caches, statements, clock, handoff).await;
    if result.is_err() {
        caches.forget();
    }
    result
}

async fn try_round(
    write: &SqlitePool,
    jobs: &[WriteJob],
    caches: &mut Caches,
    statements: &mut Statements,
    clock: &SharedClock,
    handoff: &HandoffSlot,
) -> Result<Round, StoreError> {
    let mut conn = write.acquire().await?;
    let intake: Vec<&IntakeJob> = jobs
        .iter()
        .filter_map(|job| match job {
            WriteJob::Intake(job) => Some(job),
            _ => None,
        })
        .collect();
    // Read (when stale) before the transaction, on the same connection: every other write goes
    // through this one connection, which the round holds, so nothing changes in between.
    let (webhooks, next_id) = if intake.is_empty() { (&[][..], None) } else { caches.for_intake(&mut conn).await? };
    let now = clock.now_ms();
    // Room for the new deliveries with the dispatcher (see `db::handoff`); given back if the
    // round fails.
    let reservation = if intake.is_empty() {
        None
    } else {
        Reservation::take(handoff, &handoff::wanted(intake.iter().flat_map(|job| &job.events), webhooks))
    };
    let (mut round, next_event_id) = in_transaction(&mut conn, statements, |tx| {
        let mut round = Round::default();
        for job in jobs {
            if let WriteJob::Record(job) = job {
                round.records.push(deliveries::record(tx, job, now)?);
            }
        }
        for job in jobs {
            if let WriteJob::Claim(job) = job {
                round.claims.push(deliveries::claim(tx, job)?);
            }
        }
        let mut next_event_id = None;
        if !intake.is_empty() {
            let lease = reservation
                .as_ref()
                .map(|reservation| IntakeLease { reservation, lease_until: reservation.lease_until(now) });
            let written = events::write_intake(tx, &intake, IntakeCache { webhooks, next_id }, now, lease)?;
            round.intake = written.stored;
            round.leased = written.leased;
            round.unleased = written.unleased;
            next_event_id = Some(written.next_id);
        }
        Ok((round, next_event_id))
    })
    .await?;
    if let Some(next) = next_event_id {
        caches.committed_event_ids(next);
    }
    if let Some(reservation) = reservation {
        reservation.commit(std::mem::take(&mut round.leased));
    }
    if round.unleased {
        handoff.wake();
    }
    // A webhook disabled here (failing too long, or 410 Gone) takes no new events from now on.
    if round.records.iter().any(|outcome| !outcome.disabled_webhooks.is_empty() || !outcome.gone_webhooks.is_empty()) {
        caches.changes.webhook_changed();
    }
    Ok(round)
}

/// Runs `work` in one immediate transaction on `conn`, through SQLite's own API, and commits it
/// (rolls it back when `work` fails).
///
/// Why not sqlx's queries: sqlx runs each statement on the connection's worker thread and wakes
/// the calling task with the result, so a round of ten statements was ten round trips between
/// threads, and after each one the writer waited in the runtime's queue behind the HTTP tasks
/// (measured: `begin` alone took 0.29 ms of a 1.1 ms round, while SQLite's own work is a fraction
/// of that). sqlx lends the connection's handle out for exactly this (`lock_handle`): one round
/// trip to take it, then the whole transaction runs here, on the same connection, so every other
/// write still queues behind it as before. The statements stay prepared between rounds
/// ([`Statements`]): preparing the JSON statements again every round cost more than it saved.
pub(super) async fn in_transaction<T>(
    conn: &mut sqlx::SqliteConnection,
    statements: &mut Statements,
    work: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut handle = conn.lock_handle().await?;
    let committed = {
        let db = statements.connection(handle.as_raw_handle())?;
        // Dropping an uncommitted transaction (an error or a panic in `work`) rolls it back, so
        // the connection goes back to sqlx's pool outside any transaction.
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        match work(&tx) {
            Ok(value) => tx.commit().map(|()| value).map_err(StoreError::from),
            Err(error) => Err(error),
        }
    };
    if statements.released {
        statements.kept = None;
    }
    committed
}

/// The write connection seen through rusqlite, with the statements the rounds prepared.
///
/// Soundness of keeping a second owner-less view of sqlx's connection handle (the one `unsafe`):
/// - **Use**: it is only used inside [`in_transaction`], while sqlx's `LockedSqliteHandle`
///   guarantees sqlx's worker thread makes no call on the handle.
/// - **Drop**: dropping it finalizes its statements (it never closes the handle). The write
///   connection is opened in serialized mode (`SQLITE_OPEN_FULLMUTEX`, `db::sqlite`), so SQLite
///   itself makes that safe from any thread at any time.
/// - **Lifetime**: sqlx closes a connection only when its pool does: the write pool has no idle
///   timeout and no maximum lifetime, `SqliteDb::close` has the writer release the statements
///   before it closes the pool, and the writer task drops them before its own pool handle.
///   sqlx would panic closing a connection with statements left (`sqlite3_close`); a handle that
///   is no longer the one they were prepared on is never touched again (leaked, logged).
#[derive(Default)]
pub(super) struct Statements {
    /// The handle's address and the connection made from it.
    kept: Option<(usize, rusqlite::Connection)>,
    /// The pool is closing: statements are finalized at the end of each round.
    released: bool,
}

impl Statements {
    #[allow(unsafe_code)]
    fn connection(
        &mut self,
        handle: std::ptr::NonNull<rusqlite::ffi::sqlite3>,
    ) -> rusqlite::Result<&mut rusqlite::Connection> {
        let address = handle.as_ptr() as usize;
        let db = match self.kept.take() {
            Some((kept, db)) if kept == address => db,
            stale => {
                if stale.is_some() {
                    tracing::error!("the write connection changed under its kept statements; leaking them");
                    std::mem::forget(stale);
                }
                // SAFETY: see the type's documentation.
                unsafe { rusqlite::Connection::from_handle(handle.as_ptr()) }?
            }
        };
        Ok(&mut self.kept.insert((address, db)).1)
    }

    /// Finalizes the statements; later rounds finalize theirs at once.
    fn release(&mut self) {
        self.released = true;
        self.kept = None;
    }
}

/// What the writer remembers between rounds, so an intake round is one command instead of three:
/// the enabled webhooks the intake matches against, and the next event id to assign. Each is
/// stamped with the [`Changes`] counter it was read under and read again once that counter moves;
/// every write to the webhooks (`db::webhooks`, the auto-disable here) and every event inserted
/// outside this queue bumps its counter after committing.
pub(super) struct Caches {
    changes: Arc<Changes>,
    /// Opens the webhooks' secrets.
    key: Arc<EncryptionKey>,
    webhooks: Option<(u64, Vec<Webhook>)>,
    next_event_id: Option<(u64, Option<i64>)>,
}

impl Caches {
    pub(super) fn new(changes: Arc<Changes>, key: Arc<EncryptionKey>) -> Self {
        Caches { changes, key, webhooks: None, next_event_id: None }
    }

    /// The enabled webhooks and the next event id, read again (on the write connection, just
    /// before the round's transaction) when the cached ones may be stale.
    async fn for_intake(
        &mut self,
        conn: &mut sqlx::SqliteConnection,
    ) -> Result<(&[Webhook], Option<i64>), sqlx::Error> {
        let seen = self.changes.webhooks.load(Ordering::Acquire);
        if self.webhooks.as_ref().is_none_or(|(at, _)| *at != seen) {
            let list = super::webhooks::enabled_webhooks(&mut *conn, &self.key).await?;
            self.webhooks = Some((seen, list));
        }
        let seen = self.changes.events.load(Ordering::Acquire);
        let next_id = match self.next_event_id {
            Some((at, next)) if at == seen => next,
            _ => {
                let high_water: i64 = sqlx::query_scalar(events::EVENTS_HIGH_WATER).fetch_one(&mut *conn).await?;
                let next = high_water.checked_add(1);
                self.next_event_id = Some((seen, next));
                next
            }
        };
        let webhooks = self.webhooks.as_ref().map(|(_, list)| list.as_slice()).unwrap_or_default();
        Ok((webhooks, next_id))
    }

    /// The ids a committed round assigned are used: the next one is `next`.
    fn committed_event_ids(&mut self, next: Option<i64>) {
        if let Some((_, cached)) = &mut self.next_event_id {
            *cached = next;
        }
    }

    fn forget(&mut self) {
        self.webhooks = None;
        self.next_event_id = None;
    }
}

/// Gives each job its result (the round's results are in queue order per kind).
fn answer(jobs: impl Iterator<Item = WriteJob>, round: Round) {
    let mut intake = round.intake.into_iter();
    let mut claims = round.claims.into_iter();
    let mut records = round.records.into_iter();
    for job in jobs {
        match job {
            WriteJob::Intake(job) => {
                let _ = job.reply.send(intake.next().ok_or(StoreError::WriterCrashed));
            }
            WriteJob::Claim(job) => {
                let _ = job.reply.send(claims.next().ok_or(StoreError::WriterCrashed));
            }
            WriteJob::Record(job) => {
                let _ = job.reply.send(records.next().ok_or(StoreError::WriterCrashed));
            }
            WriteJob::Release(reply) => {
                let _ = reply.send(());
            }
        }
    }
}

/// Answers a job with its error.
fn fail(job: WriteJob, error: StoreError) {
    match job {
        WriteJob::Intake(job) => {
            let _ = job.reply.send(Err(error));
        }
        WriteJob::Claim(job) => {
            let _ = job.reply.send(Err(error));
        }
        WriteJob::Record(job) => {
            let _ = job.reply.send(Err(error));
        }
        WriteJob::Release(reply) => {
            let _ = reply.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use crate::db::testing;

    /// How many of sqlx's connection threads have panicked in this test binary. sqlx panics
    /// closing a connection that still has statements (`sqlite3_close` fails, the connection
    /// leaks), which is what keeping the write queue's statements risks. The hook is installed
    /// once and passes every panic on to the previous one.
    fn sqlx_worker_panics() -> usize {
        static PANICS: AtomicUsize = AtomicUsize::new(0);
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if std::thread::current().name().is_some_and(|name| name.starts_with("sqlx-sqlite-worker")) {
                    PANICS.fetch_add(1, Ordering::SeqCst);
                }
                previous(info);
            }));
        });
        PANICS.load(Ordering::SeqCst)
    }

    /// A database whose write queue ran a round, so it holds prepared statements.
    async fn after_a_round() -> (tempfile::TempDir, super::super::SqliteDb) {
        let (dir, db) = testing::open().await;
        testing::webhook(&db, &["feature-created"]).await;
        let stored = db.insert_events(vec![testing::event(None, "feature-created", "a")]).await.expect("insert");
        assert_eq!(stored[0].deliveries, 1, "the round ran");
        (dir, db)
    }

    /// `close` has the writer release its statements before the pools close the connections.
    #[tokio::test]
    async fn kept_statements_are_released_before_the_database_closes() {
        let before = sqlx_worker_panics();
        let (_dir, db) = after_a_round().await;
        db.close().await;
        // sqlx finishes closing on its connection threads.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sqlx_worker_panics(), before, "sqlx could not close a connection (statements left on it)");
    }
}
