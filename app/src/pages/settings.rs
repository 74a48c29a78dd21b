//! Settings: admins (add, remove, change your password), API tokens (create once-shown, revoke),
//! and the way to the audit log.

use leptos::prelude::*;

use crate::api::auth::*;
use crate::components::error_template::error_fallback;
use crate::components::form::{action_error, ErrorBanner, FieldError};
use crate::model::MIN_PASSWORD_LEN;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Settings" />
        <div class="page-header">
            <h1>"Settings"</h1>
        </div>
        <AdminsSection />
        <TokensSection />
        <PasswordSection />
        <section class="card" id="audit">
            <h2>"Audit log"</h2>
            <p class="muted">"Who signed in, and who changed admins, tokens, webhooks and secrets: when, and from which address."</p>
            <a class="btn btn-secondary" href="/settings/audit">"Open the audit log"</a>
        </section>
    }
}

#[component]
fn AdminsSection() -> impl IntoView {
    let add = ServerAction::<AddAdmin>::new();
    let remove = ServerAction::<RemoveAdmin>::new();
    let admins = Resource::new(move || (add.version().get(), remove.version().get()), |_| list_admins());
    let me = Resource::new(|| (), |_| me());
    let add_error = action_error(add);
    let remove_error = action_error(remove);

    view! {
        <section class="card" id="admins">
            <h2>"Admins"</h2>
            <ErrorBanner error=remove_error />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        let me_id = me.await.ok().flatten().map(|a| a.id);
                        admins.await.map(|list| {
                            let only_one = list.len() <= 1;
                            view! {
                                <table class="table">
                                    <thead><tr><th>"Email"</th><th>"Since"</th><th></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|admin| {
                                            let is_me = Some(admin.id) == me_id;
                                            view! {
                                                <tr>
                                                    <td>{admin.email.clone()} {is_me.then(|| view! { <span class="badge">"you"</span> })}</td>
                                                    <td class="muted">{crate::components::time::short_time(&admin.created_at)}</td>
                                                    <td class="actions">
                                                        {(!is_me && !only_one).then(|| view! {
                                                            <ActionForm action=remove>
                                                                <input type="hidden" name="id" value=admin.id />
                                                                <button
                                                                    type="submit"
                                                                    class="btn btn-danger btn-small"
                                                                    on:click=crate::components::confirm::confirm_click("Remove this admin? They will be signed out.")
                                                                >"Remove"</button>
                                                            </ActionForm>
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
            <h3>"Add an admin"</h3>
            <ErrorBanner error=add_error fields=&["email", "password"] />
            <ActionForm action=add attr:class="inline-form">
                <label class="field">
                    <span>"Email"</span>
                    <input type="email" name="email" required />
                    <FieldError error=add_error field="email" />
                </label>
                <label class="field">
                    <span>"Password"</span>
                    <input type="password" name="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                    <FieldError error=add_error field="password" />
                </label>
                <button type="submit" class="btn btn-primary">"Add admin"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn TokensSection() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let create_error = action_error(create);
    let created = move || create.value().get().and_then(|r| r.ok());

    view! {
        <section class="card" id="tokens">
            <h2>"API tokens"</h2>
            <p class="muted">"Scripts and Unleash-style event sources authenticate with "<code>"Authorization: Bearer <token>"</code>". A token does only what its scopes allow: give Unleash an "<strong>"events"</strong>" token ("<a href="/connect">"Connect Unleash"</a>" makes one and shows every value to paste)."</p>
            <p><a class="btn btn-secondary btn-small" href="/settings/api" data-testid="api-reference-link">"API reference"</a>" "<span class="muted small">"every operation, its parameters and a curl example"</span></p>
            {move || created().map(|new| view! {
                <div class="alert alert-success" role="status">
                    <p>"Token “"{new.info.name.clone()}"” created. Copy it now: it will not be shown again."</p>
                    <code class="secret" data-testid="new-token">{new.token.clone()}</code>
                </div>
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        tokens.await.map(|list| {
                            if list.is_empty() {
                                view! { <p class="muted">"No API tokens yet."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="table">
                                        <thead><tr><th>"Name"</th><th>"Token"</th><th>"Scopes"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|token| view! {
                                                <tr>
                                                    <td>{token.name.clone()}</td>
                                                    <td><code>{format!("{}…", token.prefix)}</code></td>
                                                    <td data-testid="token-scopes">{hookline_core::scope::format_list(&token.scopes).replace(',', ", ")}</td>
                                                    <td class="muted">{crate::components::time::short_time(&token.created_at)}" by "{token.created_by.clone()}</td>
                                                    <td class="muted">{token.last_used_at.as_deref().map(crate::components::time::short_time).unwrap_or_else(|| "never".into())}</td>
                                                    <td class="actions">
                                                        <ActionForm action=revoke>
                                                            <input type="hidden" name="id" value=token.id />
                                                            <button type="submit" class="btn btn-danger btn-small"
                                                                on:click=crate::components::confirm::confirm_click("Revoke this token? Scripts using it stop working at once.")>"Revoke"</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
            <ErrorBanner error=create_error fields=&["name", "scopes"] />
            <ActionForm action=create attr:class="inline-form">
                <label class="field">
                    <span>"Token name"</span>
                    <input type="text" name="name" placeholder="e.g. unleash-production" required maxlength="100" />
                    <FieldError error=create_error field="name" />
                </label>
                <fieldset class="field scopes">
                    <legend>"Scopes"</legend>
                    {hookline_core::scope::Scope::ALL
                        .into_iter()
                        .map(|scope| {
                            view! {
                                <label class="check">
                                    <input
                                        type="checkbox"
                                        name="scopes[]"
                                        value=scope.as_str()
                                        checked=scope == hookline_core::scope::Scope::Events
                                    />
                                    <span><strong>{scope.as_str()}</strong>": "{scope.describe()}</span>
                                </label>
                            }
                        })
                        .collect_view()}
                    <FieldError error=create_error field="scopes" />
                </fieldset>
                <button type="submit" class="btn btn-primary">"Create token"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PasswordSection() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let error = action_error(change);
    let done = move || matches!(change.value().get(), Some(Ok(())));

    view! {
        <section class="card" id="password">
            <h2>"Change your password"</h2>
            <ErrorBanner error fields=&["currentPassword", "newPassword"] />
            {move || done().then(|| view! { <div class="alert alert-success" role="status">"Password changed."</div> })}
            <ActionForm action=change attr:class="inline-form">
                <label class="field">
                    <span>"Current password"</span>
                    <input type="password" name="current_password" autocomplete="current-password" required />
                    <FieldError error field="currentPassword" />
                </label>
                <label class="field">
                    <span>"New password"</span>
                    <input type="password" name="new_password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                    <FieldError error field="newPassword" />
                </label>
                <button type="submit" class="btn btn-primary">"Change password"</button>
            </ActionForm>
        </section>
    }
}
