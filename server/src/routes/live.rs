//! `GET /api/admin/stream`: the live feed (see `crate::live`) as Server-Sent Events, which the
//! delivery log, the events list and the dashboard refetch on instead of polling.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Extension;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::model::LiveNotice;
use app::AppError;

use super::openapi::{BadRequest, Forbidden, Unauthorized, Unavailable};
use crate::auth::middleware::Caller;
use crate::state::AppState;

/// A stream ends after this long; the browser reconnects on its own (after `RECONNECT`), which
/// checks the session or token again: a signed-out admin or a revoked token stops getting
/// notices within this time.
const STREAM_LIFETIME: Duration = Duration::from_secs(300);

/// How long the browser waits before reconnecting a stream that ended.
const RECONNECT: Duration = Duration::from_secs(1);

/// How often a quiet stream sends a comment, so proxies and load balancers keep it open. A
/// stream whose client went away is noticed at its next write, so its place in the limits is
/// given back within this time at the latest.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One Server-Sent Event of the stream as it travels: what OpenAPI tools (Schemathesis among them)
/// check each event against. `data` is a [`LiveNotice`] in JSON text, which the schema cannot
/// describe inside a string, so it names the type in words.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct LiveEvent {
    /// `delivery`, `event`, `webhook` or `resync`.
    event: Option<String>,
    /// One `LiveNotice`, as JSON.
    data: Option<String>,
    /// Milliseconds the client waits before reconnecting (sent once, first).
    retry: Option<i64>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_changes))
}

/// Stream change notices
///
/// Server-Sent Events (`text/event-stream`), one per change, named after what changed:
/// `delivery` (`{"kind", "webhookId", "deliveryId", "state"}`: queued, attempted, retrying,
/// final), `event` (`{"kind", "eventId"}`: taken in, its deliveries queued), `webhook`
/// (`{"kind", "webhookId", "state"}`: `paused`, `resumed`, `disabled`, `enabled`, `created`,
/// `changed`, `recovered`, `deleted`), and `resync` when notices were lost (refetch everything).
/// A notice holds ids only: read what changed through the other operations. A comment is sent
/// every 15 s while nothing changes, and the stream ends after 5 minutes (an `EventSource`
/// reconnects by itself, and the session or token is checked again). Token scope: `read`.
#[utoipa::path(
    get, path = "/api/admin/stream", tag = "deliveries", operation_id = "streamChanges",
    security(("bearerToken" = ["read"]), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "The stream: each event's `data` is one `LiveNotice` as JSON.", content_type = "text/event-stream", body = LiveEvent),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    )
)]
async fn stream_changes(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Result<impl IntoResponse, AppError> {
    let caller = match caller.map(|Extension(caller)| caller) {
        Some(Caller::Admin(admin)) => format!("admin:{}", admin.id),
        Some(Caller::Token(token)) => format!("token:{}", token.id),
        Some(Caller::Anonymous) | None => return Err(AppError::Unauthorized),
    };
    let stream = state.live().open_stream(caller)?;
    let deadline = tokio::time::Instant::now() + STREAM_LIFETIME;
    let hello = Event::default().retry(RECONNECT).comment("live");
    let notices = futures::stream::unfold(stream, move |mut stream| async move {
        let notice = tokio::select! {
            notice = stream.next() => notice?,
            () = tokio::time::sleep_until(deadline) => return None,
        };
        Some((Ok::<_, Infallible>(sse_event(&notice)), stream))
    });
    let events = futures::StreamExt::chain(futures::stream::once(async { Ok(hello) }), notices);
    Ok((
        // Proxies that buffer responses (nginx) must pass each event on at once.
        [(header::HeaderName::from_static("x-accel-buffering"), "no")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    ))
}

/// A notice as an event named after its kind, its JSON as the data.
fn sse_event(notice: &LiveNotice) -> Event {
    Event::default().event(notice.kind.as_str()).data(serde_json::to_string(notice).unwrap_or_default())
}
