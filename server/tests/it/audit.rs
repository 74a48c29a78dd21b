//! The audit log: every admin action, through the real API and the UI's server functions, leaves
//! one row (who, what, which object, from where) and no secret value; the log reads through
//! `GET /api/admin/audit` (admin scope) and Settings → Audit log; the command line is recorded too.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

/// Every column of every audit row, as text, read from the database itself.
async fn audit_table_text(dir: &Path) -> String {
    let mut db = RawDb::open(dir).await;
    let rows = db.rows_text("audit_log").await;
    db.close().await;
    rows.join("\n")
}

/// The whole log through the API, newest first.
async fn entries(api: &Api, query: &str) -> Vec<Value> {
    let page = api.get(&format!("/api/admin/audit?limit=200{query}"), StatusCode::OK).await;
    page["items"].as_array().expect("items").clone()
}

/// The newest entry of `action`.
fn newest<'a>(entries: &'a [Value], action: &str) -> &'a Value {
    entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("no {action} entry in {entries:#?}"))
}

fn count(entries: &[Value], action: &str) -> usize {
    entries.iter().filter(|e| e["action"] == action).count()
}

/// Asserts who did it, to what, and from where.
fn assert_entry(entry: &Value, actor_kind: &str, actor_name: &str, object_kind: &str, object_id: Option<i64>) {
    assert_eq!(entry["actorKind"], actor_kind, "{entry}");
    assert_eq!(entry["actorName"], actor_name, "{entry}");
    assert_eq!(entry["objectKind"], object_kind, "{entry}");
    if let Some(id) = object_id {
        assert_eq!(entry["objectId"], id, "{entry}");
    }
    assert_eq!(entry["address"], "127.0.0.1", "{entry}");
    assert!(entry["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{entry}");
}

async fn delivery_state(api: &Api, id: i64) -> String {
    let delivery = api.get(&format!("/api/admin/deliveries/{id}"), StatusCode::OK).await;
    delivery["state"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn every_admin_action_leaves_an_audit_row_without_secrets() {
    let server = TestServer::start_with(fast_delivery).await;
    let url = |path: &str| server.url(path);
    let admin = server.browser();
    admin
        .form(
            &url("/rpc/create_first_admin"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::FOUND,
        )
        .await;

    // Sign-ins: a wrong password, an unknown email, then a success (another browser).
    let other = server.browser();
    other
        .call(
            &url("/rpc/login"),
            &[("email", ADMIN_EMAIL), ("password", "wrong-password-123")],
            StatusCode::UNAUTHORIZED,
        )
        .await;
    other
        .call(
            &url("/rpc/login"),
            &[("email", "nobody@example.com"), ("password", "guess-password-456")],
            StatusCode::UNAUTHORIZED,
        )
        .await;
    other.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;

    // Admins and tokens through the UI's server functions.
    let added = admin
        .call(
            &url("/rpc/add_admin"),
            &[("email", "second@example.com"), ("password", "second-password-1")],
            StatusCode::OK,
        )
        .await;
    let second_id = added.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let api = Api::new(&server, &admin).await;
    let doomed =
        admin.call(&url("/rpc/create_token"), &[("name", "doomed"), ("scopes[]", "read")], StatusCode::OK).await;
    let doomed: Value = doomed.json().await.expect("json");
    let doomed_token = doomed["token"].as_str().expect("token").to_string();
    let doomed_id = doomed["id"].as_i64().expect("id");
    admin.call(&url("/rpc/revoke_token"), &[("id", &doomed_id.to_string())], StatusCode::OK).await;

    // Webhooks through the JSON API (as the token), with secrets in every sensitive field.
    let webhook = json!({
        "description": "Slack",
        "url": "http://127.0.0.1:9/services/URL-SECRET-PATH",
        "authorization": "Bearer AUTH-SECRET-1",
        "headers": {"X-Api-Key": "HEADER-SECRET-1"},
        "events": ["feature-created"]
    });
    let id = api.create_webhook(webhook.clone()).await;
    let mut changed = webhook.clone();
    changed["authorization"] = json!("Bearer AUTH-SECRET-2");
    changed["headers"] = json!({"X-Api-Key": "HEADER-SECRET-2", "X-Team": "HEADER-SECRET-3"});
    api.put(&format!("/api/admin/webhooks/{id}"), &changed, StatusCode::OK).await;
    let revealed = api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await;
    let first_secret = revealed["secret"].as_str().expect("secret").to_string();
    let rotated = api.post(&format!("/api/admin/webhooks/{id}/secret/rotate"), &json!({}), StatusCode::OK).await;
    let second_secret = rotated["secret"].as_str().expect("secret").to_string();

    // Disable and enable through the UI.
    let id_text = id.to_string();
    admin.call(&url("/rpc/set_webhook_enabled"), &[("id", &id_text), ("enabled", "false")], StatusCode::OK).await;
    admin.call(&url("/rpc/set_webhook_enabled"), &[("id", &id_text), ("enabled", "true")], StatusCode::OK).await;

    // A test send (to a closed port: it fails at once), its redelivery, then a recover.
    let test = api
        .post(&format!("/api/admin/webhooks/{id}/test"), &json!({"eventType": "feature-created"}), StatusCode::ACCEPTED)
        .await;
    let delivery = test["id"].as_i64().expect("delivery id");
    for _ in 0..200 {
        if delivery_state(&api, delivery).await == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(delivery_state(&api, delivery).await, "failed");
    api.post(&format!("/api/admin/deliveries/{delivery}/redeliver"), &json!({}), StatusCode::ACCEPTED).await;
    api.post(&format!("/api/admin/webhooks/{id}/recover"), &json!({"since": "2020-01-01T00:00:00Z"}), StatusCode::OK)
        .await;

    // Duplicate through the UI, delete through the API.
    let copy = admin.call(&url("/rpc/duplicate_webhook"), &[("id", &id_text)], StatusCode::OK).await;
    let copy_id = copy.json::<Value>().await.expect("json").as_i64().expect("copy id");
    api.delete(&format!("/api/admin/webhooks/{copy_id}"), StatusCode::NO_CONTENT).await;

    // The last admin actions: remove the second admin, change the password.
    admin.call(&url("/rpc/remove_admin"), &[("id", &second_id.to_string())], StatusCode::OK).await;
    admin
        .call(
            &url("/rpc/change_password"),
            &[("current_password", ADMIN_PASSWORD), ("new_password", "a-brand-new-password-789")],
            StatusCode::OK,
        )
        .await;

    let log = entries(&api, "").await;
    let ids: Vec<i64> = log.iter().map(|e| e["id"].as_i64().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let admin_id = newest(&log, "signin.succeeded")["actorId"].as_i64().expect("admin id");
    let token = "token:tests";

    // Who, what, which object, from where.
    let first = newest(&log, "admin.added");
    assert_entry(first, "admin", ADMIN_EMAIL, "admin", Some(second_id));
    assert_eq!(first["objectName"], "second@example.com");
    let setup = log.iter().rfind(|e| e["action"] == "admin.added").expect("setup entry");
    assert_entry(setup, "admin", ADMIN_EMAIL, "admin", Some(admin_id));
    assert_eq!(setup["actorId"], admin_id, "the new admin acts on the setup page");
    assert_eq!(setup["detail"]["firstAdmin"], true);

    assert_eq!(count(&log, "signin.failed"), 2);
    let failures: Vec<&Value> = log.iter().filter(|e| e["action"] == "signin.failed").collect();
    assert_entry(failures[1], "anonymous", ADMIN_EMAIL, "admin", Some(admin_id));
    assert_eq!(failures[1]["detail"]["reason"], "wrong password");
    assert_entry(failures[0], "anonymous", "nobody@example.com", "admin", None);
    assert_eq!(failures[0]["objectId"], Value::Null);
    assert_eq!(failures[0]["detail"]["reason"], "unknown email");
    assert_entry(newest(&log, "signin.succeeded"), "admin", ADMIN_EMAIL, "admin", Some(admin_id));

    assert_entry(newest(&log, "admin.removed"), "admin", ADMIN_EMAIL, "admin", Some(second_id));
    assert_entry(newest(&log, "password.changed"), "admin", ADMIN_EMAIL, "admin", Some(admin_id));

    let created_tokens: Vec<&Value> = log.iter().filter(|e| e["action"] == "token.created").collect();
    assert_eq!(created_tokens.len(), 2);
    assert_entry(created_tokens[0], "admin", ADMIN_EMAIL, "token", Some(doomed_id));
    assert_eq!(created_tokens[0]["objectName"], "doomed");
    assert_eq!(created_tokens[0]["detail"]["scopes"], json!(["read"]));
    let revoked = newest(&log, "token.revoked");
    assert_entry(revoked, "admin", ADMIN_EMAIL, "token", Some(doomed_id));
    assert_eq!(revoked["objectName"], "doomed");

    let created = log.iter().rfind(|e| e["action"] == "webhook.created").expect("webhook.created");
    assert_entry(created, "token", token, "webhook", Some(id));
    assert_eq!(created["objectName"], "Slack");
    assert_eq!(created["detail"]["urlHost"], "127.0.0.1:9");
    let updated = newest(&log, "webhook.updated");
    assert_entry(updated, "token", token, "webhook", Some(id));
    assert_eq!(updated["detail"]["changed"], json!(["authorization", "headers"]), "only what changed, by name");
    assert_entry(newest(&log, "secret.revealed"), "token", token, "webhook", Some(id));
    assert_entry(newest(&log, "secret.rotated"), "token", token, "webhook", Some(id));
    assert_entry(newest(&log, "webhook.disabled"), "admin", ADMIN_EMAIL, "webhook", Some(id));
    assert_entry(newest(&log, "webhook.enabled"), "admin", ADMIN_EMAIL, "webhook", Some(id));
    let test_sent = newest(&log, "webhook.test-sent");
    assert_entry(test_sent, "token", token, "webhook", Some(id));
    assert_eq!(test_sent["detail"], json!({"eventType": "feature-created", "deliveryId": delivery}));
    let redelivered = newest(&log, "delivery.redelivered");
    assert_entry(redelivered, "token", token, "delivery", Some(delivery));
    assert_eq!(redelivered["detail"]["webhookId"], id);
    let recovered = newest(&log, "delivery.recovered");
    assert_entry(recovered, "token", token, "webhook", Some(id));
    assert!(recovered["detail"]["requeued"].is_i64(), "{recovered}");
    let duplicated = newest(&log, "webhook.created");
    assert_entry(duplicated, "admin", ADMIN_EMAIL, "webhook", Some(copy_id));
    assert_eq!(duplicated["detail"]["copyOf"], id);
    let deleted = newest(&log, "webhook.deleted");
    assert_entry(deleted, "token", token, "webhook", Some(copy_id));
    assert_eq!(deleted["objectName"], "Copy of Slack");

    // Each action once (the API and the server functions share one recording layer).
    for (action, times) in [
        ("signin.succeeded", 1),
        ("admin.added", 2),
        ("admin.removed", 1),
        ("password.changed", 1),
        ("token.revoked", 1),
        ("webhook.created", 2),
        ("webhook.updated", 1),
        ("webhook.deleted", 1),
        ("webhook.enabled", 1),
        ("webhook.disabled", 1),
        ("secret.revealed", 1),
        ("secret.rotated", 1),
        ("webhook.test-sent", 1),
        ("delivery.redelivered", 1),
        ("delivery.recovered", 1),
    ] {
        assert_eq!(count(&log, action), times, "{action}");
    }

    // No secret value anywhere in the table: passwords (also the wrong ones), tokens, the
    // Authorization and header values, the URL's path, the signing secrets.
    let text = audit_table_text(server.data.path()).await;
    assert!(text.contains("webhook.updated"), "the table was read: {text}");
    for secret in [
        ADMIN_PASSWORD,
        "wrong-password-123",
        "guess-password-456",
        "second-password-1",
        "a-brand-new-password-789",
        api.token.as_str(),
        doomed_token.as_str(),
        "AUTH-SECRET",
        "HEADER-SECRET",
        "URL-SECRET-PATH",
        first_secret.as_str(),
        second_secret.as_str(),
        first_secret.trim_start_matches("whsec_"),
    ] {
        assert!(!text.contains(secret), "{secret} is in the audit table:\n{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn only_admins_read_the_audit_log() {
    let (server, browser) = TestServer::start_signed_in().await;
    let admin = Api::new(&server, &browser).await;
    for scopes in [&["read"][..], &["events"][..], &["events", "read"][..]] {
        let token = Api::with_scopes(&server, &browser, scopes).await;
        let body = token.get("/api/admin/audit", StatusCode::FORBIDDEN).await;
        assert!(body.to_string().contains("`admin` scope"), "{body}");
    }
    let anonymous = client().get(server.url("/api/admin/audit")).send().await.expect("get");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let page = admin.get("/api/admin/audit", StatusCode::OK).await;
    assert!(page["items"].as_array().is_some_and(|items| !items.is_empty()), "{page}");
    // A signed-in admin reads it too (session).
    let response = browser.get(&server.url("/api/admin/audit"), StatusCode::OK).await;
    let body: Value = response.json().await.expect("json");
    assert!(body["items"].is_array(), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn the_log_filters_by_actor_and_action_and_pages_by_keyset() {
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&server, &browser).await;
    for name in ["one", "two", "three", "four", "five"] {
        browser.call(&server.url("/rpc/create_token"), &[("name", name)], StatusCode::OK).await;
    }
    let id = api.create_webhook(json!({"url": "http://127.0.0.1:9/hook", "events": ["feature-created"]})).await;
    api.delete(&format!("/api/admin/webhooks/{id}"), StatusCode::NO_CONTENT).await;

    let by_token = entries(&api, "&actor=token:tests").await;
    let actions: Vec<&str> = by_token.iter().map(|e| e["action"].as_str().unwrap_or_default()).collect();
    assert_eq!(actions, ["webhook.deleted", "webhook.created"]);
    let by_admin = entries(&api, &format!("&actor={ADMIN_EMAIL}&action=token.created")).await;
    assert_eq!(by_admin.len(), 6, "the test's token and five more");

    // Pages of two, newest first, until nextCursor is null.
    let mut names = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let before = cursor.map(|c| format!("&before={c}")).unwrap_or_default();
        let page = api.get(&format!("/api/admin/audit?action=token.created&limit=2{before}"), StatusCode::OK).await;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|e| e["objectName"].as_str().unwrap_or_default().to_string()));
        match page["nextCursor"].as_i64() {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(names, ["five", "four", "three", "two", "one", "tests"]);

    // Bad parameters answer the standard JSON error naming the parameter.
    let error = api.get("/api/admin/audit?action=webhook.exploded", StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error["error"]["field"], "action", "{error}");
    let error = api.get("/api/admin/audit?limit=many", StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error["error"]["field"], "limit", "{error}");
    let error = api.get("/api/admin/audit?before=x", StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error["error"]["field"], "before", "{error}");
    server.stop().await;
}

#[tokio::test]
async fn the_address_is_the_client_behind_a_trusted_proxy() {
    let (server, _) = TestServer::start_signed_in_with(|config| config.trusted_proxies = "127.0.0.1/32".into()).await;
    let failed = client()
        .post(server.url("/rpc/login"))
        .header("accept", "application/json")
        .header("x-forwarded-for", "198.51.100.23, 203.0.113.7")
        .form(&[("email", ADMIN_EMAIL), ("password", "not-the-password")])
        .send()
        .await
        .expect("post");
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let browser = server.browser();
    browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    let api = Api::new(&server, &browser).await;
    let log = entries(&api, "&action=signin.failed").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["address"], "203.0.113.7", "the right-most untrusted address: {}", log[0]);
    assert_eq!(entries(&api, "&action=signin.succeeded").await[0]["address"], "127.0.0.1");
    server.stop().await;
}

#[tokio::test]
async fn the_audit_page_lists_filters_and_links_older_entries() {
    let (server, browser) = TestServer::start_signed_in().await;
    for name in (0..55).map(|i| format!("token-{i}")) {
        browser.call(&server.url("/rpc/create_token"), &[("name", &name)], StatusCode::OK).await;
    }
    let settings = browser.get(&server.url("/settings"), StatusCode::OK).await.text().await.expect("html");
    assert!(settings.contains(r#"href="/settings/audit""#), "Settings links the audit log");

    let page = browser.get(&server.url("/settings/audit"), StatusCode::OK).await;
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"data-testid="audit""#), "{html}");
    assert!(html.contains("token-54"), "the newest entry is on the first page");
    assert!(!html.contains("token-3\u{201d}"), "older entries are on the next page");
    let older = html
        .split("href=\"/settings/audit?before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no Older link in {html}"));
    let next = browser
        .get(&server.url(&format!("/settings/audit?before={older}")), StatusCode::OK)
        .await
        .text()
        .await
        .expect("html");
    assert!(next.contains("token-3\u{201d}"), "the next page has the older entries");
    assert!(!next.contains("token-54"));

    let filtered = browser
        .get(&server.url("/settings/audit?action=admin.added"), StatusCode::OK)
        .await
        .text()
        .await
        .expect("html");
    assert!(filtered.contains(r#"data-action="admin.added""#), "filtered by action");
    assert!(!filtered.contains(r#"data-action="token.created""#), "filtered by action");
    let by_nobody = browser.get(&server.url("/settings/audit?actor=nobody%40example.com"), StatusCode::OK).await;
    assert!(by_nobody.text().await.expect("html").contains("No audit entries match."));

    // Signed out, the page is behind the sign-in.
    server.browser().get(&server.url("/settings/audit"), StatusCode::SEE_OTHER).await;
    server.stop().await;
}

#[tokio::test]
async fn sqlite_the_command_line_is_recorded_as_cli() {
    let (server, _) = TestServer::start_signed_in().await;
    let data = server.stop().await;
    let database_url = format!("sqlite://{}", data.path().join("hookline.db").display());
    let run = |args: &[&str]| {
        let mut argv = vec!["hookline"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--database-url", &database_url]);
        <hookline_server::config::Cli as clap::Parser>::try_parse_from(argv).expect("arguments")
    };
    hookline_server::cli::execute(run(&["token", "create", "--name", "ci", "--scope", "admin"])).await.expect("create");
    hookline_server::cli::execute(run(&["token", "revoke", "1"])).await.expect("revoke");
    hookline_server::cli::execute(run(&["keys", "rotate"])).await.expect("rotate");

    let server = TestServer::start_in(data, |_| {}).await;
    let browser = server.browser();
    browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    let api = Api::new(&server, &browser).await;
    let log = entries(&api, "&actor=cli").await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap_or_default()).collect();
    assert_eq!(actions, ["key.rotated", "token.revoked", "token.created"]);
    for entry in &log {
        assert_eq!(entry["actorKind"], "cli", "{entry}");
        assert_eq!(entry["address"], Value::Null, "{entry}");
    }
    assert_eq!(log[2]["objectName"], "ci");
    assert_eq!(log[1]["objectId"], 1);
    assert_eq!(log[1]["objectName"], "ci");
    assert_eq!(log[0]["objectKind"], "encryption-key");
    assert!(log[0]["detail"]["values"].as_i64().is_some_and(|n| n > 0), "{}", log[0]);
    server.stop().await;
}

#[tokio::test]
async fn old_entries_go_after_the_audit_retention() {
    let (server, browser) = TestServer::start_signed_in().await;
    let api = Api::new(&server, &browser).await;
    assert!(!entries(&api, "").await.is_empty());
    let base = config_in(server.data.path()).await;
    let config = |retention: Duration| {
        let mut config = base.clone();
        config.audit_retention = retention;
        config
    };
    // The default (a year) keeps today's entries; the delivery retention does not touch them.
    let state = hookline_server::build_state(config(Duration::from_secs(365 * 86400))).await.expect("state");
    assert_eq!(state.prune_audit_once().await.expect("prune"), 0);
    state.prune_once().await.expect("prune the delivery log");
    state.db.close().await;
    assert_eq!(entries(&api, "").await.len(), 2, "the setup and the token");

    let state = hookline_server::build_state(config(Duration::ZERO)).await.expect("state");
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(state.prune_audit_once().await.expect("prune"), 2);
    state.db.close().await;
    assert!(entries(&api, "").await.is_empty());
    server.stop().await;
}
