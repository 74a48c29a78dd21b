//! The Unleash catch-up poller's state on PostgreSQL (see `db::catch_up`: the same statements,
//! with PostgreSQL's placeholders).

use std::sync::LazyLock;

use super::{without_nul, PgDb};
use crate::db::catch_up::{CatchUpRow, SAVE_ERROR, SAVE_SUCCESS, SELECT};

static SAVE_SUCCESS_PG: LazyLock<String> = LazyLock::new(|| SAVE_SUCCESS.replace('?', "$"));
static SAVE_ERROR_PG: LazyLock<String> = LazyLock::new(|| SAVE_ERROR.replace('?', "$"));

impl PgDb {
    pub async fn catch_up_state(&self) -> Result<Option<CatchUpRow>, sqlx::Error> {
        sqlx::query_as(SELECT).fetch_optional(&self.pool).await
    }

    pub async fn save_catch_up_success(&self, cursor: i64, created: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(&SAVE_SUCCESS_PG).bind(cursor).bind(created).bind(now).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn save_catch_up_error(&self, message: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(&SAVE_ERROR_PG).bind(without_nul(message)).bind(now).execute(&self.pool).await?;
        Ok(())
    }
}
