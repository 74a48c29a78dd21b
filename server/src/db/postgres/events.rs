//! The intake on PostgreSQL (see `db::events`): events and their deliveries in one transaction,
//! so an accepted event always has its deliveries, on whichever instance it arrived.

use std::collections::HashSet;

use hookline_core::delivery::AttemptTrigger;
use sqlx::PgConnection;

use super::PgDb;
use crate::db::audit::NewAudit;
use crate::db::events::{new_delivery_uid, IntakeJob, NewEvent, StoredEvent};
use crate::db::StoreError;

/// The column list of the `events` inserts, filled from parallel arrays (`unnest`).
const INSERT_EVENTS: &str = "insert into events (id, type, payload, feature_name, project, environment, created_by,
        source, created_at, received_at)
    select id, type, payload, feature_name, project, environment, created_by, source, created_at, $10
    from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::bigint[])
         as t(id, type, payload, feature_name, project, environment, created_by, source, created_at)
    on conflict (id) do nothing
    returning id";

/// Parallel arrays of the events to insert (one bind per column, whatever the batch size).
#[derive(Default)]
struct EventColumns<'a> {
    id: Vec<i64>,
    event_type: Vec<&'a str>,
    payload: Vec<String>,
    feature_name: Vec<Option<&'a str>>,
    project: Vec<Option<&'a str>>,
    environment: Vec<Option<&'a str>>,
    created_by: Vec<&'a str>,
    source: Vec<&'a str>,
    created_at: Vec<i64>,
}

impl<'a> EventColumns<'a> {
    fn push(&mut self, id: i64, new: &'a NewEvent) {
        let event = &new.event;
        self.id.push(id);
        self.event_type.push(&event.event_type);
        // PostgreSQL text cannot hold NUL; JSON escapes it, so only a hand-made payload could.
        self.payload.push(without_nul(&new.payload));
        self.feature_name.push(event.feature_name.as_deref());
        self.project.push(event.project.as_deref());
        self.environment.push(event.environment.as_deref());
        self.created_by.push(&event.created_by);
        self.source.push(new.source);
        self.created_at.push(new.created_at_ms);
    }

    async fn insert(&self, tx: &mut PgConnection, now: i64) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar(INSERT_EVENTS)
            .bind(&self.id)
            .bind(&self.event_type)
            .bind(&self.payload)
            .bind(&self.feature_name)
            .bind(&self.project)
            .bind(&self.environment)
            .bind(&self.created_by)
            .bind(&self.source)
            .bind(&self.created_at)
            .bind(now)
            .fetch_all(&mut *tx)
            .await
    }
}

/// `text` with NUL characters replaced (PostgreSQL's text type refuses them).
pub(crate) fn without_nul(text: &str) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.to_string()
    }
}

/// Takes `n` fresh event ids from the sequence.
async fn next_ids(tx: &mut PgConnection, n: usize) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("select nextval(pg_get_serial_sequence('events', 'id')) from generate_series(1, $1)")
        .bind(n as i64)
        .fetch_all(&mut *tx)
        .await
}

impl PgDb {
    /// Stores events and one delivery per matching enabled webhook in one transaction, then wakes
    /// every instance's dispatcher (NOTIFY, sent at commit).
    ///
    /// Ids: a client's id (Unleash's event id) is kept, and a second event with it is not stored
    /// again. Others come from the sequence, which is moved past the client ids seen, so assigned
    /// ids stay above them as on SQLite; should one still collide (instances racing), that event
    /// takes the next free id.
    ///
    /// Group commit, as on SQLite: requests arriving together share one transaction (and one
    /// flush of the WAL to disk), each answered once it committed (see `intake_loop`).
    pub async fn insert_events(&self, events: Vec<NewEvent>) -> Result<Vec<StoredEvent>, StoreError> {
        let Some(queue) = &self.intake else { return self.write_events(&events).await };
        let (reply, answer) = tokio::sync::oneshot::channel();
        queue.send(IntakeJob { events, reply }).await.map_err(|_| StoreError::WriterClosed)?;
        answer.await.map_err(|_| StoreError::WriterCrashed)?
    }

    /// One transaction for `events` (one request's, or several requests' together).
    async fn write_events(&self, events: &[NewEvent]) -> Result<Vec<StoredEvent>, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin().await?;
        let webhooks = self.intake_webhooks(&mut tx).await?;

        let mut ids: Vec<Option<i64>> = events.iter().map(|new| new.id).collect();
        let mut created: HashSet<i64> = HashSet::new();
        let given: Vec<usize> = (0..events.len()).filter(|&n| events[n].id.is_some()).collect();
        if !given.is_empty() {
            let mut columns = EventColumns::default();
            for &n in &given {
                columns.push(events[n].id.unwrap_or_default(), &events[n]);
            }
            created.extend(columns.insert(&mut tx, now).await?);
            let highest = given.iter().filter_map(|&n| events[n].id).max().unwrap_or(0);
            sqlx::query(
                "select setval(pg_get_serial_sequence('events', 'id'), $1)
                 where $1 > (select last_value from events_id_seq)",
            )
            .bind(highest)
            .execute(&mut *tx)
            .await?;
        }
        let mut missing: Vec<usize> = (0..events.len()).filter(|&n| events[n].id.is_none()).collect();
        while !missing.is_empty() {
            let fresh = next_ids(&mut tx, missing.len()).await?;
            let mut columns = EventColumns::default();
            for (&n, &id) in missing.iter().zip(&fresh) {
                columns.push(id, &events[n]);
            }
            let inserted: HashSet<i64> = columns.insert(&mut tx, now).await?.into_iter().collect();
            let mut retry = Vec::new();
            for (&n, &id) in missing.iter().zip(&fresh) {
                if inserted.contains(&id) {
                    ids[n] = Some(id);
                    created.insert(id);
                } else {
                    retry.push(n);
                }
            }
            missing = retry;
        }

        let (mut uid, mut webhook_id, mut event_id, mut event_type) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut stored = Vec::with_capacity(events.len());
        let mut seen = HashSet::new();
        for (new, id) in events.iter().zip(&ids) {
            let id = id.unwrap_or_default();
            // The same client id twice in one request: the first one is the event.
            let is_new = created.contains(&id) && seen.insert(id);
            let mut count = 0;
            if is_new {
                for webhook in webhooks.iter().filter(|w| new.goes_to(w)) {
                    uid.push(new_delivery_uid());
                    webhook_id.push(webhook.id);
                    event_id.push(id);
                    event_type.push(new.event.event_type.as_str());
                    count += 1;
                }
            }
            stored.push(StoredEvent { id, created: is_new, deliveries: count });
        }
        if !uid.is_empty() {
            sqlx::query(
                "insert into deliveries (uid, webhook_id, event_id, event_type, state, next_attempt_at, next_trigger,
                    single_attempt, created_at, updated_at)
                 select uid, webhook_id, event_id, event_type, 'pending', $5, 'scheduled', false, $5, $5
                 from unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) as t(uid, webhook_id, event_id, event_type)",
            )
            .bind(&uid)
            .bind(&webhook_id)
            .bind(&event_id)
            .bind(&event_type)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            self.announce_deliveries(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Stores a test event and one single-attempt delivery to `webhook_id`, with its audit entry.
    pub async fn insert_test_delivery(
        &self,
        webhook_id: i64,
        new: &mut NewEvent,
        audit: &NewAudit,
    ) -> Result<(i64, i64), sqlx::Error> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin().await?;
        let id = loop {
            let id = next_ids(&mut tx, 1).await?.first().copied().unwrap_or_default();
            let mut columns = EventColumns::default();
            columns.push(id, new);
            if !columns.insert(&mut tx, now).await?.is_empty() {
                break id;
            }
        };
        new.event.id = id;
        let delivery: i64 = sqlx::query_scalar(
            "insert into deliveries (uid, webhook_id, event_id, event_type, state, next_attempt_at, next_trigger,
                single_attempt, created_at, updated_at)
             values ($1, $2, $3, $4, 'pending', $5, $6, true, $5, $5) returning id",
        )
        .bind(new_delivery_uid())
        .bind(webhook_id)
        .bind(id)
        .bind(&new.event.event_type)
        .bind(now)
        .bind(AttemptTrigger::Test)
        .fetch_one(&mut *tx)
        .await?;
        super::audit::insert(&mut tx, &audit.clone().with("deliveryId", delivery)).await?;
        self.announce_deliveries(&mut tx).await?;
        tx.commit().await?;
        Ok((id, delivery))
    }

    pub async fn event_payload(&self, id: i64) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("select payload from events where id = $1").bind(id).fetch_optional(&self.pool).await
    }
}

/// The most events one intake transaction takes from waiting requests (one request has at most 500).
const ROUND_EVENTS: usize = 2_000;

/// Writes the intake requests waiting in `inbox` together: each round takes every waiting request
/// (up to `ROUND_EVENTS` events) into one transaction and answers each after the commit. A round
/// that fails is retried request by request, so one bad request cannot fail the others.
pub(super) async fn intake_loop(db: PgDb, mut inbox: tokio::sync::mpsc::Receiver<IntakeJob>) {
    let mut jobs: Vec<IntakeJob> = Vec::new();
    while let Some(first) = inbox.recv().await {
        let mut count = first.events.len();
        jobs.push(first);
        while count < ROUND_EVENTS {
            match inbox.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        if jobs.len() == 1 {
            let job = jobs.remove(0);
            let result = db.write_events(&job.events).await;
            let _ = job.reply.send(result);
            continue;
        }
        let all: Vec<NewEvent> = jobs.iter().flat_map(|job| job.events.iter().cloned()).collect();
        match db.write_events(&all).await {
            Ok(stored) => {
                let mut stored = stored.into_iter();
                for job in jobs.drain(..) {
                    let mine: Vec<StoredEvent> = stored.by_ref().take(job.events.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(error) => {
                tracing::warn!(%error, requests = jobs.len(), "intake round failed; writing its requests one by one");
                for job in jobs.drain(..) {
                    let result = db.write_events(&job.events).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}
