//! Event intake: events and their deliveries are written in one transaction, so an accepted event
//! always has its deliveries, and a crash either keeps both or neither.

use std::collections::{HashMap, HashSet};

use hookline_core::delivery::AttemptTrigger;
use hookline_core::event::{Event, ParsedEvent};
use serde::Serialize;
use tokio::sync::oneshot;

use super::deliveries::DueDelivery;
use super::handoff::{self, Reservation};
use super::webhooks::Webhook;
use super::writer::WriteJob;
use super::{json_ids, SqliteDb, StoreError};

/// An event ready to store: `id` is the client's, or None to assign one.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Option<i64>,
    /// The fields the columns and the matching read.
    pub event: Event,
    /// The JSON stored and sent: the event as received (see `ParsedEvent::received`). Rendered by
    /// the request's task, so the write queue's serial path only binds it.
    pub payload: String,
    pub created_at_ms: i64,
    pub source: &'static str,
    /// A webhook that must not get this event even if it subscribes to it: the one an operational
    /// event is about (see `dispatcher::notices`).
    pub exclude_webhook: Option<i64>,
}

impl NewEvent {
    /// Whether `webhook` gets this event: it takes it, and it is not the excluded one.
    pub fn goes_to(&self, webhook: &Webhook) -> bool {
        self.exclude_webhook != Some(webhook.id) && webhook.takes(&self.event)
    }

    /// An event received through the intake, stored as it came.
    pub fn received(parsed: ParsedEvent, source: &'static str) -> Self {
        // Serialising a JSON object cannot fail.
        let payload = serde_json::to_string(&parsed.received).unwrap_or_default();
        NewEvent {
            id: parsed.id,
            event: parsed.event,
            payload,
            created_at_ms: parsed.created_at_ms,
            source,
            exclude_webhook: None,
        }
    }

    /// An event Hookline makes itself (a test send): Unleash's key order. Its id is assigned.
    pub fn made(event: Event, created_at_ms: i64, source: &'static str) -> Self {
        NewEvent { id: None, payload: event.to_json(), event, created_at_ms, source, exclude_webhook: None }
    }
}

/// What the intake stored for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    /// False when the client's id had been seen before: nothing new was stored.
    pub created: bool,
    pub deliveries: usize,
}

/// A stored event, for lists: without its payload, the largest column (see `Db::event_payload`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub feature_name: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub created_by: String,
    pub source: String,
    pub created_at: i64,
    pub received_at: i64,
}

/// A new delivery id for the `webhook-id` header: `msg_` and 22 base-62 characters (~131 bits).
pub fn new_delivery_uid() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let tail: String = (0..22).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("msg_{tail}")
}

/// One intake request waiting for the group commit.
pub(super) struct IntakeJob {
    pub(super) events: Vec<NewEvent>,
    pub(super) reply: oneshot::Sender<Result<Vec<StoredEvent>, StoreError>>,
}

impl std::fmt::Debug for IntakeJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeJob").field("events", &self.events.len()).finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Stores events and one delivery per matching enabled webhook, atomically, and returns once
    /// they are committed; `Webhook::takes` decides which webhooks an event goes to.
    ///
    /// Group commit: concurrent calls are written by the write queue, several requests per
    /// transaction (see `writer`); each caller still gets its answer only after its events and
    /// their deliveries are committed.
    pub async fn insert_events(&self, events: Vec<NewEvent>) -> Result<Vec<StoredEvent>, StoreError> {
        self.submit(|reply| WriteJob::Intake(IntakeJob { events, reply })).await
    }

    /// Stores a test event (a catalog sample) and one single-attempt delivery to `webhook_id`;
    /// `audit` is recorded with the delivery's id in the same transaction.
    pub async fn insert_test_delivery(
        &self,
        webhook_id: i64,
        new: &mut NewEvent,
        audit: &super::audit::NewAudit,
    ) -> Result<(i64, i64), sqlx::Error> {
        let now = self.now_ms();
        let mut tx = self.write.begin().await?;
        let id = insert_event(&mut tx, None, new, now).await?.unwrap_or_default();
        new.event.id = id;
        let delivery =
            insert_delivery(&mut tx, webhook_id, id, &new.event.event_type, now, AttemptTrigger::Test, true).await?;
        super::audit::insert(&mut tx, &audit.clone().with("deliveryId", delivery)).await?;
        let committed = tx.commit().await;
        // The write queue assigns event ids itself: it reads them again after this one.
        self.changes.event_inserted();
        committed?;
        Ok((id, delivery))
    }

    /// The stored event JSON (Unleash format, without its id, which is the row's).
    pub async fn event_payload(&self, id: i64) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("select payload from events where id = ?").bind(id).fetch_optional(&self.read).await
    }
}

/// The highest event id ever used: AUTOINCREMENT's high-water mark.
pub(super) const EVENTS_HIGH_WATER: &str =
    "select max(coalesce((select seq from sqlite_sequence where name = 'events'), 0),
                coalesce((select max(id) from events), 0))";

/// Inserts the events of a JSON array of [`GroupRow`]s (`$rows`), received at `?2`.
macro_rules! insert_events_from {
    ($rows:literal) => {
        concat!(
            "insert into events (id, type, payload, feature_name, project, environment, created_by, source,
                created_at, received_at)
             select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                value ->> 7, value ->> 8, ?2
             from json_each(",
            $rows,
            ") where true order by key"
        )
    };
}

/// Inserts the deliveries of a JSON array of `[uid, webhook_id, event_id, event_type]` (`$rows`),
/// due at `?2`.
macro_rules! insert_deliveries_from {
    ($rows:literal) => {
        concat!(
            "insert into deliveries (uid, webhook_id, event_id, event_type, state, next_attempt_at, next_trigger,
                single_attempt, created_at, updated_at, lease_until)
             select value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'pending', ?2, 'scheduled', 0, ?2, ?2,
                    value ->> 4
             from json_each(",
            $rows,
            ") order by key
             returning id, uid, lease_until is not null"
        )
    };
}

/// What the write queue remembers about events and webhooks between rounds (see `writer::Caches`).
pub(super) struct IntakeCache<'a> {
    /// The enabled webhooks, current as of this round.
    pub webhooks: &'a [Webhook],
    /// The next id to assign, current as of this round (None: the ids are exhausted).
    pub next_id: Option<i64>,
}

/// Room the dispatcher granted this round's new deliveries (see `db::handoff`), and their lease.
pub(super) struct IntakeLease<'a> {
    pub reservation: &'a Reservation,
    pub lease_until: i64,
}

/// What one intake round stored: each job's results, the next event id to assign, the
/// deliveries leased to the dispatcher (to hand over once committed), and whether any were left
/// for a claim.
pub(super) struct IntakeWritten {
    pub stored: Vec<Vec<StoredEvent>>,
    pub next_id: Option<i64>,
    pub leased: Vec<DueDelivery>,
    pub unleased: bool,
}

/// Writes the events of `jobs` and their deliveries in the caller's transaction; returns each
/// job's results and the next event id to assign.
///
/// Ids are assigned here, in request order, exactly as AUTOINCREMENT would assign them one insert
/// at a time (one above the highest id ever used, including client ids stored earlier in the
/// group), so that the whole group takes one or two statements. Assigned ids go in with a plain
/// insert: should another writer have used one meanwhile, the insert fails and the round is
/// retried with fresh state, rather than an event being taken for a duplicate. Client ids go in
/// with `on conflict do nothing`: one seen before (in the table, or earlier in the group) stores
/// nothing and reports `created: false`.
///
/// With `lease`, each webhook's first new deliveries, up to the room granted, go in leased to the
/// dispatcher (none of a webhook that is paused, rate-limited or ordered: the claim applies those
/// controls), and come back to be handed over after the commit.
pub(super) fn write_intake(
    tx: &rusqlite::Connection,
    jobs: &[&IntakeJob],
    cache: IntakeCache<'_>,
    now: i64,
    lease: Option<IntakeLease<'_>>,
) -> Result<IntakeWritten, StoreError> {
    // Assign the ids and render the rows for json_each.
    let mut next = cache.next_id;
    let mut ids: Vec<Vec<i64>> = Vec::with_capacity(jobs.len());
    let mut assigned = Vec::new();
    let mut given = Vec::new();
    for job in jobs {
        let mut job_ids = Vec::with_capacity(job.events.len());
        for new in &job.events {
            let id = match new.id {
                Some(id) => {
                    next = next.map(|n| n.max(id.saturating_add(1)));
                    if id == i64::MAX {
                        next = None;
                    }
                    id
                }
                None => {
                    // Where SQLite's AUTOINCREMENT would fail with SQLITE_FULL.
                    let id = next.ok_or(StoreError::IdsExhausted)?;
                    next = id.checked_add(1);
                    id
                }
            };
            let event = &new.event;
            let row = GroupRow(
                id,
                &event.event_type,
                &new.payload,
                event.feature_name.as_deref(),
                event.project.as_deref(),
                event.environment.as_deref(),
                &event.created_by,
                new.source,
                new.created_at_ms,
            );
            if new.id.is_some() {
                given.push(row)
            } else {
                assigned.push(row)
            }
            job_ids.push(id);
        }
        ids.push(job_ids);
    }
    let encode = |e: serde_json::Error| StoreError::Sqlx(sqlx::Error::Encode(Box::new(e)));
    let assigned_json = serde_json::to_string(&assigned).map_err(encode)?;
    // Which events are new: every assigned id, and the client ids the insert took (the first
    // occurrence of an id in the group).
    let mut created: HashSet<i64> = assigned.iter().map(|row| row.0).collect();
    if !given.is_empty() {
        let given_json = serde_json::to_string(&given).map_err(encode)?;
        tx.prepare_cached(insert_events_from!("?1"))?.execute(rusqlite::params![assigned_json, now])?;
        let mut insert_given =
            tx.prepare_cached(concat!(insert_events_from!("?1"), " on conflict (id) do nothing returning id"))?;
        for inserted in insert_given.query_map(rusqlite::params![given_json, now], |row| row.get::<_, i64>(0))? {
            created.insert(inserted?);
        }
    }

    // The deliveries of the events that are new; per uid, its event and its webhook's version.
    let mut deliveries = Vec::new();
    let mut sources: HashMap<String, (&NewEvent, i64, i64, i64)> = HashMap::new();
    let mut results = Vec::with_capacity(jobs.len());
    for (job, job_ids) in jobs.iter().zip(ids) {
        let mut stored = Vec::with_capacity(job_ids.len());
        for (new, id) in job.events.iter().zip(job_ids) {
            let is_new = created.remove(&id);
            let mut count = 0;
            if is_new {
                for webhook in cache.webhooks.iter().filter(|w| new.goes_to(w)) {
                    let uid = new_delivery_uid();
                    if lease.is_some() {
                        sources.insert(uid.clone(), (new, id, webhook.id, webhook.version));
                    }
                    deliveries.push((uid, webhook.id, id, new.event.event_type.as_str(), None::<i64>));
                    count += 1;
                }
            }
            stored.push(StoredEvent { id, created: is_new, deliveries: count });
        }
        results.push(stored);
    }
    if let Some(lease) = &lease {
        // Room only for webhooks free of controls, as they are in this transaction (the breaker
        // writes `paused_until` without the intake's cache knowing).
        let granted = json_ids(&lease.reservation.granted().keys().copied().collect::<Vec<i64>>());
        let mut free = tx.prepare_cached(
            "select id from webhooks where id in (select value from json_each(?1))
             and enabled = 1 and paused_until is null and rate_limit is null and ordered = 0",
        )?;
        let room: HashMap<i64, usize> = free
            .query_map([granted], |row| row.get::<_, i64>(0))?
            .collect::<Result<Vec<i64>, _>>()?
            .into_iter()
            .map(|webhook| (webhook, lease.reservation.granted().get(&webhook).copied().unwrap_or(0)))
            .collect();
        let webhook_ids: Vec<i64> = deliveries.iter().map(|d| d.1).collect();
        for (row, leased) in deliveries.iter_mut().zip(handoff::pick(&webhook_ids, room)) {
            if leased {
                row.4 = Some(lease.lease_until);
            }
        }
    }
    let deliveries_json = serde_json::to_string(&deliveries).map_err(encode)?;
    if given.is_empty() {
        // The usual case: every event is new; their ids were assigned above.
        tx.prepare_cached(insert_events_from!("?1"))?.execute(rusqlite::params![assigned_json, now])?;
    }
    let mut written = IntakeWritten { stored: results, next_id: next, leased: Vec::new(), unleased: false };
    if !deliveries.is_empty() {
        let mut insert = tx.prepare_cached(insert_deliveries_from!("?1"))?;
        let rows = insert.query_map(rusqlite::params![deliveries_json, now], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, bool>(2)?))
        })?;
        for row in rows {
            let (id, uid, leased) = row?;
            if !leased {
                written.unleased = true;
                continue;
            }
            let Some(&(new, event_id, webhook_id, webhook_version)) = sources.get(&uid) else { continue };
            written.leased.push(DueDelivery::fresh(
                id,
                uid,
                webhook_id,
                webhook_version,
                event_id,
                new.payload.clone(),
            ));
        }
    }
    Ok(written)
}

/// One event as a row of the group insert: a JSON array read back with `value ->> n`, in the
/// order id, type, payload, feature_name, project, environment, created_by, source, created_at.
#[derive(Serialize)]
struct GroupRow<'a>(i64, &'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str, &'a str, i64);

/// Inserts an event; with a client id that exists already, inserts nothing and returns None.
async fn insert_event(
    tx: &mut sqlx::SqliteConnection,
    id: Option<i64>,
    new: &NewEvent,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let event = &new.event;
    sqlx::query_scalar(
        "insert into events (id, type, payload, feature_name, project, environment, created_by, source, created_at, received_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing returning id",
    )
    .bind(id)
    .bind(&event.event_type)
    .bind(&new.payload)
    .bind(&event.feature_name)
    .bind(&event.project)
    .bind(&event.environment)
    .bind(&event.created_by)
    .bind(new.source)
    .bind(new.created_at_ms)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
}

async fn insert_delivery(
    tx: &mut sqlx::SqliteConnection,
    webhook_id: i64,
    event_id: i64,
    event_type: &str,
    now: i64,
    trigger: AttemptTrigger,
    single_attempt: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into deliveries (uid, webhook_id, event_id, event_type, state, next_attempt_at, next_trigger, single_attempt, created_at, updated_at)
         values (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) returning id",
    )
    .bind(new_delivery_uid())
    .bind(webhook_id)
    .bind(event_id)
    .bind(event_type)
    .bind(now)
    .bind(trigger)
    .bind(single_attempt)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    fn job(events: Vec<NewEvent>) -> IntakeJob {
        IntakeJob { events, reply: oneshot::channel().0 }
    }

    /// Requests that exercise id assignment: auto ids, client ids above the high-water mark,
    /// a client id repeated within the group, one stored before, and one equal to an id the
    /// group assigned itself.
    fn requests() -> Vec<Vec<NewEvent>> {
        use testing::event;
        vec![
            vec![event(None, "feature-created", "a"), event(Some(100), "feature-created", "b")],
            vec![event(None, "feature-archived", "c"), event(Some(100), "feature-created", "b-again")],
            vec![event(Some(50), "feature-created", "stored-before")],
            vec![event(Some(101), "feature-created", "d"), event(None, "feature-created", "e")],
            vec![event(None, "feature-updated", "f")],
        ]
    }

    async fn contents(db: &SqliteDb) -> (Vec<(i64, String, String, Option<String>)>, Vec<(i64, i64, String)>, i64) {
        let events = sqlx::query_as("select id, type, payload, feature_name from events order by id")
            .fetch_all(&db.read)
            .await
            .expect("events");
        let deliveries = sqlx::query_as("select webhook_id, event_id, state from deliveries order by id")
            .fetch_all(&db.read)
            .await
            .expect("deliveries");
        let seq = sqlx::query_scalar("select seq from sqlite_sequence where name = 'events'")
            .fetch_one(&db.read)
            .await
            .expect("sequence");
        (events, deliveries, seq)
    }

    /// The intake before group commit: one transaction per request, one statement per row, ids
    /// from AUTOINCREMENT. The reference the group commit must match.
    async fn one_by_one(db: &SqliteDb, job: &IntakeJob) -> Vec<StoredEvent> {
        let now = crate::time::now_ms();
        let mut tx = db.write.begin().await.expect("begin");
        let webhooks = crate::db::webhooks::enabled_webhooks(&mut tx, &db.key).await.expect("webhooks");
        let mut stored = Vec::new();
        for new in &job.events {
            let inserted = insert_event(&mut tx, new.id, new, now).await.expect("insert");
            let (id, created) = match new.id {
                Some(id) => (id, inserted.is_some()),
                None => (inserted.expect("assigned id"), true),
            };
            let mut event = new.event.clone();
            event.id = id;
            let mut deliveries = 0;
            if created {
                for webhook in webhooks.iter().filter(|w| w.takes(&event)) {
                    insert_delivery(&mut tx, webhook.id, id, &event.event_type, now, AttemptTrigger::Scheduled, false)
                        .await
                        .expect("delivery");
                    deliveries += 1;
                }
            }
            stored.push(StoredEvent { id, created, deliveries });
        }
        tx.commit().await.expect("commit");
        stored
    }

    /// One transaction for many requests stores and answers exactly what one transaction per
    /// request, with SQLite assigning the ids, does.
    #[tokio::test]
    async fn a_group_commit_equals_one_request_at_a_time() {
        let mut outcomes = Vec::new();
        let mut stored = Vec::new();
        for grouped in [true, false] {
            let (_dir, db) = testing::open().await;
            testing::webhook(&db, &["feature-created"]).await;
            testing::webhook(&db, &["feature-created", "feature-archived"]).await;
            let before = db.insert_events(vec![testing::event(Some(50), "feature-created", "x")]).await;
            assert_eq!(before.expect("insert")[0], StoredEvent { id: 50, created: true, deliveries: 2 });
            let jobs: Vec<IntakeJob> = requests().into_iter().map(job).collect();
            let results = if grouped {
                let mut conn = db.write.acquire().await.expect("acquire");
                let jobs: Vec<&IntakeJob> = jobs.iter().collect();
                let webhooks = crate::db::webhooks::enabled_webhooks(&mut conn, &db.key).await.expect("webhooks");
                let high_water: i64 = sqlx::query_scalar(EVENTS_HIGH_WATER).fetch_one(&mut *conn).await.expect("ids");
                let cache = IntakeCache { webhooks: &webhooks, next_id: Some(high_water + 1) };
                let now = crate::time::now_ms();
                let mut statements = super::super::writer::Statements::default();
                let written = super::super::writer::in_transaction(&mut conn, &mut statements, |tx| {
                    write_intake(tx, &jobs, cache, now, None)
                })
                .await
                .expect("group");
                written.stored
            } else {
                let mut results = Vec::new();
                for job in &jobs {
                    results.push(one_by_one(&db, job).await);
                }
                results
            };
            outcomes.push(results);
            stored.push(contents(&db).await);
        }
        let expected = vec![
            vec![
                StoredEvent { id: 51, created: true, deliveries: 2 },
                StoredEvent { id: 100, created: true, deliveries: 2 },
            ],
            vec![
                StoredEvent { id: 101, created: true, deliveries: 1 },
                StoredEvent { id: 100, created: false, deliveries: 0 },
            ],
            vec![StoredEvent { id: 50, created: false, deliveries: 0 }],
            vec![
                StoredEvent { id: 101, created: false, deliveries: 0 },
                StoredEvent { id: 102, created: true, deliveries: 2 },
            ],
            vec![StoredEvent { id: 103, created: true, deliveries: 0 }],
        ];
        assert_eq!(outcomes[1], expected, "one at a time");
        assert_eq!(outcomes[0], expected, "grouped");
        assert_eq!(stored[0], stored[1]);
        let names: Vec<Option<String>> = stored[0].0.iter().map(|e| e.3.clone()).collect();
        let names: Vec<Option<&str>> = names.iter().map(|n| n.as_deref()).collect();
        assert_eq!(names, [Some("x"), Some("a"), Some("b"), Some("c"), Some("e"), Some("f")]);
        assert_eq!(stored[0].2, 103);
        let payload: Event = serde_json::from_str(&stored[0].0[1].2).expect("payload");
        assert_eq!(payload.feature_name.as_deref(), Some("a"));
    }

    /// The public path: concurrent requests, each answered with its own ids.
    #[tokio::test]
    async fn concurrent_requests_each_get_their_own_answer() {
        let (_dir, db) = testing::open().await;
        testing::webhook(&db, &["feature-created"]).await;
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..50_i64 {
            let db = db.clone();
            tasks.spawn(async move {
                let events = vec![
                    testing::event(Some(10_000 * (n + 1)), "feature-created", "a"),
                    testing::event(None, "feature-created", "b"),
                ];
                (n, db.insert_events(events).await.expect("insert"))
            });
        }
        let mut auto_ids = HashSet::new();
        while let Some(done) = tasks.join_next().await {
            let (n, stored) = done.expect("task");
            // Far apart, so the ids assigned after one (one up from it) never reach another.
            assert_eq!(stored[0], StoredEvent { id: 10_000 * (n + 1), created: true, deliveries: 1 });
            assert!(stored[1].created && stored[1].deliveries == 1);
            assert!(auto_ids.insert(stored[1].id), "an id answered twice");
        }
        let count: i64 =
            sqlx::query_scalar("select count(*) from deliveries").fetch_one(&db.read).await.expect("count");
        assert_eq!(count, 100);
    }

    /// The write queue caches the enabled webhooks and the next event id: every change to a
    /// webhook, and an event stored outside the queue (a test send), show in the very next
    /// request.
    #[tokio::test]
    async fn webhook_changes_and_test_sends_show_in_the_next_request() {
        let (_dir, db) = testing::open().await;
        let publish = |name: &'static str| {
            let db = db.clone();
            async move {
                let stored = db.insert_events(vec![testing::event(None, "feature-created", name)]);
                stored.await.expect("insert").remove(0)
            }
        };
        assert_eq!(publish("none").await.deliveries, 0);
        let first = testing::webhook(&db, &["feature-created"]).await;
        assert_eq!(publish("one").await.deliveries, 1);
        let second = testing::webhook(&db, &["feature-created"]).await;
        assert_eq!(publish("two").await.deliveries, 2);
        db.set_webhook_enabled(first.id, false, &testing::audit()).await.expect("disable");
        assert_eq!(publish("enabled one").await.deliveries, 1);
        let mut spec = app::model::WebhookSpec {
            description: String::new(),
            url: second.url.clone(),
            enabled: true,
            content_type: second.content_type.clone(),
            authorization: None,
            headers: second.headers.clone(),
            body_template: None,
            events: vec!["feature-archived".into()],
            projects: Vec::new(),
            environments: Vec::new(),
            retry_policy: second.retry_policy,
            rate_limit: None,
            ordered: false,
        };
        let updated = db.update_webhook(second.id, second.version, &spec, &testing::audit()).await.expect("update");
        let updated = updated.expect("at the version it was read");
        assert_eq!(publish("unsubscribed").await.deliveries, 0);
        spec.events = vec!["feature-created".into()];
        let stale = db.update_webhook(second.id, second.version, &spec, &testing::audit()).await.expect("update");
        assert!(stale.is_none(), "an update based on an old version changes nothing");
        assert_eq!(publish("still unsubscribed").await.deliveries, 0);
        db.update_webhook(second.id, updated.version, &spec, &testing::audit())
            .await
            .expect("update")
            .expect("current version");
        assert_eq!(publish("subscribed again").await.deliveries, 1);
        db.delete_webhook(second.id, &testing::audit()).await.expect("delete");
        assert_eq!(publish("deleted").await.deliveries, 0);

        db.set_webhook_enabled(first.id, true, &testing::audit()).await.expect("enable");
        let before = publish("before").await.id;
        let mut sample = testing::event(None, "feature-created", "test send");
        let (test_id, _) = db.insert_test_delivery(first.id, &mut sample, &testing::audit()).await.expect("test send");
        assert_eq!(test_id, before + 1);
        let after = publish("after").await;
        assert_eq!((after.id, after.created, after.deliveries), (test_id + 1, true, 1));
    }

    /// Once the id `i64::MAX` is used, an event without an id cannot get one: the write queue says
    /// so in its own words (not as a borrowed sqlx error), and the next request still works.
    #[tokio::test]
    async fn exhausted_event_ids_are_reported_as_such() {
        let (_dir, db) = testing::open().await;
        db.insert_events(vec![testing::event(Some(i64::MAX), "feature-created", "last")]).await.expect("the last id");
        let refused = db.insert_events(vec![testing::event(None, "feature-created", "one more")]).await;
        assert!(matches!(refused, Err(StoreError::IdsExhausted)), "{refused:?}");
        let given = db.insert_events(vec![testing::event(Some(7), "feature-created", "a client id")]).await;
        assert_eq!(given.expect("a client id still fits")[0].id, 7);
    }

    /// The intake leases new deliveries to the dispatcher within the room it grants, and none of
    /// a paused webhook; the rest are committed unleased, for a claim.
    #[tokio::test]
    async fn the_intake_leases_fresh_deliveries_within_the_room_granted() {
        let (_dir, db) = testing::open().await;
        let plain = testing::webhook(&db, &["feature-created"]).await.id;
        let paused = testing::webhook(&db, &["feature-created"]).await.id;
        sqlx::query("update webhooks set paused_until = 1 where id = ?")
            .bind(paused)
            .execute(&db.write)
            .await
            .expect("pause");
        let fake = std::sync::Arc::new(crate::db::handoff::Fake { room: 2, ..Default::default() });
        db.handoff.set(Some(fake.clone()));
        let events = (0..3).map(|n| testing::event(None, "feature-created", &format!("f{n}"))).collect();
        db.insert_events(events).await.expect("insert");

        let handed = fake.handed.lock().expect("lock").clone();
        let leased: Vec<i64> =
            sqlx::query_scalar("select id from deliveries where lease_until is not null order by id")
                .fetch_all(&db.read)
                .await
                .expect("leased");
        assert_eq!(handed.len(), 2, "the room granted: {handed:?}");
        assert_eq!(leased, handed, "what is handed over is leased, and nothing else");
        let of_plain: Vec<i64> =
            sqlx::query_scalar("select id from deliveries where webhook_id = ? order by id limit 2")
                .bind(plain)
                .fetch_all(&db.read)
                .await
                .expect("plain");
        assert_eq!(handed, of_plain, "the plain webhook's first two; none of the paused one's");
        let total: i64 =
            sqlx::query_scalar("select count(*) from deliveries").fetch_one(&db.read).await.expect("count");
        assert_eq!(total, 6, "every delivery is stored");
        assert_eq!(fake.out.lock().expect("lock").values().sum::<usize>(), 2, "the paused webhook's room went back");
        db.close().await;
    }
}
