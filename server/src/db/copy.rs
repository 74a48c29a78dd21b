//! `hookline copy`: moves an installation's data from SQLite to PostgreSQL.
//!
//! The source is read in one transaction (a consistent snapshot, so a running server may keep
//! working while it is read; what it accepts afterwards is not in the copy). Rows keep their ids,
//! so delivery logs, audit entries and the `webhook-id`s receivers have seen stay the same.
//! Secrets are opened with the source's key and sealed again with the target's (a sealed value is
//! bound to its table, column and row, which the copy keeps). Leases are dropped: whatever was in
//! flight at the snapshot is due again in the copy. Sessions are not copied (admins sign in again).

use anyhow::Context;
use sqlx::{Row, SqliteConnection};

use super::postgres::without_nul;
use super::{PgDb, SqliteDb};
use crate::crypto::EncryptionKey;

/// How a column is read from SQLite and bound for PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    OptInt,
    Text,
    OptText,
    /// A number that may have a fraction (real on SQLite, double precision on PostgreSQL).
    OptReal,
    /// Stored as 0/1 on SQLite, a boolean on PostgreSQL.
    Bool,
    /// Text sealed with the database's key (see `db::secrets::SEALED_COLUMNS`).
    Sealed,
    OptSealed,
    /// A lease: not copied (null).
    Dropped,
}

use Kind::*;

/// The tables in foreign-key order, with their columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    ("admins", &[("id", Int), ("email", Text), ("password_hash", Text), ("created_at", Int), ("updated_at", Int)]),
    (
        "api_tokens",
        &[
            ("id", Int),
            ("name", Text),
            ("token_hash", Text),
            ("prefix", Text),
            ("created_by", Text),
            ("created_at", Int),
            ("last_used_at", OptInt),
            ("revoked_at", OptInt),
            ("scopes", Text),
        ],
    ),
    (
        "webhooks",
        &[
            ("id", Int),
            ("description", Text),
            ("url", Text),
            ("enabled", Bool),
            ("content_type", Text),
            ("authorization", OptSealed),
            ("headers", Sealed),
            ("body_template", OptText),
            ("events", Text),
            ("projects", Text),
            ("environments", Text),
            ("retry_policy", Text),
            ("secret", Sealed),
            ("previous_secret", OptSealed),
            ("previous_secret_expires_at", OptInt),
            ("version", Int),
            ("disabled_reason", OptText),
            ("disabled_at", OptInt),
            ("failing_since", OptInt),
            ("consecutive_failures", Int),
            ("paused_until", OptInt),
            ("last_failure", OptText),
            ("rate_limit", OptReal),
            // The rate limit's state starts afresh (a full bucket), like the leases.
            ("rate_next_us", Dropped),
            ("ordered", Bool),
            ("created_at", Int),
            ("updated_at", Int),
            ("updated_by", Text),
        ],
    ),
    (
        "events",
        &[
            ("id", Int),
            ("type", Text),
            ("payload", Text),
            ("feature_name", OptText),
            ("project", OptText),
            ("environment", OptText),
            ("created_by", Text),
            ("source", Text),
            ("created_at", Int),
            ("received_at", Int),
        ],
    ),
    (
        "deliveries",
        &[
            ("id", Int),
            ("uid", Text),
            ("webhook_id", Int),
            ("event_id", Int),
            ("event_type", Text),
            ("state", Text),
            ("unleash_state", OptText),
            ("state_details", OptText),
            ("attempts", Int),
            ("last_status", OptInt),
            ("last_error_class", OptText),
            ("last_duration_ms", OptInt),
            ("lease_until", Dropped),
            ("next_attempt_at", OptInt),
            ("next_trigger", Text),
            ("single_attempt", Bool),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "attempts",
        &[
            ("id", Int),
            ("delivery_id", Int),
            ("number", Int),
            ("trigger", Text),
            ("url", Text),
            ("request_headers", Text),
            ("request_body", Text),
            ("status", Int),
            ("response_headers", OptText),
            ("response_body", OptText),
            ("response_body_encoding", Text),
            ("duration_ms", Int),
            ("error_class", OptText),
            ("error_message", OptText),
            ("started_at", Int),
            ("next_attempt_at", OptInt),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", Int),
            ("created_at", Int),
            ("actor_kind", Text),
            ("actor_id", OptInt),
            ("actor_name", Text),
            ("action", Text),
            ("object_kind", OptText),
            ("object_id", OptInt),
            ("object_name", OptText),
            ("detail", Text),
            ("address", OptText),
        ],
    ),
    // The Unleash catch-up: its cursor (the copy resumes where the original stopped) and the
    // URL and token set on the Connect page.
    (
        "unleash_catch_up",
        &[
            ("id", Int),
            ("cursor_event_id", OptInt),
            ("cursor_url", OptText),
            ("cursor_start", OptInt),
            ("last_success_at", OptInt),
            ("last_error", OptText),
            ("last_error_at", OptInt),
            ("caught_up", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "unleash_settings",
        &[
            ("id", Int),
            ("url", OptText),
            ("token", OptSealed),
            ("updated_by", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    ),
];

/// Rows per insert.
const BATCH: i64 = 2_000;

/// One column's values for a batch, as PostgreSQL arrays.
enum Values {
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<String>>),
    Bools(Vec<bool>),
    Reals(Vec<Option<f64>>),
}

/// What a copy moved: rows per table.
#[derive(Debug, Default)]
pub struct Copied {
    pub tables: Vec<(&'static str, u64)>,
}

/// Copies every table of `from` into `to`, which must hold no data yet.
pub async fn copy(from: &SqliteDb, to: &PgDb) -> anyhow::Result<Copied> {
    for (table, _) in TABLES {
        let rows: i64 = sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(&to.pool).await?;
        anyhow::ensure!(
            rows == 0,
            "the target database already holds data ({rows} rows in {table}); copy into a new, empty database"
        );
    }
    let mut source = from.read.acquire().await?;
    // One read transaction: every table from the same snapshot.
    sqlx::query("begin").execute(&mut *source).await?;
    let result = copy_tables(&mut source, from.encryption_key(), to).await;
    let _ = sqlx::query("rollback").execute(&mut *source).await;
    result
}

async fn copy_tables(source: &mut SqliteConnection, old: &EncryptionKey, to: &PgDb) -> anyhow::Result<Copied> {
    let mut tx = to.pool.begin().await?;
    let mut copied = Copied::default();
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let select = format!("select {} from {table} where id > ? order by id limit ?", names.join(", "));
        let mut after = i64::MIN;
        let mut count = 0u64;
        loop {
            let rows = sqlx::query(&select).bind(after).bind(BATCH).fetch_all(&mut *source).await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            let mut values: Vec<Values> = Vec::with_capacity(columns.len());
            for (name, kind) in columns.iter() {
                let place = format!("{table}.{name}");
                values.push(match kind {
                    Int | OptInt => Values::Ints(
                        rows.iter().map(|row| row.try_get::<Option<i64>, _>(*name)).collect::<Result<_, _>>()?,
                    ),
                    Dropped => Values::Ints(vec![None; rows.len()]),
                    OptReal => Values::Reals(
                        rows.iter().map(|row| row.try_get::<Option<f64>, _>(*name)).collect::<Result<_, _>>()?,
                    ),
                    Text | OptText => Values::Texts(
                        rows.iter()
                            .map(|row| row.try_get::<Option<String>, _>(*name).map(|t| t.map(|t| without_nul(&t))))
                            .collect::<Result<_, _>>()?,
                    ),
                    Bool => {
                        Values::Bools(rows.iter().map(|row| row.try_get::<bool, _>(*name)).collect::<Result<_, _>>()?)
                    }
                    Sealed | OptSealed => {
                        let mut out = Vec::with_capacity(rows.len());
                        for row in &rows {
                            let id: i64 = row.try_get("id")?;
                            let value: Option<String> = row.try_get(*name)?;
                            out.push(match value {
                                Some(value) => Some(reseal(old, &to.key, &place, id, &value)?),
                                None => None,
                            });
                        }
                        Values::Texts(out)
                    }
                });
            }
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            let arrays: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(n, (_, kind))| {
                    let sql_type = match kind {
                        Int | OptInt | Dropped => "bigint",
                        OptReal => "double precision",
                        Bool => "boolean",
                        _ => "text",
                    };
                    format!("${}::{sql_type}[]", n + 1)
                })
                .collect();
            let insert = format!(
                "insert into {table} ({}) overriding system value select * from unnest({})",
                quoted.join(", "),
                arrays.join(", ")
            );
            let mut query = sqlx::query(&insert);
            for column in values {
                query = match column {
                    Values::Ints(v) => query.bind(v),
                    Values::Texts(v) => query.bind(v),
                    Values::Bools(v) => query.bind(v),
                    Values::Reals(v) => query.bind(v),
                };
            }
            let done = query.execute(&mut *tx).await.with_context(|| format!("copying {table}"))?;
            count += done.rows_affected();
        }
        // New rows continue after the copied ids.
        sqlx::query(&format!(
            "select setval(pg_get_serial_sequence('{table}', 'id'), coalesce((select max(id) from {table}), 0) + 1, false)"
        ))
        .execute(&mut *tx)
        .await?;
        copied.tables.push((table, count));
    }
    // The intake's cache of enabled webhooks reads this counter.
    sqlx::query("update change_counters set value = value + 1 where name = 'webhooks'").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(copied)
}

/// A sealed value opened with the source's key and sealed with the target's. A value that does
/// not open (altered, as the server would also find) stops the copy: it names the place.
fn reseal(old: &EncryptionKey, new: &EncryptionKey, place: &str, row: i64, value: &str) -> anyhow::Result<String> {
    super::secrets::resealed(old, new, place, &row.to_string(), value.to_string())
        .ok_or_else(|| anyhow::anyhow!("{place} of row {row} does not decrypt with the source's key"))
}
