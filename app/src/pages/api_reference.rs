//! Settings → API: every operation of the JSON API with its parameters, body, answers and a curl
//! example, read from the server's own OpenAPI document (`/api/openapi.json`), so the page and the
//! contract cannot disagree. Rendered by the app, no third-party viewer.

use leptos::prelude::*;

use crate::api::reference::load_api_reference;
use crate::components::error_template::error_fallback;
use crate::model::reference::{ApiBody, ApiField, ApiOperation, TOKEN_PLACEHOLDER};

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let reference = Resource::new(|| (), |_| load_api_reference());

    view! {
        <leptos_meta::Title text="API" />
        <div class="page-header">
            <h1>"API"</h1>
            <span class="muted small">"Hookline's JSON API, for scripts and provisioning. "<a href="/settings#tokens">"← API tokens"</a></span>
        </div>
        <section class="card">
            <p>
                "The contract is an OpenAPI 3.1 document: "<a href="/api/openapi.json" data-testid="openapi-link">"/api/openapi.json"</a>
                " (public, no secrets in it; generate a client from it). The same file is "<code>"docs/openapi.json"</code>
                " in Hookline's source."
            </p>
            <p>
                "Authenticate with "<code>"Authorization: Bearer <token>"</code>" (make one under "
                <a href="/settings#tokens">"API tokens"</a>" or with "<code>"hookline token create"</code>"). "
                "In the examples below, set "<code>{TOKEN_PLACEHOLDER}</code>" first, e.g. "
                <code>"export HOOKLINE_TOKEN=hl_…"</code>". A token does only what its scopes allow: each operation says which it needs."
            </p>
            <p class="muted">
                "Every refusal answers "<code>"{\"error\": {\"field\": \"…\", \"message\": \"…\"}}"</code>
                " with its status. Lists come a page at a time, newest first: pass a page's "<code>"nextCursor"</code>
                " as "<code>"before"</code>" for the next one."
            </p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    reference.await.map(|reference| {
                        let contents = reference.groups.iter().map(|group| {
                            let ops = group.operations.iter().map(|op| view! {
                                <li><a href=format!("#{}", op.operation_id)><code>{op.method.clone()}" "{op.path.clone()}</code></a>" "{op.summary.clone()}</li>
                            }).collect_view();
                            view! { <li><strong>{group.tag.clone()}</strong><ul>{ops}</ul></li> }
                        }).collect_view();
                        view! {
                            <nav class="card api-contents" aria-label="Operations">
                                <h2>{reference.title.clone()}" "<span class="badge badge-muted">{reference.version.clone()}</span></h2>
                                <ul>{contents}</ul>
                            </nav>
                            {reference.groups.into_iter().map(|group| view! {
                                <h2 class="api-group" id=format!("tag-{}", group.tag)>{group.tag.clone()}</h2>
                                <p class="muted"><Prose text=group.description.clone() /></p>
                                {group.operations.into_iter().map(|operation| view! { <Operation operation /> }).collect_view()}
                            }).collect_view()}
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Operation(operation: ApiOperation) -> impl IntoView {
    let method_class = format!("badge api-method api-{}", operation.method.to_lowercase());
    let parameters = (!operation.parameters.is_empty()).then(|| {
        view! {
            <h4>"Parameters"</h4>
            <Fields fields=operation.parameters.clone() show_location=true />
        }
    });
    let body = operation.body.clone().map(|body| view! { <Body body /> });
    let responses = operation
        .responses
        .iter()
        .map(|response| {
            let class = if response.status.starts_with('2') { "badge badge-success" } else { "badge badge-warning" };
            view! {
                <tr>
                    <td><span class=class>{response.status.clone()}</span></td>
                    <td><Prose text=response.description.clone() /></td>
                    <td>{response.body.clone().map(|body| view! { <code>{body}</code> })}</td>
                </tr>
            }
        })
        .collect_view();

    view! {
        <section class="card api-operation" id=operation.operation_id.clone() data-testid="api-operation">
            <h3>
                <span class=method_class>{operation.method.clone()}</span>" "
                <code data-testid="api-path">{operation.path.clone()}</code>
            </h3>
            <p><strong>{operation.summary.clone()}</strong></p>
            <p class="api-description"><Prose text=operation.description.clone() /></p>
            <p class="small"><span class="muted">"Access: "</span><Prose text=operation.access.clone() /></p>
            {parameters}
            {body}
            <h4>"Responses"</h4>
            <div class="table-wrap">
                <table class="table compact">
                    <thead><tr><th>"Status"</th><th>"Meaning"</th><th>"Body"</th></tr></thead>
                    <tbody>{responses}</tbody>
                </table>
            </div>
            <h4>"Example"</h4>
            <pre data-testid="api-curl">{operation.curl.clone()}</pre>
        </section>
    }
}

#[component]
fn Body(body: ApiBody) -> impl IntoView {
    let shapes = body.shapes.len();
    view! {
        <h4>"Request body "<span class="muted small">"("{body.content_type.clone()}")"</span></h4>
        {body.shapes.into_iter().map(|shape| view! {
            {(shapes > 1).then(|| view! { <p><code>{shape.name.clone()}</code>" "<span class="muted"><Prose text=shape.description.clone() /></span></p> })}
            <Fields fields=shape.fields show_location=false />
        }).collect_view()}
        {body.example.map(|example| view! {
            <details class="api-example">
                <summary>"Example body"</summary>
                <pre>{example}</pre>
            </details>
        })}
    }
}

#[component]
fn Fields(fields: Vec<ApiField>, show_location: bool) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table compact">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        {show_location.then(|| view! { <th>"In"</th> })}
                        <th>"Type"</th>
                        <th>"Description"</th>
                    </tr>
                </thead>
                <tbody>
                    {fields.into_iter().map(|field| view! {
                        <tr>
                            <td>
                                <code>{field.name.clone()}</code>
                                {field.required.then(|| view! { " "<span class="badge badge-muted">"required"</span> })}
                            </td>
                            {show_location.then(|| view! { <td class="muted">{field.location.clone()}</td> })}
                            <td class="small">{field.kind.clone()}</td>
                            <td class="small"><Prose text=field.description.clone() /></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Text from the document, its `backticked` words as code.
#[component]
fn Prose(text: String) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(index, part)| {
            let part = part.to_string();
            if index % 2 == 1 {
                view! { <code>{part}</code> }.into_any()
            } else {
                part.into_any()
            }
        })
        .collect_view()
}
