//! The state every handler shares: database, settings, Leptos options, and in-memory helpers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_sessions::cookie::Key;

use crate::auth::password::PasswordHashing;
use crate::auth::proxies::TrustedProxies;
use crate::auth::throttle::{LoginThrottle, SignInThrottle};
use crate::config::Config;
use crate::db::Db;
use crate::dispatcher::ssrf::TargetPolicy;
use crate::dispatcher::Dispatcher;
use crate::metrics::Metrics;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub login_throttle: Arc<SignInThrottle>,
    /// Every Argon2 hash and verification goes through here (a bounded number at once).
    pub password_hashing: PasswordHashing,
    /// Signs session cookies.
    pub cookie_key: Key,
    pub dispatcher: Dispatcher,
    pub metrics: Arc<Metrics>,
    /// What webhook URLs may reach (the SSRF guard's allow-list).
    pub target_policy: Arc<TargetPolicy>,
    /// Whose `X-Forwarded-For` names the client (HOOKLINE_TRUSTED_PROXIES).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Woken when an admin changes the Unleash settings on the Connect page: the catch-up poller
    /// reads them again at once (other instances at their next poll).
    pub unleash_settings_changed: Arc<tokio::sync::Notify>,
    /// When each token's `last_used_at` was last written (to write it at most once a minute).
    token_touches: Arc<Mutex<HashMap<i64, Instant>>>,
    /// API tokens verified in the last second (see `TokenCache`).
    pub tokens: Arc<crate::auth::token::TokenCache>,
}

impl AppState {
    pub fn new(
        db: Db,
        config: Config,
        leptos_options: LeptosOptions,
        cookie_key: Key,
        dispatcher: Dispatcher,
        metrics: Arc<Metrics>,
        target_policy: Arc<TargetPolicy>,
    ) -> Self {
        let password_hashing = PasswordHashing::new(
            config.password_hash_limit.unwrap_or_else(PasswordHashing::default_limit),
            config.password_hash_wait,
        );
        let login_throttle = Arc::new(match db.postgres() {
            Some(pg) => SignInThrottle::Shared(pg.clone()),
            None => SignInThrottle::Local(LoginThrottle::default()),
        });
        AppState {
            db,
            config: Arc::new(config),
            leptos_options,
            login_throttle,
            password_hashing,
            cookie_key,
            dispatcher,
            metrics,
            target_policy,
            trusted_proxies: Arc::default(),
            unleash_settings_changed: Arc::default(),
            token_touches: Arc::default(),
            tokens: Arc::default(),
        }
    }

    /// Believes `X-Forwarded-For` from these proxies (none by default).
    pub fn with_trusted_proxies(self, trusted_proxies: TrustedProxies) -> Self {
        AppState { trusted_proxies: Arc::new(trusted_proxies), ..self }
    }

    /// The live feed: publish change notices here for the pages' live updates.
    pub fn live(&self) -> &crate::live::LiveFeed {
        self.dispatcher.live()
    }

    /// Records that a token was used, writing to the database at most once per `every`.
    pub async fn note_token_use(&self, token_id: i64, now: Instant, every: Duration) {
        let due = {
            let mut touches = self.token_touches.lock().await;
            let due = touches.get(&token_id).is_none_or(|last| now.duration_since(*last) >= every);
            if due {
                touches.insert(token_id, now);
            }
            due
        };
        if due {
            if let Err(error) = self.db.touch_token(token_id).await {
                tracing::warn!(%error, token_id, "could not record token use");
            }
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Background work started with the server; `stop` ends it and waits.
pub struct Background {
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    pub async fn stop(self) {
        self.cancel.cancel();
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "background task failed");
            }
        }
    }
}

impl AppState {
    /// Starts the dispatcher and the periodic jobs (expired-session cleanup, retention, the Unleash
    /// catch-up poller).
    pub fn spawn_background_tasks(&self) -> Background {
        let cancel = CancellationToken::new();
        let mut tasks = vec![self.dispatcher.spawn(cancel.clone())];
        let db = self.db.clone();
        let session_max = self.config.session_max;
        tasks.push(tokio::spawn(every(Duration::from_secs(3600), cancel.clone(), move || {
            let db = db.clone();
            async move {
                match db.take_periodic_turn("session-cleanup", Duration::from_secs(3600)).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => return tracing::warn!(%error, "could not take the session cleanup's turn"),
                }
                match db.delete_expired_sessions(session_max).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::debug!(removed, "removed expired sessions"),
                    Err(error) => tracing::warn!(%error, "could not remove expired sessions"),
                }
            }
        })));
        // The retention job: deletes old deliveries in small batches, then events nothing refers
        // to, then audit entries past their (longer) retention.
        // On PostgreSQL, one instance per interval runs it.
        let state = self.clone();
        let interval = self.config.prune_interval;
        tasks.push(tokio::spawn(every(interval, cancel.clone(), move || {
            let state = state.clone();
            async move {
                match state.db.take_periodic_turn("retention", interval).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => return tracing::warn!(%error, "could not take the retention job's turn"),
                }
                if let Err(error) = state.prune_once().await {
                    tracing::warn!(%error, "retention job failed; it runs again later");
                }
                if let Err(error) = state.prune_audit_once().await {
                    tracing::warn!(%error, "audit log retention failed; it runs again later");
                }
            }
        })));
        // Catching up the events Unleash's webhook did not send (it waits while not configured).
        tasks.push(crate::unleash::spawn(self, cancel.clone()));
        Background { cancel, tasks }
    }
}

/// Runs `job` now and then every `period` (a late run delays the next) until `stop`.
async fn every<F, Fut>(period: Duration, stop: CancellationToken, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticks.tick() => job().await,
        }
    }
}

impl AppState {
    /// One retention pass (also used by tests): returns (deliveries, events) deleted.
    pub async fn prune_once(&self) -> Result<(u64, u64), sqlx::Error> {
        let older_than = self.db.now_ms() - self.config.retention.as_millis() as i64;
        let deliveries = self.db.prune_deliveries(older_than, self.config.retention_per_webhook, 500).await?;
        let events = self.db.prune_events(older_than, 500).await?;
        if deliveries + events > 0 {
            tracing::info!(deliveries, events, "retention job removed old log entries");
        }
        Ok((deliveries, events))
    }

    /// One pass of the audit log's retention (HOOKLINE_AUDIT_RETENTION): returns how many entries
    /// were deleted.
    pub async fn prune_audit_once(&self) -> Result<u64, sqlx::Error> {
        let keep = i64::try_from(self.config.audit_retention.as_millis()).unwrap_or(i64::MAX);
        let older_than = crate::db::now_ms().saturating_sub(keep);
        let deleted = self.db.prune_audit(older_than, 500).await?;
        if deleted > 0 {
            tracing::info!(deleted, "retention job removed old audit log entries");
        }
        Ok(deleted)
    }
}
