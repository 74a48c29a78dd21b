//! The one HTTP client every delivery goes through: rustls with the system roots plus the
//! operator's extra CA certificates, connection reuse, no redirects, no proxies (a proxy would
//! resolve names itself and sidestep the SSRF guard), and the guarded DNS resolver.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::ssrf::{GuardedResolver, TargetPolicy};

/// Reads every PEM certificate in `path` (one file, several certificates allowed).
pub fn load_extra_roots(path: &Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let pem =
        std::fs::read(path).with_context(|| format!("HOOKLINE_EXTRA_CA_CERTS: cannot read {}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .with_context(|| format!("HOOKLINE_EXTRA_CA_CERTS: {} holds no valid PEM certificate", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "HOOKLINE_EXTRA_CA_CERTS: {} holds no certificate", path.display());
    Ok(certs)
}

/// Builds the delivery client.
pub fn build_client(
    policy: Arc<TargetPolicy>,
    extra_roots: Vec<reqwest::Certificate>,
    connect_timeout: Duration,
    idle_per_host: usize,
) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("Hookline/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(connect_timeout)
        .pool_max_idle_per_host(idle_per_host)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .dns_resolver(Arc::new(GuardedResolver { policy }));
    for root in extra_roots {
        builder = builder.add_root_certificate(root);
    }
    builder.build().context("cannot build the HTTP client")
}
