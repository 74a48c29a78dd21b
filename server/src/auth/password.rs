//! Argon2id password hashing, off the async runtime (each hash costs tens of milliseconds on purpose).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use app::AppError;

/// Hashes a password with Argon2id (the crate's default, OWASP-recommended parameters).
pub async fn hash_password(password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Checks a password against a stored hash. A malformed stored hash counts as a mismatch (and is logged).
pub async fn verify_password(password: &str, stored_hash: &str) -> bool {
    let password = password.to_owned();
    let stored_hash = stored_hash.to_owned();
    tokio::task::spawn_blocking(move || match PasswordHash::new(&stored_hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(error) => {
            tracing::error!(%error, "stored password hash is malformed");
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password: sign-in attempts for unknown emails verify against it, so they
/// take as long as attempts for real accounts and do not reveal which emails exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(uuid_like().as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

fn uuid_like() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ_per_salt() {
        let first = hash_password("correct horse battery").await.expect("hash");
        let second = hash_password("correct horse battery").await.expect("hash");
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second, "each hash has its own salt");
        assert!(verify_password("correct horse battery", &first).await);
        assert!(!verify_password("wrong horse battery", &first).await);
        assert!(!verify_password("anything", "not a hash").await);
    }
}
