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
use tokio::sync::mpsc;

use super::deliveries::{self, BatchOutcome, ClaimJob, RecordJob};
use super::events::{self, IntakeCache, IntakeJob, StoredEvent};
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
}

impl std::fmt::Debug for WriteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteJob::Intake(job) => write!(f, "Intake({} events)", job.events.len()),
            WriteJob::Claim(_) => f.write_str("Claim"),
            WriteJob::Record(_) => f.write_str("Record"),
        }
    }
}

/// The results of one round, per kind of job, in queue order.
#[derive(Default)]
struct Round {
    intake: Vec<Vec<StoredEvent>>,
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
) {
    let mut jobs: Vec<WriteJob> = Vec::new();
    while let Some(first) = inbox.recv().await {
        let mut events = intake_events(&first);
        jobs.push(first);
        while events < ROUND_EVENTS {
            match inbox.try_recv() {
                Ok(job) => {
                    events += intake_events(&job);
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        match run_round(&write, &jobs, &mut caches, &clock).await {
            Ok(round) => answer(jobs.drain(..), round),
            Err(error) if jobs.len() == 1 => {
                if let Some(job) = jobs.pop() {
                    fail(job, error);
                }
            }
            Err(error) => {
                tracing::warn!(%error, jobs = jobs.len(), "write round failed; writing its jobs one by one");
                for job in jobs.drain(..) {
                    match run_round(&write, std::slice::from_ref(&job), &mut caches, &clock).await {
                        Ok(round) => answer(std::iter::once(job), round),
                        Err(error) => fail(job, error),
                    }
                }
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
    clock: &SharedClock,
) -> Result<Round, StoreError> {
    let result = try_round(write, jobs, caches, clock).await;
    if result.is_err() {
        caches.forget();
    }
    result
}

async fn try_round(
    write: &SqlitePool,
    jobs: &[WriteJob],
    caches: &mut Caches,
    clock: &SharedClock,
) -> Result<Round, StoreError> {
    let mut round = Round::default();
    let mut tx = write.begin().await?;
    for job in jobs {
        if let WriteJob::Record(job) = job {
            round.records.push(deliveries::record(&mut tx, job, clock.now_ms()).await?);
        }
    }
    for job in jobs {
        if let WriteJob::Claim(job) = job {
            round.claims.push(deliveries::claim(&mut tx, job).await?);
        }
    }
    let intake: Vec<&IntakeJob> = jobs
        .iter()
        .filter_map(|job| match job {
            WriteJob::Intake(job) => Some(job),
            _ => None,
        })
        .collect();
    let mut next_event_id = None;
    if !intake.is_empty() {
        let (webhooks, next_id) = caches.for_intake(&mut tx).await?;
        let cache = IntakeCache { webhooks, next_id };
        let (stored, next) = events::write_intake(&mut tx, &intake, cache, clock.now_ms()).await?;
        round.intake = stored;
        next_event_id = Some(next);
    }
    tx.commit().await?;
    if let Some(next) = next_event_id {
        caches.committed_event_ids(next);
    }
    // A webhook disabled here (failing too long, or 410 Gone) takes no new events from now on.
    if round.records.iter().any(|outcome| !outcome.disabled_webhooks.is_empty() || !outcome.gone_webhooks.is_empty()) {
        caches.changes.webhook_changed();
    }
    Ok(round)
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

    /// The enabled webhooks and the next event id, read inside the round's transaction when the
    /// cached ones may be stale.
    async fn for_intake(&mut self, tx: &mut sqlx::SqliteConnection) -> Result<(&[Webhook], Option<i64>), sqlx::Error> {
        let seen = self.changes.webhooks.load(Ordering::Acquire);
        if self.webhooks.as_ref().is_none_or(|(at, _)| *at != seen) {
            let list = super::webhooks::enabled_webhooks(&mut *tx, &self.key).await?;
            self.webhooks = Some((seen, list));
        }
        let seen = self.changes.events.load(Ordering::Acquire);
        let next_id = match self.next_event_id {
            Some((at, next)) if at == seen => next,
            _ => {
                let high_water: i64 = sqlx::query_scalar(events::EVENTS_HIGH_WATER).fetch_one(&mut *tx).await?;
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
    }
}
