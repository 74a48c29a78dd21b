//! A fake Unleash for the catch-up tests: a real HTTP server on 127.0.0.1 holding an event table
//! and serving it the way Unleash 7.5.1 does (read from its `unleash-server` package:
//! `features/events/event-search-controller.js`, `event-store.js`, `routes/admin-api/event.js`):
//!
//! - `GET /api/admin/search/events?offset&limit`: newest first (`created_at desc, id desc`),
//!   `{"events": [...], "total": n}`, each event with the search's additions `label` and
//!   `summary` after the stored keys;
//! - `GET /api/admin/events` (deprecated): the newest 100, `{"version": 1, "events": [...],
//!   "totalEvents": n}`.
//!
//! Requests without the expected `Authorization` value get 401, as Unleash answers. A mode makes
//! it fail the ways a real one can (401, 500, an answer that is not JSON, a slow answer, no search
//! endpoint). Every request is recorded; waiting for requests is woken by each arrival.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The token the fake accepts.
pub const TOKEN: &str = "*:*.unleash-admin-token-for-tests";

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    /// 401 whatever the token.
    Unauthorized,
    /// 500 Internal Server Error.
    ServerError,
    /// 200 with a body that is not JSON.
    Garbage,
    /// Answers correctly, after this long.
    Slow(Duration),
}

/// A request the fake got: path and query.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub query: String,
}

impl Request {
    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes()).find(|(key, _)| key == name).map(|(_, v)| v.into_owned())
    }
}

struct Inner {
    /// Stored events (without the search's additions), in insertion order.
    events: Vec<Value>,
    mode: Mode,
    /// Whether `/api/admin/search/events` exists (Unleash before 5.9 has only `/api/admin/events`).
    search: bool,
    requests: Vec<Request>,
    arrivals: watch::Sender<usize>,
}

#[derive(Clone)]
pub struct FakeUnleash {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeUnleash {
    pub async fn start() -> FakeUnleash {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake Unleash");
        let fake = FakeUnleash {
            base: format!("http://{}", listener.local_addr().expect("addr")),
            inner: Arc::new(Mutex::new(Inner {
                events: Vec::new(),
                mode: Mode::Ok,
                search: true,
                requests: Vec::new(),
                arrivals: watch::Sender::new(0),
            })),
        };
        let app = Router::new().fallback(answer).with_state(fake.inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().expect("lock").mode = mode;
    }

    /// Makes `/api/admin/search/events` answer 404, as an Unleash older than 5.9 does.
    pub fn without_search(&self) {
        self.inner.lock().expect("lock").search = false;
    }

    /// Stores a feature-created event with this id, created `id` seconds after a fixed instant.
    pub fn add(&self, id: i64) {
        self.inner.lock().expect("lock").events.push(Self::event(id));
    }

    /// The event `id` as Unleash stores it, which is also exactly what its webhook addon posts.
    pub fn event(id: i64) -> Value {
        let created_at = format!("2025-06-02T09:{:02}:{:02}.418Z", (id / 60) % 60, id % 60);
        json!({
            "id": id,
            "type": "feature-created",
            "createdBy": "admin",
            "createdAt": created_at,
            "createdByUserId": 1,
            "data": {"name": format!("flag-{id}"), "description": null, "type": "release", "project": "default",
                     "stale": false, "createdAt": created_at, "lastSeenAt": null, "impressionData": false,
                     "archivedAt": null, "archived": false},
            "preData": null,
            "tags": [],
            "featureName": format!("flag-{id}"),
            "project": "default",
            "environment": null,
        })
    }

    /// The body Unleash's webhook addon posts for event `id`.
    pub fn webhook_body(id: i64) -> String {
        Self::event(id).to_string()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// Waits until `count` requests arrived in all; answers them.
    pub async fn wait_requests(&self, count: usize, within: Duration) -> Vec<Request> {
        let mut arrivals = self.inner.lock().expect("lock").arrivals.subscribe();
        let waited = tokio::time::timeout(within, async {
            loop {
                arrivals.borrow_and_update();
                let requests = self.requests();
                if requests.len() >= count {
                    return requests;
                }
                arrivals.changed().await.expect("the fake lives as long as the test");
            }
        })
        .await;
        waited.unwrap_or_else(|_| {
            panic!("expected {count} requests to the fake Unleash within {within:?}, got {:#?}", self.requests())
        })
    }

    /// Waits until the poller has finished a poll that started after now: two more requests
    /// (each poll of a short history is one request, and polls run one after another).
    pub async fn wait_full_poll(&self, within: Duration) {
        let seen = self.requests().len();
        self.wait_requests(seen + 2, within).await;
    }
}

/// Orders like Unleash's search: `created_at desc, id desc`.
fn newest_first(events: &[Value]) -> Vec<Value> {
    let mut events = events.to_vec();
    events.sort_by(|a, b| {
        let key = |e: &Value| (e["createdAt"].as_str().unwrap_or_default().to_owned(), e["id"].as_i64().unwrap_or(0));
        key(b).cmp(&key(a))
    });
    events
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let request = Request { path: uri.path().to_owned(), query: query.unwrap_or_default() };
    let (mode, search, events) = {
        let mut inner = inner.lock().expect("lock");
        inner.requests.push(request.clone());
        let count = inner.requests.len();
        inner.arrivals.send_replace(count);
        (inner.mode, inner.search, newest_first(&inner.events))
    };
    match mode {
        Mode::Ok => {}
        Mode::Unauthorized => return unauthorized(),
        Mode::ServerError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"name": "UnknownError", "message": "boom"})))
                .into_response()
        }
        Mode::Garbage => return (StatusCode::OK, "<html>upstream proxy error</html>").into_response(),
        Mode::Slow(delay) => tokio::time::sleep(delay).await,
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(TOKEN) {
        return unauthorized();
    }
    let total = events.len();
    match request.path.as_str() {
        "/api/admin/search/events" if search => {
            let offset = request.param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
            let limit = request.param("limit").and_then(|v| v.parse().ok()).unwrap_or(50usize).min(1000);
            let page: Vec<Value> = events
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|mut event| {
                    let label = "Flag created";
                    let summary = format!(
                        "**admin** created **{}** in project **default**",
                        event["featureName"].as_str().unwrap_or_default()
                    );
                    event["label"] = json!(label);
                    event["summary"] = json!(summary);
                    event
                })
                .collect();
            axum::Json(json!({"events": page, "total": total})).into_response()
        }
        "/api/admin/events" => {
            let page: Vec<Value> = events.into_iter().take(100).collect();
            axum::Json(json!({"version": 1, "events": page, "totalEvents": total})).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"name": "NotFoundError", "message": "Could not find the resource"})),
        )
            .into_response(),
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"id": "0", "name": "AuthenticationRequired", "message": "You must log in to use Unleash."})),
    )
        .into_response()
}
