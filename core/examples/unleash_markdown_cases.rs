//! Writes `core/tests/fixtures/unleash-markdown-cases.json`: the events whose `eventMarkdown` the
//! differential test compares with Unleash's own formatter. `tools/unleash-md` runs Unleash 7.5.1's
//! webhook addon on these cases to produce the fixture (`make unleash-fixture` runs both steps).
//!
//! The cases are built here, from the catalog's samples, so the samples live in one place: every
//! catalog type with and without a trailing slash on the Unleash URL, then edge cases that pin down
//! Unleash's quirks (no escaping, `undefined`/`null` in the text, empty bold markers, strategy
//! change details, types outside the catalog).
//!
//! Run: `cargo run -p hookline-core --example unleash_markdown_cases [OUTPUT]`.

use std::path::PathBuf;

use hookline_core::catalog::{sample_event, EVENT_TYPES};
use hookline_core::event::Event;
use serde_json::{json, Value};

const URL: &str = "https://unleash.example.com";
const URL_SLASH: &str = "https://unleash.example.com/";

struct Cases(Vec<Value>);

impl Cases {
    fn add(&mut self, name: impl Into<String>, unleash_url: &str, event: &Event) {
        self.0.push(json!({ "name": name.into(), "unleashUrl": unleash_url, "event": event.to_value() }));
    }
}

fn sample(name: &str) -> Event {
    sample_event(name).unwrap_or_else(|| panic!("{name} has no sample"))
}

/// The sample of `name`, changed by `change`.
fn edited(name: &str, change: impl FnOnce(&mut Event)) -> Event {
    let mut event = sample(name);
    change(&mut event);
    event
}

/// An event of a type outside the catalog, on the sample flag, project and environment.
fn foreign(event_type: &str, data: Option<Value>, pre_data: Option<Value>) -> Event {
    let mut event = sample("feature-environment-enabled");
    event.event_type = event_type.to_owned();
    event.data = data;
    event.pre_data = pre_data;
    event
}

/// A strategy update whose `preData`/`data` are `before`/`after`.
fn strategy_update(before: Option<Value>, after: Option<Value>) -> Event {
    edited("feature-strategy-update", |e| {
        e.pre_data = before;
        e.data = after;
    })
}

fn strategy(name: &str, title: Value, parameters: Value, constraints: Value, segments: Value) -> Value {
    json!({
        "id": "9d4c2e61-3b7a-4f0e-a5d8-2c6f1b8e7a34",
        "name": name,
        "title": title,
        "disabled": false,
        "constraints": constraints,
        "parameters": parameters,
        "variants": [],
        "sortOrder": 0,
        "segments": segments
    })
}

fn rollout(rollout: Value, stickiness: &str, group_id: &str) -> Value {
    json!({ "groupId": group_id, "rollout": rollout, "stickiness": stickiness })
}

fn country_in(values: &[&str]) -> Value {
    json!({ "contextName": "country", "operator": "IN", "values": values, "caseInsensitive": false, "inverted": false })
}

fn sample_cases(cases: &mut Cases) {
    for t in &EVENT_TYPES {
        let event = sample(t.name);
        cases.add(t.name, URL, &event);
        cases.add(format!("{} (trailing slash)", t.name), URL_SLASH, &event);
    }
}

fn name_cases(cases: &mut Cases) {
    let specials = |name: &str| {
        edited(name, |e| {
            e.created_by = "first_last*@example.com".to_owned();
            e.feature_name = Some(r#"a_b*c[d]\e"f"#.to_owned());
            e.project = Some(r#"team_[x]*\"y""#.to_owned());
            e.environment = Some("prod_[eu]*".to_owned());
        })
    };
    for name in [
        "feature-created",
        "feature-archived",
        "feature-environment-enabled",
        "change-request-created",
        "change-added",
        "release-plan-progressions-paused",
    ] {
        cases.add(format!("{name}: markdown specials in names"), URL, &specials(name));
    }
    let tagged = edited("feature-tagged", |e| {
        e.data = Some(json!({ "type": "simple_*", "value": "`q4`_[exp]\\\n\"next line\"" }));
    });
    cases.add("feature-tagged: markdown specials and a line break in the tag", URL, &tagged);
    let titled = edited("feature-strategy-add", |e| {
        if let Some(data) = e.data.as_mut() {
            data["title"] = json!("EU *only* [beta]_1");
        }
    });
    cases.add("feature-strategy-add: markdown specials in the strategy title", URL, &titled);

    for name in ["feature-created", "feature-archived", "feature-metadata-updated", "feature-stale-off"] {
        let odd = edited(name, |e| e.feature_name = Some("esc.flag_~-1".to_owned()));
        cases.add(format!("{name}: flag esc.flag_~-1"), URL, &odd);
    }
    let odd = edited("feature-created", |e| {
        e.feature_name = Some("flag with spaces/and slash?q=1#x".to_owned());
        e.project = Some("Web Shop ü".to_owned());
    });
    cases.add("feature-created: URL-unsafe names", URL, &odd);
}

fn missing_field_cases(cases: &mut Cases) {
    for name in [
        "feature-created",
        "feature-archived",
        "feature-project-change",
        "feature-environment-enabled",
        "feature-strategy-update",
        "feature-completed",
        "change-request-created",
        "change-added",
        "change-request-schedule-suspended",
        "release-plan-progressions-resumed",
    ] {
        cases.add(format!("{name}: no project"), URL, &edited(name, |e| e.project = None));
    }
    for name in [
        "feature-created",
        "feature-stale-on",
        "feature-strategy-add",
        "feature-potentially-stale-on",
        "change-added",
        "change-request-applied",
    ] {
        cases.add(format!("{name}: no flag"), URL, &edited(name, |e| e.feature_name = None));
    }
    for name in [
        "feature-environment-disabled",
        "feature-strategy-remove",
        "feature-strategy-update",
        "change-request-approved",
        "release-plan-progressions-paused",
    ] {
        cases.add(format!("{name}: no environment"), URL, &edited(name, |e| e.environment = None));
    }
    for name in [
        "feature-created",
        "feature-updated",
        "feature-variants-updated",
        "feature-tagged",
        "change-request-scheduled-application-success",
        "change-request-scheduled-application-failure",
    ] {
        cases.add(format!("{name}: no createdBy"), URL, &edited(name, |e| e.created_by = String::new()));
    }
    for name in [
        "feature-project-change",
        "feature-strategy-add",
        "feature-strategy-remove",
        "feature-strategy-update",
        "feature-tagged",
        "feature-untagged",
        "change-request-created",
        "change-request-scheduled",
        "change-request-schedule-suspended",
    ] {
        let bare = edited(name, |e| {
            e.data = None;
            e.pre_data = None;
        });
        cases.add(format!("{name}: null data and preData"), URL, &bare);
    }
    let empty = Event {
        id: 1,
        event_type: "feature-created".to_owned(),
        created_by: String::new(),
        created_at: "2024-10-03T11:09:53.225Z".to_owned(),
        created_by_user_id: None,
        data: None,
        pre_data: None,
        tags: Vec::new(),
        feature_name: None,
        project: None,
        environment: None,
    };
    cases.add("feature-created: nothing but the type", URL, &empty);
    let empty = Event { event_type: "change-request-approved".to_owned(), ..empty };
    cases.add("change-request-approved: nothing but the type", URL, &empty);
}

fn payload_cases(cases: &mut Cases) {
    let old_project = edited("feature-project-change", |e| e.data = Some(json!({ "newProject": "web-shop" })));
    cases.add("feature-project-change: no oldProject", URL, &old_project);
    let value_only = edited("feature-tagged", |e| e.data = Some(json!({ "value": "q4-experiment" })));
    cases.add("feature-tagged: tag without a type", URL, &value_only);
    let numeric = edited("feature-untagged", |e| e.pre_data = Some(json!({ "type": "simple", "value": 2024 })));
    cases.add("feature-untagged: numeric tag value", URL, &numeric);

    let cr = |name: &str, data: Value| edited(name, |e| e.data = Some(data));
    cases.add(
        "change-request-approved: id as a string",
        URL,
        &cr("change-request-approved", json!({ "changeRequestId": "42" })),
    );
    cases.add("change-request-approved: id 0", URL, &cr("change-request-approved", json!({ "changeRequestId": 0 })));
    cases.add("change-request-applied: no id", URL, &cr("change-request-applied", json!({})));
    let from_pre = edited("change-request-cancelled", |e| {
        e.data = None;
        e.pre_data = Some(json!({ "changeRequestId": 44 }));
    });
    cases.add("change-request-cancelled: id only in preData", URL, &from_pre);
    let on_flag = edited("change-request-created", |e| e.feature_name = Some("checkout-redesign".to_owned()));
    cases.add("change-request-created: on a flag", URL, &on_flag);
    cases.add(
        "change-request-scheduled: no date",
        URL,
        &cr("change-request-scheduled", json!({ "changeRequestId": 42 })),
    );
    let reason = cr("change-request-schedule-suspended", json!({ "changeRequestId": 46, "reason": ["a", null, 1.5] }));
    cases.add("change-request-schedule-suspended: reason is a list", URL, &reason);
    let reason = cr("change-request-schedule-suspended", json!({ "changeRequestId": 46, "reason": { "code": 1 } }));
    cases.add("change-request-schedule-suspended: reason is an object", URL, &reason);
    let reason = cr("change-request-schedule-suspended", json!({ "changeRequestId": 46, "reason": false }));
    cases.add("change-request-schedule-suspended: reason is false", URL, &reason);
    cases.add(
        "change-request-created: no project (trailing slash)",
        URL_SLASH,
        &edited("change-request-created", |e| e.project = None),
    );
    cases.add(
        "feature-archived: no project (trailing slash)",
        URL_SLASH,
        &edited("feature-archived", |e| e.project = None),
    );
}

fn strategy_cases(cases: &mut Cases) {
    let eu = country_in(&["DE", "FR", "NL"]);
    let flexible = |title: Value, params: Value, constraints: Value, segments: Value| {
        strategy("flexibleRollout", title, params, constraints, segments)
    };
    let title = || json!("Gradual rollout to EU customers");

    let before = flexible(title(), rollout(json!("25"), "default", "checkout-redesign"), json!([eu]), json!([]));
    let after = flexible(
        title(),
        rollout(json!("25"), "userId", "checkout-v2"),
        json!([
            country_in(&["DE", "FR"]),
            { "contextName": "appName", "operator": "NOT_IN", "values": ["legacy"], "inverted": true, "caseInsensitive": false },
            { "contextName": "age", "operator": "NUM_GTE", "value": "18", "values": [], "inverted": false },
            { "contextName": "version", "operator": "SEMVER_LT", "value": "2.0.0", "inverted": true },
            { "contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com", null, ["x", "y"]] },
            { "contextName": "custom", "operator": "SOME_NEW_OPERATOR", "values": ["v"] }
        ]),
        json!([3, 7]),
    );
    cases.add(
        "feature-strategy-update: stickiness, groupId, constraints, segments",
        URL,
        &strategy_update(Some(before.clone()), Some(after)),
    );

    let no_rollout =
        flexible(title(), json!({ "groupId": "checkout-redesign", "stickiness": "default" }), json!([eu]), json!([]));
    let with_rollout = flexible(title(), rollout(json!("50"), "default", "checkout-redesign"), json!([eu]), json!([]));
    cases.add(
        "feature-strategy-update: rollout first set",
        URL,
        &strategy_update(Some(no_rollout), Some(with_rollout.clone())),
    );
    let numeric = flexible(title(), rollout(json!(50), "default", "checkout-redesign"), json!([eu]), json!([]));
    cases.add(
        "feature-strategy-update: rollout string to number",
        URL,
        &strategy_update(Some(with_rollout.clone()), Some(numeric)),
    );
    let odd_numbers = |r: Value, g: Value| {
        flexible(title(), json!({ "groupId": g, "rollout": r, "stickiness": "default" }), json!([]), json!([]))
    };
    cases.add(
        "feature-strategy-update: number formatting",
        URL,
        &strategy_update(Some(odd_numbers(json!(12.5), json!(1e21))), Some(odd_numbers(json!(0.000001), json!(1e-7)))),
    );
    cases.add(
        "feature-strategy-update: big integers",
        URL,
        &strategy_update(
            Some(odd_numbers(json!(100), json!(12345678901234567890_u64))),
            Some(odd_numbers(json!(-0.0), json!(123456789012345678_i64))),
        ),
    );
    cases.add(
        "feature-strategy-update: only the new strategy",
        URL,
        &strategy_update(None, Some(with_rollout.clone())),
    );
    cases.add("feature-strategy-update: only the old strategy", URL, &strategy_update(Some(before.clone()), None));
    let unchanged = {
        let mut after = before.clone();
        after["disabled"] = json!(true);
        after
    };
    cases.add(
        "feature-strategy-update: only disabled changes",
        URL,
        &strategy_update(Some(before.clone()), Some(unchanged)),
    );
    let renamed = {
        let mut after = with_rollout.clone();
        after["title"] = json!("Renamed rollout");
        after
    };
    cases.add(
        "feature-strategy-update: title changes (old title shown)",
        URL,
        &strategy_update(Some(before.clone()), Some(renamed)),
    );
    let untitled = |p: Value| flexible(Value::Null, p, json!([]), json!([]));
    cases.add(
        "feature-strategy-update: untitled strategy",
        URL,
        &strategy_update(
            Some(untitled(rollout(json!("10"), "default", "g"))),
            Some(untitled(rollout(json!("20"), "default", "g"))),
        ),
    );
    let blank_title = |p: Value| flexible(json!(""), p, json!([]), json!([]));
    cases.add(
        "feature-strategy-update: blank title, new strategy only",
        URL,
        &strategy_update(None, Some(blank_title(rollout(json!("20"), "default", "g")))),
    );

    let default_strategy =
        |constraints: Value, segments: Value| strategy("default", json!(null), json!({}), constraints, segments);
    cases.add(
        "feature-strategy-update: default strategy constraints and segments",
        URL,
        &strategy_update(
            Some(default_strategy(json!([]), json!([1]))),
            Some(default_strategy(
                json!([{ "contextName": "userId", "operator": "STR_CONTAINS", "values": ["a", "b"], "inverted": false }]),
                json!([]),
            )),
        ),
    );
    cases.add(
        "feature-strategy-update: default strategy unchanged",
        URL,
        &strategy_update(Some(default_strategy(json!([]), json!([]))), Some(default_strategy(json!([]), json!([])))),
    );
    let remote = |ips: Value| strategy("remoteAddress", json!(null), json!({ "IPs": ips }), json!([]), json!([]));
    cases.add(
        "feature-strategy-update: remoteAddress IPs",
        URL,
        &strategy_update(Some(remote(json!("10.0.0.1"))), Some(remote(json!("10.0.0.1,10.0.0.2")))),
    );
    cases.add(
        "feature-strategy-update: remoteAddress IPs from empty",
        URL,
        &strategy_update(Some(remote(json!(""))), Some(remote(json!("10.0.0.1")))),
    );
    let hosts =
        |h: Value| strategy("applicationHostname", json!("Hosts"), json!({ "hostNames": h }), json!([eu]), json!([]));
    cases.add(
        "feature-strategy-update: applicationHostname, new strategy only",
        URL,
        &strategy_update(None, Some(hosts(json!("web-1,web-2")))),
    );
    cases.add(
        "feature-strategy-update: applicationHostname unchanged hosts, constraints dropped",
        URL,
        &strategy_update(
            Some(hosts(json!("web-1"))),
            Some(strategy(
                "applicationHostname",
                json!("Hosts"),
                json!({ "hostNames": "web-1" }),
                json!([]),
                json!([]),
            )),
        ),
    );
    let user_ids =
        |ids: &str| strategy("userWithId", json!("Beta users"), json!({ "userIds": ids }), json!([]), json!([]));
    cases.add(
        "feature-strategy-update: other strategy type",
        URL,
        &strategy_update(Some(user_ids("1,2")), Some(user_ids("1,2,3"))),
    );
    let no_env = edited("feature-strategy-update", |e| e.environment = None);
    cases.add(
        "feature-strategy-update: other strategy type, no environment",
        URL,
        &Event { data: Some(user_ids("1")), pre_data: None, ..no_env },
    );

    // Payloads on which Unleash's formatter throws (so Unleash sends nothing): recorded with the
    // error; Hookline still writes a sentence.
    let null_constraints = flexible(title(), rollout(json!("50"), "default", "g"), Value::Null, json!([]));
    cases.add(
        "feature-strategy-update: null constraints (Unleash throws)",
        URL,
        &strategy_update(Some(before.clone()), Some(null_constraints)),
    );
    let no_params = json!({ "name": "remoteAddress", "constraints": [], "segments": [] });
    cases.add(
        "feature-strategy-update: remoteAddress without parameters (Unleash throws)",
        URL,
        &strategy_update(Some(no_params), Some(remote(json!("10.0.0.1")))),
    );
}

fn foreign_cases(cases: &mut Cases) {
    let flag = json!({ "name": "checkout-redesign", "project": "web-shop" });
    let list = [
        ("feature-environment-variants-updated", Some(json!({ "variants": [] })), Some(json!({ "variants": [] }))),
        ("feature-deleted", None, Some(flag.clone())),
        ("feature-favorited", None, None),
        ("project-created", Some(json!({ "id": "web-shop", "name": "Web shop" })), None),
        ("project-archived", None, None),
        ("project-deleted", None, None),
        ("user-created", Some(json!({ "id": 5, "name": "Jane Doe", "email": "jane@example.com" })), None),
        ("user-updated", Some(json!({ "name": "Jane Roe" })), Some(json!({ "name": "Jane Doe" }))),
        ("user-deleted", None, Some(json!({ "name": "Jane Doe" }))),
        ("segment-created", Some(json!({ "name": "beta users" })), None),
        ("segment-updated", Some(json!({ "name": "beta" })), Some(json!({ "name": "beta users" }))),
        ("group-deleted", None, Some(json!({ "name": "admins" }))),
        ("context-field-created", Some(json!({ "name": "tenant" })), None),
        ("api-token-created", Some(json!({ "username": "ci-token" })), None),
        ("api-token-deleted", None, Some(json!({ "username": "ci-token" }))),
        ("addon-config-created", Some(json!({ "provider": "webhook" })), None),
        ("addon-config-updated", Some(json!({ "provider": "webhook" })), Some(json!({ "provider": "slack" }))),
        ("banner-created", Some(json!({ "message": "Maintenance *tonight*" })), None),
        ("service-account-updated", None, Some(json!({ "name": "deployer" }))),
        ("release-plan-added", Some(json!({ "name": "Progressive rollout" })), None),
        ("release-plan-removed", None, Some(json!({ "name": "Progressive rollout" }))),
        (
            "release-plan-milestone-started",
            Some(json!({ "name": "Progressive rollout", "milestoneName": "50% of users" })),
            None,
        ),
        ("change-request-rejected", Some(json!({ "changeRequestId": 42 })), None),
        ("change-edited", Some(json!({ "changeRequestId": 42 })), None),
        ("something-new", Some(json!({ "name": "x" })), None),
    ];
    for (event_type, data, pre_data) in list {
        cases.add(format!("{event_type} (not in the catalog)"), URL, &foreign(event_type, data, pre_data));
    }
    let anonymous = Event { created_by: String::new(), ..foreign("user-deleted", None, None) };
    cases.add("user-deleted (not in the catalog): no createdBy, no preData", URL, &anonymous);
    let anonymous = Event { created_by: String::new(), ..foreign("something-new", None, None) };
    cases.add("something-new (not in the catalog): no createdBy", URL, &anonymous);
}

fn main() {
    let output = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unleash-markdown-cases.json")
    });
    let mut cases = Cases(Vec::new());
    sample_cases(&mut cases);
    name_cases(&mut cases);
    missing_field_cases(&mut cases);
    payload_cases(&mut cases);
    strategy_cases(&mut cases);
    foreign_cases(&mut cases);

    let mut names: Vec<&str> = cases.0.iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "case names are unique");

    let mut text = serde_json::to_string_pretty(&Value::Array(cases.0)).expect("JSON values serialise");
    text.push('\n');
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).expect("create the fixtures folder");
    }
    std::fs::write(&output, text).unwrap_or_else(|e| panic!("write {}: {e}", output.display()));
    println!("{count} cases written to {}", output.display());
}
