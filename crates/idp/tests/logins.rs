//! Password logins under concurrency: the delay and the lock hold when attempts arrive together
//! (each is counted before its password is evaluated), on SQLite and PostgreSQL; and the bounded
//! password hasher refuses what it cannot queue, the same way for every RUN.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod harness;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use harness::*;
use llavero_idp::accounts::{LoginOutcome, authenticate};
use llavero_store::AttemptReservation;

/// Generates `sqlite` and `postgres` tests running one scenario on a seeded provider.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $scenario() {
                super::$scenario(super::Provider::configured(|_| {}).await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $scenario() {
                if llavero_store::testing::skip_postgres() {
                    return;
                }
                let store = llavero_store::testing::postgres().await.unwrap();
                super::$scenario(super::Provider::configured_on(store, |_| {}).await).await;
            })*
        }
    };
}

on_both_backends!(
    concurrent_attempts_after_a_delay_are_evaluated_once,
    concurrent_attempts_never_push_the_lock_past_one_hundred,
);

/// The failure counter's subject of the harness citizen.
const SUBJECT: &str = "12345678";

/// Runs one login per password, all at once; returns the outcomes in order.
async fn concurrently(provider: &Provider, passwords: &[&str]) -> Vec<LoginOutcome> {
    let tasks: Vec<_> = passwords
        .iter()
        .map(|password| {
            let (idp, password) = (provider.idp.clone(), (*password).to_owned());
            tokio::spawn(async move { authenticate(&idp, RUN, &password).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

/// The failures counted against the test account, as the database holds them.
async fn failures(provider: &Provider) -> i64 {
    provider
        .idp
        .store
        .login_subject(SUBJECT)
        .await
        .unwrap()
        .failures
}

/// Whether the password of an attempt was evaluated (rather than refused by the delay or lock).
fn evaluated(outcome: &LoginOutcome) -> bool {
    matches!(
        outcome,
        LoginOutcome::Success { .. } | LoginOutcome::Failed { .. }
    )
}

/// Five failures start the delay; once it expires, forty wrong attempts arrive together. One is
/// evaluated, the others wait, and so does the right password right after. (Checked first and
/// counted after evaluation, all forty were evaluated, and a right password among them logged
/// in.)
async fn concurrent_attempts_after_a_delay_are_evaluated_once(provider: Provider) {
    for _ in 0..5 {
        assert!(matches!(
            authenticate(&provider.idp, RUN, "wrong").await.unwrap(),
            LoginOutcome::Failed { .. }
        ));
    }
    assert_eq!(
        authenticate(&provider.idp, RUN, PASSWORD).await.unwrap(),
        LoginOutcome::Wait { retry_after: 1 }
    );
    provider.clock.advance(1);
    let outcomes = concurrently(&provider, &["wrong"; 40]).await;
    assert_eq!(
        outcomes.iter().filter(|o| evaluated(o)).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| evaluated(o) || *o == LoginOutcome::Wait { retry_after: 2 }),
        "{outcomes:?}"
    );
    assert_eq!(failures(&provider).await, 6);
    assert_eq!(
        authenticate(&provider.idp, RUN, PASSWORD).await.unwrap(),
        LoginOutcome::Wait { retry_after: 2 }
    );
    provider.clock.advance(2);
    assert!(matches!(
        authenticate(&provider.idp, RUN, PASSWORD).await.unwrap(),
        LoginOutcome::Success { .. }
    ));
    assert_eq!(failures(&provider).await, 0);
}

/// One failure short of the lock, 130 wrong attempts arrive together: one is evaluated and
/// locks the account, the counter stops at 100 (it reached 119 before), the rest are refused,
/// and the right password no longer logs in.
async fn concurrent_attempts_never_push_the_lock_past_one_hundred(provider: Provider) {
    let store = &provider.idp.store;
    // 99 failures, the last long enough ago that its delay (the fifteen-minute cap) is over.
    for _ in 0..99 {
        let reservation = store
            .reserve_login_attempt(SUBJECT, START - 1000, |_| true)
            .await
            .unwrap();
        assert!(matches!(reservation, AttemptReservation::Reserved(_)));
    }
    let outcomes = concurrently(&provider, &["wrong"; 130]).await;
    assert_eq!(
        outcomes.iter().filter(|o| evaluated(o)).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(store.login_subject(SUBJECT).await.unwrap().failures, 100);
    let account = store.account_by_run(12_345_678).await.unwrap().unwrap();
    assert_eq!(account.locked_at, Some(START));
    assert_eq!(
        authenticate(&provider.idp, RUN, PASSWORD).await.unwrap(),
        LoginOutcome::Locked
    );
    assert_eq!(store.login_subject(SUBJECT).await.unwrap().failures, 100);
}

/// A provider whose hasher runs one computation and queues none.
async fn one_hashing_slot() -> Provider {
    Provider::configured(|config| {
        config.password_hash_workers = std::num::NonZeroUsize::MIN;
        config.password_hash_queue = 0;
    })
    .await
}

/// With every worker busy and the queue full, a login is refused at once with 503 and
/// `Retry-After`: the form again with a message in the citizen's language for a browser, a JSON
/// error for a client asking for JSON. Nothing is counted against the RUN, and the next login
/// after a slot frees is evaluated. (Unbounded before: every login allocated 19 MiB.)
#[tokio::test]
async fn a_full_hashing_queue_answers_503_with_retry_after_and_counts_nothing() {
    let provider = one_hashing_slot().await;
    let mut browser = provider.browser();
    let csrf = browser.get("/login").await.hidden("csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("request", ""),
        ("run", RUN),
        ("password", "wrong"),
    ];
    let held = provider.idp.hasher.admit().unwrap();
    let page = browser.post("/login", &form).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.headers["retry-after"], "1");
    assert!(
        page.body.contains("Hay muchas personas ingresando"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("name=\"password\""),
        "the form is shown again"
    );
    let request = Request::post("/login")
        .header(
            header::COOKIE,
            browser
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(encode(&form)))
        .unwrap();
    let json = send(&provider.router, request).await;
    assert_eq!(json.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json.headers["retry-after"], "1");
    assert_eq!(json.json()["error"], "temporarily_unavailable");
    assert_eq!(provider.idp.hasher.stats().refused, 2);
    assert_eq!(
        provider.idp.hasher.stats().computed,
        1,
        "only the seeding's hash"
    );
    assert_eq!(failures(&provider).await, 0);
    drop(held);
    let page = browser.post("/login", &form).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(failures(&provider).await, 1);
}

/// An unknown RUN, a RUN in the registry without an account and a RUN with an account all go
/// through the same bounded hasher: all are refused while it is full, and each costs exactly
/// one Argon2id computation once it is free (the unknown ones on the dummy hash).
#[tokio::test]
async fn unknown_and_known_runs_go_through_the_same_hashing_path() {
    let provider = one_hashing_slot().await;
    let hasher = &provider.idp.hasher;
    // Not in the registry; in the registry without an account; with an account.
    let runs = ["9.876.543-3", "11.111.111-1", RUN];
    let held = hasher.admit().unwrap();
    for run in runs {
        assert_eq!(
            authenticate(&provider.idp, run, "wrong").await.unwrap(),
            LoginOutcome::Busy,
            "{run}"
        );
    }
    drop(held);
    for run in runs {
        let computed = hasher.stats().computed;
        assert!(matches!(
            authenticate(&provider.idp, run, "wrong").await.unwrap(),
            LoginOutcome::Failed { .. }
        ));
        assert_eq!(hasher.stats().computed, computed + 1, "{run}");
    }
    assert_eq!(hasher.stats().buffers, 1, "one worker, one reused buffer");
    // A malformed RUN is answered before any hashing, as before.
    let computed = hasher.stats().computed;
    assert_eq!(
        authenticate(&provider.idp, "12.345.678-0", "wrong")
            .await
            .unwrap(),
        LoginOutcome::BadRun
    );
    assert_eq!(hasher.stats().computed, computed);
}
