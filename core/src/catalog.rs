//! The catalog of the 33 event types a webhook can subscribe to (exactly the types Unleash 7.5.1's
//! webhook addon offers, in the order of REFERENCE.md §1), their grouping for the UI, and a
//! realistic sample event of each type (used for template previews and test sends).

mod samples;

use serde::{Deserialize, Serialize};

use crate::event::Event;

/// A family of event types, used to group the subscription checkboxes in the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventGroup {
    FlagLifecycle,
    Strategies,
    Environments,
    VariantsAndTags,
    ChangeRequests,
    ReleasePlans,
}

impl EventGroup {
    /// Every group, in the order the UI shows them.
    pub const ALL: [EventGroup; 6] = [
        EventGroup::FlagLifecycle,
        EventGroup::Strategies,
        EventGroup::Environments,
        EventGroup::VariantsAndTags,
        EventGroup::ChangeRequests,
        EventGroup::ReleasePlans,
    ];

    /// The human label of the group, e.g. "Flag lifecycle".
    pub fn label(self) -> &'static str {
        match self {
            EventGroup::FlagLifecycle => "Flag lifecycle",
            EventGroup::Strategies => "Strategies",
            EventGroup::Environments => "Environments",
            EventGroup::VariantsAndTags => "Variants and tags",
            EventGroup::ChangeRequests => "Change requests",
            EventGroup::ReleasePlans => "Release plans",
        }
    }

    /// The event types of this group, in catalog order.
    pub fn event_types(self) -> impl Iterator<Item = &'static EventType> {
        EVENT_TYPES.iter().filter(move |t| t.group == self)
    }
}

/// One subscribable event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EventType {
    /// Unleash's name of the type, e.g. `feature-created`: the event's `type` field.
    pub name: &'static str,
    /// The family the type belongs to.
    pub group: EventGroup,
    /// One line saying what happened when an event of this type is emitted.
    pub description: &'static str,
    /// Kept for compatibility only; Unleash no longer emits it for new actions.
    pub deprecated: bool,
}

const fn ty(name: &'static str, group: EventGroup, description: &'static str) -> EventType {
    EventType { name, group, description, deprecated: false }
}

use EventGroup::{ChangeRequests, Environments, FlagLifecycle, ReleasePlans, Strategies, VariantsAndTags};

/// The 33 subscribable event types: the list of Unleash 7.5.1's webhook addon definition
/// (`core/tests/catalog.rs` checks it against the recorded list), in REFERENCE.md's order.
pub static EVENT_TYPES: [EventType; 33] = [
    ty("feature-created", FlagLifecycle, "A feature flag was created"),
    ty("feature-metadata-updated", FlagLifecycle, "A flag's metadata (description, type, impression data) was updated"),
    ty("feature-project-change", FlagLifecycle, "A flag was moved to another project"),
    ty("feature-archived", FlagLifecycle, "A flag was archived"),
    ty("feature-revived", FlagLifecycle, "An archived flag was revived"),
    ty("feature-strategy-update", Strategies, "An activation strategy of a flag was updated"),
    ty("feature-strategy-add", Strategies, "An activation strategy was added to a flag"),
    ty("feature-strategy-remove", Strategies, "An activation strategy was removed from a flag"),
    ty("feature-stale-on", FlagLifecycle, "A flag was marked as stale"),
    ty("feature-stale-off", FlagLifecycle, "A flag's stale marking was removed"),
    ty("feature-completed", FlagLifecycle, "A flag was marked as completed (feature kept or discarded)"),
    ty("feature-environment-enabled", Environments, "A flag was enabled in an environment"),
    ty("feature-environment-disabled", Environments, "A flag was disabled in an environment"),
    ty("feature-variants-updated", VariantsAndTags, "A flag's variants were updated"),
    ty("feature-tagged", VariantsAndTags, "A tag was added to a flag"),
    ty("feature-untagged", VariantsAndTags, "A tag was removed from a flag"),
    ty("change-request-created", ChangeRequests, "A change request was created"),
    ty("change-request-discarded", ChangeRequests, "A change request was discarded"),
    ty("change-added", ChangeRequests, "A change was added to a change request"),
    ty("change-discarded", ChangeRequests, "A change was discarded from a change request"),
    ty("change-request-approved", ChangeRequests, "A change request was approved"),
    ty("change-request-approval-added", ChangeRequests, "An approval was added to a change request"),
    ty("change-request-cancelled", ChangeRequests, "A change request was cancelled"),
    ty("change-request-sent-to-review", ChangeRequests, "A change request was sent to review"),
    ty("change-request-applied", ChangeRequests, "A change request was applied"),
    ty("change-request-scheduled", ChangeRequests, "A change request was scheduled to be applied later"),
    ty(
        "change-request-scheduled-application-success",
        ChangeRequests,
        "A scheduled change request was applied successfully",
    ),
    ty("change-request-scheduled-application-failure", ChangeRequests, "A scheduled change request failed to apply"),
    ty("change-request-schedule-suspended", ChangeRequests, "The schedule of a change request was suspended"),
    ty(
        "feature-potentially-stale-on",
        FlagLifecycle,
        "Unleash marked a flag as potentially stale (past its expected lifetime)",
    ),
    EventType {
        name: "feature-updated",
        group: FlagLifecycle,
        description: "A flag was updated (deprecated: replaced by the more specific events)",
        deprecated: true,
    },
    ty(
        "release-plan-progressions-paused",
        ReleasePlans,
        "The automatic milestone progressions of a release plan were paused",
    ),
    ty(
        "release-plan-progressions-resumed",
        ReleasePlans,
        "The automatic milestone progressions of a release plan were resumed",
    ),
];

/// The catalog entry of the type named `name`, or `None` when it is not subscribable.
pub fn event_type(name: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|t| t.name == name)
}

/// Whether `name` is one of the 33 subscribable event types.
pub fn is_known(name: &str) -> bool {
    event_type(name).is_some()
}

/// A realistic sample event of this type in Unleash's format (see REFERENCE.md shapes), or `None`
/// for an unknown name. Built fresh on each call (a few small allocations), so it is cheap enough
/// to call per request; callers may modify the returned event freely.
pub fn sample_event(name: &str) -> Option<Event> {
    let known = event_type(name)?;
    samples::sample(known.name)
}
