//! axum's extractors with our error shape: a malformed body, query string or path segment gets
//! `{"error": {"field": ..., "message": "..."}}` naming the problem, like every other refusal,
//! instead of axum's plain-text 400. Handlers use these, never the bare extractors. And `Acting`:
//! who makes the request, for the audit log.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use app::api::ClientAddress;
use app::model::Actor;
use app::AppError;

use crate::auth::middleware::Caller;

/// A JSON request body of type `T`.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> AppError {
    use std::error::Error;
    // The innermost source is serde's message ("missing field `url` at line 1 column 20").
    let mut detail = rejection.body_text();
    let mut source = rejection.source();
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    match rejection {
        JsonRejection::JsonDataError(_) => {
            AppError::BadRequest(format!("the JSON body does not have the expected shape: {detail}"))
        }
        JsonRejection::JsonSyntaxError(_) => AppError::BadRequest(format!("the body is not valid JSON: {detail}")),
        JsonRejection::MissingJsonContentType(_) => {
            AppError::BadRequest("send the body as JSON with the header Content-Type: application/json".into())
        }
        JsonRejection::BytesRejection(_) => AppError::PayloadTooLarge(format!("the body could not be read: {detail}")),
        _ => AppError::BadRequest(detail),
    }
}

/// Query parameters of type `T`.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(query_error(rejection)),
        }
    }
}

fn query_error(rejection: QueryRejection) -> AppError {
    // serde_urlencoded says which parameter and why ("limit: invalid digit found in string").
    let detail =
        std::error::Error::source(&rejection).map(ToString::to_string).unwrap_or_else(|| rejection.body_text());
    let field = detail.split_once(": ").map(|(field, _)| field).filter(|f| !f.contains(' '));
    match field {
        Some(field) => AppError::invalid(field, format!("bad query parameter: {detail}")),
        None => AppError::BadRequest(format!("bad query parameters: {detail}")),
    }
}

/// Path parameters of type `T` (a numeric id, mostly).
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(path_error(rejection)),
        }
    }
}

fn path_error(rejection: PathRejection) -> AppError {
    use axum::extract::path::ErrorKind;
    match rejection {
        PathRejection::FailedToDeserializePathParams(error) => match error.into_kind() {
            ErrorKind::ParseErrorAtKey { key, value, expected_type } => {
                AppError::BadRequest(format!("the path's {key} `{value}` is not a valid {}", describe(expected_type)))
            }
            ErrorKind::ParseError { value, expected_type } => {
                AppError::BadRequest(format!("`{value}` in the path is not a valid {}", describe(expected_type)))
            }
            other => AppError::BadRequest(format!("bad path: {other}")),
        },
        other => AppError::internal(format!("path parameters unavailable: {}", other.body_text())),
    }
}

/// What a path parameter should have been, in words.
fn describe(expected_type: &str) -> &'static str {
    match expected_type {
        "i64" | "u64" | "i32" | "u32" => "id: ids are whole numbers",
        _ => "value",
    }
}

/// Who makes the request and from where (the auth middleware's `Caller` and `ClientAddress`):
/// the actor of what the handler changes.
pub struct Acting(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Acting {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let caller = parts.extensions.get::<Caller>().ok_or(AppError::Unauthorized)?;
        let address = parts.extensions.get::<ClientAddress>().map(|c| c.0.to_string());
        Ok(Acting(caller.actor(address)))
    }
}
