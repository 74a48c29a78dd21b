//! The template editor and its live preview: the rendered body (pretty-printed when JSON, with a
//! validity badge) and the request headers, for a sample of any subscribed event type or an event
//! pasted by the admin. Rendering happens in the browser with the dispatcher's own renderer.

use std::collections::BTreeSet;

use hookline_core::catalog;
use hookline_core::subscription::ALL_EVENTS;
use leptos::html::Textarea;
use leptos::prelude::*;

use crate::model::preview::{preview, PreviewIn};
use crate::AppError;

/// A value picked in the sample selector that means "my own event".
const CUSTOM: &str = "__custom__";

#[component]
pub fn PreviewPanel(
    template: RwSignal<String>,
    content_type: RwSignal<String>,
    selected: RwSignal<BTreeSet<String>>,
    #[prop(into)] has_authorization: Signal<bool>,
    #[prop(into)] header_names: Signal<Vec<String>>,
    #[prop(into)] error: Signal<Option<AppError>>,
    /// The sample to start with (e.g. from a no-JavaScript preview round trip).
    #[prop(optional_no_strip)]
    initial_sample: Option<String>,
) -> impl IntoView {
    let first_selected = selected.read_untracked().iter().find(|name| *name != ALL_EVENTS).cloned();
    let sample = RwSignal::new(initial_sample.or(first_selected).unwrap_or_else(|| "feature-created".to_string()));
    let custom_event = RwSignal::new(String::new());
    let editor: NodeRef<Textarea> = NodeRef::new();

    // Keep the chosen sample among the subscribed types when the subscription changes.
    Effect::new(move || {
        let subscribed = selected.read();
        let current = sample.get_untracked();
        if current != CUSTOM
            && !subscribed.is_empty()
            && !subscribed.contains(ALL_EVENTS)
            && !subscribed.contains(&current)
        {
            if let Some(first) = subscribed.iter().next() {
                sample.set(first.clone());
            }
        }
    });

    let result = Memo::new(move |_| {
        let custom = sample.get() == CUSTOM;
        let event = if custom {
            serde_json::from_str(&custom_event.get()).map_err(|e| e.to_string())
        } else {
            Ok(serde_json::Value::Null)
        };
        let input = PreviewIn {
            body_template: Some(template.get()),
            content_type: Some(content_type.get()),
            event_type: (!custom).then(|| sample.get()),
            event: if custom { event.clone().ok() } else { None },
            has_authorization: has_authorization.get(),
            header_names: header_names.get(),
        };
        match (custom, event) {
            (true, Err(parse_error)) => Err(format!("The pasted event is not valid JSON: {parse_error}")),
            _ => Ok(preview(&input, None)),
        }
    });

    let sample_fields = Memo::new(move |_| {
        let name = sample.get();
        catalog::sample_event(&name).map(|event| field_paths(&event.to_value(), "event")).unwrap_or_default()
    });

    let insert = move |snippet: String| {
        let current = template.get_untracked();
        let at = editor
            .get()
            .and_then(|el| el.selection_start().ok().flatten())
            .map(|utf16| utf16_to_byte_index(&current, utf16 as usize))
            .unwrap_or(current.len());
        let mut next = current.clone();
        next.insert_str(at, &snippet);
        template.set(next);
        if let Some(el) = editor.get() {
            let caret = (current[..at].encode_utf16().count() + snippet.encode_utf16().count()) as u32;
            let _ = el.focus();
            let _ = el.set_selection_range(caret, caret);
        }
    };

    view! {
        <div class="preview-grid">
            <div class="editor">
                <label class="field">
                    <span>"Body template (Mustache)"</span>
                    <textarea
                        node_ref=editor
                        name="form[body_template]"
                        spellcheck="false"
                        rows="14"
                        placeholder="Empty: the body is the event itself, as JSON in Unleash's format."
                        aria-invalid=move || error.get().is_some_and(|e| e.field() == Some("bodyTemplate")).to_string()
                        prop:value=move || template.get()
                        on:input=move |ev| template.set(event_target_value(&ev))
                        data-testid="template-editor"
                    >
                        {template.get_untracked()}
                    </textarea>
                </label>
                {move || error.get().and_then(|e| e.message_for("bodyTemplate")).map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                <details class="template-help" open>
                    <summary>"Variables"</summary>
                    <ul class="help-list">
                        <li><code>"{{event.type}}"</code>", "<code>"{{event.featureName}}"</code>", … the event's fields, escaped for the Content-Type"</li>
                        <li><code>"{{eventMarkdown}}"</code>" a one-line Markdown summary (who did what, where)"</li>
                        <li><code>"{{{eventJson}}}"</code>" the event as a JSON string literal (Unleash compatible)"</li>
                        <li><code>"{{json event}}"</code>", "<code>"{{json event.data}}"</code>" the event or any part as a nested JSON value"</li>
                        <li><code>"{{#event.tags}}{{type}}:{{value}} {{/event.tags}}"</code>" repeats for each tag; "<code>"{{^event.environment}}…{{/event.environment}}"</code>" when empty"</li>
                        <li><code>"{{{x}}}"</code>" inserts a value without any escaping"</li>
                    </ul>
                    <p class="muted small">"Insert a field of the "<span class="mono">{move || sample.get()}</span>" sample:"</p>
                    <div class="chips" data-testid="field-chips">
                        {move || sample_fields.get().into_iter().map(|path| {
                            let snippet = format!("{{{{{path}}}}}");
                            let label = path.clone();
                            view! {
                                <button type="button" class="chip" title=format!("Insert {snippet}") on:click=move |_| insert(snippet.clone())>
                                    {label}
                                </button>
                            }
                        }).collect_view()}
                    </div>
                </details>
            </div>

            <div class="preview" aria-live="polite">
                <label class="field">
                    <span>"Preview with"</span>
                    <select
                        name="preview_event_type"
                        data-testid="sample-select"
                        on:change=move |ev| sample.set(event_target_value(&ev))
                        prop:value=move || sample.get()
                    >
                        {move || {
                            let subscribed = selected.get();
                            let current = sample.get_untracked();
                            let names: Vec<&'static str> = catalog::EVENT_TYPES
                                .iter()
                                .map(|t| t.name)
                                .filter(|n| subscribed.is_empty() || subscribed.contains(ALL_EVENTS) || subscribed.contains(*n))
                                .collect();
                            view! {
                                {names.into_iter().map(|n| view! { <option value=n selected=n == current>{format!("{n} sample")}</option> }).collect_view()}
                                <option value=CUSTOM selected=current == CUSTOM>"My own event (paste JSON)…"</option>
                            }
                        }}
                    </select>
                </label>
                <Show when=move || sample.get() == CUSTOM>
                    <label class="field">
                        <span>"Event JSON (Unleash format)"</span>
                        <textarea
                            rows="6"
                            spellcheck="false"
                            placeholder="{\"type\": \"feature-created\", \"featureName\": \"my-flag\", \"project\": \"default\", \"createdBy\": \"me@example.com\"}"
                            on:input=move |ev| custom_event.set(event_target_value(&ev))
                            data-testid="custom-event"
                        ></textarea>
                    </label>
                </Show>
                {move || match result.get() {
                    Err(message) => view! { <div class="alert alert-error">{message}</div> }.into_any(),
                    Ok(out) => {
                        let badge = match (out.valid_json, &out.error) {
                            (_, Some(e)) => {
                                let at = match (e.line, e.column) {
                                    (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
                                    _ => String::new(),
                                };
                                view! { <span class="badge badge-danger" data-testid="preview-status">{format!("{}{at}", e.message)}</span> }.into_any()
                            }
                            (Some(true), None) => view! { <span class="badge badge-success" data-testid="preview-status">"Valid JSON"</span> }.into_any(),
                            _ => view! { <span class="badge badge-muted" data-testid="preview-status">"Rendered"</span> }.into_any(),
                        };
                        let body = out.display_body();
                        view! {
                            <div class="preview-head">
                                <span class="label">"Body"</span>
                                {badge}
                            </div>
                            <pre class="preview-body" data-testid="preview-body">{body}</pre>
                            <span class="label">"Headers"</span>
                            <table class="table compact" data-testid="preview-headers">
                                <tbody>
                                    {out.headers.into_iter().map(|(name, value)| view! {
                                        <tr><td class="mono">{name}</td><td class="mono muted">{value}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }
                }}
                <noscript inner_html=r#"<p class="muted small">Without JavaScript the preview updates when you press Preview.</p><button type="submit" class="btn btn-secondary" formaction="/rpc/preview_draft" formnovalidate>Preview</button>"# />
            </div>
        </div>
    }
}

/// Every scalar field of a JSON value as a dotted path (`event.data.name`), arrays by index.
pub fn field_paths(value: &serde_json::Value, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect_paths(value, prefix, &mut out, 0);
    out
}

fn collect_paths(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>, depth: usize) {
    match value {
        serde_json::Value::Object(map) if depth < 4 => {
            for (key, child) in map {
                collect_paths(child, &format!("{prefix}.{key}"), out, depth + 1);
            }
        }
        serde_json::Value::Array(items) if depth < 4 && !items.is_empty() => {
            collect_paths(&items[0], &format!("{prefix}.0"), out, depth + 1);
        }
        _ => out.push(prefix.to_string()),
    }
}

/// Converts a UTF-16 offset (what the browser's selection APIs count) into a byte index of `text`.
fn utf16_to_byte_index(text: &str, utf16: usize) -> usize {
    let mut units = 0;
    for (index, ch) in text.char_indices() {
        if units >= utf16 {
            return index;
        }
        units += ch.len_utf16();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cover_nested_fields() {
        let paths = field_paths(
            &serde_json::json!({"type": "x", "data": {"name": "n", "strategies": [{"id": 1}]}, "tags": []}),
            "event",
        );
        assert_eq!(paths, vec!["event.type", "event.data.name", "event.data.strategies.0.id", "event.tags"]);
    }

    #[test]
    fn utf16_offsets_map_to_bytes() {
        assert_eq!(utf16_to_byte_index("aé😀b", 0), 0);
        assert_eq!(utf16_to_byte_index("aé😀b", 2), 3);
        assert_eq!(utf16_to_byte_index("aé😀b", 4), 7);
        assert_eq!(utf16_to_byte_index("aé😀b", 99), 8);
    }
}
