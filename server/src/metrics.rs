//! Prometheus metrics: counters kept in memory by the dispatcher and the intake, and queue gauges
//! read from the database when `/metrics` is scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::auth::password::Counters as PasswordCounters;
use crate::db::deliveries::AttemptRecord;

/// Upper bounds (seconds) of the attempt-duration histogram buckets.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
pub struct Metrics {
    events_received: AtomicU64,
    /// (webhook id, result) -> attempts.
    attempts: Mutex<BTreeMap<(i64, &'static str), u64>>,
    duration_buckets: [AtomicU64; BUCKETS.len()],
    duration_count: AtomicU64,
    duration_sum_micros: AtomicU64,
}

/// Queue figures read from the database at scrape time.
#[derive(Debug, Default, Clone, Copy)]
pub struct QueueGauges {
    pub due: i64,
    pub waiting_retries: i64,
    pub oldest_pending_age_seconds: f64,
    pub in_flight: usize,
}

impl Metrics {
    pub fn events_received(&self, count: u64) {
        self.events_received.fetch_add(count, Ordering::Relaxed);
    }

    /// Counts a finished attempt by webhook and result, and its duration.
    pub fn record_attempt(&self, record: &AttemptRecord) {
        if let Ok(mut attempts) = self.attempts.lock() {
            *attempts.entry((record.webhook_id, record.state)).or_default() += 1;
        }
        let seconds = record.duration_ms as f64 / 1000.0;
        for (bucket, bound) in self.duration_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        self.duration_sum_micros.fetch_add((record.duration_ms.max(0) as u64) * 1000, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, queue: QueueGauges, passwords: &PasswordCounters) -> String {
        let mut out = String::with_capacity(2048);
        let _ = writeln!(
            out,
            "# HELP hookline_events_received_total Events accepted by the intake (duplicates not counted)."
        );
        let _ = writeln!(out, "# TYPE hookline_events_received_total counter");
        let _ = writeln!(out, "hookline_events_received_total {}", self.events_received.load(Ordering::Relaxed));

        let _ = writeln!(
            out,
            "# HELP hookline_delivery_attempts_total Delivery attempts by webhook and resulting delivery state."
        );
        let _ = writeln!(out, "# TYPE hookline_delivery_attempts_total counter");
        if let Ok(attempts) = self.attempts.lock() {
            for ((webhook, result), count) in attempts.iter() {
                let _ = writeln!(
                    out,
                    "hookline_delivery_attempts_total{{webhook=\"{webhook}\",result=\"{result}\"}} {count}"
                );
            }
        }

        let _ = writeln!(
            out,
            "# HELP hookline_attempt_duration_seconds Time from sending a request to having its response."
        );
        let _ = writeln!(out, "# TYPE hookline_attempt_duration_seconds histogram");
        for (bucket, bound) in self.duration_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "hookline_attempt_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.duration_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "hookline_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.duration_sum_micros.load(Ordering::Relaxed) as f64 / 1_000_000.0;
        let _ = writeln!(out, "hookline_attempt_duration_seconds_sum {sum}");
        let _ = writeln!(out, "hookline_attempt_duration_seconds_count {count}");

        // A rising refusal count means sign-ins are arriving faster than the cores can check them
        // (often someone guessing passwords).
        let password_counters = [
            ("hookline_password_hashes_total", "Argon2 password hashes and verifications run.", passwords.operations()),
            (
                "hookline_password_hash_refusals_total",
                "Sign-ins and password changes refused with 429 because every hashing slot stayed busy.",
                passwords.refused(),
            ),
        ];
        for (name, help, value) in password_counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        }

        let gauges = [
            (
                "hookline_queue_due",
                "Deliveries due now (first attempts and retries whose time has come).",
                queue.due as f64,
            ),
            (
                "hookline_queue_waiting_retries",
                "Deliveries waiting for a scheduled retry.",
                queue.waiting_retries as f64,
            ),
            (
                "hookline_queue_oldest_pending_age_seconds",
                "Age of the oldest delivery not yet final.",
                queue.oldest_pending_age_seconds,
            ),
            ("hookline_attempts_in_flight", "Attempts being made right now.", queue.in_flight as f64),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}
