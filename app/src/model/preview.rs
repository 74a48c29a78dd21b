//! The template preview: the body and headers a delivery would have, computed by the same code in
//! the browser (live, on every keystroke) and on the server (`POST /api/admin/preview`, and the
//! form's Preview button without JavaScript).

use hookline_core::body::{check_json, render_event_json};
use hookline_core::catalog;
use hookline_core::event::{parse_event, set_id};
use hookline_core::template::Escape;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::webhook::{validate_template, DEFAULT_CONTENT_TYPE, MASK};

/// `POST /api/admin/preview`: a template and either a catalog event type or an event of your own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PreviewIn {
    #[serde(default)]
    pub body_template: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// Render against this type's sample event (default `feature-created`)...
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<hookline_core::catalog::schema::CatalogEventType>))]
    pub event_type: Option<String>,
    /// ...or against this event (Unleash format).
    #[serde(default)]
    pub event: Option<serde_json::Value>,
    /// Whether the webhook has an Authorization value (shown masked).
    #[serde(default)]
    pub has_authorization: bool,
    /// Extra header names (values are shown masked).
    #[serde(default)]
    pub header_names: Vec<String>,
}

/// Where a preview failed: the template (with its position) or the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PreviewError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// The answer: the exact body, the headers that would be sent, and whether the body is JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PreviewOut {
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// For JSON content types: whether the body parses. Null for other types.
    pub valid_json: Option<bool>,
    pub error: Option<PreviewError>,
}

impl PreviewOut {
    /// The body pretty-printed when it is valid JSON, as is otherwise.
    pub fn display_body(&self) -> String {
        if self.valid_json == Some(true) {
            serde_json::from_str::<serde_json::Value>(&self.body)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| self.body.clone())
        } else {
            self.body.clone()
        }
    }
}

/// The event a preview renders, as JSON: the pasted one as the intake would store it (every key
/// kept, so the preview is what a receiver gets), or the sample of `event_type` (default
/// feature-created).
pub fn preview_event(input: &PreviewIn) -> Result<Value, PreviewError> {
    match &input.event {
        Some(value) => parse_event(value.clone(), "event.", 0)
            .map(|parsed| {
                let mut event = Value::Object(parsed.received);
                set_id(&mut event, parsed.id.unwrap_or(1));
                event
            })
            .map_err(|e| PreviewError { message: format!("the event is not valid: {e}"), line: None, column: None }),
        None => {
            let name = input.event_type.as_deref().unwrap_or("feature-created");
            catalog::sample_event(name).map(|sample| sample.to_value()).ok_or_else(|| PreviewError {
                message: format!("`{name}` is not a known event type"),
                line: None,
                column: None,
            })
        }
    }
}

/// Renders the preview. `flag_base_url` makes eventMarkdown's names links, as in delivery.
pub fn preview(input: &PreviewIn, flag_base_url: Option<&str>) -> PreviewOut {
    let content_type =
        input.content_type.as_deref().map(str::trim).filter(|c| !c.is_empty()).unwrap_or(DEFAULT_CONTENT_TYPE);
    let headers = preview_headers(content_type, input.has_authorization, &input.header_names);
    let json = Escape::for_content_type(content_type) == Escape::Json;
    let fail = |error: PreviewError| PreviewOut {
        body: String::new(),
        headers: headers.clone(),
        valid_json: None,
        error: Some(error),
    };

    let event = match preview_event(input) {
        Ok(event) => event,
        Err(error) => return fail(error),
    };
    let template = match input.body_template.as_deref().filter(|t| !t.trim().is_empty()) {
        None => None,
        Some(source) => match validate_template(source) {
            Ok(template) => Some(template),
            Err(_) => {
                // Re-compile for the structured position (validate_template flattens it into text).
                let error = hookline_core::template::Template::compile(source).err();
                return fail(PreviewError {
                    message: error
                        .as_ref()
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| "the template is too large".into()),
                    line: error.as_ref().map(|e| e.line),
                    column: error.as_ref().map(|e| e.column),
                });
            }
        },
    };
    let body = match render_event_json(template.as_ref(), &event, content_type, flag_base_url) {
        Ok(body) => body,
        Err(error) => return fail(PreviewError { message: error.to_string(), line: None, column: None }),
    };
    let (valid_json, error) = if json {
        match check_json(&body) {
            Ok(()) => (Some(true), None),
            Err(problem) => (
                Some(false),
                Some(PreviewError {
                    message: format!("the rendered body is not valid JSON: {}", problem.message),
                    line: Some(problem.line),
                    column: Some(problem.column),
                }),
            ),
        }
    } else {
        (None, None)
    };
    PreviewOut { body, headers, valid_json, error }
}

/// The request headers a delivery carries, secrets masked, signature values illustrative.
pub fn preview_headers(content_type: &str, has_authorization: bool, header_names: &[String]) -> Vec<(String, String)> {
    let mut headers = vec![
        ("content-type".to_string(), content_type.to_string()),
        ("user-agent".to_string(), concat!("Hookline/", env!("CARGO_PKG_VERSION")).to_string()),
    ];
    if has_authorization {
        headers.push(("authorization".to_string(), MASK.to_string()));
    }
    for name in header_names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        headers.push((name.to_ascii_lowercase(), MASK.to_string()));
    }
    headers.push(("webhook-id".to_string(), "msg_… (one per delivery, the same on every retry)".to_string()));
    headers.push(("webhook-timestamp".to_string(), "… (unix seconds of the attempt)".to_string()));
    headers.push(("webhook-signature".to_string(), "v1,… (HMAC-SHA256 of id.timestamp.body)".to_string()));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(template: &str, content_type: &str) -> PreviewIn {
        PreviewIn {
            body_template: Some(template.into()),
            content_type: Some(content_type.into()),
            event_type: Some("feature-created".into()),
            ..Default::default()
        }
    }

    #[test]
    fn renders_with_headers_and_json_verdict() {
        let out = preview(&input(r#"{"text": "{{event.type}} by {{event.createdBy}}"}"#, "application/json"), None);
        assert_eq!(out.error, None);
        assert_eq!(out.valid_json, Some(true));
        assert!(out.body.contains("feature-created by "));
        assert_eq!(out.headers[0], ("content-type".to_string(), "application/json".to_string()));
        assert!(out.headers.iter().any(|(n, _)| n == "webhook-signature"));
    }

    #[test]
    fn invalid_json_is_located() {
        let out = preview(&input("{\"a\": {{event.id}},\n \"b\": }", "application/json"), None);
        assert_eq!(out.valid_json, Some(false));
        let error = out.error.expect("error");
        assert_eq!((error.line, error.column), (Some(2), Some(7)));
    }

    #[test]
    fn template_errors_carry_positions() {
        let out = preview(&input("line one\n  {{#event.data}}", "text/plain"), None);
        let error = out.error.expect("error");
        assert_eq!((error.line, error.column), (Some(2), Some(3)));
        assert!(error.message.contains("unclosed section"), "{}", error.message);
    }

    #[test]
    fn pasted_events_are_checked() {
        let mut bad = input("{{event.type}}", "text/plain");
        bad.event = Some(serde_json::json!({"type": 5}));
        assert!(preview(&bad, None).error.is_some_and(|e| e.message.contains("event.type")));
        let mut good = input("{{event.type}} {{event.featureName}}", "text/plain");
        good.event = Some(serde_json::json!({"type": "feature-archived", "featureName": "old-flag"}));
        assert_eq!(preview(&good, None).body, "feature-archived old-flag");
        assert_eq!(preview(&good, None).valid_json, None, "not JSON: no verdict");
        // A pasted event renders as the intake would store it: unknown keys and types included.
        let mut raw = input("{{{eventJson}}}", "text/plain");
        raw.event = Some(serde_json::json!({"type": "feature-new-in-unleash-9", "groupId": "g1"}));
        assert_eq!(
            preview(&raw, None).body,
            r#""{\"id\":1,\"type\":\"feature-new-in-unleash-9\",\"groupId\":\"g1\",\"createdAt\":\"1970-01-01T00:00:00.000Z\"}""#
        );
    }

    #[test]
    fn secrets_are_masked_in_headers() {
        let headers = preview_headers("text/plain", true, &["X-Api-Key".to_string()]);
        assert!(headers.contains(&("authorization".to_string(), "*****".to_string())));
        assert!(headers.contains(&("x-api-key".to_string(), "*****".to_string())));
    }
}
