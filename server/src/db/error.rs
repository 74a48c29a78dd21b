//! `StoreError`: what can go wrong in the write queue, beyond what SQLite itself reports.
//!
//! The queue used to report its own failures as `sqlx::Error` variants that mean something else
//! (`PoolClosed`, `WorkerCrashed`, `Protocol("ids exhausted")`), so a log line could not tell a
//! closed queue from a closed pool. At the edge every `StoreError` becomes an `AppError`; all but
//! SQLite's own "not found" and "duplicate" are internal (logged, shown as an opaque reference).

use app::AppError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write queue no longer takes jobs (its task has ended: the database is closing).
    #[error("the database write queue is closed")]
    WriterClosed,
    /// The write queue took the job but ended without answering it (its task stopped or failed
    /// mid-round), or a round produced fewer results than it had jobs.
    #[error("the database write queue stopped before answering")]
    WriterCrashed,
    /// Every event id up to `i64::MAX` is used: no new event can get one.
    #[error("the event ids are exhausted")]
    IdsExhausted,
    /// SQLite (or sqlx) failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// SQLite failed in a write-queue round (which runs through SQLite's own API, see `writer`).
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            // "Not found", "duplicate" and the like, as for any other query.
            StoreError::Sqlx(error) => AppError::from(error),
            other => AppError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_failures_are_internal_and_sqlite_keeps_its_meaning() {
        for error in [StoreError::WriterClosed, StoreError::WriterCrashed, StoreError::IdsExhausted] {
            let shown = AppError::from(error);
            assert_eq!(shown.status_code(), 500);
            assert!(shown.to_string().contains("reference"), "{shown}");
        }
        let missing = AppError::from(StoreError::from(sqlx::Error::RowNotFound));
        assert_eq!(missing.status_code(), 404);
    }

    #[test]
    fn messages_name_the_queue_not_the_pool() {
        assert_eq!(StoreError::WriterClosed.to_string(), "the database write queue is closed");
        assert_eq!(StoreError::IdsExhausted.to_string(), "the event ids are exhausted");
        assert_eq!(StoreError::from(sqlx::Error::PoolClosed).to_string(), sqlx::Error::PoolClosed.to_string());
    }
}
