//! The webhook admin API: validation, masking, secrets, tokens, the catalog and the preview.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;
use crate::receiver::Receiver;

const WAIT: std::time::Duration = std::time::Duration::from_secs(15);

fn slack_like(url: &str) -> Value {
    json!({
        "description": "Slack #releases",
        "url": url,
        "contentType": "application/json",
        "authorization": "Bearer top-secret",
        "headers": {"X-Api-Key": "k3y-value"},
        "bodyTemplate": "{\"text\": \"{{eventMarkdown}}\"}",
        "events": ["feature-created", "feature-archived"],
        "projects": ["web-shop"],
        "environments": [],
        "retryPolicy": "unleash"
    })
}

#[tokio::test]
async fn webhooks_are_created_listed_and_masked() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let created = api
        .post("/api/admin/webhooks", &slack_like("http://127.0.0.1:9/services/T000/B000/XXXX"), StatusCode::CREATED)
        .await;
    let id = created["id"].as_i64().expect("id");

    // Every sensitive value is masked, even right after create.
    assert_eq!(created["url"], "http://127.0.0.1:9/*****");
    assert_eq!(created["urlHost"], "127.0.0.1:9");
    assert_eq!(created["authorization"], "*****");
    assert_eq!(created["headers"], json!({"X-Api-Key": "*****"}));
    assert_eq!(created["secret"], "whsec_*****");
    assert_eq!(created["retryPolicy"], "unleash");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["updatedBy"], "token:tests");
    let text = created.to_string();
    for secret in ["top-secret", "k3y-value", "T000"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    let list = api.get("/api/admin/webhooks", StatusCode::OK).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(!list.to_string().contains("top-secret"));

    let one = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    assert_eq!(one["events"], json!(["feature-created", "feature-archived"]));
    assert_eq!(one["projects"], json!(["web-shop"]));

    // The secret in full only through the explicit endpoint.
    let secret = api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await;
    let secret = secret["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(&secret["whsec_".len()..]).expect("base64");
    assert_eq!(bytes.len(), 32);
    server.stop().await;
}

#[tokio::test]
async fn updates_with_masks_keep_stored_secrets() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(slack_like(&receiver.url("/hook/secret-path"))).await;
    let stored = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;

    // PUT back exactly what GET returned (masks included), with a new description.
    let mut update = stored.clone();
    for key in [
        "id",
        "urlHost",
        "secret",
        "createdAt",
        "updatedAt",
        "updatedBy",
        "lastDelivery",
        "disabledReason",
        "disabledAt",
        "pausedUntil",
        "consecutiveFailures",
        "lastError",
        "headOfLine",
        "previousSecretExpiresAt",
    ] {
        update.as_object_mut().expect("object").remove(key);
    }
    update["description"] = json!("Renamed");
    let updated = api.put(&format!("/api/admin/webhooks/{id}"), &update, StatusCode::OK).await;
    assert_eq!(updated["description"], "Renamed");

    // The stored URL, Authorization and header are still the real ones: a delivery shows them.
    api.publish(json!({"type": "feature-created", "project": "web-shop", "featureName": "f"}), StatusCode::ACCEPTED)
        .await;
    let got = receiver.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert_eq!(got[0].path, "/hook/secret-path");
    assert_eq!(got[0].header("authorization"), "Bearer top-secret");
    assert_eq!(got[0].header("x-api-key"), "k3y-value");
    server.stop().await;
}

#[tokio::test]
async fn headers_keep_the_order_they_were_entered_in() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let mut config = slack_like(&receiver.url("/hook"));
    config["headers"] = json!({"X-Zeta": "z", "X-Alpha": "a", "X-Mid": "m"});
    let id = api.create_webhook(config).await;
    let stored = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    let names: Vec<&String> = stored["headers"].as_object().expect("headers").keys().collect();
    assert_eq!(names, ["X-Zeta", "X-Alpha", "X-Mid"], "the API shows them as entered");

    api.publish(json!({"type": "feature-created", "project": "web-shop", "featureName": "f"}), StatusCode::ACCEPTED)
        .await;
    let got = receiver.wait_for(1, std::time::Duration::from_secs(10)).await;
    let sent: Vec<&str> = got[0].headers.keys().map(|n| n.as_str()).filter(|n| n.starts_with("x-")).collect();
    assert_eq!(sent, ["x-zeta", "x-alpha", "x-mid"], "and they go out in that order");
    server.stop().await;
}

#[tokio::test]
async fn validation_names_the_field() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let base = slack_like("http://127.0.0.1:9/hook");
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"url": "not a url"}), "url", "not a valid URL"),
        (json!({"url": "ftp://127.0.0.1/x"}), "url", "http or https"),
        (json!({"url": "http://user:pw@127.0.0.1/x"}), "url", "Authorization field"),
        (json!({"description": "x".repeat(501)}), "description", "500 characters"),
        (json!({"headers": {"Host": "evil.example"}}), "headers", "derived from the URL"),
        (json!({"headers": {"Content-Length": "5"}}), "headers", "computed from the body"),
        (json!({"headers": {"webhook-signature": "v1,forged"}}), "headers", "Standard Webhooks"),
        (json!({"events": []}), "events", "at least one"),
        (json!({"events": ["feature-exploded"]}), "events", "feature-exploded"),
        (json!({"contentType": "json"}), "contentType", "media type"),
        (json!({"headers": {"Bad Header": "x"}}), "headers", "not a valid header name"),
        (json!({"headers": {"X-Ok": "a\r\nInjected: yes"}}), "headers", "line break"),
        (json!({"headers": {"Content-Type": "text/plain"}}), "headers", "Content-Type field"),
        (json!({"authorization": "Bearer \n x"}), "authorization", "line break"),
        (json!({"bodyTemplate": "{\n  {{#event.data}}\n}"}), "bodyTemplate", "line 2, column 3"),
        (json!({"retryPolicy": "forever"}), "", "unknown variant `forever`"),
    ];
    for (patch, field, words) in cases {
        let mut body = base.clone();
        for (key, value) in patch.as_object().expect("object") {
            body[key] = value.clone();
        }
        // A value our validation refuses is 422 and names its field; one that cannot even be
        // read as a webhook (an unknown retry policy) is 400.
        let status = if field.is_empty() { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
        let error = api.post("/api/admin/webhooks", &body, status).await;
        if !field.is_empty() {
            assert_eq!(error["error"]["field"], field, "{patch}: {error}");
        }
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{patch}: {message}");
    }

    // Malformed JSON and unknown fields are refused with a message.
    let response = api
        .client
        .post(format!("{}/api/admin/webhooks", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{\"url\": ")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.expect("json");
    assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("not valid JSON")), "{error}");
    let mut unknown = base.clone();
    unknown["colour"] = json!("blue");
    let error = api.post("/api/admin/webhooks", &unknown, StatusCode::BAD_REQUEST).await;
    assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("colour")), "{error}");

    // Nothing was stored by any of the refused requests.
    let list = api.get("/api/admin/webhooks", StatusCode::OK).await;
    assert_eq!(list, json!([]));
    server.stop().await;
}

#[tokio::test]
async fn json_templates_are_checked_against_every_subscribed_sample() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let mut body = slack_like("http://127.0.0.1:9/hook");
    // Valid JSON for most events, but `{{event.data.name}}` unquoted breaks JSON for feature-archived (data null).
    body["bodyTemplate"] = json!("{\"name\": {{#event.data}}\"{{name}}\"{{/event.data}}}");
    let error = api.post("/api/admin/webhooks", &body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error["error"]["field"], "bodyTemplate");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("feature-archived") && message.contains("line 1, column"), "{message}");

    body["saveAnyway"] = json!(true);
    api.post("/api/admin/webhooks", &body, StatusCode::CREATED).await;

    // Not JSON: no JSON check.
    body["saveAnyway"] = json!(false);
    body["contentType"] = json!("text/plain");
    api.post("/api/admin/webhooks", &body, StatusCode::CREATED).await;
    server.stop().await;
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let (server, api) = TestServer::start_for_delivery(|config| config.allowed_targets = String::new()).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
    ] {
        let error = api.post("/api/admin/webhooks", &slack_like(url), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error["error"]["field"], "url");
        assert!(error["error"]["message"].as_str().is_some_and(|m| m.starts_with("Blocked:")), "{error}");
    }
    server.stop().await;

    let (allowed, api) = TestServer::start_for_delivery(|config| config.allowed_targets = "127.0.0.1/32".into()).await;
    api.post("/api/admin/webhooks", &slack_like("http://127.0.0.1:8080/hook"), StatusCode::CREATED).await;
    allowed.stop().await;
}

/// The list's switch and "Duplicate" (server functions, as the UI calls them), deleting, and
/// unknown ids on the admin API.
#[tokio::test]
async fn delete_toggle_duplicate_and_unknown_ids() {
    let receiver = Receiver::start().await;
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&server, &browser).await;
    let id = api.create_webhook(slack_like(&receiver.url("/hook"))).await;
    let original = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    let rpc = |name: &str| server.url(&format!("/rpc/{name}"));
    let event = |flag: &str| json!({"type": "feature-created", "project": "web-shop", "featureName": flag});
    let switch = |id: i64, enabled: bool| {
        let (url, id, enabled) = (rpc("set_webhook_enabled"), id.to_string(), enabled.to_string());
        let browser = &browser;
        async move {
            let out = browser.call(&url, &[("id", &id), ("enabled", &enabled)], StatusCode::OK).await;
            out.json::<Value>().await.expect("json")
        }
    };

    // Toggle off: stored, and the webhook gets no deliveries.
    assert_eq!(switch(id, false).await["enabled"], false);
    assert_eq!(api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await["enabled"], false);
    assert_eq!(api.publish(event("while-off"), StatusCode::ACCEPTED).await["deliveries"], 0);
    // Toggle on again: delivered.
    assert_eq!(switch(id, true).await["enabled"], true);
    assert_eq!(api.publish(event("back-on"), StatusCode::ACCEPTED).await["deliveries"], 1);
    let sent = receiver.wait_for(1, WAIT).await[0].json();
    assert!(sent["text"].as_str().is_some_and(|text| text.contains("back-on")), "{sent}");

    // Duplicate: a disabled copy with the same settings and its own signing secret.
    let copied = browser.call(&rpc("duplicate_webhook"), &[("id", &id.to_string())], StatusCode::OK).await;
    let copy_id: i64 = copied.json().await.expect("the copy's id");
    assert_ne!(copy_id, id);
    let copy = api.get(&format!("/api/admin/webhooks/{copy_id}"), StatusCode::OK).await;
    assert_eq!(copy["enabled"], false, "a copy starts disabled: {copy}");
    assert_eq!(copy["description"], "Copy of Slack #releases");
    for key in [
        "url",
        "contentType",
        "authorization",
        "headers",
        "bodyTemplate",
        "events",
        "projects",
        "environments",
        "retryPolicy",
    ] {
        assert_eq!(copy[key], original[key], "{key}");
    }
    let secret = |id: i64| {
        let api = &api;
        async move { api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await["secret"].clone() }
    };
    assert_ne!(secret(copy_id).await, secret(id).await, "the copy signs with its own secret");
    // The copy holds the real values behind the masks: once enabled, it sends them.
    switch(copy_id, true).await;
    assert_eq!(api.publish(event("both"), StatusCode::ACCEPTED).await["deliveries"], 2);
    let got = receiver.wait_for(3, WAIT).await;
    for request in &got[1..] {
        assert_eq!(request.path, "/hook");
        assert_eq!(request.header("authorization"), "Bearer top-secret");
        assert_eq!(request.header("x-api-key"), "k3y-value");
    }

    // Unknown ids.
    api.get("/api/admin/webhooks/9999", StatusCode::NOT_FOUND).await;
    api.put("/api/admin/webhooks/9999", &slack_like("http://127.0.0.1:9/hook"), StatusCode::NOT_FOUND).await;
    api.delete("/api/admin/webhooks/9999", StatusCode::NOT_FOUND).await;

    // Delete: gone (a second delete finds nothing), and the copy stays.
    api.delete(&format!("/api/admin/webhooks/{id}"), StatusCode::NO_CONTENT).await;
    api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::NOT_FOUND).await;
    api.delete(&format!("/api/admin/webhooks/{id}"), StatusCode::NOT_FOUND).await;
    api.get(&format!("/api/admin/webhooks/{copy_id}"), StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn secrets_rotate_with_a_grace_period() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(slack_like("http://127.0.0.1:9/hook")).await;
    let before = api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await;
    let rotated = api.post(&format!("/api/admin/webhooks/{id}/secret/rotate"), &json!({}), StatusCode::OK).await;
    assert_ne!(rotated["secret"], before["secret"]);
    assert_eq!(rotated["previousSecret"], before["secret"]);
    assert!(rotated["previousSecretExpiresAt"].as_str().is_some());
    let webhook = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    assert!(webhook["previousSecretExpiresAt"].as_str().is_some());
    server.stop().await;
}

#[tokio::test]
async fn tokens_authenticate_scripts_and_revoked_ones_stop_working() {
    let (server, browser) = TestServer::start_signed_in().await;
    let api = Api::new(&server, &browser).await;
    api.get("/api/admin/webhooks", StatusCode::OK).await;
    let wrong = Api { token: "hl_not-a-real-token".into(), client: api.client.clone(), base: api.base.clone() };
    wrong.get("/api/admin/webhooks", StatusCode::UNAUTHORIZED).await;
    let missing = reqwest::get(server.url("/api/admin/webhooks")).await.expect("get");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED, "no token, no session");

    let tokens: Value =
        browser.call(&server.url("/rpc/list_tokens"), &[], StatusCode::OK).await.json().await.expect("json");
    let listed = tokens.as_array().expect("list");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("token").is_none(), "the secret is never listed");
    assert!(listed[0]["lastUsedAt"].as_str().is_some(), "use is recorded");
    let id = listed[0]["id"].as_i64().expect("id").to_string();
    browser.call(&server.url("/rpc/revoke_token"), &[("id", &id)], StatusCode::OK).await;
    api.get("/api/admin/webhooks", StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn event_type_catalog_lists_all_69_with_samples() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let catalog = api.get("/api/admin/event-types", StatusCode::OK).await;
    let types = catalog.as_array().expect("list");
    // Unleash's 66, then Hookline's own 3 operational events.
    assert_eq!(types.len(), 69);
    let ours: Vec<&Value> = types.iter().filter(|t| t["group"] == "hookline").collect();
    assert_eq!(ours.len(), 3);
    assert!(types[66..].iter().all(|t| t["group"] == "hookline" && t["unleashAddon"] == false));
    assert_eq!(types[67]["name"], "hookline.webhook.paused");
    assert_eq!(types[67]["groupLabel"], "Hookline operations");
    let addon: Vec<&Value> = types.iter().filter(|t| t["unleashAddon"] == true).collect();
    assert_eq!(addon.len(), 33, "the types of Unleash's webhook addon come first");
    assert!(types[..33].iter().all(|t| t["unleashAddon"] == true));
    assert!(types.iter().any(|t| t["name"] == "feature-environment-variants-updated" && t["unleashAddon"] == false));
    for entry in types {
        assert_eq!(entry["sample"]["type"], entry["name"]);
        assert!(entry["groupLabel"].as_str().is_some_and(|g| !g.is_empty()));
    }
    let deprecated: Vec<&Value> = types.iter().filter(|t| t["deprecated"] == true).collect();
    assert_eq!(deprecated.len(), 1);
    assert_eq!(deprecated[0]["name"], "feature-updated");
    server.stop().await;
}

#[tokio::test]
async fn preview_api_renders_and_locates_errors() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let out = api
        .post(
            "/api/admin/preview",
            &json!({"bodyTemplate": "{{event.type}} on toggle {{event.featureName}}", "contentType": "text/plain", "eventType": "feature-created"}), StatusCode::OK)
        .await;
    assert!(out["body"].as_str().is_some_and(|b| b.starts_with("feature-created on toggle ")));
    assert_eq!(out["validJson"], Value::Null);
    assert_eq!(out["error"], Value::Null);
    assert_eq!(out["headers"][0], json!(["content-type", "text/plain"]));

    // A template that does not compile is the preview's answer (200), not a refused request.
    let broken = api
        .post("/api/admin/preview", &json!({"bodyTemplate": "a\n  {{#event.data}}", "contentType": "application/json", "eventType": "feature-created"}), StatusCode::OK)
        .await;
    assert_eq!(broken["error"]["line"], 2);
    assert_eq!(broken["error"]["column"], 3);

    let own = api
        .post(
            "/api/admin/preview",
            &json!({"bodyTemplate": "{\"flag\": \"{{event.featureName}}\"}", "contentType": "application/json",
                    "event": {"type": "feature-archived", "featureName": "he said \"hi\""}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(own["validJson"], true);
    assert_eq!(
        serde_json::from_str::<Value>(own["body"].as_str().expect("body")).expect("json")["flag"],
        "he said \"hi\""
    );
    server.stop().await;
}

/// Malformed paths, query strings and bodies get the same JSON error shape as every other
/// refusal, naming what is wrong, never axum's plain-text 400.
#[tokio::test]
async fn malformed_requests_get_the_json_error_shape() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    // (method, path, body, status, what the message says, the field it names)
    type Case<'a> = (reqwest::Method, &'a str, Option<Value>, StatusCode, &'a str, Option<&'a str>);
    let cases: [Case; 6] = [
        (reqwest::Method::GET, "/api/admin/webhooks/abc", None, StatusCode::BAD_REQUEST, "`abc`", None),
        (
            reqwest::Method::GET,
            "/api/admin/deliveries/1.5",
            None,
            StatusCode::BAD_REQUEST,
            "ids are whole numbers",
            None,
        ),
        (
            reqwest::Method::GET,
            "/api/admin/deliveries?limit=many",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit",
            Some("limit"),
        ),
        (
            reqwest::Method::GET,
            "/api/admin/events?before=yesterday",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "before",
            Some("before"),
        ),
        (
            reqwest::Method::GET,
            "/api/admin/deliveries?state=done",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`done` is not a delivery state",
            Some("state"),
        ),
        (
            reqwest::Method::POST,
            "/api/admin/webhooks",
            Some(json!({"url": 5})),
            StatusCode::BAD_REQUEST,
            "expected a string",
            None,
        ),
    ];
    for (method, path, body, status, says, field) in cases {
        let answer = api.send(method, path, body.as_ref(), status).await;
        let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{path}: not our shape: {answer}"));
        assert!(message.contains(says), "{path}: {message}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{path}: {answer}");
        }
    }
    server.stop().await;
}

/// Two admins edit the same webhook: the second save, based on the version both opened, is
/// refused with 409 naming who changed it, instead of silently undoing the first.
#[tokio::test]
async fn a_stale_update_is_refused_not_applied() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api.create_webhook(slack_like("http://127.0.0.1:9/services/T000/B000/XXXX")).await;
    let path = format!("/api/admin/webhooks/{id}");
    let opened = api.get(&path, StatusCode::OK).await;
    let version = opened["version"].as_i64().expect("version");

    let mut first = slack_like("http://127.0.0.1:9/services/T000/B000/XXXX");
    first["description"] = json!("first edit");
    first["version"] = json!(version);
    let saved = api.put(&path, &first, StatusCode::OK).await;
    assert_eq!(saved["version"].as_i64(), Some(version + 1));

    let mut second = slack_like("http://127.0.0.1:9/services/T000/B000/XXXX");
    second["description"] = json!("second edit");
    second["version"] = json!(version);
    let refused = api.put(&path, &second, StatusCode::CONFLICT).await;
    let message = refused["error"]["message"].as_str().expect("message");
    assert!(message.contains("changed by") && message.contains("reload"), "{message}");
    assert!(message.contains(&format!("version {}", version + 1)), "{message}");
    let now = api.get(&path, StatusCode::OK).await;
    assert_eq!(now["description"], "first edit", "the refused update changed nothing");

    // Based on the current version it goes through; without a version it applies as before.
    second["version"] = json!(version + 1);
    let saved = api.put(&path, &second, StatusCode::OK).await;
    assert_eq!(saved["description"], "second edit");
    let mut unversioned = slack_like("http://127.0.0.1:9/services/T000/B000/XXXX");
    unversioned["description"] = json!("no version given");
    let saved = api.put(&path, &unversioned, StatusCode::OK).await;
    assert_eq!(saved["version"].as_i64(), Some(version + 3));
    server.stop().await;
}

/// The form carries the version it was opened on, so the same refusal reaches the browser.
#[tokio::test]
async fn the_form_refuses_a_save_over_someone_elses() {
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&server, &browser).await;
    let id = api.create_webhook(json!({"url": "http://127.0.0.1:9/hook", "events": ["feature-created"]})).await;
    let opened = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    let version = opened["version"].as_i64().expect("version").to_string();
    let id = id.to_string();
    let save = |description: &'static str, version: String| {
        let (browser, url, id) = (&browser, server.url("/rpc/save_webhook"), id.clone());
        async move {
            browser
                .call_any(
                    &url,
                    &[
                        ("id", id.as_str()),
                        ("form[url]", "http://127.0.0.1:9/hook"),
                        ("form[description]", description),
                        ("form[events][]", "feature-created"),
                        ("form[version]", version.as_str()),
                    ],
                )
                .await
        }
    };
    let first = save("saved first", version.clone()).await;
    assert_eq!(first.status(), StatusCode::OK, "{}", first.text().await.unwrap_or_default());
    let second = save("saved second", version).await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let body = second.text().await.expect("body");
    assert!(body.contains("changed by admin@example.com"), "{body}");
    let now = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    assert_eq!(now["description"], "saved first");
    server.stop().await;
}
