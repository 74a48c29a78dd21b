//! The `hookline` command line: `serve` (default), `migrate`, `token create|list|revoke`,
//! `keys rotate|generate`, `copy` and `openapi`. Token and key changes are recorded in the audit log as the actor `cli`.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{Cli, Command, KeysCommand, TokenCommand};

/// Runs the chosen command.
pub async fn execute(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener =
                TcpListener::bind(config.addr).await.with_context(|| format!("cannot listen on {}", config.addr))?;
            crate::run(config, listener).await
        }
        Command::Migrate => {
            let keys = crate::keys::KeySource::from_config(&config);
            let db =
                crate::db::Db::open_with(&config.database_url, &config.db_options(), &keys, crate::db::Access::Shared)
                    .await?;
            db.close().await;
            println!("database is up to date: {}", config.database_url);
            Ok(())
        }
        Command::Keys(KeysCommand::Generate) => {
            let (key, text) = crate::crypto::EncryptionKey::generate();
            eprintln!("A new encryption key (id {}). Store it safely; it is not kept anywhere:", key.id());
            println!("{text}");
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { new_key }) => {
            let rotation = crate::keys::rotate(&config, new_key.as_deref()).await?;
            println!("Re-encrypted {} secrets: key {} replaces key {}.", rotation.values, rotation.new, rotation.old);
            for place in &rotation.unreadable {
                println!("Left as it was (it did not decrypt with the old key either): {place}");
            }
            match &rotation.key_file {
                Some(path) => println!(
                    "The new key is in {}: back it up now. Backups of the database made before this need the old key.",
                    path.display()
                ),
                None => println!(
                    "Start Hookline with HOOKLINE_ENCRYPTION_KEY set to the new key (the HOOKLINE_NEW_ENCRYPTION_KEY you \
                     gave): the database now needs key {}. Backups made before this need the old key.",
                    rotation.new
                ),
            }
            Ok(())
        }
        Command::Copy { from, to, from_key } => {
            use crate::db::{Access, Backend, Db};
            anyhow::ensure!(Backend::of_url(&from) == Backend::Sqlite, "--from must be a sqlite:// URL");
            anyhow::ensure!(Backend::of_url(&to) == Backend::Postgres, "--to must be a postgres:// URL");
            let options = config.db_options();
            let source_keys = crate::keys::KeySource::for_database(&from, from_key.as_deref());
            let source = Db::open_with(&from, &options, &source_keys, Access::Shared).await?;
            let target_keys = crate::keys::KeySource::for_database(&to, config.encryption_key.as_deref());
            let target = Db::open_with(&to, &options, &target_keys, Access::Shared).await?;
            let (Some(sqlite), Some(postgres)) = (source.sqlite(), target.postgres()) else {
                anyhow::bail!("copy goes from SQLite to PostgreSQL");
            };
            let copied = crate::db::copy::copy(sqlite, postgres).await;
            source.close().await;
            target.close().await;
            for (table, rows) in copied?.tables {
                println!("{table}: {rows} rows");
            }
            println!("Copied. Start Hookline with HOOKLINE_DATABASE_URL set to the PostgreSQL URL and the same HOOKLINE_ENCRYPTION_KEY.");
            Ok(())
        }
        Command::Openapi => {
            print!("{}", crate::routes::openapi::document_json());
            Ok(())
        }
        Command::Token(command) => {
            let state = crate::build_state(config).await?;
            let result = token_command(&state, command).await;
            state.db.close().await;
            result
        }
    }
}

async fn token_command(state: &crate::AppState, command: TokenCommand) -> anyhow::Result<()> {
    use app::api::AccountService;
    match command {
        TokenCommand::Create { name, scopes } => {
            let created = state
                .issue_token(&app::model::Actor::cli(), &name, scopes)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "Created API token {} (id {}, scopes {}). It is shown only this once:",
                created.info.name,
                created.info.id,
                hookline_core::scope::format_list(&created.info.scopes)
            );
            println!("{}", created.token);
        }
        TokenCommand::List => {
            for token in state.list_tokens().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!(
                    "{}\t{}\t{}…\t{}\tcreated {} by {}\tlast used {}",
                    token.id,
                    token.name,
                    token.prefix,
                    hookline_core::scope::format_list(&token.scopes),
                    token.created_at,
                    token.created_by,
                    token.last_used_at.as_deref().unwrap_or("never")
                );
            }
        }
        TokenCommand::Revoke { id } => {
            state.revoke_token(&app::model::Actor::cli(), id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}
