//! The Unleash catch-up poller's state (see `crate::unleash`): its cursor (the highest Unleash event
//! id it has taken in) and what the Connect page reports (last success, last error, events caught
//! up). One row, shared by every instance, created by the first poll.

use super::SqliteDb;

/// The poller's stored state.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CatchUpRow {
    /// The highest Unleash event id the poller has taken in; None before the first poll.
    pub cursor_event_id: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// Events the poller stored that had not arrived by webhook.
    pub caught_up: i64,
}

/// The columns `CatchUpRow` reads.
pub(super) const SELECT: &str =
    "select cursor_event_id, last_success_at, last_error, last_error_at, caught_up from unleash_catch_up where id = 1";

/// Records a successful poll: the cursor moves to `?1` (never back: an instance that polled an
/// older view cannot undo a newer one), `caught_up` grows by `?2`, at `?3`. PostgreSQL runs it
/// with `$` for `?`.
pub(super) const SAVE_SUCCESS: &str = "insert into unleash_catch_up
        (id, cursor_event_id, caught_up, last_success_at, created_at, updated_at)
     values (1, ?1, ?2, ?3, ?3, ?3)
     on conflict (id) do update set
        cursor_event_id = case when unleash_catch_up.cursor_event_id > excluded.cursor_event_id
                               then unleash_catch_up.cursor_event_id
                               else excluded.cursor_event_id end,
        last_success_at = excluded.last_success_at,
        caught_up = unleash_catch_up.caught_up + excluded.caught_up,
        updated_at = excluded.updated_at";

/// Records a failed poll (`?1`, at `?2`); the cursor stays.
pub(super) const SAVE_ERROR: &str = "insert into unleash_catch_up
        (id, last_error, last_error_at, created_at, updated_at)
     values (1, ?1, ?2, ?2, ?2)
     on conflict (id) do update set
        last_error = excluded.last_error,
        last_error_at = excluded.last_error_at,
        updated_at = excluded.updated_at";

impl SqliteDb {
    /// The poller's state; None before its first poll.
    pub async fn catch_up_state(&self) -> Result<Option<CatchUpRow>, sqlx::Error> {
        sqlx::query_as(SELECT).fetch_optional(&self.read).await
    }

    /// A poll that took in events up to `cursor`, `created` of them new.
    pub async fn save_catch_up_success(&self, cursor: i64, created: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(SAVE_SUCCESS).bind(cursor).bind(created).bind(now).execute(&self.write).await?;
        Ok(())
    }

    /// A poll that failed with `message`.
    pub async fn save_catch_up_error(&self, message: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(SAVE_ERROR).bind(message).bind(now).execute(&self.write).await?;
        Ok(())
    }
}
