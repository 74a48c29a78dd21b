//! Secrets at rest: what a copy of the database file reveals (nothing), what a wrong key does
//! (stops the start, names the setting), a database from before encryption (encrypted at start),
//! key rotation and its interruption, file modes, altered ciphertext, and the preview draft kept
//! in the session. Each test reads the SQLite file itself, with plain SQL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::delivery::wait_deliveries;
use crate::harness::*;
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(15);
const AUTHORIZATION: &str = "Bearer topsecret-123";
const HEADER_VALUE: &str = "header-secret-456";

fn database(dir: &Path) -> PathBuf {
    dir.join("hookline.db")
}

/// The database file through plain sqlx, as anyone with a copy of it could read it.
async fn open_file(dir: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(database(dir)).create_if_missing(false);
    SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("open the database file")
}

/// Every column of every row of `table`, as text.
async fn table_text(pool: &SqlitePool, table: &str) -> Vec<String> {
    let columns: Vec<String> = sqlx::query_scalar(&format!("select name from pragma_table_info('{table}')"))
        .fetch_all(pool)
        .await
        .expect("columns");
    assert!(!columns.is_empty(), "no table {table}");
    let joined: Vec<String> = columns.iter().map(|c| format!("coalesce(cast({c} as text), '')")).collect();
    let select = format!("select {} from {table}", joined.join(" || char(31) || "));
    sqlx::query_scalar(&select).fetch_all(pool).await.expect("rows")
}

fn event(flag: &str) -> Value {
    json!({"type": "feature-created", "featureName": flag, "project": "web-shop", "createdBy": "user@example.com"})
}

/// A webhook with an Authorization, a secret header and a signing secret; returns its id and secret.
async fn create_secret_webhook(api: &Api, url: String) -> (i64, String) {
    let id = api
        .create_webhook(json!({
            "url": url, "events": ["feature-created"], "description": "secret",
            "authorization": AUTHORIZATION, "headers": {"X-Api-Key": HEADER_VALUE}
        }))
        .await;
    (id, reveal(api, id).await)
}

async fn reveal(api: &Api, id: i64) -> String {
    let secret = api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::OK).await;
    secret["secret"].as_str().expect("secret").to_string()
}

/// Publishes one event and checks the receiver got it with the credentials and a signature that
/// verifies with `secret`; returns the intake's answer.
async fn assert_delivers(api: &Api, receiver: &Receiver, path: &str, secret: &str, flag: &str) -> Value {
    let before = receiver.received_on(path).len();
    let body = api.publish(event(flag), StatusCode::ACCEPTED).await;
    let request = receiver.wait_for_on(path, before + 1, WAIT).await.swap_remove(before);
    assert_eq!(request.json()["featureName"], flag);
    assert_eq!(request.header("authorization"), AUTHORIZATION);
    assert_eq!(request.header("x-api-key"), HEADER_VALUE);
    let verifier = standardwebhooks::Webhook::new(secret).expect("secret");
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, request.header(name).parse().expect("header"));
    }
    verifier.verify(&request.body, &headers).expect("the signature verifies with the revealed secret");
    body
}

/// Plaintexts that must appear nowhere in the file: the values and the secret's random part.
fn plaintexts(secret: &str) -> Vec<String> {
    vec![
        AUTHORIZATION.to_string(),
        "topsecret-123".to_string(),
        HEADER_VALUE.to_string(),
        secret.to_string(),
        secret.trim_start_matches("whsec_").to_string(),
    ]
}

fn api_for(server: &TestServer, token: &str) -> Api {
    Api { client: client(), base: server.base.clone(), token: token.to_string() }
}

async fn restart(data: DataDir) -> TestServer {
    TestServer::start_in(data, fast_delivery).await
}

/// The error a start with `adjust`ed settings stops with.
async fn start_error(dir: &Path, adjust: impl FnOnce(&mut hookline_server::Config)) -> String {
    let mut config = hookline_server::Config::defaults();
    config.database_url = format!("sqlite://{}", database(dir).display());
    adjust(&mut config);
    match hookline_server::build_state(config).await {
        Ok(_) => panic!("the start should have been refused"),
        Err(error) => format!("{error:#}"),
    }
}

fn config_for(dir: &Path) -> hookline_server::Config {
    let mut config = hookline_server::Config::defaults();
    config.database_url = format!("sqlite://{}", database(dir).display());
    config
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn secrets_are_unreadable_in_the_database_and_still_delivered() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let (id, secret) = create_secret_webhook(&api, receiver.url("/hook")).await;
    assert_delivers(&api, &receiver, "/hook", &secret, "first").await;
    // A secret rotation keeps the previous secret (sealed too).
    let rotated = api.post(&format!("/api/admin/webhooks/{id}/secret/rotate"), &json!({}), StatusCode::OK).await;
    assert_eq!(rotated["previousSecret"], secret.as_str(), "the previous secret opens in its new column");
    let current = rotated["secret"].as_str().expect("secret").to_string();

    let mut db = RawDb::open(server.data.path()).await;
    let rows = db.rows_text("webhooks").await;
    db.close().await;
    assert_eq!(rows.len(), 1);
    for plain in plaintexts(&secret).into_iter().chain(plaintexts(&current)).chain(["X-Api-Key".to_string()]) {
        assert!(!rows[0].contains(&plain), "`{plain}` is readable in the webhooks table: {}", rows[0]);
    }
    // authorization, headers, secret and previous_secret
    assert_eq!(rows[0].matches("enc:v1:").count(), 4, "not all sealed: {}", rows[0]);

    if on_postgres() {
        // PostgreSQL's files belong to its server; the table above is what a dump or a replica holds.
        server.stop().await;
        return;
    }
    // Nor anywhere else in the file (the sessions, the log, free pages) or its write-ahead log.
    let mut bytes = std::fs::read(database(server.data.path())).expect("read db");
    bytes.extend(std::fs::read(server.data.path().join("hookline.db-wal")).unwrap_or_default());
    for plain in plaintexts(&secret).into_iter().chain(plaintexts(&current)) {
        assert!(!bytes.windows(plain.len()).any(|w| w == plain.as_bytes()), "`{plain}` is in the database file");
    }
    server.stop().await;
}

#[tokio::test]
async fn sqlite_another_key_stops_the_start_with_a_message_naming_the_setting() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    create_secret_webhook(&api, "http://127.0.0.1:9/hook".into()).await;
    let data = server.stop().await;
    let dir = data.path().to_path_buf();
    let key_file = std::fs::read_to_string(dir.join("encryption.key")).expect("the generated key file");
    let stored: String = sqlx::query_scalar("select key_id from encryption_key")
        .fetch_one(&open_file(&dir).await)
        .await
        .expect("key id");

    let (other, other_text) = hookline_server::crypto::EncryptionKey::generate();
    let error = start_error(&dir, |c| c.encryption_key = Some(other_text.clone())).await;
    assert!(
        error.contains(&format!(
            "the database's secrets were encrypted with key {stored}, which HOOKLINE_ENCRYPTION_KEY is not (it is key {})",
            other.id()
        )),
        "{error}"
    );

    // The same through the key file.
    std::fs::write(dir.join("encryption.key"), &other_text).expect("replace the key file");
    let error = start_error(&dir, |_| {}).await;
    assert!(error.contains(&format!("encrypted with key {stored}, which encryption.key (")), "{error}");
    // No key file at all: refused too, and no new key is made up for a database that has one.
    std::fs::remove_file(dir.join("encryption.key")).expect("remove");
    let error = start_error(&dir, |_| {}).await;
    assert!(error.contains(&format!("encrypted with key {stored}, but")), "{error}");
    assert!(!dir.join("encryption.key").exists());
    // Not a key at all: the setting is named, the value is not repeated.
    let error = start_error(&dir, |c| c.encryption_key = Some("hunter2".into())).await;
    assert!(error.starts_with("HOOKLINE_ENCRYPTION_KEY: expected 32 bytes"), "{error}");
    assert!(!error.contains("hunter2"));

    // The right key, as the setting: starts.
    let server = TestServer::start_in(data, |c| c.encryption_key = Some(key_file.trim().to_string())).await;
    server.stop().await;
}

/// The migrations of the previous version: everything but encryption at rest.
async fn previous_version_schema(pool: &SqlitePool) {
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    let old = tempfile::tempdir().expect("dir");
    for entry in std::fs::read_dir(&all).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !name.contains("encryption_key") {
            std::fs::copy(&path, old.path().join(&name)).expect("copy");
        }
    }
    sqlx::migrate::Migrator::new(old.path()).await.expect("migrator").run(pool).await.expect("old migrations");
}

#[tokio::test]
async fn sqlite_a_database_from_the_previous_version_is_encrypted_at_start_up() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    {
        let options = SqliteConnectOptions::new().filename(database(dir.path())).create_if_missing(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("create");
        previous_version_schema(&pool).await;
        // As the previous version wrote them: every secret in plain text.
        sqlx::query(
            "insert into webhooks (id, url, authorization, headers, events, secret, created_at, updated_at)
             values (7, ?, ?, ?, '[\"feature-created\"]', ?, 0, 0)",
        )
        .bind(receiver.url("/old"))
        .bind(AUTHORIZATION)
        .bind(json!({"X-Api-Key": HEADER_VALUE}).to_string())
        .bind(secret)
        .execute(&pool)
        .await
        .expect("plain webhook");
        // Recent (the absolute session lifetime counts from `created_at`).
        sqlx::query(
            "insert into sessions (id, data, expires_at, created_at) values ('old-session', ?, 9999999999999, ?)",
        )
        .bind(br#"{"draft":"Bearer typed-before-the-upgrade"}"#.as_slice())
        .bind(hookline_server::db::now_ms())
        .execute(&pool)
        .await
        .expect("plain session");
        pool.close().await;
    }
    let server = TestServer::start_in(DataDir::Owned(dir), |config| {
        fast_delivery(config);
        config.admin_email = Some("ops@example.com".into());
        config.admin_password = Some("a-long-enough-password".into());
    })
    .await;
    let browser = server.browser();
    browser.sign_in(&server.base, "ops@example.com", "a-long-enough-password", StatusCode::FOUND).await;
    let api = Api::new(&server, &browser).await;

    let pool = open_file(server.data.path()).await;
    let row = &table_text(&pool, "webhooks").await[0];
    for plain in plaintexts(secret) {
        assert!(!row.contains(&plain), "`{plain}` is still readable after the upgrade: {row}");
    }
    let session: String = sqlx::query_scalar("select cast(data as text) from sessions where id = 'old-session'")
        .fetch_one(&pool)
        .await
        .expect("session");
    assert!(session.starts_with("enc:v1:") && !session.contains("typed-before"), "{session}");
    pool.close().await;
    assert!(server.data.path().join("encryption.key").exists(), "the key was generated");

    assert_eq!(reveal(&api, 7).await, secret);
    assert_delivers(&api, &receiver, "/old", secret, "after-upgrade").await;

    // Idempotent: the next start finds nothing left to encrypt and everything still opens.
    let token = api.token.clone();
    let server = restart(server.stop().await).await;
    let api = api_for(&server, &token);
    assert_eq!(reveal(&api, 7).await, secret);
    assert_delivers(&api, &receiver, "/old", secret, "after-restart").await;
    server.stop().await;
}

fn key_ids(values: &[String]) -> Vec<String> {
    values.iter().map(|v| v.split(':').nth(2).unwrap_or_default().to_string()).collect()
}

async fn sealed_values(dir: &Path) -> Vec<String> {
    let pool = open_file(dir).await;
    let values: Vec<(String, String)> =
        sqlx::query_as("select authorization, secret from webhooks").fetch_all(&pool).await.expect("values");
    pool.close().await;
    values.into_iter().flat_map(|(a, s)| [a, s]).collect()
}

#[tokio::test]
async fn sqlite_rotating_the_key_re_encrypts_everything_and_keeps_delivering() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let (id, secret) = create_secret_webhook(&api, receiver.url("/rotated")).await;
    let dir = server.data.path().to_path_buf();

    // Not while a server uses the old key.
    let running = hookline_server::keys::rotate(&config_for(&dir), None).await.expect_err("refused while running");
    assert!(format!("{running:#}").contains("Hookline is running on this database"), "{running:#}");

    let data = server.stop().await;
    let old_file = std::fs::read_to_string(dir.join("encryption.key")).expect("key file");
    let old_id = hookline_server::crypto::EncryptionKey::parse(&old_file).expect("key").id();
    assert_eq!(key_ids(&sealed_values(&dir).await), vec![old_id.to_string(); 2]);

    let rotation = hookline_server::keys::rotate(&config_for(&dir), None).await.expect("rotate");
    assert_eq!(rotation.old, old_id);
    assert_ne!(rotation.new, old_id);
    assert!(rotation.values >= 4, "authorization, headers, secret, the sessions: {rotation:?}");
    assert!(rotation.unreadable.is_empty());
    assert_eq!(rotation.key_file.as_deref(), Some(dir.join("encryption.key").as_path()));
    let new_file = std::fs::read_to_string(dir.join("encryption.key")).expect("key file");
    assert_eq!(hookline_server::crypto::EncryptionKey::parse(&new_file).expect("key").id(), rotation.new);
    assert!(!dir.join("encryption.key.new").exists());
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("encryption.key")), 0o600);
    assert_eq!(key_ids(&sealed_values(&dir).await), vec![rotation.new.to_string(); 2]);

    // The old key no longer opens the database.
    let error = start_error(&dir, |c| c.encryption_key = Some(old_file.trim().to_string())).await;
    assert!(
        error.contains(&format!("encrypted with key {}, which HOOKLINE_ENCRYPTION_KEY is not", rotation.new)),
        "{error}"
    );

    let server = restart(data).await;
    let api = api_for(&server, &api.token);
    assert_eq!(reveal(&api, id).await, secret, "the same signing secret, re-encrypted");
    assert_delivers(&api, &receiver, "/rotated", &secret, "after-rotation").await;
    server.stop().await;
}

#[tokio::test]
async fn sqlite_rotating_a_key_from_the_setting_needs_the_new_key_given() {
    let (old, old_text) = hookline_server::crypto::EncryptionKey::generate();
    let (server, api) = TestServer::start_for_delivery(|c| c.encryption_key = Some(old_text.clone())).await;
    let (id, secret) = create_secret_webhook(&api, "http://127.0.0.1:9/hook".into()).await;
    let data = server.stop().await;
    let dir = data.path().to_path_buf();
    assert!(!dir.join("encryption.key").exists(), "the setting is the key: no file");
    let mut config = config_for(&dir);
    config.encryption_key = Some(old_text.clone());

    let refused = hookline_server::keys::rotate(&config, None).await.expect_err("no new key given");
    assert!(format!("{refused}").contains("HOOKLINE_NEW_ENCRYPTION_KEY"), "{refused}");
    assert_eq!(key_ids(&sealed_values(&dir).await), vec![old.id().to_string(); 2], "nothing changed");

    let (new, new_text) = hookline_server::crypto::EncryptionKey::generate();
    let rotation = hookline_server::keys::rotate(&config, Some(&new_text)).await.expect("rotate");
    assert_eq!((rotation.old, rotation.new, rotation.key_file), (old.id(), new.id(), None));
    assert!(!dir.join("encryption.key").exists() && !dir.join("encryption.key.new").exists(), "no key on disk");

    let server = TestServer::start_in(data, |c| {
        fast_delivery(c);
        c.encryption_key = Some(new_text.clone());
    })
    .await;
    assert_eq!(reveal(&api_for(&server, &api.token), id).await, secret);
    server.stop().await;
}

#[tokio::test]
async fn sqlite_an_interrupted_rotation_is_undone_or_finished_at_the_next_start() {
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let (id, secret) = create_secret_webhook(&api, "http://127.0.0.1:9/hook".into()).await;
    let data = server.stop().await;
    let dir = data.path().to_path_buf();
    let old_file = std::fs::read_to_string(dir.join("encryption.key")).expect("key file");

    // Killed before the transaction committed: the new key file exists, the database is unchanged.
    let (_key, unused) = hookline_server::crypto::EncryptionKey::generate();
    std::fs::write(dir.join("encryption.key.new"), &unused).expect("pending key");
    let server = restart(data).await;
    assert_eq!(reveal(&api_for(&server, &api.token), id).await, secret);
    assert!(!dir.join("encryption.key.new").exists(), "the unused new key was removed");
    assert_eq!(std::fs::read_to_string(dir.join("encryption.key")).expect("key"), old_file);
    let data = server.stop().await;

    // Killed after the commit, before the rename: the database needs the new key, still in `.new`.
    let rotation = hookline_server::keys::rotate(&config_for(&dir), None).await.expect("rotate");
    std::fs::rename(dir.join("encryption.key"), dir.join("encryption.key.new")).expect("undo the rename");
    std::fs::write(dir.join("encryption.key"), &old_file).expect("the old key back");
    let server = restart(data).await;
    assert_eq!(reveal(&api_for(&server, &api.token), id).await, secret);
    let now = std::fs::read_to_string(dir.join("encryption.key")).expect("key");
    assert_eq!(hookline_server::crypto::EncryptionKey::parse(&now).expect("key").id(), rotation.new, "rename finished");
    assert!(!dir.join("encryption.key.new").exists());
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn sqlite_the_database_and_key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (server, _api) = TestServer::start_for_delivery(|_| {}).await;
    let dir = server.data.path().to_path_buf();
    for name in
        ["hookline.db", "hookline.db-wal", "hookline.db-shm", "hookline.db.lock", "secret.key", "encryption.key"]
    {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    let data = server.stop().await;

    // Key files others can read are made private at the next start.
    for name in ["secret.key", "encryption.key"] {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let server = restart(data).await;
    for name in ["secret.key", "encryption.key"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name} was made private again");
    }
    server.stop().await;
}

/// Flips one bit of the ciphertext of `column` of webhook `id` (in its base64 payload).
fn flip(sealed: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let (head, payload) = sealed.rsplit_once(':').expect("enc:v1:<id>:<payload>");
    let mut bytes = engine.decode(payload).expect("base64");
    bytes[30] ^= 0x01;
    format!("{head}:{}", engine.encode(bytes))
}

#[tokio::test]
async fn sqlite_altered_ciphertext_fails_that_webhook_only_with_a_message() {
    let receiver = Receiver::start().await;
    let (server, api) = TestServer::start_for_delivery(|_| {}).await;
    let (altered, _) = create_secret_webhook(&api, receiver.url("/altered")).await;
    let (moved, _) = create_secret_webhook(&api, receiver.url("/moved")).await;
    let (intact, intact_secret) = create_secret_webhook(&api, receiver.url("/intact")).await;
    let data = server.stop().await;

    let pool = open_file(data.path()).await;
    let authorization: String = sqlx::query_scalar("select authorization from webhooks where id = ?")
        .bind(altered)
        .fetch_one(&pool)
        .await
        .expect("authorization");
    sqlx::query("update webhooks set authorization = ? where id = ?")
        .bind(flip(&authorization))
        .bind(altered)
        .execute(&pool)
        .await
        .expect("alter");
    // A valid ciphertext from another row does not open here either (bound to its row).
    sqlx::query("update webhooks set secret = (select secret from webhooks where id = ?) where id = ?")
        .bind(intact)
        .bind(moved)
        .execute(&pool)
        .await
        .expect("move");
    pool.close().await;

    let server = restart(data).await;
    let api = api_for(&server, &api.token);
    let intake = assert_delivers(&api, &receiver, "/intact", &intact_secret, "intact-still-flows").await;
    assert_eq!(intake["deliveries"], 3, "the intake still matches every webhook");

    for (id, what) in [(altered, "the Authorization value"), (moved, "the signing secret")] {
        let items =
            wait_deliveries(&api, id, |items| items.iter().all(|d| d["state"] == "failed") && !items.is_empty()).await;
        let detail = api.get(&format!("/api/admin/deliveries/{}", items[0]["id"]), StatusCode::OK).await;
        let message = detail["attemptLog"][0]["errorMessage"].as_str().unwrap_or_default().to_string();
        assert!(message.starts_with("The webhook's stored secrets cannot be decrypted: "), "{detail}");
        assert!(
            message.contains(&format!("{what} (the stored value was altered or belongs to another row)")),
            "{message}"
        );
        api.get(&format!("/api/admin/webhooks/{id}/secret"), StatusCode::CONFLICT).await;
    }
    assert!(receiver.received_on("/altered").is_empty() && receiver.received_on("/moved").is_empty(), "nothing sent");

    // Rotating the signing secret is how the moved one recovers.
    let rotated = api.post(&format!("/api/admin/webhooks/{moved}/secret/rotate"), &json!({}), StatusCode::OK).await;
    let fresh = rotated["secret"].as_str().expect("secret").to_string();
    assert_delivers(&api, &receiver, "/moved", &fresh, "recovered").await;
    server.stop().await;
}

#[tokio::test]
async fn the_preview_draft_in_the_session_is_encrypted() {
    let (server, browser) = TestServer::start_signed_in().await;
    let response = browser
        .form(
            &server.url("/rpc/preview_draft"),
            &[
                ("form[url]", "https://hooks.example.com/x"),
                ("form[authorization]", "Bearer draft-secret-789"),
                ("form[header_names][]", "X-Api-Key"),
                ("form[header_values][]", "draft-header-secret"),
                ("form[events][]", "feature-archived"),
                ("preview_event_type", "feature-archived"),
            ],
            StatusCode::FOUND,
        )
        .await;

    let mut db = RawDb::open(server.data.path()).await;
    let sessions = db.rows_text("sessions").await;
    db.close().await;
    assert!(!sessions.is_empty());
    for row in &sessions {
        assert!(!row.contains("draft-secret-789") && !row.contains("draft-header-secret"), "readable: {row}");
        assert!(row.contains("enc:v1:"), "{row}");
    }
    // ...and the form still comes back whole.
    let page = browser.get(&server.url(&location(&response)), StatusCode::OK).await.text().await.expect("html");
    assert!(page.contains("Bearer draft-secret-789") && page.contains("draft-header-secret"));
    server.stop().await;
}
