//! The delivery queue and log: claiming due deliveries with a lease, recording attempts in
//! batches, and the auto-disable clock of webhooks.
//!
//! A claim also applies each webhook's delivery controls, in its transaction (so they hold across
//! every instance on PostgreSQL):
//! - **Circuit breaker** (`Breaker`): a paused webhook's deliveries wait.
//! - **Rate limit** (`Bucket`): at most `rate_limit` deliveries per second, a GCRA whose state is
//!   the webhook's `rate_next_us`. Every claim takes a token, whatever caused it (first try, retry,
//!   redelivery, test send): the limit protects the receiver. A delivery over the rate stays due,
//!   its retries untouched, and is claimed once a token is free (`next_times` says when).
//! - **Ordering** (`ordered`): only the first unfinished delivery of the webhook, in event (id)
//!   order, may be claimed; the later ones wait until it succeeded or failed for good, however long
//!   its retries take (head-of-line blocking). Test sends are outside the order: they neither wait
//!   nor hold anything back.

use std::collections::{BTreeMap, HashMap};

use tokio::sync::oneshot;

use hookline_core::delivery::{AttemptTrigger, DeliveryState, ErrorClass, UnleashState};
use hookline_core::operational::NoticeKind;

use super::writer::WriteJob;
use super::{json_ids, SqliteDb, StoreError};

/// A delivery the dispatcher may work on, with what it needs to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub uid: String,
    pub webhook_id: i64,
    pub webhook_version: i64,
    pub event_id: i64,
    pub payload: String,
    pub attempts: i64,
    pub next_trigger: AttemptTrigger,
    pub single_attempt: bool,
}

/// The result of one attempt, as the dispatcher hands it to the writer.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub number: i64,
    pub trigger: AttemptTrigger,
    pub url: String,
    pub request_headers: String,
    pub request_body: String,
    pub status: i64,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub response_body_encoding: &'static str,
    pub duration_ms: i64,
    pub error_class: Option<ErrorClass>,
    pub error_message: Option<String>,
    pub started_at: i64,
    /// The delivery's new state: succeeded, retrying or failed.
    pub state: DeliveryState,
    pub unleash_state: UnleashState,
    pub state_details: String,
    pub next_attempt_at: Option<i64>,
    /// Whether this attempt counts as a success for the webhook's failure clock.
    pub succeeded: bool,
}

/// What the writer did to webhooks while recording a batch (auto-disables, for logs and metrics).
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Disabled for failing longer than the auto-disable period.
    pub disabled_webhooks: Vec<i64>,
    /// Disabled because the receiver answered 410 Gone.
    pub gone_webhooks: Vec<i64>,
    /// Circuit breakers that opened (a webhook paused) or closed (resumed) in this batch.
    pub breaker: Vec<BreakerChange>,
}

/// The circuit breaker's settings (`HOOKLINE_BREAKER_FAILURES`, `HOOKLINE_BREAKER_COOLDOWN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    /// Failed attempts in a row that open the breaker; 0 turns it off.
    pub failures: i64,
    /// How long an open breaker keeps the webhook paused before one attempt is let through.
    pub cooldown_ms: i64,
}

impl Breaker {
    /// No circuit breaker: failures in a row are counted, nothing is paused.
    pub const OFF: Breaker = Breaker { failures: 0, cooldown_ms: 0 };

    /// The breaker's state after a batch's attempts (`tally`) on a webhook that had `before`.
    ///
    /// - A success closes the breaker: the count restarts from the failures after it.
    /// - Enough failures in a row open it until `now` + cool-down. A failure while it is open
    ///   (the probe, or an attempt that was already in flight when it opened) re-opens it from now.
    /// - The change is reported only on a transition: paused when it was closed, resumed when it
    ///   was open and is closed now.
    pub(crate) fn next(
        &self,
        before: BreakerState,
        tally: &BreakerTally,
        now: i64,
    ) -> (BreakerState, Option<NoticeKind>) {
        let count = if tally.succeeded {
            tally.failures_after
        } else {
            before.consecutive_failures.saturating_add(tally.failures_after)
        };
        let trips = self.failures > 0 && tally.failures_after > 0 && count >= self.failures;
        let paused_until = if trips {
            Some(now.saturating_add(self.cooldown_ms))
        } else if tally.succeeded {
            None
        } else {
            before.paused_until
        };
        let change = match (before.paused_until.is_some(), paused_until.is_some()) {
            (false, true) => Some(NoticeKind::Paused),
            (true, false) => Some(NoticeKind::Resumed),
            _ => None,
        };
        (BreakerState { consecutive_failures: count, paused_until }, change)
    }
}

/// A webhook's circuit breaker as stored (`webhooks.consecutive_failures`, `paused_until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub(crate) struct BreakerState {
    pub consecutive_failures: i64,
    pub paused_until: Option<i64>,
}

/// What one batch says about one webhook's receiver, in the order the attempts finished.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BreakerTally {
    /// Some attempt succeeded.
    pub succeeded: bool,
    /// Failed attempts after the last success (all of them without one).
    pub failures_after: i64,
    /// What the last failed attempt reported.
    pub last_failure: Option<String>,
}

/// The breaker tally of each webhook of `batch`, by webhook id (ascending: the order rows are
/// locked in, so two instances recording at once cannot deadlock).
pub(crate) fn breaker_tallies<'a>(batch: impl Iterator<Item = &'a AttemptRecord>) -> BTreeMap<i64, BreakerTally> {
    let mut tallies: BTreeMap<i64, BreakerTally> = BTreeMap::new();
    for attempt in batch {
        let tally = tallies.entry(attempt.webhook_id).or_default();
        if attempt.succeeded {
            tally.succeeded = true;
            tally.failures_after = 0;
        } else {
            tally.failures_after += 1;
            tally.last_failure = Some(attempt.error_message.clone().unwrap_or_else(|| attempt.state_details.clone()));
        }
    }
    tallies
}

/// A webhook whose circuit breaker opened or closed (for the operational events and the logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerChange {
    pub kind: NoticeKind,
    pub webhook_id: i64,
    pub paused_until: Option<i64>,
    pub consecutive_failures: i64,
    pub last_failure: Option<String>,
}

/// Why a webhook is paused, in a sentence (the notice's `reason`).
pub fn paused_reason(failures: i64, cooldown_ms: i64) -> String {
    format!(
        "{failures} delivery attempts in a row failed: Hookline stops sending to this webhook for {}, then tries one \
         delivery; queued deliveries wait and keep their retries.",
        crate::time::human_duration(cooldown_ms)
    )
}

/// A webhook's breaker row to write: id, new state, the last failure (None keeps the stored one).
pub(crate) type BreakerWrite = (i64, BreakerState, Option<String>);

/// Decides each webhook's breaker after a batch, given their stored states; returns the rows to
/// write (id, new state, last failure) and the transitions.
pub(crate) fn breaker_updates(
    breaker: &Breaker,
    tallies: &BTreeMap<i64, BreakerTally>,
    stored: &HashMap<i64, BreakerState>,
    now: i64,
) -> (Vec<BreakerWrite>, Vec<BreakerChange>) {
    let mut writes = Vec::new();
    let mut changes = Vec::new();
    for (&webhook_id, tally) in tallies {
        // A webhook deleted meanwhile has no row: nothing to decide.
        let Some(&before) = stored.get(&webhook_id) else { continue };
        let (after, change) = breaker.next(before, tally, now);
        if after != before || tally.last_failure.is_some() {
            writes.push((webhook_id, after, tally.last_failure.clone()));
        }
        if let Some(kind) = change {
            changes.push(BreakerChange {
                kind,
                webhook_id,
                paused_until: after.paused_until,
                consecutive_failures: after.consecutive_failures,
                last_failure: tally.last_failure.clone(),
            });
        }
    }
    (writes, changes)
}

/// The first unfinished delivery of a webhook (not a test send) and how many wait behind it
/// (`head_of_line`; PostgreSQL numbers the parameter `$1`).
pub(crate) const HEAD_OF_LINE: &str = "select d.id, d.state, d.next_attempt_at, d.lease_until,
        (select count(*) from deliveries q
         where q.webhook_id = d.webhook_id and q.id > d.id and q.next_attempt_at is not null
           and q.next_trigger <> 'test') as waiting
    from deliveries d
    where d.webhook_id = ?1 and d.next_attempt_at is not null and d.next_trigger <> 'test'
    order by d.id limit 1";

/// When the dispatcher should look again (`next_times`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct NextTimes {
    /// The earliest next attempt still to come (after now), of deliveries nobody holds: a leased
    /// one is in flight (the intake leases deliveries stamped a moment after a round's now, and
    /// waking for those would read the queue again for nothing). Not the earliest of all: deliveries
    /// due already but held back (an ordered webhook's later ones behind a retrying head, a
    /// paused or rate-limited webhook's) would hide when the next one falls due; due work that
    /// could not start for want of capacity wakes the loop when capacity frees up.
    pub due: Option<i64>,
    /// The end of the first pause still running (the probe may go then).
    pub pause_end: Option<i64>,
    /// The first time a rate-limited webhook has a token again (ms, rounded up).
    pub rate_next: Option<i64>,
}

/// A webhook's rate limit as a GCRA ("generic cell rate algorithm", a token bucket kept as one
/// timestamp): deliveries are spaced `interval_us` apart on average, with a burst of up to one
/// second's worth (at least 1) when the receiver has been quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    interval_us: i64,
    /// How far ahead of now the theoretical arrival time may run: (burst - 1) intervals.
    tolerance_us: i64,
    /// The earliest time the next delivery may be claimed (`webhooks.rate_next_us`).
    pub next_us: i64,
}

impl Bucket {
    /// The bucket of a webhook limited to `rate` deliveries per second, in the stored state
    /// `next_us` (`None`: full).
    pub(crate) fn new(rate: f64, next_us: Option<i64>) -> Self {
        let interval_us = ((1_000_000.0 / rate).round() as i64).max(1);
        let burst = (rate.floor() as i64).max(1);
        Bucket { interval_us, tolerance_us: (burst - 1) * interval_us, next_us: next_us.unwrap_or(i64::MIN / 4) }
    }

    /// Takes a token at `now_us` if one is free.
    pub(crate) fn take(&mut self, now_us: i64) -> bool {
        if self.next_us > now_us {
            return false;
        }
        let arrival = self.next_us.saturating_add(self.tolerance_us).max(now_us);
        self.next_us = arrival.saturating_add(self.interval_us) - self.tolerance_us;
        true
    }
}

/// A webhook's rate limit and ordering as a claim reads them (in its transaction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Controls {
    pub id: i64,
    pub rate_limit: Option<f64>,
    pub rate_next_us: Option<i64>,
    pub ordered: bool,
}

/// Applies the rate limits and the ordering to a claim's candidates, in claim order (shared by
/// both backends).
#[derive(Debug, Default)]
pub(crate) struct ClaimGate {
    now_us: i64,
    webhooks: HashMap<i64, Gate>,
}

#[derive(Debug)]
struct Gate {
    bucket: Option<Bucket>,
    bucket_moved: bool,
    /// Ordered webhooks: the first unfinished delivery (the only one that may go), and whether
    /// it was admitted already.
    head: Option<(Option<i64>, bool)>,
}

impl ClaimGate {
    /// The gate for webhooks with `controls` at `now` (ms); `heads` holds each ordered webhook's
    /// first unfinished delivery that is not a test send.
    pub(crate) fn new(controls: &[Controls], heads: &HashMap<i64, i64>, now: i64) -> Self {
        let webhooks = controls
            .iter()
            .map(|c| {
                let gate = Gate {
                    bucket: c.rate_limit.map(|rate| Bucket::new(rate, c.rate_next_us)),
                    bucket_moved: false,
                    head: c.ordered.then(|| (heads.get(&c.id).copied(), false)),
                };
                (c.id, gate)
            })
            .collect();
        ClaimGate { now_us: now.saturating_mul(1000), webhooks }
    }

    /// The ordered webhooks among `controls` (whose heads the claim must read).
    pub(crate) fn ordered(controls: &[Controls]) -> Vec<i64> {
        controls.iter().filter(|c| c.ordered).map(|c| c.id).collect()
    }

    /// Whether `delivery` of `webhook` may be claimed now (`test`: a test send, outside the
    /// order); if so, takes its token.
    pub(crate) fn admit(&mut self, delivery: i64, webhook: i64, test: bool) -> bool {
        let Some(gate) = self.webhooks.get_mut(&webhook) else { return true };
        let in_order = !test && gate.head.is_some();
        if in_order && gate.head != Some((Some(delivery), false)) {
            return false;
        }
        if let Some(bucket) = &mut gate.bucket {
            if !bucket.take(self.now_us) {
                return false;
            }
            gate.bucket_moved = true;
        }
        if in_order {
            gate.head = Some((Some(delivery), true));
        }
        true
    }

    /// The buckets to store: (webhook, `rate_next_us`) of each webhook that took tokens.
    pub(crate) fn rate_writes(&self) -> Vec<(i64, i64)> {
        let mut writes: Vec<(i64, i64)> = self
            .webhooks
            .iter()
            .filter_map(|(id, gate)| gate.bucket.filter(|_| gate.bucket_moved).map(|b| (*id, b.next_us)))
            .collect();
        writes.sort_unstable();
        writes
    }
}

/// An ordered webhook's head of line as read for its page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HeadOfLineRow {
    pub id: i64,
    pub state: DeliveryState,
    pub next_attempt_at: Option<i64>,
    pub lease_until: Option<i64>,
    /// Later unfinished deliveries (not test sends) of the webhook.
    pub waiting: i64,
}

/// The status a receiver answers to say it wants no more deliveries (Standard Webhooks).
pub const GONE: i64 = 410;

/// One attempt as a row of `record_attempts`' statements: a JSON object read back by key
/// (`value ->> 'state'`), so a field cannot be read from the wrong position.
#[derive(serde::Serialize)]
struct RecordRow<'a> {
    delivery_id: i64,
    number: i64,
    trigger: AttemptTrigger,
    url: &'a str,
    request_headers: &'a str,
    request_body: &'a str,
    status: i64,
    response_headers: Option<&'a str>,
    response_body: Option<&'a str>,
    response_body_encoding: &'a str,
    duration_ms: i64,
    error_class: Option<ErrorClass>,
    error_message: Option<&'a str>,
    started_at: i64,
    next_attempt_at: Option<i64>,
    state: DeliveryState,
    unleash_state: UnleashState,
    state_details: &'a str,
}

impl<'a> RecordRow<'a> {
    fn of(a: &'a AttemptRecord) -> Self {
        RecordRow {
            delivery_id: a.delivery_id,
            number: a.number,
            trigger: a.trigger,
            url: &a.url,
            request_headers: &a.request_headers,
            request_body: &a.request_body,
            status: a.status,
            response_headers: a.response_headers.as_deref(),
            response_body: a.response_body.as_deref(),
            response_body_encoding: a.response_body_encoding,
            duration_ms: a.duration_ms,
            error_class: a.error_class,
            error_message: a.error_message.as_deref(),
            started_at: a.started_at,
            next_attempt_at: a.next_attempt_at,
            state: a.state,
            unleash_state: a.unleash_state,
            state_details: &a.state_details,
        }
    }
}

/// Why a webhook was disabled when its receiver answered 410 Gone at `now`.
pub(crate) fn gone_reason(now: i64) -> String {
    format!(
        "Disabled at {}: the receiver answered 410 Gone, which says the endpoint no longer exists \
         (Standard Webhooks). Queued deliveries wait and new events are not sent to it; re-enable the webhook once \
         the receiver wants them again.",
        crate::time::iso(now)
    )
}

/// Why a webhook was disabled after failing for `disable_after_ms`.
pub(crate) fn auto_disable_reason(disable_after_ms: i64) -> String {
    format!(
        "Disabled automatically: every delivery failed for {} with no success in between. \
         Fix the receiver, then re-enable the webhook.",
        crate::time::human_duration(disable_after_ms)
    )
}

/// A claim waiting for the write queue.
pub(super) struct ClaimJob {
    ids_json: String,
    now: i64,
    lease_until: i64,
    pub(super) reply: oneshot::Sender<Result<Vec<i64>, StoreError>>,
}

/// Finished attempts waiting for the write queue.
pub(super) struct RecordJob {
    rows_json: String,
    clock: HashMap<i64, (bool, bool)>,
    /// Webhooks whose receiver answered 410 Gone in this batch.
    gone: Vec<i64>,
    disable_after_ms: i64,
    tallies: BTreeMap<i64, BreakerTally>,
    breaker: Breaker,
    pub(super) reply: oneshot::Sender<Result<BatchOutcome, StoreError>>,
}

/// Runs a claim in the write queue's transaction (SQLite's own API: see `writer`).
///
/// The circuit breaker: deliveries of a paused webhook are not claimed while its pause lasts.
/// Once it has passed (half-open), only the first of its deliveries is (the probe), and the pause
/// moves to the probe's lease, so nothing else goes to that receiver until the probe's result is
/// recorded (success closes the breaker, failure re-opens it) or its lease expires.
/// Then the rate limits and the ordering (`ClaimGate`); the buckets that took tokens are stored.
pub(super) fn claim(tx: &rusqlite::Connection, job: &ClaimJob) -> rusqlite::Result<Vec<i64>> {
    // The candidates still due and free (this transaction is the only writer), with their
    // webhook's controls, in the caller's order.
    let candidates: Vec<Candidate> = tx
        .prepare_cached(
            "select d.id, d.webhook_id, d.next_trigger = 'test', w.paused_until, w.rate_limit, w.rate_next_us, w.ordered
             from json_each(?1) as j join deliveries d on d.id = j.value join webhooks w on w.id = d.webhook_id
             where d.next_attempt_at <= ?2 and (d.lease_until is null or d.lease_until < ?2)
             order by j.key",
        )?
        .query_map(rusqlite::params![job.ids_json, job.now], |row| {
            Ok(Candidate {
                id: row.get(0)?,
                webhook_id: row.get(1)?,
                test: row.get(2)?,
                paused_until: row.get(3)?,
                rate_limit: row.get(4)?,
                rate_next_us: row.get(5)?,
                ordered: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let paused: Vec<(i64, i64, i64)> = candidates
        .iter()
        .filter_map(|c| c.paused_until.map(|paused_until| (c.id, c.webhook_id, paused_until)))
        .collect();
    let (skipped, probes) = half_open_probes(&paused, job.now);
    let mut controls: Vec<Controls> = candidates
        .iter()
        .filter(|c| c.rate_limit.is_some() || c.ordered)
        .map(|c| Controls {
            id: c.webhook_id,
            rate_limit: c.rate_limit,
            rate_next_us: c.rate_next_us,
            ordered: c.ordered,
        })
        .collect();
    controls.sort_by_key(|c| c.id);
    controls.dedup_by_key(|c| c.id);
    let heads = ordered_heads(tx, &ClaimGate::ordered(&controls))?;
    let mut gate = ClaimGate::new(&controls, &heads, job.now);
    let admitted: Vec<i64> = candidates
        .iter()
        .filter(|c| !skipped.contains(&c.id))
        .filter(|c| gate.admit(c.id, c.webhook_id, c.test))
        .map(|c| c.id)
        .collect();
    if admitted.is_empty() {
        return Ok(Vec::new());
    }
    let claimed: Vec<i64> = tx
        .prepare_cached(
            "update deliveries set lease_until = ?1
             where id in (select value from json_each(?2))
               and next_attempt_at <= ?3 and (lease_until is null or lease_until < ?3)
             returning id",
        )?
        .query_map(rusqlite::params![job.lease_until, json_ids(&admitted), job.now], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (delivery_id, webhook_id) in probes {
        if claimed.contains(&delivery_id) {
            tx.prepare_cached("update webhooks set paused_until = ?1 where id = ?2")?
                .execute(rusqlite::params![job.lease_until, webhook_id])?;
        }
    }
    for (webhook_id, next_us) in gate.rate_writes() {
        tx.prepare_cached("update webhooks set rate_next_us = ?1 where id = ?2")?
            .execute(rusqlite::params![next_us, webhook_id])?;
    }
    Ok(claimed)
}

/// A due delivery the claim may take, with its webhook's controls.
struct Candidate {
    id: i64,
    webhook_id: i64,
    /// A test send (outside any ordering).
    test: bool,
    paused_until: Option<i64>,
    rate_limit: Option<f64>,
    rate_next_us: Option<i64>,
    ordered: bool,
}

/// The first unfinished delivery (not a test send) of each of `webhooks`: the one an ordered
/// webhook may send next.
fn ordered_heads(tx: &rusqlite::Connection, webhooks: &[i64]) -> rusqlite::Result<HashMap<i64, i64>> {
    if webhooks.is_empty() {
        return Ok(HashMap::new());
    }
    tx.prepare_cached(
        "select webhook_id, min(id) from deliveries
         where webhook_id in (select value from json_each(?1)) and next_attempt_at is not null
           and next_trigger <> 'test'
         group by webhook_id",
    )?
    .query_map([json_ids(webhooks)], |row| Ok((row.get(0)?, row.get(1)?)))?
    .collect()
}

/// Of the candidate deliveries `(delivery, webhook, paused_until)` of paused webhooks (in claim
/// order): the ones not to claim now, and the probe `(delivery, webhook)` of each webhook whose
/// pause has passed (its first candidate). Shared by both backends.
pub(crate) fn half_open_probes(paused: &[(i64, i64, i64)], now: i64) -> (Vec<i64>, Vec<(i64, i64)>) {
    let mut skipped = Vec::new();
    let mut probes: Vec<(i64, i64)> = Vec::new();
    for &(delivery_id, webhook_id, paused_until) in paused {
        if paused_until <= now && !probes.iter().any(|(_, w)| *w == webhook_id) {
            probes.push((delivery_id, webhook_id));
        } else {
            skipped.push(delivery_id);
        }
    }
    (skipped, probes)
}

/// Records attempts in the write queue's transaction: three statements for the whole batch (the
/// attempt rows, the deliveries' new states, the failure clock of the webhooks that had a
/// success), then the webhooks whose attempts all failed, then the circuit breakers.
///
/// An attempt whose delivery is gone (its webhook was deleted while the request was in flight) is
/// dropped: inserting it would break the foreign key and fail the whole batch, every other
/// webhook's attempts with it.
pub(super) fn record(tx: &rusqlite::Connection, job: &RecordJob, now: i64) -> rusqlite::Result<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    tx.prepare_cached(
        "insert into attempts (delivery_id, number, trigger, url, request_headers, request_body, status,
            response_headers, response_body, response_body_encoding, duration_ms, error_class, error_message,
            started_at, next_attempt_at)
         select value ->> 'delivery_id', value ->> 'number', value ->> 'trigger', value ->> 'url',
            value ->> 'request_headers', value ->> 'request_body', value ->> 'status',
            value ->> 'response_headers', value ->> 'response_body', value ->> 'response_body_encoding',
            value ->> 'duration_ms', value ->> 'error_class', value ->> 'error_message',
            value ->> 'started_at', value ->> 'next_attempt_at'
         from json_each(?1)
         where exists (select 1 from deliveries where deliveries.id = value ->> 'delivery_id')
         order by key",
    )?
    .execute([&job.rows_json])?;
    tx.prepare_cached(
        "update deliveries set state = r.value ->> 'state', unleash_state = r.value ->> 'unleash_state',
            state_details = r.value ->> 'state_details', attempts = r.value ->> 'number',
            last_status = r.value ->> 'status', last_error_class = r.value ->> 'error_class',
            last_duration_ms = r.value ->> 'duration_ms', next_attempt_at = r.value ->> 'next_attempt_at',
            next_trigger = 'scheduled', single_attempt = 0, lease_until = null, updated_at = ?2
         from json_each(?1) as r
         where deliveries.id = r.value ->> 'delivery_id'",
    )?
    .execute(rusqlite::params![job.rows_json, now])?;
    let succeeded: Vec<i64> = job.clock.iter().filter(|(_, (success, _))| *success).map(|(id, _)| *id).collect();
    if !succeeded.is_empty() {
        tx.prepare_cached(
            "update webhooks set failing_since = null
             where id in (select value from json_each(?1)) and failing_since is not null",
        )?
        .execute([json_ids(&succeeded)])?;
    }
    for &webhook_id in &job.gone {
        let disabled = tx
            .prepare_cached(
                "update webhooks set enabled = 0, disabled_at = ?1, disabled_reason = ?2,
                    version = version + 1, updated_at = ?1, updated_by = 'dispatcher'
                 where id = ?3 and enabled = 1",
            )?
            .execute(rusqlite::params![now, gone_reason(now), webhook_id])?;
        if disabled == 1 {
            outcome.gone_webhooks.push(webhook_id);
        }
    }
    for (&webhook_id, &(any_success, any_failure)) in &job.clock {
        if !any_success && any_failure {
            tx.prepare_cached("update webhooks set failing_since = ?1 where id = ?2 and failing_since is null")?
                .execute(rusqlite::params![now, webhook_id])?;
            let disabled = tx
                .prepare_cached(
                    "update webhooks set enabled = 0, disabled_at = ?1, disabled_reason = ?2,
                        version = version + 1, updated_at = ?1, updated_by = 'dispatcher'
                     where id = ?3 and enabled = 1 and failing_since is not null and failing_since <= ?1 - ?4",
                )?
                .execute(rusqlite::params![
                    now,
                    auto_disable_reason(job.disable_after_ms),
                    webhook_id,
                    job.disable_after_ms
                ])?;
            if disabled == 1 {
                outcome.disabled_webhooks.push(webhook_id);
            }
        }
    }
    if !job.tallies.is_empty() {
        let ids: Vec<i64> = job.tallies.keys().copied().collect();
        let stored = tx
            .prepare_cached(
                "select id, consecutive_failures, paused_until from webhooks where id in (select value from json_each(?1))",
            )?
            .query_map([json_ids(&ids)], |row| {
                Ok((row.get(0)?, BreakerState { consecutive_failures: row.get(1)?, paused_until: row.get(2)? }))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let (writes, changes) = breaker_updates(&job.breaker, &job.tallies, &stored, now);
        for (webhook_id, state, last_failure) in writes {
            tx.prepare_cached(
                "update webhooks set consecutive_failures = ?1, paused_until = ?2,
                    last_failure = coalesce(?3, last_failure)
                 where id = ?4",
            )?
            .execute(rusqlite::params![
                state.consecutive_failures,
                state.paused_until,
                last_failure,
                webhook_id
            ])?;
        }
        outcome.breaker = changes;
        outcome.keep_breaker_notices_of_enabled();
    }
    Ok(outcome)
}

impl BatchOutcome {
    /// Whether the batch changed no webhook (no disablement, no breaker opened or closed).
    pub fn is_empty(&self) -> bool {
        self.disabled_webhooks.is_empty() && self.gone_webhooks.is_empty() && self.breaker.is_empty()
    }

    /// A webhook disabled in this batch is told about as disabled, not also as paused.
    pub(crate) fn keep_breaker_notices_of_enabled(&mut self) {
        let disabled: Vec<i64> = self.disabled_webhooks.iter().chain(&self.gone_webhooks).copied().collect();
        self.breaker.retain(|change| !disabled.contains(&change.webhook_id));
    }
}

impl SqliteDb {
    /// Up to `limit` deliveries that are due now and not leased, of enabled webhooks, oldest first,
    /// at most `per_webhook` of each; not those of a paused webhook, of a rate-limited one without
    /// a free token, nor those an ordered webhook holds back (the claim checks all of it again, in
    /// its transaction), nor those of the webhooks in `full` (already at their limit of requests in
    /// flight here).
    ///
    /// The query walks the webhooks that may send and reads each one's oldest due deliveries from
    /// its own index range. Walking the due index instead (oldest first, all webhooks mixed) read
    /// every held-back row on every round: a paused or hanging receiver's backlog is the oldest due
    /// work, so 10,000 of them cost ~7.5 ms per round and slowed every other webhook down. The
    /// second arm finds an ordered webhook's head, which may be due later than the deliveries
    /// queued behind it.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: i64,
        full: &[i64],
        per_webhook: i64,
    ) -> Result<Vec<DueDelivery>, sqlx::Error> {
        // `cross join` keeps the webhooks as the outer loop (SQLite's planner would otherwise
        // scan every delivery and test the subquery on each).
        sqlx::query_as(
            "select d.id, d.uid, d.webhook_id, w.version as webhook_version, d.event_id, e.payload, d.attempts,
                    d.next_trigger, d.single_attempt, d.next_attempt_at
             from webhooks w cross join deliveries d join events e on e.id = d.event_id
             where w.enabled = 1 and (w.paused_until is null or w.paused_until <= ?1)
               and (w.rate_next_us is null or w.rate_next_us <= ?1 * 1000)
               and w.id not in (select value from json_each(?3))
               and d.id in (
                    select q.id from deliveries q
                    where q.webhook_id = w.id and q.next_attempt_at <= ?1
                      and (q.lease_until is null or q.lease_until < ?1)
                    order by q.next_attempt_at limit ?4)
               and (w.ordered = 0 or d.next_trigger = 'test' or not exists (
                    select 1 from deliveries p
                    where p.webhook_id = d.webhook_id and p.id < d.id and p.next_attempt_at is not null
                      and p.next_trigger <> 'test'))
             union all
             select d.id, d.uid, d.webhook_id, w.version as webhook_version, d.event_id, e.payload, d.attempts,
                    d.next_trigger, d.single_attempt, d.next_attempt_at
             from webhooks w cross join deliveries d join events e on e.id = d.event_id
             where w.enabled = 1 and w.ordered = 1 and (w.paused_until is null or w.paused_until <= ?1)
               and (w.rate_next_us is null or w.rate_next_us <= ?1 * 1000)
               and w.id not in (select value from json_each(?3))
               and d.id = (
                    select p.id from deliveries p
                    where p.webhook_id = w.id and p.next_attempt_at is not null and p.next_trigger <> 'test'
                    order by p.id limit 1)
               and d.next_attempt_at <= ?1 and (d.lease_until is null or d.lease_until < ?1)
             order by next_attempt_at
             limit ?2",
        )
        .bind(now)
        .bind(limit)
        .bind(json_ids(full))
        .bind(per_webhook)
        .fetch_all(&self.read)
        .await
    }

    /// Leases the given deliveries until `lease_until`; returns the ids actually claimed (another
    /// dispatcher may have taken some in between). Runs in the write queue's next transaction.
    pub async fn claim_deliveries(&self, ids: &[i64], now: i64, lease_until: i64) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids_json = json_ids(ids);
        self.submit(|reply| WriteJob::Claim(ClaimJob { ids_json, now, lease_until, reply })).await
    }

    /// Gives leased deliveries back (graceful shutdown): due again at once.
    pub async fn release_deliveries(&self, ids: &[i64]) -> Result<u64, sqlx::Error> {
        let ids_json = json_ids(ids);
        let done = sqlx::query("update deliveries set lease_until = null where id in (select value from json_each(?))")
            .bind(ids_json)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// When the dispatcher should look again, read in one query (it runs after every round):
    /// the earliest next attempt still to come, the end of the first pause still
    /// running after `now` (a paused webhook's deliveries are due already, so only the pause's end
    /// says when its probe may go), and the first time a rate-limited webhook has a token again
    /// (likewise).
    pub async fn next_times(&self, now: i64) -> Result<NextTimes, sqlx::Error> {
        sqlx::query_as(
            "select (select min(next_attempt_at) from deliveries
                     where next_attempt_at > ?1 and (lease_until is null or lease_until < ?1)) as due,
                    (select min(paused_until) from webhooks where paused_until > ?1 and enabled = 1) as pause_end,
                    (select min((rate_next_us + 999) / 1000) from webhooks
                     where rate_next_us > ?1 * 1000 and enabled = 1) as rate_next",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await
    }

    /// Records a batch of attempts atomically: the attempt rows, the deliveries' new states, and
    /// each webhook's failure clock (auto-disabling it when `disable_after_ms` of failures passed
    /// with no success). Runs in the write queue's next transaction; the rows are rendered here,
    /// by the caller, so the writer only runs the statements.
    pub async fn record_attempts(
        &self,
        batch: &[AttemptRecord],
        disable_after_ms: i64,
        breaker: Breaker,
    ) -> Result<BatchOutcome, StoreError> {
        // The whole batch travels as one JSON array (see `RecordRow`).
        let rows: Vec<RecordRow<'_>> = batch.iter().map(RecordRow::of).collect();
        let rows_json = serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        // Per webhook: did any attempt in this batch succeed, did any fail.
        let mut clock: HashMap<i64, (bool, bool)> = HashMap::new();
        for a in batch {
            let entry = clock.entry(a.webhook_id).or_default();
            if a.succeeded {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
        let mut gone: Vec<i64> = batch.iter().filter(|a| a.status == GONE).map(|a| a.webhook_id).collect();
        gone.sort_unstable();
        gone.dedup();
        let tallies = breaker_tallies(batch.iter());
        self.submit(|reply| {
            WriteJob::Record(RecordJob { rows_json, clock, gone, disable_after_ms, tallies, breaker, reply })
        })
        .await
    }

    /// Queue figures for `/metrics`.
    pub async fn queue_gauges(&self, now: i64) -> Result<crate::metrics::QueueGauges, sqlx::Error> {
        let (due, waiting, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
            "select
                coalesce(sum(case when next_attempt_at <= ?1 then 1 else 0 end), 0),
                coalesce(sum(case when next_attempt_at > ?1 and attempts > 0 then 1 else 0 end), 0),
                min(created_at)
             from deliveries where next_attempt_at is not null",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        Ok(crate::metrics::QueueGauges {
            due,
            waiting_retries: waiting,
            oldest_pending_age_seconds: oldest.map(|at| (now - at).max(0) as f64 / 1000.0).unwrap_or(0.0),
            ..Default::default()
        })
    }

    /// The state and time of each webhook's newest delivery: one index seek per webhook
    /// (a `group by` over the deliveries would read the whole log).
    pub async fn last_delivery_per_webhook(&self) -> Result<HashMap<i64, (DeliveryState, i64)>, sqlx::Error> {
        let rows: Vec<(i64, DeliveryState, i64)> = sqlx::query_as(
            "select d.webhook_id, d.state, d.updated_at
             from webhooks w join deliveries d
               on d.id = (select max(id) from deliveries where webhook_id = w.id)",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(id, state, at)| (id, (state, at))).collect())
    }

    pub async fn last_delivery_of(&self, webhook_id: i64) -> Result<Option<(DeliveryState, i64)>, sqlx::Error> {
        sqlx::query_as("select state, updated_at from deliveries where webhook_id = ? order by id desc limit 1")
            .bind(webhook_id)
            .fetch_optional(&self.read)
            .await
    }

    /// The first unfinished delivery of the webhook (not a test send) and how many wait behind
    /// it: what an ordered webhook's page shows.
    pub async fn head_of_line(&self, webhook_id: i64) -> Result<Option<HeadOfLineRow>, sqlx::Error> {
        sqlx::query_as(HEAD_OF_LINE).bind(webhook_id).fetch_optional(&self.read).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    fn record(delivery_id: i64, webhook_id: i64, body: &str, next: Option<i64>) -> AttemptRecord {
        AttemptRecord {
            delivery_id,
            webhook_id,
            number: 1,
            trigger: AttemptTrigger::Scheduled,
            url: "http://127.0.0.1:9/hook?q=\"x\"".into(),
            request_headers: r#"[["content-type","application/json"]]"#.into(),
            request_body: body.into(),
            status: if next.is_some() { 500 } else { 200 },
            response_headers: next.map(|_| "[]".to_string()),
            response_body: next.map(|_| format!("back: {body}")),
            response_body_encoding: "utf-8",
            duration_ms: 7,
            error_class: next.map(|_| ErrorClass::Http),
            error_message: None,
            started_at: 1_700_000_000_123,
            state: if next.is_some() { DeliveryState::Retrying } else { DeliveryState::Succeeded },
            unleash_state: if next.is_some() { UnleashState::Failed } else { UnleashState::Success },
            state_details: "Webhook request was successful with status code: 200.".into(),
            next_attempt_at: next,
            succeeded: next.is_none(),
        }
    }

    fn tally(succeeded: bool, failures_after: i64) -> BreakerTally {
        BreakerTally { succeeded, failures_after, last_failure: (failures_after > 0).then(|| "HTTP 500".into()) }
    }

    #[test]
    fn the_breaker_opens_after_n_failures_in_a_row_and_closes_on_success() {
        let breaker = Breaker { failures: 3, cooldown_ms: 1_000 };
        let closed = BreakerState::default();
        let (two, change) = breaker.next(closed, &tally(false, 2), 100);
        assert_eq!((two, change), (BreakerState { consecutive_failures: 2, paused_until: None }, None));
        let (open, change) = breaker.next(two, &tally(false, 1), 200);
        assert_eq!(open, BreakerState { consecutive_failures: 3, paused_until: Some(1_200) });
        assert_eq!(change, Some(NoticeKind::Paused));
        // A failed probe re-opens from now, without a second notice.
        let (again, change) = breaker.next(open, &tally(false, 1), 1_500);
        assert_eq!((again.paused_until, change), (Some(2_500), None));
        // A success closes it; failures after the success in the same batch count anew.
        let (closed_again, change) = breaker.next(again, &tally(true, 1), 2_600);
        assert_eq!(closed_again, BreakerState { consecutive_failures: 1, paused_until: None });
        assert_eq!(change, Some(NoticeKind::Resumed));
        // Off: counted, never paused.
        let (counted, change) = Breaker::OFF.next(closed, &tally(false, 50), 0);
        assert_eq!((counted.consecutive_failures, counted.paused_until, change), (50, None, None));
    }

    #[test]
    fn a_half_open_breaker_lets_one_probe_per_webhook_through() {
        // (delivery, webhook, paused_until) in claim order; now = 100.
        let paused = [(1, 7, 100), (2, 7, 50), (3, 8, 500), (4, 9, 10), (5, 8, 500), (6, 9, 10)];
        let (skipped, probes) = half_open_probes(&paused, 100);
        assert_eq!(probes, [(1, 7), (4, 9)]);
        assert_eq!(skipped, [2, 3, 5, 6]);
    }

    #[test]
    fn a_bucket_spaces_deliveries_after_a_burst_of_one_seconds_worth() {
        // 4 per second: a burst of 4, then one every 250 ms.
        let mut bucket = Bucket::new(4.0, None);
        let now = 1_000_000_000;
        assert_eq!((0..6).filter(|_| bucket.take(now)).count(), 4);
        assert!(!bucket.take(now + 249_000));
        assert!(bucket.take(now + 250_000));
        assert!(!bucket.take(now + 250_000));
        // Quiet for a long time: the burst is back, no more.
        let later = now + 60_000_000;
        assert_eq!((0..10).filter(|_| bucket.take(later)).count(), 4);
        // Below 1 per second the burst is 1: 0.5/s is one every 2 s.
        let mut slow = Bucket::new(0.5, None);
        assert!(slow.take(now));
        assert!(!slow.take(now + 1_999_999));
        assert!(slow.take(now + 2_000_000));
        // The stored state carries over: a bucket read back from `next_us` refuses the same.
        let stored = Bucket::new(0.5, Some(slow.next_us));
        assert_eq!(stored, slow);
    }

    #[test]
    fn the_gate_lets_an_ordered_webhook_send_only_its_head() {
        let controls = [
            Controls { id: 7, rate_limit: None, rate_next_us: None, ordered: true },
            Controls { id: 8, rate_limit: Some(2.0), rate_next_us: None, ordered: false },
        ];
        let heads = HashMap::from([(7, 10)]);
        let mut gate = ClaimGate::new(&controls, &heads, 5_000);
        assert!(!gate.admit(11, 7, false), "behind the head");
        assert!(gate.admit(10, 7, false), "the head");
        assert!(!gate.admit(10, 7, false), "once");
        assert!(gate.admit(99, 7, true), "a test send is outside the order");
        assert!(gate.admit(20, 8, false) && gate.admit(21, 8, false), "a burst of 2");
        assert!(!gate.admit(22, 8, false), "then the rate");
        assert!(gate.admit(30, 9, false), "no controls");
        assert_eq!(gate.rate_writes(), [(8, 5_000_000 + 500_000)]);
        // An ordered webhook with nothing unfinished (its head just finished) sends nothing stale.
        let mut gate = ClaimGate::new(&controls, &HashMap::new(), 5_000);
        assert!(!gate.admit(10, 7, false));
    }

    #[test]
    fn tallies_count_the_failures_after_the_last_success() {
        let mut batch = [
            record(1, 7, "a", Some(5)),
            record(2, 7, "b", None),
            record(3, 7, "c", Some(5)),
            record(4, 8, "d", Some(5)),
        ];
        batch[2].error_message = Some("Connection refused".into());
        let tallies = breaker_tallies(batch.iter());
        assert_eq!(
            tallies[&7],
            BreakerTally { succeeded: true, failures_after: 1, last_failure: Some("Connection refused".into()) }
        );
        assert_eq!(tallies[&8].failures_after, 1);
        assert!(!tallies[&8].succeeded);
    }

    /// Each webhook gives at most `per_webhook` candidates, a paused webhook none however old its
    /// backlog, and an ordered webhook its head even when the deliveries queued behind the head
    /// are due earlier (a retrying head is due later than what queued up meanwhile).
    #[tokio::test]
    async fn due_work_is_read_per_webhook_and_finds_an_ordered_head() {
        let (_dir, db) = testing::open().await;
        let paused = testing::webhook(&db, &["feature-created"]).await;
        let busy = testing::webhook(&db, &["feature-created"]).await;
        let ordered = testing::webhook(&db, &["feature-created"]).await;
        let events = (0..6).map(|n| testing::event(None, "feature-created", &format!("f{n}"))).collect();
        db.insert_events(events).await.expect("insert");
        let now: i64 =
            sqlx::query_scalar("select max(next_attempt_at) from deliveries").fetch_one(&db.write).await.expect("now");
        let run = |statement: &'static str, webhook: i64| {
            let pool = db.write.clone();
            async move { sqlx::query(statement).bind(now).bind(webhook).execute(&pool).await.expect(statement) }
        };
        // Every delivery due, each webhook's in event order; the paused webhook's are the oldest.
        run(
            "update deliveries set next_attempt_at = ?1 - 1000 + id * (case when webhook_id = ?2 then 1 else 10 end)",
            paused.id,
        )
        .await;
        run("update webhooks set paused_until = ?1 + 60000 where id = ?2", paused.id).await;
        run("update webhooks set ordered = (?1 > 0) where id = ?2", ordered.id).await;
        // The ordered webhook's head is retrying: due after everything queued behind it.
        run(
            "update deliveries set next_attempt_at = ?1, attempts = 1
             where id = (select min(id) from deliveries where webhook_id = ?2)",
            ordered.id,
        )
        .await;
        let head: i64 = sqlx::query_scalar("select min(id) from deliveries where webhook_id = ?1")
            .bind(ordered.id)
            .fetch_one(&db.write)
            .await
            .expect("head");

        let due = db.due_deliveries(now, 100, &[], 2).await.expect("due");
        let of = |webhook: i64| due.iter().filter(|d| d.webhook_id == webhook).map(|d| d.id).collect::<Vec<_>>();
        assert!(of(paused.id).is_empty(), "a paused webhook gives nothing: {:?}", of(paused.id));
        assert_eq!(of(busy.id).len(), 2, "two of six, the oldest first");
        assert_eq!(of(ordered.id), vec![head], "only the head, though due last");
        let times: Vec<i64> = due.iter().map(|d| d.id).collect();
        assert_eq!(times.len(), 3, "{times:?}");
    }

    /// The enums' words are the only ones the tables take, whatever SQL writes them.
    #[tokio::test]
    async fn wrong_words_cannot_be_stored() {
        let (_dir, db) = testing::open().await;
        testing::webhook(&db, &["feature-created"]).await;
        db.insert_events(vec![testing::event(None, "feature-created", "f")]).await.expect("insert");
        let id: i64 = sqlx::query_scalar("select id from deliveries").fetch_one(&db.write).await.expect("id");
        for (column, word) in
            [("state", "done"), ("unleash_state", "ok"), ("next_trigger", "cron"), ("last_error_class", "Dns")]
        {
            let refused = sqlx::query(&format!("update deliveries set {column} = ? where id = ?"))
                .bind(word)
                .bind(id)
                .execute(&db.write)
                .await
                .expect_err("refused");
            assert!(refused.to_string().contains("not one of its words"), "{column}: {refused}");
        }
        for state in DeliveryState::ALL {
            sqlx::query("update deliveries set state = ? where id = ?")
                .bind(state)
                .bind(id)
                .execute(&db.write)
                .await
                .expect("every enum word is stored");
            let row = db.delivery(id).await.expect("read").expect("delivery");
            assert_eq!(row.state, *state);
        }
        let attempt = sqlx::query(
            "insert into attempts (delivery_id, number, trigger, url, request_headers, request_body, status,
                duration_ms, started_at) values (?, 1, 'later', '', '[]', '', 0, 0, 0)",
        )
        .bind(id)
        .execute(&db.write)
        .await;
        assert!(attempt.is_err_and(|e| e.to_string().contains("not one of its words")));
    }

    /// A batch travels as JSON: text with quotes, backslashes, control characters, NUL and
    /// non-ASCII characters, nulls and large integers come back exactly as recorded.
    #[tokio::test]
    async fn recorded_attempts_come_back_exactly() {
        let (_dir, db) = testing::open().await;
        let webhook = testing::webhook(&db, &["feature-created"]).await;
        let events = (0..3).map(|n| testing::event(None, "feature-created", &format!("f{n}"))).collect();
        db.insert_events(events).await.expect("insert");
        let due = db.due_deliveries(i64::MAX / 2, 10, &[], 10).await.expect("due");
        assert_eq!(due.len(), 3);
        let bodies = ["{\"a\":\"\\\\ \\\" \\u0000\"}", "nul \0 in the middle, tab \t, line\nbreak", "ünïcödé 🎉 ✓"];
        let batch: Vec<AttemptRecord> = due
            .iter()
            .zip(bodies)
            .enumerate()
            .map(|(n, (d, body))| record(d.id, webhook.id, body, (n == 1).then_some(i64::MAX / 4)))
            .collect();
        db.record_attempts(&batch, 60_000, Breaker::OFF).await.expect("record");
        for record in &batch {
            let attempts = db.attempts_of(record.delivery_id).await.expect("attempts");
            assert_eq!(attempts.len(), 1);
            let got = &attempts[0];
            assert_eq!(got.request_body, record.request_body);
            assert_eq!(got.url, record.url);
            assert_eq!(got.request_headers, record.request_headers);
            assert_eq!(got.response_body, record.response_body);
            assert_eq!(got.response_headers, record.response_headers);
            assert_eq!(got.error_class, record.error_class);
            assert_eq!(got.error_message, record.error_message);
            assert_eq!(
                (got.number, got.status, got.duration_ms, got.started_at, got.next_attempt_at),
                (record.number, record.status, record.duration_ms, record.started_at, record.next_attempt_at)
            );
            let delivery = db.delivery(record.delivery_id).await.expect("read").expect("delivery");
            assert_eq!(delivery.state, record.state);
            assert_eq!(delivery.unleash_state, Some(record.unleash_state));
            assert_eq!(delivery.state_details.as_deref(), Some(record.state_details.as_str()));
            assert_eq!(
                (delivery.attempts, delivery.last_status, delivery.last_duration_ms, delivery.next_attempt_at),
                (1, Some(record.status), Some(7), record.next_attempt_at)
            );
            assert_eq!(delivery.last_error_class, record.error_class);
        }
        let leased: i64 = sqlx::query_scalar("select count(*) from deliveries where lease_until is not null")
            .fetch_one(&db.read)
            .await
            .expect("count");
        assert_eq!(leased, 0);
    }
}
