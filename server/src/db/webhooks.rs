//! Webhook integrations.
//!
//! Every write here bumps `Changes::webhooks` once it ran, which is what keeps the write queue's
//! cache of enabled webhooks (the intake matches events against it) from ever being stale.
//!
//! The Authorization value, the extra headers and the signing secrets are sealed on their way in
//! and opened on their way out (`crate::crypto`), so callers only ever see plain `Webhook`s.

use app::model::{RetryPolicy, WebhookSpec};
use hookline_core::event::{Event, EventView};
use hookline_core::subscription::Subscription;

use super::audit::{self, audited, NewAudit};
use super::{now_ms, SqliteDb};
use crate::crypto::EncryptionKey;

/// A stored webhook, secrets in clear (server-side only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub description: String,
    pub url: String,
    pub enabled: bool,
    pub content_type: String,
    pub authorization: Option<String>,
    pub headers: app::model::HeaderMap,
    pub body_template: Option<String>,
    pub events: Vec<String>,
    pub projects: Vec<String>,
    pub environments: Vec<String>,
    pub retry_policy: RetryPolicy,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub version: i64,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<i64>,
    pub failing_since: Option<i64>,
    /// The circuit breaker: failed attempts in a row (any success resets it).
    pub consecutive_failures: i64,
    /// The circuit breaker is open until then: no delivery is sent before (see `db::deliveries`).
    pub paused_until: Option<i64>,
    /// What the last failed attempt reported, e.g. "The receiver answered HTTP 503 Service Unavailable".
    pub last_failure: Option<String>,
    /// At most this many deliveries per second (see `db::deliveries::Bucket`); `None`: unlimited.
    pub rate_limit: Option<app::model::PerSecond>,
    /// Deliveries leave in event order (head-of-line blocking, see `db::deliveries`).
    pub ordered: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    /// Why stored secrets could not be decrypted (altered in the file, or moved from another row):
    /// those fields are then empty. Deliveries fail with this message rather than go out without
    /// their credentials, and revealing or duplicating the webhook is refused.
    pub unreadable: Option<String>,
}

impl Webhook {
    /// What the UI calls the webhook: its description, or the URL's host when it has none.
    pub fn title(&self) -> String {
        if self.description.is_empty() {
            app::model::url_host(&self.url)
        } else {
            self.description.clone()
        }
    }

    /// The secrets that sign a delivery at `now_ms`: the current one, plus the previous one during
    /// a rotation's grace period.
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at) {
            if now_ms < until {
                secrets.push(previous);
            }
        }
        secrets
    }

    /// Whether an event goes to this webhook: it is enabled and its subscription takes the event.
    pub fn takes(&self, event: &Event) -> bool {
        self.enabled
            && Subscription { events: &self.events, projects: &self.projects, environments: &self.environments }
                .matches(&EventView::from(event))
    }
}

/// A webhook as stored: secrets sealed, lists as JSON text (`decode` opens it; both backends).
#[derive(sqlx::FromRow)]
pub(super) struct WebhookRow {
    id: i64,
    description: String,
    url: String,
    enabled: bool,
    content_type: String,
    authorization: Option<String>,
    headers: String,
    body_template: Option<String>,
    events: String,
    projects: String,
    environments: String,
    retry_policy: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
    version: i64,
    disabled_reason: Option<String>,
    disabled_at: Option<i64>,
    failing_since: Option<i64>,
    consecutive_failures: i64,
    paused_until: Option<i64>,
    last_failure: Option<String>,
    rate_limit: Option<f64>,
    ordered: bool,
    created_at: i64,
    updated_at: i64,
    updated_by: String,
}

/// The column list, as a macro so queries stay compile-time string literals (`concat!`).
macro_rules! columns {
    () => {
        "id, description, url, enabled, content_type, authorization, headers, body_template, events,
        projects, environments, retry_policy, secret, previous_secret, previous_secret_expires_at, version,
        disabled_reason, disabled_at, failing_since, consecutive_failures, paused_until, last_failure, rate_limit,
        ordered, created_at, updated_at, updated_by"
    };
}

/// Where each secret of a webhook is sealed (the associated data's column).
const AUTHORIZATION: &str = "webhooks.authorization";
const HEADERS: &str = "webhooks.headers";
pub(super) const SECRET: &str = "webhooks.secret";
pub(super) const PREVIOUS_SECRET: &str = "webhooks.previous_secret";

/// The Authorization and headers columns of webhook `id`, sealed.
pub(super) fn seal_config(key: &EncryptionKey, id: i64, spec: &WebhookSpec) -> (Option<String>, String) {
    let authorization = spec.authorization.as_deref().map(|value| key.seal_text(AUTHORIZATION, id, value));
    (authorization, key.seal_text(HEADERS, id, &to_json(&spec.headers)))
}

pub(super) fn decode(row: WebhookRow, key: &EncryptionKey) -> Result<Webhook, sqlx::Error> {
    let id = row.id;
    let mut problems = Vec::new();
    let mut open = |column: &str, what: &str, remedy: &str, sealed: &str| match key.open_text(column, id, sealed) {
        Ok(plain) => Some(plain),
        Err(error) => {
            problems.push(format!("the {what} ({error}): {remedy}"));
            None
        }
    };
    let authorization = row
        .authorization
        .as_deref()
        .and_then(|sealed| open(AUTHORIZATION, "Authorization value", "edit the webhook and enter it again", sealed));
    let headers = open(HEADERS, "extra headers", "edit the webhook and enter them again", &row.headers);
    let secret = open(SECRET, "signing secret", "rotate it", &row.secret).unwrap_or_default();
    let previous_secret = row
        .previous_secret
        .as_deref()
        .and_then(|sealed| open(PREVIOUS_SECRET, "previous signing secret", "rotate the signing secret", sealed));
    let unreadable = (!problems.is_empty())
        .then(|| format!("The webhook's stored secrets cannot be decrypted: {}", problems.join("; ")));
    let json = |column: &'static str, text: &str| {
        sqlx::Error::Decode(format!("webhooks.{column} of webhook {id} is not valid JSON: {text}").into())
    };
    let headers = match headers {
        // Not repeated in the error: the headers are secret.
        Some(text) => serde_json::from_str(&text)
            .map_err(|_| sqlx::Error::Decode(format!("webhooks.headers of webhook {id} is not valid JSON").into()))?,
        None => app::model::HeaderMap::new(),
    };
    Ok(Webhook {
        id: row.id,
        description: row.description,
        url: row.url,
        enabled: row.enabled,
        content_type: row.content_type,
        authorization,
        headers,
        body_template: row.body_template,
        events: serde_json::from_str(&row.events).map_err(|_| json("events", &row.events))?,
        projects: serde_json::from_str(&row.projects).map_err(|_| json("projects", &row.projects))?,
        environments: serde_json::from_str(&row.environments).map_err(|_| json("environments", &row.environments))?,
        retry_policy: RetryPolicy::parse(&row.retry_policy).unwrap_or_default(),
        secret,
        previous_secret,
        previous_secret_expires_at: row.previous_secret_expires_at,
        version: row.version,
        disabled_reason: row.disabled_reason,
        disabled_at: row.disabled_at,
        failing_since: row.failing_since,
        consecutive_failures: row.consecutive_failures,
        paused_until: row.paused_until,
        last_failure: row.last_failure,
        rate_limit: row.rate_limit.map(app::model::PerSecond),
        ordered: row.ordered,
        created_at: row.created_at,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
        unreadable,
    })
}

/// The enabled webhooks, read inside the caller's transaction (the intake matches against them).
pub(super) async fn enabled_webhooks(
    conn: &mut sqlx::SqliteConnection,
    key: &EncryptionKey,
) -> Result<Vec<Webhook>, sqlx::Error> {
    let rows: Vec<WebhookRow> =
        sqlx::query_as(concat!("select ", columns!(), " from webhooks where enabled = 1 order by id"))
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter().map(|row| decode(row, key)).collect()
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

impl SqliteDb {
    /// The subscribed event types of each enabled webhook, read without opening any secret
    /// (the Connect Unleash page asks every few seconds).
    pub async fn enabled_webhook_events(&self) -> Result<Vec<Vec<String>>, sqlx::Error> {
        let rows: Vec<String> =
            sqlx::query_scalar("select events from webhooks where enabled = 1").fetch_all(&self.read).await?;
        rows.iter().map(|events| serde_json::from_str(events).map_err(|e| sqlx::Error::Decode(Box::new(e)))).collect()
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, sqlx::Error> {
        let rows: Vec<WebhookRow> =
            sqlx::query_as(concat!("select ", columns!(), " from webhooks order by lower(description), id"))
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(|row| decode(row, &self.key)).collect()
    }

    pub async fn webhook(&self, id: i64) -> Result<Option<Webhook>, sqlx::Error> {
        let row: Option<WebhookRow> = sqlx::query_as(concat!("select ", columns!(), " from webhooks where id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| decode(row, &self.key)).transpose()
    }

    /// Creates a webhook; `audit` (its actor is the "updated by") is recorded for the new id.
    pub async fn insert_webhook(
        &self,
        spec: &WebhookSpec,
        secret: &str,
        audit: &NewAudit,
    ) -> Result<Webhook, sqlx::Error> {
        let row = self.insert_webhook_row(spec, secret, audit).await;
        self.changes.webhook_changed();
        decode(row?, &self.key)
    }

    /// Inserts, then seals the secrets under the id the row got (they are bound to it), in one
    /// transaction with the audit entry: the plain placeholders are never committed.
    async fn insert_webhook_row(
        &self,
        spec: &WebhookSpec,
        secret: &str,
        audit: &NewAudit,
    ) -> Result<WebhookRow, sqlx::Error> {
        let now = now_ms();
        let actor = &audit.actor.name;
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into webhooks (description, url, enabled, content_type, body_template, events,
                projects, environments, retry_policy, secret, created_at, updated_at, updated_by)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?) returning id",
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
        .bind(now)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await?;
        let (authorization, headers) = seal_config(&self.key, id, spec);
        let row: WebhookRow = sqlx::query_as(concat!(
            "update webhooks set authorization = ?, headers = ?, secret = ?, rate_limit = ?, ordered = ? where id = ?
             returning ",
            columns!(),
            ""
        ))
        .bind(authorization)
        .bind(headers)
        .bind(self.key.seal_text(SECRET, id, secret))
        .bind(spec.rate_limit.map(|rate| rate.0))
        .bind(spec.ordered)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        audit::insert(&mut tx, &audit.clone().for_object(id)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Replaces the configuration if the webhook is still at `expected_version` (the version the
    /// change was validated against); bumps the version. Enabling clears an auto-disable record.
    /// `None` when the webhook is gone or was changed in between: the caller tells which.
    /// `audit` is recorded in the same transaction when the webhook was updated.
    pub async fn update_webhook(
        &self,
        id: i64,
        expected_version: i64,
        spec: &WebhookSpec,
        audit: &NewAudit,
    ) -> Result<Option<Webhook>, sqlx::Error> {
        let (authorization, headers) = seal_config(&self.key, id, spec);
        let mut tx = self.write.begin().await?;
        let row: Result<Option<WebhookRow>, sqlx::Error> = sqlx::query_as(concat!(
            "update webhooks set description = ?1, url = ?2, enabled = ?3, content_type = ?4,
                authorization = ?5, headers = ?6, body_template = ?7, events = ?8, projects = ?9,
                environments = ?10, retry_policy = ?11,
                disabled_reason = case when ?3 then null else disabled_reason end,
                disabled_at = case when ?3 then null else disabled_at end,
                failing_since = case when ?3 and not enabled then null else failing_since end,
                consecutive_failures = case when ?3 and not enabled then 0 else consecutive_failures end,
                paused_until = case when ?3 and not enabled then null else paused_until end,
                rate_next_us = case when rate_limit is ?16 then rate_next_us else null end,
                rate_limit = ?16, ordered = ?17,
                version = version + 1, updated_at = ?12, updated_by = ?13
             where id = ?14 and version = ?15 returning ",
            columns!(),
            ""
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
        let row = audited(tx, row, audit).await;
        self.changes.webhook_changed();
        row?.map(|row| decode(row, &self.key)).transpose()
    }

    /// Turns a webhook on or off. Turning it on clears an auto-disable record and its failure clock.
    /// `audit` is recorded in the same transaction when the webhook exists.
    pub async fn set_webhook_enabled(
        &self,
        id: i64,
        enabled: bool,
        audit: &NewAudit,
    ) -> Result<Option<Webhook>, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let row: Result<Option<WebhookRow>, sqlx::Error> = sqlx::query_as(concat!(
            "update webhooks set enabled = ?1,
                disabled_reason = case when ?1 then null else disabled_reason end,
                disabled_at = case when ?1 then null else disabled_at end,
                failing_since = case when ?1 then null else failing_since end,
                consecutive_failures = case when ?1 and not enabled then 0 else consecutive_failures end,
                paused_until = case when ?1 and not enabled then null else paused_until end,
                version = version + 1, updated_at = ?2, updated_by = ?3
             where id = ?4 returning ",
            columns!(),
            ""
        ))
        .bind(enabled)
        .bind(now_ms())
        .bind(&audit.actor.name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await;
        let row = audited(tx, row, audit).await;
        self.changes.webhook_changed();
        row?.map(|row| decode(row, &self.key)).transpose()
    }

    /// Closes a paused webhook's circuit breaker now (an admin's "Resume now"): its deliveries are
    /// claimed again at once and its failure count restarts. `audit` is recorded in the same
    /// transaction; `None` when the webhook is not paused (or gone), and nothing is recorded.
    pub async fn resume_webhook(&self, id: i64, audit: &NewAudit) -> Result<Option<Webhook>, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let row: Result<Option<WebhookRow>, sqlx::Error> = sqlx::query_as(concat!(
            "update webhooks set consecutive_failures = 0, paused_until = null
             where id = ? and paused_until is not null returning ",
            columns!(),
            ""
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await;
        let row = audited(tx, row, audit).await;
        row?.map(|row| decode(row, &self.key)).transpose()
    }

    /// Deletes a webhook (its deliveries go with it); `audit` is recorded in the same transaction
    /// when it existed. Returns whether it did.
    pub async fn delete_webhook(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let done =
            sqlx::query("delete from webhooks where id = ? returning id").bind(id).fetch_optional(&mut *tx).await;
        let done = audited(tx, done, audit).await;
        self.changes.webhook_changed();
        Ok(done?.is_some())
    }

    /// Installs a new signing secret; the old one keeps signing until `previous_expires_at`. An old
    /// secret that cannot be decrypted is dropped: rotating is how such a webhook recovers.
    pub async fn rotate_webhook_secret(
        &self,
        id: i64,
        new_secret: &str,
        previous_expires_at: i64,
        audit: &NewAudit,
    ) -> Result<Option<Webhook>, sqlx::Error> {
        let row = self.rotate_webhook_secret_row(id, new_secret, previous_expires_at, audit).await;
        self.changes.webhook_changed();
        row?.map(|row| decode(row, &self.key)).transpose()
    }

    /// The current secret moves to `previous_secret`: opened and sealed again for that column
    /// (a sealed value only opens in the column it was sealed for).
    async fn rotate_webhook_secret_row(
        &self,
        id: i64,
        new_secret: &str,
        previous_expires_at: i64,
        audit: &NewAudit,
    ) -> Result<Option<WebhookRow>, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let current: Option<String> =
            sqlx::query_scalar("select secret from webhooks where id = ?").bind(id).fetch_optional(&mut *tx).await?;
        let Some(current) = current else { return Ok(None) };
        let previous =
            self.key.open_text(SECRET, id, &current).ok().map(|plain| self.key.seal_text(PREVIOUS_SECRET, id, &plain));
        let row: Option<WebhookRow> = sqlx::query_as(concat!(
            "update webhooks set previous_secret = ?, previous_secret_expires_at = ?, secret = ?,
                version = version + 1, updated_at = ?, updated_by = ?
             where id = ? returning ",
            columns!(),
            ""
        ))
        .bind(previous)
        .bind(previous_expires_at)
        .bind(self.key.seal_text(SECRET, id, new_secret))
        .bind(now_ms())
        .bind(&audit.actor.name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        audit::insert(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(row)
    }
}
