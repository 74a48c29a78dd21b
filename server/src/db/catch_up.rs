//! The Unleash catch-up poller's state (see `crate::unleash`): its cursor (the highest Unleash event
//! id it has taken in) and what the Connect page reports (last success, last error, events caught
//! up). One row, shared by every instance, created by the first poll.
//!
//! Also where it reads Unleash, as an admin set it on the Connect page (`unleash_settings`): the
//! URL, and the API token sealed like the webhooks' secrets (`crate::crypto`), bound to its column
//! and row. The environment's HOOKLINE_UNLEASH_URL / HOOKLINE_UNLEASH_TOKEN win over these.

use super::audit::{self, NewAudit};
use super::SqliteDb;
use crate::crypto::EncryptionKey;

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
    /// The Unleash the cursor belongs to (None: written before this was recorded).
    pub cursor_url: Option<String>,
    /// The cursor's first value (Unleash's newest event when catch-up started polling it):
    /// nothing at or below it is taken in.
    pub cursor_start: Option<i64>,
}

impl CatchUpRow {
    /// The cursor, if it belongs to the Unleash at `url` (event ids are per Unleash).
    pub fn cursor_for(&self, url: &str) -> Option<i64> {
        match &self.cursor_url {
            Some(owner) if owner != url => None,
            _ => self.cursor_event_id,
        }
    }
}

/// The columns `CatchUpRow` reads.
pub(super) const SELECT: &str =
    "select cursor_event_id, last_success_at, last_error, last_error_at, caught_up, cursor_url, cursor_start from unleash_catch_up where id = 1";

/// Records a successful poll of the Unleash at `?4`, whose cursor started at `?5`: the cursor
/// moves to `?1` (never back for the same Unleash: an instance that polled an older view cannot
/// undo a newer one), `caught_up` grows by `?2`, at `?3`. PostgreSQL runs it with `$` for `?`.
pub(super) const SAVE_SUCCESS: &str = "insert into unleash_catch_up
        (id, cursor_event_id, cursor_url, cursor_start, caught_up, last_success_at, created_at, updated_at)
     values (1, ?1, ?4, ?5, ?2, ?3, ?3, ?3)
     on conflict (id) do update set
        cursor_event_id = case when unleash_catch_up.cursor_url is not distinct from excluded.cursor_url
                                    and unleash_catch_up.cursor_event_id > excluded.cursor_event_id
                               then unleash_catch_up.cursor_event_id
                               else excluded.cursor_event_id end,
        cursor_url = excluded.cursor_url,
        cursor_start = excluded.cursor_start,
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

/// Where the sealed token lives (the associated data of its sealing; row 1).
pub(crate) const TOKEN_COLUMN: &str = "unleash_settings.token";
/// The settings' one row.
pub(crate) const SETTINGS_ROW: i64 = 1;

/// The Connect page's Unleash settings as stored, the token still sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingsRow {
    pub url: Option<String>,
    token: Option<String>,
    pub updated_by: String,
    pub updated_at: i64,
}

/// The Connect page's Unleash settings, the token opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnleashSettings {
    pub url: Option<String>,
    /// The API token in plain text; None when not set, or when it does not open (a warning is
    /// logged: the key changed outside `hookline rotate-key`, or the row was altered).
    pub token: Option<String>,
    pub updated_by: String,
    pub updated_at: i64,
}

impl SettingsRow {
    pub(crate) fn open(self, key: &EncryptionKey) -> UnleashSettings {
        let token = self.token.and_then(|sealed| match key.open_text(TOKEN_COLUMN, SETTINGS_ROW, &sealed) {
            Ok(token) => Some(token),
            Err(error) => {
                tracing::warn!(%error, "the stored Unleash API token cannot be read: set it again on the Connect page");
                None
            }
        });
        UnleashSettings { url: self.url, token, updated_by: self.updated_by, updated_at: self.updated_at }
    }
}

/// A change to the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenChange {
    /// Keep the stored one (the form left the field empty).
    Keep,
    /// Store this one (sealed).
    Set(String),
}

impl TokenChange {
    /// The token to store, sealed under `key`; None keeps the stored one. Both backends store it so.
    pub(super) fn sealed(&self, key: &EncryptionKey) -> Option<String> {
        match self {
            TokenChange::Keep => None,
            TokenChange::Set(token) => Some(key.seal_text(TOKEN_COLUMN, SETTINGS_ROW, token)),
        }
    }
}

/// The settings' columns.
pub(super) const SELECT_SETTINGS: &str = "select url, token, updated_by, updated_at from unleash_settings where id = 1";
/// Stores the URL (`?1`) and, unless `?2` is null, the sealed token, by `?3` at `?4`. PostgreSQL
/// runs it with `$` for `?`.
pub(super) const SAVE_SETTINGS: &str =
    "insert into unleash_settings (id, url, token, updated_by, created_at, updated_at)
     values (1, ?1, ?2, ?3, ?4, ?4)
     on conflict (id) do update set
        url = excluded.url,
        token = coalesce(excluded.token, unleash_settings.token),
        updated_by = excluded.updated_by,
        updated_at = excluded.updated_at";

impl SqliteDb {
    /// The Connect page's Unleash settings, if any are stored.
    pub async fn unleash_settings(&self) -> Result<Option<UnleashSettings>, sqlx::Error> {
        let row: Option<SettingsRow> = sqlx::query_as(SELECT_SETTINGS).fetch_optional(&self.read).await?;
        Ok(row.map(|row| row.open(&self.key)))
    }

    /// Stores the Connect page's Unleash settings with their audit entry, in one transaction.
    pub async fn save_unleash_settings(
        &self,
        url: Option<&str>,
        token: &TokenChange,
        audit: &NewAudit,
    ) -> Result<(), sqlx::Error> {
        let sealed = token.sealed(&self.key);
        let mut tx = self.write.begin().await?;
        sqlx::query(SAVE_SETTINGS)
            .bind(url)
            .bind(sealed)
            .bind(&audit.actor.name)
            .bind(super::now_ms())
            .execute(&mut *tx)
            .await?;
        audit::insert(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the Connect page's Unleash settings with their audit entry; false when none were
    /// stored (nothing is audited then).
    pub async fn clear_unleash_settings(&self, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let deleted = sqlx::query("delete from unleash_settings where id = 1").execute(&mut *tx).await?.rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        audit::insert(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The poller's state; None before its first poll.
    pub async fn catch_up_state(&self) -> Result<Option<CatchUpRow>, sqlx::Error> {
        sqlx::query_as(SELECT).fetch_optional(&self.read).await
    }

    /// A poll of the Unleash at `url` (whose cursor started at `start`) that took in events up to
    /// `cursor`, `created` of them new.
    pub async fn save_catch_up_success(
        &self,
        cursor: i64,
        created: i64,
        now: i64,
        url: &str,
        start: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(SAVE_SUCCESS)
            .bind(cursor)
            .bind(created)
            .bind(now)
            .bind(url)
            .bind(start)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A poll that failed with `message`.
    pub async fn save_catch_up_error(&self, message: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(SAVE_ERROR).bind(message).bind(now).execute(&self.write).await?;
        Ok(())
    }
}
