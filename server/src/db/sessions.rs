//! The tower-sessions store on our SQLite database: sessions survive restarts, and the SQL stays
//! in this module (no second database driver or crate version to keep in step).
//!
//! Records are stored encrypted (`crate::crypto`, bound to the session id): the no-JavaScript
//! preview keeps the webhook form a user typed, Authorization and header values included, in the
//! session, and a copy of the database file must not reveal them.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

use super::{now_ms, Db};

/// Sessions stored in the `sessions` table, the record serialised as JSON and sealed.
#[derive(Debug, Clone)]
pub struct SqliteSessionStore {
    db: Db,
}

impl SqliteSessionStore {
    pub fn new(db: Db) -> Self {
        SqliteSessionStore { db }
    }
}

fn backend(error: sqlx::Error) -> Error {
    Error::Backend(error.to_string())
}

/// The associated data's column of a session record.
const DATA: &str = "sessions.data";

impl SqliteSessionStore {
    fn seal(&self, record: &Record) -> Result<String> {
        let json = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        Ok(self.db.key.seal(DATA, record.id, &json))
    }
}

fn expires_ms(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

#[async_trait]
impl SessionStore for SqliteSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A 128-bit random id colliding is astronomically unlikely, but never overwrite another
        // user's session: on conflict, draw a new id and try again.
        loop {
            // Sealed inside the loop: the record is bound to its id, which may change.
            let data = self.seal(record)?;
            let inserted =
                sqlx::query("insert into sessions (id, data, expires_at) values (?, ?, ?) on conflict do nothing")
                    .bind(record.id.to_string())
                    .bind(&data)
                    .bind(expires_ms(record))
                    .execute(&self.db.write)
                    .await
                    .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let data = self.seal(record)?;
        sqlx::query(
            "insert into sessions (id, data, expires_at) values (?, ?, ?)
             on conflict (id) do update set data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(record.id.to_string())
        .bind(data)
        .bind(expires_ms(record))
        .execute(&self.db.write)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let row: Option<String> =
            sqlx::query_scalar("select cast(data as text) from sessions where id = ? and expires_at > ?")
                .bind(id.to_string())
                .bind(now_ms())
                .fetch_optional(&self.db.read)
                .await
                .map_err(backend)?;
        let Some(sealed) = row else { return Ok(None) };
        match self.db.key.open(DATA, id, &sealed) {
            Ok(json) => serde_json::from_slice(&json).map(Some).map_err(|e| Error::Decode(e.to_string())),
            // Altered in the file: no session (sign in again) rather than an error on every request.
            Err(error) => {
                tracing::warn!(%error, "a stored session cannot be decrypted; it is ignored");
                Ok(None)
            }
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("delete from sessions where id = ?")
            .bind(id.to_string())
            .execute(&self.db.write)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl Db {
    /// Removes expired sessions; returns how many.
    pub async fn delete_expired_sessions(&self) -> std::result::Result<u64, sqlx::Error> {
        let done =
            sqlx::query("delete from sessions where expires_at <= ?").bind(now_ms()).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    /// Ends every session (all admins must sign in again), e.g. after a password change.
    pub async fn delete_all_sessions(&self) -> std::result::Result<u64, sqlx::Error> {
        let done = sqlx::query("delete from sessions").execute(&self.write).await?;
        Ok(done.rows_affected())
    }
}
