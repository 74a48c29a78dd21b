//! Fresh deliveries leased by the intake's own transaction, straight to this process's dispatcher.
//!
//! Without this, a new event's delivery is committed unleased, and the dispatcher finds it with a
//! due query and leases it with a claim transaction of its own before sending it: on PostgreSQL
//! about ten round trips more per round, on the path of every delivery, and most of the wait of a
//! delivery at a gentle rate. The intake knows everything the claim would read (the delivery, its
//! event, its webhook), so when the dispatcher has room it leases the delivery as it inserts it, and
//! hands it over once the transaction has committed.
//!
//! The claim's rules still hold, because the intake only leases what a claim would admit at once:
//! - **Room**: the dispatcher grants room first (`Handoff::reserve`), within its global and
//!   per-webhook limits, counting the grant as in flight until it is used or given back. On
//!   PostgreSQL the leases of every instance are counted too, under the webhook's advisory lock,
//!   as a claim does.
//! - **Controls**: a paused, rate-limited or ordered webhook gets no lease here; its deliveries are
//!   committed unleased and go through the claim, which applies the breaker, the bucket and the
//!   order.
//! - **At least once**: the lease is the same a claim takes. Should the process die between the
//!   commit and the hand-over, the lease expires and the delivery is due again, as after a crash
//!   mid-attempt.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::deliveries::DueDelivery;
use super::events::NewEvent;
use super::webhooks::Webhook;

/// This process's dispatcher, as the intake sees it.
pub trait Handoff: Send + Sync {
    /// Grants room for up to `wanted` deliveries per webhook, counted as in flight from now on.
    fn reserve(&self, wanted: &BTreeMap<i64, usize>) -> BTreeMap<i64, usize>;
    /// How long the leases it is handed last (the claim's lease).
    fn lease_ms(&self) -> i64;
    /// Takes over `leased` (each within a grant) and gets back the rest of `granted`.
    fn hand_over(&self, leased: Vec<DueDelivery>, granted: &BTreeMap<i64, usize>);
    /// Asks the dispatcher to read the queue: the intake left deliveries there for a claim.
    fn wake(&self);
    /// This process's deliveries whose request has ended but whose attempt record has not
    /// committed yet: still leased in the database, no longer in flight at the receiver.
    fn landed(&self) -> Vec<i64>;
}

/// Where the intake finds the dispatcher: set while one runs, shared by every clone of a handle.
#[derive(Clone, Default)]
pub struct HandoffSlot(Arc<std::sync::RwLock<Option<Arc<dyn Handoff>>>>);

impl HandoffSlot {
    pub fn set(&self, handoff: Option<Arc<dyn Handoff>>) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = handoff;
    }

    /// Wakes the dispatcher, if one runs (see `Handoff::wake`).
    pub fn wake(&self) {
        if let Some(handoff) = self.get() {
            handoff.wake();
        }
    }

    /// See `Handoff::landed`; none without a dispatcher.
    ///
    /// PostgreSQL counts a webhook's concurrency from every instance's leases, and a lease lasts
    /// until the attempt's record commits, a few milliseconds after the request ended (records
    /// are gathered, see the dispatcher's `RECORD_WINDOW`). Leaving this instance's landed ones out
    /// of the count keeps the limit about requests in flight, which is what it promises the
    /// receiver, instead of also holding slots for finished ones: at 32 per webhook that bounded
    /// one webhook to about 3,000 deliveries a second. Another instance's landed leases still
    /// count (it alone knows them), which errs on the safe side. The dispatcher names at most a
    /// webhook's limit of them, so records that fall behind still hold the sending back, and an
    /// instance killed sends again at most twice the limit per webhook.
    pub fn landed(&self) -> Vec<i64> {
        self.get().map(|handoff| handoff.landed()).unwrap_or_default()
    }

    fn get(&self) -> Option<Arc<dyn Handoff>> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl std::fmt::Debug for HandoffSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.get().is_some() { "HandoffSlot(dispatcher)" } else { "HandoffSlot(none)" })
    }
}

/// Room granted to one intake transaction. Dropped without `leased` filled (the transaction
/// failed), it gives all of its room back; the rows it would have leased were never committed.
pub struct Reservation {
    handoff: Arc<dyn Handoff>,
    granted: BTreeMap<i64, usize>,
    /// The leased deliveries, once committed (`commit`).
    leased: Vec<DueDelivery>,
}

impl Reservation {
    /// Room for up to `wanted` per webhook, if a dispatcher runs and has any.
    pub fn take(slot: &HandoffSlot, wanted: &BTreeMap<i64, usize>) -> Option<Reservation> {
        if wanted.is_empty() {
            return None;
        }
        let handoff = slot.get()?;
        let mut granted = handoff.reserve(wanted);
        granted.retain(|_, room| *room > 0);
        if granted.is_empty() {
            handoff.hand_over(Vec::new(), &granted);
            return None;
        }
        Some(Reservation { handoff, granted, leased: Vec::new() })
    }

    /// The room granted per webhook.
    pub fn granted(&self) -> &BTreeMap<i64, usize> {
        &self.granted
    }

    /// The lease the intake writes (until `now` plus the dispatcher's lease).
    pub fn lease_until(&self, now: i64) -> i64 {
        now + self.handoff.lease_ms()
    }

    /// Hands the committed `leased` deliveries over (the rest of the room goes back).
    pub fn commit(mut self, leased: Vec<DueDelivery>) {
        self.leased = leased;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.handoff.hand_over(std::mem::take(&mut self.leased), &self.granted);
    }
}

/// How many of `events`' deliveries the intake may lease, per webhook: those to webhooks without a
/// rate limit or an order (the claim applies them; a pause is checked in the transaction).
pub fn wanted<'a>(events: impl IntoIterator<Item = &'a NewEvent>, webhooks: &[Webhook]) -> BTreeMap<i64, usize> {
    let mut wanted = BTreeMap::new();
    for new in events {
        for webhook in webhooks.iter().filter(|w| !w.ordered && w.rate_limit.is_none() && new.goes_to(w)) {
            *wanted.entry(webhook.id).or_default() += 1;
        }
    }
    wanted
}

impl DueDelivery {
    /// A delivery the intake has just inserted and leased: its first attempt, as scheduled.
    pub fn fresh(id: i64, uid: String, webhook_id: i64, webhook_version: i64, event_id: i64, payload: String) -> Self {
        DueDelivery {
            id,
            uid,
            webhook_id,
            webhook_version,
            event_id,
            payload,
            attempts: 0,
            next_trigger: hookline_core::delivery::AttemptTrigger::Scheduled,
            single_attempt: false,
        }
    }
}

/// Takes up to `room[webhook]` of each webhook's deliveries, in the order given: which of `webhook_ids`
/// (one per delivery about to be inserted) the intake leases.
pub fn pick(webhook_ids: &[i64], mut room: HashMap<i64, usize>) -> Vec<bool> {
    webhook_ids
        .iter()
        .map(|webhook| match room.get_mut(webhook) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        })
        .collect()
}

/// A dispatcher with `room` per webhook, recording what it was handed (for the storage tests).
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Fake {
    pub room: usize,
    pub out: std::sync::Mutex<HashMap<i64, usize>>,
    pub handed: std::sync::Mutex<Vec<i64>>,
    pub landed: std::sync::Mutex<Vec<i64>>,
}

#[cfg(test)]
impl Handoff for Fake {
    fn reserve(&self, wanted: &BTreeMap<i64, usize>) -> BTreeMap<i64, usize> {
        let mut out = self.out.lock().expect("lock");
        wanted
            .iter()
            .map(|(w, n)| {
                let used = out.entry(*w).or_default();
                let grant = (*n).min(self.room - *used);
                *used += grant;
                (*w, grant)
            })
            .collect()
    }
    fn lease_ms(&self) -> i64 {
        60_000
    }
    fn hand_over(&self, leased: Vec<DueDelivery>, granted: &BTreeMap<i64, usize>) {
        let mut out = self.out.lock().expect("lock");
        let mut unused = granted.clone();
        for due in &leased {
            *unused.get_mut(&due.webhook_id).expect("leased within a grant") -= 1;
        }
        for (w, n) in unused {
            *out.get_mut(&w).expect("granted") -= n;
        }
        self.handed.lock().expect("lock").extend(leased.iter().map(|d| d.id));
    }
    fn wake(&self) {}
    fn landed(&self) -> Vec<i64> {
        self.landed.lock().expect("lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(id: i64, webhook_id: i64) -> DueDelivery {
        DueDelivery::fresh(id, format!("u{id}"), webhook_id, 1, id, "{}".into())
    }

    #[test]
    fn room_is_given_back_unless_committed_and_only_what_was_unused() {
        let fake = Arc::new(Fake { room: 2, ..Fake::default() });
        let slot = HandoffSlot::default();
        slot.set(Some(fake.clone()));
        let wanted = BTreeMap::from([(1, 5), (2, 1)]);

        let failed = Reservation::take(&slot, &wanted).expect("room");
        assert_eq!(failed.granted(), &BTreeMap::from([(1, 2), (2, 1)]));
        assert_eq!(Reservation::take(&slot, &BTreeMap::from([(1, 1)])).map(|r| r.granted().clone()), None, "full");
        drop(failed);
        assert_eq!(fake.out.lock().expect("lock").values().sum::<usize>(), 0, "a failed transaction gives all back");

        let done = Reservation::take(&slot, &wanted).expect("room");
        done.commit(vec![due(10, 1)]);
        assert_eq!(*fake.handed.lock().expect("lock"), vec![10]);
        assert_eq!(fake.out.lock().expect("lock").get(&1), Some(&1), "the leased one stays in flight");
        assert_eq!(fake.out.lock().expect("lock").get(&2), Some(&0));

        let nobody = HandoffSlot::default();
        assert!(Reservation::take(&nobody, &wanted).is_none(), "no dispatcher, no leases");
    }

    #[test]
    fn pick_takes_each_webhooks_room_in_order() {
        let room = HashMap::from([(1, 2), (2, 0)]);
        assert_eq!(pick(&[1, 2, 1, 3, 1], room), vec![true, false, true, false, false]);
    }
}
