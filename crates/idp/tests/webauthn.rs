//! WebAuthn with software authenticators (`webauthn-authenticator-rs` SoftPasskey): enrolment,
//! password + key, passkey alone, step-up, and the attacks.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::string_slice)] // helpers outside #[test] fns

mod harness;

use axum::http::StatusCode;
use harness::*;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::Url;

fn origin() -> Url {
    Url::parse(ISSUER).unwrap()
}

/// Logs in with the password (no authenticator yet) and enrols `key`.
async fn enrol(provider: &Provider, browser: &mut Browser, key: &mut SoftPasskey) -> String {
    let csrf = browser.get("/login").await.hidden("csrf");
    let login = browser
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
    assert_eq!(login.location(), "/account");
    let account = browser.get("/account").await;
    let csrf = account.hidden("csrf");
    let start = browser
        .post_json("/account/webauthn/register/start", &json!({"csrf": csrf}))
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    let start = start.json();
    let options = serde_json::from_value(start["options"].clone()).unwrap();
    let credential = key.do_registration(origin(), options).unwrap();
    let finish = browser
        .post_json("/account/webauthn/register/finish", &json!({"csrf": csrf, "ceremony": start["ceremony"], "name": "llave azul", "credential": credential}))
        .await;
    assert_eq!(finish.status, StatusCode::CREATED, "{}", finish.body);
    assert!(browser.get("/account").await.body.contains("llave azul"));
    let _ = provider;
    csrf
}

/// From the second-factor page, answers with `key`.
async fn assert_with(
    browser: &mut Browser,
    page: &Answer,
    key: &mut SoftPasskey,
    origin: Url,
) -> Answer {
    let options: Value =
        serde_json::from_str(&html_unescape(&attribute(&page.body, "data-options"))).unwrap();
    let ceremony = attribute(&page.body, "data-ceremony");
    let csrf = attribute(&page.body, "data-csrf");
    let assertion = key
        .do_authentication(origin, serde_json::from_value(options).unwrap())
        .unwrap();
    browser
        .post_json(
            "/login/webauthn/finish",
            &json!({"csrf": csrf, "ceremony": ceremony, "credential": assertion}),
        )
        .await
}

fn attribute(html: &str, name: &str) -> String {
    let needle = format!("{name}=\"");
    let start = html.find(&needle).unwrap() + needle.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Starts an authorization and logs in with the password; returns the second-factor page.
async fn password_step(
    provider: &Provider,
    browser: &mut Browser,
    extra: &[(&str, &str)],
) -> (Answer, String) {
    let (verifier, challenge) = pkce();
    let start = browser
        .authorize(&provider.client_id, &challenge, extra)
        .await;
    let page = browser.login(&start.location(), RUN, PASSWORD).await;
    (page, verifier)
}

#[tokio::test]
async fn password_then_security_key_reaches_substantial() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    enrol(&provider, &mut browser, &mut key).await;
    let mut fresh = provider.browser();
    let (page, verifier) = password_step(&provider, &mut fresh, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Confirma con tu llave"));
    assert!(
        !fresh.cookies.keys().any(|k| k.contains("session")),
        "no session after the password alone"
    );
    let done = assert_with(&mut fresh, &page, &mut key, origin()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let redirect = done.json()["redirect"].as_str().unwrap().to_owned();
    assert!(redirect.starts_with("/consent?request="), "{redirect}");
    let callback = fresh.consent(&redirect).await;
    let code = callback.location_params()["code"].clone();
    let tokens = provider.token(&code, &verifier).await.json();
    let id_token =
        llavero_credentials::jws::DecodedJws::decode(tokens["id_token"].as_str().unwrap()).unwrap();
    let claims = id_token.unverified_value().unwrap();
    assert_eq!(claims["acr"], "http://eidas.europa.eu/LoA/substantial");
    let amr: Vec<String> = serde_json::from_value(claims["amr"].clone()).unwrap();
    assert!(
        amr.contains(&"pwd".to_owned()) && amr.contains(&"mfa".to_owned()),
        "{amr:?}"
    );
    assert!(amr.iter().any(|a| a == "hwk" || a == "swk"), "{amr:?}");
}

#[tokio::test]
async fn a_client_requiring_substantial_gets_it_only_with_the_key() {
    let provider = Provider::new().await;
    let (client_id, _) = provider
        .register(llavero_idp::clients::Registration {
            name: "Tesorería".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["openid run".into()],
            token_endpoint_auth_method: None,
            min_acr: Some("http://eidas.europa.eu/LoA/substantial".into()),
            ..Default::default()
        })
        .await;
    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    enrol(&provider, &mut browser, &mut key).await;
    // The password-only session from enrolment is not enough: step-up to the key.
    let (_, challenge) = pkce();
    let start = browser
        .authorize(&client_id, &challenge, &[("scope", "openid run")])
        .await;
    assert!(start.location().starts_with("/login?request="), "{start:?}");
    let page = browser.login(&start.location(), RUN, PASSWORD).await;
    let done = assert_with(&mut browser, &page, &mut key, origin()).await;
    let redirect = done.json()["redirect"].as_str().unwrap().to_owned();
    assert!(redirect.starts_with("/consent?request="), "{redirect}");
}

#[tokio::test]
async fn replayed_foreign_and_wrong_origin_assertions_are_refused() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    enrol(&provider, &mut browser, &mut key).await;

    // Wrong origin: a look-alike host under the RP id, which the authenticator accepts but the
    // provider must not (the software authenticator itself refuses unrelated hosts).
    let mut victim = provider.browser();
    let (page, _) = password_step(&provider, &mut victim, &[]).await;
    let phished = assert_with(
        &mut victim,
        &page,
        &mut key,
        Url::parse("https://login.idp.llavero.test").unwrap(),
    )
    .await;
    assert_eq!(phished.status, StatusCode::UNAUTHORIZED);

    // Replay: the same assertion twice.
    let mut again = provider.browser();
    let (page, _) = password_step(&provider, &mut again, &[]).await;
    let options: Value =
        serde_json::from_str(&html_unescape(&attribute(&page.body, "data-options"))).unwrap();
    let assertion = key
        .do_authentication(origin(), serde_json::from_value(options).unwrap())
        .unwrap();
    let body = json!({"csrf": attribute(&page.body, "data-csrf"), "ceremony": attribute(&page.body, "data-ceremony"), "credential": assertion});
    assert_eq!(
        again
            .post_json("/login/webauthn/finish", &body)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        again
            .post_json("/login/webauthn/finish", &body)
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "ceremony is single use"
    );

    // An assertion for another ceremony (another challenge).
    let mut third = provider.browser();
    let (page_a, _) = password_step(&provider, &mut third, &[]).await;
    let mut fourth = provider.browser();
    let (page_b, _) = password_step(&provider, &mut fourth, &[]).await;
    let options_b: Value =
        serde_json::from_str(&html_unescape(&attribute(&page_b.body, "data-options"))).unwrap();
    let for_b = key
        .do_authentication(origin(), serde_json::from_value(options_b).unwrap())
        .unwrap();
    let mixed = json!({"csrf": attribute(&page_a.body, "data-csrf"), "ceremony": attribute(&page_a.body, "data-ceremony"), "credential": for_b});
    assert_eq!(
        third
            .post_json("/login/webauthn/finish", &mixed)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // And a ceremony of another browser.
    let stolen = json!({"csrf": attribute(&page_a.body, "data-csrf"), "ceremony": attribute(&page_b.body, "data-ceremony"), "credential": for_b});
    assert_eq!(
        third
            .post_json("/login/webauthn/finish", &stolen)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Expired ceremony.
    let mut late = provider.browser();
    let (page, _) = password_step(&provider, &mut late, &[]).await;
    provider.clock.advance(301);
    let answer = assert_with(&mut late, &page, &mut key, origin()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_counter_going_backwards_rejects_and_flags_the_key() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    enrol(&provider, &mut browser, &mut key).await;
    // The stored counter jumps ahead, as if a clone had been used many times.
    let account = provider
        .idp
        .store
        .account_by_run(12_345_678)
        .await
        .unwrap()
        .unwrap();
    let stored = provider
        .idp
        .store
        .webauthn_credentials(&account.id)
        .await
        .unwrap()
        .remove(0);
    let mut passkey: Value = serde_json::from_str(&stored.passkey).unwrap();
    passkey["cred"]["counter"] = json!(1_000_000);
    provider
        .idp
        .store
        .used_webauthn_credential(&stored.credential_id, &passkey.to_string(), false, START)
        .await
        .unwrap();
    let mut fresh = provider.browser();
    let (page, _) = password_step(&provider, &mut fresh, &[]).await;
    let answer = assert_with(&mut fresh, &page, &mut key, origin()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let flagged = provider
        .idp
        .store
        .webauthn_credentials(&account.id)
        .await
        .unwrap()
        .remove(0);
    assert!(flagged.flagged_at.is_some());
    let history = provider
        .idp
        .store
        .audit_of_account(&account.id, 5)
        .await
        .unwrap();
    assert!(history.iter().any(|e| {
        e.kind == "login.webauthn"
            && e.detail["reason"]
                .as_str()
                .is_some_and(|r| r.contains("cloned"))
    }));
}

#[tokio::test]
async fn the_last_key_cannot_be_removed() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    let csrf = enrol(&provider, &mut browser, &mut key).await;
    let account = provider
        .idp
        .store
        .account_by_run(12_345_678)
        .await
        .unwrap()
        .unwrap();
    let only = provider
        .idp
        .store
        .webauthn_credentials(&account.id)
        .await
        .unwrap()
        .remove(0);
    let answer = browser
        .post(
            "/account/webauthn/remove",
            &[("csrf", &csrf), ("credential", &only.credential_id)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        provider
            .idp
            .store
            .webauthn_credentials(&account.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let mut second = SoftPasskey::new(true);
    let start = browser
        .post_json("/account/webauthn/register/start", &json!({"csrf": csrf}))
        .await
        .json();
    let credential = second
        .do_registration(
            origin(),
            serde_json::from_value(start["options"].clone()).unwrap(),
        )
        .unwrap();
    let added = browser.post_json("/account/webauthn/register/finish", &json!({"csrf": csrf, "ceremony": start["ceremony"], "name": "repuesto", "credential": credential})).await;
    assert_eq!(added.status, StatusCode::CREATED);
    let removed = browser
        .post(
            "/account/webauthn/remove",
            &[("csrf", &csrf), ("credential", &only.credential_id)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        provider
            .idp
            .store
            .webauthn_credentials(&account.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn recovery_codes_work_once_and_send_the_citizen_to_enrol_a_new_key() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    let csrf = enrol(&provider, &mut browser, &mut key).await;
    let page = browser
        .post("/account/recovery-codes", &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let codes: Vec<String> = page
        .body
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let account = provider
        .idp
        .store
        .account_by_run(12_345_678)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        provider
            .idp
            .store
            .recovery_codes_left(&account.id)
            .await
            .unwrap(),
        10
    );
    let stored =
        serde_json::to_string(&provider.idp.store.audit_between(0, i64::MAX).await.unwrap())
            .unwrap();
    assert!(
        !codes.iter().any(|c| stored.contains(c.as_str())),
        "codes are not in the audit trail"
    );

    // Lost key: password, then a recovery code instead of the key.
    let mut lost = provider.browser();
    let (second, _) = password_step(&provider, &mut lost, &[]).await;
    let form = [
        ("csrf", attribute(&second.body, "data-csrf")),
        ("ceremony", attribute(&second.body, "data-ceremony")),
        ("code", codes[0].to_lowercase()),
    ];
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = lost.post("/login/recovery", &borrowed).await;
    assert_eq!(
        (answer.status, answer.location().as_str()),
        (StatusCode::SEE_OTHER, "/account?enrol=1")
    );
    let account_page = lost.get("/account?enrol=1").await;
    assert!(account_page.body.contains("agrega ahora una llave nueva"));
    assert_eq!(
        provider
            .idp
            .store
            .recovery_codes_left(&account.id)
            .await
            .unwrap(),
        9
    );

    // The same code a second time does not work.
    let mut again = provider.browser();
    let (second, _) = password_step(&provider, &mut again, &[]).await;
    let form = [
        ("csrf", attribute(&second.body, "data-csrf")),
        ("ceremony", attribute(&second.body, "data-ceremony")),
        ("code", codes[0].clone()),
    ];
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        again.post("/login/recovery", &borrowed).await.status,
        StatusCode::UNAUTHORIZED
    );

    // With recovery codes left, even the last key may be removed.
    let only = provider
        .idp
        .store
        .webauthn_credentials(&account.id)
        .await
        .unwrap()
        .remove(0);
    let csrf = lost.get("/account").await.hidden("csrf");
    let removed = lost
        .post(
            "/account/webauthn/remove",
            &[("csrf", &csrf), ("credential", &only.credential_id)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn key_changes_need_a_fresh_login_and_offer_to_end_other_sessions() {
    let provider = Provider::new().await;
    let mut other_device = provider.browser();
    let csrf_other = other_device.get("/login").await.hidden("csrf");
    other_device
        .post(
            "/login",
            &[
                ("csrf", &csrf_other),
                ("request", ""),
                ("run", RUN),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(other_device.get("/account").await.status, StatusCode::OK);

    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    let csrf = enrol(&provider, &mut browser, &mut key).await;
    let account = provider
        .idp
        .store
        .account_by_run(12_345_678)
        .await
        .unwrap()
        .unwrap();
    let id = provider
        .idp
        .store
        .webauthn_credentials(&account.id)
        .await
        .unwrap()
        .remove(0)
        .credential_id;
    let renamed = browser
        .post(
            "/account/webauthn/rename",
            &[("csrf", &csrf), ("credential", &id), ("name", "llave roja")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    assert!(browser.get("/account").await.body.contains("llave roja"));

    let changed = browser.get("/account?changed=1").await;
    assert!(changed.body.contains("/account/sessions/end-others"));
    let ended = browser
        .post("/account/sessions/end-others", &[("csrf", &csrf)])
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(
        other_device.get("/account").await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert_eq!(
        browser.get("/account").await.status,
        StatusCode::OK,
        "this one did not"
    );

    // Ten minutes later, changes need a new login.
    provider.clock.advance(601);
    let stale = browser
        .post_json("/account/webauthn/register/start", &json!({"csrf": csrf}))
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let rename = browser
        .post(
            "/account/webauthn/rename",
            &[("csrf", &csrf), ("credential", &id), ("name", "otra")],
        )
        .await;
    assert_eq!(rename.status, StatusCode::FORBIDDEN);
    assert!(browser.get("/account").await.body.contains("llave roja"));
}
