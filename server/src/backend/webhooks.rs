//! Webhook integrations: validation against the stored configuration, the JSON-template check,
//! the SSRF check of the URL, secrets and their rotation.

use async_trait::async_trait;
use hookline_core::subscription::type_subscribed;

use app::api::WebhookService;
use app::model::*;
use app::AppError;
use hookline_core::body::{check_json, render_body};
use hookline_core::catalog;

use crate::db::audit::NewAudit;
use crate::db::now_ms;
use crate::db::webhooks::Webhook;
use crate::state::AppState;
use crate::time::iso;

/// Masks a stored webhook for the API and UI.
pub fn webhook_out(webhook: Webhook, last_delivery: Option<LastDelivery>) -> WebhookOut {
    WebhookOut {
        id: webhook.id,
        description: webhook.description,
        url: mask_url(&webhook.url),
        url_host: url_host(&webhook.url),
        enabled: webhook.enabled,
        content_type: webhook.content_type,
        authorization: webhook.authorization.map(|_| MASK.to_string()),
        headers: webhook.headers.into_keys().map(|name| (name, MASK.to_string())).collect(),
        body_template: webhook.body_template,
        events: webhook.events,
        projects: webhook.projects,
        environments: webhook.environments,
        retry_policy: webhook.retry_policy,
        secret: format!("whsec_{MASK}"),
        previous_secret_expires_at: webhook.previous_secret_expires_at.filter(|until| *until > now_ms()).map(iso),
        disabled_reason: webhook.disabled_reason,
        disabled_at: webhook.disabled_at.map(iso),
        paused_until: webhook.paused_until.map(iso),
        consecutive_failures: webhook.consecutive_failures,
        last_error: webhook.last_failure,
        rate_limit: webhook.rate_limit,
        ordered: webhook.ordered,
        head_of_line: None,
        last_delivery,
        created_at: iso(webhook.created_at),
        updated_at: iso(webhook.updated_at),
        updated_by: webhook.updated_by,
        version: webhook.version,
    }
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks).
pub fn generate_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// When the body will be JSON, renders the template against the sample of every subscribed event
/// type and refuses the first that is not valid JSON (unless the admin chose to save anyway).
pub fn check_template_renders_json(spec: &WebhookSpec, save_anyway: bool) -> Result<(), AppError> {
    let Some(source) = &spec.body_template else { return Ok(()) };
    if save_anyway || escape_for(&spec.content_type) != hookline_core::template::Escape::Json {
        return Ok(());
    }
    let template = validate_template(source)?;
    for event_type in catalog::EVENT_TYPES.iter().map(|t| t.name).filter(|name| type_subscribed(&spec.events, name)) {
        let Some(sample) = catalog::sample_event(event_type) else { continue };
        let body = render_body(Some(&template), &sample, &spec.content_type, None).map_err(|e| {
            AppError::invalid("bodyTemplate", format!("rendering the `{event_type}` sample failed: {e}"))
        })?;
        if let Err(problem) = check_json(&body) {
            return Err(AppError::invalid(
                "bodyTemplate",
                format!(
                    "the body for a `{event_type}` event is not valid JSON at line {}, column {} of the rendered body: {}. Fix the template, or tick “save anyway”.",
                    problem.line, problem.column, problem.message
                ),
            ));
        }
    }
    Ok(())
}

/// The names (as the API spells them) of the fields `spec` changes in `current`, for the audit
/// log. Only names: the Authorization value, header values and the URL (which can carry a
/// token) are secrets, so whether they changed is all that is said of them.
pub fn changed_fields(current: &Webhook, spec: &WebhookSpec) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("description", current.description != spec.description);
    check("url", current.url != spec.url);
    check("enabled", current.enabled != spec.enabled);
    check("contentType", current.content_type != spec.content_type);
    check("authorization", current.authorization != spec.authorization);
    check("headers", current.headers != spec.headers);
    check("bodyTemplate", current.body_template != spec.body_template);
    check("events", current.events != spec.events);
    check("projects", current.projects != spec.projects);
    check("environments", current.environments != spec.environments);
    check("retryPolicy", current.retry_policy != spec.retry_policy);
    check("rateLimit", current.rate_limit != spec.rate_limit);
    check("ordered", current.ordered != spec.ordered);
    changed
}

/// An audit entry about webhook `id`, named by its title.
fn webhook_audit(actor: &Actor, action: AuditAction, id: Option<i64>, title: String) -> NewAudit {
    NewAudit::new(actor, action, ObjectKind::Webhook, id).named(title)
}

/// What the UI calls a webhook: its description, or the URL's host (never the whole URL).
fn title_of(spec: &WebhookSpec) -> String {
    if spec.description.is_empty() {
        url_host(&spec.url)
    } else {
        spec.description.clone()
    }
}

impl AppState {
    pub(super) async fn stored_webhook(&self, id: i64) -> Result<Webhook, AppError> {
        self.db.webhook(id).await?.ok_or_else(|| AppError::NotFound(format!("webhook {id}")))
    }

    /// Refuses to hand out or copy the secrets of a webhook some of whose secrets cannot be
    /// decrypted: the copy or the revealed value would silently lack them.
    fn readable(webhook: &Webhook) -> Result<(), AppError> {
        match &webhook.unreadable {
            Some(problem) => Err(AppError::Conflict(problem.clone())),
            None => Ok(()),
        }
    }

    /// Validates input for a new or changed webhook (`current` on update).
    async fn validate_webhook(&self, input: &WebhookIn, current: Option<&Webhook>) -> Result<WebhookSpec, AppError> {
        let stored = current
            .map(|w| StoredSecrets {
                url: Some(w.url.clone()),
                authorization: w.authorization.clone(),
                headers: w.headers.clone(),
            })
            .unwrap_or_default();
        let spec = input.validate(&stored)?;
        let save_anyway = input.save_anyway.unwrap_or(false);
        let spec = super::bounded_template_work(move || check_template_renders_json(&spec, save_anyway).map(|()| spec))
            .await?;
        self.check_target_allowed(&spec.url).await?;
        Ok(spec)
    }

    /// Refuses URLs whose host resolves to an address the SSRF guard blocks (clear error at save time).
    async fn check_target_allowed(&self, url: &str) -> Result<(), AppError> {
        crate::dispatcher::ssrf::check_url(&self.target_policy, url)
            .await
            .map_err(|e| AppError::invalid("url", e.to_string()))
    }

    fn secret_out(webhook: &Webhook) -> WebhookSecret {
        let grace = webhook.previous_secret_expires_at.filter(|until| *until > now_ms());
        WebhookSecret {
            secret: webhook.secret.clone(),
            previous_secret: grace.and(webhook.previous_secret.clone()),
            previous_secret_expires_at: grace.map(iso),
        }
    }
}

/// The 409 for an update based on an older version than `stored`.
fn changed_since(stored: &Webhook) -> AppError {
    AppError::Conflict(format!(
        "this webhook was changed by {} at {} (now version {}) after you opened it: reload it, then make your \
         changes again",
        stored.updated_by,
        iso(stored.updated_at),
        stored.version
    ))
}

#[async_trait]
impl WebhookService for AppState {
    async fn list_webhooks(&self) -> Result<Vec<WebhookOut>, AppError> {
        let webhooks = self.db.list_webhooks().await?;
        let mut last = self.db.last_delivery_per_webhook().await?;
        Ok(webhooks
            .into_iter()
            .map(|w| {
                let latest = last.remove(&w.id).map(|(state, at)| LastDelivery { state, at: iso(at) });
                webhook_out(w, latest)
            })
            .collect())
    }

    async fn get_webhook(&self, id: i64) -> Result<WebhookOut, AppError> {
        let webhook = self.stored_webhook(id).await?;
        let latest = self.db.last_delivery_of(id).await?.map(|(state, at)| LastDelivery { state, at: iso(at) });
        let head = if webhook.ordered { self.db.head_of_line(id).await? } else { None };
        let now = self.db.now_ms();
        let mut out = webhook_out(webhook, latest);
        out.head_of_line = head.map(|head| HeadOfLine {
            delivery_id: head.id,
            state: head.state,
            next_attempt_at: head.next_attempt_at.map(iso),
            in_flight: head.lease_until.is_some_and(|until| until >= now),
            waiting: head.waiting,
        });
        Ok(out)
    }

    async fn create_webhook(&self, actor: &Actor, input: WebhookIn) -> Result<WebhookOut, AppError> {
        let spec = self.validate_webhook(&input, None).await?;
        let audit = webhook_audit(actor, AuditAction::WebhookCreated, None, title_of(&spec))
            .detail(serde_json::json!({ "enabled": spec.enabled, "urlHost": url_host(&spec.url) }));
        let webhook = self.db.insert_webhook(&spec, &generate_secret(), &audit).await?;
        tracing::info!(webhook_id = webhook.id, actor = %actor.name, host = %url_host(&webhook.url), "webhook created");
        self.live().publish([LiveNotice::webhook(webhook.id, "created")]);
        Ok(webhook_out(webhook, None))
    }

    /// Validates against the stored webhook, then writes only if nobody changed it in between:
    /// kept (masked) secrets and the URL check were decided on that version. The caller may name
    /// the version it edited (`version`); a newer stored one is a conflict, not a silent overwrite.
    async fn update_webhook(&self, actor: &Actor, id: i64, input: WebhookIn) -> Result<WebhookOut, AppError> {
        let current = self.stored_webhook(id).await?;
        if input.version.is_some_and(|edited| edited != current.version) {
            return Err(changed_since(&current));
        }
        let spec = self.validate_webhook(&input, Some(&current)).await?;
        let audit = webhook_audit(actor, AuditAction::WebhookUpdated, Some(id), title_of(&spec))
            .detail(serde_json::json!({ "changed": changed_fields(&current, &spec) }));
        let Some(webhook) = self.db.update_webhook(id, current.version, &spec, &audit).await? else {
            // Gone (404) or changed while this update was validated (409).
            return Err(changed_since(&self.stored_webhook(id).await?));
        };
        tracing::info!(webhook_id = id, actor = %actor.name, version = webhook.version, "webhook updated");
        self.live().publish([LiveNotice::webhook(id, "changed")]);
        self.get_webhook(webhook.id).await
    }

    async fn delete_webhook(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let title = self.stored_webhook(id).await?.title();
        let audit = webhook_audit(actor, AuditAction::WebhookDeleted, Some(id), title);
        if !self.db.delete_webhook(id, &audit).await? {
            return Err(AppError::NotFound(format!("webhook {id}")));
        }
        self.metrics.forget_webhook(id);
        tracing::info!(webhook_id = id, actor = %actor.name, "webhook deleted");
        self.live().publish([LiveNotice::webhook(id, "deleted")]);
        Ok(())
    }

    async fn set_webhook_enabled(&self, actor: &Actor, id: i64, enabled: bool) -> Result<WebhookOut, AppError> {
        let current = self.stored_webhook(id).await?;
        let action = if enabled { AuditAction::WebhookEnabled } else { AuditAction::WebhookDisabled };
        let audit = webhook_audit(actor, action, Some(id), current.title())
            .detail(serde_json::json!({ "wasEnabled": current.enabled }));
        self.db
            .set_webhook_enabled(id, enabled, &audit)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("webhook {id}")))?;
        tracing::info!(webhook_id = id, actor = %actor.name, enabled, "webhook switched");
        self.live().publish([LiveNotice::webhook(id, if enabled { "enabled" } else { "disabled" })]);
        self.get_webhook(id).await
    }

    async fn resume_webhook(&self, actor: &Actor, id: i64) -> Result<WebhookOut, AppError> {
        let current = self.stored_webhook(id).await?;
        let audit =
            webhook_audit(actor, AuditAction::WebhookResumed, Some(id), current.title()).detail(serde_json::json!({
                "pausedUntil": current.paused_until.map(iso),
                "consecutiveFailures": current.consecutive_failures,
            }));
        // Not paused (any more): nothing to do, nothing recorded.
        if let Some(resumed) = self.db.resume_webhook(id, &audit).await? {
            tracing::info!(webhook_id = id, actor = %actor.name, "webhook resumed by an admin");
            let reason = format!("Resumed by {}: queued deliveries go out again.", actor.name);
            let notice = crate::dispatcher::notices::notice(
                hookline_core::operational::NoticeKind::Resumed,
                &resumed,
                reason,
                &actor.name,
                self.db.now_ms(),
            );
            let stored = self.db.insert_events(vec![notice]).await.unwrap_or_else(|error| {
                tracing::error!(%error, webhook_id = id, "cannot store the resumed notice");
                Vec::new()
            });
            self.live().publish(
                std::iter::once(LiveNotice::webhook(id, "resumed"))
                    .chain(stored.iter().filter(|s| s.created).map(|s| LiveNotice::event(s.id))),
            );
            self.dispatcher.wake();
        }
        self.get_webhook(id).await
    }

    async fn duplicate_webhook(&self, actor: &Actor, id: i64) -> Result<WebhookOut, AppError> {
        let source = self.stored_webhook(id).await?;
        Self::readable(&source)?;
        let spec = WebhookSpec {
            description: format!("Copy of {}", source.title()),
            url: source.url,
            // A copy starts disabled, so it does not double every delivery before it is reviewed.
            enabled: false,
            content_type: source.content_type,
            authorization: source.authorization,
            headers: source.headers,
            body_template: source.body_template,
            events: source.events,
            projects: source.projects,
            environments: source.environments,
            retry_policy: source.retry_policy,
            rate_limit: source.rate_limit,
            ordered: source.ordered,
        };
        let audit = webhook_audit(actor, AuditAction::WebhookCreated, None, title_of(&spec))
            .detail(serde_json::json!({ "enabled": false, "urlHost": url_host(&spec.url), "copyOf": id }));
        let copy = self.db.insert_webhook(&spec, &generate_secret(), &audit).await?;
        tracing::info!(webhook_id = copy.id, source_id = id, actor = %actor.name, "webhook duplicated");
        Ok(webhook_out(copy, None))
    }

    async fn reveal_webhook_secret(&self, actor: &Actor, id: i64) -> Result<WebhookSecret, AppError> {
        let webhook = self.stored_webhook(id).await?;
        Self::readable(&webhook)?;
        // Recorded before the secret is handed out: no reveal goes unrecorded.
        let audit = webhook_audit(actor, AuditAction::SecretRevealed, Some(id), webhook.title());
        self.db.record_audit(&audit).await?;
        tracing::info!(webhook_id = id, actor = %actor.name, "signing secret revealed");
        Ok(Self::secret_out(&webhook))
    }

    async fn rotate_webhook_secret(&self, actor: &Actor, id: i64) -> Result<WebhookSecret, AppError> {
        let grace_ms = self.config.secret_rotation_grace.as_millis() as i64;
        let title = self.stored_webhook(id).await?.title();
        let until = now_ms() + grace_ms;
        let audit = webhook_audit(actor, AuditAction::SecretRotated, Some(id), title)
            .detail(serde_json::json!({ "previousSecretExpiresAt": iso(until) }));
        let webhook = self
            .db
            .rotate_webhook_secret(id, &generate_secret(), until, &audit)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("webhook {id}")))?;
        tracing::info!(webhook_id = id, actor = %actor.name, "signing secret rotated");
        Ok(Self::secret_out(&webhook))
    }
}
