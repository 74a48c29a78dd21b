//! The request body of a delivery: the event rendered through the webhook's template, or the
//! event JSON itself. Shared by the dispatcher (server) and the live preview (browser), so what an
//! admin previews is exactly what is sent.

use serde::Serialize;

use serde_json::{Map, Value};

use crate::context::event_json_literal;
use crate::event::{Event, EventView};
use crate::markdown::markdown_of;
use crate::template::{Escape, RenderError, Template};

/// Renders the body for `event`: through `template` with the escaping `content_type` implies,
/// or, without a template, the event as JSON in Unleash's key order.
pub fn render_body(
    template: Option<&Template>,
    event: &Event,
    content_type: &str,
    base_url: Option<&str>,
) -> Result<String, RenderError> {
    match template {
        None => Ok(event.to_json()),
        Some(_) => render_event_json(template, &event.to_value(), content_type, base_url),
    }
}

/// `render_body` for an event held as JSON in Unleash's format, as the dispatcher stores it.
/// The template sees `event` (borrowed, never copied), and `eventJson` and `eventMarkdown` only
/// when it uses them (they are computed per render, so unused ones cost nothing).
pub fn render_event_json(
    template: Option<&Template>,
    event: &Value,
    content_type: &str,
    base_url: Option<&str>,
) -> Result<String, RenderError> {
    let Some(template) = template else {
        // Serialising a JSON value cannot fail.
        return Ok(serde_json::to_string(event).unwrap_or_default());
    };
    let escape = Escape::for_content_type(content_type);
    // Unleash's quirk: the event serialised twice, a JSON string literal (quotes included).
    let event_json = template.uses("eventJson").then(|| Value::String(event_json_literal(event)));
    let markdown =
        template.uses("eventMarkdown").then(|| Value::String(markdown_of(EventView::of_json(event), base_url)));
    if template.uses_root() {
        // `{{.}}` or `{{json .}}` at the top: the root must be the context object itself.
        let mut context = Map::with_capacity(3);
        context.insert("event".to_owned(), event.clone());
        context.extend(event_json.map(|value| ("eventJson".to_owned(), value)));
        context.extend(markdown.map(|value| ("eventMarkdown".to_owned(), value)));
        return template.render(&Value::Object(context), escape);
    }
    let mut bindings: Vec<(&str, &Value)> = Vec::with_capacity(3);
    bindings.push(("event", event));
    if let Some(value) = &event_json {
        bindings.push(("eventJson", value));
    }
    if let Some(value) = &markdown {
        bindings.push(("eventMarkdown", value));
    }
    template.render_with(&bindings, escape)
}

/// Where a body stops being valid JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for JsonProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// Checks that `body` is one valid JSON document.
pub fn check_json(body: &str) -> Result<(), JsonProblem> {
    match serde_json::from_str::<serde::de::IgnoredAny>(body) {
        Ok(_) => Ok(()),
        Err(error) => {
            // serde_json appends " at line L column C"; the position is reported separately.
            let text = error.to_string();
            let message = match text.rfind(" at line ") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            };
            Err(JsonProblem { line: error.line(), column: error.column(), message })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sample_event;

    #[test]
    fn without_template_the_body_is_the_event() {
        let event = sample_event("feature-created").expect("sample");
        let body = render_body(None, &event, "application/json", None).expect("render");
        assert_eq!(body, event.to_json());
        assert!(body.starts_with("{\"id\":"));
    }

    /// The borrowed-bindings path renders exactly what the context-object path renders.
    #[test]
    fn bindings_and_context_object_agree() {
        use crate::context::{render_context, ContextOptions};
        let template = Template::compile(
            "{{event.type}}|{{{eventJson}}}|{{eventMarkdown}}|{{#event.tags}}{{type}}={{value}};{{/event.tags}}|{{json event.data}}",
        )
        .expect("compile");
        // The root itself needs the context object, not named bindings.
        let root = Template::compile("{{json .}}").expect("compile");
        for name in ["feature-created", "feature-strategy-update", "change-request-approved"] {
            let event = sample_event(name).expect("sample");
            let options = ContextOptions { base_url: Some("https://u.example"), ..ContextOptions::default() };
            let via_context = template.render(&render_context(&event, &options), Escape::Json).expect("render");
            let via_bindings =
                render_body(Some(&template), &event, "application/json", Some("https://u.example")).expect("render");
            assert_eq!(via_bindings, via_context, "{name}");
            let whole =
                render_body(Some(&root), &event, "application/json", Some("https://u.example")).expect("render");
            assert_eq!(whole, root.render(&render_context(&event, &options), Escape::Json).expect("render"), "{name}");
            assert!(whole.starts_with("{\"event\":{"), "{whole}");
        }
    }

    #[test]
    fn template_uses_content_type_escaping() {
        let mut event = sample_event("feature-created").expect("sample");
        event.created_by = "some\"user.com".into();
        let template = Template::compile(r#"{"createdBy":"{{event.createdBy}}"}"#).expect("compile");
        let body = render_body(Some(&template), &event, "application/json", None).expect("render");
        assert_eq!(check_json(&body), Ok(()));
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(parsed["createdBy"], "some\"user.com");
    }

    /// The issue's reference rendering: Unleash's context, plain text, no escaping.
    #[test]
    fn renders_the_unleash_example_exactly() {
        let mut event = sample_event("feature-created").expect("sample");
        event.data = Some(serde_json::json!({"name": "some-toggle"}));
        let template = Template::compile("{{event.type}} on toggle {{event.data.name}}").expect("compile");
        assert_eq!(
            render_body(Some(&template), &event, "text/plain", None).as_deref(),
            Ok("feature-created on toggle some-toggle")
        );
    }

    #[test]
    fn nested_objects_embed_as_json_values() {
        let event = sample_event("feature-strategy-update").expect("sample");
        let template = Template::compile(
            r#"{"after": {{json event.data}}, "before": {{json event.preData}}, "all": {{json event}}}"#,
        )
        .expect("compile");
        let body = render_body(Some(&template), &event, "application/json", None).expect("render");
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["after"], event.data.clone().unwrap_or_default());
        assert_eq!(parsed["before"], event.pre_data.clone().unwrap_or_default());
        assert_eq!(parsed["all"], event.to_value());
    }

    #[test]
    fn hostile_values_keep_json_bodies_valid() {
        let mut event = sample_event("feature-created").expect("sample");
        event.created_by = "he said \"hi\" \\ </script>\nand left".into();
        let template =
            Template::compile(r#"{"by": "{{event.createdBy}}", "text": "{{eventMarkdown}}"}"#).expect("compile");
        let body = render_body(Some(&template), &event, "application/json", None).expect("render");
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["by"], event.created_by.as_str());
        assert!(!body.contains("</script>"), "`<` is escaped inside JSON strings");
    }

    #[test]
    fn json_problems_have_positions() {
        let problem = check_json("{\n  \"a\": 1,\n  \"b\": }").unwrap_err();
        assert_eq!((problem.line, problem.column), (3, 8));
        assert!(problem.message.starts_with("expected value"), "{problem}");
        assert_eq!(check_json("[1, 2]"), Ok(()));
    }
}
