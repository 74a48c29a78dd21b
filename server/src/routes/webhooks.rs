//! The JSON admin API for webhooks and the event-type catalog:
//! `GET/POST /api/admin/webhooks`, `GET/PUT/DELETE /api/admin/webhooks/{id}`,
//! `GET /api/admin/webhooks/{id}/secret`, `POST /api/admin/webhooks/{id}/secret/rotate`,
//! `GET /api/admin/event-types`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use app::api::WebhookService;
use app::model::{EventTypeOut, WebhookIn, WebhookOut, WebhookSecret};
use app::AppError;

use super::extract::{Acting, JsonBody, PathParams};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/webhooks", get(list_webhooks).post(create_webhook))
        .route("/api/admin/webhooks/{id}", get(get_webhook).put(update_webhook).delete(delete_webhook))
        .route("/api/admin/webhooks/{id}/secret", get(get_webhook_secret))
        .route("/api/admin/webhooks/{id}/secret/rotate", post(rotate_webhook_secret))
        .route("/api/admin/event-types", get(list_event_types))
}

async fn list_webhooks(State(state): State<AppState>) -> Result<Json<Vec<WebhookOut>>, AppError> {
    Ok(Json(state.list_webhooks().await?))
}

async fn create_webhook(
    State(state): State<AppState>,
    Acting(actor): Acting,
    JsonBody(input): JsonBody<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookOut>), AppError> {
    let created = state.create_webhook(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn get_webhook(
    State(state): State<AppState>,
    PathParams(id): PathParams<i64>,
) -> Result<Json<WebhookOut>, AppError> {
    Ok(Json(state.get_webhook(id).await?))
}

async fn update_webhook(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<WebhookIn>,
) -> Result<Json<WebhookOut>, AppError> {
    Ok(Json(state.update_webhook(&actor, id, input).await?))
}

async fn delete_webhook(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<StatusCode, AppError> {
    state.delete_webhook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_webhook_secret(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<Json<WebhookSecret>, AppError> {
    Ok(Json(state.reveal_webhook_secret(&actor, id).await?))
}

async fn rotate_webhook_secret(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<Json<WebhookSecret>, AppError> {
    Ok(Json(state.rotate_webhook_secret(&actor, id).await?))
}

async fn list_event_types() -> Json<Vec<EventTypeOut>> {
    Json(EventTypeOut::catalog())
}
