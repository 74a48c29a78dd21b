//! Small status indicators.

use hookline_core::delivery::DeliveryState;
use leptos::prelude::*;

/// A delivery state as an icon and a word: succeeded, failed, retrying, pending.
#[component]
pub fn StateBadge(state: DeliveryState) -> impl IntoView {
    let (icon, class, label) = match state {
        DeliveryState::Succeeded => ("✓", "state state-ok", "Succeeded"),
        DeliveryState::Failed => ("✕", "state state-failed", "Failed"),
        DeliveryState::Retrying => ("↻", "state state-warn", "Retrying"),
        DeliveryState::Pending => ("…", "state state-pending", "Pending"),
    };
    view! {
        <span class=class data-state=state.as_str()>
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
