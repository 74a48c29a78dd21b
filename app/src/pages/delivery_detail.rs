//! One delivery: the event, every attempt (request as sent, response, what went wrong in words),
//! the next retry, Unleash's state — and Redeliver.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::deliveries::{get_delivery, Redeliver};
use crate::components::error_template::error_fallback;
use crate::components::form::{action_error, ErrorBanner};
use crate::components::live::{live_updates, LiveIndicator, LiveMode, MIN_GAP, POLL_EVERY};
use crate::components::status::StateBadge;
use crate::components::time::short_time;
use crate::model::{AttemptOut, DeliveryDetail};

#[component]
pub fn DeliveryPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or_default();
    let redeliver = ServerAction::<Redeliver>::new();
    let redeliver_error = action_error(redeliver);
    let id_now = move || params.with_untracked(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let updates =
        live_updates(move |notice| notice.delivery_id.is_some() && notice.delivery_id == id_now(), MIN_GAP, POLL_EVERY);
    let tick = updates.tick;
    // Polling, refresh while the delivery is not final (retries, a redelivery in progress), then
    // stop, so the page stays still while someone reads it. Live, every notice about it counts
    // (a redelivery from elsewhere).
    let unfinished = RwSignal::new(true);
    let live =
        Memo::new(move |_| if unfinished.get() || updates.mode.get() == LiveMode::Live { tick.get() } else { 0 });
    let detail = Resource::new(move || (id(), redeliver.version().get(), live.get()), |(id, _, _)| get_delivery(id));
    Effect::new(move |_| {
        if let Some(Ok(detail)) = detail.get() {
            unfinished.set(detail.delivery.next_attempt_at.is_some() || detail.delivery.attempts == 0);
        }
    });

    view! {
        <leptos_meta::Title text="Delivery" />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    detail.await.map(|detail| view! { <DeliveryView detail redeliver redeliver_error live_mode=updates.mode /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn DeliveryView(
    detail: DeliveryDetail,
    redeliver: ServerAction<Redeliver>,
    redeliver_error: Signal<Option<crate::AppError>>,
    live_mode: ReadSignal<LiveMode>,
) -> impl IntoView {
    let d = detail.delivery.clone();
    let finished = d.state.is_final();
    let event_json = serde_json::to_string_pretty(&detail.event).unwrap_or_default();
    let webhook_href = format!("/webhooks/{}/deliveries", d.webhook_id);
    view! {
        <div class="page-header">
            <div>
                <a href=webhook_href class="muted small">{format!("← {}", detail.webhook_description)}</a>
                <h1>
                    {format!("Delivery #{} ", d.id)}
                    <StateBadge state=d.state />
                </h1>
                <p class="muted small">
                    <span class="mono">{d.event_type.clone()}</span>
                    {d.test.then_some(" (test event)")}
                    " · created " {short_time(&d.created_at)}
                    " · webhook-id " <span class="mono">{d.uid.clone()}</span>
                </p>
            </div>
            <div class="header-actions">
                <LiveIndicator mode=live_mode />
                <ActionForm action=redeliver>
                    <input type="hidden" name="id" value=d.id />
                    <button type="submit" class="btn btn-primary" disabled=!finished title=if finished { "One manual attempt, no retries" } else { "Wait for the scheduled attempts" }>
                        "Redeliver"
                    </button>
                </ActionForm>
            </div>
        </div>
        <ErrorBanner error=redeliver_error />
        <div class="grid-2">
            <section class="card">
                <h2>"Status"</h2>
                <dl class="facts">
                    <dt>"State"</dt><dd><StateBadge state=d.state /></dd>
                    <dt>"Attempts"</dt><dd>{d.attempts}</dd>
                    <dt>"Last HTTP status"</dt><dd class="mono">{d.last_status.map(|s| if s == 0 { "none (no response)".to_string() } else { s.to_string() }).unwrap_or_else(|| "–".into())}</dd>
                    <dt>"Next attempt"</dt><dd>{d.next_attempt_at.as_deref().map(short_time).unwrap_or_else(|| "none".into())}</dd>
                    <dt>"Unleash state"</dt><dd class="mono" data-testid="unleash-state">{d.unleash_state.map_or("–", crate::model::UnleashState::as_str)}</dd>
                    <dt>"Unleash details"</dt><dd data-testid="state-details">{d.state_details.clone().unwrap_or_else(|| "–".into())}</dd>
                </dl>
            </section>
            <section class="card">
                <h2>"Event"</h2>
                <pre class="preview-body">{event_json}</pre>
            </section>
        </div>
        <section class="card">
            <h2>"Attempts"</h2>
            {if detail.attempt_log.is_empty() {
                view! { <p class="muted">"No attempt yet: the dispatcher picks this delivery up within moments."</p> }.into_any()
            } else {
                detail.attempt_log.into_iter().rev().map(|a| view! { <AttemptView attempt=a /> }).collect_view().into_any()
            }}
        </section>
    }
}

#[component]
fn AttemptView(attempt: AttemptOut) -> impl IntoView {
    let ok = (200..300).contains(&attempt.status);
    let headline = match (&attempt.error_message, attempt.status) {
        (Some(message), _) => message.clone(),
        (None, status) => format!("HTTP {status}"),
    };
    let response_body = match (attempt.response_body.clone(), attempt.response_body_encoding.as_str()) {
        (Some(body), "base64") => format!("(binary, base64) {body}"),
        (Some(body), _) if body.is_empty() => "(empty)".to_string(),
        (Some(body), _) => body,
        (None, _) => "(no response)".to_string(),
    };
    view! {
        <details class="attempt" class:attempt-ok=ok open=!ok data-testid="attempt">
            <summary>
                <strong>{format!("Attempt {}", attempt.number)}</strong>
                " · " {attempt.trigger.as_str()}
                " · " {short_time(&attempt.started_at)}
                " · " {format!("{} ms", attempt.duration_ms)}
                " · "
                <span class:text-danger=!ok class:text-ok=ok data-testid="attempt-result">{headline}</span>
                {attempt.error_class.map(|class| view! { " " <span class="badge badge-muted">{class.as_str()}</span> })}
            </summary>
            {attempt.next_attempt_at.as_deref().map(|at| view! { <p class="muted small">"Retry scheduled for " {short_time(at)}</p> })}
            <div class="grid-2">
                <div>
                    <h3>"Request"</h3>
                    <p class="mono small">"POST " {attempt.url.clone()}</p>
                    <HeaderTable headers=attempt.request_headers.clone() />
                    <pre class="preview-body">{attempt.request_body.clone()}</pre>
                </div>
                <div>
                    <h3>"Response"</h3>
                    <p class="mono small">{if attempt.status == 0 { "no response".to_string() } else { format!("HTTP {}", attempt.status) }}</p>
                    <HeaderTable headers=attempt.response_headers.clone() />
                    <pre class="preview-body" data-testid="response-body">{response_body}</pre>
                </div>
            </div>
        </details>
    }
}

#[component]
fn HeaderTable(headers: Vec<(String, String)>) -> impl IntoView {
    view! {
        <table class="table compact">
            <tbody>
                {headers.into_iter().map(|(name, value)| view! {
                    <tr><td class="mono">{name}</td><td class="mono muted">{value}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
