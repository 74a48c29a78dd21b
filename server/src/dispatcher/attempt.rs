//! One delivery attempt: render the body, sign it, POST it, and describe what happened in words
//! (the attempt record the log shows, the delivery's next state, Unleash's state and details).

use std::time::{Duration, Instant};

use base64::Engine;
use hookline_core::body::render_event_json;
use hookline_core::delivery::{DeliveryState, ErrorClass, UnleashState};
use hookline_core::template::Template;

use app::model::MASK;

use super::retry::{parse_retry_after, status_is_retryable, Schedule};
use super::sign::signature_header;
use super::ssrf::{check_literal, GuardError, TargetPolicy};
use crate::backend::TEMPLATE_TIME_LIMIT;
use crate::db::deliveries::{AttemptRecord, DueDelivery, GONE};
use crate::db::webhooks::Webhook;
use crate::time::human_duration;
use crate::time::Clock;

/// How much of a response body is kept.
pub const RESPONSE_EXCERPT_BYTES: usize = 64 * 1024;

/// A webhook as the dispatcher uses it: configuration plus the compiled template.
#[derive(Debug)]
pub struct PreparedWebhook {
    pub webhook: Webhook,
    pub template: Option<Result<Template, String>>,
}

impl PreparedWebhook {
    pub fn new(webhook: Webhook) -> Self {
        let template =
            webhook.body_template.as_deref().map(|source| Template::compile(source).map_err(|e| e.to_string()));
        PreparedWebhook { webhook, template }
    }
}

/// Everything an attempt needs besides the delivery.
pub struct AttemptContext<'a> {
    pub client: &'a reqwest::Client,
    /// The time retries are scheduled by and deliveries are signed at.
    pub clock: &'a dyn Clock,
    pub policy: &'a TargetPolicy,
    pub schedule: &'a Schedule,
    pub request_timeout: Duration,
    pub flag_base_url: Option<&'a str>,
}

/// What the transport said, before deciding about retries.
enum Outcome {
    Response { status: u16, headers: Vec<(String, String)>, body: Vec<u8>, retry_after: Option<Duration> },
    Failure { class: ErrorClass, message: String, retryable: bool, throttled: bool },
}

/// Performs one attempt of `due` to `prepared` and returns the record to store.
pub async fn attempt(ctx: &AttemptContext<'_>, due: &DueDelivery, prepared: &PreparedWebhook) -> AttemptRecord {
    let webhook = &prepared.webhook;
    let number = due.attempts + 1;
    let started_at = ctx.clock.now_ms();
    let start = Instant::now();

    let mut request_headers: Vec<(String, String)> = Vec::new();
    let body = match &webhook.unreadable {
        // Never send without the configured credentials, nor sign with an empty secret.
        Some(problem) => Err(problem.clone()),
        None => build_body(ctx, due, prepared).await,
    };
    let (body, outcome) = match body {
        Err(message) => {
            (String::new(), Outcome::Failure { class: ErrorClass::Render, message, retryable: false, throttled: false })
        }
        Ok(body) => {
            let outcome = send(ctx, due, webhook, &body, &mut request_headers).await;
            (body, outcome)
        }
    };
    let duration_ms = start.elapsed().as_millis() as i64;

    let max_attempts = if due.single_attempt { 1 } else { ctx.schedule.max_attempts(webhook.retry_policy) as i64 };
    let attempts_left = number < max_attempts;
    let jitter = rand::random::<f64>() * 2.0 - 1.0;
    let schedule_retry = |retry_after: Option<Duration>, throttled: bool| {
        let delay = ctx.schedule.delay_before(number as u32 + 1, jitter, retry_after, throttled);
        ctx.clock.now_ms() + delay.as_millis() as i64
    };

    let mut record = AttemptRecord {
        delivery_id: due.id,
        webhook_id: webhook.id,
        number,
        trigger: due.next_trigger,
        url: webhook.url.clone(),
        request_headers: serde_json::to_string(&request_headers).unwrap_or_default(),
        request_body: body,
        status: 0,
        response_headers: None,
        response_body: None,
        response_body_encoding: "utf-8",
        duration_ms,
        error_class: None,
        error_message: None,
        started_at,
        state: DeliveryState::Failed,
        unleash_state: UnleashState::Failed,
        state_details: String::new(),
        next_attempt_at: None,
        succeeded: false,
    };

    match outcome {
        Outcome::Response { status, headers, body, retry_after } => {
            record.status = i64::from(status);
            record.response_headers = Some(serde_json::to_string(&headers).unwrap_or_default());
            let (text, encoding) = excerpt(&body);
            record.response_body = Some(text);
            record.response_body_encoding = encoding;
            if (200..300).contains(&status) {
                record.state = DeliveryState::Succeeded;
                record.unleash_state = UnleashState::Success;
                record.succeeded = true;
                record.state_details = format!("Webhook request was successful with status code: {status}.");
            } else {
                record.state_details = format!("Webhook request failed with status code: {status}.");
                if (300..400).contains(&status) {
                    let location = headers
                        .iter()
                        .find(|(n, _)| n == "location")
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("(no Location)");
                    record.error_class = Some(ErrorClass::Redirect);
                    record.error_message =
                        Some(format!("Redirect {status} to {location} not followed: update the webhook URL instead"));
                } else if i64::from(status) == GONE {
                    record.error_class = Some(ErrorClass::Http);
                    record.error_message = Some(
                        "The receiver answered HTTP 410 Gone: the endpoint no longer exists, so the webhook is disabled"
                            .to_owned(),
                    );
                } else {
                    record.error_class = Some(ErrorClass::Http);
                    record.error_message = Some(format!("The receiver answered HTTP {status} {}", reason(status)));
                }
                if status_is_retryable(status) && attempts_left {
                    record.state = DeliveryState::Retrying;
                    record.next_attempt_at = Some(schedule_retry(retry_after, status == 429));
                }
            }
        }
        Outcome::Failure { class, message, retryable, throttled } => {
            record.state_details = format!("Webhook request failed: {message}.");
            record.error_class = Some(class);
            record.error_message = Some(message);
            if retryable && attempts_left {
                record.state = DeliveryState::Retrying;
                record.next_attempt_at = Some(schedule_retry(None, throttled));
            }
        }
    }
    record
}

/// The request body: the event as received, or the webhook's template rendered against it. A
/// template renders on the blocking pool within `TEMPLATE_TIME_LIMIT`, as the preview and the
/// save-time check do: the renderer's step budget bounds each render, and the pool keeps even a
/// budget's worth of work off the workers that carry other deliveries.
async fn build_body(ctx: &AttemptContext<'_>, due: &DueDelivery, prepared: &PreparedWebhook) -> Result<String, String> {
    // The event stays JSON, as received (keys and order kept); only its id is set from the row.
    let mut event: serde_json::Value = serde_json::from_str(&due.payload)
        .map_err(|e| format!("The stored event {} cannot be read: {e}", due.event_id))?;
    hookline_core::event::set_id(&mut event, due.event_id);
    let template = match &prepared.template {
        None => return render(None, &event, &prepared.webhook.content_type, ctx.flag_base_url),
        Some(Ok(template)) => template.clone(),
        Some(Err(error)) => return Err(format!("The body template does not compile: {error}")),
    };
    let content_type = prepared.webhook.content_type.clone();
    let flag_base_url = ctx.flag_base_url.map(str::to_owned);
    let work =
        tokio::task::spawn_blocking(move || render(Some(&template), &event, &content_type, flag_base_url.as_deref()));
    match tokio::time::timeout(TEMPLATE_TIME_LIMIT, work).await {
        Ok(Ok(rendered)) => rendered,
        Ok(Err(panicked)) => Err(format!("The body template failed to render: {panicked}")),
        Err(_) => Err(format!(
            "The body template failed to render: template does too much work: rendering took longer than {} s",
            TEMPLATE_TIME_LIMIT.as_secs()
        )),
    }
}

fn render(
    template: Option<&Template>,
    event: &serde_json::Value,
    content_type: &str,
    flag_base_url: Option<&str>,
) -> Result<String, String> {
    render_event_json(template, event, content_type, flag_base_url)
        .map_err(|e| format!("The body template failed to render: {e}"))
}

/// Sends the request; fills `recorded` with the headers as sent (secrets redacted).
async fn send(
    ctx: &AttemptContext<'_>,
    due: &DueDelivery,
    webhook: &Webhook,
    body: &str,
    recorded: &mut Vec<(String, String)>,
) -> Outcome {
    let url = match reqwest::Url::parse(&webhook.url) {
        Ok(url) => url,
        Err(e) => {
            return Outcome::Failure {
                class: ErrorClass::Render,
                message: format!("The URL is invalid: {e}"),
                retryable: false,
                throttled: false,
            }
        }
    };
    let target = target_of(&url);
    if let Err(blocked) = check_literal(ctx.policy, &url) {
        return Outcome::Failure {
            class: ErrorClass::Blocked,
            message: blocked.to_string(),
            retryable: false,
            throttled: false,
        };
    }

    let timestamp = ctx.clock.now_ms() / 1000;
    let signature =
        match signature_header(&webhook.signing_secrets(ctx.clock.now_ms()), &due.uid, timestamp, body.as_bytes()) {
            Ok(signature) => signature,
            Err(e) => {
                return Outcome::Failure {
                    class: ErrorClass::Render,
                    message: format!("Cannot sign: {e}"),
                    retryable: false,
                    throttled: false,
                }
            }
        };

    let mut headers: Vec<(String, String, bool)> = vec![
        ("content-type".into(), webhook.content_type.clone(), false),
        ("user-agent".into(), concat!("Hookline/", env!("CARGO_PKG_VERSION")).into(), false),
    ];
    if let Some(authorization) = &webhook.authorization {
        headers.push(("authorization".into(), authorization.clone(), true));
    }
    for (name, value) in &webhook.headers {
        headers.push((name.to_ascii_lowercase(), value.clone(), true));
    }
    headers.push(("webhook-id".into(), due.uid.clone(), false));
    headers.push(("webhook-timestamp".into(), timestamp.to_string(), false));
    headers.push(("webhook-signature".into(), signature, false));

    let mut header_map = reqwest::header::HeaderMap::new();
    for (name, value, secret) in &headers {
        recorded.push((name.clone(), if *secret { MASK.to_string() } else { value.clone() }));
        match (reqwest::header::HeaderName::from_bytes(name.as_bytes()), reqwest::header::HeaderValue::from_str(value))
        {
            (Ok(name), Ok(mut value)) => {
                value.set_sensitive(*secret);
                header_map.insert(name, value);
            }
            _ => {
                return Outcome::Failure {
                    class: ErrorClass::Render,
                    message: format!("Header `{name}` is not a valid HTTP header"),
                    retryable: false,
                    throttled: false,
                }
            }
        }
    }

    let request = ctx.client.post(url).headers(header_map).body(body.to_owned()).timeout(ctx.request_timeout);
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => return classify(error, &target, ctx.request_timeout),
    };
    let status = response.status().as_u16();
    let response_headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, ctx.clock.now_ms() / 1000));
    let mut excerpt = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = RESPONSE_EXCERPT_BYTES.saturating_sub(excerpt.len());
                excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if excerpt.len() >= RESPONSE_EXCERPT_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            // The status arrived; a body that breaks off does not change the verdict.
            Err(error) => {
                // Without the URL: its path or query may hold a credential (Slack-style URLs).
                let error = error.without_url();
                tracing::debug!(%error, "response body broke off");
                break;
            }
        }
    }
    Outcome::Response { status, headers: response_headers, body: excerpt, retry_after }
}

/// `host:port` of a URL, for messages.
fn target_of(url: &reqwest::Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or("?"), url.port_or_known_default().unwrap_or(0))
}

/// Turns a transport error into an error class and a sentence.
fn classify(error: reqwest::Error, target: &str, timeout: Duration) -> Outcome {
    use std::error::Error;
    // Without the URL: its path or query may hold a credential (Slack-style URLs), and its host
    // must not steer the classification below.
    let error = error.without_url();
    let mut chain = Vec::new();
    let mut source: Option<&(dyn Error + 'static)> = Some(&error);
    let mut guard: Option<GuardError> = None;
    let mut io_kind = None;
    while let Some(current) = source {
        if let Some(g) = current.downcast_ref::<GuardError>() {
            guard = Some(g.clone());
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        chain.push(current.to_string());
        source = current.source();
    }
    // The innermost cause says what happened.
    let detail = chain.last().cloned().unwrap_or_default();
    if let Some(guard) = guard {
        return match guard {
            GuardError::Dns { .. } => Outcome::Failure {
                class: ErrorClass::Dns,
                message: guard.to_string(),
                retryable: true,
                throttled: false,
            },
            _ => Outcome::Failure {
                class: ErrorClass::Blocked,
                message: guard.to_string(),
                retryable: false,
                throttled: false,
            },
        };
    }
    if error.is_timeout() {
        return Outcome::Failure {
            class: ErrorClass::Timeout,
            message: format!("Timed out after {} waiting for {target}", human_duration(timeout.as_millis() as i64)),
            retryable: true,
            throttled: true,
        };
    }
    let lower = chain.join(" ").to_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") || lower.contains("ssl") {
        return Outcome::Failure {
            class: ErrorClass::Tls,
            message: format!("TLS handshake with {target} failed: {detail}"),
            retryable: true,
            throttled: false,
        };
    }
    let message = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => format!("Connection refused by {target}"),
        Some(std::io::ErrorKind::ConnectionReset) => format!("Connection reset by {target}"),
        Some(std::io::ErrorKind::TimedOut) => format!("Connecting to {target} timed out"),
        _ if error.is_connect() => format!("Could not connect to {target}: {detail}"),
        _ => format!("The request to {target} failed: {detail}"),
    };
    Outcome::Failure { class: ErrorClass::Connect, message, retryable: true, throttled: false }
}

/// The response excerpt as text, or base64 when it is not UTF-8.
fn excerpt(body: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), "utf-8"),
        // Cut inside a multi-byte character at the excerpt's end: keep the valid part.
        Err(e) if e.error_len().is_none() => (String::from_utf8_lossy(&body[..e.valid_up_to()]).into_owned(), "utf-8"),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), "base64"),
    }
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_keep_text_and_encode_binary() {
        assert_eq!(excerpt(b"ok"), ("ok".to_string(), "utf-8"));
        let cut = "héllo".as_bytes();
        assert_eq!(excerpt(&cut[..2]), ("h".to_string(), "utf-8"), "a character cut at the end is dropped");
        assert_eq!(excerpt(&[0xff, 0x00, 0x80]), ("/wCA".to_string(), "base64"));
    }

    /// A receiver that answers garbage instead of HTTP: the failure is explained with the target
    /// only, never the URL's path (Slack-style URLs carry their credential there).
    #[tokio::test]
    async fn transport_errors_never_repeat_the_url() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 1024];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(b"this is not HTTP\r\n\r\n").await;
            }
        });
        let target = format!("127.0.0.1:{port}");
        let url = format!("http://{target}/services/T000/B000/s3cr3tT0k3n?token=s3cr3tT0k3n");
        let error = reqwest::Client::new().post(&url).send().await.expect_err("garbage is not a response");
        let Outcome::Failure { class, message, retryable, .. } = classify(error, &target, Duration::from_secs(10))
        else {
            panic!("a transport error is a failure");
        };
        assert_eq!(class, ErrorClass::Connect);
        assert!(retryable);
        assert!(message.starts_with(&format!("The request to {target} failed: ")), "{message}");
        assert!(!message.contains("s3cr3t"), "the URL leaked into the message: {message}");
    }
}
