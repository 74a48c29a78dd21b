//! The Mustache render context a body template sees: `event`, `eventJson` and `eventMarkdown`,
//! built exactly as Unleash builds it (including its double-serialised `eventJson`).

use serde_json::{Map, Value};

use crate::event::Event;
use crate::markdown::event_markdown;

/// What to put in the render context besides `event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextOptions<'a> {
    /// The Unleash base URL that turns names in `eventMarkdown` into links; `None` for plain names.
    pub base_url: Option<&'a str>,
    /// Compute `eventJson` (skip it when the template does not use it).
    pub include_event_json: bool,
    /// Compute `eventMarkdown` (skip it when the template does not use it).
    pub include_event_markdown: bool,
}

impl Default for ContextOptions<'_> {
    /// Both `eventJson` and `eventMarkdown`, without links.
    fn default() -> Self {
        ContextOptions { base_url: None, include_event_json: true, include_event_markdown: true }
    }
}

/// The Mustache context Unleash gives templates: `{ "event": <event as object, Unleash key order>,
/// "eventJson": <the event serialised TWICE: a JSON string literal, Unleash's quirk, so
/// `"json": {{{eventJson}}}` yields a string holding JSON>, "eventMarkdown": event_markdown(..) }`.
/// `eventJson`/`eventMarkdown` are only computed when the include flags are set (templates that
/// don't use them skip the cost); when a flag is off the key is absent.
pub fn render_context(event: &Event, options: &ContextOptions) -> Value {
    let mut context = Map::with_capacity(3);
    context.insert("event".to_owned(), event.to_value());
    if options.include_event_json {
        context.insert("eventJson".to_owned(), Value::String(event_json_literal(&context["event"])));
    }
    if options.include_event_markdown {
        context.insert("eventMarkdown".to_owned(), Value::String(event_markdown(event, options.base_url)));
    }
    Value::Object(context)
}

/// The event's JSON as a JSON string literal, quotes included: `"{\"id\":1,...}"` (Unleash's
/// `eventJson`).
pub(crate) fn event_json_literal(event: &Value) -> String {
    // Serialising a JSON value or a string cannot fail.
    serde_json::to_string(&serde_json::to_string(event).unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sample_event;

    fn sample() -> Event {
        sample_event("feature-created").expect("feature-created has a sample")
    }

    #[test]
    fn event_json_is_a_string_literal_holding_the_event() {
        let event = sample();
        let context = render_context(&event, &ContextOptions::default());
        let literal = context["eventJson"].as_str().expect("eventJson is a string");
        assert!(literal.starts_with("\"{\\\"id\\\":27332,"), "{literal}");
        let inner: String = serde_json::from_str(literal).expect("a JSON string literal");
        assert_eq!(inner, event.to_json());
        let back: Event = serde_json::from_str(&inner).expect("the event's JSON");
        assert_eq!(back, event);
    }

    #[test]
    fn event_keeps_unleash_key_order_and_nulls() {
        let event = sample();
        let context = render_context(&event, &ContextOptions::default());
        let keys: Vec<&str> =
            context["event"].as_object().expect("event is an object").keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "type",
                "createdBy",
                "createdAt",
                "createdByUserId",
                "data",
                "preData",
                "tags",
                "featureName",
                "project",
                "environment"
            ]
        );
        assert!(context["event"]["environment"].is_null());
        assert_eq!(context["event"], event.to_value());
    }

    #[test]
    fn default_includes_everything_without_links() {
        let event = sample();
        let context = render_context(&event, &ContextOptions::default());
        let keys: Vec<&str> = context.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["event", "eventJson", "eventMarkdown"]);
        assert_eq!(context["eventMarkdown"], "*user@example.com* created *checkout-redesign* in project *web-shop*");
    }

    #[test]
    fn include_flags_are_honoured() {
        let event = sample();
        let none = render_context(
            &event,
            &ContextOptions { base_url: None, include_event_json: false, include_event_markdown: false },
        );
        let keys: Vec<&String> = none.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["event"]);

        let only_markdown = render_context(
            &event,
            &ContextOptions {
                base_url: Some("https://unleash.example.com"),
                include_event_json: false,
                include_event_markdown: true,
            },
        );
        assert!(only_markdown.get("eventJson").is_none());
        assert_eq!(
            only_markdown["eventMarkdown"],
            "*user@example.com* created *[checkout-redesign](https://unleash.example.com/projects/web-shop/features/checkout-redesign)* in project *[web-shop](https://unleash.example.com/projects/web-shop)*"
        );

        let only_json =
            render_context(&event, &ContextOptions { include_event_markdown: false, ..ContextOptions::default() });
        assert!(only_json.get("eventMarkdown").is_none());
        assert!(only_json["eventJson"].is_string());
    }
}
