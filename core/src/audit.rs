//! The words of the audit log: who acted (`ActorKind`), what they did (`AuditAction`) and to what
//! (`ObjectKind`). Each is stored as text, sent in the API and accepted in filters with the same
//! spelling, so the spellings below are a stable interface: add words, never rename them.

use serde::{Deserialize, Serialize};

use crate::delivery::text_enum;

text_enum! {
    /// What kind of caller acted.
    ActorKind, "an actor kind" {
        /// A signed-in admin (the UI's server functions, or the JSON API with a session).
        Admin => "admin",
        /// An API token (`Authorization: Bearer ...`).
        Token => "token",
        /// The `hookline` command line on the server's machine.
        Cli => "cli",
        /// Hookline itself, from its settings (e.g. the first admin from HOOKLINE_ADMIN_EMAIL).
        System => "system",
        /// Nobody signed in: a failed sign-in.
        Anonymous => "anonymous",
    }
}

text_enum! {
    /// What was done. Grouped by the kind of object, in the order the audit page lists them.
    AuditAction, "an audit action" {
        SigninSucceeded => "signin.succeeded",
        SigninFailed => "signin.failed",
        AdminAdded => "admin.added",
        AdminRemoved => "admin.removed",
        PasswordChanged => "password.changed",
        TokenCreated => "token.created",
        TokenRevoked => "token.revoked",
        WebhookCreated => "webhook.created",
        WebhookUpdated => "webhook.updated",
        WebhookDeleted => "webhook.deleted",
        WebhookEnabled => "webhook.enabled",
        WebhookDisabled => "webhook.disabled",
        WebhookResumed => "webhook.resumed",
        WebhookTestSent => "webhook.test-sent",
        SecretRevealed => "secret.revealed",
        SecretRotated => "secret.rotated",
        DeliveryRedelivered => "delivery.redelivered",
        DeliveryRecovered => "delivery.recovered",
        KeyRotated => "key.rotated",
        UnleashSaved => "unleash.saved",
        UnleashCleared => "unleash.cleared",
    }
}

impl AuditAction {
    /// A few words for people (the audit page).
    pub const fn describe(self) -> &'static str {
        match self {
            AuditAction::SigninSucceeded => "signed in",
            AuditAction::SigninFailed => "failed to sign in",
            AuditAction::AdminAdded => "added an admin",
            AuditAction::AdminRemoved => "removed an admin",
            AuditAction::PasswordChanged => "changed their password",
            AuditAction::TokenCreated => "created an API token",
            AuditAction::TokenRevoked => "revoked an API token",
            AuditAction::WebhookCreated => "created a webhook",
            AuditAction::WebhookUpdated => "updated a webhook",
            AuditAction::WebhookDeleted => "deleted a webhook",
            AuditAction::WebhookEnabled => "enabled a webhook",
            AuditAction::WebhookDisabled => "disabled a webhook",
            AuditAction::WebhookResumed => "resumed a paused webhook",
            AuditAction::WebhookTestSent => "sent a test event",
            AuditAction::SecretRevealed => "revealed a signing secret",
            AuditAction::SecretRotated => "rotated a signing secret",
            AuditAction::DeliveryRedelivered => "redelivered a delivery",
            AuditAction::DeliveryRecovered => "recovered failed deliveries",
            AuditAction::KeyRotated => "rotated the encryption key",
            AuditAction::UnleashSaved => "set the Unleash catch-up's URL or token",
            AuditAction::UnleashCleared => "cleared the Unleash catch-up's URL and token",
        }
    }
}

text_enum! {
    /// What an action was done to.
    ObjectKind, "an object kind" {
        Admin => "admin",
        Token => "token",
        Webhook => "webhook",
        Delivery => "delivery",
        EncryptionKey => "encryption-key",
        /// The Unleash the catch-up poller reads (the Connect page's settings).
        Unleash => "unleash",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_back_and_serialises_as_stored() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(*action));
            assert_eq!(serde_json::to_value(action).unwrap(), serde_json::json!(action.as_str()));
            assert!(!action.describe().is_empty());
        }
        for kind in ActorKind::ALL {
            assert_eq!(kind.as_str().parse::<ActorKind>(), Ok(*kind));
        }
        for kind in ObjectKind::ALL {
            assert_eq!(kind.as_str().parse::<ObjectKind>(), Ok(*kind));
        }
    }

    #[test]
    fn spellings_are_stable() {
        // Stored in databases and used in scripts' filters: a rename would orphan old rows.
        let words: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            words,
            [
                "signin.succeeded",
                "signin.failed",
                "admin.added",
                "admin.removed",
                "password.changed",
                "token.created",
                "token.revoked",
                "webhook.created",
                "webhook.updated",
                "webhook.deleted",
                "webhook.enabled",
                "webhook.disabled",
                "webhook.resumed",
                "webhook.test-sent",
                "secret.revealed",
                "secret.rotated",
                "delivery.redelivered",
                "delivery.recovered",
                "key.rotated",
                "unleash.saved",
                "unleash.cleared",
            ]
        );
    }

    #[test]
    fn unknown_words_are_refused_with_the_accepted_ones() {
        let error = "webhook.exploded".parse::<AuditAction>().unwrap_err();
        assert!(error.contains("`webhook.exploded` is not an audit action"), "{error}");
        assert!(error.contains("webhook.created"), "{error}");
    }
}
