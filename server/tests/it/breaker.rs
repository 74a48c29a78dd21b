//! The circuit breaker and Hookline's operational events, through the real server, a real
//! database and real receivers: a receiver that keeps failing pauses its webhook (nothing is sent
//! during the cool-down and waiting deliveries keep their retries), one probe goes after it, a
//! success resumes the rest; subscribed webhooks hear of it, the webhook it is about never does.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::delivery::{fetch_webhook, wait_deliveries, wait_webhook};
use crate::harness::*;
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(15);
const COOLDOWN: Duration = Duration::from_millis(500);
const FAILURES: u32 = 3;

fn created(flag: &str) -> Value {
    json!({"type": "feature-created", "featureName": flag, "project": "web-shop", "environment": null, "createdBy": "user@example.com"})
}

/// The failing webhook subscribes to its own notices too: it must still never get them.
fn failing_webhook(url: String) -> Value {
    json!({
        "url": url,
        "description": "orders",
        "events": ["feature-created", "hookline.webhook.paused", "hookline.webhook.resumed", "hookline.webhook.disabled"],
    })
}

fn ops_webhook(url: String) -> Value {
    json!({
        "url": url,
        "description": "pager",
        "events": ["hookline.webhook.paused", "hookline.webhook.resumed", "hookline.webhook.disabled"],
    })
}

fn breaker_settings(config: &mut hookline_server::Config) {
    config.breaker_failures = FAILURES;
    config.breaker_cooldown = COOLDOWN;
}

/// How many requests the receiver got once no more arrive for 300 ms.
async fn settled(receiver: &Receiver) -> usize {
    let mut count = receiver.received().len();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = receiver.received().len();
        if now == count {
            return count;
        }
        count = now;
    }
}

fn attempts(items: &[Value]) -> Vec<i64> {
    let mut counts: Vec<i64> = items.iter().map(|d| d["attempts"].as_i64().unwrap_or(-1)).collect();
    counts.sort_unstable();
    counts
}

fn types(received: &[crate::receiver::Received]) -> Vec<String> {
    received.iter().map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned()).collect()
}

/// One attempt at a time to the failing receiver, so every count below is exact.
#[tokio::test]
async fn a_failing_receiver_pauses_its_webhook_then_one_probe_resumes_it() {
    let down = Receiver::start().await;
    down.always(Reply::status(500).body("upstream exploded"));
    let ops = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|config| {
        breaker_settings(config);
        config.webhook_concurrency = 1;
    })
    .await;
    let id = api.create_webhook(failing_webhook(down.url("/hook"))).await;
    let ops_id = api.create_webhook(ops_webhook(ops.url("/ops"))).await;
    for flag in ["a", "b", "c"] {
        api.publish(created(flag), StatusCode::ACCEPTED).await;
    }

    // N failures in a row open the breaker: the webhook shows until when, and why.
    let paused = wait_webhook(&api, id, "paused", |w| !w["pausedUntil"].is_null()).await;
    let paused_at = Instant::now();
    assert_eq!(paused["consecutiveFailures"], FAILURES, "{paused:#}");
    assert!(paused["lastError"].as_str().unwrap_or_default().contains("500"), "{paused:#}");
    assert_eq!(paused["enabled"], true, "paused is not disabled");
    assert_eq!(down.received().len(), FAILURES as usize, "exactly N attempts before the pause");
    let waiting = wait_deliveries(&api, id, |items| items.len() == 3).await;
    assert_eq!(attempts(&waiting).iter().sum::<i64>(), i64::from(FAILURES));
    for delivery in &waiting {
        assert_ne!(delivery["state"], "failed", "paused deliveries are not given up: {delivery}");
    }

    // During the cool-down nothing reaches the receiver, and the waiting deliveries keep their retries.
    tokio::time::sleep(COOLDOWN / 2).await;
    assert!(paused_at.elapsed() < COOLDOWN, "the check ran within the cool-down");
    assert_eq!(down.received().len(), FAILURES as usize, "nothing is sent during the cool-down");
    let still = wait_deliveries(&api, id, |_| true).await;
    assert_eq!(attempts(&still), attempts(&waiting), "waiting burns no attempts");

    // After the cool-down exactly one probe goes; it fails, so the breaker re-opens.
    down.wait_for(FAILURES as usize + 1, WAIT).await;
    tokio::time::sleep(COOLDOWN / 3).await;
    assert_eq!(down.received().len(), FAILURES as usize + 1, "one probe, not the queue");
    let reopened = fetch_webhook(&api, id).await;
    assert!(!reopened["pausedUntil"].is_null(), "a failed probe re-opens the breaker: {reopened:#}");
    assert!(reopened["pausedUntil"].as_str() > paused["pausedUntil"].as_str(), "{reopened:#} vs {paused:#}");
    assert_eq!(reopened["consecutiveFailures"], FAILURES + 1);

    // The receiver heals: the next probe succeeds and the rest follow.
    down.always(Reply::status(200));
    let done = wait_deliveries(&api, id, |items| items.iter().all(|d| d["state"] == "succeeded")).await;
    assert_eq!(attempts(&done).iter().sum::<i64>(), i64::from(FAILURES) + 1 + 3, "{done:#?}");
    assert!(attempts(&done).iter().all(|&n| n < 8), "no delivery ran out of retries: {done:#?}");
    let resumed = wait_webhook(&api, id, "resumed", |w| w["pausedUntil"].is_null()).await;
    assert_eq!(resumed["consecutiveFailures"], 0);

    // The pager heard both, once each; the paused webhook never got its own notice.
    let notices = ops.wait_for_on("/ops", 2, WAIT).await;
    assert_eq!(types(&notices), ["hookline.webhook.paused", "hookline.webhook.resumed"]);
    let pause = notices[0].json();
    assert_eq!(pause["createdBy"], "hookline");
    assert_eq!(pause["data"]["webhookId"], id);
    assert_eq!(pause["data"]["description"], "orders");
    assert_eq!(pause["data"]["urlHost"], format!("127.0.0.1:{}", down.addr.port()));
    assert_eq!(pause["data"]["consecutiveFailures"], FAILURES);
    assert_eq!(pause["data"]["pausedUntil"], paused["pausedUntil"]);
    assert!(pause["data"]["lastError"].as_str().unwrap_or_default().contains("500"), "{pause:#}");
    assert!(!pause.to_string().contains("/hook"), "the URL's path is never told: {pause:#}");
    assert_eq!(notices[1].json()["data"]["webhookId"], id);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(ops.received().len(), 2, "no second paused notice for the re-opened breaker");
    assert!(
        types(&down.received()).iter().all(|t| t == "feature-created"),
        "the webhook a notice is about never gets it: {:?}",
        types(&down.received())
    );

    // The notices are events like any other, from Hookline, delivered to the pager only.
    let events = api.get("/api/admin/events", StatusCode::OK).await;
    let ours: Vec<&Value> = events["items"]
        .as_array()
        .map(|items| items.iter().filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("hookline."))).collect())
        .unwrap_or_default();
    assert_eq!(ours.len(), 2, "{events:#}");
    for event in ours {
        assert_eq!(event["createdBy"], "hookline");
        let to: Vec<&Value> =
            event["deliveries"].as_array().map(|d| d.iter().map(|d| &d["webhookId"]).collect()).unwrap_or_default();
        assert_eq!(to, [&json!(ops_id)], "{event:#}");
    }
    server.stop().await;
}

/// With many deliveries allowed in flight, the half-open breaker still lets exactly one through;
/// "Resume now" (audited, here by an API token) sends the rest at once, without waiting for the
/// cool-down.
#[tokio::test]
async fn half_open_lets_one_probe_through_and_resume_now_releases_the_rest() {
    let down = Receiver::start().await;
    down.always(Reply::status(503));
    let ops = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|config| {
        breaker_settings(config);
        // Long enough for the attempts in flight when the breaker opened to land first, on a
        // loaded machine too.
        config.breaker_cooldown = Duration::from_secs(3);
        config.webhook_concurrency = 8;
    })
    .await;
    let id = api.create_webhook(failing_webhook(down.url("/hook"))).await;
    api.create_webhook(ops_webhook(ops.url("/ops"))).await;
    for n in 0..6 {
        api.publish(created(&format!("f{n}")), StatusCode::ACCEPTED).await;
    }
    wait_webhook(&api, id, "paused", |w| !w["pausedUntil"].is_null()).await;
    let paused_at = Instant::now();
    // Attempts already in flight when the breaker opened may still land (and push the pause's end
    // a little further); then all is quiet.
    let before = settled(&down).await;
    assert!(paused_at.elapsed() < Duration::from_secs(2), "settled within the cool-down");
    assert!(before >= FAILURES as usize, "{before}");

    // The probe is slow: anything let through beside it would arrive while it is answered.
    down.script([Reply::status(503).delay(Duration::from_millis(250))]);
    down.wait_for(before + 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(down.received().len(), before + 1, "half-open: one probe among 6 queued deliveries");

    // Resume now: closes the breaker at once, audited, announced with the admin as its author.
    down.always(Reply::status(200));
    let resumed = api.post(&format!("/api/admin/webhooks/{id}/resume"), &json!({}), StatusCode::OK).await;
    assert!(resumed["pausedUntil"].is_null(), "{resumed:#}");
    assert_eq!(resumed["consecutiveFailures"], 0);
    let done =
        wait_deliveries(&api, id, |items| items.len() == 6 && items.iter().all(|d| d["state"] == "succeeded")).await;
    assert_eq!(done.len(), 6);
    let audit = api.get("/api/admin/audit?action=webhook.resumed", StatusCode::OK).await;
    let entries = audit["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{audit:#}");
    assert_eq!(entries[0]["objectId"], id);
    let notices = ops.wait_for_on("/ops", 2, WAIT).await;
    assert_eq!(types(&notices), ["hookline.webhook.paused", "hookline.webhook.resumed"]);
    // The API token that resumed it, as the audit log names it.
    assert_eq!(entries[0]["actorName"], "token:tests");
    assert_eq!(notices[1].json()["createdBy"], entries[0]["actorName"]);

    // Resuming a webhook that is not paused changes nothing and records nothing.
    let again = api.post(&format!("/api/admin/webhooks/{id}/resume"), &json!({}), StatusCode::OK).await;
    assert!(again["pausedUntil"].is_null());
    let audit = api.get("/api/admin/audit?action=webhook.resumed", StatusCode::OK).await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1));
    server.stop().await;
}

/// A 410 Gone disables the webhook at once: subscribers hear `hookline.webhook.disabled` with the
/// reason, the disabled webhook does not.
#[tokio::test]
async fn an_auto_disabled_webhook_is_announced_to_others_only() {
    let gone = Receiver::start().await;
    gone.always(Reply::status(410));
    let ops = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(breaker_settings).await;
    let id = api.create_webhook(failing_webhook(gone.url("/hook"))).await;
    api.create_webhook(ops_webhook(ops.url("/ops"))).await;
    api.publish(created("first"), StatusCode::ACCEPTED).await;
    let notices = ops.wait_for_on("/ops", 1, WAIT).await;
    let notice = notices[0].json();
    assert_eq!(notice["type"], "hookline.webhook.disabled");
    assert_eq!(notice["data"]["webhookId"], id);
    assert!(notice["data"]["reason"].as_str().unwrap_or_default().contains("410 Gone"), "{notice:#}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(types(&gone.received()), ["feature-created"], "the disabled webhook gets no notice");
    assert_eq!(ops.received().len(), 1, "disabled, not also paused");
    server.stop().await;
}

/// `HOOKLINE_BREAKER_FAILURES=0` turns the breaker off: failures are counted, nothing pauses.
#[tokio::test]
async fn a_zero_threshold_turns_the_breaker_off() {
    let down = Receiver::start().await;
    down.always(Reply::status(500));
    let (server, api) = TestServer::start_for_delivery(|config| {
        config.breaker_failures = 0;
        config.webhook_concurrency = 1;
    })
    .await;
    let id = api.create_webhook(failing_webhook(down.url("/hook"))).await;
    api.publish(created("a"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, |items| items.iter().any(|d| d["state"] == "failed")).await;
    assert_eq!(items[0]["attempts"], 8, "every retry was made");
    let current = fetch_webhook(&api, id).await;
    assert!(current["pausedUntil"].is_null(), "{current:#}");
    assert_eq!(current["consecutiveFailures"], 8);
    server.stop().await;
}
