//! The Unleash catch-up poller's state on PostgreSQL (see `db::catch_up`: the same statements,
//! with PostgreSQL's placeholders).

use std::sync::LazyLock;

use super::audit::insert;
use super::{without_nul, PgDb};
use crate::db::audit::NewAudit;
use crate::db::catch_up::{
    CatchUpRow, SettingsRow, TokenChange, UnleashSettings, SAVE_ERROR, SAVE_SETTINGS, SAVE_SUCCESS, SELECT,
    SELECT_SETTINGS,
};

static SAVE_SUCCESS_PG: LazyLock<String> = LazyLock::new(|| SAVE_SUCCESS.replace('?', "$"));
static SAVE_ERROR_PG: LazyLock<String> = LazyLock::new(|| SAVE_ERROR.replace('?', "$"));
static SAVE_SETTINGS_PG: LazyLock<String> = LazyLock::new(|| SAVE_SETTINGS.replace('?', "$"));

impl PgDb {
    pub async fn unleash_settings(&self) -> Result<Option<UnleashSettings>, sqlx::Error> {
        let row: Option<SettingsRow> = sqlx::query_as(SELECT_SETTINGS).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| row.open(&self.key)))
    }

    pub async fn save_unleash_settings(
        &self,
        url: Option<&str>,
        token: &TokenChange,
        audit: &NewAudit,
    ) -> Result<(), sqlx::Error> {
        let sealed = token.sealed(&self.key);
        let mut tx = self.pool.begin().await?;
        sqlx::query(&SAVE_SETTINGS_PG)
            .bind(url.map(without_nul))
            .bind(sealed)
            .bind(without_nul(&audit.actor.name))
            .bind(crate::db::now_ms())
            .execute(&mut *tx)
            .await?;
        insert(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_unleash_settings(&self, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("delete from unleash_settings where id = 1").execute(&mut *tx).await?.rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        insert(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn catch_up_state(&self) -> Result<Option<CatchUpRow>, sqlx::Error> {
        sqlx::query_as(SELECT).fetch_optional(&self.pool).await
    }

    pub async fn save_catch_up_success(
        &self,
        cursor: i64,
        created: i64,
        now: i64,
        url: &str,
        start: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(&SAVE_SUCCESS_PG)
            .bind(cursor)
            .bind(created)
            .bind(now)
            .bind(without_nul(url))
            .bind(start)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn save_catch_up_error(&self, message: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(&SAVE_ERROR_PG).bind(without_nul(message)).bind(now).execute(&self.pool).await?;
        Ok(())
    }
}
