//! The server side of the UI's calls (`app::api::Backend`), also used by the JSON admin API:
//! validation, rules and storage calls for admins and tokens. Every admin action is recorded in
//! the audit log here, in this one layer that the API, the UI and the command line share.

use async_trait::async_trait;

use app::api::AccountService;
use app::model::*;
use app::AppError;
use hookline_core::scope::{self, Scope};

use crate::auth::{throttle, token};
use crate::db::admins::AdminRow;
use crate::db::audit::NewAudit;
use crate::db::tokens::TokenRow;
use crate::state::AppState;
use crate::time::iso;

pub mod audit;
pub mod deliveries;
pub mod webhooks;

/// How long template work for one request (the preview, the save-time check) may take.
pub const TEMPLATE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs template work off the async workers, on the blocking pool, with a time limit. The
/// renderer's own work budget (`hookline_core::template::MAX_STEPS`) already bounds each render;
/// this keeps a request that renders many samples from holding a worker, and puts a wall-clock
/// bound on all of it.
pub async fn bounded_template_work<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    match tokio::time::timeout(TEMPLATE_TIME_LIMIT, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(result)) => result,
        Ok(Err(panicked)) => Err(AppError::internal(panicked)),
        Err(_) => Err(AppError::invalid(
            "bodyTemplate",
            format!("template does too much work: rendering took longer than {} s", TEMPLATE_TIME_LIMIT.as_secs()),
        )),
    }
}

pub fn admin_out(row: AdminRow) -> Admin {
    Admin { id: row.id, email: row.email, created_at: iso(row.created_at) }
}

pub fn token_out(row: TokenRow) -> ApiToken {
    let scopes = row.scopes();
    ApiToken {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        created_by: row.created_by,
        created_at: iso(row.created_at),
        last_used_at: row.last_used_at.map(iso),
        scopes,
    }
}

impl AppState {
    /// Creates the first admin from HOOKLINE_ADMIN_EMAIL / HOOKLINE_ADMIN_PASSWORD when none exists.
    pub async fn ensure_initial_admin(&self) -> anyhow::Result<()> {
        let (Some(email), Some(pass)) = (&self.config.admin_email, &self.config.admin_password) else {
            return Ok(());
        };
        match self.create_first_admin(&Actor::system("HOOKLINE_ADMIN_EMAIL"), email, pass).await {
            Ok(admin) => tracing::info!(email = %admin.email, "created the first admin from HOOKLINE_ADMIN_EMAIL"),
            Err(AppError::Conflict(_)) => tracing::debug!("an admin exists; HOOKLINE_ADMIN_EMAIL ignored"),
            Err(error) => anyhow::bail!("HOOKLINE_ADMIN_EMAIL/HOOKLINE_ADMIN_PASSWORD: {error}"),
        }
        Ok(())
    }

    /// Creates an API token with `scopes` (also used by `hookline token create`).
    pub async fn issue_token(&self, actor: &Actor, name: &str, scopes: Vec<Scope>) -> Result<NewApiToken, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "give the token a name of 1 to 100 characters"));
        }
        let scopes = scope::normalize(scopes).map_err(|message| AppError::invalid("scopes", message))?;
        let secret = token::generate_token();
        let audit = NewAudit::new(actor, AuditAction::TokenCreated, ObjectKind::Token, None)
            .detail(serde_json::json!({ "scopes": scopes }));
        let row = self
            .db
            .insert_token(
                name,
                &token::hash_token(&secret),
                &token::display_prefix(&secret),
                &scope::format_list(&scopes),
                &audit,
            )
            .await?;
        tracing::info!(token_id = row.id, name = %row.name, scopes = %row.scopes, created_by = %actor.name, "API token created");
        Ok(NewApiToken { token: secret, info: token_out(row) })
    }
}

#[async_trait]
impl AccountService for AppState {
    async fn setup_needed(&self) -> Result<bool, AppError> {
        Ok(self.db.count_admins().await? == 0)
    }

    async fn create_first_admin(&self, actor: &Actor, email: &str, password: &str) -> Result<Admin, AppError> {
        let already_set_up = || AppError::Conflict("an admin already exists; sign in instead".into());
        // Before any hashing: this endpoint is open to everyone, so once set up a refusal must
        // cost one indexed read, not an Argon2 hash per request.
        if self.db.count_admins().await? > 0 {
            return Err(already_set_up());
        }
        let email = validate_email(email)?;
        validate_new_password("password", password)?;
        let hash = self.password_hashing.hash(password).await?;
        // From the setup page nobody is signed in yet: the new admin is recorded as acting (the
        // storage call fills in their id), from the page's address.
        let acting = match actor.kind {
            ActorKind::Anonymous => Actor { kind: ActorKind::Admin, id: None, name: email.clone(), ..actor.clone() },
            _ => actor.clone(),
        };
        let audit = NewAudit::new(&acting, AuditAction::AdminAdded, ObjectKind::Admin, None)
            .detail(serde_json::json!({ "firstAdmin": true }));
        // Two setups racing past the check above both hash, but the insert only happens while no
        // admin exists (one statement in one transaction on the single write connection), so
        // only one wins.
        match self.db.insert_admin(&email, &hash, true, &audit).await? {
            Some(row) => Ok(admin_out(row)),
            None => Err(already_set_up()),
        }
    }

    async fn sign_in(&self, email: &str, password: &str, client: &str) -> Result<Admin, AppError> {
        let keys = throttle::keys(email, client);
        // Counted before the password is checked, so attempts sent at once are all counted.
        if let Err(wait) = self.login_throttle.begin_attempt(&keys).await.map_err(AppError::internal)? {
            return Err(AppError::TooManyRequests(format!(
                "Too many failed sign-in attempts. Try again in {} s.",
                wait.as_secs().max(1)
            )));
        }
        let checked = async {
            let row = self.db.admin_by_email(email.trim()).await?;
            // Unknown emails verify against a decoy, so timing does not reveal which accounts exist.
            let matches =
                self.password_hashing.verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await?;
            Ok::<_, AppError>((row, matches))
        }
        .await;
        let address = (client != "unknown").then(|| client.to_string());
        match checked {
            Ok((Some(row), true)) => {
                let admin = admin_out(row);
                let actor = Actor::admin(&admin, address);
                let audit = NewAudit::new(&actor, AuditAction::SigninSucceeded, ObjectKind::Admin, Some(admin.id))
                    .named(&admin.email);
                // No sign-in without its audit entry (and a database failure is not a failed attempt).
                if let Err(error) = self.db.record_audit(&audit).await {
                    self.login_throttle.cancel_attempt(&keys).await;
                    return Err(error.into());
                }
                self.login_throttle.record_success(&keys).await;
                tracing::info!(admin = %admin.email, %client, "signed in");
                Ok(admin)
            }
            Ok((row, _)) => {
                tracing::warn!(%client, "failed sign-in attempt");
                let actor = Actor::anonymous(email, address);
                let reason = if row.is_some() { "wrong password" } else { "unknown email" };
                let audit = NewAudit::new(&actor, AuditAction::SigninFailed, ObjectKind::Admin, row.map(|r| r.id))
                    .detail(serde_json::json!({ "reason": reason }));
                // The refusal stands even if it cannot be recorded.
                if let Err(error) = self.db.record_audit(&audit).await {
                    tracing::error!(%error, "could not record a failed sign-in in the audit log");
                }
                Err(AppError::InvalidCredentials)
            }
            Err(error) => {
                // No password was checked (busy, or the database failed): not a failed attempt.
                self.login_throttle.cancel_attempt(&keys).await;
                Err(error)
            }
        }
    }

    async fn list_admins(&self) -> Result<Vec<Admin>, AppError> {
        Ok(self.db.list_admins().await?.into_iter().map(admin_out).collect())
    }

    async fn add_admin(&self, actor: &Actor, email: &str, password: &str) -> Result<Admin, AppError> {
        let email = validate_email(email)?;
        validate_new_password("password", password)?;
        if self.db.admin_by_email(&email).await?.is_some() {
            return Err(AppError::invalid("email", "an admin with this email already exists"));
        }
        // The check above only spares a hash in the common case; the unique index decides when
        // two admins add the same address at once.
        let hash = self.password_hashing.hash(password).await?;
        let audit = NewAudit::new(actor, AuditAction::AdminAdded, ObjectKind::Admin, None);
        let row = match self.db.insert_admin(&email, &hash, false, &audit).await {
            Ok(Some(row)) => row,
            Ok(None) => return Err(AppError::internal("insert returned no row")),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AppError::invalid("email", "an admin with this email already exists"))
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(by = %actor.name, added = %row.email, "admin added");
        Ok(admin_out(row))
    }

    async fn remove_admin(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        if actor.admin_id() == Some(id) {
            return Err(AppError::Conflict("you cannot remove yourself; another admin can".into()));
        }
        let target = self.db.admin_by_id(id).await?.ok_or_else(|| AppError::NotFound("admin".into()))?;
        let audit = NewAudit::new(actor, AuditAction::AdminRemoved, ObjectKind::Admin, Some(id)).named(&target.email);
        if !self.db.delete_admin_unless_last(id, &audit).await? {
            return Err(AppError::Conflict("the last admin cannot be removed".into()));
        }
        tracing::info!(by = %actor.name, removed = %target.email, "admin removed, and their sessions ended");
        Ok(())
    }

    async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<(), AppError> {
        let admin_id = actor.admin_id().ok_or(AppError::Unauthorized)?;
        let row = self.db.admin_by_id(admin_id).await?.ok_or(AppError::Unauthorized)?;
        if !self.password_hashing.verify(current, Some(&row.password_hash)).await? {
            return Err(AppError::invalid("currentPassword", "the current password is incorrect"));
        }
        validate_new_password("newPassword", new)?;
        let hash = self.password_hashing.hash(new).await?;
        let audit =
            NewAudit::new(actor, AuditAction::PasswordChanged, ObjectKind::Admin, Some(admin_id)).named(&row.email);
        self.db.update_admin_password(admin_id, &hash, keep_session, &audit).await?;
        tracing::info!(admin = %actor.name, "password changed; the admin's other sessions ended");
        Ok(())
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, AppError> {
        Ok(self.db.list_tokens().await?.into_iter().map(token_out).collect())
    }

    async fn create_token(&self, actor: &Actor, name: &str, scopes: Vec<Scope>) -> Result<NewApiToken, AppError> {
        self.issue_token(actor, name, scopes).await
    }

    async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let audit = NewAudit::new(actor, AuditAction::TokenRevoked, ObjectKind::Token, Some(id));
        if self.db.revoke_token(id, &audit).await? {
            self.tokens.forget();
            tracing::info!(token_id = id, by = %actor.name, "API token revoked");
            Ok(())
        } else {
            Err(AppError::NotFound("API token".into()))
        }
    }
}
