//! Server function behind the API page: the server's OpenAPI document, read into the page's model.

use leptos::prelude::*;

use crate::model::reference::ApiReference;
use crate::AppError;

/// The OpenAPI document the server serves at `/api/openapi.json`, and the URL users reach the
/// server at (`HOOKLINE_PUBLIC_URL`), provided by the server crate as context.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct ApiDocument {
    pub document: std::sync::Arc<serde_json::Value>,
    pub public_url: Option<String>,
}

#[server(prefix = "/rpc", endpoint = "api_reference")]
pub async fn load_api_reference() -> Result<ApiReference, AppError> {
    crate::api::require_admin()?;
    let api = use_context::<ApiDocument>().ok_or_else(|| AppError::internal("no ApiDocument in the Leptos context"))?;
    // The curl examples name this server as the browser reached it, unless a public URL is set.
    let base = api.public_url.clone().or_else(|| {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(http::header::HOST)?.to_str().ok().map(|host| format!("http://{host}")))
    });
    let base = base.unwrap_or_else(|| "http://127.0.0.1:3000".into());
    Ok(ApiReference::from_document(&api.document, base.trim_end_matches('/')))
}
