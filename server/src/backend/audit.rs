//! Reading the audit log (the entries are written where each action happens, see `db::audit`).

use async_trait::async_trait;

use app::api::AuditService;
use app::model::*;
use app::AppError;

use crate::db::audit::{AuditQuery, AuditRow};
use crate::state::AppState;
use crate::time::iso;

/// The longest `actor` filter accepted (an email's longest, with room for `token:`).
const MAX_ACTOR_FILTER: usize = 320;

pub fn audit_out(row: AuditRow) -> AuditEntryOut {
    AuditEntryOut {
        id: row.id,
        at: iso(row.created_at),
        actor_kind: row.actor_kind,
        actor_id: row.actor_id,
        actor_name: row.actor_name,
        action: row.action,
        object_kind: row.object_kind,
        object_id: row.object_id,
        object_name: row.object_name,
        detail: serde_json::from_str(&row.detail).unwrap_or_default(),
        address: row.address,
    }
}

#[async_trait]
impl AuditService for AppState {
    async fn list_audit(&self, filter: AuditFilter) -> Result<Page<AuditEntryOut>, AppError> {
        let actor = filter.actor.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        if actor.as_ref().is_some_and(|a| a.chars().count() > MAX_ACTOR_FILTER) {
            return Err(AppError::invalid("actor", format!("the actor is longer than {MAX_ACTOR_FILTER} characters")));
        }
        let action = match filter.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(word) => Some(word.parse::<AuditAction>().map_err(|e| AppError::invalid("action", e))?),
        };
        let limit = filter.limit.unwrap_or(50).clamp(1, 200);
        // One extra row tells whether another page follows.
        let query = AuditQuery { actor, action, before: filter.before, limit: limit + 1 };
        let mut rows = self.db.list_audit(&query).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| r.id) } else { None };
        Ok(Page { items: rows.into_iter().map(audit_out).collect(), next_cursor })
    }
}
