//! The events page.

use leptos::prelude::*;

#[component]
pub fn EventsPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Events" />
        <div class="page-header">
            <h1>"Events"</h1>
        </div>
        <div class="empty-state">
            <h2>"No events received yet"</h2>
            <p>"Events posted to the intake API show here with the webhooks they matched."</p>
        </div>
    }
}
