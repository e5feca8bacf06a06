//! The OpenID certification plans Llavero targets (specs/oidc-certification.md), module by
//! module where the rest of the suite does not already cover it: RS256 ID tokens per client,
//! confidential clients with PKCE optional, the Basic OP modules' request variants, the Config
//! OP discovery checks, and the PAR modules.

#![allow(
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test helpers outside #[test] fns, which slice ASCII tokens

mod harness;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harness::*;
use llavero_idp::clients::Registration;
use serde_json::{Value, json};

/// A confidential client registered with `alg` and `pkce` (`None` for the defaults).
async fn client(provider: &Provider, alg: Option<&str>, pkce: Option<&str>) -> (String, String) {
    let (id, secret) = provider
        .register(Registration {
            name: "Relying party".into(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![LOGOUT_REDIRECT.into()],
            scopes: vec!["openid run name".into()],
            id_token_signed_response_alg: alg.map(str::to_owned),
            pkce: pkce.map(str::to_owned),
            ..Default::default()
        })
        .await;
    (id, secret.unwrap())
}

/// From the answer to `/authorize`, logs in and consents as needed; returns the callback.
async fn through(browser: &mut Browser, start: Answer) -> Answer {
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let mut answer = start;
    if answer.location().starts_with("/login") {
        answer = browser.login(&answer.location(), RUN, PASSWORD).await;
    }
    if answer.location().starts_with("/consent") {
        answer = browser.consent(&answer.location()).await;
    }
    assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
    answer
}

/// `/authorize` for `client_id`, then [`through`].
async fn authorized(
    browser: &mut Browser,
    client_id: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let start = browser.authorize(client_id, challenge, extra).await;
    through(browser, start).await
}

/// The code of a callback, after checking `state` and `iss`.
fn code_of(callback: &Answer) -> String {
    let params = callback.location_params();
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER));
    params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {callback:?}"))
        .clone()
}

/// An authorization code grant for `client_id`, with `verifier` if given.
async fn exchange(
    provider: &Provider,
    (client_id, secret): (&str, &str),
    code: &str,
    verifier: Option<&str>,
) -> Answer {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    provider
        .back("/token", Some(&basic(client_id, secret)), &form)
        .await
}

/// A whole authorization of `client` with PKCE; returns its ID token.
async fn id_token_of(provider: &Provider, browser: &mut Browser, client: (&str, &str)) -> String {
    let (verifier, challenge) = pkce();
    let callback = authorized(browser, client.0, &challenge, &[]).await;
    let tokens = exchange(provider, client, &code_of(&callback), Some(&verifier)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    tokens.json()["id_token"].as_str().unwrap().to_owned()
}

/// The `error` an authorization request of `client_id` with `extra` parameters is answered
/// with at the redirect URI.
async fn refusal(
    browser: &mut Browser,
    client_id: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let answer = browser.authorize(client_id, challenge, extra).await;
    assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
    answer.location_params()["error"].clone()
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Checks `id_token` against the JWKS with `ring` directly (not the provider's own code):
/// the key is found by `kid`, carries `use` sig and the token's `alg`; returns the claims.
async fn verify_with_jwks(browser: &mut Browser, id_token: &str) -> Value {
    let (signing_input, signature) = id_token.rsplit_once('.').unwrap();
    let (header, payload) = signing_input.split_once('.').unwrap();
    let header = decode(header);
    let jwks = browser.get("/jwks").await.json();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("kid {} not in {jwks}", header["kid"]))
        .clone();
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], header["alg"]);
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let b = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap();
    let verified = match header["alg"].as_str().unwrap() {
        "RS256" => {
            assert_eq!(key["kty"], "RSA");
            assert!(b("n").len() * 8 >= 2048, "RSA key under 2048 bits");
            ring::signature::RsaPublicKeyComponents {
                n: b("n"),
                e: b("e"),
            }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &signature,
            )
        }
        "ES256" => {
            let mut point = vec![4];
            point.extend(b("x"));
            point.extend(b("y"));
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                point,
            )
            .verify(signing_input.as_bytes(), &signature)
        }
        other => panic!("unexpected alg {other}"),
    };
    assert!(verified.is_ok(), "signature does not verify");
    decode(payload)
}

// ------------------------------------------------------------------- RS256 ID tokens

/// `oidcc-idtoken-rs256`, `oidcc-idtoken-signature`: a client registered with RS256 gets RS256
/// ID tokens under a 2048-bit key published with `kid`, `use` and `alg`; the ES256 client
/// beside it keeps ES256; an RS256 `id_token_hint` logs out.
#[tokio::test]
async fn an_rs256_client_gets_rs256_id_tokens_that_verify_against_the_jwks() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let before = browser.get("/jwks").await.json();
    assert_eq!(
        before["keys"].as_array().unwrap().len(),
        1,
        "no RSA key yet"
    );
    let rs = client(&provider, Some("RS256"), None).await;
    let id_token = id_token_of(&provider, &mut browser, (&rs.0, &rs.1)).await;
    assert_eq!(decode(id_token.split('.').next().unwrap())["alg"], "RS256");
    let claims = verify_with_jwks(&mut browser, &id_token).await;
    assert_eq!(
        (claims["iss"].as_str(), claims["aud"].as_str()),
        (Some(ISSUER), Some(rs.0.as_str()))
    );
    assert_eq!(claims["nonce"], "n-1");

    // The ES256 client still gets ES256, from the key beside it in the JWKS.
    let (code, verifier) = browser.code(&provider).await;
    let es_token = provider.token(&code, &verifier).await.json()["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(decode(es_token.split('.').next().unwrap())["alg"], "ES256");
    verify_with_jwks(&mut browser, &es_token).await;

    // An RS256 id_token_hint identifies the session at logout.
    let logout = browser
        .get(&format!(
            "/logout?{}",
            encode(&[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", LOGOUT_REDIRECT)
            ])
        ))
        .await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER, "{}", logout.body);
    assert!(logout.location().starts_with(LOGOUT_REDIRECT));
}

/// Rotating the ES256 key leaves the RS256 key signing, and an RS256 rotation keeps the old
/// RSA key published until its tokens expire.
#[tokio::test]
async fn rs256_and_es256_keys_rotate_independently() {
    let provider = Provider::new().await;
    let (store, master) = (&provider.idp.store, &provider.idp.master);
    let rs = client(&provider, Some("RS256"), None).await;
    let first_rsa = active_kid(&provider, "RS256").await;
    llavero_idp::keys::rotate(store, master, START + 1)
        .await
        .unwrap();
    assert_eq!(active_kid(&provider, "RS256").await, first_rsa);
    let second_rsa = llavero_idp::keys::rotate_rs256(store, master, START + 2)
        .await
        .unwrap();
    provider.idp.keys.invalidate();
    let mut browser = provider.browser();
    let kids: Vec<String> = browser.get("/jwks").await.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kids.contains(&first_rsa) && kids.contains(&second_rsa),
        "{kids:?}"
    );
    let id_token = id_token_of(&provider, &mut browser, (&rs.0, &rs.1)).await;
    assert_eq!(
        decode(id_token.split('.').next().unwrap())["kid"],
        second_rsa.as_str()
    );
}

async fn active_kid(provider: &Provider, alg: &str) -> String {
    provider
        .idp
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.alg.as_str() == alg && k.retired_at.is_none())
        .unwrap()
        .kid
}

/// `oidcc-idtoken-unsigned` is skipped by the suite because discovery lists no `none`; a
/// registration cannot ask for it either, nor for HMAC.
#[tokio::test]
async fn registration_refuses_unknown_id_token_algorithms_and_pkce_policies() {
    let provider = Provider::new().await;
    let attempt = |alg: Option<&str>, pkce: Option<&str>, auth: Option<&str>| Registration {
        name: "X".into(),
        redirect_uris: vec![REDIRECT.into()],
        token_endpoint_auth_method: auth.map(str::to_owned),
        id_token_signed_response_alg: alg.map(str::to_owned),
        pkce: pkce.map(str::to_owned),
        ..Default::default()
    };
    for (alg, pkce, auth) in [
        (Some("none"), None, None),
        (Some("HS256"), None, None),
        (Some("rs256"), None, None),
        (None, Some("off"), None),
        (None, Some("optional"), Some("none")),
    ] {
        let refused = llavero_idp::clients::register(
            &provider.idp,
            attempt(alg, pkce, auth),
            &llavero_idp::audit::Origin::default(),
        )
        .await;
        assert!(
            matches!(
                refused,
                Err(llavero_idp::clients::RegistrationError::Invalid(_))
            ),
            "{alg:?} {pkce:?} {auth:?}: {refused:?}"
        );
    }
}

// ------------------------------------------------------------ PKCE optional (confidential)

/// The admin API registers with the same fields: RS256 and PKCE optional for a confidential
/// client, echoed in the answer; PKCE optional for a public client is a 400.
#[tokio::test]
async fn the_admin_api_registers_the_id_token_alg_and_pkce_policy() {
    let provider = Provider::new().await;
    let register = |body: Value| {
        let router = provider.router.clone();
        async move {
            let request = Request::post("/admin/clients")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, "Bearer admin-token")
                .body(Body::from(body.to_string()))
                .unwrap();
            send(&router, request).await
        }
    };
    let confidential = register(json!({
        "name": "Municipalidad", "redirect_uris": [REDIRECT],
        "id_token_signed_response_alg": "RS256", "pkce": "optional",
    }))
    .await;
    assert_eq!(
        confidential.status,
        StatusCode::CREATED,
        "{}",
        confidential.body
    );
    let body = confidential.json();
    assert_eq!(body["id_token_signed_response_alg"], "RS256");
    assert_eq!(body["pkce"], "optional");
    let stored = provider
        .idp
        .store
        .client(body["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.id_token_alg, stored.pkce),
        (
            llavero_store::SigningAlg::Rs256,
            llavero_store::PkcePolicy::Optional
        )
    );
    let public = register(json!({
        "name": "App", "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none", "pkce": "optional",
    }))
    .await;
    assert_eq!(public.status, StatusCode::BAD_REQUEST, "{}", public.body);
}

/// A ClaveÚnica relying party's flow: a confidential client registered with PKCE optional
/// sends no challenge and no verifier, and gets its tokens. The registration is audited.
#[tokio::test]
async fn a_confidential_client_registered_with_pkce_optional_may_omit_it() {
    let provider = Provider::new().await;
    let legacy = client(&provider, None, Some("optional")).await;
    let audit = provider.idp.store.audit_between(0, i64::MAX).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.client_id.as_deref() == Some(legacy.0.as_str()))
        .expect("the registration is audited");
    assert_eq!(entry.kind, "admin");
    assert_eq!(entry.detail["pkce"], "optional");
    assert_eq!(entry.detail["id_token_signed_response_alg"], "ES256");
    let mut browser = provider.browser();
    let no_pkce = [("code_challenge", ""), ("code_challenge_method", "")];
    let callback = authorized(&mut browser, &legacy.0, "", &no_pkce).await;
    let tokens = exchange(&provider, (&legacy.0, &legacy.1), &code_of(&callback), None).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let claims = verify_with_jwks(&mut browser, tokens.json()["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["aud"], legacy.0.as_str());
    // The default client, with PKCE required, is still refused without it.
    let required = refusal(&mut browser, &provider.client_id, "", &no_pkce).await;
    assert_eq!(required, "invalid_request");
}

/// RFC 9700 §4.8.2: a code issued without a challenge is refused when a verifier comes with
/// it (someone else's authorization request answered with an injected code).
#[tokio::test]
async fn a_verifier_for_a_code_issued_without_a_challenge_is_refused() {
    let provider = Provider::new().await;
    let legacy = client(&provider, None, Some("optional")).await;
    let mut browser = provider.browser();
    let no_pkce = [("code_challenge", ""), ("code_challenge_method", "")];
    let callback = authorized(&mut browser, &legacy.0, "", &no_pkce).await;
    let (verifier, _) = pkce();
    let tokens = exchange(
        &provider,
        (&legacy.0, &legacy.1),
        &code_of(&callback),
        Some(&verifier),
    )
    .await;
    assert_eq!(tokens.json()["error"], "invalid_grant", "{}", tokens.body);
}

/// PKCE optional is not PKCE ignored: a challenge the client sends binds the code, and
/// `plain` stays refused.
#[tokio::test]
async fn a_pkce_optional_client_that_sends_a_challenge_is_held_to_it() {
    let provider = Provider::new().await;
    let legacy = client(&provider, None, Some("optional")).await;
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let plain = [("code_challenge_method", "plain")];
    assert_eq!(
        refusal(&mut browser, &legacy.0, &challenge, &plain).await,
        "invalid_request"
    );
    let method_only = [("code_challenge", "")];
    assert_eq!(
        refusal(&mut browser, &legacy.0, "", &method_only).await,
        "invalid_request"
    );
    let callback = authorized(&mut browser, &legacy.0, &challenge, &[]).await;
    let code = code_of(&callback);
    let missing = exchange(&provider, (&legacy.0, &legacy.1), &code, None).await;
    assert_eq!(
        missing.json()["error"],
        "invalid_request",
        "{}",
        missing.body
    );
    let callback = authorized(&mut browser, &legacy.0, &challenge, &[]).await;
    let (wrong, _) = pkce();
    let code = code_of(&callback);
    let mismatch = exchange(&provider, (&legacy.0, &legacy.1), &code, Some(&wrong)).await;
    assert_eq!(mismatch.json()["error"], "invalid_grant");
    let callback = authorized(&mut browser, &legacy.0, &challenge, &[]).await;
    let code = code_of(&callback);
    let right = exchange(&provider, (&legacy.0, &legacy.1), &code, Some(&verifier)).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
}

// ------------------------------------------------------------------- Basic OP modules

/// The whole first authorization of the seeded client with `extra` parameters; returns the
/// token response.
async fn tokens_with(provider: &Provider, browser: &mut Browser, extra: &[(&str, &str)]) -> Value {
    let (verifier, challenge) = pkce();
    let callback = authorized(browser, &provider.client_id, &challenge, extra).await;
    assert_eq!(callback.location_params()["state"], "st-1");
    let tokens = provider.token(&code_of(&callback), &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    tokens.json()
}

/// `oidcc-ensure-request-without-nonce-succeeds-for-code-flow`: `nonce` is optional in the
/// code flow, and the ID token then has none.
#[tokio::test]
async fn a_request_without_nonce_succeeds_in_the_code_flow() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let tokens = tokens_with(&provider, &mut browser, &[("nonce", "")]).await;
    let claims = verify_with_jwks(&mut browser, tokens["id_token"].as_str().unwrap()).await;
    assert!(claims.get("nonce").is_none(), "{claims}");
}

/// `oidcc-response-type-missing`: the error goes back to the client with its `state`.
#[tokio::test]
async fn a_request_without_response_type_is_an_error_sent_to_the_client() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    let answer = browser
        .authorize(&provider.client_id, &challenge, &[("response_type", "")])
        .await;
    let params = answer.location_params();
    assert_eq!(
        (params["error"].as_str(), params["state"].as_str()),
        ("unsupported_response_type", "st-1")
    );
}

/// Parameters the modules add that Llavero accepts and needs nothing from:
/// `oidcc-ensure-request-with-unknown-parameter-succeeds`, `oidcc-display-page`,
/// `oidcc-display-popup`, `oidcc-login-hint`, `oidcc-claims-locales`, `oidcc-claims-essential`
/// (the `claims` parameter is not supported, as discovery says, so it is ignored), and
/// `oidcc-ensure-other-scope-order-succeeds` (scope order does not matter).
#[tokio::test]
async fn unknown_and_ignored_parameters_do_not_stop_the_flow() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let claims_parameter = json!({"userinfo": {"name": {"essential": true}}}).to_string();
    for extra in [
        vec![("extra_param", "foobar")],
        vec![("display", "page")],
        vec![("display", "popup")],
        vec![("login_hint", "12.345.678-5")],
        vec![("claims_locales", "es")],
        vec![("claims", claims_parameter.as_str())],
        vec![("scope", "name run openid")],
    ] {
        let tokens = tokens_with(&provider, &mut browser, &extra).await;
        assert!(tokens["id_token"].is_string(), "{extra:?}: {tokens}");
    }
}

/// `oidcc-prompt-none-logged-in`: with a session and consent, `prompt=none` answers a code at
/// once; `oidcc-id-token-hint` adds the hint of that session's ID token, which succeeds too.
#[tokio::test]
async fn prompt_none_with_a_session_and_an_id_token_hint_returns_a_code() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let first = tokens_with(&provider, &mut browser, &[]).await;
    let hint = first["id_token"].as_str().unwrap();
    for extra in [
        vec![("prompt", "none")],
        vec![("prompt", "none"), ("id_token_hint", hint)],
    ] {
        let (verifier, challenge) = pkce();
        let answer = browser
            .authorize(&provider.client_id, &challenge, &extra)
            .await;
        assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
        let tokens = provider.token(&code_of(&answer), &verifier).await;
        assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    }
}

/// `oidcc-max-age-10000`: a recent login satisfies a long `max_age` without a new login, and
/// the ID token says when it happened (`auth_time`, OIDC Core §3.1.2.1).
#[tokio::test]
async fn a_long_max_age_keeps_the_session_and_reports_auth_time() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    tokens_with(&provider, &mut browser, &[]).await;
    provider.clock.advance(30);
    let (verifier, challenge) = pkce();
    let answer = browser
        .authorize(&provider.client_id, &challenge, &[("max_age", "10000")])
        .await;
    assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
    let tokens = provider.token(&code_of(&answer), &verifier).await.json();
    let claims = verify_with_jwks(&mut browser, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["auth_time"], START);
}

/// `oidcc-ensure-request-with-acr-values-succeeds`: voluntary `acr_values` do not stop the
/// flow and the ID token carries an `acr`.
#[tokio::test]
async fn voluntary_acr_values_succeed_and_the_id_token_has_an_acr() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let tokens = tokens_with(&provider, &mut browser, &[("acr_values", "1 2")]).await;
    let claims = verify_with_jwks(&mut browser, tokens["id_token"].as_str().unwrap()).await;
    assert!(claims["acr"].is_string(), "{claims}");
}

/// `oidcc-ensure-post-request-succeeds`: the authorization request as a form POST.
#[tokio::test]
async fn an_authorization_request_by_post_succeeds() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let start = browser
        .post(
            "/authorize",
            &[
                ("client_id", &provider.client_id),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid run"),
                ("state", "st-1"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    let callback = through(&mut browser, start).await;
    let tokens = provider.token(&code_of(&callback), &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
}

/// `oidcc-server-client-secret-post`: a client authenticating with the secret in the body.
#[tokio::test]
async fn a_client_secret_post_client_completes_the_flow() {
    let provider = Provider::new().await;
    let (id, secret) = provider
        .register(Registration {
            name: "Post".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["openid".into()],
            token_endpoint_auth_method: Some("client_secret_post".into()),
            ..Default::default()
        })
        .await;
    let secret = secret.unwrap();
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let callback = authorized(&mut browser, &id, &challenge, &[("scope", "openid")]).await;
    let code = code_of(&callback);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let tokens = provider.back("/token", None, &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
}

/// `oidcc-userinfo-get`, `-post-header`, `-post-body`: the access token by header on GET and
/// POST, and in a form body on POST (RFC 6750 §2.1, §2.2).
#[tokio::test]
async fn userinfo_answers_get_post_header_and_post_body() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let tokens = tokens_with(&provider, &mut browser, &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let get = provider.userinfo(access).await;
    assert_eq!(get.status, StatusCode::OK);
    let post_header = send(
        &provider.router,
        Request::post("/userinfo")
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(post_header.json(), get.json());
    let post_body = provider
        .back("/userinfo", None, &[("access_token", access)])
        .await;
    assert_eq!(post_body.json(), get.json());
}

/// `oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported`: request
/// objects are refused with `request_not_supported` (discovery says so; the suite then skips
/// the request-object modules).
#[tokio::test]
async fn a_request_object_is_rejected_as_unsupported() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    let request_object = [("request", "e30.e30.")];
    let error = refusal(
        &mut browser,
        &provider.client_id,
        &challenge,
        &request_object,
    )
    .await;
    assert_eq!(error, "request_not_supported");
}

/// `oidcc-refresh-token`: a refresh token works only for the client it was issued to.
#[tokio::test]
async fn a_refresh_token_is_refused_to_another_client() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let tokens = tokens_with(&provider, &mut browser, &[]).await;
    let other = client(&provider, None, None).await;
    let stolen = provider
        .back(
            "/token",
            Some(&basic(&other.0, &other.1)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(stolen.json()["error"], "invalid_grant");
}

// -------------------------------------------------------------------- Config OP module

/// `oidcc-discovery-endpoint-verification`: what the Config OP plan checks in discovery.
#[tokio::test]
async fn discovery_passes_the_config_op_checks() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let meta = browser
        .get("/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(meta["issuer"], ISSUER);
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        let url = meta[endpoint].as_str().unwrap();
        assert!(url.starts_with("https://"), "{endpoint}: {url}");
    }
    let list = |name: &str| -> Vec<String> {
        serde_json::from_value(meta[name].clone()).unwrap_or_default()
    };
    assert!(list("scopes_supported").contains(&"openid".to_owned()));
    assert!(list("response_types_supported").contains(&"code".to_owned()));
    assert!(!list("subject_types_supported").is_empty());
    assert_eq!(
        list("id_token_signing_alg_values_supported"),
        ["ES256", "RS256"]
    );
    assert_eq!(meta["claims_parameter_supported"], false);
    let jwks = browser.get("/jwks").await.json();
    for key in jwks["keys"].as_array().unwrap() {
        assert!(
            key["kid"].is_string() && key["use"] == "sig" && key["alg"].is_string(),
            "{key}"
        );
        assert!(key.get("d").is_none(), "a private key is published");
    }
}

// -------------------------------------------------------------------------- PAR modules

/// `POST /par` for the seeded client with `extra` parameters.
async fn push(provider: &Provider, challenge: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", provider.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid run"),
        ("state", "st-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        form.retain(|(name, _)| name != k);
        if !v.is_empty() {
            form.push((k, v));
        }
    }
    provider.back("/par", Some(&provider.basic()), &form).await
}

fn authorize_by_reference(client_id: &str, request_uri: &str) -> String {
    format!(
        "/authorize?{}",
        encode(&[("client_id", client_id), ("request_uri", request_uri)])
    )
}

/// `fapi2-security-profile-final-par-without-duplicate-parameters`, `-par-attempt-reuse-
/// request_uri`, and the binding of a `request_uri` to its client: only `client_id` and
/// `request_uri` are needed at `/authorize`; the reference works once, for its client only.
#[tokio::test]
async fn a_pushed_request_is_used_once_by_its_own_client() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let pushed = push(&provider, &challenge, &[]).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.body);
    let request_uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
    let other = client(&provider, None, None).await;
    let foreign = browser
        .get(&authorize_by_reference(&other.0, &request_uri))
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    let start = browser
        .get(&authorize_by_reference(&provider.client_id, &request_uri))
        .await;
    let callback = through(&mut browser, start).await;
    let tokens = provider.token(&code_of(&callback), &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let again = browser
        .get(&authorize_by_reference(&provider.client_id, &request_uri))
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

/// `fapi2-security-profile-final-par-attempt-to-use-expired-request_uri`.
#[tokio::test]
async fn an_expired_request_uri_is_refused() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (_, challenge) = pkce();
    let pushed = push(&provider, &challenge, &[]).await.json();
    let expires_in = pushed["expires_in"].as_i64().unwrap();
    provider.clock.advance(expires_in + 1);
    let late = browser
        .get(&authorize_by_reference(
            &provider.client_id,
            pushed["request_uri"].as_str().unwrap(),
        ))
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
}

/// `fapi2-security-profile-final-par-ensure-pkce-required`, `-par-plain-pkce-rejected`,
/// `-par-authorization-request-containing-request_uri-form-param` and
/// `-par-attempt-invalid-http-method`: refused at the PAR endpoint itself.
#[tokio::test]
async fn the_par_endpoint_refuses_missing_or_plain_pkce_a_request_uri_and_get() {
    let provider = Provider::new().await;
    let (_, challenge) = pkce();
    for extra in [
        vec![("code_challenge", ""), ("code_challenge_method", "")],
        vec![("code_challenge_method", "plain")],
        vec![("request_uri", "urn:ietf:params:oauth:request_uri:abc")],
    ] {
        let refused = push(&provider, &challenge, &extra).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{extra:?}");
        assert_eq!(refused.json()["error"], "invalid_request", "{extra:?}");
    }
    let get = send(
        &provider.router,
        Request::get("/par").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
}
