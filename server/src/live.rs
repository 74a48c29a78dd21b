//! The live feed: small change notices (a delivery's new state, an event taken in, a webhook
//! paused or disabled) for the UI's Server-Sent Events stream (`GET /api/admin/stream`, see
//! `routes::live`), which the pages refetch on instead of polling.
//!
//! - **One broadcast**: whoever changes something publishes a notice once, into one
//!   `tokio::sync::broadcast` channel; every open stream is a receiver of it. A change costs one
//!   send however many tabs are open, and no stream runs a query.
//! - **Slow readers** do not hold anyone up: a receiver that falls more than the channel's
//!   capacity behind is told `resync` (refetch everything) and goes on from the oldest notice
//!   still held.
//! - **Several instances (PostgreSQL)**: notices are also relayed to the other instances with
//!   `NOTIFY hookline_live` (batched, one statement per burst) and read back by the LISTEN
//!   connection the dispatcher already holds (`PgDb::spawn_listener`), so a stream sees changes
//!   whichever instance made them. With `HOOKLINE_PG_NOTIFY=off` (PgBouncer in transaction mode)
//!   nothing is relayed: a stream hears its own instance's changes at once, and is sent a
//!   `resync` every `BLIND_RESYNC` so the others' changes show within that time.
//! - **Limits**: at most `HOOKLINE_LIVE_STREAMS` streams at once, and
//!   `HOOKLINE_LIVE_STREAMS_PER_CALLER` per admin or token; past them, 503 (the page polls).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use app::model::LiveNotice;
use app::AppError;

use crate::db::{Db, PgDb};

/// How many notices a stream may fall behind before it is told to resync.
const CAPACITY: usize = 4096;

/// The relay's queue to the other instances; when full, they are told to resync.
const RELAY_QUEUE: usize = 4096;

/// The relay sends at most one burst of notices per window (one NOTIFY, more only past the
/// payload's size), instead of one per publishing call.
const RELAY_WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

/// PostgreSQL's NOTIFY payload must stay under 8000 bytes.
const RELAY_PAYLOAD_MAX: usize = 7000;

/// Without a relay between instances (PostgreSQL, NOTIFY off), how often streams are told to
/// resync, so changes made by the other instances show anyway.
const BLIND_RESYNC: std::time::Duration = std::time::Duration::from_secs(5);

/// The stream limits (`HOOKLINE_LIVE_STREAMS`, `HOOKLINE_LIVE_STREAMS_PER_CALLER`).
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub total: usize,
    pub per_caller: usize,
}

/// Cheap to clone; every clone publishes to the same streams.
#[derive(Clone)]
pub struct LiveFeed {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<LiveNotice>,
    /// To the other instances (PostgreSQL with NOTIFY on).
    relay: Option<mpsc::Sender<LiveNotice>>,
    /// Set when the relay's queue overflowed: the next relayed burst starts with a resync.
    relay_lost: AtomicBool,
    /// This instance's id, to skip its own relayed notices.
    instance: Arc<str>,
    /// Other instances change the data unheard (PostgreSQL with NOTIFY off): resync this often.
    blind_resync: Option<std::time::Duration>,
    limits: StreamLimits,
    streams: Arc<Semaphore>,
    per_caller: Mutex<HashMap<String, usize>>,
    /// Fires when the server shuts down: open streams end, so they do not hold it up.
    closing: CancellationToken,
}

impl LiveFeed {
    /// A feed for the streams of this instance; on PostgreSQL with NOTIFY, also relaying to (and,
    /// through `take_relayed`, from) the others.
    pub fn new(db: &Db, limits: StreamLimits) -> LiveFeed {
        let pg = db.postgres().filter(|pg| pg.notifies()).cloned();
        let relay = pg.map(|pg| {
            let (queue, inbox) = mpsc::channel(RELAY_QUEUE);
            tokio::spawn(relay_loop(pg, inbox));
            queue
        });
        let blind_resync = (db.postgres().is_some() && relay.is_none()).then_some(BLIND_RESYNC);
        Self::build(limits, relay, db.instance().unwrap_or_default(), blind_resync)
    }

    fn build(
        limits: StreamLimits,
        relay: Option<mpsc::Sender<LiveNotice>>,
        instance: &str,
        blind_resync: Option<std::time::Duration>,
    ) -> LiveFeed {
        let (sender, _) = broadcast::channel(CAPACITY);
        LiveFeed {
            inner: Arc::new(Inner {
                sender,
                relay,
                relay_lost: AtomicBool::new(false),
                instance: instance.into(),
                blind_resync,
                limits,
                streams: Arc::new(Semaphore::new(limits.total)),
                per_caller: Mutex::default(),
                closing: CancellationToken::new(),
            }),
        }
    }

    /// Tells every open stream (and, on PostgreSQL, the other instances) about `notices`.
    pub fn publish(&self, notices: impl IntoIterator<Item = LiveNotice>) {
        for notice in notices {
            self.relay(&notice);
            // An error only means that no stream is open.
            let _ = self.inner.sender.send(notice);
        }
    }

    /// Queues `notice` for the other instances, never waiting: when the queue is full the notice
    /// is dropped, and the others are told to resync once there is room again.
    fn relay(&self, notice: &LiveNotice) {
        let Some(relay) = &self.inner.relay else { return };
        if self.inner.relay_lost.load(Ordering::Relaxed) {
            if relay.try_send(LiveNotice::resync()).is_err() {
                return;
            }
            self.inner.relay_lost.store(false, Ordering::Relaxed);
        }
        if relay.try_send(notice.clone()).is_err() {
            self.inner.relay_lost.store(true, Ordering::Relaxed);
        }
    }

    /// Takes in a burst relayed by an instance (a NOTIFY payload), unless it is this one's own.
    pub fn take_relayed(&self, payload: &str) {
        let burst: Relayed = match serde_json::from_str(payload) {
            Ok(burst) => burst,
            Err(error) => {
                tracing::warn!(%error, "unreadable live notice from another instance; telling streams to resync");
                let _ = self.inner.sender.send(LiveNotice::resync());
                return;
            }
        };
        if burst.from == *self.inner.instance {
            return;
        }
        for notice in burst.notices {
            let _ = self.inner.sender.send(notice);
        }
    }

    /// A place for one more stream of `caller` (e.g. `admin:3`, `token:7`), or 503 past a limit.
    pub fn open_stream(&self, caller: String) -> Result<LiveStream, AppError> {
        let limits = self.inner.limits;
        let Ok(permit) = self.inner.streams.clone().try_acquire_owned() else {
            tracing::warn!(limit = limits.total, "refused a live stream: the server has as many open as it allows");
            return Err(AppError::Unavailable(format!(
                "this server has {} live streams open, its limit (HOOKLINE_LIVE_STREAMS); the page refreshes by \
                 polling instead",
                limits.total
            )));
        };
        {
            let mut open = relock(&self.inner.per_caller);
            let count = open.entry(caller.clone()).or_default();
            if *count >= limits.per_caller {
                return Err(AppError::Unavailable(format!(
                    "you have {} live streams open, the limit per admin or token \
                     (HOOKLINE_LIVE_STREAMS_PER_CALLER); close some tabs, or the page refreshes by polling instead",
                    limits.per_caller
                )));
            }
            *count += 1;
        }
        let resyncs =
            self.inner.blind_resync.map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
        Ok(LiveStream {
            receiver: self.inner.sender.subscribe(),
            resyncs,
            closing: self.inner.closing.clone(),
            _slot: Slot { feed: self.inner.clone(), caller, _permit: permit },
        })
    }

    /// How many streams are open (for tests and logs).
    pub fn open_streams(&self) -> usize {
        self.inner.limits.total - self.inner.streams.available_permits()
    }

    /// Ends every open stream (at shutdown: they would hold the graceful shutdown up otherwise).
    pub fn close(&self) {
        self.inner.closing.cancel();
    }
}

/// One open stream's receiver; dropping it frees its place.
pub struct LiveStream {
    receiver: broadcast::Receiver<LiveNotice>,
    /// See `BLIND_RESYNC`.
    resyncs: Option<tokio::time::Interval>,
    closing: CancellationToken,
    _slot: Slot,
}

impl LiveStream {
    /// The next notice; `resync` after falling behind; `None` once the server is closing.
    pub async fn next(&mut self) -> Option<LiveNotice> {
        let resync = async {
            match &mut self.resyncs {
                Some(ticks) => ticks.tick().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = self.closing.cancelled() => None,
            _ = resync => Some(LiveNotice::resync()),
            received = self.receiver.recv() => match received {
                Ok(notice) => Some(notice),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a live stream fell behind; it resyncs");
                    Some(LiveNotice::resync())
                }
                Err(broadcast::error::RecvError::Closed) => None,
            },
        }
    }
}

/// A stream's place in the limits, given back on drop.
struct Slot {
    feed: Arc<Inner>,
    caller: String,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = relock(&self.feed.per_caller);
        if let Some(count) = open.get_mut(&self.caller) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.caller);
            }
        }
    }
}

/// A burst of notices as relayed between instances.
#[derive(serde::Serialize, serde::Deserialize)]
struct Relayed {
    from: String,
    notices: Vec<LiveNotice>,
}

/// Relays this instance's notices to the others: whatever queued up meanwhile goes in one NOTIFY
/// (several when it would not fit in one payload).
async fn relay_loop(pg: PgDb, mut inbox: mpsc::Receiver<LiveNotice>) {
    let from = pg.instance().to_owned();
    let mut burst = Vec::new();
    while let Some(first) = inbox.recv().await {
        burst.push(first);
        while burst.len() < RELAY_QUEUE {
            match inbox.try_recv() {
                Ok(notice) => burst.push(notice),
                Err(_) => break,
            }
        }
        if let Err(error) = pg.notify_live(&payloads(&from, &burst)).await {
            if pg.is_closed() {
                return;
            }
            tracing::warn!(%error, "could not relay live notices to the other instances");
        }
        burst.clear();
        // At most one burst per window: under load every recorded batch and intake round
        // publishes, and a NOTIFY each was a round trip per few deliveries (PostgreSQL then
        // delivers each to every listener). What comes meanwhile waits for the next burst; after a
        // quiet spell the first notice still goes at once.
        tokio::time::sleep(RELAY_WINDOW).await;
    }
}

/// `notices` as NOTIFY payloads of at most `RELAY_PAYLOAD_MAX` bytes each.
fn payloads(from: &str, notices: &[LiveNotice]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current: Vec<LiveNotice> = Vec::new();
    let mut size = 0;
    for notice in notices {
        let length = serde_json::to_string(notice).map(|text| text.len() + 1).unwrap_or(0);
        if !current.is_empty() && size + length > RELAY_PAYLOAD_MAX - from.len() - 40 {
            payloads.push(encode(from, std::mem::take(&mut current)));
            size = 0;
        }
        current.push(notice.clone());
        size += length;
    }
    if !current.is_empty() {
        payloads.push(encode(from, current));
    }
    payloads
}

fn encode(from: &str, notices: Vec<LiveNotice>) -> String {
    serde_json::to_string(&Relayed { from: from.to_owned(), notices }).unwrap_or_default()
}

fn relock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookline_core::delivery::DeliveryState;

    fn feed(total: usize, per_caller: usize) -> LiveFeed {
        LiveFeed::build(StreamLimits { total, per_caller }, None, "this", None)
    }

    #[tokio::test]
    async fn every_stream_gets_each_notice_once() {
        let feed = feed(10, 10);
        let mut a = feed.open_stream("admin:1".into()).expect("a");
        let mut b = feed.open_stream("token:2".into()).expect("b");
        feed.publish([LiveNotice::event(7), LiveNotice::webhook(3, "paused")]);
        for stream in [&mut a, &mut b] {
            assert_eq!(stream.next().await, Some(LiveNotice::event(7)));
            assert_eq!(stream.next().await, Some(LiveNotice::webhook(3, "paused")));
        }
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_is_told_to_resync_then_goes_on() {
        let feed = feed(10, 10);
        let mut slow = feed.open_stream("admin:1".into()).expect("open");
        feed.publish((0..CAPACITY as i64 + 10).map(LiveNotice::event));
        assert_eq!(slow.next().await, Some(LiveNotice::resync()), "not an error");
        assert_eq!(slow.next().await, Some(LiveNotice::event(10)), "then the oldest notice still held");
    }

    #[tokio::test]
    async fn limits_count_open_streams_and_free_their_places_on_drop() {
        let feed = feed(3, 2);
        let a1 = feed.open_stream("admin:1".into()).expect("first");
        let _a2 = feed.open_stream("admin:1".into()).expect("second");
        let refused = feed.open_stream("admin:1".into()).err().expect("third for one caller");
        assert_eq!(refused.status_code(), 503);
        let _b1 = feed.open_stream("admin:2".into()).expect("another caller");
        assert_eq!(feed.open_streams(), 3);
        assert_eq!(feed.open_stream("admin:3".into()).err().expect("full").status_code(), 503);
        drop(a1);
        assert_eq!(feed.open_streams(), 2);
        feed.open_stream("admin:1".into()).expect("a place was freed");
    }

    #[tokio::test]
    async fn relayed_notices_are_taken_in_unless_they_are_this_instances_own() {
        let feed = feed(10, 10);
        let mut stream = feed.open_stream("admin:1".into()).expect("open");
        feed.take_relayed(&encode("this", vec![LiveNotice::event(1)]));
        feed.take_relayed(&encode("other", vec![LiveNotice::event(2)]));
        feed.take_relayed("not json");
        assert_eq!(stream.next().await, Some(LiveNotice::event(2)));
        assert_eq!(stream.next().await, Some(LiveNotice::resync()));
    }

    #[tokio::test]
    async fn without_a_relay_between_instances_streams_resync_now_and_then() {
        let every = std::time::Duration::from_millis(100);
        let blind = LiveFeed::build(StreamLimits { total: 10, per_caller: 10 }, None, "this", Some(every));
        let mut stream = blind.open_stream("admin:1".into()).expect("open");
        let started = std::time::Instant::now();
        assert_eq!(stream.next().await, Some(LiveNotice::resync()));
        assert!(started.elapsed() >= every);
        blind.publish([LiveNotice::event(1)]);
        assert_eq!(stream.next().await, Some(LiveNotice::event(1)), "notices still come at once");
        // A single instance (SQLite) hears everything: no resyncs.
        let mut alone = feed(10, 10).open_stream("admin:1".into()).expect("open");
        assert!(tokio::time::timeout(every * 3, alone.next()).await.is_err());
    }

    #[tokio::test]
    async fn closing_ends_every_stream() {
        let feed = feed(10, 10);
        let mut stream = feed.open_stream("admin:1".into()).expect("open");
        feed.close();
        assert_eq!(stream.next().await, None);
    }

    #[test]
    fn bursts_are_split_to_fit_a_notify_payload() {
        let notices: Vec<LiveNotice> =
            (0..1000).map(|id| LiveNotice::delivery(id, id * 1000, DeliveryState::Succeeded)).collect();
        let payloads = payloads("host-1-abcd", &notices);
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 8000, "{}", payload.len());
            let burst: Relayed = serde_json::from_str(payload).expect("json");
            assert_eq!(burst.from, "host-1-abcd");
            back.extend(burst.notices);
        }
        assert_eq!(back, notices, "nothing lost, nothing reordered");
    }
}
