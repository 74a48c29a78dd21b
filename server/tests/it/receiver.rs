//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 (plain or TLS) that records
//! every request and answers from a script (status, headers, body, delay), then 200. Waiting for
//! requests is woken by each arrival (a watch channel), never by polling.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: String::new(), delay: Duration::ZERO }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Reply {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

struct Inner {
    /// How many requests arrived so far; every arrival wakes the waiters.
    arrivals: watch::Sender<usize>,
    /// Requests being answered right now, and the most at once.
    in_flight: usize,
    max_in_flight: usize,
    script: VecDeque<Reply>,
    /// Answer for every request once the script is used up (default 200).
    fallback: Option<Reply>,
    received: Vec<Received>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            arrivals: watch::Sender::new(0),
            in_flight: 0,
            max_in_flight: 0,
            script: VecDeque::new(),
            fallback: None,
            received: Vec::new(),
        }
    }
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub scheme: &'static str,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    /// A plain HTTP receiver.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let receiver = Receiver { addr: listener.local_addr().expect("addr"), scheme: "http", inner: Arc::default() };
        let app = receiver.app();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver
    }

    /// An HTTPS receiver presenting the certificate chain `certs_der` with the PKCS#8 key `key_der`.
    pub async fn start_tls(certs_der: Vec<Vec<u8>>, key_der: Vec<u8>) -> Receiver {
        use tokio_rustls::rustls;
        let certs = certs_der.into_iter().map(rustls::pki_types::CertificateDer::from).collect();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let receiver = Receiver { addr: listener.local_addr().expect("addr"), scheme: "https", inner: Arc::default() };
        let app = receiver.app();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { break };
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    // Handshake failures (an untrusted certificate) end the connection, as they should.
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        receiver
    }

    fn app(&self) -> Router {
        Router::new().fallback(record).with_state(self.inner.clone())
    }

    /// The URL of `path` on this receiver, using `host` (e.g. "127.0.0.1" or "localhost").
    pub fn url_on(&self, host: &str, path: &str) -> String {
        format!("{}://{}:{}{}", self.scheme, host, self.addr.port(), path)
    }

    pub fn url(&self, path: &str) -> String {
        self.url_on("127.0.0.1", path)
    }

    /// Queues answers for the next requests.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().expect("lock").script.extend(replies);
    }

    /// Answers every request not covered by the script with `reply`.
    pub fn always(&self, reply: Reply) {
        self.inner.lock().expect("lock").fallback = Some(reply);
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.inner.lock().expect("lock").max_in_flight
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").received.clone()
    }

    pub fn received_on(&self, path: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits until `count` requests arrived in all. `within` only keeps a broken test from
    /// hanging: each arrival wakes the wait.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        self.wait_until(within, &format!("{count} requests"), |received| received.len() >= count).await
    }

    /// Waits until `count` requests arrived on `path`; answers those.
    pub async fn wait_for_on(&self, path: &str, count: usize, within: Duration) -> Vec<Received> {
        self.wait_until(within, &format!("{count} requests on {path}"), |received| {
            received.iter().filter(|r| r.path == path).count() >= count
        })
        .await;
        self.received_on(path)
    }

    /// Waits until `done` holds for the requests received so far, re-checking at each arrival;
    /// fails the test after `within`.
    async fn wait_until(&self, within: Duration, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        self.until(within, done).await.unwrap_or_else(|received| {
            panic!("expected {what} within {within:?}, got {}: {received:#?}", received.len())
        })
    }

    /// Waits until `done` holds for the requests received so far, re-checking at each arrival:
    /// `Ok` with them, or `Err` with what did arrive once `within` passed.
    pub async fn until(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Result<Vec<Received>, Vec<Received>> {
        let mut arrivals = self.inner.lock().expect("lock").arrivals.subscribe();
        let waited = tokio::time::timeout(within, async {
            loop {
                // Marks the arrivals so far as seen before looking: one landing after this line
                // makes `changed` return at once.
                arrivals.borrow_and_update();
                let received = self.received();
                if done(&received) {
                    return received;
                }
                arrivals.changed().await.expect("the receiver lives as long as the test");
            }
        })
        .await;
        waited.map_err(|_| self.received())
    }
}

/// One request being answered; counted out when dropped.
struct InFlight(Arc<Mutex<Inner>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.0.lock() {
            inner.in_flight -= 1;
        }
    }
}

async fn record(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let reply = {
        let mut inner = inner.lock().expect("lock");
        inner.received.push(Received { path: uri.path().to_string(), headers, body, at: std::time::Instant::now() });
        let count = inner.received.len();
        inner.arrivals.send_replace(count);
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        inner.script.pop_front().or_else(|| inner.fallback.clone()).unwrap_or_else(|| Reply::status(200))
    };
    // Counted out however the request ends: a client that goes away mid-answer (a killed
    // sender) drops this future during the delay.
    let _answering = InFlight(inner.clone());
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).expect("status"), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().expect("header value"));
    }
    response
}
