//! The catalog of the event types a webhook can subscribe to, their grouping for the UI, and a
//! realistic sample event of each type (used for template previews and test sends).
//!
//! It holds, first, the 33 types Unleash 7.5.1's webhook addon offers (in the order of
//! REFERENCE.md §1), then the 33 further types Unleash 7.5.1 emits and describes in its own
//! notifications (its `feature-event-formatter-md` has a sentence for each) but does not list in
//! the addon: a receiver that reacts to them gets them with a sample to preview against. Last come
//! the operational events Hookline emits itself (`hookline.webhook.*`: a webhook was disabled,
//! paused by its circuit breaker, or resumed), so an operator can subscribe a chat or pager webhook
//! to them. Types beyond these are still accepted at intake and reach webhooks subscribed to all
//! events.

mod samples;

use serde::{Deserialize, Serialize};

use crate::event::Event;

/// A family of event types, used to group the subscription checkboxes in the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum EventGroup {
    FlagLifecycle,
    Strategies,
    Environments,
    VariantsAndTags,
    ChangeRequests,
    ReleasePlans,
    Projects,
    Access,
    Configuration,
    /// Hookline's own operational events (not Unleash's).
    Hookline,
}

impl EventGroup {
    /// Every group, in the order the UI shows them.
    pub const ALL: [EventGroup; 10] = [
        EventGroup::FlagLifecycle,
        EventGroup::Strategies,
        EventGroup::Environments,
        EventGroup::VariantsAndTags,
        EventGroup::ChangeRequests,
        EventGroup::ReleasePlans,
        EventGroup::Projects,
        EventGroup::Access,
        EventGroup::Configuration,
        EventGroup::Hookline,
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
            EventGroup::Projects => "Projects",
            EventGroup::Access => "Users and access",
            EventGroup::Configuration => "Segments, context and integrations",
            EventGroup::Hookline => "Hookline operations",
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
    /// Offered by Unleash 7.5.1's own webhook addon (the first 33 of the catalog). The others are
    /// emitted by Unleash but reach Hookline only through the event API or a newer addon.
    #[serde(rename = "unleashAddon")]
    pub unleash_addon: bool,
}

const fn ty(name: &'static str, group: EventGroup, description: &'static str) -> EventType {
    EventType { name, group, description, deprecated: false, unleash_addon: true }
}

impl EventType {
    /// Whether Hookline emits this type itself (an operational event), rather than Unleash.
    pub fn from_hookline(&self) -> bool {
        self.group == EventGroup::Hookline
    }
}

/// A type Unleash emits that its webhook addon does not offer.
const fn more(name: &'static str, group: EventGroup, description: &'static str) -> EventType {
    EventType { name, group, description, deprecated: false, unleash_addon: false }
}

/// An operational event Hookline emits itself.
const fn ops(name: &'static str, description: &'static str) -> EventType {
    EventType { name, group: EventGroup::Hookline, description, deprecated: false, unleash_addon: false }
}

use EventGroup::{
    Access, ChangeRequests, Configuration, Environments, FlagLifecycle, Projects, ReleasePlans, Strategies,
    VariantsAndTags,
};

/// Hookline disabled a webhook by itself: its deliveries failed for too long, or its receiver
/// answered 410 Gone.
pub const WEBHOOK_DISABLED: &str = "hookline.webhook.disabled";
/// A webhook's circuit breaker opened: Hookline stopped sending to it for a cool-down.
pub const WEBHOOK_PAUSED: &str = "hookline.webhook.paused";
/// A paused webhook's receiver answered again (or an admin resumed it): deliveries flow again.
pub const WEBHOOK_RESUMED: &str = "hookline.webhook.resumed";

/// How many operational event types Hookline emits itself: the last entries of [`EVENT_TYPES`].
pub const HOOKLINE_TYPES: usize = 3;

/// How many types Unleash 7.5.1's webhook addon offers: the first entries of [`EVENT_TYPES`].
pub const UNLEASH_ADDON_TYPES: usize = 33;

/// The subscribable event types: first the list of Unleash 7.5.1's webhook addon definition in
/// REFERENCE.md's order, then the types its markdown formatter describes beyond it (in the order
/// of its imports; `core/tests/catalog.rs` checks both against the recorded lists), then
/// Hookline's own operational events.
pub static EVENT_TYPES: [EventType; 69] = [
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
        unleash_addon: true,
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
    more("addon-config-created", Configuration, "An integration (addon) was configured"),
    more("addon-config-deleted", Configuration, "An integration (addon) configuration was deleted"),
    more("addon-config-updated", Configuration, "An integration (addon) configuration was updated"),
    more("api-token-created", Access, "An API token was created"),
    more("api-token-deleted", Access, "An API token was deleted"),
    more("change-edited", ChangeRequests, "A change in a change request was edited"),
    more("change-request-rejected", ChangeRequests, "A change request was rejected"),
    more("context-field-created", Configuration, "A context field was created"),
    more("context-field-deleted", Configuration, "A context field was deleted"),
    more("context-field-updated", Configuration, "A context field was updated"),
    more("feature-deleted", FlagLifecycle, "An archived flag was deleted for good"),
    more("feature-environment-variants-updated", VariantsAndTags, "A flag's variants in one environment were updated"),
    more("group-created", Access, "A user group was created"),
    more("group-deleted", Access, "A user group was deleted"),
    more("group-updated", Access, "A user group was updated"),
    more("banner-created", Configuration, "A message banner was created"),
    more("banner-deleted", Configuration, "A message banner was deleted"),
    more("banner-updated", Configuration, "A message banner was updated"),
    more("project-created", Projects, "A project was created"),
    more("project-deleted", Projects, "A project was deleted"),
    more("segment-created", Configuration, "A segment was created"),
    more("segment-deleted", Configuration, "A segment was deleted"),
    more("segment-updated", Configuration, "A segment was updated"),
    more("service-account-created", Access, "A service account was created"),
    more("service-account-deleted", Access, "A service account was deleted"),
    more("service-account-updated", Access, "A service account was updated"),
    more("user-created", Access, "A user was created"),
    more("user-deleted", Access, "A user was deleted"),
    more("user-updated", Access, "A user was updated"),
    more("project-archived", Projects, "A project was archived"),
    more("release-plan-added", ReleasePlans, "A release plan was added to a flag in an environment"),
    more("release-plan-removed", ReleasePlans, "A release plan was removed from a flag in an environment"),
    more("release-plan-milestone-started", ReleasePlans, "A milestone of a release plan started"),
    ops(
        WEBHOOK_DISABLED,
        "Hookline disabled a webhook: its deliveries failed for too long, or its receiver answered 410 Gone",
    ),
    ops(WEBHOOK_PAUSED, "Hookline paused a webhook: its receiver failed too many times in a row (circuit breaker)"),
    ops(WEBHOOK_RESUMED, "Hookline resumed a paused webhook: its receiver answered again, or an admin resumed it"),
];

/// The catalog entry of the type named `name`, or `None` when it is not subscribable.
pub fn event_type(name: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|t| t.name == name)
}

/// Whether `name` is one of the catalog's subscribable event types.
pub fn is_known(name: &str) -> bool {
    event_type(name).is_some()
}

/// The OpenAPI schemas of event-type names, listing the catalog's names, so clients generated from
/// the document know them (the `openapi` feature; no values of these types exist).
#[cfg(feature = "openapi")]
pub mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;

    fn names(description: &str, extra: Option<&str>) -> RefOr<Schema> {
        let names = super::EVENT_TYPES.iter().map(|t| t.name).chain(extra);
        ObjectBuilder::new().schema_type(Type::String).description(Some(description)).enum_values(Some(names)).into()
    }

    /// A name from the catalog (`GET /api/admin/event-types`).
    pub struct CatalogEventType;

    impl utoipa::PartialSchema for CatalogEventType {
        fn schema() -> RefOr<Schema> {
            names("An event type of the catalog (`GET /api/admin/event-types`).", None)
        }
    }

    impl utoipa::ToSchema for CatalogEventType {}

    /// What a webhook subscribes to: a catalog name, or `*` for every type.
    pub struct SubscribedEventType;

    impl utoipa::PartialSchema for SubscribedEventType {
        fn schema() -> RefOr<Schema> {
            names(
                "An event type a webhook subscribes to: a name of the catalog, or `*` for every type, including \
                 types outside the catalog (e.g. from a newer Unleash).",
                Some(crate::subscription::ALL_EVENTS),
            )
        }
    }

    impl utoipa::ToSchema for SubscribedEventType {}
}

/// A realistic sample event of this type in Unleash's format (see REFERENCE.md shapes), or `None`
/// for an unknown name. Built fresh on each call (a few small allocations), so it is cheap enough
/// to call per request; callers may modify the returned event freely.
pub fn sample_event(name: &str) -> Option<Event> {
    let known = event_type(name)?;
    samples::sample(known.name)
}
