//! The landing page after sign-in.

use leptos::prelude::*;

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Dashboard" />
        <div class="page-header">
            <h1>"Dashboard"</h1>
        </div>
        <div class="empty-state">
            <h2>"Nothing delivered yet"</h2>
            <p>"Once webhooks are configured and events arrive, delivery health shows here."</p>
            <a class="btn btn-primary" href="/webhooks">"Set up a webhook"</a>
        </div>
    }
}
