//! The intake on PostgreSQL (see `db::events`).

#![allow(unused_variables)]

use super::PgDb;
use crate::db::*;

impl PgDb {
    pub async fn insert_events(&self, events: Vec<NewEvent>) -> Result<Vec<StoredEvent>, StoreError> {
        todo!("PostgreSQL: insert_events")
    }

    pub async fn insert_test_delivery(&self, webhook_id: i64, new: &mut NewEvent, audit: &NewAudit) -> Result<(i64, i64), sqlx::Error> {
        todo!("PostgreSQL: insert_test_delivery")
    }

    pub async fn event_payload(&self, id: i64) -> Result<Option<String>, sqlx::Error> {
        todo!("PostgreSQL: event_payload")
    }

}
