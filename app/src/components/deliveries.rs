//! The delivery table with its filters, shared by the all-deliveries page and a webhook's tab.
//! Filters are a GET form (they work without JavaScript and give shareable URLs); once hydrated
//! the first page follows the server's change notices (see `live`), so new deliveries appear
//! without a reload.

use hookline_core::catalog;
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::deliveries::list_deliveries;
use crate::components::error_template::error_fallback;
use crate::components::filters::{query_value, QuerySelect};
use crate::components::live::{live_updates, LiveIndicator, MIN_GAP, POLL_EVERY};
use crate::components::status::{event_place, StateBadge};
use crate::components::time::{local_to_rfc3339, short_time};
use crate::model::{DeliveryFilter, DeliveryOut, DeliveryState, LiveKind, StatusClass};

#[component]
pub fn DeliveryTable(
    /// Only this webhook's deliveries (its tab), or all.
    #[prop(optional_no_strip)]
    webhook_id: Option<i64>,
    /// Refresh now (e.g. after a test send).
    #[prop(optional, into)]
    refresh: Signal<usize>,
) -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let text = |key: &str| q.get(key).filter(|v| !v.is_empty());
        DeliveryFilter {
            state: text("state"),
            event_type: text("event_type"),
            status: text("status"),
            since: text("since").map(|s| local_to_rfc3339(&s)),
            until: text("until").map(|s| local_to_rfc3339(&s)),
            before: text("before").and_then(|b| b.parse().ok()),
            limit: Some(50),
        }
    });
    // "Load more" appends older pages in place (once hydrated; without JavaScript it is a link to
    // the next keyset page). `more_cursor` is None until a page was appended, then the cursor
    // after the last appended page.
    let more_rows = RwSignal::new(Vec::<DeliveryOut>::new());
    let more_cursor = RwSignal::new(None::<Option<i64>>);
    let load_more = Action::new(move |before: &i64| {
        let filter = DeliveryFilter { before: Some(*before), ..filter.get_untracked() };
        list_deliveries(webhook_id, filter)
    });
    Effect::new(move |_| {
        if let Some(Ok(older)) = load_more.value().get() {
            more_rows.update(|rows| rows.extend(older.items));
            more_cursor.set(Some(older.next_cursor));
        }
    });
    let back_to_live = move || {
        more_rows.set(Vec::new());
        more_cursor.set(None);
    };
    // Other filters start over.
    Effect::new(move |_| {
        filter.track();
        back_to_live();
    });
    // A webhook's tab: its deliveries and itself, and new events (they queue deliveries).
    let live = live_updates(
        move |notice| match webhook_id {
            Some(id) => notice.kind == LiveKind::Event || notice.webhook_id == Some(id),
            None => true,
        },
        MIN_GAP,
        POLL_EVERY,
    );
    let tick = live.tick;
    // Live while showing the newest page alone: with older rows appended below, new rows at the
    // top would push rows off the first page and open a gap, so live updates pause.
    let live_tick =
        Memo::new(move |_| if filter.read().before.is_none() && more_cursor.read().is_none() { tick.get() } else { 0 });
    let page = Resource::new(
        move || (filter.get(), live_tick.get(), refresh.get()),
        move |(filter, _, _)| list_deliveries(webhook_id, filter),
    );

    view! {
        <Form method="GET" action="" attr:class="filters">
            <QuerySelect
                label="State"
                name="state"
                any="Any state"
                options=DeliveryState::ALL.iter().map(|state| (state.as_str(), state.as_str())).collect()
            />
            <QuerySelect
                label="Event type"
                name="event_type"
                any="Any event type"
                options=catalog::EVENT_TYPES.iter().map(|t| (t.name, t.name)).collect()
            />
            <QuerySelect
                label="HTTP status"
                name="status"
                any="Any status"
                options=StatusClass::ALL.iter().map(|class| (class.as_str(), class.label())).collect()
            />
            <label class="field">
                <span>"From (UTC)"</span>
                <input type="datetime-local" name="since" value=query_value("since") />
            </label>
            <label class="field">
                <span>"To (UTC)"</span>
                <input type="datetime-local" name="until" value=query_value("until") />
            </label>
            <button type="submit" class="btn btn-secondary">"Filter"</button>
            <LiveIndicator mode=live.mode />
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|page| {
                        if page.items.is_empty() {
                            return view! {
                                <div class="empty-state small">
                                    <p>"No deliveries match. Deliveries appear here as events arrive, or when you send a test event."</p>
                                </div>
                            }.into_any();
                        }
                        let first_cursor = page.next_cursor;
                        let next = move || more_cursor.get().unwrap_or(first_cursor);
                        let older = move || {
                            let q = query.read();
                            let mut params: Vec<(String, String)> = ["state", "event_type", "status", "since", "until"]
                                .iter()
                                .filter_map(|k| q.get(k).filter(|v| !v.is_empty()).map(|v| (k.to_string(), v)))
                                .collect();
                            params.push(("before".into(), next().unwrap_or_default().to_string()));
                            format!("?{}", params.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&"))
                        };
                        view! {
                            <div class="table-wrap">
                                <table class="table" data-testid="deliveries">
                                    <thead>
                                        <tr>
                                            <th>"Time"</th>
                                            <th>"Event"</th>
                                            <th>"Flag / project / env"</th>
                                            <th>"State"</th>
                                            <th>"HTTP"</th>
                                            <th>"Attempts"</th>
                                            <th>"Duration"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.items.into_iter().map(|d| view! { <DeliveryRow delivery=d /> }).collect_view()}
                                        <For each=move || more_rows.get() key=|d| d.id let:delivery>
                                            <DeliveryRow delivery />
                                        </For>
                                    </tbody>
                                </table>
                            </div>
                            <div class="pager">
                                {move || filter.read().before.is_some().then(|| view! { <a class="btn btn-ghost btn-small" href="?">"← Newest"</a> })}
                                {move || next().map(|before| view! {
                                    <a
                                        class="btn btn-ghost btn-small"
                                        href=older
                                        aria-busy=move || load_more.pending().get().then_some("true")
                                        on:click=move |ev| {
                                            ev.prevent_default();
                                            if !load_more.pending().get_untracked() {
                                                load_more.dispatch(before);
                                            }
                                        }
                                    >
                                        {move || if load_more.pending().get() { "Loading…" } else { "Load more" }}
                                    </a>
                                })}
                                {move || matches!(load_more.value().get(), Some(Err(_))).then(|| view! {
                                    <span class="field-error">"Could not load older deliveries; try again."</span>
                                })}
                                {move || more_cursor.read().is_some().then(|| view! {
                                    <span class="muted small">
                                        "Live updates paused while older deliveries are shown. "
                                        <button
                                            type="button"
                                            class="btn btn-ghost btn-small"
                                            on:click=move |_| back_to_live()
                                        >
                                            "Back to live"
                                        </button>
                                    </span>
                                })}
                            </div>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn DeliveryRow(delivery: DeliveryOut) -> impl IntoView {
    let href = format!("/deliveries/{}", delivery.id);
    let failed = delivery.state == DeliveryState::Failed;
    let place =
        event_place(delivery.feature_name.as_deref(), delivery.project.as_deref(), delivery.environment.as_deref());
    view! {
        <tr class:row-failed=failed data-delivery-id=delivery.id>
            <td><a href=href.clone()>{short_time(&delivery.created_at)}</a></td>
            <td class="mono">
                {delivery.event_type.clone()}
                {delivery.test.then(|| view! { " " <span class="badge badge-muted">"test"</span> })}
            </td>
            <td class="muted">{place}</td>
            <td><a href=href><StateBadge state=delivery.state /></a></td>
            <td class="mono">{delivery.last_status.map(|s| if s == 0 { "–".to_string() } else { s.to_string() }).unwrap_or_default()}</td>
            <td>{delivery.attempts}</td>
            <td class="muted">{delivery.last_duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_default()}</td>
        </tr>
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
