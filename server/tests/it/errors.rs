//! One error path in the UI: a page that cannot load its data says why in words and answers with
//! the error's HTTP status (404 for a missing webhook or delivery, 422 for a refused filter, 500
//! with an opaque reference when the server breaks), and every server function answers with the
//! status of its error.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;
use crate::receiver::Receiver;

/// The page's status and HTML.
async fn page(browser: &Browser, url: &str) -> (StatusCode, String) {
    // The status is the point of these tests: each caller asserts it.
    let response = browser.client.get(url).send().await.expect("get");
    let status = response.status();
    (status, response.text().await.expect("html"))
}

#[tokio::test]
async fn a_missing_webhook_or_delivery_page_answers_404_in_words() {
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&server, &browser).await;
    let receiver = Receiver::start().await;
    let id = api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["feature-created"]})).await;

    // The webhook that exists renders, with no error.
    let (status, html) = page(&browser, &server.url(&format!("/webhooks/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("load-error"), "no error on a page that loads");

    for path in ["/webhooks/999999", "/webhooks/999999/deliveries"] {
        let (status, html) = page(&browser, &server.url(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("webhook 999999 not found"), "{path}: the message in words:\n{html}");
        assert!(html.contains("Not found"), "{path}: the headline");
        assert!(html.contains("data-testid=\"load-error\""), "{path}: the error template");
    }
    let (status, html) = page(&browser, &server.url("/deliveries/999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("delivery 999999 not found"), "{html}");
    // An id that is not a number finds nothing either.
    let (status, _) = page(&browser, &server.url("/webhooks/not-a-number")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn a_list_page_that_cannot_load_shows_why() {
    let (server, browser) = TestServer::start_signed_in().await;
    let (status, html) = page(&browser, &server.url("/deliveries")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No deliveries match"), "the empty list renders");

    // A filter the server refuses: the list says so (it used to render nothing).
    let (status, html) = page(&browser, &server.url("/deliveries?state=bogus")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("is not a delivery state"), "the refusal in words:\n{html}");
    assert!(!html.contains("No deliveries match"), "no list under the error");
    // The rest of the page is still there (the filter form, to correct it).
    assert!(html.contains("Any state"));
    server.stop().await;
}

#[tokio::test]
async fn sqlite_a_broken_database_answers_500_with_an_opaque_reference() {
    let (server, browser) = TestServer::start_signed_in().await;
    let (status, _) = page(&browser, &server.url("/events")).await;
    assert_eq!(status, StatusCode::OK);

    // Break the events table behind the server's back (sessions and admins still work).
    {
        use sqlx::{Connection, Executor};
        let file = server.data.path().join("hookline.db");
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display())).await.expect("open the database");
        conn.execute("alter table events rename to events_gone").await.expect("rename");
        conn.close().await.expect("close");
    }

    let (status, html) = page(&browser, &server.url("/events")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(html.contains("internal error (reference "), "the opaque reference:\n{html}");
    assert!(html.contains("Something went wrong"));
    assert!(!html.contains("events_gone") && !html.contains("no such table"), "no internals on the page");

    let call = browser.call(&server.url("/rpc/list_events"), &[], StatusCode::INTERNAL_SERVER_ERROR).await;
    let body: Value = call.json().await.expect("json");
    assert!(body["Internal"].as_str().is_some_and(|reference| !reference.is_empty()), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn server_functions_answer_with_the_status_of_their_error() {
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let api = Api::new(&server, &browser).await;
    let receiver = Receiver::start().await;
    let id = api.create_webhook(json!({"url": receiver.url("/hook"), "events": ["feature-created"]})).await;
    let id = id.to_string();
    let url = |path: &str| server.url(path);

    // A missing webhook or delivery: 404, whichever server function asks.
    let missing: [(&str, &[(&str, &str)]); 6] = [
        ("/rpc/get_webhook", &[("id", "999999")]),
        ("/rpc/set_webhook_enabled", &[("id", "999999"), ("enabled", "true")]),
        ("/rpc/duplicate_webhook", &[("id", "999999")]),
        ("/rpc/reveal_webhook_secret", &[("id", "999999")]),
        ("/rpc/get_delivery", &[("id", "999999")]),
        ("/rpc/redeliver", &[("id", "999999")]),
    ];
    for (path, fields) in missing {
        let response = browser.call(&url(path), fields, StatusCode::NOT_FOUND).await;
        let body: Value = response.json().await.expect("json");
        assert!(body["NotFound"].as_str().is_some_and(|what| what.ends_with("999999")), "{path}: {body}");
    }

    // Refused input: 422 with the field.
    let refused = browser
        .call(
            &url("/rpc/send_test_event"),
            &[("webhook_id", &id), ("event_type", "no-such-type")],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["Validation"]["field"], "eventType", "{body}");

    // Arguments that do not parse: 400.
    browser.call(&url("/rpc/get_webhook"), &[("id", "not-a-number")], StatusCode::BAD_REQUEST).await;

    // A plain HTML form post still goes back to the form, with the error in its URL.
    let form = browser
        .form(&url("/rpc/set_webhook_enabled"), &[("id", "999999"), ("enabled", "true")], StatusCode::FOUND)
        .await;
    assert!(location(&form).contains("__err="), "the error travels in the URL: {}", location(&form));

    // Success is untouched.
    browser.call(&url("/rpc/get_webhook"), &[("id", &id)], StatusCode::OK).await;
    server.stop().await;
}
