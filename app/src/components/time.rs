//! Formatting of the RFC 3339 timestamps the server sends.

/// `2026-11-28T10:17:53.123Z` -> `2026-11-28 10:17 UTC`; anything unexpected is shown as is.
pub fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(0..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) if rfc3339.ends_with('Z') => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// `2026-11-28T10:00` (a datetime-local input, whose times the pages show as UTC) -> RFC 3339.
pub fn local_to_rfc3339(value: &str) -> String {
    match value.len() {
        16 => format!("{value}:00Z"),
        19 => format!("{value}Z"),
        _ => value.to_string(),
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
