//! The one way a page shows data it could not load: every page that loads data wraps it in
//! `<ErrorBoundary fallback=error_fallback>` (inside its `Suspense` or `Transition`), and a failed
//! load renders this template: what went wrong in words (an internal error shows only its opaque
//! reference), and a way on. On the server it also sets the HTTP status of the response from the
//! error, so a missing webhook answers 404 and a broken database 500, not a cheerful 200.
//!
//! The status reaches the browser only because the signed-in pages render in `SsrMode::Async`
//! (see `App`): the whole page is rendered before the response starts.

use leptos::prelude::*;

use crate::AppError;

/// The fallback of a page's `ErrorBoundary`.
pub fn error_fallback(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! { <ErrorTemplate errors /> }
}

/// The errors of an `ErrorBoundary`, shown in words.
#[component]
pub fn ErrorTemplate(#[prop(into)] errors: Signal<Errors>) -> impl IntoView {
    // The messages, sorted and without repeats: two loads failing the same way say it once, and
    // the server and the browser list them in the same order.
    let messages = move || {
        let mut messages: Vec<String> = errors.with(|errors| errors.iter().map(|(_, e)| e.to_string()).collect());
        messages.sort();
        messages.dedup();
        messages
    };
    let status = move || errors.with(|errors| page_status(errors.iter().map(|(_, e)| e)));

    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let status = errors.with_untracked(|errors| page_status(errors.iter().map(|(_, e)| e)));
        if let Ok(code) = http::StatusCode::from_u16(status) {
            // Several boundaries on one page: the most important status wins.
            let current = response.0.read().map(|parts| parts.status).ok().flatten();
            if current.is_none_or(|current| priority(code.as_u16()) > priority(current.as_u16())) {
                response.set_status(code);
            }
        }
    }

    view! {
        <div class="alert alert-error error-page" role="alert" data-testid="load-error">
            <strong>{move || headline(status())}</strong>
            <ul class="error-messages">
                {move || messages().into_iter().map(|message| view! { <li>{message}</li> }).collect_view()}
            </ul>
            <p class="small">
                {move || match status() {
                    401 => view! { <a href="/login">"Sign in again"</a> }.into_any(),
                    _ => view! { <a href="/">"Go to the dashboard"</a> }.into_any(),
                }}
            </p>
        </div>
    }
}

/// The HTTP status for a page showing `errors`: the most important of theirs. An error that is
/// not an `AppError` (none should reach a page) counts as internal.
pub fn page_status<'a>(errors: impl IntoIterator<Item = &'a leptos::error::Error>) -> u16 {
    errors
        .into_iter()
        .map(|error| error.downcast_ref::<AppError>().map_or(500, AppError::status_code))
        .max_by_key(|status| priority(*status))
        .unwrap_or(500)
}

/// Which status wins when a page shows several errors: a fault of the server first (that is what
/// needs fixing), then sign-in and permission, then something missing, then the rest (by code).
fn priority(status: u16) -> (u8, u16) {
    let rank = match status {
        500..=599 => 4,
        401 | 403 => 3,
        404 => 2,
        _ => 1,
    };
    (rank, status)
}

/// The headline over the messages, in words.
fn headline(status: u16) -> &'static str {
    match status {
        404 => "Not found",
        401 => "Sign-in required",
        403 => "Not allowed",
        400 | 409 | 413 | 422 => "This request cannot be done",
        429 => "Too many requests",
        _ => "Something went wrong",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_important_status_wins() {
        let errors: Vec<leptos::error::Error> = vec![
            AppError::invalid("state", "bad").into(),
            AppError::NotFound("webhook 9".into()).into(),
            AppError::Forbidden("no".into()).into(),
        ];
        assert_eq!(page_status(&errors), 403);
        let errors: Vec<leptos::error::Error> =
            vec![AppError::NotFound("webhook 9".into()).into(), AppError::Internal("ref".into()).into()];
        assert_eq!(page_status(&errors), 500);
        let errors: Vec<leptos::error::Error> =
            vec![AppError::invalid("state", "bad").into(), AppError::NotFound("delivery 1".into()).into()];
        assert_eq!(page_status(&errors), 404);
        let other: Vec<leptos::error::Error> = vec![std::io::Error::other("disk").into()];
        assert_eq!(page_status(&other), 500, "an unknown error is internal");
    }

    #[test]
    fn headlines_say_what_happened() {
        assert_eq!(headline(404), "Not found");
        assert_eq!(headline(422), "This request cannot be done");
        assert_eq!(headline(500), "Something went wrong");
    }
}
