//! The delivery queue and log: claiming due deliveries with a lease, recording attempts in
//! batches, and the auto-disable clock of webhooks.

use std::collections::HashMap;

use super::{now_ms, Db};

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
    pub next_trigger: String,
    pub single_attempt: bool,
}

/// The result of one attempt, as the dispatcher hands it to the writer.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub number: i64,
    pub trigger: String,
    pub url: String,
    pub request_headers: String,
    pub request_body: String,
    pub status: i64,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub response_body_encoding: &'static str,
    pub duration_ms: i64,
    pub error_class: Option<&'static str>,
    pub error_message: Option<String>,
    pub started_at: i64,
    /// The delivery's new state: succeeded | retrying | failed.
    pub state: &'static str,
    pub unleash_state: &'static str,
    pub state_details: String,
    pub next_attempt_at: Option<i64>,
    /// Whether this attempt counts as a success for the webhook's failure clock.
    pub succeeded: bool,
}

/// What the writer did to webhooks while recording a batch (auto-disables, for logs and metrics).
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub disabled_webhooks: Vec<i64>,
}

impl Db {
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
    /// dispatcher may have taken some in between).
    pub async fn claim_deliveries(&self, ids: &[i64], now: i64, lease_until: i64) -> Result<Vec<i64>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids_json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        sqlx::query_scalar(
            "update deliveries set lease_until = ?1
             where id in (select value from json_each(?2))
               and next_attempt_at <= ?3 and (lease_until is null or lease_until < ?3)
             returning id",
        )
        .bind(lease_until)
        .bind(ids_json)
        .bind(now)
        .fetch_all(&self.write)
        .await
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

    /// Records a batch of attempts in one transaction: the attempt rows, the deliveries' new
    /// states, and each webhook's failure clock (auto-disabling it when `disable_after_ms` of
    /// failures passed with no success).
    pub async fn record_attempts(
        &self,
        batch: &[AttemptRecord],
        disable_after_ms: i64,
    ) -> Result<BatchOutcome, sqlx::Error> {
        let now = now_ms();
        let mut outcome = BatchOutcome::default();
        let mut tx = self.write.begin().await?;
        // Per webhook: did any attempt in this batch succeed, did any fail.
        let mut clock: HashMap<i64, (bool, bool)> = HashMap::new();
        for a in batch {
            sqlx::query(
                "insert into attempts (delivery_id, number, trigger, url, request_headers, request_body, status,
                    response_headers, response_body, response_body_encoding, duration_ms, error_class, error_message,
                    started_at, next_attempt_at)
                 values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(a.delivery_id)
            .bind(a.number)
            .bind(&a.trigger)
            .bind(&a.url)
            .bind(&a.request_headers)
            .bind(&a.request_body)
            .bind(a.status)
            .bind(&a.response_headers)
            .bind(&a.response_body)
            .bind(a.response_body_encoding)
            .bind(a.duration_ms)
            .bind(a.error_class)
            .bind(&a.error_message)
            .bind(a.started_at)
            .bind(a.next_attempt_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "update deliveries set state = ?, unleash_state = ?, state_details = ?, attempts = ?, last_status = ?,
                    last_error_class = ?, last_duration_ms = ?, next_attempt_at = ?, next_trigger = 'scheduled',
                    single_attempt = 0, lease_until = null, updated_at = ?
                 where id = ?",
            )
            .bind(a.state)
            .bind(a.unleash_state)
            .bind(&a.state_details)
            .bind(a.number)
            .bind(a.status)
            .bind(a.error_class)
            .bind(a.duration_ms)
            .bind(a.next_attempt_at)
            .bind(now)
            .bind(a.delivery_id)
            .execute(&mut *tx)
            .await?;
            let entry = clock.entry(a.webhook_id).or_default();
            if a.succeeded {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
        for (webhook_id, (any_success, any_failure)) in clock {
            if any_success {
                sqlx::query("update webhooks set failing_since = null where id = ? and failing_since is not null")
                    .bind(webhook_id)
                    .execute(&mut *tx)
                    .await?;
            } else if any_failure {
                sqlx::query("update webhooks set failing_since = ? where id = ? and failing_since is null")
                    .bind(now)
                    .bind(webhook_id)
                    .execute(&mut *tx)
                    .await?;
                let reason = format!(
                    "Disabled automatically: every delivery failed for {} with no success in between. \
                     Fix the receiver, then re-enable the webhook.",
                    crate::time::human_duration(disable_after_ms)
                );
                let disabled = sqlx::query(
                    "update webhooks set enabled = 0, disabled_at = ?1, disabled_reason = ?2,
                        version = version + 1, updated_at = ?1, updated_by = 'dispatcher'
                     where id = ?3 and enabled = 1 and failing_since is not null and failing_since <= ?1 - ?4",
                )
                .bind(now)
                .bind(reason)
                .bind(webhook_id)
                .bind(disable_after_ms)
                .execute(&mut *tx)
                .await?;
                if disabled.rows_affected() == 1 {
                    outcome.disabled_webhooks.push(webhook_id);
                }
            }
        }
        tx.commit().await?;
        Ok(outcome)
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
    pub async fn last_delivery_per_webhook(&self) -> Result<HashMap<i64, (String, i64)>, sqlx::Error> {
        let rows: Vec<(i64, Option<String>, Option<i64>)> = sqlx::query_as(
            "select w.id,
                    (select d.state from deliveries d where d.webhook_id = w.id order by d.id desc limit 1),
                    (select d.updated_at from deliveries d where d.webhook_id = w.id order by d.id desc limit 1)
             from webhooks w",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().filter_map(|(id, state, at)| Some((id, (state?, at?)))).collect())
    }

    pub async fn last_delivery_of(&self, webhook_id: i64) -> Result<Option<(String, i64)>, sqlx::Error> {
        sqlx::query_as("select state, updated_at from deliveries where webhook_id = ? order by id desc limit 1")
            .bind(webhook_id)
            .fetch_optional(&self.read)
            .await
    }
}
