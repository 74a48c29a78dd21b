//! Unleash's event API over HTTP, as the catch-up poller reads it: `GET /api/admin/search/events`
//! (Unleash 5.9 and later: `offset`/`limit` paging, newest first, `{"events": [...], "total": n}`),
//! or, where that answers 404, the older `GET /api/admin/events` (its newest 100, one page,
//! `{"version": 1, "events": [...]}`). The token goes in `Authorization` exactly as configured.
//!
//! Every answer is bounded (time and size), redirects are not followed (they would carry the
//! token elsewhere), and anything that is not Unleash's event list is an error, never a guess.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::StatusCode;
use serde_json::Value;

use super::cursor::{EventSource, FetchError, Page};

/// The largest answer read: 1,000 ordinary Unleash events fit many times over; a server that
/// sends more is cut off rather than read into memory.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Reads Unleash's events.
pub struct UnleashClient {
    http: reqwest::Client,
    search_url: url::Url,
    legacy_url: url::Url,
    token: HeaderValue,
    timeout: Duration,
    /// The search endpoint answered 404: this Unleash predates it (asked again after a restart).
    legacy: bool,
}

impl UnleashClient {
    /// A client for the Unleash at `base` (its UI address; the API is under `/api`).
    pub fn new(
        base: &url::Url,
        token: &str,
        timeout: Duration,
        connect_timeout: Duration,
        extra_roots: Vec<reqwest::Certificate>,
    ) -> anyhow::Result<UnleashClient> {
        let join = |path: &str| {
            url::Url::parse(&format!("{}{path}", base.as_str().trim_end_matches('/')))
                .with_context(|| format!("HOOKLINE_UNLEASH_URL `{base}` cannot be joined with {path}"))
        };
        let mut token = HeaderValue::from_str(token.trim())
            .map_err(|_| anyhow::anyhow!("HOOKLINE_UNLEASH_TOKEN holds characters a header cannot carry"))?;
        token.set_sensitive(true);
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("Hookline/", env!("CARGO_PKG_VERSION"), " (catch-up)"))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(timeout);
        for root in extra_roots {
            builder = builder.add_root_certificate(root);
        }
        Ok(UnleashClient {
            http: builder.build().context("cannot build the Unleash client")?,
            search_url: join("/api/admin/search/events")?,
            legacy_url: join("/api/admin/events")?,
            token,
            timeout,
            legacy: false,
        })
    }

    /// GETs `url` and reads its JSON answer, within the time and size limits.
    async fn get_json(&self, url: url::Url) -> Result<Value, FetchError> {
        let mut response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.token.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        match response.status() {
            status if status.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(FetchError::Refused(response.status().as_u16()))
            }
            StatusCode::NOT_FOUND => return Err(FetchError::NotFound),
            status => return Err(FetchError::Status(status.as_u16())),
        }
        if response.content_length().is_some_and(|length| length > MAX_RESPONSE_BYTES as u64) {
            return Err(FetchError::TooLarge(MAX_RESPONSE_BYTES));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(FetchError::TooLarge(MAX_RESPONSE_BYTES));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| FetchError::Malformed(format!("not JSON ({e})")))
    }

    fn transport_error(&self, error: reqwest::Error) -> FetchError {
        if error.is_timeout() {
            FetchError::Timeout(humantime::format_duration(self.timeout).to_string())
        } else {
            // The whole chain: reqwest's own text ("error sending request") says little.
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            FetchError::Unreachable(text)
        }
    }
}

/// The `events` array of an answer, every item an object.
fn events_of(answer: Value) -> Result<Vec<Value>, FetchError> {
    let Value::Object(mut answer) = answer else {
        return Err(FetchError::Malformed("expected a JSON object with `events`".into()));
    };
    let Some(Value::Array(events)) = answer.remove("events") else {
        return Err(FetchError::Malformed("no `events` array".into()));
    };
    if events.iter().any(|event| !event.is_object()) {
        return Err(FetchError::Malformed("an event that is not a JSON object".into()));
    }
    Ok(events)
}

#[async_trait]
impl EventSource for UnleashClient {
    async fn page(&mut self, offset: usize, limit: usize) -> Result<Page, FetchError> {
        if !self.legacy {
            let mut url = self.search_url.clone();
            url.query_pairs_mut().append_pair("offset", &offset.to_string()).append_pair("limit", &limit.to_string());
            match self.get_json(url).await {
                Err(FetchError::NotFound) => {
                    tracing::warn!("Unleash has no /api/admin/search/events; catching up from /api/admin/events (its newest 100 events only)");
                    self.legacy = true;
                }
                answer => return Ok(Page { events: events_of(answer?)?, more: true }),
            }
        }
        let events = events_of(self.get_json(self.legacy_url.clone()).await?)?;
        Ok(Page { events, more: false })
    }
}
