//! How fast the delivery log pages are with a large log: seeds a Hookline database with
//! `--deliveries` deliveries (default 1,000,000: 200,000 events fanned out to 5 webhooks, one
//! attempt each, a tenth of them failed), starts the release `hookline serve` on it, signs in, and
//! times the first page of the deliveries page (server-rendered HTML) and of the JSON API, with and
//! without filters and deep in the log.
//!
//! Run: `scripts/bench.sh` builds the binaries; then `target/release/logpage [--deliveries N]`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

#[derive(Debug, Parser)]
#[command(about = "Times the delivery log pages against a large log")]
struct Args {
    /// Deliveries to seed (spread over 5 webhooks).
    #[arg(long, default_value_t = 1_000_000)]
    deliveries: i64,
    /// Requests per measured page.
    #[arg(long, default_value_t = 30)]
    samples: usize,
    /// The hookline binary.
    #[arg(long, default_value = "target/release/hookline")]
    hookline: String,
}

const WEBHOOKS: i64 = 5;
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench-password-123";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("log.db");
    let url = format!("sqlite://{}", db_path.display());

    let migrated = Command::new(&args.hookline)
        .arg("migrate")
        .env("HOOKLINE_DATABASE_URL", &url)
        .output()
        .context("run hookline migrate")?;
    if !migrated.status.success() {
        bail!("hookline migrate failed: {}", String::from_utf8_lossy(&migrated.stderr));
    }
    let started = Instant::now();
    seed(&db_path, args.deliveries).await?;
    eprintln!("seeded {} deliveries in {:.1} s", args.deliveries, started.elapsed().as_secs_f64());

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server(
        Command::new(&args.hookline)
            .arg("serve")
            .env("HOOKLINE_DATABASE_URL", &url)
            .env("HOOKLINE_ADDR", format!("127.0.0.1:{port}"))
            .env("HOOKLINE_ADMIN_EMAIL", EMAIL)
            .env("HOOKLINE_ADMIN_PASSWORD", PASSWORD)
            // Keep the whole log: this measures a large log, not the retention job.
            .env("HOOKLINE_RETENTION_PER_WEBHOOK", "100000000")
            .env("HOOKLINE_RETENTION", "3650d")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start hookline serve")?,
    );
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
        if Instant::now() > deadline {
            bail!("hookline did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signed_in = client
        .post(format!("{base}/rpc/login"))
        .header("Origin", &base)
        .header("Accept", "text/html")
        .header("Referer", format!("{base}/login"))
        .form(&[("email", EMAIL), ("password", PASSWORD), ("next", "/")])
        .send()
        .await?;
    if signed_in.status() != reqwest::StatusCode::FOUND {
        bail!("sign-in failed: {}", signed_in.status());
    }

    let middle = args.deliveries / 2;
    let pages = [
        ("deliveries page, webhook 1, first page (HTML)", "/webhooks/1/deliveries".to_string()),
        ("deliveries page, all webhooks (HTML)", "/deliveries".to_string()),
        ("deliveries page, failed only (HTML)", "/webhooks/1/deliveries?state=failed".to_string()),
        ("deliveries page, 5xx only (HTML)", "/webhooks/1/deliveries?status=5xx".to_string()),
        // Nothing matches: the worst case, the whole webhook's log is scanned.
        ("API no-response filter, no match (JSON)", "/api/admin/webhooks/1/deliveries?status=none".to_string()),
        ("deliveries page, deep in the log (HTML)", format!("/webhooks/1/deliveries?before={middle}")),
        ("API first page, webhook 1 (JSON)", "/api/admin/webhooks/1/deliveries".to_string()),
        (
            "API failed, one event type (JSON)",
            "/api/admin/webhooks/1/deliveries?state=failed&eventType=feature-created".to_string(),
        ),
        ("API deep in the log, webhook 1 (JSON)", format!("/api/admin/webhooks/1/deliveries?before={middle}")),
        ("delivery detail page (HTML)", format!("/deliveries/{middle}")),
        ("API delivery detail (JSON)", format!("/api/admin/deliveries/{middle}")),
        ("events page (HTML)", "/events".to_string()),
        ("API events (JSON)", "/api/admin/events".to_string()),
        ("dashboard (HTML)", "/".to_string()),
        ("webhooks list (HTML)", "/webhooks".to_string()),
    ];
    println!("{} deliveries ({} webhooks), {} requests each, times in ms:", args.deliveries, WEBHOOKS, args.samples);
    println!("{:<52} {:>8} {:>8} {:>8}", "page", "p50", "p95", "max");
    for (label, path) in pages {
        // One unmeasured request first: the page cache warms as it would on a running server.
        client.get(format!("{base}{path}")).send().await?.bytes().await?;
        let mut times = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let start = Instant::now();
            let response = client.get(format!("{base}{path}")).send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            if !status.is_success() || body.is_empty() {
                bail!("{path} answered {status}");
            }
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        println!("{label:<52} {:>8.1} {:>8.1} {:>8.1}", at(0.5), at(0.95), at(1.0));
    }
    Ok(())
}

/// Fills the database with SQL generating the rows inside SQLite (fast: no round trip per row).
async fn seed(path: &std::path::Path, deliveries: i64) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::new().filename(path).connect().await?;
    let now: i64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let events = deliveries / WEBHOOKS;
    let mut tx = conn.begin().await?;
    for i in 1..=WEBHOOKS {
        sqlx::query(
            "insert into webhooks (id, description, url, events, secret, created_at, updated_at)
             values (?, ?, 'https://hooks.example.com/bench', '[\"feature-created\",\"feature-archived\"]',
                     'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ?, ?)",
        )
        .bind(i)
        .bind(format!("bench webhook {i}"))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    // Events spread over the last 29 days, oldest first (ids grow with time, as in real use).
    sqlx::query(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < ?1)
         insert into events (id, type, payload, feature_name, project, environment, created_by, created_at, received_at)
         select i, case when i % 7 = 0 then 'feature-archived' else 'feature-created' end,
                '{\"id\":0,\"type\":\"feature-created\",\"createdBy\":\"bench@example.com\",\"featureName\":\"flag-' || i || '\"}',
                'flag-' || i, 'web-shop', 'production', 'bench@example.com',
                ?2 - (?1 - i) * (29 * 86400000 / ?1), ?2 - (?1 - i) * (29 * 86400000 / ?1)
         from n",
    )
    .bind(events)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into deliveries (id, uid, webhook_id, event_id, event_type, state, unleash_state, state_details, attempts,
                                 last_status, last_duration_ms, created_at, updated_at)
         select (e.id - 1) * ?1 + w.id, 'msg_bench_' || e.id || '_' || w.id, w.id, e.id, e.type,
                case when (e.id + w.id) % 10 = 0 then 'failed' else 'succeeded' end,
                case when (e.id + w.id) % 10 = 0 then 'failed' else 'success' end,
                case when (e.id + w.id) % 10 = 0 then 'Webhook request failed with status code: 500.'
                     else 'Webhook request was successful with status code: 200.' end,
                1, case when (e.id + w.id) % 10 = 0 then 500 else 200 end, 12, e.received_at, e.received_at
         from events e cross join webhooks w",
    )
    .bind(WEBHOOKS)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into attempts (delivery_id, number, trigger, url, request_headers, request_body, status, response_headers,
                               response_body, duration_ms, started_at)
         select id, 1, 'scheduled', 'https://hooks.example.com/bench', '[[\"content-type\",\"application/json\"]]',
                '{\"id\":1}', last_status, '[]', 'ok', 12, created_at
         from deliveries",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("analyze").execute(&mut conn).await?;
    Ok(())
}
