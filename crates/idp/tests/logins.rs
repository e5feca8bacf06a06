//! Password logins under concurrency, on SQLite and PostgreSQL: the delay and the lock hold when
//! attempts arrive together (each is counted before its password is evaluated).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod harness;

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
    assert_eq!(
        provider
            .idp
            .store
            .login_subject(SUBJECT)
            .await
            .unwrap()
            .failures,
        6
    );
    assert_eq!(
        authenticate(&provider.idp, RUN, PASSWORD).await.unwrap(),
        LoginOutcome::Wait { retry_after: 2 }
    );
    provider.clock.advance(2);
    assert!(matches!(
        authenticate(&provider.idp, RUN, PASSWORD).await.unwrap(),
        LoginOutcome::Success { .. }
    ));
    assert_eq!(
        provider
            .idp
            .store
            .login_subject(SUBJECT)
            .await
            .unwrap()
            .failures,
        0
    );
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
