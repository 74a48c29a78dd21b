//! Timestamps in Unleash's shape: RFC 3339 in UTC with milliseconds (`2024-10-03T11:09:53.225Z`).

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Unix milliseconds -> `2024-10-03T11:09:53.225Z`.
pub fn iso(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(RFC3339_MILLIS).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp (any offset) into unix milliseconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_millisecond_precision() {
        assert_eq!(iso(1_727_953_793_225), "2024-10-03T11:09:53.225Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_iso("2024-10-03T11:09:53.225Z"), Some(1_727_953_793_225));
        assert_eq!(parse_iso("2024-10-03T13:09:53.225+02:00"), Some(1_727_953_793_225));
        assert_eq!(parse_iso("yesterday"), None);
    }
}
