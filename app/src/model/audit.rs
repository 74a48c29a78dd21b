//! The audit log as the API and the audit page see it, and `Actor`: who a change is made by,
//! handed from the HTTP layer to the backend with every admin action.

pub use hookline_core::audit::{ActorKind, AuditAction, ObjectKind};
use serde::{Deserialize, Serialize};

use super::Admin;

/// Who acts, and from where. Built once per request by the server (an admin from the session,
/// a token from `Authorization`), or by the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub kind: ActorKind,
    /// The admin's or the token's id.
    pub id: Option<i64>,
    /// What "created by" / "updated by" fields and the audit log show: the admin's email,
    /// `token:<name>`, `cli`, or for a failed sign-in the email that was tried.
    pub name: String,
    /// The client's address (see the server's `auth::proxies`); none from the command line.
    pub address: Option<String>,
}

impl Actor {
    pub fn admin(admin: &Admin, address: Option<String>) -> Actor {
        Actor { kind: ActorKind::Admin, id: Some(admin.id), name: admin.email.clone(), address }
    }

    pub fn token(id: i64, name: &str, address: Option<String>) -> Actor {
        Actor { kind: ActorKind::Token, id: Some(id), name: format!("token:{name}"), address }
    }

    /// The `hookline` command line.
    pub fn cli() -> Actor {
        Actor { kind: ActorKind::Cli, id: None, name: "cli".into(), address: None }
    }

    /// Hookline acting on its settings; `setting` names the one (e.g. `HOOKLINE_ADMIN_EMAIL`).
    pub fn system(setting: &str) -> Actor {
        Actor { kind: ActorKind::System, id: None, name: setting.into(), address: None }
    }

    /// Nobody signed in (yet): the setup page, a sign-in attempt. `name` is what they claimed to
    /// be (the email typed), cut to a sane length.
    pub fn anonymous(name: &str, address: Option<String>) -> Actor {
        let name: String = name.trim().chars().take(MAX_CLAIMED_NAME).collect();
        Actor { kind: ActorKind::Anonymous, id: None, name, address }
    }

    /// The admin's id when an admin acts.
    pub fn admin_id(&self) -> Option<i64> {
        match self.kind {
            ActorKind::Admin => self.id,
            _ => None,
        }
    }
}

/// The longest claimed name kept for an anonymous actor (an email's longest legal length).
pub const MAX_CLAIMED_NAME: usize = 254;

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryOut {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    pub actor_kind: ActorKind,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    /// An `AuditAction` word (kept as text: a newer version's words still list).
    #[cfg_attr(feature = "ssr", schema(example = "webhook.created"))]
    pub action: String,
    pub object_kind: Option<ObjectKind>,
    pub object_id: Option<i64>,
    /// What the object was called then (a webhook's title, an admin's email, a token's name), so
    /// entries stay readable after the object is gone.
    pub object_name: Option<String>,
    /// Facts about the action: which fields changed, counts, related ids. Never a secret value.
    pub detail: serde_json::Value,
    pub address: Option<String>,
}

/// Filters of the audit log (query parameters of `GET /api/admin/audit`, the page's form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    /// Exactly the actor's name: an admin's email, `token:<name>`, `cli` (at most 320 characters).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(max_length = 320, example = "admin@example.com"))]
    pub actor: Option<String>,
    /// Only entries of this action (an `AuditAction` word); empty: any.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(value_type = Option<AuditAction>))]
    pub action: Option<String>,
    /// Keyset cursor: entries older than this id (the previous page's `nextCursor`); leave out for
    /// the first (newest) page.
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size: 1 to 200 (values outside are clamped), 50 when left out.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 200, example = 50))]
    pub limit: Option<i64>,
}
