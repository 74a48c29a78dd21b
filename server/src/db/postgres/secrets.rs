//! Encryption at rest on PostgreSQL: the key check row, sealing plain values, re-encrypting.
//! The rules are those of `db::secrets`; only the statements differ.

use sqlx::{PgConnection, PgPool};

use crate::crypto::EncryptionKey;
use crate::db::now_ms;
use crate::db::secrets::{resealed, Reencrypted, StoredKey, CHECK_COLUMN, CHECK_PLAINTEXT, CHECK_ROW, SEALED_COLUMNS};

pub(crate) async fn stored_key(pool: &PgPool) -> Result<Option<StoredKey>, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("select key_id, check_value from encryption_key where id = 1").fetch_optional(pool).await?;
    Ok(row.map(|(id, check_value)| StoredKey::new(id, check_value)))
}

async fn record_key(conn: &mut PgConnection, key: &EncryptionKey, replace: bool) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let sql = if replace {
        "insert into encryption_key (id, key_id, check_value, created_at, updated_at) values (1, $1, $2, $3, $3)
         on conflict (id) do update set key_id = excluded.key_id, check_value = excluded.check_value,
             updated_at = excluded.updated_at"
    } else {
        "insert into encryption_key (id, key_id, check_value, created_at, updated_at) values (1, $1, $2, $3, $3)
         on conflict (id) do nothing"
    };
    sqlx::query(sql)
        .bind(key.id().to_string())
        .bind(key.seal(CHECK_COLUMN, CHECK_ROW, CHECK_PLAINTEXT))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every non-null value of a sealed column with its row key, both as text.
async fn values(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    row_key: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    // Names from SEALED_COLUMNS only, never from input; quoted (`authorization` is a keyword).
    let select = format!(
        "select \"{row_key}\"::text, \"{column}\"::text from \"{table}\" where \"{column}\" is not null for update"
    );
    sqlx::query_as(&select).fetch_all(&mut *conn).await
}

async fn replace(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    row_key: &str,
    row: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    let update = format!("update \"{table}\" set \"{column}\" = $1 where \"{row_key}\"::text = $2");
    sqlx::query(&update).bind(value).bind(row).execute(&mut *conn).await?;
    Ok(())
}

/// `db::secrets::seal_plain_values` on PostgreSQL. Instances starting together each try to record
/// their key; the second insert waits for the first to commit, then finds its key recorded.
pub(crate) async fn seal_plain_values(
    pool: &PgPool,
    key: &EncryptionKey,
) -> Result<Result<u64, StoredKey>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    record_key(&mut tx, key, false).await?;
    let recorded: Option<(String, String)> =
        sqlx::query_as("select key_id, check_value from encryption_key where id = 1 for update")
            .fetch_optional(&mut *tx)
            .await?;
    match recorded.map(|(id, check)| StoredKey::new(id, check)) {
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

/// `db::secrets::reencrypt` on PostgreSQL: one transaction, every sealed value and the key check.
pub(crate) async fn reencrypt(
    pool: &PgPool,
    old: &EncryptionKey,
    new: &EncryptionKey,
    audit: &crate::db::audit::NewAudit,
) -> Result<Reencrypted, sqlx::Error> {
    let mut tx = pool.begin().await?;
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
    record_key(&mut tx, new, true).await?;
    let audit = audit.clone().with("values", done.values).with("unreadable", done.unreadable.len());
    super::audit::insert(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(done)
}
