//! API tokens: stored as SHA-256 hashes, looked up by hash on every API call.

use super::audit::{self, NewAudit};
use super::{now_ms, SqliteDb};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// `events,read,…` (hookline-core's `scope::format_list`).
    pub scopes: String,
}

impl TokenRow {
    /// The stored scopes; a value the database's check let through but this version does not
    /// know grants nothing.
    pub fn scopes(&self) -> Vec<hookline_core::scope::Scope> {
        hookline_core::scope::parse_list(&self.scopes).unwrap_or_default()
    }
}

impl SqliteDb {
    /// Stores a token (its hash); `audit` (whose actor is "created by") is recorded for the new id
    /// in the same transaction.
    pub async fn insert_token(
        &self,
        name: &str,
        token_hash: &str,
        prefix: &str,
        scopes: &str,
        audit: &NewAudit,
    ) -> Result<TokenRow, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let row: TokenRow = sqlx::query_as(
            "insert into api_tokens (name, token_hash, prefix, created_by, created_at, scopes) values (?, ?, ?, ?, ?, ?)
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
        audit::insert(&mut tx, &audit.clone().for_object(row.id).named(&row.name)).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, name, prefix, created_by, created_at, last_used_at, scopes from api_tokens
             where revoked_at is null order by created_at desc",
        )
        .fetch_all(&self.read)
        .await
    }

    /// Revokes a live token; `audit` is recorded (with the token's name) in the same transaction.
    /// Returns whether there was one.
    pub async fn revoke_token(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let name: Option<String> = sqlx::query_scalar(
            "update api_tokens set revoked_at = ? where id = ? and revoked_at is null returning name",
        )
        .bind(now_ms())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(name) = name else { return Ok(false) };
        audit::insert(&mut tx, &audit.clone().named(name)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The live token with this hash, if any.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, name, prefix, created_by, created_at, last_used_at, scopes from api_tokens
             where token_hash = ? and revoked_at is null",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
    }

    /// Records a use of the token. Callers throttle this (once a minute per token) so API traffic
    /// does not turn every read into a write.
    pub async fn touch_token(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("update api_tokens set last_used_at = ? where id = ?")
            .bind(now_ms())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
