//! The tower-sessions store on our database: sessions survive restarts, and the SQL stays
//! in this module (no second database driver or crate version to keep in step).
//!
//! Each row also knows its admin (`admin_id`, from the record's `SESSION_ADMIN_KEY`) and when it
//! began (`created_at`), so an admin's sessions can be ended together and every session ends
//! `max_lifetime` after sign-in however active it is.
//!
//! Records are stored encrypted (`crate::crypto`, bound to the session id): the no-JavaScript
//! preview keeps the webhook form a user typed, Authorization and header values included, in the
//! session, and a copy of the database file must not reveal them.

use std::time::Duration;

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

use app::api::auth::SESSION_ADMIN_KEY;

use super::{now_ms, Db, SqliteDb};

/// Sessions stored in the `sessions` table, the record serialised as JSON and sealed.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
    /// The absolute lifetime (HOOKLINE_SESSION_MAX).
    max_lifetime: Duration,
}

impl DbSessionStore {
    pub fn new(db: Db, max_lifetime: Duration) -> Self {
        DbSessionStore { db, max_lifetime }
    }

    fn seal(&self, record: &Record) -> Result<String> {
        let json = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        Ok(self.db.encryption_key().seal(DATA, record.id, &json))
    }
}

fn backend(error: sqlx::Error) -> Error {
    Error::Backend(error.to_string())
}

/// The associated data's column of a session record.
const DATA: &str = "sessions.data";

fn expires_ms(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

fn admin_id(record: &Record) -> Option<i64> {
    record.data.get(SESSION_ADMIN_KEY).and_then(serde_json::Value::as_i64)
}

/// Sessions that began at or before this instant have outlived `max_lifetime`.
fn started_too_long_ago(max_lifetime: Duration) -> i64 {
    now_ms().saturating_sub(i64::try_from(max_lifetime.as_millis()).unwrap_or(i64::MAX))
}

/// A session row as the store writes it.
#[derive(Debug)]
pub struct SessionRow {
    pub id: String,
    /// The sealed record.
    pub data: String,
    pub expires_at: i64,
    pub admin_id: Option<i64>,
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A 128-bit random id colliding is astronomically unlikely, but never overwrite another
        // user's session: on conflict, draw a new id and try again.
        loop {
            // Sealed inside the loop: the record is bound to its id, which may change.
            let row = SessionRow {
                id: record.id.to_string(),
                data: self.seal(record)?,
                expires_at: expires_ms(record),
                admin_id: admin_id(record),
            };
            if self.db.insert_session(&row, now_ms()).await.map_err(backend)? {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates a session that exists, and only then. tower-sessions saves a session it loaded at
    /// the end of the request, so a request in flight while the session was ended (password
    /// changed, admin removed, lifetime over) would otherwise write the row back to life.
    async fn save(&self, record: &Record) -> Result<()> {
        let row = SessionRow {
            id: record.id.to_string(),
            data: self.seal(record)?,
            expires_at: expires_ms(record),
            admin_id: admin_id(record),
        };
        self.db.update_session(&row).await.map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let sealed = self
            .db
            .live_session_data(&id.to_string(), now_ms(), started_too_long_ago(self.max_lifetime))
            .await
            .map_err(backend)?;
        let Some(sealed) = sealed else { return Ok(None) };
        match self.db.encryption_key().open(DATA, id, &sealed) {
            Ok(json) => serde_json::from_slice(&json).map(Some).map_err(|e| Error::Decode(e.to_string())),
            // Altered in the database: no session (sign in again) rather than an error on every request.
            Err(error) => {
                tracing::warn!(%error, "a stored session cannot be decrypted; it is ignored");
                Ok(None)
            }
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.db.delete_session(&id.to_string()).await.map_err(backend)?;
        Ok(())
    }
}

impl Db {
    /// Removes sessions idle too long or older than `max_lifetime`; returns how many.
    pub async fn delete_expired_sessions(&self, max_lifetime: Duration) -> std::result::Result<u64, sqlx::Error> {
        self.delete_sessions_ended_by(now_ms(), started_too_long_ago(max_lifetime)).await
    }
}

impl SqliteDb {
    /// Inserts a new session; false when its id is taken.
    pub async fn insert_session(&self, row: &SessionRow, now: i64) -> std::result::Result<bool, sqlx::Error> {
        let inserted = sqlx::query(
            "insert into sessions (id, data, expires_at, admin_id, created_at) values (?, ?, ?, ?, ?)
             on conflict do nothing",
        )
        .bind(&row.id)
        .bind(&row.data)
        .bind(row.expires_at)
        .bind(row.admin_id)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Updates a session if it still exists.
    pub async fn update_session(&self, row: &SessionRow) -> std::result::Result<(), sqlx::Error> {
        sqlx::query("update sessions set data = ?, expires_at = ?, admin_id = ? where id = ?")
            .bind(&row.data)
            .bind(row.expires_at)
            .bind(row.admin_id)
            .bind(&row.id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The sealed record of a session that has not expired at `now` and began after `started_after`.
    pub async fn live_session_data(
        &self,
        id: &str,
        now: i64,
        started_after: i64,
    ) -> std::result::Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("select cast(data as text) from sessions where id = ? and expires_at > ? and created_at > ?")
            .bind(id)
            .bind(now)
            .bind(started_after)
            .fetch_optional(&self.read)
            .await
    }

    pub async fn delete_session(&self, id: &str) -> std::result::Result<(), sqlx::Error> {
        sqlx::query("delete from sessions where id = ?").bind(id).execute(&self.write).await?;
        Ok(())
    }

    /// Removes sessions expired at `now` or begun at or before `started_by`; returns how many.
    pub async fn delete_sessions_ended_by(&self, now: i64, started_by: i64) -> std::result::Result<u64, sqlx::Error> {
        let done = sqlx::query("delete from sessions where expires_at <= ? or created_at <= ?")
            .bind(now)
            .bind(started_by)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// Ends every session (all admins must sign in again).
    pub async fn delete_all_sessions(&self) -> std::result::Result<u64, sqlx::Error> {
        let done = sqlx::query("delete from sessions").execute(&self.write).await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    fn record_of(admin_id: i64) -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert(SESSION_ADMIN_KEY.to_string(), serde_json::json!(admin_id));
        Record { id: Id::default(), data, expiry_date: ::time::OffsetDateTime::now_utc() + ::time::Duration::hours(1) }
    }

    #[tokio::test]
    async fn an_ended_session_is_not_written_back_by_a_late_save() {
        let (_dir, db) = testing::open().await;
        let admin = db
            .insert_admin("a@example.com", "hash", true, &crate::db::testing::audit())
            .await
            .expect("insert")
            .expect("first");
        let store = DbSessionStore::new(Db::from(db.clone()), Duration::from_secs(3600));
        let mut record = record_of(admin.id);
        store.create(&mut record).await.expect("create");
        assert!(store.load(&record.id).await.expect("load").is_some());
        let owner: Option<i64> = sqlx::query_scalar("select admin_id from sessions where id = ?")
            .bind(record.id.to_string())
            .fetch_one(&db.read)
            .await
            .expect("row");
        assert_eq!(owner, Some(admin.id), "the row knows its admin");

        // Ended while a request still holds it; that request then saves.
        store.delete(&record.id).await.expect("end");
        store.save(&record).await.expect("a late save is not an error");
        assert!(store.load(&record.id).await.expect("load").is_none(), "stays ended");
    }

    #[tokio::test]
    async fn a_session_ends_at_its_absolute_lifetime() {
        let (_dir, db) = testing::open().await;
        let admin = db
            .insert_admin("a@example.com", "hash", true, &crate::db::testing::audit())
            .await
            .expect("insert")
            .expect("first");
        let store = DbSessionStore::new(Db::from(db.clone()), Duration::from_millis(100));
        let mut record = record_of(admin.id);
        store.create(&mut record).await.expect("create");
        assert!(store.load(&record.id).await.expect("load").is_some());
        tokio::time::sleep(Duration::from_millis(150)).await;
        // Still within its idle expiry (an hour), and saved just now: over all the same.
        store.save(&record).await.expect("save");
        assert!(store.load(&record.id).await.expect("load").is_none());
        assert_eq!(Db::from(db).delete_expired_sessions(Duration::from_millis(100)).await.expect("clean"), 1);
    }
}
