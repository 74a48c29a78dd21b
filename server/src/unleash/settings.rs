//! Where the catch-up poller reads Unleash: HOOKLINE_UNLEASH_URL and HOOKLINE_UNLEASH_TOKEN when
//! set, otherwise what an admin stored on the Connect page (`db::catch_up`: the token sealed),
//! each setting on its own, so the URL may come from the environment and the token from the page.
//! Read at every poll, so a change on the page needs no restart.

use app::model::SettingSource;

use crate::config::Config;
use crate::db::catch_up::UnleashSettings;
use crate::db::Db;

/// The settings in force, and what the Connect page stored.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub url: Option<(url::Url, SettingSource)>,
    pub token: Option<(String, SettingSource)>,
    /// The Connect page's row, if any (shown there even where the environment wins).
    pub stored: Option<UnleashSettings>,
}

impl Resolved {
    /// The Unleash to poll and the token to send: set only when both are.
    pub fn catch_up(&self) -> Option<(&url::Url, &str)> {
        match (&self.url, &self.token) {
            (Some((url, _)), Some((token, _))) => Some((url, token)),
            _ => None,
        }
    }
}

/// The environment's settings over `stored`'s.
pub fn resolve_with(config: &Config, stored: Option<UnleashSettings>) -> Resolved {
    let env_token = config.unleash_token.as_deref().map(str::trim).filter(|token| !token.is_empty());
    let url = match &config.unleash_url {
        Some(url) => Some((url.clone(), SettingSource::Environment)),
        None => stored.as_ref().and_then(|s| s.url.as_deref()).and_then(|text| match url::Url::parse(text) {
            Ok(url) => Some((url, SettingSource::ConnectPage)),
            Err(error) => {
                tracing::warn!(%error, url = text, "the Unleash URL stored on the Connect page is not a URL");
                None
            }
        }),
    };
    let token = match env_token {
        Some(token) => Some((token.to_owned(), SettingSource::Environment)),
        None => stored
            .as_ref()
            .and_then(|s| s.token.as_deref())
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .map(|token| (token.to_owned(), SettingSource::ConnectPage)),
    };
    Resolved { url, token, stored }
}

/// The settings in force now (one row read).
pub async fn resolve(config: &Config, db: &Db) -> Result<Resolved, sqlx::Error> {
    Ok(resolve_with(config, db.unleash_settings().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(url: Option<&str>, token: Option<&str>) -> Option<UnleashSettings> {
        Some(UnleashSettings {
            url: url.map(str::to_owned),
            token: token.map(str::to_owned),
            updated_by: "admin@example.com".into(),
            updated_at: 0,
        })
    }

    #[test]
    fn the_environment_wins_each_setting_on_its_own() {
        let mut config = Config::defaults();
        let page = || stored(Some("http://page.example:4242"), Some("page-token"));

        let resolved = resolve_with(&config, page());
        assert_eq!(
            resolved.catch_up().map(|(u, t)| (u.as_str(), t)),
            Some(("http://page.example:4242/", "page-token"))
        );
        assert_eq!(resolved.url.as_ref().map(|u| u.1), Some(SettingSource::ConnectPage));

        config.unleash_url = Some("http://env.example".parse().expect("url"));
        let resolved = resolve_with(&config, page());
        assert_eq!(resolved.catch_up().map(|(u, t)| (u.as_str(), t)), Some(("http://env.example/", "page-token")));
        assert_eq!(resolved.token.as_ref().map(|t| t.1), Some(SettingSource::ConnectPage));

        config.unleash_token = Some(" env-token ".into());
        let resolved = resolve_with(&config, page());
        assert_eq!(resolved.catch_up().map(|(_, t)| t), Some("env-token"));
        assert_eq!(resolved.token.as_ref().map(|t| t.1), Some(SettingSource::Environment));
    }

    #[test]
    fn both_are_needed() {
        let config = Config::defaults();
        assert!(resolve_with(&config, None).catch_up().is_none());
        assert!(resolve_with(&config, stored(Some("http://u.example"), None)).catch_up().is_none());
        assert!(resolve_with(&config, stored(None, Some("t"))).catch_up().is_none());
        let mut env_token_only = Config::defaults();
        env_token_only.unleash_token = Some("t".into());
        assert!(resolve_with(&env_token_only, None).catch_up().is_none());
        assert!(resolve_with(&env_token_only, stored(Some("http://u.example"), None)).catch_up().is_some());
    }
}
