//! The landing page: are the webhooks working? Deliveries in the last 24 h, success per webhook,
//! what is failing or auto-disabled and why, and deliveries per hour (an SVG drawn by the app).

use std::time::Duration;

use leptos::prelude::*;

use crate::api::deliveries::dashboard;
use crate::components::error_template::error_fallback;
use crate::components::live::{live_updates, LiveIndicator};
use crate::components::time::short_time;
use crate::model::{DashboardOut, HourBucket};

#[component]
pub fn DashboardPage() -> impl IntoView {
    // Its figures cover 24 hours and take more work than a page of the log: refetched at most
    // every 2 s on changes, every 10 s while polling.
    let updates = live_updates(|_| true, Duration::from_secs(2), Duration::from_secs(10));
    let data = Resource::new(move || updates.tick.get(), |_| dashboard());
    view! {
        <leptos_meta::Title text="Dashboard" />
        <div class="page-header">
            <h1>"Dashboard"</h1>
            <span class="actions">
                <LiveIndicator mode=updates.mode />
                " "
                <a class="btn btn-ghost" href="/connect">"Connect Unleash"</a>
                " "
                <a class="btn btn-secondary" href="/webhooks/new">"New webhook"</a>
            </span>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { data.await.map(|d| view! { <DashboardView data=d /> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn DashboardView(data: DashboardOut) -> impl IntoView {
    if data.webhooks.is_empty() {
        return view! {
            <div class="empty-state">
                <h2>"Nothing delivered yet"</h2>
                <p>"Create a webhook, then post events to POST /api/events. Delivery health shows here."</p>
                <a class="btn btn-primary" href="/webhooks/new">"Create your first webhook"</a>
            </div>
        }
        .into_any();
    }
    let trouble: Vec<_> = data.webhooks.iter().filter(|w| w.failing || w.disabled_reason.is_some()).cloned().collect();
    view! {
        <div class="stats">
            <div class="stat"><span class="stat-value text-ok" data-testid="stat-succeeded">{data.succeeded_24h}</span><span class="stat-label">"succeeded (24 h)"</span></div>
            <div class="stat"><span class="stat-value text-danger" data-testid="stat-failed">{data.failed_24h}</span><span class="stat-label">"failed (24 h)"</span></div>
            <div class="stat"><span class="stat-value" data-testid="stat-pending">{data.pending}</span><span class="stat-label">"pending or retrying now"</span></div>
        </div>
        {(!trouble.is_empty()).then(|| view! {
            <section class="card card-warning">
                <h2>"Needs attention"</h2>
                <ul class="trouble">
                    {trouble.into_iter().map(|w| view! {
                        <li>
                            <a href=format!("/webhooks/{}/deliveries", w.webhook_id)><strong>{w.title.clone()}</strong></a>
                            " — "
                            {match &w.disabled_reason {
                                Some(reason) => reason.clone(),
                                None => "its latest delivery failed or is being retried".to_string(),
                            }}
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        <section class="card">
            <h2>"Deliveries per hour"</h2>
            <HourlyChart hours=data.hourly.clone() />
        </section>
        <section class="card table-wrap">
            <h2>"Webhooks (24 h)"</h2>
            <table class="table">
                <thead><tr><th>"Webhook"</th><th>"Succeeded"</th><th>"Failed"</th><th>"Success rate"</th><th>"Status"</th></tr></thead>
                <tbody>
                    {data.webhooks.into_iter().map(|w| {
                        let rate = w.success_rate().map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "–".into());
                        view! {
                            <tr>
                                <td><a href=format!("/webhooks/{}/deliveries", w.webhook_id)>{w.title.clone()}</a></td>
                                <td>{w.succeeded}</td>
                                <td>{w.failed}</td>
                                <td>{rate}</td>
                                <td>
                                    {if w.disabled_reason.is_some() {
                                        view! { <span class="badge badge-danger">"auto-disabled"</span> }.into_any()
                                    } else if !w.enabled {
                                        view! { <span class="badge badge-muted">"disabled"</span> }.into_any()
                                    } else if w.failing {
                                        view! { <span class="badge badge-warning">"failing"</span> }.into_any()
                                    } else {
                                        view! { <span class="badge badge-success">"healthy"</span> }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// Stacked bars (succeeded below, failed above) for the last 24 hours.
#[component]
fn HourlyChart(hours: Vec<HourBucket>) -> impl IntoView {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 160.0;
    const BOTTOM: f64 = 20.0;
    let max = hours.iter().map(|h| h.succeeded + h.failed).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / hours.len().max(1) as f64;
    let scale = (HEIGHT - BOTTOM - 4.0) / max;
    let total: i64 = hours.iter().map(|h| h.succeeded + h.failed).sum();
    view! {
        <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=format!("{total} deliveries in the last 24 hours, by hour")>
            <line x1="0" y1=HEIGHT - BOTTOM x2=WIDTH y2=HEIGHT - BOTTOM class="axis" />
            {hours.into_iter().enumerate().map(|(i, h)| {
                let x = i as f64 * slot + slot * 0.15;
                let w = slot * 0.7;
                let ok_h = h.succeeded as f64 * scale;
                let bad_h = h.failed as f64 * scale;
                let base = HEIGHT - BOTTOM;
                let label = h.hour.get(11..13).unwrap_or("").to_string();
                let title = format!("{}: {} succeeded, {} failed", short_time(&h.hour), h.succeeded, h.failed);
                view! {
                    <g>
                        <title>{title}</title>
                        <rect x=x y=base - ok_h width=w height=ok_h class="bar-ok" />
                        <rect x=x y=base - ok_h - bad_h width=w height=bad_h class="bar-failed" />
                        {(i % 3 == 0).then(|| view! { <text x=x + w / 2.0 y=HEIGHT - 5.0 class="tick">{label}</text> })}
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}
