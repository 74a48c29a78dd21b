//! The database side of encryption at rest: which columns hold sealed values, the key check row,
//! sealing the plain values earlier versions wrote, and re-encrypting everything under a new key.
//! The sealing itself is `crate::crypto`; the key files are `crate::keys`.

use sqlx::{Connection, SqliteConnection};

use super::now_ms;
use crate::crypto::EncryptionKey;

/// Every column that holds sealed values, as (table, column, the row's key column). A value is
/// bound to `table.column` and its row's key, so it only opens where it was written.
pub(crate) const SEALED_COLUMNS: [(&str, &str, &str); 6] = [
    ("webhooks", "authorization", "id"),
    ("webhooks", "headers", "id"),
    ("webhooks", "secret", "id"),
    ("webhooks", "previous_secret", "id"),
    // Session records: the no-JavaScript preview keeps a typed form there, secrets included.
    ("sessions", "data", "id"),
    // The Unleash API token set on the Connect page (the catch-up poller's).
    ("unleash_settings", "token", "id"),
];

/// The place of the key check value (`encryption_key.check_value` of its one row).
pub(crate) const CHECK_COLUMN: &str = "encryption_key.check_value";
pub(crate) const CHECK_ROW: i64 = 1;
/// The text the check value seals: opening it proves the key is the database's.
pub(crate) const CHECK_PLAINTEXT: &[u8] = b"hookline encryption key check";

/// The key the database says its secrets are encrypted with.
#[derive(Debug, Clone)]
pub(crate) struct StoredKey {
    /// As stored (shown in messages even if it is not a well-formed id).
    pub id: String,
    check_value: String,
}

impl StoredKey {
    pub(crate) fn new(id: String, check_value: String) -> Self {
        StoredKey { id, check_value }
    }

    /// Whether `key` is this key: same id, and the check value opens with it.
    pub fn check(&self, key: &EncryptionKey) -> Result<bool, String> {
        if self.id != key.id().to_string() {
            return Ok(false);
        }
        match key.open(CHECK_COLUMN, CHECK_ROW, &self.check_value) {
            Ok(plain) if plain == CHECK_PLAINTEXT => Ok(true),
            _ => Err(format!(
                "the key check in the database does not open with key {}, although the ids match: the encryption_key table was altered",
                self.id
            )),
        }
    }
}

/// The key check row, if secrets were ever encrypted in this database.
pub(crate) async fn stored_key(conn: &mut SqliteConnection) -> Result<Option<StoredKey>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as("select key_id, check_value from encryption_key where id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(id, check_value)| StoredKey { id, check_value }))
}

/// Records `key` as the database's key, replacing the one recorded (a rotation).
async fn record_key(conn: &mut SqliteConnection, key: &EncryptionKey) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "insert into encryption_key (id, key_id, check_value, created_at, updated_at) values (1, ?, ?, ?, ?)
         on conflict (id) do update set key_id = excluded.key_id, check_value = excluded.check_value,
             updated_at = excluded.updated_at",
    )
    .bind(key.id().to_string())
    .bind(key.seal(CHECK_COLUMN, CHECK_ROW, CHECK_PLAINTEXT))
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every non-null value of a sealed column with its row key, both as text.
async fn values(
    conn: &mut SqliteConnection,
    table: &str,
    column: &str,
    row_key: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    // Names from SEALED_COLUMNS only, never from input.
    let select =
        format!("select cast({row_key} as text), cast({column} as text) from {table} where {column} is not null");
    sqlx::query_as(&select).fetch_all(&mut *conn).await
}

async fn replace(
    conn: &mut SqliteConnection,
    table: &str,
    column: &str,
    row_key: &str,
    row: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    let update = format!("update {table} set {column} = ? where {row_key} = ?");
    sqlx::query(&update).bind(value).bind(row).execute(&mut *conn).await?;
    Ok(())
}

/// Seals every plain value (rows written before encryption at rest, e.g. by an earlier version)
/// and records `key` as the database's key when none is recorded yet, in one transaction: a crash
/// leaves either the old plain rows or all of them sealed. Values already sealed are left alone,
/// so this runs at every start and does nothing once done. Returns how many were sealed, or the
/// recorded key when it is not `key` (another process recorded its own first).
pub(crate) async fn seal_plain_values(
    conn: &mut SqliteConnection,
    key: &EncryptionKey,
) -> Result<Result<u64, StoredKey>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // Written first, so the transaction holds the write lock before it reads what is recorded.
    let now = now_ms();
    sqlx::query(
        "insert into encryption_key (id, key_id, check_value, created_at, updated_at) values (1, ?, ?, ?, ?)
         on conflict (id) do nothing",
    )
    .bind(key.id().to_string())
    .bind(key.seal(CHECK_COLUMN, CHECK_ROW, CHECK_PLAINTEXT))
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    match stored_key(&mut tx).await? {
        Some(recorded) if recorded.check(key) == Ok(true) => {}
        Some(recorded) => return Ok(Err(recorded)),
        None => return Err(sqlx::Error::RowNotFound),
    }
    let mut sealed = 0;
    for (table, column, row_key) in SEALED_COLUMNS {
        for (row, value) in values(&mut tx, table, column, row_key).await? {
            if crate::crypto::is_sealed(&value) {
                continue;
            }
            let place = format!("{table}.{column}");
            replace(&mut tx, table, column, row_key, &row, &key.seal_text(&place, &row, &value)).await?;
            sealed += 1;
        }
    }
    tx.commit().await?;
    Ok(Ok(sealed))
}

/// `value` of `place` (a sealed column) in `row`, sealed under `new`: opened with `old` first, or
/// taken as it is when still plain. `None` when it does not open with `old` (left as it was).
/// The one re-sealing step of a key rotation, on either backend.
pub(crate) fn resealed(
    old: &EncryptionKey,
    new: &EncryptionKey,
    place: &str,
    row: &str,
    value: String,
) -> Option<String> {
    let plain = if crate::crypto::is_sealed(&value) { old.open(place, row, &value).ok()? } else { value.into_bytes() };
    Some(new.seal(place, row, &plain))
}

/// What a re-encryption did.
#[derive(Debug, Default)]
pub struct Reencrypted {
    /// Values now sealed under the new key.
    pub values: u64,
    /// Values that did not open with the old key (altered, or from another database), left as
    /// they were: they were unreadable before and stay so. As `table.column of row`.
    pub unreadable: Vec<String>,
}

/// Re-seals every value from `old` to `new` and records `new` as the database's key, in one
/// transaction: until it commits, everything is under `old`; after, everything is under `new`.
pub(crate) async fn reencrypt(
    conn: &mut SqliteConnection,
    old: &EncryptionKey,
    new: &EncryptionKey,
    audit: &super::audit::NewAudit,
) -> Result<Reencrypted, sqlx::Error> {
    // `begin immediate` would be nicer, but sqlx starts deferred transactions: the first write
    // below takes the write lock, and the exclusive file lock (`keys::rotate`) keeps servers off.
    let mut tx = conn.begin().await?;
    let mut done = Reencrypted::default();
    for (table, column, row_key) in SEALED_COLUMNS {
        let place = format!("{table}.{column}");
        for (row, value) in values(&mut tx, table, column, row_key).await? {
            match resealed(old, new, &place, &row, value) {
                Some(sealed) => {
                    replace(&mut tx, table, column, row_key, &row, &sealed).await?;
                    done.values += 1;
                }
                None => done.unreadable.push(format!("{place} of row {row}")),
            }
        }
    }
    record_key(&mut tx, new).await?;
    let audit = audit.clone().with("values", done.values).with("unreadable", done.unreadable.len());
    super::audit::insert(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(done)
}
