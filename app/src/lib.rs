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
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::layout::{AppLayout, NotFound};
use crate::pages::*;

/// Where the pages load the browser bundles from. The server provides it as context: a binary that
/// embeds the site links to names that carry each file's hash (cached for good); otherwise the
/// plain names below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteUrls {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

impl Default for SiteUrls {
    fn default() -> Self {
        SiteUrls { js: "/pkg/hookline.js".into(), wasm: "/pkg/hookline.wasm".into(), css: "/pkg/hookline.css".into() }
    }
}

impl SiteUrls {
    /// The module script that loads the WASM and hydrates the page (what Leptos's
    /// `HydrationScripts` writes, with our bundle names). No `<`, `>` or `&`, so it needs no escaping.
    pub fn boot_script(&self) -> String {
        format!(
            "import({js:?}).then(function (m) {{ return m.default({{ module_or_path: {wasm:?} }}).then(function () {{ m.hydrate(); }}); }});",
            js = self.js,
            wasm = self.wasm
        )
    }
}

/// The HTML document around the app (server side only; only `<body>` is hydrated).
pub fn shell(_options: LeptosOptions) -> impl IntoView {
    let urls = use_context::<SiteUrls>().unwrap_or_default();
    let boot = urls.boot_script();
    // The page's Content-Security-Policy allows inline scripts with this response's nonce only.
    let nonce = leptos::nonce::use_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" href=urls.css />
                <link rel="modulepreload" href=urls.js />
                <link rel="preload" href=urls.wasm r#as="fetch" r#type="application/wasm" crossorigin="" />
                <script type="module" nonce=nonce>{boot}</script>
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
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="color-scheme" content="light" />
        <Title formatter=|page: String| if page.is_empty() { "Hookline".to_string() } else { format!("{page} · Hookline") } />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/setup") view=SetupPage />
                // Async: a signed-in page renders whole before its response starts, so a failed
                // load can still set the status (see `components::error_template`).
                <ParentRoute path=path!("") view=AppLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=DashboardPage />
                    <Route path=path!("/webhooks") view=WebhooksPage />
                    <Route path=path!("/webhooks/new") view=NewWebhookPage />
                    <Route path=path!("/webhooks/:id") view=WebhookPage />
                    <Route path=path!("/webhooks/:id/deliveries") view=WebhookDeliveriesPage />
                    <Route path=path!("/deliveries") view=DeliveriesPage />
                    <Route path=path!("/deliveries/:id") view=DeliveryPage />
                    <Route path=path!("/events") view=EventsPage />
                    <Route path=path!("/settings") view=SettingsPage />
                    <Route path=path!("/settings/audit") view=AuditPage />
                    <Route path=path!("/connect") view=ConnectUnleashPage />
                    <Route path=path!("/settings/api") view=ApiReferencePage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
