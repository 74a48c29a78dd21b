//! Sign-in throttling: after a few failed attempts for one account or one client address, further
//! attempts must wait, with the wait doubling per attempt. An attempt counts as failed from the
//! moment it is admitted until it succeeds. On SQLite in memory: a restart forgives, which is
//! acceptable because each attempt already costs an Argon2 hash. On PostgreSQL in the database,
//! shared by the instances (`SignInThrottle::Shared`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before waits start.
const FREE_FAILURES: u32 = 5;
/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest wait.
const MAX_WAIT: Duration = Duration::from_secs(5 * 60);
/// Bound on remembered keys (an attacker cycling addresses cannot grow memory without limit).
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// Admits a sign-in attempt for `keys` and counts it straight away, before its password is
    /// checked; `Err(wait)` when the caller must wait first (the attempt is then not counted).
    ///
    /// Counting up front, under the same lock as the check, is what makes a parallel burst count:
    /// were attempts counted once their verification failed, every request of a burst would pass
    /// the check while the others' verifications were still running.
    pub fn begin_attempt(&self, keys: &[String], now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys
            .iter()
            .filter_map(|key| map.get(key))
            .map(|f| wait_after(f.count, now.duration_since(f.last)))
            .filter(|remaining| !remaining.is_zero())
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        if map.len() >= MAX_KEYS {
            map.retain(|_, f| now.duration_since(f.last) < WINDOW);
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert(Failures { count: 0, last: now });
            if now.duration_since(entry.last) >= WINDOW {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
        Ok(())
    }

    /// Takes back an admitted attempt whose password was never checked (the server was too busy,
    /// or the database failed): it tested nothing, so it should not bring the wait closer.
    pub fn cancel_attempt(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some(entry) = map.get_mut(key) {
                entry.count = entry.count.saturating_sub(1);
                if entry.count == 0 {
                    map.remove(key);
                }
            }
        }
    }

    /// Forgets the attempts of these keys (after a successful sign-in).
    pub fn record_success(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            map.remove(key);
        }
    }
}

/// How long the next attempt must wait after `count` failures, the last one `since` ago (zero:
/// it may go ahead). Failures older than the window are forgotten.
pub(crate) fn wait_after(count: u32, since: Duration) -> Duration {
    if since >= WINDOW || count < FREE_FAILURES {
        return Duration::ZERO;
    }
    let wait = Duration::from_secs(1u64 << (count - FREE_FAILURES).min(16)).min(MAX_WAIT);
    wait.saturating_sub(since)
}

/// How long failures are remembered (the database variant prunes older rows).
pub(crate) const FAILURE_WINDOW: Duration = WINDOW;

/// The throttle of one process, or, with several instances on PostgreSQL, the one they share (an
/// attacker spreading guesses over the instances gets no more of them).
#[derive(Debug)]
pub enum SignInThrottle {
    Local(LoginThrottle),
    Shared(crate::db::PgDb),
}

impl SignInThrottle {
    /// `LoginThrottle::begin_attempt`, on whichever state this throttle keeps.
    pub async fn begin_attempt(&self, keys: &[String]) -> Result<Result<(), Duration>, sqlx::Error> {
        match self {
            SignInThrottle::Local(throttle) => Ok(throttle.begin_attempt(keys, Instant::now())),
            SignInThrottle::Shared(db) => db.begin_sign_in_attempt(keys).await,
        }
    }

    /// `LoginThrottle::cancel_attempt`; a failure to write it is logged (the attempt then counts).
    pub async fn cancel_attempt(&self, keys: &[String]) {
        match self {
            SignInThrottle::Local(throttle) => throttle.cancel_attempt(keys),
            SignInThrottle::Shared(db) => {
                if let Err(error) = db.cancel_sign_in_attempt(keys).await {
                    tracing::warn!(%error, "could not take back a sign-in attempt");
                }
            }
        }
    }

    /// `LoginThrottle::record_success`; a failure to write it is logged.
    pub async fn record_success(&self, keys: &[String]) {
        match self {
            SignInThrottle::Local(throttle) => throttle.record_success(keys),
            SignInThrottle::Shared(db) => {
                if let Err(error) = db.forget_sign_in_failures(keys).await {
                    tracing::warn!(%error, "could not clear the sign-in failures after a success");
                }
            }
        }
    }
}

/// The throttle keys of an attempt: the account and the client address.
pub fn keys(email: &str, client: &str) -> Vec<String> {
    vec![format!("email:{}", email.trim().to_lowercase()), format!("client:{client}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_free_failures_and_double() {
        let throttle = LoginThrottle::default();
        let keys = keys("Admin@Example.com", "10.0.0.1");
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.begin_attempt(&keys, start), Ok(()), "the first attempts are free");
        }
        assert_eq!(throttle.begin_attempt(&keys, start), Err(Duration::from_secs(1)));
        let later = start + Duration::from_secs(1);
        assert_eq!(throttle.begin_attempt(&keys, later), Ok(()));
        assert_eq!(throttle.begin_attempt(&keys, later), Err(Duration::from_secs(2)));
        assert_eq!(throttle.begin_attempt(&keys, later + Duration::from_secs(1)), Err(Duration::from_secs(1)));
        throttle.record_success(&keys);
        assert_eq!(throttle.begin_attempt(&keys, later), Ok(()));
    }

    #[test]
    fn attempts_count_before_their_outcome_is_known() {
        // A burst: every attempt is admitted before any verification has finished.
        let throttle = LoginThrottle::default();
        let keys = keys("admin@example.com", "10.0.0.1");
        let now = Instant::now();
        let admitted = (0..20).filter(|_| throttle.begin_attempt(&keys, now).is_ok()).count();
        assert_eq!(admitted, FREE_FAILURES as usize);
    }

    #[test]
    fn an_unchecked_attempt_can_be_taken_back() {
        let throttle = LoginThrottle::default();
        let keys = keys("admin@example.com", "10.0.0.1");
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            throttle.begin_attempt(&keys, now).expect("free");
        }
        throttle.cancel_attempt(&keys);
        assert_eq!(throttle.begin_attempt(&keys, now), Ok(()), "the cancelled attempt is not counted");
        assert!(throttle.begin_attempt(&keys, now).is_err());
    }

    #[test]
    fn one_account_is_throttled_from_any_address() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..FREE_FAILURES {
            throttle.begin_attempt(&keys("admin@example.com", &format!("10.0.0.{i}")), now).expect("free");
        }
        assert!(throttle.begin_attempt(&keys("ADMIN@example.com", "192.168.1.1"), now).is_err());
        assert!(throttle.begin_attempt(&keys("other@example.com", "192.168.1.1"), now).is_ok());
    }

    #[test]
    fn old_failures_are_forgotten() {
        let throttle = LoginThrottle::default();
        let keys = keys("a@example.com", "c");
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            throttle.begin_attempt(&keys, start).expect("free");
        }
        assert!(throttle.begin_attempt(&keys, start).is_err());
        assert_eq!(throttle.begin_attempt(&keys, start + WINDOW), Ok(()));
    }
}
