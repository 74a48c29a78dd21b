//! Every setting Hookline reads, with its default, in one place: command-line flags that can also
//! come from `HOOKLINE_*` environment variables (`hookline serve --help` prints this table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Hookline: self-hosted webhook integrations for Unleash-style events.
#[derive(Debug, Parser)]
#[command(name = "hookline", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Settings for `serve` (the default command).
    #[command(flatten)]
    pub config: Config,
}

impl Cli {
    /// Parses `args` as `hookline` does, but with `env` as its whole environment: the process's
    /// `HOOKLINE_*` variables are not read. Tests parse settings this way, so none of them changes
    /// (or depends on) the environment every other test shares. `hookline` itself uses
    /// `Cli::parse`, which reads the real environment the same way (a variable counts when its
    /// flag is absent from the command line, and is worth more than the default).
    pub fn try_parse_with_env<I, T>(args: I, env: &[(&str, &str)]) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let env: std::collections::HashMap<&str, &str> = env.iter().copied().collect();
        let matches = with_env(Cli::command(), &env).try_get_matches_from(args)?;
        Cli::from_arg_matches(&matches)
    }
}

/// `command` with every argument's variable looked up in `env` instead of the process
/// environment: a value found there becomes the argument's default, which is where clap ranks a
/// variable (below the command line). Subcommands too.
fn with_env(command: clap::Command, env: &std::collections::HashMap<&str, &str>) -> clap::Command {
    let subcommands: Vec<String> = command.get_subcommands().map(|c| c.get_name().to_owned()).collect();
    let command = command.mut_args(|arg| {
        let Some(name) = arg.get_env().and_then(|name| name.to_str()).map(str::to_owned) else { return arg };
        // Dropping the variable also drops the value clap read from the process when the
        // argument was built.
        let arg = arg.env(clap::builder::Resettable::<clap::builder::OsStr>::Reset);
        match env.get(name.as_str()) {
            // clap keeps defaults as `&'static str`: a test's few values are leaked.
            Some(value) => arg.default_value(&*Box::leak(value.to_string().into_boxed_str())),
            None => arg,
        }
    });
    subcommands.iter().fold(command, |command, name| command.mut_subcommand(name, |sub| with_env(sub, env)))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the dispatcher (the default when no command is given).
    Serve,
    /// Manage API tokens for scripts and automation.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the key that encrypts secrets in the database.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI 3.1 document of the JSON API (what GET /api/openapi.json serves) and exit.
    Openapi,
    /// Copy an installation's data from SQLite to PostgreSQL: admins, API tokens, webhooks (secrets
    /// re-encrypted with HOOKLINE_ENCRYPTION_KEY), events, deliveries, attempts and the audit log,
    /// ids kept. The target must be empty; the source is read as one snapshot (stop the SQLite
    /// server first, or what it accepts afterwards is not copied). Sessions are not copied.
    Copy {
        /// The SQLite database, e.g. sqlite://data/hookline.db. Its key is the `encryption.key`
        /// beside it, or HOOKLINE_FROM_ENCRYPTION_KEY.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database, e.g. postgres://hookline@db.internal/hookline. Its key is
        /// HOOKLINE_ENCRYPTION_KEY, which every instance serving it must then use.
        #[arg(long)]
        to: String,
        /// The source's key, when it was given by setting rather than kept in a key file.
        #[arg(long, env = "HOOKLINE_FROM_ENCRYPTION_KEY", hide_env_values = true)]
        from_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt every secret under a new key, in one transaction. Stop Hookline first (it is
    /// refused while a server runs on the database). With the key file, the new key replaces
    /// `encryption.key` once everything is re-encrypted; back it up. With HOOKLINE_ENCRYPTION_KEY,
    /// make a key with `hookline keys generate`, store it, pass it as HOOKLINE_NEW_ENCRYPTION_KEY,
    /// then start Hookline with HOOKLINE_ENCRYPTION_KEY set to it.
    Rotate {
        /// The new key (32 bytes as 64 hex digits or base64), instead of a generated one. Needed
        /// when HOOKLINE_ENCRYPTION_KEY is set. Prefer the variable: a flag shows in process lists.
        #[arg(long, env = "HOOKLINE_NEW_ENCRYPTION_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
    /// Print a new random key (base64 of 32 bytes) for HOOKLINE_ENCRYPTION_KEY or
    /// HOOKLINE_NEW_ENCRYPTION_KEY. Nothing is stored.
    Generate,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it once. Store it safely: it cannot be shown again.
    Create {
        /// A name that says who or what uses the token, e.g. "unleash-prod".
        #[arg(long)]
        name: String,
        /// What the token may do; repeat for several. `events`: POST /api/events only (what
        /// Unleash needs); `read`: GET on the admin API and /metrics, never a secret; `admin`:
        /// everything.
        #[arg(long = "scope", value_name = "SCOPE", default_value = "events", value_parser = parse_scope)]
        scopes: Vec<hookline_core::scope::Scope>,
    },
    /// List API tokens (names and prefixes, never the secret).
    List,
    /// Revoke an API token by its id.
    Revoke {
        /// The token's id, as `hookline token list` shows it.
        id: i64,
    },
}

/// Server settings. Each flag can also be set through the environment variable named in `--help`.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "HOOKLINE_ADDR", default_value = "127.0.0.1:3000", global = true)]
    pub addr: SocketAddr,

    /// SQLite database URL; the file (and its folder) is created when missing.
    #[arg(long, env = "HOOKLINE_DATABASE_URL", default_value = "sqlite://data/hookline.db", global = true)]
    pub database_url: String,

    /// Key that signs session cookies (at least 32 characters). When absent, one is generated and kept
    /// in `secret.key` next to the database, so sessions survive restarts.
    #[arg(long, env = "HOOKLINE_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,

    /// Key that encrypts the secrets stored in the database (Authorization and header values, signing
    /// secrets, sessions): 32 bytes as 64 hex digits or as base64 (e.g. `hookline keys generate`).
    /// When absent, one is generated and kept in `encryption.key` next to the database. Back it up
    /// apart from the database: without it the secrets cannot be read.
    #[arg(long, env = "HOOKLINE_ENCRYPTION_KEY", hide_env_values = true, global = true)]
    pub encryption_key: Option<String>,

    /// Email of an admin to create at start-up when no admin exists yet (with HOOKLINE_ADMIN_PASSWORD).
    #[arg(long, env = "HOOKLINE_ADMIN_EMAIL", global = true)]
    pub admin_email: Option<String>,

    /// Password for HOOKLINE_ADMIN_EMAIL (at least 12 characters).
    #[arg(long, env = "HOOKLINE_ADMIN_PASSWORD", hide_env_values = true, global = true)]
    pub admin_password: Option<String>,

    /// The URL users reach Hookline at. Session cookies get the `Secure` flag when it is https, and
    /// cross-origin checks accept it as an origin (useful behind a TLS proxy).
    #[arg(long, env = "HOOKLINE_PUBLIC_URL", global = true)]
    pub public_url: Option<url::Url>,

    /// Reverse proxies in front of Hookline whose `X-Forwarded-For` header is believed:
    /// comma-separated CIDRs or addresses, e.g. `127.0.0.1/32,10.0.0.0/8`. Only a request whose
    /// connection comes from one of them is attributed to the right-most address in that header
    /// that is not itself a trusted proxy (for the sign-in throttle and logs); any other request
    /// to the connection's own address. Empty (the default): the header is ignored.
    #[arg(long, env = "HOOKLINE_TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,

    /// Sessions expire after this long without activity (e.g. `12h`, `30m`, `90s`).
    #[arg(long, env = "HOOKLINE_SESSION_IDLE", default_value = "12h", value_parser = parse_duration, global = true)]
    pub session_idle: Duration,

    /// Sessions end this long after sign-in however active they are (e.g. `7d`, `24h`), so a
    /// session cookie that leaked stops working by then at the latest.
    #[arg(long, env = "HOOKLINE_SESSION_MAX", default_value = "7d", value_parser = parse_duration, global = true)]
    pub session_max: Duration,

    /// Argon2 hashes or verifications running at once; by default one per core. Not a setting:
    /// tests lower it (0: every slot is always busy) to see what callers get then.
    #[arg(skip)]
    pub password_hash_limit: Option<usize>,

    /// How long a sign-in (or password change) may wait for a free hashing slot before it gets
    /// 429. Not a setting: tests change it.
    #[arg(skip = crate::auth::password::DEFAULT_WAIT)]
    pub password_hash_wait: Duration,

    /// The clock the intake, the dispatcher, retention and auto-disable decide by. Not a setting:
    /// always the system clock, except in tests, which move a manual one instead of sleeping.
    #[arg(skip = crate::time::system_clock())]
    pub clock: crate::time::SharedClock,

    /// Folder to serve the site (JS, WASM, CSS) from instead of the copy built into the binary,
    /// e.g. `target/site` while working on the UI. A binary built without the site uses
    /// `target/site` when this is unset.
    #[arg(long, env = "HOOKLINE_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,

    /// SQLite `synchronous` mode: `normal` (durable across process crashes; the default with WAL) or
    /// `full` (also durable across power loss, slower commits).
    #[arg(long, env = "HOOKLINE_SQLITE_SYNCHRONOUS", default_value = "normal", value_parser = ["normal", "full"], global = true)]
    pub sqlite_synchronous: String,

    /// PostgreSQL: connections each instance keeps open.
    #[arg(long, env = "HOOKLINE_PG_POOL_SIZE", default_value_t = 10, global = true)]
    pub pg_pool_size: u32,

    /// PostgreSQL: the longest a statement may run before the server cancels it (`0s`: no limit).
    #[arg(long, env = "HOOKLINE_PG_STATEMENT_TIMEOUT", default_value = "30s", value_parser = parse_duration, global = true)]
    pub pg_statement_timeout: Duration,

    /// PostgreSQL: wake other instances with LISTEN/NOTIFY when deliveries are queued (`on`), or
    /// rely on polling alone (`off`, needed behind PgBouncer in transaction mode; up to a second
    /// slower to start a delivery queued on another instance).
    #[arg(long, env = "HOOKLINE_PG_NOTIFY", default_value = "on", value_parser = ["on", "off"], global = true)]
    pub pg_notify: String,

    /// Targets webhooks may reach although the SSRF guard blocks them: comma-separated CIDRs, IP
    /// addresses or host names, e.g. `127.0.0.1/32,10.20.0.0/16,receiver.internal`. By default
    /// private, loopback, link-local and other reserved addresses are refused.
    #[arg(long, env = "HOOKLINE_ALLOWED_TARGETS", default_value = "", global = true)]
    pub allowed_targets: String,

    /// A PEM file with one or more CA certificates to trust for HTTPS webhooks, on top of the
    /// system's roots (like Unleash's NODE_EXTRA_CA_CERTS).
    #[arg(long, env = "HOOKLINE_EXTRA_CA_CERTS", global = true)]
    pub extra_ca_certs: Option<PathBuf>,

    /// Delays before each attempt of the standard retry policy (the first is the first attempt).
    #[arg(long, env = "HOOKLINE_RETRY_SCHEDULE", default_value = crate::dispatcher::retry::STANDARD_SCHEDULE, global = true)]
    pub retry_schedule: String,

    /// The shortest wait before retrying after a 429 or a timeout (the receiver is overloaded).
    #[arg(long, env = "HOOKLINE_RETRY_THROTTLE_MIN", default_value = "60s", value_parser = parse_duration, global = true)]
    pub retry_throttle_min: Duration,

    /// How long one delivery request may take, response included.
    #[arg(long, env = "HOOKLINE_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub request_timeout: Duration,

    /// How long connecting (TCP and TLS) may take.
    #[arg(long, env = "HOOKLINE_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration, global = true)]
    pub connect_timeout: Duration,

    /// Delivery requests in flight at once, across all webhooks.
    #[arg(long, env = "HOOKLINE_CONCURRENCY", default_value_t = 128, global = true)]
    pub concurrency: usize,

    /// Delivery requests in flight at once to one webhook.
    #[arg(long, env = "HOOKLINE_WEBHOOK_CONCURRENCY", default_value_t = 32, global = true)]
    pub webhook_concurrency: usize,

    /// How long a claimed delivery stays reserved; after a crash it is due again once this passes.
    /// Must exceed the request timeout.
    #[arg(long, env = "HOOKLINE_LEASE", default_value = "60s", value_parser = parse_duration, global = true)]
    pub lease: Duration,

    /// On shutdown, how long in-flight deliveries may take to finish before they are released.
    #[arg(long, env = "HOOKLINE_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration, global = true)]
    pub shutdown_grace: Duration,

    /// A webhook whose deliveries all fail for this long, with no success in between, is disabled.
    #[arg(long, env = "HOOKLINE_AUTO_DISABLE_AFTER", default_value = "3d", value_parser = parse_duration, global = true)]
    pub auto_disable_after: Duration,

    /// Circuit breaker: after this many failed attempts in a row, a webhook is paused for the
    /// cool-down (its deliveries wait, keeping their retries), then one attempt is let through.
    /// 0 turns the breaker off.
    #[arg(long, env = "HOOKLINE_BREAKER_FAILURES", default_value_t = 5, global = true)]
    pub breaker_failures: u32,

    /// Circuit breaker: how long a paused webhook waits before one attempt is let through again.
    #[arg(long, env = "HOOKLINE_BREAKER_COOLDOWN", default_value = "60s", value_parser = parse_duration, global = true)]
    pub breaker_cooldown: Duration,

    /// After a signing-secret rotation, how long the previous secret keeps signing too.
    #[arg(long, env = "HOOKLINE_SECRET_ROTATION_GRACE", default_value = "24h", value_parser = parse_duration, global = true)]
    pub secret_rotation_grace: Duration,

    /// Deliveries (and their attempts) older than this are deleted; the newest per webhook stays.
    #[arg(long, env = "HOOKLINE_RETENTION", default_value = "30d", value_parser = parse_duration, global = true)]
    pub retention: Duration,

    /// At most this many deliveries are kept per webhook (the newest).
    #[arg(long, env = "HOOKLINE_RETENTION_PER_WEBHOOK", default_value_t = 10_000, global = true)]
    pub retention_per_webhook: i64,

    /// Audit log entries older than this are deleted by the retention job. Audit logs are kept
    /// longer than the delivery log: they answer "who changed this, and when" months later.
    #[arg(long, env = "HOOKLINE_AUDIT_RETENTION", default_value = "365d", value_parser = parse_duration, global = true)]
    pub audit_retention: Duration,

    /// How often the retention job runs.
    #[arg(long, env = "HOOKLINE_PRUNE_INTERVAL", default_value = "10m", value_parser = parse_duration, global = true)]
    pub prune_interval: Duration,

    /// The most live-update streams (the pages' Server-Sent Events) open at once on this instance;
    /// past it, pages refresh by polling.
    #[arg(long, env = "HOOKLINE_LIVE_STREAMS", default_value_t = 1000, global = true)]
    pub live_streams: usize,

    /// The most live-update streams one admin (or API token) may hold open at once.
    #[arg(long, env = "HOOKLINE_LIVE_STREAMS_PER_CALLER", default_value_t = 50, global = true)]
    pub live_streams_per_caller: usize,

    /// Base URL of your Unleash server (e.g. https://unleash.example.com, the address of its UI
    /// and API): eventMarkdown then links flags and projects, and with HOOKLINE_UNLEASH_TOKEN the
    /// catch-up poller fetches the events the webhook did not bring from its event API.
    #[arg(long, env = "HOOKLINE_UNLEASH_URL", global = true)]
    pub unleash_url: Option<url::Url>,

    /// An Unleash admin API token or an admin's personal access token, sent as the
    /// `Authorization` header value exactly as given. With HOOKLINE_UNLEASH_URL it turns on the
    /// catch-up poller; without it, nothing is polled.
    #[arg(long, env = "HOOKLINE_UNLEASH_TOKEN", hide_env_values = true, global = true)]
    pub unleash_token: Option<String>,

    /// How often the catch-up poller asks Unleash for events newer than the last it took in
    /// (e.g. `30s`, `5m`). After failures it waits longer, up to ten times this.
    #[arg(long, env = "HOOKLINE_UNLEASH_POLL", default_value = "30s", value_parser = parse_duration, global = true)]
    pub unleash_poll: Duration,
}

impl Config {
    /// The settings with every default, as if no flag or variable were given (whatever the
    /// process environment holds). For tests.
    /// The storage settings `Db::open_with` takes.
    pub fn db_options(&self) -> crate::db::OpenOptions {
        crate::db::OpenOptions {
            sqlite_synchronous: self.sqlite_synchronous.clone(),
            pg_pool_size: self.pg_pool_size,
            pg_statement_timeout: self.pg_statement_timeout,
            pg_notify: self.pg_notify == "on",
            webhook_concurrency: self.webhook_concurrency,
            extra_ca_certs: self.extra_ca_certs.clone(),
        }
    }

    pub fn defaults() -> Config {
        // Parsing an empty command line only fails if a default is malformed, which tests catch.
        Cli::try_parse_with_env(["hookline"], &[]).map(|cli| cli.config).unwrap_or_else(|e| panic!("defaults: {e}"))
    }

    /// Where and how the catch-up poller reaches Unleash: set only when both the URL and the
    /// token are.
    pub fn unleash_catch_up(&self) -> Option<(&url::Url, &str)> {
        match (&self.unleash_url, self.unleash_token.as_deref().map(str::trim)) {
            (Some(url), Some(token)) if !token.is_empty() => Some((url, token)),
            _ => None,
        }
    }

    /// Whether the public URL is https, so cookies must be `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_ref().is_some_and(|u| u.scheme() == "https")
    }
}

fn parse_scope(text: &str) -> Result<hookline_core::scope::Scope, String> {
    hookline_core::scope::Scope::parse(text)
        .ok_or_else(|| format!("`{text}` is not a scope: use events, read or admin"))
}

pub use crate::time::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let cli = Cli::try_parse_with_env(["hookline"], &[]).expect("parse");
        assert!(cli.command.is_none(), "serve is the default command");
        let config = cli.config;
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://data/hookline.db");
        assert_eq!(config.session_idle, Duration::from_secs(12 * 3600));
        assert_eq!(config.session_max, Duration::from_secs(7 * 86400));
        assert_eq!(config.site_root, None);
        assert!(!config.secure_cookies());
        assert_eq!(config.retry_schedule, "0s,5s,5m,30m,2h,5h,10h,10h");
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.audit_retention, Duration::from_secs(365 * 86400));
        assert_eq!(config.auto_disable_after, Duration::from_secs(3 * 86400));
        assert_eq!(config.breaker_failures, 5);
        assert_eq!(config.breaker_cooldown, Duration::from_secs(60));
        assert_eq!(config.allowed_targets, "");
        assert_eq!(config.trusted_proxies, "", "no proxy is trusted unless named");
        assert!(config.extra_ca_certs.is_none());
        assert_eq!(config.unleash_poll, Duration::from_secs(30));
        assert_eq!((config.live_streams, config.live_streams_per_caller), (1000, 50));
        assert!(config.unleash_url.is_none() && config.unleash_token.is_none(), "catch-up is off by default");
    }

    #[test]
    fn flags_and_environment_override_defaults() {
        let env = [
            ("HOOKLINE_ADDR", "0.0.0.0:8080"),
            ("HOOKLINE_PUBLIC_URL", "https://hooks.example.com"),
            ("HOOKLINE_RETENTION", "12h"),
            ("UNRELATED", "ignored"),
        ];
        let from_env = Cli::try_parse_with_env(["hookline"], &env).expect("parse").config;
        assert_eq!(from_env.addr.to_string(), "0.0.0.0:8080");
        assert!(from_env.secure_cookies());
        assert_eq!(from_env.retention, Duration::from_secs(12 * 3600), "parsed like the flag");
        assert_eq!(from_env.database_url, "sqlite://data/hookline.db", "the rest keep their defaults");

        // A flag beats its variable, before or after the subcommand (the settings are global).
        let flag_first = Cli::try_parse_with_env(["hookline", "--addr", "127.0.0.1:4000", "serve"], &env);
        let flag_after = Cli::try_parse_with_env(["hookline", "serve", "--addr", "127.0.0.1:4000"], &env);
        for cli in [flag_first, flag_after] {
            let config = cli.expect("parse").config;
            assert_eq!(config.addr.to_string(), "127.0.0.1:4000");
            assert!(config.secure_cookies(), "the other variable still counts");
        }

        // A subcommand's own variable.
        let rotate = Cli::try_parse_with_env(["hookline", "keys", "rotate"], &[("HOOKLINE_NEW_ENCRYPTION_KEY", "k")]);
        assert!(matches!(
            rotate.expect("parse").command,
            Some(Command::Keys(KeysCommand::Rotate { new_key: Some(key) })) if key == "k"
        ));

        // A malformed variable is refused like a malformed flag.
        let bad = Cli::try_parse_with_env(["hookline"], &[("HOOKLINE_ADDR", "not-an-address")]);
        assert!(bad.is_err());

        let from_flags = Cli::try_parse_with_env(
            [
                "hookline",
                "serve",
                "--addr",
                "127.0.0.1:4000",
                "--database-url",
                "sqlite:///tmp/x.db",
                "--session-idle",
                "30m",
                "--session-max",
                "36h",
            ],
            &[],
        )
        .expect("parse");
        assert!(matches!(from_flags.command, Some(Command::Serve)));
        assert_eq!(from_flags.config.addr.to_string(), "127.0.0.1:4000");
        assert_eq!(from_flags.config.database_url, "sqlite:///tmp/x.db");
        assert_eq!(from_flags.config.session_idle, Duration::from_secs(1800));
        assert_eq!(from_flags.config.session_max, Duration::from_secs(36 * 3600));

        let bad = Cli::try_parse_with_env(["hookline", "--addr", "not-an-address"], &[]);
        assert!(bad.is_err());
    }
}
