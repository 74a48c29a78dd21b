//! What an API token may do. A token carries one or more scopes; each request needs one.
//!
//! - `events`: the event intake only (`POST /api/events`): the token an operator pastes into
//!   Unleash, which must not be able to read secrets or re-point webhooks.
//! - `read`: GET on the admin API (webhooks with secrets masked, deliveries, events, the
//!   dashboard) and `/metrics`; never a secret itself, nor the audit log.
//! - `admin`: everything, the intake included (tokens made before scopes existed became `admin`,
//!   so no running integration broke).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Events,
    Read,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Events, Scope::Read, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Events => "events",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// One line for the token form and `--help`.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Events => "send events (POST /api/events)",
            Scope::Read => "read webhooks, deliveries and metrics (no secrets)",
            Scope::Admin => "everything: change webhooks, read secrets and the audit log, redeliver",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a token holding `held` may do what needs `needed` (`admin` may do everything).
pub fn grants(held: &[Scope], needed: Scope) -> bool {
    held.contains(&Scope::Admin) || held.contains(&needed)
}

/// The scope a token needs for `method` on `path`, for the routes tokens may reach at all.
pub fn required(method: &str, path: &str) -> Scope {
    let read_only = matches!(method, "GET" | "HEAD" | "OPTIONS");
    if path == "/api/events" {
        Scope::Events
    } else if read_only && !reveals_secret(path) && !is_audit_log(path) {
        Scope::Read
    } else {
        Scope::Admin
    }
}

/// `GET /api/admin/webhooks/{id}/secret` shows the signing secret: reading it is an admin's act.
fn reveals_secret(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/secret")
}

/// `GET /api/admin/audit`: who did what, from where. Reading it is an admin's act too (a `read`
/// token is for dashboards and scripts that watch deliveries).
fn is_audit_log(path: &str) -> bool {
    path.trim_end_matches('/') == "/api/admin/audit"
}

/// Parses a stored or typed list, `events,read`: sorted, without repeats, at least one.
pub fn parse_list(text: &str) -> Result<Vec<Scope>, String> {
    let mut scopes = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let scope = Scope::parse(part).ok_or_else(|| format!("unknown scope `{part}` (use events, read or admin)"))?;
        scopes.push(scope);
    }
    normalize(scopes)
}

/// Sorted, without repeats; an empty list is refused (a token must be able to do something).
pub fn normalize(mut scopes: Vec<Scope>) -> Result<Vec<Scope>, String> {
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err("choose at least one scope: events, read or admin".into());
    }
    Ok(scopes)
}

/// The stored form, `events,read`.
pub fn format_list(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_needs_its_scope() {
        assert_eq!(required("POST", "/api/events"), Scope::Events);
        assert_eq!(required("GET", "/api/admin/webhooks"), Scope::Read);
        assert_eq!(required("GET", "/api/admin/deliveries/3"), Scope::Read);
        assert_eq!(required("GET", "/metrics"), Scope::Read);
        assert_eq!(required("GET", "/api/admin/webhooks/3/secret"), Scope::Admin);
        assert_eq!(required("GET", "/api/admin/webhooks/3/secret/"), Scope::Admin);
        assert_eq!(required("POST", "/api/admin/webhooks/3/secret/rotate"), Scope::Admin);
        assert_eq!(required("PUT", "/api/admin/webhooks/3"), Scope::Admin);
        assert_eq!(required("DELETE", "/api/admin/webhooks/3"), Scope::Admin);
        assert_eq!(required("POST", "/api/admin/preview"), Scope::Admin);
        assert_eq!(required("GET", "/api/admin/audit"), Scope::Admin);
        assert_eq!(required("GET", "/api/admin/audit/"), Scope::Admin);
    }

    #[test]
    fn admin_grants_everything_and_the_others_only_themselves() {
        assert!(grants(&[Scope::Admin], Scope::Events));
        assert!(grants(&[Scope::Admin], Scope::Read));
        assert!(grants(&[Scope::Events, Scope::Read], Scope::Read));
        assert!(!grants(&[Scope::Events], Scope::Read));
        assert!(!grants(&[Scope::Read], Scope::Events));
        assert!(!grants(&[Scope::Read], Scope::Admin));
        assert!(!grants(&[], Scope::Events));
    }

    #[test]
    fn lists_parse_and_format() {
        assert_eq!(parse_list("read, events,read").unwrap(), vec![Scope::Events, Scope::Read]);
        assert_eq!(format_list(&parse_list("admin,events").unwrap()), "events,admin");
        assert!(parse_list("").unwrap_err().contains("at least one"));
        assert!(parse_list("events,root").unwrap_err().contains("`root`"));
        let json = serde_json::to_string(&[Scope::Events, Scope::Admin]).unwrap();
        assert_eq!(json, r#"["events","admin"]"#);
    }
}
