//! The events received, newest first, with the webhooks each one matched.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::deliveries::list_events;
use crate::components::error_template::error_fallback;
use crate::components::live::{live_updates, LiveIndicator, MIN_GAP, POLL_EVERY};
use crate::components::status::{event_place, StateBadge};
use crate::components::time::short_time;
use crate::model::LiveKind;

#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let before = Memo::new(move |_| query.read().get("before").and_then(|b| b.parse::<i64>().ok()));
    let updates = live_updates(|notice| notice.kind == LiveKind::Event, MIN_GAP, POLL_EVERY);
    let live = Memo::new(move |_| if before.get().is_none() { updates.tick.get() } else { 0 });
    let page = Resource::new(move || (before.get(), live.get()), |(before, _)| list_events(before));

    view! {
        <leptos_meta::Title text="Events" />
        <div class="page-header">
            <h1>"Events"</h1>
            <span class="muted small">"Received through POST /api/events, caught up from Unleash, and test sends; newest first."</span>
            <LiveIndicator mode=updates.mode />
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|page| {
                        if page.items.is_empty() {
                            return view! {
                                <div class="empty-state">
                                    <h2>"No events received yet"</h2>
                                    <p>"Point an Unleash-style event source at POST /api/events with an API token (Settings → API tokens)."</p>
                                </div>
                            }.into_any();
                        }
                        let next = page.next_cursor;
                        view! {
                            <section class="card table-wrap">
                                <table class="table" data-testid="events">
                                    <thead>
                                        <tr><th>"Received"</th><th>"Id"</th><th>"Type"</th><th>"Flag / project / env"</th><th>"By"</th><th>"Deliveries"</th></tr>
                                    </thead>
                                    <tbody>
                                        {page.items.into_iter().map(|event| {
                                            let place = event_place(event.feature_name.as_deref(), event.project.as_deref(), event.environment.as_deref());
                                            view! {
                                                <tr>
                                                    <td>{short_time(&event.received_at)}</td>
                                                    <td class="mono">{event.id}</td>
                                                    <td class="mono">{event.event_type.clone()} {event.test.then(|| view! { " " <span class="badge badge-muted">"test"</span> })}
                                                        {event.caught_up.then(|| view! { " " <span class="badge" title="Fetched from Unleash's event API by the catch-up poller: Unleash's webhook had not sent it">"caught up"</span> })}
                                                        {(!event.in_catalog).then(|| view! { " " <span class="badge badge-warning" title="Not in Hookline's event catalog: it reaches webhooks subscribed to all events">"not in catalog"</span> })}</td>
                                                    <td class="muted">{place}</td>
                                                    <td class="muted">{event.created_by.clone()}</td>
                                                    <td>
                                                        {if event.deliveries.is_empty() {
                                                            view! { <span class="muted">"matched no webhook"</span> }.into_any()
                                                        } else {
                                                            event.deliveries.into_iter().map(|d| view! {
                                                                <a class="event-delivery" href=format!("/deliveries/{}", d.delivery_id)>
                                                                    <StateBadge state=d.state />
                                                                    " " {d.webhook_description.clone()}
                                                                </a>
                                                            }).collect_view().into_any()
                                                        }}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </section>
                            <div class="pager">
                                {move || before.get().is_some().then(|| view! { <a class="btn btn-ghost btn-small" href="/events">"← Newest"</a> })}
                                {next.map(|cursor| view! { <a class="btn btn-ghost btn-small" href=format!("/events?before={cursor}")>"Older events →"</a> })}
                            </div>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
