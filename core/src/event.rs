//! The Unleash event format: what Hookline receives, stores, hands to templates as `event`, and
//! posts as the default body. Field order and the kept `null`s are part of the format (receivers
//! written for Unleash compare bodies byte for byte), so the struct's field order is deliberate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One tag on an event, as Unleash writes it: `{"type": "simple", "value": "team-a"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "type")]
    pub tag_type: String,
    pub value: String,
}

/// An event in Unleash's format. Serialises with the keys in Unleash's order:
/// `id, type, createdBy, createdAt, createdByUserId, data, preData, tags, featureName, project, environment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
