//! Sign-in, sign-out, first-admin setup, admin management and API tokens.

use leptos::prelude::*;

use crate::model::*;
use crate::AppError;

/// Session key holding the signed-in admin's id (read by the server's auth middleware and session
/// store too).
pub const SESSION_ADMIN_KEY: &str = "admin_id";

/// Session key holding when the session's idle expiry was last pushed back (unix milliseconds;
/// see the server's auth middleware).
pub const SESSION_REFRESHED_KEY: &str = "refreshed_at";

/// Where to go after signing in: only a path on this site, so `next` cannot send users elsewhere.
///
/// Browsers drop tabs and newlines inside URLs and read `\\` as `/`, so `/\t/evil.example` or
/// `/\\evil.example` would become the protocol-relative `//evil.example`: any control character,
/// space or backslash refuses the value outright. What is left must resolve, against this site,
/// to this site (no scheme, no `//host`); the result is the parsed path and query, which can
/// never hold a character that is invalid in a `Location` header.
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/";
    let Some(path) = next else { return HOME.into() };
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return HOME.into();
    }
    let base = url::Url::parse("http://hookline.invalid/").expect("a valid base");
    let Ok(target) = base.join(path) else { return HOME.into() };
    if target.origin() != base.origin() || target.path().starts_with("/login") {
        return HOME.into();
    }
    match target.query() {
        Some(query) => format!("{}?{query}", target.path()),
        None => target.path().to_string(),
    }
}

#[cfg(feature = "ssr")]
mod server_side {
    use super::*;
    use tower_sessions::Session;

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(AppError::internal)
    }

    /// The client's address for sign-in throttling and the audit log, as the server's middleware
    /// resolved it (the connection's peer; `X-Forwarded-For` only from a trusted proxy).
    pub fn client_address() -> String {
        crate::api::client_address().unwrap_or_else(|| "unknown".to_string())
    }

    /// Starts a fresh session for `admin`: a new session id (no fixation), then the admin id.
    pub async fn start_session(admin: &Admin) -> Result<(), AppError> {
        let session = session().await?;
        session.cycle_id().await.map_err(AppError::internal)?;
        session.insert(SESSION_ADMIN_KEY, admin.id).await.map_err(AppError::internal)?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        session.insert(SESSION_REFRESHED_KEY, now_ms).await.map_err(AppError::internal)?;
        Ok(())
    }
}

/// Whether the one-time "create the first admin" page applies.
#[server(prefix = "/rpc", endpoint = "setup_needed")]
pub async fn setup_needed() -> Result<bool, AppError> {
    crate::api::backend()?.setup_needed().await
}

/// Creates the first admin and signs them in. Refused once any admin exists.
#[server(prefix = "/rpc", endpoint = "create_first_admin")]
pub async fn create_first_admin(email: String, password: String) -> Result<(), AppError> {
    let asking = Actor::anonymous(&email, crate::api::client_address());
    let admin = crate::api::backend()?.create_first_admin(&asking, &email, &password).await?;
    server_side::start_session(&admin).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Signs in with email and password, then goes to `next` (a local path) or the dashboard.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let client = server_side::client_address();
    let admin = crate::api::backend()?.sign_in(&email, &password, &client).await?;
    server_side::start_session(&admin).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the session and returns to the sign-in page.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let session = server_side::session().await?;
    session.flush().await.map_err(AppError::internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in admin, or None.
#[server(prefix = "/rpc", endpoint = "me")]
pub async fn me() -> Result<Option<Admin>, AppError> {
    Ok(crate::api::require_admin().ok())
}

#[server(prefix = "/rpc", endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<Admin>, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.list_admins().await
}

#[server(prefix = "/rpc", endpoint = "add_admin")]
pub async fn add_admin(email: String, password: String) -> Result<Admin, AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.add_admin(&actor, &email, &password).await
}

#[server(prefix = "/rpc", endpoint = "remove_admin")]
pub async fn remove_admin(id: i64) -> Result<(), AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.remove_admin(&actor, id).await
}

/// Changes the signed-in admin's password; their other sessions (other browsers, or whoever
/// took over one) end, this one stays.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let actor = crate::api::require_actor()?;
    let this_session = server_side::session().await?.id().map(|id| id.to_string());
    crate::api::backend()?.change_password(&actor, &current_password, &new_password, this_session.as_deref()).await
}

#[server(prefix = "/rpc", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.list_tokens().await
}

/// Creates an API token with the scopes ticked (`scopes[]`; none ticked means `events`, the
/// least a token can do); the response is the only time its secret is shown.
#[server(prefix = "/rpc", endpoint = "create_token")]
pub async fn create_token(name: String, scopes: Option<Vec<String>>) -> Result<NewApiToken, AppError> {
    use hookline_core::scope::Scope;
    let actor = crate::api::require_actor()?;
    let scopes = match scopes {
        None => vec![Scope::Events],
        Some(names) => names
            .iter()
            .map(|name| {
                Scope::parse(name).ok_or_else(|| {
                    AppError::invalid("scopes", format!("unknown scope `{name}` (use events, read or admin)"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    crate::api::backend()?.create_token(&actor, &name, scopes).await
}

#[server(prefix = "/rpc", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    let actor = crate::api::require_actor()?;
    crate::api::backend()?.revoke_token(&actor, id).await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_allows_local_paths() {
        assert_eq!(safe_next(Some("/webhooks?x=1")), "/webhooks?x=1");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn next_refuses_every_way_out() {
        let refused = [
            ("tab", "/\t/evil.example"),
            ("CR/LF (header injection)", "/x\r\nSet-Cookie: a=b"),
            ("LF", "/\n/evil.example"),
            ("NUL", "/x\0"),
            ("space", "/ /evil.example"),
            ("protocol-relative", "//evil.example/x"),
            ("backslash", "/\\evil.example"),
            ("backslash later", "/webhooks\\..\\x"),
            ("scheme", "https:evil.example"),
            ("javascript scheme", "javascript:alert(1)"),
            ("absolute URL", "https://evil.example/"),
            ("relative path", "webhooks"),
            ("empty", ""),
            ("the sign-in page", "/login?next=/x"),
            ("dot segments to the sign-in page", "/a/../login"),
        ];
        for (why, next) in refused {
            assert_eq!(safe_next(Some(next)), "/", "{why}: {next:?}");
        }
        assert_eq!(safe_next(Some("/webhooks/3/deliveries?state=failed")), "/webhooks/3/deliveries?state=failed");
        assert_eq!(safe_next(Some("/a/../settings")), "/settings", "dot segments resolve");
        assert_eq!(safe_next(Some("/%2f%2fevil.example")), "/%2f%2fevil.example", "an encoded slash stays a path");
    }
}
