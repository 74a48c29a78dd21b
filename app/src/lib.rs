//! Hookline's web application: the HTML shell, the routes and every page, rendered on the server
//! and hydrated in the browser. Server functions (`api`) are the only way pages reach the server.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;

pub use error::AppError;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::components::layout::{AppLayout, NotFound};
use crate::pages::*;

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: routes to pages. Signed-in pages share the `AppLayout` (top bar, navigation).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: mark the document so tests (and curious
    // operators) can tell the interactive app has taken over.
    Effect::new(|| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="hookline" href="/pkg/hookline.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="color-scheme" content="light" />
        <Title formatter=|page: String| if page.is_empty() { "Hookline".to_string() } else { format!("{page} · Hookline") } />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/setup") view=SetupPage />
                <ParentRoute path=path!("") view=AppLayout>
                    <Route path=path!("") view=DashboardPage />
                    <Route path=path!("/webhooks") view=WebhooksPage />
                    <Route path=path!("/webhooks/new") view=NewWebhookPage />
                    <Route path=path!("/webhooks/:id") view=WebhookPage />
                    <Route path=path!("/webhooks/:id/deliveries") view=WebhookDeliveriesPage />
                    <Route path=path!("/deliveries") view=DeliveriesPage />
                    <Route path=path!("/deliveries/:id") view=DeliveryPage />
                    <Route path=path!("/events") view=EventsPage />
                    <Route path=path!("/settings") view=SettingsPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
