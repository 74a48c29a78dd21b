//! Hookline's operational events (`hookline.webhook.disabled`, `.paused`, `.resumed`): what Hookline
//! tells subscribed webhooks when it disables a webhook by itself, when a webhook's circuit breaker
//! opens, and when it closes again. They are events in Unleash's format, so templates, filters and
//! the delivery log treat them like any other; `data` says which webhook and why, never a secret
//! (the URL's host only, no path, query or credentials).

use serde_json::{json, Value};

use crate::catalog::{WEBHOOK_DISABLED, WEBHOOK_PAUSED, WEBHOOK_RESUMED};
use crate::event::Event;

/// Who an operational event is by when Hookline itself acted (`createdBy`).
pub const HOOKLINE_ACTOR: &str = "hookline";

/// What happened to the webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Disabled,
    Paused,
    Resumed,
}

impl NoticeKind {
    /// The event type of the notice.
    pub fn event_type(self) -> &'static str {
        match self {
            NoticeKind::Disabled => WEBHOOK_DISABLED,
            NoticeKind::Paused => WEBHOOK_PAUSED,
            NoticeKind::Resumed => WEBHOOK_RESUMED,
        }
    }
}

/// The facts of one notice about one webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookNotice {
    pub kind: NoticeKind,
    pub webhook_id: i64,
    /// The webhook's description (may be empty).
    pub description: String,
    /// The host of the webhook's URL: never its path or query, which may hold a token.
    pub url_host: String,
    /// Why, in a sentence.
    pub reason: String,
    /// Until when the webhook is paused (ISO 8601), for `paused`.
    pub paused_until: Option<String>,
    /// Failed attempts in a row when this happened.
    pub consecutive_failures: i64,
    /// The last failure, e.g. `HTTP 500` or a connection error (never a response body).
    pub last_error: Option<String>,
    /// Who acted: `hookline`, or the admin who resumed the webhook.
    pub actor: String,
    /// When (ISO 8601 with milliseconds).
    pub at: String,
}

impl WebhookNotice {
    /// What the UI calls the webhook: its description, or its URL's host.
    pub fn title(&self) -> &str {
        if self.description.trim().is_empty() {
            &self.url_host
        } else {
            &self.description
        }
    }

    /// The `data` of the event.
    pub fn data(&self) -> Value {
        json!({
            "webhookId": self.webhook_id,
            "title": self.title(),
            "description": self.description,
            "urlHost": self.url_host,
            "reason": self.reason,
            "pausedUntil": self.paused_until,
            "consecutiveFailures": self.consecutive_failures,
            "lastError": self.last_error,
        })
    }

    /// The notice as an event (its id is assigned when it is stored).
    pub fn event(&self) -> Event {
        Event {
            id: 0,
            event_type: self.kind.event_type().to_owned(),
            created_by: self.actor.clone(),
            created_at: self.at.clone(),
            created_by_user_id: None,
            data: Some(self.data()),
            pre_data: None,
            tags: Vec::new(),
            feature_name: None,
            project: None,
            environment: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_names_the_webhook_by_host_and_keeps_the_unleash_format() {
        let notice = WebhookNotice {
            kind: NoticeKind::Paused,
            webhook_id: 7,
            description: String::new(),
            url_host: "hooks.example.com".into(),
            reason: "5 attempts in a row failed".into(),
            paused_until: Some("2024-12-01T10:00:00.000Z".into()),
            consecutive_failures: 5,
            last_error: Some("HTTP 503".into()),
            actor: HOOKLINE_ACTOR.into(),
            at: "2024-12-01T09:59:00.000Z".into(),
        };
        let event = notice.event();
        assert_eq!(event.event_type, "hookline.webhook.paused");
        let data = event.data.expect("data");
        assert_eq!(data["title"], "hooks.example.com");
        assert_eq!(data["webhookId"], 7);
        assert_eq!(data["pausedUntil"], "2024-12-01T10:00:00.000Z");
        assert!(event.project.is_none() && event.environment.is_none() && event.feature_name.is_none());
    }
}
