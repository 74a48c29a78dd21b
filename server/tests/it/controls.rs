//! The per-webhook delivery controls that protect a receiver, through the real server, a real
//! database and a real receiver: a rate limit (deliveries per second, retries included) and
//! ordering (a delivery waits until the one before it succeeded or was given up).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::delivery::{fetch_webhook, wait_deliveries, wait_webhook};
use crate::harness::*;
use crate::receiver::{Received, Receiver, Reply};

const WAIT: Duration = Duration::from_secs(20);
/// What a request may take between its claim and its arrival at the receiver.
const SLACK: Duration = Duration::from_millis(80);

fn created(flag: &str) -> Value {
    json!({"type": "feature-created", "featureName": flag, "project": "web-shop", "environment": null, "createdBy": "user@example.com"})
}

/// The flags of the `feature-created` requests (not the test sends), in arrival order.
fn flags(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(Received::json)
        .filter(|event| event["type"] == "feature-created")
        .map(|event| event["featureName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn publish_flags(api: &Api, names: &[&str]) {
    for name in names {
        api.publish(created(name), StatusCode::ACCEPTED).await;
    }
}

/// The token bucket's promise, seen from the receiver: after a burst of `burst`, request `n`
/// (from 0) arrives no earlier than (n + 1 - burst) / rate seconds after the first.
fn assert_rate(received: &[Received], rate: f64, burst: usize) {
    let first = received[0].at;
    let offsets: Vec<u128> = received.iter().map(|r| r.at.duration_since(first).as_millis()).collect();
    for (n, request) in received.iter().enumerate().skip(burst) {
        let earliest = Duration::from_secs_f64((n + 1 - burst) as f64 / rate);
        assert!(
            request.at.duration_since(first) + SLACK >= earliest,
            "request {n} arrived {:?} after the first, before {earliest:?} (limit {rate}/s, burst {burst}); \
             arrivals (ms): {offsets:?}",
            request.at.duration_since(first)
        );
    }
}

fn attempts(items: &[Value]) -> Vec<i64> {
    let mut counts: Vec<i64> = items.iter().map(|d| d["attempts"].as_i64().unwrap_or(-1)).collect();
    counts.sort_unstable();
    counts
}

#[tokio::test]
async fn a_rate_limited_webhook_is_sent_no_faster_than_its_rate() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|config| config.webhook_concurrency = 8).await;
    let id =
        api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["feature-created"], "rateLimit": 10})).await;
    assert_eq!(fetch_webhook(&api, id).await["rateLimit"].as_f64(), Some(10.0));
    let names: Vec<String> = (0..25).map(|n| format!("f{n:02}")).collect();
    let started = Instant::now();
    publish_flags(&api, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let received = receiver.wait_for(25, WAIT).await;
    // 10 per second with a burst of 10: the 25th no earlier than 1.5 s after the first...
    assert_rate(&received, 10.0, 10);
    // ... and not much later either: waiting deliveries go as soon as a token is free.
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let mut got = flags(&received);
    got.sort();
    assert_eq!(got, names, "every event once");
    let done =
        wait_deliveries(&api, id, |items| items.len() == 25 && items.iter().all(|d| d["state"] == "succeeded")).await;
    assert!(attempts(&done).iter().all(|&n| n == 1), "waiting for a token burns no attempt: {done:#?}");
    server.stop().await;
}

/// A retry takes a token like any request: at 2 per second, a failed first attempt and its retry
/// cannot both go within the first second beside another delivery.
#[tokio::test]
async fn a_retry_counts_against_the_rate_limit() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let (server, api) = TestServer::start_for_delivery(|config| config.webhook_concurrency = 8).await;
    let id =
        api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["feature-created"], "rateLimit": 2})).await;
    publish_flags(&api, &["a", "b", "c"]).await;
    // a (500), then b: the burst of 2. The retry of a (due 50 ms later) and c share the next two
    // tokens, 0.5 s apart.
    let received = receiver.wait_for(4, WAIT).await;
    assert_rate(&received, 2.0, 2);
    let got = flags(&received);
    assert_eq!(got[0], "a", "{got:?}");
    assert_eq!(got.iter().filter(|f| *f == "a").count(), 2, "{got:?}");
    let done =
        wait_deliveries(&api, id, |items| items.len() == 3 && items.iter().all(|d| d["state"] == "succeeded")).await;
    assert_eq!(attempts(&done), [1, 1, 2], "{done:#?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4, "nothing more");
    server.stop().await;
}

/// The receiver fails the first event for a while: the later ones wait behind it (the page says
/// so), and go in order once it succeeds. A test send is outside the order.
#[tokio::test]
async fn an_ordered_webhook_holds_later_events_behind_a_failing_one() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(503));
    let (server, api) = TestServer::start_for_delivery(|config| {
        config.webhook_concurrency = 8;
        config.retry_schedule = "0s,100ms,200ms,300ms,400ms,500ms,600ms,700ms".into();
        // The head's failures must not pause the webhook here (that is the breaker's test).
        config.breaker_failures = 0;
    })
    .await;
    let id =
        api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["feature-created"], "ordered": true})).await;
    publish_flags(&api, &["f0", "f1", "f2", "f3", "f4"]).await;

    let blocked = wait_webhook(&api, id, "blocked", |w| {
        w["headOfLine"]["waiting"] == 4 && w["headOfLine"]["state"] == "retrying"
    })
    .await;
    let head_attempts = receiver.wait_for(2, WAIT).await;
    // The head's retry goes when it falls due (100 ms later), though the ones behind it have been
    // due all along: they must not hide its time from the dispatcher (which would then wait for
    // its 1 s poll instead).
    let gap = head_attempts[1].at.duration_since(head_attempts[0].at);
    assert!(gap < Duration::from_millis(600), "the retry waited {gap:?}");
    let first = wait_deliveries(&api, id, |items| items.len() == 5).await;
    let head = first.iter().find(|d| d["attempts"].as_i64() > Some(0)).expect("the attempted delivery");
    assert_eq!(blocked["headOfLine"]["deliveryId"], head["id"], "{blocked:#}");
    assert_eq!(blocked["ordered"], true);
    assert!(flags(&receiver.received()).iter().all(|f| f == "f0"), "{:?}", flags(&receiver.received()));
    assert!(first.iter().filter(|d| d["id"] != head["id"]).all(|d| d["attempts"] == 0), "{first:#?}");

    // A test send neither waits behind the line nor joins it (it fails too: one attempt only).
    api.post(
        &format!("/api/admin/webhooks/{id}/test"),
        &json!({"eventType": "feature-archived"}),
        StatusCode::ACCEPTED,
    )
    .await;
    let with_test = receiver
        .until(WAIT, |received| received.iter().any(|r| r.json()["type"] == "feature-archived"))
        .await
        .expect("the test send goes at once");
    assert!(flags(&with_test).iter().all(|f| f == "f0"), "{:?}", flags(&with_test));

    receiver.always(Reply::status(200));
    let done = wait_deliveries(&api, id, |items| {
        items.len() == 6
            && items.iter().all(|d| d["state"] == "succeeded" || (d["test"] == true && d["state"] == "failed"))
    })
    .await;
    let order = flags(&receiver.received());
    let after_head: Vec<&str> = order.iter().map(String::as_str).skip_while(|f| *f == "f0").collect();
    assert_eq!(after_head, ["f1", "f2", "f3", "f4"], "in event order, once each, after the head: {order:?}");
    assert_eq!(
        attempts(&done).iter().filter(|&&n| n == 1).count(),
        5,
        "the waiting ones (and the test) took one attempt each: {done:#?}"
    );
    let settled = wait_webhook(&api, id, "settled", |w| w["headOfLine"].is_null()).await;
    assert_eq!(settled["ordered"], true);
    server.stop().await;
}

/// A delivery given up (its retries exhausted) lets the next one go.
#[tokio::test]
async fn an_ordered_webhook_moves_on_once_a_delivery_is_given_up() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500), Reply::status(500)]);
    let (server, api) = TestServer::start_for_delivery(|config| config.webhook_concurrency = 8).await;
    let id = api
        .create_webhook(json!({
            "url": receiver.url("/hook"), "events": ["feature-created"], "ordered": true, "retryPolicy": "unleash"
        }))
        .await;
    publish_flags(&api, &["f0", "f1", "f2"]).await;
    let done = wait_deliveries(&api, id, |items| {
        items.len() == 3 && items.iter().all(|d| d["state"] == "succeeded" || d["state"] == "failed")
    })
    .await;
    assert_eq!(flags(&receiver.received()), ["f0", "f0", "f1", "f2"]);
    assert_eq!(done.iter().filter(|d| d["state"] == "failed").count(), 1, "{done:#?}");
    assert_eq!(receiver.max_in_flight(), 1, "one at a time");
    server.stop().await;
}

/// Without `ordered` (the default) a failing delivery holds nothing back, and nothing is limited.
#[tokio::test]
async fn without_ordering_later_events_overtake_a_failing_one() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let (server, api) = TestServer::start_for_delivery(|config| {
        config.webhook_concurrency = 8;
        config.retry_schedule = "0s,400ms,400ms,400ms,400ms,400ms,400ms,400ms".into();
    })
    .await;
    let id = api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["feature-created"]})).await;
    let out = fetch_webhook(&api, id).await;
    assert_eq!((&out["ordered"], &out["rateLimit"], &out["headOfLine"]), (&json!(false), &Value::Null, &Value::Null));
    publish_flags(&api, &["f0", "f1", "f2"]).await;
    let received = receiver.wait_for(4, WAIT).await;
    let got = flags(&received);
    assert_eq!((got[0].as_str(), got[3].as_str()), ("f0", "f0"), "f1 and f2 went before f0's retry: {got:?}");
    server.stop().await;
}

#[tokio::test]
async fn rate_limits_and_ordering_are_validated_and_kept() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let base = json!({"url": receiver.url("/hook"), "events": ["feature-created"]});
    for (rate, words) in [
        (json!(0), "must be positive"),
        (json!(-1), "must be positive"),
        (json!(10001), "at most 10000"),
        (json!(1e-9), "at least 0.001"),
    ] {
        let mut body = base.clone();
        body["rateLimit"] = rate.clone();
        let error = api.post("/api/admin/webhooks", &body, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error["error"]["field"], "rateLimit", "{rate}: {error}");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{rate}: {message}");
    }
    // Not a number at all, or not a boolean: the request cannot be read (400), with the reason.
    for (field, value) in [("rateLimit", json!("fast")), ("ordered", json!("yes"))] {
        let mut body = base.clone();
        body[field] = value;
        let error = api.post("/api/admin/webhooks", &body, StatusCode::BAD_REQUEST).await;
        assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("invalid type")), "{error}");
    }

    let mut body = base.clone();
    body["rateLimit"] = json!(0.5);
    body["ordered"] = json!(true);
    let id = api.create_webhook(body.clone()).await;
    let stored = fetch_webhook(&api, id).await;
    assert_eq!((stored["rateLimit"].as_f64(), &stored["ordered"]), (Some(0.5), &json!(true)));
    // A full replacement without them turns both off.
    let replaced = api.put(&format!("/api/admin/webhooks/{id}"), &base, StatusCode::OK).await;
    assert_eq!((&replaced["rateLimit"], &replaced["ordered"]), (&Value::Null, &json!(false)));
    body["rateLimit"] = json!(20);
    let changed = api.put(&format!("/api/admin/webhooks/{id}"), &body, StatusCode::OK).await;
    assert_eq!(changed["rateLimit"].as_f64(), Some(20.0));
    // The audit log names the changed fields.
    let audit = api.get("/api/admin/audit", StatusCode::OK).await;
    assert!(audit.to_string().contains("rateLimit"), "{audit:#}");
    server.stop().await;
}

/// Two instances on one PostgreSQL database share the bucket and the line.
#[tokio::test]
async fn postgres_two_instances_keep_one_rate_limit_and_one_order() {
    let limited = Receiver::start().await;
    let ordered = Receiver::start().await;
    ordered.script([Reply::status(500), Reply::status(500)]);
    let (first, api) = TestServer::start_for_delivery(|config| config.webhook_concurrency = 8).await;
    let second = TestServer::start_in(DataDir::Path(first.data.path().to_path_buf()), |config| {
        fast_delivery(config);
        config.webhook_concurrency = 8;
    })
    .await;
    let limited_id = api
        .create_webhook(json!({"url": limited.url("/limited"), "events": ["feature-created"], "rateLimit": 5}))
        .await;
    let ordered_id = api
        .create_webhook(json!({"url": ordered.url("/ordered"), "events": ["feature-created"], "ordered": true}))
        .await;
    let names: Vec<String> = (0..15).map(|n| format!("f{n:02}")).collect();
    publish_flags(&api, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let received = limited.wait_for(15, WAIT).await;
    assert_rate(&received, 5.0, 5);
    let arrived = ordered.wait_for(17, WAIT).await;
    let order = flags(&arrived);
    assert_eq!(&order[..3], ["f00", "f00", "f00"], "{order:?}");
    assert_eq!(order[3..], names[1..], "in event order across instances: {order:?}");
    assert_eq!(ordered.max_in_flight(), 1);
    wait_deliveries(&api, limited_id, |items| items.len() == 15 && items.iter().all(|d| d["state"] == "succeeded"))
        .await;
    wait_deliveries(&api, ordered_id, |items| items.len() == 15 && items.iter().all(|d| d["state"] == "succeeded"))
        .await;
    second.stop().await;
    first.stop().await;
}

/// The form (without JavaScript) sets both controls; the page says so, and what waits.
#[tokio::test]
async fn the_form_sets_the_controls_and_the_page_shows_what_waits() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(503));
    let (server, api) = TestServer::start_for_delivery(|config| {
        config.retry_schedule = "0s,10s,10s,10s,10s,10s,10s,10s".into();
    })
    .await;
    let browser = server.browser();
    browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    let url = receiver.url("/hook");
    let form = |rate: &'static str| {
        vec![
            ("form[url]", url.clone()),
            ("form[events][]", "feature-created".to_string()),
            ("form[enabled]", "on".to_string()),
            ("form[retry_policy]", "standard".to_string()),
            ("form[rate_limit]", rate.to_string()),
            ("form[ordered]", "on".to_string()),
        ]
    };
    let refused_form = form("fast");
    let refused: Vec<(&str, &str)> = refused_form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.call_any(&server.url("/rpc/save_webhook"), &refused).await;
    let text = response.text().await.expect("text");
    assert!(text.contains("`fast` is not a number of deliveries per second"), "{text}");
    assert!(api.get("/api/admin/webhooks", StatusCode::OK).await.as_array().is_some_and(Vec::is_empty));

    let saved_form = form("0.5");
    let saved: Vec<(&str, &str)> = saved_form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.form(&server.url("/rpc/save_webhook"), &saved, StatusCode::FOUND).await;
    let page_url = location(&response);
    let id: i64 = page_url
        .trim_start_matches("/webhooks/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirected to {page_url}"));
    let stored = fetch_webhook(&api, id).await;
    assert_eq!((stored["rateLimit"].as_f64(), &stored["ordered"]), (Some(0.5), &json!(true)), "{stored:#}");

    publish_flags(&api, &["f0", "f1", "f2"]).await;
    // Once the head's first attempt failed (it waits 10 s for the next), the page is stable.
    let blocked = wait_webhook(&api, id, "blocked", |w| {
        w["headOfLine"]["waiting"] == 2
            && w["headOfLine"]["state"] == "retrying"
            && w["headOfLine"]["inFlight"] == false
    })
    .await;
    let page = browser.get(&server.url(&format!("/webhooks/{id}")), StatusCode::OK).await.text().await.expect("html");
    assert!(page.contains("At most 0.5 deliveries per second"), "the controls are shown");
    let head = blocked["headOfLine"]["deliveryId"].as_i64().unwrap_or_default();
    assert!(page.contains(&format!("2 deliveries wait behind delivery #{head} (retrying, next attempt at")), "{page}");
    assert!(page.contains(&format!("href=\"/deliveries/{head}\"")));
    let list = browser.get(&server.url("/webhooks"), StatusCode::OK).await.text().await.expect("html");
    assert!(list.contains("≤ 0.5/s · in order"), "the list shows the controls too");
    server.stop().await;
}
