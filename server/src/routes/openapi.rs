//! The JSON API as a contract: an OpenAPI 3.1 document derived at compile time from the handlers'
//! `#[utoipa::path]` attributes and the types' `ToSchema` derives, served at
//! `GET /api/openapi.json` (public: it holds no secret, only the shape of the API) and checked in
//! as `docs/openapi.json` (`make openapi` rewrites it; a test fails when they differ).
//!
//! The API's routes and the document come from one table: each module's `router()` registers its
//! handlers with utoipa-axum's `routes!`, which adds the axum route and the path's operations
//! together, and `api()` merges them. A route added beside it with a bare `.route(...)` would be
//! served but undocumented; a test (server/tests/it/openapi.rs) refuses that.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::error::ErrorBody;
use hookline_core::audit::AuditAction;
use hookline_core::catalog;
use hookline_core::delivery::{DeliveryState, StatusClass};

use crate::state::AppState;

/// Every route of the JSON API with its documentation.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(super::webhooks::router())
        .merge(super::deliveries::router())
        .merge(super::events::router())
        .merge(super::preview::router())
        .merge(super::audit::router())
        .merge(super::live::router())
        .routes(routes!(openapi_json))
}

/// The document, examples included.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = api().into_openapi();
    add_examples(&mut doc);
    refuse_unknown_fields(&mut doc);
    doc
}

/// The bodies read with serde's `deny_unknown_fields` (a misspelt key is a 400, not silently
/// ignored), which utoipa's derive does not carry into the schema.
pub const CLOSED_SCHEMAS: [&str; 1] = ["WebhookIn"];

fn refuse_unknown_fields(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let Some(components) = doc.components.as_mut() else { return };
    for name in CLOSED_SCHEMAS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
}

/// The document as `docs/openapi.json` holds it: pretty JSON, one trailing newline.
pub fn document_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

/// Get this document
///
/// The OpenAPI 3.1 description of Hookline's JSON API. Public: no session or token needed.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "meta", operation_id = "getOpenApi",
    responses(
        (status = 200, description = "The OpenAPI document.", content_type = "application/json", body = Object),
        (status = 400, response = BadRequest),
        (status = 401, description = "An Authorization header with an unknown or revoked token (leave it out: the document is public).", body = ErrorBody),
    )
)]
async fn openapi_json() -> impl IntoResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.get_or_init(document_json).as_str())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hookline API",
        description = "Hookline's JSON API: the event intake (Unleash's webhook format), webhooks, the delivery log, \
the event-type catalog, template previews, the audit log, and a stream of change notices.\n\n\
Authenticate with an API token (`Authorization: Bearer …`, made with `hookline token create` or in Settings → \
API tokens), or the browser session of a signed-in admin. A token does only what its scopes allow: `events` \
(the intake), `read` (every GET except secrets and the audit log), `admin` (everything); each operation names \
the scope it needs.\n\n\
Every refusal has one shape, `{\"error\": {\"field\": \"…\", \"message\": \"…\"}}`, with `field` naming the \
offending input when there is one. Lists are paginated by keyset: each page carries `nextCursor`, passed as \
`before` for the next (older) page.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(
        // The words the query filters take (parameters only refer to them).
        schemas(ErrorBody, DeliveryState, StatusClass, AuditAction),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge, Unprocessable, Unavailable)
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "events", description = "Events in (the intake Unleash posts to) and the received-events log."),
        (name = "webhooks", description = "Webhook configuration, signing secrets, the event-type catalog and template previews."),
        (name = "deliveries", description = "The delivery log and what can be done with it: redeliver, recover, test sends, figures."),
        (name = "audit", description = "Who did what, when and from where."),
        (name = "meta", description = "This document."),
    )
)]
struct ApiDoc;

/// The two ways to authenticate.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token: `hookline token create --name NAME --scope SCOPE`, or Settings → API tokens \
                         (shown once). Scopes: `events` (POST /api/events), `read` (GETs, no secrets, no audit log), \
                         `admin` (everything). The scope each operation needs is listed in its security requirement.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "sessionCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::SESSION_COOKIE,
                "The browser session of a signed-in admin (the web UI). A POST, PUT or DELETE with it must carry an \
                 `Origin` (or `Referer`) naming this server; requests with a token are exempt.",
            ))),
        );
    }
}

/// An error response: its description and an example of the body.
fn error_response(description: &str, example: Value) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).example(Some(example)).build(),
        )
        .build()
        .into()
}

/// The reusable error responses (`components.responses`), named after their status.
macro_rules! error_responses {
    ($($name:ident => $description:literal, $example:expr;)+) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), error_response($description, $example))
                }
            }
        )+
    };
}

error_responses! {
    BadRequest => "The request is malformed: a body that is not JSON or not of the expected shape, a path id \
that is not a whole number, a query string that does not parse, or a Host this server does not answer to.",
        json!({"error": {"message": "the body is not valid JSON: expected value at line 1 column 1"}});
    Unauthorized => "No session and no API token, or an unknown or revoked token.",
        json!({"error": {"message": "sign-in required"}});
    Forbidden => "The token lacks the scope the operation needs, a session was used where only a token is \
accepted (the intake), or a change made with a session came from another site.",
        json!({"error": {"message": "this token lacks the `admin` scope that PUT /api/admin/webhooks/3 needs (it has: read)"}});
    NotFound => "The webhook or delivery does not exist.",
        json!({"error": {"message": "webhook 3 not found"}});
    Conflict => "The request conflicts with the current state: the webhook changed since the `version` sent, \
is disabled, the delivery is still pending, or a stored secret cannot be decrypted.",
        json!({"error": {"message": "this webhook was changed by admin@example.com at 2026-11-28T10:00:00.000Z (now version 4) after you opened it: reload it, then make your changes again"}});
    PayloadTooLarge => "The body is larger than allowed (1 MiB for the intake, 2 MiB elsewhere).",
        json!({"error": {"message": "the body is larger than 1024 KiB"}});
    Unprocessable => "A value is invalid; `field` names it (its JSON name, e.g. `url`, `events[2].type`, or a \
query parameter).",
        json!({"error": {"field": "url", "message": "enter the URL to post events to"}});
    Unavailable => "The server cannot take this now: it has as many live streams open as it allows, in all \
or for this admin or token (`HOOKLINE_LIVE_STREAMS`, `HOOKLINE_LIVE_STREAMS_PER_CALLER`). Poll instead, and try again later.",
        json!({"error": {"message": "this server has 1000 live streams open, its limit (HOOKLINE_LIVE_STREAMS); the page refreshes by polling instead"}});
}

/// Examples from the event catalog's samples, so they are the events Hookline itself sends.
fn add_examples(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::Schema;
    let sample = |name: &str| catalog::sample_event(name).map(|event| event.to_value()).unwrap_or(Value::Null);
    let created = sample("feature-created");
    let enabled = sample("feature-environment-enabled");
    let mut examples: Vec<(&str, Value)> = vec![
        ("Event", enabled.clone()),
        ("IncomingEvent", created.clone()),
        ("IncomingBatch", json!({ "events": [created.clone(), enabled.clone()] })),
    ];
    if let Some(first) = app::model::EventTypeOut::catalog().into_iter().next() {
        examples.push(("EventTypeOut", serde_json::to_value(first).unwrap_or(Value::Null)));
    }
    if let Some(components) = doc.components.as_mut() {
        for (name, example) in examples {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.examples = vec![example];
            }
        }
    }
    // The intake's body: one example per form.
    let intake = doc
        .paths
        .paths
        .get_mut("/api/events")
        .and_then(|item| item.post.as_mut())
        .and_then(|operation| operation.request_body.as_mut())
        .and_then(|body| body.content.get_mut("application/json"));
    if let Some(content) = intake {
        use utoipa::openapi::example::ExampleBuilder;
        content.examples.insert(
            "one".into(),
            ExampleBuilder::new()
                .summary("One event (the catalog's feature-created sample)")
                .value(Some(created.clone()))
                .build()
                .into(),
        );
        content.examples.insert(
            "batch".into(),
            ExampleBuilder::new()
                .summary("Several events, stored all or none")
                .value(Some(json!({ "events": [created, enabled] })))
                .build()
                .into(),
        );
    }
}
