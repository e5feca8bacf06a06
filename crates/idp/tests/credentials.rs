//! Wallets ask this provider for credentials (OpenID4VCI 1.0 §5): by scope or by
//! `authorization_details`, as plain OAuth without `openid`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod harness;

use axum::http::StatusCode;
use harness::{PASSWORD, Provider, RUN, pkce};
use serde_json::json;

const WALLET_REDIRECT: &str = "https://wallet.example/cb";

async fn wallet(provider: &Provider) -> String {
    provider
        .register(llavero_idp::clients::Registration {
            name: "Billetera".into(),
            redirect_uris: vec![WALLET_REDIRECT.into()],
            scopes: vec!["birth-certificate_sd-jwt identity-card_sd-jwt".into()],
            token_endpoint_auth_method: Some("none".into()),
            ..Default::default()
        })
        .await
        .0
}

#[tokio::test]
async fn a_wallet_gets_credential_scopes_and_identifiers_without_an_id_token() {
    let provider = Provider::new().await;
    let client_id = wallet(&provider).await;
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let details = json!([{"type": "openid_credential", "credential_configuration_id": "identity-card_sd-jwt"}]);
    let start = browser
        .authorize(
            &client_id,
            &challenge,
            &[
                ("redirect_uri", WALLET_REDIRECT),
                ("scope", "birth-certificate_sd-jwt"),
                ("nonce", ""),
                ("authorization_details", &details.to_string()),
            ],
        )
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let consent = browser.login(&start.location(), RUN, PASSWORD).await;
    let page = browser.get(&consent.location()).await;
    assert!(
        page.body.contains("«identity-card_sd-jwt»")
            && page.body.contains("«birth-certificate_sd-jwt»"),
        "the consent page names each credential: {}",
        page.body
    );
    let done = browser.consent(&consent.location()).await;
    let code = done.location_params()["code"].clone();
    let answer = provider
        .back(
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", WALLET_REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let token = answer.json();
    assert!(token.get("id_token").is_none(), "no openid, no ID token");
    assert_eq!(token["scope"], "birth-certificate_sd-jwt");
    assert_eq!(
        token["authorization_details"],
        json!([{"type": "openid_credential", "credential_configuration_id": "identity-card_sd-jwt",
                "credential_identifiers": ["identity-card_sd-jwt"]}])
    );
}

#[tokio::test]
async fn credentials_the_client_may_not_ask_for_and_bare_claim_scopes_are_refused() {
    let provider = Provider::new().await;
    let client_id = wallet(&provider).await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    let details = json!([{"type": "openid_credential", "credential_configuration_id": "driving-licence_sd-jwt"}]);
    let refused = browser
        .authorize(
            &client_id,
            &challenge,
            &[
                ("redirect_uri", WALLET_REDIRECT),
                ("scope", ""),
                ("authorization_details", &details.to_string()),
            ],
        )
        .await;
    assert_eq!(
        refused.location_params()["error"],
        "invalid_authorization_details"
    );
    let malformed = browser
        .authorize(
            &client_id,
            &challenge,
            &[
                ("redirect_uri", WALLET_REDIRECT),
                ("scope", ""),
                (
                    "authorization_details",
                    "[{\"type\":\"payment_initiation\"}]",
                ),
            ],
        )
        .await;
    assert_eq!(
        malformed.location_params()["error"],
        "invalid_authorization_details"
    );
    // A relying party asking for claims still needs openid.
    let no_openid = browser
        .authorize(&provider.client_id, &challenge, &[("scope", "run name")])
        .await;
    assert_eq!(no_openid.location_params()["error"], "invalid_scope");
}
