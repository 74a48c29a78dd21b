//! Connect Unleash: the values to paste into Unleash's Webhook addon (URL, an intake-only token,
//! content type, the events to tick) and whether its events are arriving, refreshed as they come.

use leptos::prelude::*;

use crate::api::auth::CreateToken;
use crate::api::deliveries::unleash_connection_status;
use crate::components::copy::CopyButton;
use crate::components::error_template::error_fallback;
use crate::components::form::action_error;
use crate::components::form::ErrorBanner;
use crate::components::live::{live_updates, LiveIndicator, MIN_GAP, POLL_EVERY};
use crate::components::time::short_time;
use crate::model::LiveKind;
use crate::model::{CatchUpStatus, UnleashConnection};

#[component]
pub fn ConnectUnleashPage() -> impl IntoView {
    let updates = live_updates(|notice| notice.kind == LiveKind::Event, MIN_GAP, POLL_EVERY);
    let connection = Resource::new(move || updates.tick.get(), |_| unleash_connection_status());
    view! {
        <leptos_meta::Title text="Connect Unleash" />
        <div class="page-header">
            <h1>"Connect Unleash"</h1>
            <span class="muted small">"In Unleash: Integrations → Webhook → Configure. Paste these values."</span>
            <LiveIndicator mode=updates.mode />
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { connection.await.map(|c| view! { <ConnectionView connection=c /> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn ConnectionView(connection: UnleashConnection) -> impl IntoView {
    let UnleashConnection { intake_url, public_url_set, content_type, event_types, last_event, catch_up } = connection;
    let events_text = event_types.join(", ");
    view! {
        <section class="card" data-testid="unleash-status">
            <h2>"Status"</h2>
            {match last_event {
                Some(event) => view! {
                    <p>
                        <span class="badge badge-success">"Receiving"</span>
                        " Last event: "<strong class="mono">{event.event_type}</strong>
                        {event.feature_name.map(|flag| view! { " on " <span class="mono">{flag}</span> })}
                        {event.project.map(|project| view! { " in project " <span class="mono">{project}</span> })}
                        ", received "{short_time(&event.received_at)}"."
                    </p>
                }.into_any(),
                None => view! {
                    <p><span class="badge badge-muted">"Waiting"</span>" Nothing received yet. This updates as soon as Unleash sends an event."</p>
                }.into_any(),
            }}
        </section>
        <CatchUp status=catch_up />
        <section class="card">
            <h2>"1. Webhook URL"</h2>
            <p class="copy-row"><code data-testid="intake-url">{intake_url.clone()}</code> <CopyButton text=intake_url /></p>
            {(!public_url_set).then(|| view! {
                <p class="hint">"HOOKLINE_PUBLIC_URL is not set, so this is the address your browser used. Set it to the URL Unleash reaches Hookline at."</p>
            })}
            <p class="hint">
                "Unleash 8 refuses private and loopback addresses (10.x, 192.168.x, 127.0.0.1, localhost) for integrations unless "
                <code>"UNLEASH_ALLOW_PRIVATE_URL_IN_INTEGRATION=true"</code>" is set on the Unleash server."
            </p>
        </section>
        <IntakeToken />
        <section class="card">
            <h2>"3. Content-Type"</h2>
            <p class="copy-row"><code>{content_type.clone()}</code> <CopyButton text=content_type /></p>
            <p class="hint">"Leave the Body template empty: Hookline takes Unleash's event as it is and renders each webhook's own template."</p>
        </section>
        <section class="card">
            <h2>"4. Events"</h2>
            {if event_types.is_empty() {
                view! { <p class="muted">"No enabled webhook listens to any of the addon's events yet. Create a webhook first, then tick the events it takes."</p> }.into_any()
            } else {
                view! {
                    <p>"Tick these events (the ones your enabled webhooks take):"</p>
                    <ul class="event-list" data-testid="unleash-events">
                        {event_types.into_iter().map(|name| view! { <li class="mono">{name}</li> }).collect_view()}
                    </ul>
                    <p class="copy-row"><CopyButton text=events_text label="Copy the list" /></p>
                }.into_any()
            }}
        </section>
    }
}

/// Creates a token with the `events` scope only (it can post events and nothing else) and shows
/// the Authorization value once.
#[component]
fn IntakeToken() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let error = action_error(create);
    let created = move || create.value().get().and_then(|r| r.ok());
    view! {
        <section class="card">
            <h2>"2. Authorization"</h2>
            <p>"Unleash authenticates with an API token that can only post events."</p>
            <ErrorBanner error fields=&["name", "scopes"] />
            {move || match created() {
                Some(new) => {
                    let value = format!("Bearer {}", new.token);
                    view! {
                        <div class="alert alert-success" role="status">
                            <p>"Paste this as the addon's Authorization value. Copy it now: it will not be shown again."</p>
                            <p class="copy-row"><code class="secret" data-testid="unleash-authorization">{value.clone()}</code> <CopyButton text=value /></p>
                        </div>
                    }.into_any()
                }
                None => view! {
                    <ActionForm action=create>
                        <input type="hidden" name="name" value="unleash" />
                        <input type="hidden" name="scopes[]" value="events" />
                        <button type="submit" class="btn btn-primary">"Create an intake token"</button>
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}

/// The catch-up poller: what it did last, or how to turn it on.
#[component]
fn CatchUp(status: CatchUpStatus) -> impl IntoView {
    let CatchUpStatus {
        enabled,
        unleash_url,
        interval,
        cursor,
        last_success_at,
        caught_up,
        last_error,
        last_error_at,
        failing,
    } = status;
    let body = if !enabled {
        view! {
            <p>
                <span class="badge badge-muted">"Off"</span>
                " Unleash's webhook sends each event once, without retrying. To fetch the events it did not send, set "
                <code>"HOOKLINE_UNLEASH_URL"</code>" and "<code>"HOOKLINE_UNLEASH_TOKEN"</code>
                " (an Unleash admin API token) and restart Hookline."
            </p>
        }
        .into_any()
    } else {
        let last = match &last_success_at {
            Some(at) => view! {
                <p>
                    {if failing {
                        view! { <span class="badge badge-danger">"Failing"</span> }.into_any()
                    } else {
                        view! { <span class="badge badge-success">"Catching up"</span> }.into_any()
                    }}
                    " Catch-up: last polled "{short_time(at)}", "<strong>{caught_up}</strong>
                    {if caught_up == 1 { " event" } else { " events" }}" caught up so far"
                    {cursor.map(|id| view! { " (up to Unleash event " <span class="mono">{id}</span> ")" })}"."
                </p>
            }
            .into_any(),
            None => view! {
                <p><span class="badge badge-muted">"Starting"</span>" Catch-up has not polled Unleash successfully yet."</p>
            }
            .into_any(),
        };
        let error = match (failing, last_error, last_error_at) {
            (true, Some(error), Some(at)) => Some(view! {
                <p class="alert alert-error" role="status" data-testid="catch-up-error">
                    "Last poll failed "{short_time(&at)}": "{error}". Hookline keeps trying, waiting longer after each failure; the webhook's events still arrive."
                </p>
            }),
            _ => None,
        };
        view! {
            {last}
            {error}
            <p class="hint">
                "Every "{interval.clone()}" Hookline asks "<span class="mono">{unleash_url.unwrap_or_default()}</span>
                " for events newer than the last one it caught up and takes in those the webhook did not bring (each event once, however it arrives). It started from Unleash's newest event when first turned on."
            </p>
        }
        .into_any()
    };
    view! {
        <section class="card" data-testid="unleash-catch-up">
            <h2>"Catch-up"</h2>
            {body}
        </section>
    }
}
