//! Admin accounts.

use super::audit::{self, audited, NewAudit};
use super::{now_ms, SqliteDb};

/// An admin row; the password hash never leaves the server crate.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
}

impl SqliteDb {
    pub async fn count_admins(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("select count(*) from admins").fetch_one(&self.read).await
    }

    pub async fn list_admins(&self) -> Result<Vec<AdminRow>, sqlx::Error> {
        sqlx::query_as("select id, email, password_hash, created_at from admins order by email")
            .fetch_all(&self.read)
            .await
    }

    pub async fn admin_by_id(&self, id: i64) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as("select id, email, password_hash, created_at from admins where id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await
    }

    pub async fn admin_by_email(&self, email: &str) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as("select id, email, password_hash, created_at from admins where email = ?")
            .bind(email)
            .fetch_optional(&self.read)
            .await
    }

    /// Inserts an admin. With `only_if_none`, inserts only when no admin exists yet, atomically (the
    /// one-time setup page and HOOKLINE_ADMIN_EMAIL race safely); returns None when one already existed.
    /// `audit` is recorded for the new admin in the same transaction; an admin actor without an id
    /// is the new admin itself (the setup page signs them in).
    pub async fn insert_admin(
        &self,
        email: &str,
        password_hash: &str,
        only_if_none: bool,
        audit: &NewAudit,
    ) -> Result<Option<AdminRow>, sqlx::Error> {
        let now = now_ms();
        let sql = if only_if_none {
            "insert into admins (email, password_hash, created_at, updated_at)
             select ?1, ?2, ?3, ?3 where not exists (select 1 from admins)
             returning id, email, password_hash, created_at"
        } else {
            "insert into admins (email, password_hash, created_at, updated_at) values (?1, ?2, ?3, ?3)
             returning id, email, password_hash, created_at"
        };
        let mut tx = self.write.begin().await?;
        let row: Option<AdminRow> =
            sqlx::query_as(sql).bind(email).bind(password_hash).bind(now).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        let mut entry = audit.clone().for_object(row.id).named(&row.email);
        if entry.actor.kind == app::model::ActorKind::Admin && entry.actor.id.is_none() {
            entry.actor.id = Some(row.id);
        }
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// Sets an admin's password and ends their sessions but `keep_session` (the one changing it), in
    /// one transaction: whoever signed in with the old password is out the moment the new one
    /// holds. Returns whether the admin exists.
    pub async fn update_admin_password(
        &self,
        id: i64,
        password_hash: &str,
        keep_session: Option<&str>,
        audit: &NewAudit,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("update admins set password_hash = ?, updated_at = ? where id = ?")
            .bind(password_hash)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let ended = sqlx::query("delete from sessions where admin_id = ? and id is not ?")
            .bind(id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        audit::insert(&mut tx, &audit.clone().with("sessionsEnded", ended.rows_affected())).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes an admin unless it is the last one; the check and the delete are one statement, so two
    /// admins removing each other at once cannot leave zero. Their sessions go with them (the
    /// foreign key cascades), so they are signed out at their next request. Returns whether a row
    /// was deleted; `audit` is recorded in the same transaction when one was.
    pub async fn delete_admin_unless_last(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let done: Result<Option<i64>, sqlx::Error> =
            sqlx::query_scalar("delete from admins where id = ? and (select count(*) from admins) > 1 returning id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await;
        Ok(audited(tx, done, audit).await?.is_some())
    }
}
