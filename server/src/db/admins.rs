//! Admin accounts.

use super::{now_ms, Db};

/// An admin row; the password hash never leaves the server crate.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
}

impl Db {
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
    pub async fn insert_admin(
        &self,
        email: &str,
        password_hash: &str,
        only_if_none: bool,
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
        sqlx::query_as(sql).bind(email).bind(password_hash).bind(now).fetch_optional(&self.write).await
    }

    /// Sets an admin's password and ends their sessions but `keep_session` (the one changing it), in
    /// one transaction: whoever signed in with the old password is out the moment the new one
    /// holds. Returns whether the admin exists.
    pub async fn update_admin_password(
        &self,
        id: i64,
        password_hash: &str,
        keep_session: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("update admins set password_hash = ?, updated_at = ? where id = ?")
            .bind(password_hash)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from sessions where admin_id = ? and id is not ?")
            .bind(id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an admin unless it is the last one; the check and the delete are one statement, so two
    /// admins removing each other at once cannot leave zero. Their sessions go with them (the
    /// foreign key cascades), so they are signed out at their next request. Returns whether a row
    /// was deleted.
    pub async fn delete_admin_unless_last(&self, id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("delete from admins where id = ? and (select count(*) from admins) > 1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
