//! The local webhook receiver: an axum server on `127.0.0.1:0` inside the bench process.
//!
//! `POST /hook/{i}` is webhook `i`'s target. For every request it records the arrival time, the
//! `webhook-id` header and the event id from the JSON body (Hookline's default body is the event in
//! Unleash's format, `{"id": 7, "type": ..., ...}`), then answers 200 — or 500 for the configured
//! fraction of requests, so Hookline retries. `POST /ceiling` answers 200 without recording: the
//! bare-client loop of [`crate::publish::ceiling`] drives it to measure what the receiver can take.
//! `POST /failing/{i}` is the target of the isolation runs' failing webhooks: it answers 500, or
//! holds the request until Hookline's request timeout gives up on it, and only counts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

/// How the receiver behaves.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Wait this long before answering.
    pub latency: Duration,
    /// Fraction of delivery attempts answered with 500.
    pub error_rate: f64,
    /// Attempts Hookline makes per delivery (the length of the retry schedule): a pair whose every
    /// attempt was answered 500 is "exhausted", not lost.
    pub max_attempts: u32,
    /// How `/failing/{i}` fails.
    pub failing: Failing,
}

/// How the failing webhooks' receiver fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failing {
    /// Answers 500 at once.
    Status500,
    /// Never answers in time (Hookline's request timeout ends each attempt).
    Timeout,
}

/// What arrived for one (event, webhook) pair.
#[derive(Debug)]
pub struct Pair {
    /// When the first attempt answered 200 arrived.
    pub first_ok: Option<Instant>,
    /// Attempts answered 500 (by design).
    pub rejected: u32,
    /// The `webhook-id` of the first attempt.
    pub webhook_id: String,
}

/// Everything the receiver recorded.
#[derive(Debug, Default)]
pub struct Tally {
    /// Keyed by (event id, webhook index).
    pub pairs: HashMap<(i64, usize), Pair>,
    /// Pairs that are done: delivered, or every attempt rejected.
    pub settled: usize,
    /// Delivery requests received (all answers).
    pub requests: u64,
    /// Requests answered 500 on purpose.
    pub rejected: u64,
    /// Requests answered 200.
    pub accepted: u64,
    /// Accepted requests beyond the first per `webhook-id`.
    pub duplicates: u64,
    /// Requests whose pair had arrived before under another `webhook-id`.
    pub split_ids: u64,
    /// Requests without a `webhook-id` header or a numeric `id` in the body.
    pub malformed: u64,
    /// The first delivered body, replayed by the ceiling loop.
    pub sample_body: Option<Bytes>,
    /// When each request to webhook `i` arrived (all answers), for the rate-limit precision.
    pub arrivals: HashMap<usize, Vec<Instant>>,
    accepted_per_id: HashMap<String, u32>,
}

/// The receiver's shared state.
#[derive(Debug)]
pub struct Shared {
    behaviour: Behaviour,
    tally: Mutex<Tally>,
    ceiling_requests: AtomicU64,
    failing_requests: AtomicU64,
}

impl Shared {
    /// The tally so far (a poisoned lock still holds valid counts).
    pub fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests `POST /ceiling` answered.
    pub fn ceiling_requests(&self) -> u64 {
        self.ceiling_requests.load(Ordering::Relaxed)
    }

    /// Requests the failing webhooks' receiver got.
    pub fn failing_requests(&self) -> u64 {
        self.failing_requests.load(Ordering::Relaxed)
    }
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
}

/// Binds `127.0.0.1:0` and serves on the current (multi-threaded) runtime.
pub async fn start(behaviour: Behaviour) -> anyhow::Result<Receiver> {
    let shared = Arc::new(Shared {
        behaviour,
        tally: Mutex::default(),
        ceiling_requests: AtomicU64::new(0),
        failing_requests: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/hook/{index}", post(hook))
        .route("/failing/{index}", post(failing))
        .route("/ceiling", post(ceiling))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind the receiver")?;
    let addr = listener.local_addr().context("the receiver has no local address")?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("receiver stopped: {error}");
        }
    });
    Ok(Receiver { addr, shared })
}

#[derive(Deserialize)]
struct EventId {
    id: i64,
}

async fn hook(
    State(shared): State<Arc<Shared>>,
    Path(index): Path<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let behaviour = shared.behaviour;
    let fail = behaviour.error_rate > 0.0 && rand::random::<f64>() < behaviour.error_rate;
    let webhook_id = headers.get("webhook-id").and_then(|v| v.to_str().ok());
    let event_id = serde_json::from_slice::<EventId>(&body).ok().map(|e| e.id);
    {
        let mut tally = shared.tally();
        tally.requests += 1;
        tally.arrivals.entry(index).or_default().push(at);
        match (webhook_id, event_id) {
            (Some(webhook_id), Some(event_id)) => {
                record(&mut tally, &behaviour, (event_id, index), webhook_id, at, fail)
            }
            _ => tally.malformed += 1,
        }
        if !fail && tally.sample_body.is_none() {
            tally.sample_body = Some(body);
        }
    }
    if !behaviour.latency.is_zero() {
        tokio::time::sleep(behaviour.latency).await;
    }
    if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

fn record(tally: &mut Tally, behaviour: &Behaviour, key: (i64, usize), webhook_id: &str, at: Instant, fail: bool) {
    let pair = tally.pairs.entry(key).or_insert_with(|| Pair {
        first_ok: None,
        rejected: 0,
        webhook_id: webhook_id.to_owned(),
    });
    let split = pair.webhook_id != webhook_id;
    let mut newly_settled = false;
    if fail {
        pair.rejected += 1;
        newly_settled = pair.first_ok.is_none() && pair.rejected == behaviour.max_attempts;
    } else if pair.first_ok.is_none() {
        newly_settled = pair.rejected < behaviour.max_attempts;
        pair.first_ok = Some(at);
    }
    if split {
        tally.split_ids += 1;
    }
    if newly_settled {
        tally.settled += 1;
    }
    if fail {
        tally.rejected += 1;
    } else {
        tally.accepted += 1;
        let seen = tally.accepted_per_id.entry(webhook_id.to_owned()).or_insert(0);
        *seen += 1;
        if *seen > 1 {
            tally.duplicates += 1;
        }
    }
}

/// A failing webhook's receiver: 500, or an answer that comes too late.
async fn failing(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.failing_requests.fetch_add(1, Ordering::Relaxed);
    if shared.behaviour.failing == Failing::Timeout {
        // Longer than any request timeout: Hookline gives up first.
        tokio::time::sleep(Duration::from_secs(300)).await;
    }
    StatusCode::INTERNAL_SERVER_ERROR
}

/// The same work as [`hook`] (header, JSON body) minus the bookkeeping.
async fn ceiling(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let readable = headers.contains_key("webhook-id") && serde_json::from_slice::<EventId>(&body).is_ok();
    if !readable {
        return StatusCode::BAD_REQUEST;
    }
    shared.ceiling_requests.fetch_add(1, Ordering::Relaxed);
    if !shared.behaviour.latency.is_zero() {
        tokio::time::sleep(shared.behaviour.latency).await;
    }
    StatusCode::OK
}
