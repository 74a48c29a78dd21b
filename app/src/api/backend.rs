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
/// forwarded. For the sign-in throttle, logs and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Everything the UI can ask of the server, one trait per area. Implemented by the server crate's
/// state; provided to server functions as `Arc<dyn Backend>`.
pub trait Backend: AccountService + WebhookService + DeliveryService + AuditService + Send + Sync + 'static {}

impl<T: AccountService + WebhookService + DeliveryService + AuditService + Send + Sync + 'static> Backend for T {}

/// Admins, sign-in and API tokens. Every change is recorded in the audit log with its `actor`
/// (who, from which address).

#[async_trait]
pub trait AccountService: Send + Sync {
    /// True until the first admin exists.
    async fn setup_needed(&self) -> Result<bool, AppError>;
    /// Creates the first admin; refused once any admin exists. `actor` is who asks: anonymous
    /// from the setup page (the new admin is then recorded as acting), or the system at start-up.
    async fn create_first_admin(&self, actor: &Actor, email: &str, password: &str) -> Result<Admin, AppError>;
    /// Checks credentials (throttled per account and per client address); records success and
    /// failure in the audit log. `client` is the client's address, or `unknown`.
    async fn sign_in(&self, email: &str, password: &str, client: &str) -> Result<Admin, AppError>;
    async fn list_admins(&self) -> Result<Vec<Admin>, AppError>;
    async fn add_admin(&self, actor: &Actor, email: &str, password: &str) -> Result<Admin, AppError>;
    /// Removes an admin, and with them all their sessions.
    async fn remove_admin(&self, actor: &Actor, id: i64) -> Result<(), AppError>;
    /// Changes the acting admin's password and ends their other sessions; `keep_session` (the id
    /// of the session asking) stays signed in.
    async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<(), AppError>;
    async fn list_tokens(&self) -> Result<Vec<ApiToken>, AppError>;
    async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        scopes: Vec<hookline_core::scope::Scope>,
    ) -> Result<NewApiToken, AppError>;
    async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), AppError>;
}

/// Webhook integrations. `actor` is who acts (its name goes into "updated by"); every change,
/// and every look at a secret, is recorded in the audit log.
#[async_trait]
pub trait WebhookService: Send + Sync {
    async fn list_webhooks(&self) -> Result<Vec<WebhookOut>, AppError>;
    async fn get_webhook(&self, id: i64) -> Result<WebhookOut, AppError>;
    async fn create_webhook(&self, actor: &Actor, input: WebhookIn) -> Result<WebhookOut, AppError>;
    /// Replaces the configuration; masked values keep the stored ones.
    async fn update_webhook(&self, actor: &Actor, id: i64, input: WebhookIn) -> Result<WebhookOut, AppError>;
    async fn delete_webhook(&self, actor: &Actor, id: i64) -> Result<(), AppError>;
    async fn set_webhook_enabled(&self, actor: &Actor, id: i64, enabled: bool) -> Result<WebhookOut, AppError>;
    /// Closes a paused webhook's circuit breaker now ("Resume now"); audited when it was paused.
    async fn resume_webhook(&self, actor: &Actor, id: i64) -> Result<WebhookOut, AppError>;
    /// Copies a webhook (disabled, with a new signing secret).
    async fn duplicate_webhook(&self, actor: &Actor, id: i64) -> Result<WebhookOut, AppError>;
    async fn reveal_webhook_secret(&self, actor: &Actor, id: i64) -> Result<WebhookSecret, AppError>;
    async fn rotate_webhook_secret(&self, actor: &Actor, id: i64) -> Result<WebhookSecret, AppError>;
}

/// The audit log.
#[async_trait]
pub trait AuditService: Send + Sync {
    /// Entries newest first, filtered by actor and action, keyset-paginated.
    async fn list_audit(&self, filter: AuditFilter) -> Result<Page<AuditEntryOut>, AppError>;
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

/// The signed-in admin as the actor of a change (with the request's address), or
/// `Unauthorized`. Server functions that change something call this first.
pub fn require_actor() -> Result<Actor, AppError> {
    let admin = require_admin()?;
    Ok(Actor::admin(&admin, client_address()))
}

/// The address the request comes from, as the server's middleware resolved it.
pub fn client_address() -> Option<String> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ClientAddress>().map(|c| c.0.to_string()))
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
    async fn redeliver(&self, actor: &Actor, id: i64) -> Result<DeliveryOut, AppError>;
    /// Re-queues the webhook's failed deliveries created since `since` (RFC 3339), capped.
    async fn recover(&self, actor: &Actor, webhook_id: i64, since: &str) -> Result<RecoverOut, AppError>;
    /// Delivers the sample event of `event_type` once (trigger = test).
    async fn send_test(&self, actor: &Actor, webhook_id: i64, event_type: &str) -> Result<DeliveryOut, AppError>;
    async fn list_events(&self, before: Option<i64>, limit: Option<i64>) -> Result<Page<EventOut>, AppError>;
    async fn dashboard(&self) -> Result<DashboardOut, AppError>;
    /// The values for Unleash's Webhook addon and the last event received. `host` is the Host the
    /// admin reached this server at: the URL's host when HOOKLINE_PUBLIC_URL is not set.
    async fn unleash_connection(&self, host: Option<&str>) -> Result<UnleashConnection, AppError>;
    /// Stores the catch-up's Unleash URL and API token (sealed; an empty token keeps the stored
    /// one), audited; the poller uses them from its next turn. Answers the catch-up status.
    async fn save_unleash_settings(&self, actor: &Actor, input: UnleashSettingsIn) -> Result<CatchUpStatus, AppError>;
    /// Forgets the Connect page's Unleash URL and token, audited (the environment's stay).
    async fn clear_unleash_settings(&self, actor: &Actor) -> Result<CatchUpStatus, AppError>;
}
