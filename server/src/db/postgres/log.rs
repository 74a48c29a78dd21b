//! The delivery log and dashboard on PostgreSQL (see `db::log`).

use hookline_core::delivery::DeliveryState;

use super::PgDb;
use crate::db::audit::NewAudit;
use crate::db::events::EventRow;
use crate::db::log::{AttemptRow, DeliveryRow, LogFilter, WebhookCounts};

const DELIVERY_SELECT: &str = "select d.id, d.uid, d.webhook_id, d.event_id, d.event_type, e.feature_name, e.project,
        e.environment, d.state, d.unleash_state, d.state_details, d.attempts, d.last_status, d.last_error_class,
        d.last_duration_ms, d.next_attempt_at, e.source, d.created_at, d.updated_at
    from deliveries d join events e on e.id = d.event_id";

impl PgDb {
    /// A page of the log, newest first. PostgreSQL plans each filter combination from the bound
    /// values (custom plans for the first executions), so one statement serves them all.
    pub async fn list_deliveries(&self, filter: &LogFilter) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        let sql = format!(
            "{DELIVERY_SELECT}
             where ($1::bigint is null or d.webhook_id = $1) and ($2::text is null or d.state = $2)
               and ($3::text is null or d.event_type = $3)
               and ($4::bigint is null or d.created_at >= $4)
               and ($5::bigint is null or d.created_at < $5)
               and d.id < coalesce($6, 9223372036854775807)
               and ($8::bigint is null or d.last_status between $8 and $9)
             order by d.id desc limit $7"
        );
        sqlx::query_as(&sql)
            .bind(filter.webhook_id)
            .bind(filter.state)
            .bind(&filter.event_type)
            .bind(filter.since)
            .bind(filter.until)
            .bind(filter.before)
            .bind(filter.limit)
            .bind(filter.status.map(|(low, _)| low))
            .bind(filter.status.map(|(_, high)| high))
            .fetch_all(&self.pool)
            .await
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(&format!("{DELIVERY_SELECT} where d.id = $1")).bind(id).fetch_optional(&self.pool).await
    }

    pub async fn attempts_of(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, sqlx::Error> {
        sqlx::query_as(
            "select number, trigger, url, request_headers, request_body, status, response_headers, response_body,
                    response_body_encoding, duration_ms, error_class, error_message, started_at, next_attempt_at
             from attempts where delivery_id = $1 order by number",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Queues one manual attempt of a finished delivery; the other instances hear of it by NOTIFY.
    pub async fn queue_redelivery(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "update deliveries set state = 'pending', next_attempt_at = $1, next_trigger = 'manual', single_attempt = true,
                lease_until = null, claimed_by = null, updated_at = $1
             where id = $2 and state in ('succeeded', 'failed')",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        super::audit::insert(&mut tx, audit).await?;
        self.announce_deliveries(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn recover_failed(
        &self,
        webhook_id: i64,
        since: i64,
        cap: i64,
        audit: &NewAudit,
    ) -> Result<i64, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "update deliveries set state = 'pending', next_attempt_at = $1, next_trigger = 'manual', single_attempt = false,
                attempts = 0, lease_until = null, claimed_by = null, updated_at = $1
             where id in (select id from deliveries where webhook_id = $2 and state = 'failed' and created_at >= $3
                          order by id limit $4)",
        )
        .bind(now)
        .bind(webhook_id)
        .bind(since)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
        let requeued = done.rows_affected() as i64;
        super::audit::insert(&mut tx, &audit.clone().with("requeued", requeued)).await?;
        if requeued > 0 {
            self.announce_deliveries(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(requeued)
    }

    pub async fn last_received_event(&self) -> Result<Option<EventRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, type, feature_name, project, environment, created_by, source, created_at, received_at
             from events where source = 'api' order by received_at desc, id desc limit 1",
        )
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn list_events(&self, before: Option<i64>, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, type, feature_name, project, environment, created_by, source, created_at, received_at
             from events where ($1::bigint is null or id < $1) order by id desc limit $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn deliveries_of_events(
        &self,
        event_ids: &[i64],
    ) -> Result<Vec<(i64, i64, i64, DeliveryState)>, sqlx::Error> {
        sqlx::query_as(
            "select event_id, id, webhook_id, state from deliveries
             where event_id = any($1) order by event_id desc, webhook_id",
        )
        .bind(event_ids)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn counts_per_webhook(&self, since: i64) -> Result<Vec<WebhookCounts>, sqlx::Error> {
        sqlx::query_as(
            "select webhook_id,
                    count(*) filter (where state = 'succeeded') as succeeded,
                    count(*) filter (where state = 'failed') as failed
             from deliveries where created_at >= $1 group by webhook_id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn hourly_counts(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "select (created_at - $1) / 3600000 as hour,
                    count(*) filter (where state = 'succeeded'),
                    count(*) filter (where state = 'failed')
             from deliveries where created_at >= $1 group by hour order by hour",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn count_unfinished(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("select count(*) from deliveries where next_attempt_at is not null")
            .fetch_one(&self.pool)
            .await
    }

    /// `SqliteDb::prune_deliveries`: per webhook, finished deliveries older than `older_than` and
    /// beyond the newest `keep_per_webhook`, in batches.
    pub async fn prune_deliveries(
        &self,
        older_than: i64,
        keep_per_webhook: i64,
        batch: i64,
    ) -> Result<u64, sqlx::Error> {
        let first_young: Option<i64> =
            sqlx::query_scalar("select id from deliveries where created_at >= $1 order by created_at limit 1")
                .bind(older_than)
                .fetch_optional(&self.pool)
                .await?;
        let age_bound = first_young.unwrap_or(i64::MAX);
        let webhooks: Vec<i64> = sqlx::query_scalar("select id from webhooks").fetch_all(&self.pool).await?;
        let mut deleted = 0;
        for webhook_id in webhooks {
            let Some(newest): Option<i64> = sqlx::query_scalar("select max(id) from deliveries where webhook_id = $1")
                .bind(webhook_id)
                .fetch_one(&self.pool)
                .await?
            else {
                continue;
            };
            let count_bound: i64 = sqlx::query_scalar(
                "select id from deliveries where webhook_id = $1 order by id desc limit 1 offset $2",
            )
            .bind(webhook_id)
            .bind(keep_per_webhook.max(1) - 1)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(0);
            let bound = newest.min(count_bound.max(age_bound));
            loop {
                let done = sqlx::query(
                    "delete from deliveries where id in (
                        select id from deliveries where webhook_id = $1 and id < $2 and next_attempt_at is null
                        order by id limit $3)",
                )
                .bind(webhook_id)
                .bind(bound)
                .bind(batch)
                .execute(&self.pool)
                .await?;
                deleted += done.rows_affected();
                if done.rows_affected() < batch.max(1) as u64 {
                    break;
                }
            }
        }
        Ok(deleted)
    }

    pub async fn prune_events(&self, older_than: i64, batch: i64) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(
                "delete from events where id in (
                    select e.id from events e
                    where e.received_at < $1 and not exists (select 1 from deliveries d where d.event_id = e.id)
                    limit $2)",
            )
            .bind(older_than)
            .bind(batch)
            .execute(&self.pool)
            .await?;
            deleted += done.rows_affected();
            if done.rows_affected() < batch.max(1) as u64 {
                return Ok(deleted);
            }
        }
    }
}
