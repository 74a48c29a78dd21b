//! The audit log: one row per admin action (who, what, to which object, when, from where).
//!
//! Changes write their row with `insert`, inside their own transaction, so a change is never
//! committed without its row nor a row without its change. Actions that change nothing (a sign-in,
//! a revealed secret) use `Db::record_audit`. The `detail` column holds facts about the action
//! (changed field names, counts, related ids): callers put no secret value in it.

use app::model::{Actor, ActorKind, AuditAction, ObjectKind};
use sqlx::SqliteConnection;

use super::{now_ms, SqliteDb};

/// An entry to write.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub actor: Actor,
    pub action: AuditAction,
    pub object_kind: Option<ObjectKind>,
    pub object_id: Option<i64>,
    pub object_name: Option<String>,
    pub detail: serde_json::Value,
}

impl NewAudit {
    /// `actor` did `action` to the `kind` object `id` (None when the change creates it: the
    /// storage call fills it in).
    pub fn new(actor: &Actor, action: AuditAction, kind: ObjectKind, id: Option<i64>) -> NewAudit {
        NewAudit {
            actor: actor.clone(),
            action,
            object_kind: Some(kind),
            object_id: id,
            object_name: None,
            detail: serde_json::json!({}),
        }
    }

    /// The object's name as it is now (kept in the row: the object may go later).
    pub fn named(self, name: impl Into<String>) -> NewAudit {
        NewAudit { object_name: Some(name.into()), ..self }
    }

    /// Facts about the action, a JSON object (never a secret value).
    pub fn detail(self, detail: serde_json::Value) -> NewAudit {
        NewAudit { detail, ..self }
    }

    /// The same entry for the object `id` (its id once it was created).
    pub fn for_object(self, id: i64) -> NewAudit {
        NewAudit { object_id: Some(id), ..self }
    }

    /// Adds one fact to the detail (known only once the change ran: a count, a new id).
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> NewAudit {
        if let Some(object) = self.detail.as_object_mut() {
            object.insert(key.to_string(), value.into());
        }
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub created_at: i64,
    pub actor_kind: ActorKind,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_kind: Option<ObjectKind>,
    pub object_id: Option<i64>,
    pub object_name: Option<String>,
    pub detail: String,
    pub address: Option<String>,
}

/// Filters in storage terms.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Writes `entry` on `conn` (inside the caller's transaction); returns the row's id.
pub(crate) async fn insert(conn: &mut SqliteConnection, entry: &NewAudit) -> Result<i64, sqlx::Error> {
    let detail = serde_json::to_string(&entry.detail).unwrap_or_else(|_| "{}".into());
    sqlx::query_scalar(
        "insert into audit_log (created_at, actor_kind, actor_id, actor_name, action, object_kind, object_id,
            object_name, detail, address)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
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
    mut tx: sqlx::Transaction<'_, sqlx::Sqlite>,
    changed: Result<Option<T>, sqlx::Error>,
    audit: &NewAudit,
) -> Result<Option<T>, sqlx::Error> {
    let Some(row) = changed? else { return Ok(None) };
    insert(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// The columns, as a macro so queries stay compile-time literals (`concat!`).
macro_rules! audit_select {
    () => {
        "select id, created_at, actor_kind, actor_id, actor_name, action, object_kind, object_id, object_name,
            detail, address
        from audit_log"
    };
}

impl SqliteDb {
    /// Writes one entry on its own (for actions that change nothing else).
    pub async fn record_audit(&self, entry: &NewAudit) -> Result<i64, sqlx::Error> {
        let mut conn = self.write.acquire().await?;
        insert(&mut conn, entry).await
    }

    /// A page of entries, newest first, keyset-paginated by id. As in the delivery log, each
    /// combination of filters has its own statement, shaped so an index serves it.
    pub async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, sqlx::Error> {
        macro_rules! rest {
            () => {
                " and id < coalesce(?3, 9223372036854775807) order by id desc limit ?4"
            };
        }
        let sql = match (query.actor.is_some(), query.action.is_some()) {
            (true, true) => concat!(audit_select!(), " where actor_name = ?1 and action = ?2", rest!()),
            (true, false) => concat!(audit_select!(), " where actor_name = ?1 and ?2 is null", rest!()),
            (false, true) => concat!(audit_select!(), " where ?1 is null and action = ?2", rest!()),
            (false, false) => concat!(audit_select!(), " where ?1 is null and ?2 is null", rest!()),
        };
        sqlx::query_as(sql)
            .bind(&query.actor)
            .bind(query.action.map(AuditAction::as_str))
            .bind(query.before)
            .bind(query.limit)
            .fetch_all(&self.read)
            .await
    }

    /// Deletes entries older than `older_than`, in batches of `batch` (each its own short write).
    /// Returns how many.
    pub async fn prune_audit(&self, older_than: i64, batch: i64) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(
                "delete from audit_log where id in (select id from audit_log where created_at < ?1 order by id limit ?2)",
            )
            .bind(older_than)
            .bind(batch)
            .execute(&self.write)
            .await?;
            deleted += done.rows_affected();
            if done.rows_affected() < batch.max(1) as u64 {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    fn entry(name: &str, action: AuditAction) -> NewAudit {
        let actor =
            Actor { kind: ActorKind::Admin, id: Some(1), name: name.into(), address: Some("203.0.113.9".into()) };
        NewAudit::new(&actor, action, ObjectKind::Webhook, Some(7)).named("Slack").detail(serde_json::json!({"x": 1}))
    }

    #[tokio::test]
    async fn pages_newest_first_with_filters() {
        let (_dir, db) = testing::open().await;
        for i in 0..5 {
            db.record_audit(&entry("a@example.com", AuditAction::WebhookCreated)).await.expect("insert");
            db.record_audit(&entry("b@example.com", AuditAction::WebhookDeleted)).await.expect("insert");
            if i == 0 {
                db.record_audit(&entry("a@example.com", AuditAction::WebhookDeleted)).await.expect("insert");
            }
        }
        let all = db.list_audit(&AuditQuery { limit: 100, ..Default::default() }).await.expect("list");
        assert_eq!(all.len(), 11);
        assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        let first = &all[0];
        assert_eq!(
            (first.actor_kind, first.actor_id, first.object_kind, first.object_id),
            (ActorKind::Admin, Some(1), Some(ObjectKind::Webhook), Some(7))
        );
        assert_eq!(first.address.as_deref(), Some("203.0.113.9"));
        assert_eq!(first.detail, r#"{"x":1}"#);

        let query = |actor: Option<&str>, action: Option<AuditAction>, before: Option<i64>| AuditQuery {
            actor: actor.map(String::from),
            action,
            before,
            limit: 3,
        };
        let by_a = db.list_audit(&query(Some("a@example.com"), None, None)).await.expect("list");
        assert_eq!(by_a.len(), 3);
        assert!(by_a.iter().all(|r| r.actor_name == "a@example.com"));
        let older = db.list_audit(&query(Some("a@example.com"), None, by_a.last().map(|r| r.id))).await.expect("list");
        assert_eq!(older.len(), 3, "6 entries of a, in two pages");
        assert!(older[0].id < by_a[2].id);
        let both = db
            .list_audit(&AuditQuery {
                limit: 100,
                ..query(Some("a@example.com"), Some(AuditAction::WebhookDeleted), None)
            })
            .await
            .expect("list");
        assert_eq!(both.len(), 1);
        let deleted =
            db.list_audit(&AuditQuery { limit: 100, ..query(None, Some(AuditAction::WebhookDeleted), None) }).await;
        assert_eq!(deleted.expect("list").len(), 6);
    }

    #[tokio::test]
    async fn prunes_only_old_entries() {
        let (_dir, db) = testing::open().await;
        for _ in 0..5 {
            db.record_audit(&entry("a@example.com", AuditAction::WebhookCreated)).await.expect("insert");
        }
        assert_eq!(db.prune_audit(now_ms() - 60_000, 2).await.expect("prune"), 0);
        assert_eq!(db.prune_audit(now_ms() + 1, 2).await.expect("prune"), 5);
        let left = db.list_audit(&AuditQuery { limit: 10, ..Default::default() }).await.expect("list");
        assert!(left.is_empty());
    }
}
