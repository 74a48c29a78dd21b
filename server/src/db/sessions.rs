//! The tower-sessions store on our SQLite database: sessions survive restarts, and the SQL stays
//! in this module (no second database driver or crate version to keep in step).

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

use super::{now_ms, Db};

/// Sessions stored in the `sessions` table, the record serialised as JSON.
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

fn expires_ms(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

#[async_trait]
impl SessionStore for SqliteSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let data = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        // A 128-bit random id colliding is astronomically unlikely, but never overwrite another
        // user's session: on conflict, draw a new id and try again.
        loop {
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
        let data = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
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
        let row: Option<Vec<u8>> = sqlx::query_scalar("select data from sessions where id = ? and expires_at > ?")
            .bind(id.to_string())
            .bind(now_ms())
            .fetch_optional(&self.db.read)
            .await
            .map_err(backend)?;
        row.map(|data| serde_json::from_slice(&data).map_err(|e| Error::Decode(e.to_string()))).transpose()
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
