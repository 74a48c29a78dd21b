//! Every webhook's deliveries in one list.

use leptos::prelude::*;

use crate::components::deliveries::DeliveryTable;

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Deliveries" />
        <div class="page-header">
            <h1>"Deliveries"</h1>
            <span class="muted small">"Updates live. Open a row for its attempts and to redeliver."</span>
        </div>
        <section class="card">
            <DeliveryTable webhook_id=None />
        </section>
    }
}
