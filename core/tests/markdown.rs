//! The one-line Markdown summary of events (`eventMarkdown`): Unleash 7.5.1's wording, spelled out
//! for the cases users compare most. `unleash_markdown.rs` checks every case against Unleash's own
//! output; these tests say the important sentences in plain view.

use hookline_core::catalog::{sample_event, EVENT_TYPES};
use hookline_core::event::{Event, Tag};
use hookline_core::markdown::event_markdown;
use serde_json::json;

const BASE: &str = "https://unleash.example.com";
const FLAG_LINK: &str =
    "*[checkout-redesign](https://unleash.example.com/projects/web-shop/features/checkout-redesign)*";
const PROJECT_LINK: &str = "*[web-shop](https://unleash.example.com/projects/web-shop)*";
const USER: &str = "*user@example.com*";

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
fn the_base_url_is_used_as_given() {
    // Unleash concatenates: a trailing slash on its URL doubles the slash in every link.
    assert_eq!(
        event_markdown(&sample("feature-created"), Some("https://unleash.example.com/")),
        "*user@example.com* created *[checkout-redesign](https://unleash.example.com//projects/web-shop/features/checkout-redesign)* in project *[web-shop](https://unleash.example.com//projects/web-shop)*"
    );
}

#[test]
fn without_base_url_names_are_bold_without_links() {
    assert_eq!(plain("feature-created"), "*user@example.com* created *checkout-redesign* in project *web-shop*");
    assert_eq!(
        plain("change-added"),
        "*user@example.com* added a change to change request *#42* for feature flag *checkout-redesign* in the *production* environment in project *web-shop*"
    );
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
            for word in ["undefined", "null", "None", "{", "**"] {
                assert!(!md.contains(word), "{}: {md}", t.name);
            }
            assert_eq!(md.matches('*').count() % 2, 0, "{}: {md}", t.name);
        }
    }
}

/// The sentences users reported as different from Unleash's.
#[test]
fn reported_divergences_now_read_as_in_unleash() {
    assert_eq!(
        linked("feature-metadata-updated"),
        format!("{USER} updated {FLAG_LINK} metadata in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("feature-untagged"),
        format!("{USER} untagged {FLAG_LINK} with *simple:q4-experiment* in project {PROJECT_LINK}")
    );
    // Archived flags have no page to link to.
    assert_eq!(linked("feature-archived"), format!("{USER} archived *checkout-redesign* in project {PROJECT_LINK}"));
    assert_eq!(
        linked("feature-stale-off"),
        format!("{USER} removed the stale marking on {FLAG_LINK} in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("feature-strategy-update"),
        format!("{USER} updated {FLAG_LINK} in project {PROJECT_LINK} by updating strategy *Gradual rollout to EU customers* in *production* rollout from 25% to 50%")
    );
    // Names are written as they are: no Markdown escaping, no URL encoding.
    let odd = Event { feature_name: Some("esc.flag_~-1".to_owned()), ..sample("feature-created") };
    assert_eq!(
        event_markdown(&odd, Some(BASE)),
        format!("{USER} created *[esc.flag_~-1](https://unleash.example.com/projects/web-shop/features/esc.flag_~-1)* in project {PROJECT_LINK}")
    );
}

#[test]
fn flag_lifecycle_wording() {
    let cases = [
        ("feature-created", format!("{USER} created {FLAG_LINK} in project {PROJECT_LINK}")),
        ("feature-project-change", format!("{USER} moved {FLAG_LINK} from *default* to {PROJECT_LINK}")),
        ("feature-revived", format!("{USER} revived {FLAG_LINK} in project {PROJECT_LINK}")),
        ("feature-stale-on", format!("{USER} marked {FLAG_LINK} as stale in project {PROJECT_LINK}")),
        ("feature-completed", format!("{FLAG_LINK} was marked as completed in project {PROJECT_LINK}")),
        (
            "feature-potentially-stale-on",
            format!("{FLAG_LINK} was marked as potentially stale in project {PROJECT_LINK}"),
        ),
        // Unleash has no sentence for these two types.
        ("feature-updated", format!("{USER} triggered *feature-updated*")),
        ("feature-variants-updated", format!("{USER} triggered *feature-variants-updated*")),
    ];
    for (name, expected) in cases {
        assert_eq!(linked(name), expected, "{name}");
    }
}

#[test]
fn strategy_and_environment_wording() {
    let strategy = "*Gradual rollout to EU customers*";
    let env = "for the *production* environment";
    assert_eq!(
        linked("feature-strategy-add"),
        format!("{USER} added strategy {strategy} to {FLAG_LINK} {env} in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("feature-strategy-remove"),
        format!("{USER} removed strategy {strategy} from {FLAG_LINK} {env} in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("feature-environment-enabled"),
        format!("{USER} enabled {FLAG_LINK} {env} in project {PROJECT_LINK}")
    );
    assert_eq!(
        plain("feature-environment-disabled"),
        "*user@example.com* disabled *checkout-redesign* for the *production* environment in project *web-shop*"
    );
}

#[test]
fn strategy_update_describes_what_changed() {
    let mut event = sample("feature-strategy-update");
    if let Some(data) = event.data.as_mut() {
        data["parameters"]["stickiness"] = json!("userId");
        data["constraints"] = json!([]);
        data["segments"] = json!([4]);
    }
    assert_eq!(
        event_markdown(&event, None),
        "*user@example.com* updated *checkout-redesign* in project *web-shop* by updating strategy *Gradual rollout to EU customers* in *production* stickiness from default to userId; rollout from 25% to 50%; constraints from [country is one of (DE,FR,NL)] to empty set of constraints; segments from empty set of segments to (4)"
    );
    // Where Unleash's formatter would throw (a null constraint list), the details are dropped.
    if let Some(data) = event.data.as_mut() {
        data["constraints"] = json!(null);
    }
    assert_eq!(
        event_markdown(&event, None),
        "*user@example.com* updated *checkout-redesign* in project *web-shop* by updating strategy *Gradual rollout to EU customers* in *production*"
    );
}

#[test]
fn tags_wording() {
    assert_eq!(
        linked("feature-tagged"),
        format!("{USER} tagged {FLAG_LINK} with *simple:q4-experiment* in project {PROJECT_LINK}")
    );
}

#[test]
fn change_request_wording_links_the_change_request() {
    let cr = "change request *[#42](https://unleash.example.com/projects/web-shop/change-requests/42)* in the *production* environment in project *[web-shop](https://unleash.example.com/projects/web-shop)*";
    let r = "*reviewer@example.com*";
    assert_eq!(linked("change-request-created"), format!("{USER} created {cr}"));
    assert_eq!(linked("change-request-approved"), format!("{r} approved {cr}"));
    assert_eq!(linked("change-request-approval-added"), format!("{r} added an approval to {cr}"));
    assert_eq!(linked("change-request-sent-to-review"), format!("{USER} sent to review {cr}"));
    assert_eq!(linked("change-request-applied"), format!("{USER} applied {cr}"));
    assert_eq!(
        linked("change-request-scheduled"),
        format!("{USER} scheduled {cr} to be applied at 2024-10-10T06:00:00.000Z.")
    );
    assert_eq!(
        linked("change-request-scheduled-application-success"),
        format!("*Successfully* applied the scheduled {cr} by {USER}.")
    );
    assert_eq!(
        plain("change-request-scheduled-application-failure"),
        "*Failed* to apply the scheduled change request *#45* in the *production* environment in project *web-shop* by *user@example.com*."
    );
    assert_eq!(
        plain("change-request-schedule-suspended"),
        "Change request *#46* in the *production* environment in project *web-shop* was suspended for the following reason: The user who scheduled this change request was removed from the project"
    );
    // A change on a flag names the flag too.
    let on_flag = "change request *[#42](https://unleash.example.com/projects/web-shop/change-requests/42)* for feature flag *[checkout-redesign](https://unleash.example.com/projects/web-shop/features/checkout-redesign)* in the *production* environment in project *[web-shop](https://unleash.example.com/projects/web-shop)*";
    assert_eq!(linked("change-added"), format!("{USER} added a change to {on_flag}"));
    assert_eq!(linked("change-discarded"), format!("{USER} discarded a change in {on_flag}"));
}

#[test]
fn release_plan_wording() {
    assert_eq!(
        linked("release-plan-progressions-paused"),
        format!("*Release plan progressions paused* by safeguard for {FLAG_LINK} in the *production* environment in project {PROJECT_LINK}")
    );
    assert_eq!(
        linked("release-plan-progressions-resumed"),
        format!("{USER} resumed release plan progressions for {FLAG_LINK} in the *production* environment in project {PROJECT_LINK}")
    );
}

#[test]
fn types_outside_the_catalog_use_unleash_sentences_or_say_what_was_triggered() {
    let event = Event {
        created_by: "admin@example.com".to_owned(),
        feature_name: Some("checkout-redesign".to_owned()),
        project: Some("web-shop".to_owned()),
        environment: Some("production".to_owned()),
        ..bare_event("feature-environment-variants-updated")
    };
    assert_eq!(
        event_markdown(&event, Some(BASE)),
        format!("*admin@example.com* updated variants for {FLAG_LINK} for the *production* environment in project {PROJECT_LINK}")
    );
    let user =
        Event { created_by: "admin".to_owned(), data: Some(json!({ "name": "Jane" })), ..bare_event("user-created") };
    assert_eq!(event_markdown(&user, Some(BASE)), "*admin* created user *Jane*");
    let other = Event { created_by: "admin".to_owned(), ..bare_event("something-new") };
    assert_eq!(event_markdown(&other, Some(BASE)), "*admin* triggered *something-new*");
}

/// Unleash leaves empty bold markers (and a lone `*` in its code-built sentences) where a value is
/// missing, and links a flag without a project into project `null`.
#[test]
fn missing_fields_read_as_in_unleash() {
    assert_eq!(event_markdown(&bare_event("feature-created"), Some(BASE)), "** created ** in project **");
    assert_eq!(event_markdown(&bare_event("change-request-approved"), Some(BASE)), "** approved change request ");
    assert_eq!(event_markdown(&bare_event("something-new"), Some(BASE)), "* triggered *something-new*");
    let no_project = Event {
        created_by: "user@example.com".to_owned(),
        feature_name: Some("checkout-redesign".to_owned()),
        environment: Some("production".to_owned()),
        ..bare_event("feature-environment-enabled")
    };
    assert_eq!(
        event_markdown(&no_project, Some(BASE)),
        "*user@example.com* enabled *[checkout-redesign](https://unleash.example.com/projects/null/features/checkout-redesign)* for the *production* environment in project **"
    );
    let no_env = Event { environment: None, ..sample("feature-strategy-update") };
    assert!(event_markdown(&no_env, None)
        .ends_with("by updating strategy *Gradual rollout to EU customers* in * rollout from 25% to 50%"));
    // Every type, with everything missing, still gives a line (no panic, no line break).
    for t in &EVENT_TYPES {
        for base in [Some(BASE), None] {
            let md = event_markdown(&bare_event(t.name), base);
            assert!(!md.contains('\n'), "{}: {md}", t.name);
            assert!(!md.contains("]("), "{}: nothing to link: {md}", t.name);
        }
    }
}

#[test]
fn names_are_inserted_as_they_are() {
    let event = Event {
        created_by: "first_last@example.com".to_owned(),
        feature_name: Some("a_b*c".to_owned()),
        project: Some("team [x]".to_owned()),
        data: Some(json!({ "type": "simple", "value": "`code`\nnext" })),
        ..bare_event("feature-tagged")
    };
    assert_eq!(
        event_markdown(&event, None),
        "*first_last@example.com* tagged *a_b*c* with *simple:`code`\nnext* in project *team [x]*"
    );
    assert_eq!(
        event_markdown(&event, Some(BASE)),
        "*first_last@example.com* tagged *[a_b*c](https://unleash.example.com/projects/team [x]/features/a_b*c)* with *simple:`code`\nnext* in project *[team [x]](https://unleash.example.com/projects/team [x])*"
    );
}
