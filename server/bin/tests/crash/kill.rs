//! The durability promise, tested on the real binary: kill it with SIGKILL in the middle of
//! delivering, start it again on the same SQLite file, and every accepted (event, webhook) pair
//! still arrives at least once.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::Api;
use crate::receiver::{Received, Receiver, Reply};

const EVENTS: usize = 2_000;
const WEBHOOKS: usize = 3;

struct Hookline {
    child: Child,
    base: String,
}

/// A test that fails must not leave the server running.
impl Drop for Hookline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn hookline(db: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
    command
        .env("HOOKLINE_DATABASE_URL", db)
        .env("HOOKLINE_ALLOWED_TARGETS", "127.0.0.1/32")
        .env("HOOKLINE_RETRY_SCHEDULE", "0s,100ms,200ms,400ms,800ms,1s,1s,1s")
        .env("HOOKLINE_REQUEST_TIMEOUT", "2s")
        .env("HOOKLINE_LEASE", "3s")
        .env("HOOKLINE_WEBHOOK_CONCURRENCY", "8")
        .env("RUST_LOG", "warn");
    command
}

async fn start(db: &str) -> Hookline {
    let port = free_port();
    let child = hookline(db)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("HOOKLINE_ADDR", format!("127.0.0.1:{port}"))
        .spawn()
        .expect("start hookline");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
        assert!(Instant::now() < deadline, "hookline did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Hookline { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_mid_delivery_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    let token = {
        let out = hookline(&db)
            .args(["token", "create", "--name", "crash-test", "--scope", "admin"])
            .output()
            .expect("token create");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // The token is the only line on stdout (logs go to stderr).
        String::from_utf8(out.stdout).expect("utf8").trim().to_string()
    };

    // A slow receiver: deliveries take a while, so the kill lands in the middle.
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200).delay(Duration::from_millis(40)));

    let mut server = start(&db).await;
    let api = Api { client: reqwest::Client::new(), base: server.base.clone(), token };
    for i in 0..WEBHOOKS {
        api.create_webhook(json!({"url": receiver.url(&format!("/hook/{i}")), "events": ["feature-created"]})).await;
    }
    let mut accepted = Vec::new();
    for batch in 0..EVENTS / 50 {
        let events: Vec<_> = (0..50)
            .map(|i| json!({"type": "feature-created", "featureName": format!("flag-{}", batch * 50 + i)}))
            .collect();
        let body = api.publish(json!({"events": events}), reqwest::StatusCode::ACCEPTED).await;
        accepted.extend(body["ids"].as_array().expect("ids").iter().map(|id| id.as_i64().expect("id")));
    }
    assert_eq!(accepted.len(), EVENTS);

    // Kill without warning once about a quarter has arrived.
    let expected = EVENTS * WEBHOOKS;
    receiver.wait_for(expected / 4, Duration::from_secs(60)).await;
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    drop(server);
    let at_kill = receiver.received().len();
    assert!(at_kill < expected, "the kill must land mid-way ({at_kill} of {expected} had arrived)");

    // Restart on the same file; everything accepted must arrive.
    let server = start(&db).await;
    let pairs_of = |received: &[Received]| {
        let mut pairs: HashMap<(i64, String), usize> = HashMap::new();
        for r in received {
            *pairs.entry((r.json()["id"].as_i64().expect("event id"), r.path.clone())).or_default() += 1;
        }
        pairs
    };
    // Past the time limit, the assertions below say what was lost.
    let receipts = receiver
        .until(Duration::from_secs(120), |received| pairs_of(received).len() >= expected)
        .await
        .unwrap_or_else(|received| received);
    let pairs = pairs_of(&receipts);
    drop(server);

    let accepted: HashSet<i64> = accepted.into_iter().collect();
    let mut lost = Vec::new();
    for id in &accepted {
        for i in 0..WEBHOOKS {
            if !pairs.contains_key(&(*id, format!("/hook/{i}"))) {
                lost.push((*id, i));
            }
        }
    }
    let unique_ids: HashSet<String> = receipts.iter().map(|r| r.header("webhook-id")).collect();
    let duplicates = receipts.len() - unique_ids.len();
    println!(
        "crash test: {} accepted events x {WEBHOOKS} webhooks = {expected} deliveries; {at_kill} had arrived at the kill; \
         after restart {} unique webhook-ids, {} receipts, {duplicates} duplicates, {} lost",
        accepted.len(),
        unique_ids.len(),
        receipts.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost {} (event, webhook) pairs, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    assert_eq!(unique_ids.len(), expected, "one webhook-id per (event, webhook) pair");
    // Duplicates are allowed (at-least-once) but bounded by what can be in flight at the kill.
    assert!(duplicates <= 200, "{duplicates} duplicates is more than the in-flight work at the kill");
}
