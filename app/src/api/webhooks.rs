//! Server functions behind the webhook pages.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::AppError;

/// The webhook form as the browser posts it (form-encoded; works before the WASM loads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub url: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub authorization: String,
    #[serde(default)]
    pub header_names: Vec<String>,
    #[serde(default)]
    pub header_values: Vec<String>,
    #[serde(default)]
    pub body_template: String,
    #[serde(default)]
    pub events: Vec<String>,
    /// Comma- or newline-separated.
    #[serde(default)]
    pub projects: String,
    #[serde(default)]
    pub environments: String,
    #[serde(default)]
    pub retry_policy: String,
    /// Deliveries per second; empty for no limit.
    #[serde(default)]
    pub rate_limit: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub ordered: Option<String>,
    #[serde(default)]
    pub save_anyway: Option<String>,
    /// The version of the webhook the form was opened on (editing only).
    #[serde(default)]
    pub version: Option<i64>,
}

impl WebhookForm {
    /// The API shape of the form, so both go through the same validation.
    pub fn into_input(self) -> Result<WebhookIn, AppError> {
        let headers = self
            .header_names
            .into_iter()
            .zip(self.header_values.into_iter().chain(std::iter::repeat(String::new())))
            .filter(|(name, value)| !(name.trim().is_empty() && value.trim().is_empty()))
            .map(|(name, value)| (name.trim().to_string(), value))
            .collect();
        let retry_policy = match self.retry_policy.as_str() {
            "" => None,
            other => Some(
                RetryPolicy::parse(other).ok_or_else(|| AppError::invalid("retryPolicy", "choose a retry policy"))?,
            ),
        };
        let rate_limit = match self.rate_limit.trim() {
            "" => None,
            text => Some(PerSecond(text.parse::<f64>().map_err(|_| {
                AppError::invalid(
                    "rateLimit",
                    format!("`{text}` is not a number of deliveries per second, like 0.5 or 20"),
                )
            })?)),
        };
        Ok(WebhookIn {
            description: Some(self.description),
            url: self.url,
            enabled: Some(self.enabled.is_some()),
            content_type: Some(self.content_type),
            authorization: Some(self.authorization),
            headers: Some(headers),
            body_template: Some(self.body_template),
            events: self.events,
            projects: Some(split_list(&self.projects)),
            environments: Some(split_list(&self.environments)),
            retry_policy,
            rate_limit,
            ordered: Some(self.ordered.is_some()),
            save_anyway: Some(self.save_anyway.is_some()),
            version: self.version,
        })
    }
}

#[server(prefix = "/rpc", endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<WebhookOut>, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.list_webhooks().await
}

#[server(prefix = "/rpc", endpoint = "get_webhook")]
pub async fn get_webhook(id: i64) -> Result<WebhookOut, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.get_webhook(id).await
}

/// Creates (no `id`) or replaces a webhook, then opens its page.
#[server(prefix = "/rpc", endpoint = "save_webhook")]
pub async fn save_webhook(id: Option<i64>, form: WebhookForm) -> Result<i64, AppError> {
    let actor = crate::api::require_actor()?;
    let backend = crate::api::backend()?;
    let input = form.into_input()?;
    let saved = match id {
        Some(id) => backend.update_webhook(&actor, id, input).await?,
        None => backend.create_webhook(&actor, input).await?,
    };
    // The save time makes every save a new URL, so the page reloads the webhook even when
    // it was already showing `?saved=` from the previous save.
    let stamp: String = saved.updated_at.chars().filter(char::is_ascii_digit).collect();
    leptos_axum::redirect(&format!("/webhooks/{}?saved={stamp}", saved.id));
    Ok(saved.id)
}

#[server(prefix = "/rpc", endpoint = "set_webhook_enabled")]
pub async fn set_webhook_enabled(id: i64, enabled: bool) -> Result<WebhookOut, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.set_webhook_enabled(&actor, id, enabled).await
}

/// "Resume now" on a webhook paused by its circuit breaker.
#[server(prefix = "/rpc", endpoint = "resume_webhook")]
pub async fn resume_webhook(id: i64) -> Result<WebhookOut, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.resume_webhook(&actor, id).await
}

#[server(prefix = "/rpc", endpoint = "delete_webhook")]
pub async fn delete_webhook(id: i64) -> Result<(), AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.delete_webhook(&actor, id).await?;
    leptos_axum::redirect("/webhooks");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "duplicate_webhook")]
pub async fn duplicate_webhook(id: i64) -> Result<i64, AppError> {
    let actor = crate::api::require_actor()?;
    let copy = crate::api::backend()?.duplicate_webhook(&actor, id).await?;
    leptos_axum::redirect(&format!("/webhooks/{}", copy.id));
    Ok(copy.id)
}

/// The signing secret in full (an explicit "Reveal"; recorded in the audit log).
#[server(prefix = "/rpc", endpoint = "reveal_webhook_secret")]
pub async fn reveal_webhook_secret(id: i64) -> Result<WebhookSecret, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.reveal_webhook_secret(&actor, id).await
}

#[server(prefix = "/rpc", endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(id: i64) -> Result<WebhookSecret, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.rotate_webhook_secret(&actor, id).await
}

/// A form kept for a no-JavaScript preview round trip (in the session, never in a URL: it may
/// hold an Authorization value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDraft {
    pub id: Option<i64>,
    pub form: WebhookForm,
    pub preview_event_type: Option<String>,
}

impl WebhookDraft {
    /// The draft as the editor's initial values.
    pub fn to_out(&self) -> WebhookOut {
        let form = &self.form;
        WebhookOut {
            id: self.id.unwrap_or_default(),
            description: form.description.clone(),
            url: form.url.clone(),
            url_host: url_host(&form.url),
            enabled: form.enabled.is_some(),
            content_type: form.content_type.clone(),
            authorization: Some(form.authorization.clone()).filter(|a| !a.is_empty()),
            headers: form
                .header_names
                .iter()
                .zip(form.header_values.iter())
                .filter(|(n, _)| !n.trim().is_empty())
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            body_template: Some(form.body_template.clone()),
            events: form.events.clone(),
            projects: split_list(&form.projects),
            environments: split_list(&form.environments),
            retry_policy: RetryPolicy::parse(&form.retry_policy).unwrap_or_default(),
            secret: String::new(),
            previous_secret_expires_at: None,
            disabled_reason: None,
            disabled_at: None,
            paused_until: None,
            consecutive_failures: 0,
            last_error: None,
            rate_limit: self.form.rate_limit.trim().parse::<f64>().ok().map(PerSecond),
            ordered: form.ordered.is_some(),
            head_of_line: None,
            last_delivery: None,
            created_at: String::new(),
            updated_at: String::new(),
            updated_by: String::new(),
            version: form.version.unwrap_or_default(),
        }
    }
}

#[cfg(feature = "ssr")]
const DRAFT_KEY: &str = "webhook_draft";

/// The form's Preview button without JavaScript: keeps the form in the session and goes back to
/// the form, which renders the preview on the server.
#[server(prefix = "/rpc", endpoint = "preview_draft")]
pub async fn preview_draft(
    id: Option<i64>,
    form: WebhookForm,
    preview_event_type: Option<String>,
) -> Result<(), AppError> {
    crate::api::require_admin()?;
    let session = leptos_axum::extract::<tower_sessions::Session>().await.map_err(AppError::internal)?;
    let draft = WebhookDraft { id, form, preview_event_type };
    session.insert(DRAFT_KEY, &draft).await.map_err(AppError::internal)?;
    let back = match id {
        Some(id) => format!("/webhooks/{id}?draft=1"),
        None => "/webhooks/new?draft=1".to_string(),
    };
    leptos_axum::redirect(&back);
    Ok(())
}

/// Takes the kept draft (once).
#[server(prefix = "/rpc", endpoint = "take_draft")]
pub async fn take_draft() -> Result<Option<WebhookDraft>, AppError> {
    crate::api::require_admin()?;
    let session = leptos_axum::extract::<tower_sessions::Session>().await.map_err(AppError::internal)?;
    session.remove::<WebhookDraft>(DRAFT_KEY).await.map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_map_to_the_api_shape() {
        let form = WebhookForm {
            description: "Slack".into(),
            url: "https://hooks.example.com/x".into(),
            enabled: Some("on".into()),
            content_type: "application/json".into(),
            header_names: vec!["X-Team".into(), "".into()],
            header_values: vec!["checkout".into(), "".into()],
            events: vec!["feature-created".into()],
            projects: "web-shop, mobile".into(),
            retry_policy: "unleash".into(),
            ..Default::default()
        };
        let input = form.into_input().expect("valid");
        assert_eq!(input.enabled, Some(true));
        assert_eq!(input.headers.as_ref().map(|h| h.len()), Some(1), "empty header rows are dropped");
        assert_eq!(input.projects, Some(vec!["web-shop".to_string(), "mobile".to_string()]));
        assert_eq!(input.retry_policy, Some(RetryPolicy::Unleash));
        assert_eq!(input.save_anyway, Some(false));
        assert_eq!((input.rate_limit, input.ordered), (None, Some(false)));
    }

    #[test]
    fn the_rate_limit_field_takes_numbers_only() {
        let form =
            |rate: &str| WebhookForm { rate_limit: rate.into(), ordered: Some("on".into()), ..Default::default() };
        let input = form(" 0.5 ").into_input().expect("a number");
        assert_eq!((input.rate_limit, input.ordered), (Some(PerSecond(0.5)), Some(true)));
        let err = form("fast").into_input().unwrap_err();
        assert_eq!(err.field(), Some("rateLimit"));
        assert!(err.to_string().contains("`fast` is not a number"), "{err}");
    }
}
