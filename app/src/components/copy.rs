//! A "Copy" button beside a value the admin pastes elsewhere (the Connect Unleash page).

use leptos::prelude::*;

/// Copies `text` to the clipboard and says so for two seconds. Without the WASM (or where the
/// browser refuses clipboard access) the value stays on the page to select by hand.
#[component]
pub fn CopyButton(#[prop(into)] text: Signal<String>, #[prop(optional)] label: &'static str) -> impl IntoView {
    let label = if label.is_empty() { "Copy" } else { label };
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _promise = window.navigator().clipboard().write_text(&text.get_untracked());
            copied.set(true);
            set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&text, &copied);
    };
    view! {
        <button type="button" class="btn btn-ghost btn-small" on:click=copy>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}
