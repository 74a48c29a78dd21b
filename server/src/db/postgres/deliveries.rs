//! The delivery queue on PostgreSQL (see `db::deliveries`).

#![allow(unused_variables)]

use super::PgDb;
use crate::db::*;

impl PgDb {
    pub async fn due_deliveries(&self, now: i64, limit: i64) -> Result<Vec<DueDelivery>, sqlx::Error> {
        todo!("PostgreSQL: due_deliveries")
    }

    pub async fn claim_deliveries(&self, ids: &[i64], now: i64, lease_until: i64) -> Result<Vec<i64>, StoreError> {
        todo!("PostgreSQL: claim_deliveries")
    }

    pub async fn release_deliveries(&self, ids: &[i64]) -> Result<u64, sqlx::Error> {
        todo!("PostgreSQL: release_deliveries")
    }

    pub async fn next_due_at(&self) -> Result<Option<i64>, sqlx::Error> {
        todo!("PostgreSQL: next_due_at")
    }

    pub async fn record_attempts(&self, batch: &[AttemptRecord], disable_after_ms: i64) -> Result<BatchOutcome, StoreError> {
        todo!("PostgreSQL: record_attempts")
    }

    pub async fn queue_gauges(&self, now: i64) -> Result<crate::metrics::QueueGauges, sqlx::Error> {
        todo!("PostgreSQL: queue_gauges")
    }

    pub async fn last_delivery_per_webhook(&self) -> Result<HashMap<i64, (DeliveryState, i64)>, sqlx::Error> {
        todo!("PostgreSQL: last_delivery_per_webhook")
    }

    pub async fn last_delivery_of(&self, webhook_id: i64) -> Result<Option<(DeliveryState, i64)>, sqlx::Error> {
        todo!("PostgreSQL: last_delivery_of")
    }

}
