//! The webhooks list: what exists, whether it is on, and whether it works.

use leptos::prelude::*;

use crate::api::webhooks::{list_webhooks, SetWebhookEnabled};
use crate::components::error_template::error_fallback;
use crate::components::form::{action_error, ErrorBanner};
use crate::components::status::StateBadge;
use crate::components::time::short_time;
use crate::model::WebhookOut;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let webhooks = Resource::new(move || toggle.version().get(), |_| list_webhooks());
    let toggle_error = action_error(toggle);

    view! {
        <leptos_meta::Title text="Webhooks" />
        <div class="page-header">
            <h1>"Webhooks"</h1>
            <a class="btn btn-primary" href="/webhooks/new">"New webhook"</a>
        </div>
        <ErrorBanner error=toggle_error />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    webhooks.await.map(|list| {
                        if list.is_empty() {
                            return view! {
                                <div class="empty-state">
                                    <h2>"No webhooks yet"</h2>
                                    <p>"A webhook posts the events you choose to Slack, CI, chat bots, or any HTTP endpoint, signed and retried until it arrives."</p>
                                    <a class="btn btn-primary" href="/webhooks/new">"Create your first webhook"</a>
                                </div>
                            }.into_any();
                        }
                        view! {
                            <div class="card table-wrap">
                                <table class="table" data-testid="webhooks">
                                    <thead>
                                        <tr>
                                            <th>"Webhook"</th>
                                            <th>"Target"</th>
                                            <th>"Events"</th>
                                            <th>"Last delivery"</th>
                                            <th>"Enabled"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.into_iter().map(|webhook| {
                                            let href = format!("/webhooks/{}", webhook.id);
                                            let count = webhook.events.len();
                                            let every = hookline_core::subscription::takes_all(&webhook.events);
                                            let title = webhook.title();
                                            let enabled = webhook.enabled;
                                            view! {
                                                <tr>
                                                    <td>
                                                        <a href=href class="strong">{title}</a>
                                                        {webhook.disabled_reason.clone().map(|reason| view! {
                                                            <div><span class="badge badge-danger" title=reason>"Auto-disabled"</span></div>
                                                        })}
                                                        {webhook.paused_until.clone().filter(|_| enabled).map(|until| {
                                                            let error = webhook.last_error.clone().unwrap_or_default();
                                                            view! {
                                                                <div>
                                                                    <span class="badge badge-warning" title=error.clone()>
                                                                        {format!("Paused until {}", short_time(&until))}
                                                                    </span>
                                                                    {(!error.is_empty()).then(|| view! {
                                                                        <div class="muted small">{error}</div>
                                                                    })}
                                                                </div>
                                                            }
                                                        })}
                                                        {controls_line(&webhook).map(|line| view! { <div class="muted small">{line}</div> })}
                                                    </td>
                                                    <td class="mono muted" title=webhook.url.clone()>{webhook.url_host.clone()}</td>
                                                    <td>{if every { "all event types".to_string() } else { format!("{count} event type{}", if count == 1 { "" } else { "s" }) }}</td>
                                                    <td>
                                                        {match webhook.last_delivery.clone() {
                                                            Some(last) => view! {
                                                                <StateBadge state=last.state />
                                                                " "
                                                                <span class="muted small">{short_time(&last.at)}</span>
                                                            }.into_any(),
                                                            None => view! { <span class="muted">"none yet"</span> }.into_any(),
                                                        }}
                                                    </td>
                                                    <td>
                                                        <ActionForm action=toggle>
                                                            <input type="hidden" name="id" value=webhook.id />
                                                            <input type="hidden" name="enabled" value=(!enabled).to_string() />
                                                            <button
                                                                type="submit"
                                                                class="switch"
                                                                class:on=enabled
                                                                role="switch"
                                                                aria-checked=enabled.to_string()
                                                                aria-label=format!("{} {}", if enabled { "Disable" } else { "Enable" }, webhook.title())
                                                            >
                                                                <span class="switch-knob"></span>
                                                            </button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The webhook's delivery controls in a few words for the list ("≤ 20/s · in order"), if any.
fn controls_line(webhook: &WebhookOut) -> Option<String> {
    let rate = webhook.rate_limit.map(|rate| format!("≤ {rate}/s"));
    let ordered = webhook.ordered.then(|| "in order".to_string());
    let parts: Vec<String> = rate.into_iter().chain(ordered).collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}
