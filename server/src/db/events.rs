//! Event intake: events and their deliveries are written in one transaction, so an accepted event
//! always has its deliveries, and a crash either keeps both or neither.

use hookline_core::event::Event;

use super::webhooks::Webhook;
use super::{now_ms, Db};

/// An event ready to store: `id` is the client's, or None to assign one.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Option<i64>,
    pub event: Event,
    pub created_at_ms: i64,
    pub source: &'static str,
}

/// What the intake stored for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    /// False when the client's id had been seen before: nothing new was stored.
    pub created: bool,
    pub deliveries: usize,
}

/// A stored event, for lists.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub payload: String,
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

impl Db {
    /// Stores events and one delivery per matching enabled webhook, atomically. `matches` decides
    /// which webhooks an event goes to (type, project and environment filters).
    pub async fn insert_events(
        &self,
        events: &mut [NewEvent],
        matches: impl Fn(&Webhook, &Event) -> bool,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let webhooks = super::webhooks::enabled_webhooks(&mut tx).await?;
        let mut stored = Vec::with_capacity(events.len());
        for new in events.iter_mut() {
            let (id, created) = match new.id {
                Some(id) => {
                    let inserted = insert_event(&mut tx, Some(id), new, now).await?;
                    (id, inserted.is_some())
                }
                None => {
                    let id = insert_event(&mut tx, None, new, now).await?.unwrap_or_default();
                    (id, true)
                }
            };
            new.event.id = id;
            let mut deliveries = 0;
            if created {
                for webhook in webhooks.iter().filter(|w| matches(w, &new.event)) {
                    insert_delivery(&mut tx, webhook.id, id, &new.event.event_type, now, "scheduled", false).await?;
                    deliveries += 1;
                }
            }
            stored.push(StoredEvent { id, created, deliveries });
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Stores a test event (a catalog sample) and one single-attempt delivery to `webhook_id`.
    pub async fn insert_test_delivery(&self, webhook_id: i64, new: &mut NewEvent) -> Result<(i64, i64), sqlx::Error> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let id = insert_event(&mut tx, None, new, now).await?.unwrap_or_default();
        new.event.id = id;
        let delivery = insert_delivery(&mut tx, webhook_id, id, &new.event.event_type, now, "test", true).await?;
        tx.commit().await?;
        Ok((id, delivery))
    }

    pub async fn event(&self, id: i64) -> Result<Option<EventRow>, sqlx::Error> {
        sqlx::query_as(
            "select id, type, payload, feature_name, project, environment, created_by, source, created_at, received_at
             from events where id = ?",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await
    }
}

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
    .bind(event.to_json())
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
    trigger: &str,
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
