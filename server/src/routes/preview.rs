//! `POST /api/admin/preview`: the template preview as a JSON API (the same renderer as the form).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

use app::model::preview::{preview, PreviewIn, PreviewOut};
use app::AppError;

use super::extract::JsonBody;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/admin/preview", post(preview_template))
}

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
