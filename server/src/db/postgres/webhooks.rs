//! Webhook integrations on PostgreSQL (see `db::webhooks`). Sealing and decoding are
//! `db::webhooks`' own; there is no cache of enabled webhooks to bump (no write queue), so the
//! intake reads them in its transaction (`enabled_webhooks`).

use app::model::WebhookSpec;

use super::audit::{audited, insert};
use super::PgDb;
use crate::crypto::EncryptionKey;
use crate::db::webhooks::{decode, seal_config, to_json, Webhook, WebhookRow, PREVIOUS_SECRET, SECRET};
use crate::db::{now_ms, NewAudit};

/// The column list (`authorization` is a keyword here: quoted), as a macro for `concat!`.
macro_rules! columns {
    () => {
        r#"id, description, url, enabled, content_type, "authorization", headers, body_template, events,
        projects, environments, retry_policy, secret, previous_secret, previous_secret_expires_at, version,
        disabled_reason, disabled_at, failing_since, consecutive_failures, paused_until, last_failure, rate_limit,
        ordered, created_at, updated_at, updated_by"#
    };
}

/// The enabled webhooks, read inside the caller's transaction (the intake matches against them).
// Until the PostgreSQL intake (postgres/events.rs) calls it.
pub(crate) async fn enabled_webhooks(
    conn: &mut sqlx::PgConnection,
    key: &EncryptionKey,
) -> Result<Vec<Webhook>, sqlx::Error> {
    let rows: Vec<WebhookRow> =
        sqlx::query_as(concat!("select ", columns!(), " from webhooks where enabled order by id"))
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter().map(|row| decode(row, key)).collect()
}

impl PgDb {
    /// The subscribed event types of each enabled webhook, read without opening any secret.
    pub async fn enabled_webhook_events(&self) -> Result<Vec<Vec<String>>, sqlx::Error> {
        let rows: Vec<String> =
            sqlx::query_scalar("select events from webhooks where enabled").fetch_all(&self.pool).await?;
        rows.iter().map(|events| serde_json::from_str(events).map_err(|e| sqlx::Error::Decode(Box::new(e)))).collect()
    }

    /// In SQLite's order: `collate "C"` compares bytes as SQLite does, where the database's
    /// locale would sort spaces and punctuation its own way.
    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, sqlx::Error> {
        let rows: Vec<WebhookRow> = sqlx::query_as(concat!(
            "select ",
            columns!(),
            r#" from webhooks order by lower(description) collate "C", id"#
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| decode(row, &self.key)).collect()
    }

    pub async fn webhook(&self, id: i64) -> Result<Option<Webhook>, sqlx::Error> {
        let row: Option<WebhookRow> = sqlx::query_as(concat!("select ", columns!(), " from webhooks where id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| decode(row, &self.key)).transpose()
    }

    /// `SqliteDb::insert_webhook`: inserts, then seals the secrets under the id the row got, in one
    /// transaction with the audit entry (the plain placeholders are never committed).
    pub async fn insert_webhook(
        &self,
        spec: &WebhookSpec,
        secret: &str,
        audit: &NewAudit,
    ) -> Result<Webhook, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into webhooks (description, url, enabled, content_type, body_template, events,
                projects, environments, retry_policy, secret, created_at, updated_at, updated_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $10, $11) returning id",
        )
        .bind(&spec.description)
        .bind(&spec.url)
        .bind(spec.enabled)
        .bind(&spec.content_type)
        .bind(&spec.body_template)
        .bind(to_json(&spec.events))
        .bind(to_json(&spec.projects))
        .bind(to_json(&spec.environments))
        .bind(spec.retry_policy.as_str())
        .bind(now)
        .bind(&audit.actor.name)
        .fetch_one(&mut *tx)
        .await?;
        let (authorization, headers) = seal_config(&self.key, id, spec);
        let row: WebhookRow = sqlx::query_as(concat!(
            r#"update webhooks set "authorization" = $1, headers = $2, secret = $3, rate_limit = $5, ordered = $6
               where id = $4 returning "#,
            columns!()
        ))
        .bind(authorization)
        .bind(headers)
        .bind(self.key.seal_text(SECRET, id, secret))
        .bind(id)
        .bind(spec.rate_limit.map(|rate| rate.0))
        .bind(spec.ordered)
        .fetch_one(&mut *tx)
        .await?;
        insert(&mut tx, &audit.clone().for_object(id)).await?;
        tx.commit().await?;
        decode(row, &self.key)
    }

    /// `SqliteDb::update_webhook`: only at `expected_version`; `None` when the webhook is gone or
    /// was changed in between. Enabling clears an auto-disable record.
    pub async fn update_webhook(
        &self,
        id: i64,
        expected_version: i64,
        spec: &WebhookSpec,
        audit: &NewAudit,
    ) -> Result<Option<Webhook>, sqlx::Error> {
        let (authorization, headers) = seal_config(&self.key, id, spec);
        let mut tx = self.pool.begin().await?;
        let row: Result<Option<WebhookRow>, sqlx::Error> = sqlx::query_as(concat!(
            r#"update webhooks set description = $1, url = $2, enabled = $3, content_type = $4,
                "authorization" = $5, headers = $6, body_template = $7, events = $8, projects = $9,
                environments = $10, retry_policy = $11,
                disabled_reason = case when $3 then null else disabled_reason end,
                disabled_at = case when $3 then null else disabled_at end,
                failing_since = case when $3 and not enabled then null else failing_since end,
                consecutive_failures = case when $3 and not enabled then 0 else consecutive_failures end,
                paused_until = case when $3 and not enabled then null else paused_until end,
                rate_next_us = case when rate_limit is not distinct from $16 then rate_next_us else null end,
                rate_limit = $16, ordered = $17,
                version = version + 1, updated_at = $12, updated_by = $13
             where id = $14 and version = $15 returning "#,
            columns!()
        ))
        .bind(&spec.description)
        .bind(&spec.url)
        .bind(spec.enabled)
        .bind(&spec.content_type)
        .bind(authorization)
        .bind(headers)
        .bind(&spec.body_template)
        .bind(to_json(&spec.events))
        .bind(to_json(&spec.projects))
        .bind(to_json(&spec.environments))
        .bind(spec.retry_policy.as_str())
        .bind(now_ms())
        .bind(&audit.actor.name)
        .bind(id)
        .bind(expected_version)
        .bind(spec.rate_limit.map(|rate| rate.0))
        .bind(spec.ordered)
        .fetch_optional(&mut *tx)
        .await;
        audited(tx, row, audit).await?.map(|row| decode(row, &self.key)).transpose()
    }

    /// Turns a webhook on or off; turning it on clears an auto-disable record and its failure clock.
    pub async fn set_webhook_enabled(
        &self,
        id: i64,
        enabled: bool,
        audit: &NewAudit,
    ) -> Result<Option<Webhook>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row: Result<Option<WebhookRow>, sqlx::Error> = sqlx::query_as(concat!(
            "update webhooks set enabled = $1,
                disabled_reason = case when $1 then null else disabled_reason end,
                disabled_at = case when $1 then null else disabled_at end,
                failing_since = case when $1 then null else failing_since end,
                consecutive_failures = case when $1 and not enabled then 0 else consecutive_failures end,
                paused_until = case when $1 and not enabled then null else paused_until end,
                version = version + 1, updated_at = $2, updated_by = $3
             where id = $4 returning ",
            columns!()
        ))
        .bind(enabled)
        .bind(now_ms())
        .bind(&audit.actor.name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await;
        audited(tx, row, audit).await?.map(|row| decode(row, &self.key)).transpose()
    }

    /// `SqliteDb::resume_webhook`: closes a paused webhook's circuit breaker now, audited; `None`
    /// when it is not paused (nothing recorded).
    pub async fn resume_webhook(&self, id: i64, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row: Result<Option<WebhookRow>, sqlx::Error> = sqlx::query_as(concat!(
            "update webhooks set consecutive_failures = 0, paused_until = null
             where id = $1 and paused_until is not null returning ",
            columns!()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await;
        audited(tx, row, audit).await?.map(|row| decode(row, &self.key)).transpose()
    }

    /// Deletes a webhook (its deliveries go with it); returns whether it existed.
    pub async fn delete_webhook(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done: Result<Option<i64>, sqlx::Error> =
            sqlx::query_scalar("delete from webhooks where id = $1 returning id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await;
        Ok(audited(tx, done, audit).await?.is_some())
    }

    /// `SqliteDb::rotate_webhook_secret`: the current secret moves to `previous_secret`, opened
    /// and sealed again for that column. The row is read `for update`: two rotations at once
    /// (SQLite's single writer orders them) would otherwise both keep the same old secret.
    pub async fn rotate_webhook_secret(
        &self,
        id: i64,
        new_secret: &str,
        previous_expires_at: i64,
        audit: &NewAudit,
    ) -> Result<Option<Webhook>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let current: Option<String> = sqlx::query_scalar("select secret from webhooks where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(current) = current else { return Ok(None) };
        let previous =
            self.key.open_text(SECRET, id, &current).ok().map(|plain| self.key.seal_text(PREVIOUS_SECRET, id, &plain));
        let row: Option<WebhookRow> = sqlx::query_as(concat!(
            "update webhooks set previous_secret = $1, previous_secret_expires_at = $2, secret = $3,
                version = version + 1, updated_at = $4, updated_by = $5
             where id = $6 returning ",
            columns!()
        ))
        .bind(previous)
        .bind(previous_expires_at)
        .bind(self.key.seal_text(SECRET, id, new_secret))
        .bind(now_ms())
        .bind(&audit.actor.name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        insert(&mut tx, audit).await?;
        tx.commit().await?;
        row.map(|row| decode(row, &self.key)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::audit;

    fn spec(description: &str, enabled: bool) -> WebhookSpec {
        WebhookSpec {
            description: description.into(),
            url: "http://127.0.0.1:9/hook".into(),
            enabled,
            content_type: "application/json".into(),
            authorization: Some("Bearer sesame".into()),
            headers: [("X-Team".to_string(), "a b".to_string())].into_iter().collect(),
            body_template: None,
            events: vec!["feature-created".into()],
            projects: Vec::new(),
            environments: Vec::new(),
            retry_policy: Default::default(),
            rate_limit: None,
            ordered: false,
        }
    }

    #[tokio::test]
    async fn postgres_secrets_round_trip_sealed_and_the_intake_reads_only_enabled_webhooks() {
        let db = super::super::admins::tests::open().await;
        let on = db.insert_webhook(&spec("on", true), "whsec_on", &audit()).await.expect("insert");
        let off = db.insert_webhook(&spec("off", false), "whsec_off", &audit()).await.expect("insert");
        assert_eq!((on.authorization.as_deref(), on.secret.as_str()), (Some("Bearer sesame"), "whsec_on"));
        assert_eq!(on.headers, spec("on", true).headers);
        let stored: String = sqlx::query_scalar(r#"select "authorization" from webhooks where id = $1"#)
            .bind(on.id)
            .fetch_one(&db.pool)
            .await
            .expect("row");
        assert!(crate::crypto::is_sealed(&stored) && !stored.contains("sesame"), "{stored}");

        let mut conn = db.pool.acquire().await.expect("conn");
        let enabled = enabled_webhooks(&mut conn, &db.key).await.expect("enabled");
        assert_eq!(enabled.iter().map(|w| w.id).collect::<Vec<_>>(), [on.id]);
        assert_eq!(enabled[0], on);
        drop(conn);
        assert_eq!(db.enabled_webhook_events().await.expect("events"), [vec!["feature-created".to_string()]]);

        let stale = db.update_webhook(off.id, off.version + 1, &spec("off", true), &audit()).await.expect("update");
        assert!(stale.is_none(), "a stale version changes nothing");
        let updated = db.update_webhook(off.id, off.version, &spec("now on", true), &audit()).await.expect("update");
        assert_eq!(updated.map(|w| (w.enabled, w.version)), Some((true, off.version + 1)));
        assert!(db.set_webhook_enabled(on.id, false, &audit()).await.expect("disable").is_some_and(|w| !w.enabled));
        assert!(db.delete_webhook(on.id, &audit()).await.expect("delete"));
        assert!(!db.delete_webhook(on.id, &audit()).await.expect("delete again"));
        assert_eq!(db.list_webhooks().await.expect("list").len(), 1);
        db.close().await;
    }

    #[tokio::test]
    async fn postgres_two_rotations_at_once_keep_the_secret_in_between() {
        let db = super::super::admins::tests::open().await;
        let hook = db.insert_webhook(&spec("rotating", true), "whsec_0", &audit()).await.expect("insert");
        for round in 0..10 {
            let (db1, db2) = (db.clone(), db.clone());
            let (one, two) = (format!("whsec_{round}a"), format!("whsec_{round}b"));
            let (a, b) = (one.clone(), two.clone());
            let (r1, r2) = tokio::join!(
                tokio::spawn(async move { db1.rotate_webhook_secret(hook.id, &a, i64::MAX, &audit()).await }),
                tokio::spawn(async move { db2.rotate_webhook_secret(hook.id, &b, i64::MAX, &audit()).await }),
            );
            r1.expect("task").expect("rotate").expect("found");
            r2.expect("task").expect("rotate").expect("found");
            let now = db.webhook(hook.id).await.expect("read").expect("found");
            // Whichever came second replaced the first one's secret, which still signs.
            let (current, previous) = (now.secret.clone(), now.previous_secret.clone().unwrap_or_default());
            assert!(
                (current == one && previous == two) || (current == two && previous == one),
                "round {round}: {current} / {previous}"
            );
        }
        assert!(db.rotate_webhook_secret(hook.id + 1000, "x", 0, &audit()).await.expect("rotate").is_none());
        db.close().await;
    }
}
