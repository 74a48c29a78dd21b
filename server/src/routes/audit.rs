//! `GET /api/admin/audit`: the audit log, newest first (`?actor=&action=&before=&limit=`), as
//! `{items, nextCursor}`. Tokens need the `admin` scope (see hookline-core's `scope`).

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::api::AuditService;
use app::model::{AuditEntryOut, AuditFilter, Page};
use app::AppError;

use super::extract::QueryParams;
use super::openapi::{BadRequest, Forbidden, Unauthorized, Unprocessable};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Read the audit log
///
/// Who did what, when and from where: sign-ins, admin and token changes, webhook changes,
/// secret reveals and rotations, redeliveries. Newest first, paginated with `before`/`nextCursor`.
/// Token scope: `admin`.
#[utoipa::path(
    get, path = "/api/admin/audit", tag = "audit", operation_id = "listAudit",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(AuditFilter),
    responses(
        (status = 200, description = "One page of entries, newest first.", body = Page<AuditEntryOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
    )
)]
async fn list_audit(
    State(state): State<AppState>,
    QueryParams(filter): QueryParams<AuditFilter>,
) -> Result<Json<Page<AuditEntryOut>>, AppError> {
    Ok(Json(state.list_audit(filter).await?))
}
