//! Response headers that keep pages from being framed, sniffed or injected into.
//!
//! Pages get a Content-Security-Policy whose `script-src` allows only this origin's files plus the
//! inline scripts Leptos writes for this one response, identified by a per-response nonce (the
//! nonce Leptos already puts on its own scripts, see `page_policy`). WASM compilation needs
//! `'wasm-unsafe-eval'`, which allows WASM only, never `eval` of strings. Every other response gets
//! a policy that allows nothing, so a JSON body or an uploaded-looking file can never run as a page.

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// The policy for HTML pages; `nonce` is the one on this response's inline scripts.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy for everything that is not a page (JSON, files, redirects).
pub const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Sets the protective headers on every response; a page's own CSP (set while rendering, with its
/// nonce) is kept.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(NON_PAGE_POLICY));
    }
    if state.config.secure_cookies() {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Called while a page renders (inside Leptos's per-response context): puts the page policy with
/// this response's nonce on the response.
pub fn set_page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(nonce.as_inner())) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

/// Refuses requests whose `Host` names another site: a page on an attacker's domain that
/// resolves to this server (DNS rebinding) would otherwise be same-origin with it, and could, for
/// one, create the first admin on a fresh install. Allowed: the host of `HOOKLINE_PUBLIC_URL`, the
/// listen address, `localhost`, `127.0.0.1` and `[::1]`, on any port.
pub async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        Some(host) if host_allowed(&state.config, &host) => next.run(request).await,
        other => {
            let shown = other.unwrap_or_else(|| "(none)".into());
            tracing::warn!(host = %shown, "refused a request for another host name");
            let message = format!(
                "this server does not answer to the host name {shown:?}; set HOOKLINE_PUBLIC_URL to the URL users reach it at"
            );
            app::AppError::BadRequest(message).into_response()
        }
    }
}

/// Whether the `Host` header value (name and optional port) is one this server answers to.
pub fn host_allowed(config: &crate::config::Config, host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // [v6]:port
        Some(rest) => match rest.split_once(']') {
            Some((v6, _)) => format!("[{v6}]"),
            None => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, _)| name).to_string(),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
        return true;
    }
    let listen = match config.addr.ip() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    };
    if !config.addr.ip().is_unspecified() && name == listen {
        return true;
    }
    config
        .public_url
        .as_ref()
        .and_then(|url| url.host_str())
        .is_some_and(|public| public.trim_end_matches('.').eq_ignore_ascii_case(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> crate::config::Config {
        let mut argv = vec!["hookline"];
        argv.extend_from_slice(args);
        crate::config::Cli::try_parse_with_env(argv, &[]).expect("settings").config
    }

    #[test]
    fn only_our_own_host_names_are_answered() {
        let local = config(&["--addr", "127.0.0.1:3000"]);
        for host in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "127.0.0.1", "localhost."] {
            assert!(host_allowed(&local, host), "{host}");
        }
        for host in
            ["evil.example", "evil.example:3000", "127.0.0.1.evil.example", "[::2]:3000", "[::1", "10.0.0.5:3000", ""]
        {
            assert!(!host_allowed(&local, host), "{host}");
        }
        let public = config(&["--addr", "0.0.0.0:3000", "--public-url", "https://Hooks.Example.com"]);
        assert!(host_allowed(&public, "hooks.example.com"));
        assert!(host_allowed(&public, "hooks.example.com:443"));
        assert!(!host_allowed(&public, "0.0.0.0:3000"), "a wildcard listen address is no host name");
        assert!(!host_allowed(&public, "example.com"));
        let lan = config(&["--addr", "10.1.2.3:3000"]);
        assert!(host_allowed(&lan, "10.1.2.3:3000"));
        let v6 = config(&["--addr", "[fd00::5]:3000"]);
        assert!(host_allowed(&v6, "[fd00::5]:3000"));
    }

    #[test]
    fn page_policy_allows_only_the_nonce_and_our_origin() {
        let policy = page_policy("abc123");
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        let tokens: Vec<&str> = policy.split([' ', ';']).collect();
        assert!(!tokens.contains(&"'unsafe-eval'"), "no eval of strings");
        assert!(!policy.split(';').any(|d| d.trim().starts_with("script-src") && d.contains("'unsafe-inline'")));
    }
}
