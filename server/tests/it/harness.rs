//! The test server and clients.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hookline_server::Config;
use reqwest::header::{ACCEPT, ORIGIN};
use reqwest::{Client, Response, StatusCode};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A running Hookline on a random local port, with its data in a temporary folder.
pub struct TestServer {
    pub base: String,
    pub data: DataDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The data folder: owned (deleted at the end) or borrowed from a previous server (restarts).
pub enum DataDir {
    Owned(TempDir),
    Path(PathBuf),
}

impl DataDir {
    pub fn path(&self) -> &Path {
        match self {
            DataDir::Owned(dir) => dir.path(),
            DataDir::Path(path) => path,
        }
    }
}

/// The admin URL of the throw-away PostgreSQL that `scripts/test.sh` starts, when the suite runs
/// against PostgreSQL; unset, it runs against SQLite.
pub const POSTGRES_SETTING: &str = "HOOKLINE_TEST_POSTGRES";

/// Whether this run of the suite uses PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var_os(POSTGRES_SETTING).is_some()
}

/// Points `config` at this run's backend for the data folder `dir`: SQLite's `hookline.db` in it,
/// or, on PostgreSQL, a database of its own (created on first use, its URL and encryption key
/// kept in the folder, so a restart on the same folder finds the same data).
pub async fn use_test_database(config: &mut Config, dir: &Path) {
    let Some(admin_url) = std::env::var_os(POSTGRES_SETTING) else {
        config.database_url = format!("sqlite://{}", dir.join("hookline.db").display());
        return;
    };
    let admin_url = admin_url.to_string_lossy().into_owned();
    let url_file = dir.join("postgres-url");
    let key_file = dir.join("postgres-key");
    if !url_file.exists() {
        use sqlx::Connection;
        let name = format!("t_{}", uuid_like());
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL");
        sqlx::query(&format!("create database {name}")).execute(&mut conn).await.expect("create database");
        let _ = conn.close().await;
        let (base, _) = admin_url.rsplit_once('/').expect("the URL names a database");
        std::fs::write(&url_file, format!("{base}/{name}")).expect("write URL");
        std::fs::write(&key_file, hookline_server::crypto::EncryptionKey::generate().1).expect("write key");
    }
    config.database_url = std::fs::read_to_string(&url_file).expect("read URL");
    config.encryption_key = Some(std::fs::read_to_string(&key_file).expect("read key"));
}

/// Names a file to write the servers' tracing to (`RUST_LOG` filters it, `debug` for our crates by
/// default). Each test runs its server on the test's own thread, and every line names its thread,
/// so when a test hangs, its lines say which request was left unanswered and where it stopped.
pub const TRACE_SETTING: &str = "HOOKLINE_TEST_LOG";

fn trace_to_file_if_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let Some(path) = std::env::var_os(TRACE_SETTING) else { return };
    ONCE.call_once(|| {
        use tracing_subscriber::fmt::format::FmtSpan;
        let file = std::fs::File::create(&path).expect("create the trace file");
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("hookline_server=debug,tower_http=debug,app=debug"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_thread_names(true)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.gen_range(0..36)])).collect()
}

/// How long any one request of a test may take before the test fails instead of waiting on. A
/// server that stops answering (a deadlock, a held lock) then fails its test with a message, where
/// an unbounded client would hang the whole suite until CI's own timeout says nothing useful.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(60);

/// A plain client whose every request fails after `REQUEST_LIMIT`.
pub fn client() -> Client {
    client_builder().build().expect("client")
}

fn client_builder() -> reqwest::ClientBuilder {
    Client::builder().timeout(REQUEST_LIMIT)
}

impl TestServer {
    /// A fresh server with no admin.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A fresh server; `adjust` may change the settings first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(DataDir::Owned(dir), adjust).await
    }

    /// A server on an existing data folder (e.g. after `stop`), to test restarts.
    pub async fn start_in(data: DataDir, adjust: impl FnOnce(&mut Config)) -> TestServer {
        trace_to_file_if_asked();
        let mut config = Config::defaults();
        use_test_database(&mut config, data.path()).await;
        adjust(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(hookline_server::run_until(config, listener, async {
            let _ = rx.await;
        }));
        let server = TestServer { base, data, shutdown: Some(tx), handle: Some(handle) };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let client = client();
        for _ in 0..200 {
            if let Ok(response) = client.get(self.url("/healthz")).send().await {
                if response.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the test server did not become ready");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server gracefully and hands back its data folder.
    pub async fn stop(mut self) -> DataDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            // Bounded like every request: a server that cannot stop (a task holding a database
            // connection, a stream never closed) fails the test that stops it.
            tokio::time::timeout(REQUEST_LIMIT, handle)
                .await
                .expect("the test server stops within REQUEST_LIMIT")
                .expect("server task")
                .expect("server result");
        }
        std::mem::replace(&mut self.data, DataDir::Path(PathBuf::new()))
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn browser(&self) -> Browser {
        Browser {
            client: client_builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            origin: self.base.clone(),
        }
    }

    /// A server with the first admin created, and a browser signed in as that admin.
    pub async fn start_signed_in() -> (TestServer, Browser) {
        Self::start_signed_in_with(|_| {}).await
    }

    /// `start_signed_in` with settings changed by `adjust` first.
    pub async fn start_signed_in_with(adjust: impl FnOnce(&mut Config)) -> (TestServer, Browser) {
        let server = TestServer::start_with(adjust).await;
        let browser = server.browser();
        browser
            .form(
                &server.url("/rpc/create_first_admin"),
                &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
                StatusCode::FOUND,
            )
            .await;
        (server, browser)
    }
}

/// A cookie-keeping client that posts forms the way a browser does without JavaScript.
pub struct Browser {
    pub client: Client,
    pub origin: String,
}

impl Browser {
    /// A same-origin HTML form post (Accept: text/html, Origin: the server), expecting `expected`.
    pub async fn form(&self, url: &str, fields: &[(&str, &str)], expected: StatusCode) -> Response {
        let response = self
            .client
            .post(url)
            .header(ORIGIN, &self.origin)
            .header(ACCEPT, "text/html")
            .header(reqwest::header::REFERER, format!("{}/", self.origin))
            .form(fields)
            .send()
            .await
            .expect("form post");
        expect_status("POST (form)", url, expected, response).await
    }

    /// A same-origin server-function call as the hydrated UI makes it (JSON answer, no redirect),
    /// expecting `expected`.
    pub async fn call(&self, url: &str, fields: &[(&str, &str)], expected: StatusCode) -> Response {
        let response = self.call_any(url, fields).await;
        expect_status("POST (call)", url, expected, response).await
    }

    /// `call` for the rare test where several statuses are right (races): the caller must assert
    /// the status itself.
    pub async fn call_any(&self, url: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(url)
            .header(ORIGIN, &self.origin)
            .header(ACCEPT, "application/json")
            .form(fields)
            .send()
            .await
            .expect("server function call")
    }

    pub async fn get(&self, url: &str, expected: StatusCode) -> Response {
        let response = self.client.get(url).send().await.expect("get");
        expect_status("GET", url, expected, response).await
    }

    pub async fn sign_in(&self, base: &str, email: &str, password: &str, expected: StatusCode) -> Response {
        self.form(&format!("{base}/rpc/login"), &[("email", email), ("password", password), ("next", "/")], expected)
            .await
    }
}

/// The `Location` header of a redirect.
pub fn location(response: &Response) -> String {
    response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// A script's view of the server: JSON over HTTP with an API token.
pub struct Api {
    pub client: Client,
    pub base: String,
    pub token: String,
}

impl Api {
    /// Creates an admin-scoped token through the UI's server function (as an admin would) and
    /// returns a client using it.
    pub async fn new(server: &TestServer, browser: &Browser) -> Api {
        Self::with_scopes(server, browser, &["admin"]).await
    }

    /// A client whose token holds `scopes` (none: the server's default, `events`).
    pub async fn with_scopes(server: &TestServer, browser: &Browser, scopes: &[&str]) -> Api {
        let mut fields = vec![("name", "tests")];
        fields.extend(scopes.iter().map(|scope| ("scopes[]", *scope)));
        let created = browser.call(&server.url("/rpc/create_token"), &fields, StatusCode::OK).await;
        let body: serde_json::Value = created.json().await.expect("json");
        let token = body["token"].as_str().expect("token").to_string();
        Api { client: client(), base: server.base.clone(), token }
    }

    /// Sends a request and asserts its status: every call says which status it expects, so no
    /// test can ignore one. Answers the body as JSON (`Null` when empty, a string when not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        expected: StatusCode,
    ) -> serde_json::Value {
        let url = format!("{}{}", self.base, path);
        let mut request = self.client.request(method.clone(), &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_status(method.as_str(), path, expected, status, &text);
        if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        }
    }

    pub async fn get(&self, path: &str, expected: StatusCode) -> serde_json::Value {
        self.send(reqwest::Method::GET, path, None, expected).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value, expected: StatusCode) -> serde_json::Value {
        self.send(reqwest::Method::POST, path, Some(body), expected).await
    }

    pub async fn put(&self, path: &str, body: &serde_json::Value, expected: StatusCode) -> serde_json::Value {
        self.send(reqwest::Method::PUT, path, Some(body), expected).await
    }

    pub async fn delete(&self, path: &str, expected: StatusCode) -> serde_json::Value {
        self.send(reqwest::Method::DELETE, path, None, expected).await
    }

    /// `send` for the rare request where several statuses are right (a race with the machine's
    /// speed): answers the status for the caller to check against the ones it accepts.
    pub async fn send_any(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request =
            self.client.request(method.clone(), format!("{}{}", self.base, path)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// Creates a webhook and returns its id (asserting 201).
    pub async fn create_webhook(&self, body: serde_json::Value) -> i64 {
        let created = self.post("/api/admin/webhooks", &body, StatusCode::CREATED).await;
        created["id"].as_i64().expect("id")
    }

    /// Posts events to the intake.
    pub async fn publish(&self, body: serde_json::Value, expected: StatusCode) -> serde_json::Value {
        self.post("/api/events", &body, expected).await
    }

    /// Posts a body to the intake exactly as given (as Unleash's addon would: its own bytes).
    pub async fn publish_text(&self, body: &str, expected: StatusCode) -> serde_json::Value {
        let response = self
            .client
            .post(format!("{}/api/events", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_status("POST", "/api/events", expected, status, &text);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST /api/events: not JSON ({e}): {text}"))
    }
}

/// Fails the test unless `actual` is `expected`, saying which request it was and what came back.
pub fn assert_status(method: &str, path: &str, expected: StatusCode, actual: StatusCode, body: &str) {
    assert!(
        actual == expected,
        "{method} {path}: expected {expected}, got {actual}; the body was: {}",
        if body.is_empty() { "(empty)" } else { body }
    );
}

/// Checks a response's status like `assert_status`, reading the body only to explain a failure.
pub async fn expect_status(method: &str, url: &str, expected: StatusCode, response: Response) -> Response {
    let actual = response.status();
    if actual == expected {
        return response;
    }
    let location = location(&response);
    let body = response.text().await.unwrap_or_else(|e| format!("(unreadable: {e})"));
    let body = if location.is_empty() { body } else { format!("{body} (Location: {location})") };
    assert_status(method, url, expected, actual, &body);
    unreachable!("assert_status fails when the statuses differ")
}

/// Settings for delivery tests: the local receiver allowed, retries compressed to milliseconds.
pub fn fast_delivery(config: &mut Config) {
    config.allowed_targets = "127.0.0.1/32".into();
    config.retry_schedule = "0s,50ms,100ms,150ms,200ms,250ms,300ms,350ms".into();
    config.retry_throttle_min = Duration::from_millis(300);
    config.request_timeout = Duration::from_secs(2);
    config.lease = Duration::from_secs(5);
}

impl TestServer {
    /// A server for delivery tests (see `fast_delivery`), signed in, with an API client.
    pub async fn start_for_delivery(adjust: impl FnOnce(&mut Config)) -> (TestServer, Api) {
        let server = TestServer::start_with(|config| {
            fast_delivery(config);
            adjust(config);
        })
        .await;
        let browser = server.browser();
        browser
            .form(
                &server.url("/rpc/create_first_admin"),
                &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
                StatusCode::FOUND,
            )
            .await;
        let api = Api::new(&server, &browser).await;
        (server, api)
    }
}

impl Browser {
    /// The value of a counter or gauge on `/metrics` (read with this browser's session).
    pub async fn metric(&self, server: &TestServer, name: &str) -> f64 {
        let response = self.get(&server.url("/metrics"), StatusCode::OK).await;
        let text = without_instance_label(&response.text().await.expect("metrics"));
        text.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} on /metrics"))
    }
}

/// Settings pointing at the test database in `dir` (as `TestServer::start_in` uses it), for
/// calling jobs and commands directly on a server's data.
pub async fn config_in(dir: &Path) -> Config {
    let mut config = Config::defaults();
    use_test_database(&mut config, dir).await;
    config
}

/// A direct connection to a test server's database (its SQLite file, or its PostgreSQL
/// database), to see what is stored rather than what the server says.
pub enum RawDb {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl RawDb {
    pub async fn open(dir: &Path) -> RawDb {
        use sqlx::Connection;
        match std::fs::read_to_string(dir.join("postgres-url")) {
            Ok(url) => RawDb::Postgres(sqlx::PgConnection::connect(&url).await.expect("connect to the test database")),
            Err(_) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("hookline.db"));
                RawDb::Sqlite(sqlx::SqliteConnection::connect_with(&options).await.expect("open the database file"))
            }
        }
    }

    /// Every column of every row of `table` as one text, for "this secret is not stored" checks.
    pub async fn rows_text(&mut self, table: &str) -> Vec<String> {
        match self {
            RawDb::Sqlite(conn) => {
                let columns: Vec<String> =
                    sqlx::query_scalar(&format!("select name from pragma_table_info('{table}')"))
                        .fetch_all(&mut *conn)
                        .await
                        .expect("columns");
                assert!(!columns.is_empty(), "no table {table}");
                let joined: Vec<String> = columns.iter().map(|c| format!("coalesce(cast({c} as text), '')")).collect();
                let select = format!("select {} from {table} order by 1", joined.join(" || char(31) || "));
                sqlx::query_scalar(&select).fetch_all(&mut *conn).await.expect("rows")
            }
            RawDb::Postgres(conn) => sqlx::query_scalar(&format!("select t::text from \"{table}\" t order by 1"))
                .fetch_all(&mut *conn)
                .await
                .expect("rows"),
        }
    }

    /// A number the query (placeholders `$1`...) answers, with `value` bound to `$1`.
    pub async fn count(&mut self, sql: &str, value: i64) -> i64 {
        match self {
            // SQLite spells numbered placeholders `?1`.
            RawDb::Sqlite(conn) => {
                sqlx::query_scalar(&sql.replace('$', "?")).bind(value).fetch_one(&mut *conn).await.expect("query")
            }
            RawDb::Postgres(conn) => sqlx::query_scalar(sql).bind(value).fetch_one(&mut *conn).await.expect("query"),
        }
    }

    /// Runs `sql` (one or more statements, no results), e.g. to install a fault for a test.
    pub async fn run(&mut self, sql: &str) {
        match self {
            RawDb::Sqlite(conn) => sqlx::raw_sql(sql).execute(&mut *conn).await.map(drop),
            RawDb::Postgres(conn) => sqlx::raw_sql(sql).execute(&mut *conn).await.map(drop),
        }
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    pub async fn close(self) {
        use sqlx::Connection;
        let _ = match self {
            RawDb::Sqlite(conn) => conn.close().await,
            RawDb::Postgres(conn) => conn.close().await,
        };
    }
}

/// `/metrics` text without the `hookline_instance` label that PostgreSQL instances add to every
/// series, so assertions read the same on both backends.
pub fn without_instance_label(text: &str) -> String {
    text.lines()
        .map(|line| {
            let Some(start) = line.find("hookline_instance=\"") else { return line.to_string() };
            let value_start = start + "hookline_instance=\"".len();
            let end = value_start + line[value_start..].find('"').expect("closing quote") + 1;
            let mut out = format!("{}{}", &line[..start], &line[end..]);
            for (from, to) in [("{,", "{"), (",}", "}"), (",,", ","), ("{}", "")] {
                out = out.replace(from, to);
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}
