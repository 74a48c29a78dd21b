//! Catching up what Unleash did not send: the poller fetches Unleash's events newer than its
//! cursor from a fake Unleash (see `fake_unleash`) and takes them in through the intake, so each
//! Unleash event reaches a receiver exactly once however it arrives (webhook, poll, both, twice).

use std::time::{Duration, Instant};

use hookline_server::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fake_unleash::{FakeUnleash, Mode, TOKEN};
use crate::harness::*;
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);

/// Settings for these tests: fast deliveries to the local receiver, catch-up from `fake` every
/// 200 ms with a 2 s request timeout.
fn catching_up_from(fake: &FakeUnleash) -> impl FnOnce(&mut Config) + '_ {
    move |config| {
        fast_delivery(config);
        config.unleash_url = Some(fake.base.parse().expect("fake URL"));
        config.unleash_token = Some(TOKEN.into());
        config.unleash_poll = POLL;
    }
}

/// A server catching up from `fake`, its admin's browser, an admin API client, and a receiver
/// with a webhook taking every event.
async fn start(fake: &FakeUnleash) -> (TestServer, Browser, Api, Receiver) {
    let (server, browser) = TestServer::start_signed_in_with(catching_up_from(fake)).await;
    let api = Api::new(&server, &browser).await;
    let receiver = Receiver::start().await;
    api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["*"], "description": "everything"})).await;
    (server, browser, api, receiver)
}

/// The Connect page's catch-up status, as its server function answers it.
async fn catch_up_status(server: &TestServer, browser: &Browser) -> Value {
    let answer = browser.call(&server.url("/rpc/unleash_connection"), &[], StatusCode::OK).await;
    answer.json::<Value>().await.expect("json")["catchUp"].clone()
}

/// Waits until the catch-up status satisfies `done`; answers it.
async fn wait_status(server: &TestServer, browser: &Browser, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = catch_up_status(server, browser).await;
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "catch-up never reached {what}: {status:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the first poll: with no cursor yet, it starts at Unleash's newest event.
async fn wait_started(server: &TestServer, browser: &Browser) -> Value {
    wait_status(server, browser, "its first poll", |s| s["lastSuccessAt"].is_string()).await
}

/// The Unleash event ids the receiver got, in arrival order.
fn delivered_ids(receiver: &Receiver) -> Vec<i64> {
    receiver.received_on("/hook").iter().map(|r| r.json()["id"].as_i64().expect("id")).collect()
}

/// Hookline's event log: id -> whether it was caught up.
async fn event_log(api: &Api) -> Vec<(i64, bool)> {
    let page = api.get("/api/admin/events", StatusCode::OK).await;
    let mut events: Vec<(i64, bool)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["id"].as_i64().expect("id"), e["caughtUp"].as_bool().expect("caughtUp")))
        .collect();
    events.sort();
    events
}

#[tokio::test]
async fn a_gap_the_webhook_left_is_filled_and_each_event_arrives_once() {
    let fake = FakeUnleash::start().await;
    let (server, browser, api, receiver) = start(&fake).await;
    let started = wait_started(&server, &browser).await;
    assert_eq!(started["cursor"], 0, "an empty Unleash: the cursor starts at 0");

    // Unleash creates events 1 to 4; its webhook delivers 1, 2 and 4 and loses 3.
    for id in [1, 2, 4] {
        api.publish_text(&FakeUnleash::webhook_body(id), StatusCode::ACCEPTED).await;
    }
    for id in 1..=4 {
        fake.add(id);
    }
    receiver.wait_for(4, WAIT).await;
    // Later polls find nothing new to send.
    fake.wait_full_poll(WAIT).await;
    fake.wait_full_poll(WAIT).await;
    let mut ids = delivered_ids(&receiver);
    ids.sort();
    assert_eq!(ids, vec![1, 2, 3, 4], "every event exactly once");

    // The caught-up event is marked so, keeps Unleash's createdAt, and its body is exactly what
    // the webhook would have sent (the search endpoint's `label` and `summary` are not added).
    assert_eq!(event_log(&api).await, vec![(1, false), (2, false), (3, true), (4, false)]);
    let third = receiver.received_on("/hook").into_iter().find(|r| r.json()["id"] == 3).expect("event 3");
    assert_eq!(String::from_utf8(third.body.to_vec()).expect("utf8"), FakeUnleash::webhook_body(3));

    let status = catch_up_status(&server, &browser).await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["cursor"], 4);
    assert_eq!(status["caughtUp"], 1, "only event 3 came by poll: {status:#}");
    assert_eq!(status["failing"], false);
    assert_eq!(browser.metric(&server, "hookline_unleash_caught_up_total").await, 1.0);
    assert_eq!(browser.metric(&server, "hookline_events_received_total").await, 4.0, "no duplicate counted");
    assert!(browser.metric(&server, "hookline_unleash_last_success_timestamp_seconds").await > 1.7e9);
    // Every request carried the token as given and paged from the newest.
    assert!(fake.requests().iter().all(|r| r.path == "/api/admin/search/events"));
}

#[tokio::test]
async fn no_duplicates_in_any_arrival_order() {
    let fake = FakeUnleash::start().await;
    let (server, browser, api, receiver) = start(&fake).await;
    wait_started(&server, &browser).await;

    // Webhook first, then the poll finds it.
    let first = api.publish_text(&FakeUnleash::webhook_body(10), StatusCode::ACCEPTED).await;
    assert_eq!(first["created"], 1);
    fake.add(10);
    fake.wait_full_poll(WAIT).await;

    // The poll first, then the webhook brings it late: nothing new stored.
    fake.add(11);
    wait_status(&server, &browser, "event 11", |s| s["cursor"] == 11).await;
    let late = api.publish_text(&FakeUnleash::webhook_body(11), StatusCode::OK).await;
    assert_eq!(late, json!({"ids": [11], "created": 0, "deliveries": 0}));

    // The same event posted twice, then polled.
    api.publish_text(&FakeUnleash::webhook_body(12), StatusCode::ACCEPTED).await;
    let again = api.publish_text(&FakeUnleash::webhook_body(12), StatusCode::OK).await;
    assert_eq!(again["created"], 0);
    fake.add(12);
    fake.wait_full_poll(WAIT).await;

    receiver.wait_for(3, WAIT).await;
    fake.wait_full_poll(WAIT).await;
    let mut ids = delivered_ids(&receiver);
    ids.sort();
    assert_eq!(ids, vec![10, 11, 12], "each event reached the receiver once");
    assert_eq!(event_log(&api).await, vec![(10, false), (11, true), (12, false)]);
    let status = catch_up_status(&server, &browser).await;
    assert_eq!((status["cursor"].clone(), status["caughtUp"].clone()), (json!(12), json!(1)), "{status:#}");
}

#[tokio::test]
async fn the_first_poll_does_not_replay_history_and_a_restart_resumes_from_the_cursor() {
    let fake = FakeUnleash::start().await;
    for id in 1..=3 {
        fake.add(id);
    }
    let (server, browser, _api, receiver) = start(&fake).await;
    let started = wait_started(&server, &browser).await;
    assert_eq!(started["cursor"], 3, "starts at Unleash's newest event");
    assert_eq!(fake.requests()[0].param("limit").as_deref(), Some("1"), "the first poll only asks for the newest");
    fake.add(4);
    receiver.wait_for(1, WAIT).await;
    fake.wait_full_poll(WAIT).await;
    assert_eq!(delivered_ids(&receiver), vec![4], "events before catch-up was on are not replayed");

    // Down for a while: Unleash goes on (and its webhook cannot reach Hookline).
    let data = server.stop().await;
    fake.add(5);
    fake.add(6);
    let before_restart = fake.requests().len();

    let server = TestServer::start_in(data, catching_up_from(&fake)).await;
    let browser = server.browser();
    browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    receiver.wait_for(3, WAIT).await;
    fake.wait_full_poll(WAIT).await;
    assert_eq!(delivered_ids(&receiver), vec![4, 5, 6], "5 and 6 caught up once, 4 not again");
    let after: Vec<_> = fake.requests().split_off(before_restart);
    assert!(
        after.iter().all(|r| r.param("offset").as_deref() == Some("0") && r.param("limit").as_deref() == Some("100")),
        "resumed from the stored cursor: no first-poll probe, no paging back through history: {after:#?}"
    );
    let status = catch_up_status(&server, &browser).await;
    assert_eq!((status["cursor"].clone(), status["caughtUp"].clone()), (json!(6), json!(3)), "{status:#}");
}

#[tokio::test]
async fn failures_back_off_are_shown_never_stop_intake_and_heal() {
    let fake = FakeUnleash::start().await;
    let (server, browser, api, receiver) = start(&fake).await;
    wait_started(&server, &browser).await;

    fake.set_mode(Mode::ServerError);
    let failing = wait_status(&server, &browser, "a failure", |s| s["failing"] == true).await;
    assert!(failing["lastError"].as_str().expect("lastError").contains("500"), "{failing:#}");
    assert!(failing["lastSuccessAt"].is_string(), "the last success stays visible");
    assert!(browser.metric(&server, "hookline_unleash_poll_errors_total").await >= 1.0);

    // The intake works while Unleash fails.
    api.publish_text(&FakeUnleash::webhook_body(1), StatusCode::ACCEPTED).await;
    receiver.wait_for(1, WAIT).await;

    // Back-off: polling every 200 ms would ask ~15 times in 3 s; doubling waits (400 ms, 800 ms,
    // 1.6 s, then 2 s at most) ask far fewer.
    let before = fake.requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let asked = fake.requests().len() - before;
    assert!(asked <= 6, "{asked} requests in 3 s while failing: no back-off");

    // Each way of failing is named.
    for (mode, says) in [
        (Mode::Unauthorized, "refused the token (401)"),
        (Mode::Garbage, "not an event list"),
        (Mode::Slow(Duration::from_secs(4)), "did not answer within 2s"),
    ] {
        fake.set_mode(mode);
        let status = wait_status(&server, &browser, says, |s| {
            s["failing"] == true && s["lastError"].as_str().is_some_and(|e| e.contains(says))
        })
        .await;
        assert_eq!(status["cursor"], 0, "the cursor stays while failing");
    }

    // Healed: the events it missed meanwhile are caught up.
    fake.set_mode(Mode::Ok);
    fake.add(1);
    fake.add(2);
    receiver.wait_for(2, WAIT).await;
    let healed = wait_status(&server, &browser, "recovery", |s| s["failing"] == false).await;
    assert_eq!((healed["cursor"].clone(), healed["caughtUp"].clone()), (json!(2), json!(1)), "{healed:#}");
    fake.wait_full_poll(WAIT).await;
    assert_eq!(delivered_ids(&receiver), vec![1, 2]);
    assert_eq!(browser.metric(&server, "hookline_unleash_caught_up_total").await, 1.0);
}

#[tokio::test]
async fn an_unleash_without_the_search_endpoint_is_read_through_the_older_one() {
    let fake = FakeUnleash::start().await;
    fake.without_search();
    let (server, browser, _api, receiver) = start(&fake).await;
    wait_started(&server, &browser).await;
    fake.add(7);
    fake.add(8);
    receiver.wait_for(2, WAIT).await;
    fake.wait_full_poll(WAIT).await;
    assert_eq!(delivered_ids(&receiver), vec![7, 8]);
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths[0], "/api/admin/search/events");
    assert!(paths[1..].iter().all(|p| p == "/api/admin/events"), "asks the search endpoint once: {paths:?}");
}

#[tokio::test]
async fn catch_up_is_off_without_a_token() {
    let fake = FakeUnleash::start().await;
    let (server, browser) = TestServer::start_signed_in_with(|config| {
        config.unleash_url = Some(fake.base.parse().expect("fake URL"));
    })
    .await;
    let status = catch_up_status(&server, &browser).await;
    assert_eq!(status["enabled"], false);
    tokio::time::sleep(POLL * 3).await;
    assert!(fake.requests().is_empty(), "nothing polled");
    let page = browser.get(&server.url("/connect"), StatusCode::OK).await.text().await.expect("page");
    assert!(page.contains("HOOKLINE_UNLEASH_TOKEN"), "the page says how to turn it on");
}
