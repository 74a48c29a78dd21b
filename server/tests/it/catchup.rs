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

#[tokio::test]
async fn an_event_unleash_makes_visible_after_a_newer_one_is_still_caught_up_once() {
    // Unleash numbers an event when its transaction starts: under concurrent writes 2 can become
    // visible after 3 was polled and the cursor moved past it (seen with the real unleash-server).
    let fake = FakeUnleash::start().await;
    let (server, browser, _api, receiver) = start(&fake).await;
    wait_started(&server, &browser).await;
    fake.add(1);
    fake.add(3);
    wait_status(&server, &browser, "event 3", |s| s["cursor"] == 3).await;
    fake.add(2);
    receiver.wait_for(3, WAIT).await;
    fake.wait_full_poll(WAIT).await;
    fake.wait_full_poll(WAIT).await;
    let mut ids = delivered_ids(&receiver);
    ids.sort();
    assert_eq!(ids, vec![1, 2, 3], "the late one too, and nothing twice though polls fetch it again");
    let status = catch_up_status(&server, &browser).await;
    assert_eq!((status["cursor"].clone(), status["caughtUp"].clone()), (json!(3), json!(3)), "{status:#}");
}

// --- The Unleash URL and token set on the Connect page --------------------------------------

/// A server with no catch-up settings in its environment, fast deliveries and 200 ms polls, its
/// admin's browser, an admin API client and a receiver taking every event.
async fn start_unconfigured(adjust: impl FnOnce(&mut Config)) -> (TestServer, Browser, Api, Receiver) {
    let (server, browser) = TestServer::start_signed_in_with(|config| {
        fast_delivery(config);
        config.unleash_poll = POLL;
        adjust(config);
    })
    .await;
    let api = Api::new(&server, &browser).await;
    let receiver = Receiver::start().await;
    api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["*"], "description": "everything"})).await;
    (server, browser, api, receiver)
}

/// Saves the Connect page's catch-up form; answers the body (the status, or the error).
async fn save_settings(server: &TestServer, browser: &Browser, url: &str, token: &str, expected: StatusCode) -> Value {
    let answer =
        browser.call(&server.url("/rpc/save_unleash_settings"), &[("url", url), ("token", token)], expected).await;
    answer.json().await.expect("json")
}

/// The audit entries of `action`, newest first.
async fn audit_entries(api: &Api, action: &str) -> Vec<Value> {
    let page = api.get(&format!("/api/admin/audit?action={action}"), StatusCode::OK).await;
    page["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn a_token_set_on_the_connect_page_is_sealed_masked_audited_and_used_without_a_restart() {
    let fake = FakeUnleash::start().await;
    let (server, browser, api, receiver) = start_unconfigured(|_| {}).await;
    let off = catch_up_status(&server, &browser).await;
    assert_eq!(
        (off["enabled"].clone(), off["urlSource"].clone(), off["storedToken"].clone()),
        (json!(false), Value::Null, json!(false))
    );
    tokio::time::sleep(POLL * 2).await;
    assert!(fake.requests().is_empty(), "nothing polled before anything is set");

    // Stored: the answer and the page show it masked, the database holds it sealed.
    let saved = save_settings(&server, &browser, &fake.base, TOKEN, StatusCode::OK).await;
    assert_eq!(saved["enabled"], true, "{saved:#}");
    assert_eq!(
        (saved["urlSource"].clone(), saved["tokenSource"].clone()),
        (json!("connectPage"), json!("connectPage"))
    );
    assert_eq!(
        (saved["storedUrl"].clone(), saved["storedToken"].clone()),
        (json!(format!("{}/", fake.base)), json!(true))
    );
    assert_eq!(saved["storedBy"], ADMIN_EMAIL);
    assert!(!saved.to_string().contains(TOKEN), "the token is never sent back: {saved:#}");
    let page = browser.get(&server.url("/connect"), StatusCode::OK).await.text().await.expect("page");
    assert!(!page.contains(TOKEN) && page.contains("***** (stored; leave empty to keep it)"), "masked on the page");
    let mut db = RawDb::open(server.data.path()).await;
    let stored = db.rows_text("unleash_settings").await.join("\n");
    db.close().await;
    assert!(!stored.contains(TOKEN) && stored.contains("enc:v1:"), "sealed at rest: {stored}");

    // The running poller picks it up (no restart) and catches up with the token.
    let started = wait_started(&server, &browser).await;
    assert_eq!(started["cursor"], 0);
    fake.add(1);
    receiver.wait_for(1, WAIT).await;
    assert_eq!(delivered_ids(&receiver), vec![1], "caught up with the stored token");

    // Audited with the URL, never the token.
    let entries = audit_entries(&api, "unleash.saved").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(
        (entries[0]["actorName"].clone(), entries[0]["objectKind"].clone()),
        (json!(ADMIN_EMAIL), json!("unleash"))
    );
    assert_eq!(entries[0]["detail"]["changed"], json!(["url", "token"]));
    let mut db = RawDb::open(server.data.path()).await;
    let audit = db.rows_text("audit_log").await.join("\n");
    db.close().await;
    assert!(!audit.contains(TOKEN), "no token in the audit log");

    // An empty token keeps the stored one, but never for another server.
    let kept = save_settings(&server, &browser, &fake.base, "", StatusCode::OK).await;
    assert_eq!(kept["storedToken"], true);
    let moved =
        save_settings(&server, &browser, "http://unleash.attacker.example", "", StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(moved.to_string().contains("the Unleash URL changed"), "{moved}");
    let bad = save_settings(&server, &browser, "not a url", "t", StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(bad.to_string().contains("url"), "{bad}");
    fake.add(2);
    receiver.wait_for(2, WAIT).await;

    // Cleared: audited, and the poller stops at its next turn.
    let cleared = browser.call(&server.url("/rpc/clear_unleash_settings"), &[], StatusCode::OK).await;
    let cleared: Value = cleared.json().await.expect("json");
    assert_eq!((cleared["enabled"].clone(), cleared["storedToken"].clone()), (json!(false), json!(false)));
    assert_eq!(audit_entries(&api, "unleash.cleared").await.len(), 1);
    tokio::time::sleep(POLL * 2).await;
    let asked = fake.requests().len();
    fake.add(3);
    tokio::time::sleep(POLL * 4).await;
    assert_eq!(fake.requests().len(), asked, "no poll once cleared");
    assert_eq!(delivered_ids(&receiver), vec![1, 2]);
}

#[tokio::test]
async fn another_unleash_starts_the_cursor_again_without_replaying_its_history() {
    let first = FakeUnleash::start().await;
    let second = FakeUnleash::start().await;
    for id in 1..=3 {
        first.add(id);
    }
    for id in 1..=50 {
        second.add(id);
    }
    let (server, browser, _api, receiver) = start_unconfigured(|_| {}).await;
    save_settings(&server, &browser, &first.base, TOKEN, StatusCode::OK).await;
    wait_status(&server, &browser, "the first Unleash's newest", |s| s["cursor"] == 3).await;

    let switched = save_settings(&server, &browser, &second.base, TOKEN, StatusCode::OK).await;
    assert_eq!(switched["unleashUrl"], format!("{}/", second.base));
    wait_status(&server, &browser, "the second Unleash's newest", |s| s["cursor"] == 50).await;
    second.add(51);
    receiver.wait_for(1, WAIT).await;
    second.wait_full_poll(WAIT).await;
    assert_eq!(delivered_ids(&receiver), vec![51], "events 4 to 50 of the other Unleash are not replayed");
}

#[tokio::test]
async fn the_environment_wins_over_the_connect_page_each_setting_on_its_own() {
    let env_unleash = FakeUnleash::start().await;
    let page_unleash = FakeUnleash::start().await;
    let (server, browser, _api, receiver) = start_unconfigured(|config| {
        config.unleash_url = Some(env_unleash.base.parse().expect("fake URL"));
    })
    .await;
    // Only the URL in the environment: the page's token completes it; its URL is stored but unused.
    let saved = save_settings(&server, &browser, &page_unleash.base, TOKEN, StatusCode::OK).await;
    assert_eq!(
        (saved["urlSource"].clone(), saved["tokenSource"].clone()),
        (json!("environment"), json!("connectPage"))
    );
    assert_eq!(saved["unleashUrl"], format!("{}/", env_unleash.base));
    wait_started(&server, &browser).await;
    env_unleash.add(1);
    receiver.wait_for(1, WAIT).await;
    assert!(page_unleash.requests().is_empty(), "the environment's URL wins");
    let page = browser.get(&server.url("/connect"), StatusCode::OK).await.text().await.expect("page");
    assert!(page.contains("HOOKLINE_UNLEASH_URL is set on the server: it wins"), "the page says so");
    // With the URL in the environment the form's URL may stay empty.
    save_settings(&server, &browser, "", "", StatusCode::OK).await;
    server.stop().await;

    // Both in the environment: a wrong token stored on the page changes nothing.
    let (server, browser, _api, receiver) = start_unconfigured(|config| {
        config.unleash_url = Some(env_unleash.base.parse().expect("fake URL"));
        config.unleash_token = Some(TOKEN.into());
    })
    .await;
    let saved = save_settings(&server, &browser, &page_unleash.base, "*:*.wrong-token", StatusCode::OK).await;
    assert_eq!(
        (saved["urlSource"].clone(), saved["tokenSource"].clone()),
        (json!("environment"), json!("environment"))
    );
    wait_started(&server, &browser).await;
    env_unleash.add(2);
    receiver.wait_for(1, WAIT).await;
    let status = catch_up_status(&server, &browser).await;
    assert_eq!(status["failing"], false, "polled with the environment's token: {status:#}");
    assert!(page_unleash.requests().is_empty());
    let page = browser.get(&server.url("/connect"), StatusCode::OK).await.text().await.expect("page");
    assert!(page.contains("HOOKLINE_UNLEASH_URL and HOOKLINE_UNLEASH_TOKEN are set on the server"));
}

#[tokio::test]
async fn only_a_signed_in_admin_on_this_site_may_set_or_clear_the_token() {
    let fake = FakeUnleash::start().await;
    let (server, browser, api, _receiver) = start_unconfigured(|_| {}).await;
    let fields = [("url", fake.base.as_str()), ("token", TOKEN)];
    let save = server.url("/rpc/save_unleash_settings");

    // Nobody signed in.
    let anonymous = client().post(&save).form(&fields).send().await.expect("post");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // An API token, even an admin one: the UI's server functions take sessions only.
    let token = client().post(&save).bearer_auth(&api.token).form(&fields).send().await.expect("post");
    assert_eq!(token.status(), StatusCode::UNAUTHORIZED);
    // The admin's own cookie, sent by another site's form (CSRF).
    for url in [save.clone(), server.url("/rpc/clear_unleash_settings")] {
        let forged =
            browser.client.post(&url).header("Origin", "http://evil.example").form(&fields).send().await.expect("post");
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{url}");
    }
    let status = catch_up_status(&server, &browser).await;
    assert_eq!((status["enabled"].clone(), status["storedUrl"].clone()), (json!(false), Value::Null), "nothing stored");
    assert!(audit_entries(&api, "unleash.saved").await.is_empty());
    tokio::time::sleep(POLL * 2).await;
    assert!(fake.requests().is_empty());
}
