//! The intake on PostgreSQL (see `db::events`): events and their deliveries in one transaction,
//! so an accepted event always has its deliveries, on whichever instance it arrived.

use std::collections::{HashMap, HashSet};

use crate::db::webhooks::Webhook;

use hookline_core::delivery::AttemptTrigger;
use sqlx::PgConnection;

use super::{PgDb, DELIVERIES_CHANNEL};
use crate::db::audit::NewAudit;
use crate::db::deliveries::DueDelivery;
use crate::db::events::{new_delivery_uid, IntakeJob, NewEvent, StoredEvent};
use crate::db::handoff::{self, Reservation};
use crate::db::StoreError;

/// The column list of the `events` inserts, filled from parallel arrays (`unnest`).
const INSERT_EVENTS: &str = "insert into events (id, type, payload, feature_name, project, environment, created_by,
        source, created_at, received_at)
    select coalesce(id, nextval(pg_get_serial_sequence('events', 'id'))), type, payload, feature_name, project,
           environment, created_by, source, created_at, $10
    from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::bigint[])
         as t(id, type, payload, feature_name, project, environment, created_by, source, created_at)
    on conflict (id) do nothing
    returning id";

/// Parallel arrays of the events to insert (one bind per column, whatever the batch size).
#[derive(Default)]
struct EventColumns<'a> {
    /// The client's id, or none for the next from the sequence.
    id: Vec<Option<i64>>,
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
    fn push(&mut self, id: Option<i64>, new: &'a NewEvent) {
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

/// One row of `INTAKE`'s answer: (0, ordinal, event id, stored now, -, -) for each event, and
/// (1, webhook, delivery id, leased here, uid, event id) for each delivery.
type IntakeRow = (i32, i64, i64, bool, Option<String>, Option<i64>);

/// Stores a round of events and their deliveries, leasing what the dispatcher has room for, in
/// one statement (one round trip):
/// - **Events** (`$1`–`$10`): a client's id is kept, the others take the next from the sequence;
///   one whose id is taken already is not stored again (`on conflict do nothing`).
/// - **Room** (`$11`–`$13`, `$22`): per webhook granted by the dispatcher, at most what its
///   concurrency limit leaves over every instance's leases (but this instance's landed ones, see
///   `HandoffSlot::landed`), and none for a webhook that is disabled, paused,
///   rate-limited or ordered (those wait for a claim, which applies the controls). Counted under
///   the webhooks' advisory locks, taken with `begin` (`intake_begin`), so this statement's
///   snapshot sees every claim committed before.
/// - **Deliveries** (`$14`–`$18`): per delivery its event's ordinal, its webhook and uid; only the
///   deliveries of events stored now are inserted, each webhook's first ones leased (`$17`, `$18`).
/// - **NOTIFY** (`$19`, `$20`): only when some delivery is left for a claim.
/// - **The webhooks' change counter** (`$21`): when given, the statement stores nothing unless
///   the counter still has this value, i.e. the deliveries were matched against the current list
///   of webhooks. It then answers no rows at all (see `write_events`).
const INTAKE: &str = "with input as materialized (
        select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::text[], $9::bigint[])
            with ordinality as t(client_id, type, payload, feature_name, project, environment, created_by, source,
                                 created_at, ord)
        where $21::bigint is null or $21 = (select value from change_counters where name = 'webhooks')
    ),
    numbered as materialized (
        select input.*, coalesce(client_id, nextval(pg_get_serial_sequence('events', 'id'))) as id from input
    ),
    ev as (
        insert into events (id, type, payload, feature_name, project, environment, created_by, source, created_at,
                            received_at)
        select id, type, payload, feature_name, project, environment, created_by, source, created_at, $10
        from numbered order by ord
        on conflict (id) do nothing
        returning id
    ),
    room as (
        select g.id as webhook_id, least(g.room, $13 - (select count(*) from (
                select 1 from deliveries d where d.webhook_id = g.id and d.lease_until >= $10 and d.id <> all($22)
                order by d.lease_until limit $13) l)) as room
        from unnest($11::bigint[], $12::bigint[]) as g(id, room)
        join webhooks w on w.id = g.id
        where w.enabled and w.paused_until is null and w.rate_limit is null and not w.ordered
    ),
    wanted as (
        select d.uid, d.webhook_id, n.id as event_id, n.type as event_type,
               row_number() over (partition by d.webhook_id order by d.ord) as rank
        from unnest($14::bigint[], $15::bigint[], $16::text[]) with ordinality as d(event_ord, webhook_id, uid, ord)
        join numbered n on n.ord = d.event_ord
        where n.id in (select id from ev)
    ),
    ins as (
        insert into deliveries (uid, webhook_id, event_id, event_type, state, next_attempt_at, next_trigger,
                                single_attempt, created_at, updated_at, lease_until, claimed_by)
        select w.uid, w.webhook_id, w.event_id, w.event_type, 'pending', $10, 'scheduled', false, $10, $10,
               case when w.rank <= r.room then $17::bigint end, case when w.rank <= r.room then $18::text end
        from wanted w left join room r on r.webhook_id = w.webhook_id
        returning id, uid, webhook_id, event_id, claimed_by is not null as leased
    ),
    notified as (
        select pg_notify($19, '') from (select 1) as one where $20 and exists (select 1 from ins where not leased)
    )
    select 0, n.ord, n.id, n.id in (select id from ev), null::text, null::bigint from numbered n
    union all
    select 1, i.webhook_id, i.id, i.leased, i.uid, i.event_id from ins i
    union all
    select 2, 0, 0, true, null, null from notified";

/// The `webhooks` change counter as `tx` sees it: is the intake's cached list still current?
async fn webhooks_counter(tx: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select value from change_counters where name = 'webhooks'").fetch_one(&mut *tx).await
}

/// `begin`, with what must come before `INTAKE` in its transaction, as one simple query (no
/// round trip of its own): the advisory locks of the webhooks the dispatcher granted room for
/// (see `deliveries::lock_webhooks`: in id order, the same locks the claims count under), and the
/// event id sequence moved past the highest client id, so ids assigned in this round stay above
/// the clients' as on SQLite. Only integers are written into the text.
fn intake_begin(locked: &[i64], highest_given: Option<i64>) -> String {
    use std::fmt::Write;
    debug_assert!(locked.is_sorted());
    let mut sql = String::from("begin");
    if !locked.is_empty() {
        let ids: Vec<String> = locked.iter().map(i64::to_string).collect();
        let _ = write!(
            sql,
            "; select count(pg_advisory_xact_lock({}, w::int)) from unnest('{{{}}}'::bigint[]) as w",
            super::deliveries::WEBHOOK_LOCKS,
            ids.join(",")
        );
    }
    if let Some(highest) = highest_given {
        let _ = write!(
            sql,
            "; select setval(pg_get_serial_sequence('events', 'id'), {highest})
             where {highest} > (select last_value from events_id_seq)"
        );
    }
    sql
}

/// The arrays of one `INTAKE` statement: the events at `pending` (indexes into the request's
/// events), and one delivery per webhook each goes to.
struct IntakeRound<'a> {
    events: EventColumns<'a>,
    /// Per delivery: its event's ordinal in this round (1-based), its webhook, its uid.
    event_of: Vec<i64>,
    webhook_id: Vec<i64>,
    uid: Vec<String>,
    /// Per event of the round: whether it is the first with its id in the request (a client's id
    /// twice in one request: the first one is the event), and how many deliveries it gets.
    first_of_id: Vec<bool>,
    count: Vec<usize>,
    /// Per delivery uid: its event (index into the request's) and its webhook's version.
    source: HashMap<String, (usize, i64)>,
}

impl<'a> IntakeRound<'a> {
    fn new(events: &'a [NewEvent], pending: &[usize], webhooks: &[Webhook]) -> Self {
        let mut round = IntakeRound {
            events: EventColumns::default(),
            event_of: Vec::new(),
            webhook_id: Vec::new(),
            uid: Vec::new(),
            first_of_id: Vec::with_capacity(pending.len()),
            count: Vec::with_capacity(pending.len()),
            source: HashMap::new(),
        };
        let mut seen = HashSet::new();
        for (ordinal, &n) in pending.iter().enumerate() {
            let new = &events[n];
            round.events.push(new.id, new);
            let first = new.id.is_none_or(|id| seen.insert(id));
            round.first_of_id.push(first);
            let mut count = 0;
            if first {
                for webhook in webhooks.iter().filter(|w| new.goes_to(w)) {
                    let uid = new_delivery_uid();
                    round.event_of.push(ordinal as i64 + 1);
                    round.webhook_id.push(webhook.id);
                    round.source.insert(uid.clone(), (n, webhook.version));
                    round.uid.push(uid);
                    count += 1;
                }
            }
            round.count.push(count);
        }
        round
    }
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

    /// One transaction for `events` (one request's, or several requests' together), in three round
    /// trips whatever the batch: `begin` with what to lock first (`intake_begin`), one statement
    /// that stores the events and their deliveries (`INTAKE`), `commit`; two more when the list of
    /// webhooks has to be read first (its change counter, then the list). The queue's
    /// own transactions do not wait for the disk (`queue_transaction`); this one does, so each
    /// round trip it saves is one less in every request's answer.
    async fn write_events(&self, events: &[NewEvent]) -> Result<Vec<StoredEvent>, StoreError> {
        let now = self.clock.now_ms();
        let cached = self.cached_intake_webhooks();
        // Room for the dispatcher, asked before the transaction from the webhooks as cached; a
        // change to them is seen below, and only what was locked is leased.
        let wanted = cached.as_ref().map(|(_, webhooks)| handoff::wanted(events, webhooks)).unwrap_or_default();
        let reservation = Reservation::take(&self.handoff, &wanted);
        let locked: Vec<i64> = reservation.iter().flat_map(|r| r.granted().keys().copied()).collect();
        let highest_given = events.iter().filter_map(|new| new.id).max();

        // With the list cached, three round trips: `begin` with the locks, `INTAKE` checking that
        // the list is still current, `commit`. Without it, or when it is stale, the list is read
        // in the transaction first.
        let mut tx = self.pool.begin_with(intake_begin(&locked, highest_given)).await?;
        let (mut expected, mut webhooks) = match cached {
            Some((counter, list)) => (Some(counter), list),
            None => {
                let counter = webhooks_counter(&mut tx).await?;
                (None, self.intake_webhooks(&mut tx, counter).await?)
            }
        };

        let mut stored: Vec<Option<StoredEvent>> = vec![None; events.len()];
        let mut leased = Vec::new();
        let mut unleased = false;
        let mut pending: Vec<usize> = (0..events.len()).collect();
        let mut grants = reservation.as_ref().map(|r| r.granted().clone()).unwrap_or_default();
        let lease_until = reservation.as_ref().map(|r| r.lease_until(now));
        let landed = if reservation.is_some() { self.handoff.landed() } else { Vec::new() };
        // Once, unless an assigned id collided with a client's (instances racing), when the events
        // it left out go again with the next ids.
        while !pending.is_empty() {
            let round = IntakeRound::new(events, &pending, &webhooks);
            let rows: Vec<IntakeRow> = sqlx::query_as(INTAKE)
                .bind(&round.events.id)
                .bind(&round.events.event_type)
                .bind(&round.events.payload)
                .bind(&round.events.feature_name)
                .bind(&round.events.project)
                .bind(&round.events.environment)
                .bind(&round.events.created_by)
                .bind(&round.events.source)
                .bind(&round.events.created_at)
                .bind(now)
                .bind(grants.keys().copied().collect::<Vec<i64>>())
                .bind(grants.values().map(|&room| room as i64).collect::<Vec<i64>>())
                .bind(self.webhook_concurrency)
                .bind(&round.event_of)
                .bind(&round.webhook_id)
                .bind(&round.uid)
                .bind(lease_until)
                .bind(&*self.instance)
                .bind(DELIVERIES_CHANNEL)
                .bind(self.notify)
                .bind(expected)
                .bind(&landed)
                .fetch_all(&mut *tx)
                .await?;
            if expected.is_some() && rows.is_empty() {
                // The webhooks changed since the cached list was read (nothing was stored): read
                // them in this transaction (its locks are held already) and match again.
                let counter = webhooks_counter(&mut tx).await?;
                webhooks = self.intake_webhooks(&mut tx, counter).await?;
                expected = None;
                continue;
            }
            let mut retry = Vec::new();
            for (kind, a, id, flag, uid, event_id) in rows {
                match kind {
                    // An event: its ordinal in the round, its id, whether it was stored now.
                    0 => {
                        let n = pending[a as usize - 1];
                        let assigned = events[n].id.is_none();
                        if assigned && !flag {
                            retry.push(n);
                        } else {
                            let created = flag && round.first_of_id[a as usize - 1];
                            let deliveries = if created { round.count[a as usize - 1] } else { 0 };
                            stored[n] = Some(StoredEvent { id, created, deliveries });
                        }
                    }
                    // A delivery: its webhook, its id, whether it is leased to this instance.
                    1 => {
                        if !flag {
                            unleased = true;
                            continue;
                        }
                        let (Some(uid), Some(event_id)) = (uid, event_id) else { continue };
                        let Some(&(n, version)) = round.source.get(&uid) else { continue };
                        if let Some(room) = grants.get_mut(&a) {
                            *room = room.saturating_sub(1);
                        }
                        leased.push(DueDelivery::fresh(id, uid, a, version, event_id, without_nul(&events[n].payload)));
                    }
                    _ => {}
                }
            }
            pending = retry;
        }
        tx.commit().await?;
        if unleased {
            // This instance's own dispatcher needs no round trip (the others got the NOTIFY).
            self.wake.notify_one();
        }
        if let Some(reservation) = reservation {
            reservation.commit(leased);
        }
        Ok(stored.into_iter().map(|s| s.unwrap_or(StoredEvent { id: 0, created: false, deliveries: 0 })).collect())
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
        // An assigned id taken by a client's event (instances racing) is skipped for the next.
        let id = loop {
            let mut columns = EventColumns::default();
            columns.push(None, new);
            if let Some(&id) = columns.insert(&mut tx, now).await?.first() {
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

/// Under load, how long a round waits for more requests before it starts (see `intake_loop`).
const ROUND_WINDOW: std::time::Duration = std::time::Duration::from_micros(500);

/// Writes the intake requests waiting in `inbox` together: each round takes every waiting request
/// (up to `ROUND_EVENTS` events) into one transaction and answers each after the commit. A round
/// that fails is retried request by request, so one bad request cannot fail the others.
///
/// Under load (the last round held several requests) a round first waits `ROUND_WINDOW` for more,
/// as PostgreSQL's own `commit_delay` does when other transactions are active: requests answered
/// by one round come back while the next runs, so without the wait rounds alternate between two
/// halves of the clients, each paying a commit's flush. A request alone (a gentle rate) never
/// waits.
pub(super) async fn intake_loop(db: PgDb, mut inbox: tokio::sync::mpsc::Receiver<IntakeJob>) {
    let mut jobs: Vec<IntakeJob> = Vec::new();
    let mut busy = false;
    while let Some(first) = inbox.recv().await {
        if busy {
            tokio::time::sleep(ROUND_WINDOW).await;
        }
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
        busy = jobs.len() > 1;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::db::handoff::Fake;
    use crate::db::postgres::PgDb;
    use crate::db::testing;

    /// A webhook for `feature-created`.
    async fn webhook(db: &PgDb) -> i64 {
        let spec = testing::spec(&["feature-created"]);
        db.insert_webhook(&spec, "whsec_test", &testing::audit()).await.expect("insert").id
    }

    /// `n` new `feature-created` events, in one intake transaction.
    async fn publish(db: &PgDb, n: usize) -> Vec<crate::db::events::StoredEvent> {
        let events: Vec<_> = (0..n).map(|k| testing::event(None, "feature-created", &format!("f{k}"))).collect();
        db.write_events(&events).await.expect("insert")
    }

    /// Leases every delivery of `webhook` to `instance` for a minute; their ids.
    async fn lease_all(db: &PgDb, webhook: i64, instance: &str) -> Vec<i64> {
        sqlx::query_scalar("update deliveries set claimed_by = $1, lease_until = $2 where webhook_id = $3 returning id")
            .bind(instance)
            .bind(db.clock.now_ms() + 60_000)
            .bind(webhook)
            .fetch_all(&db.pool)
            .await
            .expect("lease")
    }

    /// A lease of this instance whose request has ended (its record not committed yet) does not
    /// count against the webhook's limit, in the intake's room or in a claim; every other lease
    /// does.
    #[tokio::test]
    async fn postgres_landed_leases_of_this_instance_leave_room() {
        let db = super::super::admins::tests::open().await;
        let webhook = webhook(&db).await;
        // Thirty leases of this instance, ten of them landed.
        publish(&db, 30).await;
        let held = lease_all(&db, webhook, &db.instance).await;
        let fake = Arc::new(Fake { room: 20, ..Fake::default() });
        *fake.landed.lock().expect("lock") = held[..10].to_vec();
        db.handoff.set(Some(fake.clone()));

        publish(&db, 20).await;
        assert_eq!(fake.handed.lock().expect("lock").len(), 32 - 20, "the limit less the leases still in flight");
        // The eight left for a claim: the 20 still in flight and the 12 handed over fill the 32,
        // until the twelve land too.
        let due: Vec<i64> = sqlx::query_scalar("select id from deliveries where claimed_by is null order by id")
            .fetch_all(&db.pool)
            .await
            .expect("due");
        assert_eq!(due.len(), 8);
        let now = db.clock.now_ms();
        let claimed = db.claim_deliveries(&due, now, now + 60_000).await.expect("claim");
        assert_eq!(claimed.len(), 0, "20 in flight + 12 handed over fill the 32");
        fake.landed.lock().expect("lock").extend(fake.handed.lock().expect("lock").iter().copied());
        let mut claimed = db.claim_deliveries(&due, now, now + 60_000).await.expect("claim");
        claimed.sort_unstable();
        assert_eq!(claimed, due, "with those twelve landed too, there is room for all eight");
        db.close().await;
    }

    /// The intake matches events against its cached list of webhooks only while the list is
    /// current: after a change (here made through the same handle; another instance's changes
    /// move the same counter), the next intake stores nothing from the stale list, reads the
    /// webhooks again in its transaction, and matches against them.
    #[tokio::test]
    async fn postgres_the_intake_matches_against_the_webhooks_as_they_are_now() {
        let db = super::super::admins::tests::open().await;
        let first = webhook(&db).await;
        let fake = Arc::new(Fake { room: 5, ..Fake::default() });
        db.handoff.set(Some(fake.clone()));
        let publish = |name: &'static str| {
            let db = db.clone();
            async move {
                let stored = db.write_events(&[testing::event(None, "feature-created", name)]).await.expect("insert");
                let webhooks: Vec<i64> =
                    sqlx::query_scalar("select webhook_id from deliveries where event_id = $1 order by webhook_id")
                        .bind(stored[0].id)
                        .fetch_all(&db.pool)
                        .await
                        .expect("deliveries");
                (stored[0].deliveries, webhooks)
            }
        };
        assert_eq!(publish("a").await, (1, vec![first]));
        assert!(db.cached_intake_webhooks().is_some(), "the list is cached now");

        let second = webhook(&db).await;
        db.set_webhook_enabled(first, false, &testing::audit()).await.expect("disable");
        assert_eq!(publish("b").await, (1, vec![second]), "matched against the new list, not the cached one");
        assert_eq!(publish("c").await, (1, vec![second]), "and from then on");
        // Room is asked for from the cached list, before the transaction: none for "a" (nothing
        // cached yet), for the disabled webhook for "b" (so its delivery is left for a claim),
        // and for the right one for "c", whose delivery was leased.
        let handed = fake.handed.lock().expect("lock").len();
        assert_eq!(handed, 1);
        db.close().await;
    }

    /// The intake leases new deliveries to the dispatcher within its grant and within what the
    /// webhook's limit leaves over every instance's leases, and none of a paused webhook; the
    /// rest are committed unleased, for a claim.
    #[tokio::test]
    async fn postgres_intake_leases_fresh_deliveries_within_the_room_left() {
        let db = super::super::admins::tests::open().await;
        let plain = webhook(&db).await;
        let paused = webhook(&db).await;
        sqlx::query("update webhooks set paused_until = 1 where id = $1")
            .bind(paused)
            .execute(&db.pool)
            .await
            .expect("pause");
        let leased = |webhook: i64| {
            let pool = db.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "select count(*) from deliveries where webhook_id = $1 and claimed_by is not null",
                )
                .bind(webhook)
                .fetch_one(&pool)
                .await
                .expect("count")
            }
        };

        // Another instance holds all but two of the plain webhook's 32 slots.
        publish(&db, 30).await;
        lease_all(&db, plain, "other").await;

        let fake = Arc::new(Fake { room: 5, ..Fake::default() });
        db.handoff.set(Some(fake.clone()));
        publish(&db, 4).await;
        let handed = fake.handed.lock().expect("lock").clone();
        assert_eq!(handed.len(), 2, "the limit over every instance leaves two: {handed:?}");
        let mine: Vec<i64> =
            sqlx::query_scalar("select id from deliveries where claimed_by = $1 and lease_until > $2 order by id")
                .bind(&*db.instance)
                .bind(db.clock.now_ms())
                .fetch_all(&db.pool)
                .await
                .expect("mine");
        assert_eq!(mine, handed, "what is handed over is leased to this instance, and nothing else");
        assert_eq!(leased(paused).await, 0, "a paused webhook's deliveries are left to the claim");
        assert_eq!(leased(plain).await, 32);
        let unleased: i64 = sqlx::query_scalar("select count(*) from deliveries where claimed_by is null")
            .fetch_one(&db.pool)
            .await
            .expect("count");
        assert_eq!(unleased, 30 + 4 + 2, "every other delivery is committed, unleased");
        assert_eq!(
            fake.out.lock().expect("lock").values().sum::<usize>(),
            2,
            "the unused room went back; the two leased stay in flight"
        );

        db.handoff.set(None);
        publish(&db, 1).await;
        assert_eq!(fake.handed.lock().expect("lock").len(), 2, "no dispatcher, no leases");
        db.close().await;
    }
}
