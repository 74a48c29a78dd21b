//! `bench`: Hookline's end-to-end delivery benchmark, run through `scripts/bench.sh`.
//!
//! It treats Hookline as a black box, over HTTP, as a deployment would:
//!
//! 1. `hookline token create` against a fresh SQLite file in a temporary folder;
//! 2. a local receiver (axum, in this process) that records every delivery;
//! 3. `hookline serve` as a child process, allowed to reach 127.0.0.1, with a short retry schedule;
//! 4. `--webhooks` webhooks subscribed to `feature-created`, pointing at the receiver;
//! 5. `--events` events published to `POST /api/events`, as fast as possible or at `--rate`;
//! 6. a wait until every (event, webhook) pair arrived, then the report: ingest and delivery rates,
//!    publish-to-receipt latency, lost and duplicate deliveries, Hookline's memory and CPU, and a
//!    ceiling (the same receiver driven by a bare client loop).
//!
//! `--rate-limit R` gives every webhook that limit and reports how closely it was kept;
//! `--failing N` adds N webhooks whose receiver fails (500, or `--failing-mode timeout`), to show
//! that they do not slow the healthy ones.
//!
//! The exit code is 1 when a delivery was lost.

mod hookline;
mod publish;
mod receiver;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

use crate::hookline::Server;
use crate::publish::Intake;
use crate::report::{round, Figures, Setup};

/// The retry schedule the bench gives Hookline, so runs with `--receiver-error-rate` finish quickly.
const RETRY_SCHEDULE: &str = "0s,100ms,200ms,400ms,800ms";

/// Hookline's end-to-end delivery benchmark: publishes events to a real `hookline serve` and
/// measures how fast and how reliably they reach a local receiver.
#[derive(Debug, Parser)]
#[command(name = "bench", version, about, long_about = None)]
struct Args {
    /// Events to publish.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    events: u32,

    /// Webhooks to create, each subscribed to every published event (deliveries = events x webhooks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    webhooks: u32,

    /// Concurrent publishing clients when publishing as fast as possible; also the concurrency of
    /// the ceiling loop.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    publishers: u32,

    /// Events per intake request when publishing as fast as possible (above 1 the body is
    /// `{"events": [...]}`; Hookline accepts up to 500).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=500))]
    batch: u32,

    /// Publish at this many events per second (each event its own request, open loop) instead of as
    /// fast as possible. [default: as fast as possible]
    #[arg(long, conflicts_with = "batch", value_parser = parse_rate)]
    rate: Option<f64>,

    /// Seconds to wait for the deliveries once publishing is done.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,

    /// The database: `sqlite` (a fresh file) or `postgres` (a fresh database on --postgres-url).
    #[arg(long, default_value = "sqlite", value_parser = ["sqlite", "postgres"])]
    backend: String,

    /// With `--backend postgres`: the server to create the bench's database on (a URL with
    /// rights to create databases). `scripts/bench.sh` starts a throw-away one when unset.
    #[arg(long, env = "HOOKLINE_BENCH_POSTGRES")]
    postgres_url: Option<String>,

    /// With `--backend postgres`: the postmaster's pid, to count PostgreSQL's CPU beside Hookline's.
    #[arg(long, env = "HOOKLINE_BENCH_POSTGRES_PID")]
    postgres_pid: Option<u32>,

    /// Hookline instances sharing the database (`--backend postgres`); publishers spread their
    /// requests over them in turn.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    instances: u32,

    /// SQLite `synchronous` mode for Hookline (HOOKLINE_SQLITE_SYNCHRONOUS).
    #[arg(long, default_value = "normal", value_parser = ["normal", "full"])]
    synchronous: String,

    /// Delivery requests in flight across all webhooks (HOOKLINE_CONCURRENCY). [default: Hookline's, 128]
    #[arg(long)]
    concurrency: Option<usize>,

    /// Delivery requests in flight to one webhook (HOOKLINE_WEBHOOK_CONCURRENCY). [default: Hookline's, 32]
    #[arg(long)]
    webhook_concurrency: Option<usize>,

    /// Milliseconds the receiver waits before answering each request.
    #[arg(long, default_value_t = 0)]
    receiver_latency_ms: u64,

    /// Fraction (0 to 1) of delivery attempts the receiver answers with 500, so Hookline retries.
    #[arg(long, default_value_t = 0.0, value_parser = parse_fraction)]
    receiver_error_rate: f64,

    /// Give every bench webhook this rate limit (deliveries per second); the report says how
    /// closely it was kept. [default: no limit]
    #[arg(long, value_parser = parse_rate_limit)]
    rate_limit: Option<f64>,

    /// Isolation: add this many webhooks whose receiver fails (see --failing-mode); the report's
    /// delivery rate is the healthy webhooks' (compare with a run without).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    failing: u32,

    /// How the --failing webhooks' receiver fails: `500` at once, or `timeout` (never answers in
    /// time; Hookline's request timeout ends each attempt).
    #[arg(long, default_value = "500", value_parser = ["500", "timeout"])]
    failing_mode: String,

    /// The hookline binary. [default: `hookline` next to this executable, i.e. target/release/hookline]
    #[arg(long)]
    hookline: Option<PathBuf>,

    /// Print the figures as one JSON object on stdout instead of the text report.
    #[arg(long)]
    json: bool,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("`{text}` is not a positive number of events per second")),
    }
}

fn parse_rate_limit(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && (0.001..=10_000.0).contains(&rate) => Ok(rate),
        _ => Err(format!("`{text}` is not a rate limit from 0.001 to 10000 deliveries per second")),
    }
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(fraction) if (0.0..1.0).contains(&fraction) => Ok(fraction),
        _ => Err(format!("`{text}` is not a fraction from 0 up to (not including) 1")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(figures) if figures.lost == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Creates a fresh database for this run on the PostgreSQL server `admin`; returns its URL.
async fn postgres_database(admin: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let name = format!("bench_{}_{}", std::process::id(), rand::random::<u32>());
    let mut conn = sqlx::PgConnection::connect(admin).await.context("cannot connect to --postgres-url")?;
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .context("cannot create the bench database")?;
    let _ = conn.close().await;
    let (base, _) = admin.rsplit_once('/').context("--postgres-url names no database")?;
    Ok(format!("{base}/{name}"))
}

/// The CPU of every instance, added up (per thread name too).
fn servers_cpu(servers: &[Server], ticks: f64) -> anyhow::Result<hookline::Cpu> {
    let mut total = hookline::Cpu::default();
    for server in servers {
        let cpu = hookline::cpu(&server.pid.to_string(), ticks)?;
        total.user_s += cpu.user_s;
        total.system_s += cpu.system_s;
        for (name, seconds) in cpu.threads {
            *total.threads.entry(name).or_insert(0.0) += seconds;
        }
    }
    Ok(total)
}

/// Progress, on stderr (stdout carries the report).
macro_rules! step {
    ($($arg:tt)*) => { eprintln!("[bench] {}", format!($($arg)*)) };
}

async fn run(args: Args) -> anyhow::Result<Figures> {
    let bin = match &args.hookline {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot locate the bench executable")?.with_file_name("hookline"),
    };
    if !bin.is_file() {
        bail!("{} not found: build it with `cargo build --release -p hookline-server --bin hookline`", bin.display());
    }
    let (events, webhooks, publishers, batch) =
        (args.events as usize, args.webhooks as usize, args.publishers as usize, args.batch as usize);
    let expected = events * webhooks;
    let max_attempts = RETRY_SCHEDULE.split(',').count() as u32;
    let ticks = hookline::clock_ticks();

    let dir = tempfile::Builder::new().prefix("hookline-bench-").tempdir().context("cannot create a temp folder")?;
    step!("data in {}", dir.path().display());
    let postgres = args.backend == "postgres";
    if args.instances > 1 && !postgres {
        bail!("--instances above 1 needs --backend postgres (SQLite is one process's database)");
    }
    let mut env = vec![
        ("HOOKLINE_ALLOWED_TARGETS", "127.0.0.1/32".to_owned()),
        ("HOOKLINE_SQLITE_SYNCHRONOUS", args.synchronous.clone()),
        ("HOOKLINE_RETRY_SCHEDULE", RETRY_SCHEDULE.to_owned()),
    ];
    if postgres {
        let admin = args.postgres_url.as_deref().context("--backend postgres needs --postgres-url")?;
        env.push(("HOOKLINE_DATABASE_URL", postgres_database(admin).await?));
        let key: [u8; 32] = rand::random();
        env.push(("HOOKLINE_ENCRYPTION_KEY", key.iter().map(|b| format!("{b:02x}")).collect()));
        let pool: u32 = (16 / args.instances).max(4);
        env.push(("HOOKLINE_PG_POOL_SIZE", pool.to_string()));
    } else {
        env.push(("HOOKLINE_DATABASE_URL", format!("sqlite://{}/bench.db", dir.path().display())));
    }
    let token = hookline::create_token(&bin, dir.path(), &env)?;

    let behaviour = receiver::Behaviour {
        latency: Duration::from_millis(args.receiver_latency_ms),
        error_rate: args.receiver_error_rate,
        max_attempts,
        failing: if args.failing_mode == "timeout" { receiver::Failing::Timeout } else { receiver::Failing::Status500 },
    };
    let receiver = receiver::start(behaviour).await?;
    step!("receiver on http://{}", receiver.addr);

    if let Some(concurrency) = args.concurrency {
        env.push(("HOOKLINE_CONCURRENCY", concurrency.to_string()));
    }
    if let Some(concurrency) = args.webhook_concurrency {
        env.push(("HOOKLINE_WEBHOOK_CONCURRENCY", concurrency.to_string()));
    }
    let client = publish::client()?;
    let mut servers = Vec::new();
    for n in 0..args.instances {
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
            probe.local_addr().context("cannot read the free port")?
        };
        let mut server = Server::spawn(&bin, dir.path(), addr, &env, dir.path().join(format!("hookline-{n}.log")))?;
        server.wait_healthy(&client).await?;
        step!("hookline serve (pid {}) healthy on {}", server.pid, server.base_url);
        servers.push(server);
    }
    let intake = Intake::new(client.clone(), servers.iter().map(|s| s.base_url.clone()).collect(), &token)?;
    for index in 0..webhooks {
        let target = format!("http://{}/hook/{index}", receiver.addr);
        intake
            .create_webhook(index, &target, args.rate_limit)
            .await
            .with_context(|| format!("creating webhook {index}"))?;
    }
    for index in 0..args.failing as usize {
        let target = format!("http://{}/failing/{index}", receiver.addr);
        intake
            .create_webhook(webhooks + index, &target, None)
            .await
            .with_context(|| format!("creating failing webhook {index}"))?;
    }
    step!("{webhooks} webhook(s) created (+{} failing); publishing {events} events", args.failing);

    let server_cpu_before = servers_cpu(&servers, ticks)?;
    let postgres_cpu_before = match args.postgres_pid.filter(|_| postgres) {
        Some(pid) => Some(hookline::postgres_cpu(pid, ticks)?),
        None => None,
    };
    let bench_cpu_before = hookline::cpu("self", ticks)?;
    let published = match args.rate {
        Some(rate) => intake.paced(events, rate).await?,
        None => intake.flood(events, publishers, batch).await?,
    };
    let publish_s = published.finished.duration_since(published.started).as_secs_f64();
    step!("published in {publish_s:.2} s; waiting for {expected} deliveries");

    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let mut next_progress = Instant::now() + Duration::from_secs(5);
    loop {
        let settled = receiver.shared.tally().settled;
        if settled >= expected {
            break;
        }
        if Instant::now() > deadline {
            step!("timed out after {} s with {settled} of {expected} deliveries settled", args.timeout_s);
            break;
        }
        if Instant::now() > next_progress {
            step!("{settled} of {expected} deliveries so far");
            next_progress += Duration::from_secs(5);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Late duplicates, if any, would show up now.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let window_end = Instant::now();
    let memory = servers.iter().map(|s| hookline::memory(s.pid)).collect::<anyhow::Result<Vec<_>>>()?;
    let server_cpu = servers_cpu(&servers, ticks)?;
    let postgres_cpu = match (args.postgres_pid, postgres_cpu_before) {
        (Some(pid), Some((user, system))) => {
            let (now_user, now_system) = hookline::postgres_cpu(pid, ticks)?;
            Some(now_user - user + now_system - system)
        }
        _ => None,
    };
    let bench_cpu = hookline::cpu("self", ticks)?;
    let mut exits = Vec::new();
    let mut problems = Vec::new();
    for server in &mut servers {
        exits.push(match server.stop().await {
            Ok(status) => status.to_string(),
            Err(error) => format!("{error:#}"),
        });
        problems.extend(server.log_problems());
    }
    let server_exit = exits.join(", ");

    let (outcome, receiver_requests, receiver_500s, duplicates, split_ids, malformed, sample, rate_kept) = {
        let tally = receiver.shared.tally();
        let outcome = report::outcome(&published, webhooks, &tally, max_attempts);
        let rate_kept = args.rate_limit.and_then(|limit| report::RateKept::measure(limit, &tally.arrivals, webhooks));
        (
            outcome,
            tally.requests,
            tally.rejected,
            tally.duplicates,
            tally.split_ids,
            tally.malformed,
            tally.sample_body.clone(),
            rate_kept,
        )
    };
    if outcome.lost > 0 {
        for server in &servers {
            step!("{} deliveries lost; the end of Hookline's log:\n{}", outcome.lost, server.log_tail(60));
        }
    }

    // The ceiling: the same number of requests, the same body, straight to the receiver.
    let body = sample.unwrap_or_else(|| {
        axum::body::Bytes::from_static(
            br#"{"id":1,"type":"feature-created","featureName":"flag-0","project":"default"}"#,
        )
    });
    step!("ceiling: {expected} requests straight to the receiver, {publishers} concurrent");
    let ceiling_url = format!("http://{}/ceiling", receiver.addr);
    let ceiling = publish::ceiling(&client, &ceiling_url, body, expected, publishers).await?;
    if receiver.shared.ceiling_requests() != expected as u64 {
        bail!("the receiver counted {} ceiling requests, not {expected}", receiver.shared.ceiling_requests());
    }
    let ceiling_rps = report::ceiling_rate(&ceiling);

    let delivery_s = outcome.last_receipt.map_or(0.0, |last| last.duration_since(published.started).as_secs_f64());
    let deliveries_per_s = report::per_second(outcome.delivered, delivery_s);
    let window_s = window_end.duration_since(published.started).as_secs_f64();
    let run_cpu = server_cpu.since(&server_cpu_before);
    let figures = Figures {
        setup: Setup {
            events,
            webhooks,
            expected_deliveries: expected,
            mode: if args.rate.is_some() { "rate" } else { "flood" },
            publishers,
            batch,
            rate: args.rate,
            synchronous: args.synchronous.clone(),
            backend: args.backend.clone(),
            instances: args.instances as usize,
            concurrency: args.concurrency,
            webhook_concurrency: args.webhook_concurrency,
            retry_schedule: RETRY_SCHEDULE,
            receiver_latency_ms: args.receiver_latency_ms,
            receiver_error_rate: args.receiver_error_rate,
            rate_limit: args.rate_limit,
            failing_webhooks: args.failing as usize,
            failing_mode: if args.failing_mode == "timeout" { "timeout" } else { "500" },
        },
        intake_requests: published.requests,
        publish_s: round(publish_s, 3),
        ingest_events_per_s: report::per_second(events, publish_s),
        delivered: outcome.delivered,
        delivery_s: round(delivery_s, 3),
        deliveries_per_s,
        latency: outcome.latency,
        lost: outcome.lost,
        exhausted: outcome.exhausted,
        duplicates,
        split_ids,
        unexpected: outcome.unexpected,
        malformed,
        receiver_requests,
        receiver_500s,
        hookline: report::resources(&memory, &run_cpu, &server_cpu, outcome.delivered, window_s),
        postgres_cpu_s: postgres_cpu.map(|cpu| round(cpu, 2)),
        cpu_ms_per_delivery_with_database: postgres_cpu.map(|cpu| {
            round(
                if outcome.delivered > 0 { (run_cpu.total_s() + cpu) * 1000.0 / outcome.delivered as f64 } else { 0.0 },
                3,
            )
        }),
        bench_cpu_s: round(bench_cpu.since(&bench_cpu_before).total_s(), 2),
        ceiling_requests: ceiling.requests,
        ceiling_concurrency: publishers,
        ceiling_requests_per_s: ceiling_rps,
        ratio_to_ceiling: if ceiling_rps > 0.0 { round(deliveries_per_s / ceiling_rps, 3) } else { 0.0 },
        server_exit,
        server_log_problems: problems.len(),
        server_log_sample: problems.into_iter().take(10).collect(),
        rate_kept,
        failing_requests: (args.failing > 0).then(|| receiver.shared.failing_requests()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures).context("cannot encode the figures")?);
    } else {
        print!("{}", report::text(&figures));
    }
    drop(servers);
    dir.close().context("cannot remove the temp folder")?;
    Ok(figures)
}
