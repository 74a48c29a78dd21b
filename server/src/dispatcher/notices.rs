//! Hookline's operational events (`hookline.webhook.disabled`, `.paused`, `.resumed`; see
//! `hookline_core::operational`): built from the stored webhook and taken in through the normal
//! intake, as events of source `hookline`, so they are stored, logged and delivered like any
//! other. The webhook a notice is about never gets it: a disabled or paused receiver would not
//! take it, and a resumed one has queued work of its own to catch up on.

use hookline_core::operational::{NoticeKind, WebhookNotice, HOOKLINE_ACTOR};

use crate::db::deliveries::{paused_reason, Breaker, BreakerChange};
use crate::db::events::{NewEvent, StoredEvent};
use crate::db::webhooks::Webhook;
use crate::db::Db;
use crate::time::iso;

/// The event `source` of operational events.
pub const SOURCE: &str = "hookline";

/// The notice of `kind` about `webhook` at `now`, by `actor`, for `reason`.
pub fn notice(kind: NoticeKind, webhook: &Webhook, reason: String, actor: &str, now: i64) -> NewEvent {
    let notice = WebhookNotice {
        kind,
        webhook_id: webhook.id,
        description: webhook.description.clone(),
        url_host: app::model::url_host(&webhook.url),
        reason,
        paused_until: webhook.paused_until.filter(|_| kind == NoticeKind::Paused).map(iso),
        consecutive_failures: webhook.consecutive_failures,
        last_error: webhook.last_failure.clone().filter(|_| kind != NoticeKind::Resumed),
        actor: actor.to_owned(),
        at: iso(now),
    };
    NewEvent { exclude_webhook: Some(webhook.id), ..NewEvent::made(notice.event(), now, SOURCE) }
}

/// Why the breaker closed, for the resumed notice.
fn resumed_reason() -> String {
    "A delivery succeeded after the cool-down: the circuit breaker is closed again and queued deliveries go out."
        .to_owned()
}

/// Takes in the notices of what a batch of attempts did to webhooks: auto-disables and breaker
/// changes, answering what was stored. Errors are logged: a lost notice must not hold up deliveries.
pub async fn emit_batch_notices(
    db: &Db,
    disabled: Vec<i64>,
    changes: Vec<BreakerChange>,
    breaker: Breaker,
) -> Vec<StoredEvent> {
    let now = db.now_ms();
    let mut events = Vec::new();
    for webhook_id in disabled {
        match db.webhook(webhook_id).await {
            Ok(Some(webhook)) => {
                let reason = webhook.disabled_reason.clone().unwrap_or_else(|| "Disabled automatically.".into());
                events.push(notice(NoticeKind::Disabled, &webhook, reason, HOOKLINE_ACTOR, now));
            }
            Ok(None) => {}
            Err(error) => tracing::error!(%error, webhook_id, "cannot read a disabled webhook for its notice"),
        }
    }
    for change in changes {
        match db.webhook(change.webhook_id).await {
            Ok(Some(mut webhook)) => {
                // As of the change, whatever happened since.
                webhook.paused_until = change.paused_until;
                webhook.consecutive_failures = change.consecutive_failures;
                if change.last_failure.is_some() {
                    webhook.last_failure = change.last_failure.clone();
                }
                let reason = match change.kind {
                    NoticeKind::Paused => paused_reason(change.consecutive_failures, breaker.cooldown_ms),
                    _ => resumed_reason(),
                };
                events.push(notice(change.kind, &webhook, reason, HOOKLINE_ACTOR, now));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, webhook_id = change.webhook_id, "cannot read a webhook for its notice")
            }
        }
    }
    if events.is_empty() {
        return Vec::new();
    }
    db.insert_events(events).await.unwrap_or_else(|error| {
        tracing::error!(%error, "cannot store the operational events of a batch");
        Vec::new()
    })
}
