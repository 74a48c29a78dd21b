//! The `hookline` binary: parse the command line, set up logging, hand the embedded site to the
//! server, run.

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The site build.rs embedded (empty when built without `HOOKLINE_SITE_DIR`).
mod site {
    use hookline_server::assets::EmbeddedFile;
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hookline_server::assets::embed(&site::FILES);
    let cli = hookline_server::config::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_target(false)
        // Logs go to stderr, so command output on stdout (a new token) stays clean for scripts.
        .with_writer(std::io::stderr)
        .init();
    hookline_server::cli::execute(cli).await
}
