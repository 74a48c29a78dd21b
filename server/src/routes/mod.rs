//! HTTP routes outside Leptos: health, the JSON admin API and the event intake.

pub mod audit;
pub mod deliveries;
pub mod events;
pub mod extract;
pub mod health;
pub mod preview;
pub mod webhooks;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Every non-UI route. Mounted before the Leptos routes.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .merge(webhooks::router())
        .merge(deliveries::router())
        .merge(events::router())
        .merge(preview::router())
        .merge(audit::router())
        .route("/api/{*rest}", axum::routing::any(crate::auth::middleware::api_not_found))
}
