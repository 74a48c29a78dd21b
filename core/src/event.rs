//! The Unleash event format: what Hookline receives, stores, hands to templates as `event`, and
//! posts as the default body. Field order and the kept `null`s are part of the format (receivers
//! written for Unleash compare bodies byte for byte), so the struct's field order is deliberate.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One tag on an event, as Unleash writes it: `{"type": "simple", "value": "team-a"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tag {
    #[serde(rename = "type")]
    pub tag_type: String,
    pub value: String,
}

/// An event in Unleash's format. Serialises with the keys in Unleash's order:
/// `id, type, createdBy, createdAt, createdByUserId, data, preData, tags, featureName, project, environment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_by: String,
    /// ISO 8601 / RFC 3339 in UTC with milliseconds, e.g. `2024-10-03T11:09:53.225Z`.
    pub created_at: String,
    pub created_by_user_id: Option<i64>,
    pub data: Option<Value>,
    pub pre_data: Option<Value>,
    pub tags: Vec<Tag>,
    pub feature_name: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
}

impl Event {
    /// The event as compact JSON in Unleash's key order: the default request body.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings, numbers and JSON values cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The event as a JSON value (objects keep Unleash's key order: serde_json's `preserve_order`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A borrowed view of the fields of an event that summaries need, taken from an `Event` or
/// straight from its JSON (the dispatcher keeps events as JSON and never builds the struct).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventView<'a> {
    pub event_type: &'a str,
    pub created_by: &'a str,
    pub created_by_user_id: Option<i64>,
    pub data: Option<&'a Value>,
    pub pre_data: Option<&'a Value>,
    pub feature_name: Option<&'a str>,
    pub project: Option<&'a str>,
    pub environment: Option<&'a str>,
}

impl<'a> From<&'a Event> for EventView<'a> {
    fn from(event: &'a Event) -> Self {
        EventView {
            event_type: &event.event_type,
            created_by: &event.created_by,
            created_by_user_id: event.created_by_user_id,
            data: event.data.as_ref(),
            pre_data: event.pre_data.as_ref(),
            feature_name: event.feature_name.as_deref(),
            project: event.project.as_deref(),
            environment: event.environment.as_deref(),
        }
    }
}

impl<'a> EventView<'a> {
    /// The view of an event in Unleash's JSON format (missing fields read as absent).
    pub fn of_json(value: &'a Value) -> Self {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        let object = |key: &str| value.get(key).filter(|v| !v.is_null());
        EventView {
            event_type: text("type").unwrap_or_default(),
            created_by: text("createdBy").unwrap_or_default(),
            created_by_user_id: value.get("createdByUserId").and_then(Value::as_i64),
            data: object("data"),
            pre_data: object("preData"),
            feature_name: text("featureName"),
            project: text("project"),
            environment: text("environment"),
        }
    }
}

/// An event as received: its client id (if it sent one), its time, the typed fields Hookline reads,
/// and the object itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    /// The client's id: the idempotency key. None means "assign one".
    pub id: Option<i64>,
    /// The fields Hookline validates and matches on. `created_at` is normalised to UTC here; the
    /// received text stays in `received`.
    pub event: Event,
    pub created_at_ms: i64,
    /// The event exactly as received: every key, known or not, in the order sent, values
    /// unchanged. This is what is stored and what receivers get as the default body and
    /// `eventJson`, because receivers written for Unleash compare what Unleash sent. Only a missing
    /// `createdAt` is added (at the end), so templates always have the time.
    pub received: Map<String, Value>,
}

/// A field of a received event that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// The JSON path of the field, e.g. `events[3].type`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The longest event type name accepted. Unleash's longest is under 50 characters; the bound
/// keeps a hostile client from storing megabytes in an indexed column.
pub const MAX_TYPE_LEN: usize = 100;

/// The largest event id a client may send: JavaScript's largest safe integer, so every id Unleash
/// (a JavaScript program) can send is accepted. Ids Hookline assigns count up from the largest
/// stored one; a client id of `i64::MAX` would leave no id for any later event sent without one.
pub const MAX_CLIENT_ID: i64 = (1 << 53) - 1;

/// Reads one event in Unleash's format, leniently where Unleash is (missing `id`, `createdAt`,
/// `tags`, nullable fields, keys Hookline does not know, event types newer than the catalog) and
/// strictly where a webhook would otherwise get nonsense (wrong value types). `at` prefixes field
/// names (`events[3].`); `now_ms` stands in for a missing `createdAt`.
///
/// An event type outside the catalog is accepted: Unleash does not retry, so refusing a type a
/// newer Unleash emits would lose the event for good.
pub fn parse_event(value: Value, at: &str, now_ms: i64) -> Result<ParsedEvent, EventError> {
    let err = |name: &str, message: String| EventError { field: format!("{at}{name}"), message };
    let Value::Object(mut received) = value else {
        return Err(EventError {
            field: at.trim_end_matches('.').to_string(),
            message: "an event must be a JSON object".into(),
        });
    };
    let null = Value::Null;
    let get = |key: &str| received.get(key).unwrap_or(&null);

    let event_type = match get("type") {
        Value::String(t) if t.trim().is_empty() => return Err(err("type", "the event type is empty".into())),
        Value::String(t) if t.len() > MAX_TYPE_LEN => {
            return Err(err("type", format!("the event type is longer than {MAX_TYPE_LEN} characters")))
        }
        Value::String(t) if t.chars().any(char::is_control) => {
            return Err(err("type", "the event type contains control characters".into()))
        }
        Value::String(t) => t.clone(),
        Value::Null => return Err(err("type", "the event type is missing".into())),
        _ => return Err(err("type", "the event type must be a string".into())),
    };
    let id = match get("id") {
        Value::Null => None,
        Value::Number(n) => match n.as_i64() {
            Some(id) if (1..=MAX_CLIENT_ID).contains(&id) => Some(id),
            _ => return Err(err("id", format!("the id must be a positive integer up to {MAX_CLIENT_ID}"))),
        },
        _ => return Err(err("id", format!("the id must be a positive integer up to {MAX_CLIENT_ID}"))),
    };
    let created_at_ms = match get("createdAt") {
        Value::Null => None,
        Value::String(text) => Some(crate::timestamp::parse_iso(text).ok_or_else(|| {
            err("createdAt", format!("`{text}` is not an ISO 8601 timestamp like 2024-10-03T11:09:53.225Z"))
        })?),
        _ => return Err(err("createdAt", "createdAt must be an ISO 8601 string".into())),
    };
    let created_by = match get("createdBy") {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        _ => return Err(err("createdBy", "createdBy must be a string".into())),
    };
    let created_by_user_id = match get("createdByUserId") {
        Value::Null => None,
        Value::Number(n) if n.as_i64().is_some() => n.as_i64(),
        _ => return Err(err("createdByUserId", "createdByUserId must be an integer or null".into())),
    };
    let text = |key: &str| match get(key) {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(err(key, format!("{key} must be a string or null"))),
    };
    let feature_name = text("featureName")?;
    let project = text("project")?;
    let environment = text("environment")?;
    let object_or_null = |key: &str| match get(key) {
        Value::Null => Ok(None),
        v @ Value::Object(_) => Ok(Some(v.clone())),
        _ => Err(err(key, format!("{key} must be an object or null"))),
    };
    let data = object_or_null("data")?;
    let pre_data = object_or_null("preData")?;
    let tags = match get("tags") {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, tag)| {
                Tag::deserialize(tag)
                    .map_err(|_| err(&format!("tags[{i}]"), "a tag is {\"type\": \"...\", \"value\": \"...\"}".into()))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(err("tags", "tags must be an array".into())),
    };

    let created_at_ms = match created_at_ms {
        Some(ms) => ms,
        None => {
            received.insert("createdAt".to_owned(), Value::String(crate::timestamp::iso(now_ms)));
            now_ms
        }
    };
    let event = Event {
        id: id.unwrap_or_default(),
        event_type,
        created_by,
        created_at: crate::timestamp::iso(created_at_ms),
        created_by_user_id,
        data,
        pre_data,
        tags,
        feature_name,
        project,
        environment,
    };
    Ok(ParsedEvent { id, event, created_at_ms, received })
}

/// Sets the id of a stored event's JSON: in place when the event carries one (its position kept),
/// else first, where Unleash puts it. Stored events may lack it (the id is the row's).
pub fn set_id(event: &mut Value, id: i64) {
    if let Some(object) = event.as_object_mut() {
        match object.get_mut("id") {
            Some(slot) => *slot = Value::from(id),
            None => {
                object.shift_insert(0, "id".to_owned(), Value::from(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_unleash_events_and_fills_gaps() {
        let parsed =
            parse_event(json!({"type": "feature-created", "featureName": "f", "project": "p"}), "", 1_727_953_793_225)
                .expect("valid");
        assert_eq!(parsed.id, None);
        assert_eq!(parsed.event.created_at, "2024-10-03T11:09:53.225Z");
        assert_eq!(parsed.event.feature_name.as_deref(), Some("f"));
        assert!(parsed.event.tags.is_empty());

        let full = parse_event(
            json!({"id": 7, "type": "feature-tagged", "createdAt": "2024-10-03T13:09:53.225+02:00", "createdBy": "u",
                   "createdByUserId": 3, "data": {"type": "simple", "value": "a"}, "tags": [{"type": "simple", "value": "a"}],
                   "somethingElse": true}),
            "",
            0,
        )
        .expect("valid");
        assert_eq!(full.id, Some(7));
        assert_eq!(full.event.created_at, "2024-10-03T11:09:53.225Z", "normalised to UTC");
        assert_eq!(full.event.tags, vec![Tag { tag_type: "simple".into(), value: "a".into() }]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"type": ""}), "events[2].type"),
            (json!({"type": 7}), "events[2].type"),
            (json!({"type": "x".repeat(MAX_TYPE_LEN + 1)}), "events[2].type"),
            (json!({"type": "feature\ncreated"}), "events[2].type"),
            (json!({}), "events[2].type"),
            (json!({"type": "feature-created", "id": -1}), "events[2].id"),
            (json!({"type": "feature-created", "id": MAX_CLIENT_ID + 1}), "events[2].id"),
            (json!({"type": "feature-created", "id": i64::MAX}), "events[2].id"),
            (json!({"type": "feature-created", "createdAt": "yesterday"}), "events[2].createdAt"),
            (json!({"type": "feature-created", "tags": [{"type": 1}]}), "events[2].tags[0]"),
            (json!({"type": "feature-created", "data": [1]}), "events[2].data"),
            (json!({"type": "feature-created", "project": 5}), "events[2].project"),
        ];
        for (event, field) in cases {
            let err = parse_event(event.clone(), "events[2].", 0).expect_err("invalid");
            assert_eq!(err.field, field, "{event}");
        }
        assert_eq!(parse_event(json!([1]), "events[0].", 0).unwrap_err().field, "events[0]");
    }

    #[test]
    fn client_ids_stop_at_javascripts_largest_safe_integer() {
        let largest = parse_event(json!({"type": "feature-created", "id": 9_007_199_254_740_991_i64}), "", 0);
        assert_eq!(largest.expect("Unleash's largest possible id").id, Some(MAX_CLIENT_ID));
    }

    #[test]
    fn keeps_the_event_as_received() {
        let text = r#"{"id":9,"type":"feature-environment-variants-updated","createdBy":"admin","createdAt":"2024-10-03T13:09:53.225+02:00","data":{"b":1,"a":[2.5,"x"]},"environment":"dev","groupType":"transaction","groupId":"01M8GS31R8VWDZPDNVPTVDY322"}"#;
        let parsed = parse_event(serde_json::from_str(text).expect("json"), "", 0).expect("valid");
        assert_eq!(serde_json::to_string(&parsed.received).expect("json"), text, "keys, order and values kept");
        assert_eq!(parsed.event.event_type, "feature-environment-variants-updated", "types outside the catalog pass");
        assert_eq!(parsed.event.created_at, "2024-10-03T11:09:53.225Z");

        let parsed =
            parse_event(json!({"type": "feature-created", "project": "p"}), "", 1_727_953_793_225).expect("valid");
        assert_eq!(
            serde_json::to_string(&parsed.received).expect("json"),
            r#"{"type":"feature-created","project":"p","createdAt":"2024-10-03T11:09:53.225Z"}"#,
            "a missing createdAt is added at the end"
        );
    }

    #[test]
    fn set_id_keeps_the_position_or_goes_first() {
        let mut with_id = json!({"id": 0, "type": "t"});
        set_id(&mut with_id, 5);
        assert_eq!(with_id.to_string(), r#"{"id":5,"type":"t"}"#);
        let mut without = json!({"type": "t", "project": "p"});
        set_id(&mut without, 6);
        assert_eq!(without.to_string(), r#"{"id":6,"type":"t","project":"p"}"#);
    }
}
