//! The filter forms above the lists (deliveries, audit log): plain GET forms whose fields show
//! the query the list was loaded with, so they work before the WASM loads and after a reload.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A `<select>` bound to the query parameter `name`: "any" (the empty value) first, then the
/// `options` as (value, label); the value in the current URL is the one selected.
#[component]
pub fn QuerySelect(
    label: &'static str,
    name: &'static str,
    /// The label of the empty choice, e.g. "Any state".
    any: &'static str,
    options: Vec<(&'static str, &'static str)>,
) -> impl IntoView {
    let current = query_value(name);
    view! {
        <label class="field">
            <span>{label}</span>
            <select name=name>
                <option value="" selected=move || current().is_empty()>{any}</option>
                {options.into_iter().map(|(value, text)| view! {
                    <option value=value selected=move || current() == value>{text}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The current URL's value of the query parameter `name` ("" when absent), tracked.
pub fn query_value(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}
