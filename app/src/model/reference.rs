//! The API page's model: the operations of the server's OpenAPI document (`GET /api/openapi.json`)
//! with their parameters, bodies, answers and a curl example, read from the document itself so
//! the page and the contract cannot disagree.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The API as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiReference {
    pub title: String,
    pub version: String,
    /// Operations grouped by tag, in the document's tag order.
    pub groups: Vec<ApiGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiGroup {
    pub tag: String,
    pub description: String,
    pub operations: Vec<ApiOperation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiOperation {
    /// `GET`, `POST`, ...
    pub method: String,
    pub path: String,
    pub operation_id: String,
    pub summary: String,
    pub description: String,
    /// Who may call it: "public", or the token scope and whether a session also works.
    pub access: String,
    pub parameters: Vec<ApiField>,
    pub body: Option<ApiBody>,
    pub responses: Vec<ApiResponse>,
    /// A command to try it, with a placeholder token.
    pub curl: String,
}

/// A parameter or a field of a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiField {
    pub name: String,
    /// `path`, `query`, or `body` for a field.
    pub location: String,
    pub required: bool,
    /// The type in words: `integer (1 to 200)`, `one of pending, retrying, succeeded, failed`.
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiBody {
    pub content_type: String,
    /// One entry per accepted shape (the intake takes an event or a batch).
    pub shapes: Vec<ApiShape>,
    /// Pretty-printed JSON.
    pub example: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiShape {
    pub name: String,
    pub description: String,
    pub fields: Vec<ApiField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResponse {
    pub status: String,
    pub description: String,
    /// The body's schema name, when it has one.
    pub body: Option<String>,
}

/// The placeholder the curl examples use for the token.
pub const TOKEN_PLACEHOLDER: &str = "$HOOKLINE_TOKEN";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

impl ApiReference {
    /// Reads the page's model from an OpenAPI document; `base` is the server's URL for the curl
    /// examples (`https://hookline.example.com`, no trailing slash).
    pub fn from_document(doc: &Value, base: &str) -> ApiReference {
        let reader = Reader { doc };
        let mut groups: Vec<ApiGroup> = doc["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tag| ApiGroup {
                tag: text(&tag["name"]),
                description: prose(&tag["description"]),
                operations: Vec::new(),
            })
            .collect();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let Some(operation) = item.get(method) else { continue };
                let operation = reader.operation(method, path, operation, base);
                let tag = operation_tag(item, method);
                match groups.iter_mut().find(|group| group.tag == tag) {
                    Some(group) => group.operations.push(operation),
                    None => groups.push(ApiGroup { tag, description: String::new(), operations: vec![operation] }),
                }
            }
        }
        groups.retain(|group| !group.operations.is_empty());
        ApiReference { title: text(&doc["info"]["title"]), version: text(&doc["info"]["version"]), groups }
    }

    /// Every operation, group by group.
    pub fn operations(&self) -> impl Iterator<Item = &ApiOperation> {
        self.groups.iter().flat_map(|group| group.operations.iter())
    }
}

fn operation_tag(item: &Value, method: &str) -> String {
    item[method]["tags"][0].as_str().unwrap_or("other").to_string()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// A description as prose: the line breaks of wrapped doc comments become spaces, paragraph
/// breaks stay.
fn prose(value: &Value) -> String {
    text(value)
        .split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Resolves references while reading the document.
struct Reader<'a> {
    doc: &'a Value,
}

impl Reader<'_> {
    /// The schema a `$ref` points at (or the schema itself), and its component name.
    fn resolve<'s>(&'s self, schema: &'s Value) -> (&'s Value, Option<String>) {
        match schema["$ref"].as_str() {
            Some(target) => {
                let name = target.rsplit('/').next().map(str::to_string);
                (self.doc.pointer(target.trim_start_matches('#')).unwrap_or(&Value::Null), name)
            }
            None => (schema, None),
        }
    }

    fn operation(&self, method: &str, path: &str, operation: &Value, base: &str) -> ApiOperation {
        let parameters: Vec<ApiField> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|parameter| {
                let (parameter, _) = self.resolve(parameter);
                ApiField {
                    name: text(&parameter["name"]),
                    location: text(&parameter["in"]),
                    required: parameter["required"].as_bool().unwrap_or(false),
                    kind: self.kind(&parameter["schema"]),
                    description: prose(&parameter["description"]),
                }
            })
            .collect();
        let body = self.body(&operation["requestBody"]);
        let responses = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, response)| {
                let (response, _) = self.resolve(response);
                let body = response["content"]
                    .as_object()
                    .and_then(|content| content.values().next())
                    .map(|media| self.resolve(&media["schema"]))
                    .map(|(schema, name)| name.unwrap_or_else(|| self.kind(schema)));
                ApiResponse { status: status.clone(), description: prose(&response["description"]), body }
            })
            .collect();
        let access = access(&operation["security"]);
        let curl = curl(method, path, base, &parameters, body.as_ref(), operation["security"].is_array());
        ApiOperation {
            method: method.to_uppercase(),
            path: path.to_string(),
            operation_id: text(&operation["operationId"]),
            summary: text(&operation["summary"]),
            description: prose(&operation["description"]),
            access,
            parameters,
            body,
            responses,
            curl,
        }
    }

    fn body(&self, request_body: &Value) -> Option<ApiBody> {
        let (request_body, _) = self.resolve(request_body);
        let (content_type, media) = request_body["content"].as_object()?.iter().next()?;
        let (schema, name) = self.resolve(&media["schema"]);
        let variants: Vec<&Value> = match schema["oneOf"].as_array().or_else(|| schema["anyOf"].as_array()) {
            Some(variants) => variants.iter().collect(),
            None => vec![&media["schema"]],
        };
        let shapes = variants
            .into_iter()
            .map(|variant| {
                let (variant, variant_name) = self.resolve(variant);
                ApiShape {
                    name: variant_name.or_else(|| name.clone()).unwrap_or_else(|| "body".into()),
                    description: prose(&variant["description"]),
                    fields: self.fields(variant),
                }
            })
            .collect();
        let example = media["examples"]
            .as_object()
            .and_then(|examples| examples.values().next())
            .map(|example| example["value"].clone())
            .or_else(|| media.get("example").cloned())
            .or_else(|| schema["examples"].get(0).cloned())
            .or_else(|| schema.get("example").cloned())
            .or_else(|| self.synthesise(schema))
            .map(|value| serde_json::to_string_pretty(&value).unwrap_or_default());
        Some(ApiBody { content_type: content_type.clone(), shapes, example })
    }

    /// The properties of an object schema (through `allOf`).
    fn fields(&self, schema: &Value) -> Vec<ApiField> {
        let mut fields = Vec::new();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            fields.extend(self.fields(self.resolve(part).0));
        }
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let (resolved, _) = self.resolve(property);
            let description = if property["description"].is_string() {
                prose(&property["description"])
            } else {
                prose(&resolved["description"])
            };
            fields.push(ApiField {
                name: name.clone(),
                location: "body".into(),
                required: required.contains(&name.as_str()),
                kind: self.kind(property),
                description,
            });
        }
        fields
    }

    /// A small valid-looking body built from the schema: its required properties and those with
    /// an example.
    fn synthesise(&self, schema: &Value) -> Option<Value> {
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut object = serde_json::Map::new();
        for (name, property) in schema["properties"].as_object()? {
            let (resolved, _) = self.resolve(property);
            let example = property
                .get("example")
                .or_else(|| resolved.get("example"))
                .or_else(|| resolved["enum"].get(0))
                .cloned();
            match example {
                Some(value) => {
                    object.insert(name.clone(), value);
                }
                None if required.contains(&name.as_str()) => {
                    object.insert(name.clone(), Value::String(String::new()));
                }
                None => {}
            }
        }
        Some(Value::Object(object))
    }

    /// A schema's type in words.
    fn kind(&self, schema: &Value) -> String {
        if let Some(target) = schema["$ref"].as_str() {
            let name = target.rsplit('/').next().unwrap_or(target).to_string();
            let (resolved, _) = self.resolve(schema);
            return match resolved["enum"].as_array() {
                Some(values) if values.len() <= 12 => one_of(values),
                Some(values) => format!("{name}: one of {} words (see the document)", values.len()),
                None => name,
            };
        }
        if let Some(variants) = schema["oneOf"].as_array().or_else(|| schema["anyOf"].as_array()) {
            let mut words: Vec<String> = variants.iter().map(|v| self.kind(v)).collect();
            // "string or null" reads better than "null or string".
            words.sort_by_key(|w| w == "null");
            return words.join(" or ");
        }
        if let Some(values) = schema["enum"].as_array() {
            return one_of(values);
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
            _ => return "any JSON value".into(),
        };
        let mut words: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "array" => format!("array of {}", self.kind(&schema["items"])),
                "object" if schema["additionalProperties"].is_object() => {
                    format!("map of {}", self.kind(&schema["additionalProperties"]))
                }
                "integer" | "number" => match (schema["minimum"].as_i64(), schema["maximum"].as_i64()) {
                    (Some(min), Some(max)) => format!("{t} ({min} to {max})"),
                    (Some(min), None) => format!("{t} (from {min})"),
                    _ => t.to_string(),
                },
                "string" => match schema["format"].as_str() {
                    Some(format) => format!("string ({format})"),
                    None => "string".into(),
                },
                other => other.to_string(),
            })
            .collect();
        // "string or null" reads better than "null or string".
        words.sort_by_key(|w| w == "null");
        words.join(" or ")
    }
}

fn one_of(values: &[Value]) -> String {
    let words: Vec<String> =
        values.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
    format!("one of {}", words.join(", "))
}

fn access(security: &Value) -> String {
    let Some(requirements) = security.as_array() else { return "public: no token needed".into() };
    let scope = requirements
        .iter()
        .find_map(|r| r["bearerToken"].as_array())
        .and_then(|scopes| scopes.first())
        .and_then(Value::as_str)
        .unwrap_or("admin");
    let session = requirements.iter().any(|r| r.get("sessionCookie").is_some());
    if session {
        format!("a token with the `{scope}` scope, or a signed-in session")
    } else {
        format!("a token with the `{scope}` scope (not a session)")
    }
}

/// `curl` for the operation: path parameters as `1`, the body's example, the placeholder token.
fn curl(
    method: &str,
    path: &str,
    base: &str,
    parameters: &[ApiField],
    body: Option<&ApiBody>,
    secured: bool,
) -> String {
    let mut url = format!("{base}{path}");
    for parameter in parameters.iter().filter(|p| p.location == "path") {
        url = url.replace(&format!("{{{}}}", parameter.name), "1");
    }
    let mut lines = vec![match method {
        "get" => format!("curl '{url}'"),
        other => format!("curl -X {} '{url}'", other.to_uppercase()),
    }];
    if secured {
        lines.push(format!("-H \"Authorization: Bearer {TOKEN_PLACEHOLDER}\""));
    }
    if let Some(body) = body {
        lines.push(format!("-H 'Content-Type: {}'", body.content_type));
        let json = body.example.as_deref().unwrap_or("{}");
        lines.push(format!("-d '{}'", json.replace('\'', "'\\''")));
    }
    lines.join(" \\\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "T", "version": "1"},
            "tags": [{"name": "things", "description": "Things."}],
            "paths": {
                "/api/things/{id}": {
                    "put": {
                        "tags": ["things"], "operationId": "putThing", "summary": "Put a thing",
                        "security": [{"bearerToken": ["admin"]}, {"sessionCookie": []}],
                        "parameters": [
                            {"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                            {"name": "state", "in": "query", "schema": {"$ref": "#/components/schemas/State"}}
                        ],
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                        "responses": {
                            "200": {"description": "Done.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                            "404": {"$ref": "#/components/responses/NotFound"}
                        }
                    }
                },
                "/api/open": {"get": {"tags": ["meta"], "operationId": "open", "summary": "Open", "responses": {"200": {"description": "Ok"}}}}
            },
            "components": {
                "schemas": {
                    "State": {"type": "string", "enum": ["on", "off"]},
                    "Thing": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "example": "it's"},
                        "when": {"type": ["string", "null"], "format": "date-time"},
                        "tags": {"type": "array", "items": {"type": "string"}}
                    }}
                },
                "responses": {"NotFound": {"description": "Missing.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
            }
        })
    }

    #[test]
    fn reads_operations_parameters_bodies_and_answers() {
        let reference = ApiReference::from_document(&doc(), "http://127.0.0.1:3000");
        assert_eq!(reference.groups.iter().map(|g| g.tag.as_str()).collect::<Vec<_>>(), ["things", "meta"]);
        let put = reference.operations().find(|o| o.operation_id == "putThing").expect("put");
        assert_eq!((put.method.as_str(), put.path.as_str()), ("PUT", "/api/things/{id}"));
        assert_eq!(put.parameters[0].kind, "integer (from 1)");
        assert_eq!(put.parameters[1].kind, "one of on, off");
        let body = put.body.as_ref().expect("body");
        assert_eq!(body.shapes[0].name, "Thing");
        let kinds: Vec<&str> = body.shapes[0].fields.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, ["string", "string (date-time) or null", "array of string"]);
        assert!(body.shapes[0].fields[0].required);
        assert_eq!(put.responses[1].status, "404");
        assert_eq!(put.responses[1].description, "Missing.");
        assert_eq!(put.responses[1].body.as_deref(), Some("Error"));
        assert_eq!(put.access, "a token with the `admin` scope, or a signed-in session");
        assert_eq!(
            put.curl,
            "curl -X PUT 'http://127.0.0.1:3000/api/things/1' \\\n  -H \"Authorization: Bearer $HOOKLINE_TOKEN\" \\\n  \
             -H 'Content-Type: application/json' \\\n  -d '{\n  \"name\": \"it'\\''s\"\n}'"
        );
        let open = reference.operations().find(|o| o.operation_id == "open").expect("open");
        assert_eq!(open.access, "public: no token needed");
        assert_eq!(open.curl, "curl 'http://127.0.0.1:3000/api/open'");
    }
}
