//! `GET /api/admin/audit`: the audit log, newest first (`?actor=&action=&before=&limit=`), as
//! `{items, nextCursor}`. Tokens need the `admin` scope (see hookline-core's `scope`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use app::api::AuditService;
use app::model::{AuditEntryOut, AuditFilter, Page};
use app::AppError;

use super::extract::QueryParams;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/admin/audit", get(list_audit))
}

async fn list_audit(
    State(state): State<AppState>,
    QueryParams(filter): QueryParams<AuditFilter>,
) -> Result<Json<Page<AuditEntryOut>>, AppError> {
    Ok(Json(state.list_audit(filter).await?))
}
