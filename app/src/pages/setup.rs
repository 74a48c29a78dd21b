//! The one-time "create the first admin" page (the server sends everyone else away from it).

use leptos::prelude::*;

use crate::api::auth::CreateFirstAdmin;
use crate::components::form::{action_error, ErrorBanner, FieldError};
use crate::components::layout::Logo;
use crate::model::MIN_PASSWORD_LEN;

#[component]
pub fn SetupPage() -> impl IntoView {
    let create = ServerAction::<CreateFirstAdmin>::new();
    let error = action_error(create);

    view! {
        <leptos_meta::Title text="Create the first admin" />
        <div class="centered">
            <div class="card narrow">
                <div class="brand brand-large"><Logo /><span>"Hookline"</span></div>
                <h1>"Create the first admin"</h1>
                <p class="muted">"Welcome. This account manages webhooks, API tokens and other admins. This page disappears once it exists."</p>
                <ErrorBanner error fields=&["email", "password"] />
                <ActionForm action=create>
                    <label class="field">
                        <span>"Email"</span>
                        <input type="email" name="email" autocomplete="username" required autofocus />
                        <FieldError error field="email" />
                    </label>
                    <label class="field">
                        <span>"Password"</span>
                        <input type="password" name="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                        <small class="hint">{format!("At least {MIN_PASSWORD_LEN} characters.")}</small>
                        <FieldError error field="password" />
                    </label>
                    <button type="submit" class="btn btn-primary btn-block" disabled=move || create.pending().get()>
                        "Create admin and sign in"
                    </button>
                </ActionForm>
            </div>
        </div>
    }
}
