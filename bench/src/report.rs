//! The figures: computed from what was published and what the receiver recorded, printed as text or
//! as one JSON object.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;

use crate::hookline::{Cpu, Memory};
use crate::publish::{Ceiling, Published};
use crate::receiver::Tally;

/// How the run was set up.
#[derive(Debug, Serialize)]
pub struct Setup {
    pub events: usize,
    pub webhooks: usize,
    pub expected_deliveries: usize,
    /// `flood` (as fast as possible) or `rate`.
    pub mode: &'static str,
    pub publishers: usize,
    pub batch: usize,
    pub rate: Option<f64>,
    pub synchronous: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Hookline processes sharing the database.
    pub instances: usize,
    /// HOOKLINE_CONCURRENCY (None: Hookline's default).
    pub concurrency: Option<usize>,
    /// HOOKLINE_WEBHOOK_CONCURRENCY (None: Hookline's default).
    pub webhook_concurrency: Option<usize>,
    pub retry_schedule: &'static str,
    pub receiver_latency_ms: u64,
    pub receiver_error_rate: f64,
    /// Each bench webhook's rate limit, deliveries per second (`--rate-limit`).
    pub rate_limit: Option<f64>,
    /// Extra webhooks whose receiver fails (`--failing`), and how (`500` or `timeout`).
    pub failing_webhooks: usize,
    pub failing_mode: &'static str,
}

/// How closely the rate limit was kept, measured from the receiver's arrival times.
#[derive(Debug, Serialize)]
pub struct RateKept {
    pub limit: f64,
    /// The burst Hookline allows after a quiet spell: one second's worth, at least 1.
    pub burst: usize,
    /// Requests per second after the burst (mean over the webhooks): (n - burst) requests over the
    /// time from the burst's last to the last.
    pub steady_per_s: f64,
    /// (steady - limit) / limit, in %: the worst webhook (largest magnitude).
    pub error_pct: f64,
    /// The fastest any webhook went over any `burst + limit` consecutive requests (one second's
    /// worth after a burst), requests per second.
    pub peak_per_s: f64,
    /// First to last request, all included (burst too), mean over the webhooks.
    pub overall_per_s: f64,
}

impl RateKept {
    /// The figures from each webhook's arrival times, for a limit of `limit` per second.
    pub fn measure(limit: f64, arrivals: &HashMap<usize, Vec<Instant>>, webhooks: usize) -> Option<RateKept> {
        let burst = (limit.floor() as usize).max(1);
        let (mut steady, mut overall, mut error, mut peak) = (Vec::new(), Vec::new(), 0.0f64, 0.0f64);
        for index in 0..webhooks {
            let Some(times) = arrivals.get(&index) else { continue };
            let mut times = times.clone();
            times.sort();
            if times.len() <= burst + 1 {
                continue;
            }
            let last = times[times.len() - 1];
            let after_burst = last.duration_since(times[burst - 1]).as_secs_f64();
            if after_burst > 0.0 {
                let rate = (times.len() - burst) as f64 / after_burst;
                steady.push(rate);
                let off = (rate - limit) / limit * 100.0;
                if off.abs() > error.abs() {
                    error = off;
                }
            }
            overall.push((times.len() - 1) as f64 / last.duration_since(times[0]).as_secs_f64().max(1e-9));
            let window = burst + limit.ceil() as usize;
            for pair in times.windows(window.min(times.len())) {
                let span = pair[pair.len() - 1].duration_since(pair[0]).as_secs_f64();
                if span > 0.0 {
                    peak = peak.max((pair.len() - 1) as f64 / span);
                }
            }
        }
        let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
        (!steady.is_empty()).then(|| RateKept {
            limit,
            burst,
            steady_per_s: round(mean(&steady), 2),
            error_pct: round(error, 2),
            peak_per_s: round(peak, 2),
            overall_per_s: round(mean(&overall), 2),
        })
    }
}

/// Publish-to-receipt latency, in milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Hookline's resources.
#[derive(Debug, Serialize)]
pub struct Resources {
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
    /// Of `rss_mib`: the process's own memory, and pages of mapped files (its code).
    pub rss_anon_mib: f64,
    pub rss_file_mib: f64,
    /// utime + stime between the first publish and the end of the wait.
    pub cpu_s: f64,
    pub cpu_user_s: f64,
    pub cpu_system_s: f64,
    /// Over the process's whole life (start-up included).
    pub cpu_lifetime_s: f64,
    /// `cpu_s` per delivery.
    pub cpu_ms_per_delivery: f64,
    /// `cpu_s` over the same wall time: cores kept busy.
    pub cores_busy: f64,
    /// `cpu_s` per thread group, largest first.
    pub cpu_by_thread: Vec<(String, f64)>,
}

/// Every figure of a run.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub setup: Setup,
    pub intake_requests: usize,
    pub publish_s: f64,
    pub ingest_events_per_s: f64,
    pub delivered: usize,
    /// From the first publish to the last first receipt.
    pub delivery_s: f64,
    pub deliveries_per_s: f64,
    pub latency: Option<Latency>,
    /// Expected (event, webhook) pairs never received: must be 0.
    pub lost: usize,
    /// Pairs whose every attempt the receiver answered 500 (only with --receiver-error-rate).
    pub exhausted: usize,
    /// Receipts beyond the first per `webhook-id`.
    pub duplicates: u64,
    /// Receipts of a pair under a second `webhook-id`.
    pub split_ids: u64,
    /// Pairs received for events the bench did not publish.
    pub unexpected: usize,
    /// Requests without a `webhook-id` or an event id.
    pub malformed: u64,
    pub receiver_requests: u64,
    pub receiver_500s: u64,
    pub hookline: Resources,
    /// PostgreSQL's CPU over the run (all its processes), with `--backend postgres`.
    pub postgres_cpu_s: Option<f64>,
    /// (Hookline + PostgreSQL CPU) per delivery.
    pub cpu_ms_per_delivery_with_database: Option<f64>,
    /// The bench process (publishers and receiver) over the same window, on the same machine.
    pub bench_cpu_s: f64,
    pub ceiling_requests: usize,
    pub ceiling_concurrency: usize,
    pub ceiling_requests_per_s: f64,
    /// deliveries_per_s / ceiling_requests_per_s.
    pub ratio_to_ceiling: f64,
    pub server_exit: String,
    /// Warning and error lines Hookline logged (RUST_LOG=warn).
    pub server_log_problems: usize,
    pub server_log_sample: Vec<String>,
    /// With `--rate-limit`: how closely it was kept.
    pub rate_kept: Option<RateKept>,
    /// With `--failing`: the requests the failing webhooks' receiver got.
    pub failing_requests: Option<u64>,
}

/// Delivery outcomes per expected pair.
pub struct Outcome {
    pub delivered: usize,
    pub lost: usize,
    pub exhausted: usize,
    pub unexpected: usize,
    pub last_receipt: Option<Instant>,
    pub latency: Option<Latency>,
}

/// Joins what was published with what arrived.
pub fn outcome(published: &Published, webhooks: usize, tally: &Tally, max_attempts: u32) -> Outcome {
    let sent: HashMap<i64, Instant> = published.sent.iter().copied().collect();
    let mut latencies = Vec::with_capacity(sent.len() * webhooks);
    let (mut lost, mut exhausted, mut last_receipt) = (0, 0, None::<Instant>);
    for (&event, &at) in &sent {
        for webhook in 0..webhooks {
            match tally.pairs.get(&(event, webhook)) {
                Some(pair) => match pair.first_ok {
                    Some(received) => {
                        latencies.push(received.saturating_duration_since(at).as_secs_f64() * 1000.0);
                        last_receipt = Some(last_receipt.map_or(received, |last| last.max(received)));
                    }
                    None if pair.rejected >= max_attempts => exhausted += 1,
                    None => lost += 1,
                },
                None => lost += 1,
            }
        }
    }
    let unexpected =
        tally.pairs.keys().filter(|(event, webhook)| !sent.contains_key(event) || *webhook >= webhooks).count();
    latencies.sort_by(f64::total_cmp);
    let latency = (!latencies.is_empty()).then(|| Latency {
        p50_ms: round(percentile(&latencies, 50.0), 3),
        p95_ms: round(percentile(&latencies, 95.0), 3),
        p99_ms: round(percentile(&latencies, 99.0), 3),
        max_ms: round(latencies[latencies.len() - 1], 3),
    });
    Outcome { delivered: latencies.len(), lost, exhausted, unexpected, last_receipt, latency }
}

/// Nearest-rank percentile of sorted, non-empty values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The largest of one memory figure over the instances, in MiB.
fn largest_mib(memory: &[Memory], kib: impl Fn(&Memory) -> u64) -> f64 {
    round(memory.iter().map(kib).max().unwrap_or(0) as f64 / 1024.0, 1)
}

/// Hookline's resource figures.
pub fn resources(memory: &[Memory], run: &Cpu, lifetime: &Cpu, deliveries: usize, wall_s: f64) -> Resources {
    let mut by_thread: Vec<(String, f64)> = run.threads.iter().map(|(name, s)| (name.clone(), round(*s, 2))).collect();
    by_thread.sort_by(|a, b| b.1.total_cmp(&a.1));
    Resources {
        // With several instances, the largest.
        rss_mib: largest_mib(memory, |m| m.rss_kib),
        peak_rss_mib: largest_mib(memory, |m| m.hwm_kib),
        rss_anon_mib: largest_mib(memory, |m| m.anon_kib),
        rss_file_mib: largest_mib(memory, |m| m.file_kib),
        cpu_s: round(run.total_s(), 2),
        cpu_user_s: round(run.user_s, 2),
        cpu_system_s: round(run.system_s, 2),
        cpu_lifetime_s: round(lifetime.total_s(), 2),
        cpu_ms_per_delivery: round(if deliveries > 0 { run.total_s() * 1000.0 / deliveries as f64 } else { 0.0 }, 3),
        cores_busy: round(if wall_s > 0.0 { run.total_s() / wall_s } else { 0.0 }, 2),
        cpu_by_thread: by_thread,
    }
}

/// Rounds to `digits` decimals (for readable JSON).
pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Events per second, or 0 when nothing took time.
pub fn per_second(count: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        round(count as f64 / seconds, 1)
    } else {
        0.0
    }
}

/// The ceiling's rate.
pub fn ceiling_rate(ceiling: &Ceiling) -> f64 {
    per_second(ceiling.requests, ceiling.elapsed.as_secs_f64())
}

/// The text report.
pub fn text(f: &Figures) -> String {
    let s = &f.setup;
    let mut out = String::new();
    let publishing = match s.rate {
        Some(rate) => format!("fixed rate {rate} events/s, one event per request"),
        None => format!("as fast as possible: {} publishers, {} event(s) per request", s.publishers, s.batch),
    };
    let setting = |value: Option<usize>, default: &str| value.map_or(format!("{default} (default)"), |v| v.to_string());
    let _ = writeln!(out, "Hookline delivery benchmark");
    let _ = writeln!(
        out,
        "  setup        {} events x {} webhook(s) = {} deliveries; {publishing}",
        s.events, s.webhooks, s.expected_deliveries
    );
    let database = match s.backend.as_str() {
        "postgres" => format!("PostgreSQL, {} instance(s)", s.instances),
        _ => format!("SQLite synchronous={}", s.synchronous),
    };
    let _ = writeln!(
        out,
        "               {database}; HOOKLINE_CONCURRENCY={}, HOOKLINE_WEBHOOK_CONCURRENCY={}; retries {}",
        setting(s.concurrency, "128"),
        setting(s.webhook_concurrency, "32"),
        s.retry_schedule
    );
    let _ = writeln!(
        out,
        "               receiver: {} ms latency, {} error rate",
        s.receiver_latency_ms, s.receiver_error_rate
    );
    let _ = writeln!(
        out,
        "  ingest       {:.0} events/s  ({} events in {:.2} s, {} requests)",
        f.ingest_events_per_s, s.events, f.publish_s, f.intake_requests
    );
    if let Some(limit) = s.rate_limit {
        let _ = writeln!(out, "               every webhook limited to {limit} deliveries/s");
    }
    if s.failing_webhooks > 0 {
        let _ = writeln!(
            out,
            "               plus {} failing webhook(s) whose receiver {} (not counted below)",
            s.failing_webhooks,
            if s.failing_mode == "timeout" { "never answers in time" } else { "answers 500" }
        );
    }
    let healthy = if s.failing_webhooks > 0 { " to the healthy webhooks" } else { "" };
    let _ = writeln!(
        out,
        "  delivery     {:.0} deliveries/s{healthy}  ({} unique in {:.2} s, first publish to last receipt)",
        f.deliveries_per_s, f.delivered, f.delivery_s
    );
    if let Some(r) = &f.rate_kept {
        let _ = writeln!(
            out,
            "  rate limit   {:.2} requests/s after the burst of {} vs the limit {}: error {:+.2} %",
            r.steady_per_s, r.burst, r.limit, r.error_pct
        );
        let _ = writeln!(
            out,
            "               fastest second (burst + 1 s worth): {:.2}/s; overall, burst included: {:.2}/s",
            r.peak_per_s, r.overall_per_s
        );
    }
    if let Some(requests) = f.failing_requests {
        let _ = writeln!(out, "  failing      the failing webhooks' receiver got {requests} requests");
    }
    match &f.latency {
        Some(l) => {
            let _ = writeln!(
                out,
                "  latency      publish to receipt: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
            );
        }
        None => {
            let _ = writeln!(out, "  latency      nothing arrived");
        }
    }
    let _ = writeln!(
        out,
        "  integrity    lost {}, duplicates {}, split ids {}, unexpected {}, malformed {}, exhausted {}",
        f.lost, f.duplicates, f.split_ids, f.unexpected, f.malformed, f.exhausted
    );
    let _ = writeln!(
        out,
        "               receiver saw {} requests, answered {} with 500 on purpose",
        f.receiver_requests, f.receiver_500s
    );
    let h = &f.hookline;
    let _ = writeln!(
        out,
        "  hookline     RSS {:.1} MiB at the end ({:.1} own memory + {:.1} mapped code), peak {:.1} MiB",
        h.rss_mib, h.rss_anon_mib, h.rss_file_mib, h.peak_rss_mib
    );
    let _ = writeln!(
        out,
        "               CPU {:.2} s during the run (user {:.2} + system {:.2}) = {:.3} ms per delivery",
        h.cpu_s, h.cpu_user_s, h.cpu_system_s, h.cpu_ms_per_delivery
    );
    let _ = writeln!(
        out,
        "               {:.2} cores busy on average; {:.2} s CPU over its whole life",
        h.cores_busy, h.cpu_lifetime_s
    );
    let threads: Vec<String> =
        h.cpu_by_thread.iter().take(6).map(|(name, seconds)| format!("{name} {seconds:.2} s")).collect();
    let _ = writeln!(out, "               by thread: {}", threads.join(", "));
    if let (Some(database), Some(per_delivery)) = (f.postgres_cpu_s, f.cpu_ms_per_delivery_with_database) {
        let _ = writeln!(
            out,
            "  postgres     CPU {database:.2} s; Hookline + PostgreSQL = {per_delivery:.3} ms per delivery"
        );
    }
    let _ =
        writeln!(out, "  bench        CPU {:.2} s (publishers + receiver, same machine, same window)", f.bench_cpu_s);
    let _ = writeln!(
        out,
        "  ceiling      {:.0} requests/s  (bare reqwest loop, {} concurrent, {} requests to the same receiver)",
        f.ceiling_requests_per_s, f.ceiling_concurrency, f.ceiling_requests
    );
    let _ = writeln!(out, "               Hookline delivers at {:.2}x the ceiling", f.ratio_to_ceiling);
    let _ = writeln!(out, "  server       {}; {} warning/error log lines", f.server_exit, f.server_log_problems);
    for line in &f.server_log_sample {
        let _ = writeln!(out, "               | {line}");
    }
    if f.lost > 0 {
        let _ = writeln!(out, "FAILED: {} expected deliveries never arrived", f.lost);
    }
    out
}
