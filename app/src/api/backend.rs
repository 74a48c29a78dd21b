//! The contract between the UI's server functions and the server crate (server-side only).

use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::*;

use crate::model::*;
use crate::AppError;

/// The admin the request is authenticated as, resolved once per request by the server's auth
/// middleware and stored in the request extensions.
#[derive(Debug, Clone)]
pub struct CurrentAdmin(pub Option<Admin>);

/// The address the request comes from, resolved once per request by the server's auth middleware:
/// the connection's peer, or behind a trusted proxy (HOOKLINE_TRUSTED_PROXIES) the address it
/// forwarded. For the sign-in throttle and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Everything the UI can ask of the server, one trait per area. Implemented by the server crate's
/// state; provided to server functions as `Arc<dyn Backend>`.
pub trait Backend: AccountService + WebhookService + DeliveryService + Send + Sync + 'static {}

impl<T: AccountService + WebhookService + DeliveryService + Send + Sync + 'static> Backend for T {}

/// Admins, sign-in and API tokens.
#[async_trait]
pub trait AccountService: Send + Sync {
    /// True until the first admin exists.
    async fn setup_needed(&self) -> Result<bool, AppError>;
    /// Creates the first admin; refused once any admin exists.
    async fn create_first_admin(&self, email: &str, password: &str) -> Result<Admin, AppError>;
    /// Checks credentials (throttled per account and per client address).
    async fn sign_in(&self, email: &str, password: &str, client: &str) -> Result<Admin, AppError>;
    async fn list_admins(&self) -> Result<Vec<Admin>, AppError>;
    async fn add_admin(&self, actor: &Admin, email: &str, password: &str) -> Result<Admin, AppError>;
    /// Removes an admin, and with them all their sessions.
    async fn remove_admin(&self, actor: &Admin, id: i64) -> Result<(), AppError>;
    /// Changes the actor's password and ends their other sessions; `keep_session` (the id of the
    /// session asking) stays signed in.
    async fn change_password(
        &self,
        actor: &Admin,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<(), AppError>;
    async fn list_tokens(&self) -> Result<Vec<ApiToken>, AppError>;
    async fn create_token(
        &self,
        actor: &str,
        name: &str,
        scopes: Vec<hookline_core::scope::Scope>,
    ) -> Result<NewApiToken, AppError>;
    async fn revoke_token(&self, id: i64) -> Result<(), AppError>;
}

/// Webhook integrations. `actor` names who acts (an admin's email or `token:<name>`).
#[async_trait]
pub trait WebhookService: Send + Sync {
    async fn list_webhooks(&self) -> Result<Vec<WebhookOut>, AppError>;
    async fn get_webhook(&self, id: i64) -> Result<WebhookOut, AppError>;
    async fn create_webhook(&self, actor: &str, input: WebhookIn) -> Result<WebhookOut, AppError>;
    /// Replaces the configuration; masked values keep the stored ones.
    async fn update_webhook(&self, actor: &str, id: i64, input: WebhookIn) -> Result<WebhookOut, AppError>;
    async fn delete_webhook(&self, actor: &str, id: i64) -> Result<(), AppError>;
    async fn set_webhook_enabled(&self, actor: &str, id: i64, enabled: bool) -> Result<WebhookOut, AppError>;
    /// Copies a webhook (disabled, with a new signing secret).
    async fn duplicate_webhook(&self, actor: &str, id: i64) -> Result<WebhookOut, AppError>;
    async fn reveal_webhook_secret(&self, actor: &str, id: i64) -> Result<WebhookSecret, AppError>;
    async fn rotate_webhook_secret(&self, actor: &str, id: i64) -> Result<WebhookSecret, AppError>;
}

/// The server's `Backend`, from the request context.
pub fn backend() -> Result<Arc<dyn Backend>, AppError> {
    use_context::<Arc<dyn Backend>>().ok_or_else(|| AppError::internal("no Backend in the Leptos context"))
}

/// The signed-in admin, or `Unauthorized`. Server functions call this first.
pub fn require_admin() -> Result<Admin, AppError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentAdmin>().cloned())
        .and_then(|current| current.0)
        .ok_or(AppError::Unauthorized)
}

/// The largest error body `server_fn_error_status` reads (an `AppError` is a few hundred bytes).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Middleware: every server function's error answers with the HTTP status of its `AppError` (401,
/// 404, 422, 500, ...), in this one place rather than in each server function, so clients other
/// than our own UI see a meaningful status.
///
/// server_fn answers an error with 500, the `serverfnerror` header and the error in the body
/// (JSON, see `FromServerFnError for AppError`); this reads the error back and sets its status.
/// A plain HTML form post (no WASM yet) is answered with a redirect back to the form instead,
/// carrying the error in the URL: a redirect is left alone.
pub async fn server_fn_error_status(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use leptos::server_fn::error::{FromServerFnError, SERVER_FN_ERROR_HEADER};
    use leptos::server_fn::Decodes;

    let response = next.run(request).await;
    if response.status() != http::StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(error) => return AppError::internal(format!("reading a server function's error: {error}")).into_response(),
    };
    if let Ok(error) = <<AppError as FromServerFnError>::Encoder as Decodes<AppError>>::decode(bytes.clone()) {
        parts.status = http::StatusCode::from_u16(error.status_code()).unwrap_or(parts.status);
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The delivery log and its operations.
#[async_trait]
pub trait DeliveryService: Send + Sync {
    /// Deliveries newest first (of one webhook, or all), filtered, keyset-paginated.
    async fn list_deliveries(
        &self,
        webhook_id: Option<i64>,
        filter: DeliveryFilter,
    ) -> Result<Page<DeliveryOut>, AppError>;
    async fn get_delivery(&self, id: i64) -> Result<DeliveryDetail, AppError>;
    /// One manual attempt of a finished delivery, never a new retry chain.
    async fn redeliver(&self, actor: &str, id: i64) -> Result<DeliveryOut, AppError>;
    /// Re-queues the webhook's failed deliveries created since `since` (RFC 3339), capped.
    async fn recover(&self, actor: &str, webhook_id: i64, since: &str) -> Result<RecoverOut, AppError>;
    /// Delivers the sample event of `event_type` once (trigger = test).
    async fn send_test(&self, actor: &str, webhook_id: i64, event_type: &str) -> Result<DeliveryOut, AppError>;
    async fn list_events(&self, before: Option<i64>, limit: Option<i64>) -> Result<Page<EventOut>, AppError>;
    async fn dashboard(&self) -> Result<DashboardOut, AppError>;
}
