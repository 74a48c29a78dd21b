//! Admin accounts on PostgreSQL (see `db::admins`).

use app::model::ActorKind;
use sqlx::PgConnection;

use super::audit::{audited, insert};
use super::PgDb;
use crate::db::*;

/// The transaction advisory lock that serialises the changes guarded by a count of the admins
/// (the first admin's setup, removing an admin), across every instance sharing the database.
const ADMINS_LOCK: i64 = 0x686f6f6b_61646d6e; // "hookadmn"

/// Takes `ADMINS_LOCK` until the transaction ends. Under read committed, the statements that
/// follow see every change committed by whoever held it before.
async fn lock_admins(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock($1)").bind(ADMINS_LOCK).execute(&mut *conn).await?;
    Ok(())
}

impl PgDb {
    pub async fn count_admins(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("select count(*) from admins").fetch_one(&self.pool).await
    }

    /// By email without case, as SQLite's `collate nocase` orders them.
    pub async fn list_admins(&self) -> Result<Vec<AdminRow>, sqlx::Error> {
        sqlx::query_as("select id, email, password_hash, created_at from admins order by lower(email) collate \"C\"")
            .fetch_all(&self.pool)
            .await
    }

    pub async fn admin_by_id(&self, id: i64) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as("select id, email, password_hash, created_at from admins where id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Without case (SQLite's `collate nocase`), by the unique index on `lower(email)`.
    pub async fn admin_by_email(&self, email: &str) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as("select id, email, password_hash, created_at from admins where lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(&self.pool)
            .await
    }

    /// `SqliteDb::insert_admin`. With `only_if_none`, the admins lock is taken first: two instances
    /// setting up the first admin at once each check `not exists` in turn, so only one inserts
    /// (SQLite gets this from its single writer).
    pub async fn insert_admin(
        &self,
        email: &str,
        password_hash: &str,
        only_if_none: bool,
        audit: &NewAudit,
    ) -> Result<Option<AdminRow>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let sql = if only_if_none {
            lock_admins(&mut tx).await?;
            "insert into admins (email, password_hash, created_at, updated_at)
             select $1, $2, $3, $3 where not exists (select 1 from admins)
             returning id, email, password_hash, created_at"
        } else {
            "insert into admins (email, password_hash, created_at, updated_at) values ($1, $2, $3, $3)
             returning id, email, password_hash, created_at"
        };
        let row: Option<AdminRow> =
            sqlx::query_as(sql).bind(email).bind(password_hash).bind(now).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        let mut entry = audit.clone().for_object(row.id).named(&row.email);
        if entry.actor.kind == ActorKind::Admin && entry.actor.id.is_none() {
            entry.actor.id = Some(row.id);
        }
        insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// `SqliteDb::update_admin_password`: the password and the end of the other sessions in one
    /// transaction.
    pub async fn update_admin_password(
        &self,
        id: i64,
        password_hash: &str,
        keep_session: Option<&str>,
        audit: &NewAudit,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("update admins set password_hash = $1, updated_at = $2 where id = $3")
            .bind(password_hash)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let ended = sqlx::query("delete from sessions where admin_id = $1 and id is distinct from $2")
            .bind(id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert(&mut tx, &audit.clone().with("sessionsEnded", ended.rows_affected())).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// `SqliteDb::delete_admin_unless_last`. One statement is not enough here: two transactions
    /// each deleting the other admin would both count two. The admins lock makes the second
    /// count after the first committed, so they never leave zero.
    pub async fn delete_admin_unless_last(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_admins(&mut tx).await?;
        let done: Result<Option<i64>, sqlx::Error> =
            sqlx::query_scalar("delete from admins where id = $1 and (select count(*) from admins) > 1 returning id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await;
        Ok(audited(tx, done, audit).await?.is_some())
    }
}
