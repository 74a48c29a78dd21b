//! Webhook integrations as the API and the UI see them, and the validation both share.
//!
//! JSON names follow Unleash's camelCase. Sensitive values (the URL's path and query, the
//! Authorization header, extra header values, the signing secret) are masked in everything this
//! module sends out; sending the mask back in an update keeps the stored value.

use hookline_core::catalog;
use hookline_core::subscription::{takes_all, ALL_EVENTS};
use hookline_core::template::{Escape, Template};
use serde::{Deserialize, Serialize};

use crate::AppError;

/// Extra request headers, name to value, in the order the admin entered them (the order they
/// are sent in, and shown back in the form and the API).
pub type HeaderMap = indexmap::IndexMap<String, String>;

/// What sensitive values look like in responses and forms.
pub const MASK: &str = "*****";
/// The default Content-Type.
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";
/// Common choices offered by the form (free text is accepted too).
pub const COMMON_CONTENT_TYPES: [&str; 5] =
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "text/html", "application/xml"];
/// Body templates larger than this are refused.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 50;
/// The highest rate limit accepted, in deliveries per second.
pub const MAX_RATE_LIMIT: f64 = 10_000.0;
/// The lowest rate limit accepted: one delivery every 1,000 seconds.
pub const MIN_RATE_LIMIT: f64 = 0.001;

/// A rate limit in deliveries per second (a JSON number). Compared by bit pattern, which keeps the
/// types holding it `Eq`; a validated one is finite and positive, never NaN.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PerSecond(pub f64);

impl PartialEq for PerSecond {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for PerSecond {}

impl std::fmt::Display for PerSecond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // f64's Display prints the shortest text that reads back the same: 0.5, 20, 1000.
        write!(f, "{}", self.0)
    }
}

/// A rate limit as the API takes it: finite, positive, within [`MIN_RATE_LIMIT`, `MAX_RATE_LIMIT`].
pub fn validate_rate_limit(rate: f64) -> Result<PerSecond, AppError> {
    if !rate.is_finite() {
        return Err(AppError::invalid("rateLimit", "enter a number of deliveries per second, like 0.5 or 20"));
    }
    if rate <= 0.0 {
        return Err(AppError::invalid(
            "rateLimit",
            format!("a rate limit must be positive (deliveries per second), not {rate}; leave it empty for no limit"),
        ));
    }
    if rate < MIN_RATE_LIMIT {
        return Err(AppError::invalid(
            "rateLimit",
            format!("use at least {MIN_RATE_LIMIT} deliveries per second (one every 1,000 seconds)"),
        ));
    }
    if rate > MAX_RATE_LIMIT {
        return Err(AppError::invalid(
            "rateLimit",
            format!("use at most {MAX_RATE_LIMIT} deliveries per second, or leave it empty for no limit"),
        ));
    }
    Ok(PerSecond(rate))
}

/// An ordered webhook's head of line: the unfinished delivery that holds back the later ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HeadOfLine {
    /// The delivery that goes next (see `GET /api/admin/deliveries/{id}`).
    pub delivery_id: i64,
    pub state: hookline_core::delivery::DeliveryState,
    /// When its next attempt is due (it may be due already, or in flight).
    pub next_attempt_at: Option<String>,
    /// Its attempt is being made right now.
    pub in_flight: bool,
    /// How many later deliveries of the webhook wait behind it.
    pub waiting: i64,
}
const MAX_FILTER_VALUES: usize = 100;

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RetryPolicy {
    /// Unleash's documented behaviour: one retry.
    Unleash,
    /// The standard schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±20 % jitter).
    #[default]
    Standard,
}

impl RetryPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryPolicy::Unleash => "unleash",
            RetryPolicy::Standard => "standard",
        }
    }

    pub fn parse(text: &str) -> Option<RetryPolicy> {
        match text {
            "unleash" => Some(RetryPolicy::Unleash),
            "standard" => Some(RetryPolicy::Standard),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RetryPolicy::Unleash => "Unleash compatible: 1 retry",
            RetryPolicy::Standard => "Standard schedule: 8 attempts over about 27 hours",
        }
    }
}

/// The state of a webhook's most recent delivery, for the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LastDelivery {
    pub state: hookline_core::delivery::DeliveryState,
    pub at: String,
}

/// A webhook as returned by the API and shown in the UI: sensitive values masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookOut {
    pub id: i64,
    pub description: String,
    /// Scheme and host in clear, path and query masked: `https://hooks.slack.com/*****`.
    pub url: String,
    pub url_host: String,
    pub enabled: bool,
    pub content_type: String,
    /// `*****` when set, null when not.
    pub authorization: Option<String>,
    /// Header names in clear, values masked.
    #[cfg_attr(feature = "ssr", schema(value_type = HashMap<String, String>))]
    pub headers: HeaderMap,
    pub body_template: Option<String>,
    /// Catalog names, or `["*"]`: every type.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<hookline_core::catalog::schema::SubscribedEventType>))]
    pub events: Vec<String>,
    pub projects: Vec<String>,
    pub environments: Vec<String>,
    pub retry_policy: RetryPolicy,
    /// `whsec_*****`; the secret itself only through the explicit reveal.
    pub secret: String,
    /// When the previous secret stops signing (during a rotation's grace period).
    pub previous_secret_expires_at: Option<String>,
    /// Why the dispatcher disabled this webhook (failing too long), if it did.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<String>,
    /// Circuit breaker: the webhook is paused until then (too many failed attempts in a row);
    /// its deliveries wait, keeping their retries. Null when deliveries flow.
    pub paused_until: Option<String>,
    /// Circuit breaker: failed attempts in a row (any success resets it).
    pub consecutive_failures: i64,
    /// What the last failed attempt reported, e.g. `The receiver answered HTTP 503 Service Unavailable`.
    pub last_error: Option<String>,
    /// At most this many deliveries per second (every attempt counts: retries, redeliveries and
    /// test sends too); null: unlimited. Deliveries over the rate wait, keeping their retries.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<f64>, example = 20))]
    pub rate_limit: Option<PerSecond>,
    /// Deliveries leave in event order: an unfinished one holds back the later ones
    /// (head-of-line blocking).
    pub ordered: bool,
    /// When ordered and something is queued: the delivery that goes next and how many wait behind it.
    pub head_of_line: Option<HeadOfLine>,
    pub last_delivery: Option<LastDelivery>,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    /// Bumped by every change; send it back with an update to have a concurrent change refused.
    pub version: i64,
}

impl WebhookOut {
    /// The name to show: the description, or the URL's host.
    pub fn title(&self) -> String {
        if self.description.trim().is_empty() {
            self.url_host.clone()
        } else {
            self.description.clone()
        }
    }
}

/// A webhook's signing secret in full (`GET /api/admin/webhooks/{id}/secret`, the UI's "Reveal").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecret {
    pub secret: String,
    /// The rotated-out secret, while it still signs (grace period).
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<String>,
}

/// One subscribable event type with its sample event (`GET /api/admin/event-types`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventTypeOut {
    pub name: String,
    pub group: catalog::EventGroup,
    pub group_label: String,
    pub description: String,
    pub deprecated: bool,
    /// Offered by Unleash 7.5.1's webhook addon; `false` for the types Unleash emits beyond it.
    pub unleash_addon: bool,
    pub sample: hookline_core::event::Event,
}

impl EventTypeOut {
    /// The whole catalog: the addon's types in Unleash's order, then the further types.
    pub fn catalog() -> Vec<EventTypeOut> {
        catalog::EVENT_TYPES
            .iter()
            .filter_map(|t| {
                Some(EventTypeOut {
                    name: t.name.to_string(),
                    group: t.group,
                    group_label: t.group.label().to_string(),
                    description: t.description.to_string(),
                    deprecated: t.deprecated,
                    unleash_addon: t.unleash_addon,
                    sample: catalog::sample_event(t.name)?,
                })
            })
            .collect()
    }
}

/// A webhook as submitted by the API or the form (create, or full replacement on update).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(example = json!({
    "description": "Release notes bot",
    "url": "http://198.51.100.7:8080/hooks/unleash",
    "contentType": "application/json",
    "headers": {"X-Team": "checkout"},
    "bodyTemplate": "{\"text\": \"{{eventMarkdown}}\"}",
    "events": ["feature-created", "feature-archived"],
    "projects": ["web-shop"],
    "environments": [],
    "enabled": true,
    "retryPolicy": "standard",
    "rateLimit": 20,
    "ordered": false
})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookIn {
    /// What the webhook is for, shown in lists (at most 500 characters); the URL's host when empty.
    #[serde(default)]
    pub description: Option<String>,
    /// The absolute http(s) URL to post to (at most 2048 characters). On update, the masked form
    /// from `WebhookOut.url` (or `*****`) keeps the stored URL.
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            format = "uri",
            max_length = 2048,
            example = "https://hooks.slack.com/services/T000/B000/XXXX"
        )
    )]
    pub url: String,
    /// Whether events are delivered (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The request's Content-Type (default `application/json`); JSON types escape template values
    /// for JSON.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The Authorization header sent with each request; `*****` keeps the stored one.
    #[serde(default)]
    pub authorization: Option<String>,
    /// Extra request headers, name to value; `*****` as a value keeps the stored one.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<HashMap<String, String>>))]
    pub headers: Option<HeaderMap>,
    /// A Mustache template for the body (at most 64 KiB); without one the body is the event as received.
    #[serde(default)]
    pub body_template: Option<String>,
    /// Subscribed event types (catalog names, see `GET /api/admin/event-types`), or `["*"]` for
    /// every type, including types outside the catalog.
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            value_type = Vec<hookline_core::catalog::schema::SubscribedEventType>,
            required = true,
            min_items = 1,
            example = json!(["feature-created"])
        )
    )]
    pub events: Vec<String>,
    /// Only events of these projects (empty or `*`: all; an event without a project passes).
    #[serde(default)]
    pub projects: Option<Vec<String>>,
    /// Only events of these environments (empty or `*`: all; an event without one passes).
    #[serde(default)]
    pub environments: Option<Vec<String>>,
    /// How failed deliveries are retried (default `standard`).
    #[serde(default)]
    pub retry_policy: Option<RetryPolicy>,
    /// At most this many deliveries per second, e.g. `0.5` or `20` (between 0.001 and 10000);
    /// null or absent: unlimited. Every attempt counts, retries, redeliveries and test sends
    /// included, on every instance; deliveries over the rate wait and keep their retries.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<f64>, minimum = 0.001, maximum = 10000, example = 20))]
    pub rate_limit: Option<PerSecond>,
    /// Deliver in event order (default false): a delivery is not sent while an earlier one of this
    /// webhook is pending, retrying or in flight; it goes once that one succeeded or failed for
    /// good. This is head-of-line blocking: one failing delivery holds back all later ones for as
    /// long as its retries last. Test sends are outside the order.
    #[serde(default)]
    pub ordered: Option<bool>,
    /// Save even if the template renders invalid JSON for some subscribed event type.
    #[serde(default)]
    pub save_anyway: Option<bool>,
    /// On update: the `version` this change was made to. If the webhook has changed since, the
    /// update is refused with 409 instead of overwriting that change. Without it the update
    /// applies to whatever version is stored.
    #[serde(default)]
    pub version: Option<i64>,
}

/// A validated webhook configuration, sensitive values resolved (never sent to clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    pub description: String,
    pub url: String,
    pub enabled: bool,
    pub content_type: String,
    pub authorization: Option<String>,
    pub headers: HeaderMap,
    pub body_template: Option<String>,
    pub events: Vec<String>,
    pub projects: Vec<String>,
    pub environments: Vec<String>,
    pub retry_policy: RetryPolicy,
    /// Deliveries per second at most; `None`: unlimited.
    pub rate_limit: Option<PerSecond>,
    /// Deliveries leave in event order (head-of-line blocking).
    pub ordered: bool,
}

/// The stored values a masked field falls back to on update.
#[derive(Debug, Clone, Default)]
pub struct StoredSecrets {
    pub url: Option<String>,
    pub authorization: Option<String>,
    pub headers: HeaderMap,
}

/// Headers the dispatcher sets itself; an extra header may not replace them.
const RESERVED_HEADERS: [(&str, &str); 10] = [
    ("content-type", "set it with the Content-Type field"),
    ("authorization", "set it with the Authorization field"),
    ("host", "it is derived from the URL"),
    ("content-length", "it is computed from the body"),
    ("transfer-encoding", "it is managed by the HTTP client"),
    ("connection", "it is managed by the HTTP client"),
    ("user-agent", "Hookline identifies itself"),
    ("webhook-id", "it carries the Standard Webhooks signature"),
    ("webhook-timestamp", "it carries the Standard Webhooks signature"),
    ("webhook-signature", "it carries the Standard Webhooks signature"),
];

impl WebhookIn {
    /// Checks every field and resolves masked values against `stored` (the current configuration on
    /// update; empty on create). The first problem found is returned, naming its field.
    pub fn validate(&self, stored: &StoredSecrets) -> Result<WebhookSpec, AppError> {
        let description = self.description.as_deref().unwrap_or_default().trim().to_string();
        if description.chars().count() > 500 {
            return Err(AppError::invalid("description", "use at most 500 characters"));
        }

        let url = match (self.url.trim(), &stored.url) {
            (submitted, Some(current)) if submitted == mask_url(current) || submitted == MASK => current.clone(),
            (submitted, _) => validate_url(submitted)?,
        };

        // A kept (masked) secret must never follow the webhook to another host: whoever can edit a
        // webhook could otherwise point it at their own server and receive the stored credentials.
        let destination_changed = stored.url.as_deref().is_some_and(|current| !same_origin(current, &url));

        let content_type = self.content_type.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let content_type = content_type.unwrap_or(DEFAULT_CONTENT_TYPE).to_string();
        validate_content_type(&content_type)?;

        let authorization = match self.authorization.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(MASK) if destination_changed && stored.authorization.is_some() => {
                return Err(AppError::invalid(
                    "authorization",
                    "enter the Authorization again: the destination changed",
                ));
            }
            Some(MASK) => match &stored.authorization {
                Some(current) => Some(current.clone()),
                None => return Err(AppError::invalid("authorization", "enter the Authorization value")),
            },
            Some(value) => {
                validate_header_value("authorization", "Authorization", value)?;
                Some(value.to_string())
            }
        };

        let mut headers = HeaderMap::new();
        for (name, value) in self.headers.clone().unwrap_or_default() {
            let name = name.trim().to_string();
            if name.is_empty() && value.trim().is_empty() {
                continue;
            }
            validate_header_name(&name)?;
            let value = if value == MASK {
                match stored.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    Some(_) if destination_changed => {
                        return Err(AppError::invalid(
                            "headers",
                            format!("enter the value of header `{name}` again: the destination changed"),
                        ));
                    }
                    Some((_, current)) => current.clone(),
                    None => return Err(AppError::invalid("headers", format!("enter the value of header `{name}`"))),
                }
            } else {
                validate_header_value("headers", &name, &value)?;
                value
            };
            if headers.keys().any(|n: &String| n.eq_ignore_ascii_case(&name)) {
                return Err(AppError::invalid("headers", format!("header `{name}` is listed twice")));
            }
            headers.insert(name, value);
        }
        if headers.len() > MAX_HEADERS {
            return Err(AppError::invalid("headers", format!("use at most {MAX_HEADERS} extra headers")));
        }

        let body_template = self.body_template.as_deref().filter(|t| !t.trim().is_empty()).map(str::to_string);
        if let Some(template) = &body_template {
            validate_template(template)?;
        }

        let mut events = Vec::new();
        for event in &self.events {
            let event = event.trim();
            if event != ALL_EVENTS && !catalog::is_known(event) {
                return Err(AppError::invalid(
                    "events",
                    format!(
                        "`{event}` is not a known event type (`{ALL_EVENTS}` takes every type, including new ones)"
                    ),
                ));
            }
            if !events.iter().any(|e: &String| e == event) {
                events.push(event.to_string());
            }
        }
        if takes_all(&events) {
            // "All events" makes any list beside it redundant: store the one meaning.
            events = vec![ALL_EVENTS.to_string()];
        }
        if events.is_empty() {
            return Err(AppError::invalid("events", "choose at least one event type"));
        }

        let projects = validate_filter("projects", self.projects.as_deref().unwrap_or_default())?;
        let environments = validate_filter("environments", self.environments.as_deref().unwrap_or_default())?;
        let rate_limit = self.rate_limit.map(|rate| validate_rate_limit(rate.0)).transpose()?;

        Ok(WebhookSpec {
            description,
            url,
            enabled: self.enabled.unwrap_or(true),
            content_type,
            authorization,
            headers,
            body_template,
            events,
            projects,
            environments,
            retry_policy: self.retry_policy.unwrap_or_default(),
            rate_limit,
            ordered: self.ordered.unwrap_or(false),
        })
    }
}

/// An absolute http(s) URL with a host, no credentials, at most 2048 characters.
/// Whether two webhook URLs share scheme, host and port (ports made explicit: `https://a` and
/// `https://a:443` are the same place). Unparseable URLs never match.
pub fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

pub fn validate_url(url: &str) -> Result<String, AppError> {
    if url.is_empty() {
        return Err(AppError::invalid("url", "enter the URL to post events to"));
    }
    if url.len() > 2048 {
        return Err(AppError::invalid("url", "use at most 2048 characters"));
    }
    let parsed =
        url::Url::parse(url).map_err(|e| AppError::invalid("url", format!("`{url}` is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AppError::invalid("url", format!("use http or https, not `{}`", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(AppError::invalid("url", "the URL needs a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(AppError::invalid("url", "put credentials in the Authorization field, not in the URL"));
    }
    if parsed.fragment().is_some() {
        return Err(AppError::invalid("url", "remove the #fragment: it is never sent to the server"));
    }
    Ok(parsed.to_string())
}

/// `type/subtype` with optional parameters, as a valid header value.
pub fn validate_content_type(content_type: &str) -> Result<(), AppError> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| !s.is_empty() && s.bytes().all(is_token_byte);
    let valid = essence.split_once('/').is_some_and(|(t, s)| token(t) && token(s)) && content_type.len() <= 200;
    if !valid {
        return Err(AppError::invalid(
            "contentType",
            format!("`{content_type}` is not a media type like application/json"),
        ));
    }
    validate_header_value("contentType", "Content-Type", content_type)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// An HTTP header name (RFC 9110 token) that does not replace a header Hookline sets.
pub fn validate_header_name(name: &str) -> Result<(), AppError> {
    if name.is_empty() {
        return Err(AppError::invalid("headers", "a header has a value but no name"));
    }
    if name.len() > 100 || !name.bytes().all(is_token_byte) {
        return Err(AppError::invalid(
            "headers",
            format!("`{name}` is not a valid header name (letters, digits and - only)"),
        ));
    }
    if let Some((_, why)) = RESERVED_HEADERS.iter().find(|(reserved, _)| reserved.eq_ignore_ascii_case(name)) {
        return Err(AppError::invalid("headers", format!("header `{name}` cannot be set here: {why}")));
    }
    Ok(())
}

/// A header value: visible ASCII, spaces and tabs only (no line breaks that could inject headers).
pub fn validate_header_value(field: &str, name: &str, value: &str) -> Result<(), AppError> {
    if value.len() > 8192 {
        return Err(AppError::invalid(field, format!("the value of `{name}` is too long (at most 8192 bytes)")));
    }
    if let Some(bad) = value.chars().find(|c| !(*c == ' ' || *c == '\t' || c.is_ascii_graphic())) {
        let what = match bad {
            '\r' | '\n' => "a line break".to_string(),
            c if c.is_control() => format!("the control character U+{:04X}", c as u32),
            c => format!("the non-ASCII character `{c}`"),
        };
        return Err(AppError::invalid(
            field,
            format!("the value of `{name}` contains {what}, which HTTP headers cannot carry"),
        ));
    }
    Ok(())
}

/// Compiles the template (positions in the message) and bounds its size.
pub fn validate_template(template: &str) -> Result<Template, AppError> {
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(AppError::invalid("bodyTemplate", format!("use at most {} KiB", MAX_TEMPLATE_BYTES / 1024)));
    }
    Template::compile(template).map_err(|e| AppError::invalid("bodyTemplate", e.to_string()))
}

/// Project or environment filter values: trimmed, non-empty, deduplicated; `*` means all.
pub fn validate_filter(field: &str, values: &[String]) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        if value.chars().count() > 100 || value.chars().any(char::is_control) {
            return Err(AppError::invalid(field, format!("`{value}` is not a valid name (at most 100 characters)")));
        }
        if !out.iter().any(|v| v == value) {
            out.push(value.to_string());
        }
    }
    if out.len() > MAX_FILTER_VALUES {
        return Err(AppError::invalid(field, format!("list at most {MAX_FILTER_VALUES} values")));
    }
    Ok(out)
}

/// Splits a comma- or newline-separated form field into filter values.
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The URL with its path and query masked (they often carry tokens, as Slack's do).
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let origin = parsed.origin().ascii_serialization();
            if parsed.path() == "/" && parsed.query().is_none() {
                format!("{origin}/")
            } else {
                format!("{origin}/{MASK}")
            }
        }
        Err(_) => MASK.to_string(),
    }
}

/// The host (and port, when not the default) of a URL.
pub fn url_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| if let Some(port) = u.port() { format!("{h}:{port}") } else { h.to_string() })
        })
        .unwrap_or_default()
}

pub use hookline_core::subscription::filter_passes;

/// The escaping a content type implies, for the preview and the dispatcher.
pub fn escape_for(content_type: &str) -> Escape {
    Escape::for_content_type(content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_input() -> WebhookIn {
        WebhookIn {
            url: "https://hooks.example.com/services/T000/B000/XXXX".into(),
            events: vec!["feature-created".into()],
            ..Default::default()
        }
    }

    fn field_of(input: &WebhookIn) -> String {
        input.validate(&StoredSecrets::default()).unwrap_err().field().unwrap_or_default().to_string()
    }

    #[test]
    fn defaults_fill_in() {
        let spec = valid_input().validate(&StoredSecrets::default()).expect("valid");
        assert_eq!(spec.content_type, "application/json");
        assert!(spec.enabled);
        assert_eq!(spec.retry_policy, RetryPolicy::Standard);
        assert!(spec.projects.is_empty() && spec.environments.is_empty());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for (url, expected) in [
            ("", "enter the URL"),
            ("hooks.example.com/x", "not a valid URL"),
            ("ftp://example.com/x", "use http or https"),
            ("https://user:pw@example.com/", "Authorization field"),
            ("https://example.com/#frag", "fragment"),
        ] {
            let err = WebhookIn { url: url.into(), ..valid_input() }.validate(&StoredSecrets::default()).unwrap_err();
            assert_eq!(err.field(), Some("url"));
            assert!(err.to_string().contains(expected), "{url}: {err}");
        }
    }

    #[test]
    fn headers_are_checked_and_reserved_names_refused() {
        let with = |name: &str, value: &str| WebhookIn {
            headers: Some(HeaderMap::from([(name.to_string(), value.to_string())])),
            ..valid_input()
        };
        assert_eq!(field_of(&with("X Bad", "v")), "headers");
        assert_eq!(field_of(&with("X-Ok", "line\r\nInjected: 1")), "headers");
        let err = with("Content-Type", "text/plain").validate(&StoredSecrets::default()).unwrap_err();
        assert!(err.to_string().contains("Content-Type field"));
        assert!(with("X-Team", "checkout").validate(&StoredSecrets::default()).is_ok());
    }

    #[test]
    fn masked_values_keep_the_stored_ones() {
        let stored = StoredSecrets {
            url: Some("https://hooks.example.com/secret/path".into()),
            authorization: Some("Bearer s3cret".into()),
            headers: HeaderMap::from([("X-Api-Key".to_string(), "k3y".to_string())]),
        };
        let input = WebhookIn {
            url: "https://hooks.example.com/*****".into(),
            authorization: Some(MASK.into()),
            headers: Some(HeaderMap::from([("X-Api-Key".to_string(), MASK.to_string())])),
            ..valid_input()
        };
        let spec = input.validate(&stored).expect("valid");
        assert_eq!(spec.url, "https://hooks.example.com/secret/path");
        assert_eq!(spec.authorization.as_deref(), Some("Bearer s3cret"));
        assert_eq!(spec.headers["X-Api-Key"], "k3y");
        // A mask for a value that was never stored is an error, not a literal "*****".
        let fresh = WebhookIn { authorization: Some(MASK.into()), ..valid_input() };
        assert_eq!(field_of(&fresh), "authorization");
    }

    #[test]
    fn masked_secrets_never_follow_a_changed_destination() {
        let stored = StoredSecrets {
            url: Some("https://hooks.example.com/secret/path".into()),
            authorization: Some("Bearer s3cret".into()),
            headers: HeaderMap::from([("X-Api-Key".to_string(), "k3y".to_string())]),
        };
        for moved in [
            "https://attacker.example/collect",
            "http://hooks.example.com/secret/path",
            "https://hooks.example.com:8443/secret/path",
            "https://hooks.example.com.attacker.example/x",
        ] {
            let keep_auth = WebhookIn { url: moved.into(), authorization: Some(MASK.into()), ..valid_input() };
            let err = keep_auth.validate(&stored).unwrap_err();
            assert_eq!(err.field(), Some("authorization"), "{moved}");
            assert!(err.to_string().contains("the destination changed"), "{err}");
            let keep_header = WebhookIn {
                url: moved.into(),
                headers: Some(HeaderMap::from([("X-Api-Key".to_string(), MASK.to_string())])),
                ..valid_input()
            };
            let err = keep_header.validate(&stored).unwrap_err();
            assert_eq!(err.field(), Some("headers"), "{moved}");
            assert!(err.to_string().contains("header `X-Api-Key` again: the destination changed"), "{err}");
        }
        // The same origin, another path (or an explicit default port): the secrets stay.
        for same in ["https://hooks.example.com/other/path", "https://HOOKS.example.com:443/x"] {
            let input = WebhookIn { url: same.into(), authorization: Some(MASK.into()), ..valid_input() };
            assert_eq!(input.validate(&stored).expect(same).authorization.as_deref(), Some("Bearer s3cret"));
        }
        // A new value typed with the new destination is fine.
        let retyped = WebhookIn {
            url: "https://new.example/x".into(),
            authorization: Some("Bearer new".into()),
            ..valid_input()
        };
        assert_eq!(retyped.validate(&stored).expect("valid").authorization.as_deref(), Some("Bearer new"));
    }

    #[test]
    fn events_must_be_known_and_present() {
        assert_eq!(field_of(&WebhookIn { events: vec![], ..valid_input() }), "events");
        assert_eq!(field_of(&WebhookIn { events: vec!["feature-exploded".into()], ..valid_input() }), "events");
        let spec = WebhookIn { events: vec!["feature-created".into(), "feature-created".into()], ..valid_input() }
            .validate(&StoredSecrets::default())
            .expect("valid");
        assert_eq!(spec.events, vec!["feature-created"]);
        let all = WebhookIn { events: vec!["feature-created".into(), "*".into()], ..valid_input() }
            .validate(&StoredSecrets::default())
            .expect("valid");
        assert_eq!(all.events, vec!["*"], "all events stands alone");
    }

    #[test]
    fn templates_must_compile() {
        let err = WebhookIn { body_template: Some("{\n  {{#event.data}}\n".into()), ..valid_input() }
            .validate(&StoredSecrets::default())
            .unwrap_err();
        assert_eq!(err.field(), Some("bodyTemplate"));
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn rate_limits_are_positive_and_bounded() {
        let with = |rate: f64| WebhookIn { rate_limit: Some(PerSecond(rate)), ..valid_input() };
        for (rate, expected) in [
            (0.0, "must be positive"),
            (-2.0, "must be positive"),
            (f64::NAN, "enter a number"),
            (f64::INFINITY, "enter a number"),
            (0.0001, "at least 0.001"),
            (10_000.5, "at most 10000"),
        ] {
            let err = with(rate).validate(&StoredSecrets::default()).unwrap_err();
            assert_eq!(err.field(), Some("rateLimit"), "{rate}");
            assert!(err.to_string().contains(expected), "{rate}: {err}");
        }
        for rate in [0.5, 20.0, 10_000.0] {
            assert_eq!(
                with(rate).validate(&StoredSecrets::default()).expect("valid").rate_limit,
                Some(PerSecond(rate))
            );
        }
        let spec = valid_input().validate(&StoredSecrets::default()).expect("valid");
        assert_eq!((spec.rate_limit, spec.ordered), (None, false), "no limit and no ordering by default");
    }

    #[test]
    fn content_types_are_media_types() {
        assert_eq!(field_of(&WebhookIn { content_type: Some("json".into()), ..valid_input() }), "contentType");
        let ok = WebhookIn { content_type: Some("application/vnd.api+json; charset=utf-8".into()), ..valid_input() };
        assert!(ok.validate(&StoredSecrets::default()).is_ok());
    }

    #[test]
    fn urls_are_masked_but_hosts_shown() {
        assert_eq!(mask_url("https://hooks.slack.com/services/T/B/X"), "https://hooks.slack.com/*****");
        assert_eq!(mask_url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/");
        assert_eq!(url_host("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
    }

    #[test]
    fn filters_follow_unleash_rules() {
        let filter = vec!["web-shop".to_string()];
        assert!(filter_passes(&[], Some("anything")));
        assert!(filter_passes(&["*".to_string()], Some("anything")));
        assert!(filter_passes(&filter, Some("web-shop")));
        assert!(!filter_passes(&filter, Some("mobile")));
        assert!(filter_passes(&filter, None), "an event without a project passes");
        assert_eq!(split_list(" web-shop, mobile\n,  "), vec!["web-shop", "mobile"]);
    }
}
