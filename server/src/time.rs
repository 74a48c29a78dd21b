//! Timestamps: the database keeps unix milliseconds; APIs and pages show RFC 3339 in UTC with
//! milliseconds, the shape Unleash uses (`2024-10-03T11:09:53.225Z`).

pub use hookline_core::timestamp::{iso, parse_iso};

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
