//! `POST /api/admin/preview`: the template preview as a JSON API (the same renderer as the form).

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::model::preview::{preview, PreviewIn, PreviewOut};
use app::AppError;

use super::extract::JsonBody;
use super::openapi::{BadRequest, Forbidden, PayloadTooLarge, Unauthorized, Unprocessable};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview_template))
}

/// Preview a body template
///
/// Renders a template against a catalog type's sample event (`eventType`, default
/// `feature-created`) or an event of your own (`event`), exactly as a delivery would: the body,
/// the headers (secrets masked), and for JSON content types whether the body parses. A template
/// or event that does not work is answered with 200 and `error` saying where. Token scope:
/// `admin`.
#[utoipa::path(
    post, path = "/api/admin/preview", tag = "webhooks", operation_id = "previewTemplate",
    security(("bearerToken" = ["admin"]), ("sessionCookie" = [])),
    request_body = PreviewIn,
    responses(
        (status = 200, description = "The rendered preview.", body = PreviewOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    )
)]
async fn preview_template(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<PreviewIn>,
) -> Result<Json<PreviewOut>, AppError> {
    if input.event.is_some() && input.event_type.is_some() {
        return Err(AppError::invalid("event", "send either eventType or event, not both"));
    }
    let base = state.config.unleash_url.as_ref().map(|u| u.as_str().trim_end_matches('/').to_string());
    let out = crate::backend::bounded_template_work(move || Ok(preview(&input, base.as_deref()))).await?;
    Ok(Json(out))
}
