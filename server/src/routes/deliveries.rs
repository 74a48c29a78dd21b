//! The JSON API of the delivery log:
//! `GET /api/admin/webhooks/{id}/deliveries`, `GET /api/admin/deliveries` (all webhooks),
//! `GET /api/admin/deliveries/{id}`, `POST /api/admin/deliveries/{id}/redeliver`,
//! `POST /api/admin/webhooks/{id}/recover`, `POST /api/admin/webhooks/{id}/test`,
//! `GET /api/admin/events`, `GET /api/admin/dashboard`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use app::api::DeliveryService;
use app::model::*;
use app::AppError;

use super::extract::{Acting, JsonBody, PathParams, QueryParams};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/webhooks/{id}/deliveries", get(list_webhook_deliveries))
        .route("/api/admin/deliveries", get(list_all_deliveries))
        .route("/api/admin/deliveries/{id}", get(get_delivery))
        .route("/api/admin/deliveries/{id}/redeliver", post(redeliver))
        .route("/api/admin/webhooks/{id}/recover", post(recover))
        .route("/api/admin/webhooks/{id}/test", post(send_test))
        .route("/api/admin/events", get(list_events))
        .route("/api/admin/dashboard", get(dashboard))
}

async fn list_webhook_deliveries(
    State(state): State<AppState>,
    PathParams(id): PathParams<i64>,
    QueryParams(query): QueryParams<DeliveryFilter>,
) -> Result<Json<Page<DeliveryOut>>, AppError> {
    Ok(Json(state.list_deliveries(Some(id), query).await?))
}

async fn list_all_deliveries(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<DeliveryFilter>,
) -> Result<Json<Page<DeliveryOut>>, AppError> {
    Ok(Json(state.list_deliveries(None, query).await?))
}

async fn get_delivery(
    State(state): State<AppState>,
    PathParams(id): PathParams<i64>,
) -> Result<Json<DeliveryDetail>, AppError> {
    Ok(Json(state.get_delivery(id).await?))
}

async fn redeliver(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
) -> Result<(StatusCode, Json<DeliveryOut>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(state.redeliver(&actor, id).await?)))
}

async fn recover(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<RecoverIn>,
) -> Result<Json<RecoverOut>, AppError> {
    Ok(Json(state.recover(&actor, id, &input.since).await?))
}

async fn send_test(
    State(state): State<AppState>,
    Acting(actor): Acting,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<TestSendIn>,
) -> Result<(StatusCode, Json<DeliveryOut>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(state.send_test(&actor, id, &input.event_type).await?)))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list_events(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<EventsQuery>,
) -> Result<Json<Page<EventOut>>, AppError> {
    Ok(Json(state.list_events(query.before, query.limit).await?))
}

async fn dashboard(State(state): State<AppState>) -> Result<Json<DashboardOut>, AppError> {
    Ok(Json(state.dashboard().await?))
}
