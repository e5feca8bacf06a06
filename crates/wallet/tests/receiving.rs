//! Receiving from Llavero's issuer: an agency's offer with its tx_code, opened in the wallet,
//! accepted, shown, exported, deleted; the status followed through a revocation.

use axum::http::StatusCode;
use serde_json::Value;

use crate::harness::RUN;
use crate::support::World;

#[tokio::test]
async fn an_agency_offer_with_tx_code_lands_in_the_wallet_as_a_batch() {
    received_as_a_batch(World::new().await).await;
}

#[tokio::test]
async fn an_agency_offer_lands_in_the_wallet_on_postgres() {
    if llavero_store::testing::skip_postgres() {
        return;
    }
    received_as_a_batch(World::postgres().await).await;
}

async fn received_as_a_batch(world: World) {
    let cookie = world.sign_in(RUN).await;
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    assert!(offer["tx_code"].is_string(), "{offer}");
    let done = world.receive(&cookie, &offer).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/wallet?notice=received_notice")
    );
    let held = world.held(&cookie).await;
    assert_eq!(held.len(), 3, "one credential per key of the batch");
    let home = world.get(&cookie, "/wallet").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Vigente"), "{}", home.body);
    let english = world.get(&cookie, "/wallet?lang=en").await;
    assert!(english.body.contains("Valid"), "{}", english.body);
    let detail = world
        .get(&cookie, &format!("/wallet/credentials/{}", held[0]))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("Valparaíso"), "{}", detail.body);
    // Each credential of the batch is bound to its own key.
    let export: Value =
        serde_json::from_str(&world.get(&cookie, "/wallet/export.json").await.body).unwrap();
    let mut keys = std::collections::HashSet::new();
    for c in export["credentials"].as_array().unwrap() {
        let sd_jwt =
            llavero_credentials::sd_jwt::SdJwt::parse(c["credential"].as_str().unwrap()).unwrap();
        keys.insert(sd_jwt.unverified_payload()["cnf"]["jwk"]["x"].to_string());
    }
    assert_eq!(keys.len(), 3);
}

#[tokio::test]
async fn a_deleted_credential_takes_its_key_with_it() {
    let world = World::new().await;
    let cookie = world.sign_in(RUN).await;
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    world.receive(&cookie, &offer).await;
    let held = world.held(&cookie).await;
    let detail = world
        .get(&cookie, &format!("/wallet/credentials/{}", held[0]))
        .await;
    let deleted = world
        .post(
            &cookie,
            &format!("/wallet/credentials/{}/delete", held[0]),
            &[("csrf", &detail.csrf())],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(world.held(&cookie).await.len(), 2);
    let account = world
        .wallet
        .sessions
        .signed_in(&cookie_headers(&cookie))
        .await
        .unwrap()
        .unwrap();
    let remaining = world
        .wallet
        .store
        .held_credentials(&account.account_id)
        .await
        .unwrap();
    assert!(
        remaining.iter().all(|c| c.id != held[0]),
        "the credential is gone"
    );
    // The deleted credential's key is gone; the others' remain.
    let keys: Vec<String> = remaining.iter().map(|c| c.key_id.clone()).collect();
    assert_eq!(keys.len(), 2);
}

pub fn cookie_headers(cookie: &str) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(axum::http::header::COOKIE, cookie.parse().unwrap());
    headers
}

#[tokio::test]
async fn a_revoked_credential_shows_revoked_after_the_list_is_read_again() {
    let world = World::new().await;
    let cookie = world.sign_in(RUN).await;
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    world.receive(&cookie, &offer).await;
    assert!(world.get(&cookie, "/wallet").await.body.contains("Vigente"));
    let listed = world
        .service
        .get_with_agency_token(crate::harness::REGISTRO, "/registro-civil/api/credentials")
        .await;
    let token = world.service.agency_token(crate::harness::REGISTRO).await;
    for credential in listed["credentials"].as_array().unwrap() {
        let id = credential["id"].as_str().unwrap();
        let response = world
            .service
            .post_json(
                &format!("/registro-civil/api/credentials/{id}/revoke"),
                Some(&token),
                &serde_json::json!({"reason": "prueba"}),
            )
            .await;
        assert!(response.status.is_success(), "{}", response.text());
    }
    // The wallet rereads a list once its cache time has passed.
    world.service.clock.advance(1800);
    // (A new login: the first session has been idle too long.)
    let cookie = world.sign_in(RUN).await;
    let home = world.get(&cookie, "/wallet").await;
    assert!(home.body.contains("Revocado"), "{}", home.body);
}
