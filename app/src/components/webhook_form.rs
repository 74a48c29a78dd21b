//! The webhook form: every setting, with the template editor beside its live preview.
//!
//! It is a plain HTML form posted to the `save_webhook` server function, so it works before the
//! WASM loads. Once hydrated, the event filter, per-group "select all", header rows and the
//! preview come alive; the preview is computed in the browser by the same Rust renderer the
//! dispatcher uses, so typing makes no request to the server.

use std::collections::BTreeSet;

use hookline_core::catalog::{self, EventGroup};
use hookline_core::subscription::ALL_EVENTS;
use leptos::prelude::*;

use crate::api::webhooks::SaveWebhook;
use crate::components::form::{action_error, ErrorBanner, FieldError};
use crate::components::preview::PreviewPanel;
use crate::model::*;

/// One extra-header row (the key keeps the row's inputs when others are added or removed).
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeaderRow {
    key: usize,
    name: String,
    value: String,
}

/// The form; `initial` is the stored webhook when editing.
#[component]
pub fn WebhookEditor(
    initial: Option<WebhookOut>,
    /// The preview's sample to start with.
    #[prop(optional_no_strip)]
    initial_sample: Option<String>,
) -> impl IntoView {
    let save = ServerAction::<SaveWebhook>::new();
    let error = action_error(save);
    let editing = initial.is_some();
    let id = initial.as_ref().map(|w| w.id);
    // The version being edited: a save after someone else's is refused (409), not applied over it.
    let version = initial.as_ref().filter(|w| w.id != 0).map(|w| w.version);
    let value_of = |f: fn(&WebhookOut) -> String| initial.as_ref().map(f).unwrap_or_default();

    let description = value_of(|w| w.description.clone());
    let url = value_of(|w| w.url.clone());
    let enabled = initial.as_ref().is_none_or(|w| w.enabled);
    let content_type = RwSignal::new(
        initial.as_ref().map(|w| w.content_type.clone()).unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
    );
    let authorization = RwSignal::new(initial.as_ref().and_then(|w| w.authorization.clone()).unwrap_or_default());
    let template = RwSignal::new(initial.as_ref().and_then(|w| w.body_template.clone()).unwrap_or_default());
    let projects = value_of(|w| w.projects.join(", "));
    let environments = value_of(|w| w.environments.join(", "));
    let retry_policy = initial.as_ref().map(|w| w.retry_policy).unwrap_or_default();
    let rate_limit = initial.as_ref().and_then(|w| w.rate_limit).map(|rate| rate.to_string()).unwrap_or_default();
    let ordered = initial.as_ref().is_some_and(|w| w.ordered);
    let selected: RwSignal<BTreeSet<String>> = RwSignal::new(
        initial
            .as_ref()
            .map(|w| w.events.iter().cloned().collect())
            .unwrap_or_else(|| BTreeSet::from(["feature-created".to_string()])),
    );
    let mut rows: Vec<HeaderRow> = initial
        .as_ref()
        .map(|w| {
            w.headers
                .iter()
                .enumerate()
                .map(|(key, (name, value))| HeaderRow { key, name: name.clone(), value: value.clone() })
                .collect()
        })
        .unwrap_or_default();
    // Without JavaScript rows cannot be added, so offer an empty one.
    rows.push(HeaderRow { key: rows.len(), name: String::new(), value: String::new() });
    let next_key = StoredValue::new(rows.len());
    let header_rows = RwSignal::new(rows);
    let filter = RwSignal::new(String::new());

    let header_names = Signal::derive(move || header_rows.read().iter().map(|r| r.name.clone()).collect::<Vec<_>>());
    let has_authorization = Signal::derive(move || !authorization.read().trim().is_empty());
    let invalid = move |field: &'static str| move || error.get().is_some_and(|e| e.field() == Some(field)).to_string();

    view! {
        <ActionForm action=save attr:class="webhook-form" attr:id="webhook-form">
            {id.map(|id| view! { <input type="hidden" name="id" value=id /> })}
            {version.map(|version| view! { <input type="hidden" name="form[version]" value=version /> })}
            <ErrorBanner error fields=&["url", "description", "contentType", "authorization", "headers", "bodyTemplate", "events", "projects", "environments", "retryPolicy", "rateLimit"] />

            <section class="card">
                <h2>"Destination"</h2>
                <div class="grid-2">
                    <label class="field span-2">
                        <span>"Webhook URL"</span>
                        <input type="url" name="form[url]" value=url required placeholder="https://hooks.slack.com/services/…" autocomplete="off" aria-invalid=invalid("url") />
                        {editing.then(|| view! { <small class="hint">"The path is hidden because it often holds a token. Leave it as is to keep the stored URL."</small> })}
                        <FieldError error field="url" />
                    </label>
                    <label class="field span-2">
                        <span>"Description"</span>
                        <input type="text" name="form[description]" value=description maxlength="500" placeholder="e.g. Slack #releases" />
                        <FieldError error field="description" />
                    </label>
                    <label class="field">
                        <span>"Content-Type"</span>
                        <input
                            type="text"
                            name="form[content_type]"
                            list="content-types"
                            value=content_type.get_untracked()
                            on:input=move |ev| content_type.set(event_target_value(&ev))
                            aria-invalid=invalid("contentType")
                        />
                        <datalist id="content-types">
                            {COMMON_CONTENT_TYPES.iter().map(|t| view! { <option value=*t></option> }).collect_view()}
                        </datalist>
                        <small class="hint">"JSON types escape values for JSON strings; form-encoded percent-encodes; HTML/XML escapes entities; others insert values as they are."</small>
                        <FieldError error field="contentType" />
                    </label>
                    <label class="field">
                        <span>"Authorization header"</span>
                        <input
                            type="text"
                            name="form[authorization]"
                            value=authorization.get_untracked()
                            placeholder="e.g. Bearer …"
                            autocomplete="off"
                            on:input=move |ev| authorization.set(event_target_value(&ev))
                            aria-invalid=invalid("authorization")
                        />
                        {editing.then(|| view! { <small class="hint">"***** keeps the stored value; clear the field to remove it."</small> })}
                        <FieldError error field="authorization" />
                    </label>
                </div>

                <fieldset class="field">
                    <legend class="label">"Extra HTTP headers"</legend>
                    <div class="header-rows">
                        <For
                            each=move || header_rows.get()
                            key=|row| row.key
                            children=move |row| view! { <HeaderRowInputs row=row header_rows /> }
                        />
                    </div>
                    <button
                        type="button"
                        class="btn btn-ghost btn-small"
                        on:click=move |_| {
                            let key = next_key.get_value();
                            next_key.set_value(key + 1);
                            header_rows.update(|rows| rows.push(HeaderRow { key, name: String::new(), value: String::new() }));
                        }
                    >"+ Add header"</button>
                    <FieldError error field="headers" />
                </fieldset>

                <div class="grid-2">
                    <label class="checkbox">
                        <input type="checkbox" name="form[enabled]" checked=enabled />
                        "Enabled: deliver matching events"
                    </label>
                    <label class="field">
                        <span>"Retries"</span>
                        <select name="form[retry_policy]">
                            {[RetryPolicy::Standard, RetryPolicy::Unleash].into_iter().map(|policy| view! {
                                <option value=policy.as_str() selected=policy == retry_policy>{policy.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                <div class="grid-2">
                    <label class="field">
                        <span>"Rate limit (deliveries per second)"</span>
                        <input type="text" inputmode="decimal" name="form[rate_limit]" value=rate_limit placeholder="no limit" autocomplete="off" aria-invalid=invalid("rateLimit") />
                        <small class="hint">"e.g. 0.5 or 20; empty for no limit. Retries, redeliveries and test sends count too; deliveries over the rate wait and keep their retries."</small>
                        <FieldError error field="rateLimit" />
                    </label>
                    <label class="checkbox">
                        <input type="checkbox" name="form[ordered]" checked=ordered />
                        "Deliver in event order: a delivery waits until the previous one succeeded or failed for good (one failing delivery holds back all later ones)"
                    </label>
                </div>
            </section>

            <section class="card">
                <div class="section-header">
                    <h2>"Events"</h2>
                    <span class="muted" data-testid="selected-count">{move || {
                        let set = selected.read();
                        if set.contains(ALL_EVENTS) {
                            "All event types, including new ones".to_string()
                        } else {
                            format!("{} of {} selected", set.len(), catalog::EVENT_TYPES.len())
                        }
                    }}</span>
                </div>
                <FieldError error field="events" />
                <label class="check all-events">
                    <input
                        type="checkbox"
                        name="form[events][]"
                        value=ALL_EVENTS
                        data-testid="all-events"
                        checked=selected.read_untracked().contains(ALL_EVENTS)
                        prop:checked=move || selected.read().contains(ALL_EVENTS)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|set| {
                                if on {
                                    set.insert(ALL_EVENTS.to_string());
                                } else {
                                    set.remove(ALL_EVENTS);
                                }
                            });
                        }
                    />
                    <span>
                        <strong>"All events, including types added later"</strong>
                        <br />
                        <span class="muted small">"Every event Hookline receives, also types outside the catalog below (e.g. from a newer Unleash). Project and environment filters still apply."</span>
                    </span>
                </label>
                <input
                    type="search"
                    class="event-filter"
                    placeholder="Filter event types…"
                    aria-label="Filter event types"
                    on:input=move |ev| filter.set(event_target_value(&ev).to_lowercase())
                />
                <div class="event-groups">
                    {EventGroup::ALL.into_iter().map(|group| view! { <EventGroupBox group selected filter /> }).collect_view()}
                </div>
                <div class="grid-2">
                    <label class="field">
                        <span>"Projects"</span>
                        <input type="text" name="form[projects]" value=projects placeholder="all projects" aria-invalid=invalid("projects") />
                        <small class="hint">"Comma-separated. Empty or * means every project; events without a project always pass."</small>
                        <FieldError error field="projects" />
                    </label>
                    <label class="field">
                        <span>"Environments"</span>
                        <input type="text" name="form[environments]" value=environments placeholder="all environments" aria-invalid=invalid("environments") />
                        <small class="hint">"Comma-separated. Empty or * means every environment."</small>
                        <FieldError error field="environments" />
                    </label>
                </div>
            </section>

            <section class="card">
                <h2>"Body"</h2>
                <PreviewPanel template content_type selected has_authorization header_names error initial_sample />
                <label class="checkbox">
                    <input type="checkbox" name="form[save_anyway]" />
                    "Save anyway, even if the body is not valid JSON for some event type"
                </label>
            </section>

            <div class="form-actions">
                <button type="submit" class="btn btn-primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else if editing { "Save changes" } else { "Create webhook" }}
                </button>
                <a class="btn btn-secondary" href="/webhooks">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// The inputs of one extra-header row.
#[component]
fn HeaderRowInputs(row: HeaderRow, header_rows: RwSignal<Vec<HeaderRow>>) -> impl IntoView {
    let key = row.key;
    let set_name = move |ev| {
        let name = event_target_value(&ev);
        header_rows.update(|rows| {
            if let Some(r) = rows.iter_mut().find(|r| r.key == key) {
                r.name = name;
            }
        })
    };
    view! {
        <div class="header-row">
            <input type="text" name="form[header_names][]" value=row.name placeholder="Header name, e.g. X-Team" aria-label="Header name" on:input=set_name />
            <input type="text" name="form[header_values][]" value=row.value placeholder="Value" aria-label="Header value" autocomplete="off" />
            <button
                type="button"
                class="btn btn-ghost btn-small"
                aria-label="Remove header"
                on:click=move |_| header_rows.update(|rows| rows.retain(|r| r.key != key))
            >"Remove"</button>
        </div>
    }
}

/// The checkboxes of one catalog group, with "select all" and the shared filter.
#[component]
fn EventGroupBox(group: EventGroup, selected: RwSignal<BTreeSet<String>>, filter: RwSignal<String>) -> impl IntoView {
    let names: Vec<&'static str> = group.event_types().map(|t| t.name).collect();
    let all_selected = {
        let names = names.clone();
        move || names.iter().all(|n| selected.read().contains(*n))
    };
    let toggle_all = {
        let names = names.clone();
        let all_selected = all_selected.clone();
        move |_| {
            let select = !all_selected();
            selected.update(|set| {
                for name in &names {
                    if select {
                        set.insert(name.to_string());
                    } else {
                        set.remove(*name);
                    }
                }
            });
        }
    };
    let group_visible = {
        let names = names.clone();
        move || {
            let f = filter.read();
            f.is_empty() || names.iter().any(|n| matches_filter(n, &f))
        }
    };
    view! {
        <fieldset class="event-group" style:display=move || if group_visible() { "" } else { "none" }>
            <legend>
                <span>{group.label()}</span>
                <button type="button" class="btn btn-ghost btn-small" on:click=toggle_all>
                    {move || if all_selected() { "Clear" } else { "Select all" }}
                </button>
            </legend>
            {group.event_types().map(|event_type| {
                let name = event_type.name;
                let initially = selected.read_untracked().contains(name);
                view! {
                    <label class="check" style:display=move || if matches_filter(name, &filter.read()) { "" } else { "none" }>
                        <input
                            type="checkbox"
                            name="form[events][]"
                            value=name
                            checked=initially
                            prop:checked=move || selected.read().contains(name)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.update(|set| {
                                    if on {
                                        set.insert(name.to_string());
                                    } else {
                                        set.remove(name);
                                    }
                                });
                            }
                        />
                        <span>
                            <span class="mono">{name}</span>
                            {event_type.deprecated.then(|| view! { " " <span class="badge badge-muted">"deprecated"</span> })}
                            {event_type.from_hookline().then(|| view! {
                                " "
                                <span
                                    class="badge badge-muted"
                                    title="Hookline emits this event itself; the webhook it is about never receives it"
                                >
                                    "from Hookline"
                                </span>
                            })}
                            {(!event_type.unleash_addon && !event_type.from_hookline()).then(|| view! {
                                " "
                                <span
                                    class="badge badge-muted"
                                    title="Unleash emits this type, but its own webhook addon does not offer it: it arrives through the event API or a newer Unleash"
                                >
                                    "beyond Unleash's addon"
                                </span>
                            })}
                            <br />
                            <span class="muted small">{event_type.description}</span>
                        </span>
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

fn matches_filter(name: &str, filter: &str) -> bool {
    filter.is_empty()
        || name.contains(filter)
        || catalog::event_type(name).is_some_and(|t| t.description.to_lowercase().contains(filter))
}
