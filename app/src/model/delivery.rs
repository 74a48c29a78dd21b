//! Deliveries, their attempts, and received events, as the log pages and the API show them.

pub use hookline_core::delivery::{AttemptTrigger, DeliveryState, ErrorClass, StatusClass, UnleashState};
use serde::{Deserialize, Serialize};

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOut {
    pub id: i64,
    /// The `webhook-id` header value (stable across retries).
    pub uid: String,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub feature_name: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub state: DeliveryState,
    /// Unleash's view (null until the first attempt).
    pub unleash_state: Option<UnleashState>,
    pub state_details: Option<String>,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error_class: Option<ErrorClass>,
    pub last_duration_ms: Option<i64>,
    pub next_attempt_at: Option<String>,
    /// Whether the event was a test send.
    pub test: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// One attempt, with the request as sent (secrets redacted) and the response excerpt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttemptOut {
    pub number: i64,
    pub trigger: AttemptTrigger,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    /// 0 when no response arrived.
    pub status: i64,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    /// utf-8, or base64 for a binary body.
    pub response_body_encoding: String,
    pub duration_ms: i64,
    pub error_class: Option<ErrorClass>,
    pub error_message: Option<String>,
    pub started_at: String,
    pub next_attempt_at: Option<String>,
}

/// A delivery with its event and every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    pub webhook_description: String,
    pub event: serde_json::Value,
    pub attempt_log: Vec<AttemptOut>,
}

/// Filters of a delivery list (query parameters of the API, controls of the page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryFilter {
    /// Only deliveries in this state (a `DeliveryState` word); empty: any.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(value_type = Option<DeliveryState>))]
    pub state: Option<String>,
    /// Only deliveries of this event type (any type up to 100 characters, also one outside the
    /// catalog); empty: any.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(max_length = 100, example = "feature-created"))]
    pub event_type: Option<String>,
    /// Only deliveries whose latest attempt answered with a status of this class (a `StatusClass`
    /// word; `none`: no response arrived, or no attempt yet); empty: any.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(value_type = Option<StatusClass>))]
    pub status: Option<String>,
    /// RFC 3339: only deliveries created at or after this time.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(format = DateTime, example = "2026-11-28T10:00:00Z"))]
    pub since: Option<String>,
    /// RFC 3339: only deliveries created before this time.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(format = DateTime, example = "2026-11-29T10:00:00Z"))]
    pub until: Option<String>,
    /// Keyset cursor: only deliveries with a smaller id. Pass the previous page's `nextCursor`;
    /// leave out for the first (newest) page.
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size: 1 to 200 (values outside are clamped), 50 when left out.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 200, example = 50))]
    pub limit: Option<i64>,
}

/// One page of a list, newest first. Keyset pagination: pass `nextCursor` as the `before` query
/// parameter to get the next (older) page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_cursor: Option<i64>,
}

/// A received event and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventOut {
    pub id: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub feature_name: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub received_at: String,
    pub test: bool,
    /// Fetched by the Unleash catch-up poller: Unleash's webhook had not sent it (yet).
    pub caught_up: bool,
    /// Whether the type is in Hookline's catalog. Events of other types (e.g. from a newer
    /// Unleash) are stored and go to webhooks subscribed to all events.
    pub in_catalog: bool,
    /// The deliveries it caused: webhook, state.
    pub deliveries: Vec<EventDelivery>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventDelivery {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub webhook_description: String,
    pub state: DeliveryState,
}

/// `POST /api/admin/webhooks/{id}/recover`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoverIn {
    /// RFC 3339: re-queue failed deliveries created at or after this time.
    #[cfg_attr(feature = "ssr", schema(format = DateTime, example = "2026-11-28T10:00:00Z"))]
    pub since: String,
}

/// How many deliveries a recover re-queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoverOut {
    pub requeued: i64,
    /// True when the cap was reached (run it again for the rest).
    pub capped: bool,
}

/// `POST /api/admin/webhooks/{id}/test`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestSendIn {
    /// The catalog type whose sample event is sent.
    #[cfg_attr(feature = "ssr", schema(value_type = hookline_core::catalog::schema::CatalogEventType))]
    pub event_type: String,
}

/// Delivery figures for the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DashboardOut {
    pub succeeded_24h: i64,
    pub failed_24h: i64,
    pub pending: i64,
    /// Per webhook over 24 h.
    pub webhooks: Vec<WebhookHealth>,
    /// Deliveries per hour for the last 24 h, oldest first: (hour start RFC 3339, succeeded, failed).
    pub hourly: Vec<HourBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookHealth {
    pub webhook_id: i64,
    pub title: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub succeeded: i64,
    pub failed: i64,
    /// Failed or retrying right now (the newest delivery did not succeed).
    pub failing: bool,
}

impl WebhookHealth {
    /// Success rate over the window, if anything was delivered.
    pub fn success_rate(&self) -> Option<f64> {
        let total = self.succeeded + self.failed;
        (total > 0).then(|| self.succeeded as f64 / total as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HourBucket {
    pub hour: String,
    pub succeeded: i64,
    pub failed: i64,
}

/// What to paste into Unleash's Webhook addon to send its events here, and whether any came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnleashConnection {
    /// The addon's "Webhook URL": `HOOKLINE_PUBLIC_URL` + `/api/events`.
    pub intake_url: String,
    /// False when HOOKLINE_PUBLIC_URL is not set and `intake_url` is this server's listen address,
    /// which Unleash on another machine may not reach.
    pub public_url_set: bool,
    /// The addon's "Content-Type".
    pub content_type: String,
    /// The addon's events to tick: those the enabled webhooks take (all of the addon's when one
    /// takes all events), in the addon's order.
    pub event_types: Vec<String>,
    /// The newest event received through the intake (test sends do not count).
    pub last_event: Option<ReceivedEvent>,
    /// The catch-up poller's state.
    pub catch_up: CatchUpStatus,
}

/// The Unleash catch-up poller (HOOKLINE_UNLEASH_URL + HOOKLINE_UNLEASH_TOKEN) as the Connect
/// page reports it. Any instance may have polled last: this comes from the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatchUpStatus {
    /// Whether both settings are set (otherwise nothing is polled).
    pub enabled: bool,
    /// The Unleash polled (HOOKLINE_UNLEASH_URL), if set.
    pub unleash_url: Option<String>,
    /// HOOKLINE_UNLEASH_POLL, e.g. `30s`.
    pub interval: String,
    /// The highest Unleash event id the poller has taken in (null before the first poll).
    pub cursor: Option<i64>,
    pub last_success_at: Option<String>,
    /// Events taken in by the poller that the webhook had not brought.
    pub caught_up: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Whether the newest poll failed (its error is newer than the last success).
    pub failing: bool,
    /// Where the URL polled comes from (None: not set anywhere).
    pub url_source: Option<SettingSource>,
    /// Where the API token comes from (None: not set anywhere).
    pub token_source: Option<SettingSource>,
    /// The URL set on the Connect page (used unless HOOKLINE_UNLEASH_URL is set).
    pub stored_url: Option<String>,
    /// Whether an API token is set on the Connect page (it is never shown again, only masked).
    pub stored_token: bool,
    /// Who last set them on the Connect page, and when.
    pub stored_by: Option<String>,
    pub stored_at: Option<String>,
}

/// Where a catch-up setting comes from. The environment wins, each setting on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SettingSource {
    /// HOOKLINE_UNLEASH_URL / HOOKLINE_UNLEASH_TOKEN.
    Environment,
    /// Stored from the Connect page.
    ConnectPage,
}

/// The Connect page's catch-up form: the Unleash URL and API token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnleashSettingsIn {
    /// Unleash's base URL (its UI address; the API is under `/api`).
    pub url: String,
    /// An admin API token or an admin's personal access token; empty keeps the stored one.
    pub token: String,
}

/// `UnleashSettingsIn`, checked: the URL to store and the token to store (None: keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnleashSettingsSpec {
    /// None: empty, allowed while HOOKLINE_UNLEASH_URL is set.
    pub url: Option<String>,
    pub token: Option<String>,
}

impl UnleashSettingsIn {
    /// Checks both fields against what is stored (`stored_url`, `token_stored`); `env_url`,
    /// `token_in_env`: HOOKLINE_UNLEASH_URL / _TOKEN, with which that field may stay empty. A kept
    /// token never follows the URL to another server: whoever could change the URL would
    /// otherwise receive it there.
    pub fn validate(
        &self,
        stored_url: Option<&str>,
        token_stored: bool,
        env_url: Option<&str>,
        token_in_env: bool,
    ) -> Result<UnleashSettingsSpec, crate::AppError> {
        use crate::AppError;
        let url = self.url.trim();
        let url = if url.is_empty() {
            if env_url.is_none() {
                return Err(AppError::invalid(
                    "url",
                    "enter your Unleash's URL (the address of its UI, e.g. https://unleash.example.com)",
                ));
            }
            None
        } else {
            Some(super::webhook::validate_url(url)?)
        };
        let token = self.token.trim();
        let token = if token.is_empty() || token == super::webhook::MASK {
            if !token_stored && !token_in_env {
                return Err(AppError::invalid("token", "enter an Unleash admin API token"));
            }
            // Where the kept token went before: the stored URL, or the environment's.
            let moved = match (stored_url.or(env_url), url.as_deref()) {
                (Some(before), Some(url)) => !super::webhook::same_origin(before, url),
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if token_stored && moved {
                return Err(AppError::invalid("token", "enter the token again: the Unleash URL changed"));
            }
            None
        } else {
            super::webhook::validate_header_value("token", "Authorization", token)?;
            Some(token.to_string())
        };
        Ok(UnleashSettingsSpec { url, token })
    }
}

/// An event as the Connect Unleash page reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedEvent {
    pub id: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub project: Option<String>,
    pub feature_name: Option<String>,
    pub received_at: String,
}

#[cfg(test)]
mod unleash_settings_tests {
    use super::*;
    use crate::model::MASK;

    fn input(url: &str, token: &str) -> UnleashSettingsIn {
        UnleashSettingsIn { url: url.into(), token: token.into() }
    }

    #[test]
    fn a_new_token_is_taken_and_an_empty_one_keeps_the_stored_one() {
        let spec =
            input(" https://unleash.example.com ", " *:*.abc ").validate(None, false, None, false).expect("valid");
        assert_eq!(
            spec,
            UnleashSettingsSpec { url: Some("https://unleash.example.com/".into()), token: Some("*:*.abc".into()) }
        );
        let kept = input("https://unleash.example.com/x", "").validate(
            Some("https://unleash.example.com/"),
            true,
            None,
            false,
        );
        assert_eq!(kept.expect("valid").token, None);
        let first = input("https://unleash.example.com", "").validate(None, false, None, false).unwrap_err();
        assert_eq!(first.field(), Some("token"));
    }

    #[test]
    fn a_kept_token_never_follows_the_url_to_another_server() {
        let stored = Some("https://unleash.example.com/");
        let moved = input("https://attacker.example", MASK).validate(stored, true, None, false).unwrap_err();
        assert_eq!(moved.field(), Some("token"));
        // The token went to the environment's URL: a page URL elsewhere needs it again.
        let env = Some("https://unleash.example.com/");
        assert!(input("https://attacker.example", "").validate(None, true, env, false).is_err());
        assert!(input("", "").validate(stored, true, env, false).is_ok(), "the environment's URL is used");
    }

    #[test]
    fn the_url_is_needed_unless_the_environment_sets_it() {
        assert_eq!(input("", "t").validate(None, false, None, false).unwrap_err().field(), Some("url"));
        assert_eq!(input("ftp://x", "t").validate(None, false, None, false).unwrap_err().field(), Some("url"));
        assert_eq!(
            input("https://u.example", "t\nx").validate(None, false, None, false).unwrap_err().field(),
            Some("token")
        );
        let env_only = input("", "").validate(None, false, Some("https://u.example/"), true).expect("valid");
        assert_eq!(env_only, UnleashSettingsSpec { url: None, token: None });
    }
}
