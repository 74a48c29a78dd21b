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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::db::testing::audit;

    /// A fresh database on the PostgreSQL that HOOKLINE_TEST_POSTGRES names (`scripts/test.sh`
    /// starts one and runs the `postgres_` tests; the SQLite runs skip them by that name). The
    /// other PostgreSQL storage tests use it too.
    pub(in crate::db::postgres) async fn open() -> PgDb {
        use sqlx::Connection;
        let admin_url = std::env::var("HOOKLINE_TEST_POSTGRES")
            .expect("HOOKLINE_TEST_POSTGRES must name a PostgreSQL server (scripts/test.sh postgres starts one)");
        let name = format!("u_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect");
        sqlx::query(&format!("create database {name}")).execute(&mut conn).await.expect("create database");
        let _ = conn.close().await;
        let (base, _) = admin_url.rsplit_once('/').expect("the URL names a database");
        let keys = crate::keys::KeySource::Setting(crate::crypto::EncryptionKey::generate().1);
        let options = crate::db::OpenOptions { pg_pool_size: 20, ..Default::default() };
        let url = format!("{base}/{name}");
        PgDb::open(&url, &options, &keys, Access::Shared, crate::time::system_clock()).await.expect("open")
    }

    #[tokio::test]
    async fn postgres_concurrent_first_admin_setups_make_one_admin() {
        let db = open().await;
        for round in 0..20 {
            let setups = (0..12).map(|i| {
                let db = db.clone();
                let email = format!("a{round}-{i}@example.com");
                tokio::spawn(async move { db.insert_admin(&email, "hash", true, &audit()).await })
            });
            let mut won = 0;
            for setup in setups.collect::<Vec<_>>() {
                won += usize::from(setup.await.expect("task").expect("insert").is_some());
            }
            assert_eq!(won, 1, "round {round}");
            assert_eq!(db.count_admins().await.expect("count"), 1, "round {round}");
            sqlx::query("delete from admins").execute(&db.pool).await.expect("clear");
        }
        db.close().await;
    }

    #[tokio::test]
    async fn postgres_two_admins_removing_each_other_at_once_leave_one() {
        let db = open().await;
        for round in 0..15 {
            let a = db.insert_admin(&format!("a{round}@example.com"), "hash", false, &audit()).await.expect("a");
            let b = db.insert_admin(&format!("b{round}@example.com"), "hash", false, &audit()).await.expect("b");
            let (a, b) = (a.expect("inserted").id, b.expect("inserted").id);
            let (db1, db2) = (db.clone(), db.clone());
            let (one, two) = tokio::join!(
                tokio::spawn(async move { db1.delete_admin_unless_last(a, &audit()).await }),
                tokio::spawn(async move { db2.delete_admin_unless_last(b, &audit()).await }),
            );
            let removed = [one.expect("task").expect("delete"), two.expect("task").expect("delete")];
            assert_eq!(removed.iter().filter(|r| **r).count(), 1, "round {round}");
            assert_eq!(db.count_admins().await.expect("count"), 1, "round {round}");
            sqlx::query("delete from admins").execute(&db.pool).await.expect("clear");
        }
        db.close().await;
    }

    #[tokio::test]
    async fn postgres_emails_match_without_case() {
        let db = open().await;
        db.insert_admin("Ada@Example.com", "hash", true, &audit()).await.expect("insert").expect("first");
        let found = db.admin_by_email("ada@EXAMPLE.com").await.expect("lookup").expect("found");
        assert_eq!(found.email, "Ada@Example.com");
        let twice = db.insert_admin("ADA@example.com", "hash", false, &audit()).await;
        assert!(matches!(twice, Err(sqlx::Error::Database(e)) if e.is_unique_violation()));
        db.close().await;
    }
}
