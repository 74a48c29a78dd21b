//! Session records on PostgreSQL (see `db::sessions`).

use super::PgDb;
use crate::db::*;

impl PgDb {
    /// Inserts a new session; false when its id is taken.
    pub async fn insert_session(&self, row: &SessionRow, now: i64) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query(
            "insert into sessions (id, data, expires_at, admin_id, created_at) values ($1, $2, $3, $4, $5)
             on conflict do nothing",
        )
        .bind(&row.id)
        .bind(&row.data)
        .bind(row.expires_at)
        .bind(row.admin_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Updates a session if it still exists.
    pub async fn update_session(&self, row: &SessionRow) -> Result<(), sqlx::Error> {
        sqlx::query("update sessions set data = $1, expires_at = $2, admin_id = $3 where id = $4")
            .bind(&row.data)
            .bind(row.expires_at)
            .bind(row.admin_id)
            .bind(&row.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The sealed record of a session that has not expired at `now` and began after `started_after`.
    pub async fn live_session_data(
        &self,
        id: &str,
        now: i64,
        started_after: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("select data from sessions where id = $1 and expires_at > $2 and created_at > $3")
            .bind(id)
            .bind(now)
            .bind(started_after)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("delete from sessions where id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Removes sessions expired at `now` or begun at or before `started_by`; returns how many.
    pub async fn delete_sessions_ended_by(&self, now: i64, started_by: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("delete from sessions where expires_at <= $1 or created_at <= $2")
            .bind(now)
            .bind(started_by)
            .execute(&self.pool)
            .await?;
        // The shared sign-in throttle's forgotten failures go with the same hourly job.
        let window = crate::auth::throttle::FAILURE_WINDOW.as_millis() as i64;
        sqlx::query("delete from login_failures where last_at < $1").bind(now - window).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// Ends every session (all admins must sign in again).
    pub async fn delete_all_sessions(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("delete from sessions").execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
