//! Argon2id password hashing: the one place that runs it, off the async runtime and at most a few
//! at a time.
//!
//! Each hash or verification costs tens of milliseconds of CPU and 19 MiB of memory on purpose.
//! Unbounded, a burst of sign-in attempts would queue hundreds of them on the blocking pool and
//! starve everything else (deliveries, pages) of CPU, so a semaphore sized to the cores lets only
//! that many run at once; callers beyond it wait a short while and then get 429 with words to
//! show, instead of piling up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use app::AppError;

/// How long a caller may wait for a free hashing slot before being told to try again. A few
/// hashes' worth on a small machine: long enough to ride out a handful of admins signing in at
/// once, short enough that a flood gets its answer quickly and holds nothing.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// The message of a refusal when every slot stays busy.
pub const BUSY_MESSAGE: &str = "The server is busy checking other passwords. Try again in a few seconds.";

/// Runs Argon2 work with a bound on how much runs at once. Cheap to clone: clones share the slots
/// and the counters.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    slots: Arc<Semaphore>,
    wait: Duration,
    counters: Arc<Counters>,
}

/// What the hashing has done so far (shown on `/metrics`).
#[derive(Debug, Default)]
pub struct Counters {
    /// Hashes and verifications started.
    operations: AtomicU64,
    /// Callers refused because no slot became free in time.
    refused: AtomicU64,
}

impl Counters {
    /// Hashes and verifications started (each one took a slot).
    pub fn operations(&self) -> u64 {
        self.operations.load(Ordering::Relaxed)
    }

    /// Callers refused with 429 because every slot stayed busy.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl PasswordHashing {
    /// `limit` operations at once; a caller waits at most `wait` for a slot. (A limit of 0 refuses
    /// every caller: tests use it for "every slot is busy".)
    pub fn new(limit: usize, wait: Duration) -> Self {
        PasswordHashing { slots: Arc::new(Semaphore::new(limit)), wait, counters: Arc::default() }
    }

    /// One operation per core this process may use.
    pub fn default_limit() -> usize {
        std::thread::available_parallelism().map(usize::from).unwrap_or(1)
    }

    /// The running totals.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Hashes a password with Argon2id (the crate's default, OWASP-recommended parameters).
    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(AppError::internal)
        })
        .await?
    }

    /// Checks a password against a stored hash; `None` checks it against a decoy, so an attempt for
    /// an unknown account takes as long as one for a real account and does not reveal which
    /// accounts exist. A malformed stored hash counts as a mismatch (and is logged).
    pub async fn verify(&self, password: &str, stored_hash: Option<&str>) -> Result<bool, AppError> {
        let password = password.to_owned();
        let stored_hash = stored_hash.map(str::to_owned);
        self.run(move || {
            let stored = stored_hash.as_deref().unwrap_or_else(|| decoy_hash());
            match PasswordHash::new(stored) {
                Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
                Err(error) => {
                    tracing::error!(%error, "stored password hash is malformed");
                    false
                }
            }
        })
        .await
    }

    /// Runs `work` on the blocking pool once a slot is free; 429 when none frees up within the wait.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let slot = match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(closed)) => return Err(AppError::internal(closed)),
            Err(_) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("refused a password check: every hashing slot stayed busy");
                return Err(AppError::TooManyRequests(BUSY_MESSAGE.into()));
            }
        };
        self.counters.operations.fetch_add(1, Ordering::Relaxed);
        // The slot moves into the blocking task: if the request is dropped (the client went away),
        // the hash still runs to its end, and its slot stays taken until then.
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(AppError::internal)
    }
}

/// A hash of a random password, made once per process (on the blocking pool, under a slot: see
/// `verify`).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        use rand::RngCore;
        let mut random = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(&random, &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ_per_salt() {
        let hashing = PasswordHashing::new(2, DEFAULT_WAIT);
        let first = hashing.hash("correct horse battery").await.expect("hash");
        let second = hashing.hash("correct horse battery").await.expect("hash");
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second, "each hash has its own salt");
        assert_eq!(hashing.verify("correct horse battery", Some(&first)).await, Ok(true));
        assert_eq!(hashing.verify("wrong horse battery", Some(&first)).await, Ok(false));
        assert_eq!(hashing.verify("anything", Some("not a hash")).await, Ok(false));
        assert_eq!(hashing.verify("anything", None).await, Ok(false), "nothing matches the decoy");
        assert_eq!(hashing.counters().operations(), 6);
        assert_eq!(hashing.counters().refused(), 0);
    }

    #[tokio::test]
    async fn a_caller_beyond_the_limit_waits_then_is_refused_with_429() {
        let hashing = PasswordHashing::new(1, Duration::from_millis(50));
        // Every slot taken, as by a hash in flight.
        let held = hashing.slots.clone().acquire_owned().await.expect("slot");
        let refused = hashing.hash("correct horse battery").await;
        assert_eq!(refused, Err(AppError::TooManyRequests(BUSY_MESSAGE.into())));
        assert_eq!(refused.unwrap_err().status_code(), 429);
        assert_eq!(hashing.verify("x", None).await, Err(AppError::TooManyRequests(BUSY_MESSAGE.into())));
        assert_eq!(hashing.counters().refused(), 2);
        assert_eq!(hashing.counters().operations(), 0, "a refused caller costs no hash");

        // A slot that frees up within the wait is taken.
        let patient = PasswordHashing { wait: Duration::from_secs(30), ..hashing.clone() };
        let waiting = tokio::spawn(async move { patient.hash("correct horse battery").await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "waits while the slot is held");
        drop(held);
        assert!(waiting.await.expect("task").is_ok());
        assert_eq!(hashing.counters().operations(), 1);
    }

    #[tokio::test]
    async fn no_more_than_the_limit_run_at_once() {
        let hashing = PasswordHashing::new(2, Duration::from_secs(30));
        let running = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (hashing, running, most) = (hashing.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("ran");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(hashing.counters().operations(), 6);
    }
}
