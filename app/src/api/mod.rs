//! Server functions: the UI's calls into the server. Each is thin: find the signed-in admin, call
//! the server's implementation (the `Backend` trait, provided as context by the server crate, which
//! owns storage and the dispatcher), map errors. The JSON admin API calls the same `Backend` methods.
//! Their errors answer with the `AppError`'s HTTP status, set in one place for all of them
//! (`server_fn_error_status`, a middleware the server installs).

pub mod audit;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod deliveries;
pub mod reference;
pub mod webhooks;

/// URL prefix of every server function. Only the sign-in and first-admin endpoints under it work
/// without a session (see the server's auth middleware).
pub const RPC_PREFIX: &str = "/rpc";

#[cfg(feature = "ssr")]
pub use backend::{
    backend, client_address, require_actor, require_admin, server_fn_error_status, AccountService, AuditService,
    Backend, ClientAddress, CurrentAdmin, DeliveryService, WebhookService,
};
