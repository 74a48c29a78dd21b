//! Webhook integrations on PostgreSQL (see `db::webhooks`).

#![allow(unused_variables)]

use super::PgDb;
use crate::db::*;

impl PgDb {
    pub async fn enabled_webhook_events(&self) -> Result<Vec<Vec<String>>, sqlx::Error> {
        todo!("PostgreSQL: enabled_webhook_events")
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, sqlx::Error> {
        todo!("PostgreSQL: list_webhooks")
    }

    pub async fn webhook(&self, id: i64) -> Result<Option<Webhook>, sqlx::Error> {
        todo!("PostgreSQL: webhook")
    }

    pub async fn insert_webhook(&self, spec: &WebhookSpec, secret: &str, audit: &NewAudit) -> Result<Webhook, sqlx::Error> {
        todo!("PostgreSQL: insert_webhook")
    }

    pub async fn update_webhook(&self, id: i64, expected_version: i64, spec: &WebhookSpec, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error> {
        todo!("PostgreSQL: update_webhook")
    }

    pub async fn set_webhook_enabled(&self, id: i64, enabled: bool, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error> {
        todo!("PostgreSQL: set_webhook_enabled")
    }

    pub async fn delete_webhook(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        todo!("PostgreSQL: delete_webhook")
    }

    pub async fn rotate_webhook_secret(&self, id: i64, new_secret: &str, previous_expires_at: i64, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error> {
        todo!("PostgreSQL: rotate_webhook_secret")
    }

}

// TEMPORARY until the helper's port lands.
pub(crate) async fn enabled_webhooks(
    conn: &mut sqlx::PgConnection,
    key: &crate::crypto::EncryptionKey,
) -> Result<Vec<Webhook>, sqlx::Error> {
    todo!("PostgreSQL: enabled_webhooks")
}
