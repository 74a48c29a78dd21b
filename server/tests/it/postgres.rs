//! What only PostgreSQL has: `hookline copy` from SQLite, and periodic jobs taken by one instance
//! per interval. These need the suite's PostgreSQL (HOOKLINE_TEST_POSTGRES); the SQLite run skips
//! them by their `postgres_` prefix.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;
use crate::receiver::{Receiver, Reply};

/// A fresh, empty database on the suite's server; its URL.
async fn new_database() -> String {
    use sqlx::Connection;
    let admin = std::env::var(POSTGRES_SETTING).expect("HOOKLINE_TEST_POSTGRES (run through scripts/test.sh)");
    let name = format!("copy_{}", std::process::id() as u64 * 1000 + rand::random::<u16>() as u64 % 1000);
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
    sqlx::query(&format!("create database {name}")).execute(&mut conn).await.expect("create");
    let (base, _) = admin.rsplit_once('/').expect("database in URL");
    format!("{base}/{name}")
}

#[tokio::test]
async fn postgres_copy_moves_an_sqlite_installation_and_it_keeps_working() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200));
    // An installation on SQLite, with its own key file.
    let sqlite_dir = tempfile::tempdir().expect("dir");
    let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("hookline.db").display());
    let on_sqlite = |config: &mut hookline_server::Config| {
        fast_delivery(config);
        config.database_url = sqlite_url.clone();
        config.encryption_key = None;
    };
    let server = TestServer::start_in(DataDir::Path(sqlite_dir.path().to_path_buf()), on_sqlite).await;
    let browser = server.browser();
    browser
        .form(
            &server.url("/rpc/create_first_admin"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::FOUND,
        )
        .await;
    let api = Api::new(&server, &browser).await;
    let id = api
        .create_webhook(json!({
            "url": receiver.url("/copied"), "events": ["feature-created"], "description": "moved",
            "authorization": "Bearer moved-along", "headers": {"X-Api-Key": "header-secret"}
        }))
        .await;
    let secret = api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    for n in 0..5 {
        api.publish(
            json!({"id": 1000 + n, "type": "feature-created", "featureName": format!("f{n}")}),
            StatusCode::ACCEPTED,
        )
        .await;
    }
    receiver.wait_for_on("/copied", 5, Duration::from_secs(10)).await;
    // Once every attempt is recorded (the receiver answers before the attempt is written).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let deliveries_before = loop {
        let log = api.get("/api/admin/deliveries?limit=100", StatusCode::OK).await;
        let items = log["items"].as_array().expect("items");
        if items.len() == 5 && items.iter().all(|d| d["state"] == "succeeded") {
            break log;
        }
        assert!(std::time::Instant::now() < deadline, "not all delivered: {log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Catch-up from an Unleash set on the Connect page: the token is sealed under the SQLite key.
    let unleash = crate::fake_unleash::FakeUnleash::start().await;
    browser
        .call(
            &server.url("/rpc/save_unleash_settings"),
            &[("url", unleash.base.as_str()), ("token", crate::fake_unleash::TOKEN)],
            StatusCode::OK,
        )
        .await;
    let token = api.token.clone();
    server.stop().await;

    // Copied into an empty PostgreSQL database, under another key.
    let target = new_database().await;
    let target_key = hookline_server::crypto::EncryptionKey::generate().1;
    let cli = <hookline_server::config::Cli as clap::Parser>::try_parse_from([
        "hookline",
        "copy",
        "--from",
        &sqlite_url,
        "--to",
        &target,
        "--encryption-key",
        &target_key,
    ])
    .expect("arguments");
    hookline_server::cli::execute(cli).await.expect("copy");

    // A second copy into the same database is refused: it holds data now.
    let again = <hookline_server::config::Cli as clap::Parser>::try_parse_from([
        "hookline",
        "copy",
        "--from",
        &sqlite_url,
        "--to",
        &target,
        "--encryption-key",
        &target_key,
    ])
    .expect("arguments");
    let refused = hookline_server::cli::execute(again).await.expect_err("not into a database with data");
    assert!(format!("{refused:#}").contains("already holds data"), "{refused:#}");

    // Hookline on the copy: same admin, token, webhook (secrets open), log; new events flow.
    let pg_dir = tempfile::tempdir().expect("dir");
    std::fs::write(pg_dir.path().join("postgres-url"), &target).expect("url");
    std::fs::write(pg_dir.path().join("postgres-key"), &target_key).expect("key");
    let server = TestServer::start_in(DataDir::Owned(pg_dir), |config| {
        fast_delivery(config);
        config.unleash_poll = Duration::from_millis(200);
    })
    .await;
    let browser = server.browser();
    browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    let api = Api { client: client(), base: server.base.clone(), token };
    let copied = api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await;
    assert_eq!(copied["secret"], secret.as_str());
    // The Unleash token opens under the new key: the copy polls with it.
    let asked = unleash.requests().len();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        let answer = browser.call(&server.url("/rpc/unleash_connection"), &[], StatusCode::OK).await;
        let status = answer.json::<serde_json::Value>().await.expect("json")["catchUp"].clone();
        if unleash.requests().len() > asked && status["failing"] == false && status["lastSuccessAt"].is_string() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the copy never polled Unleash: {status:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((status["storedToken"].clone(), status["tokenSource"].clone()), (json!(true), json!("connectPage")));
    let webhook = api.get(&format!("/api/admin/webhooks/{id}"), StatusCode::OK).await;
    assert_eq!(webhook["description"], "moved");
    let deliveries_after = api.get("/api/admin/deliveries?limit=100", StatusCode::OK).await;
    assert_eq!(deliveries_after, deliveries_before, "the delivery log is the same");

    // Event ids continue after the copied ones; the signature verifies with the same secret.
    let body = api.publish(json!({"type": "feature-created", "featureName": "after-copy"}), StatusCode::ACCEPTED).await;
    assert!(body["ids"][0].as_i64().expect("id") > 1004, "{body}");
    let request = receiver.wait_for_on("/copied", 6, Duration::from_secs(10)).await.swap_remove(5);
    assert_eq!(request.json()["featureName"], "after-copy");
    assert_eq!(request.header("authorization"), "Bearer moved-along");
    assert_eq!(request.header("x-api-key"), "header-secret");
    let verifier = standardwebhooks::Webhook::new(&secret).expect("secret");
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, request.header(name).parse().expect("header"));
    }
    verifier.verify(&request.body, &headers).expect("signed with the copied secret");
    server.stop().await;
}

#[tokio::test]
async fn postgres_a_periodic_job_runs_on_one_instance_per_interval() {
    let url = new_database().await;
    let key = hookline_server::crypto::EncryptionKey::generate().1;
    let source = hookline_server::keys::KeySource::Setting(key);
    let options = hookline_server::db::OpenOptions::default();
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(
            hookline_server::db::Db::open_with(&url, &options, &source, hookline_server::db::Access::Shared)
                .await
                .expect("open"),
        );
    }
    let interval = Duration::from_millis(400);
    for round in 0..3 {
        let turns =
            futures::future::join_all(instances.iter().map(|db| db.take_periodic_turn("retention", interval))).await;
        let taken = turns.into_iter().map(|turn| turn.expect("turn")).filter(|taken| *taken).count();
        assert_eq!(taken, 1, "round {round}: exactly one of three instances runs the job");
        // Within the interval, nobody again.
        let turns =
            futures::future::join_all(instances.iter().map(|db| db.take_periodic_turn("retention", interval))).await;
        assert!(turns.into_iter().all(|turn| !turn.expect("turn")), "round {round}: ran twice within the interval");
        tokio::time::sleep(interval).await;
    }
    for db in instances {
        db.close().await;
    }
}

#[tokio::test]
async fn postgres_a_burst_spread_over_two_instances_is_counted_in_full() {
    let (first, _admin) =
        TestServer::start_signed_in_with(|config| config.password_hash_wait = Duration::from_secs(60)).await;
    // A second instance on the same database (the data folder names it).
    let second = TestServer::start_in(DataDir::Path(first.data.path().to_path_buf()), |config| {
        config.password_hash_wait = Duration::from_secs(60)
    })
    .await;
    let attacker = [first.browser(), second.browser()];
    let urls = [first.url("/rpc/login"), second.url("/rpc/login")];
    let burst = (0..12).map(|i| {
        let (attacker, url) = (&attacker[i % 2], &urls[i % 2]);
        async move {
            let wrong = format!("wrong password {i}");
            attacker.call_any(url, &[("email", ADMIN_EMAIL), ("password", &wrong)]).await.status()
        }
    });
    let statuses = futures::future::join_all(burst).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (5, 7), "five free attempts over both instances together: {statuses:?}");
    second.stop().await;
    first.stop().await;
}
