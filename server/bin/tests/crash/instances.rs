//! Several `hookline` processes on one PostgreSQL database: they share the delivery work without
//! losing any of it, hold the per-webhook concurrency limit together, and a webhook disabled on
//! one stops receiving from all. Needs the throw-away PostgreSQL that `scripts/test.sh` starts
//! (HOOKLINE_TEST_POSTGRES); the SQLite runs skip these tests by their `postgres_` prefix.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Api, POSTGRES_SETTING};
use crate::receiver::{Receiver, Reply};

const INSTANCES: usize = 3;
const EVENTS: usize = 3_000;
const PER_WEBHOOK: usize = 4;

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database on the test server, and a key every instance shares.
async fn database() -> (String, String) {
    use sqlx::Connection;
    let admin = std::env::var(POSTGRES_SETTING).unwrap_or_else(|_| {
        panic!("{POSTGRES_SETTING} must name a PostgreSQL server (scripts/test.sh postgres starts one)")
    });
    let name = format!("instances_{}_{}", std::process::id(), rand::random::<u32>());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
    sqlx::query(&format!("create database {name}")).execute(&mut conn).await.expect("create");
    let (base, _) = admin.rsplit_once('/').expect("database in URL");
    let key = hookline_server::crypto::EncryptionKey::generate().1;
    (format!("{base}/{name}"), key)
}

fn hookline(db: &str, key: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
    command
        .env("HOOKLINE_DATABASE_URL", db)
        .env("HOOKLINE_ENCRYPTION_KEY", key)
        .env("HOOKLINE_SECRET_KEY", "multi-instance-test-secret-key-0123456789")
        .env("HOOKLINE_ALLOWED_TARGETS", "127.0.0.1/32")
        .env("HOOKLINE_RETRY_SCHEDULE", "0s,100ms,200ms,400ms,800ms,1s,1s,1s")
        .env("HOOKLINE_REQUEST_TIMEOUT", "2s")
        .env("HOOKLINE_LEASE", "3s")
        .env("HOOKLINE_WEBHOOK_CONCURRENCY", PER_WEBHOOK.to_string())
        .env("RUST_LOG", "warn");
    command
}

async fn start(db: &str, key: &str) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let child = hookline(db, key)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env("HOOKLINE_ADDR", format!("127.0.0.1:{port}"))
        .spawn()
        .expect("start hookline");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await {
            if response.status().is_success() {
                let health: serde_json::Value = response.json().await.expect("health");
                assert_eq!(health["backend"], "postgres");
                assert!(health["instance"].as_str().is_some_and(|id| !id.is_empty()), "{health}");
                break;
            }
        }
        assert!(Instant::now() < deadline, "hookline did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Instance { child, base }
}

fn token(db: &str, key: &str) -> String {
    let out = hookline(db, key)
        .args(["token", "create", "--name", "instances", "--scope", "admin"])
        .output()
        .expect("token create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8").trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_three_instances_share_the_work_and_survive_a_kill() {
    let (db, key) = database().await;
    let token = token(&db, &key);
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200).delay(Duration::from_millis(5)));

    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(start(&db, &key).await);
    }
    let api = |n: usize| Api { client: reqwest::Client::new(), base: instances[n].base.clone(), token: token.clone() };
    let hooks = ["/a", "/b"];
    for path in hooks {
        api(0).create_webhook(json!({"url": receiver.url(path), "events": ["feature-created"]})).await;
    }
    // Published through every instance in turn.
    let mut accepted = Vec::new();
    for batch in 0..EVENTS / 50 {
        let events: Vec<_> = (0..50)
            .map(|i| json!({"type": "feature-created", "featureName": format!("flag-{}", batch * 50 + i)}))
            .collect();
        let body = api(batch % INSTANCES).publish(json!({"events": events}), reqwest::StatusCode::ACCEPTED).await;
        accepted.extend(body["ids"].as_array().expect("ids").iter().map(|id| id.as_i64().expect("id")));
    }
    assert_eq!(accepted.len(), EVENTS);
    let expected = EVENTS * hooks.len();

    // One instance dies without warning a quarter of the way in; its leases expire and the
    // others take its work over.
    receiver.wait_for(expected / 4, Duration::from_secs(120)).await;
    let mut killed = instances.pop().expect("an instance");
    killed.child.kill().expect("SIGKILL");
    killed.child.wait().expect("reaped");
    let at_kill = receiver.received().len();
    assert!(at_kill < expected, "the kill must land mid-way ({at_kill} of {expected})");

    let pairs_of = |received: &[crate::receiver::Received]| {
        received.iter().map(|r| (r.json()["id"].as_i64().expect("id"), r.path.clone())).collect::<HashSet<_>>()
    };
    let receipts = receiver
        .until(Duration::from_secs(180), |received| pairs_of(received).len() >= expected)
        .await
        .unwrap_or_else(|received| received);
    let pairs = pairs_of(&receipts);
    let mut lost = 0;
    for id in &accepted {
        for path in hooks {
            if !pairs.contains(&(*id, path.to_string())) {
                lost += 1;
            }
        }
    }
    let ids: HashSet<String> = receipts.iter().map(|r| r.header("webhook-id")).collect();
    let duplicates = receipts.len() - ids.len();
    println!(
        "instances test: {INSTANCES} instances, {EVENTS} events x {} webhooks = {expected}; one killed at {at_kill}; \
         {} unique webhook-ids, {} receipts, {duplicates} duplicates, {lost} lost; most in flight at once: {}",
        hooks.len(),
        ids.len(),
        receipts.len(),
        receiver.max_in_flight()
    );
    assert_eq!(lost, 0, "every accepted (event, webhook) pair arrives");
    assert_eq!(ids.len(), expected, "one webhook-id per pair");
    // Only what the killed instance held leased may come twice: its requests in flight (the limit
    // per webhook) and attempts it had finished but not recorded yet, which it leaves out of the
    // count of leases for at most the limit of them (`Handoff::landed`).
    assert!(
        duplicates <= 2 * PER_WEBHOOK + PER_WEBHOOK,
        "{duplicates} duplicates: more than the killed instance held leased"
    );
    // The limit is per webhook over all instances: two webhooks, so at most twice the limit at once.
    assert!(
        receiver.max_in_flight() <= hooks.len() * PER_WEBHOOK,
        "{} requests at once: the per-webhook limit ({PER_WEBHOOK}) was exceeded across instances",
        receiver.max_in_flight()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_webhook_disabled_on_one_instance_stops_on_all_within_a_second() {
    let (db, key) = database().await;
    let token = token(&db, &key);
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200));
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(start(&db, &key).await);
    }
    let api = |n: usize| Api { client: reqwest::Client::new(), base: instances[n].base.clone(), token: token.clone() };
    let id = api(0).create_webhook(json!({"url": receiver.url("/x"), "events": ["feature-created"]})).await;
    let publish = |n: usize, name: String| {
        let api = api(n);
        async move {
            api.publish(json!({"type": "feature-created", "featureName": name}), reqwest::StatusCode::ACCEPTED).await;
        }
    };
    for n in 0..INSTANCES {
        publish(n, format!("before-{n}")).await;
    }
    receiver.wait_for(INSTANCES, Duration::from_secs(10)).await;

    // Disabled through instance 0 ...
    let disabled = json!({"url": receiver.url("/x"), "events": ["feature-created"], "enabled": false});
    api(0).put(&format!("/api/admin/webhooks/{id}"), &disabled, reqwest::StatusCode::OK).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = receiver.received().len();
    // ... events that arrive on the others a second later reach nobody.
    for n in 1..INSTANCES {
        for k in 0..5 {
            publish(n, format!("after-{n}-{k}")).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), before, "a disabled webhook received deliveries from another instance");
}
