//! Form helpers: labelled fields with inline errors, and the error banner.

use leptos::prelude::*;

use crate::AppError;

/// The error of the last submission of an action, if it failed.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|result| result.err()))
}

/// A banner for errors that are not about one field (or for every error when no field shows it).
#[component]
pub fn ErrorBanner(
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(optional)] fields: &'static [&'static str],
) -> impl IntoView {
    move || {
        error.get().filter(|e| e.field().is_none_or(|f| !fields.contains(&f))).map(|e| {
            view! {
                <div class="alert alert-error" role="alert">
                    {e.to_string()}
                </div>
            }
        })
    }
}

/// The inline message under a field when the error blames it.
#[component]
pub fn FieldError(#[prop(into)] error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.message_for(field)).map(|message| {
            view! { <p class="field-error" role="alert">{message}</p> }
        })
    }
}
