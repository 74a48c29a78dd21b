//! Session records on PostgreSQL (see `db::sessions`).

#![allow(unused_variables)]

use super::PgDb;
use crate::db::*;

impl PgDb {
    pub async fn insert_session(&self, row: &SessionRow, now: i64) -> Result<bool, sqlx::Error> {
        todo!("PostgreSQL: insert_session")
    }

    pub async fn update_session(&self, row: &SessionRow) -> Result<(), sqlx::Error> {
        todo!("PostgreSQL: update_session")
    }

    pub async fn live_session_data(&self, id: &str, now: i64, started_after: i64) -> Result<Option<String>, sqlx::Error> {
        todo!("PostgreSQL: live_session_data")
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), sqlx::Error> {
        todo!("PostgreSQL: delete_session")
    }

    pub async fn delete_sessions_ended_by(&self, now: i64, started_by: i64) -> Result<u64, sqlx::Error> {
        todo!("PostgreSQL: delete_sessions_ended_by")
    }

    pub async fn delete_all_sessions(&self) -> Result<u64, sqlx::Error> {
        todo!("PostgreSQL: delete_all_sessions")
    }

}
