//! Encryption of secrets at rest: the one place that seals and opens them.
//!
//! Authorization values, extra headers, signing secrets and session records are stored as
//! `enc:v1:<key-id>:<base64(nonce || ciphertext)>`: XChaCha20-Poly1305 under a 256-bit key, with
//! a fresh random 192-bit nonce per value (random nonces of that size never collide in practice,
//! so no counter has to survive restarts or backups). Each value is bound to its place, the
//! column and the row id (the associated data), so a value copied into another row or column does
//! not open: nobody with write access to the file can make webhook A send webhook B's credentials.
//!
//! The key id is derived from the key (a hash), so a value names the key it needs without the
//! database holding anything that helps to find the key, and a wrong key is recognised before any
//! decryption is tried.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// What every sealed value starts with (format version 1).
const PREFIX: &str = "enc:v1:";
const NONCE_BYTES: usize = 24;
/// Poly1305's tag, appended to the ciphertext.
const TAG_BYTES: usize = 16;
/// Hex digits of a key id (64 bits: a collision between an installation's keys is out of reach).
const KEY_ID_DIGITS: usize = 16;

/// Identifies a key without revealing it: the first 64 bits of a domain-separated SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KEY_ID_DIGITS / 2]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl KeyId {
    fn parse(text: &str) -> Option<KeyId> {
        if text.len() != KEY_ID_DIGITS || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut id = [0u8; KEY_ID_DIGITS / 2];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(KeyId(id))
    }
}

/// A 256-bit encryption key, ready to seal and open. Its `Debug` shows the id only.
#[derive(Clone)]
pub struct EncryptionKey {
    id: KeyId,
    cipher: XChaCha20Poly1305,
    /// Key material for signing session cookies, derived from the key (HMAC-SHA512 with a fixed
    /// label), for servers given no HOOKLINE_SECRET_KEY and no data folder to keep one in: every
    /// PostgreSQL instance then signs with the same key without a second setting.
    cookie_material: [u8; 64],
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({})", self.id)
    }
}

/// Why a sealed value cannot be opened. None of the messages contain any part of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The value is not in the `enc:v1:` format (plain text where ciphertext belongs).
    #[error("it is not encrypted")]
    NotSealed,
    /// The value was sealed with another key.
    #[error("it was encrypted with key {0}, not the configured key")]
    OtherKey(KeyId),
    /// Authentication failed: the value was altered, or it was moved from another row or column.
    #[error("the stored value was altered or belongs to another row")]
    Tampered,
    /// The plaintext is not UTF-8 text (only possible if the key was used for something else).
    #[error("its content is not text")]
    NotText,
}

impl EncryptionKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> EncryptionKey {
        let digest = Sha256::new().chain_update(b"hookline encryption key id\0").chain_update(bytes).finalize();
        let mut id = [0u8; KEY_ID_DIGITS / 2];
        id.copy_from_slice(&digest[..KEY_ID_DIGITS / 2]);
        let key = chacha20poly1305::Key::from(*bytes);
        let cookie_material = {
            use hmac::{Hmac, Mac};
            let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(bytes).expect("HMAC takes any key length");
            mac.update(b"hookline session cookie signing key");
            mac.finalize().into_bytes().into()
        };
        EncryptionKey { id: KeyId(id), cipher: XChaCha20Poly1305::new(&key), cookie_material }
    }

    /// 32 fresh random bytes from the operating system, and their text form (for a key file or
    /// HOOKLINE_ENCRYPTION_KEY).
    pub fn generate() -> (EncryptionKey, String) {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = EncryptionKey::from_bytes(&bytes);
        let text = STANDARD.encode(bytes);
        bytes.fill(0);
        (key, text)
    }

    /// Reads a key written as 64 hex digits or as base64 of 32 bytes (standard or URL-safe
    /// alphabet, padding optional); surrounding whitespace is ignored. The error says what was
    /// wrong without repeating the text.
    pub fn parse(text: &str) -> Result<EncryptionKey, String> {
        let text = text.trim();
        let mut bytes = [0u8; 32];
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            for (i, byte) in bytes.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| "not hex".to_string())?;
            }
        } else {
            let unpadded = text.trim_end_matches('=');
            let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded))
                .map_err(|_| "expected 32 bytes as 64 hex digits or as base64 (44 characters)".to_string())?;
            if decoded.len() != 32 {
                return Err(format!(
                    "expected 32 bytes as 64 hex digits or as base64 (44 characters), got {} bytes",
                    decoded.len()
                ));
            }
            bytes.copy_from_slice(&decoded);
        }
        let key = EncryptionKey::from_bytes(&bytes);
        bytes.fill(0);
        Ok(key)
    }

    /// Key material for signing session cookies (see the field).
    pub fn cookie_material(&self) -> &[u8; 64] {
        &self.cookie_material
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Seals `plaintext` for `column` (e.g. `webhooks.secret`) of the row `row`.
    pub fn seal(&self, column: &str, row: impl fmt::Display, plaintext: &[u8]) -> String {
        use rand::RngCore;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(column, &row.to_string());
        let nonce = XNonce::from(nonce);
        // Encryption only fails for inputs beyond 256 GiB; a stored secret is never near that.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: &aad })
            .unwrap_or_else(|_| panic!("{column}: value too large to encrypt"));
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}:{}", self.id, STANDARD.encode(sealed))
    }

    /// `seal` for text.
    pub fn seal_text(&self, column: &str, row: impl fmt::Display, plaintext: &str) -> String {
        self.seal(column, row, plaintext.as_bytes())
    }

    /// Opens a value sealed for `column` of `row`.
    pub fn open(&self, column: &str, row: impl fmt::Display, sealed: &str) -> Result<Vec<u8>, SecretError> {
        let (key_id, bytes) = parse_sealed(sealed).ok_or(SecretError::NotSealed)?;
        if key_id != self.id {
            return Err(SecretError::OtherKey(key_id));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| SecretError::Tampered)?;
        let aad = associated_data(column, &row.to_string());
        self.cipher.decrypt(&nonce, Payload { msg: ciphertext, aad: &aad }).map_err(|_| SecretError::Tampered)
    }

    /// `open` for text.
    pub fn open_text(&self, column: &str, row: impl fmt::Display, sealed: &str) -> Result<String, SecretError> {
        String::from_utf8(self.open(column, row, sealed)?).map_err(|_| SecretError::NotText)
    }
}

/// Whether `text` is a sealed value (as opposed to plain text from before encryption at rest).
/// Strict: the prefix, a key id and base64 long enough for a nonce and a tag; a plain value that
/// merely starts with `enc:` is not mistaken for one.
pub fn is_sealed(text: &str) -> bool {
    parse_sealed(text).is_some()
}

/// The key id a sealed value names.
pub fn sealed_key_id(text: &str) -> Option<KeyId> {
    parse_sealed(text).map(|(id, _)| id)
}

fn parse_sealed(text: &str) -> Option<(KeyId, Vec<u8>)> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, payload) = rest.split_once(':')?;
    let id = KeyId::parse(id)?;
    let bytes = STANDARD.decode(payload).ok()?;
    (bytes.len() >= NONCE_BYTES + TAG_BYTES).then_some((id, bytes))
}

/// Binds a value to its place: column and row, length-prefixed so no two places share bytes.
fn associated_data(column: &str, row: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(column.len() + row.len() + 24);
    aad.extend_from_slice(b"hookline:v1:");
    aad.extend_from_slice(&(column.len() as u32).to_be_bytes());
    aad.extend_from_slice(column.as_bytes());
    aad.extend_from_slice(&(row.len() as u32).to_be_bytes());
    aad.extend_from_slice(row.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> EncryptionKey {
        EncryptionKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn sealed_values_open_only_in_their_place_with_their_key() {
        let key = key(7);
        let sealed = key.seal_text("webhooks.secret", 3, "whsec_abc");
        assert!(sealed.starts_with(&format!("enc:v1:{}:", key.id())), "{sealed}");
        assert!(!sealed.contains("whsec_abc"));
        assert!(is_sealed(&sealed));
        assert_eq!(key.open_text("webhooks.secret", 3, &sealed).as_deref(), Ok("whsec_abc"));
        assert_eq!(key.open_text("webhooks.secret", 4, &sealed), Err(SecretError::Tampered), "another row");
        assert_eq!(key.open_text("webhooks.authorization", 3, &sealed), Err(SecretError::Tampered), "another column");
        let other = super::tests::key(8);
        assert_eq!(other.open_text("webhooks.secret", 3, &sealed), Err(SecretError::OtherKey(key.id())));
        assert_ne!(key.seal_text("webhooks.secret", 3, "whsec_abc"), sealed, "a fresh nonce every time");
    }

    #[test]
    fn a_flipped_byte_is_detected() {
        let key = key(1);
        let sealed = key.seal_text("webhooks.authorization", 1, "Bearer x");
        let (head, payload) = sealed.rsplit_once(':').expect("format");
        let mut bytes = STANDARD.decode(payload).expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("{head}:{}", STANDARD.encode(bytes));
        assert_eq!(key.open_text("webhooks.authorization", 1, &altered), Err(SecretError::Tampered));
        assert_eq!(key.open_text("webhooks.authorization", 1, "Bearer x"), Err(SecretError::NotSealed));
    }

    #[test]
    fn plain_values_are_not_mistaken_for_sealed_ones() {
        assert!(!is_sealed("Bearer abc"));
        assert!(!is_sealed("enc:v1:zz:abc"));
        assert!(!is_sealed("enc:v1:0011223344556677:"));
        assert!(!is_sealed("{}"));
    }

    #[test]
    fn keys_parse_from_hex_or_base64_and_name_the_problem() {
        let hex = "00".repeat(31) + "ff";
        let base64 = STANDARD.encode([0u8; 31].iter().chain(&[0xff]).copied().collect::<Vec<u8>>());
        let from_hex = EncryptionKey::parse(&hex).expect("hex");
        let from_base64 = EncryptionKey::parse(&format!(" {base64}\n")).expect("base64");
        assert_eq!(from_hex.id(), from_base64.id());
        assert_eq!(EncryptionKey::parse(base64.trim_end_matches('=')).expect("unpadded").id(), from_hex.id());
        let short = EncryptionKey::parse(&STANDARD.encode([1u8; 16])).expect_err("16 bytes");
        assert!(short.contains("got 16 bytes"), "{short}");
        assert!(EncryptionKey::parse("correct horse battery staple").is_err());
        let (generated, text) = EncryptionKey::generate();
        assert_eq!(EncryptionKey::parse(&text).expect("round trip").id(), generated.id());
        assert_eq!(format!("{generated:?}"), format!("EncryptionKey({})", generated.id()), "Debug shows the id only");
    }
}
