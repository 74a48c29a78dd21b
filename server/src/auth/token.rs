//! API tokens: `hl_` + 32 random bytes in base64url. Stored as SHA-256 (a token has 256 bits of
//! entropy, so a slow hash adds nothing and a fast one allows lookup by hash).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::db::tokens::TokenRow;

pub const TOKEN_PREFIX: &str = "hl_";

/// A new random token.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The part of a token shown in lists.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.starts_with("hl_") && a.len() == 3 + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(display_prefix(&a).len(), 9);
    }
}

/// API tokens verified in the last `TTL`, by hash, so a script's every request does not read the
/// database for its token (on PostgreSQL that was a round trip per intake request, the most
/// frequent statement of all). A token revoked through this process stops working at once
/// (`forget`); revoked through another (the command line, another instance), within `TTL`. Only
/// tokens that exist are kept, so the cache holds at most one entry per live token.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<Entries>,
}

/// Per token hash: the token, and when it was read from the database.
type Entries = HashMap<String, (TokenRow, Instant)>;

impl TokenCache {
    pub const TTL: Duration = Duration::from_secs(1);

    /// The token with this hash, if verified less than `TTL` before `now`.
    pub fn get(&self, hash: &str, now: Instant) -> Option<TokenRow> {
        let entries = self.lock();
        let (row, verified) = entries.get(hash)?;
        (now.saturating_duration_since(*verified) < Self::TTL).then(|| row.clone())
    }

    /// Remembers a token just read from the database (dropping the expired ones now and then).
    pub fn put(&self, hash: String, row: TokenRow, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= 64 {
            entries.retain(|_, (_, verified)| now.saturating_duration_since(*verified) < Self::TTL);
        }
        entries.insert(hash, (row, now));
    }

    /// Forgets every token (one was revoked).
    pub fn forget(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    fn row(id: i64) -> TokenRow {
        TokenRow {
            id,
            name: "t".into(),
            prefix: "hl_".into(),
            created_by: "test".into(),
            created_at: 0,
            last_used_at: None,
            scopes: "events".into(),
        }
    }

    #[test]
    fn a_cached_token_expires_and_is_forgotten_on_revoke() {
        let cache = TokenCache::default();
        let start = Instant::now();
        cache.put("a".into(), row(1), start);
        assert_eq!(cache.get("a", start + Duration::from_millis(999)).map(|r| r.id), Some(1));
        assert!(cache.get("a", start + TokenCache::TTL).is_none(), "read again after TTL");
        assert!(cache.get("b", start).is_none(), "only what was put");
        cache.forget();
        assert!(cache.get("a", start).is_none(), "a revoke forgets it at once");
    }
}
