//! API tokens on PostgreSQL (see `db::tokens`).

#![allow(unused_variables)]

use super::PgDb;
use crate::db::*;

impl PgDb {
    pub async fn insert_token(&self, name: &str, token_hash: &str, prefix: &str, scopes: &str, audit: &NewAudit) -> Result<TokenRow, sqlx::Error> {
        todo!("PostgreSQL: insert_token")
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, sqlx::Error> {
        todo!("PostgreSQL: list_tokens")
    }

    pub async fn revoke_token(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        todo!("PostgreSQL: revoke_token")
    }

    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
        todo!("PostgreSQL: token_by_hash")
    }

    pub async fn touch_token(&self, id: i64) -> Result<(), sqlx::Error> {
        todo!("PostgreSQL: touch_token")
    }

}
