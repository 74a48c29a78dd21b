//! The signed-in app shell (top bar, navigation, user menu) and the page-not-found view.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::api::auth::{me, Logout};

/// The frame around every signed-in page.
#[component]
pub fn AppLayout() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    let logout = ServerAction::<Logout>::new();
    let menu_open = RwSignal::new(false);

    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/">
                    <Logo />
                    <span>"Hookline"</span>
                </a>
                <button
                    class="nav-toggle"
                    type="button"
                    aria-label="Menu"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| menu_open.update(|open| *open = !*open)
                >
                    "☰"
                </button>
                <nav class="nav" class:open=move || menu_open.get() on:click=move |_| menu_open.set(false)>
                    <A href="/" exact=true>"Dashboard"</A>
                    <A href="/webhooks">"Webhooks"</A>
                    <A href="/deliveries">"Deliveries"</A>
                    <A href="/events">"Events"</A>
                    <A href="/settings">"Settings"</A>
                </nav>
                <div class="user">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            user.await.ok().flatten().map(|admin| view! { <span class="user-email" title="Signed in">{admin.email}</span> })
                        })}
                    </Transition>
                    <ActionForm action=logout>
                        <button type="submit" class="btn btn-ghost">"Sign out"</button>
                    </ActionForm>
                </div>
            </header>
            <main class="content">
                <Outlet />
            </main>
        </div>
    }
}

/// The Hookline mark: a hook on a line.
#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <svg class="logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M2 12h8" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none" />
            <path d="M14 4v10a4 4 0 0 1-8 0" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none" />
            <circle cx="14" cy="4" r="2" fill="currentColor" />
            <path d="M18 12h4" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />
        </svg>
    }
}

/// Shown for unknown paths (the server answers 404).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Not found" />
        <div class="centered">
            <div class="card narrow">
                <h1>"Page not found"</h1>
                <p class="muted">"There is nothing at this address."</p>
                <a class="btn btn-primary" href="/">"Go to the dashboard"</a>
            </div>
        </div>
    }
}
