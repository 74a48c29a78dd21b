//! Prometheus metrics through `prometheus-client` (the exposition format, escaping and `_total`
//! suffixes are the crate's job, not hand-written text): counters kept in memory by the dispatcher
//! and the intake, and queue gauges read from the database when `/metrics` is scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use hookline_core::delivery::DeliveryState;

use crate::auth::password::Counters as PasswordCounters;
use crate::db::deliveries::AttemptRecord;

/// Upper bounds (seconds) of the attempt-duration histogram buckets.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The labels of an attempt counter: which webhook, and the delivery state the attempt led to.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    webhook: i64,
    result: &'static str,
}

/// A gauge holding a float.
type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Registry,
    events_received: Counter,
    attempts: Family<AttemptLabels, Counter>,
    durations: Histogram,
    queue_due: Gauge,
    queue_waiting_retries: Gauge,
    queue_oldest_age: FloatGauge,
    in_flight: Gauge,
    live_streams: Gauge,
    password_hashes: Counter,
    password_refusals: Counter,
    unleash_polls: Counter,
    unleash_poll_errors: Counter,
    unleash_caught_up: Counter,
    unleash_last_success: FloatGauge,
    page_renders: PageRenderCounters,
}

/// What the page renders' hedge did (see `routes::render`): shared with it, counted as it happens.
#[derive(Debug, Clone, Default)]
pub struct PageRenderCounters {
    /// Renders that had not answered in time and got a second render beside them.
    pub hedged: Counter,
    /// Pages that answered 503 because neither render answered.
    pub abandoned: Counter,
}

/// Queue figures read from the database at scrape time.
#[derive(Debug, Default, Clone, Copy)]
pub struct QueueGauges {
    pub due: i64,
    pub waiting_retries: i64,
    pub oldest_pending_age_seconds: f64,
    pub in_flight: usize,
    /// Live update streams open (not from the database: each instance counts its own).
    pub live_streams: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::for_instance(None)
    }
}

impl Metrics {
    /// The metrics of one process. With several instances on one PostgreSQL database, each
    /// series carries `hookline_instance` (not `instance`, which Prometheus sets to the scraped
    /// target and would rename ours away).
    pub fn for_instance(instance: Option<&str>) -> Self {
        let registry = match instance {
            Some(id) => Registry::with_labels(std::iter::once((
                std::borrow::Cow::Borrowed("hookline_instance"),
                std::borrow::Cow::Owned(id.to_string()),
            ))),
            None => Registry::default(),
        };
        let mut metrics = Metrics {
            registry,
            events_received: Counter::default(),
            attempts: Family::default(),
            durations: Histogram::new(BUCKETS),
            queue_due: Gauge::default(),
            queue_waiting_retries: Gauge::default(),
            queue_oldest_age: FloatGauge::default(),
            in_flight: Gauge::default(),
            live_streams: Gauge::default(),
            password_hashes: Counter::default(),
            password_refusals: Counter::default(),
            unleash_polls: Counter::default(),
            unleash_poll_errors: Counter::default(),
            unleash_caught_up: Counter::default(),
            unleash_last_success: FloatGauge::default(),
            page_renders: PageRenderCounters::default(),
        };
        let r = &mut metrics.registry;
        r.register(
            "hookline_events_received",
            "Events accepted by the intake (duplicates not counted)",
            metrics.events_received.clone(),
        );
        r.register(
            "hookline_delivery_attempts",
            "Delivery attempts by webhook and resulting delivery state",
            metrics.attempts.clone(),
        );
        r.register(
            "hookline_attempt_duration_seconds",
            "Time from sending a request to having its response",
            metrics.durations.clone(),
        );
        r.register(
            "hookline_queue_due",
            "Deliveries due now (first attempts and retries whose time has come)",
            metrics.queue_due.clone(),
        );
        r.register(
            "hookline_queue_waiting_retries",
            "Deliveries waiting for a scheduled retry",
            metrics.queue_waiting_retries.clone(),
        );
        r.register(
            "hookline_queue_oldest_pending_age_seconds",
            "Age of the oldest delivery not yet final",
            metrics.queue_oldest_age.clone(),
        );
        r.register("hookline_attempts_in_flight", "Attempts being made right now", metrics.in_flight.clone());
        // Against HOOKLINE_LIVE_STREAMS: at the limit, more tabs get 503 and fall back to polling.
        r.register(
            "hookline_live_streams",
            "Live update streams (GET /api/admin/stream) open on this instance",
            metrics.live_streams.clone(),
        );
        // A rising refusal count means sign-ins arrive faster than the cores can check them
        // (often someone guessing passwords).
        r.register(
            "hookline_password_hashes",
            "Argon2 password hashes and verifications run",
            metrics.password_hashes.clone(),
        );
        r.register(
            "hookline_password_hash_refusals",
            "Sign-ins and password changes refused with 429 because every hashing slot stayed busy",
            metrics.password_refusals.clone(),
        );
        // The Unleash catch-up poller (HOOKLINE_UNLEASH_URL + HOOKLINE_UNLEASH_TOKEN), counted by
        // the instance that polled. An alert on a stale last-success timestamp catches a poller
        // that keeps failing.
        r.register(
            "hookline_unleash_polls",
            "Polls of Unleash's event API that succeeded",
            metrics.unleash_polls.clone(),
        );
        r.register(
            "hookline_unleash_poll_errors",
            "Polls of Unleash's event API that failed (unreachable, timed out, refused, or an unreadable answer)",
            metrics.unleash_poll_errors.clone(),
        );
        r.register(
            "hookline_unleash_caught_up",
            "Events the catch-up poller took in that had not arrived by webhook",
            metrics.unleash_caught_up.clone(),
        );
        r.register(
            "hookline_unleash_last_success_timestamp_seconds",
            "When the catch-up poller last polled Unleash successfully (Unix time; 0: not yet)",
            metrics.unleash_last_success.clone(),
        );
        r.register(
            "hookline_page_renders_hedged",
            "Page renders with no answer after 0.5 s, given a second render beside them (a stalled render of the UI library)",
            metrics.page_renders.hedged.clone(),
        );
        r.register(
            "hookline_page_renders_abandoned",
            "Pages that answered 503 because no render answered within 30 s",
            metrics.page_renders.abandoned.clone(),
        );
        metrics
    }

    /// The counters the page renders' hedge increments.
    pub fn page_render_counters(&self) -> PageRenderCounters {
        self.page_renders.clone()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("events_received", &self.events_received.get()).finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn events_received(&self, count: u64) {
        self.events_received.inc_by(count);
    }

    /// A successful catch-up poll at `at_ms` that stored `caught_up` new events.
    pub fn unleash_polled(&self, caught_up: u64, at_ms: i64) {
        self.unleash_polls.inc();
        self.unleash_caught_up.inc_by(caught_up);
        self.unleash_last_success.set(at_ms as f64 / 1000.0);
    }

    /// A failed catch-up poll.
    pub fn unleash_poll_failed(&self) {
        self.unleash_poll_errors.inc();
    }

    /// Counts a finished attempt by webhook and result, and its duration.
    pub fn record_attempt(&self, record: &AttemptRecord) {
        self.attempts.get_or_create(&AttemptLabels { webhook: record.webhook_id, result: record.state.as_str() }).inc();
        self.durations.observe(record.duration_ms.max(0) as f64 / 1000.0);
    }

    /// Drops the series of a deleted webhook, so scrapes do not carry it forever.
    pub fn forget_webhook(&self, webhook_id: i64) {
        for state in DeliveryState::ALL {
            self.attempts.remove(&AttemptLabels { webhook: webhook_id, result: state.as_str() });
        }
    }

    /// The OpenMetrics text exposition, with the queue gauges and password counters as of now.
    pub fn render(&self, queue: QueueGauges, passwords: &PasswordCounters) -> String {
        // The hashing pool keeps its own running totals; the counters catch up to them.
        let catch_up = |counter: &Counter, total: u64| counter.inc_by(total.saturating_sub(counter.get()));
        catch_up(&self.password_hashes, passwords.operations());
        catch_up(&self.password_refusals, passwords.refused());
        self.queue_due.set(queue.due);
        self.queue_waiting_retries.set(queue.waiting_retries);
        self.queue_oldest_age.set(queue.oldest_pending_age_seconds);
        self.in_flight.set(i64::try_from(queue.in_flight).unwrap_or(i64::MAX));
        self.live_streams.set(i64::try_from(queue.live_streams).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(2048);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;
    use hookline_core::delivery::{AttemptTrigger, UnleashState};

    fn attempt(webhook_id: i64, state: DeliveryState) -> AttemptRecord {
        AttemptRecord {
            delivery_id: 1,
            webhook_id,
            number: 1,
            trigger: AttemptTrigger::Scheduled,
            url: String::new(),
            request_headers: String::new(),
            request_body: String::new(),
            status: 200,
            response_headers: None,
            response_body: None,
            response_body_encoding: "utf-8",
            duration_ms: 12,
            error_class: None,
            error_message: None,
            started_at: 0,
            state,
            unleash_state: UnleashState::Success,
            state_details: String::new(),
            next_attempt_at: None,
            succeeded: true,
        }
    }

    #[test]
    fn a_deleted_webhook_leaves_the_exposition() {
        let metrics = Metrics::default();
        metrics.record_attempt(&attempt(7, DeliveryState::Succeeded));
        metrics.record_attempt(&attempt(8, DeliveryState::Failed));
        let text = metrics.render(QueueGauges::default(), &PasswordCounters::default());
        assert!(text.contains(r#"hookline_delivery_attempts_total{webhook="7",result="succeeded"} 1"#), "{text}");
        assert!(text.contains("hookline_attempt_duration_seconds_count 2"), "{text}");
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with EOF");
        metrics.forget_webhook(7);
        let text = metrics.render(QueueGauges::default(), &PasswordCounters::default());
        assert!(!text.contains(r#"webhook="7""#), "{text}");
        assert!(text.contains(r#"webhook="8""#), "{text}");
    }
}
