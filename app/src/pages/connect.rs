//! Connect Unleash: the values to paste into Unleash's Webhook addon (URL, an intake-only token,
//! content type, the events to tick) and whether its events are arriving, refreshed as they come.

use leptos::prelude::*;

use crate::api::auth::CreateToken;
use crate::api::deliveries::{unleash_connection_status, ClearUnleashSettings, SaveUnleashSettings};
use crate::components::copy::CopyButton;
use crate::components::error_template::error_fallback;
use crate::components::form::action_error;
use crate::components::form::{ErrorBanner, FieldError};
use crate::components::live::{live_updates, LiveIndicator, MIN_GAP, POLL_EVERY};
use crate::components::time::short_time;
use crate::model::LiveKind;
use crate::model::{CatchUpStatus, SettingSource, UnleashConnection, MASK};

#[component]
pub fn ConnectUnleashPage() -> impl IntoView {
    let updates = live_updates(|notice| notice.kind == LiveKind::Event, MIN_GAP, POLL_EVERY);
    let save = ServerAction::<SaveUnleashSettings>::new();
    let clear = ServerAction::<ClearUnleashSettings>::new();
    // Read again after a change of the catch-up settings, not only on the next notice.
    let connection = Resource::new(
        move || (updates.tick.get(), save.version().get(), clear.version().get()),
        |_| unleash_connection_status(),
    );
    provide_context(CatchUpActions { save, clear });
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

/// The catch-up settings form's actions (they outlive the status that is read again after them).
#[derive(Clone, Copy)]
struct CatchUpActions {
    save: ServerAction<SaveUnleashSettings>,
    clear: ServerAction<ClearUnleashSettings>,
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
    let settings = status.clone();
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
        ..
    } = status;
    let body = if !enabled {
        view! {
            <p>
                <span class="badge badge-muted">"Off"</span>
                " Unleash's webhook sends each event once, without retrying. To fetch the events it did not send, enter your Unleash's URL and an Unleash admin API token below (or set "
                <code>"HOOKLINE_UNLEASH_URL"</code>" and "<code>"HOOKLINE_UNLEASH_TOKEN"</code>")."
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
            <CatchUpSettings status=settings />
        </section>
    }
}

/// The catch-up's Unleash URL and API token, set here (stored encrypted, the token never shown
/// again) unless the environment sets them.
#[component]
fn CatchUpSettings(status: CatchUpStatus) -> impl IntoView {
    let Some(CatchUpActions { save, clear }) = use_context::<CatchUpActions>() else { return ().into_any() };
    let save_error = action_error(save);
    let clear_error = action_error(clear);
    let CatchUpStatus { url_source, token_source, stored_url, stored_token, stored_by, stored_at, .. } = status;
    let from_env = |source: Option<SettingSource>| source == Some(SettingSource::Environment);
    let env_note = match (from_env(url_source), from_env(token_source)) {
        (true, true) => Some(
            "HOOKLINE_UNLEASH_URL and HOOKLINE_UNLEASH_TOKEN are set on the server: they win over what is stored here.",
        ),
        (true, false) => Some("HOOKLINE_UNLEASH_URL is set on the server: it wins over the URL stored here."),
        (false, true) => Some("HOOKLINE_UNLEASH_TOKEN is set on the server: it wins over the token stored here."),
        (false, false) => None,
    };
    let stored_any = stored_url.is_some() || stored_token;
    let token_placeholder = if stored_token {
        format!("{MASK} (stored; leave empty to keep it)")
    } else {
        "an Unleash admin API token".to_string()
    };
    view! {
        <h3>"Unleash URL and API token"</h3>
        {env_note.map(|note| view! { <p class="hint" data-testid="catch-up-env">{note}</p> })}
        <ErrorBanner error=save_error fields=&["url", "token"] />
        <ErrorBanner error=clear_error />
        <ActionForm action=save attr:class="inline-form" attr:data-testid="catch-up-settings">
            <label class="field">
                <span>"Unleash URL"</span>
                <input type="url" name="url" value=stored_url.unwrap_or_default() placeholder="https://unleash.example.com" required=!from_env(url_source) maxlength="2048" />
                <FieldError error=save_error field="url" />
            </label>
            <label class="field">
                <span>"API token"</span>
                <input type="password" name="token" placeholder=token_placeholder autocomplete="off" maxlength="8192" />
                <FieldError error=save_error field="token" />
                <span class="hint">"An admin API token (Unleash: Admin → API access) or an admin's personal access token. Stored encrypted; it is never shown again."</span>
            </label>
            <button type="submit" class="btn btn-primary">"Save"</button>
        </ActionForm>
        {stored_any.then(|| view! {
            <p class="muted small" data-testid="catch-up-stored">
                "Stored"{stored_token.then_some(" with a token")}
                {stored_by.map(|by| view! { " by " {by} })}
                {stored_at.map(|at| view! { ", " {short_time(&at)} })}"."
            </p>
            <ActionForm action=clear>
                <button type="submit" class="btn btn-danger"
                    on:click=crate::components::confirm::confirm_click("Clear the stored Unleash URL and token? Catch-up stops unless the environment sets them.")>"Clear"</button>
            </ActionForm>
        })}
    }
    .into_any()
}
