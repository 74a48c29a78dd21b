//! Formatting of the RFC 3339 timestamps the server sends.

/// `2026-11-28T10:17:53.123Z` -> `2026-11-28 10:17 UTC`; anything unexpected is shown as is.
pub fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(0..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) if rfc3339.ends_with('Z') => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(super::short_time("2026-11-28T10:17:53.123Z"), "2026-11-28 10:17 UTC");
        assert_eq!(super::short_time("garbage"), "garbage");
    }
}
