//! The delivery queue and log: claiming due deliveries with a lease, recording attempts in
//! batches, and the auto-disable clock of webhooks.

use std::collections::HashMap;

use sqlx::SqliteConnection;
use tokio::sync::oneshot;

use hookline_core::delivery::{AttemptTrigger, DeliveryState, ErrorClass, UnleashState};

use super::writer::WriteJob;
use super::{SqliteDb, StoreError};

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
    pub(super) reply: oneshot::Sender<Result<BatchOutcome, StoreError>>,
}

/// Runs a claim in the caller's transaction.
pub(super) async fn claim(tx: &mut SqliteConnection, job: &ClaimJob) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "update deliveries set lease_until = ?1
         where id in (select value from json_each(?2))
           and next_attempt_at <= ?3 and (lease_until is null or lease_until < ?3)
         returning id",
    )
    .bind(job.lease_until)
    .bind(&job.ids_json)
    .bind(job.now)
    .fetch_all(&mut *tx)
    .await
}

/// Records attempts in the caller's transaction: one command for the whole batch (the attempt
/// rows, the deliveries' new states, the failure clock of the webhooks that had a success), then
/// the webhooks whose attempts all failed.
///
/// An attempt whose delivery is gone (its webhook was deleted while the request was in flight) is
/// dropped: inserting it would break the foreign key and fail the whole batch, every other
/// webhook's attempts with it.
pub(super) async fn record(tx: &mut SqliteConnection, job: &RecordJob, now: i64) -> Result<BatchOutcome, sqlx::Error> {
    let mut outcome = BatchOutcome::default();
    let succeeded: Vec<i64> = job.clock.iter().filter(|(_, (success, _))| *success).map(|(id, _)| *id).collect();
    sqlx::query(
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
         order by key;
         update deliveries set state = r.value ->> 'state', unleash_state = r.value ->> 'unleash_state',
            state_details = r.value ->> 'state_details', attempts = r.value ->> 'number',
            last_status = r.value ->> 'status', last_error_class = r.value ->> 'error_class',
            last_duration_ms = r.value ->> 'duration_ms', next_attempt_at = r.value ->> 'next_attempt_at',
            next_trigger = 'scheduled', single_attempt = 0, lease_until = null, updated_at = ?2
         from json_each(?1) as r
         where deliveries.id = r.value ->> 'delivery_id';
         update webhooks set failing_since = null
         where id in (select value from json_each(?3)) and failing_since is not null",
    )
    .bind(&job.rows_json)
    .bind(now)
    .bind(serde_json::to_string(&succeeded).unwrap_or_else(|_| "[]".into()))
    .execute(&mut *tx)
    .await?;
    for &webhook_id in &job.gone {
        let disabled = sqlx::query(
            "update webhooks set enabled = 0, disabled_at = ?1, disabled_reason = ?2,
                version = version + 1, updated_at = ?1, updated_by = 'dispatcher'
             where id = ?3 and enabled = 1",
        )
        .bind(now)
        .bind(gone_reason(now))
        .bind(webhook_id)
        .execute(&mut *tx)
        .await?;
        if disabled.rows_affected() == 1 {
            outcome.gone_webhooks.push(webhook_id);
        }
    }
    for (&webhook_id, &(any_success, any_failure)) in &job.clock {
        if !any_success && any_failure {
            sqlx::query("update webhooks set failing_since = ? where id = ? and failing_since is null")
                .bind(now)
                .bind(webhook_id)
                .execute(&mut *tx)
                .await?;
            let reason = auto_disable_reason(job.disable_after_ms);
            let disabled = sqlx::query(
                "update webhooks set enabled = 0, disabled_at = ?1, disabled_reason = ?2,
                    version = version + 1, updated_at = ?1, updated_by = 'dispatcher'
                 where id = ?3 and enabled = 1 and failing_since is not null and failing_since <= ?1 - ?4",
            )
            .bind(now)
            .bind(reason)
            .bind(webhook_id)
            .bind(job.disable_after_ms)
            .execute(&mut *tx)
            .await?;
            if disabled.rows_affected() == 1 {
                outcome.disabled_webhooks.push(webhook_id);
            }
        }
    }
    Ok(outcome)
}

impl SqliteDb {
    /// Up to `limit` deliveries that are due now and not leased, of enabled webhooks, oldest first.
    pub async fn due_deliveries(&self, now: i64, limit: i64) -> Result<Vec<DueDelivery>, sqlx::Error> {
        sqlx::query_as(
            "select d.id, d.uid, d.webhook_id, w.version as webhook_version, d.event_id, e.payload, d.attempts,
                    d.next_trigger, d.single_attempt
             from deliveries d
             join webhooks w on w.id = d.webhook_id
             join events e on e.id = d.event_id
             where d.next_attempt_at <= ?1 and (d.lease_until is null or d.lease_until < ?1) and w.enabled = 1
             order by d.next_attempt_at
             limit ?2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// Leases the given deliveries until `lease_until`; returns the ids actually claimed (another
    /// dispatcher may have taken some in between). Runs in the write queue's next transaction.
    pub async fn claim_deliveries(&self, ids: &[i64], now: i64, lease_until: i64) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids_json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        self.submit(|reply| WriteJob::Claim(ClaimJob { ids_json, now, lease_until, reply })).await
    }

    /// Gives leased deliveries back (graceful shutdown): due again at once.
    pub async fn release_deliveries(&self, ids: &[i64]) -> Result<u64, sqlx::Error> {
        let ids_json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let done = sqlx::query("update deliveries set lease_until = null where id in (select value from json_each(?))")
            .bind(ids_json)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// When the next waiting delivery becomes due (for the dispatcher's sleep).
    pub async fn next_due_at(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("select min(next_attempt_at) from deliveries where next_attempt_at is not null")
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
        self.submit(|reply| WriteJob::Record(RecordJob { rows_json, clock, gone, disable_after_ms, reply })).await
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
            in_flight: 0,
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
        let due = db.due_deliveries(i64::MAX / 2, 10).await.expect("due");
        assert_eq!(due.len(), 3);
        let bodies = ["{\"a\":\"\\\\ \\\" \\u0000\"}", "nul \0 in the middle, tab \t, line\nbreak", "ünïcödé 🎉 ✓"];
        let batch: Vec<AttemptRecord> = due
            .iter()
            .zip(bodies)
            .enumerate()
            .map(|(n, (d, body))| record(d.id, webhook.id, body, (n == 1).then_some(i64::MAX / 4)))
            .collect();
        db.record_attempts(&batch, 60_000).await.expect("record");
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
