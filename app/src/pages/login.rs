//! The sign-in page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::auth::Login;
use crate::components::form::{action_error, ErrorBanner};
use crate::components::layout::Logo;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = action_error(login);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let show_password = RwSignal::new(false);

    view! {
        <leptos_meta::Title text="Sign in" />
        <div class="centered">
            <div class="card narrow">
                <div class="brand brand-large"><Logo /><span>"Hookline"</span></div>
                <h1>"Sign in"</h1>
                <ErrorBanner error />
                <ActionForm action=login>
                    <input type="hidden" name="next" value=next />
                    <label class="field">
                        <span>"Email"</span>
                        <input type="email" name="email" autocomplete="username" required autofocus />
                    </label>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <span class="input-with-button">
                            <input
                                id="password"
                                type=move || if show_password.get() { "text" } else { "password" }
                                name="password"
                                autocomplete="current-password"
                                required
                            />
                            <button
                                type="button"
                                class="btn btn-ghost btn-small"
                                data-testid="toggle-password"
                                aria-controls="password"
                                aria-pressed=move || show_password.get().to_string()
                                on:click=move |_| show_password.update(|shown| *shown = !*shown)
                            >
                                {move || if show_password.get() { "Hide" } else { "Show" }}
                            </button>
                        </span>
                    </div>
                    <button type="submit" class="btn btn-primary btn-block" disabled=move || login.pending().get()>
                        {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </div>
    }
}
