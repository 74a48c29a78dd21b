//! `AppError`: the one error type of Hookline, shared by the server (JSON API, server functions) and
//! the browser (it crosses the wire inside server-function responses). Internal details are logged
//! on the server and replaced by an opaque reference before anything leaves the process.

use serde::{Deserialize, Serialize};

/// What went wrong, in terms a user or API client can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input was refused; `field` names the offending field (JSON name) when there is one.
    #[error("{message}")]
    Validation { field: String, message: String },
    /// The request itself is malformed (bad JSON, wrong shape), before any field can be blamed.
    #[error("{0}")]
    BadRequest(String),
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with existing state (duplicate email, last admin, ...).
    #[error("{0}")]
    Conflict(String),
    /// No valid session or API token.
    #[error("sign-in required")]
    Unauthorized,
    /// A sign-in attempt failed. One message for every cause, so it reveals nothing.
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    /// Authenticated but not allowed (e.g. a cross-origin form post).
    #[error("{0}")]
    Forbidden(String),
    /// Slowed down: too many attempts.
    #[error("{0}")]
    TooManyRequests(String),
    /// The body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The server cannot take this now (e.g. it has as many live streams open as it allows).
    #[error("{0}")]
    Unavailable(String),
    /// Something broke on the server; the details are in its log under this reference.
    #[error("internal error (reference {0}); the details are in the server log")]
    Internal(String),
    /// The call did not reach the server function or its answer could not be read (browser side).
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    /// A validation error on one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation { field: field.into(), message: message.into() }
    }

    /// The field this error blames, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation { field, .. } if !field.is_empty() => Some(field),
            _ => None,
        }
    }

    /// The message for `field`, when this error is about that field (for inline form errors).
    pub fn message_for(&self, field: &str) -> Option<String> {
        (self.field() == Some(field)).then(|| self.to_string())
    }

    /// The HTTP status this error maps to.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Validation { .. } => 422,
            AppError::BadRequest(_) => 400,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Unauthorized | AppError::InvalidCredentials => 401,
            AppError::Forbidden(_) => 403,
            AppError::TooManyRequests(_) => 429,
            AppError::PayloadTooLarge(_) => 413,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) => 500,
            AppError::Transport(_) => 502,
        }
    }

    /// Logs an internal error with a fresh reference and returns the opaque error that may be shown.
    #[cfg(feature = "ssr")]
    pub fn internal(error: impl std::fmt::Display) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let reference = format!("{:x}-{}", now, COUNTER.fetch_add(1, Ordering::Relaxed));
        tracing::error!(reference = %reference, error = %error, "internal error");
        AppError::Internal(reference)
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Args(m) | E::MissingArg(m) | E::Deserialization(m) => AppError::BadRequest(m),
            // On the server, any other failure of the machinery (an answer that cannot be
            // encoded, say) is the server's fault: logged, and shown as an opaque reference.
            #[cfg(feature = "ssr")]
            other => AppError::internal(other),
            #[cfg(not(feature = "ssr"))]
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => AppError::NotFound("record".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::Conflict("a record with these values already exists".into())
            }
            _ => AppError::internal(error),
        }
    }
}

/// JSON body of every API error: `{"error": {"field": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: `field` names the offending input (its JSON name, e.g. `url`, `events[2].type`,
/// or a query parameter) when one is to blame.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl From<&AppError> for ErrorBody {
    fn from(error: &AppError) -> Self {
        ErrorBody { error: ErrorDetail { field: error.field().map(str::to_owned), message: error.to_string() } }
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status_code()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(ErrorBody::from(&self))).into_response()
    }
}
