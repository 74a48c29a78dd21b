//! When to try again: the retry schedule, jitter, `Retry-After`, and which failures are retried.

use std::time::Duration;

use app::model::RetryPolicy;

/// Svix's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts, ~27.5 h).
pub const STANDARD_SCHEDULE: &str = "0s,5s,5m,30m,2h,5h,10h,10h";

/// The delays before each attempt; `delays[0]` is the first attempt (normally immediate).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub delays: Vec<Duration>,
    /// The shortest wait after a 429 or a timeout (the receiver is overloaded).
    pub min_after_throttle: Duration,
}

impl Schedule {
    /// Parses `HOOKLINE_RETRY_SCHEDULE`, e.g. `0s,5s,5m,30m,2h,5h,10h,10h`.
    pub fn parse(text: &str, min_after_throttle: Duration) -> Result<Schedule, String> {
        let delays = text.split(',').map(crate::time::parse_duration).collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() || delays.len() > 50 {
            return Err("list between 1 and 50 delays".into());
        }
        Ok(Schedule { delays, min_after_throttle })
    }

    /// How many attempts a delivery gets in total under `policy`.
    pub fn max_attempts(&self, policy: RetryPolicy) -> u32 {
        match policy {
            // Unleash documents one retry on a 5xx or a network error.
            RetryPolicy::Unleash => 2.min(self.delays.len() as u32).max(1),
            RetryPolicy::Standard => self.delays.len() as u32,
        }
    }

    /// The wait before attempt `next_attempt` (2 = the first retry), with `jitter` in [-1, 1]
    /// scaling ±20 %, `retry_after` from the response, and `throttled` after a 429 or timeout.
    pub fn delay_before(
        &self,
        next_attempt: u32,
        jitter: f64,
        retry_after: Option<Duration>,
        throttled: bool,
    ) -> Duration {
        let index = (next_attempt.max(1) as usize - 1).min(self.delays.len() - 1);
        let base = self.delays[index];
        let jittered = base.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0));
        let mut delay = match retry_after {
            // Honour Retry-After, but within [base, 2 × base] so a receiver can neither make us
            // hammer it nor park a delivery for days.
            Some(asked) => asked.clamp(base, base * 2),
            None => jittered,
        };
        if throttled {
            delay = delay.max(self.min_after_throttle);
        }
        delay
    }
}

/// Whether a response status is worth retrying: 408, 429 and 5xx. Other 4xx are the request's
/// fault and 3xx are not followed; both fail at once.
pub fn status_is_retryable(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// Parses `Retry-After`: delta seconds or an HTTP date, relative to `now_unix`.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate_to_unix(value)?;
    Some(Duration::from_secs(when.saturating_sub(now_unix).max(0) as u64))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 requires senders to use.
fn httpdate_to_unix(value: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, &format).ok().map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> Schedule {
        Schedule::parse(STANDARD_SCHEDULE, Duration::from_secs(60)).expect("parse")
    }

    #[test]
    fn standard_schedule_matches_svix() {
        let s = standard();
        let minutes: Vec<u64> = s.delays.iter().map(|d| d.as_secs()).collect();
        assert_eq!(minutes, vec![0, 5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(s.max_attempts(RetryPolicy::Standard), 8);
        assert_eq!(s.max_attempts(RetryPolicy::Unleash), 2);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let s = standard();
        assert_eq!(s.delay_before(3, 0.0, None, false), Duration::from_secs(300));
        assert_eq!(s.delay_before(3, 1.0, None, false), Duration::from_secs(360));
        assert_eq!(s.delay_before(3, -1.0, None, false), Duration::from_secs(240));
        assert_eq!(s.delay_before(3, 7.0, None, false), Duration::from_secs(360), "jitter is clamped");
        assert_eq!(s.delay_before(99, 0.0, None, false), Duration::from_secs(36000), "past the end: the last delay");
    }

    #[test]
    fn retry_after_is_clamped_and_throttles_wait_a_minute() {
        let s = standard();
        // Base before attempt 2 is 5 s: Retry-After 1 s -> 5 s; 7 s -> 7 s; 3600 s -> 10 s.
        assert_eq!(s.delay_before(2, 0.0, Some(Duration::from_secs(1)), false), Duration::from_secs(5));
        assert_eq!(s.delay_before(2, 0.0, Some(Duration::from_secs(7)), false), Duration::from_secs(7));
        assert_eq!(s.delay_before(2, 0.0, Some(Duration::from_secs(3600)), false), Duration::from_secs(10));
        // After a 429 or timeout, at least 60 s.
        assert_eq!(s.delay_before(2, 0.0, None, true), Duration::from_secs(60));
        assert_eq!(s.delay_before(4, 0.0, None, true), Duration::from_secs(1800));
    }

    #[test]
    fn retryable_statuses() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(status_is_retryable(status), "{status}");
        }
        for status in [200, 301, 307, 308, 400, 401, 403, 404, 410, 422] {
            assert!(!status_is_retryable(status), "{status}");
        }
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        let now = 784111777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:40:37 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
