//! Two provider instances on one PostgreSQL database, as behind a load balancer: a flow started
//! on one finishes on the other, because every piece of state is in the database.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod harness;

use axum::http::StatusCode;
use harness::*;
use llavero_idp::seal::MasterKey;
use llavero_store::Store;

/// Two instances (`a` seeded) on a fresh PostgreSQL schema, with the same master key and client.
async fn two_instances() -> (Provider, Provider) {
    let url = llavero_store::testing::postgres_schema_url().await.unwrap();
    let master = MasterKey::generate();
    let same_master = || MasterKey::from_base64(&master.to_base64()).unwrap();
    let mut a = Provider::on(Store::connect(&url).await.unwrap(), same_master(), None).await;
    a.seed().await;
    let client = Some((a.client_id.clone(), a.client_secret.clone()));
    let b = Provider::on(Store::connect(&url).await.unwrap(), same_master(), client).await;
    (a, b)
}

#[tokio::test]
async fn a_flow_started_on_one_instance_finishes_on_the_other() {
    if llavero_store::testing::skip_postgres() {
        return;
    }
    let (a, b) = two_instances().await;

    let mut browser = a.browser();
    let (verifier, challenge) = pkce();
    let start = browser.authorize(&a.client_id, &challenge, &[]).await;
    assert!(start.location().starts_with("/login?request="));
    browser.switch_to(&b.router);
    let consent = browser.login(&start.location(), RUN, PASSWORD).await;
    assert!(
        consent.location().starts_with("/consent?request="),
        "{consent:?}"
    );
    browser.switch_to(&a.router);
    let done = browser.consent(&consent.location()).await;
    let code = done.location_params()["code"].clone();

    let tokens = b.token(&code, &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let tokens = tokens.json();
    let info = a.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["RolUnico"]["numero"], 12_345_678);
    // The ID token from B verifies against A's JWKS.
    let jwks = browser.get("/jwks").await.json();
    let id_token =
        llavero_credentials::jws::DecodedJws::decode(tokens["id_token"].as_str().unwrap()).unwrap();
    let key = llavero_credentials::jwk::Jwk::from_value(&jwks["keys"][0]).unwrap();
    id_token
        .verify(
            llavero_credentials::crypto::default_backend(),
            &key,
            &llavero_credentials::jws::AlgorithmPolicy::es256_only(),
        )
        .unwrap();

    // A refresh token B issued rotates on A, which reads its grant from the database for the
    // audit entry committed with the rotation.
    let rotated = a
        .back(
            "/token",
            Some(&a.basic()),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let trail = a.idp.store.audit_between(0, i64::MAX).await.unwrap();
    let issued: Vec<_> = trail.iter().filter(|e| e.kind == "token.issued").collect();
    assert_eq!(issued.len(), 2);
    assert_eq!(issued[1].detail["grant_type"], "refresh_token");
    assert_eq!(issued[1].account_id, issued[0].account_id);
    assert!(issued[1].account_id.is_some());

    // Replaying the code on the other instance is caught, and revokes what B issued.
    assert_eq!(
        a.token(&code, &verifier).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(
        b.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // The session made on B is known to A.
    browser.switch_to(&a.router);
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    // Lockout counters are shared too.
    let csrf = browser.get("/login").await.hidden("csrf");
    for (i, router) in [&a.router, &b.router].iter().cycle().take(5).enumerate() {
        browser.switch_to(router);
        let answer = browser
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("request", ""),
                    ("run", RUN),
                    ("password", "wrong"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    browser.switch_to(&b.router);
    let sixth = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("run", RUN),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
}

/// The grace window is decided by the database: a rotation committed by one instance whose
/// answer was lost is retried on the other, which gives a fresh pair; the family lives on, and
/// once its successor is used the lost token revokes it, on either instance.
#[tokio::test]
async fn refresh_retry_within_grace_works_on_another_instance() {
    if llavero_store::testing::skip_postgres() {
        return;
    }
    let (a, b) = two_instances().await;
    let mut browser = a.browser();
    let (code, verifier) = browser.code(&a).await;
    let tokens = a.token(&code, &verifier).await.json();
    let old = tokens["refresh_token"].as_str().unwrap();
    let lost = refresh(&b, old).await;
    assert_eq!(lost.status, StatusCode::OK, "{}", lost.body);
    let retry = refresh(&a, old).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    let fresh = retry.json()["refresh_token"].as_str().unwrap().to_owned();
    let next = refresh(&b, &fresh).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    let stale = refresh(&a, old).await;
    assert_eq!(stale.json()["error"], "invalid_grant");
    let access = next.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(b.userinfo(&access).await.status, StatusCode::UNAUTHORIZED);
}

/// POST /token with refresh token `token`, as the provider's client.
async fn refresh(provider: &Provider, token: &str) -> Answer {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    provider
        .back("/token", Some(&provider.basic()), &form)
        .await
}
