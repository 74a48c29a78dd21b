//! Settings → Audit log: every admin action, newest first, filtered by actor and action. The
//! filters are a GET form and "Older" a link to the next keyset page, so it all works without
//! JavaScript and gives shareable URLs.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::audit::list_audit;
use crate::components::error_template::error_fallback;
use crate::components::filters::{query_value, QuerySelect};
use crate::components::time::short_time;
use crate::model::{ActorKind, AuditAction, AuditEntryOut, AuditFilter, ObjectKind};

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let text = |key: &str| q.get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        AuditFilter {
            actor: text("actor"),
            action: text("action"),
            before: text("before").and_then(|b| b.parse().ok()),
            limit: Some(50),
        }
    });
    let page = Resource::new(move || filter.get(), list_audit);

    view! {
        <leptos_meta::Title text="Audit log" />
        <div class="page-header">
            <h1>"Audit log"</h1>
            <span class="muted small">"Every admin action: who, what, when and from where, newest first. "<a href="/settings">"← Settings"</a></span>
        </div>
        <Form method="GET" action="" attr:class="filters">
            <label class="field">
                <span>"Actor"</span>
                <input type="text" name="actor" placeholder="admin@example.com, token:ci, cli" value=query_value("actor") />
            </label>
            <QuerySelect
                label="Action"
                name="action"
                any="Any action"
                options=AuditAction::ALL.iter().map(|action| (action.as_str(), action.as_str())).collect()
            />
            <button type="submit" class="btn btn-secondary">"Filter"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
            {move || Suspend::new(async move {
                page.await.map(|page| {
                    if page.items.is_empty() {
                        return view! {
                            <div class="empty-state small">
                                <p>"No audit entries match."</p>
                            </div>
                        }.into_any();
                    }
                    let older = page.next_cursor.map(|cursor| older_link(&filter.get_untracked(), cursor));
                    view! {
                        <section class="card table-wrap">
                            <table class="table" data-testid="audit">
                                <thead>
                                    <tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Object"</th><th>"Details"</th><th>"From"</th></tr>
                                </thead>
                                <tbody>
                                    {page.items.into_iter().map(|entry| view! { <AuditRow entry /> }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <div class="pager">
                            {move || filter.read().before.is_some().then(|| view! {
                                <a class="btn btn-ghost btn-small" href=newest_link(&filter.get())>"← Newest"</a>
                            })}
                            {older.map(|href| view! { <a class="btn btn-ghost btn-small" href=href>"Older →"</a> })}
                        </div>
                    }.into_any()
                })
            })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn AuditRow(entry: AuditEntryOut) -> impl IntoView {
    let action = entry.action.parse::<AuditAction>().ok();
    let failed = action == Some(AuditAction::SigninFailed);
    let who = match entry.actor_kind {
        ActorKind::Anonymous if entry.actor_name.is_empty() => "anonymous".to_string(),
        ActorKind::Anonymous => format!("anonymous (as {})", entry.actor_name),
        _ => entry.actor_name.clone(),
    };
    let object = object_label(&entry);
    let href = match (entry.object_kind, entry.object_id, action) {
        (_, _, Some(AuditAction::WebhookDeleted)) => None,
        (Some(ObjectKind::Webhook), Some(id), _) => Some(format!("/webhooks/{id}")),
        (Some(ObjectKind::Delivery), Some(id), _) => Some(format!("/deliveries/{id}")),
        (Some(ObjectKind::Unleash), _, _) => Some("/connect".to_string()),
        _ => None,
    };
    view! {
        <tr class:row-failed=failed data-audit-id=entry.id data-action=entry.action.clone()>
            <td title=entry.at.clone()>{short_time(&entry.at)}</td>
            <td>
                <span class="badge badge-muted">{entry.actor_kind.as_str()}</span>
                " " {who}
            </td>
            <td>
                <span class="mono">{entry.action.clone()}</span>
                {action.map(|a| view! { <div class="muted small">{a.describe()}</div> })}
            </td>
            <td>
                {match href {
                    Some(href) => view! { <a href=href>{object}</a> }.into_any(),
                    None => view! { <span>{object}</span> }.into_any(),
                }}
            </td>
            <td class="muted small">{describe_detail(&entry.detail)}</td>
            <td class="mono muted">{entry.address.clone().unwrap_or_else(|| "–".into())}</td>
        </tr>
    }
}

/// `webhook #3 “Slack”`, or empty when the action has no object.
fn object_label(entry: &AuditEntryOut) -> String {
    let Some(kind) = entry.object_kind else { return String::new() };
    let mut label = kind.as_str().to_string();
    if let Some(id) = entry.object_id {
        label.push_str(&format!(" #{id}"));
    }
    if let Some(name) = entry.object_name.as_deref().filter(|n| !n.is_empty()) {
        label.push_str(&format!(" “{name}”"));
    }
    label
}

/// The detail object in one line: `changed: url, headers · requeued: 3`.
pub fn describe_detail(detail: &serde_json::Value) -> String {
    let Some(object) = detail.as_object() else { return String::new() };
    object
        .iter()
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Array(items) if items.is_empty() => "nothing".to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_string).unwrap_or_else(|| item.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            format!("{key}: {value}")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The page's URL with the filters of `filter` and `before` (None: the newest page).
fn link(filter: &AuditFilter, before: Option<i64>) -> String {
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    if let Some(actor) = &filter.actor {
        params.append_pair("actor", actor);
    }
    if let Some(action) = &filter.action {
        params.append_pair("action", action);
    }
    if let Some(before) = before {
        params.append_pair("before", &before.to_string());
    }
    let query = params.finish();
    if query.is_empty() {
        "/settings/audit".to_string()
    } else {
        format!("/settings/audit?{query}")
    }
}

fn older_link(filter: &AuditFilter, cursor: i64) -> String {
    link(filter, Some(cursor))
}

fn newest_link(filter: &AuditFilter) -> String {
    link(filter, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_one_line() {
        let detail = serde_json::json!({"changed": ["url", "headers"], "requeued": 3, "since": "2026-12-01T00:00:00Z"});
        assert_eq!(describe_detail(&detail), "changed: url, headers · requeued: 3 · since: 2026-12-01T00:00:00Z");
        assert_eq!(describe_detail(&serde_json::json!({"changed": []})), "changed: nothing");
        assert_eq!(describe_detail(&serde_json::json!({})), "");
    }

    #[test]
    fn pager_links_keep_the_filters() {
        let filter = AuditFilter {
            actor: Some("token:ci bot".into()),
            action: Some("webhook.updated".into()),
            before: Some(40),
            limit: Some(50),
        };
        assert_eq!(older_link(&filter, 17), "/settings/audit?actor=token%3Aci+bot&action=webhook.updated&before=17");
        assert_eq!(newest_link(&filter), "/settings/audit?actor=token%3Aci+bot&action=webhook.updated");
        assert_eq!(newest_link(&AuditFilter::default()), "/settings/audit");
    }
}
