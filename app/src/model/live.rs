//! The live feed's change notices (`GET /api/admin/stream`): what changed, in a few ids, small
//! enough to fan out to every open page; a page then refetches what it shows.

use serde::{Deserialize, Serialize};

use hookline_core::delivery::DeliveryState;

/// What a notice is about; also the name of its Server-Sent Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LiveKind {
    /// A delivery was queued, attempted, retried, or reached a final state.
    Delivery,
    /// An event was taken in (the intake, the Unleash catch-up, an operational event).
    Event,
    /// A webhook was paused or resumed by its circuit breaker, disabled, enabled or deleted.
    Webhook,
    /// Notices were lost (a slow reader, an overflowing relay): refetch everything shown.
    Resync,
}

impl LiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::Delivery => "delivery",
            LiveKind::Event => "event",
            LiveKind::Webhook => "webhook",
            LiveKind::Resync => "resync",
        }
    }
}

/// One change. Only the ids it concerns: a notice says *that* something changed, the page reads
/// *what* through the usual API (so the stream needs no authorisation beyond reading the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LiveNotice {
    pub kind: LiveKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    /// A delivery's new state (`pending`, `retrying`, `succeeded`, `failed`), or what happened to
    /// a webhook (`created`, `changed`, `enabled`, `disabled`, `paused`, `resumed`, `recovered`: failed
    /// deliveries re-queued, `deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl LiveNotice {
    /// A delivery of `webhook_id` now in `state`.
    pub fn delivery(webhook_id: i64, delivery_id: i64, state: DeliveryState) -> Self {
        LiveNotice {
            kind: LiveKind::Delivery,
            webhook_id: Some(webhook_id),
            delivery_id: Some(delivery_id),
            event_id: None,
            state: Some(state.as_str().to_owned()),
        }
    }

    /// An event taken in (its deliveries are queued with it).
    pub fn event(event_id: i64) -> Self {
        LiveNotice { kind: LiveKind::Event, webhook_id: None, delivery_id: None, event_id: Some(event_id), state: None }
    }

    /// Something that happened to a webhook (`what`: see `state`).
    pub fn webhook(webhook_id: i64, what: &str) -> Self {
        LiveNotice {
            kind: LiveKind::Webhook,
            webhook_id: Some(webhook_id),
            delivery_id: None,
            event_id: None,
            state: Some(what.to_owned()),
        }
    }

    /// Notices were lost: refetch.
    pub fn resync() -> Self {
        LiveNotice { kind: LiveKind::Resync, webhook_id: None, delivery_id: None, event_id: None, state: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_a_few_camel_case_ids() {
        let notice = LiveNotice::delivery(3, 42, DeliveryState::Succeeded);
        let json = serde_json::to_value(&notice).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"kind": "delivery", "webhookId": 3, "deliveryId": 42, "state": "succeeded"})
        );
        assert_eq!(serde_json::from_value::<LiveNotice>(json).expect("back"), notice);
        assert_eq!(serde_json::to_value(LiveNotice::resync()).expect("json"), serde_json::json!({"kind": "resync"}));
    }
}
