//! Sign-in, sign-out, first-admin setup, admin management and API tokens.

use leptos::prelude::*;

use crate::model::*;
use crate::AppError;

/// Session key holding the signed-in admin's id (read by the server's auth middleware too).
pub const SESSION_ADMIN_KEY: &str = "admin_id";

/// Where to go after signing in: only a local path, so `next` cannot send users to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/login") =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(feature = "ssr")]
mod server_side {
    use super::*;
    use tower_sessions::Session;

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(AppError::internal)
    }

    /// The client's address for sign-in throttling: the socket peer (proxies are not trusted blindly).
    pub fn client_address() -> String {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string())
    }

    /// Starts a fresh session for `admin`: a new session id (no fixation), then the admin id.
    pub async fn start_session(admin: &Admin) -> Result<(), AppError> {
        let session = session().await?;
        session.cycle_id().await.map_err(AppError::internal)?;
        session.insert(SESSION_ADMIN_KEY, admin.id).await.map_err(AppError::internal)?;
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
    use crate::api::backend::with_status;
    with_status(
        async {
            let admin = crate::api::backend()?.create_first_admin(&email, &password).await?;
            server_side::start_session(&admin).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// Signs in with email and password, then goes to `next` (a local path) or the dashboard.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::api::backend::with_status;
    with_status(
        async {
            let client = server_side::client_address();
            let admin = crate::api::backend()?.sign_in(&email, &password, &client).await?;
            server_side::start_session(&admin).await?;
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
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
    use crate::api::backend::with_status;
    with_status(
        async {
            let actor = crate::api::require_admin()?;
            crate::api::backend()?.add_admin(&actor, &email, &password).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "remove_admin")]
pub async fn remove_admin(id: i64) -> Result<(), AppError> {
    use crate::api::backend::with_status;
    with_status(
        async {
            let actor = crate::api::require_admin()?;
            crate::api::backend()?.remove_admin(&actor, id).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::api::backend::with_status;
    with_status(
        async {
            let actor = crate::api::require_admin()?;
            crate::api::backend()?.change_password(&actor, &current_password, &new_password).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.list_tokens().await
}

/// Creates an API token; the response is the only time its secret is shown.
#[server(prefix = "/rpc", endpoint = "create_token")]
pub async fn create_token(name: String) -> Result<NewApiToken, AppError> {
    use crate::api::backend::with_status;
    with_status(
        async {
            let actor = crate::api::require_admin()?;
            crate::api::backend()?.create_token(&actor.email, &name).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.revoke_token(id).await
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
}
