//! A second chance for a page render that makes no progress.
//!
//! Pages render on the server with `SsrMode::Async`: the response is sent once every resource of
//! the page has loaded. Leptos 0.8.23's renderer very rarely never finishes such a render. A
//! reproduction loop (`HOOKLINE_TEST_LOG`; the account and webhook integration tests on four
//! threads of a loaded machine) left 7 of about 4,300 page renders unanswered for good, each
//! trace ending after the session was read and before any response, while the other requests of
//! the same server were served at once. Nothing in the request is stuck (the same GET rendered
//! again answers in milliseconds), so it is a lost wake-up inside the renderer's wait for its
//! resources; it was seen only with several servers rendering on several threads of one process.
//!
//! So a GET page whose render has not answered within [`Hedge::again_after`] is rendered a second
//! time beside the first, and whichever finishes first answers (a hedged request: pages read and
//! never write, so two renders are harmless). A render that is merely slow (a busy database)
//! keeps its progress; one that lost its wake-up is overtaken. Past [`Hedge::give_up_after`] the
//! page answers 503 instead of holding the connection open for ever.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::metrics::PageRenderCounters;

/// When a page render gets a second attempt beside it, and when it gives up.
#[derive(Debug, Clone)]
pub struct Hedge {
    /// A hundred times a normal render (a few milliseconds; a slow one still gets to finish, see
    /// `hedge`), and short enough that a user barely notices the stall.
    pub again_after: Duration,
    /// The most a page may take, both renders together.
    pub give_up_after: Duration,
    /// `/metrics`' account of both (`hookline_page_renders_hedged`, `_abandoned`).
    pub counters: PageRenderCounters,
}

impl Hedge {
    /// The server's hedge, counted in `counters`.
    pub fn counted(counters: PageRenderCounters) -> Self {
        Hedge { again_after: Duration::from_millis(500), give_up_after: Duration::from_secs(30), counters }
    }
}

/// The middleware: GET and HEAD renders are hedged; anything else passes through.
pub async fn hedge(State(hedge): State<Hedge>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    // A GET's body is empty: the head is all a second render needs.
    let (parts, body) = request.into_parts();
    let again = Request::from_parts(parts.clone(), axum::body::Body::empty());
    let first = next.clone().run(Request::from_parts(parts, body));
    tokio::pin!(first);
    let bounded = async {
        tokio::select! {
            response = &mut first => return response,
            () = tokio::time::sleep(hedge.again_after) => {}
        }
        tracing::warn!(%path, after = ?hedge.again_after, "page render not finished; rendering it again beside it");
        hedge.counters.hedged.inc();
        let second = next.run(again);
        tokio::pin!(second);
        tokio::select! {
            response = &mut first => response,
            response = &mut second => {
                tracing::warn!(%path, "the second render of the page answered first");
                response
            }
        }
    };
    match tokio::time::timeout(hedge.give_up_after, bounded).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(%path, limit = ?hedge.give_up_after, "page render gave no answer; answering 503");
            hedge.counters.abandoned.inc();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, "1")],
                "The page took too long to render; reload it.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    const AGAIN_AFTER: Duration = Duration::from_millis(100);
    const GIVE_UP_AFTER: Duration = Duration::from_millis(600);

    /// A page whose `n`-th render (from 0, GET or POST) behaves as `render(n)` says: `None`
    /// never answers.
    fn page(render: fn(usize) -> Option<Duration>) -> (Router, Arc<AtomicUsize>, PageRenderCounters) {
        let renders = Arc::new(AtomicUsize::new(0));
        let counter = renders.clone();
        let handler = move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match render(n) {
                    Some(wait) => {
                        tokio::time::sleep(wait).await;
                        format!("render {n}")
                    }
                    None => std::future::pending().await,
                }
            }
        };
        let counters = PageRenderCounters::default();
        let fast = Hedge { again_after: AGAIN_AFTER, give_up_after: GIVE_UP_AFTER, counters: counters.clone() };
        let router = Router::new()
            .route("/page", get(handler.clone()).post(handler))
            .route_layer(axum::middleware::from_fn_with_state(fast, hedge));
        (router, renders, counters)
    }

    /// The answer, within a limit well past `GIVE_UP_AFTER` (a test must fail, not hang).
    async fn call(router: Router, method: Method) -> (StatusCode, String) {
        let request = Request::builder().method(method).uri("/page").body(Body::empty()).expect("request");
        let response = tokio::time::timeout(Duration::from_secs(5), router.oneshot(request))
            .await
            .expect("answered")
            .expect("infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_normal_render_runs_once() {
        let (router, renders, counters) = page(|_| Some(Duration::ZERO));
        assert_eq!(call(router, Method::GET).await, (StatusCode::OK, "render 0".into()));
        tokio::time::sleep(AGAIN_AFTER * 2).await;
        assert_eq!(renders.load(Ordering::SeqCst), 1, "no second render for a page that answered");
        assert_eq!((counters.hedged.get(), counters.abandoned.get()), (0, 0));
    }

    #[tokio::test]
    async fn a_render_that_never_answers_is_overtaken_by_a_second() {
        let (router, renders, counters) = page(|n| if n == 0 { None } else { Some(Duration::ZERO) });
        let started = tokio::time::Instant::now();
        assert_eq!(call(router, Method::GET).await, (StatusCode::OK, "render 1".into()));
        assert!(started.elapsed() >= AGAIN_AFTER);
        assert!(started.elapsed() < GIVE_UP_AFTER);
        assert_eq!(renders.load(Ordering::SeqCst), 2);
        assert_eq!((counters.hedged.get(), counters.abandoned.get()), (1, 0), "counted for /metrics");
    }

    #[tokio::test]
    async fn a_slow_render_keeps_its_progress() {
        // The first render needs a little longer than the hedge; the second would need far longer.
        let (router, renders, _) =
            page(|n| Some(if n == 0 { Duration::from_millis(150) } else { Duration::from_secs(5) }));
        assert_eq!(call(router, Method::GET).await, (StatusCode::OK, "render 0".into()));
        assert_eq!(renders.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn renders_that_never_answer_end_in_503() {
        let (router, renders, counters) = page(|_| None);
        let started = tokio::time::Instant::now();
        let (status, body) = call(router, Method::GET).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("reload"), "{body}");
        assert!(started.elapsed() >= GIVE_UP_AFTER);
        assert_eq!(renders.load(Ordering::SeqCst), 2, "one second render, not one per interval");
        assert_eq!((counters.hedged.get(), counters.abandoned.get()), (1, 1), "counted for /metrics");
    }

    #[tokio::test]
    async fn a_post_is_never_sent_twice() {
        // Slower than the hedge: a GET would be rendered again by now. A POST may change
        // something, so it runs once, however long it takes.
        let (router, renders, counters) = page(|_| Some(AGAIN_AFTER * 3));
        assert_eq!(call(router, Method::POST).await, (StatusCode::OK, "render 0".into()));
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert_eq!(counters.hedged.get(), 0);
    }
}
