//! The HTTP client side: creating webhooks, publishing events to `POST /api/events` (as fast as
//! possible, or at a fixed rate), and the ceiling loop that drives the receiver directly.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{json, Value};

/// The intake, as the bench sees it.
#[derive(Clone)]
pub struct Intake {
    pub client: reqwest::Client,
    /// Every instance's address: requests go to each in turn (one instance: all to it).
    pub bases: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    pub authorization: HeaderValue,
}

/// What publishing produced.
#[derive(Debug)]
pub struct Published {
    /// Each stored event id with the moment its request was sent.
    pub sent: Vec<(i64, Instant)>,
    /// When the first request was sent.
    pub started: Instant,
    /// When the last answer arrived.
    pub finished: Instant,
    /// Intake requests made.
    pub requests: usize,
}

#[derive(Deserialize)]
struct IntakeOut {
    ids: Vec<i64>,
}

#[derive(Deserialize)]
struct WebhookOut {
    id: i64,
}

/// A plain HTTP/1 client for loopback use (no proxies from the environment).
pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .context("cannot build the HTTP client")
}

impl Intake {
    pub fn new(client: reqwest::Client, bases: Vec<String>, token: &str) -> anyhow::Result<Intake> {
        let authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).context("the API token is not a valid header value")?;
        Ok(Intake { client, bases: Arc::new(bases), next: Arc::default(), authorization })
    }

    /// The instance the next request goes to.
    fn base(&self) -> &str {
        &self.bases[self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len()]
    }

    /// `POST /api/admin/webhooks` for webhook `index`; returns Hookline's id.
    /// `rate_limit`: the webhook's limit in deliveries per second (None: unlimited).
    pub async fn create_webhook(&self, index: usize, target: &str, rate_limit: Option<f64>) -> anyhow::Result<i64> {
        let body = json!({
            "url": target,
            "events": ["feature-created"],
            "description": format!("bench {index}"),
            "rateLimit": rate_limit,
        });
        let response = self
            .client
            .post(format!("{}/api/admin/webhooks", self.bases[0]))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .context("POST /api/admin/webhooks failed")?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the webhook answer")?;
        if status != reqwest::StatusCode::CREATED {
            bail!("creating webhook {index} answered {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let created: WebhookOut = serde_json::from_slice(&bytes).context("the webhook answer has no id")?;
        Ok(created.id)
    }

    /// Posts events `numbers` (one event, or `{"events": [...]}` for several); returns their ids.
    async fn post(&self, numbers: std::ops::Range<usize>) -> anyhow::Result<Vec<i64>> {
        let count = numbers.len();
        let body = if count == 1 {
            event(numbers.start)
        } else {
            json!({ "events": numbers.clone().map(event).collect::<Vec<_>>() })
        };
        let response = self
            .client
            .post(format!("{}/api/events", self.base()))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .with_context(|| format!("POST /api/events (events {numbers:?}) failed"))?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the intake answer")?;
        if status != reqwest::StatusCode::ACCEPTED {
            bail!("POST /api/events (events {numbers:?}) answered {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let out: IntakeOut = serde_json::from_slice(&bytes).context("the intake answer has no ids")?;
        if out.ids.len() != count {
            bail!("POST /api/events stored {} ids for {count} events", out.ids.len());
        }
        Ok(out.ids)
    }

    /// Publishes `events` events from `publishers` concurrent clients, `batch` per request.
    pub async fn flood(&self, events: usize, publishers: usize, batch: usize) -> anyhow::Result<Published> {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..publishers.max(1) {
            let intake = self.clone();
            let next = Arc::clone(&next);
            workers.spawn(async move {
                let mut sent = Vec::new();
                let mut requests = 0;
                loop {
                    let first = next.fetch_add(batch, Ordering::Relaxed);
                    if first >= events {
                        return anyhow::Ok((sent, requests));
                    }
                    let numbers = first..(first + batch).min(events);
                    let at = Instant::now();
                    let ids = intake.post(numbers).await?;
                    requests += 1;
                    sent.extend(ids.into_iter().map(|id| (id, at)));
                }
            });
        }
        let mut published = Published { sent: Vec::with_capacity(events), started, finished: started, requests: 0 };
        while let Some(joined) = workers.join_next().await {
            let (sent, requests) = joined.context("a publisher panicked")??;
            published.sent.extend(sent);
            published.requests += requests;
        }
        published.finished = Instant::now();
        Ok(published)
    }

    /// Publishes `events` events at `rate` per second, each its own request. Event `n` is released
    /// `n / rate` seconds after the start (a token bucket: a late timer releases the missed ones at
    /// once); requests are not held back by slow answers (open loop).
    pub async fn paced(&self, events: usize, rate: f64) -> anyhow::Result<Published> {
        let started = Instant::now();
        let start = tokio::time::Instant::from_std(started);
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..events {
            tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rate)).await;
            let intake = self.clone();
            requests.spawn(async move {
                let at = Instant::now();
                let ids = intake.post(n..n + 1).await?;
                anyhow::Ok(ids.into_iter().map(move |id| (id, at)))
            });
        }
        let mut published =
            Published { sent: Vec::with_capacity(events), started, finished: started, requests: events };
        while let Some(joined) = requests.join_next().await {
            published.sent.extend(joined.context("a publisher panicked")??);
        }
        published.finished = Instant::now();
        Ok(published)
    }
}

/// The event number `n` the bench publishes.
fn event(n: usize) -> Value {
    json!({
        "type": "feature-created",
        "featureName": format!("flag-{n}"),
        "project": "default",
        "createdBy": "bench@example.com",
    })
}

/// The ceiling's outcome.
#[derive(Debug)]
pub struct Ceiling {
    pub requests: usize,
    pub elapsed: Duration,
}

/// Sends `requests` POSTs of `body` to `url` from `concurrency` bare clients, each waiting for its
/// answer before the next: what the receiver takes when nothing but HTTP sits in between.
pub async fn ceiling(
    client: &reqwest::Client,
    url: &str,
    body: axum::body::Bytes,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<Ceiling> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, body, next) = (client.clone(), url.to_owned(), body.clone(), Arc::clone(&next));
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let response = client
                    .post(&url)
                    .header(CONTENT_TYPE, "application/json")
                    .header("webhook-id", "msg_ceiling")
                    .body(body.clone())
                    .send()
                    .await
                    .context("ceiling request failed")?;
                let status = response.status();
                response.bytes().await.context("reading the ceiling answer")?;
                if status != reqwest::StatusCode::OK {
                    bail!("the receiver answered the ceiling loop with {status}");
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.context("a ceiling client panicked")??;
    }
    Ok(Ceiling { requests, elapsed: started.elapsed() })
}
