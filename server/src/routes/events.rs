//! `POST /api/events`: the event intake. One event, or `{"events": [...]}` with up to 500, in
//! Unleash's format. Everything is validated before anything is stored; then the events and one
//! delivery per matching webhook are written in one transaction before the answer.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::AppError;
use hookline_core::event::parse_event;

use super::openapi::{BadRequest, Forbidden, PayloadTooLarge, Unauthorized, Unprocessable};
use crate::db::events::{NewEvent, StoredEvent};
use crate::db::StoreError;
use crate::state::AppState;

/// The largest accepted body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The most events in one request.
pub const MAX_EVENTS: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest_events))
}

/// The intake's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntakeOut {
    /// The stored event ids, in request order (a resent id answers with the same id).
    pub ids: Vec<i64>,
    /// How many were new (the rest had been received before).
    pub created: usize,
    /// How many deliveries were queued.
    pub deliveries: usize,
}

/// One event in Unleash's format, as the intake reads it. Only `type` is required. Every key is kept exactly as sent, also keys not listed here (such as
/// Unleash 7's `groupType`/`groupId`), in the order sent; that object is what receivers get.
/// `id` and `createdAt` are filled in when missing.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the body in the OpenAPI document; the intake reads it as JSON.
pub struct IncomingEvent {
    /// A client-chosen id: resending an id answers 200 with the same id and stores nothing new.
    /// At most 2^53 - 1 (JavaScript's largest safe integer).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 9007199254740991_i64)]
    id: Option<i64>,
    /// The event type: a catalog name (`GET /api/admin/event-types`) or any other (stored, marked
    /// `inCatalog: false`, delivered to webhooks subscribed to all events). Not blank, no control
    /// characters, at most 100 characters.
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 100, example = "feature-created")]
    event_type: String,
    #[serde(default)]
    created_by: Option<String>,
    /// ISO 8601 / RFC 3339, e.g. `2024-10-03T11:09:53.225Z`; the time of receipt when missing.
    #[serde(default)]
    #[schema(format = DateTime)]
    created_at: Option<String>,
    #[serde(default)]
    created_by_user_id: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pre_data: Option<Value>,
    #[serde(default)]
    tags: Option<Vec<hookline_core::event::Tag>>,
    #[serde(default)]
    feature_name: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

/// Several events in one request, stored all or none.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // Describes the body in the OpenAPI document.
pub struct IncomingBatch {
    #[schema(min_items = 1, max_items = 500)]
    events: Vec<IncomingEvent>,
}

/// The intake's body: one event, or `{"events": [...]}`.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Describes the body in the OpenAPI document.
pub enum IntakeBody {
    One(Box<IncomingEvent>),
    Batch(IncomingBatch),
}

/// Send events
///
/// Unleash's webhook format: one event, or `{"events": [...]}` with up to 500, in a body of at most
/// 1 MiB. Everything is validated before anything is stored (a 4xx names the field, e.g.
/// `events[3].type`); then the events and one delivery per matching webhook are committed in one
/// transaction before the answer. Takes an API token only (not a session). Token scope: `events`.
#[utoipa::path(
    post, path = "/api/events", tag = "events", operation_id = "sendEvents",
    security(("bearerToken" = ["events"])),
    request_body(content = IntakeBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; deliveries queued.", body = IntakeOut),
        (status = 200, description = "Every event had been received before (resent ids): nothing new stored.", body = IntakeOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    )
)]
async fn ingest_events(State(state): State<AppState>, body: Body) -> Result<(StatusCode, Json<IntakeOut>), AppError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| AppError::PayloadTooLarge(format!("the body is larger than {} KiB", MAX_BODY_BYTES / 1024)))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;

    let (items, prefix) = match value {
        Value::Object(mut object) if object.contains_key("events") => match object.remove("events") {
            Some(Value::Array(items)) => (items, "events"),
            _ => return Err(AppError::invalid("events", "`events` must be an array of events")),
        },
        Value::Object(object) => (vec![Value::Object(object)], ""),
        _ => return Err(AppError::BadRequest("send one event object, or {\"events\": [...]}".into())),
    };
    if items.is_empty() {
        return Err(AppError::invalid("events", "the list of events is empty"));
    }
    if items.len() > MAX_EVENTS {
        return Err(AppError::invalid(
            "events",
            format!("send at most {MAX_EVENTS} events per request (got {})", items.len()),
        ));
    }

    let now = state.db.now_ms();
    let events = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let at = if prefix.is_empty() { String::new() } else { format!("{prefix}[{index}].") };
            parse_event(item, &at, now)
                .map(|parsed| NewEvent::received(parsed, "api"))
                .map_err(|e| AppError::invalid(e.field, e.message))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let stored = take_in(&state, events).await?;
    let created = stored.iter().filter(|s| s.created).count();
    let deliveries = stored.iter().map(|s| s.deliveries).sum();
    tracing::info!(received = stored.len(), created, deliveries, "events accepted");
    let status = if created == 0 { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(IntakeOut { ids: stored.iter().map(|s| s.id).collect(), created, deliveries })))
}

/// The intake's storing step, shared by `POST /api/events` and the Unleash catch-up poller (see
/// `crate::unleash`): stores validated events with one delivery per matching webhook (an id seen
/// before stores nothing: `created: false`) and counts the new ones. The dispatcher has them
/// already: the intake leases what it has room for straight to it, and wakes it for the rest
/// (see `db::handoff`).
pub async fn take_in(state: &AppState, events: Vec<NewEvent>) -> Result<Vec<StoredEvent>, StoreError> {
    let stored = state.db.insert_events(events).await?;
    let created = stored.iter().filter(|s| s.created).count();
    state.metrics.events_received(created as u64);
    state.live().publish(stored.iter().filter(|s| s.created).map(|s| app::model::LiveNotice::event(s.id)));
    Ok(stored)
}
