//! Attacks on the wallet: one citizen reaching another's credentials, forms without the
//! citizen's token, malicious offers, and holder keys stored in the clear.

use axum::http::StatusCode;

use crate::harness::{OTHER_RUN, RUN};
use crate::support::World;

#[tokio::test]
async fn one_citizen_cannot_reach_anothers_credential_by_id() {
    let world = World::new().await;
    let owner = world.sign_in(RUN).await;
    let other = world.sign_in(OTHER_RUN).await;
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    world.receive(&owner, &offer).await;
    let id = world.held(&owner).await.remove(0);
    let seen = world
        .get(&other, &format!("/wallet/credentials/{id}"))
        .await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    let other_home = world.get(&other, "/wallet").await;
    let deleted = world
        .post(
            &other,
            &format!("/wallet/credentials/{id}/delete"),
            &[("csrf", &other_home.csrf())],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
    assert!(world.held(&other).await.is_empty());
    assert_eq!(world.held(&owner).await.len(), 3);
}

#[tokio::test]
async fn an_offer_for_one_citizen_cannot_be_accepted_by_another_session() {
    let world = World::new().await;
    let owner = world.sign_in(RUN).await;
    let other = world.sign_in(OTHER_RUN).await;
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    let link = format!(
        "/wallet/offer?credential_offer={}",
        form_urlencoded::byte_serialize(offer["credential_offer"].to_string().as_bytes())
            .collect::<String>()
    );
    let opened = world.get(&owner, &link).await;
    let path = opened.location.unwrap();
    let other_home = world.get(&other, "/wallet").await;
    let taken = world
        .post(
            &other,
            &format!("{path}/accept"),
            &[("csrf", &other_home.csrf())],
        )
        .await;
    assert_eq!(taken.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_without_the_citizens_token_are_refused() {
    let world = World::new().await;
    let owner = world.sign_in(RUN).await;
    let other = world.sign_in(OTHER_RUN).await;
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    world.receive(&owner, &offer).await;
    let id = world.held(&owner).await.remove(0);
    // Another session's token is not this session's.
    let other_token = world.get(&other, "/wallet").await.csrf();
    let refused = world
        .post(
            &owner,
            &format!("/wallet/credentials/{id}/delete"),
            &[("csrf", &other_token)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(world.held(&owner).await.len(), 3);
}

#[tokio::test]
async fn not_signed_in_goes_to_the_login() {
    let world = World::new().await;
    let page = world.get("", "/wallet").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/login"));
}

#[tokio::test]
async fn malicious_offers_are_refused() {
    let world = World::new().await;
    let cookie = world.sign_in(RUN).await;
    let home = world.get(&cookie, "/wallet").await;
    let csrf = home.csrf();
    for offer in [
        // A plain-http issuer outside development.
        r#"{"credential_issuer":"http://evil.example/x","credential_configuration_ids":["a"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c"}}}"#.to_owned(),
        // A plain-http offer URI.
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fevil.example%2Fo".to_owned(),
        // An offer larger than any real one.
        format!("openid-credential-offer://?credential_offer={}", "a".repeat(20_000)),
        // Both forms at once.
        "openid-credential-offer://?credential_offer=%7B%7D&credential_offer_uri=https%3A%2F%2Fx".to_owned(),
    ] {
        let page = world
            .post(&cookie, "/wallet/offer", &[("csrf", &csrf), ("offer", &offer)])
            .await;
        assert!(
            page.status.is_client_error() || page.status == StatusCode::BAD_GATEWAY,
            "{offer}: {}",
            page.status
        );
    }
    // Oversized issuer metadata.
    *world.fetch.oversized.lock().unwrap() =
        Some("/.well-known/openid-credential-issuer/registro-civil".into());
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    let page = world
        .post(
            &cookie,
            "/wallet/offer",
            &[
                ("csrf", &csrf),
                ("offer", &offer["credential_offer"].to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(world.held(&cookie).await.is_empty());
}

#[tokio::test]
async fn a_wrong_tx_code_stores_nothing_and_leaves_no_keys() {
    let world = World::new().await;
    let cookie = world.sign_in(RUN).await;
    let mut offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    offer["tx_code"] = serde_json::json!("000000");
    let page = world.receive(&cookie, &offer).await;
    assert!(page.status.is_client_error() || page.status == StatusCode::BAD_GATEWAY);
    assert!(world.held(&cookie).await.is_empty());
}

#[tokio::test]
async fn no_holder_private_key_is_stored_unsealed() {
    let world = World::new().await;
    let cookie = world.sign_in(RUN).await;
    let offer = world.offer(RUN, &["birth-certificate_sd-jwt"]).await;
    world.receive(&cookie, &offer).await;
    assert_eq!(world.held(&cookie).await.len(), 3);
    // Every stored holder key, and everything else the wallet stored for the citizen, is
    // scanned for a private JWK member: the keys' `d` never appears in the clear, and a sealed
    // key does not open with the master key alone (it is sealed under the citizen's data key).
    let citizen = world
        .wallet
        .sessions
        .signed_in(&crate::receiving::cookie_headers(&cookie))
        .await
        .unwrap()
        .unwrap();
    let store = &world.wallet.store;
    let held = store.held_credentials(&citizen.account_id).await.unwrap();
    let has_private_member = |bytes: &[u8]| bytes.windows(5).any(|w| w == b"\"d\":\"");
    for credential in &held {
        let key = store
            .wallet_key(&citizen.account_id, &credential.key_id)
            .await
            .unwrap()
            .unwrap();
        assert!(!has_private_member(&key.sealed_private_key));
        assert!(!has_private_member(key.public_jwk.as_bytes()));
        assert!(serde_json::from_slice::<serde_json::Value>(&key.sealed_private_key).is_err());
        assert!(
            world
                .service
                .idp
                .master
                .open(
                    &format!("wallet-key:{}:{}", citizen.account_id, key.id),
                    &key.sealed_private_key
                )
                .is_err()
        );
        assert!(!has_private_member(credential.credential.as_bytes()));
        assert!(!has_private_member(credential.display.as_bytes()));
    }
    let export = world.get(&cookie, "/wallet/export.json").await;
    assert!(!has_private_member(export.body.as_bytes()));
}
