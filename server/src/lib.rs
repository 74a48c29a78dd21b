//! The Hookline server: web UI (Leptos SSR), JSON admin API, event intake, the dispatcher and storage.
//!
//! `run` starts everything on a listener the caller binds, so integration tests start the whole
//! server in-process on `127.0.0.1:0`; `router` builds the HTTP app without a socket.
//!
//! No unsafe code, but for one block: the write queue borrowing sqlx's SQLite handle
//! (`db::writer::in_transaction`, which says why it is sound); Cargo.toml denies the rest.

pub mod assets;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dispatcher;
pub mod headers;
pub mod keys;
pub mod live;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod time;
pub mod unleash;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

use app::api::Backend;
use app::{shell, App};

pub use config::Config;
pub use state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "hookline_session";

/// Builds the shared state: opens (and migrates) the database with its encryption key, loads or
/// creates the cookie key,
/// and prepares the dispatcher (not started: see `AppState::spawn_background_tasks`).
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let policy = Arc::new(
        dispatcher::ssrf::TargetPolicy::parse(&config.allowed_targets)
            .map_err(|e| anyhow::anyhow!("HOOKLINE_ALLOWED_TARGETS: {e}"))?,
    );
    let trusted_proxies = auth::proxies::TrustedProxies::parse(&config.trusted_proxies)
        .map_err(|e| anyhow::anyhow!("HOOKLINE_TRUSTED_PROXIES: {e}"))?;
    let schedule = dispatcher::retry::Schedule::parse(&config.retry_schedule, config.retry_throttle_min)
        .map_err(|e| anyhow::anyhow!("HOOKLINE_RETRY_SCHEDULE: {e}"))?;
    anyhow::ensure!(
        config.lease > config.request_timeout,
        "HOOKLINE_LEASE must be longer than HOOKLINE_REQUEST_TIMEOUT"
    );
    anyhow::ensure!(
        !config.session_idle.is_zero() && !config.session_max.is_zero(),
        "HOOKLINE_SESSION_IDLE and HOOKLINE_SESSION_MAX must be longer than zero"
    );
    anyhow::ensure!(!config.unleash_poll.is_zero(), "HOOKLINE_UNLEASH_POLL must be longer than zero");
    anyhow::ensure!(config.concurrency > 0 && config.webhook_concurrency > 0, "concurrency limits must be at least 1");
    let extra_roots = match &config.extra_ca_certs {
        Some(path) => dispatcher::client::load_extra_roots(path)?,
        None => Vec::new(),
    };
    let client = dispatcher::client::build_client(
        policy.clone(),
        extra_roots,
        config.connect_timeout,
        // Several webhooks may point at one host, so up to every request in flight may want a
        // kept-alive connection to it: the per-webhook limit as the idle cap closed the extra
        // connections after each request, and fan-out spent its time connecting.
        config.concurrency,
    )?;
    let keys = keys::KeySource::from_config(&config);
    let db = db::Db::open_with_clock(
        &config.database_url,
        &config.db_options(),
        &keys,
        db::Access::Shared,
        config.clock.clone(),
    )
    .await?;
    let cookie_key = cookie_key(&config, &db)?;
    let options = leptos_options(&config);
    let metrics = Arc::new(metrics::Metrics::for_instance(db.instance()));
    let settings = dispatcher::Settings {
        concurrency: config.concurrency,
        per_webhook_concurrency: config.webhook_concurrency,
        request_timeout: config.request_timeout,
        lease: config.lease,
        poll_interval: std::time::Duration::from_secs(1),
        shutdown_grace: config.shutdown_grace,
        schedule,
        auto_disable_after: config.auto_disable_after,
        breaker: db::deliveries::Breaker {
            failures: i64::from(config.breaker_failures),
            cooldown_ms: config.breaker_cooldown.as_millis() as i64,
        },
        flag_base_url: config.unleash_url.as_ref().map(|u| u.as_str().trim_end_matches('/').to_string()),
    };
    let live = live::LiveFeed::new(
        &db,
        live::StreamLimits { total: config.live_streams, per_caller: config.live_streams_per_caller },
    );
    let dispatcher = dispatcher::Dispatcher::new(db.clone(), client, policy.clone(), settings, metrics.clone(), live);
    Ok(AppState::new(db, config, options, cookie_key, dispatcher, metrics, policy)
        .with_trusted_proxies(trusted_proxies))
}

/// How long shutdown waits, past the grace period, for background work and database connections.
const CLOSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves until `shutdown` completes, then stops gracefully: in-flight requests finish, background
/// work stops, the database closes.
pub async fn run_until(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = build_state(config).await?;
    state.ensure_initial_admin().await?;
    let background = state.spawn_background_tasks();
    let app = router(state.clone());
    let addr = listener.local_addr()?;
    tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "Hookline listening on http://{addr}");
    // No Nagle delay: server-rendered pages stream in several writes, and a client's delayed ACK
    // would otherwise hold the second one back by 40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    // Graceful, within a deadline: requests in flight get `shutdown_grace` to finish, then the
    // server stops waiting for them (a client holding a connection open must not keep the process,
    // its dispatcher and its database alive forever).
    let grace = state.config.shutdown_grace;
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = state.live().clone();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live streams never end on their own: end them, or they hold the shutdown up.
            live.close();
            let _ = stopping.send(());
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => served.context("server error")?,
        () = async {
            let _ = stopped.await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(grace = ?grace, "connections still open after the shutdown grace period; closing anyway"),
    }
    tracing::info!("shutting down");
    // Bounded too: the process must end on SIGTERM whatever else still runs. The dispatcher gives
    // its deliveries `shutdown_grace` (a delivery cut short is leased, so another run redoes it);
    // closing the pool waits for every connection to come back, and a task the server no longer
    // waits for (a connection past the grace period) may still hold one. SQLite's WAL keeps every
    // commit without a clean close; PostgreSQL ends the session when the socket closes.
    if tokio::time::timeout(grace + CLOSE_LIMIT, background.stop()).await.is_err() {
        tracing::warn!("background work still running after the shutdown grace period; exiting anyway");
    }
    if tokio::time::timeout(CLOSE_LIMIT, state.db.close()).await.is_err() {
        tracing::warn!("database connections still in use at shutdown; exiting without waiting for them");
    }
    Ok(())
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(config: Config, listener: TcpListener) -> anyhow::Result<()> {
    run_until(config, listener, shutdown_signal()).await
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let site = Arc::new(assets::Site::choose(state.config.site_root.as_deref()));
    let urls = site.urls();
    let backend: Arc<dyn Backend> = Arc::new(state.clone());
    let api_document = app::api::reference::ApiDocument {
        document: Arc::new(serde_json::to_value(routes::openapi::document()).unwrap_or_default()),
        public_url: state.config.public_url.as_ref().map(|url| url.to_string()),
    };
    let provide_backend = move || {
        provide_context(backend.clone());
        provide_context(urls.clone());
        // For the API page (Settings → API).
        provide_context(api_document.clone());
        // While a page renders: its Content-Security-Policy names this response's script nonce.
        headers::set_page_policy();
    };
    let options = state.leptos_options.clone();
    // Anything no route takes: a file of the site, else the app's "Page not found".
    let not_found = {
        let options = options.clone();
        leptos_axum::render_app_to_stream_with_context(provide_backend.clone(), move || shell(options.clone()))
    };
    let fallback = move |request: axum::extract::Request| {
        let site = site.clone();
        let not_found = not_found.clone();
        async move {
            match site.serve(request).await {
                Ok(file) => file,
                Err(request) => not_found(request).await,
            }
        }
    };

    // The idle time as configured, to the millisecond (`1500ms` is not cut to one second).
    let idle = ::time::Duration::try_from(state.config.session_idle).unwrap_or(::time::Duration::MAX);
    let store = db::sessions::DbSessionStore::new(state.db.clone(), state.config.session_max);
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(idle))
        .with_signed(state.cookie_key.clone());

    // The pages, each render hedged against one that never finishes (see `routes::render`).
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, provide_backend.clone(), move || shell(options.clone()))
        .route_layer(axum::middleware::from_fn_with_state(
            routes::render::Hedge::counted(state.metrics.page_render_counters()),
            routes::render::hedge,
        ));

    Router::new()
        .merge(routes::api_router())
        .merge(pages)
        .fallback(fallback)
        // Server functions' errors answer with their AppError's status (404, 422, ...).
        .layer(axum::middleware::from_fn(app::api::server_fn_error_status))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::middleware::gate))
        .layer(sessions)
        // Before the session is even loaded: a request for another host name (DNS rebinding).
        .layer(axum::middleware::from_fn_with_state(state.clone(), headers::check_host))
        // Outside the gate, so its refusals and redirects carry the headers too.
        .layer(axum::middleware::from_fn_with_state(state.clone(), headers::protect))
        // The WASM bundle shrinks to about 40 % with gzip; HTML and JSON compress well too.
        .layer(CompressionLayer::new())
        .layer(
            // One span per request (method, path, version) and one line per response with its
            // status and latency, at INFO so `RUST_LOG=info` shows traffic.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)),
        )
        .with_state(state)
}

/// Leptos settings. The site's files are served by `assets` (embedded or from HOOKLINE_SITE_ROOT),
/// so the site root here only names the folder for Leptos's own bookkeeping.
fn leptos_options(config: &Config) -> LeptosOptions {
    let site_root = config.site_root.as_deref().unwrap_or(Path::new(assets::DEV_SITE_ROOT)).display().to_string();
    LeptosOptions::builder()
        .output_name("hookline")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(Env::PROD)
        .build()
}

/// The key that signs session cookies: from HOOKLINE_SECRET_KEY, or `secret.key` in the data folder
/// (created with 64 random bytes on first start, readable only by the owner; an existing file
/// others can read is made private, with a warning), or, with no data folder (PostgreSQL, an
/// in-memory SQLite), derived from the encryption key every instance shares.
fn cookie_key(config: &Config, db: &db::Db) -> anyhow::Result<Key> {
    use sha2::{Digest, Sha512};
    let material: Vec<u8> = match &config.secret_key {
        Some(secret) if secret.len() < 32 => anyhow::bail!("HOOKLINE_SECRET_KEY must be at least 32 characters"),
        Some(secret) => secret.as_bytes().to_vec(),
        None => match db::Db::data_dir(&config.database_url) {
            Some(dir) => load_or_create_secret(&dir.join("secret.key"))?,
            None => db.encryption_key().cookie_material().to_vec(),
        },
    };
    // SHA-512 turns any key material into the 64 bytes the signing key needs.
    Ok(Key::from(Sha512::digest(&material).as_slice()))
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read(path) {
        if existing.len() >= 32 {
            keys::ensure_private(path)?;
            return Ok(existing);
        }
    }
    use rand::RngCore;
    let mut secret = vec![0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    keys::write_private(path, &secret)
        .with_context(|| format!("cannot write the session key to {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new session key");
    Ok(secret)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
