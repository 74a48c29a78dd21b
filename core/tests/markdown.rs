//! The one-line Markdown summary of events (`eventMarkdown`).

use hookline_core::catalog::{sample_event, EVENT_TYPES};
use hookline_core::event::{Event, Tag};
use hookline_core::markdown::event_markdown;
use serde_json::json;

const BASE: &str = "https://unleash.example.com";
const FLAG_LINK: &str =
    "*[checkout-redesign](https://unleash.example.com/projects/web-shop/features/checkout-redesign)*";
const PROJECT_LINK: &str = "*[web-shop](https://unleash.example.com/projects/web-shop)*";

fn sample(name: &str) -> Event {
    sample_event(name).unwrap_or_else(|| panic!("{name} has no sample"))
}

fn linked(name: &str) -> String {
    event_markdown(&sample(name), Some(BASE))
}

fn plain(name: &str) -> String {
    event_markdown(&sample(name), None)
}

fn bare_event(event_type: &str) -> Event {
    Event {
        id: 1,
        event_type: event_type.to_owned(),
        created_by: String::new(),
        created_at: "2024-10-03T11:09:53.225Z".to_owned(),
        created_by_user_id: None,
        data: None,
        pre_data: None,
        tags: Vec::<Tag>::new(),
        feature_name: None,
        project: None,
        environment: None,
    }
}

#[test]
fn reference_example_is_reproduced_exactly() {
    let event = Event {
        created_by: "some@user.com".to_owned(),
        feature_name: Some("some-toggle".to_owned()),
        project: Some("default".to_owned()),
        ..bare_event("feature-created")
    };
    assert_eq!(
        event_markdown(&event, Some("http://unleash.example")),
        "*some@user.com* created *[some-toggle](http://unleash.example/projects/default/features/some-toggle)* in project *[default](http://unleash.example/projects/default)*"
    );
}

#[test]
fn trailing_slash_and_blank_base_url_are_tolerated() {
    let event = sample("feature-created");
    assert_eq!(event_markdown(&event, Some("https://unleash.example.com/")), event_markdown(&event, Some(BASE)));
    assert_eq!(event_markdown(&event, Some("")), event_markdown(&event, None));
}

#[test]
fn without_base_url_names_are_bold_without_links() {
    assert_eq!(plain("feature-created"), "*user@example.com* created *checkout-redesign* in project *web-shop*");
    for t in &EVENT_TYPES {
        let md = plain(t.name);
        assert!(!md.contains("]("), "{}: {md}", t.name);
        assert!(!md.contains("http"), "{}: {md}", t.name);
    }
}

#[test]
fn every_sample_gives_one_clean_line() {
    for t in &EVENT_TYPES {
        for md in [plain(t.name), linked(t.name)] {
            assert!(!md.is_empty(), "{}", t.name);
            assert!(!md.contains('\n'), "{}: {md}", t.name);
            for word in ["undefined", "null", "None", "{{", "**"] {
                assert!(!md.contains(word), "{}: {md}", t.name);
            }
            assert_eq!(md.matches('*').count() % 2, 0, "{}: {md}", t.name);
        }
        // With a base URL every sample links to the project.
        assert!(linked(t.name).contains(PROJECT_LINK), "{}", t.name);
    }
}

#[test]
fn flag_lifecycle_wording() {
    let u = "*user@example.com*";
    let cases = [
        ("feature-created", format!("{u} created {FLAG_LINK} in project {PROJECT_LINK}")),
        (
            "feature-metadata-updated",
            format!("{u} updated the metadata of {FLAG_LINK} in project {PROJECT_LINK}"),
        ),
        (
            "feature-project-change",
            format!(
                "{u} moved {FLAG_LINK} from project *[default](https://unleash.example.com/projects/default)* to project {PROJECT_LINK}"
            ),
        ),
        ("feature-archived", format!("{u} archived {FLAG_LINK} in project {PROJECT_LINK}")),
        ("feature-revived", format!("{u} revived {FLAG_LINK} in project {PROJECT_LINK}")),
        ("feature-stale-on", format!("{u} marked {FLAG_LINK} as stale in project {PROJECT_LINK}")),
        (
            "feature-stale-off",
            format!("{u} removed the stale marking from {FLAG_LINK} in project {PROJECT_LINK}"),
        ),
        (
            "feature-completed",
            format!("{u} marked {FLAG_LINK} as completed in project {PROJECT_LINK}: the feature was *kept*"),
        ),
        (
            "feature-potentially-stale-on",
            format!("{FLAG_LINK} was marked as potentially stale in project {PROJECT_LINK}"),
        ),
        ("feature-updated", format!("{u} updated {FLAG_LINK} in project {PROJECT_LINK}")),
    ];
    for (name, expected) in cases {
        assert_eq!(linked(name), expected, "{name}");
    }
}

#[test]
fn completed_discarded_is_worded() {
    let event = Event { data: Some(json!({ "kept": false, "status": "discarded" })), ..sample("feature-completed") };
    assert!(event_markdown(&event, None).ends_with("the feature was *discarded*"));
    let legacy = Event { data: Some(json!({ "kept": false })), ..sample("feature-completed") };
    assert!(event_markdown(&legacy, None).ends_with("the feature was *discarded*"));
}

#[test]
fn strategy_wording() {
    let u = "*user@example.com*";
    let strategy = "*Gradual rollout to EU customers*";
    assert_eq!(
        linked("feature-strategy-add"),
        format!(
            "{u} added strategy {strategy} to {FLAG_LINK} for the *production* environment in project {PROJECT_LINK}"
        )
    );
    assert_eq!(
        linked("feature-strategy-remove"),
        format!("{u} removed strategy {strategy} from {FLAG_LINK} for the *production* environment in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("feature-strategy-update"),
        format!("{u} updated {FLAG_LINK} in project {PROJECT_LINK} by changing the rollout of strategy {strategy} from *25%* to *50%* in *production*")
    );
}

#[test]
fn strategy_update_without_title_or_rollout_change_uses_the_name() {
    let mut event = sample("feature-strategy-update");
    for payload in [event.data.as_mut(), event.pre_data.as_mut()].into_iter().flatten() {
        payload["title"] = json!(null);
        payload["parameters"]["rollout"] = json!("50");
    }
    assert_eq!(
        event_markdown(&event, None),
        "*user@example.com* updated *checkout-redesign* in project *web-shop* by updating strategy *flexibleRollout* in *production*"
    );
    if let Some(data) = event.data.as_mut() {
        data["disabled"] = json!(true);
    }
    assert!(event_markdown(&event, None).ends_with("by disabling strategy *flexibleRollout* in *production*"));
}

#[test]
fn environment_wording() {
    let u = "*user@example.com*";
    assert_eq!(
        linked("feature-environment-enabled"),
        format!("{u} enabled {FLAG_LINK} for the *production* environment in project {PROJECT_LINK}")
    );
    assert_eq!(
        plain("feature-environment-disabled"),
        format!("{u} disabled *checkout-redesign* for the *production* environment in project *web-shop*")
    );
}

#[test]
fn variants_and_tags_wording() {
    let u = "*user@example.com*";
    assert_eq!(
        linked("feature-variants-updated"),
        format!("{u} set the variants of {FLAG_LINK} to *classic*, *one-page* in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("feature-tagged"),
        format!("{u} tagged {FLAG_LINK} with *simple:q4-experiment* in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("feature-untagged"),
        format!("{u} removed the tag *simple:q4-experiment* from {FLAG_LINK} in project {PROJECT_LINK}")
    );
    let cleared = Event { data: Some(json!({ "variants": [] })), ..sample("feature-variants-updated") };
    assert_eq!(
        event_markdown(&cleared, None),
        "*user@example.com* removed all variants of *checkout-redesign* in project *web-shop*"
    );
}

#[test]
fn change_request_wording_links_the_change_request() {
    let cr = "change request *[#42](https://unleash.example.com/projects/web-shop/change-requests/42)*";
    let u = "*user@example.com*";
    let r = "*reviewer@example.com*";
    assert_eq!(linked("change-request-created"), format!("{u} created {cr} in project {PROJECT_LINK}"));
    assert_eq!(linked("change-request-approved"), format!("{r} approved {cr} in project {PROJECT_LINK}"));
    assert_eq!(
        linked("change-request-approval-added"),
        format!("{r} added an approval to {cr} in project {PROJECT_LINK}")
    );
    assert_eq!(linked("change-request-sent-to-review"), format!("{u} sent {cr} in project {PROJECT_LINK} to review"));
    assert_eq!(linked("change-request-applied"), format!("{u} applied {cr} in project {PROJECT_LINK}"));
    assert_eq!(linked("change-added"), format!("{u} added a change on {FLAG_LINK} to {cr} in project {PROJECT_LINK}"));
    assert_eq!(
        linked("change-discarded"),
        format!("{u} discarded a change on {FLAG_LINK} from {cr} in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("change-request-scheduled"),
        format!("{u} scheduled {cr} in project {PROJECT_LINK} to be applied at *2024-10-10T06:00:00.000Z*")
    );
    assert_eq!(
        linked("change-request-scheduled-application-success"),
        format!("The scheduled {cr} by {u} in project {PROJECT_LINK} was applied successfully")
    );
    assert!(linked("change-request-scheduled-application-failure")
        .contains("failed to apply: The flag checkout-redesign was archived"));
    assert!(linked("change-request-schedule-suspended").starts_with(
        "The schedule of change request *[#46](https://unleash.example.com/projects/web-shop/change-requests/46)* in project"
    ));
    assert!(linked("change-request-schedule-suspended").contains("was suspended: The user who scheduled"));
    assert_eq!(
        plain("change-request-cancelled"),
        "*user@example.com* cancelled change request *#44* in project *web-shop*"
    );
    assert_eq!(
        plain("change-request-discarded"),
        "*user@example.com* discarded change request *#43* in project *web-shop*"
    );
}

#[test]
fn release_plan_wording() {
    assert_eq!(
        linked("release-plan-progressions-paused"),
        format!("Progressions of release plan *Progressive rollout* were paused for {FLAG_LINK} in the *production* environment in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("release-plan-progressions-resumed"),
        format!("*user@example.com* resumed the progressions of release plan *Progressive rollout* for {FLAG_LINK} in the *production* environment in project {PROJECT_LINK}")
    );
}

#[test]
fn unknown_types_say_what_was_triggered() {
    let event = Event {
        created_by: "admin@example.com".to_owned(),
        feature_name: Some("checkout-redesign".to_owned()),
        project: Some("web-shop".to_owned()),
        environment: Some("production".to_owned()),
        ..bare_event("feature-environment-variants-updated")
    };
    assert_eq!(
        event_markdown(&event, Some(BASE)),
        format!("*admin@example.com* triggered *feature-environment-variants-updated* on {FLAG_LINK} for the *production* environment in project {PROJECT_LINK}")
    );
    assert_eq!(event_markdown(&bare_event("user-created"), Some(BASE)), "Someone triggered *user-created*");
}

#[test]
fn missing_fields_degrade_gracefully() {
    assert_eq!(event_markdown(&bare_event("feature-created"), Some(BASE)), "Someone created a feature flag");
    // A flag without a project can't be linked: bold only.
    let no_project = Event {
        created_by: "user@example.com".to_owned(),
        feature_name: Some("checkout-redesign".to_owned()),
        ..bare_event("feature-environment-enabled")
    };
    assert_eq!(event_markdown(&no_project, Some(BASE)), "*user@example.com* enabled *checkout-redesign*");
    assert_eq!(event_markdown(&bare_event("change-request-approved"), Some(BASE)), "Someone approved a change request");
    assert_eq!(event_markdown(&bare_event("feature-strategy-add"), None), "Someone added a strategy to a feature flag");
    assert_eq!(event_markdown(&bare_event("feature-tagged"), None), "Someone tagged a feature flag");
    assert_eq!(
        event_markdown(&bare_event("feature-project-change"), None),
        "Someone moved a feature flag to another project"
    );
    assert_eq!(event_markdown(&bare_event("change-request-scheduled"), None), "Someone scheduled a change request");
    assert_eq!(
        event_markdown(&bare_event("change-request-scheduled-application-success"), None),
        "A scheduled change request was applied successfully"
    );
    assert_eq!(
        event_markdown(&bare_event("release-plan-progressions-paused"), None),
        "Progressions of the release plan were paused for a feature flag"
    );
    // Every type with everything missing, and with blank strings and JSON nulls instead.
    for t in &EVENT_TYPES {
        let blank = Event {
            created_by: "  ".to_owned(),
            data: Some(json!(null)),
            pre_data: Some(json!({ "title": null, "name": "", "type": null, "value": null })),
            feature_name: Some(String::new()),
            project: Some(String::new()),
            environment: Some(String::new()),
            ..bare_event(t.name)
        };
        for event in [bare_event(t.name), blank] {
            for md in [event_markdown(&event, Some(BASE)), event_markdown(&event, None)] {
                for word in ["undefined", "null", "None", "**", "  ", "#"] {
                    assert!(!md.contains(word), "{}: {md}", t.name);
                }
                assert!(!md.contains("]("), "{}: nothing to link: {md}", t.name);
                assert!(!md.ends_with(' ') && !md.starts_with(' '), "{}: {md:?}", t.name);
            }
        }
    }
}

#[test]
fn names_are_markdown_escaped_and_urls_encoded() {
    let event = Event {
        created_by: "first_last@example.com".to_owned(),
        feature_name: Some("a_b*c".to_owned()),
        project: Some("team [x]".to_owned()),
        ..bare_event("feature-tagged")
    };
    let event = Event { data: Some(json!({ "type": "simple", "value": "`code`\nnext" })), ..event };
    assert_eq!(
        event_markdown(&event, None),
        r"*first\_last@example.com* tagged *a\_b\*c* with *simple:\`code\` next* in project *team \[x\]*"
    );
    assert_eq!(
        event_markdown(&event, Some(BASE)),
        r"*first\_last@example.com* tagged *[a\_b\*c](https://unleash.example.com/projects/team%20%5Bx%5D/features/a_b%2Ac)* with *simple:\`code\` next* in project *[team \[x\]](https://unleash.example.com/projects/team%20%5Bx%5D)*"
    );
}
