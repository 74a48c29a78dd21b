//! The intake and the dispatcher against a real receiver: matching, retries, signatures,
//! redirects, timeouts, refused connections, TLS with a private CA, the SSRF guard at send time,
//! and auto-disable.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use hookline_server::time::ManualClock;

use crate::harness::*;
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(15);

fn webhook(url: String, events: &[&str]) -> Value {
    json!({"url": url, "events": events, "description": "test"})
}

fn created(flag: &str) -> Value {
    json!({"type": "feature-created", "featureName": flag, "project": "web-shop", "environment": null, "createdBy": "user@example.com"})
}

/// Polls the deliveries of a webhook until `done` holds for the list (or fails after WAIT).
pub async fn wait_deliveries(api: &Api, webhook_id: i64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let page = api.get(&format!("/api/admin/webhooks/{webhook_id}/deliveries"), StatusCode::OK).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if done(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "deliveries never reached the expected state: {items:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A webhook as the admin API shows it.
pub async fn fetch_webhook(api: &Api, id: i64) -> Value {
    api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await
}

/// Polls the webhook until `done` holds for its JSON (or fails after 20 s, saying `what` it never did).
pub async fn wait_webhook(api: &Api, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let current = fetch_webhook(api, id).await;
        if done(&current) {
            return current;
        }
        assert!(Instant::now() < deadline, "webhook never {what}: {current:#}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the log holds `count` deliveries (all webhooks) and every one of them is finished.
async fn wait_all_deliveries(api: &Api, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let page = api.get("/api/admin/deliveries?limit=200", StatusCode::OK).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() == count && all_final(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "expected {count} finished deliveries: {items:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn all_final(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|d| d["state"] == "succeeded" || d["state"] == "failed")
}

async fn detail(api: &Api, delivery_id: &Value) -> Value {
    let detail = api.get(&format!("/api/admin/deliveries/{delivery_id}"), StatusCode::OK).await;
    detail
}

#[tokio::test]
async fn events_go_to_matching_webhooks_only() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let all = api.create_webhook(webhook(receiver.url("/all"), &["feature-created"])).await;
    api.create_webhook(webhook(receiver.url("/archived-only"), &["feature-archived"])).await;
    let mut web_shop = webhook(receiver.url("/web-shop"), &["feature-created"]);
    web_shop["projects"] = json!(["web-shop"]);
    api.create_webhook(web_shop).await;
    let mut production = webhook(receiver.url("/production"), &["feature-created"]);
    production["environments"] = json!(["production"]);
    api.create_webhook(production).await;
    let mut star = webhook(receiver.url("/star"), &["feature-created"]);
    star["projects"] = json!(["*"]);
    api.create_webhook(star).await;
    let mut disabled = webhook(receiver.url("/disabled"), &["feature-created"]);
    disabled["enabled"] = json!(false);
    api.create_webhook(disabled).await;

    let body = api
        .publish(
            json!({"events": [
                {"type": "feature-created", "featureName": "a", "project": "web-shop"},
                {"type": "feature-created", "featureName": "b", "project": "mobile", "environment": "staging"},
                {"type": "feature-created", "featureName": "c", "project": "mobile", "environment": "production"}
            ]}),
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(body["created"], 3);
    // all: 3, web-shop: 1, production: a (no environment passes) + c = 2, star: 3.
    assert_eq!(body["deliveries"], 9);
    receiver.wait_for(9, WAIT).await;
    wait_deliveries(&api, all, all_final).await;
    // Every delivery finished: nothing more will be sent, so the counts are final.
    wait_all_deliveries(&api, 9).await;
    let count = |path: &str| receiver.received_on(path).len();
    assert_eq!((count("/all"), count("/web-shop"), count("/production"), count("/star")), (3, 1, 2, 3));
    assert_eq!((count("/archived-only"), count("/disabled")), (0, 0));
    let production_flags: Vec<String> =
        receiver.received_on("/production").iter().map(|r| r.json()["featureName"].to_string()).collect();
    assert!(production_flags.contains(&"\"a\"".to_string()) && production_flags.contains(&"\"c\"".to_string()));
    server.stop().await;
}

#[tokio::test]
async fn body_and_headers_are_exactly_as_specified_and_verify() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let mut config = webhook(receiver.url("/hook"), &["feature-created"]);
    config["authorization"] = json!("Bearer abc123");
    config["headers"] = json!({"X-Team": "checkout"});
    let id = api.create_webhook(config).await;
    let secret = api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await;
    let secret = secret["secret"].as_str().expect("secret").to_string();

    let event = json!({"id": 27332, "type": "feature-created", "createdBy": "user@example.com", "createdAt": "2024-10-03T11:09:53.225Z",
        "createdByUserId": 110, "data": {"name": "test-flag", "description": null}, "preData": null, "tags": [],
        "featureName": "test-flag", "project": "test-project", "environment": null});
    let body = api.publish(event.clone(), StatusCode::ACCEPTED).await;
    assert_eq!(body["ids"], json!([27332]));
    let got = receiver.wait_for(1, WAIT).await;
    let request = &got[0];

    // Without a template the body is the event, byte for byte in Unleash's key order.
    let expected = r#"{"id":27332,"type":"feature-created","createdBy":"user@example.com","createdAt":"2024-10-03T11:09:53.225Z","createdByUserId":110,"data":{"name":"test-flag","description":null},"preData":null,"tags":[],"featureName":"test-flag","project":"test-project","environment":null}"#;
    assert_eq!(std::str::from_utf8(&request.body).expect("utf8"), expected);
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("authorization"), "Bearer abc123");
    assert_eq!(request.header("x-team"), "checkout");
    assert_eq!(request.header("user-agent"), format!("Hookline/{}", env!("CARGO_PKG_VERSION")));
    let msg_id = request.header("webhook-id");
    assert!(msg_id.starts_with("msg_"));
    let timestamp: i64 = request.header("webhook-timestamp").parse().expect("timestamp");
    assert!((timestamp - (hookline_server::db::now_ms() / 1000)).abs() < 30);

    // An independent Standard Webhooks implementation accepts the signature.
    let verifier = standardwebhooks::Webhook::new(&secret).expect("secret");
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, request.header(name).parse().expect("header"));
    }
    verifier.verify(&request.body, &headers).expect("signature verifies");
    // ...and rejects a tampered body.
    assert!(verifier.verify(b"{\"id\":1}", &headers).is_err());

    // The log shows the request with the secret redacted.
    let items = wait_deliveries(&api, id, all_final).await;
    let detail = detail(&api, &items[0]["id"]).await;
    let sent: Vec<(String, String)> =
        serde_json::from_value(detail["attemptLog"][0]["requestHeaders"].clone()).expect("headers");
    assert!(sent.contains(&("authorization".to_string(), "*****".to_string())));
    assert!(sent.contains(&("x-team".to_string(), "*****".to_string())));
    assert!(!detail.to_string().contains("abc123"));
    assert_eq!(detail["unleashState"], "success");
    assert_eq!(detail["stateDetails"], "Webhook request was successful with status code: 200.");
    server.stop().await;
}

#[tokio::test]
async fn retries_on_500_then_succeeds_with_a_stable_webhook_id() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500), Reply::status(500), Reply::status(200)]);
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items[0]["state"], "succeeded");
    assert_eq!(items[0]["attempts"], 3);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.header("webhook-id") == got[0].header("webhook-id")), "same id on every retry");
    assert_ne!(got[0].header("webhook-timestamp").len(), 0);
    let detail = detail(&api, &items[0]["id"]).await;
    let attempts = detail["attemptLog"].as_array().expect("attempts");
    assert_eq!(attempts.iter().map(|a| a["status"].as_i64().unwrap_or(-1)).collect::<Vec<_>>(), vec![500, 500, 200]);
    assert_eq!(attempts[0]["errorClass"], "http");
    assert_eq!(attempts[0]["errorMessage"], "The receiver answered HTTP 500 Internal Server Error");
    assert!(attempts[0]["nextAttemptAt"].as_str().is_some());
    assert_eq!(attempts[0]["trigger"], "scheduled");
    server.stop().await;
}

/// A claim that fails (here a trigger makes the database refuse every new lease) leases nothing,
/// so the dispatcher must not count the deliveries it chose as in flight either: once the database
/// takes claims again, the retry goes out. (They stayed marked busy until a restart.)
#[tokio::test]
async fn a_failed_claim_leaves_the_delivery_due() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500), Reply::status(200)]);
    let (server, api) = TestServer::start_for_delivery(|config| config.retry_schedule = "0s,1s".into()).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    let mut db = RawDb::open(server.data.path()).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    receiver.wait_for(1, WAIT).await;
    // The retry is due a second later, and needs a claim: an update that sets the lease.
    let (install, remove) = if on_postgres() {
        (
            "create function refuse_claims() returns trigger language plpgsql as $$
             begin raise exception 'claims refused by the test'; end $$;
             create trigger refuse_claims before update of lease_until on deliveries for each row
             when (new.lease_until is not null) execute function refuse_claims();",
            "drop trigger refuse_claims on deliveries; drop function refuse_claims();",
        )
    } else {
        (
            "create trigger refuse_claims before update of lease_until on deliveries
             when new.lease_until is not null begin select raise(abort, 'claims refused by the test'); end;",
            "drop trigger refuse_claims;",
        )
    };
    db.run(install).await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(receiver.received().len(), 1, "nothing goes out without a lease");
    db.run(remove).await;
    db.close().await;

    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!((items[0]["state"].as_str(), items[0]["attempts"].as_i64()), (Some("succeeded"), Some(2)));
    assert_eq!(receiver.received().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn client_errors_fail_at_once() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(404).body("no such hook"));
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, all_final).await;
    // Failed for good (no next attempt): the one request is all there will be.
    assert_eq!(items[0]["state"], "failed");
    assert_eq!(items[0]["nextAttemptAt"], Value::Null);
    assert_eq!(receiver.received().len(), 1, "a 404 is not retried");
    assert_eq!(items[0]["lastStatus"], 404);
    let detail = detail(&api, &items[0]["id"]).await;
    assert_eq!(detail["stateDetails"], "Webhook request failed with status code: 404.");
    assert_eq!(detail["attemptLog"][0]["responseBody"], "no such hook");
    server.stop().await;
}

#[tokio::test]
async fn retry_after_and_429_wait_before_retrying() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(429).header("retry-after", "1"), Reply::status(200)]);
    // Base delay before attempt 2 is 50 ms: Retry-After 1 s is clamped to [50, 100] ms, then the
    // 429 floor (60 s, the default) applies. The clock stands still until the test moves it.
    let clock = ManualClock::starting_now();
    let (server, api) = TestServer::start_for_delivery({
        let clock = clock.clone();
        move |config| {
            config.clock = clock;
            config.retry_throttle_min = Duration::from_secs(60);
        }
    })
    .await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, |items| items.first().is_some_and(|d| d["state"] == "retrying")).await;
    let detail = detail(&api, &items[0]["id"]).await;
    let first = &detail["attemptLog"][0];
    let at = |field: &str| hookline_server::time::parse_iso(first[field].as_str().unwrap_or_default()).expect(field);
    assert_eq!(
        at("nextAttemptAt") - at("startedAt"),
        60_000,
        "the throttle floor, not Retry-After's 1 s nor the schedule's 50 ms: {first}"
    );
    assert_eq!(receiver.received().len(), 1);

    // A minute later the retry is due, and succeeds.
    clock.advance(Duration::from_secs(60));
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items[0]["state"], "succeeded");
    assert_eq!(receiver.received().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn timeouts_are_retried_and_explained() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(200).delay(Duration::from_millis(1500)), Reply::status(200)]);
    let (server, api) =
        TestServer::start_for_delivery(|config| config.request_timeout = Duration::from_millis(500)).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items[0]["state"], "succeeded");
    let detail = detail(&api, &items[0]["id"]).await;
    let first = &detail["attemptLog"][0];
    assert_eq!(first["status"], 0);
    assert_eq!(first["errorClass"], "timeout");
    assert!(first["errorMessage"].as_str().is_some_and(|m| m.starts_with("Timed out after 500 ms")), "{first}");
    server.stop().await;
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(308).header("location", receiver.url("/flag"))]);
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, all_final).await;
    // Failed for good: the attempt is over, and it did not follow the redirect.
    assert_eq!(items[0]["state"], "failed");
    assert_eq!(items[0]["nextAttemptAt"], Value::Null);
    assert!(receiver.received_on("/flag").is_empty(), "the redirect target was never called");
    let detail = detail(&api, &items[0]["id"]).await;
    assert_eq!(detail["attemptLog"][0]["errorClass"], "redirect");
    assert!(detail["attemptLog"][0]["errorMessage"]
        .as_str()
        .is_some_and(|m| m.contains("/flag") && m.contains("not followed")));
    server.stop().await;
}

#[tokio::test]
async fn refused_connections_have_status_zero_and_say_so() {
    // Bind and drop a listener: the port is free and refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let mut config = webhook(format!("http://127.0.0.1:{port}/hook"), &["feature-created"]);
    config["retryPolicy"] = json!("unleash");
    let id = api.create_webhook(config).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items[0]["state"], "failed");
    assert_eq!(items[0]["attempts"], 2, "Unleash policy: one retry");
    let detail = detail(&api, &items[0]["id"]).await;
    let attempt = &detail["attemptLog"][0];
    assert_eq!(attempt["status"], 0);
    assert_eq!(attempt["errorClass"], "connect");
    assert_eq!(attempt["errorMessage"], format!("Connection refused by 127.0.0.1:{port}"));
    assert_eq!(detail["stateDetails"], format!("Webhook request failed: Connection refused by 127.0.0.1:{port}."));
    server.stop().await;
}

#[tokio::test]
async fn retry_policies_bound_the_attempts() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(503));
    // The retry bound alone: with the circuit breaker on, 5 failures in a row would pause the
    // webhook before its 8th attempt (breaker.rs tests that).
    let (server, api) = TestServer::start_for_delivery(|config| config.breaker_failures = 0).await;
    let mut unleash = webhook(receiver.url("/unleash"), &["feature-created"]);
    unleash["retryPolicy"] = json!("unleash");
    let unleash = api.create_webhook(unleash).await;
    let standard = api.create_webhook(webhook(receiver.url("/standard"), &["feature-created"])).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let u = wait_deliveries(&api, unleash, all_final).await;
    let s = wait_deliveries(&api, standard, all_final).await;
    assert_eq!((u[0]["attempts"].as_i64(), s[0]["attempts"].as_i64()), (Some(2), Some(8)));
    assert_eq!(receiver.received_on("/unleash").len(), 2);
    assert_eq!(receiver.received_on("/standard").len(), 8);
    assert_eq!(s[0]["state"], "failed");
    server.stop().await;
}

#[tokio::test]
async fn a_webhook_failing_too_long_is_disabled_and_a_success_resets_the_clock() {
    let receiver = Receiver::start().await;
    let clock = ManualClock::starting_now();
    let (server, api) = TestServer::start_for_delivery({
        let clock = clock.clone();
        move |config| {
            config.clock = clock;
            config.auto_disable_after = Duration::from_secs(3600);
            config.retry_schedule = "0s".into();
        }
    })
    .await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    receiver.script([Reply::status(500), Reply::status(500), Reply::status(200)]);
    receiver.always(Reply::status(500));

    // Publishes one event after moving the clock by `minutes`, waits for its (single) attempt to
    // be recorded (the auto-disable decision is made in the same transaction), and answers
    // whether the webhook is still enabled.
    let mut sent = 0;
    let mut step = |minutes: u64, flag: &'static str| {
        clock.advance(Duration::from_secs(60 * minutes));
        sent += 1;
        let expected = sent;
        let api = &api;
        async move {
            api.publish(created(flag), StatusCode::ACCEPTED).await;
            wait_deliveries(api, id, |items| items.len() == expected && all_final(items)).await;
            api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await
        }
    };

    // Failing for 40 minutes, then a success: the clock resets.
    assert_eq!(step(0, "a").await["enabled"], true, "the first failure starts the clock");
    assert_eq!(step(40, "b").await["enabled"], true, "40 min of failures is not an hour");
    assert_eq!(step(0, "c").await["enabled"], true, "a success");
    // Failing again 80 minutes after the first failure: counted from the new first failure.
    assert_eq!(step(40, "d").await["enabled"], true, "the clock starts again");
    assert_eq!(step(40, "e").await["enabled"], true, "a success in between reset the clock");

    // Only failures for the whole period (to the millisecond): disabled, with the reason.
    clock.advance(Duration::from_secs(20 * 60) - Duration::from_millis(1));
    assert_eq!(step(0, "f").await["enabled"], true, "one millisecond short of an hour");
    clock.advance(Duration::from_millis(1));
    let disabled = step(0, "g").await;
    assert_eq!(disabled["enabled"], false, "an hour of failures: {disabled}");
    assert!(disabled["disabledReason"].as_str().is_some_and(|r| r.contains("failed for 1 h")), "{disabled}");
    assert!(disabled["disabledAt"].as_str().is_some());
    assert_eq!(receiver.received().len(), 7);

    // Re-enabling clears the reason.
    let mut update = webhook(receiver.url("/hook"), &["feature-created"]);
    update["enabled"] = json!(true);
    let reenabled = api.put(&format!("/api/admin/webhooks/{id}"), &update, StatusCode::OK).await;
    assert_eq!(reenabled["enabled"], true);
    assert_eq!(reenabled["disabledReason"], Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn loopback_is_blocked_at_send_time_without_the_allow_list() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    let data = server.stop().await;
    // Restarted without the allow-list: the stored URL is now refused when sending.
    let restarted = TestServer::start_in(data, |config| {
        fast_delivery(config);
        config.allowed_targets = String::new();
    })
    .await;
    let api = Api { base: restarted.base.clone(), ..api };
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items[0]["state"], "failed");
    assert_eq!(items[0]["attempts"], 1, "blocked is not retried");
    let detail = detail(&api, &items[0]["id"]).await;
    assert_eq!(detail["attemptLog"][0]["errorClass"], "blocked");
    assert_eq!(
        detail["attemptLog"][0]["errorMessage"],
        "Blocked: 127.0.0.1 resolves to 127.0.0.1, a loopback address; allow it with HOOKLINE_ALLOWED_TARGETS"
    );
    assert!(receiver.received().is_empty());
    restarted.stop().await;
}

#[tokio::test]
async fn tls_receivers_need_the_extra_ca() {
    // A private CA and a certificate for localhost signed by it.
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Hookline Test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf");
    let receiver = Receiver::start_tls(vec![leaf.der().to_vec(), ca.der().to_vec()], leaf_key.serialize_der()).await;
    let ca_file = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(ca_file.path(), ca.pem()).expect("write ca");

    // Without the CA: the handshake fails (tls), nothing is delivered.
    let (server, api) = TestServer::start_for_delivery(|config| {
        config.allowed_targets = "127.0.0.1/32,::1/128".into();
        config.retry_schedule = "0s".into();
    })
    .await;
    let id = api.create_webhook(webhook(receiver.url_on("localhost", "/hook"), &["feature-created"])).await;
    api.publish(created("f"), StatusCode::ACCEPTED).await;
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items[0]["state"], "failed");
    let detail = detail(&api, &items[0]["id"]).await;
    assert_eq!(detail["attemptLog"][0]["errorClass"], "tls", "{detail}");
    assert!(receiver.received().is_empty());
    let data = server.stop().await;

    // With HOOKLINE_EXTRA_CA_CERTS: delivered.
    let path = ca_file.path().to_path_buf();
    let trusted = TestServer::start_in(data, move |config| {
        fast_delivery(config);
        config.allowed_targets = "127.0.0.1/32,::1/128".into();
        config.extra_ca_certs = Some(path);
    })
    .await;
    let api = Api { base: trusted.base.clone(), ..api };
    api.publish(created("g"), StatusCode::ACCEPTED).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["featureName"], "g");
    trusted.stop().await;
}

#[tokio::test]
async fn intake_validates_before_storing_and_is_idempotent() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;

    let bad: Vec<(Value, StatusCode, &str)> = vec![
        (json!({"type": 42}), StatusCode::UNPROCESSABLE_ENTITY, "type"),
        (
            json!({"events": [created("ok"), {"type": "feature-created", "createdAt": "noon"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[1].createdAt",
        ),
        (json!({"events": []}), StatusCode::UNPROCESSABLE_ENTITY, "events"),
        (json!({"events": vec![created("x"); 501]}), StatusCode::UNPROCESSABLE_ENTITY, "events"),
        (json!([1, 2]), StatusCode::BAD_REQUEST, ""),
    ];
    for (body, status, field) in bad {
        let error = api.publish(body, status).await;
        if !field.is_empty() {
            assert_eq!(error["error"]["field"], field, "{error}");
        }
    }
    let malformed = api
        .client
        .post(format!("{}/api/events", api.base))
        .bearer_auth(&api.token)
        .body("{\"type\": \"feature-created\"")
        .send()
        .await
        .expect("post");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let huge = format!("{{\"type\": \"feature-created\", \"data\": {{\"blob\": \"{}\"}}}}", "x".repeat(1024 * 1024));
    let too_big = api
        .client
        .post(format!("{}/api/events", api.base))
        .bearer_auth(&api.token)
        .body(huge)
        .send()
        .await
        .expect("post");
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let no_token = api.client.post(format!("{}/api/events", api.base)).json(&created("x")).send().await.expect("post");
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);

    // Nothing was stored by any refused request.
    let events = api.get("/api/admin/events", StatusCode::OK).await;
    assert_eq!(events["items"], json!([]));

    // A client id: stored once; resending answers 200 with the same id and queues nothing.
    let mut event = created("once");
    event["id"] = json!(4242);
    let first = api.publish(event.clone(), StatusCode::ACCEPTED).await;
    assert_eq!((first["ids"].clone(), first["deliveries"].clone()), (json!([4242]), json!(1)));
    let again = api.publish(event, StatusCode::OK).await;
    assert_eq!(
        (again["ids"].clone(), again["created"].clone(), again["deliveries"].clone()),
        (json!([4242]), json!(0), json!(0))
    );
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items.len(), 1, "one delivery for the event sent twice");
    assert_eq!(receiver.received().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn concurrency_per_webhook_is_bounded() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200).delay(Duration::from_millis(100)));
    let (server, api) = TestServer::start_for_delivery(|config| config.webhook_concurrency = 3).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    let events: Vec<Value> = (0..20).map(|i| created(&format!("f{i}"))).collect();
    api.publish(json!({ "events": events }), StatusCode::ACCEPTED).await;
    wait_deliveries(&api, id, |items| items.len() == 20 && all_final(items)).await;
    assert_eq!(receiver.received().len(), 20);
    assert_eq!(receiver.max_in_flight(), 3, "never more than the per-webhook limit at once, and it is used");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_releases_unfinished_deliveries_for_the_next_start() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200).delay(Duration::from_secs(3)));
    // Both servers share a clock that never moves: a lease left behind would never expire, so the
    // delivery can only be made again if shutdown released it.
    let clock = ManualClock::starting_now();
    let (server, api) = TestServer::start_for_delivery({
        let clock = clock.clone();
        move |config| {
            config.clock = clock;
            config.shutdown_grace = Duration::from_millis(200);
            config.request_timeout = Duration::from_secs(5);
            config.lease = Duration::from_secs(30);
        }
    })
    .await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    api.publish(created("slow"), StatusCode::ACCEPTED).await;
    receiver.wait_for(1, WAIT).await;
    // Stop while the attempt is in flight: the grace period runs out and the delivery is released.
    let data = server.stop().await;
    receiver.always(Reply::status(200));
    let restarted = TestServer::start_in(data, move |config| {
        fast_delivery(config);
        config.clock = clock;
        config.lease = Duration::from_secs(30);
    })
    .await;
    let api = Api { base: restarted.base.clone(), ..api };
    let items = wait_deliveries(&api, id, all_final).await;
    assert_eq!(items[0]["state"], "succeeded", "released at shutdown, not left to its 30 s lease");
    assert_eq!(receiver.received().len(), 2, "the cut-off attempt is made again (at least once)");
    restarted.stop().await;
}

/// A receiver that answers 410 Gone says the endpoint no longer exists (Standard Webhooks): the
/// webhook is disabled at once with the reason, later deliveries wait instead of being sent or
/// dropped, and re-enabling sends them.
#[tokio::test]
async fn gone_disables_the_webhook_at_once_and_deliveries_wait() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(410)]);
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(webhook(receiver.url("/hook"), &["feature-created"])).await;
    api.publish(created("first"), StatusCode::ACCEPTED).await;
    receiver.wait_for(1, WAIT).await;

    let deadline = Instant::now() + WAIT;
    let disabled = loop {
        let current = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
        if current["enabled"] == false {
            break current;
        }
        assert!(Instant::now() < deadline, "not disabled after a 410: {current}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let reason = disabled["disabledReason"].as_str().unwrap_or_default();
    assert!(reason.contains("410 Gone"), "{disabled}");
    let failed = wait_deliveries(&api, id, |items| items.iter().any(|d| d["state"] == "failed")).await;
    let first = failed.iter().find(|d| d["state"] == "failed").expect("the gone delivery");
    assert_eq!(first["attempts"], 1, "410 is never retried: {first}");

    // While disabled, like any disabled webhook, it takes no new events.
    let second = api.publish(created("second"), StatusCode::ACCEPTED).await;
    assert_eq!(second["deliveries"], 0, "a disabled webhook is not subscribed: {second}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "nothing is sent to a gone receiver");

    // Re-enabled (the receiver now answers 200): new events go out again.
    let mut update = webhook(receiver.url("/hook"), &["feature-created"]);
    update["enabled"] = json!(true);
    let reenabled = api.put(&format!("/api/admin/webhooks/{id}"), &update, StatusCode::OK).await;
    assert_eq!(reenabled["disabledReason"], Value::Null);
    api.publish(created("third"), StatusCode::ACCEPTED).await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[1].json()["featureName"], "third");
    server.stop().await;
}
