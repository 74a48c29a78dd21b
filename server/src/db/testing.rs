//! Helpers for the storage tests: a database in a temporary folder, webhooks, events.

use app::model::{RetryPolicy, WebhookSpec};
use hookline_core::catalog::sample_event;

use super::audit::NewAudit;
use super::events::NewEvent;
use super::webhooks::Webhook;
use super::SqliteDb;

/// A fresh, migrated database; keep the folder alive as long as the handle.
pub async fn open() -> (tempfile::TempDir, SqliteDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = SqliteDb::open(&url, "normal").await.expect("open");
    (dir, db)
}

/// An enabled webhook subscribed to `events`.
pub async fn webhook(db: &SqliteDb, events: &[&str]) -> Webhook {
    db.insert_webhook(&spec(events), "whsec_test", &audit()).await.expect("insert webhook")
}

/// The settings of `webhook` (for the PostgreSQL storage tests too).
pub fn spec(events: &[&str]) -> WebhookSpec {
    WebhookSpec {
        description: String::new(),
        url: "http://127.0.0.1:9/hook".into(),
        enabled: true,
        content_type: "application/json".into(),
        authorization: None,
        headers: app::model::HeaderMap::new(),
        body_template: None,
        events: events.iter().map(|e| e.to_string()).collect(),
        projects: Vec::new(),
        environments: Vec::new(),
        retry_policy: RetryPolicy::default(),
        rate_limit: None,
        ordered: false,
    }
}

/// An audit entry for storage calls that take one (the `test` command line acting).
pub fn audit() -> NewAudit {
    let actor = app::model::Actor { name: "test".into(), ..app::model::Actor::cli() };
    NewAudit::new(&actor, app::model::AuditAction::WebhookUpdated, app::model::ObjectKind::Webhook, None)
}

/// A catalog sample of `event_type` named `name`, with the client id `id` if given.
pub fn event(id: Option<i64>, event_type: &str, name: &str) -> NewEvent {
    let mut event = sample_event(event_type).expect("known type");
    event.feature_name = Some(name.to_string());
    NewEvent { id, ..NewEvent::made(event, 1_700_000_000_000, "api") }
}
