//! The live feed (`GET /api/admin/stream`, Server-Sent Events) through the real server: who may
//! open it, what arrives on it and how fast, its limits, and (on PostgreSQL) changes made by
//! another instance.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::harness::*;
use crate::receiver::{Receiver, Reply};

const STREAM: &str = "/api/admin/stream";

/// An open stream, read event by event.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// Opens the stream with `client` (a browser's session, or a token), expecting 200.
    async fn open(client: &Client, url: &str, token: Option<&str>) -> EventStream {
        // As a browser asks, gzip welcome.
        let mut request = client.get(url).header("accept", "text/event-stream").header("accept-encoding", "gzip");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let content_type = response.headers()["content-type"].to_str().expect("content type").to_owned();
        assert_eq!(content_type, "text/event-stream", "an event stream");
        // Browsers ask for gzip; a compressed stream would be held back in the compressor.
        assert!(response.headers().get("content-encoding").is_none(), "not compressed");
        EventStream { response, buffer: String::new() }
    }

    /// The next event (its name and data) within `within`; comments and keep-alives are skipped.
    async fn next(&mut self, within: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim());
                    }
                }
                match name {
                    Some(name) => return Some((name, serde_json::from_str(&data).expect("the data is JSON"))),
                    None => continue,
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?;
            match chunk.expect("the stream reads") {
                Some(bytes) => self.buffer.push_str(std::str::from_utf8(&bytes).expect("UTF-8")),
                None => return None,
            }
        }
    }

    /// Reads events until one named `name` for which `matches` holds arrives within `within`
    /// (counted from now); fails otherwise, listing what came instead.
    async fn expect(&mut self, name: &str, within: Duration, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left).await {
                Some((event, data)) if event == name && matches(&data) => return data,
                Some(other) => seen.push(other),
                None => break,
            }
        }
        panic!("no `{name}` event within {within:?}; came instead: {seen:?}");
    }
}

async fn request(client: &Client, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url).header("accept", "text/event-stream");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

fn webhook(url: String) -> Value {
    json!({"url": url, "events": ["feature-created"], "description": "live"})
}

#[tokio::test]
async fn the_stream_needs_a_session_or_a_read_token() {
    let (server, browser) = TestServer::start_signed_in().await;
    let url = server.url(STREAM);

    let anonymous = request(&client(), &url, None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "no session, no token");
    let body: Value = anonymous.json().await.expect("json");
    assert_eq!(body["error"]["message"], "sign-in required");

    // The intake-only token Unleash holds may not watch the log.
    let intake = Api::with_scopes(&server, &browser, &["events"]).await;
    let refused = request(&client(), &url, Some(&intake.token)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.expect("json");
    assert!(body["error"]["message"].as_str().unwrap().contains("`read` scope"), "{body}");

    let bad = request(&client(), &url, Some("hl_not_a_token")).await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED, "an unknown token");

    // A read token and the signed-in admin's session may.
    let reader = Api::with_scopes(&server, &browser, &["read"]).await;
    EventStream::open(&client(), &url, Some(&reader.token)).await;
    EventStream::open(&browser.client, &url, None).await;

    // Signed out, the session opens nothing.
    browser.form(&server.url("/rpc/logout"), &[], StatusCode::FOUND).await;
    assert_eq!(request(&browser.client, &url, None).await.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

/// Without JavaScript the pages render as before: the indicator is there, empty (nothing updates
/// until the page is hydrated and opens the stream).
#[tokio::test]
async fn live_pages_render_without_javascript() {
    let (server, browser) = TestServer::start_signed_in().await;
    for page in ["/deliveries", "/events", "/", "/connect"] {
        let html = browser.get(&server.url(page), StatusCode::OK).await.text().await.expect("html");
        let at = html.find("data-testid=\"live-indicator\"").unwrap_or_else(|| panic!("{page}: no indicator"));
        let rest = &html[at..];
        let text = &rest[rest.find('>').expect("tag end") + 1..rest.find("</span>").expect("closed")];
        assert!(text.trim().is_empty(), "{page}: {text:?} before hydration");
        assert!(rest[..rest.find('>').expect("tag end")].contains("live-off"), "{page}: hidden by its class");
    }
    server.stop().await;
}

#[tokio::test]
async fn intake_and_a_recorded_delivery_reach_an_open_stream_at_once() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200));
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&server, &browser).await;
    let webhook_id = api.create_webhook(webhook(receiver.url("/hook"))).await;
    let mut stream = EventStream::open(&browser.client, &server.url(STREAM), None).await;

    let sent = Instant::now();
    let accepted =
        api.publish(json!({"type": "feature-created", "featureName": "live-flag"}), StatusCode::ACCEPTED).await;
    let event_id = accepted["ids"][0].as_i64().expect("id");
    let notice = stream.expect("event", Duration::from_secs(1), |data| data["eventId"] == event_id).await;
    assert_eq!(notice, json!({"kind": "event", "eventId": event_id}), "ids only");

    // The dispatcher sends it to the receiver and records the attempt: the notice follows.
    let notice = stream
        .expect("delivery", Duration::from_secs(3), |data| {
            data["webhookId"] == webhook_id && data["state"] == "succeeded"
        })
        .await;
    let took = sent.elapsed();
    assert_eq!(receiver.received().len(), 1);
    let delivery_id = notice["deliveryId"].as_i64().expect("delivery id");
    let stored = api.get(&format!("/api/admin/deliveries/{delivery_id}"), StatusCode::OK).await;
    assert_eq!(stored["state"], "succeeded", "the notice names the delivery the log shows");
    assert_eq!(stored["webhookId"], webhook_id);
    assert!(took < Duration::from_secs(3), "{took:?}");

    // A redelivery queues it again: a notice for that too.
    api.post(&format!("/api/admin/deliveries/{delivery_id}/redeliver"), &json!({}), StatusCode::ACCEPTED).await;
    stream.expect("delivery", Duration::from_secs(1), |data| data["deliveryId"] == delivery_id).await;
    server.stop().await;
}

#[tokio::test]
async fn a_webhook_paused_by_its_breaker_is_announced() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let (server, browser) = TestServer::start_signed_in_with(|config| {
        fast_delivery(config);
        config.breaker_failures = 2;
    })
    .await;
    let api = Api::new(&server, &browser).await;
    let webhook_id = api.create_webhook(webhook(receiver.url("/hook"))).await;
    let reader = Api::with_scopes(&server, &browser, &["read"]).await;
    let mut stream = EventStream::open(&client(), &server.url(STREAM), Some(&reader.token)).await;
    api.publish(json!({"type": "feature-created", "featureName": "failing"}), StatusCode::ACCEPTED).await;
    stream.expect("delivery", Duration::from_secs(3), |data| data["state"] == "retrying").await;
    let notice = stream.expect("webhook", Duration::from_secs(3), |data| data["webhookId"] == webhook_id).await;
    assert_eq!(notice["state"], "paused");
    // And the operational event it sends (`hookline.webhook.paused`) is an event like any other.
    stream.expect("event", Duration::from_secs(3), |_| true).await;

    // Deleting it is announced too.
    api.delete(&format!("/api/admin/webhooks/{webhook_id}"), StatusCode::NO_CONTENT).await;
    let notice = stream.expect("webhook", Duration::from_secs(1), |data| data["state"] == "deleted").await;
    assert_eq!(notice["webhookId"], webhook_id);
    server.stop().await;
}

#[tokio::test]
async fn streams_past_the_limits_are_refused_with_503() {
    let (server, browser) = TestServer::start_signed_in_with(|config| {
        config.live_streams = 3;
        config.live_streams_per_caller = 2;
    })
    .await;
    let url = server.url(STREAM);
    let first = Api::with_scopes(&server, &browser, &["read"]).await;
    let second = Api::with_scopes(&server, &browser, &["read"]).await;
    let client = client();

    // Two for one caller, then its third is refused, naming the per-caller limit.
    let _a = EventStream::open(&client, &url, Some(&first.token)).await;
    let _b = EventStream::open(&client, &url, Some(&first.token)).await;
    let refused = request(&client, &url, Some(&first.token)).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = refused.json().await.expect("json");
    assert!(body["error"]["message"].as_str().unwrap().contains("HOOKLINE_LIVE_STREAMS_PER_CALLER"), "{body}");

    // Another caller gets the last place, then the server is full for everyone.
    let _c = EventStream::open(&client, &url, Some(&second.token)).await;
    assert_eq!(browser.metric(&server, "hookline_live_streams").await, 3.0, "the open streams are on /metrics");
    let refused = request(&client, &url, Some(&second.token)).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = refused.json().await.expect("json");
    assert!(body["error"]["message"].as_str().unwrap().contains("(HOOKLINE_LIVE_STREAMS)"), "{body}");
    let refused = request(&browser.client, &url, None).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE, "the admin's session too");

    // The other pages go on working.
    browser.get(&server.url("/deliveries"), StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn open_streams_do_not_hold_up_a_shutdown() {
    let (server, browser) = TestServer::start_signed_in_with(|config| {
        config.shutdown_grace = Duration::from_secs(30);
    })
    .await;
    let mut stream = EventStream::open(&browser.client, &server.url(STREAM), None).await;
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(10), "stopped in {:?}", started.elapsed());
    assert_eq!(stream.next(Duration::from_secs(1)).await, None, "the stream ended");
}

/// Two instances on one database: what the second records reaches a stream on the first (the
/// notices are relayed with NOTIFY and read by the first's LISTEN connection).
#[tokio::test]
async fn postgres_a_change_on_another_instance_reaches_the_stream() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200));
    let (first, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&first, &browser).await;
    let webhook_id = api.create_webhook(webhook(receiver.url("/hook"))).await;
    let second = TestServer::start_in(DataDir::Path(first.data.path().to_path_buf()), fast_delivery).await;
    let mut stream = EventStream::open(&browser.client, &first.url(STREAM), None).await;

    // The event goes in through the second instance.
    let on_second = Api { client: client(), base: second.base.clone(), token: api.token.clone() };
    let accepted =
        on_second.publish(json!({"type": "feature-created", "featureName": "elsewhere"}), StatusCode::ACCEPTED).await;
    let event_id = accepted["ids"][0].as_i64().expect("id");
    stream.expect("event", Duration::from_secs(1), |data| data["eventId"] == event_id).await;
    stream
        .expect("delivery", Duration::from_secs(3), |data| {
            data["webhookId"] == webhook_id && data["state"] == "succeeded"
        })
        .await;

    // A change the second instance makes to a webhook, too.
    on_second.delete(&format!("/api/admin/webhooks/{webhook_id}"), StatusCode::NO_CONTENT).await;
    stream.expect("webhook", Duration::from_secs(1), |data| data["webhookId"] == webhook_id).await;
    second.stop().await;
    first.stop().await;
}

/// Without NOTIFY (PgBouncer in transaction mode) nothing is relayed; a stream is told to resync
/// every few seconds instead, so another instance's changes still show.
#[tokio::test]
async fn postgres_without_notify_streams_resync_to_see_other_instances() {
    let no_notify = |config: &mut hookline_server::Config| config.pg_notify = "off".into();
    let (first, browser) = TestServer::start_signed_in_with(no_notify).await;
    let api = Api::new(&first, &browser).await;
    let second = TestServer::start_in(DataDir::Path(first.data.path().to_path_buf()), no_notify).await;
    let mut stream = EventStream::open(&browser.client, &first.url(STREAM), None).await;
    let on_second = Api { client: client(), base: second.base.clone(), token: api.token.clone() };
    on_second.publish(json!({"type": "feature-created", "featureName": "unheard"}), StatusCode::ACCEPTED).await;
    stream.expect("resync", Duration::from_secs(7), |_| true).await;
    second.stop().await;
    first.stop().await;
}
