//! The deliveries page.

use leptos::prelude::*;

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Deliveries" />
        <div class="page-header">
            <h1>"Deliveries"</h1>
        </div>
        <div class="empty-state">
            <h2>"No deliveries yet"</h2>
            <p>"Every attempt to deliver an event shows here, with its status and response."</p>
        </div>
    }
}
