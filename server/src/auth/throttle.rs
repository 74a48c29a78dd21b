//! Sign-in throttling: after a few failures for one account or one client address, further
//! attempts must wait, with the wait doubling per failure. In memory: a restart forgives, which is
//! acceptable because each attempt already costs an Argon2 hash.

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
    /// How long the caller must still wait before another attempt for any of `keys`, if at all.
    pub fn wait_for(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|key| map.get(key))
            .filter(|f| now.duration_since(f.last) < WINDOW && f.count >= FREE_FAILURES)
            .map(|f| {
                let wait = Duration::from_secs(1u64 << (f.count - FREE_FAILURES).min(16)).min(MAX_WAIT);
                (f.last + wait).saturating_duration_since(now)
            })
            .filter(|remaining| !remaining.is_zero())
            .max()
    }

    /// Records a failed attempt for each key.
    pub fn record_failure(&self, keys: &[String], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
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
    }

    /// Forgets the failures of these keys (after a successful sign-in).
    pub fn record_success(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            map.remove(key);
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
        for _ in 0..FREE_FAILURES - 1 {
            throttle.record_failure(&keys, start);
        }
        assert_eq!(throttle.wait_for(&keys, start), None, "the first failures are free");
        throttle.record_failure(&keys, start);
        assert_eq!(throttle.wait_for(&keys, start), Some(Duration::from_secs(1)));
        throttle.record_failure(&keys, start);
        assert_eq!(throttle.wait_for(&keys, start), Some(Duration::from_secs(2)));
        assert_eq!(throttle.wait_for(&keys, start + Duration::from_secs(2)), None);
        throttle.record_success(&keys);
        assert_eq!(throttle.wait_for(&keys, start), None);
    }

    #[test]
    fn one_account_is_throttled_from_any_address() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..FREE_FAILURES + 2 {
            throttle.record_failure(&keys("admin@example.com", &format!("10.0.0.{i}")), now);
        }
        assert!(throttle.wait_for(&keys("ADMIN@example.com", "192.168.1.1"), now).is_some());
        assert!(throttle.wait_for(&keys("other@example.com", "192.168.1.1"), now).is_none());
    }

    #[test]
    fn old_failures_are_forgotten() {
        let throttle = LoginThrottle::default();
        let keys = keys("a@example.com", "c");
        let start = Instant::now();
        for _ in 0..FREE_FAILURES + 3 {
            throttle.record_failure(&keys, start);
        }
        assert_eq!(throttle.wait_for(&keys, start + WINDOW), None);
    }
}
