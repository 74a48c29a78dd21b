//! Admin accounts and API tokens as the UI and API see them (never a password hash or token hash).

use serde::{Deserialize, Serialize};

/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_LEN: usize = 12;

/// A signed-in administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    pub id: i64,
    pub email: String,
    /// RFC 3339.
    pub created_at: String,
}

/// An API token as listed: the secret itself is shown once, at creation, and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// What the token may do (hookline-core's `scope` module).
    pub scopes: Vec<hookline_core::scope::Scope>,
}

/// A freshly created token: the only time `token` is ever returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApiToken {
    pub token: String,
    #[serde(flatten)]
    pub info: ApiToken,
}

/// Checks an email address the way a login form needs: one `@`, something on each side, no spaces.
pub fn validate_email(email: &str) -> Result<String, crate::AppError> {
    let email = email.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if valid {
        Ok(email.to_string())
    } else {
        Err(crate::AppError::invalid("email", "enter a valid email address, like admin@example.com"))
    }
}

/// Checks a new password: at least MIN_PASSWORD_LEN characters, at most 1024 (hashing cost bound).
pub fn validate_new_password(field: &str, password: &str) -> Result<(), crate::AppError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(crate::AppError::invalid(field, format!("use at least {MIN_PASSWORD_LEN} characters")));
    }
    if password.len() > 1024 {
        return Err(crate::AppError::invalid(field, "use at most 1024 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked() {
        assert_eq!(validate_email(" admin@example.com ").as_deref(), Ok("admin@example.com"));
        for bad in ["", "admin", "@example.com", "admin@", "admin@example", "a b@example.com", "a@b@c.com"] {
            assert!(validate_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(validate_new_password("password", "short").is_err());
        assert!(validate_new_password("password", "exactly12chr").is_ok());
        let err = validate_new_password("newPassword", "x").unwrap_err();
        assert_eq!(err.field(), Some("newPassword"));
    }
}
