//! The API as a contract: `GET /api/openapi.json` is public and is exactly `docs/openapi.json`;
//! every operation in it is served by the router and answers with a status it documents; no
//! `/api` route is served outside the table the document is made from; and the document hangs
//! together (every `$ref` resolves, every refusal has the error shape).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::*;

fn repo_root() -> PathBuf {
    // This package is server/it.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository")
}

fn generated() -> String {
    hookline_server::routes::openapi::document_json()
}

fn document() -> Value {
    serde_json::from_str(&generated()).expect("the document is JSON")
}

/// Every (METHOD, path) the document describes.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            found.push((method.to_uppercase(), path.clone()));
        }
    }
    found
}

#[test]
fn the_checked_in_document_is_the_generated_one() {
    let path = repo_root().join("docs/openapi.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = generated();
    if checked_in != generated {
        let first = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| checked_in.lines().count().min(generated.lines().count()));
        panic!(
            "{} differs from the OpenAPI document the code generates (first at line {}: {:?} is now {:?}).\n\
             The API changed: run `make openapi` (or `cargo run -q -p hookline -- openapi > docs/openapi.json`), \
             review the difference and commit docs/openapi.json.",
            path.display(),
            first + 1,
            checked_in.lines().nth(first).unwrap_or("(end of file)"),
            generated.lines().nth(first).unwrap_or("(end of file)"),
        );
    }
}

#[test]
fn the_document_hangs_together() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");

    // Every reference points at something in the document.
    fn refs(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.insert(target.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut targets = BTreeSet::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    for target in &targets {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target}: only local references"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }

    let mut ids = BTreeSet::new();
    for (method, path) in operations(&doc) {
        let operation = &doc["paths"][&path][method.to_lowercase()];
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        assert!(ids.insert(id.to_string()), "{method} {path}: operationId {id} used twice");
        assert!(operation["summary"].is_string(), "{method} {path}: no summary");
        // Every refusal it documents has the one error shape.
        for (status, response) in operation["responses"].as_object().expect("responses") {
            if status.starts_with('4') {
                let body = response["$ref"].as_str().map(|r| doc.pointer(r.trim_start_matches('#')).unwrap());
                let schema = &body.unwrap_or(response)["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
        // The scope a token needs is what the gate enforces.
        let path_as_sent = path.replace("{id}", "1");
        let needed = hookline_core::scope::required(&method, &path_as_sent).as_str();
        match operation["security"].as_array() {
            None => assert_eq!(path, "/api/openapi.json", "only the document itself is public"),
            Some(requirements) => {
                assert_eq!(requirements[0]["bearerToken"], json!([needed]), "{method} {path}: the token scope");
            }
        }
    }

    // The filters list their words.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["DeliveryState"]["enum"], json!(["pending", "retrying", "succeeded", "failed"]));
    assert_eq!(schemas["StatusClass"]["enum"], json!(["2xx", "3xx", "4xx", "5xx", "none"]));
    assert!(schemas["AuditAction"]["enum"].as_array().unwrap().contains(&json!("webhook.created")));
    // Examples come from the catalog's samples.
    assert_eq!(schemas["IncomingEvent"]["examples"][0]["type"], "feature-created");
    assert_eq!(doc["components"]["securitySchemes"]["sessionCookie"]["name"], hookline_server::SESSION_COOKIE);
}

#[test]
fn closed_bodies_refuse_unknown_fields_in_the_document_too() {
    // serde's deny_unknown_fields on WebhookIn: a misspelt key is refused, and the schema says so.
    let refused = serde_json::from_value::<app::model::WebhookIn>(json!({"url": "https://x.example/", "evnets": []}));
    assert!(refused.is_err());
    let doc = document();
    for name in hookline_server::routes::openapi::CLOSED_SCHEMAS {
        assert_eq!(doc["components"]["schemas"][name]["additionalProperties"], json!(false), "{name}");
    }
}

#[tokio::test]
async fn the_document_is_public_json() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/api/openapi.json")).await.expect("request");
    assert_eq!(response.status(), StatusCode::OK, "no session or token needed");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.expect("body"), generated());
    server.stop().await;
}

/// Settings → API lists every operation of the document, rendered by the app, with a curl
/// example using a placeholder token; Settings → API tokens links to it.
#[tokio::test]
async fn the_api_page_shows_every_operation() {
    let (server, browser) = TestServer::start_signed_in().await;
    let settings = browser.get(&server.url("/settings"), StatusCode::OK).await.text().await.expect("html");
    assert!(settings.contains("href=\"/settings/api\""), "Settings links to the API page");

    let response = browser.get(&server.url("/settings/api"), StatusCode::OK).await;
    let html = response.text().await.expect("html");
    let doc = document();
    for (method, path) in operations(&doc) {
        let id = doc["paths"][&path][method.to_lowercase()]["operationId"].as_str().unwrap();
        assert!(html.contains(&format!("id=\"{id}\"")), "{method} {path} ({id}) is on the page");
        assert!(html.contains(&format!(">{path}</code>")), "{path} is shown");
    }
    assert!(html.contains("curl -X POST 'http://"), "curl examples");
    assert!(html.contains("Authorization: Bearer $HOOKLINE_TOKEN"), "with a placeholder token");
    assert!(html.contains("one of pending, retrying, succeeded, failed"), "the filters' words");
    assert!(html.contains("href=\"/api/openapi.json\""));
    assert!(!html.contains("<script src=\"http"), "no third-party script");

    // Signed out, the page is behind the sign-in like every other.
    let anonymous = server.browser().get(&server.url("/settings/api"), StatusCode::SEE_OTHER).await;
    assert!(location(&anonymous).starts_with("/login"), "{}", location(&anonymous));
    server.stop().await;
}

/// Each operation in the document reaches its handler (not axum's 405, not the `/api` catch-all's
/// 404) and answers with a status the document lists for it.
#[tokio::test]
async fn every_documented_operation_is_served_with_a_documented_status() {
    let (server, browser) = TestServer::start_signed_in().await;
    let api = Api::new(&server, &browser).await;
    let doc = document();
    let operations = operations(&doc);
    assert!(operations.len() >= 20, "{operations:?}");
    for (method, path) in operations {
        let concrete = path.replace("{id}", "999999");
        if path == "/api/admin/stream" {
            // An event stream never ends: its status and type, not its body (see live.rs).
            let response = api.client.get(server.url(&path)).bearer_auth(&api.token).send().await.expect("stream");
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["content-type"], "text/event-stream");
            continue;
        }
        let body = matches!(method.as_str(), "POST" | "PUT").then(|| json!({}));
        let (status, answer) =
            api.send_any(Method::from_bytes(method.as_bytes()).unwrap(), &concrete, body.as_ref()).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not routed");
        assert_ne!(answer["error"]["message"], "API route not found", "{method} {path} is not routed");
        let documented = doc["paths"][&path][method.to_lowercase()]["responses"].as_object().unwrap();
        assert!(
            documented.contains_key(status.as_str()),
            "{method} {path} answered {status}, which the document does not list: {answer}"
        );
    }
    server.stop().await;
}

/// Every `/api` route is registered with utoipa-axum's `routes!` (route and documentation in one),
/// none with a bare `.route(...)`, so none is served undocumented.
#[test]
fn no_api_route_is_served_outside_the_documented_table() {
    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&repo_root().join("server/src"), &mut files);
    rust_files(&repo_root().join("app/src"), &mut files);
    assert!(files.len() > 20);
    let mut bare = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        let compact: String = text.split_whitespace().collect();
        for call in [".route(\"/api", ".route_service(\"/api", ".nest(\"/api", ".nest_service(\"/api"] {
            for (at, _) in compact.match_indices(call) {
                let rest = &compact[at + call.find('"').unwrap() + 1..];
                let route = &rest[..rest.find('"').unwrap_or(rest.len())];
                // The catch-all that answers unknown API paths with a JSON 404.
                if route != "/api/{*rest}" {
                    bare.push(format!("{}: {route}", file.display()));
                }
            }
        }
    }
    assert!(
        bare.is_empty(),
        "/api routes added outside the OpenAPI table (register them with utoipa_axum's routes! and a \
         #[utoipa::path], see server/src/routes/openapi.rs): {bare:?}"
    );
}

// Found by Schemathesis (scripts/schemathesis.sh); each was a 5xx or a response outside the
// document.

/// An event with the id `i64::MAX` was stored, and from then on every event sent without an id
/// failed with 500 ("the event ids are exhausted"): one request with an `events` token broke the
/// intake for good. Client ids now stop at 2^53 - 1, which every Unleash id fits in.
#[tokio::test]
async fn a_client_id_cannot_exhaust_the_event_ids() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let refused =
        api.publish(json!({"id": i64::MAX, "type": "feature-created"}), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refused["error"]["field"], "id");
    let refused = api
        .publish(json!({"events": [{"id": 9_007_199_254_740_992_i64, "type": "x"}]}), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(refused["error"]["field"], "events[0].id");

    let largest = hookline_core::event::MAX_CLIENT_ID;
    api.publish(json!({"id": largest, "type": "feature-created"}), StatusCode::ACCEPTED).await;
    let next = api.publish(json!({"type": "feature-created"}), StatusCode::ACCEPTED).await;
    assert_eq!(next["ids"], json!([largest + 1]));
    // The document says where the ids stop.
    assert_eq!(document()["components"]["schemas"]["IncomingEvent"]["properties"]["id"]["maximum"], json!(largest));
    server.stop().await;
}

/// A webhook deleted while one of its deliveries was in flight: recording that attempt failed
/// (its delivery was gone, a foreign key), and the whole batch was retried for about 90 s,
/// holding back the attempts of every other webhook (and, once given up, sending them again).
/// Attempts of deleted deliveries are now dropped, and the others are recorded at once.
#[tokio::test]
async fn deleting_a_webhook_mid_delivery_does_not_stall_the_others() {
    use crate::receiver::{Receiver, Reply};
    use std::time::Duration;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let slow = Receiver::start().await;
    slow.always(Reply::status(200).delay(Duration::from_millis(700)));
    let fast = Receiver::start().await;
    let doomed = api.create_webhook(json!({"url": slow.url("/slow"), "events": ["feature-created"]})).await;
    let kept = api.create_webhook(json!({"url": fast.url("/fast"), "events": ["feature-archived"]})).await;

    api.publish(json!({"type": "feature-created", "featureName": "a"}), StatusCode::ACCEPTED).await;
    slow.wait_for(1, Duration::from_secs(5)).await;
    api.delete(&format!("/api/admin/webhooks/{doomed}"), StatusCode::NO_CONTENT).await;
    // The slow attempt ends now, for a delivery that no longer exists.
    tokio::time::sleep(Duration::from_millis(1000)).await;

    api.publish(json!({"type": "feature-archived", "featureName": "a"}), StatusCode::ACCEPTED).await;
    fast.wait_for(1, Duration::from_secs(5)).await;
    let mut state = Value::Null;
    for _ in 0..60 {
        let page = api.get(&format!("/api/admin/webhooks/{kept}/deliveries"), StatusCode::OK).await;
        state = page["items"][0]["state"].clone();
        if state == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "succeeded", "the other webhook's attempt is recorded within 3 s");
    server.stop().await;
}
