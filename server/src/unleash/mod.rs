//! Catching up what Unleash did not send: Unleash's webhook addon sends each event once, with no
//! retry, so an event lost on the way (Hookline restarting, a network blip, Unleash overloaded)
//! is gone unless Hookline fetches it. With an Unleash URL and API token set (HOOKLINE_UNLEASH_URL
//! and HOOKLINE_UNLEASH_TOKEN, or on the Connect page: see `settings`), this poller asks Unleash's event API every HOOKLINE_UNLEASH_POLL for the events newer than its
//! cursor and takes them in through the intake's own path (same validation, same matching, same
//! de-duplication on Unleash's event id), marked `unleash-poll` in the event log.
//!
//! - The cursor is the highest Unleash event id the *poller* has taken in, kept in the database
//!   (`db::catch_up`): a restart resumes from it. The webhook's events do not move it, or a gap
//!   below an event the webhook brought would be skipped.
//! - The first poll takes nothing in: it starts the cursor at Unleash's newest event (see
//!   `cursor`), so turning catch-up on does not replay Unleash's history.
//! - Failures (Unleash down, slow, 401/403, 5xx, an answer that is not its event list) are
//!   logged, counted in `/metrics` and shown on the Connect page; the cursor stays, and the poller
//!   waits twice as long after each failure in a row, up to ten intervals. The intake never
//!   waits for the poller.
//! - On PostgreSQL one instance polls per interval (`Db::take_periodic_turn`); the cursor only
//!   moves forward, whoever writes it.

pub mod client;
pub mod cursor;
pub mod settings;

use std::time::Duration;

use hookline_core::event::parse_event;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::db::events::NewEvent;
use crate::db::StoreError;
use crate::routes::events::{take_in, MAX_EVENTS};
use crate::state::AppState;
use client::UnleashClient;
use cursor::{fetch_newer, worth_taking, FetchError, Fetched};

/// The `source` of events the poller took in (the event log shows them as caught up).
pub const SOURCE: &str = "unleash-poll";
/// Events per page asked of Unleash.
pub const PAGE_SIZE: usize = 100;
/// The most pages one poll reads (10,000 events): a longer backlog is cut there, with a warning.
pub const MAX_PAGES: usize = 100;
/// Ids at and below the cursor fetched again on every poll, for events Unleash numbered earlier
/// but committed later (see `cursor::fetch_newer`); the intake drops the ones it has.
pub const LOOKBACK_IDS: i64 = 100;
/// Of those, only the ones created within this long before the newest fetched are taken in again
/// (a late commit is seconds late; an event Hookline pruned long ago must not come back).
pub const LOOKBACK_WINDOW_MS: i64 = 10 * 60 * 1000;
/// The longest wait after failures, in poll intervals.
pub const MAX_BACKOFF_FACTOR: u32 = 10;
/// The periodic-turn name (PostgreSQL: one instance polls per interval).
const JOB: &str = "unleash-catch-up";
/// Keys the search endpoint adds to each event that the webhook addon does not send: removed, so
/// receivers get the same event however it arrived.
const SEARCH_ONLY_KEYS: [&str; 3] = ["label", "summary", "ip"];

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("could not store the events: {0}")]
    Store(#[from] StoreError),
    #[error("could not read or write the catch-up cursor: {0}")]
    Cursor(#[from] sqlx::Error),
}

/// What a successful poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polled {
    /// Events fetched above the cursor.
    pub fetched: usize,
    /// Of those, the ones stored now (the rest had come by webhook or an earlier poll).
    pub created: usize,
    pub cursor: i64,
}

/// The wait before the next poll after `failures` failed polls in a row: the interval, doubled
/// per failure, at most `MAX_BACKOFF_FACTOR` intervals.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures).min(MAX_BACKOFF_FACTOR);
    interval.saturating_mul(factor)
}

/// Starts the poller. It polls while an Unleash URL and token are set (see `settings`: the
/// environment's, or the Connect page's) and otherwise waits; a change on the Connect page wakes it.
pub fn spawn(state: &AppState, cancel: CancellationToken) -> JoinHandle<()> {
    let roots = match &state.config.extra_ca_certs {
        Some(path) => match crate::dispatcher::client::load_extra_roots(path) {
            Ok(roots) => Some(roots),
            Err(error) => {
                tracing::error!(%error, "Unleash catch-up is off");
                None
            }
        },
        None => Some(Vec::new()),
    };
    let poller = Poller { state: state.clone(), roots, source: None, failures: 0 };
    tokio::spawn(poller.run(cancel))
}

/// The Unleash the poller reads now, and the settings its client was made with.
struct Connected {
    url: url::Url,
    token: String,
    client: UnleashClient,
}

/// The polling loop's state.
pub struct Poller {
    state: AppState,
    /// HOOKLINE_EXTRA_CA_CERTS's roots; None when they could not be read (nothing is polled).
    roots: Option<Vec<reqwest::Certificate>>,
    source: Option<Connected>,
    /// Failed polls in a row.
    failures: u32,
}

impl Poller {
    /// Polls now, then again after each wait, until `cancel` (a poll in progress is dropped: its
    /// events are either stored or fetched again, and the cursor moves only after storing). A
    /// change of the settings ends a wait, or a poll in progress, at once.
    async fn run(mut self, cancel: CancellationToken) {
        let changed = self.state.unleash_settings_changed.clone();
        let mut wait = Duration::ZERO;
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                () = changed.notified() => {}
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                next = self.turn() => wait = next,
                () = changed.notified() => wait = Duration::ZERO,
            }
        }
    }

    /// Makes `source` the client for the settings in force (a new one when they changed); false
    /// when catch-up is off (not set, or the CA certificates could not be read).
    async fn connect(&mut self) -> Result<bool, String> {
        let resolved = settings::resolve(&self.state.config, &self.state.db)
            .await
            .map_err(|error| format!("could not read the Unleash settings: {error}"))?;
        let (Some((url, token)), Some(roots)) = (resolved.catch_up(), self.roots.as_ref()) else {
            if self.source.take().is_some() {
                tracing::info!("Unleash catch-up is off: no Unleash URL and token are set any more");
            }
            self.failures = 0;
            return Ok(false);
        };
        let current = self.source.as_ref().is_some_and(|c| c.url == *url && c.token == token);
        if !current {
            let config = &self.state.config;
            let client = UnleashClient::new(url, token, config.request_timeout, config.connect_timeout, roots.clone())
                .map_err(|error| format!("{error:#}"))?;
            tracing::info!(unleash = %url, every = %humantime::format_duration(config.unleash_poll), "Unleash catch-up is on");
            self.source = Some(Connected { url: url.clone(), token: token.to_owned(), client });
            self.failures = 0;
        }
        Ok(true)
    }

    /// One turn of the loop: polls if catch-up is on and it is this instance's turn; answers the
    /// wait until the next.
    async fn turn(&mut self) -> Duration {
        let interval = self.state.config.unleash_poll;
        let result = match self.connect().await {
            Ok(false) => return interval,
            Ok(true) => {
                match self.state.db.take_periodic_turn(JOB, interval).await {
                    Ok(true) => {}
                    Ok(false) => return interval,
                    Err(error) => {
                        tracing::warn!(%error, "could not take the Unleash catch-up's turn");
                        return interval;
                    }
                }
                self.poll_once().await.map_err(|error| error.to_string())
            }
            Err(message) => Err(message),
        };
        match result {
            Ok(polled) => {
                tracing::debug!(?polled, "polled Unleash");
                if self.failures > 0 {
                    tracing::info!(after_failures = self.failures, "Unleash catch-up works again");
                }
                self.failures = 0;
                interval
            }
            Err(message) => {
                self.failures = self.failures.saturating_add(1);
                let wait = backoff(interval, self.failures);
                tracing::warn!(error = %message, failures = self.failures, retry_in = %humantime::format_duration(wait), "Unleash catch-up poll failed; the cursor stays");
                self.state.metrics.unleash_poll_failed();
                if let Err(error) = self.state.db.save_catch_up_error(&message, self.state.db.now_ms()).await {
                    tracing::warn!(%error, "could not record the catch-up error");
                }
                wait
            }
        }
    }

    /// One poll: fetch what is newer than the cursor, take it in, move the cursor.
    async fn poll_once(&mut self) -> Result<Polled, PollError> {
        let db = &self.state.db;
        let Some(source) = self.source.as_mut() else { return Ok(Polled { fetched: 0, created: 0, cursor: 0 }) };
        let url = source.url.to_string();
        // Another Unleash's cursor is not this one's (event ids are per Unleash): start again.
        let row = db.catch_up_state().await?;
        let cursor = row.as_ref().and_then(|row| row.cursor_for(&url));
        let mut start = row.and_then(|row| row.cursor_start).filter(|_| cursor.is_some());
        let fetched = fetch_newer(&mut source.client, cursor, LOOKBACK_IDS, PAGE_SIZE, MAX_PAGES).await?;
        let now = db.now_ms();
        let polled = match fetched {
            Fetched::Started { cursor } => {
                tracing::info!(
                    cursor,
                    "Unleash catch-up starts after Unleash's newest event (earlier ones are not replayed)"
                );
                start = Some(cursor);
                Polled { fetched: 0, created: 0, cursor }
            }
            Fetched::Newer { events, cursor: next, complete } => {
                if !complete {
                    tracing::warn!(
                        fetched = events.len(),
                        from = ?cursor,
                        "more new Unleash events than one poll reads: the older ones between the cursor and these were not caught up"
                    );
                }
                let events = worth_taking(events, cursor.unwrap_or(0), start, LOOKBACK_WINDOW_MS);
                let fetched = events.len();
                let created = self.take_in(events, now).await?;
                if created > 0 {
                    tracing::info!(
                        created,
                        fetched,
                        cursor = next,
                        "caught up Unleash events the webhook had not brought"
                    );
                }
                Polled { fetched, created, cursor: next }
            }
        };
        db.save_catch_up_success(polled.cursor, polled.created as i64, now, &url, start).await?;
        self.state.metrics.unleash_polled(polled.created as u64, now);
        Ok(polled)
    }

    /// Validates and stores `events` as the intake does; an event the intake would refuse is
    /// skipped with a warning (it cannot be stored however often it is fetched).
    async fn take_in(&self, events: Vec<Value>, now: i64) -> Result<usize, StoreError> {
        let mut valid = Vec::with_capacity(events.len());
        for mut event in events {
            if let Value::Object(fields) = &mut event {
                for key in SEARCH_ONLY_KEYS {
                    fields.shift_remove(key);
                }
            }
            match parse_event(event, "", now) {
                Ok(parsed) => valid.push(NewEvent::received(parsed, SOURCE)),
                Err(error) => {
                    tracing::warn!(field = %error.field, message = %error.message, "skipped an Unleash event the intake refuses")
                }
            }
        }
        let mut created = 0;
        for chunk in valid.chunks(MAX_EVENTS) {
            created += take_in(&self.state, chunk.to_vec()).await?.iter().filter(|s| s.created).count();
        }
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_intervals() {
        let interval = Duration::from_secs(30);
        let waits: Vec<u64> = (0..7).map(|n| backoff(interval, n).as_secs()).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(backoff(interval, u32::MAX), Duration::from_secs(300), "no overflow");
    }
}
