//! Small status indicators.

use leptos::prelude::*;

/// A delivery state as an icon and a word: succeeded, failed, retrying, pending.
#[component]
pub fn DeliveryState(#[prop(into)] state: String) -> impl IntoView {
    let (icon, class, label) = match state.as_str() {
        "succeeded" => ("✓", "state state-ok", "Succeeded"),
        "failed" => ("✕", "state state-failed", "Failed"),
        "retrying" => ("↻", "state state-warn", "Retrying"),
        "pending" => ("…", "state state-pending", "Pending"),
        _ => ("?", "state", "Unknown"),
    };
    view! {
        <span class=class data-state=state.clone()>
            <span aria-hidden="true">{icon}</span>
            " "
            {label}
        </span>
    }
}

/// Where an event happened, as `flag / project / environment` (a dash for what it lacks).
pub fn event_place(feature: Option<&str>, project: Option<&str>, environment: Option<&str>) -> String {
    [feature, project, environment].iter().map(|v| v.unwrap_or("–")).collect::<Vec<_>>().join(" / ")
}
