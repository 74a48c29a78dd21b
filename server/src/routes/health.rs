//! `GET /healthz` (liveness and readiness for load balancers) and `GET /metrics` (Prometheus).

use axum::extract::State;
use axum::http::{header, HeaderName, StatusCode};
use axum::Json;
use serde::Serialize;

use app::AppError;

use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub database: bool,
    pub dispatcher: bool,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// On PostgreSQL, this instance among those sharing the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// 200 with `status: "ok"` when the database answers and the dispatcher runs, else 503 with
/// `status: "degraded"`.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = state.db.is_healthy().await;
    let dispatcher = state.dispatcher.is_running();
    let ok = database && dispatcher;
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let health = Health {
        status: if ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        database,
        dispatcher,
        backend: state.db.backend().name(),
        instance: state.db.instance().map(str::to_string),
    };
    (status, Json(health))
}

/// `GET /metrics`: Prometheus text (session or API token required).
pub async fn metrics(State(state): State<AppState>) -> Result<([(HeaderName, &'static str); 1], String), AppError> {
    let mut queue = state.db.queue_gauges(state.db.now_ms()).await?;
    queue.in_flight = state.dispatcher.in_flight();
    queue.live_streams = state.live().open_streams();
    Ok((
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(queue, state.password_hashing.counters()),
    ))
}
