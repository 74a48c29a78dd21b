//! The JSON admin API for webhooks and the event-type catalog:
//! `GET/POST /api/admin/webhooks`, `GET/PUT/DELETE /api/admin/webhooks/{id}`,
//! `GET /api/admin/webhooks/{id}/secret`, `POST /api/admin/webhooks/{id}/secret/rotate`,
//! `POST /api/admin/webhooks/{id}/resume`,
//! `GET /api/admin/event-types`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::api::WebhookService;
use app::model::{EventTypeOut, WebhookIn, WebhookOut, WebhookSecret};
use app::AppError;

use super::extract::{Acting, JsonBody, PathParams};
use super::openapi::{BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(get_webhook_secret))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(resume_webhook))
        .routes(routes!(list_event_types))
}

/// List the webhooks
///
/// Every webhook, sensitive values masked (the URL's path and query, Authorization, header
/// values, the signing secret). Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "The webhooks, by description (ignoring case), then id.", body = Vec<WebhookOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
async fn list_webhooks(State(state): State<AppState>) -> Result<Json<Vec<WebhookOut>>, AppError> {
    Ok(Json(state.list_webhooks().await?))
}

/// Create a webhook
///
/// Validates every field (the first problem is answered with 422 naming its field), checks that
/// the template renders valid JSON for each subscribed type (unless `saveAnyway`), and that the
/// URL's host is one the SSRF guard lets through. Token scope: `admin`.
#[utoipa::path(
    post, path = "/api/admin/webhooks", tag = "webhooks", operation_id = "createWebhook",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    request_body = WebhookIn,
    responses(
        (status = 201, description = "Created; sensitive values masked.", body = WebhookOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    )
)]
async fn create_webhook(
    State(state): State<AppState>,
    Acting(actor): Acting,
    JsonBody(input): JsonBody<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookOut>), AppError> {
    let created = state.create_webhook(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Get a webhook
///
/// Sensitive values masked. Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/webhooks/{id}", tag = "webhooks", operation_id = "getWebhook",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The webhook.", body = WebhookOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn get_webhook(
    State(state): State<AppState>,
    PathParams(id): PathParams<i64>,
) -> Result<Json<WebhookOut>, AppError> {
    Ok(Json(state.get_webhook(id).await?))
}

/// Replace a webhook
///
/// A full replacement, validated like a creation. A masked value sent back (`*****`, or the
/// masked URL) keeps the stored one, as long as the destination's origin stays the same. Send the
/// `version` you read to have the update refused with 409 when someone changed the webhook in
/// between. Token scope: `admin`.
#[utoipa::path(
    put, path = "/api/admin/webhooks/{id}", tag = "webhooks", operation_id = "updateWebhook",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    request_body = WebhookIn,
    responses(
        (status = 200, description = "Updated; sensitive values masked.", body = WebhookOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    )
)]
async fn update_webhook(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<WebhookIn>,
) -> Result<Json<WebhookOut>, AppError> {
    Ok(Json(state.update_webhook(&actor, id, input).await?))
}

/// Delete a webhook
///
/// With its deliveries. Token scope: `admin`.
#[utoipa::path(
    delete, path = "/api/admin/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn delete_webhook(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<StatusCode, AppError> {
    state.delete_webhook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reveal the signing secret
///
/// The Standard Webhooks signing secret in full (and the previous one during a rotation's grace
/// period). Recorded in the audit log. Token scope: `admin`.
#[utoipa::path(
    get, path = "/api/admin/webhooks/{id}/secret", tag = "webhooks", operation_id = "getWebhookSecret",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The secret.", body = WebhookSecret),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn get_webhook_secret(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<Json<WebhookSecret>, AppError> {
    Ok(Json(state.reveal_webhook_secret(&actor, id).await?))
}

/// Rotate the signing secret
///
/// A new secret signs from now on; the previous one keeps signing too for
/// `HOOKLINE_SECRET_ROTATION_GRACE` (24 h by default). Token scope: `admin`.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/secret/rotate", tag = "webhooks", operation_id = "rotateWebhookSecret",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The new secret, and the previous one with its expiry.", body = WebhookSecret),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<Json<WebhookSecret>, AppError> {
    Ok(Json(state.rotate_webhook_secret(&actor, id).await?))
}

/// Resume a paused webhook now
///
/// Closes the webhook's circuit breaker without waiting for the cool-down: its queued deliveries
/// go out again at once, and its failure count restarts. Recorded in the audit log and announced
/// as a `hookline.webhook.resumed` event when the webhook was paused; a webhook that is not paused
/// is returned unchanged. Token scope: `admin`.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/resume", tag = "webhooks", operation_id = "resumeWebhook",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The webhook, no longer paused.", body = WebhookOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn resume_webhook(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<Json<WebhookOut>, AppError> {
    Ok(Json(state.resume_webhook(&actor, id).await?))
}

/// List the event-type catalog
///
/// Every subscribable event type with its group and a realistic sample event: the 33 types
/// Unleash's webhook addon offers, then the 33 more Unleash emits. Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/event-types", tag = "webhooks", operation_id = "listEventTypes",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "The catalog, in Unleash's order.", body = Vec<EventTypeOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
async fn list_event_types() -> Json<Vec<EventTypeOut>> {
    Json(EventTypeOut::catalog())
}
