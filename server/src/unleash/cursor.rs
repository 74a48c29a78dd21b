//! What one catch-up poll fetches, apart from HTTP (see `client`) so it can be tested with a
//! scripted source: Unleash lists its events newest first; the poll pages back from the newest
//! until it reaches the cursor (an event at or below it), and keeps those above it, oldest first.
//!
//! The cursor is the highest Unleash event id the poller has taken in. With none (the first poll)
//! nothing is taken in: the cursor starts at Unleash's newest event, so turning catch-up on does
//! not replay the whole history to every webhook.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

/// Why a page could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("could not reach Unleash: {0}")]
    Unreachable(String),
    #[error("Unleash did not answer within {0}")]
    Timeout(String),
    #[error(
        "Unleash refused the token ({0}): HOOKLINE_UNLEASH_TOKEN must be an admin API token or an admin's personal access token"
    )]
    Refused(u16),
    #[error(
        "Unleash has no event API at HOOKLINE_UNLEASH_URL (404 on /api/admin/search/events and /api/admin/events)"
    )]
    NotFound,
    #[error("Unleash answered {0}")]
    Status(u16),
    #[error("Unleash's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("Unleash's answer is not an event list: {0}")]
    Malformed(String),
}

/// One page of Unleash's events, newest first.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub events: Vec<Value>,
    /// Whether a further page can be asked for (false: this endpoint has only one page).
    pub more: bool,
}

/// Unleash's event list.
#[async_trait]
pub trait EventSource: Send {
    /// Up to `limit` events, newest first, after skipping `offset`.
    async fn page(&mut self, offset: usize, limit: usize) -> Result<Page, FetchError>;
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// The first poll: the cursor starts at Unleash's newest event id (0 when it has none).
    Started { cursor: i64 },
    /// The events above the cursor, oldest first (each id once), and the cursor after them.
    Newer {
        events: Vec<Value>,
        cursor: i64,
        /// False when the poll stopped before reaching the cursor (the page cap, or an endpoint
        /// with one page): events between the cursor and the oldest fetched were not seen.
        complete: bool,
    },
}

/// The event's id: a positive integer, or the answer is not Unleash's.
pub fn event_id(event: &Value) -> Result<i64, FetchError> {
    match event.get("id").and_then(Value::as_i64) {
        Some(id) if id > 0 => Ok(id),
        _ => Err(FetchError::Malformed("an event without a positive integer id".into())),
    }
}

/// Fetches what is newer than `cursor`, `page_size` events a page, at most `max_pages` pages,
/// and with them the `lookback` ids at and below the cursor: Unleash numbers an event when its
/// transaction starts, so under concurrent writes event 429 can become visible after 430 has
/// been fetched and the cursor moved past it (seen with unleash-server 8.2 and four writers).
/// Those are fetched again on every poll; the intake de-duplicates on the id, so only the late
/// ones are new.
pub async fn fetch_newer(
    source: &mut dyn EventSource,
    cursor: Option<i64>,
    lookback: i64,
    page_size: usize,
    max_pages: usize,
) -> Result<Fetched, FetchError> {
    let Some(cursor) = cursor else {
        let page = source.page(0, 1).await?;
        let newest = page.events.iter().map(event_id).try_fold(0, |max, id| id.map(|id| max.max(id)))?;
        return Ok(Fetched::Started { cursor: newest });
    };
    let floor = cursor.saturating_sub(lookback.max(0));
    // By id: events shift to later pages while new ones arrive, so one may come twice.
    let mut newer = BTreeMap::new();
    let mut offset = 0;
    let mut complete = false;
    for _ in 0..max_pages.max(1) {
        let page = source.page(offset, page_size).await?;
        let mut reached = false;
        for event in &page.events {
            let id = event_id(event)?;
            if id > floor {
                newer.entry(id).or_insert_with(|| event.clone());
            } else {
                reached = true;
            }
        }
        // Unleash orders by creation time, then id: an event above the cursor may follow one
        // below it on the same page, so the page is read to its end before stopping.
        if reached || page.events.len() < page_size {
            complete = true;
            break;
        }
        if !page.more {
            break;
        }
        offset += page.events.len();
    }
    let next = newer.keys().next_back().copied().unwrap_or(cursor).max(cursor);
    Ok(Fetched::Newer { events: newer.into_values().collect(), cursor: next, complete })
}

/// Of `events` (oldest first, as `fetch_newer` answers them), those worth taking in: every one
/// above `cursor`, and of the lookback's repeats at or below it only those above `start` (the
/// cursor's first value: what was there before catch-up was turned on is never replayed) and
/// created within `window_ms` of the newest fetched (a late commit is seconds late; an older
/// event Hookline has pruned must not come back).
pub fn worth_taking(events: Vec<Value>, cursor: i64, start: Option<i64>, window_ms: i64) -> Vec<Value> {
    let created =
        |event: &Value| event.get("createdAt").and_then(Value::as_str).and_then(hookline_core::timestamp::parse_iso);
    let newest = events.iter().filter_map(created).max();
    events
        .into_iter()
        .filter(|event| {
            let id = event_id(event).unwrap_or(0);
            id > cursor
                || (start.is_none_or(|start| id > start)
                    && matches!((created(event), newest), (Some(at), Some(newest)) if at >= newest - window_ms))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A scripted Unleash: `ids` newest first, paged like the search endpoint (or, with
    /// `one_page`, like the older endpoint's last 100); records what was asked.
    struct Scripted {
        ids: Vec<i64>,
        one_page: bool,
        fail: Option<FetchError>,
        asked: Vec<(usize, usize)>,
    }

    impl Scripted {
        fn new(ids: &[i64]) -> Scripted {
            Scripted { ids: ids.to_vec(), one_page: false, fail: None, asked: Vec::new() }
        }
    }

    #[async_trait]
    impl EventSource for Scripted {
        async fn page(&mut self, offset: usize, limit: usize) -> Result<Page, FetchError> {
            self.asked.push((offset, limit));
            if let Some(error) = self.fail.clone() {
                return Err(error);
            }
            let events = self.ids.iter().skip(offset).take(limit).map(|id| json!({"id": id, "type": "t"})).collect();
            Ok(Page { events, more: !self.one_page })
        }
    }

    fn ids(fetched: &Fetched) -> Vec<i64> {
        match fetched {
            Fetched::Newer { events, .. } => events.iter().map(|e| event_id(e).unwrap_or_default()).collect(),
            Fetched::Started { .. } => Vec::new(),
        }
    }

    #[tokio::test]
    async fn first_poll_starts_at_the_newest_event_without_taking_any() {
        let mut unleash = Scripted::new(&[42, 41, 40]);
        assert_eq!(fetch_newer(&mut unleash, None, 0, 10, 5).await, Ok(Fetched::Started { cursor: 42 }));
        assert_eq!(unleash.asked, vec![(0, 1)], "one event is enough to know the newest");

        let mut empty = Scripted::new(&[]);
        assert_eq!(fetch_newer(&mut empty, None, 0, 10, 5).await, Ok(Fetched::Started { cursor: 0 }));
    }

    #[tokio::test]
    async fn pages_back_until_the_cursor_and_returns_oldest_first() {
        let mut unleash = Scripted::new(&[9, 8, 7, 6, 5, 4, 3]);
        let fetched = fetch_newer(&mut unleash, Some(4), 0, 2, 10).await.expect("fetch");
        assert_eq!(ids(&fetched), vec![5, 6, 7, 8, 9]);
        assert!(matches!(fetched, Fetched::Newer { cursor: 9, complete: true, .. }));
        assert_eq!(unleash.asked, vec![(0, 2), (2, 2), (4, 2)], "stops at the page holding the cursor");
    }

    #[tokio::test]
    async fn nothing_new_keeps_the_cursor() {
        let mut unleash = Scripted::new(&[4, 3]);
        let fetched = fetch_newer(&mut unleash, Some(4), 0, 10, 10).await.expect("fetch");
        assert_eq!(fetched, Fetched::Newer { events: Vec::new(), cursor: 4, complete: true });
    }

    #[tokio::test]
    async fn a_gap_below_a_newer_event_is_filled() {
        // The webhook brought 1, 2 and 4: the cursor is the poller's own, so 3 is still above it.
        let mut unleash = Scripted::new(&[4, 3, 2, 1]);
        let fetched = fetch_newer(&mut unleash, Some(2), 0, 100, 10).await.expect("fetch");
        assert_eq!(ids(&fetched), vec![3, 4]);
    }

    #[tokio::test]
    async fn an_event_listed_after_an_older_one_on_the_same_page_is_kept() {
        // Ordered by creation time: 7 was created before 5 was (a longer transaction).
        let mut unleash = Scripted::new(&[6, 5, 7, 4]);
        let fetched = fetch_newer(&mut unleash, Some(5), 0, 10, 10).await.expect("fetch");
        assert_eq!(ids(&fetched), vec![6, 7]);
    }

    #[tokio::test]
    async fn events_shifted_onto_the_next_page_come_once() {
        struct Shifting(usize);
        #[async_trait]
        impl EventSource for Shifting {
            async fn page(&mut self, offset: usize, _limit: usize) -> Result<Page, FetchError> {
                self.0 += 1;
                // Between the two requests event 12 arrived: 10 moved onto the second page.
                let all: &[i64] = if self.0 == 1 { &[11, 10, 9, 8] } else { &[12, 11, 10, 9, 8] };
                let events = all.iter().skip(offset).take(2).map(|id| json!({"id": id})).collect();
                Ok(Page { events, more: true })
            }
        }
        let fetched = fetch_newer(&mut Shifting(0), Some(8), 0, 2, 10).await.expect("fetch");
        assert_eq!(ids(&fetched), vec![9, 10, 11]);
    }

    #[tokio::test]
    async fn the_page_cap_bounds_a_poll_and_says_it_stopped_short() {
        let all: Vec<i64> = (1..=1000).rev().collect();
        let mut unleash = Scripted::new(&all);
        let fetched = fetch_newer(&mut unleash, Some(1), 0, 10, 3).await.expect("fetch");
        assert_eq!(unleash.asked.len(), 3);
        assert_eq!(ids(&fetched).len(), 30);
        assert!(matches!(fetched, Fetched::Newer { cursor: 1000, complete: false, .. }));
    }

    #[tokio::test]
    async fn a_single_page_endpoint_is_read_once() {
        let all: Vec<i64> = (1..=300).rev().collect();
        let mut unleash = Scripted { one_page: true, ..Scripted::new(&all) };
        let fetched = fetch_newer(&mut unleash, Some(100), 0, 100, 10).await.expect("fetch");
        assert_eq!(unleash.asked, vec![(0, 100)]);
        assert!(matches!(fetched, Fetched::Newer { cursor: 300, complete: false, .. }));
        // A short history is read whole.
        let mut short = Scripted { one_page: true, ..Scripted::new(&[3, 2, 1]) };
        let fetched = fetch_newer(&mut short, Some(0), 0, 100, 10).await.expect("fetch");
        assert!(matches!(fetched, Fetched::Newer { cursor: 3, complete: true, .. }));
    }

    #[tokio::test]
    async fn errors_and_malformed_events_fail_the_poll() {
        let mut down = Scripted { fail: Some(FetchError::Status(500)), ..Scripted::new(&[1]) };
        assert_eq!(fetch_newer(&mut down, Some(0), 0, 10, 10).await, Err(FetchError::Status(500)));

        struct NoIds;
        #[async_trait]
        impl EventSource for NoIds {
            async fn page(&mut self, _offset: usize, _limit: usize) -> Result<Page, FetchError> {
                Ok(Page { events: vec![json!({"id": "7"}), json!({"type": "x"})], more: true })
            }
        }
        assert!(matches!(fetch_newer(&mut NoIds, Some(0), 0, 10, 10).await, Err(FetchError::Malformed(_))));
        assert!(matches!(fetch_newer(&mut NoIds, None, 0, 10, 10).await, Err(FetchError::Malformed(_))));
    }

    #[tokio::test]
    async fn an_event_that_became_visible_late_below_the_cursor_is_fetched_again() {
        // 429 was numbered before 430 but committed after the poll that moved the cursor to 430.
        let mut unleash = Scripted::new(&[431, 430, 429, 428]);
        let fetched = fetch_newer(&mut unleash, Some(430), 3, 10, 10).await.expect("fetch");
        assert_eq!(ids(&fetched), vec![428, 429, 430, 431], "the lookback's ids come again (the intake drops repeats)");
        assert!(matches!(fetched, Fetched::Newer { cursor: 431, complete: true, .. }));
        let mut quiet = Scripted::new(&[430, 429, 428, 427, 426]);
        let fetched = fetch_newer(&mut quiet, Some(430), 2, 10, 10).await.expect("fetch");
        assert_eq!(ids(&fetched), vec![429, 430], "only the lookback, and the cursor stays");
        assert!(matches!(fetched, Fetched::Newer { cursor: 430, .. }));
    }
}

#[cfg(test)]
mod repeats {
    use super::*;
    use serde_json::json;

    fn at(id: i64, second: i64) -> Value {
        json!({"id": id, "createdAt": hookline_core::timestamp::iso(1_750_000_000_000 + second * 1000)})
    }

    fn ids(events: &[Value]) -> Vec<i64> {
        events.iter().map(|e| event_id(e).unwrap_or_default()).collect()
    }

    #[test]
    fn repeats_are_kept_only_when_recent_and_after_the_start() {
        let events = vec![at(1, 0), at(428, 595), at(429, 599), at(430, 600), at(431, 601)];
        // 429 came late: it and 428 are recent; 1 is ten minutes older than the newest.
        assert_eq!(ids(&worth_taking(events.clone(), 430, None, 60_000)), vec![428, 429, 430, 431]);
        // Catch-up started at 428: nothing at or below it is taken.
        assert_eq!(ids(&worth_taking(events.clone(), 430, Some(428), 60_000)), vec![429, 430, 431]);
        // Above the cursor: always, however old.
        assert_eq!(ids(&worth_taking(vec![at(500, 0), at(501, 10_000)], 499, None, 60_000)), vec![500, 501]);
    }
}
