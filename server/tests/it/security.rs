//! Guards against the browser-side attacks: framing, sniffing and injected scripts (headers and
//! the Content-Security-Policy), DNS rebinding (the Host check) and open redirects after sign-in;
//! and against dodging the sign-in throttle with a made-up `X-Forwarded-For`. Each test tries to
//! get past its guard.

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, HOST, LOCATION};
use reqwest::StatusCode;

use crate::harness::*;

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn pages_carry_a_nonce_policy_that_matches_their_only_inline_script() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = browser.get(&server.url("/setup"), StatusCode::OK).await;
        let headers = page.headers().clone();
        assert_eq!(header(&headers, "x-frame-options"), "DENY");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "referrer-policy"), "same-origin");
        assert!(headers.get("strict-transport-security").is_none(), "no HSTS over plain http");
        let policy = header(&headers, CONTENT_SECURITY_POLICY.as_str()).to_string();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let nonce = policy
            .split_once("'nonce-")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(nonce, _)| nonce.to_string())
            .unwrap_or_else(|| panic!("no nonce in {policy}"));
        assert!(nonce.len() >= 16, "a nonce long enough not to be guessed: {nonce}");
        let html = page.text().await.expect("html");
        // Every inline script carries this response's nonce; none goes without.
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "the page boots its WASM with an inline module script");
        for script in scripts {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "script without the nonce: <script{tag}>");
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce for every response");

    // Not a page: a policy that allows nothing at all.
    let health = reqwest::get(server.url("/healthz")).await.expect("get");
    assert_eq!(header(health.headers(), "content-security-policy"), hookline_server::headers::NON_PAGE_POLICY);
    assert_eq!(header(health.headers(), "x-frame-options"), "DENY");
    let refused = browser.get(&server.url("/api/admin/webhooks"), StatusCode::UNAUTHORIZED).await;
    assert_eq!(header(refused.headers(), "x-content-type-options"), "nosniff");
    server.stop().await;
}

#[tokio::test]
async fn https_public_url_adds_hsts() {
    let server = TestServer::start_with(|c| c.public_url = Some("https://hooks.example.com".parse().unwrap())).await;
    let page = reqwest::get(server.url("/login")).await.expect("get");
    assert_eq!(header(page.headers(), "strict-transport-security"), "max-age=31536000");
    server.stop().await;
}

#[tokio::test]
async fn another_host_name_is_refused_before_anything_runs() {
    let server = TestServer::start().await;
    let browser = server.browser();
    // A rebinding page on evil.example posting to a fresh install: refused, no admin created.
    let rebound = browser
        .client
        .post(server.url("/rpc/create_first_admin"))
        .header(HOST, "evil.example")
        .header("origin", "http://evil.example")
        .form(&[("email", "attacker@evil.example"), ("password", "attacker's own password")])
        .send()
        .await
        .expect("post");
    assert_eq!(rebound.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = rebound.json().await.expect("json");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("HOOKLINE_PUBLIC_URL"), "{body}");
    for host in ["evil.example:80", "127.0.0.1.evil.example", "[::2]"] {
        let page = browser.client.get(server.url("/setup")).header(HOST, host).send().await.expect("get");
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{host}");
    }
    // Our own names still work, and the install still has no admin.
    for host in ["localhost", "127.0.0.1:1"] {
        let page = browser.client.get(server.url("/setup")).header(HOST, host).send().await.expect("get");
        assert_eq!(page.status(), StatusCode::OK, "{host}");
    }
    server.stop().await;
}

#[tokio::test]
async fn next_after_sign_in_never_leaves_the_site() {
    let (server, _) = TestServer::start_signed_in().await;
    let browser = server.browser();
    let cases = [
        ("/\t/evil.example", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https:evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/webhooks?state=failed", "/webhooks?state=failed"),
    ];
    for (next, want) in cases {
        let response = browser
            .form(
                &server.url("/rpc/login"),
                &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", next)],
                StatusCode::FOUND,
            )
            .await;
        assert_eq!(response.headers()[LOCATION], want, "{next:?}");
    }
    server.stop().await;
}

/// A failed sign-in as an unknown account, sent with `X-Forwarded-For` values (none: no header).
async fn wrong_sign_in(server: &TestServer, email: &str, forwarded_for: &[&str]) -> StatusCode {
    let mut request = client()
        .post(server.url("/rpc/login"))
        .header("origin", &server.base)
        .header("accept", "application/json")
        .form(&[("email", email), ("password", "wrong password here")]);
    for value in forwarded_for {
        request = request.header("x-forwarded-for", *value);
    }
    request.send().await.expect("post").status()
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    // 127.0.0.1 is not a trusted proxy (the default trusts none), so every attempt counts against
    // the connection's address, whatever it claims to forward for.
    let (server, _) = TestServer::start_signed_in().await;
    for i in 0..5 {
        let status = wrong_sign_in(&server, &format!("nobody{i}@example.com"), &[&format!("203.0.113.{i}")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let escape = wrong_sign_in(&server, "somebody@example.com", &["203.0.113.99"]).await;
    assert_eq!(escape, StatusCode::TOO_MANY_REQUESTS, "a made-up X-Forwarded-For is not a new address");
    server.stop().await;
}

#[tokio::test]
async fn forwarded_for_is_honoured_from_a_trusted_proxy() {
    let (server, _) = TestServer::start_signed_in_with(|config| config.trusted_proxies = "127.0.0.1/32".into()).await;
    // Five failures from one client behind the proxy (another account each time: the client's
    // address is what gets throttled).
    for i in 0..5 {
        let status = wrong_sign_in(&server, &format!("nobody{i}@example.com"), &["198.51.100.7"]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let same_client = wrong_sign_in(&server, "next@example.com", &["198.51.100.7"]).await;
    assert_eq!(same_client, StatusCode::TOO_MANY_REQUESTS, "the forwarded client is throttled");
    // What the client itself put in front of the list changes nothing: the right-most untrusted
    // address is the one the proxy saw.
    let spoofed = wrong_sign_in(&server, "next@example.com", &["192.0.2.1, 198.51.100.7"]).await;
    assert_eq!(spoofed, StatusCode::TOO_MANY_REQUESTS);
    // A trusted hop to the right is skipped, also across several headers.
    let via_two_proxies = wrong_sign_in(&server, "next@example.com", &["198.51.100.7", "127.0.0.1"]).await;
    assert_eq!(via_two_proxies, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not held up by the first one's failures.
    let other_client = wrong_sign_in(&server, "next@example.com", &["198.51.100.8"]).await;
    assert_eq!(other_client, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn an_invalid_trusted_proxy_stops_the_start_naming_the_setting() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = config_in(data.path()).await;
    config.trusted_proxies = "10.0.0.0/8, 10.0.0.0/33".into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let error = hookline_server::run_until(config, listener, std::future::pending()).await.expect_err("refused");
    let message = format!("{error:#}");
    assert!(message.contains("HOOKLINE_TRUSTED_PROXIES") && message.contains("10.0.0.0/33"), "{message}");
}

/// 21 nested sections over the two tags of a `feature-tagged` event: 2^21 (two million) empty
/// iterations that write nothing, so the output cap never trips; the work budget must.
fn exponential_template() -> String {
    format!("{}{}", "{{#event.tags}}".repeat(21), "{{/event.tags}}".repeat(21))
}

#[tokio::test]
async fn a_template_that_does_too_much_work_is_refused_everywhere_it_renders() {
    let receiver = crate::receiver::Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;

    // 1. The preview API refuses it with the reason: the work budget answers in the preview's own
    // error (200), or, on a slow machine where the budget takes longer than the time limit, the
    // limit answers 422. Either way the server stops the work; no wall clock is asserted here.
    let (status, preview) = api
        .send_any(
            reqwest::Method::POST,
            "/api/admin/preview",
            Some(&serde_json::json!({"bodyTemplate": exponential_template(), "contentType": "text/plain", "eventType": "feature-tagged"})),
        )
        .await;
    let message = match status {
        StatusCode::OK => preview["error"]["message"].as_str(),
        StatusCode::UNPROCESSABLE_ENTITY => preview["error"]["message"].as_str(),
        other => panic!("unexpected {other}: {preview}"),
    };
    assert!(message.unwrap_or_default().contains("template does too much work"), "{preview}");

    // 2. Saving it for a JSON body renders the samples: refused, naming the field.
    let refused = api
        .post(
            "/api/admin/webhooks",
            &serde_json::json!({
                "url": receiver.url("/json"), "events": ["feature-tagged"],
                "contentType": "application/json", "bodyTemplate": exponential_template()
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(refused["error"]["field"], "bodyTemplate");
    assert!(
        refused["error"]["message"].as_str().unwrap_or_default().contains("template does too much work"),
        "{refused}"
    );

    // 3. A plain-text body is not rendered at save time; the delivery fails with the reason,
    // once, while another webhook's delivery of the same event goes through.
    let heavy = api
        .create_webhook(serde_json::json!({
            "url": receiver.url("/heavy"), "events": ["feature-tagged"],
            "contentType": "text/plain", "bodyTemplate": exponential_template()
        }))
        .await;
    api.create_webhook(serde_json::json!({"url": receiver.url("/light"), "events": ["feature-tagged"]})).await;
    api.publish(
        serde_json::json!({
            "type": "feature-tagged", "featureName": "f", "project": "default",
            "tags": [{"type": "simple", "value": "a"}, {"type": "simple", "value": "b"}]
        }),
        StatusCode::ACCEPTED,
    )
    .await;
    receiver.wait_for(1, std::time::Duration::from_secs(15)).await;
    let items =
        crate::delivery::wait_deliveries(&api, heavy, |items| items.iter().any(|d| d["state"] == "failed")).await;
    let detail = api.get(&format!("/api/admin/deliveries/{}", items[0]["id"]), StatusCode::OK).await;
    let error = detail["attemptLog"][0]["errorMessage"].as_str().unwrap_or_default();
    assert!(error.contains("template does too much work"), "{detail}");
    assert_eq!(detail["attemptLog"].as_array().map(Vec::len), Some(1), "not retried: it would fail the same way");
    assert!(receiver.received_on("/heavy").is_empty());
    assert_eq!(receiver.received_on("/light").len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_token_does_only_what_its_scopes_say() {
    let receiver = crate::receiver::Receiver::start().await;
    let (server, browser) = TestServer::start_signed_in_with(fast_delivery).await;
    let admin = Api::new(&server, &browser).await;
    let webhook =
        admin.create_webhook(serde_json::json!({"url": receiver.url("/h"), "events": ["feature-created"]})).await;
    let intake = Api::with_scopes(&server, &browser, &[]).await;
    let reader = Api::with_scopes(&server, &browser, &["read"]).await;
    let event = serde_json::json!({"type": "feature-created", "featureName": "f", "project": "default"});
    let secret = format!("/api/admin/webhooks/{webhook}/secret");
    let one = format!("/api/admin/webhooks/{webhook}");

    // The default (what Unleash gets): the intake and nothing else.
    intake.publish(event.clone(), StatusCode::ACCEPTED).await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/admin/webhooks"),
        (reqwest::Method::GET, secret.as_str()),
        (reqwest::Method::POST, &format!("{secret}/rotate")),
        (reqwest::Method::DELETE, one.as_str()),
        (reqwest::Method::GET, "/metrics"),
    ] {
        let body = intake.send(method.clone(), path, None, StatusCode::FORBIDDEN).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("scope") && message.contains("(it has: events)"), "{message}");
    }
    let body = intake.get("/api/admin/webhooks", StatusCode::FORBIDDEN).await;
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("lacks the `read` scope"), "{body}");

    // read: GET, masked, never the secret, never a change, no intake.
    reader.get("/api/admin/webhooks", StatusCode::OK).await;
    reader.get(&one, StatusCode::OK).await;
    let body = reader.get(&secret, StatusCode::FORBIDDEN).await;
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("`admin`"), "{body}");
    reader.put(&one, &serde_json::json!({"url": "https://evil.example/x"}), StatusCode::FORBIDDEN).await;
    reader.delete(&one, StatusCode::FORBIDDEN).await;
    reader.publish(event.clone(), StatusCode::FORBIDDEN).await;
    let metrics = reader.client.get(server.url("/metrics")).bearer_auth(&reader.token).send().await.expect("metrics");
    assert_eq!(metrics.status(), StatusCode::OK);

    // admin: everything, the intake included.
    admin.get(&secret, StatusCode::OK).await;
    admin.publish(event, StatusCode::ACCEPTED).await;
    admin.get("/api/admin/webhooks", StatusCode::OK).await;
    // The webhook is still there: nothing above changed it.
    admin.get(&one, StatusCode::OK).await;

    // An unknown scope is refused, naming the field.
    browser
        .call(
            &server.url("/rpc/create_token"),
            &[("name", "x"), ("scopes[]", "root")],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    server.stop().await;
}

#[tokio::test]
async fn sqlite_tokens_made_before_scopes_keep_working_as_admin() {
    // A token row written the way the previous version wrote it: no scopes column named. The
    // migration's default (what existing rows got when the column was added) makes it `admin`.
    let server = TestServer::start().await;
    let url = format!("sqlite://{}", server.data.path().join("hookline.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("pool");
    let old = "hl_token_from_before_scopes_0123456789";
    sqlx::query("insert into api_tokens (name, token_hash, prefix, created_by, created_at) values ('old', ?, 'hl_tok', 'cli', 0)")
        .bind(hookline_server::auth::token::hash_token(old))
        .execute(&pool)
        .await
        .expect("insert");
    let api = Api { client: client(), base: server.url(""), token: old.to_string() };
    api.get("/api/admin/webhooks", StatusCode::OK).await;
    api.publish(
        serde_json::json!({"type": "feature-created", "featureName": "f", "project": "default"}),
        StatusCode::ACCEPTED,
    )
    .await;

    // The check constraint refuses anything but the three scopes, and an empty list.
    for bad in ["root", "", "read;admin", "events admin"] {
        let result = sqlx::query("update api_tokens set scopes = ? where name = 'old'").bind(bad).execute(&pool).await;
        assert!(result.is_err(), "{bad:?} must be refused");
    }
    pool.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_kept_secret_never_follows_a_changed_destination() {
    let receiver = crate::receiver::Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let id = api
        .create_webhook(serde_json::json!({
            "url": receiver.url("/hook"), "events": ["feature-created"],
            "authorization": "Bearer s3cret", "headers": {"X-Api-Key": "k3y"}
        }))
        .await;
    let path = format!("/api/admin/webhooks/{id}");
    let shown = api.get(&path, StatusCode::OK).await;
    assert_eq!(shown["authorization"], "*****");

    // Re-pointed at another port of the same host (another origin) with the masks sent back.
    let mut moved = serde_json::json!({
        "url": "http://127.0.0.1:9/hook", "events": ["feature-created"],
        "authorization": "*****", "headers": {"X-Api-Key": "*****"}
    });
    let body = api.put(&path, &moved, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"]["field"], "authorization");
    assert_eq!(body["error"]["message"], "enter the Authorization again: the destination changed");
    moved["authorization"] = serde_json::json!("Bearer for-the-new-place");
    let body = api.put(&path, &moved, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"]["field"], "headers");

    // Nothing changed: a test send still reaches the old receiver with the old secrets.
    api.post(&format!("{path}/test"), &serde_json::json!({"eventType": "feature-created"}), StatusCode::ACCEPTED).await;
    let received = receiver.wait_for(1, std::time::Duration::from_secs(15)).await;
    assert_eq!(received[0].header("authorization"), "Bearer s3cret");
    assert_eq!(received[0].header("x-api-key"), "k3y");
    server.stop().await;
}
