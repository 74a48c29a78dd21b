//! The `hookline` binary: parse the command line, set up logging, run.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = hookline_server::config::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_target(false)
        // Logs go to stderr, so command output on stdout (a new token) stays clean for scripts.
        .with_writer(std::io::stderr)
        .init();
    hookline_server::cli::execute(cli).await
}
