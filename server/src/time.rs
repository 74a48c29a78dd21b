//! Time in one place: the clock (unix milliseconds, the unit of every timestamp column),
//! timestamps as APIs and pages show them (RFC 3339 in UTC with milliseconds, the shape Unleash
//! uses: `2024-10-03T11:09:53.225Z`), and durations as settings take them and messages say them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use hookline_core::timestamp::{iso, parse_iso};

/// The current time as unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// Where the intake, the dispatcher, retention and auto-disable read the time for their decisions
/// (due times, backoff, leases, cut-offs, failure windows). The server uses [`SystemClock`]; tests
/// use a [`ManualClock`] and move time forward instead of sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time as unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Fires when the time jumps (a manual clock was moved), so a sleeping dispatcher looks for
    /// work that became due. The system clock never jumps: `None`.
    fn jumps(&self) -> Option<tokio::sync::watch::Receiver<i64>> {
        None
    }
}

/// A clock shared by everything that reads it.
pub type SharedClock = Arc<dyn Clock>;

/// The real time (`now_ms`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// The clock of a real server.
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that stands still until it is moved: tests make a retry due, a webhook fail long enough
/// or a delivery old enough by advancing it.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
    jumps: tokio::sync::watch::Sender<i64>,
}

impl ManualClock {
    /// A clock standing at `start_ms`.
    pub fn at(start_ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock { now: AtomicI64::new(start_ms), jumps: tokio::sync::watch::Sender::new(start_ms) })
    }

    /// A clock standing at the current real time.
    pub fn starting_now() -> Arc<ManualClock> {
        ManualClock::at(now_ms())
    }

    /// Moves the clock forward by `by` and wakes whoever waits for a jump.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let now = self.now.fetch_add(by, Ordering::SeqCst).saturating_add(by);
        self.jumps.send_replace(now);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn jumps(&self) -> Option<tokio::sync::watch::Receiver<i64>> {
        Some(self.jumps.subscribe())
    }
}

/// Parses a duration setting: `500ms`, `90s`, `30m`, `12h`, `3d`, `1h 30m` (humantime's syntax), or
/// a bare number of seconds, as the settings have always accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|e| {
        format!("`{text}` is not a duration ({e}): use a number with a unit such as 500ms, 90s, 30m, 12h, 3d")
    })
}

/// A duration in milliseconds as words: `3 days`, `2 h 5 min`, `1.5 s`, `200 ms`.
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    if ms < 60_000 {
        let seconds = ms as f64 / 1000.0;
        return if ms % 1000 == 0 { format!("{} s", ms / 1000) } else { format!("{seconds:.1} s") };
    }
    let minutes = ms / 60_000;
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m % (24 * 60) == 0 => {
            let days = m / (24 * 60);
            format!("{days} day{}", if days == 1 { "" } else { "s" })
        }
        m if m < 24 * 60 && m % 60 == 0 => format!("{} h", m / 60),
        m if m < 24 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} days {} h", m / (24 * 60), (m % (24 * 60)) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_says_so() {
        let clock = ManualClock::at(1_000);
        let mut jumps = clock.jumps().expect("a manual clock jumps");
        assert_eq!(clock.now_ms(), 1_000);
        assert!(!jumps.has_changed().expect("open"));
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now_ms(), 91_000);
        assert!(jumps.has_changed().expect("open"), "a jump wakes the dispatcher");
        assert_eq!(*jumps.borrow_and_update(), 91_000);
        assert!(SystemClock.jumps().is_none());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(3 * 86400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 15 "), Ok(Duration::from_secs(15)));
        let error = parse_duration("soon").unwrap_err();
        assert!(error.contains("`soon` is not a duration"), "{error}");
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(human_duration(200), "200 ms");
        assert_eq!(human_duration(1500), "1.5 s");
        assert_eq!(human_duration(10_000), "10 s");
        assert_eq!(human_duration(5 * 60_000), "5 min");
        assert_eq!(human_duration(2 * 3_600_000), "2 h");
        assert_eq!(human_duration(125 * 60_000), "2 h 5 min");
        assert_eq!(human_duration(3 * 86_400_000), "3 days");
        assert_eq!(human_duration(86_400_000), "1 day");
    }
}
