//! HTTP routes outside Leptos: health, the JSON admin API and the event intake.

pub mod audit;
pub mod deliveries;
pub mod events;
pub mod extract;
pub mod health;
pub mod live;
pub mod openapi;
pub mod preview;
pub mod render;
pub mod webhooks;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Every non-UI route. Mounted before the Leptos routes. The `/api/*` routes come from
/// `openapi::api()`, which documents each one it serves.
pub fn api_router() -> Router<AppState> {
    let (api, _document) = openapi::api().split_for_parts();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .merge(api)
        .route("/api/{*rest}", axum::routing::any(crate::auth::middleware::api_not_found))
}
