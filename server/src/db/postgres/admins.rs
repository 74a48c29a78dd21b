//! Admin accounts on PostgreSQL (see `db::admins`).

#![allow(unused_variables)]

use super::PgDb;
use crate::db::*;

impl PgDb {
    pub async fn count_admins(&self) -> Result<i64, sqlx::Error> {
        todo!("PostgreSQL: count_admins")
    }

    pub async fn list_admins(&self) -> Result<Vec<AdminRow>, sqlx::Error> {
        todo!("PostgreSQL: list_admins")
    }

    pub async fn admin_by_id(&self, id: i64) -> Result<Option<AdminRow>, sqlx::Error> {
        todo!("PostgreSQL: admin_by_id")
    }

    pub async fn admin_by_email(&self, email: &str) -> Result<Option<AdminRow>, sqlx::Error> {
        todo!("PostgreSQL: admin_by_email")
    }

    pub async fn insert_admin(&self, email: &str, password_hash: &str, only_if_none: bool, audit: &NewAudit) -> Result<Option<AdminRow>, sqlx::Error> {
        todo!("PostgreSQL: insert_admin")
    }

    pub async fn update_admin_password(&self, id: i64, password_hash: &str, keep_session: Option<&str>, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        todo!("PostgreSQL: update_admin_password")
    }

    pub async fn delete_admin_unless_last(&self, id: i64, audit: &NewAudit) -> Result<bool, sqlx::Error> {
        todo!("PostgreSQL: delete_admin_unless_last")
    }

}
