//! The sample event of each catalog type. The samples tell one consistent story: user
//! `user@example.com` (id 110) creates the flag `checkout-redesign` in project `web-shop`, rolls it
//! out in `production` through strategies, variants, tags and a change request, and finally
//! completes it. Payload shapes follow Unleash's (REFERENCE.md §1); change-request and release-plan
//! payloads come from Unleash Enterprise and carry the documented keys plus plausible extras.

use serde_json::{json, Value};

use crate::event::{Event, Tag};
use crate::operational::{NoticeKind, WebhookNotice, HOOKLINE_ACTOR};

const USER: &str = "user@example.com";
const USER_ID: i64 = 110;
/// Unleash's system user, the author of events nobody triggered by hand.
const SYSTEM_USER: &str = "unleash_system_user";
const SYSTEM_USER_ID: i64 = -1337;
const FLAG: &str = "checkout-redesign";
const PROJECT: &str = "web-shop";
const ENVIRONMENT: &str = "production";
const CHANGE_REQUEST_ID: i64 = 42;
const STRATEGY_ID: &str = "9d4c2e61-3b7a-4f0e-a5d8-2c6f1b8e7a34";
const RELEASE_PLAN_ID: &str = "01JB9GGTGQYEQ9D40R17T3YVW2";

fn tag(tag_type: &str, value: &str) -> Tag {
    Tag { tag_type: tag_type.to_owned(), value: value.to_owned() }
}

/// An event on the sample flag in the sample project, by the sample user, with the flag's tag.
fn flag_event(id: i64, event_type: &str, created_at: &str) -> Event {
    Event {
        id,
        event_type: event_type.to_owned(),
        created_by: USER.to_owned(),
        created_at: created_at.to_owned(),
        created_by_user_id: Some(USER_ID),
        data: None,
        pre_data: None,
        tags: vec![tag("simple", "team-checkout")],
        feature_name: Some(FLAG.to_owned()),
        project: Some(PROJECT.to_owned()),
        environment: None,
    }
}

/// An event on the sample flag in the `production` environment.
fn environment_event(id: i64, event_type: &str, created_at: &str) -> Event {
    Event { environment: Some(ENVIRONMENT.to_owned()), ..flag_event(id, event_type, created_at) }
}

/// An event about change request #42 (on `production`, not tied to one flag).
fn change_request_event(id: i64, event_type: &str, created_at: &str, data: Value) -> Event {
    Event { data: Some(data), tags: Vec::new(), feature_name: None, ..environment_event(id, event_type, created_at) }
}

/// An event about the Unleash instance rather than one flag: no flag, no tags, no environment;
/// `project` only where the thing belongs to one.
fn instance_event(id: i64, event_type: &str, created_at: &str, project: Option<&str>) -> Event {
    Event {
        tags: Vec::new(),
        feature_name: None,
        project: project.map(str::to_owned),
        ..flag_event(id, event_type, created_at)
    }
}

/// The Slack integration as Unleash records it in addon events (its parameters left out, as
/// Unleash leaves them out: they hold the webhook URL).
fn slack_addon(description: &str) -> Value {
    json!({
        "id": 7,
        "provider": "slack",
        "enabled": true,
        "description": description,
        "events": ["feature-created", "feature-environment-enabled", "feature-environment-disabled"],
        "projects": [PROJECT],
        "environments": [ENVIRONMENT],
        "createdAt": "2024-09-30T09:12:40.118Z"
    })
}

fn api_token() -> Value {
    json!({
        "tokenName": "checkout-backend",
        "username": "checkout-backend",
        "type": "backend",
        "environment": ENVIRONMENT,
        "project": PROJECT,
        "projects": [PROJECT],
        "expiresAt": null,
        "createdAt": "2024-09-30T09:20:05.771Z",
        "alias": null,
        "seenAt": null
    })
}

fn context_field(description: &str) -> Value {
    json!({
        "name": "country",
        "description": description,
        "legalValues": [{ "value": "DE" }, { "value": "FR" }, { "value": "NL" }],
        "stickiness": false,
        "sortOrder": 10
    })
}

fn group(description: &str) -> Value {
    json!({
        "id": 12,
        "name": "Checkout team",
        "description": description,
        "mappingsSSO": [],
        "rootRole": null,
        "users": [{ "user": { "id": USER_ID } }]
    })
}

fn banner(message: &str, enabled: bool) -> Value {
    json!({
        "id": 3,
        "message": message,
        "enabled": enabled,
        "variant": "info",
        "sticky": false,
        "icon": null,
        "link": null,
        "linkText": null,
        "dialogTitle": null,
        "dialog": null,
        "createdAt": "2024-10-01T08:00:12.402Z"
    })
}

fn segment(description: &str) -> Value {
    json!({
        "id": 5,
        "name": "eu-customers",
        "description": description,
        "project": PROJECT,
        "constraints": [{
            "contextName": "country",
            "operator": "IN",
            "values": ["DE", "FR", "NL"],
            "caseInsensitive": false,
            "inverted": false
        }],
        "createdBy": USER,
        "createdAt": "2024-10-02T10:31:57.264Z"
    })
}

fn service_account(root_role: i64) -> Value {
    json!({ "id": 121, "name": "CI pipeline", "username": "ci-pipeline", "rootRole": root_role })
}

fn user(name: &str) -> Value {
    json!({ "id": 118, "name": name, "email": "dana@example.com", "username": null, "rootRole": 2 })
}

fn by_system(event: Event) -> Event {
    Event { created_by: SYSTEM_USER.to_owned(), created_by_user_id: Some(SYSTEM_USER_ID), ..event }
}

/// The flag as Unleash stores it in `data`/`preData` of flag-level events.
fn flag(description: Value, impression_data: bool, stale: bool) -> Value {
    json!({
        "name": FLAG,
        "description": description,
        "type": "release",
        "project": PROJECT,
        "stale": stale,
        "createdAt": "2024-10-03T11:09:53.201Z",
        "lastSeenAt": null,
        "impressionData": impression_data,
        "archivedAt": null,
        "archived": false
    })
}

/// The flag's gradual-rollout strategy in `production` at `rollout` percent.
fn strategy(rollout: &str) -> Value {
    json!({
        "id": STRATEGY_ID,
        "name": "flexibleRollout",
        "title": "Gradual rollout to EU customers",
        "disabled": false,
        "constraints": [{
            "contextName": "country",
            "operator": "IN",
            "values": ["DE", "FR", "NL"],
            "caseInsensitive": false,
            "inverted": false
        }],
        "parameters": {
            "groupId": FLAG,
            "rollout": rollout,
            "stickiness": "default"
        },
        "variants": [],
        "sortOrder": 0,
        "segments": []
    })
}

fn variant(name: &str, weight: i64, layout: &str) -> Value {
    json!({
        "name": name,
        "weight": weight,
        "weightType": "variable",
        "stickiness": "default",
        "payload": { "type": "json", "value": format!("{{\"layout\":\"{layout}\"}}") },
        "overrides": []
    })
}

fn release_plan() -> Value {
    json!({
        "id": RELEASE_PLAN_ID,
        "name": "Progressive rollout",
        "description": "10% -> 50% -> 100% of users, one day apart",
        "featureName": FLAG,
        "environment": ENVIRONMENT,
        "activeMilestoneId": "01JB9GGTGR3V8K2N5Q7W1X4Z6A",
        "milestones": [
            { "id": "01JB9GGTGR0C5F7H9J2L4N6P8R", "name": "10% of users", "sortOrder": 0 },
            { "id": "01JB9GGTGR3V8K2N5Q7W1X4Z6A", "name": "50% of users", "sortOrder": 1 },
            { "id": "01JB9GGTGR6B1D3F5H7K9M2P4S", "name": "All users", "sortOrder": 2 }
        ]
    })
}

/// The sample event of the catalog type `name`; `None` only for a name without a sample.
pub(super) fn sample(name: &str) -> Option<Event> {
    let event = match name {
        "feature-created" => {
            Event { data: Some(flag(Value::Null, false, false)), ..flag_event(27332, name, "2024-10-03T11:09:53.225Z") }
        }
        "feature-metadata-updated" => Event {
            data: Some(flag(json!("One-page checkout with saved cards"), true, false)),
            pre_data: Some(flag(Value::Null, false, false)),
            ..flag_event(27335, name, "2024-10-03T11:14:02.518Z")
        },
        "feature-project-change" => Event {
            data: Some(json!({ "newProject": PROJECT, "oldProject": "default" })),
            ..flag_event(27338, name, "2024-10-03T11:20:44.093Z")
        },
        "feature-archived" => flag_event(27391, name, "2024-11-28T15:02:10.744Z"),
        "feature-revived" => flag_event(27392, name, "2024-11-28T15:04:37.120Z"),
        "feature-strategy-update" => Event {
            data: Some(strategy("50")),
            pre_data: Some(strategy("25")),
            ..environment_event(27347, name, "2024-10-07T09:31:18.402Z")
        },
        "feature-strategy-add" => {
            Event { data: Some(strategy("25")), ..environment_event(27341, name, "2024-10-03T13:47:05.861Z") }
        }
        "feature-strategy-remove" => {
            Event { pre_data: Some(strategy("50")), ..environment_event(27388, name, "2024-11-25T10:12:49.377Z") }
        }
        "feature-stale-on" => flag_event(27384, name, "2024-11-21T08:55:31.609Z"),
        "feature-stale-off" => flag_event(27386, name, "2024-11-22T16:40:12.275Z"),
        "feature-completed" => Event {
            data: Some(json!({ "kept": true, "status": "kept" })),
            ..flag_event(27389, name, "2024-11-26T14:18:26.930Z")
        },
        "feature-environment-enabled" => environment_event(27343, name, "2024-10-03T14:02:57.014Z"),
        "feature-environment-disabled" => environment_event(27345, name, "2024-10-04T07:26:40.338Z"),
        "feature-variants-updated" => Event {
            data: Some(json!({
                "variants": [variant("classic", 500, "classic"), variant("one-page", 500, "one-page")]
            })),
            pre_data: Some(json!({ "variants": [variant("classic", 1000, "classic")] })),
            ..flag_event(27349, name, "2024-10-08T10:05:23.791Z")
        },
        "feature-tagged" => Event {
            data: Some(json!({ "type": "simple", "value": "q4-experiment" })),
            tags: vec![tag("simple", "team-checkout"), tag("simple", "q4-experiment")],
            ..flag_event(27333, name, "2024-10-03T11:10:21.604Z")
        },
        "feature-untagged" => Event {
            pre_data: Some(json!({ "type": "simple", "value": "q4-experiment" })),
            ..flag_event(27390, name, "2024-11-26T14:19:02.158Z")
        },
        "change-request-created" => change_request_event(
            27351,
            name,
            "2024-10-09T08:12:44.207Z",
            json!({ "changeRequestId": CHANGE_REQUEST_ID, "title": "Enable checkout redesign in production" }),
        ),
        "change-request-discarded" => {
            change_request_event(27362, name, "2024-10-10T09:00:15.468Z", json!({ "changeRequestId": 43 }))
        }
        "change-added" => Event {
            feature_name: Some(FLAG.to_owned()),
            ..change_request_event(
                27352,
                name,
                "2024-10-09T08:12:44.311Z",
                json!({
                    "changeRequestId": CHANGE_REQUEST_ID,
                    "change": {
                        "id": 101,
                        "action": "updateEnabled",
                        "feature": FLAG,
                        "payload": { "enabled": true }
                    }
                }),
            )
        },
        "change-discarded" => Event {
            feature_name: Some(FLAG.to_owned()),
            ..change_request_event(
                27353,
                name,
                "2024-10-09T08:20:03.982Z",
                json!({
                    "changeRequestId": CHANGE_REQUEST_ID,
                    "change": {
                        "id": 102,
                        "action": "updateStrategy",
                        "feature": FLAG,
                        "payload": strategy("100")
                    }
                }),
            )
        },
        "change-request-approved" => Event {
            created_by: "reviewer@example.com".to_owned(),
            created_by_user_id: Some(117),
            ..change_request_event(
                27356,
                name,
                "2024-10-09T13:41:37.650Z",
                json!({ "changeRequestId": CHANGE_REQUEST_ID }),
            )
        },
        "change-request-approval-added" => Event {
            created_by: "reviewer@example.com".to_owned(),
            created_by_user_id: Some(117),
            ..change_request_event(
                27355,
                name,
                "2024-10-09T13:41:37.602Z",
                json!({ "changeRequestId": CHANGE_REQUEST_ID }),
            )
        },
        "change-request-cancelled" => {
            change_request_event(27363, name, "2024-10-10T09:02:48.733Z", json!({ "changeRequestId": 44 }))
        }
        "change-request-sent-to-review" => change_request_event(
            27354,
            name,
            "2024-10-09T08:21:10.145Z",
            json!({ "changeRequestId": CHANGE_REQUEST_ID }),
        ),
        "change-request-applied" => change_request_event(
            27360,
            name,
            "2024-10-10T06:00:00.412Z",
            json!({ "changeRequestId": CHANGE_REQUEST_ID }),
        ),
        "change-request-scheduled" => change_request_event(
            27357,
            name,
            "2024-10-09T13:45:09.886Z",
            json!({ "changeRequestId": CHANGE_REQUEST_ID, "scheduledDate": "2024-10-10T06:00:00.000Z" }),
        ),
        "change-request-scheduled-application-success" => change_request_event(
            27359,
            name,
            "2024-10-10T06:00:00.398Z",
            json!({ "changeRequestId": CHANGE_REQUEST_ID, "scheduledDate": "2024-10-10T06:00:00.000Z" }),
        ),
        "change-request-scheduled-application-failure" => change_request_event(
            27367,
            name,
            "2024-10-15T06:00:00.274Z",
            json!({
                "changeRequestId": 45,
                "scheduledDate": "2024-10-15T06:00:00.000Z",
                "failureReason": "The flag checkout-redesign was archived after the change request was scheduled"
            }),
        ),
        "change-request-schedule-suspended" => by_system(change_request_event(
            27365,
            name,
            "2024-10-14T17:33:52.019Z",
            json!({
                "changeRequestId": 46,
                "reason": "The user who scheduled this change request was removed from the project"
            }),
        )),
        "feature-potentially-stale-on" => by_system(flag_event(27383, name, "2024-11-20T00:00:04.556Z")),
        "feature-updated" => Event {
            data: Some(flag(json!("One-page checkout with saved cards"), true, false)),
            ..flag_event(27336, name, "2024-10-03T11:14:02.531Z")
        },
        "release-plan-progressions-paused" => by_system(Event {
            data: Some(release_plan()),
            ..environment_event(27370, name, "2024-10-18T12:07:45.931Z")
        }),
        "release-plan-progressions-resumed" => {
            Event { data: Some(release_plan()), ..environment_event(27372, name, "2024-10-18T15:26:13.487Z") }
        }
        // The types Unleash emits beyond its webhook addon's list (see catalog.rs).
        "addon-config-created" => Event {
            data: Some(slack_addon("Flag changes to #checkout")),
            ..instance_event(27297, name, "2024-09-30T09:12:40.131Z", None)
        },
        "addon-config-deleted" => Event {
            pre_data: Some(slack_addon("Flag changes to #checkout-releases")),
            ..instance_event(27396, name, "2024-12-02T10:05:41.522Z", None)
        },
        "addon-config-updated" => Event {
            data: Some(slack_addon("Flag changes to #checkout-releases")),
            pre_data: Some(slack_addon("Flag changes to #checkout")),
            ..instance_event(27340, name, "2024-10-03T13:30:18.947Z", None)
        },
        "api-token-created" => {
            Event { data: Some(api_token()), ..instance_event(27298, name, "2024-09-30T09:20:05.789Z", None) }
        }
        "api-token-deleted" => {
            Event { pre_data: Some(api_token()), ..instance_event(27397, name, "2024-12-02T10:07:13.086Z", None) }
        }
        "change-edited" => Event {
            feature_name: Some(FLAG.to_owned()),
            ..change_request_event(
                27350,
                name,
                "2024-10-09T08:15:27.640Z",
                json!({
                    "changeRequestId": CHANGE_REQUEST_ID,
                    "change": {
                        "id": 101,
                        "action": "updateEnabled",
                        "feature": FLAG,
                        "payload": { "enabled": true }
                    }
                }),
            )
        },
        "change-request-rejected" => Event {
            created_by: "reviewer@example.com".to_owned(),
            created_by_user_id: Some(117),
            ..change_request_event(27364, name, "2024-10-10T09:05:31.904Z", json!({ "changeRequestId": 47 }))
        },
        "context-field-created" => Event {
            data: Some(context_field("Customer's country (ISO 3166-1 alpha-2)")),
            ..instance_event(27300, name, "2024-10-01T07:58:02.355Z", None)
        },
        "context-field-deleted" => Event {
            pre_data: Some(context_field("Customer's billing country (ISO 3166-1 alpha-2)")),
            ..instance_event(27398, name, "2024-12-02T10:09:48.613Z", None)
        },
        "context-field-updated" => Event {
            data: Some(context_field("Customer's billing country (ISO 3166-1 alpha-2)")),
            pre_data: Some(context_field("Customer's country (ISO 3166-1 alpha-2)")),
            ..instance_event(27339, name, "2024-10-03T13:21:55.082Z", None)
        },
        "feature-deleted" => Event {
            pre_data: Some(flag(json!("One-page checkout with saved cards"), true, true)),
            tags: Vec::new(),
            ..flag_event(27394, name, "2024-12-02T09:58:30.417Z")
        },
        "feature-environment-variants-updated" => Event {
            data: Some(json!({
                "variants": [variant("classic", 500, "classic"), variant("one-page", 500, "one-page")]
            })),
            pre_data: Some(json!({ "variants": [variant("classic", 1000, "classic")] })),
            ..environment_event(27348, name, "2024-10-08T10:05:23.774Z")
        },
        "group-created" => {
            Event { data: Some(group("")), ..instance_event(27301, name, "2024-10-01T08:02:37.190Z", None) }
        }
        "group-deleted" => Event {
            pre_data: Some(group("Owns the checkout flow")),
            ..instance_event(27399, name, "2024-12-02T10:11:20.905Z", None)
        },
        "group-updated" => Event {
            data: Some(group("Owns the checkout flow")),
            pre_data: Some(group("")),
            ..instance_event(27302, name, "2024-10-01T08:03:11.478Z", None)
        },
        "banner-created" => Event {
            data: Some(banner("Checkout redesign rolls out to EU customers this week", false)),
            ..instance_event(27303, name, "2024-10-01T08:00:12.415Z", None)
        },
        "banner-deleted" => Event {
            pre_data: Some(banner("Checkout redesign rolls out to EU customers this week", true)),
            ..instance_event(27400, name, "2024-12-02T10:12:02.336Z", None)
        },
        "banner-updated" => Event {
            data: Some(banner("Checkout redesign rolls out to EU customers this week", true)),
            pre_data: Some(banner("Checkout redesign rolls out to EU customers this week", false)),
            ..instance_event(27346, name, "2024-10-07T09:00:00.641Z", None)
        },
        "project-created" => Event {
            data: Some(json!({
                "id": PROJECT,
                "name": "Web shop",
                "description": "The public web shop",
                "mode": "open",
                "defaultStickiness": "default",
                "changeRequestEnvironments": [{ "name": ENVIRONMENT, "requiredApprovals": 1 }]
            })),
            ..instance_event(27296, name, "2024-09-30T09:05:18.532Z", Some(PROJECT))
        },
        "project-deleted" => instance_event(27402, name, "2024-12-02T10:20:44.177Z", Some("web-shop-legacy")),
        "segment-created" => {
            Event { data: Some(segment("")), ..instance_event(27304, name, "2024-10-02T10:31:57.279Z", Some(PROJECT)) }
        }
        "segment-deleted" => Event {
            pre_data: Some(segment("Customers in the EU pilot countries")),
            ..instance_event(27401, name, "2024-12-02T10:14:36.850Z", Some(PROJECT))
        },
        "segment-updated" => Event {
            data: Some(segment("Customers in the EU pilot countries")),
            pre_data: Some(segment("")),
            ..instance_event(27305, name, "2024-10-02T10:33:08.011Z", Some(PROJECT))
        },
        "service-account-created" => {
            Event { data: Some(service_account(3)), ..instance_event(27306, name, "2024-10-02T11:00:41.736Z", None) }
        }
        "service-account-deleted" => Event {
            pre_data: Some(service_account(2)),
            ..instance_event(27403, name, "2024-12-02T10:22:19.064Z", None)
        },
        "service-account-updated" => Event {
            data: Some(service_account(2)),
            pre_data: Some(service_account(3)),
            ..instance_event(27307, name, "2024-10-02T11:04:26.195Z", None)
        },
        "user-created" => {
            Event { data: Some(user("Dana Ng")), ..instance_event(27308, name, "2024-10-02T11:10:03.487Z", None) }
        }
        "user-deleted" => Event {
            pre_data: Some(user("Dana Nguyen")),
            ..instance_event(27404, name, "2024-12-02T10:25:52.719Z", None)
        },
        "user-updated" => Event {
            data: Some(user("Dana Nguyen")),
            pre_data: Some(user("Dana Ng")),
            ..instance_event(27309, name, "2024-10-02T11:12:45.926Z", None)
        },
        "project-archived" => instance_event(27395, name, "2024-12-02T10:18:07.540Z", Some("web-shop-legacy")),
        "release-plan-added" => {
            Event { data: Some(release_plan()), ..environment_event(27368, name, "2024-10-17T09:40:22.318Z") }
        }
        "release-plan-removed" => {
            Event { pre_data: Some(release_plan()), ..environment_event(27393, name, "2024-11-28T15:02:10.760Z") }
        }
        "release-plan-milestone-started" => by_system(Event {
            data: Some({
                let mut plan = release_plan();
                plan["milestoneName"] = json!("50% of users");
                plan
            }),
            ..environment_event(27369, name, "2024-10-18T09:40:22.504Z")
        }),
        crate::catalog::WEBHOOK_DISABLED => webhook_notice(
            27420,
            NoticeKind::Disabled,
            "Disabled automatically: every delivery failed for 3 days with no success in between. Fix the receiver, then re-enable the webhook.",
            None,
            "2024-11-30T03:12:44.120Z",
        ),
        crate::catalog::WEBHOOK_PAUSED => webhook_notice(
            27421,
            NoticeKind::Paused,
            "5 delivery attempts in a row failed: Hookline stops sending to this webhook for a cool-down, then tries one delivery.",
            Some("2024-11-29T16:41:07.500Z"),
            "2024-11-29T16:40:07.500Z",
        ),
        crate::catalog::WEBHOOK_RESUMED => webhook_notice(
            27422,
            NoticeKind::Resumed,
            "A delivery succeeded after the cool-down: the circuit breaker is closed again.",
            None,
            "2024-11-29T16:41:08.214Z",
        ),
        _ => return None,
    };
    Some(event)
}

/// An operational event about the release-notes webhook of the story, whose receiver is down.
fn webhook_notice(id: i64, kind: NoticeKind, reason: &str, paused_until: Option<&str>, at: &str) -> Event {
    let resumed = kind == NoticeKind::Resumed;
    let notice = WebhookNotice {
        kind,
        webhook_id: 3,
        description: "Release notes bot".to_owned(),
        url_host: "hooks.slack.com".to_owned(),
        reason: reason.to_owned(),
        paused_until: paused_until.map(str::to_owned),
        consecutive_failures: if resumed { 0 } else { 5 },
        last_error: (!resumed).then(|| "HTTP 503".to_owned()),
        actor: HOOKLINE_ACTOR.to_owned(),
        at: at.to_owned(),
    };
    Event { id, ..notice.event() }
}
