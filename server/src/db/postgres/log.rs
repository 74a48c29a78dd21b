//! The delivery log and dashboard on PostgreSQL (see `db::log`).

#![allow(unused_variables)]

use super::PgDb;
use crate::db::*;

impl PgDb {
    pub async fn list_deliveries(&self, filter: &LogFilter) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        todo!("PostgreSQL: list_deliveries")
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, sqlx::Error> {
        todo!("PostgreSQL: delivery")
    }

    pub async fn attempts_of(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, sqlx::Error> {
        todo!("PostgreSQL: attempts_of")
    }

    pub async fn queue_redelivery(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        todo!("PostgreSQL: queue_redelivery")
    }

    pub async fn recover_failed(&self, webhook_id: i64, since: i64, cap: i64, audit: &NewAudit) -> Result<i64, sqlx::Error> {
        todo!("PostgreSQL: recover_failed")
    }

    pub async fn last_received_event(&self) -> Result<Option<EventRow>, sqlx::Error> {
        todo!("PostgreSQL: last_received_event")
    }

    pub async fn list_events(&self, before: Option<i64>, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
        todo!("PostgreSQL: list_events")
    }

    pub async fn deliveries_of_events(&self, event_ids: &[i64]) -> Result<Vec<(i64, i64, i64, DeliveryState)>, sqlx::Error> {
        todo!("PostgreSQL: deliveries_of_events")
    }

    pub async fn counts_per_webhook(&self, since: i64) -> Result<Vec<WebhookCounts>, sqlx::Error> {
        todo!("PostgreSQL: counts_per_webhook")
    }

    pub async fn hourly_counts(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        todo!("PostgreSQL: hourly_counts")
    }

    pub async fn count_unfinished(&self) -> Result<i64, sqlx::Error> {
        todo!("PostgreSQL: count_unfinished")
    }

    pub async fn prune_deliveries(&self, older_than: i64, keep_per_webhook: i64, batch: i64) -> Result<u64, sqlx::Error> {
        todo!("PostgreSQL: prune_deliveries")
    }

    pub async fn prune_events(&self, older_than: i64, batch: i64) -> Result<u64, sqlx::Error> {
        todo!("PostgreSQL: prune_events")
    }

}
