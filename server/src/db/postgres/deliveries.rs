//! The delivery queue on PostgreSQL (see `db::deliveries`), shared by every instance.
//!
//! A claim leases due deliveries to this instance (`claimed_by`, `lease_until`) with
//! `FOR UPDATE SKIP LOCKED`, so instances claiming at once take different rows instead of waiting
//! on each other. The per-webhook concurrency limit counts the leases every instance holds, under
//! a transaction advisory lock per webhook, so the limit holds across instances. Recording an
//! attempt is a compare-and-set on the lease: once another instance has taken the delivery over
//! (this one stalled past its lease), this one's late result is dropped, never written over newer
//! work; the delivery is sent again by its new owner (at-least-once). The rate limits and the
//! ordering are decided under the same advisory locks, so they too hold across instances.

use std::collections::HashMap;

use hookline_core::delivery::{AttemptTrigger, DeliveryState, ErrorClass, UnleashState};

use super::events::without_nul;
use super::PgDb;
use crate::db::deliveries::{
    breaker_tallies, breaker_updates, AttemptRecord, BatchOutcome, Breaker, BreakerState, ClaimGate, Controls,
    DueDelivery, HeadOfLineRow, NextTimes, GONE,
};
use crate::db::StoreError;

/// The namespace of the per-webhook advisory locks (the second key is the webhook id).
pub(super) const WEBHOOK_LOCKS: i32 = 0x686f_6f6b; // "hook"

/// One attempt as a row of `record_attempts`' statement (`jsonb_to_recordset`).
#[derive(serde::Serialize)]
struct RecordRow {
    delivery_id: i64,
    number: i64,
    trigger: AttemptTrigger,
    url: String,
    request_headers: String,
    request_body: String,
    status: i64,
    response_headers: Option<String>,
    response_body: Option<String>,
    response_body_encoding: &'static str,
    duration_ms: i64,
    error_class: Option<ErrorClass>,
    error_message: Option<String>,
    started_at: i64,
    next_attempt_at: Option<i64>,
    state: DeliveryState,
    unleash_state: UnleashState,
    state_details: String,
    succeeded: bool,
}

impl RecordRow {
    /// PostgreSQL text cannot hold NUL: a receiver's answer or a rendered body that has one is
    /// stored with U+FFFD in its place (the request itself went out as rendered).
    fn of(a: &AttemptRecord) -> Self {
        let clean = |text: &Option<String>| text.as_deref().map(without_nul);
        RecordRow {
            delivery_id: a.delivery_id,
            number: a.number,
            trigger: a.trigger,
            url: without_nul(&a.url),
            request_headers: without_nul(&a.request_headers),
            request_body: without_nul(&a.request_body),
            status: a.status,
            response_headers: clean(&a.response_headers),
            response_body: clean(&a.response_body),
            response_body_encoding: a.response_body_encoding,
            duration_ms: a.duration_ms,
            error_class: a.error_class,
            error_message: clean(&a.error_message),
            started_at: a.started_at,
            next_attempt_at: a.next_attempt_at,
            state: a.state,
            unleash_state: a.unleash_state,
            state_details: without_nul(&a.state_details),
            succeeded: a.succeeded,
        }
    }
}

/// The settings of the queue's own transactions (claims and attempt records), for this
/// transaction only, in one round trip:
///
/// - **Commit without waiting for the WAL flush** (`synchronous_commit = off`). Safe for
///   at-least-once: should PostgreSQL lose the last fraction of a second of these commits in a
///   crash, a claim is simply not held (the delivery is due again) and an attempt not recorded
///   (the delivery is sent again); nothing accepted is lost. The intake still waits for its
///   flush: an accepted event is on disk before its 202.
/// - **Plan each statement for its parameters** (`plan_cache_mode = force_custom_plan`). The
///   `deliveries` table is a queue: it starts empty, grows by thousands of rows a second and
///   turns over faster than autovacuum's statistics follow. After five runs PostgreSQL may keep a
///   prepared statement's generic plan for the life of the connection, and one made while the
///   table was small reads it sequentially: measured on a new database, the attempt records and
///   claims scanned the whole table each time (1.5 ms of PostgreSQL CPU per delivery, growing with
///   the table). A custom plan looks at the ids actually bound and takes the primary key.
/// - **No bitmap scans** (`enable_bitmapscan = off`). Every statement here reads a few rows by
///   key, but the lease index keeps an entry for each row updated since the last vacuum (every
///   claim adds one, every record leaves one dead): a plain index scan marks the dead entries as
///   it passes and skips them from then on, while a bitmap scan, which the planner prefers,
///   visited every one of them again on each claim.
///
/// Sent with `begin` itself (one simple query, so no round trip of its own; `set local` works
/// behind PgBouncer in transaction mode too, unlike settings given when connecting).
async fn queue_transaction(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin_with(
        "begin; set local synchronous_commit = off; set local plan_cache_mode = force_custom_plan;
         set local enable_bitmapscan = off",
    )
    .await
}

/// Takes the advisory locks of `webhooks` (sorted ascending) until the transaction ends: the
/// claims and the intake's leases count a webhook's leases under it. In id order, so two
/// transactions locking overlapping sets cannot deadlock (`unnest` yields the array in its
/// order); one statement, however many webhooks.
pub(super) async fn lock_webhooks(tx: &mut sqlx::PgConnection, webhooks: &[i64]) -> Result<(), sqlx::Error> {
    debug_assert!(webhooks.is_sorted());
    sqlx::query("select count(pg_advisory_xact_lock($1, w::int)) from unnest($2::bigint[]) as w")
        .bind(WEBHOOK_LOCKS)
        .bind(webhooks)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

impl PgDb {
    /// As on SQLite (see `SqliteDb::due_deliveries`): each webhook that may send contributes its
    /// oldest due deliveries, read from its own index range, so a held-back backlog costs nothing.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: i64,
        full: &[i64],
        per_webhook: i64,
    ) -> Result<Vec<DueDelivery>, sqlx::Error> {
        sqlx::query_as(
            "select d.id, d.uid, d.webhook_id, w.version as webhook_version, d.event_id, e.payload, d.attempts,
                    d.next_trigger, d.single_attempt, d.next_attempt_at
             from webhooks w
             cross join lateral (
                    select q.* from deliveries q
                    where q.webhook_id = w.id and q.next_attempt_at <= $1
                      and (q.lease_until is null or q.lease_until < $1)
                    order by q.next_attempt_at limit $4) d
             join events e on e.id = d.event_id
             where w.enabled and (w.paused_until is null or w.paused_until <= $1)
               and (w.rate_next_us is null or w.rate_next_us <= $1 * 1000)
               and w.id <> all($3)
               and (not w.ordered or d.next_trigger = 'test' or not exists (
                    select 1 from deliveries p
                    where p.webhook_id = d.webhook_id and p.id < d.id and p.next_attempt_at is not null
                      and p.next_trigger <> 'test'))
             union all
             select d.id, d.uid, d.webhook_id, w.version as webhook_version, d.event_id, e.payload, d.attempts,
                    d.next_trigger, d.single_attempt, d.next_attempt_at
             from webhooks w
             cross join lateral (
                    select p.* from deliveries p
                    where p.webhook_id = w.id and p.next_attempt_at is not null and p.next_trigger <> 'test'
                    order by p.id limit 1) d
             join events e on e.id = d.event_id
             where w.enabled and w.ordered and (w.paused_until is null or w.paused_until <= $1)
               and (w.rate_next_us is null or w.rate_next_us <= $1 * 1000)
               and w.id <> all($3)
               and d.next_attempt_at <= $1 and (d.lease_until is null or d.lease_until < $1)
             order by next_attempt_at
             limit $2",
        )
        .bind(now)
        .bind(limit)
        .bind(full)
        .bind(per_webhook)
        .fetch_all(&self.pool)
        .await
    }

    /// Leases those of `ids` that are still due and free, within each webhook's concurrency limit
    /// counted over every instance; returns the ids this instance now holds.
    pub async fn claim_deliveries(&self, ids: &[i64], now: i64, lease_until: i64) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = queue_transaction(&self.pool).await?;
        // Rows another instance is claiming right now are skipped, not waited for. (`+ 0` keeps the
        // planner on the primary key: with the due index as well it read every due row.)
        let free: Vec<(i64, i64, bool)> = sqlx::query_as(
            "select id, webhook_id, next_trigger = 'test' from deliveries
             where id = any($1) and next_attempt_at + 0 <= $2 and (lease_until is null or lease_until < $2)
             order by id
             for update skip locked",
        )
        .bind(ids)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        if free.is_empty() {
            return Ok(Vec::new());
        }
        let mut webhooks: Vec<i64> = free.iter().map(|(_, webhook, _)| *webhook).collect();
        webhooks.sort_unstable();
        webhooks.dedup();
        lock_webhooks(&mut tx, &webhooks).await?;
        // Read under the webhooks' advisory locks (a statement after the one that took them, so
        // its snapshot sees every claim committed before), so every instance takes the same
        // decision: each webhook's leases (but this instance's landed ones, see
        // `HandoffSlot::landed`), counted up to its limit (more cannot change the decision), and
        // its controls. The circuit breaker: a paused webhook gets nothing; one
        // whose pause has passed (half-open) gets one delivery, the probe, and its pause moves to
        // the probe's lease (below). Then the rate limits and the ordering (`ClaimGate`).
        // (webhook, leases, paused_until, rate_limit, rate_next_us, ordered)
        type ControlRow = (i64, i64, Option<i64>, Option<f64>, Option<i64>, bool);
        let controlled: Vec<ControlRow> = sqlx::query_as(
            "select w.id,
                    (select count(*) from (
                        select 1 from deliveries d
                        where d.webhook_id = w.id and d.lease_until >= $2 and d.id <> all($4)
                        order by d.lease_until limit $3) l),
                    w.paused_until, w.rate_limit, w.rate_next_us, w.ordered
             from webhooks w where w.id = any($1)",
        )
        .bind(&webhooks)
        .bind(now)
        .bind(self.webhook_concurrency)
        .bind(self.handoff.landed())
        .fetch_all(&mut *tx)
        .await?;
        // Each webhook's free slots: its limit less the leases every instance holds.
        let mut room: HashMap<i64, i64> = webhooks.iter().map(|w| (*w, self.webhook_concurrency)).collect();
        for c in &controlled {
            if let Some(left) = room.get_mut(&c.0) {
                *left -= c.1;
            }
        }
        let paused: Vec<(i64, i64)> =
            controlled.iter().filter_map(|c| c.2.map(|paused_until| (c.0, paused_until))).collect();
        let controls: Vec<Controls> = controlled
            .iter()
            .filter(|c| c.3.is_some() || c.5)
            .map(|c| Controls { id: c.0, rate_limit: c.3, rate_next_us: c.4, ordered: c.5 })
            .collect();
        let ordered = ClaimGate::ordered(&controls);
        let heads: HashMap<i64, i64> = if ordered.is_empty() {
            HashMap::new()
        } else {
            sqlx::query_as(
                "select webhook_id, min(id) from deliveries
                 where webhook_id = any($1) and next_attempt_at is not null and next_trigger <> 'test'
                 group by webhook_id",
            )
            .bind(&ordered)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect()
        };
        let mut gate = ClaimGate::new(&controls, &heads, now);
        let mut probing = Vec::new();
        for (webhook, paused_until) in paused {
            if let Some(left) = room.get_mut(&webhook) {
                // Still paused, or its probe (or any delivery) is in flight already.
                if paused_until > now || *left < self.webhook_concurrency {
                    *left = 0;
                } else {
                    *left = (*left).min(1);
                    probing.push(webhook);
                }
            }
        }
        // Keep the caller's order (oldest due first).
        let order: HashMap<i64, usize> = ids.iter().enumerate().map(|(n, id)| (*id, n)).collect();
        let mut free = free;
        free.sort_by_key(|(id, _, _)| order.get(id).copied().unwrap_or(usize::MAX));
        let chosen: Vec<i64> = free
            .into_iter()
            .filter(|(id, webhook, test)| match room.get_mut(webhook) {
                Some(left) if *left > 0 && gate.admit(*id, *webhook, *test) => {
                    *left -= 1;
                    true
                }
                _ => false,
            })
            .map(|(id, _, _)| id)
            .collect();
        if chosen.is_empty() {
            // Ended now, not when the dropped transaction's rollback gets sent: until then its
            // row locks hide these deliveries from every claim (`skip locked`) and its advisory
            // locks hold up the webhooks' claims and intakes.
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let claimed: Vec<i64> = sqlx::query_scalar(
            "update deliveries set lease_until = $2, claimed_by = $3 where id = any($1) returning id",
        )
        .bind(&chosen)
        .bind(lease_until)
        .bind(&*self.instance)
        .fetch_all(&mut *tx)
        .await?;
        if !probing.is_empty() {
            sqlx::query(
                "update webhooks set paused_until = $2
                 where id = any($1) and id in (select webhook_id from deliveries where id = any($3))",
            )
            .bind(&probing)
            .bind(lease_until)
            .bind(&claimed)
            .execute(&mut *tx)
            .await?;
        }
        // Every chosen row is locked by this transaction: all were claimed, so every token taken
        // is spent.
        let rate_writes = gate.rate_writes();
        if !rate_writes.is_empty() {
            let (ids, next): (Vec<i64>, Vec<i64>) = rate_writes.into_iter().unzip();
            sqlx::query(
                "update webhooks w set rate_next_us = r.next_us
                 from unnest($1::bigint[], $2::bigint[]) as r(id, next_us) where w.id = r.id",
            )
            .bind(&ids)
            .bind(&next)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Gives this instance's leases back (graceful shutdown): due again at once, for any instance.
    pub async fn release_deliveries(&self, ids: &[i64]) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "update deliveries set lease_until = null, claimed_by = null where id = any($1) and claimed_by = $2",
        )
        .bind(ids)
        .bind(&*self.instance)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            self.announce_deliveries(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub async fn next_times(&self, now: i64) -> Result<NextTimes, sqlx::Error> {
        sqlx::query_as(
            "select (select min(next_attempt_at) from deliveries
                     where next_attempt_at > $1 and (lease_until is null or lease_until < $1)) as due,
                    (select min(paused_until) from webhooks where paused_until > $1 and enabled) as pause_end,
                    (select min((rate_next_us + 999) / 1000) from webhooks
                     where rate_next_us > $1 * 1000 and enabled) as rate_next",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
    }

    /// `SqliteDb::record_attempts`, with the lease check: only attempts whose delivery this
    /// instance still holds are written (see the module's comment).
    pub async fn record_attempts(
        &self,
        batch: &[AttemptRecord],
        disable_after_ms: i64,
        breaker: Breaker,
    ) -> Result<BatchOutcome, StoreError> {
        let now = self.clock.now_ms();
        let rows: Vec<RecordRow> = batch.iter().map(RecordRow::of).collect();
        let rows_json = serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let mut batch_webhooks: Vec<i64> = batch.iter().map(|a| a.webhook_id).collect();
        batch_webhooks.sort_unstable();
        batch_webhooks.dedup();
        let mut tx = queue_transaction(&self.pool).await?;
        // One statement records the batch and reads what the rest of the transaction needs: the
        // attempts whose lease this instance still holds are written (`owned`, `written`), the
        // failure clock of each webhook that had a success stops (`reset`), and the breaker state
        // of the batch's webhooks is read as committed. Kinds of rows: 0 = a written attempt's
        // delivery; 1 = a webhook (id, consecutive failures, paused until).
        let answer: Vec<(i32, i64, i64, Option<i64>)> = sqlx::query_as(
            "with r as (
                select * from jsonb_to_recordset($1::jsonb) as r(delivery_id bigint, number bigint, trigger text,
                    url text, request_headers text, request_body text, status bigint, response_headers text,
                    response_body text, response_body_encoding text, duration_ms bigint, error_class text,
                    error_message text, started_at bigint, next_attempt_at bigint, state text, unleash_state text,
                    state_details text, succeeded boolean)
             ),
             owned as (
                update deliveries d set state = r.state, unleash_state = r.unleash_state,
                    state_details = r.state_details, attempts = r.number, last_status = r.status,
                    last_error_class = r.error_class, last_duration_ms = r.duration_ms,
                    next_attempt_at = r.next_attempt_at, next_trigger = 'scheduled', single_attempt = false,
                    lease_until = null, claimed_by = null, updated_at = $2
                from r
                where d.id = any($4) and d.id = r.delivery_id and d.claimed_by = $3 and d.lease_until >= $2
                returning d.id, d.webhook_id
             ),
             written as (
                insert into attempts (delivery_id, number, trigger, url, request_headers, request_body, status,
                    response_headers, response_body, response_body_encoding, duration_ms, error_class, error_message,
                    started_at, next_attempt_at)
                select delivery_id, number, trigger, url, request_headers, request_body, status, response_headers,
                    response_body, response_body_encoding, duration_ms, error_class, error_message, started_at,
                    next_attempt_at
                from r where delivery_id in (select id from owned)
                returning delivery_id
             ),
             reset as (
                update webhooks set failing_since = null
                where id = any($5) and failing_since is not null
                  and id in (select o.webhook_id from owned o join r on r.delivery_id = o.id where r.succeeded)
             )
             select 0, delivery_id, 0::bigint, null::bigint from written
             union all
             select 1, id, consecutive_failures, paused_until from webhooks where id = any($5)",
        )
        .bind(&rows_json)
        .bind(now)
        .bind(&*self.instance)
        // The ids again, as an array: the planner knows an array's length, not how many rows
        // `jsonb_to_recordset` yields (it assumes 100), and with only the join it read the table
        // sequentially instead of taking these rows by primary key.
        .bind(batch.iter().map(|a| a.delivery_id).collect::<Vec<i64>>())
        .bind(&batch_webhooks)
        .fetch_all(&mut *tx)
        .await?;
        let mut owned = Vec::with_capacity(batch.len());
        let mut committed: HashMap<i64, BreakerState> = HashMap::new();
        for (kind, id, consecutive_failures, paused_until) in answer {
            if kind == 0 {
                owned.push(id);
            } else {
                committed.insert(id, BreakerState { consecutive_failures, paused_until });
            }
        }
        if owned.len() < batch.len() {
            tracing::warn!(
                dropped = batch.len() - owned.len(),
                "attempts finished after their lease was lost (or their webhook deleted): not recorded; the delivery \
                 is sent again by the instance that holds it now"
            );
        }
        let owned: std::collections::HashSet<i64> = owned.into_iter().collect();
        // Per webhook: did any recorded attempt succeed, did any fail.
        let mut clock: HashMap<i64, (bool, bool)> = HashMap::new();
        for a in batch.iter().filter(|a| owned.contains(&a.delivery_id)) {
            let entry = clock.entry(a.webhook_id).or_default();
            if a.succeeded {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
        let mut outcome = BatchOutcome::default();
        let mut gone: Vec<i64> =
            batch.iter().filter(|a| a.status == GONE && owned.contains(&a.delivery_id)).map(|a| a.webhook_id).collect();
        gone.sort_unstable();
        gone.dedup();
        for webhook_id in gone {
            let disabled = sqlx::query(
                "update webhooks set enabled = false, disabled_at = $1, disabled_reason = $2,
                    version = version + 1, updated_at = $1, updated_by = 'dispatcher'
                 where id = $3 and enabled",
            )
            .bind(now)
            .bind(crate::db::deliveries::gone_reason(now))
            .bind(webhook_id)
            .execute(&mut *tx)
            .await?;
            if disabled.rows_affected() == 1 {
                outcome.gone_webhooks.push(webhook_id);
            }
        }
        for (&webhook_id, &(any_success, any_failure)) in &clock {
            if any_success || !any_failure {
                continue;
            }
            sqlx::query("update webhooks set failing_since = $1 where id = $2 and failing_since is null")
                .bind(now)
                .bind(webhook_id)
                .execute(&mut *tx)
                .await?;
            let disabled = sqlx::query(
                "update webhooks set enabled = false, disabled_at = $1, disabled_reason = $2,
                    version = version + 1, updated_at = $1, updated_by = 'dispatcher'
                 where id = $3 and enabled and failing_since is not null and failing_since <= $1 - $4",
            )
            .bind(now)
            .bind(crate::db::deliveries::auto_disable_reason(disable_after_ms))
            .bind(webhook_id)
            .bind(disable_after_ms)
            .execute(&mut *tx)
            .await?;
            if disabled.rows_affected() == 1 {
                outcome.disabled_webhooks.push(webhook_id);
            }
        }
        // The circuit breaker, in this transaction. A batch that changes no breaker (successes to
        // healthy webhooks, the usual case) reads the committed state and locks nothing. One that
        // does locks the rows in id order and reads them again, so a change recorded by another
        // instance at the same time is counted before or after, never lost. `for no key update`,
        // not `for update`: it does not wait for the intake's foreign-key checks (`for key share`
        // on the same webhook rows), which `for update` did for every batch.
        let tallies = breaker_tallies(batch.iter().filter(|a| owned.contains(&a.delivery_id)));
        if !tallies.is_empty() {
            let ids: Vec<i64> = tallies.keys().copied().collect();
            let (mut writes, mut changes) = breaker_updates(&breaker, &tallies, &committed, now);
            if !writes.is_empty() || !changes.is_empty() {
                let stored: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
                    "select id, consecutive_failures, paused_until from webhooks where id = any($1)
                     order by id for no key update",
                )
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
                let stored = stored
                    .into_iter()
                    .map(|(id, consecutive_failures, paused_until)| {
                        (id, BreakerState { consecutive_failures, paused_until })
                    })
                    .collect();
                (writes, changes) = breaker_updates(&breaker, &tallies, &stored, now);
            }
            for (webhook_id, state, last_failure) in writes {
                sqlx::query(
                    "update webhooks set consecutive_failures = $1, paused_until = $2,
                        last_failure = coalesce($3, last_failure)
                     where id = $4",
                )
                .bind(state.consecutive_failures)
                .bind(state.paused_until)
                .bind(last_failure.as_deref().map(without_nul))
                .bind(webhook_id)
                .execute(&mut *tx)
                .await?;
            }
            outcome.breaker = changes;
            outcome.keep_breaker_notices_of_enabled();
        }
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn queue_gauges(&self, now: i64) -> Result<crate::metrics::QueueGauges, sqlx::Error> {
        let (due, waiting, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
            "select count(*) filter (where next_attempt_at <= $1),
                    count(*) filter (where next_attempt_at > $1 and attempts > 0),
                    min(created_at)
             from deliveries where next_attempt_at is not null",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(crate::metrics::QueueGauges {
            due,
            waiting_retries: waiting,
            oldest_pending_age_seconds: oldest.map(|at| (now - at).max(0) as f64 / 1000.0).unwrap_or(0.0),
            ..Default::default()
        })
    }

    pub async fn last_delivery_per_webhook(&self) -> Result<HashMap<i64, (DeliveryState, i64)>, sqlx::Error> {
        let rows: Vec<(i64, DeliveryState, i64)> = sqlx::query_as(
            "select d.webhook_id, d.state, d.updated_at
             from webhooks w join lateral (
                select webhook_id, state, updated_at from deliveries where webhook_id = w.id order by id desc limit 1
             ) d on true",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id, state, at)| (id, (state, at))).collect())
    }

    pub async fn last_delivery_of(&self, webhook_id: i64) -> Result<Option<(DeliveryState, i64)>, sqlx::Error> {
        sqlx::query_as("select state, updated_at from deliveries where webhook_id = $1 order by id desc limit 1")
            .bind(webhook_id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn head_of_line(&self, webhook_id: i64) -> Result<Option<HeadOfLineRow>, sqlx::Error> {
        static HEAD_OF_LINE_PG: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::db::deliveries::HEAD_OF_LINE.replace("?1", "$1"));
        sqlx::query_as(&HEAD_OF_LINE_PG).bind(webhook_id).fetch_optional(&self.pool).await
    }
}

#[cfg(test)]
mod tests {
    use crate::db::testing;

    /// As `due_work_is_read_per_webhook_and_finds_an_ordered_head` on SQLite: at most
    /// `per_webhook` of each webhook, nothing of a paused one, and an ordered webhook's head even
    /// when what queued behind it is due earlier.
    #[tokio::test]
    async fn postgres_due_work_is_read_per_webhook_and_finds_an_ordered_head() {
        let db = super::super::admins::tests::open().await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(
                db.insert_webhook(&testing::spec(&["feature-created"]), "whsec_test", &testing::audit())
                    .await
                    .expect("insert")
                    .id,
            );
        }
        let (paused, busy, ordered) = (ids[0], ids[1], ids[2]);
        let events = (0..6).map(|n| testing::event(None, "feature-created", &format!("f{n}"))).collect();
        db.insert_events(events).await.expect("insert");
        let now: i64 =
            sqlx::query_scalar("select max(next_attempt_at) from deliveries").fetch_one(&db.pool).await.expect("now");
        let run = |statement: &'static str, webhook: i64| {
            let pool = db.pool.clone();
            async move { sqlx::query(statement).bind(now).bind(webhook).execute(&pool).await.expect(statement) }
        };
        run(
            "update deliveries set next_attempt_at = $1 - 1000 + id * (case when webhook_id = $2 then 1 else 10 end)",
            paused,
        )
        .await;
        run("update webhooks set paused_until = $1 + 60000 where id = $2", paused).await;
        run("update webhooks set ordered = ($1 > 0) where id = $2", ordered).await;
        run(
            "update deliveries set next_attempt_at = $1, attempts = 1
             where id = (select min(id) from deliveries where webhook_id = $2)",
            ordered,
        )
        .await;
        let head: i64 = sqlx::query_scalar("select min(id) from deliveries where webhook_id = $1")
            .bind(ordered)
            .fetch_one(&db.pool)
            .await
            .expect("head");

        let due = db.due_deliveries(now, 100, &[], 2).await.expect("due");
        let of = |webhook: i64| due.iter().filter(|d| d.webhook_id == webhook).map(|d| d.id).collect::<Vec<_>>();
        assert!(of(paused).is_empty(), "a paused webhook gives nothing: {:?}", of(paused));
        assert_eq!(of(busy).len(), 2, "two of six");
        assert_eq!(of(ordered), vec![head], "only the head, though due last");
        assert_eq!(due.len(), 3);
        db.close().await;
    }
}
