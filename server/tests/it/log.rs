//! The delivery log and its operations: filters and keyset pagination, redeliver, recover, test
//! sends, the events list, retention, metrics, and the no-JavaScript preview round trip.

use std::sync::Arc;
use std::time::Duration;

use hookline_server::time::ManualClock;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::delivery::wait_deliveries;
use crate::harness::*;
use crate::receiver::{Receiver, Reply};

fn hook(url: String) -> Value {
    json!({"url": url, "events": ["feature-created", "feature-archived"], "description": "log test"})
}

fn finished(items: &[Value]) -> bool {
    items.iter().all(|d| d["state"] == "succeeded" || d["state"] == "failed")
}

#[tokio::test]
async fn deliveries_filter_and_paginate_newest_first() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(404), Reply::status(404), Reply::status(404)]);
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(hook(receiver.url("/hook"))).await;
    // 3 archived (the first three requests fail with 404), then 5 created (succeed).
    for i in 0..3 {
        api.publish(json!({"type": "feature-archived", "featureName": format!("old-{i}")}), StatusCode::ACCEPTED).await;
        receiver.wait_for(i + 1, Duration::from_secs(10)).await;
    }
    api.publish(json!({"events": (0..5).map(|i| json!({"type": "feature-created", "featureName": format!("new-{i}")})).collect::<Vec<_>>()}), StatusCode::ACCEPTED).await;
    wait_deliveries(&api, id, |items| items.len() == 8 && finished(items)).await;

    let failed = api.get(&format!("/api/admin/webhooks/{id}/deliveries?state=failed"), StatusCode::OK).await;
    let failed = failed["items"].as_array().expect("items").clone();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|d| d["eventType"] == "feature-archived" && d["lastStatus"] == 404));
    let created = api
        .get(&format!("/api/admin/webhooks/{id}/deliveries?eventType=feature-created&state=succeeded"), StatusCode::OK)
        .await;
    assert_eq!(created["items"].as_array().map(Vec::len), Some(5));
    // The latest attempt's HTTP status class.
    let count = |page: &Value| page["items"].as_array().map(Vec::len);
    let client_errors = api.get(&format!("/api/admin/webhooks/{id}/deliveries?status=4xx"), StatusCode::OK).await;
    assert_eq!(count(&client_errors), Some(3));
    assert!(client_errors["items"].as_array().expect("items").iter().all(|d| d["lastStatus"] == 404));
    let successes = api
        .get(&format!("/api/admin/webhooks/{id}/deliveries?status=2xx&eventType=feature-created"), StatusCode::OK)
        .await;
    assert_eq!(count(&successes), Some(5));
    let no_response = api.get(&format!("/api/admin/webhooks/{id}/deliveries?status=none"), StatusCode::OK).await;
    assert_eq!(count(&no_response), Some(0));
    let error =
        api.get(&format!("/api/admin/webhooks/{id}/deliveries?status=418"), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error["error"]["field"], "status");

    // Keyset pages of 3: 3 + 3 + 2, newest first, no overlap.
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor: Option<i64> = None;
    let mut pages = 0;
    loop {
        let path = match cursor {
            Some(c) => format!("/api/admin/webhooks/{id}/deliveries?limit=3&before={c}"),
            None => format!("/api/admin/webhooks/{id}/deliveries?limit=3"),
        };
        let page = api.get(&path, StatusCode::OK).await;
        seen.extend(page["items"].as_array().expect("items").iter().map(|d| d["id"].as_i64().expect("id")));
        pages += 1;
        match page["nextCursor"].as_i64() {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {seen:?}");

    // A time window in the future matches nothing; bad filters are explained.
    let future =
        api.get(&format!("/api/admin/webhooks/{id}/deliveries?since=2999-01-01T00:00:00Z"), StatusCode::OK).await;
    assert_eq!(future["items"], json!([]));
    let error =
        api.get(&format!("/api/admin/webhooks/{id}/deliveries?state=exploded"), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error["error"]["field"], "state");
    api.get(&format!("/api/admin/webhooks/{id}/deliveries?since=yesterday"), StatusCode::UNPROCESSABLE_ENTITY).await;
    api.get("/api/admin/webhooks/999/deliveries", StatusCode::NOT_FOUND).await;

    // The all-webhooks list sees the same 8.
    let all = api.get("/api/admin/deliveries?limit=200", StatusCode::OK).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(8));
    server.stop().await;
}

#[tokio::test]
async fn redeliver_makes_one_manual_attempt_and_never_a_chain() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let (server, api) = TestServer::start_for_delivery(|config| config.retry_schedule = "0s,50ms".into()).await;
    let id = api.create_webhook(hook(receiver.url("/hook"))).await;
    api.publish(json!({"type": "feature-created", "featureName": "f"}), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, |items| !items.is_empty() && finished(items)).await;
    let delivery = items[0]["id"].as_i64().expect("id");
    assert_eq!(items[0]["attempts"], 2);

    // Still failing: one manual attempt, then failed again, no retries scheduled.

    api.post(&format!("/api/admin/deliveries/{delivery}/redeliver"), &json!({}), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, |items| items[0]["attempts"] == 3 && finished(items)).await;
    assert_eq!(items[0]["state"], "failed");
    // Failed for good (no next attempt, checked below): the three requests are all there will be.
    assert_eq!(items[0]["nextAttemptAt"], Value::Null, "no retry chain after a manual attempt");
    assert_eq!(receiver.received().len(), 3, "no retry chain after a manual attempt");
    let detail = api.get(&format!("/api/admin/deliveries/{delivery}"), StatusCode::OK).await;
    let attempts = detail["attemptLog"].as_array().expect("attempts");
    assert_eq!(attempts[2]["trigger"], "manual");
    assert_eq!(attempts[2]["nextAttemptAt"], Value::Null);

    // Fixed receiver: the manual attempt succeeds.
    receiver.always(Reply::status(200));
    api.post(&format!("/api/admin/deliveries/{delivery}/redeliver"), &json!({}), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, |items| items[0]["state"] == "succeeded").await;
    assert_eq!(items[0]["attempts"], 4);

    // Refused while the webhook is disabled, with a message.
    let webhook = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    let mut update = hook(receiver.url("/hook"));
    update["enabled"] = json!(false);
    api.put(&format!("/api/admin/webhooks/{id}"), &update, StatusCode::OK).await;
    let error =
        api.post(&format!("/api/admin/deliveries/{delivery}/redeliver"), &json!({}), StatusCode::CONFLICT).await;
    assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("disabled")), "{error}");
    assert_eq!(webhook["enabled"], true);
    api.post("/api/admin/deliveries/99999/redeliver", &json!({}), StatusCode::NOT_FOUND).await;
    server.stop().await;
}

#[tokio::test]
async fn recover_requeues_failed_deliveries_since_a_time() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(404));
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(hook(receiver.url("/hook"))).await;
    api.publish(json!({"events": (0..4).map(|i| json!({"type": "feature-created", "featureName": format!("f{i}")})).collect::<Vec<_>>()}), StatusCode::ACCEPTED).await;
    wait_deliveries(&api, id, |items| items.len() == 4 && finished(items)).await;
    receiver.always(Reply::status(200));

    let none = api
        .post(&format!("/api/admin/webhooks/{id}/recover"), &json!({"since": "2999-01-01T00:00:00Z"}), StatusCode::OK)
        .await;
    assert_eq!(none, json!({"requeued": 0, "capped": false}));
    let out = api
        .post(&format!("/api/admin/webhooks/{id}/recover"), &json!({"since": "2020-01-01T00:00:00Z"}), StatusCode::OK)
        .await;
    assert_eq!(out, json!({"requeued": 4, "capped": false}));
    let items = wait_deliveries(&api, id, |items| items.iter().all(|d| d["state"] == "succeeded")).await;
    assert_eq!(items.len(), 4);
    let error = api
        .post(
            &format!("/api/admin/webhooks/{id}/recover"),
            &json!({"since": "last week"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(error["error"]["field"], "since");
    server.stop().await;
}

#[tokio::test]
async fn test_sends_deliver_the_sample_once_and_show_in_events() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(hook(receiver.url("/hook"))).await;
    let delivery = api
        .post(
            &format!("/api/admin/webhooks/{id}/test"),
            &json!({"eventType": "feature-strategy-update"}),
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(delivery["test"], true);
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let body = got[0].json();
    assert_eq!(body["type"], "feature-strategy-update");
    assert!(body["data"]["name"].is_string() && body["preData"].is_object(), "the catalog sample: {body}");
    let items = wait_deliveries(&api, id, finished).await;
    let detail = api.get(&format!("/api/admin/deliveries/{}", items[0]["id"]), StatusCode::OK).await;
    assert_eq!(detail["attemptLog"][0]["trigger"], "test");

    let events = api.get("/api/admin/events", StatusCode::OK).await;
    let first = &events["items"][0];
    assert_eq!(first["type"], "feature-strategy-update");
    assert_eq!(first["test"], true);
    assert_eq!(first["deliveries"][0]["state"], "succeeded");
    assert_eq!(first["deliveries"][0]["webhookId"], id);

    let error = api
        .post(
            &format!("/api/admin/webhooks/{id}/test"),
            &json!({"eventType": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(error["error"]["field"], "eventType");
    server.stop().await;
}

#[tokio::test]
async fn retention_prunes_by_age_and_count_and_keeps_the_newest() {
    let receiver = Receiver::start().await;
    // The server and the job share a clock that moves only when the test says.
    let clock = ManualClock::starting_now();
    let (server, api) = TestServer::start_for_delivery({
        let clock = clock.clone();
        move |config| {
            config.clock = clock;
            config.retention_per_webhook = 3;
            config.retention = Duration::from_secs(3600);
        }
    })
    .await;
    let busy = api.create_webhook(hook(receiver.url("/busy"))).await;
    let quiet = api.create_webhook(json!({"url": receiver.url("/quiet"), "events": ["feature-archived"]})).await;
    api.publish(json!({"events": (0..5).map(|i| json!({"type": "feature-created", "featureName": format!("f{i}")})).collect::<Vec<_>>()}), StatusCode::ACCEPTED).await;
    api.publish(json!({"type": "feature-archived", "featureName": "gone"}), StatusCode::ACCEPTED).await;
    wait_deliveries(&api, busy, |items| items.len() == 6 && finished(items)).await;
    wait_deliveries(&api, quiet, |items| items.len() == 1 && finished(items)).await;
    let before = api.get(&format!("/api/admin/webhooks/{busy}/deliveries"), StatusCode::OK).await;
    let newest: Vec<i64> =
        before["items"].as_array().expect("items").iter().take(3).map(|d| d["id"].as_i64().expect("id")).collect();

    // The job runs against the same database file (as the server's own timer would).
    // Count: the busy webhook keeps its newest 3; the quiet one keeps its only delivery.
    let state = hookline_server::build_state(job_config(&server, &clock, 3).await).await.expect("state");
    let (deleted, _) = state.prune_once().await.expect("prune");
    assert_eq!(deleted, 3);
    let after = api.get(&format!("/api/admin/webhooks/{busy}/deliveries"), StatusCode::OK).await;
    let kept: Vec<i64> =
        after["items"].as_array().expect("items").iter().map(|d| d["id"].as_i64().expect("id")).collect();
    assert_eq!(kept, newest);

    // Age: a retention of an hour keeps what is up to an hour old...
    state.db.close().await;
    let state = hookline_server::build_state(job_config(&server, &clock, 10_000).await).await.expect("state");
    clock.advance(Duration::from_secs(3600));
    assert_eq!(state.prune_once().await.expect("prune"), (0, 0), "an hour old is not older than an hour");
    // ...and a millisecond later everything is old, but each webhook's newest delivery stays.
    clock.advance(Duration::from_millis(1));
    let (deleted, _) = state.prune_once().await.expect("prune");
    assert_eq!(deleted, 2);
    let busy_left = api.get(&format!("/api/admin/webhooks/{busy}/deliveries"), StatusCode::OK).await;
    assert_eq!(busy_left["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(busy_left["items"][0]["id"].as_i64(), newest.first().copied());
    let quiet_left = api.get(&format!("/api/admin/webhooks/{quiet}/deliveries"), StatusCode::OK).await;
    assert_eq!(quiet_left["items"].as_array().map(Vec::len), Some(1));
    state.db.close().await;
    server.stop().await;
}

/// A config pointing at a running test server's database, for calling jobs directly.
/// Retention is an hour; `clock` is the server's.
async fn job_config(server: &TestServer, clock: &Arc<ManualClock>, keep: i64) -> hookline_server::Config {
    let mut config = config_in(server.data.path()).await;
    config.clock = clock.clone();
    config.retention_per_webhook = keep;
    config.retention = Duration::from_secs(3600);
    config
}

#[tokio::test]
async fn metrics_count_a_known_sequence() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500), Reply::status(200), Reply::status(404)]);
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(hook(receiver.url("/hook"))).await;
    api.publish(json!({"type": "feature-created", "featureName": "a"}), StatusCode::ACCEPTED).await;
    wait_deliveries(&api, id, |items| items.len() == 1 && finished(items)).await;
    api.publish(json!({"type": "feature-created", "featureName": "b"}), StatusCode::ACCEPTED).await;
    wait_deliveries(&api, id, |items| items.len() == 2 && finished(items)).await;

    let response =
        api.client.get(format!("{}/metrics", api.base)).bearer_auth(&api.token).send().await.expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let text = without_instance_label(&response.text().await.expect("text"));
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in:\n{text}"))
    };
    assert_eq!(value("hookline_events_received_total"), 2.0);
    assert_eq!(value(&format!("hookline_delivery_attempts_total{{webhook=\"{id}\",result=\"retrying\"}}")), 1.0);
    assert_eq!(value(&format!("hookline_delivery_attempts_total{{webhook=\"{id}\",result=\"succeeded\"}}")), 1.0);
    assert_eq!(value(&format!("hookline_delivery_attempts_total{{webhook=\"{id}\",result=\"failed\"}}")), 1.0);
    assert_eq!(value("hookline_attempt_duration_seconds_count"), 3.0);
    assert_eq!(value("hookline_queue_due"), 0.0);
    assert_eq!(value("hookline_queue_waiting_retries"), 0.0);
    // Anonymous scrapes are refused.
    let anonymous = reqwest::get(format!("{}/metrics", api.base)).await.expect("get");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let dashboard = api.get("/api/admin/dashboard", StatusCode::OK).await;
    assert_eq!((dashboard["succeeded24h"].as_i64(), dashboard["failed24h"].as_i64()), (Some(1), Some(1)));
    assert_eq!(dashboard["webhooks"][0]["failing"], true, "the newest delivery failed");
    assert_eq!(dashboard["hourly"].as_array().map(Vec::len), Some(24));
    let health: Value = reqwest::get(format!("{}/healthz", api.base)).await.expect("get").json().await.expect("json");
    assert_eq!(health["dispatcher"], true);

    // A deleted webhook's series leave the exposition.
    api.delete(&format!("/api/admin/webhooks/{id}"), StatusCode::NO_CONTENT).await;
    let response =
        api.client.get(format!("{}/metrics", api.base)).bearer_auth(&api.token).send().await.expect("metrics");
    let text = without_instance_label(&response.text().await.expect("text"));
    assert!(text.contains("hookline_events_received_total 2"), "{text}");
    assert!(!text.contains(&format!("webhook=\"{id}\"")), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn preview_works_without_javascript_through_the_session() {
    let (server, browser) = TestServer::start_signed_in().await;
    let response = browser
        .form(
            &server.url("/rpc/preview_draft"),
            &[
                ("form[url]", "https://hooks.example.com/x"),
                ("form[content_type]", "text/plain"),
                ("form[authorization]", "Bearer never-in-a-url"),
                ("form[body_template]", "{{event.type}} on toggle {{event.featureName}}"),
                ("form[events][]", "feature-archived"),
                ("preview_event_type", "feature-archived"),
            ],
            StatusCode::FOUND,
        )
        .await;
    let back = location(&response);
    assert_eq!(back, "/webhooks/new?draft=1");
    assert!(!back.contains("never-in-a-url"));
    let page = browser.get(&server.url(&back), StatusCode::OK).await.text().await.expect("html");
    assert!(page.contains("feature-archived on toggle checkout-redesign"), "the server rendered the preview");
    assert!(page.contains("{{event.type}} on toggle {{event.featureName}}"), "the form keeps the template");
    // The draft is used once.
    let again = browser.get(&server.url(&back), StatusCode::OK).await.text().await.expect("html");
    assert!(!again.contains("feature-archived on toggle checkout-redesign"));
    server.stop().await;
}
