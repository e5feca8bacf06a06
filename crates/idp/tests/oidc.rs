//! The provider end to end in-process, and the attacks it must refuse.

#![allow(clippy::string_slice)] // tests slice ASCII tokens

mod harness;

use axum::http::StatusCode;
use harness::*;
use llavero_store::PersonStatus;
use serde_json::json;

#[tokio::test]
async fn code_flow_gives_claveunica_claims_and_a_replayed_code_revokes_its_tokens() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let tokens = provider.token(&code, &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.headers["cache-control"], "no-store");
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap();
    let info = provider.userinfo(access).await.json();
    assert_eq!(
        info["RolUnico"],
        json!({"numero": 12_345_678, "DV": "5", "tipo": "RUN"})
    );
    assert_eq!(
        info["name"],
        json!({"nombres": ["María", "José"], "apellidos": ["González", "Rojas"]})
    );
    assert_eq!(info["birthdate"], "1990-04-12");

    let replay = provider.token(&code, &verifier).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(
        provider.userinfo(access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let after = provider
        .back(
            "/token",
            Some(&provider.basic()),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(after.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn id_token_carries_the_required_claims_with_a_pairwise_subject() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let tokens = provider.token(&code, &verifier).await.json();
    let id_token =
        llavero_credentials::jws::DecodedJws::decode(tokens["id_token"].as_str().unwrap()).unwrap();
    let jwks = browser.get("/jwks").await.json();
    let key = llavero_credentials::jwk::Jwk::from_value(&jwks["keys"][0]).unwrap();
    id_token
        .verify(
            llavero_credentials::crypto::default_backend(),
            &key,
            &llavero_credentials::jws::AlgorithmPolicy::es256_only(),
        )
        .unwrap();
    let claims = id_token.unverified_value().unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], provider.client_id.as_str());
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["auth_time"], START);
    assert_eq!(claims["acr"], "http://eidas.europa.eu/LoA/low");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    let sub = claims["sub"].as_str().unwrap();
    let account = provider
        .idp
        .store
        .account_by_run(12_345_678)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(sub, account.id, "pairwise by default");
    assert_eq!(
        provider
            .userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .json()["sub"],
        sub
    );
}

#[tokio::test]
async fn redirect_uri_must_match_exactly_and_errors_are_not_redirected_to_it() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    for bad in [
        "https://rp.example/cb/",
        "https://rp.example/cb?x=1",
        "https://evil.example/cb",
        "",
    ] {
        let answer = browser
            .authorize(&provider.client_id, &challenge, &[("redirect_uri", bad)])
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(answer.location().is_empty(), "{bad} redirected");
    }
    let unknown = browser.authorize("no-such-client", &challenge, &[]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    // At the token endpoint, the redirect_uri must be the one the code was sent to.
    let (code, verifier) = browser.code(&provider).await;
    let answer = provider
        .back(
            "/token",
            Some(&provider.basic()),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://rp.example/other"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(answer.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn pkce_is_required_plain_refused_and_the_verifier_checked() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    for extra in [
        vec![("code_challenge", "")],
        vec![("code_challenge_method", "plain")],
        vec![("code_challenge_method", "")],
    ] {
        let answer = browser
            .authorize(&provider.client_id, &challenge, &extra)
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        let params = answer.location_params();
        assert!(answer.location().starts_with(REDIRECT));
        assert_eq!(params["error"], "invalid_request", "{extra:?}");
        assert_eq!(params["state"], "st-1");
    }
    let (code, _) = browser.code(&provider).await;
    let (other_verifier, _) = pkce();
    let answer = provider.token(&code, &other_verifier).await;
    assert_eq!(answer.json()["error"], "invalid_grant");
    let missing = provider
        .back(
            "/token",
            Some(&provider.basic()),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(missing.json()["error"], "invalid_request");
}

#[tokio::test]
async fn wrong_client_credentials_are_invalid_client() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let wrong = provider
        .back(
            "/token",
            Some(&basic(&provider.client_id, "not-the-secret")),
            &form,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json()["error"], "invalid_client");
    // The registered method is basic: the same secret in the body is refused.
    let mut post = form.to_vec();
    post.extend([
        ("client_id", provider.client_id.as_str()),
        ("client_secret", provider.client_secret.as_str()),
    ]);
    assert_eq!(
        provider.back("/token", None, &post).await.json()["error"],
        "invalid_client"
    );
    // Without any authentication a confidential client is refused.
    let mut public = form.to_vec();
    public.push(("client_id", provider.client_id.as_str()));
    assert_eq!(
        provider.back("/token", None, &public).await.json()["error"],
        "invalid_client"
    );
    // The code was not spent by those attempts.
    assert_eq!(
        provider.token(&code, &verifier).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    provider.clock.advance(61);
    let answer = provider.token(&code, &verifier).await;
    assert_eq!(answer.json()["error"], "invalid_grant");
    assert!(
        answer.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let first = provider.token(&code, &verifier).await.json();
    let old = first["refresh_token"].as_str().unwrap();
    let rotated = provider
        .back(
            "/token",
            Some(&provider.basic()),
            &[("grant_type", "refresh_token"), ("refresh_token", old)],
        )
        .await
        .json();
    let new = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(new, old);
    assert!(rotated["id_token"].is_string());
    // Past the grace window of a lost answer (refresh_retry_within_grace_gets_a_fresh_pair).
    provider
        .clock
        .advance(provider.idp.config.refresh_grace_secs);
    let reuse = provider
        .back(
            "/token",
            Some(&provider.basic()),
            &[("grant_type", "refresh_token"), ("refresh_token", old)],
        )
        .await;
    assert_eq!(reuse.json()["error"], "invalid_grant");
    let family = provider
        .back(
            "/token",
            Some(&provider.basic()),
            &[("grant_type", "refresh_token"), ("refresh_token", new)],
        )
        .await;
    assert_eq!(family.json()["error"], "invalid_grant");
    assert_eq!(
        provider
            .userinfo(rotated["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Each issue is audited (the rotation's entry committed with its tokens), and so is the
    // reuse; the chain holds.
    let trail = provider.idp.store.audit_between(0, i64::MAX).await.unwrap();
    let grant_types: Vec<&str> = trail
        .iter()
        .filter(|e| e.kind == "token.issued")
        .filter_map(|e| e.detail["grant_type"].as_str())
        .collect();
    assert_eq!(grant_types, ["authorization_code", "refresh_token"]);
    assert!(trail.iter().any(|e| e.kind == "refresh_token.reused"));
    assert!(matches!(
        llavero_idp::audit::verify(&provider.idp).await.unwrap(),
        llavero_idp::audit::AuditVerdict::Intact { .. }
    ));
}

/// POST /token with the refresh token `token` and the client's credentials `auth`.
async fn refresh_with(provider: &Provider, auth: &str, token: &str) -> Answer {
    provider
        .back(
            "/token",
            Some(auth),
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
}

/// The answer to a rotation never reached the client (the server crashed after committing
/// it): the client's retry with its last token, within the grace window, gets a fresh pair,
/// recorded in the audit trail; the lost pair is retired and the family lives on. Another
/// client presenting the token is refused, and a retry after the window revokes the family.
#[tokio::test]
async fn refresh_retry_within_grace_gets_a_fresh_pair() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let first = provider.token(&code, &verifier).await.json();
    let old = first["refresh_token"].as_str().unwrap();
    let lost = refresh_with(&provider, &provider.basic(), old).await.json();
    provider.clock.advance(2);

    let (other_id, other_secret) = provider
        .register(llavero_idp::clients::Registration {
            name: "Otro".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["openid".into()],
            ..Default::default()
        })
        .await;
    let other = refresh_with(&provider, &basic(&other_id, &other_secret.unwrap()), old).await;
    assert_eq!(other.json()["error"], "invalid_grant", "another client");

    let retry = refresh_with(&provider, &provider.basic(), old).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    let retry = retry.json();
    let fresh = retry["refresh_token"].as_str().unwrap();
    assert_ne!(fresh, lost["refresh_token"].as_str().unwrap());
    assert_eq!(
        provider
            .userinfo(lost["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the lost access token is revoked"
    );
    let next = refresh_with(&provider, &provider.basic(), fresh).await;
    assert_eq!(
        next.status,
        StatusCode::OK,
        "the family lives on: {}",
        next.body
    );
    let next = next.json();
    let trail = provider.idp.store.audit_between(0, i64::MAX).await.unwrap();
    assert_eq!(
        trail.iter().filter(|e| e.kind == "token.issued").count(),
        4,
        "code, lost rotation, retry, next rotation"
    );
    assert!(!trail.iter().any(|e| e.kind == "refresh_token.reused"));

    // The next token's predecessor, retried after the window: a reuse.
    provider
        .clock
        .advance(provider.idp.config.refresh_grace_secs);
    let late = refresh_with(&provider, &provider.basic(), fresh).await;
    assert_eq!(late.json()["error"], "invalid_grant");
    assert_eq!(
        provider
            .userinfo(next["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the family is revoked"
    );
}

/// With the window disabled (0), an immediate retry is already a reuse.
#[tokio::test]
async fn refresh_retry_without_grace_revokes_the_family() {
    let provider = Provider::configured(|config| config.refresh_grace_secs = 0).await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let first = provider.token(&code, &verifier).await.json();
    let old = first["refresh_token"].as_str().unwrap();
    let rotated = refresh_with(&provider, &provider.basic(), old).await.json();
    let retry = refresh_with(&provider, &provider.basic(), old).await;
    assert_eq!(retry.json()["error"], "invalid_grant");
    let family = refresh_with(
        &provider,
        &provider.basic(),
        rotated["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(family.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    let start = browser
        .authorize(&provider.client_id, &challenge, &[])
        .await;
    let page = browser.get(&start.location()).await;
    let request = page.hidden("request");
    for csrf in ["", "forged", &page.hidden("csrf")[1..]] {
        let answer = browser
            .post(
                "/login",
                &[
                    ("csrf", csrf),
                    ("request", &request),
                    ("run", RUN),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
        assert!(!browser.cookies.keys().any(|k| k.contains("session")));
    }
    // A valid token from another browser does not work with this browser's cookie.
    let mut other = provider.browser();
    let other_page = other.get("/login").await;
    let answer = browser
        .post(
            "/login",
            &[
                ("csrf", &other_page.hidden("csrf")),
                ("request", &request),
                ("run", RUN),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unknown_run_and_wrong_password_answer_the_same() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let page = browser.get("/login").await;
    let csrf = page.hidden("csrf");
    let mut bodies = Vec::new();
    // 11.111.111-1 is in the registry without an account; 22.222.222-2 is not in it at all.
    for run in [RUN, "11.111.111-1", "22.222.222-2"] {
        let answer = browser
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("request", ""),
                    ("run", run),
                    ("password", "wrong password!"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        bodies.push(
            answer
                .body
                .replace(&format!("value=\"{run}\""), "value=\"RUN\""),
        );
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0], bodies[2]);
    assert!(bodies[0].contains("El RUN o la contraseña no son correctos."));
    // Activation: a wrong serial and an unknown RUN get one message too.
    let page = browser.get("/activate").await;
    let csrf = page.hidden("csrf");
    let mut answers = Vec::new();
    for (run, serial) in [(RUN, "B000000000"), ("22.222.222-2", SERIAL)] {
        let answer = browser
            .post(
                "/activate",
                &[
                    ("csrf", &csrf),
                    ("run", run),
                    ("code", "AAAA-BBBB-CCCC"),
                    ("serial", serial),
                    ("password", "otra frase larga"),
                    ("password_confirm", "otra frase larga"),
                ],
            )
            .await;
        answers.push((
            answer.status,
            answer
                .body
                .replace(&format!("value=\"{run}\""), "value=\"RUN\"")
                // The form keeps what was typed.
                .replace(&format!("value=\"{serial}\""), "value=\"SERIAL\""),
        ));
    }
    assert_eq!(answers[0], answers[1]);
}

async fn attempt(browser: &mut Browser, csrf: &str, password: &str) -> Answer {
    browser
        .post(
            "/login",
            &[
                ("csrf", csrf),
                ("request", ""),
                ("run", RUN),
                ("password", password),
            ],
        )
        .await
}

#[tokio::test]
async fn delays_rise_then_the_account_locks_after_one_hundred_failures() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let csrf = browser.get("/login").await.hidden("csrf");
    for _ in 0..5 {
        assert_eq!(
            attempt(&mut browser, &csrf, "wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let waiting = attempt(&mut browser, &csrf, "wrong").await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(waiting.headers["retry-after"], "1");
    // Even the right password waits: the delay is not an oracle.
    assert_eq!(
        attempt(&mut browser, &csrf, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 5..100 {
        provider.clock.advance(901);
        assert_eq!(
            attempt(&mut browser, &csrf, "wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    provider.clock.advance(901);
    let locked = attempt(&mut browser, &csrf, PASSWORD).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    assert!(locked.body.contains("bloqueada"));
    assert!(
        provider
            .idp
            .store
            .account_by_run(12_345_678)
            .await
            .unwrap()
            .unwrap()
            .locked_at
            .is_some()
    );
    // A new activation code unlocks with a new password.
    let code = llavero_idp::accounts::issue_activation_code(&provider.idp, RUN.parse().unwrap())
        .await
        .unwrap();
    let reset = llavero_idp::accounts::activate(
        &provider.idp,
        RUN,
        &code.code,
        SERIAL,
        "nueva frase secreta",
        "nueva frase secreta",
    )
    .await
    .unwrap();
    assert!(reset.is_ok());
    let answer = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("run", RUN),
                ("password", "nueva frase secreta"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_deceased_persons_sessions_and_tokens_end_at_once() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let tokens = provider.token(&code, &verifier).await.json();
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    let outcome = provider
        .idp
        .store
        .upsert_people(&[person(RUN, PersonStatus::Deceased, 2)], START + 1)
        .await
        .unwrap();
    assert_eq!(outcome.disabled_accounts.len(), 1);
    let account = browser.get("/account").await;
    assert_eq!(
        (account.status, account.location().as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    assert_eq!(
        provider
            .userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = provider
        .back(
            "/token",
            Some(&provider.basic()),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refresh.json()["error"], "invalid_grant");
    let events = provider.idp.store.events_after(0, 10).await.unwrap();
    assert_eq!(events[0].kind, "account_disabled");
    // And no new login.
    let csrf = browser.get("/login").await.hidden("csrf");
    let answer = browser
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
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    let answer = browser
        .authorize(&provider.client_id, &challenge, &[("prompt", "none")])
        .await;
    assert_eq!(answer.location_params()["error"], "login_required");
    let combined = browser
        .authorize(&provider.client_id, &challenge, &[("prompt", "none login")])
        .await;
    assert_eq!(combined.location_params()["error"], "invalid_request");
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_login() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    browser.code(&provider).await;
    let (_, challenge) = pkce();
    let silent = browser
        .authorize(&provider.client_id, &challenge, &[])
        .await;
    assert!(silent.location().starts_with(REDIRECT));
    let forced = browser
        .authorize(&provider.client_id, &challenge, &[("prompt", "login")])
        .await;
    assert!(forced.location().starts_with("/login?request="));
    provider.clock.advance(120);
    let old = browser
        .authorize(&provider.client_id, &challenge, &[("max_age", "60")])
        .await;
    assert!(old.location().starts_with("/login?request="));
    // Logging in satisfies it once.
    let after = browser.login(&old.location(), RUN, PASSWORD).await;
    assert!(after.location().starts_with(REDIRECT), "{after:?}");
}

#[tokio::test]
async fn a_client_requiring_a_second_factor_is_refused_a_password_only_login() {
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
    let (_, challenge) = pkce();
    let start = browser.authorize(&client_id, &challenge, &[]).await;
    let answer = browser.login(&start.location(), RUN, PASSWORD).await;
    assert_eq!(answer.location_params()["error"], "access_denied");
}

#[tokio::test]
async fn a_provider_requiring_enrolment_sends_a_password_only_account_to_enrol() {
    let provider = Provider::configured(|c| c.require_enrolment = true).await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    let start = browser
        .authorize(&provider.client_id, &challenge, &[])
        .await;
    let after_login = browser.login(&start.location(), RUN, PASSWORD).await;
    assert_eq!(after_login.location(), "/account?enrol=required");
    let page = browser.get(&after_login.location()).await;
    assert!(
        page.body.contains("llave de seguridad o una passkey"),
        "{}",
        page.body
    );
    // Without the setting, the same login goes on to consent.
    let relaxed = Provider::new().await;
    let mut browser = relaxed.browser();
    let start = browser.authorize(&relaxed.client_id, &challenge, &[]).await;
    let after_login = browser.login(&start.location(), RUN, PASSWORD).await;
    assert!(
        after_login.location().starts_with("/consent"),
        "{after_login:?}"
    );
}

#[tokio::test]
async fn session_cookies_are_host_prefixed_secure_httponly_lax_and_rotate_at_login() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    browser.code(&provider).await;
    let first = browser.cookies["__Host-llavero_session"].clone();
    let (_, challenge) = pkce();
    let forced = browser
        .authorize(&provider.client_id, &challenge, &[("prompt", "login")])
        .await;
    let page = browser.get(&forced.location()).await;
    let answer = browser
        .post(
            "/login",
            &[
                ("csrf", &page.hidden("csrf")),
                ("request", &page.hidden("request")),
                ("run", RUN),
                ("password", PASSWORD),
            ],
        )
        .await;
    let set = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-llavero_session="))
        .unwrap();
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Domain"));
    assert_ne!(browser.cookies["__Host-llavero_session"], first);
    assert!(
        browser.cookies["__Host-llavero_session"].len() >= 43,
        "256-bit session ids"
    );
    // The old session id no longer works.
    let mut thief = provider.browser();
    thief.cookies.insert("__Host-llavero_session".into(), first);
    assert_eq!(thief.get("/account").await.status, StatusCode::SEE_OTHER);
    // Idle timeout: an hour without requests ends the session.
    provider.clock.advance(3601);
    assert_eq!(browser.get("/account").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn consent_is_remembered_and_revocable_from_the_account_page() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let tokens = provider.token(&code, &verifier).await.json();
    let account = browser.get("/account").await;
    assert!(account.body.contains("Municipalidad de Prueba"));
    assert!(account.body.contains("González"));
    let answer = browser
        .post(
            "/account/consents/revoke",
            &[
                ("csrf", &account.hidden("csrf")),
                ("client_id", &provider.client_id),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        provider
            .userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let (_, challenge) = pkce();
    let again = browser
        .authorize(&provider.client_id, &challenge, &[])
        .await;
    assert!(
        again.location().starts_with("/consent?request="),
        "consent asked again"
    );
}

#[tokio::test]
async fn logout_with_a_forged_or_alg_none_id_token_hint_is_refused() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    browser.code(&provider).await;
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(&format!(
            r#"{{"iss":"{ISSUER}","aud":"{}","sid":"x"}}"#,
            provider.client_id
        ))
    );
    let forged_key = llavero_credentials::crypto::generate_p256(Some("x".into())).unwrap();
    let signer = llavero_credentials::crypto::signer_from_jwk(&forged_key).unwrap();
    let forged = llavero_credentials::jws::sign_json(
        llavero_credentials::jws::Header::new("JWT"),
        &json!({"iss": ISSUER, "aud": provider.client_id}),
        signer.as_ref(),
    )
    .unwrap();
    for hint in [none.as_str(), forged.as_str(), "garbage"] {
        let answer = browser
            .get(&format!(
                "/logout?{}",
                encode(&[
                    ("id_token_hint", hint),
                    ("post_logout_redirect_uri", LOGOUT_REDIRECT)
                ])
            ))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        browser.get("/account").await.status,
        StatusCode::OK,
        "still logged in"
    );
    // Without a hint, a GET only asks; it does not log out (no cross-site logout).
    let ask = browser.get("/logout").await;
    assert_eq!(ask.status, StatusCode::OK);
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    let done = browser
        .post("/logout", &[("csrf", &ask.hidden("csrf"))])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(browser.get("/account").await.status, StatusCode::SEE_OTHER);
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn private_key_jwt_clients_authenticate_with_single_use_assertions() {
    let provider = Provider::new().await;
    let key = llavero_credentials::crypto::generate_p256(Some("rp-key-1".into())).unwrap();
    let (client_id, secret) = provider
        .register(llavero_idp::clients::Registration {
            name: "Servicio con llave".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["openid run".into()],
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks: Some(json!({"keys": [key.public().to_value()]})),
            ..Default::default()
        })
        .await;
    assert!(secret.is_none());
    let signer = llavero_credentials::crypto::signer_from_jwk(&key).unwrap();
    let assertion = |jti: &str| {
        let mut header = llavero_credentials::jws::Header::new("JWT");
        header.kid = Some("rp-key-1".into());
        let claims = json!({"iss": client_id, "sub": client_id, "aud": format!("{ISSUER}/token"), "jti": jti, "exp": START + 60, "iat": START});
        llavero_credentials::jws::sign_json(header, &claims, signer.as_ref()).unwrap()
    };
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let start = browser
        .authorize(&client_id, &challenge, &[("scope", "openid run")])
        .await;
    let consent = browser.login(&start.location(), RUN, PASSWORD).await;
    let done = browser.consent(&consent.location()).await;
    let code = done.location_params()["code"].clone();
    let jwt_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let first = assertion("jti-1");
    let form = |a: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.clone()),
            ("client_assertion_type", jwt_type.to_owned()),
            ("client_assertion", a.to_owned()),
        ]
    };
    let send_form = |pairs: Vec<(&'static str, String)>| {
        let provider = &provider;
        async move {
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            provider.back("/token", None, &borrowed).await
        }
    };
    let none = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&json!({"iss": client_id, "sub": client_id, "aud": ISSUER, "jti": "j", "exp": START + 60}).to_string()));
    assert_eq!(
        send_form(form(&none)).await.json()["error"],
        "invalid_client"
    );
    let ok = send_form(form(&first)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let refresh = ok.json()["refresh_token"].as_str().unwrap().to_owned();
    let replayed = send_form(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh.clone()),
        ("client_assertion_type", jwt_type.into()),
        ("client_assertion", first.clone()),
    ])
    .await;
    assert_eq!(replayed.json()["error"], "invalid_client", "jti replay");
    let fresh = send_form(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh),
        ("client_assertion_type", jwt_type.into()),
        ("client_assertion", assertion("jti-2")),
    ])
    .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
}

#[tokio::test]
async fn public_clients_use_pkce_without_a_secret() {
    let provider = Provider::new().await;
    let (client_id, secret) = provider
        .register(llavero_idp::clients::Registration {
            name: "App móvil".into(),
            redirect_uris: vec!["cl.llavero.app:/callback".into()],
            scopes: vec!["openid name".into()],
            token_endpoint_auth_method: Some("none".into()),
            subject_type: Some("public".into()),
            ..Default::default()
        })
        .await;
    assert!(secret.is_none());
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let start = browser
        .authorize(
            &client_id,
            &challenge,
            &[
                ("redirect_uri", "cl.llavero.app:/callback"),
                ("scope", "openid name"),
            ],
        )
        .await;
    let consent = browser.login(&start.location(), RUN, PASSWORD).await;
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
                ("redirect_uri", "cl.llavero.app:/callback"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let info = provider
        .userinfo(answer.json()["access_token"].as_str().unwrap())
        .await
        .json();
    assert!(info.get("RolUnico").is_none(), "run was not granted");
    assert_eq!(info["given_name"], "María José");
    let account = provider
        .idp
        .store
        .account_by_run(12_345_678)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        info["sub"],
        account.id.as_str(),
        "public subject on request"
    );
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_ip_with_retry_after() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let csrf = browser.get("/login").await.hidden("csrf");
    let mut statuses = Vec::new();
    for i in 0..31 {
        let run = llavero_idp::registry::Run::from_number(20_000_000 + i)
            .unwrap()
            .to_string();
        statuses.push(
            browser
                .post(
                    "/login",
                    &[
                        ("csrf", &csrf),
                        ("request", ""),
                        ("run", &run),
                        ("password", "x"),
                    ],
                )
                .await,
        );
    }
    assert!(
        statuses[..30]
            .iter()
            .all(|a| a.status == StatusCode::UNAUTHORIZED)
    );
    let limited = &statuses[30];
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn page_forms_post_only_here_and_end_only_at_the_clients_redirect_origin() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let csp = |a: &Answer| {
        a.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let activate = browser.get("/activate").await;
    assert!(
        csp(&activate).ends_with("; form-action 'self'"),
        "{}",
        csp(&activate)
    );
    let (_, challenge) = pkce();
    let start = browser
        .authorize(&provider.client_id, &challenge, &[])
        .await;
    let login = browser.get(&start.location()).await;
    assert!(
        csp(&login).ends_with("; form-action 'self' https://rp.example"),
        "{}",
        csp(&login)
    );
    let logged_in = browser.login(&start.location(), RUN, PASSWORD).await;
    let consent = browser.get(&logged_in.location()).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(
        csp(&consent).ends_with("; form-action 'self' https://rp.example"),
        "{}",
        csp(&consent)
    );
}

#[tokio::test]
async fn pages_speak_spanish_by_default_and_english_on_request() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let es = browser.get("/activate").await;
    assert!(es.body.contains("<html lang=\"es\">") && es.body.contains("Activa tu cuenta"));
    assert!(es.body.contains("<label for=\"run\">"));
    assert_eq!(es.headers["cache-control"], "no-store");
    assert!(
        es.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let (_, challenge) = pkce();
    let start = browser
        .authorize(
            &provider.client_id,
            &challenge,
            &[("ui_locales", "en-GB es")],
        )
        .await;
    let en = browser.get(&start.location()).await;
    assert!(
        en.body.contains("<html lang=\"en\">") && en.body.contains("Log in"),
        "{}",
        en.body
    );
    let missing = browser.get("/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Esta página no existe."));
}

#[tokio::test]
async fn discovery_and_jwks_describe_the_provider() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let meta = browser
        .get("/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(meta["issuer"], ISSUER);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["pushed_authorization_request_endpoint"],
        format!("{ISSUER}/par")
    );
    assert_eq!(
        meta,
        browser
            .get("/.well-known/oauth-authorization-server")
            .await
            .json()
    );
    // Key rotation: the new key signs, the old one stays published.
    let before = browser.get("/jwks").await.json()["keys"]
        .as_array()
        .unwrap()
        .len();
    let kid = llavero_idp::keys::rotate(&provider.idp.store, &provider.idp.master, START + 1)
        .await
        .unwrap();
    provider.idp.keys.invalidate();
    let keys = browser.get("/jwks").await.json()["keys"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(keys.len(), before + 1);
    let (code, verifier) = browser.code(&provider).await;
    let id_token = provider.token(&code, &verifier).await.json()["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        llavero_credentials::jws::DecodedJws::decode(&id_token)
            .unwrap()
            .header()
            .kid
            .as_deref(),
        Some(kid.as_str())
    );
    // Once the old key's tokens have all expired, it leaves the JWKS.
    provider.clock.advance(3600);
    provider.idp.keys.invalidate();
    assert_eq!(
        browser.get("/jwks").await.json()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn admin_api_needs_the_admin_token() {
    let provider = Provider::new().await;
    let call = |auth: Option<&'static str>| {
        let router = provider.router.clone();
        async move {
            let mut request = axum::http::Request::post("/admin/activation-codes")
                .header("content-type", "application/json");
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            send(
                &router,
                request
                    .body(axum::body::Body::from(r#"{"run":"11.111.111-1"}"#))
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(call(None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(Some("Bearer wrong")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let ok = call(Some("Bearer admin-token")).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(ok.json()["code"].as_str().unwrap().len(), 14);
}

#[tokio::test]
async fn every_use_is_traced_in_a_tamper_evident_history_without_secrets() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let csrf = browser.get("/login").await.hidden("csrf");
    browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("run", RUN),
                ("password", "not it"),
            ],
        )
        .await;
    let (code, verifier) = browser.code(&provider).await;
    let tokens = provider.token(&code, &verifier).await.json();
    assert_eq!(
        provider.token(&code, &verifier).await.status,
        StatusCode::BAD_REQUEST
    );

    let account = browser.get("/account").await;
    assert!(account.body.contains("Dónde usé mi identidad"));
    assert!(account.body.contains("Intento fallido de inicio de sesión"));
    assert!(account.body.contains("Datos entregados al servicio"));
    assert!(
        account
            .body
            .contains("Tu RUN, Tus nombres y apellidos, Tu fecha de nacimiento")
    );
    let history = browser.get("/account/history.json").await;
    assert!(
        history.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let kinds: Vec<String> = history.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["login.password", "consent", "token.issued"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    let everything = provider.idp.store.audit_between(0, i64::MAX).await.unwrap();
    assert!(everything.iter().any(|e| e.kind == "code.replayed"));
    let text = serde_json::to_string(&everything).unwrap();
    for secret in [
        PASSWORD,
        "not it",
        code.as_str(),
        verifier.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "a secret reached the audit trail");
    }

    let checkpoint = llavero_idp::audit::checkpoint(&provider.idp).await.unwrap();
    let intact = llavero_idp::audit::verify(&provider.idp).await.unwrap();
    assert_eq!(
        intact,
        llavero_idp::audit::AuditVerdict::Intact {
            entries: checkpoint.seq,
            checkpoints: 1
        }
    );
    // A row edited directly in the database is found.
    provider
        .idp
        .store
        .execute_unchecked("UPDATE audit_log SET client_id = 'someone-else' WHERE seq = 2")
        .await
        .unwrap();
    match llavero_idp::audit::verify(&provider.idp).await.unwrap() {
        llavero_idp::audit::AuditVerdict::Broken(link) => assert_eq!(link.seq, 2),
        other => panic!("tampering not detected: {other:?}"),
    }
}
