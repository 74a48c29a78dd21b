//! The audit log on PostgreSQL (see `db::audit`).

use app::model::AuditAction;
use sqlx::PgConnection;

use super::PgDb;
use crate::db::audit::{AuditQuery, AuditRow, NewAudit};
use crate::db::now_ms;

/// Writes `entry` inside the caller's transaction; returns the row's id.
pub(crate) async fn insert(conn: &mut PgConnection, entry: &NewAudit) -> Result<i64, sqlx::Error> {
    let detail = serde_json::to_string(&entry.detail).unwrap_or_else(|_| "{}".into());
    sqlx::query_scalar(
        "insert into audit_log (created_at, actor_kind, actor_id, actor_name, action, object_kind, object_id,
            object_name, detail, address)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
    )
    .bind(now_ms())
    .bind(entry.actor.kind)
    .bind(entry.actor.id)
    .bind(&entry.actor.name)
    .bind(entry.action.as_str())
    .bind(entry.object_kind)
    .bind(entry.object_id)
    .bind(&entry.object_name)
    .bind(detail)
    .bind(&entry.actor.address)
    .fetch_one(&mut *conn)
    .await
}

/// Finishes the transaction of a change to one row: when the row was there (`Some`), writes
/// `audit` and commits; otherwise (or on error) rolls back by dropping `tx`.
pub(crate) async fn audited<T>(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    changed: Result<Option<T>, sqlx::Error>,
    audit: &NewAudit,
) -> Result<Option<T>, sqlx::Error> {
    let Some(row) = changed? else { return Ok(None) };
    insert(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(Some(row))
}

impl PgDb {
    pub async fn record_audit(&self, entry: &NewAudit) -> Result<i64, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, entry).await
    }

    /// A page of entries, newest first, keyset-paginated by id.
    pub async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, created_at, actor_kind, actor_id, actor_name, action, object_kind, object_id, object_name,
                detail, address
             from audit_log
             where ($1::text is null or actor_name = $1) and ($2::text is null or action = $2)
               and id < coalesce($3, 9223372036854775807)
             order by id desc limit $4",
        )
        .bind(&query.actor)
        .bind(query.action.map(AuditAction::as_str))
        .bind(query.before)
        .bind(query.limit)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn prune_audit(&self, older_than: i64, batch: i64) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(
                "delete from audit_log where id in (select id from audit_log where created_at < $1 order by id limit $2)",
            )
            .bind(older_than)
            .bind(batch)
            .execute(&self.pool)
            .await?;
            deleted += done.rows_affected();
            if done.rows_affected() < batch.max(1) as u64 {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }
}
