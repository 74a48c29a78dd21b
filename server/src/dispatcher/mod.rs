//! The dispatcher: delivers every due delivery at least once, in the server process.
//!
//! - **Queue**: the `deliveries` table. A loop claims due rows with a lease (a crash leaves the lease
//!   to expire, then the work is due again), within a global and a per-webhook concurrency limit.
//! - **Fresh work** skips the queue: the intake leases a new event's deliveries to this dispatcher
//!   in its own transaction, within room the dispatcher grants, and hands them over once committed
//!   (`db::handoff`). The loop sends them without reading the queue; only what found no room (or
//!   a webhook with a pause, a rate limit or an order) waits for a claim.
//! - **Attempts** run as tasks through one shared HTTP client (see `attempt`).
//! - **Writer**: finished attempts go to one writer task that records them in batches (one
//!   transaction for many attempts), which is what lets SQLite keep up with thousands per second.
//!   An attempt's slot is free as soon as its request ends; its row stays leased until recorded.
//! - **Shutdown**: stop claiming, let in-flight attempts finish until a deadline, release the rest.

pub mod attempt;
pub mod client;
pub mod notices;
pub mod retry;
pub mod sign;
pub mod ssrf;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::db::deliveries::{AttemptRecord, Breaker, DueDelivery};
use crate::db::handoff::Handoff;
use crate::db::{Db, StoreError};
use crate::live::LiveFeed;
use crate::metrics::Metrics;
use app::model::LiveNotice;
use attempt::{AttemptContext, PreparedWebhook};
use retry::Schedule;
use ssrf::TargetPolicy;

/// The dispatcher's settings (see `Config` for their flags and defaults).
#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    pub per_webhook_concurrency: usize,
    pub request_timeout: Duration,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub shutdown_grace: Duration,
    pub schedule: Schedule,
    pub auto_disable_after: Duration,
    /// The circuit breaker of each webhook (see `db::deliveries::Breaker`).
    pub breaker: Breaker,
    pub flag_base_url: Option<String>,
}

/// On PostgreSQL, how long the writer gathers finished attempts before recording them. Each
/// record is a transaction of three round trips whatever its size, and at full speed a batch
/// held 3–4 attempts; the delivery has been made already, so the wait delays only the log (and
/// the lease's release, which the intake's room counts), not a receiver. SQLite needs none: its
/// records share the write queue's rounds with the intake.
const RECORD_WINDOW: Duration = Duration::from_millis(3);

/// Cheap to clone; all clones drive the same dispatcher.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    client: reqwest::Client,
    policy: Arc<TargetPolicy>,
    settings: Settings,
    metrics: Arc<Metrics>,
    /// Told about every recorded attempt and breaker change (the pages' live updates).
    live: LiveFeed,
    wake: Notify,
    /// Whether the last round left due work behind for want of capacity (the global or a
    /// webhook's limit). Only then does a finished request wake the loop: otherwise its freed
    /// slot has nothing waiting for it, and the round would read the queue twice for nothing.
    starved: AtomicBool,
    running: AtomicBool,
    webhooks: Mutex<HashMap<i64, Arc<PreparedWebhook>>>,
    flight: Mutex<Flight>,
    /// Deliveries the intake leased to this dispatcher (see `db::handoff`), while it runs.
    fresh: Mutex<Option<mpsc::UnboundedSender<Vec<DueDelivery>>>>,
}

impl Flight {
    /// Marks a delivery as no longer in flight.
    fn land(&mut self, delivery_id: i64, webhook_id: i64) {
        self.ids.remove(&delivery_id);
        self.free_slots(webhook_id, 1);
    }

    /// Marks a delivery as no longer in flight, its attempt not recorded yet: its row stays
    /// leased until the record commits (see `Handoff::landed`).
    fn land_unrecorded(&mut self, delivery_id: i64, webhook_id: i64) {
        self.land(delivery_id, webhook_id);
        self.landed.insert(delivery_id);
    }

    /// Frees `count` of `webhook`'s slots (landed deliveries, or room the intake did not use).
    fn free_slots(&mut self, webhook: i64, count: usize) {
        if let Some(busy) = self.per_webhook.get_mut(&webhook) {
            *busy = busy.saturating_sub(count);
            if *busy == 0 {
                self.per_webhook.remove(&webhook);
            }
        }
    }
}

/// Locks one of the dispatcher's mutexes, recovering it if a thread panicked while holding it.
///
/// Treating a poisoned lock as "nothing in flight" or "claim nothing" (what `.lock().ok()` did)
/// would stop deliveries silently while `/healthz` says ok. Recovery is sound here: every critical
/// section is a few map updates with no panic point between them that could leave the maps
/// half-changed, and the cache only holds values that can be rebuilt.
fn relock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| {
        tracing::warn!("a dispatcher lock was poisoned by a panic; recovering it");
        mutex.clear_poison();
        poisoned.into_inner()
    })
}

/// What is being delivered right now.
#[derive(Default)]
struct Flight {
    ids: HashSet<i64>,
    /// Per webhook: its deliveries in flight, and the room granted to the intake for it.
    per_webhook: HashMap<i64, usize>,
    /// Room granted to intake transactions and not yet used or given back (see `db::handoff`).
    reserved: usize,
    /// Attempts finished and not yet recorded: their rows are still leased (`Handoff::landed`).
    landed: HashSet<i64>,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        client: reqwest::Client,
        policy: Arc<TargetPolicy>,
        settings: Settings,
        metrics: Arc<Metrics>,
        live: LiveFeed,
    ) -> Self {
        Dispatcher {
            inner: Arc::new(Inner {
                db,
                client,
                policy,
                settings,
                metrics,
                live,
                wake: Notify::new(),
                starved: AtomicBool::new(false),
                running: AtomicBool::new(false),
                webhooks: Mutex::new(HashMap::new()),
                flight: Mutex::new(Flight::default()),
                fresh: Mutex::new(None),
            }),
        }
    }

    /// Asks the dispatcher to look for due work now (new events, a redelivery).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The live feed the dispatcher publishes to (shared with the rest of the server).
    pub fn live(&self) -> &LiveFeed {
        &self.inner.live
    }

    /// Whether the dispatch loop is running (for `/healthz`).
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::Relaxed)
    }

    /// How many attempts are in flight.
    pub fn in_flight(&self) -> usize {
        relock(&self.inner.flight).ids.len()
    }

    /// Runs until `cancel` fires, then shuts down gracefully.
    pub fn spawn(&self, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.run(cancel).await })
    }
}

impl Inner {
    async fn run(self: Arc<Self>, cancel: CancellationToken) {
        self.running.store(true, Ordering::Relaxed);
        let (records, inbox) = mpsc::channel::<AttemptRecord>(4096);
        let writer = tokio::spawn(self.clone().write_loop(inbox));
        let mut tasks = JoinSet::new();
        tracing::info!(
            concurrency = self.settings.concurrency,
            per_webhook = self.settings.per_webhook_concurrency,
            "dispatcher started"
        );
        // A manual clock (tests) wakes the loop when it is moved: work may have become due.
        let mut jumps = self.db.clock().jumps();
        // PostgreSQL: other instances announce new deliveries and relay live notices (LISTEN/NOTIFY).
        let announced = self.db.postgres().map(|pg| pg.wake_signal());
        let live = self.live.clone();
        let listener = self
            .db
            .postgres()
            .and_then(|pg| pg.spawn_listener(cancel.clone(), move |payload| live.take_relayed(payload)));
        let (fresh_sender, mut fresh) = mpsc::unbounded_channel::<Vec<DueDelivery>>();
        *relock(&self.fresh) = Some(fresh_sender);
        self.db.set_handoff(Some(self.clone()));
        let mut deadline = tokio::time::Instant::now();
        let mut read_queue = true;
        while !cancel.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            if read_queue {
                let pause = match self.fill(&records, &mut tasks).await {
                    Ok(pause) => pause,
                    Err(error) => {
                        tracing::error!(%error, "dispatcher could not read the queue; retrying");
                        Duration::from_secs(1)
                    }
                };
                deadline = tokio::time::Instant::now() + pause;
            }
            read_queue = true;
            tokio::select! {
                // Leased by the intake: sent now, with no look at the queue (nothing else became
                // due by it; the wait for whatever is due later goes on to the same deadline).
                Some(batch) = fresh.recv() => {
                    for due in batch {
                        self.launch(due, records.clone(), &mut tasks).await;
                    }
                    read_queue = false;
                }
                () = self.wake.notified() => {}
                () = tokio::time::sleep_until(deadline) => {}
                () = cancel.cancelled() => {}
                () = clock_jump(&mut jumps) => {}
                () = notified(announced.as_deref()) => {}
            }
        }
        if let Some(listener) = listener {
            listener.abort();
        }
        // No more leases from the intake. One handed over from now on finds no dispatcher and is
        // given back at once (`hand_over`); those handed over already are released below.
        self.db.set_handoff(None);
        relock(&self.fresh).take();
        fresh.close();
        let mut handed: Vec<i64> = Vec::new();
        while let Ok(batch) = fresh.try_recv() {
            for due in batch {
                self.land(due.id, due.webhook_id);
                handed.push(due.id);
            }
        }

        // Graceful shutdown: no new claims; in-flight attempts get until the deadline.
        let deadline = tokio::time::Instant::now() + self.settings.shutdown_grace;
        while !tasks.is_empty() {
            tokio::select! {
                _ = tasks.join_next() => {}
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        let unfinished: Vec<i64> = relock(&self.flight).ids.iter().copied().collect();
        tasks.abort_all();
        drop(records);
        if let Err(error) = writer.await {
            tracing::error!(%error, "dispatcher writer failed");
        }
        // Attempts cut off by the deadline are given back, due again at the next start.
        let still_leased: Vec<i64> = {
            let flight = relock(&self.flight).ids.clone();
            unfinished.into_iter().filter(|id| flight.contains(id)).chain(handed).collect()
        };
        if !still_leased.is_empty() {
            match self.db.release_deliveries(&still_leased).await {
                Ok(released) => tracing::info!(released, "released unfinished deliveries"),
                Err(error) => tracing::warn!(%error, "could not release leases; they expire on their own"),
            }
        }
        self.running.store(false, Ordering::Relaxed);
        tracing::info!("dispatcher stopped");
    }

    /// Claims what can run now and starts it. Returns how long to sleep unless woken.
    async fn fill(
        self: &Arc<Self>,
        records: &mpsc::Sender<AttemptRecord>,
        tasks: &mut JoinSet<()>,
    ) -> Result<Duration, StoreError> {
        let now = self.db.now_ms();
        let (free, full) = {
            let flight = relock(&self.flight);
            let full: Vec<i64> = flight
                .per_webhook
                .iter()
                .filter(|(_, busy)| **busy >= self.settings.per_webhook_concurrency)
                .map(|(webhook, _)| *webhook)
                .collect();
            (self.settings.concurrency.saturating_sub(flight.ids.len() + flight.reserved), full)
        };
        // Until this round shows otherwise: full, or work left out.
        self.starved.store(free == 0 || !full.is_empty(), Ordering::Relaxed);
        if free > 0 {
            // Not the webhooks at their in-flight limit, and no more of each than it may have in
            // flight: a hanging receiver's backlog is the oldest due work and would crowd every
            // other webhook out of the candidates.
            let per_webhook = self.settings.per_webhook_concurrency.min(free) as i64;
            let candidates = self.db.due_deliveries(now, (free * 4).min(2000) as i64, &full, per_webhook).await?;
            let chosen = self.choose(candidates, free);
            if !chosen.is_empty() {
                let ids: Vec<i64> = chosen.iter().map(|d| d.id).collect();
                let lease_until = now + self.settings.lease.as_millis() as i64;
                let claimed: HashSet<i64> = match self.db.claim_deliveries(&ids, now, lease_until).await {
                    Ok(claimed) => claimed.into_iter().collect(),
                    Err(error) => {
                        // Nothing was leased: the chosen ones are not in flight, or they (and
                        // their webhook's slots) would stay marked busy until a restart.
                        for due in &chosen {
                            self.land(due.id, due.webhook_id);
                        }
                        return Err(error);
                    }
                };
                if claimed.len() < ids.len() {
                    // Held back in the claim: on PostgreSQL that may be a webhook's limit counted
                    // across instances, which a recorded attempt here frees.
                    self.starved.store(true, Ordering::Relaxed);
                }
                for due in chosen {
                    if claimed.contains(&due.id) {
                        self.launch(due, records.clone(), tasks).await;
                    } else {
                        self.land(due.id, due.webhook_id);
                    }
                }
            }
        }
        let next = self.db.next_times(now).await?;
        // Due work we could not start (limits, leases held elsewhere): capacity frees up with a
        // wake, and the poll interval bounds the wait.
        let pause = match next.due {
            Some(at) if at > now => Duration::from_millis((at - now) as u64).min(self.settings.poll_interval),
            _ => self.settings.poll_interval,
        };
        // A paused or rate-limited webhook's deliveries are due already: wake when its pause
        // ends (for the probe) or its next token is free.
        Ok([next.pause_end, next.rate_next]
            .into_iter()
            .flatten()
            .fold(pause, |pause, at| pause.min(Duration::from_millis((at - now).max(1) as u64))))
    }

    /// Picks deliveries within the free global capacity and each webhook's limit, marking them in
    /// flight. Notes when due work may be left behind for want of capacity (see `starved`): a
    /// candidate skipped, the global limit reached, or a webhook reaching its limit (the due query
    /// reads no more of a webhook than its limit, so more may be waiting).
    fn choose(&self, candidates: Vec<DueDelivery>, free: usize) -> Vec<DueDelivery> {
        let limit = self.settings.per_webhook_concurrency;
        let mut flight = relock(&self.flight);
        let mut chosen = Vec::new();
        let mut left_behind = false;
        for due in candidates {
            if chosen.len() >= free {
                break;
            }
            let busy = flight.per_webhook.get(&due.webhook_id).copied().unwrap_or_default();
            if flight.ids.contains(&due.id) || busy >= limit {
                left_behind = true;
                continue;
            }
            flight.ids.insert(due.id);
            *flight.per_webhook.entry(due.webhook_id).or_default() += 1;
            left_behind |= busy + 1 >= limit;
            chosen.push(due);
        }
        left_behind |= chosen.len() >= free;
        if left_behind {
            self.starved.store(true, Ordering::Relaxed);
        }
        chosen
    }

    /// Marks a delivery as no longer in flight.
    fn land(&self, delivery_id: i64, webhook_id: i64) {
        relock(&self.flight).land(delivery_id, webhook_id);
    }

    async fn launch(self: &Arc<Self>, due: DueDelivery, records: mpsc::Sender<AttemptRecord>, tasks: &mut JoinSet<()>) {
        let prepared = match self.prepared_webhook(due.webhook_id, due.webhook_version).await {
            Ok(Some(prepared)) => prepared,
            Ok(None) => {
                // Deleted in the meantime: its deliveries go with it (cascade).
                self.land(due.id, due.webhook_id);
                return;
            }
            Err(error) => {
                tracing::error!(%error, webhook_id = due.webhook_id, "cannot load webhook");
                self.land(due.id, due.webhook_id);
                return;
            }
        };
        let inner = self.clone();
        tasks.spawn(async move {
            let ctx = AttemptContext {
                client: &inner.client,
                clock: inner.db.clock().as_ref(),
                policy: &inner.policy,
                schedule: &inner.settings.schedule,
                request_timeout: inner.settings.request_timeout,
                flag_base_url: inner.settings.flag_base_url.as_deref(),
            };
            let record = attempt::attempt(&ctx, &due, &prepared).await;
            tracing::debug!(
                delivery = due.id,
                webhook_id = due.webhook_id,
                attempt = record.number,
                status = record.status,
                state = record.state.as_str(),
                "attempt finished"
            );
            inner.metrics.record_attempt(&record);
            // The receiver is done with this request, so its slot is free now rather than once
            // the writer has stored the result: the row stays leased until then, so no round
            // can claim it again in between, and the next delivery does not wait for a commit.
            // Landed, it no longer counts against its webhook's limit on PostgreSQL either.
            relock(&inner.flight).land_unrecorded(due.id, due.webhook_id);
            if inner.starved.load(Ordering::Relaxed) {
                inner.wake.notify_one();
            }
            if records.send(record).await.is_err() {
                relock(&inner.flight).landed.remove(&due.id);
                tracing::warn!(delivery = due.id, "writer gone; the lease will make this delivery due again");
            }
        });
    }

    /// The webhook at this version, compiled template included (cached until the version changes).
    async fn prepared_webhook(&self, id: i64, version: i64) -> Result<Option<Arc<PreparedWebhook>>, sqlx::Error> {
        if let Some(cached) = relock(&self.webhooks).get(&id).cloned() {
            if cached.webhook.version == version {
                return Ok(Some(cached));
            }
        }
        let Some(webhook) = self.db.webhook(id).await? else { return Ok(None) };
        let prepared = Arc::new(PreparedWebhook::new(webhook));
        relock(&self.webhooks).insert(id, prepared.clone());
        Ok(Some(prepared))
    }

    /// Records finished attempts in batches (their capacity was freed when their request ended).
    async fn write_loop(self: Arc<Self>, mut inbox: mpsc::Receiver<AttemptRecord>) {
        let disable_after = self.settings.auto_disable_after.as_millis() as i64;
        let mut batch = Vec::with_capacity(512);
        // PostgreSQL: gather for a moment before recording (see `RECORD_WINDOW`).
        let window = self.db.postgres().map(|_| RECORD_WINDOW);
        while let Some(first) = inbox.recv().await {
            batch.push(first);
            if let Some(window) = window {
                tokio::time::sleep(window).await;
            }
            while batch.len() < 512 {
                match inbox.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            let mut backoff = Duration::from_millis(50);
            let mut frees_work = self.frees_work(&batch);
            for tries in 1.. {
                match self.db.record_attempts(&batch, disable_after, self.settings.breaker).await {
                    Ok(outcome) => {
                        self.live
                            .publish(batch.iter().map(|r| LiveNotice::delivery(r.webhook_id, r.delivery_id, r.state)));
                        frees_work |= !outcome.is_empty();
                        self.after_batch(outcome);
                        break;
                    }
                    // Giving up loses no event: the deliveries stay leased, the leases expire, and
                    // the attempts are made again (at least once, possibly twice).
                    Err(error) if tries >= 20 => {
                        tracing::error!(%error, records = batch.len(), "giving up recording attempts; they will be redone");
                        break;
                    }
                    Err(error) => {
                        tracing::error!(%error, records = batch.len(), "cannot record attempts; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
            // Recorded (or given up on, when the lease expires): no longer landed.
            {
                let mut flight = relock(&self.flight);
                for record in &batch {
                    flight.landed.remove(&record.delivery_id);
                }
            }
            batch.clear();
            if frees_work || self.starved.load(Ordering::Relaxed) {
                self.wake.notify_one();
            }
        }
    }

    /// Whether recording `batch` can make work due that the loop does not know of: a retry (due
    /// now, or at a time the loop's sleep does not know yet) or an ordered webhook's next
    /// delivery. A delivery that succeeded or failed for good frees only its slot, and that
    /// woke the loop already if anything was waiting for one. (A changed webhook, closed
    /// breaker or disablement is the batch's outcome; see the caller.)
    fn frees_work(&self, batch: &[AttemptRecord]) -> bool {
        let webhooks = relock(&self.webhooks);
        batch.iter().any(|record| {
            record.next_attempt_at.is_some()
                || webhooks.get(&record.webhook_id).is_none_or(|prepared| prepared.webhook.ordered)
        })
    }

    /// Logs what a recorded batch did to webhooks, and takes in the operational events about it
    /// (in a task of its own: the writer goes on recording meanwhile).
    fn after_batch(self: &Arc<Self>, outcome: crate::db::deliveries::BatchOutcome) {
        for webhook_id in &outcome.disabled_webhooks {
            tracing::warn!(webhook_id, "webhook disabled automatically after failing too long");
        }
        for webhook_id in &outcome.gone_webhooks {
            tracing::warn!(webhook_id, "webhook disabled: its receiver answered 410 Gone");
        }
        for change in &outcome.breaker {
            match change.kind {
                hookline_core::operational::NoticeKind::Paused => tracing::warn!(
                    webhook_id = change.webhook_id,
                    failures = change.consecutive_failures,
                    paused_until = change.paused_until.map(crate::time::iso),
                    "circuit breaker open: webhook paused"
                ),
                _ => tracing::info!(webhook_id = change.webhook_id, "circuit breaker closed: webhook resumed"),
            }
        }
        let disabled: Vec<i64> = outcome.disabled_webhooks.into_iter().chain(outcome.gone_webhooks).collect();
        if disabled.is_empty() && outcome.breaker.is_empty() {
            return;
        }
        self.live.publish(disabled.iter().map(|id| LiveNotice::webhook(*id, "disabled")).chain(
            outcome.breaker.iter().map(|change| {
                let paused = matches!(change.kind, hookline_core::operational::NoticeKind::Paused);
                let what = if paused { "paused" } else { "resumed" };
                LiveNotice::webhook(change.webhook_id, what)
            }),
        ));
        let inner = self.clone();
        tokio::spawn(async move {
            let stored =
                notices::emit_batch_notices(&inner.db, disabled, outcome.breaker, inner.settings.breaker).await;
            inner.live.publish(stored.iter().filter(|s| s.created).map(|s| LiveNotice::event(s.id)));
            inner.wake.notify_one();
        });
    }
}

/// The intake's side of the dispatcher (see `db::handoff`): room is granted within the same
/// limits a round's `choose` applies, and counted in flight until used or given back.
impl Handoff for Inner {
    fn reserve(&self, wanted: &BTreeMap<i64, usize>) -> BTreeMap<i64, usize> {
        let limit = self.settings.per_webhook_concurrency;
        let mut flight = relock(&self.flight);
        let mut free = self.settings.concurrency.saturating_sub(flight.ids.len() + flight.reserved);
        let mut granted = BTreeMap::new();
        for (&webhook, &count) in wanted {
            let busy = flight.per_webhook.get(&webhook).copied().unwrap_or_default();
            let grant = count.min(limit.saturating_sub(busy)).min(free);
            if grant > 0 {
                free -= grant;
                flight.reserved += grant;
                *flight.per_webhook.entry(webhook).or_default() += grant;
                granted.insert(webhook, grant);
            }
        }
        granted
    }

    fn lease_ms(&self) -> i64 {
        self.settings.lease.as_millis() as i64
    }

    fn wake(&self) {
        self.wake.notify_one();
    }

    /// At most a webhook's limit of them: leaving every one out would let records that fall
    /// behind (a slow database) pile up leased rows without bound, where counting them throttles
    /// the sending until the records catch up, and an instance killed would send them all again.
    /// So a webhook holds at most twice its limit in leases from this instance.
    fn landed(&self) -> Vec<i64> {
        relock(&self.flight).landed.iter().copied().take(self.settings.per_webhook_concurrency).collect()
    }

    fn hand_over(&self, leased: Vec<DueDelivery>, granted: &BTreeMap<i64, usize>) {
        let mut unused = granted.clone();
        {
            let mut flight = relock(&self.flight);
            flight.reserved = flight.reserved.saturating_sub(granted.values().sum());
            for due in &leased {
                flight.ids.insert(due.id);
                if let Some(left) = unused.get_mut(&due.webhook_id) {
                    *left = left.saturating_sub(1);
                }
            }
            for (&webhook, &count) in &unused {
                flight.free_slots(webhook, count);
            }
        }
        if unused.values().any(|count| *count > 0) && self.starved.load(Ordering::Relaxed) {
            // The room held for the intake may be what a round left work behind for.
            self.wake.notify_one();
        }
        if leased.is_empty() {
            return;
        }
        let sent = match relock(&self.fresh).as_ref() {
            Some(sender) => sender.send(leased).map_err(|unsent| unsent.0),
            None => Err(leased),
        };
        let Err(leased) = sent else { return };
        // The dispatcher stopped between the grant and now: the leases go back, as a shutdown
        // gives back what it did not finish (or, should this fail too, they expire).
        let ids: Vec<i64> = leased.iter().map(|due| due.id).collect();
        for due in &leased {
            self.land(due.id, due.webhook_id);
        }
        let db = self.db.clone();
        tokio::spawn(async move {
            if let Err(error) = db.release_deliveries(&ids).await {
                tracing::warn!(%error, "could not release leases; they expire on their own");
            }
        });
    }
}

/// Waits for `signal`, or forever without one.
async fn notified(signal: Option<&Notify>) {
    match signal {
        Some(signal) => signal.notified().await,
        None => std::future::pending().await,
    }
}

/// Waits until the clock jumps; forever for a clock that does not (the system clock).
async fn clock_jump(jumps: &mut Option<tokio::sync::watch::Receiver<i64>>) {
    match jumps {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                // The clock is gone: nothing will ever jump again.
                *jumps = None;
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_recovered_not_read_as_empty() {
        let flight = Arc::new(Mutex::new(Flight::default()));
        relock(&flight).ids.insert(7);
        let holder = flight.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = holder.lock().expect("lock");
            panic!("poison it");
        })
        .join();
        assert!(panicked.is_err() && flight.is_poisoned());
        assert!(relock(&flight).ids.contains(&7), "the data survives");
        assert!(!flight.is_poisoned(), "and the lock is usable again");
    }
}
