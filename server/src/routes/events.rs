//! `POST /api/events`: the event intake. One event, or `{"events": [...]}` with up to 500, in
//! Unleash's format. Everything is validated before anything is stored; then the events and one
//! delivery per matching webhook are written in one transaction before the answer.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use app::AppError;
use hookline_core::event::parse_event;

use crate::db::events::NewEvent;
use crate::state::AppState;

/// The largest accepted body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The most events in one request.
pub const MAX_EVENTS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", post(ingest_events))
}

/// The intake's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeOut {
    /// The stored event ids, in request order (a resent id answers with the same id).
    pub ids: Vec<i64>,
    /// How many were new (the rest had been received before).
    pub created: usize,
    /// How many deliveries were queued.
    pub deliveries: usize,
}

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

    let stored = state.db.insert_events(events).await?;
    let created = stored.iter().filter(|s| s.created).count();
    let deliveries = stored.iter().map(|s| s.deliveries).sum();
    state.metrics.events_received(created as u64);
    if deliveries > 0 {
        state.dispatcher.wake();
    }
    tracing::info!(received = stored.len(), created, deliveries, "events accepted");
    let status = if created == 0 { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(IntakeOut { ids: stored.iter().map(|s| s.id).collect(), created, deliveries })))
}
