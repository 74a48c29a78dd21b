//! The gate in front of every route.
//!
//! 1. Identify the caller: a session cookie (admins in the browser) or `Authorization: Bearer <token>`
//!    (scripts), and the address it calls from (`ClientAddress`: see `proxies`). The results are
//!    stored in the request extensions (`Caller`, and `CurrentAdmin` for server functions).
//! 2. Refuse cross-site state changes (CSRF): the session cookie is `SameSite=Lax`, and every
//!    POST/PUT/PATCH/DELETE that a browser could send with it must carry an `Origin` (or, failing
//!    that, `Referer`) naming this server. Token-only requests carry no ambient credential and are exempt.
//! 3. Apply the access rule of the path: public, token-only, session-or-token (JSON 401), or page
//!    (redirect to `/login?next=...`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use app::api::auth::{SESSION_ADMIN_KEY, SESSION_REFRESHED_KEY};
use app::api::{ClientAddress, CurrentAdmin};
use app::model::{Actor, Admin};
use app::AppError;
use hookline_core::scope;

use crate::db::tokens::TokenRow;
use crate::state::AppState;

/// Who made the request.
#[derive(Debug, Clone)]
pub enum Caller {
    Admin(Admin),
    Token(TokenRow),
    Anonymous,
}

impl Caller {
    /// Who acts, for "updated by" fields and the audit log, calling from `address`.
    pub fn actor(&self, address: Option<String>) -> Actor {
        match self {
            Caller::Admin(admin) => Actor::admin(admin, address),
            Caller::Token(token) => Actor::token(token.id, &token.name, address),
            Caller::Anonymous => Actor::anonymous("", address),
        }
    }
}

/// How a path may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone (health, static files, sign-in).
    Public,
    /// Only with an API token (event intake).
    Token,
    /// A session or a token; otherwise 401 JSON (admin API, metrics).
    Api,
    /// A session; otherwise 401 JSON (the UI's server functions).
    Rpc,
    /// A session; otherwise a redirect to the sign-in page.
    Page,
}

fn access_of(path: &str) -> Access {
    const PUBLIC_RPC: [&str; 3] = ["/rpc/login", "/rpc/create_first_admin", "/rpc/setup_needed"];
    match path {
        "/healthz" | "/login" | "/setup" | "/favicon.svg" | "/favicon.ico" | "/robots.txt" => Access::Public,
        // The API's description: no secret in it, and clients generate code from it.
        "/api/openapi.json" => Access::Public,
        _ if path.starts_with("/pkg/") => Access::Public,
        _ if PUBLIC_RPC.contains(&path) => Access::Public,
        "/api/events" => Access::Token,
        "/metrics" => Access::Api,
        _ if path.starts_with("/api/") => Access::Api,
        _ if path.starts_with("/rpc/") => Access::Rpc,
        _ => Access::Page,
    }
}

/// Identifies the caller, checks the origin of state-changing requests, and enforces access rules.
pub async fn gate(State(state): State<AppState>, session: Session, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    // Before anything that may log or throttle by address.
    if let Some(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()) {
        let client = state.trusted_proxies.client_address(peer, request.headers());
        request.extensions_mut().insert(ClientAddress(client));
    }
    let access = access_of(&path);
    let caller = match identify(&state, &session, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };

    if is_state_changing(request.method()) && !matches!(caller, Caller::Token(_)) {
        if let Err(reason) = check_same_origin(request.headers(), &state) {
            tracing::warn!(%path, %reason, "refused a cross-site request");
            return AppError::Forbidden(format!("cross-site request refused: {reason}")).into_response();
        }
    }

    let allowed = matches!(
        (access, &caller),
        (Access::Public, _)
            | (Access::Token, Caller::Token(_))
            | (Access::Api, Caller::Admin(_) | Caller::Token(_))
            | (Access::Rpc | Access::Page, Caller::Admin(_))
    );
    if !allowed {
        return match access {
            Access::Page if request.method() == Method::GET || request.method() == Method::HEAD => {
                let target = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
                let login = if target == "/" {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", encode_component(target))
                };
                Redirect::to(&login).into_response()
            }
            Access::Token if matches!(caller, Caller::Admin(_)) => AppError::Forbidden(
                "the event intake takes an API token (Authorization: Bearer ...), not a session".into(),
            )
            .into_response(),
            _ => AppError::Unauthorized.into_response(),
        };
    }

    // A token does only what its scopes say (least privilege: Unleash's intake token cannot read
    // secrets or re-point webhooks).
    if let Caller::Token(token) = &caller {
        if matches!(access, Access::Token | Access::Api) {
            let needed = scope::required(request.method().as_str(), &path);
            let held = token.scopes();
            if !scope::grants(&held, needed) {
                let has = if held.is_empty() { "none".to_string() } else { scope::format_list(&held) };
                tracing::warn!(token_id = token.id, %path, %needed, %has, "refused a request outside the token's scopes");
                return AppError::Forbidden(format!(
                    "this token lacks the `{needed}` scope that {} {path} needs (it has: {has})",
                    request.method()
                ))
                .into_response();
            }
        }
    }

    // The sign-in and setup pages depend on whether an admin exists and who is signed in.
    if request.method() == Method::GET && (path == "/login" || path == "/setup") {
        let setup_needed = match state.db.count_admins().await {
            Ok(count) => count == 0,
            Err(error) => return AppError::from(error).into_response(),
        };
        match (path.as_str(), setup_needed, &caller) {
            ("/login", true, _) => return Redirect::to("/setup").into_response(),
            ("/setup", false, Caller::Admin(_)) => return Redirect::to("/").into_response(),
            ("/setup", false, _) => return Redirect::to("/login").into_response(),
            ("/login", false, Caller::Admin(_)) => return Redirect::to("/").into_response(),
            _ => {}
        }
    }

    let admin = match &caller {
        Caller::Admin(admin) => Some(admin.clone()),
        _ => None,
    };
    request.extensions_mut().insert(CurrentAdmin(admin));
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Resolves the session's admin or the bearer token. A bad token is an error (not anonymous), so
/// a script with a revoked token learns why.
async fn identify(state: &AppState, session: &Session, headers: &HeaderMap) -> Result<Caller, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthorized)?;
        let hash = super::token::hash_token(token);
        let now = Instant::now();
        let row = match state.tokens.get(&hash, now) {
            Some(row) => row,
            None => {
                let row = state.db.token_by_hash(&hash).await?.ok_or(AppError::Unauthorized)?;
                state.tokens.put(hash, row.clone(), now);
                row
            }
        };
        state.note_token_use(row.id, now, Duration::from_secs(60)).await;
        return Ok(Caller::Token(row));
    }
    let admin_id = session.get::<i64>(SESSION_ADMIN_KEY).await.map_err(AppError::internal)?;
    if let Some(id) = admin_id {
        match state.db.admin_by_id(id).await? {
            Some(row) => {
                refresh_if_due(session, state.config.session_idle).await?;
                return Ok(Caller::Admin(crate::backend::admin_out(row)));
            }
            // The admin was removed after this request loaded its session (removal deletes
            // their sessions, so later requests find none): end it.
            None => session.flush().await.map_err(AppError::internal)?,
        }
    }
    Ok(Caller::Anonymous)
}

/// Pushes a session's idle expiry back while it is used. tower-sessions only writes a session
/// (and renews its cookie) when its data changed, so without this a session ended
/// HOOKLINE_SESSION_IDLE after sign-in however busy. Touching it on every request would write the
/// database once per page and call, so it is touched at most once a minute (a quarter of the idle
/// time when that is shorter): the expiry is then at most that much early.
async fn refresh_if_due(session: &Session, idle: Duration) -> Result<(), AppError> {
    let every = i64::try_from((idle / 4).min(Duration::from_secs(60)).as_millis()).unwrap_or(i64::MAX);
    let now = crate::db::now_ms();
    let last = session.get::<i64>(SESSION_REFRESHED_KEY).await.map_err(AppError::internal)?;
    if last.is_none_or(|last| now.saturating_sub(last) >= every) {
        session.insert(SESSION_REFRESHED_KEY, now).await.map_err(AppError::internal)?;
    }
    Ok(())
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Accepts the request when its `Origin` (or `Referer`) is this server: the `Host` it was sent to,
/// or the configured public URL. A browser always sends one of them with a cross-site POST.
fn check_same_origin(headers: &HeaderMap, state: &AppState) -> Result<(), String> {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err("Sec-Fetch-Site is cross-site".into());
    }
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .filter(|v| *v != "null");
    let Some(claimed) = claimed else {
        // Neither header: not a browser (browsers send Origin with every POST). Without a session
        // cookie there is nothing to forge; with one, refuse.
        let has_cookie = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains(crate::SESSION_COOKIE));
        return if has_cookie { Err("no Origin or Referer header".into()) } else { Ok(()) };
    };
    let claimed_host = url::Url::parse(claimed).ok().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(port) => format!("{h}:{port}"),
            None => h.to_string(),
        })
    });
    let Some(claimed_host) = claimed_host else {
        return Err(format!("malformed origin `{claimed}`"));
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let public = state.config.public_url.as_ref().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(port) => format!("{h}:{port}"),
            None => h.to_string(),
        })
    });
    if claimed_host.eq_ignore_ascii_case(host) || public.is_some_and(|p| p.eq_ignore_ascii_case(&claimed_host)) {
        Ok(())
    } else {
        Err(format!("origin `{claimed_host}` is not this server (`{host}`)"))
    }
}

/// Percent-encodes a path for a query value.
fn encode_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// 404 JSON for unknown API paths (instead of the HTML not-found page).
pub async fn api_not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(app::error::ErrorBody::from(&AppError::NotFound("API route".into()))))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_access_rules() {
        assert_eq!(access_of("/healthz"), Access::Public);
        assert_eq!(access_of("/login"), Access::Public);
        assert_eq!(access_of("/pkg/hookline.wasm"), Access::Public);
        assert_eq!(access_of("/rpc/login"), Access::Public);
        assert_eq!(access_of("/rpc/list_admins"), Access::Rpc);
        assert_eq!(access_of("/api/events"), Access::Token);
        assert_eq!(access_of("/api/openapi.json"), Access::Public);
        assert_eq!(access_of("/api/admin/webhooks"), Access::Api);
        assert_eq!(access_of("/"), Access::Page);
        assert_eq!(access_of("/webhooks/3"), Access::Page);
        assert_eq!(access_of("/pkgx"), Access::Page);
    }
}
