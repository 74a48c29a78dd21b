//! Asking before a destructive submit.
//!
//! A click handler attached by the WASM rather than an inline `onclick` attribute: the pages'
//! Content-Security-Policy runs no inline script but the nonce'd boot script, so an `onclick="…"`
//! would be refused (and the button would submit without asking).

use leptos::ev::MouseEvent;

/// `on:click=confirm_click("Delete …?")`: shows the question, and cancels the click when the admin
/// says no. Before the page has hydrated (or without JavaScript) the form submits as usual.
pub fn confirm_click(question: &'static str) -> impl Fn(MouseEvent) + Clone + 'static {
    move |event: MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            let confirmed = web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(true);
            if !confirmed {
                event.prevent_default();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&event, question);
    }
}
