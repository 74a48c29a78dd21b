//! Reading the delivery log: filtered keyset pages, one delivery with its attempts, events with
//! their deliveries, dashboard figures; and the log's operations: redeliver, recover, prune.

use hookline_core::delivery::{AttemptTrigger, DeliveryState, ErrorClass, UnleashState};

use super::audit::{self, NewAudit};
use super::SqliteDb;

/// A delivery row joined with its event's flag, project and environment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub uid: String,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub feature_name: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub state: DeliveryState,
    pub unleash_state: Option<UnleashState>,
    pub state_details: Option<String>,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error_class: Option<ErrorClass>,
    pub last_duration_ms: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub source: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub number: i64,
    pub trigger: AttemptTrigger,
    pub url: String,
    pub request_headers: String,
    pub request_body: String,
    pub status: i64,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub response_body_encoding: String,
    pub duration_ms: i64,
    pub error_class: Option<ErrorClass>,
    pub error_message: Option<String>,
    pub started_at: i64,
    pub next_attempt_at: Option<i64>,
}

/// Filters in storage terms (times in unix ms).
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub webhook_id: Option<i64>,
    pub state: Option<DeliveryState>,
    pub event_type: Option<String>,
    /// Inclusive range of the latest attempt's HTTP status.
    pub status: Option<(i64, i64)>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Dashboard counts per webhook.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookCounts {
    pub webhook_id: i64,
    pub succeeded: i64,
    pub failed: i64,
}

/// The delivery columns, as a macro so queries stay compile-time literals (`concat!`).
macro_rules! delivery_select {
    () => {
        "select d.id, d.uid, d.webhook_id, d.event_id, d.event_type, e.feature_name, e.project,
            e.environment, d.state, d.unleash_state, d.state_details, d.attempts, d.last_status, d.last_error_class,
            d.last_duration_ms, d.next_attempt_at, e.source, d.created_at, d.updated_at
        from deliveries d join events e on e.id = d.event_id"
    };
}

impl SqliteDb {
    /// A page of deliveries, newest first, keyset-paginated by id. Every filter is a bound
    /// parameter. The webhook and state filters pick one of four statements, each shaped so its
    /// index serves it (an optional `?1 is null or col = ?1` condition would keep SQLite from
    /// using the index and make deep pages scan the table); the keyset bound is a plain range
    /// (`id < coalesce(?, max)`). Event type, status class and time are checked within that range.
    pub async fn list_deliveries(&self, filter: &LogFilter) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        macro_rules! residual {
            () => {
                " and (?3 is null or d.event_type = ?3)
                  and (?4 is null or d.created_at >= ?4)
                  and (?5 is null or d.created_at < ?5)
                  and d.id < coalesce(?6, 9223372036854775807)
                  and (?8 is null or d.last_status between ?8 and ?9)
                order by d.id desc limit ?7"
            };
        }
        let sql = match (filter.webhook_id.is_some(), filter.state.is_some()) {
            (true, true) => concat!(delivery_select!(), " where d.webhook_id = ?1 and d.state = ?2", residual!()),
            (true, false) => concat!(delivery_select!(), " where d.webhook_id = ?1 and ?2 is null", residual!()),
            (false, true) => concat!(delivery_select!(), " where ?1 is null and d.state = ?2", residual!()),
            (false, false) => concat!(delivery_select!(), " where ?1 is null and ?2 is null", residual!()),
        };
        sqlx::query_as(sql)
            .bind(filter.webhook_id)
            .bind(filter.state)
            .bind(&filter.event_type)
            .bind(filter.since)
            .bind(filter.until)
            .bind(filter.before)
            .bind(filter.limit)
            .bind(filter.status.map(|(low, _)| low))
            .bind(filter.status.map(|(_, high)| high))
            .fetch_all(&self.read)
            .await
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(concat!(delivery_select!(), " where d.id = ?")).bind(id).fetch_optional(&self.read).await
    }

    pub async fn attempts_of(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, sqlx::Error> {
        sqlx::query_as(
            "select number, trigger, url, request_headers, request_body, status, response_headers, response_body,
                    response_body_encoding, duration_ms, error_class, error_message, started_at, next_attempt_at
             from attempts where delivery_id = ? order by number",
        )
        .bind(delivery_id)
        .fetch_all(&self.read)
        .await
    }

    /// Queues one manual attempt of a finished delivery (no retry chain). Returns false when the
    /// delivery is not finished (pending or retrying) or does not exist. `audit` is recorded in the
    /// same transaction when it was queued.
    pub async fn queue_redelivery(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let now = self.now_ms();
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "update deliveries set state = 'pending', next_attempt_at = ?, next_trigger = 'manual', single_attempt = 1,
                lease_until = null, updated_at = ?
             where id = ? and state in ('succeeded', 'failed')",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        audit::insert(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Re-queues up to `cap` failed deliveries of a webhook created at or after `since`, each with
    /// a fresh retry chain. Returns how many; `audit` is recorded with that count in the same
    /// transaction.
    pub async fn recover_failed(
        &self,
        webhook_id: i64,
        since: i64,
        cap: i64,
        audit: &NewAudit,
    ) -> Result<i64, sqlx::Error> {
        let now = self.now_ms();
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "update deliveries set state = 'pending', next_attempt_at = ?1, next_trigger = 'manual', single_attempt = 0,
                attempts = 0, lease_until = null, updated_at = ?1
             where id in (select id from deliveries where webhook_id = ?2 and state = 'failed' and created_at >= ?3
                          order by id limit ?4)",
        )
        .bind(now)
        .bind(webhook_id)
        .bind(since)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
        let requeued = done.rows_affected() as i64;
        audit::insert(&mut tx, &audit.clone().with("requeued", requeued)).await?;
        tx.commit().await?;
        Ok(requeued)
    }

    /// Events, newest first, with keyset pagination.
    /// The newest event that came in through the intake (not a test send): what the Connect
    /// Unleash page shows as "last received".
    pub async fn last_received_event(&self) -> Result<Option<super::events::EventRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, type, feature_name, project, environment, created_by, source, created_at, received_at
             from events where source = 'api' order by received_at desc, id desc limit 1",
        )
        .fetch_optional(&self.read)
        .await
    }

    pub async fn list_events(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<super::events::EventRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, type, feature_name, project, environment, created_by, source, created_at, received_at
             from events where (?1 is null or id < ?1) order by id desc limit ?2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// (event id, delivery id, webhook id, state) for the deliveries of these events.
    pub async fn deliveries_of_events(
        &self,
        event_ids: &[i64],
    ) -> Result<Vec<(i64, i64, i64, DeliveryState)>, sqlx::Error> {
        let ids = super::json_ids(event_ids);
        sqlx::query_as(
            "select event_id, id, webhook_id, state from deliveries
             where event_id in (select value from json_each(?)) order by event_id desc, webhook_id",
        )
        .bind(ids)
        .fetch_all(&self.read)
        .await
    }

    /// Finished deliveries per webhook since `since` (dashboard).
    pub async fn counts_per_webhook(&self, since: i64) -> Result<Vec<WebhookCounts>, sqlx::Error> {
        sqlx::query_as(
            "select webhook_id,
                    coalesce(sum(case when state = 'succeeded' then 1 else 0 end), 0) as succeeded,
                    coalesce(sum(case when state = 'failed' then 1 else 0 end), 0) as failed
             from deliveries where created_at >= ? group by webhook_id",
        )
        .bind(since)
        .fetch_all(&self.read)
        .await
    }

    /// (hour index since `since`, succeeded, failed) for the dashboard chart.
    pub async fn hourly_counts(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "select (created_at - ?1) / 3600000 as hour,
                    coalesce(sum(case when state = 'succeeded' then 1 else 0 end), 0),
                    coalesce(sum(case when state = 'failed' then 1 else 0 end), 0)
             from deliveries where created_at >= ?1 group by hour order by hour",
        )
        .bind(since)
        .fetch_all(&self.read)
        .await
    }

    /// Deliveries not final yet (pending or retrying).
    pub async fn count_unfinished(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("select count(*) from deliveries where next_attempt_at is not null")
            .fetch_one(&self.read)
            .await
    }

    /// Deletes, in small batches, final deliveries that are older than `older_than` or beyond the
    /// newest `keep_per_webhook` of their webhook; the newest delivery of each webhook always stays.
    /// Each batch is its own short write, so the dispatcher's writes interleave. Returns how many.
    pub async fn prune_deliveries(
        &self,
        older_than: i64,
        keep_per_webhook: i64,
        batch: i64,
    ) -> Result<u64, sqlx::Error> {
        // Ids grow with creation time, so "created before older_than" is "id below the first young id".
        let first_young: Option<i64> =
            sqlx::query_scalar("select id from deliveries where created_at >= ? order by created_at limit 1")
                .bind(older_than)
                .fetch_optional(&self.read)
                .await?;
        let age_bound = first_young.unwrap_or(i64::MAX);
        let webhooks: Vec<i64> = sqlx::query_scalar("select id from webhooks").fetch_all(&self.read).await?;
        let mut deleted = 0;
        for webhook_id in webhooks {
            let Some(newest): Option<i64> = sqlx::query_scalar("select max(id) from deliveries where webhook_id = ?")
                .bind(webhook_id)
                .fetch_one(&self.read)
                .await?
            else {
                continue;
            };
            let count_bound: i64 =
                sqlx::query_scalar("select id from deliveries where webhook_id = ? order by id desc limit 1 offset ?")
                    .bind(webhook_id)
                    .bind(keep_per_webhook.max(1) - 1)
                    .fetch_optional(&self.read)
                    .await?
                    .unwrap_or(0);
            let bound = newest.min(count_bound.max(age_bound));
            deleted += self
                .delete_in_batches(batch, || {
                    sqlx::query(
                        "delete from deliveries where id in (
                            select id from deliveries where webhook_id = ?1 and id < ?2 and next_attempt_at is null
                            order by id limit ?3)",
                    )
                    .bind(webhook_id)
                    .bind(bound)
                    .bind(batch)
                })
                .await?;
        }
        Ok(deleted)
    }

    /// Deletes events no delivery refers to any more, older than `older_than`, in batches of
    /// `batch` (each its own short write, like the deliveries). Returns how many.
    pub async fn prune_events(&self, older_than: i64, batch: i64) -> Result<u64, sqlx::Error> {
        self.delete_in_batches(batch, || {
            sqlx::query(
                "delete from events where id in (
                    select e.id from events e
                    where e.received_at < ?1 and not exists (select 1 from deliveries d where d.event_id = e.id)
                    limit ?2)",
            )
            .bind(older_than)
            .bind(batch)
        })
        .await
    }

    /// Runs the statement `delete` builds (one that removes at most `batch` rows) until a run
    /// removes fewer, yielding between runs so other writers get the connection. Returns how
    /// many rows went.
    async fn delete_in_batches<'q>(
        &self,
        batch: i64,
        delete: impl Fn() -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        loop {
            let done = delete().execute(&self.write).await?;
            deleted += done.rows_affected();
            if done.rows_affected() < batch.max(1) as u64 {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }
}
