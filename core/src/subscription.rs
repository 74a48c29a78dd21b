//! Which events a webhook receives: its subscribed event types and its project and environment
//! filters (REFERENCE.md, filter rules). One definition for the intake, the dispatcher, the test
//! send and the pages, so what the UI promises is what the server does.

use crate::event::EventView;

/// The subscription entry that stands for every event type, including types added to Unleash (or
/// to the catalog) after the webhook was saved.
pub const ALL_EVENTS: &str = "*";

/// Whether a project or environment `value` passes `filter`: an empty filter or `*` passes all,
/// and an event without the value always passes (Unleash's rule).
pub fn filter_passes(filter: &[String], value: Option<&str>) -> bool {
    match value {
        None => true,
        Some(value) => filter.is_empty() || filter.iter().any(|f| f == "*" || f == value),
    }
}

/// Whether `events` (a webhook's subscribed types) takes `event_type`.
pub fn type_subscribed(events: &[String], event_type: &str) -> bool {
    events.iter().any(|e| e == ALL_EVENTS || e == event_type)
}

/// Whether the subscription takes every event type.
pub fn takes_all(events: &[String]) -> bool {
    events.iter().any(|e| e == ALL_EVENTS)
}

/// A webhook's subscription, borrowed from wherever the webhook is held.
#[derive(Debug, Clone, Copy)]
pub struct Subscription<'a> {
    pub events: &'a [String],
    pub projects: &'a [String],
    pub environments: &'a [String],
}

impl Subscription<'_> {
    /// Whether the event goes to this webhook: the type is subscribed and the project and
    /// environment pass the filters. Whether the webhook is enabled is the caller's question.
    pub fn matches(&self, event: &EventView<'_>) -> bool {
        type_subscribed(self.events, event.event_type)
            && filter_passes(self.projects, event.project)
            && filter_passes(self.environments, event.environment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn filters_follow_unleash() {
        assert!(filter_passes(&[], Some("a")));
        assert!(filter_passes(&list(&["*"]), Some("a")));
        assert!(filter_passes(&list(&["a", "b"]), Some("b")));
        assert!(!filter_passes(&list(&["a"]), Some("b")));
        assert!(filter_passes(&list(&["a"]), None), "an event without the value passes");
    }

    #[test]
    fn all_events_takes_types_outside_the_catalog() {
        let (events, projects, environments) = (list(&["feature-created"]), list(&["web"]), list(&[]));
        let one = Subscription { events: &events, projects: &projects, environments: &environments };
        let value = json!({"type": "feature-created", "project": "web"});
        assert!(one.matches(&EventView::of_json(&value)));
        let other_project = json!({"type": "feature-created", "project": "api"});
        assert!(!one.matches(&EventView::of_json(&other_project)));
        let new_type = json!({"type": "feature-something-new", "project": "web"});
        assert!(!one.matches(&EventView::of_json(&new_type)));

        let all = list(&[ALL_EVENTS]);
        let every = Subscription { events: &all, ..one };
        assert!(every.matches(&EventView::of_json(&new_type)));
        assert!(!every.matches(&EventView::of_json(&other_project)), "filters still apply");
        assert!(takes_all(&all) && !takes_all(&events));
    }
}
