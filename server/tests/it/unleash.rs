//! Hookline as a drop-in for Unleash's Webhook addon: what Unleash posts reaches receivers
//! unchanged (every key, in the order sent), and event types newer than the catalog are kept and
//! delivered to webhooks that take all events, never refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::delivery::wait_deliveries;
use crate::harness::*;
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(15);

/// Bodies as Unleash 7's addon writes them (`JSON.stringify` of the stored event): keys beyond
/// Hookline's reference (`groupType`, `groupId`, `ip`), a local-offset `createdAt`, decimals,
/// escapes and non-ASCII text, nested payloads.
const UNLEASH_BODIES: [&str; 3] = [
    r#"{"id":4101,"type":"feature-created","createdBy":"admin","createdAt":"2025-06-02T09:15:31.418Z","createdByUserId":1,"data":{"name":"demo-flag","description":"Läuft \"gut\" </script>\u0001","type":"release","project":"default","stale":false,"createdAt":"2025-06-02T09:15:31.401Z","lastSeenAt":null,"impressionData":false,"archivedAt":null,"archived":false},"preData":null,"tags":[],"featureName":"demo-flag","project":"default","environment":null,"groupType":"transaction","groupId":"01M8GS31R8VWDZPDNVPTVDY322"}"#,
    r#"{"id":4102,"type":"feature-strategy-update","createdBy":"admin","createdAt":"2025-06-02T11:15:31.418+02:00","createdByUserId":1,"data":{"id":"6b1c","name":"flexibleRollout","title":null,"disabled":false,"parameters":{"groupId":"demo-flag","rollout":"50","stickiness":"default"},"constraints":[{"values":["1","2"],"inverted":false,"operator":"IN","contextName":"userId","caseInsensitive":false}],"variants":[],"segments":[],"sortOrder":9999},"preData":{"id":"6b1c","name":"flexibleRollout","parameters":{"rollout":"25"},"sortOrder":0.5},"tags":[{"type":"simple","value":"team-a"}],"featureName":"demo-flag","project":"default","environment":"development","ip":"::ffff:10.0.0.7"}"#,
    r#"{"type":"feature-environment-variants-updated-later","createdBy":"admin","createdAt":"2025-06-02T09:15:33.000Z","data":{"variants":[{"name":"a","weight":1000,"payload":{"type":"json","value":"{\"x\":1}"}}]},"featureName":"demo-flag","project":"default","environment":"production","someFutureKey":[1,2.25,-3e-7,"🚀"]}"#,
];

fn all_events_webhook(url: String) -> Value {
    json!({"url": url, "events": ["*"], "description": "all events"})
}

#[tokio::test]
async fn default_body_and_event_json_are_what_unleash_sent() {
    let receiver = Receiver::start().await;
    let (_server, api) = TestServer::start_for_delivery(|_| {}).await;
    api.create_webhook(all_events_webhook(receiver.url("/raw"))).await;
    let mut templated = all_events_webhook(receiver.url("/event-json"));
    templated["bodyTemplate"] = json!(r#"{"eventJson": {{{eventJson}}}}"#);
    api.create_webhook(templated).await;

    for body in UNLEASH_BODIES {
        api.publish_text(body, StatusCode::ACCEPTED).await;
    }
    receiver.wait_for(2 * UNLEASH_BODIES.len(), WAIT).await;

    let raw: Vec<String> =
        receiver.received_on("/raw").iter().map(|r| String::from_utf8(r.body.to_vec()).expect("utf8")).collect();
    let event_json: Vec<String> = receiver
        .received_on("/event-json")
        .iter()
        .map(|r| r.json()["eventJson"].as_str().expect("eventJson is a string").to_owned())
        .collect();
    for sent in &UNLEASH_BODIES[..2] {
        assert!(raw.iter().any(|got| got == sent), "default body differs from what Unleash sent:\n{sent}\n{raw:#?}");
        assert!(event_json.iter().any(|got| got == sent), "eventJson differs:\n{sent}\n{event_json:#?}");
    }
    // An event without an id gets the assigned one first, where Unleash puts it; the rest as sent.
    let third = raw.iter().find(|b| b.contains("someFutureKey")).expect("third event delivered");
    let (id, rest) = third.strip_prefix(r#"{"id":"#).and_then(|t| t.split_once(',')).expect("id first");
    assert!(id.parse::<i64>().expect("numeric id") > 0);
    assert_eq!(format!("{{{rest}"), UNLEASH_BODIES[2]);
}

#[tokio::test]
async fn unknown_event_types_are_kept_and_reach_all_events_webhooks() {
    let receiver = Receiver::start().await;
    let (_server, api) = TestServer::start_for_delivery(|_| {}).await;
    let all = api.create_webhook(all_events_webhook(receiver.url("/all"))).await;
    let created_only =
        api.create_webhook(json!({"url": receiver.url("/created"), "events": ["feature-created"]})).await;

    let answer = api
        .publish(
            json!({"type": "feature-hyperdrive-engaged", "featureName": "f", "project": "p", "createdBy": "admin"}),
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(answer["deliveries"], 1, "only the all-events webhook takes it");
    api.publish(json!({"type": "feature-created", "featureName": "g", "project": "p"}), StatusCode::ACCEPTED).await;

    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(receiver.received_on("/all").len(), 2);
    assert_eq!(receiver.received_on("/created").len(), 1);
    assert!(got.iter().any(|r| r.path == "/all" && r.json()["type"] == "feature-hyperdrive-engaged"));
    wait_deliveries(&api, all, |items| items.len() == 2 && items.iter().all(|d| d["state"] == "succeeded")).await;
    wait_deliveries(&api, created_only, |items| items.len() == 1).await;

    // The event log lists it, marked as outside the catalog.
    let events = api.get("/api/admin/events", StatusCode::OK).await;
    let items = events["items"].as_array().expect("items");
    let unknown = items.iter().find(|e| e["type"] == "feature-hyperdrive-engaged").expect("listed");
    assert_eq!(unknown["inCatalog"], false);
    let known = items.iter().find(|e| e["type"] == "feature-created").expect("listed");
    assert_eq!(known["inCatalog"], true);

    // Deliveries can be filtered by it.
    let page = api.get("/api/admin/deliveries?eventType=feature-hyperdrive-engaged", StatusCode::OK).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn malformed_events_are_still_refused_by_field() {
    let (_server, api) = TestServer::start_for_delivery(|_| {}).await;
    let long = "x".repeat(101);
    for (event, field) in [
        (json!({"type": 5}), "type"),
        (json!({"type": ""}), "type"),
        (json!({"type": long}), "type"),
        (json!({"featureName": "no type"}), "type"),
        (json!({"type": "feature-created", "project": ["p"]}), "project"),
    ] {
        let answer = api.publish(event.clone(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(answer["error"]["field"], field, "{event}: {answer}");
    }
    // A webhook still subscribes to catalog types (or all): a typo is not silently "new".
    let answer = api
        .post(
            "/api/admin/webhooks",
            &json!({"url": "https://example.com/h", "events": ["feature-craeted"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(answer["error"]["field"], "events");
}

/// The Connect Unleash page: the URL to paste (from the Host the admin used, or
/// HOOKLINE_PUBLIC_URL), the addon events the enabled webhooks take, and the last event that
/// came through the intake (a test send is not Unleash).
#[tokio::test]
async fn connect_unleash_shows_what_to_paste_and_the_last_event() {
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&server, &browser).await;
    let status = || async {
        let response = browser.call(&server.url("/rpc/unleash_connection"), &[], StatusCode::OK).await;
        response.json::<Value>().await.expect("json")
    };

    let before = status().await;
    assert_eq!(before["intakeUrl"], format!("{}/api/events", server.base));
    assert_eq!(before["publicUrlSet"], false);
    assert_eq!(before["contentType"], "application/json");
    assert_eq!(before["lastEvent"], Value::Null);
    assert_eq!(before["eventTypes"], json!([]));
    let page = browser.get(&server.url("/connect"), StatusCode::OK).await;
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("{}/api/events", server.base)), "the URL is on the page");
    assert!(html.contains("Nothing received yet"), "{html}");
    assert!(html.contains("UNLEASH_ALLOW_PRIVATE_URL_IN_INTEGRATION"), "the Unleash 8 hint");

    // Only addon types the enabled webhooks take, in the addon's order.
    let receiver = Receiver::start().await;
    let id = api
        .create_webhook(json!({
            "url": receiver.url("/hook"),
            "events": ["user-created", "feature-archived", "feature-created"],
        }))
        .await;
    api.create_webhook(json!({"url": receiver.url("/off"), "events": ["feature-tagged"], "enabled": false})).await;
    assert_eq!(status().await["eventTypes"], json!(["feature-created", "feature-archived"]));

    api.post(&format!("/api/admin/webhooks/{id}/test"), &json!({"eventType": "feature-created"}), StatusCode::ACCEPTED)
        .await;
    assert_eq!(status().await["lastEvent"], Value::Null, "a test send is not an event from Unleash");

    api.publish(
        json!({"type": "feature-archived", "featureName": "old-flag", "project": "web-shop", "createdBy": "me"}),
        StatusCode::ACCEPTED,
    )
    .await;
    let after = status().await;
    assert_eq!(after["lastEvent"]["type"], "feature-archived");
    assert_eq!(after["lastEvent"]["featureName"], "old-flag");
    assert_eq!(after["lastEvent"]["project"], "web-shop");
    let html = browser.get(&server.url("/connect"), StatusCode::OK).await.text().await.expect("html");
    assert!(html.contains("Last event") && html.contains("old-flag"), "{html}");
    server.stop().await;

    // Behind a proxy the public URL is what Unleash must use (http here: with https the session
    // cookie is Secure and this plain-http test client would not send it back).
    let (server, browser) = TestServer::start_signed_in_with(|config| {
        config.public_url = Some("http://hooks.example.com:8080/".parse().expect("url"));
    })
    .await;
    let response = browser.call(&server.url("/rpc/unleash_connection"), &[], StatusCode::OK).await;
    let value: Value = response.json().await.expect("json");
    assert_eq!(value["intakeUrl"], "http://hooks.example.com:8080/api/events");
    assert_eq!(value["publicUrlSet"], true);
    server.stop().await;
}
