//! The JSON API of the delivery log:
//! `GET /api/admin/webhooks/{id}/deliveries`, `GET /api/admin/deliveries` (all webhooks),
//! `GET /api/admin/deliveries/{id}`, `POST /api/admin/deliveries/{id}/redeliver`,
//! `POST /api/admin/webhooks/{id}/recover`, `POST /api/admin/webhooks/{id}/test`,
//! `GET /api/admin/events`, `GET /api/admin/dashboard`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::api::DeliveryService;
use app::model::*;
use app::AppError;

use super::extract::{Acting, JsonBody, PathParams, QueryParams};
use super::openapi::{BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhook_deliveries))
        .routes(routes!(list_all_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
        .routes(routes!(recover))
        .routes(routes!(send_test))
        .routes(routes!(list_events))
        .routes(routes!(dashboard))
}

/// List a webhook's deliveries
///
/// Newest first, one page at a time (keyset pagination: pass the answer's `nextCursor` as
/// `before` for the next page), filtered by state, event type, status class and creation time.
/// Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/webhooks/{id}/deliveries", tag = "deliveries", operation_id = "listWebhookDeliveries",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id."), DeliveryFilter),
    responses(
        (status = 200, description = "One page of deliveries, newest first.", body = Page<DeliveryOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
async fn list_webhook_deliveries(
    State(state): State<AppState>,
    PathParams(id): PathParams<i64>,
    QueryParams(query): QueryParams<DeliveryFilter>,
) -> Result<Json<Page<DeliveryOut>>, AppError> {
    Ok(Json(state.list_deliveries(Some(id), query).await?))
}

/// List all deliveries
///
/// Every webhook's deliveries, newest first, paginated and filtered like a webhook's list.
/// Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/deliveries", tag = "deliveries", operation_id = "listDeliveries",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    params(DeliveryFilter),
    responses(
        (status = 200, description = "One page of deliveries, newest first.", body = Page<DeliveryOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
    )
)]
async fn list_all_deliveries(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<DeliveryFilter>,
) -> Result<Json<Page<DeliveryOut>>, AppError> {
    Ok(Json(state.list_deliveries(None, query).await?))
}

/// Get a delivery
///
/// The delivery with its event and every attempt: the request as sent (secrets redacted) and
/// the response excerpt. Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/deliveries/{id}", tag = "deliveries", operation_id = "getDelivery",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The delivery's id.")),
    responses(
        (status = 200, description = "The delivery.", body = DeliveryDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn get_delivery(
    State(state): State<AppState>,
    PathParams(id): PathParams<i64>,
) -> Result<Json<DeliveryDetail>, AppError> {
    Ok(Json(state.get_delivery(id).await?))
}

/// Redeliver
///
/// Queues a final (succeeded or failed) delivery for one more attempt now; one still pending or
/// retrying, or of a disabled webhook, answers 409. Token scope: `admin`.
#[utoipa::path(
    post, path = "/api/admin/deliveries/{id}/redeliver", tag = "deliveries", operation_id = "redeliver",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The delivery's id.")),
    responses(
        (status = 202, description = "Queued.", body = DeliveryOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn redeliver(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<(StatusCode, Json<DeliveryOut>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(state.redeliver(&actor, id).await?)))
}

/// Recover failed deliveries
///
/// Re-queues the webhook's failed deliveries created at or after `since` (at most 10 000 per
/// call: `capped` says to call again). Token scope: `admin`.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/recover", tag = "deliveries", operation_id = "recoverDeliveries",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    request_body = RecoverIn,
    responses(
        (status = 200, description = "How many deliveries were re-queued.", body = RecoverOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    )
)]
async fn recover(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<RecoverIn>,
) -> Result<Json<RecoverOut>, AppError> {
    Ok(Json(state.recover(&actor, id, &input.since).await?))
}

/// Send a test event
///
/// Queues the catalog's sample event of `eventType` for this webhook alone (marked as a test).
/// Token scope: `admin`.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/test", tag = "deliveries", operation_id = "sendTestEvent",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    request_body = TestSendIn,
    responses(
        (status = 202, description = "The test delivery, queued.", body = DeliveryOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    )
)]
async fn send_test(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<TestSendIn>,
) -> Result<(StatusCode, Json<DeliveryOut>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(state.send_test(&actor, id, &input.event_type).await?)))
}

/// The paging of the received-events list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Keyset cursor: only events with a smaller id. Pass the previous page's `nextCursor`; leave
    /// out for the first (newest) page.
    before: Option<i64>,
    /// Page size: 1 to 200 (values outside are clamped), 50 when left out.
    #[param(minimum = 1, maximum = 200, example = 50)]
    limit: Option<i64>,
}

/// List received events
///
/// Newest first, each with the deliveries it caused. Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/events", tag = "events", operation_id = "listEvents",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    params(EventsQuery),
    responses(
        (status = 200, description = "One page of events, newest first.", body = Page<EventOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
    )
)]
async fn list_events(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<EventsQuery>,
) -> Result<Json<Page<EventOut>>, AppError> {
    Ok(Json(state.list_events(query.before, query.limit).await?))
}

/// Delivery figures
///
/// The last 24 hours: totals, per webhook, and per hour. Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/dashboard", tag = "deliveries", operation_id = "getDashboard",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "The figures.", body = DashboardOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
async fn dashboard(State(state): State<AppState>) -> Result<Json<DashboardOut>, AppError> {
    Ok(Json(state.dashboard().await?))
}
