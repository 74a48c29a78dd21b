//! Connect Unleash: the values to paste into Unleash's Webhook addon (URL, an intake-only token,
//! content type, the events to tick) and whether its events are arriving, refreshed as they come.

use leptos::prelude::*;

use crate::api::auth::CreateToken;
use crate::api::deliveries::unleash_connection_status;
use crate::components::copy::CopyButton;
use crate::components::deliveries::{live_ticker, LIVE_INTERVAL};
use crate::components::error_template::error_fallback;
use crate::components::form::action_error;
use crate::components::form::ErrorBanner;
use crate::components::time::short_time;
use crate::model::UnleashConnection;

#[component]
pub fn ConnectUnleashPage() -> impl IntoView {
    let tick = live_ticker(LIVE_INTERVAL);
    let connection = Resource::new(move || tick.get(), |_| unleash_connection_status());
    view! {
        <leptos_meta::Title text="Connect Unleash" />
        <div class="page-header">
            <h1>"Connect Unleash"</h1>
            <span class="muted small">"In Unleash: Integrations → Webhook → Configure. Paste these values."</span>
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
    let UnleashConnection { intake_url, public_url_set, content_type, event_types, last_event } = connection;
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
