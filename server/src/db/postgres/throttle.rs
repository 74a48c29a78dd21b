//! The sign-in throttle's state on PostgreSQL (see `auth::throttle`): the rules are the in-memory
//! throttle's (`wait_after`), the counts are shared by every instance.

use std::time::Duration;

use super::PgDb;
use crate::auth::throttle::wait_after;

impl PgDb {
    /// Admits an attempt for `keys` and counts it, or answers how long to wait (not counted).
    /// The keys' rows are locked for the decision, so a burst spread over instances is counted
    /// in full, as it is in one process.
    pub async fn begin_sign_in_attempt(&self, keys: &[String]) -> Result<Result<(), Duration>, sqlx::Error> {
        let now = crate::time::now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into login_failures (key, count, last_at) select key, 0, $2 from unnest($1::text[]) as t(key)
             on conflict (key) do nothing",
        )
        .bind(keys)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("select count, last_at from login_failures where key = any($1) order by key for update")
                .bind(keys)
                .fetch_all(&mut *tx)
                .await?;
        let wait = rows
            .iter()
            .map(|(count, last)| {
                let since = Duration::from_millis(now.saturating_sub(*last).max(0) as u64);
                wait_after(u32::try_from(*count).unwrap_or(u32::MAX), since)
            })
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Ok(Err(wait));
        }
        let window = crate::auth::throttle::FAILURE_WINDOW.as_millis() as i64;
        sqlx::query(
            "update login_failures set count = case when $2 - last_at >= $3 then 1 else count + 1 end, last_at = $2
             where key = any($1)",
        )
        .bind(keys)
        .bind(now)
        .bind(window)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Takes back an admitted attempt whose password was never checked.
    pub async fn cancel_sign_in_attempt(&self, keys: &[String]) -> Result<(), sqlx::Error> {
        sqlx::query("update login_failures set count = greatest(count - 1, 0) where key = any($1)")
            .bind(keys)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the failures of `keys` (a successful sign-in).
    pub async fn forget_sign_in_failures(&self, keys: &[String]) -> Result<(), sqlx::Error> {
        sqlx::query("delete from login_failures where key = any($1)").bind(keys).execute(&self.pool).await?;
        Ok(())
    }
}
