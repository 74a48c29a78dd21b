//! `JsonBody`: axum's JSON extractor with our error shape, so a malformed body gets
//! `{"error": {"message": "..."}}` naming the problem (and the line and column serde reports).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use app::AppError;

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
