//! The delivery log and its operations: lists and details, redeliver, recover, test sends, the
//! events list and the dashboard.

use std::collections::HashMap;

use async_trait::async_trait;

use app::api::DeliveryService;
use app::model::*;
use app::AppError;
use hookline_core::catalog;
use hookline_core::subscription::type_subscribed;

use crate::db::audit::NewAudit;
use crate::db::catch_up::TokenChange;
use crate::db::events::NewEvent;
use crate::db::log::{AttemptRow, DeliveryRow, LogFilter};
use crate::state::AppState;
use crate::time::{iso, parse_iso};
use crate::unleash::settings;

/// The most deliveries one recover re-queues.
pub const RECOVER_CAP: i64 = 10_000;

pub fn delivery_out(row: DeliveryRow) -> DeliveryOut {
    DeliveryOut {
        id: row.id,
        uid: row.uid,
        webhook_id: row.webhook_id,
        event_id: row.event_id,
        event_type: row.event_type,
        feature_name: row.feature_name,
        project: row.project,
        environment: row.environment,
        state: row.state,
        unleash_state: row.unleash_state,
        state_details: row.state_details,
        attempts: row.attempts,
        last_status: row.last_status,
        last_error_class: row.last_error_class,
        last_duration_ms: row.last_duration_ms,
        next_attempt_at: row.next_attempt_at.map(iso),
        test: row.source == "test",
        created_at: iso(row.created_at),
        updated_at: iso(row.updated_at),
    }
}

fn attempt_out(row: AttemptRow) -> AttemptOut {
    let pairs = |text: Option<&str>| {
        text.and_then(|t| serde_json::from_str::<Vec<(String, String)>>(t).ok()).unwrap_or_default()
    };
    AttemptOut {
        number: row.number,
        trigger: row.trigger,
        url: mask_url(&row.url),
        request_headers: pairs(Some(&row.request_headers)),
        request_body: row.request_body,
        status: row.status,
        response_headers: pairs(row.response_headers.as_deref()),
        response_body: row.response_body,
        response_body_encoding: row.response_body_encoding,
        duration_ms: row.duration_ms,
        error_class: row.error_class,
        error_message: row.error_message,
        started_at: iso(row.started_at),
        next_attempt_at: row.next_attempt_at.map(iso),
    }
}

fn time_param(field: &str, value: &Option<String>) -> Result<Option<i64>, AppError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => parse_iso(text).map(Some).ok_or_else(|| {
            AppError::invalid(field, format!("`{text}` is not an RFC 3339 time like 2026-11-28T10:00:00Z"))
        }),
    }
}

#[async_trait]
impl DeliveryService for AppState {
    async fn list_deliveries(
        &self,
        webhook_id: Option<i64>,
        filter: DeliveryFilter,
    ) -> Result<Page<DeliveryOut>, AppError> {
        if let Some(id) = webhook_id {
            self.stored_webhook(id).await?;
        }
        let state = match filter.state.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(state) => Some(state.parse::<DeliveryState>().map_err(|e| AppError::invalid("state", e))?),
        };
        if let Some(event_type) = filter.event_type.as_deref().filter(|s| !s.is_empty()) {
            // Types outside the catalog are delivered too, so any well-formed type is a filter.
            if event_type.len() > hookline_core::event::MAX_TYPE_LEN {
                return Err(AppError::invalid("eventType", "the event type is too long"));
            }
        }
        let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(class) => Some(class.parse::<StatusClass>().map_err(|e| AppError::invalid("status", e))?.range()),
        };
        let limit = filter.limit.unwrap_or(50).clamp(1, 200);
        let log_filter = LogFilter {
            webhook_id,
            state,
            event_type: filter.event_type.filter(|s| !s.is_empty()),
            status,
            since: time_param("since", &filter.since)?,
            until: time_param("until", &filter.until)?,
            before: filter.before,
            // One extra row tells whether another page follows.
            limit: limit + 1,
        };
        let mut rows = self.db.list_deliveries(&log_filter).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| r.id) } else { None };
        Ok(Page { items: rows.into_iter().map(delivery_out).collect(), next_cursor })
    }

    async fn get_delivery(&self, id: i64) -> Result<DeliveryDetail, AppError> {
        let row = self.db.delivery(id).await?.ok_or_else(|| AppError::NotFound(format!("delivery {id}")))?;
        let title = self.stored_webhook(row.webhook_id).await?.title();
        let payload = self
            .db
            .event_payload(row.event_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("event {}", row.event_id)))?;
        let mut event_json: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
        hookline_core::event::set_id(&mut event_json, row.event_id);
        let attempts = self.db.attempts_of(id).await?.into_iter().map(attempt_out).collect();
        Ok(DeliveryDetail {
            delivery: delivery_out(row),
            webhook_description: title,
            event: event_json,
            attempt_log: attempts,
        })
    }

    async fn redeliver(&self, actor: &Actor, id: i64) -> Result<DeliveryOut, AppError> {
        let row = self.db.delivery(id).await?.ok_or_else(|| AppError::NotFound(format!("delivery {id}")))?;
        let webhook = self.stored_webhook(row.webhook_id).await?;
        if !webhook.enabled {
            return Err(AppError::Conflict("the webhook is disabled: enable it before redelivering".into()));
        }
        let audit = NewAudit::new(actor, AuditAction::DeliveryRedelivered, ObjectKind::Delivery, Some(id))
            .named(format!("{} to {}", row.event_type, webhook.title()))
            .detail(serde_json::json!({ "webhookId": row.webhook_id, "eventId": row.event_id, "was": row.state }));
        if !self.db.queue_redelivery(id, &audit).await? {
            let next = row.next_attempt_at.map(iso).unwrap_or_default();
            return Err(AppError::Conflict(format!(
                "this delivery is still {}; its next attempt is due at {next}",
                row.state
            )));
        }
        tracing::info!(delivery = id, actor = %actor.name, "manual redelivery queued");
        self.live().publish([LiveNotice::delivery(row.webhook_id, id, DeliveryState::Pending)]);
        self.dispatcher.wake();
        let row = self.db.delivery(id).await?.ok_or_else(|| AppError::NotFound(format!("delivery {id}")))?;
        Ok(delivery_out(row))
    }

    async fn recover(&self, actor: &Actor, webhook_id: i64, since: &str) -> Result<RecoverOut, AppError> {
        let webhook = self.stored_webhook(webhook_id).await?;
        if !webhook.enabled {
            return Err(AppError::Conflict("the webhook is disabled: enable it before recovering deliveries".into()));
        }
        let since_ms = time_param("since", &Some(since.to_string()))?
            .ok_or_else(|| AppError::invalid("since", "give a time to recover from"))?;
        let audit = NewAudit::new(actor, AuditAction::DeliveryRecovered, ObjectKind::Webhook, Some(webhook_id))
            .named(webhook.title())
            .detail(serde_json::json!({ "since": iso(since_ms) }));
        let requeued = self.db.recover_failed(webhook_id, since_ms, RECOVER_CAP, &audit).await?;
        tracing::info!(webhook_id, actor = %actor.name, requeued, "failed deliveries re-queued");
        if requeued > 0 {
            // Many deliveries of one webhook: one notice about the webhook.
            self.live().publish([LiveNotice::webhook(webhook_id, "recovered")]);
            self.dispatcher.wake();
        }
        Ok(RecoverOut { requeued, capped: requeued >= RECOVER_CAP })
    }

    async fn send_test(&self, actor: &Actor, webhook_id: i64, event_type: &str) -> Result<DeliveryOut, AppError> {
        let webhook = self.stored_webhook(webhook_id).await?;
        if !webhook.enabled {
            return Err(AppError::Conflict("the webhook is disabled: enable it to send a test event".into()));
        }
        let sample = catalog::sample_event(event_type)
            .ok_or_else(|| AppError::invalid("eventType", format!("`{event_type}` is not a known event type")))?;
        let now = self.db.now_ms();
        let mut new = NewEvent::made(hookline_core::event::Event { created_at: iso(now), ..sample }, now, "test");
        let audit = NewAudit::new(actor, AuditAction::WebhookTestSent, ObjectKind::Webhook, Some(webhook_id))
            .named(webhook.title())
            .detail(serde_json::json!({ "eventType": event_type }));
        let (event_id, delivery_id) = self.db.insert_test_delivery(webhook_id, &mut new, &audit).await?;
        tracing::info!(webhook_id, actor = %actor.name, event_type, delivery = delivery_id, "test event queued");
        self.live().publish([
            LiveNotice::event(event_id),
            LiveNotice::delivery(webhook_id, delivery_id, DeliveryState::Pending),
        ]);
        self.dispatcher.wake();
        let row = self.db.delivery(delivery_id).await?.ok_or_else(|| AppError::internal("test delivery vanished"))?;
        Ok(delivery_out(row))
    }

    async fn list_events(&self, before: Option<i64>, limit: Option<i64>) -> Result<Page<EventOut>, AppError> {
        let limit = limit.unwrap_or(50).clamp(1, 200);
        let mut rows = self.db.list_events(before, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let titles: HashMap<i64, String> =
            self.db.list_webhooks().await?.into_iter().map(|w| (w.id, w.title())).collect();
        let mut by_event: HashMap<i64, Vec<EventDelivery>> = HashMap::new();
        for (event_id, delivery_id, webhook_id, state) in self.db.deliveries_of_events(&ids).await? {
            by_event.entry(event_id).or_default().push(EventDelivery {
                delivery_id,
                webhook_id,
                webhook_description: titles.get(&webhook_id).cloned().unwrap_or_default(),
                state,
            });
        }
        let next_cursor = if more { rows.last().map(|r| r.id) } else { None };
        let items = rows
            .into_iter()
            .map(|r| EventOut {
                id: r.id,
                in_catalog: catalog::is_known(&r.event_type),
                event_type: r.event_type,
                feature_name: r.feature_name,
                project: r.project,
                environment: r.environment,
                created_by: r.created_by,
                created_at: iso(r.created_at),
                received_at: iso(r.received_at),
                test: r.source == "test",
                caught_up: r.source == crate::unleash::SOURCE,
                deliveries: by_event.remove(&r.id).unwrap_or_default(),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    async fn dashboard(&self) -> Result<DashboardOut, AppError> {
        let now = self.db.now_ms();
        let hour = 3_600_000;
        // Whole hours, so the chart's bars line up with the clock.
        let since = (now / hour - 23) * hour;
        let counts: HashMap<i64, (i64, i64)> = self
            .db
            .counts_per_webhook(now - 24 * hour)
            .await?
            .into_iter()
            .map(|c| (c.webhook_id, (c.succeeded, c.failed)))
            .collect();
        let last = self.db.last_delivery_per_webhook().await?;
        let mut webhooks = Vec::new();
        for webhook in self.db.list_webhooks().await? {
            let (succeeded, failed) = counts.get(&webhook.id).copied().unwrap_or_default();
            let failing = last.get(&webhook.id).is_some_and(|(state, _)| state.is_failing());
            webhooks.push(WebhookHealth {
                webhook_id: webhook.id,
                title: webhook.title(),
                enabled: webhook.enabled,
                disabled_reason: webhook.disabled_reason.clone(),
                succeeded,
                failed,
                failing,
            });
        }
        let mut hourly: Vec<HourBucket> =
            (0..24).map(|h| HourBucket { hour: iso(since + h * hour), succeeded: 0, failed: 0 }).collect();
        for (index, succeeded, failed) in self.db.hourly_counts(since).await? {
            if let Some(bucket) = hourly.get_mut(index as usize) {
                bucket.succeeded = succeeded;
                bucket.failed = failed;
            }
        }
        Ok(DashboardOut {
            succeeded_24h: webhooks.iter().map(|w| w.succeeded).sum(),
            failed_24h: webhooks.iter().map(|w| w.failed).sum(),
            pending: self.db.count_unfinished().await?,
            webhooks,
            hourly,
        })
    }

    async fn unleash_connection(&self, host: Option<&str>) -> Result<UnleashConnection, AppError> {
        let public = self.config.public_url.as_ref();
        // The Host header passed the allow-list (DNS rebinding guard) before any page ran.
        let base = match (public, host) {
            (Some(url), _) => url.as_str().trim_end_matches('/').to_owned(),
            (None, Some(host)) => format!("http://{host}"),
            (None, None) => format!("http://{}", self.config.addr),
        };
        let subscriptions = self.db.enabled_webhook_events().await?;
        let event_types = catalog::EVENT_TYPES
            .iter()
            .filter(|t| t.unleash_addon)
            .map(|t| t.name)
            .filter(|name| subscriptions.iter().any(|events| type_subscribed(events, name)))
            .map(str::to_owned)
            .collect();
        let last_event = self.db.last_received_event().await?.map(|r| ReceivedEvent {
            id: r.id,
            event_type: r.event_type,
            project: r.project,
            feature_name: r.feature_name,
            received_at: iso(r.received_at),
        });
        let catch_up = self.catch_up_status().await?;
        Ok(UnleashConnection {
            intake_url: format!("{base}/api/events"),
            public_url_set: public.is_some(),
            content_type: "application/json".to_owned(),
            event_types,
            last_event,
            catch_up,
        })
    }

    async fn save_unleash_settings(&self, actor: &Actor, input: UnleashSettingsIn) -> Result<CatchUpStatus, AppError> {
        let before = settings::resolve(&self.config, &self.db).await?;
        let stored = before.stored.as_ref();
        let from_env = |source: Option<SettingSource>| source == Some(SettingSource::Environment);
        let spec = input.validate(
            stored.and_then(|s| s.url.as_deref()),
            stored.is_some_and(|s| s.token.is_some()),
            self.config.unleash_url.as_ref().map(url::Url::as_str),
            from_env(before.token.as_ref().map(|(_, source)| *source)),
        )?;
        let token = match spec.token {
            Some(token) => TokenChange::Set(token),
            None => TokenChange::Keep,
        };
        let mut changed = vec![];
        if stored.and_then(|s| s.url.as_deref()) != spec.url.as_deref() {
            changed.push("url");
        }
        if token != TokenChange::Keep {
            changed.push("token");
        }
        // The URL is no secret (it is shown on this page); the token never goes into the log.
        let audit = NewAudit::new(actor, AuditAction::UnleashSaved, ObjectKind::Unleash, None)
            .named(spec.url.clone().unwrap_or_default())
            .detail(serde_json::json!({"changed": changed}));
        self.db.save_unleash_settings(spec.url.as_deref(), &token, &audit).await?;
        self.unleash_settings_changed.notify_one();
        self.catch_up_status().await
    }

    async fn clear_unleash_settings(&self, actor: &Actor) -> Result<CatchUpStatus, AppError> {
        let before = settings::resolve(&self.config, &self.db).await?;
        let Some(stored) = before.stored.as_ref() else { return self.catch_up_status().await };
        let mut audit = NewAudit::new(actor, AuditAction::UnleashCleared, ObjectKind::Unleash, None);
        if let Some(url) = &stored.url {
            audit = audit.named(url.clone());
        }
        self.db.clear_unleash_settings(&audit).await?;
        self.unleash_settings_changed.notify_one();
        self.catch_up_status().await
    }
}

impl AppState {
    /// The catch-up poller's status and settings, as the Connect page shows them.
    async fn catch_up_status(&self) -> Result<CatchUpStatus, AppError> {
        let resolved = settings::resolve(&self.config, &self.db).await?;
        let state = self.db.catch_up_state().await?.unwrap_or_default();
        let stored = resolved.stored.as_ref();
        Ok(CatchUpStatus {
            enabled: resolved.catch_up().is_some(),
            unleash_url: resolved.url.as_ref().map(|(url, _)| url.to_string()),
            interval: humantime::format_duration(self.config.unleash_poll).to_string(),
            cursor: match resolved.url.as_ref() {
                Some((url, _)) => state.cursor_for(url.as_str()),
                None => state.cursor_event_id,
            },
            failing: state.last_error_at.is_some_and(|error| state.last_success_at.is_none_or(|ok| error > ok)),
            last_success_at: state.last_success_at.map(iso),
            caught_up: state.caught_up,
            last_error: state.last_error,
            last_error_at: state.last_error_at.map(iso),
            url_source: resolved.url.as_ref().map(|(_, source)| *source),
            token_source: resolved.token.as_ref().map(|(_, source)| *source),
            stored_url: stored.and_then(|s| s.url.clone()),
            stored_token: stored.is_some_and(|s| s.token.is_some()),
            stored_by: stored.map(|s| s.updated_by.clone()),
            stored_at: stored.map(|s| iso(s.updated_at)),
        })
    }
}
