//! Server function behind the audit log page.

use leptos::prelude::*;

use crate::model::*;
use crate::AppError;

#[server(prefix = "/rpc", endpoint = "list_audit")]
pub async fn list_audit(filter: AuditFilter) -> Result<Page<AuditEntryOut>, AppError> {
    crate::api::require_admin()?;
    crate::api::backend()?.list_audit(filter).await
}
