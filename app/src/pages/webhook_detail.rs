//! A webhook's page (settings, signing secret, actions) and the new-webhook page.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::deliveries::{RecoverDeliveries, SendTestEvent};
use crate::api::webhooks::*;
use crate::components::deliveries::DeliveryTable;
use crate::components::error_template::error_fallback;
use crate::components::form::{action_error, ErrorBanner};
use crate::components::time::short_time;
use crate::components::webhook_form::WebhookEditor;
use crate::model::{HeadOfLine, WebhookOut};

/// `/webhooks/new`.
#[component]
pub fn NewWebhookPage() -> impl IntoView {
    let query = use_query_map();
    let draft = Resource::new(
        move || query.read().get("draft").is_some(),
        |wanted| async move {
            if wanted {
                take_draft().await.ok().flatten()
            } else {
                None
            }
        },
    );
    view! {
        <leptos_meta::Title text="New webhook" />
        <div class="page-header">
            <div>
                <a href="/webhooks" class="muted small">"← Webhooks"</a>
                <h1>"New webhook"</h1>
            </div>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let draft = draft.await;
                let initial = draft.as_ref().map(|d| d.to_out());
                view! { <WebhookEditor initial initial_sample=draft.and_then(|d| d.preview_event_type) /> }
            })}
        </Suspense>
    }
}

/// `/webhooks/{id}`.
#[component]
pub fn WebhookPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or_default();
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let webhook =
        Resource::new(move || (id(), query.read().get("saved"), toggle.version().get()), |(id, _, _)| get_webhook(id));
    let draft = Resource::new(
        move || query.read().get("draft").is_some(),
        |wanted| async move {
            if wanted {
                take_draft().await.ok().flatten()
            } else {
                None
            }
        },
    );
    let saved = move || query.read().get("saved").is_some();

    view! {
        <leptos_meta::Title text="Webhook" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let draft = draft.await;
                    webhook.await.map(|stored| {
                        let initial = draft.as_ref().map(|d| WebhookOut { id: stored.id, ..d.to_out() }).unwrap_or_else(|| stored.clone());
                        view! {
                            <leptos_meta::Title text=stored.title() />
                            <WebhookHeader webhook=stored.clone() toggle />
                            <WebhookTabs id=stored.id active="settings" />
                            {move || saved().then(|| view! { <div class="alert alert-success" role="status">"Saved."</div> })}
                            <SecretCard webhook=stored.clone() />
                            <WebhookEditor initial=Some(initial) initial_sample=draft.and_then(|d| d.preview_event_type) />
                        }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
fn WebhookHeader(webhook: WebhookOut, toggle: ServerAction<SetWebhookEnabled>) -> impl IntoView {
    let duplicate = ServerAction::<DuplicateWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let dup_error = action_error(duplicate);
    let del_error = action_error(delete);
    let toggle_error = action_error(toggle);
    let resume = ServerAction::<ResumeWebhook>::new();
    let resume_error = action_error(resume);
    let enabled = webhook.enabled;
    // Paused by the circuit breaker, until "Resume now" says otherwise.
    let stored_pause = webhook.paused_until.clone();
    let paused_until = move || match resume.value().get() {
        Some(Ok(resumed)) => resumed.paused_until,
        _ => stored_pause.clone(),
    };
    let last_error = webhook.last_error.clone();
    let failures = webhook.consecutive_failures;
    let controls = controls_summary(&webhook);
    view! {
        <div class="page-header">
            <div>
                <a href="/webhooks" class="muted small">"← Webhooks"</a>
                <h1>
                    {webhook.title()}
                    " "
                    {if enabled {
                        view! { <span class="badge badge-success">"Enabled"</span> }.into_any()
                    } else {
                        view! { <span class="badge badge-muted">"Disabled"</span> }.into_any()
                    }}
                </h1>
                <p class="muted small mono">{webhook.url.clone()}</p>
                {controls.map(|text| view! { <p class="muted small" data-testid="controls">{text}</p> })}
            </div>
            <div class="header-actions">
                <ActionForm action=toggle>
                    <input type="hidden" name="id" value=webhook.id />
                    <input type="hidden" name="enabled" value=(!enabled).to_string() />
                    <button type="submit" class="btn btn-secondary">{if enabled { "Disable" } else { "Enable" }}</button>
                </ActionForm>
                <ActionForm action=duplicate>
                    <input type="hidden" name="id" value=webhook.id />
                    <button type="submit" class="btn btn-secondary">"Duplicate"</button>
                </ActionForm>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=webhook.id />
                    <button
                        type="submit"
                        class="btn btn-danger"
                        on:click=crate::components::confirm::confirm_click("Delete this webhook and its delivery log? This cannot be undone.")
                    >"Delete"</button>
                </ActionForm>
            </div>
        </div>
        {webhook.disabled_reason.clone().map(|reason| view! {
            <div class="alert alert-warning" role="alert">
                <strong>"Auto-disabled"</strong>
                {webhook.disabled_at.as_deref().map(|at| format!(" on {}", short_time(at)))}
                ": " {reason}
            </div>
        })}
        {move || paused_until().filter(|_| enabled).map(|until| {
            let last_error = last_error.clone();
            view! {
                <div class="alert alert-warning" role="alert" data-testid="paused">
                    <div class="section-header">
                        <div>
                            <strong>{format!("Paused until {}", short_time(&until))}</strong>
                            {format!(
                                ": {failures} delivery attempts in a row failed, so the circuit breaker stopped sending to this receiver. \
                                 Queued deliveries wait and keep their retries; after the cool-down one delivery is tried, and its success resumes the rest."
                            )}
                            {last_error.map(|error| view! {
                                <div class="small">"Last error: " <span class="mono">{error}</span></div>
                            })}
                        </div>
                        <ActionForm action=resume>
                            <input type="hidden" name="id" value=webhook.id />
                            <button type="submit" class="btn btn-secondary btn-small">"Resume now"</button>
                        </ActionForm>
                    </div>
                </div>
            }
        })}
        {webhook.head_of_line.clone().filter(|head| head.waiting > 0).map(|head| {
            let href = format!("/deliveries/{}", head.delivery_id);
            view! {
                <div class="alert alert-warning" role="status" data-testid="head-of-line">
                    {head_of_line_text(&head)}
                    " " <a href=href>"Open the delivery"</a>
                </div>
            }
        })}
        <ErrorBanner error=toggle_error />
        <ErrorBanner error=resume_error />
        <ErrorBanner error=dup_error />
        <ErrorBanner error=del_error />
    }
}

/// The webhook's delivery controls in a line ("At most 20 deliveries per second · in event
/// order"), or nothing when it has none.
fn controls_summary(webhook: &WebhookOut) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(rate) = webhook.rate_limit {
        parts.push(format!("At most {rate} deliveries per second"));
    }
    if webhook.ordered {
        parts.push("delivered in event order (a failing delivery holds back the later ones)".to_string());
    }
    let text = parts.join(" · ");
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect())
}

/// "3 deliveries wait behind delivery #12 (retrying, next attempt at 14:05:10)."
pub fn head_of_line_text(head: &HeadOfLine) -> String {
    let what = if head.in_flight {
        format!("{}, an attempt is in flight", head.state)
    } else {
        match head.next_attempt_at.as_deref() {
            Some(at) => format!("{}, next attempt at {}", head.state, short_time(at)),
            None => head.state.to_string(),
        }
    };
    let count = match head.waiting {
        1 => "1 delivery waits".to_string(),
        n => format!("{n} deliveries wait"),
    };
    format!("{count} behind delivery #{} ({what}): this webhook delivers in event order.", head.delivery_id)
}

/// The signing secret: masked, with an explicit reveal and a rotation.
#[component]
fn SecretCard(webhook: WebhookOut) -> impl IntoView {
    let reveal = ServerAction::<RevealWebhookSecret>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let shown = move || rotate.value().get().and_then(|r| r.ok()).or_else(|| reveal.value().get().and_then(|r| r.ok()));
    let rotate_error = action_error(rotate);
    let masked = webhook.secret.clone();
    view! {
        <section class="card">
            <div class="section-header">
                <h2>"Signing secret"</h2>
                <div class="header-actions">
                    <ActionForm action=reveal>
                        <input type="hidden" name="id" value=webhook.id />
                        <button type="submit" class="btn btn-secondary btn-small">"Reveal"</button>
                    </ActionForm>
                    <ActionForm action=rotate>
                        <input type="hidden" name="id" value=webhook.id />
                        <button
                            type="submit"
                            class="btn btn-secondary btn-small"
                            on:click=crate::components::confirm::confirm_click("Rotate the signing secret? The old one keeps signing during the grace period (24 h by default).")
                        >"Rotate"</button>
                    </ActionForm>
                </div>
            </div>
            <p class="muted small">
                "Every delivery carries Standard Webhooks headers: "<code>"webhook-id"</code>", "<code>"webhook-timestamp"</code>" and "
                <code>"webhook-signature"</code>" (HMAC-SHA256 of id.timestamp.body with this secret). Receivers verify it with any Standard Webhooks library."
            </p>
            <ErrorBanner error=rotate_error />
            {move || match shown() {
                Some(secret) => view! {
                    <code class="secret" data-testid="signing-secret">{secret.secret.clone()}</code>
                    {secret.previous_secret.clone().map(|previous| view! {
                        <p class="muted small">
                            "The previous secret also signs until "
                            {secret.previous_secret_expires_at.as_deref().map(short_time).unwrap_or_default()}
                            ": " <code>{previous}</code>
                        </p>
                    })}
                }.into_any(),
                None => view! { <code class="secret">{masked.clone()}</code> }.into_any(),
            }}
        </section>
    }
}

/// The tabs of a webhook's pages.
#[component]
fn WebhookTabs(id: i64, active: &'static str) -> impl IntoView {
    let tab = move |key: &'static str, label: &'static str, href: String| {
        view! {
            <a href=href class="tab" class:active=active == key aria-current=if active == key { "page" } else { "false" }>{label}</a>
        }
    };
    view! {
        <nav class="tabs" aria-label="Webhook">
            {tab("settings", "Settings", format!("/webhooks/{id}"))}
            {tab("deliveries", "Deliveries", format!("/webhooks/{id}/deliveries"))}
        </nav>
    }
}

/// `/webhooks/{id}/deliveries`: the webhook's log, test sends and recovery.
#[component]
pub fn WebhookDeliveriesPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or_default();
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let webhook = Resource::new(move || (id(), toggle.version().get()), |(id, _)| get_webhook(id));
    view! {
        <leptos_meta::Title text="Deliveries" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    webhook.await.map(|webhook| view! {
                        <leptos_meta::Title text=format!("Deliveries · {}", webhook.title()) />
                        <WebhookHeader webhook=webhook.clone() toggle />
                        <WebhookTabs id=webhook.id active="deliveries" />
                        <DeliveryTools webhook=webhook.clone() />
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
fn DeliveryTools(webhook: WebhookOut) -> impl IntoView {
    let test = ServerAction::<SendTestEvent>::new();
    let recover = ServerAction::<RecoverDeliveries>::new();
    let test_error = action_error(test);
    let recover_error = action_error(recover);
    let refresh = Signal::derive(move || test.version().get() + recover.version().get());
    // A webhook that takes all events is subscribed to every catalog type.
    let (subscribed, others): (Vec<&'static str>, Vec<&'static str>) = hookline_core::catalog::EVENT_TYPES
        .iter()
        .map(|t| t.name)
        .partition(|n| hookline_core::subscription::type_subscribed(&webhook.events, n));
    view! {
        <div class="grid-2">
            <section class="card">
                <h2>"Send a test event"</h2>
                <p class="muted small">"Delivers the sample event of the chosen type through the dispatcher, once, signed like any delivery."</p>
                <ErrorBanner error=test_error />
                {move || test.value().get().and_then(|r| r.ok()).map(|d| view! {
                    <div class="alert alert-success" role="status">
                        "Test event queued: " <a href=format!("/deliveries/{}", d.id)>{format!("delivery #{}", d.id)}</a>
                    </div>
                })}
                <ActionForm action=test attr:class="inline-form">
                    <input type="hidden" name="webhook_id" value=webhook.id />
                    <label class="field">
                        <span>"Event type"</span>
                        <select name="event_type" data-testid="test-event-type">
                            <optgroup label="Subscribed">
                                {subscribed.into_iter().map(|n| view! { <option value=n>{n}</option> }).collect_view()}
                            </optgroup>
                            <optgroup label="Other">
                                {others.into_iter().map(|n| view! { <option value=n>{n}</option> }).collect_view()}
                            </optgroup>
                        </select>
                    </label>
                    <button type="submit" class="btn btn-primary" disabled=move || test.pending().get()>"Send test event"</button>
                </ActionForm>
            </section>
            <section class="card">
                <h2>"Recover failed deliveries"</h2>
                <p class="muted small">"Re-queues every failed delivery since the chosen time (up to 10,000), each with a fresh retry schedule."</p>
                <ErrorBanner error=recover_error />
                {move || recover.value().get().and_then(|r| r.ok()).map(|r| view! {
                    <div class="alert alert-success" role="status" data-testid="recover-result">
                        {format!("Re-queued {} failed deliver{}{}.", r.requeued, if r.requeued == 1 { "y" } else { "ies" }, if r.capped { " (the cap; run it again for more)" } else { "" })}
                    </div>
                })}
                <ActionForm action=recover attr:class="inline-form">
                    <input type="hidden" name="webhook_id" value=webhook.id />
                    <label class="field">
                        <span>"Since (UTC)"</span>
                        <input type="datetime-local" name="since" required />
                    </label>
                    <button type="submit" class="btn btn-secondary">"Recover"</button>
                </ActionForm>
            </section>
        </div>
        <section class="card">
            <h2>"Deliveries"</h2>
            <DeliveryTable webhook_id=Some(webhook.id) refresh />
        </section>
    }
}
