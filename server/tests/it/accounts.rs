//! First-admin setup, sign-in, sessions and admin management.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn setup_page_works_once_then_is_gone() {
    let server = TestServer::start().await;
    let browser = server.browser();

    // Without an admin, the sign-in page sends you to setup.
    let login = browser.get(&server.url("/login"), StatusCode::SEE_OTHER).await;
    assert_eq!(location(&login), "/setup");
    let setup = browser.get(&server.url("/setup"), StatusCode::OK).await;
    assert!(setup.text().await.expect("html").contains("Create the first admin"));

    // Validation names the field.
    let short = browser
        .call(
            &server.url("/rpc/create_first_admin"),
            &[("email", ADMIN_EMAIL), ("password", "short")],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let error: Value = short.json().await.expect("json");
    assert_eq!(error["Validation"]["field"], "password");

    let created = browser
        .form(
            &server.url("/rpc/create_first_admin"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::FOUND,
        )
        .await;
    assert_eq!(location(&created), "/");
    // Signed in straight away.
    browser.get(&server.url("/"), StatusCode::OK).await;

    // The page is gone for everyone, and the endpoint refuses a second first admin.
    let again = server.browser();
    let page = again.get(&server.url("/setup"), StatusCode::SEE_OTHER).await;
    assert_eq!(location(&page), "/login");
    again
        .call(
            &server.url("/rpc/create_first_admin"),
            &[("email", "other@example.com"), ("password", ADMIN_PASSWORD)],
            StatusCode::CONFLICT,
        )
        .await;
    server.stop().await;
}

#[tokio::test]
async fn setup_after_setup_is_refused_without_hashing() {
    let (server, browser) = TestServer::start_signed_in().await;
    let hashes = browser.metric(&server, "hookline_password_hashes_total").await;
    assert_eq!(hashes, 1.0, "the first admin's password");

    let latecomer = server.browser();
    for _ in 0..5 {
        latecomer
            .call(
                &server.url("/rpc/create_first_admin"),
                &[("email", "other@example.com"), ("password", ADMIN_PASSWORD)],
                StatusCode::CONFLICT,
            )
            .await;
    }
    // Refused before any validation too: nothing about the input is looked at once set up.
    latecomer
        .call(&server.url("/rpc/create_first_admin"), &[("email", "x"), ("password", "short")], StatusCode::CONFLICT)
        .await;
    assert_eq!(browser.metric(&server, "hookline_password_hashes_total").await, hashes, "no hash for a refusal");
    server.stop().await;
}

#[tokio::test]
async fn racing_setups_create_one_admin() {
    let server = TestServer::start().await;
    let attempts = (0..4).map(|i| {
        let browser = server.browser();
        let url = server.url("/rpc/create_first_admin");
        async move {
            let email = format!("racer{i}@example.com");
            browser.call_any(&url, &[("email", &email), ("password", ADMIN_PASSWORD)]).await.status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| s.is_success()).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| s.is_success() || *s == StatusCode::CONFLICT), "{statuses:?}");
    server.stop().await;
}

#[tokio::test]
async fn password_checks_beyond_the_hashing_slots_get_429_in_words() {
    // No free slot at all: every hash must wait, and then gets its refusal.
    let server = TestServer::start_with(|config| {
        config.password_hash_limit = Some(0);
        config.password_hash_wait = Duration::from_millis(50);
    })
    .await;
    let browser = server.browser();
    let setup = browser
        .call(
            &server.url("/rpc/create_first_admin"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    let body: Value = setup.json().await.expect("json");
    assert_eq!(body["TooManyRequests"], hookline_server::auth::password::BUSY_MESSAGE);

    let login = browser
        .call(
            &server.url("/rpc/login"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    let body: Value = login.json().await.expect("json");
    assert_eq!(body["TooManyRequests"], hookline_server::auth::password::BUSY_MESSAGE);

    // Without JavaScript the form goes back with the message for the page to show.
    let form = browser
        .form(
            &server.url("/rpc/create_first_admin"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::FOUND,
        )
        .await;
    let back = location(&form);
    let error = back.split_once("__err=").map(|(_, e)| e).unwrap_or_else(|| panic!("no error in {back}"));
    let error: String =
        url::form_urlencoded::parse(format!("e={error}").as_bytes()).map(|(_, v)| v.into_owned()).collect();
    let json = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, error.as_bytes()).expect("base64");
    let body: Value = serde_json::from_slice(&json).expect("the error as JSON");
    assert_eq!(body["TooManyRequests"], hookline_server::auth::password::BUSY_MESSAGE);
    // Still not set up.
    browser.get(&server.url("/setup"), StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn admin_from_environment_is_created_at_start() {
    let server = TestServer::start_with(|config| {
        config.admin_email = Some("ops@example.com".into());
        config.admin_password = Some("a-long-enough-password".into());
    })
    .await;
    let browser = server.browser();
    let response = browser.sign_in(&server.base, "ops@example.com", "a-long-enough-password", StatusCode::FOUND).await;
    assert_eq!(location(&response), "/");
    server.stop().await;
}

#[tokio::test]
async fn sign_in_succeeds_fails_generically_and_signs_out() {
    let (server, _) = TestServer::start_signed_in().await;
    let browser = server.browser();

    for (email, password) in [(ADMIN_EMAIL, "wrong password here"), ("nobody@example.com", ADMIN_PASSWORD)] {
        let failed = browser
            .call(&server.url("/rpc/login"), &[("email", email), ("password", password)], StatusCode::UNAUTHORIZED)
            .await;
        let body: Value = failed.json().await.expect("json");
        assert_eq!(body, serde_json::json!("InvalidCredentials"), "one message whatever was wrong");
    }
    // Without JavaScript the form goes back to the page with the error in the URL.
    let form_failure = browser.sign_in(&server.base, ADMIN_EMAIL, "wrong password here", StatusCode::FOUND).await;
    assert!(location(&form_failure).contains("__err="));
    // Still signed out.
    browser.get(&server.url("/"), StatusCode::SEE_OTHER).await;

    let ok = browser
        .form(
            &server.url("/rpc/login"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", "/settings")],
            StatusCode::FOUND,
        )
        .await;
    assert_eq!(location(&ok), "/settings");
    let cookie = ok.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(cookie.starts_with("hookline_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http in tests");
    browser.get(&server.url("/settings"), StatusCode::OK).await;

    let out = browser.form(&server.url("/rpc/logout"), &[], StatusCode::FOUND).await;
    assert_eq!(location(&out), "/login");
    browser.get(&server.url("/settings"), StatusCode::SEE_OTHER).await;
    server.stop().await;
}

#[tokio::test]
async fn session_id_changes_at_sign_in() {
    let (server, _) = TestServer::start_signed_in().await;
    let browser = server.browser();
    // Plant a session before signing in (what a fixation attack would do).
    browser
        .call(
            &server.url("/rpc/login"),
            &[("email", ADMIN_EMAIL), ("password", "wrong password here")],
            StatusCode::UNAUTHORIZED,
        )
        .await;
    let before = browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    let first = before.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let again = browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    let second = again.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(!first.is_empty() && !second.is_empty());
    assert_ne!(first.split(';').next(), second.split(';').next(), "each sign-in gets a new session id");
    server.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_slowed_down() {
    let (server, _) = TestServer::start_signed_in().await;
    let browser = server.browser();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        // Either answer is right here; the assertions below say which, and when.
        let response = browser
            .call_any(&server.url("/rpc/login"), &[("email", ADMIN_EMAIL), ("password", "wrong password here")])
            .await;
        statuses.push(response.status());
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5], "the first failures are answered normally");
    assert!(statuses[5..].contains(&StatusCode::TOO_MANY_REQUESTS), "then attempts must wait: {statuses:?}");
    // Even the right password must wait now.
    let right = browser
        .call(
            &server.url("/rpc/login"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    let body: Value = right.json().await.expect("json");
    assert!(body["TooManyRequests"].as_str().is_some_and(|m| m.contains("Try again in")));
    server.stop().await;
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_is_counted_in_full() {
    // However slow the machine, the admitted attempts wait for a hashing slot rather than being
    // turned away as busy: this test is about the throttle.
    let (server, admin) =
        TestServer::start_signed_in_with(|config| config.password_hash_wait = Duration::from_secs(60)).await;
    let hashes_before = admin.metric(&server, "hookline_password_hashes_total").await;
    // Twelve wrong passwords sent at once, each on its own connection: only the five free
    // attempts may be checked; the rest are refused without a hash, although none of the five
    // had failed yet when they arrived.
    let attacker = server.browser();
    let url = server.url("/rpc/login");
    let burst = (0..12).map(|i| {
        let (attacker, url) = (&attacker, &url);
        async move {
            let wrong = format!("wrong password {i}");
            attacker.call_any(url, &[("email", ADMIN_EMAIL), ("password", &wrong)]).await.status()
        }
    });
    let statuses = futures::future::join_all(burst).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (5, 7), "{statuses:?}");

    // The next attempt, even with the right password, waits. Asked at once: the first wait after
    // the free attempts is one second from the last failure, and a loaded machine can spend that
    // on anything asked in between.
    let next = attacker
        .call(&url, &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)], StatusCode::TOO_MANY_REQUESTS)
        .await;
    let body: Value = next.json().await.expect("json");
    assert!(body["TooManyRequests"].as_str().is_some_and(|m| m.starts_with("Too many failed sign-in attempts")));
    assert_eq!(admin.metric(&server, "hookline_password_hashes_total").await, hashes_before + 5.0);
    server.stop().await;
}

#[tokio::test]
async fn session_survives_a_restart() {
    let (server, browser) = TestServer::start_signed_in().await;
    let data = server.stop().await;
    let restarted = TestServer::start_in(data, |_| {}).await;
    // The same browser (same cookie) talks to the new process on a new port; cookies are per
    // host, not per port, so the session cookie is sent again.
    let browser = Browser { origin: restarted.base.clone(), ..browser };
    // Still signed in after the restart.
    browser.get(&restarted.url("/settings"), StatusCode::OK).await;
    restarted.stop().await;
}

#[tokio::test]
async fn admins_are_managed_and_the_last_one_stays() {
    let (server, browser) = TestServer::start_signed_in().await;
    let url = |p: &str| server.url(p);

    let added = browser
        .call(
            &url("/rpc/add_admin"),
            &[("email", "second@example.com"), ("password", "second-password-1")],
            StatusCode::OK,
        )
        .await;
    let second: Value = added.json().await.expect("json");
    let second_id = second["id"].as_i64().expect("id").to_string();

    browser
        .call(
            &url("/rpc/add_admin"),
            &[("email", "SECOND@example.com"), ("password", "second-password-1")],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;

    let me: Value = browser.call(&url("/rpc/me"), &[], StatusCode::OK).await.json().await.expect("json");
    let my_id = me["id"].as_i64().expect("id").to_string();
    browser.call(&url("/rpc/remove_admin"), &[("id", &my_id)], StatusCode::CONFLICT).await;

    // The second admin signs in, removes the first, and then cannot remove themself (the last one).
    let other = server.browser();
    other.sign_in(&server.base, "second@example.com", "second-password-1", StatusCode::FOUND).await;
    other.call(&url("/rpc/remove_admin"), &[("id", &my_id)], StatusCode::OK).await;
    other.call(&url("/rpc/remove_admin"), &[("id", &second_id)], StatusCode::CONFLICT).await;
    let list: Value = other.call(&url("/rpc/list_admins"), &[], StatusCode::OK).await.json().await.expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    // The removed admin's session no longer works.
    browser.get(&url("/settings"), StatusCode::SEE_OTHER).await;

    // Changing a password needs the current one.
    other
        .call(
            &url("/rpc/change_password"),
            &[("current_password", "nope"), ("new_password", "brand-new-password")],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    other
        .call(
            &url("/rpc/change_password"),
            &[("current_password", "second-password-1"), ("new_password", "brand-new-password")],
            StatusCode::OK,
        )
        .await;
    let fresh = server.browser();
    fresh.sign_in(&server.base, "second@example.com", "brand-new-password", StatusCode::FOUND).await;
    server.stop().await;
}

/// Runs a counting query on the server's database directly, to see what is stored rather than
/// what the server says.
async fn count_rows(server: &TestServer, sql: &str, value: i64) -> i64 {
    let mut db = RawDb::open(server.data.path()).await;
    let count = db.count(sql, value).await;
    db.close().await;
    count
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_but_not_this_one() {
    let (server, here) = TestServer::start_signed_in().await;
    let elsewhere = server.browser();
    elsewhere.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    elsewhere.get(&server.url("/settings"), StatusCode::OK).await;

    here.call(
        &server.url("/rpc/change_password"),
        &[("current_password", ADMIN_PASSWORD), ("new_password", "a brand new password")],
        StatusCode::OK,
    )
    .await;
    // This browser stays signed in.
    here.get(&server.url("/settings"), StatusCode::OK).await;
    // The other browser is signed out.
    let out = elsewhere.get(&server.url("/settings"), StatusCode::SEE_OTHER).await;
    assert!(location(&out).starts_with("/login"));
    elsewhere.call(&server.url("/rpc/list_admins"), &[], StatusCode::UNAUTHORIZED).await;
    assert_eq!(count_rows(&server, "select count(*) from sessions where admin_id = $1", 1).await, 1);

    // Back in only with the new password.
    elsewhere
        .call(
            &server.url("/rpc/login"),
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            StatusCode::UNAUTHORIZED,
        )
        .await;
    let new = elsewhere.sign_in(&server.base, ADMIN_EMAIL, "a brand new password", StatusCode::FOUND).await;
    assert_eq!(location(&new), "/");
    elsewhere.get(&server.url("/settings"), StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn removing_an_admin_ends_all_their_sessions_at_once() {
    let (server, owner) = TestServer::start_signed_in().await;
    let added = owner
        .call(
            &server.url("/rpc/add_admin"),
            &[("email", "second@example.com"), ("password", "second-password-1")],
            StatusCode::OK,
        )
        .await;
    let second_id = added.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let (laptop, phone) = (server.browser(), server.browser());
    for browser in [&laptop, &phone] {
        browser.sign_in(&server.base, "second@example.com", "second-password-1", StatusCode::FOUND).await;
        browser.get(&server.url("/settings"), StatusCode::OK).await;
    }
    let sessions_of = "select count(*) from sessions where admin_id = $1";
    assert_eq!(count_rows(&server, sessions_of, second_id).await, 2);

    owner.call(&server.url("/rpc/remove_admin"), &[("id", &second_id.to_string())], StatusCode::OK).await;
    assert_eq!(count_rows(&server, sessions_of, second_id).await, 0, "ended with the removal, not at expiry");

    // SQLite gives the next admin the highest free id, which may be the removed admin's: their
    // cookies must not sign them in as the newcomer.
    owner
        .call(
            &server.url("/rpc/add_admin"),
            &[("email", "third@example.com"), ("password", "third-password-12")],
            StatusCode::OK,
        )
        .await;
    laptop.get(&server.url("/settings"), StatusCode::SEE_OTHER).await;
    phone.call(&server.url("/rpc/me"), &[], StatusCode::UNAUTHORIZED).await;
    // The remover stays signed in.
    owner.get(&server.url("/settings"), StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn idle_expiry_is_pushed_back_while_the_session_is_used() {
    // Two seconds, not one: the session is refreshed every quarter of it, and a debug build's
    // page under a full parallel suite once took long enough to miss a one-second idle time.
    let idle = Duration::from_secs(2);
    let (server, browser) = TestServer::start_signed_in_with(|config| config.session_idle = idle).await;
    // In use for twice the idle time: still signed in.
    let start = Instant::now();
    while start.elapsed() < 2 * idle {
        browser.get(&server.url("/settings"), StatusCode::OK).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Then left alone for longer than the idle time: signed out.
    tokio::time::sleep(idle + Duration::from_millis(300)).await;
    browser.get(&server.url("/settings"), StatusCode::SEE_OTHER).await;
    server.stop().await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_busy() {
    // A short idle time refreshed by constant use, and a lifetime a little longer: only the
    // lifetime can end this session. Two seconds, not one: a page whose render is hedged
    // (`routes::render`) answers after half a second, and with the refresh at most a quarter of
    // the idle time early, one second left too little for a loaded machine.
    let (idle, max) = (Duration::from_secs(2), Duration::from_secs(3));
    let (server, browser) = TestServer::start_signed_in_with(|config| {
        config.session_idle = idle;
        config.session_max = max;
    })
    .await;
    let start = Instant::now();
    let ended = loop {
        // Signed in (200) until the lifetime ends (303 to the sign-in page).
        let response = browser.client.get(server.url("/settings")).send().await.expect("get");
        let status = response.status();
        if status != StatusCode::OK {
            assert_eq!(status, StatusCode::SEE_OTHER, "{}", response.text().await.unwrap_or_default());
            break start.elapsed();
        }
        assert!(start.elapsed() < max + Duration::from_secs(3), "still signed in long after HOOKLINE_SESSION_MAX");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(ended > idle, "outlived its idle time through use (ended after {ended:?})");
    assert!(ended >= max - Duration::from_millis(200), "not before its lifetime (ended after {ended:?})");
    assert_eq!(
        count_rows(&server, "select count(*) from sessions where admin_id = $1", 1).await,
        1,
        "kept until cleanup"
    );

    // Signing in again starts a new lifetime.
    browser.sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, StatusCode::FOUND).await;
    browser.get(&server.url("/settings"), StatusCode::OK).await;
    server.stop().await;
}

/// Adding the same admin from several tabs at once: the database's unique index decides, so
/// exactly one is added and the others get the same field error as a plain duplicate (not a 500,
/// not two admins).
#[tokio::test]
async fn the_same_admin_added_at_once_is_added_once() {
    let (server, browser) = TestServer::start_signed_in().await;
    let url = server.url("/rpc/add_admin");
    let attempts = (0..4).map(|_| async {
        let response =
            browser.call_any(&url, &[("email", "racer@example.com"), ("password", "racer-password-12")]).await;
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    });
    let outcomes = futures::future::join_all(attempts).await;
    let added = outcomes.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    assert_eq!(added, 1, "{outcomes:?}");
    for (status, body) in outcomes.iter().filter(|(status, _)| *status != StatusCode::OK) {
        assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("already exists"), "{body}");
    }
    let admins: Value =
        browser.call(&server.url("/rpc/list_admins"), &[], StatusCode::OK).await.json().await.expect("json");
    let racers = admins.as_array().expect("list").iter().filter(|a| a["email"] == "racer@example.com").count();
    assert_eq!(racers, 1);
    server.stop().await;
}
