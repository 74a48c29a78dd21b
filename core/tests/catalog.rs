//! The event-type catalog and its sample events.

use hookline_core::catalog::{
    event_type, is_known, sample_event, EventGroup, EventType, EVENT_TYPES, HOOKLINE_TYPES, UNLEASH_ADDON_TYPES,
};
use hookline_core::event::Event;
use serde_json::{json, Value};

/// REFERENCE.md §1, "Event types that can be subscribed", in its order.
const UNLEASH_EVENT_TYPES: [&str; 33] = [
    "feature-created",
    "feature-metadata-updated",
    "feature-project-change",
    "feature-archived",
    "feature-revived",
    "feature-strategy-update",
    "feature-strategy-add",
    "feature-strategy-remove",
    "feature-stale-on",
    "feature-stale-off",
    "feature-completed",
    "feature-environment-enabled",
    "feature-environment-disabled",
    "feature-variants-updated",
    "feature-tagged",
    "feature-untagged",
    "change-request-created",
    "change-request-discarded",
    "change-added",
    "change-discarded",
    "change-request-approved",
    "change-request-approval-added",
    "change-request-cancelled",
    "change-request-sent-to-review",
    "change-request-applied",
    "change-request-scheduled",
    "change-request-scheduled-application-success",
    "change-request-scheduled-application-failure",
    "change-request-schedule-suspended",
    "feature-potentially-stale-on",
    "feature-updated",
    "release-plan-progressions-paused",
    "release-plan-progressions-resumed",
];

const EVENT_KEYS: [&str; 11] = [
    "id",
    "type",
    "createdBy",
    "createdAt",
    "createdByUserId",
    "data",
    "preData",
    "tags",
    "featureName",
    "project",
    "environment",
];

const STRATEGY_KEYS: [&str; 9] =
    ["id", "name", "title", "disabled", "constraints", "parameters", "variants", "sortOrder", "segments"];

fn sample(name: &str) -> Event {
    sample_event(name).unwrap_or_else(|| panic!("{name} has no sample"))
}

fn keys(value: &Value) -> Vec<&str> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().map(String::as_str).collect()
}

fn all_samples() -> Vec<Event> {
    EVENT_TYPES.iter().map(|t| sample(t.name)).collect()
}

#[test]
fn catalog_lists_unleash_event_types_in_order() {
    assert_eq!(EVENT_TYPES.len(), 69);
    assert_eq!(HOOKLINE_TYPES, 3);
    assert_eq!(UNLEASH_ADDON_TYPES, 33);
    let names: Vec<&str> = EVENT_TYPES.iter().map(|t| t.name).collect();
    assert_eq!(names[..UNLEASH_ADDON_TYPES], UNLEASH_EVENT_TYPES);
    for (i, t) in EVENT_TYPES.iter().enumerate() {
        assert_eq!(t.unleash_addon, i < UNLEASH_ADDON_TYPES, "{}", t.name);
    }
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 69, "names are unique");
}

/// Hookline's own operational events come last, in their own group, and are not Unleash's.
#[test]
fn hookline_operational_events_close_the_catalog() {
    let ours: Vec<&str> = EVENT_TYPES[EVENT_TYPES.len() - HOOKLINE_TYPES..].iter().map(|t| t.name).collect();
    assert_eq!(ours, ["hookline.webhook.disabled", "hookline.webhook.paused", "hookline.webhook.resumed"]);
    for t in &EVENT_TYPES {
        assert_eq!(t.from_hookline(), ours.contains(&t.name), "{}", t.name);
        assert_eq!(t.group == EventGroup::Hookline, t.from_hookline(), "{}", t.name);
    }
    let paused = sample("hookline.webhook.paused");
    assert_eq!(paused.created_by, "hookline");
    assert_eq!(paused.project, None);
    let data = paused.data.expect("data");
    for key in
        ["webhookId", "title", "description", "urlHost", "reason", "pausedUntil", "consecutiveFailures", "lastError"]
    {
        assert!(data.get(key).is_some(), "paused sample lacks {key}: {data}");
    }
    assert!(data["pausedUntil"].is_string());
    assert!(!data.to_string().contains("/services/"), "no URL path, which may hold a token");
}

fn recorded(json: &str) -> Vec<String> {
    serde_json::from_str(json).expect("a list of names")
}

fn sorted<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names
}

/// The catalog offers exactly the event types Unleash 7.5.1's webhook addon offers, as recorded
/// from its definition by `make unleash-fixture` (Unleash's order differs from REFERENCE.md's).
#[test]
fn catalog_offers_exactly_the_unleash_webhook_addons_types() {
    let offered = recorded(include_str!("fixtures/unleash-webhook-events.json"));
    let ours = EVENT_TYPES.iter().filter(|t| t.unleash_addon).map(|t| t.name);
    assert_eq!(sorted(ours), sorted(offered.iter().map(String::as_str)));
}

/// Beyond the addon's list, the catalog holds every type Unleash 7.5.1's markdown formatter has a
/// sentence for (recorded from its EVENT_MAP by `make unleash-fixture`): the types Unleash emits
/// and describes to people. Two addon types have no sentence of their own there.
#[test]
fn further_types_are_exactly_those_unleash_describes_beyond_the_addon() {
    let described = recorded(include_str!("fixtures/unleash-formatter-events.json"));
    let described: Vec<&str> = described.iter().map(String::as_str).collect();
    let further = EVENT_TYPES.iter().filter(|t| !t.unleash_addon && !t.from_hookline()).map(|t| t.name);
    let beyond = described.iter().copied().filter(|name| !UNLEASH_EVENT_TYPES.contains(name));
    assert_eq!(sorted(further), sorted(beyond));
    let undescribed: Vec<&str> = UNLEASH_EVENT_TYPES.iter().copied().filter(|name| !described.contains(name)).collect();
    assert_eq!(undescribed, ["feature-variants-updated", "feature-updated"]);
}

#[test]
fn only_feature_updated_is_deprecated() {
    let deprecated: Vec<&str> = EVENT_TYPES.iter().filter(|t| t.deprecated).map(|t| t.name).collect();
    assert_eq!(deprecated, ["feature-updated"]);
}

#[test]
fn every_type_has_a_one_line_description() {
    for t in &EVENT_TYPES {
        assert!(!t.description.is_empty(), "{}", t.name);
        assert!(!t.description.contains('\n'), "{}", t.name);
        assert!(!t.description.ends_with('.'), "{}", t.name);
    }
}

#[test]
fn types_are_grouped_as_specified() {
    let group = |name: &str| event_type(name).map(|t| t.group);
    for name in [
        "feature-created",
        "feature-metadata-updated",
        "feature-project-change",
        "feature-archived",
        "feature-revived",
        "feature-stale-on",
        "feature-stale-off",
        "feature-completed",
        "feature-potentially-stale-on",
        "feature-updated",
        "feature-deleted",
    ] {
        assert_eq!(group(name), Some(EventGroup::FlagLifecycle), "{name}");
    }
    for name in ["feature-strategy-update", "feature-strategy-add", "feature-strategy-remove"] {
        assert_eq!(group(name), Some(EventGroup::Strategies), "{name}");
    }
    for name in ["feature-environment-enabled", "feature-environment-disabled"] {
        assert_eq!(group(name), Some(EventGroup::Environments), "{name}");
    }
    for name in
        ["feature-variants-updated", "feature-environment-variants-updated", "feature-tagged", "feature-untagged"]
    {
        assert_eq!(group(name), Some(EventGroup::VariantsAndTags), "{name}");
    }
    for t in EVENT_TYPES.iter().filter(|t| t.name.starts_with("change-")) {
        assert_eq!(t.group, EventGroup::ChangeRequests, "{}", t.name);
    }
    for t in EVENT_TYPES.iter().filter(|t| t.name.starts_with("release-plan-")) {
        assert_eq!(t.group, EventGroup::ReleasePlans, "{}", t.name);
    }
    for t in EVENT_TYPES.iter().filter(|t| t.name.starts_with("project-")) {
        assert_eq!(t.group, EventGroup::Projects, "{}", t.name);
    }
    for prefix in ["user-", "group-", "service-account-", "api-token-"] {
        for t in EVENT_TYPES.iter().filter(|t| t.name.starts_with(prefix)) {
            assert_eq!(t.group, EventGroup::Access, "{}", t.name);
        }
    }
    for prefix in ["segment-", "context-field-", "banner-", "addon-config-"] {
        for t in EVENT_TYPES.iter().filter(|t| t.name.starts_with(prefix)) {
            assert_eq!(t.group, EventGroup::Configuration, "{}", t.name);
        }
    }
    let counted: usize = EventGroup::ALL.iter().map(|g| g.event_types().count()).sum();
    assert_eq!(counted, 69, "every type is in exactly one group");
    assert_eq!(EventGroup::ChangeRequests.event_types().count(), 15);
    assert!(EventGroup::ALL.iter().all(|g| g.event_types().count() > 0), "no group is empty");
}

#[test]
fn groups_have_labels_and_kebab_case_serde() {
    let labels: Vec<&str> = EventGroup::ALL.iter().map(|g| g.label()).collect();
    assert_eq!(
        labels,
        [
            "Flag lifecycle",
            "Strategies",
            "Environments",
            "Variants and tags",
            "Change requests",
            "Release plans",
            "Projects",
            "Users and access",
            "Segments, context and integrations",
            "Hookline operations"
        ]
    );
    assert_eq!(serde_json::to_value(EventGroup::VariantsAndTags).unwrap(), json!("variants-and-tags"));
    let back: EventGroup = serde_json::from_str("\"release-plans\"").unwrap();
    assert_eq!(back, EventGroup::ReleasePlans);
    let t: &EventType = event_type("feature-tagged").unwrap();
    assert_eq!(
        serde_json::to_value(t).unwrap(),
        json!({
            "name": "feature-tagged",
            "group": "variants-and-tags",
            "description": t.description,
            "deprecated": false,
            "unleashAddon": true
        })
    );
}

#[test]
fn lookup_knows_exactly_the_catalog() {
    for name in UNLEASH_EVENT_TYPES {
        assert!(is_known(name), "{name}");
        assert_eq!(event_type(name).map(|t| t.name), Some(name));
    }
    for name in ["", "feature-deletion", "FEATURE-CREATED", "feature-created ", "strategy-created"] {
        assert!(!is_known(name), "{name:?}");
        assert!(event_type(name).is_none(), "{name:?}");
        assert!(sample_event(name).is_none(), "{name:?}");
    }
}

#[test]
fn every_sample_has_its_type_and_unleash_key_order() {
    for t in &EVENT_TYPES {
        let event = sample(t.name);
        assert_eq!(event.event_type, t.name);
        let value: Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(keys(&value), EVENT_KEYS, "{}", t.name);
    }
}

#[test]
fn every_sample_round_trips_through_serde() {
    for event in all_samples() {
        let json = event.to_json();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event, "{}", event.event_type);
        assert_eq!(back.to_json(), json, "{}", event.event_type);
    }
}

#[test]
fn samples_are_consistent_and_realistic() {
    let samples = all_samples();
    let mut ids: Vec<i64> = samples.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 69, "ids are distinct");
    for e in &samples {
        let at = &e.created_at;
        // 2024-10-03T11:09:53.225Z
        assert_eq!(at.len(), 24, "{}: {at}", e.event_type);
        assert!(at.ends_with('Z') && at.as_bytes()[19] == b'.', "{at}");
        assert!(!e.created_by.is_empty());
        let about_the_instance = [
            "addon-config-",
            "api-token-",
            "context-field-",
            "group-",
            "banner-",
            "service-account-",
            "user-",
            "hookline.",
        ]
        .iter()
        .any(|prefix| e.event_type.starts_with(prefix));
        if about_the_instance {
            assert_eq!(e.project, None, "{}", e.event_type);
        } else if e.event_type.starts_with("project-") && e.event_type != "project-created" {
            assert_eq!(e.project.as_deref(), Some("web-shop-legacy"), "{}", e.event_type);
        } else {
            assert_eq!(e.project.as_deref(), Some("web-shop"), "{}", e.event_type);
        }
        if let Some(flag) = &e.feature_name {
            assert_eq!(flag, "checkout-redesign");
        }
        if let Some(env) = &e.environment {
            assert_eq!(env, "production");
        }
    }
    assert!(samples.iter().any(|e| !e.tags.is_empty()));
    assert!(samples.iter().any(|e| e.created_by == "user@example.com" && e.created_by_user_id == Some(110)));
}

#[test]
fn feature_created_sample_follows_the_reference_example() {
    let event = sample("feature-created");
    let value = event.to_value();
    assert_eq!(
        value,
        json!({
            "id": 27332,
            "type": "feature-created",
            "createdBy": "user@example.com",
            "createdAt": "2024-10-03T11:09:53.225Z",
            "createdByUserId": 110,
            "data": {
                "name": "checkout-redesign",
                "description": null,
                "type": "release",
                "project": "web-shop",
                "stale": false,
                "createdAt": "2024-10-03T11:09:53.201Z",
                "lastSeenAt": null,
                "impressionData": false,
                "archivedAt": null,
                "archived": false
            },
            "preData": null,
            "tags": [{ "type": "simple", "value": "team-checkout" }],
            "featureName": "checkout-redesign",
            "project": "web-shop",
            "environment": null
        })
    );
    // Same keys in the same order as the REFERENCE example, nulls kept.
    assert_eq!(
        keys(&value["data"]),
        [
            "name",
            "description",
            "type",
            "project",
            "stale",
            "createdAt",
            "lastSeenAt",
            "impressionData",
            "archivedAt",
            "archived"
        ]
    );
    assert!(event.to_json().starts_with(
        r#"{"id":27332,"type":"feature-created","createdBy":"user@example.com","createdAt":"2024-10-03T11:09:53.225Z","createdByUserId":110,"data":{"name":"checkout-redesign","description":null,"#
    ));
}

fn assert_strategy(value: Option<&Value>, name: &str) {
    let strategy = value.unwrap_or_else(|| panic!("{name}: strategy missing"));
    assert_eq!(keys(strategy), STRATEGY_KEYS, "{name}");
    assert_eq!(strategy["name"], "flexibleRollout");
    assert_eq!(strategy["constraints"].as_array().map(Vec::len), Some(1));
    assert!(strategy["parameters"]["rollout"].is_string());
}

#[test]
fn strategy_samples_carry_the_strategy_where_unleash_does() {
    let add = sample("feature-strategy-add");
    assert_strategy(add.data.as_ref(), "add");
    assert!(add.pre_data.is_none());

    let remove = sample("feature-strategy-remove");
    assert!(remove.data.is_none());
    assert_strategy(remove.pre_data.as_ref(), "remove");

    let update = sample("feature-strategy-update");
    assert_strategy(update.data.as_ref(), "update");
    assert_strategy(update.pre_data.as_ref(), "update");
    assert_ne!(update.data, update.pre_data, "an update changes something");

    for e in [&add, &remove, &update] {
        assert_eq!(e.environment.as_deref(), Some("production"));
        assert_eq!(e.feature_name.as_deref(), Some("checkout-redesign"));
    }
    // The serialised JSON keeps the null side.
    assert!(add.to_json().contains(r#""preData":null"#));
    assert!(remove.to_json().contains(r#""data":null"#));
}

#[test]
fn payload_free_samples_have_null_data() {
    for name in [
        "feature-environment-enabled",
        "feature-environment-disabled",
        "feature-stale-on",
        "feature-stale-off",
        "feature-archived",
        "feature-revived",
    ] {
        let e = sample(name);
        assert!(e.data.is_none() && e.pre_data.is_none(), "{name}");
        assert!(e.to_json().contains(r#""data":null,"preData":null"#), "{name}");
    }
    for name in ["feature-environment-enabled", "feature-environment-disabled"] {
        assert_eq!(sample(name).environment.as_deref(), Some("production"));
    }
}

#[test]
fn variants_sample_has_new_and_previous_variants() {
    let e = sample("feature-variants-updated");
    let data = e.data.expect("data");
    let pre = e.pre_data.expect("preData");
    assert_eq!(keys(&data), ["variants"]);
    assert_eq!(keys(&pre), ["variants"]);
    let variants = data["variants"].as_array().expect("array");
    assert!(variants.len() >= 2);
    let total: i64 = variants.iter().filter_map(|v| v["weight"].as_i64()).sum();
    assert_eq!(total, 1000, "Unleash variant weights add up to 1000");
    assert!(variants.iter().all(|v| v["name"].is_string()));
    assert_ne!(data, pre);
}

#[test]
fn tag_samples_carry_type_and_value() {
    let tagged = sample("feature-tagged");
    let data = tagged.data.clone().expect("data");
    assert_eq!(keys(&data), ["type", "value"]);
    assert!(tagged.pre_data.is_none());
    assert!(tagged.tags.iter().any(|t| t.tag_type == data["type"] && t.value == data["value"]));

    let untagged = sample("feature-untagged");
    assert!(untagged.data.is_none());
    let pre = untagged.pre_data.clone().expect("preData");
    assert_eq!(keys(&pre), ["type", "value"]);
    assert!(!untagged.tags.iter().any(|t| t.tag_type == pre["type"] && t.value == pre["value"]));
}

#[test]
fn project_change_sample_names_both_projects() {
    let e = sample("feature-project-change");
    let data = e.data.expect("data");
    assert_eq!(keys(&data), ["newProject", "oldProject"]);
    assert_eq!(data["newProject"], "web-shop");
    assert_eq!(e.project.as_deref(), Some("web-shop"));
    assert_ne!(data["oldProject"], data["newProject"]);
}

#[test]
fn completed_sample_says_kept() {
    let e = sample("feature-completed");
    assert_eq!(e.data, Some(json!({ "kept": true, "status": "kept" })));
}

#[test]
fn metadata_sample_has_the_flag_after_and_before() {
    let e = sample("feature-metadata-updated");
    let (after, before) = (e.data.expect("data"), e.pre_data.expect("preData"));
    assert_eq!(after["name"], "checkout-redesign");
    assert_eq!(keys(&after), keys(&before));
    assert_ne!(after, before);
}

#[test]
fn change_request_samples_carry_their_id() {
    for t in EVENT_TYPES.iter().filter(|t| t.group == EventGroup::ChangeRequests) {
        let e = sample(t.name);
        let data = e.data.unwrap_or_else(|| panic!("{}: data", t.name));
        assert_eq!(keys(&data)[0], "changeRequestId", "{}", t.name);
        assert!(data["changeRequestId"].as_i64().is_some(), "{}", t.name);
    }
    let scheduled = sample("change-request-scheduled").data.expect("data");
    assert_eq!(scheduled["scheduledDate"], "2024-10-10T06:00:00.000Z");
    let suspended = sample("change-request-schedule-suspended").data.expect("data");
    assert!(suspended["reason"].as_str().is_some_and(|r| !r.is_empty()));
}

#[test]
fn release_plan_samples_carry_a_plan() {
    for name in ["release-plan-progressions-paused", "release-plan-progressions-resumed"] {
        let e = sample(name);
        let plan = e.data.unwrap_or_else(|| panic!("{name}: data"));
        assert!(plan["name"].is_string(), "{name}");
        assert!(plan["milestones"].as_array().is_some_and(|m| !m.is_empty()));
        assert_eq!(e.environment.as_deref(), Some("production"));
    }
}

#[test]
fn samples_are_fresh_copies() {
    let mut first = sample("feature-created");
    first.id = 1;
    first.tags.clear();
    let second = sample("feature-created");
    assert_eq!(second.id, 27332);
    assert_eq!(second.tags.len(), 1);
}
