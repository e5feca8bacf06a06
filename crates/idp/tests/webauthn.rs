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

/// Logs in with the password (only factor so far); returns the account page's CSRF token.
async fn password_session(browser: &mut Browser) -> String {
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
    browser.get("/account").await.hidden("csrf")
}

/// Confirms the session with `key` on the account page (good for one factor change).
async fn confirm(browser: &mut Browser, key: &mut SoftPasskey, csrf: &str) -> Answer {
    let start = browser
        .post_json("/account/confirm/start", &json!({"csrf": csrf}))
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    let start = start.json();
    let assertion = key
        .do_authentication(
            origin(),
            serde_json::from_value(start["options"].clone()).unwrap(),
        )
        .unwrap();
    browser
        .post_json(
            "/account/confirm/finish",
            &json!({"csrf": csrf, "ceremony": start["ceremony"], "credential": assertion}),
        )
        .await
}

/// [`confirm`], which must succeed.
async fn confirmed(browser: &mut Browser, key: &mut SoftPasskey, csrf: &str) {
    let answer = confirm(browser, key, csrf).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// Logs in with the password (no authenticator yet) and enrols `key`.
async fn enrol(provider: &Provider, browser: &mut Browser, key: &mut SoftPasskey) -> String {
    let csrf = password_session(browser).await;
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
    confirmed(&mut browser, &mut key, &csrf).await;
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
    confirmed(&mut browser, &mut key, &csrf).await;
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
    confirmed(&mut browser, &mut second, &csrf).await;
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
    confirmed(&mut browser, &mut key, &csrf).await;
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

    // With recovery codes left, even the last key may be removed: the login with password and
    // recovery code is the confirmation (for one change).
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
async fn each_key_change_needs_a_fresh_confirmation_and_offers_to_end_other_sessions() {
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
    // Right after a password-only login, an enrolled account cannot change its keys.
    let unconfirmed = browser
        .post(
            "/account/webauthn/rename",
            &[
                ("csrf", &csrf),
                ("credential", &id),
                ("name", "sin confirmar"),
            ],
        )
        .await;
    assert_eq!(unconfirmed.status, StatusCode::FORBIDDEN);
    confirmed(&mut browser, &mut key, &csrf).await;
    assert!(
        browser
            .get("/account?confirmed=1")
            .await
            .body
            .contains("puedes hacer un cambio")
    );
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

    // The confirmation was spent by the rename: the next change needs another.
    let second_change = browser
        .post(
            "/account/webauthn/rename",
            &[("csrf", &csrf), ("credential", &id), ("name", "otra")],
        )
        .await;
    assert_eq!(second_change.status, StatusCode::FORBIDDEN);
    let register = browser
        .post_json("/account/webauthn/register/start", &json!({"csrf": csrf}))
        .await;
    assert_eq!(register.status, StatusCode::FORBIDDEN);

    // A confirmation lapses after five minutes.
    confirmed(&mut browser, &mut key, &csrf).await;
    provider.clock.advance(301);
    let stale = browser
        .post(
            "/account/webauthn/rename",
            &[("csrf", &csrf), ("credential", &id), ("name", "otra")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert!(browser.get("/account").await.body.contains("llave roja"));
}

#[tokio::test]
async fn a_confirmation_ceremony_is_its_sessions_and_used_once() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let mut key = SoftPasskey::new(true);
    let csrf = enrol(&provider, &mut browser, &mut key).await;
    let start = browser
        .post_json("/account/confirm/start", &json!({"csrf": csrf}))
        .await
        .json();
    let assertion = key
        .do_authentication(
            origin(),
            serde_json::from_value(start["options"].clone()).unwrap(),
        )
        .unwrap();
    let body = json!({"csrf": csrf, "ceremony": start["ceremony"], "credential": assertion});
    // Another session of the same citizen (another device) cannot finish it.
    let mut thief = provider.browser();
    let (second, _) = password_step(&provider, &mut thief, &[]).await;
    assert_with(&mut thief, &second, &mut key, origin()).await;
    let thief_csrf = thief.get("/account").await.hidden("csrf");
    let foreign = thief
        .post_json(
            "/account/confirm/finish",
            &json!({"csrf": thief_csrf, "ceremony": start["ceremony"], "credential": assertion}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        browser
            .post_json("/account/confirm/finish", &body)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        browser
            .post_json("/account/confirm/finish", &body)
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "replayed"
    );
    let audit =
        serde_json::to_string(&provider.idp.store.audit_between(0, i64::MAX).await.unwrap())
            .unwrap();
    assert!(audit.contains("confirmed"), "confirmations are audited");
}

// ---------------------------------------------------------------------------------------------
// Attestation allow-list: eIDAS high, staff accounts. `SoftToken` attests with a CA of its own,
// which the tests configure (or not) as the trusted CA.

mod attestation {
    use llavero_idp::attestation::{AttestationPolicy, AttestationTrust};
    use llavero_store::Store;
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_authenticator_rs::softtoken::{AAGUID, SoftToken};

    use super::*;

    const HIGH: &str = "http://eidas.europa.eu/LoA/high";
    const SUBSTANTIAL: &str = "http://eidas.europa.eu/LoA/substantial";

    /// A soft security key (user verification) and its attestation CA, PEM.
    fn token() -> (SoftToken, String) {
        use crypto_glue::traits::{EncodePem as _, LineEndingPem};
        let (token, ca) = SoftToken::new(true).unwrap();
        (token, ca.to_pem(LineEndingPem::LF).unwrap())
    }

    fn policy(ca_pem: &str, aaguid: &str) -> AttestationPolicy {
        AttestationPolicy::new(&[AttestationTrust {
            ca_pem: ca_pem.to_owned(),
            aaguids: vec![aaguid.to_owned()],
        }])
        .unwrap()
    }

    async fn provider(store: Store, allow: Option<AttestationPolicy>) -> Provider {
        Provider::configured_on(store, |c| c.webauthn_attestation = allow).await
    }

    /// A public client (PKCE, no secret), with a minimum `acr` if given.
    async fn public_client(provider: &Provider, acr: Option<&str>) -> String {
        provider
            .register(llavero_idp::clients::Registration {
                name: "Servicio".into(),
                redirect_uris: vec![REDIRECT.into()],
                scopes: vec!["openid run".into()],
                token_endpoint_auth_method: Some("none".into()),
                min_acr: acr.map(str::to_owned),
                ..Default::default()
            })
            .await
            .0
    }

    /// Registers `key` from the account page; returns the finish answer (and the options the
    /// provider asked with).
    async fn register(
        browser: &mut Browser,
        csrf: &str,
        key: &mut impl WebauthnAuthenticator,
    ) -> (Answer, Value) {
        let start = browser
            .post_json("/account/webauthn/register/start", &json!({"csrf": csrf}))
            .await;
        assert_eq!(start.status, StatusCode::OK, "{}", start.body);
        let start = start.json();
        let options = start["options"].clone();
        let credential = key
            .do_registration(origin(), serde_json::from_value(options.clone()).unwrap())
            .unwrap();
        let finish = browser
            .post_json("/account/webauthn/register/finish", &json!({"csrf": csrf, "ceremony": start["ceremony"], "name": "llave", "credential": credential}))
            .await;
        (finish, options)
    }

    /// An authorization for `client_id` through password and `key`; returns the last answer
    /// (the redirect to the client) and the PKCE verifier.
    async fn log_in(
        browser: &mut Browser,
        client_id: &str,
        key: &mut impl WebauthnAuthenticator,
    ) -> (Answer, String, Value) {
        let (verifier, challenge) = pkce();
        let start = browser
            .authorize(client_id, &challenge, &[("scope", "openid run")])
            .await;
        assert!(start.location().starts_with("/login?request="), "{start:?}");
        let page = browser.login(&start.location(), RUN, PASSWORD).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let options: Value =
            serde_json::from_str(&html_unescape(&attribute(&page.body, "data-options"))).unwrap();
        let assertion = key
            .do_authentication(origin(), serde_json::from_value(options.clone()).unwrap())
            .unwrap();
        let done = browser
            .post_json(
                "/login/webauthn/finish",
                &json!({"csrf": attribute(&page.body, "data-csrf"), "ceremony": attribute(&page.body, "data-ceremony"), "credential": assertion}),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        let redirect = done.json()["redirect"].as_str().unwrap().to_owned();
        let answer = if redirect.starts_with("/consent") {
            browser.consent(&redirect).await
        } else {
            Answer {
                status: StatusCode::SEE_OTHER,
                headers: {
                    let mut h = axum::http::HeaderMap::new();
                    h.insert(axum::http::header::LOCATION, redirect.parse().unwrap());
                    h
                },
                body: String::new(),
            }
        };
        (answer, verifier, options)
    }

    async fn id_token_claims(
        provider: &Provider,
        client_id: &str,
        answer: &Answer,
        verifier: &str,
    ) -> Value {
        let code = answer.location_params()["code"].clone();
        let tokens = provider
            .back(
                "/token",
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier),
                    ("client_id", client_id),
                ],
            )
            .await;
        assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
        let id_token = llavero_credentials::jws::DecodedJws::decode(
            tokens.json()["id_token"].as_str().unwrap(),
        )
        .unwrap();
        id_token.unverified_value().unwrap()
    }

    async fn account_id(provider: &Provider) -> String {
        provider
            .idp
            .store
            .account_by_run(12_345_678)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    async fn an_attested_key_reaches_high(store: Store) {
        let (mut key, ca) = token();
        let provider = provider(store, Some(policy(&ca, &AAGUID.to_string()))).await;
        let mut browser = provider.browser();
        let csrf = password_session(&mut browser).await;
        let (finish, options) = register(&mut browser, &csrf, &mut key).await;
        assert_eq!(finish.status, StatusCode::CREATED, "{}", finish.body);
        assert_eq!(options["publicKey"]["attestation"], "direct");
        assert_eq!(finish.json()["attested"], true);
        let stored = provider
            .idp
            .store
            .webauthn_credentials(&account_id(&provider).await)
            .await
            .unwrap();
        assert_eq!(
            stored[0].attestation.as_ref().unwrap().aaguid,
            AAGUID.to_string()
        );

        let client_id = public_client(&provider, Some(HIGH)).await;
        let mut fresh = provider.browser();
        let (answer, verifier, _) = log_in(&mut fresh, &client_id, &mut key).await;
        assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
        let claims = id_token_claims(&provider, &client_id, &answer, &verifier).await;
        assert_eq!(claims["acr"], HIGH);
        assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "mfa"]));
        let discovery = fresh.get("/.well-known/openid-configuration").await.json();
        assert!(
            discovery["acr_values_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == HIGH)
        );
    }

    async fn keys_off_the_list_are_ordinary_factors(store: Store, other_ca: bool) {
        let (mut key, ca) = token();
        let allow = if other_ca {
            let (_, foreign) = token();
            policy(&foreign, &AAGUID.to_string())
        } else {
            policy(&ca, "00000000-0000-4000-8000-000000000001")
        };
        let provider = provider(store, Some(allow)).await;
        let mut browser = provider.browser();
        let csrf = password_session(&mut browser).await;
        let (finish, _) = register(&mut browser, &csrf, &mut key).await;
        assert_eq!(finish.status, StatusCode::CREATED, "{}", finish.body);
        assert_eq!(finish.json()["attested"], false);

        let substantial = public_client(&provider, None).await;
        let (answer, verifier, _) = log_in(&mut provider.browser(), &substantial, &mut key).await;
        let claims = id_token_claims(&provider, &substantial, &answer, &verifier).await;
        assert_eq!(claims["acr"], SUBSTANTIAL);

        // Step-up to high with it: the ceremony completes, the level does not.
        let high = public_client(&provider, Some(HIGH)).await;
        let (answer, _, _) = log_in(&mut provider.browser(), &high, &mut key).await;
        assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
        assert_eq!(answer.location_params()["error"], "access_denied");
    }

    async fn staff_accounts_need_an_allowed_attestation(store: Store) {
        let (mut good, ca) = token();
        let provider = provider(store, Some(policy(&ca, &AAGUID.to_string()))).await;
        let changed = llavero_idp::accounts::set_staff(&provider.idp, RUN.parse().unwrap(), true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changed.unattested_keys, 0);
        let mut browser = provider.browser();
        let csrf = password_session(&mut browser).await;
        // A key from another manufacturer (its CA is not listed): refused.
        let (mut foreign, _) = token();
        let (refused, options) = register(&mut browser, &csrf, &mut foreign).await;
        assert_eq!(options["publicKey"]["attestation"], "direct");
        assert_eq!(
            options["publicKey"]["authenticatorSelection"]["userVerification"],
            "required"
        );
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.json()["error"]
                .as_str()
                .unwrap()
                .contains("staff accounts")
        );
        // A passkey without attestation: refused.
        let (refused, _) = register(&mut browser, &csrf, &mut SoftPasskey::new(true)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            provider
                .idp
                .store
                .webauthn_credentials(&account_id(&provider).await)
                .await
                .unwrap()
                .is_empty()
        );
        // The listed one: accepted, attested.
        let (added, _) = register(&mut browser, &csrf, &mut good).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        assert_eq!(added.json()["attested"], true);
        let history = provider
            .idp
            .store
            .audit_of_account(&account_id(&provider).await, 20)
            .await
            .unwrap();
        assert!(history.iter().any(|e| e.kind == "account.staff"));
    }

    async fn a_substantial_session_steps_up_with_the_attested_key(store: Store) {
        let (mut attested, ca) = token();
        let provider = provider(store, Some(policy(&ca, &AAGUID.to_string()))).await;
        let mut browser = provider.browser();
        let csrf = password_session(&mut browser).await;
        let mut passkey = SoftPasskey::new(true);
        assert_eq!(
            register(&mut browser, &csrf, &mut passkey).await.0.status,
            StatusCode::CREATED
        );
        confirmed(&mut browser, &mut passkey, &csrf).await;
        assert_eq!(
            register(&mut browser, &csrf, &mut attested).await.0.status,
            StatusCode::CREATED
        );
        let account = account_id(&provider).await;
        let keys = provider
            .idp
            .store
            .webauthn_credentials(&account)
            .await
            .unwrap();
        let attested_id = keys
            .iter()
            .find(|k| k.attestation.is_some())
            .unwrap()
            .credential_id
            .clone();

        // Substantial with the passkey.
        let substantial = public_client(&provider, Some(SUBSTANTIAL)).await;
        let mut citizen = provider.browser();
        let (answer, _, options) = log_in(&mut citizen, &substantial, &mut passkey).await;
        assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
        assert_eq!(
            options["publicKey"]["allowCredentials"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        // The same session asked for high: a new ceremony, offering only the attested key,
        // with user verification required.
        let high = public_client(&provider, Some(HIGH)).await;
        let (answer, verifier, options) = log_in(&mut citizen, &high, &mut attested).await;
        let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap();
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0]["id"], attested_id);
        assert_eq!(options["publicKey"]["userVerification"], "required");
        let claims = id_token_claims(&provider, &high, &answer, &verifier).await;
        assert_eq!(claims["acr"], HIGH);

        // Taken off the list (another instance configured without that CA): the same key
        // now gives substantial.
        let (_, other) = token();
        let delisted = Provider::on_with(
            provider.idp.store.clone(),
            llavero_idp::seal::MasterKey::from_base64(&provider.idp.master.to_base64()).unwrap(),
            None,
            |c| c.webauthn_attestation = Some(policy(&other, &AAGUID.to_string())),
        )
        .await;
        let (answer, verifier, _) =
            log_in(&mut delisted.browser(), &substantial, &mut attested).await;
        let claims = id_token_claims(&delisted, &substantial, &answer, &verifier).await;
        assert_eq!(claims["acr"], SUBSTANTIAL);
    }

    async fn without_an_allow_list_nothing_changes(store: Store) {
        let (mut key, _) = token();
        let provider = provider(store, None).await;
        let mut browser = provider.browser();
        let csrf = password_session(&mut browser).await;
        let (finish, options) = register(&mut browser, &csrf, &mut key).await;
        assert_eq!(finish.status, StatusCode::CREATED);
        assert_ne!(options["publicKey"]["attestation"], "direct");
        assert_eq!(finish.json()["attested"], false);
        let high = public_client(&provider, Some(HIGH)).await;
        let (answer, _, _) = log_in(&mut provider.browser(), &high, &mut key).await;
        assert_eq!(answer.location_params()["error"], "access_denied");
        let discovery = browser
            .get("/.well-known/openid-configuration")
            .await
            .json();
        assert_eq!(
            discovery["acr_values_supported"],
            json!([
                "http://eidas.europa.eu/LoA/low",
                "http://eidas.europa.eu/LoA/substantial"
            ]),
            "high is not advertised without an allow-list"
        );
        // And a staff account cannot register at all.
        llavero_idp::accounts::set_staff(&provider.idp, RUN.parse().unwrap(), true)
            .await
            .unwrap()
            .unwrap();
        let start = browser
            .post_json("/account/webauthn/register/start", &json!({"csrf": csrf}))
            .await;
        assert_eq!(start.status, StatusCode::FORBIDDEN);
    }

    async fn sqlite() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let store = llavero_store::testing::sqlite(dir.path()).await.unwrap();
        // The file stays open; the directory may go.
        std::mem::forget(dir);
        store
    }

    async fn postgres() -> Store {
        llavero_store::testing::postgres().await.unwrap()
    }

    #[tokio::test]
    async fn an_attested_key_reaches_high_sqlite() {
        an_attested_key_reaches_high(sqlite().await).await;
    }

    #[tokio::test]
    async fn an_attested_key_reaches_high_postgres() {
        if llavero_store::testing::skip_postgres() {
            return;
        }
        an_attested_key_reaches_high(postgres().await).await;
    }

    #[tokio::test]
    async fn an_unlisted_aaguid_is_an_ordinary_factor_sqlite() {
        keys_off_the_list_are_ordinary_factors(sqlite().await, false).await;
    }

    #[tokio::test]
    async fn another_ca_is_an_ordinary_factor_postgres() {
        if llavero_store::testing::skip_postgres() {
            return;
        }
        keys_off_the_list_are_ordinary_factors(postgres().await, true).await;
    }

    #[tokio::test]
    async fn staff_accounts_need_an_allowed_attestation_sqlite() {
        staff_accounts_need_an_allowed_attestation(sqlite().await).await;
    }

    #[tokio::test]
    async fn staff_accounts_need_an_allowed_attestation_postgres() {
        if llavero_store::testing::skip_postgres() {
            return;
        }
        staff_accounts_need_an_allowed_attestation(postgres().await).await;
    }

    #[tokio::test]
    async fn a_substantial_session_steps_up_with_the_attested_key_sqlite() {
        a_substantial_session_steps_up_with_the_attested_key(sqlite().await).await;
    }

    #[tokio::test]
    async fn without_an_allow_list_nothing_changes_sqlite() {
        without_an_allow_list_nothing_changes(sqlite().await).await;
    }
}
