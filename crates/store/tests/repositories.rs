//! Every repository scenario runs against SQLite and PostgreSQL (a schema of its own).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::too_many_lines)] // test helpers outside #[test] fns

use llavero_store::{
    AttemptReservation, AuthorizationRequest, CodeRedemption, CredentialStatus, IssuedCode,
    LoginSubject, NewGrant, NewSession, Person, PersonStatus, RateDecision, RefreshRotation,
    SessionLimits, Store, hash_secret,
};

/// Generates `sqlite` and `postgres` tests running one scenario.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $scenario() {
                let dir = tempfile::tempdir().unwrap();
                super::$scenario(llavero_store::testing::sqlite(dir.path()).await.unwrap()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $scenario() {
                if llavero_store::testing::skip_postgres() {
                    return;
                }
                super::$scenario(llavero_store::testing::postgres().await.unwrap()).await;
            })*
        }
    };
}

on_both_backends!(
    registry_upsert_keeps_the_newest_record,
    stale_registry_record_changes_nothing,
    registry_standing_follows_only_winning_records,
    status_change_disables_account_and_ends_everything,
    replayed_code_revokes_its_tokens,
    reused_refresh_token_revokes_the_family,
    rate_limit_counts_per_window,
    activation_code_is_single_use,
    audit_chain_detects_edits_and_survives_ip_truncation,
    concurrent_audit_batches_keep_one_chain,
    group_commit_stores_rotations_with_their_audit_entries,
    group_commit_spans_several_queries,
    abandoned_group_commits_all_or_nothing,
    group_at_the_expected_head_is_one_statement,
    refresh_retry_within_grace_gets_a_fresh_pair,
    refresh_retry_after_grace_revokes_the_family,
    refresh_retry_by_another_client_is_refused,
    refresh_retry_after_the_successor_was_used_revokes_the_family,
    retired_successor_presented_later_revokes_the_family,
    signing_keys_rotate_per_algorithm,
    clients_keep_their_id_token_alg_and_pkce_policy,
    code_without_pkce_challenge_round_trips,
    concurrent_login_attempts_reserve_at_most_what_the_policy_allows,
    concurrent_login_attempts_never_push_the_counter_past_the_lock,
);

const NOW: i64 = 1_790_000_000;
const LIMITS: SessionLimits = SessionLimits {
    idle: 3600,
    absolute: 86_400,
};

fn person(run: i64, status: PersonStatus, updated: i64) -> Person {
    Person {
        run,
        given_names: "María José".into(),
        paternal_surname: "González".into(),
        maternal_surname: "Rojas".into(),
        birth_date: "1990-04-12".into(),
        sex: "F".into(),
        nationality: "CL".into(),
        document_serial: "A123456789".into(),
        status,
        registry_updated_at: updated,
    }
}

/// A person with an account, a session and a grant with tokens; returns (account, code hash).
async fn citizen_with_tokens(store: &Store) -> (String, String) {
    store
        .upsert_people(&[person(12_345_678, PersonStatus::Active, 1)], NOW)
        .await
        .unwrap();
    let code = llavero_store::ActivationCode {
        run: 12_345_678,
        code_hash: hash_secret("act"),
        expires_at: NOW + 60,
    };
    store.put_activation_code(&code, NOW).await.unwrap();
    let account = store
        .activate_account(&code, "acct-1", "$argon2id$stub", NOW)
        .await
        .unwrap()
        .unwrap();
    store
        .create_session(
            &NewSession {
                id_hash: hash_secret("cookie"),
                handle: "sid-1".into(),
                account_id: account.id.clone(),
                auth_time: NOW,
                acr: "aal1".into(),
                amr: vec!["pwd".into()],
                user_agent: "test".into(),
                confirmed_at: None,
            },
            None,
            NOW,
        )
        .await
        .unwrap();
    add_client(store, "rp").await;
    let (grant, issued) = issue_grant(store, &account.id, "1", "code", Some("challenge")).await;
    assert!(
        !store
            .issue_code("req-1", &grant, &hash_secret("code2"), &issued, NOW)
            .await
            .unwrap()
    );
    store
        .store_tokens(
            "grant-1",
            (&hash_secret("at"), NOW + 300),
            (&hash_secret("rt"), NOW + 86_400),
        )
        .await
        .unwrap();
    assert!(
        store
            .access_grant(&hash_secret("at"), NOW)
            .await
            .unwrap()
            .is_some()
    );
    (account.id, hash_secret("code"))
}

/// Registers confidential client `id`.
async fn add_client(store: &Store, id: &str) {
    store
        .add_client(
            &llavero_store::NewClient {
                id: id.into(),
                name: id.to_uppercase(),
                secret_hash: Some(hash_secret("s")),
                auth_method: llavero_store::ClientAuthMethod::ClientSecretBasic,
                redirect_uris: vec!["https://rp.example/cb".into()],
                post_logout_redirect_uris: vec![],
                scopes: vec!["openid".into()],
                min_acr: None,
                subject_type: llavero_store::SubjectType::Pairwise,
                jwks: None,
                id_token_alg: llavero_store::SigningAlg::Es256,
                pkce: llavero_store::PkcePolicy::Required,
            },
            NOW,
        )
        .await
        .unwrap();
}

/// Grant `grant-{tag}` of `account_id` to client `rp` from request `req-{tag}`, with its code
/// (hash of `code`) issued; returns the grant and the code.
async fn issue_grant(
    store: &Store,
    account_id: &str,
    tag: &str,
    code: &str,
    challenge: Option<&str>,
) -> (NewGrant, IssuedCode) {
    let request = AuthorizationRequest {
        id: format!("req-{tag}"),
        client_id: "rp".into(),
        params: serde_json::json!({"scope": "openid"}),
        pushed: false,
        expires_at: NOW + 600,
    };
    store
        .put_authorization_request(&request, NOW)
        .await
        .unwrap();
    let grant = NewGrant {
        id: format!("grant-{tag}"),
        account_id: account_id.into(),
        client_id: "rp".into(),
        session_handle: "sid-1".into(),
        scope: "openid".into(),
        auth_time: NOW,
        acr: "aal1".into(),
        amr: vec!["pwd".into()],
    };
    let issued = IssuedCode {
        grant: grant.clone(),
        redirect_uri: "https://rp.example/cb".into(),
        code_challenge: challenge.map(str::to_owned),
        nonce: Some("n".into()),
        expires_at: NOW + 60,
    };
    assert!(
        store
            .issue_code(&request.id, &grant, &hash_secret(code), &issued, NOW)
            .await
            .unwrap()
    );
    (grant, issued)
}

async fn registry_upsert_keeps_the_newest_record(store: Store) {
    let outcome = store
        .upsert_people(
            &[
                person(1, PersonStatus::Active, 10),
                person(2, PersonStatus::Active, 10),
            ],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(outcome.written, 2);
    let mut older = person(1, PersonStatus::Active, 5);
    older.given_names = "Old".into();
    let mut newer = person(2, PersonStatus::Active, 20);
    newer.given_names = "New".into();
    let outcome = store.upsert_people(&[older, newer], NOW).await.unwrap();
    assert_eq!((outcome.written, outcome.unchanged), (1, 1));
    assert_eq!(
        store.person(1).await.unwrap().unwrap().given_names,
        "María José"
    );
    assert_eq!(store.person(2).await.unwrap().unwrap().given_names, "New");
    assert_eq!(store.people_count().await.unwrap(), 2);
    // Re-importing the same batch changes nothing (idempotent).
    let again = store
        .upsert_people(&[person(2, PersonStatus::Active, 20)], NOW)
        .await
        .unwrap();
    assert_eq!(again.written, 0);
}

/// 2025-01-01T00:00:00Z, 2026-01-01T00:00:00Z and 2026-06-01T00:00:00Z.
const JAN_2025: i64 = 1_735_689_600;
const JAN_2026: i64 = 1_767_225_600;
const JUN_2026: i64 = 1_780_272_000;

/// Person `run`, `active` as of `updated`, with an account and one valid credential
/// (`cred-{run}` of agency `registro-civil`); returns the account id.
async fn active_citizen_with_credential(store: &Store, run: i64, updated: i64) -> String {
    store
        .upsert_people(&[person(run, PersonStatus::Active, updated)], NOW)
        .await
        .unwrap();
    let code = llavero_store::ActivationCode {
        run,
        code_hash: hash_secret(&format!("act-{run}")),
        expires_at: NOW + 60,
    };
    store.put_activation_code(&code, NOW).await.unwrap();
    let account = store
        .activate_account(&code, &format!("acct-{run}"), "$argon2id$stub", NOW)
        .await
        .unwrap()
        .unwrap();
    llavero_store::testing::issue_credential(
        store,
        "registro-civil",
        &format!("cred-{run}"),
        run,
        NOW,
    )
    .await
    .unwrap();
    account.id
}

/// The status of `run`'s only credential.
async fn credential_status(store: &Store, run: i64) -> CredentialStatus {
    let credentials = store
        .issued_credentials("registro-civil", Some(run), 10)
        .await
        .unwrap();
    assert_eq!(credentials.len(), 1);
    credentials[0].status
}

/// An old extract that says a living person died (or was blocked) loses to the newer stored
/// record, and with it loses every effect: no credential revoked, no account disabled, no
/// event. Before the fix the file's status was applied to the credentials regardless.
async fn stale_registry_record_changes_nothing(store: Store) {
    // 5.000.056-7, active since 2026-01-01.
    let run = 5_000_056;
    let account = active_citizen_with_credential(&store, run, JAN_2026).await;
    let stored = store.person(run).await.unwrap().unwrap();
    for stale in [PersonStatus::Deceased, PersonStatus::Blocked] {
        let outcome = store
            .upsert_people(&[person(run, stale, JAN_2025)], NOW + 1)
            .await
            .unwrap();
        assert_eq!(
            outcome,
            llavero_store::ImportOutcome {
                written: 0,
                unchanged: 1,
                disabled_accounts: vec![],
                credentials_changed: 0,
            },
            "{stale:?}"
        );
        assert_eq!(
            credential_status(&store, run).await,
            CredentialStatus::Valid
        );
        assert!(
            store
                .account(&account)
                .await
                .unwrap()
                .unwrap()
                .disabled_at
                .is_none()
        );
        assert_eq!(store.person(run).await.unwrap().unwrap(), stored);
        assert!(store.events_after(0, 10).await.unwrap().is_empty());
    }
    // A record as old as the stored one loses too.
    let outcome = store
        .upsert_people(&[person(run, PersonStatus::Deceased, JAN_2026)], NOW + 2)
        .await
        .unwrap();
    assert_eq!((outcome.written, outcome.credentials_changed), (0, 0));
    assert_eq!(
        credential_status(&store, run).await,
        CredentialStatus::Valid
    );
    // The registry's newer word still counts.
    let outcome = store
        .upsert_people(&[person(run, PersonStatus::Deceased, JUN_2026)], NOW + 3)
        .await
        .unwrap();
    assert_eq!(outcome.written, 1);
    assert_eq!(outcome.disabled_accounts, vec![account]);
    assert_eq!(outcome.credentials_changed, 1);
    assert_eq!(
        credential_status(&store, run).await,
        CredentialStatus::Revoked
    );
}

/// Suspensions follow the registry's latest word only: a stale `active` does not lift a newer
/// `blocked`, a stale `blocked` does not suspend again, a record repeating the standing changes
/// nothing, and a newer `active` lifts the suspension of that person alone.
async fn registry_standing_follows_only_winning_records(store: Store) {
    let (run, other) = (5_000_056, 5_000_064);
    active_citizen_with_credential(&store, run, JAN_2025).await;
    active_citizen_with_credential(&store, other, JAN_2025).await;
    let outcome = store
        .upsert_people(
            &[
                person(run, PersonStatus::Blocked, JAN_2026),
                person(other, PersonStatus::Blocked, JAN_2026),
            ],
            NOW + 1,
        )
        .await
        .unwrap();
    assert_eq!((outcome.written, outcome.credentials_changed), (2, 2));
    assert_eq!(
        credential_status(&store, run).await,
        CredentialStatus::Suspended
    );
    let outcome = store
        .upsert_people(&[person(run, PersonStatus::Active, JAN_2025 + 1)], NOW + 2)
        .await
        .unwrap();
    assert_eq!((outcome.written, outcome.credentials_changed), (0, 0));
    assert_eq!(
        credential_status(&store, run).await,
        CredentialStatus::Suspended
    );
    // Newer, still blocked: the record wins but the standing is unchanged.
    let outcome = store
        .upsert_people(&[person(run, PersonStatus::Blocked, JUN_2026 - 1)], NOW + 3)
        .await
        .unwrap();
    assert_eq!((outcome.written, outcome.credentials_changed), (1, 0));
    assert!(outcome.disabled_accounts.is_empty());
    let outcome = store
        .upsert_people(&[person(run, PersonStatus::Active, JUN_2026)], NOW + 4)
        .await
        .unwrap();
    assert_eq!((outcome.written, outcome.credentials_changed), (1, 1));
    assert_eq!(
        credential_status(&store, run).await,
        CredentialStatus::Valid
    );
    assert_eq!(
        credential_status(&store, other).await,
        CredentialStatus::Suspended,
        "only the person active again is lifted"
    );
}

async fn status_change_disables_account_and_ends_everything(store: Store) {
    let (account, _) = citizen_with_tokens(&store).await;
    assert!(
        store
            .session(&hash_secret("cookie"), LIMITS, NOW)
            .await
            .unwrap()
            .is_some()
    );
    let outcome = store
        .upsert_people(&[person(12_345_678, PersonStatus::Deceased, 2)], NOW + 1)
        .await
        .unwrap();
    assert_eq!(outcome.disabled_accounts, vec![account.clone()]);
    assert!(
        store
            .account(&account)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some()
    );
    assert!(
        store
            .session(&hash_secret("cookie"), LIMITS, NOW + 2)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .access_grant(&hash_secret("at"), NOW + 2)
            .await
            .unwrap()
            .is_none()
    );
    let rotation = store
        .rotate_refresh_token(
            "rp",
            &hash_secret("rt"),
            (&hash_secret("at2"), NOW + 300),
            (&hash_secret("rt2"), NOW + 900),
            NOW + 2,
        )
        .await
        .unwrap();
    assert!(
        matches!(rotation, RefreshRotation::Inactive),
        "{rotation:?}"
    );
    let events = store.events_after(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "account_disabled");
    assert_eq!(events[0].data["registry_status"], "deceased");
}

async fn replayed_code_revokes_its_tokens(store: Store) {
    let (_, code) = citizen_with_tokens(&store).await;
    assert!(matches!(
        store.redeem_code(&code, NOW + 1).await.unwrap(),
        CodeRedemption::First(_)
    ));
    assert!(matches!(
        store.redeem_code(&code, NOW + 2).await.unwrap(),
        CodeRedemption::Replayed
    ));
    assert!(
        store
            .access_grant(&hash_secret("at"), NOW + 2)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.redeem_code(&hash_secret("nope"), NOW).await.unwrap(),
        CodeRedemption::Unknown
    ));
}

async fn reused_refresh_token_revokes_the_family(store: Store) {
    citizen_with_tokens(&store).await;
    let rotate = |old: &'static str, new: &'static str| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh_token(
                    "rp",
                    &hash_secret(old),
                    (&hash_secret(&format!("at-{new}")), NOW + 300),
                    (&hash_secret(new), NOW + 900),
                    NOW + 1,
                )
                .await
                .unwrap()
        }
    };
    assert!(matches!(
        rotate("rt", "rt2").await,
        RefreshRotation::Rotated(_)
    ));
    assert!(
        store
            .access_grant(&hash_secret("at-rt2"), NOW + 1)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(rotate("rt", "rt3").await, RefreshRotation::Reused));
    // The family is gone: the rotated token and its access token too.
    assert!(
        store
            .access_grant(&hash_secret("at-rt2"), NOW + 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        rotate("rt2", "rt4").await,
        RefreshRotation::Inactive
    ));
    // A refused rotation stored nothing: neither new refresh token exists.
    assert!(matches!(
        rotate("rt3", "rt5").await,
        RefreshRotation::Unknown
    ));
    assert!(matches!(
        rotate("rt4", "rt6").await,
        RefreshRotation::Unknown
    ));
    assert!(
        store
            .access_grant(&hash_secret("at-rt3"), NOW + 1)
            .await
            .unwrap()
            .is_none()
    );
    // Another client cannot use it at all.
    let other = store
        .rotate_refresh_token(
            "other",
            &hash_secret("rt2"),
            (&hash_secret("x"), NOW),
            (&hash_secret("y"), NOW),
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(other, RefreshRotation::Unknown));
}

async fn rate_limit_counts_per_window(store: Store) {
    for _ in 0..3 {
        assert_eq!(
            store.hit_rate_limit("ip:1", 60, 3, NOW).await.unwrap(),
            RateDecision::Allowed
        );
    }
    let start = NOW - NOW % 60;
    assert_eq!(
        store.hit_rate_limit("ip:1", 60, 3, NOW).await.unwrap(),
        RateDecision::Limited {
            retry_after: start + 60 - NOW
        }
    );
    assert_eq!(
        store.hit_rate_limit("ip:2", 60, 3, NOW).await.unwrap(),
        RateDecision::Allowed
    );
    assert_eq!(
        store
            .hit_rate_limit("ip:1", 60, 3, start + 60)
            .await
            .unwrap(),
        RateDecision::Allowed
    );
}

async fn activation_code_is_single_use(store: Store) {
    store
        .upsert_people(&[person(7, PersonStatus::Active, 1)], NOW)
        .await
        .unwrap();
    let code = llavero_store::ActivationCode {
        run: 7,
        code_hash: hash_secret("c"),
        expires_at: NOW + 60,
    };
    store.put_activation_code(&code, NOW).await.unwrap();
    assert_eq!(
        store.activation_code(7).await.unwrap().unwrap().code_hash,
        hash_secret("c")
    );
    assert!(
        store
            .activate_account(&code, "a", "h1", NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .activate_account(&code, "b", "h2", NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .account_by_run(7)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("h1")
    );
    // Lockout at the threshold.
    for _ in 0..2 {
        store
            .record_login_failure("7", Some(7), 3, NOW)
            .await
            .unwrap();
    }
    assert!(
        store
            .account_by_run(7)
            .await
            .unwrap()
            .unwrap()
            .locked_at
            .is_none()
    );
    assert_eq!(
        store
            .record_login_failure("7", Some(7), 3, NOW)
            .await
            .unwrap(),
        3
    );
    assert!(
        store
            .account_by_run(7)
            .await
            .unwrap()
            .unwrap()
            .locked_at
            .is_some()
    );
    assert_eq!(store.login_subject("7").await.unwrap().failures, 3);
}

async fn audit_chain_detects_edits_and_survives_ip_truncation(store: Store) {
    for i in 0..5 {
        let event = llavero_store::NewAuditEvent {
            kind: "login.password".into(),
            account_id: Some("acct".into()),
            client_id: None,
            ip: Some(format!("203.0.113.{i}")),
            user_agent: Some("test".into()),
            detail: serde_json::json!({"result": "success"}),
        };
        assert_eq!(store.append_audit(&event, NOW + i).await.unwrap(), i + 1);
    }
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(5));
    assert_eq!(store.audit_of_account("acct", 2).await.unwrap()[0].seq, 5);
    assert_eq!(
        store.audit_between(NOW + 1, NOW + 3).await.unwrap().len(),
        2
    );
    // Truncating old IPs keeps the chain whole.
    assert_eq!(store.truncate_audit_ips(NOW + 2).await.unwrap(), 2);
    assert_eq!(
        store.audit_of_account("acct", 5).await.unwrap()[4]
            .ip
            .as_deref(),
        Some("203.0.113.0/24")
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(5));
    // Edits behind the store's back are found, with the first broken entry.
    store
        .execute_unchecked("UPDATE audit_log SET detail = '{\"result\":\"failure\"}' WHERE seq = 3")
        .await
        .unwrap();
    let broken = store.verify_audit_chain().await.unwrap().unwrap_err();
    assert_eq!(
        (broken.seq, broken.reason),
        (3, "its content does not match its hash")
    );
    store
        .execute_unchecked("UPDATE audit_log SET detail = '{\"result\":\"success\"}' WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(5));
    store
        .execute_unchecked("UPDATE audit_log SET ip = '198.51.100.7' WHERE seq = 4")
        .await
        .unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap().unwrap_err().seq,
        4
    );
    store
        .execute_unchecked("UPDATE audit_log SET ip = '203.0.113.3' WHERE seq = 4")
        .await
        .unwrap();
    store
        .execute_unchecked("DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap().unwrap_err().seq,
        3
    );
}

async fn concurrent_audit_batches_keep_one_chain(store: Store) {
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<_> = (0..5)
                .map(|i| {
                    let event = llavero_store::NewAuditEvent {
                        kind: format!("w{writer}.{i}"),
                        ..Default::default()
                    };
                    (event, NOW)
                })
                .collect();
            store.append_audit_batch(&batch).await.unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        let batch = task.await.unwrap();
        assert!(
            batch.windows(2).all(|w| w[1] == w[0] + 1),
            "a batch is contiguous: {batch:?}"
        );
        seqs.extend(batch);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(20));
}

/// Runs `n` concurrent reservations of `subject` at `now` under `policy`; returns how many were
/// reserved and the counter after them.
async fn reserve_concurrently(
    store: &Store,
    subject: &str,
    n: usize,
    now: i64,
    policy: fn(&LoginSubject) -> bool,
) -> (usize, LoginSubject) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (store, subject) = (store.clone(), subject.to_owned());
            tokio::spawn(async move {
                store
                    .reserve_login_attempt(&subject, now, policy)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut reserved = 0;
    for task in tasks {
        let reservation = task.await.unwrap();
        assert_ne!(reservation, AttemptReservation::Contended);
        if let AttemptReservation::Reserved(_) = reservation {
            reserved += 1;
        }
    }
    (reserved, store.login_subject(subject).await.unwrap())
}

/// Forty attempts arrive together after a delay expired (the policy: one attempt per minute):
/// one is counted and may be evaluated, the others are refused on the count it left. Checked
/// first and counted after, all forty were evaluated.
async fn concurrent_login_attempts_reserve_at_most_what_the_policy_allows(store: Store) {
    let (reserved, counter) = reserve_concurrently(&store, "7", 40, NOW, |s| s.failures < 3).await;
    assert_eq!((reserved, counter.failures), (3, 3));
    let (reserved, counter) = reserve_concurrently(&store, "7", 40, NOW + 60, |s| {
        s.last_failed_at + 60 <= NOW + 60
    })
    .await;
    assert_eq!(reserved, 1);
    assert_eq!(counter.failures, 4);
    assert_eq!(counter.last_failed_at, NOW + 60);
    // A success forgets the count; the next attempt starts from zero.
    store.clear_login_failures("7").await.unwrap();
    let (reserved, counter) = reserve_concurrently(&store, "7", 10, NOW, |s| s.failures < 1).await;
    assert_eq!((reserved, counter.failures), (1, 1));
}

/// 130 attempts arrive together two short of the lock at 100: two are counted, the counter
/// stops at 100 (it reached 119 when attempts were counted after evaluation), and the account
/// locks only when asked.
async fn concurrent_login_attempts_never_push_the_counter_past_the_lock(store: Store) {
    for _ in 0..98 {
        let reservation = store
            .reserve_login_attempt("7", NOW, |s| s.failures < 100)
            .await
            .unwrap();
        assert!(matches!(reservation, AttemptReservation::Reserved(_)));
    }
    let (reserved, counter) =
        reserve_concurrently(&store, "7", 130, NOW, |s| s.failures < 100).await;
    assert_eq!((reserved, counter.failures), (2, 100));
    assert_eq!(
        store
            .reserve_login_attempt("7", NOW, |s| s.failures < 100)
            .await
            .unwrap(),
        AttemptReservation::Refused(counter)
    );
    store
        .upsert_people(&[person(7, PersonStatus::Active, 1)], NOW)
        .await
        .unwrap();
    let code = llavero_store::ActivationCode {
        run: 7,
        code_hash: hash_secret("code"),
        expires_at: NOW + 60,
    };
    store.put_activation_code(&code, NOW).await.unwrap();
    store
        .activate_account(&code, "acct-7", "$argon2id$stub", NOW)
        .await
        .unwrap()
        .unwrap();
    store.lock_account_of_run(7, NOW).await.unwrap();
    store.lock_account_of_run(8, NOW).await.unwrap();
    let account = store.account_by_run(7).await.unwrap().unwrap();
    assert_eq!(account.locked_at, Some(NOW));
}

fn rotation(old: &str, access: &str, refresh: &str) -> llavero_store::Rotation {
    llavero_store::Rotation {
        client_id: "rp".into(),
        old_hash: hash_secret(old),
        access: (hash_secret(access), NOW + 300),
        refresh: (hash_secret(refresh), NOW + 900),
        now: NOW + 1,
        entry: Some(llavero_store::NewAuditEvent {
            kind: "token.issued".into(),
            account_id: Some("acct-1".into()),
            ..Default::default()
        }),
        grace_secs: 0,
    }
}

async fn group_commit_stores_rotations_with_their_audit_entries(store: Store) {
    citizen_with_tokens(&store).await;
    let login = llavero_store::NewAuditEvent {
        kind: "login.password".into(),
        ..Default::default()
    };
    // A group that fails (the new access token's hash is taken, so its insert fails after the
    // spend) stores nothing: the token stays unspent (the next group rotates it) and no audit
    // entry is written.
    let failing = [rotation("rt", "at", "rt-a")];
    let genesis = store.audit_head().await.unwrap();
    for head in [None, Some(&genesis)] {
        let outcome = store
            .commit_group(head, &failing, &[(login.clone(), NOW)])
            .await;
        assert!(outcome.is_err(), "{outcome:?}");
        assert_eq!(store.audit_head().await.unwrap().0, 0);
    }

    // The same token twice in one group: the first rotates it, the second is a reuse, which
    // revokes the family once the group is committed. Unknown tokens are told apart.
    let group = [
        rotation("rt", "at-2", "rt-2"),
        rotation("rt", "at-3", "rt-3"),
        rotation("unknown", "at-4", "rt-4"),
    ];
    let committed = store
        .commit_group(Some(&genesis), &group, &[(login, NOW)])
        .await
        .unwrap();
    assert!(
        !committed.one_statement,
        "refused rotations: in a transaction"
    );
    assert_eq!(committed.events, vec![1]);
    let outcomes: Vec<_> = committed.rotations;
    assert!(
        matches!(&outcomes[0], (RefreshRotation::Rotated(grant), Some(2)) if grant.client_id == "rp"),
        "{outcomes:?}"
    );
    assert!(matches!(outcomes[1], (RefreshRotation::Reused, None)));
    assert!(matches!(outcomes[2], (RefreshRotation::Unknown, None)));
    for access in ["at-2", "at-3", "at-4"] {
        assert!(
            store
                .access_grant(&hash_secret(access), NOW + 1)
                .await
                .unwrap()
                .is_none(),
            "{access} must not be live"
        );
    }
    let entries = store.audit_between(NOW, NOW + 2).await.unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["login.password", "token.issued"]);
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(2));
}

/// A group whose caller stops waiting (its future dropped at any point: a request cancelled,
/// a shutdown) leaves either all of it or nothing, and the store goes on committing groups.
async fn abandoned_group_commits_all_or_nothing(store: Store) {
    citizen_with_tokens(&store).await;
    let mut expected_entries = 0;
    for attempt in 0..40_u32 {
        let (old, access, refresh) = (
            format!("rt-{attempt}"),
            format!("at-{attempt}-new"),
            format!("rt-{attempt}-new"),
        );
        store
            .store_tokens(
                "grant-1",
                (&hash_secret(&format!("at-{attempt}")), NOW + 300),
                (&hash_secret(&old), NOW + 900),
            )
            .await
            .unwrap();
        let group = [rotation(&old, &access, &refresh)];
        // From "before it began" to "long done": each attempt stops at another point.
        let wait = std::time::Duration::from_micros(u64::from(attempt) * 10);
        // In a transaction: a single statement (`commit_group` at the expected head) is
        // all or nothing by itself, but one whose caller stopped waiting may still commit
        // later, after the checks below.
        let abandoned = tokio::time::timeout(wait, store.commit_group(None, &group, &[])).await;
        if let Ok(done) = abandoned {
            done.unwrap();
        }
        // An empty group waits for whatever the abandoned one left running: the head's lock
        // (PostgreSQL), the single writer's connection (SQLite).
        store.commit_group(None, &[], &[]).await.unwrap();
        let rotated = store
            .access_grant(&hash_secret(&access), NOW + 1)
            .await
            .unwrap()
            .is_some();
        expected_entries += i64::from(rotated);
        assert_eq!(
            store.audit_head().await.unwrap().0,
            expected_entries,
            "attempt {attempt}: the entry is there exactly when the tokens are"
        );
        // The next group commits: it rotates the token the abandoned group left live.
        let live = if rotated { &refresh } else { &old };
        let again = [rotation(
            live,
            &format!("{access}-2"),
            &format!("{refresh}-2"),
        )];
        let committed = store.commit_group(None, &again, &[]).await.unwrap();
        let outcome = &committed.rotations[0].0;
        assert!(
            matches!(outcome, RefreshRotation::Rotated(_)),
            "{outcome:?}"
        );
        expected_entries += 1;
    }
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        Ok(expected_entries)
    );
}

/// A group chained after the head its writer expects goes out as one statement on
/// PostgreSQL. When that guess fails (the head moved, a token is refused), the statement
/// leaves nothing behind and the group is committed in a transaction, with the same outcome.
async fn group_at_the_expected_head_is_one_statement(store: Store) {
    let postgres = store.backend() == llavero_store::Backend::Postgres;
    citizen_with_tokens(&store).await;
    let login = llavero_store::NewAuditEvent {
        kind: "login.password".into(),
        ..Default::default()
    };
    let first = store
        .commit_group(None, &[rotation("rt", "at-1", "rt-1")], &[])
        .await
        .unwrap();
    assert!(!first.one_statement, "no head expected: in a transaction");
    assert_eq!(first.head, store.audit_head().await.unwrap());

    // At the expected head: one statement (PostgreSQL), the events' entries first.
    let group = [rotation("rt-1", "at-2", "rt-2")];
    let second = store
        .commit_group(Some(&first.head), &group, &[(login.clone(), NOW)])
        .await
        .unwrap();
    assert_eq!(second.one_statement, postgres);
    assert_eq!(second.events, vec![2]);
    assert!(
        matches!(&second.rotations[0], (RefreshRotation::Rotated(grant), Some(3)) if grant.id == "grant-1"),
        "{:?}",
        second.rotations
    );
    assert_eq!(second.head, store.audit_head().await.unwrap());
    let live = store.access_grant(&hash_secret("at-2"), NOW + 1).await;
    assert!(live.unwrap().is_some());

    // The head moved (another writer appended): the group lands after that entry.
    assert_eq!(store.append_audit(&login, NOW).await.unwrap(), 4);
    let group = [rotation("rt-2", "at-3", "rt-3")];
    let third = store
        .commit_group(Some(&second.head), &group, &[])
        .await
        .unwrap();
    assert!(!third.one_statement);
    assert!(matches!(
        &third.rotations[0],
        (RefreshRotation::Rotated(_), Some(5))
    ));

    // One token refused (spent before): the other rotates, the reuse revokes the family.
    let group = [
        rotation("rt-3", "at-4", "rt-4"),
        rotation("rt-1", "at-5", "rt-5"),
    ];
    let fourth = store
        .commit_group(Some(&third.head), &group, &[])
        .await
        .unwrap();
    assert!(!fourth.one_statement);
    assert!(matches!(
        &fourth.rotations[0],
        (RefreshRotation::Rotated(_), Some(6))
    ));
    assert!(matches!(
        &fourth.rotations[1],
        (RefreshRotation::Reused, None)
    ));
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(6));
    for access in ["at-4", "at-5"] {
        let live = store.access_grant(&hash_secret(access), NOW + 1).await;
        assert!(live.unwrap().is_none(), "{access}: the family is revoked");
    }
}

/// A rotation looks its token, grant, account and session up by key, whatever the tables hold:
/// planned on empty tables (as at first start) it must not scan them, or every refresh would
/// read all tokens once there are millions.
#[tokio::test]
async fn postgres_rotations_look_up_by_key() {
    if llavero_store::testing::skip_postgres() {
        return;
    }
    let store = llavero_store::testing::postgres().await.unwrap();
    for rows in [1, 8, 256] {
        let plan = llavero_store::testing::rotation_plan(&store, rows)
            .await
            .unwrap();
        assert!(plan.contains("refresh_tokens_pkey"), "{plan}");
        assert!(plan.contains("grants_pkey"), "{plan}");
        for scan in ["Seq Scan", "Hash Join", "Merge Join"] {
            assert!(!plan.contains(scan), "{scan} in {plan}");
        }
    }
}

/// On SQLite too: a spend finds its token, then the token's grant, account and session, by
/// key (`SEARCH`), and never reads a whole table (`SCAN`), such as every grant of the client.
#[tokio::test]
async fn sqlite_rotations_look_up_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = llavero_store::testing::sqlite(dir.path()).await.unwrap();
    let plan = llavero_store::testing::rotation_plan(&store, 1)
        .await
        .unwrap();
    for table in ["refresh_tokens", "g", "a", "s"] {
        assert!(
            plan.lines()
                .any(|step| step.starts_with(&format!("SEARCH {table} USING"))),
            "{table} in {plan}"
        );
    }
    assert!(!plan.contains("SCAN"), "{plan}");
}

#[tokio::test]
async fn sqlite_checkpoints_the_log_beside_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = llavero_store::testing::sqlite(dir.path()).await.unwrap();
    let event = llavero_store::NewAuditEvent {
        kind: "login.password".into(),
        ..Default::default()
    };
    let batch: Vec<_> = (0..300).map(|i| (event.clone(), NOW + i)).collect();
    store.append_audit_batch(&batch).await.unwrap();
    let wal = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-wal"))
        .expect("a write-ahead log");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    // The writer no longer checkpoints a log this small itself: the checkpointer copies it all.
    assert!(store.checkpoint_wal().await.unwrap());
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(300));
}

async fn group_commit_spans_several_queries(store: Store) {
    citizen_with_tokens(&store).await;
    // 70 live refresh tokens of one grant: more rotations than one SQLite query carries (and,
    // on PostgreSQL, a group padded to 128), with an unknown token in the middle, so each
    // outcome must land on its own rotation. With 200 other events, the group's 269 audit
    // entries take more than one insert.
    for i in 0..70 {
        store
            .store_tokens(
                "grant-1",
                (&hash_secret(&format!("at-old-{i}")), NOW + 300),
                (&hash_secret(&format!("rt-old-{i}")), NOW + 900),
            )
            .await
            .unwrap();
    }
    let group: Vec<_> = (0..70)
        .map(|i| {
            let old = if i == 45 {
                "nope".to_owned()
            } else {
                format!("rt-old-{i}")
            };
            rotation(&old, &format!("at-new-{i}"), &format!("rt-new-{i}"))
        })
        .collect();
    let login = llavero_store::NewAuditEvent {
        kind: "login.password".into(),
        ..Default::default()
    };
    let events = vec![(login, NOW); 200];
    let committed = store.commit_group(None, &group, &events).await.unwrap();
    assert_eq!(committed.events, (1..=200).collect::<Vec<_>>());
    for (i, (outcome, seq)) in committed.rotations.iter().enumerate() {
        if i == 45 {
            assert!(matches!((outcome, seq), (RefreshRotation::Unknown, None)));
        } else {
            assert!(
                matches!(outcome, RefreshRotation::Rotated(_)),
                "{i}: {outcome:?}"
            );
            assert!(seq.is_some_and(|seq| seq > 200), "{i}: {seq:?}");
            assert!(
                store
                    .access_grant(&hash_secret(&format!("at-new-{i}")), NOW + 1)
                    .await
                    .unwrap()
                    .is_some(),
                "rotation {i} stored its access token"
            );
        }
    }
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(269));
}

/// The grace window these tests give: 10 seconds.
const GRACE: i64 = 10;

/// A rotation of `old` at `now` with the grace window [`GRACE`].
fn graced(old: &str, new: &str, now: i64) -> llavero_store::Rotation {
    llavero_store::Rotation {
        now,
        grace_secs: GRACE,
        ..rotation(old, &format!("at-{new}"), new)
    }
}

/// Commits `rotation` alone (at the audit head, so on PostgreSQL it tries the one-statement
/// path first) and returns its outcome.
async fn rotate_one(store: &Store, rotation: llavero_store::Rotation) -> RefreshRotation {
    let head = store.audit_head().await.unwrap();
    let committed = store
        .commit_group(Some(&head), &[rotation], &[])
        .await
        .unwrap();
    committed.rotations.into_iter().next().unwrap().0
}

/// Whether access token `token` (its raw value) still grants.
async fn grants(store: &Store, token: &str) -> bool {
    store
        .access_grant(&hash_secret(token), NOW + 1)
        .await
        .unwrap()
        .is_some()
}

/// The answer to a rotation was lost (the server killed after the commit): the client retries
/// with the token it sent, within the grace window, and gets a fresh pair, recorded in the
/// audit trail. The lost pair is retired, the family goes on from the fresh one, unrevoked.
async fn refresh_retry_within_grace_gets_a_fresh_pair(store: Store) {
    citizen_with_tokens(&store).await;
    let first = rotate_one(&store, graced("rt", "rt-2", NOW + 1)).await;
    assert!(matches!(first, RefreshRotation::Rotated(_)), "{first:?}");
    let head = store.audit_head().await.unwrap();
    let retry = store
        .commit_group(Some(&head), &[graced("rt", "rt-3", NOW + GRACE)], &[])
        .await
        .unwrap();
    assert!(
        matches!(&retry.rotations[0], (RefreshRotation::Rotated(grant), Some(seq))
            if grant.id == "grant-1" && *seq == head.0 + 1),
        "{:?}",
        retry.rotations
    );
    assert!(
        !grants(&store, "at-rt-2").await,
        "the lost access token is revoked"
    );
    assert!(grants(&store, "at-rt-3").await);
    // A second retry (the fresh answer lost too) still works, within the same window.
    let again = rotate_one(&store, graced("rt", "rt-4", NOW + GRACE)).await;
    assert!(matches!(again, RefreshRotation::Rotated(_)), "{again:?}");
    assert!(!grants(&store, "at-rt-3").await);
    let next = rotate_one(&store, graced("rt-4", "rt-5", NOW + GRACE + 1)).await;
    assert!(matches!(next, RefreshRotation::Rotated(_)), "{next:?}");
    assert!(grants(&store, "at-rt-5").await, "the family is intact");
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(4));
}

/// The window is measured from the rotation and retries do not extend it; at its end, and
/// with the window disabled (0), a retry is a reuse that revokes the family.
async fn refresh_retry_after_grace_revokes_the_family(store: Store) {
    citizen_with_tokens(&store).await;
    let first = rotate_one(&store, graced("rt", "rt-2", NOW + 1)).await;
    assert!(matches!(first, RefreshRotation::Rotated(_)), "{first:?}");
    let late = rotate_one(&store, graced("rt", "rt-3", NOW + 1 + GRACE)).await;
    assert!(matches!(late, RefreshRotation::Reused), "{late:?}");
    assert!(!grants(&store, "at-rt-2").await, "the family is revoked");
    assert!(!grants(&store, "at-rt-3").await);

    // Disabled: the same second is already a reuse.
    let store = fresh_family(store).await;
    let disabled = llavero_store::Rotation {
        grace_secs: 0,
        ..graced("rt-b", "rt-b3", NOW + 1)
    };
    let first = rotate_one(&store, graced("rt-b", "rt-b2", NOW + 1)).await;
    assert!(matches!(first, RefreshRotation::Rotated(_)), "{first:?}");
    let reused = rotate_one(&store, disabled).await;
    assert!(matches!(reused, RefreshRotation::Reused), "{reused:?}");
    assert!(!grants(&store, "at-rt-b2").await);
}

/// A second grant of the citizen's, with refresh token `rt-b`, for a scenario that needs a
/// family of its own.
async fn fresh_family(store: Store) -> Store {
    issue_grant(&store, "acct-1", "b", "code-b", Some("challenge")).await;
    store
        .store_tokens(
            "grant-b",
            (&hash_secret("at-b"), NOW + 300),
            (&hash_secret("rt-b"), NOW + 900),
        )
        .await
        .unwrap();
    store
}

/// Attack: another client presenting the token within the window is refused as an unknown
/// token, and neither gets a pair nor disturbs the family.
async fn refresh_retry_by_another_client_is_refused(store: Store) {
    citizen_with_tokens(&store).await;
    add_client(&store, "rp2").await;
    let first = rotate_one(&store, graced("rt", "rt-2", NOW + 1)).await;
    assert!(matches!(first, RefreshRotation::Rotated(_)), "{first:?}");
    let other = llavero_store::Rotation {
        client_id: "rp2".into(),
        ..graced("rt", "rt-3", NOW + 2)
    };
    let refused = rotate_one(&store, other).await;
    assert!(matches!(refused, RefreshRotation::Unknown), "{refused:?}");
    assert!(!grants(&store, "at-rt-3").await);
    assert!(grants(&store, "at-rt-2").await, "the family is intact");
    let next = rotate_one(&store, graced("rt-2", "rt-4", NOW + 2)).await;
    assert!(matches!(next, RefreshRotation::Rotated(_)), "{next:?}");
}

/// Attack: once the successor was used, the token before it is no longer the immediately
/// previous one; presenting it, even within the window, is a reuse that revokes the family.
async fn refresh_retry_after_the_successor_was_used_revokes_the_family(store: Store) {
    citizen_with_tokens(&store).await;
    let first = rotate_one(&store, graced("rt", "rt-2", NOW + 1)).await;
    assert!(matches!(first, RefreshRotation::Rotated(_)), "{first:?}");
    let second = rotate_one(&store, graced("rt-2", "rt-3", NOW + 1)).await;
    assert!(matches!(second, RefreshRotation::Rotated(_)), "{second:?}");
    let stale = rotate_one(&store, graced("rt", "rt-4", NOW + 2)).await;
    assert!(matches!(stale, RefreshRotation::Reused), "{stale:?}");
    assert!(!grants(&store, "at-rt-3").await, "the family is revoked");
    assert!(!grants(&store, "at-rt-4").await);
    let after = rotate_one(&store, graced("rt-3", "rt-5", NOW + 2)).await;
    assert!(matches!(after, RefreshRotation::Inactive), "{after:?}");
}

/// Attack: the window's fresh pair retires the successor it replaces. Whoever presents that
/// successor afterwards (a thief who retried first, or the client if the thief did) presents
/// a spent token: a reuse, which revokes the family, the fresh pair included.
async fn retired_successor_presented_later_revokes_the_family(store: Store) {
    citizen_with_tokens(&store).await;
    let first = rotate_one(&store, graced("rt", "rt-2", NOW + 1)).await;
    assert!(matches!(first, RefreshRotation::Rotated(_)), "{first:?}");
    let retry = rotate_one(&store, graced("rt", "rt-3", NOW + 2)).await;
    assert!(matches!(retry, RefreshRotation::Rotated(_)), "{retry:?}");
    let retired = rotate_one(&store, graced("rt-2", "rt-4", NOW + 3)).await;
    assert!(matches!(retired, RefreshRotation::Reused), "{retired:?}");
    assert!(!grants(&store, "at-rt-3").await, "the family is revoked");
    let after = rotate_one(&store, graced("rt-3", "rt-5", NOW + 3)).await;
    assert!(matches!(after, RefreshRotation::Inactive), "{after:?}");
}

fn stored_key(kid: &str, alg: llavero_store::SigningAlg, at: i64) -> llavero_store::StoredKey {
    llavero_store::StoredKey {
        kid: kid.into(),
        alg,
        sealed_private_key: vec![1, 2, 3],
        public_jwk: "{}".into(),
        created_at: at,
        retired_at: None,
    }
}

/// An ES256 rotation leaves the active RS256 key alone, and the reverse.
async fn signing_keys_rotate_per_algorithm(store: Store) {
    use llavero_store::SigningAlg::{Es256, Rs256};
    store
        .rotate_signing_key(&stored_key("ec-1", Es256, NOW), NOW)
        .await
        .unwrap();
    store
        .rotate_signing_key(&stored_key("rsa-1", Rs256, NOW + 1), NOW + 1)
        .await
        .unwrap();
    store
        .rotate_signing_key(&stored_key("ec-2", Es256, NOW + 2), NOW + 2)
        .await
        .unwrap();
    let keys = store.signing_keys().await.unwrap();
    let state = |kid: &str| {
        let key = keys.iter().find(|k| k.kid == kid).unwrap();
        (key.alg, key.retired_at)
    };
    assert_eq!(state("ec-1"), (Es256, Some(NOW + 2)));
    assert_eq!(state("rsa-1"), (Rs256, None));
    assert_eq!(state("ec-2"), (Es256, None));
    store
        .rotate_signing_key(&stored_key("rsa-2", Rs256, NOW + 3), NOW + 3)
        .await
        .unwrap();
    let keys = store.signing_keys().await.unwrap();
    let active: Vec<&str> = keys
        .iter()
        .filter(|k| k.retired_at.is_none())
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(active, ["rsa-2", "ec-2"]);
}

async fn clients_keep_their_id_token_alg_and_pkce_policy(store: Store) {
    let client = |id: &str, alg, pkce| llavero_store::NewClient {
        id: id.into(),
        name: id.to_uppercase(),
        secret_hash: Some(hash_secret("s")),
        auth_method: llavero_store::ClientAuthMethod::ClientSecretBasic,
        redirect_uris: vec!["https://rp.example/cb".into()],
        post_logout_redirect_uris: vec![],
        scopes: vec!["openid".into()],
        min_acr: None,
        subject_type: llavero_store::SubjectType::Pairwise,
        jwks: None,
        id_token_alg: alg,
        pkce,
    };
    let legacy = client(
        "legacy",
        llavero_store::SigningAlg::Rs256,
        llavero_store::PkcePolicy::Optional,
    );
    let modern = client(
        "modern",
        llavero_store::SigningAlg::Es256,
        llavero_store::PkcePolicy::Required,
    );
    store.add_client(&legacy, NOW).await.unwrap();
    store.add_client(&modern, NOW + 1).await.unwrap();
    assert_eq!(store.client("legacy").await.unwrap().unwrap(), legacy);
    assert_eq!(store.clients().await.unwrap(), [legacy, modern]);
}

/// A code issued to a client with PKCE optional has no challenge, and reads back as none.
async fn code_without_pkce_challenge_round_trips(store: Store) {
    let (account, _) = citizen_with_tokens(&store).await;
    issue_grant(&store, &account, "2", "code-2", None).await;
    let redeemed = store
        .redeem_code(&hash_secret("code-2"), NOW + 1)
        .await
        .unwrap();
    assert!(
        matches!(&redeemed, CodeRedemption::First(code)
            if code.code_challenge.is_none() && code.grant.id == "grant-2"),
        "{redeemed:?}"
    );
}

/// The database holds personal data and password hashes: a new SQLite file and its `-wal` and
/// `-shm` files are 0600, and an existing file left 0644 is tightened on the next start.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_readable_by_their_owner_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("llavero.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let store = Store::connect(&url).await.unwrap();
    store
        .upsert_people(&[person(1, PersonStatus::Active, 1)], NOW)
        .await
        .unwrap();
    for file in ["llavero.db", "llavero.db-wal", "llavero.db-shm"] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }
    store.close().await;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(store.people_count().await.unwrap(), 1);
}

/// A PostgreSQL URL on a closed port fails with the real cause (connection refused), after
/// retrying for the budget given and not much longer, instead of "pool timed out" after 10 s.
#[tokio::test]
async fn closed_postgres_port_gives_the_cause_within_the_retry_budget() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://root@127.0.0.1:{port}/test");
    let started = std::time::Instant::now();
    let error = Store::connect_retrying(&url, std::time::Duration::from_secs(1))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_secs(1), "{waited:?}");
    assert!(waited < std::time::Duration::from_secs(4), "{waited:?}");
    let llavero_store::StoreError::Unreachable {
        attempts, source, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(*attempts > 1);
    let sqlx::Error::Io(io) = source else {
        panic!("{source:?}");
    };
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(!error.to_string().contains("timed out"), "{error}");
}
