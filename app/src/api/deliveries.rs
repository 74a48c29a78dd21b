//! Server functions behind the delivery log, the events list and the dashboard.

use leptos::prelude::*;

use crate::model::*;
use crate::AppError;

#[server(prefix = "/rpc", endpoint = "list_deliveries")]
pub async fn list_deliveries(webhook_id: Option<i64>, filter: DeliveryFilter) -> Result<Page<DeliveryOut>, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.list_deliveries(webhook_id, filter).await
}

#[server(prefix = "/rpc", endpoint = "get_delivery")]
pub async fn get_delivery(id: i64) -> Result<DeliveryDetail, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.get_delivery(id).await
}

#[server(prefix = "/rpc", endpoint = "redeliver")]
pub async fn redeliver(id: i64) -> Result<DeliveryOut, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.redeliver(&actor, id).await
}

#[server(prefix = "/rpc", endpoint = "recover_deliveries")]
pub async fn recover_deliveries(webhook_id: i64, since: String) -> Result<RecoverOut, AppError> {
    let actor = crate::api::require_actor()?;
    // The form's datetime-local input has no zone or seconds; the browser shows UTC times.
    let since = crate::components::time::local_to_rfc3339(&since);
    crate::api::backend()?.recover(&actor, webhook_id, &since).await
}

#[server(prefix = "/rpc", endpoint = "send_test_event")]
pub async fn send_test_event(webhook_id: i64, event_type: String) -> Result<DeliveryOut, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.send_test(&actor, webhook_id, &event_type).await
}

#[server(prefix = "/rpc", endpoint = "list_events")]
pub async fn list_events(before: Option<i64>) -> Result<Page<EventOut>, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.list_events(before, None).await
}

#[server(prefix = "/rpc", endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardOut, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.dashboard().await
}

/// The Connect Unleash page's values and live status.
#[server(prefix = "/rpc", endpoint = "unleash_connection")]
pub async fn unleash_connection_status() -> Result<UnleashConnection, AppError> {
    crate::api::require_admin()?;
    let host = use_context::<http::request::Parts>()
        .and_then(|parts| parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned));
    crate::api::backend()?.unleash_connection(host.as_deref()).await
}

/// The Connect page's catch-up form: the Unleash URL and API token (empty: keep the stored one).
#[server(prefix = "/rpc", endpoint = "save_unleash_settings")]
pub async fn save_unleash_settings(url: String, token: String) -> Result<CatchUpStatus, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.save_unleash_settings(&actor, UnleashSettingsIn { url, token }).await
}

/// Forgets the Unleash URL and API token stored from the Connect page.
#[server(prefix = "/rpc", endpoint = "clear_unleash_settings")]
pub async fn clear_unleash_settings() -> Result<CatchUpStatus, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.clear_unleash_settings(&actor).await
}
