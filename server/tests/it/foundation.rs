//! Start-up, health, database, access rules and cross-site protection.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn health_reports_version_and_database() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/healthz")).await.expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["database"], true);
    server.stop().await;
}

#[tokio::test]
async fn sqlite_migrations_create_the_schema_in_an_empty_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("nested/folder/fresh.db");
    let db = hookline_server::db::Db::open(&format!("sqlite://{}", path.display()), "normal").await.expect("open");
    assert!(path.exists(), "the database file and its folders are created");
    assert!(db.is_healthy().await);
    assert_eq!(db.count_admins().await.expect("count"), 0);
    db.close().await;
    // Opening again applies nothing new and keeps working.
    let again = hookline_server::db::Db::open(&format!("sqlite://{}", path.display()), "normal").await.expect("reopen");
    assert_eq!(again.count_admins().await.expect("count"), 0);
    again.close().await;
}

#[tokio::test]
async fn pages_redirect_to_sign_in_and_apis_answer_401() {
    let (server, _) = TestServer::start_signed_in().await;
    let anonymous = server.browser();

    let page = anonymous.get(&server.url("/webhooks?tab=all"), StatusCode::SEE_OTHER).await;
    assert_eq!(location(&page), "/login?next=%2Fwebhooks%3Ftab%3Dall");

    let home = anonymous.get(&server.url("/"), StatusCode::SEE_OTHER).await;
    assert_eq!(location(&home), "/login");

    let api = anonymous.get(&server.url("/api/admin/webhooks"), StatusCode::UNAUTHORIZED).await;
    let body: Value = api.json().await.expect("json");
    assert_eq!(body["error"]["message"], "sign-in required");

    anonymous.call(&server.url("/rpc/list_admins"), &[], StatusCode::UNAUTHORIZED).await;

    let intake =
        anonymous.client.post(server.url("/api/events")).json(&serde_json::json!({})).send().await.expect("post");
    assert_eq!(intake.status(), StatusCode::UNAUTHORIZED);

    let login_page = anonymous.get(&server.url("/login"), StatusCode::OK).await;
    let html = login_page.text().await.expect("html");
    assert!(html.contains("Sign in"), "the sign-in page renders");
    server.stop().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let (server, browser) = TestServer::start_signed_in().await;

    // A forged form on another site: the browser sends our cookie (top-level POST) with its Origin.
    let forged = browser
        .client
        .post(server.url("/rpc/add_admin"))
        .header("Origin", "https://evil.example")
        .form(&[("email", "mallory@example.com"), ("password", "mallory-password-123")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // No Origin and no Referer with a session cookie: refused too.
    let bare = browser.client.post(server.url("/rpc/logout")).send().await.expect("post");
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);

    // Sec-Fetch-Site: cross-site is refused even with a plausible Origin.
    let fetch = browser
        .client
        .post(server.url("/rpc/logout"))
        .header("Origin", &server.base)
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .expect("post");
    assert_eq!(fetch.status(), StatusCode::FORBIDDEN);

    // The same request from our own origin works, and the forged one changed nothing.
    let admins = browser.call(&server.url("/rpc/list_admins"), &[], StatusCode::OK).await;
    let admins: Value = admins.json().await.expect("json");
    assert_eq!(admins.as_array().map(Vec::len), Some(1));
    server.stop().await;
}

#[tokio::test]
async fn unknown_pages_are_404_and_unknown_api_paths_are_json_404() {
    let (server, browser) = TestServer::start_signed_in().await;
    let page = browser.get(&server.url("/no/such/page"), StatusCode::NOT_FOUND).await;
    assert!(page.text().await.expect("html").contains("Page not found"));
    let api = browser.get(&server.url("/api/admin/nothing-here"), StatusCode::NOT_FOUND).await;
    let body: Value = api.json().await.expect("json");
    assert!(body["error"]["message"].as_str().is_some());
    server.stop().await;
}

#[tokio::test]
async fn sqlite_session_key_is_generated_once_and_kept_private() {
    let server = TestServer::start().await;
    let key_path = server.data.path().join("secret.key");
    let first = std::fs::read(&key_path).expect("secret.key exists");
    assert_eq!(first.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the key");
    }
    let data = server.stop().await;
    let again = TestServer::start_in(data, |_| {}).await;
    assert_eq!(std::fs::read(&key_path).expect("still there"), first, "restarts reuse the key");
    again.stop().await;
}

/// Page renders go through the hedge (`routes::render`), and `/metrics` shows what it did: how
/// many renders needed a second one, and how many pages gave up. (Counts, not zeros: on a loaded
/// machine a render may legitimately take longer than the hedge's half second.)
#[tokio::test]
async fn the_page_render_hedge_is_on_metrics() {
    let (server, browser) = TestServer::start_signed_in().await;
    browser.get(&server.url("/settings"), StatusCode::OK).await;
    for name in ["hookline_page_renders_hedged_total", "hookline_page_renders_abandoned_total"] {
        assert!(browser.metric(&server, name).await >= 0.0, "{name}");
    }
    server.stop().await;
}
