//! API tokens on PostgreSQL (see `db::tokens`).

use super::audit::insert;
use super::PgDb;
use crate::db::*;

impl PgDb {
    /// `SqliteDb::insert_token`: the token and its audit entry in one transaction.
    pub async fn insert_token(
        &self,
        name: &str,
        token_hash: &str,
        prefix: &str,
        scopes: &str,
        audit: &NewAudit,
    ) -> Result<TokenRow, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row: TokenRow = sqlx::query_as(
            "insert into api_tokens (name, token_hash, prefix, created_by, created_at, scopes)
             values ($1, $2, $3, $4, $5, $6)
             returning id, name, prefix, created_by, created_at, last_used_at, scopes",
        )
        .bind(name)
        .bind(token_hash)
        .bind(prefix)
        .bind(&audit.actor.name)
        .bind(now_ms())
        .bind(scopes)
        .fetch_one(&mut *tx)
        .await?;
        insert(&mut tx, &audit.clone().for_object(row.id).named(&row.name)).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, name, prefix, created_by, created_at, last_used_at, scopes from api_tokens
             where revoked_at is null order by created_at desc",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// `SqliteDb::revoke_token`: the revocation and its audit entry in one transaction.
    pub async fn revoke_token(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let name: Option<String> = sqlx::query_scalar(
            "update api_tokens set revoked_at = $1 where id = $2 and revoked_at is null returning name",
        )
        .bind(now_ms())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(name) = name else { return Ok(false) };
        insert(&mut tx, &audit.clone().named(name)).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, name, prefix, created_by, created_at, last_used_at, scopes from api_tokens
             where token_hash = $1 and revoked_at is null",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
    }

    /// Callers throttle this, as on SQLite.
    pub async fn touch_token(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("update api_tokens set last_used_at = $1 where id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
